# Copyright 2025 nova-dpm developers
#
# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""The HMC's integrated ASCII console of a partition, over a WebSocket.

``zhmcclient.mock`` does not have "Get ASCII Console WebSocket URI" (its
URI handler answers 404).  This module adds it, and the WebSocket that the
returned URI names, connected to the simulated guest (guest.py).

The Integrated ASCII Console is not the operating system messages console
that Send OS Command and List OS Messages use: in Linux it is the SCLP
VT220 terminal (``/dev/ttysclp0``, console ``ttyS1``), the messages are
the line-mode terminal (``/dev/sclp_line0``; HMC rule M4). The guest
tools' dpm_console_listener reads the line-mode terminal only; the VT220
terminal keeps its getty (the guest image guide). So a line typed on the
WebSocket reaches that getty (:func:`terminal_line`): a user name is
echoed and a password asked for, a login with the guest's
``ascii_login`` account opens a shell that answers a few commands, any
other login is refused; the answers come back as text messages.

Facts (zhmcclient Partition.create_os_websocket and its section "Using
WebSocket to access OS console"; zhmcclient.OSConsole):

* ``POST /api/partitions/{id}/operations/get-ascii-console-websocket-uri``
  with the body field ``force-takeover`` (boolean) answers
  ``{"websocket-uri": "/api/websock/<id>/<n>"}``; it needs HMC 2.14.0
  with API 2.22 (HMC rule W1);
* the URI is used with ``wss`` on the HMC that created it, on its Web
  Services port; the client sends no session header (zhmcclient's example
  and OSConsole send none): the URI is the credential;
* the HMC sends text messages (OSConsole asserts ``str``), and what the
  client sends are the lines typed on the console;
* ``force-takeover`` breaks WebSockets of the partition on *other* HMCs
  only, "not existing WebSockets on the current HMC": with one open here,
  the operation fails (HMC rule W3).

The WebSocket protocol is the ``websockets`` library's (its sans-I/O
server protocol); this module only moves bytes between it and a socket.
The HTTPS front end (server.py) serves the WebSocket on its own port, as
the HMC does on 6794; with the in-process simulator (``[dpm]
hmc_mock_file``) a :class:`WebSocketServer` of the in-process HMC's
:class:`~nova_dpm.simulator.local.LocalServer` on 127.0.0.1 serves it and
the :class:`~nova_dpm.simulator.session.SimulatedSession` names that
server as its host and port, so that a client builds the URL as for a real
HMC.
"""

import http.server
import logging
import secrets
import socket
import socketserver

from websockets import frames
from websockets.protocol import State
from websockets.server import ServerProtocol

from nova_dpm.simulator import errors
from nova_dpm.simulator import guest
from nova_dpm.simulator import partitions
from nova_dpm.simulator import validation as v

LOG = logging.getLogger(__name__)

OPERATION = 'get-ascii-console-websocket-uri'
PREFIX = '/api/websock/'
TAKEOVER = 'force-takeover'
# [UNCERTAIN] The reason code of the refusal while a WebSocket of the
# partition is open on this HMC is not documented: 409,2 (busy).
BUSY = errors.BUSY
# Seconds between two looks at the guest's messages while nothing is
# typed (what the guest writes by itself: boot, shutdown progress).
TICK = 0.05
# Bytes read from the socket at once.
CHUNK = 4096


class _Socket:
    """One URI handed out by Get ASCII Console WebSocket URI."""

    def __init__(self, partition_uri):
        self.partition_uri = partition_uri
        # connected: a client uses it; ended: it was used and is closed.
        self.connected = False
        self.ended = False


def _sockets(sim):
    # URI -> _Socket, kept on the SimulatedHmc.
    return sim.ascii_consoles


def get_uri(sim, req):
    """Get ASCII Console WebSocket URI (synchronous, 200)."""
    partition = partitions.get_partition(sim, req)
    body = req.body if req.body is not None else {}
    v.check_body_is_object(req.err, body)
    v.check_fields(req.err, body, (TAKEOVER,))
    v.check_bool(req.err, TAKEOVER, body.get(TAKEOVER, False))
    if partition.properties.get('status') not in guest.OS_RUNNING:
        # HMC rule W2.
        raise guest.not_running(req, partition)
    table = _sockets(sim)
    if any(s.connected for s in table.values()
           if s.partition_uri == partition.uri):
        # HMC rule W3: a WebSocket of this HMC is not taken over.
        raise req.err.conflict(
            BUSY, "A WebSocket to the console of partition %s is open on "
            "this HMC" % partition.properties.get('name'))
    uri = '%s%s/%d' % (PREFIX, secrets.token_hex(25), sim.serial())
    table[uri] = _Socket(partition.uri)
    if sim.console_endpoint is None:
        # In-process: nothing serves WebSockets yet.
        sim.serve_locally()
    return {'websocket-uri': uri}


def is_upgrade(handler):
    """Whether an HTTP request handler holds a WebSocket opening."""
    upgrade = handler.headers.get('Upgrade') or ''
    return handler.command == 'GET' and upgrade.lower() == 'websocket'


def _claim(sim, path):
    """The _Socket of ``path`` for a new connection; a refusal text."""
    with sim.lock:
        sim.advance()
        sock = _sockets(sim).get(path.split('?', 1)[0])
        if sock is None or sock.connected or sock.ended:
            # [INFER] The URI names the one WebSocket that the operation
            # created (HMC rule W4).
            return None, 'No such WebSocket'
        partition = sim.lookup(sock.partition_uri)
        if partition is None or \
                partition.properties.get('status') not in guest.OS_RUNNING:
            sock.ended = True
            return None, 'The partition is not active'
        sock.connected = True
        return sock, None


def serve(sim, conn, path, headers):
    """Open the WebSocket of ``path`` on ``conn`` and serve it to the end.

    ``conn`` is the connected (TLS) socket whose HTTP request line and
    headers (``headers``, a mapping) have been read: they are handed to
    the protocol as they came.
    """
    protocol = ServerProtocol()
    lines = ['GET %s HTTP/1.1' % path]
    lines.extend('%s: %s' % item for item in headers.items())
    protocol.receive_data(('\r\n'.join(lines) + '\r\n\r\n').encode(
        'latin-1'))
    request = protocol.events_received()[0]
    sock, refusal = _claim(sim, path)
    if sock is None:
        protocol.send_response(protocol.reject(404, refusal + '\n'))
        _flush(conn, protocol)
        return
    try:
        protocol.send_response(protocol.accept(request))
        _flush(conn, protocol)
        if protocol.state is State.OPEN:
            _Session(sim, sock, conn, protocol).run()
    finally:
        with sim.lock:
            sock.connected = False
            sock.ended = True


def _flush(conn, protocol):
    for data in protocol.data_to_send():
        if data:
            conn.sendall(data)
        else:
            try:
                conn.shutdown(socket.SHUT_WR)
            except OSError:
                pass


# What the shell of a stock Linux answers (the boot messages' kernel).
UNAME = ('Linux %s 6.8.0-45-generic #45-Ubuntu SMP Fri Aug 30 10:49:23 UTC '
         '2024 s390x s390x s390x GNU/Linux')
# A VT220 terminal (ONLCR) ends its lines with CR LF; zhmcclient.OSConsole
# turns CR LF into LF.
NL = '\r\n'


def _login_prompt(partition):
    host = guest.hostname(partition)
    return NL.join(('', 'Ubuntu 24.04.1 LTS %s ttysclp0' % host, '',
                    '%s login: ' % host))


def _shell(partition, user, line):
    """A shell's answer to one command line: (text, still logged in)."""
    host = guest.hostname(partition)
    words = line.split()
    prompt = '%s@%s:~%s ' % (user, host, '#' if user == 'root' else '$')
    if not words:
        return prompt, True
    if words[0] in ('exit', 'logout'):
        return _login_prompt(partition), False
    answers = {'uname': UNAME % host, 'hostname': host, 'whoami': user}
    answer = answers.get(words[0],
                         '-bash: %s: command not found' % words[0])
    return answer + NL + prompt, True


def terminal_line(sim, partition, line):
    """What the VT220 terminal shows for a line typed on it (its echo too).

    The getty echoes the user name, never the password.
    """
    g = guest.get(sim, partition.uri)
    host = guest.hostname(partition)
    if g.vt_state == 'shell':
        answer, logged_in = _shell(partition, g.vt_user, line)
        if not logged_in:
            g.vt_state, g.vt_user = 'login', None
        return line + NL + answer
    if g.vt_state == 'password':
        account = guest.setting(sim, g, 'ascii_login')
        if account is not None and account == '%s:%s' % (g.vt_user, line):
            g.vt_state = 'shell'
            return NL + _shell(partition, g.vt_user, '')[0]
        g.vt_state, g.vt_user = 'login', None
        return NL + NL + 'Login incorrect' + NL + '%s login: ' % host
    if not line.strip():
        return NL + '%s login: ' % host
    g.vt_state, g.vt_user = 'password', line.strip()
    return line + NL + 'Password: '


class _Session:
    """One open console WebSocket: typed lines in, answers out."""

    def __init__(self, sim, sock, conn, protocol):
        self.sim = sim
        self.sock = sock
        self.conn = conn
        self.protocol = protocol
        self.typed = ''

    def run(self):
        self.conn.settimeout(TICK)
        while self.protocol.state is State.OPEN:
            try:
                data = self.conn.recv(CHUNK)
            except TimeoutError:
                data = None
            except OSError:
                break
            if data == b'':
                self.protocol.receive_eof()
            elif data:
                self.protocol.receive_data(data)
            for event in self.protocol.events_received():
                if isinstance(event, frames.Frame) and \
                        event.opcode in (frames.Opcode.TEXT,
                                         frames.Opcode.BINARY):
                    self._type(event.data.decode('utf-8', 'replace'))
            if self.protocol.state is State.OPEN:
                self._check_running()
            if self.protocol.state is not State.OPEN:
                # [INFER] Closing: the console is free for a new WebSocket
                # before the close is sent or answered.
                with self.sim.lock:
                    self.sock.connected = False
                    self.sock.ended = True
            _flush(self.conn, self.protocol)
        self._close()

    def _type(self, text):
        self.typed += text
        out = []
        with self.sim.lock:
            partition = self.sim.lookup(self.sock.partition_uri)
            while '\n' in self.typed and partition is not None:
                line, self.typed = self.typed.split('\n', 1)
                out.append(terminal_line(self.sim, partition,
                                         line.rstrip('\r')))
        if out and self.protocol.state is State.OPEN:
            self.protocol.send_text(''.join(out).encode('utf-8'))

    def _check_running(self):
        with self.sim.lock:
            self.sim.advance()
            partition = self.sim.lookup(self.sock.partition_uri)
            running = partition is not None and \
                partition.properties.get('status') in guest.OS_RUNNING
        if not running:
            # [INFER] The OS is gone (stopped, deleted): the HMC ends its
            # console WebSocket.
            self.protocol.send_close(frames.CloseCode.NORMAL_CLOSURE,
                                     'The partition is not active')

    def _close(self):
        try:
            _flush(self.conn, self.protocol)
        except OSError:
            pass


class _Handler(http.server.BaseHTTPRequestHandler):
    """The in-process WebSocketServer's connections: WebSockets only."""

    protocol_version = 'HTTP/1.1'

    def do_GET(self):
        if not is_upgrade(self) or not self.path.startswith(PREFIX):
            self.send_error(404, 'Only console WebSockets are served here')
            return
        self.close_connection = True
        serve(self.server.sim, self.connection, self.path, self.headers)

    def log_message(self, format, *args):  # noqa: A002 (base signature)
        LOG.debug('simulated HMC console %s: ' + format,
                  self.address_string(), *args)


class WebSocketServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    """The console WebSockets of an in-process simulated HMC.

    A threading TCP server on ``host`` (a free port) that speaks TLS with
    ``context`` on each connection and serves only console WebSockets;
    :class:`~nova_dpm.simulator.local.LocalServer` runs it beside the
    notification service.
    """

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, sim, context, host):
        self.sim = sim
        self.context = context
        super().__init__((host, 0), _Handler)

    def finish_request(self, request, client_address):
        try:
            conn = self.context.wrap_socket(request, server_side=True)
        except OSError as exc:
            LOG.debug('simulated HMC console: no TLS with %s: %s',
                      client_address, exc)
            return
        try:
            self.RequestHandlerClass(conn, client_address, self)
        except OSError as exc:
            LOG.debug('simulated HMC console: %s ended: %s',
                      client_address, exc)
        finally:
            conn.close()
