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
returned URI names, connected to the simulated guest (guest.py): a line
typed on the WebSocket reaches what reads the guest's console (its getty
or the dpm_console_listener) exactly like a Send OS Command, and what the
guest writes to its console after the WebSocket was opened comes back as
text messages.

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
hmc_mock_file``) a :class:`ConsoleServer` on 127.0.0.1 serves it and the
:class:`~nova_dpm.simulator.session.SimulatedSession` names that server
as its host and port, so that a client builds the URL as for a real HMC.
"""

import http.server
import logging
import secrets
import socket
import socketserver
import ssl
import tempfile
import threading

from websockets import frames
from websockets.protocol import State
from websockets.server import ServerProtocol

from nova_dpm.simulator import certs
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
        sim.console_endpoint = ConsoleServer(sim).start()
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


class _Session:
    """One open console WebSocket: typed lines in, guest output out."""

    def __init__(self, sim, sock, conn, protocol):
        self.sim = sim
        self.sock = sock
        self.conn = conn
        self.protocol = protocol
        self.typed = ''
        with sim.lock:
            # What the guest wrote before the WebSocket opened is not
            # shown again (List OS Messages has it).
            self.cursor = guest.get(sim, sock.partition_uri).next_seq

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
                self._send_output()
            else:
                # [INFER] Closed: the console is free for a new WebSocket
                # before the close is answered.
                with self.sim.lock:
                    self.sock.connected = False
                    self.sock.ended = True
            _flush(self.conn, self.protocol)
        self._close()

    def _type(self, text):
        self.typed += text
        with self.sim.lock:
            partition = self.sim.lookup(self.sock.partition_uri)
            while '\n' in self.typed and partition is not None:
                line, self.typed = self.typed.split('\n', 1)
                guest.typed(self.sim, partition, line.rstrip('\r'))

    def _send_output(self):
        with self.sim.lock:
            self.sim.advance()
            partition = self.sim.lookup(self.sock.partition_uri)
            running = partition is not None and \
                partition.properties.get('status') in guest.OS_RUNNING
            out = []
            if partition is not None:
                for msg in guest.get(self.sim, partition.uri).messages:
                    if msg['sequence-number'] >= self.cursor:
                        out.append(msg['message-text'])
                        self.cursor = msg['sequence-number'] + 1
        if out:
            self.protocol.send_text(''.join(out).encode('utf-8'))
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
    """The in-process ConsoleServer's connections: WebSockets only."""

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


class _TlsConsoleServer(socketserver.ThreadingMixIn,
                        socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, sim, context):
        self.sim = sim
        self.context = context
        super().__init__((ConsoleServer.host, 0), _Handler)

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


class ConsoleServer:
    """The console WebSockets of an in-process simulated HMC.

    Serves ``wss://127.0.0.1:<port>`` with a certificate of its own CA
    (:attr:`ca_file`), in a thread, until :meth:`stop`.
    """

    host = '127.0.0.1'

    def __init__(self, sim):
        self.sim = sim
        self._dir = None
        self._server = None
        self.ca_file = None

    def start(self):
        self._dir = tempfile.mkdtemp(prefix='nova-dpm-hmc-console-')
        paths = certs.write_cert_dir(self._dir)
        self.ca_file = paths.ca_file
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(paths.cert_file, paths.key_file)
        self._server = _TlsConsoleServer(self.sim, context)
        threading.Thread(target=self._server.serve_forever,
                         kwargs={'poll_interval': 0.05},
                         name='simulated-hmc-console', daemon=True).start()
        return self

    @property
    def port(self):
        return self._server.server_address[1]

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
