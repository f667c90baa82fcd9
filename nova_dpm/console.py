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

"""The interactive serial console: a TCP bridge to the HMC's ASCII console.

Nova's serial console flow: ``get_serial_console`` returns a
``ConsoleSerial(host, port)``; nova-compute at once makes a console token
for it that lives ``[consoleauth] token_ttl`` seconds; nova-serialproxy,
given a valid token by the user's WebSocket client, connects to host:port
over TCP and moves bytes both ways.

For each call :class:`SerialConsoles` asks the HMC for the partition's
ASCII console WebSocket (zhmcclient Partition.create_os_websocket, "Get
ASCII Console WebSocket URI", HMC 2.14.0 with Web Services API 2.22) and
opens a :class:`Bridge`: a TCP endpoint on ``[serial_console]
proxyclient_address`` with a port of ``[serial_console] port_range``. The
bridge accepts exactly one connection, then connects to the WebSocket and
moves the console text both ways until either side closes; then it closes
the other side and its port is free again. A bridge that nobody connects
to within the token's lifetime closes: after that no valid token leads to
it, and a shorter bound would fail a user who opens the URL later. Asking
again for the same instance closes its previous bridge first (the HMC
keeps one console WebSocket per partition).

The WebSocket URI is a credential of the HMC (its client sends no session
header): it stays in the bridge, is never logged and never reaches the
TCP side, nor does anything else of the HMC session.
"""

import codecs
import os
import selectors
import socket
import ssl
import threading

import certifi
from nova.console import serial
from nova.console import type as console_type
from nova import exception as nova_exception
from oslo_config import cfg
from oslo_log import log as logging
import websocket
import zhmcclient

from nova_dpm import capabilities

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

# Seconds the HMC's WebSocket gets to open.
CONNECT_TIMEOUT = 30
# Seconds between two looks at whether a bridge was closed: the bridge's
# thread waits for its sockets at most that long, and only that thread
# closes them (eventlet does not wake a green thread that waits on
# a socket that another one closes).
TICK = 0.5
CHUNK = 4096
# Seconds a closed bridge waits for the HMC to answer its close.
CLOSE_TIMEOUT = 5


def _unavailable(instance, reason):
    LOG.warning('No serial console: %s', reason, instance=instance)
    return nova_exception.ConsoleTypeUnavailable(console_type='serial')


class SerialConsoles:
    """The open serial console bridges of one nova-compute."""

    def __init__(self, hmc):
        self.hmc = hmc
        self._lock = threading.Lock()
        self._bridges = {}    # instance uuid -> Bridge

    def open(self, instance, part):
        """The ConsoleSerial of the instance's bridge (new if none waits).

        Nova asks twice per console: for the URL, then again when
        nova-serialproxy checks the port of a token; a bridge that waits
        for its connection is the answer to both. While a console is
        connected the HMC keeps the partition's console WebSocket: a new
        one is unavailable.
        """
        with self._lock:
            bridge = self._bridges.get(instance.uuid)
            if bridge is not None and bridge.waiting:
                return console_type.ConsoleSerial(host=bridge.host,
                                                  port=bridge.port)
            if bridge is not None:
                raise _unavailable(instance, 'the serial console of '
                                   'partition %s is in use' % part.name)
            bridge = self._new_bridge(instance, part)
            self._bridges[instance.uuid] = bridge
        LOG.info('Serial console of partition %s: waiting on %s:%d.',
                 part.name, bridge.host, bridge.port, instance=instance)
        return console_type.ConsoleSerial(host=bridge.host, port=bridge.port)

    def _new_bridge(self, instance, part):
        """Ask the HMC for the console WebSocket; listen for the client."""
        short = self.hmc.capabilities.shortfalls(capabilities.ASCII_CONSOLE)
        if short:
            _kind, needed, have = short[0]
            raise _unavailable(
                instance, 'the HMC has Web Services API %s; the ASCII '
                'console needs HMC 2.14.0 with API %s or later (Get ASCII '
                'Console WebSocket URI)' % (have, needed))
        try:
            uri = part.create_os_websocket()
        except zhmcclient.HTTPError as exc:
            if exc.http_status == 409:
                raise _unavailable(
                    instance, 'the HMC refuses the console of partition '
                    '%s (not active, or its console is in use): %s' %
                    (part.name, exc.message))
            raise
        bridge = Bridge(part.name, self._connector(uri),
                        lambda b: self._forget(instance.uuid, b))
        bridge.listen()
        return bridge

    def _connector(self, uri):
        """A callable that opens the HMC WebSocket of ``uri``."""
        session = self.hmc.session

        def connect():
            ws = websocket.WebSocket(sslopt=_sslopt(session.verify_cert))
            ws.connect('wss://%s:%d%s' % (session.actual_host,
                                          session.port, uri),
                       timeout=CONNECT_TIMEOUT)
            return ws
        return connect

    def _forget(self, instance_uuid, bridge):
        with self._lock:
            if self._bridges.get(instance_uuid) is bridge:
                del self._bridges[instance_uuid]

    def close(self, instance_uuid):
        """Close the instance's bridge, if any."""
        with self._lock:
            bridge = self._bridges.pop(instance_uuid, None)
        if bridge is not None:
            bridge.close(wait=True)

    def close_all(self):
        with self._lock:
            bridges, self._bridges = list(self._bridges.values()), {}
        for bridge in bridges:
            bridge.close()

    def count(self):
        """How many bridges are open (waiting or connected)."""
        with self._lock:
            return len(self._bridges)


def _sslopt(verify_cert):
    """websocket-client's TLS options for the session's verify_cert."""
    if verify_cert is False:
        return {'cert_reqs': ssl.CERT_NONE}
    if verify_cert is True:
        return {'cert_reqs': ssl.CERT_REQUIRED, 'ca_certs': certifi.where()}
    key = 'ca_cert_path' if os.path.isdir(verify_cert) else 'ca_certs'
    return {'cert_reqs': ssl.CERT_REQUIRED, key: verify_cert}


class Bridge:
    """One TCP endpoint, one connection, one HMC console WebSocket."""

    def __init__(self, name, connect, on_end):
        self.name = name
        self._connect = connect
        self._on_end = on_end
        self._closed = threading.Event()
        self._listener = None
        self._tcp = None
        self._ws = None
        self._thread = None
        self._decoder = None
        self._after_cr = False
        self.host = CONF.serial_console.proxyclient_address
        self.port = None

    def listen(self):
        """Bind and listen on a port of the range; serve in a thread."""
        family = socket.AF_INET6 if ':' in self.host else socket.AF_INET
        self.port = serial.acquire_port(self.host)
        try:
            self._listener = socket.socket(family, socket.SOCK_STREAM)
            self._listener.bind((self.host, self.port))
            self._listener.listen(1)
        except OSError:
            self._release()
            raise
        self._thread = threading.Thread(
            target=self._run, daemon=True,
            name='serial-console-%s' % self.name)
        self._thread.start()
        return self.host, self.port

    @property
    def waiting(self):
        """Listening, nobody connected yet."""
        return not self._closed.is_set() and self._tcp is None and \
            self.port is not None

    def _run(self):
        try:
            self._tcp = self._accept()
            if self._tcp is None:
                return
            self._ws = self._connect()
            self._ws.settimeout(TICK)
            LOG.info('Serial console of partition %s connected.', self.name)
            self._pump()
        except (OSError, websocket.WebSocketException) as exc:
            if not self._closed.is_set():
                LOG.warning('Serial console of partition %s: %s',
                            self.name, exc)
        finally:
            self._closed.set()
            self._shut()
            self._release()
            self._on_end(self)
            LOG.info('Serial console of partition %s closed.', self.name)

    def _accept(self):
        """The one connection, or None when the token has expired."""
        ttl = CONF.consoleauth.token_ttl
        waited = 0.0
        self._listener.settimeout(TICK)
        try:
            while not self._closed.is_set() and waited < ttl:
                try:
                    conn, _addr = self._listener.accept()
                except TimeoutError:
                    waited += TICK
                    continue
                # A client that reads nothing for this long is dropped.
                conn.settimeout(CONNECT_TIMEOUT)
                return conn
            if not self._closed.is_set():
                LOG.info('Serial console of partition %s: nobody connected '
                         'within %d s ([consoleauth] token_ttl).',
                         self.name, ttl)
            return None
        finally:
            # Exactly one connection: nobody else gets in.
            self._listener.close()

    def _pump(self):
        """Move text both ways, in this one thread, until a side ends.

        One thread, because a TLS connection must not be read in one
        thread while another writes to it: OpenSSL does not allow it, and
        the read then sees the connection as ended.  Text the TLS layer
        has already decrypted is not seen by select, so it is asked for.
        """
        self._decoder = codecs.getincrementaldecoder('utf-8')('replace')
        self._after_cr = False
        hmc = self._ws.sock
        with selectors.DefaultSelector() as selector:
            selector.register(self._tcp, selectors.EVENT_READ, 'client')
            selector.register(hmc, selectors.EVENT_READ, 'hmc')
            while not self._closed.is_set():
                ready = {key.data for key, _ in selector.select(TICK)}
                if getattr(hmc, 'pending', lambda: 0)():
                    ready.add('hmc')
                if 'hmc' in ready and not self._to_client():
                    break
                if 'client' in ready and not self._to_hmc():
                    break

    def _to_hmc(self):
        """What the client typed, as text lines, to the HMC; False at end.

        The HMC's console takes lines ending in a line feed; a terminal
        ends a line with a carriage return (Enter) or CR LF: both become
        one line feed.
        """
        try:
            data = self._tcp.recv(CHUNK)
            if not data:
                LOG.debug('Serial console of partition %s: the client '
                          'closed.', self.name)
                return False
            text = self._decoder.decode(data)
            if self._after_cr and text.startswith('\n'):
                text = text[1:]
            if text:
                self._after_cr = text.endswith('\r')
                self._ws.send_text(text.replace('\r\n', '\n')
                                   .replace('\r', '\n'))
            return True
        except (OSError, websocket.WebSocketException) as exc:
            LOG.debug('Serial console of partition %s: the client side '
                      'ended: %s', self.name, exc)
            return False

    def _to_client(self):
        """What the console shows, as UTF-8, to the client; False at end."""
        try:
            data = self._ws.recv()
        except websocket.WebSocketTimeoutException:
            return True     # a message not complete yet: later
        except (OSError, websocket.WebSocketException) as exc:
            LOG.debug('Serial console of partition %s: the HMC side '
                      'ended: %s', self.name, exc)
            return False
        if not data:
            LOG.debug('Serial console of partition %s: the HMC closed.',
                      self.name)
            return False
        if isinstance(data, str):
            data = data.encode('utf-8')
        try:
            self._tcp.sendall(data)
        except OSError as exc:
            LOG.debug('Serial console of partition %s: the client side '
                      'ended: %s', self.name, exc)
            return False
        return True

    def close(self, wait=False):
        """End the bridge (idempotent); the HMC is sent a close.

        The bridge's thread closes both sides within TICK seconds; with
        ``wait``, that is awaited (CLOSE_TIMEOUT at most), so that the HMC
        has released the partition's console before a new one is asked
        for.
        """
        if not self._closed.is_set():
            self._closed.set()
            if self._ws is not None:
                try:
                    self._ws.send_close()
                except (OSError, websocket.WebSocketException):
                    pass
        thread = self._thread
        if wait and thread is not None and \
                thread is not threading.current_thread():
            thread.join(CLOSE_TIMEOUT)

    def _shut(self):
        """Close both sockets (the bridge's thread, at its end)."""
        if self._ws is not None:
            self._ws.shutdown()
        if self._tcp is not None:
            try:
                self._tcp.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._tcp.close()

    def _release(self):
        if self.port is not None:
            serial.release_port(self.host, self.port)
            self.port = None
