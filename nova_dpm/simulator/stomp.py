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

"""The notification port of the simulated HMC: STOMP over TLS.

A real HMC publishes its notifications as JMS messages that clients
receive over STOMP on port 61612 (zhmcclient's NotificationReceiver, which
uses stomp.py).  :class:`StompBroker` serves that protocol on
``127.0.0.1`` beside the HTTPS front end
(:class:`~nova_dpm.simulator.server.HmcServer`), with the same certificate
and the same user, or beside the in-process simulated HMC
(:class:`~nova_dpm.simulator.local.LocalServer`, with its session's user
and topics):

* CONNECT (or STOMP) needs ``accept-version`` 1.1 or 1.2 and the HMC userid and
  password as ``login`` and ``passcode`` (wrong, or the user disabled:
  an ERROR frame, then the connection is closed);
* SUBSCRIBE to ``/topic/<name>`` is accepted only for the object or job
  notification topic of a session that is logged on now (Logon's
  ``notification-topic``, Get Notification Topics); any other destination
  gets an ERROR frame and the connection is closed (HMC rule P2);
* SEND is refused (clients do not publish on the HMC);
* the HMC's object notifications (:mod:`nova_dpm.simulator.notify`) are
  sent as MESSAGE frames to every subscription of every session's object
  topic, numbered per topic from 0 (``session-sequence-nr``), with the
  JSON body (``content-type: application/json``);
* a job's ``job-completion`` notification (no body) is sent only to the
  subscriptions of the job topic of the session that started the job
  (HMC rule P6), numbered on that topic likewise;
* heart-beats as negotiated, from the broker at most every
  :data:`HEARTBEAT_MS` (the client's heart-beats are accepted and not
  required).

Test controls: :meth:`StompBroker.drop_connections` (the HMC's console
restarts: every connection is reset) and :attr:`StompBroker.refuse` (the
HMC answers every SUBSCRIBE with an ERROR frame, as for a user without
permission) and :attr:`StompBroker.lose` (notification types that are lost
on the way: a message the client never sees).

The broker is the one piece written here. coilmq, a STOMP broker in
Python, was not used: its README names Python 2.7 to 3.5 and no TLS
listener, and the HMC's rules (subscriptions only to the topics of
sessions logged on, numbering per topic, messages made from the
simulator's state under its lock) would need hooks into its engine; what
zhmcclient's receiver needs of STOMP is small (CONNECT, SUBSCRIBE,
UNSUBSCRIBE, DISCONNECT, MESSAGE, ERROR, RECEIPT, heart-beats).
"""

import collections
import itertools
import json
import logging
import queue
import socket
import ssl
import struct
import threading

from nova_dpm.simulator import notify

LOG = logging.getLogger(__name__)

LOOPBACK = '127.0.0.1'
# STOMP versions spoken (zhmcclient's receiver: stomp.py's Connection,
# STOMP 1.1).
SUPPORTED_VERSIONS = ('1.1', '1.2')
# The heart-beat interval the broker offers (ms).
HEARTBEAT_MS = 5000
# Seconds between looks for due transitions while subscribers wait (a real
# HMC notifies as a start or stop ends, not at the next request).
TICK = 0.1
IDLE_TICK = 1.0
# The shortest sleep of the tick loop.
MIN_TICK = 0.005
HANDSHAKE_TIMEOUT = 10
# Seconds a reader waits before it looks whether its connection closed.
READ_TICK = 0.2
MAX_FRAME = 1024 * 1024

_ESCAPES = {'\\': '\\\\', '\n': '\\n', '\r': '\\r', ':': '\\c'}
_UNESCAPES = {'\\': '\\', 'n': '\n', 'r': '\r', 'c': ':'}


def _escape(value):
    return ''.join(_ESCAPES.get(c, c) for c in str(value))


def _unescape(value):
    out, chars = [], iter(value)
    for c in chars:
        out.append(_UNESCAPES.get(next(chars, ''), '') if c == '\\' else c)
    return ''.join(out)


def encode(command, headers, body=b''):
    """One STOMP 1.2 frame as bytes."""
    lines = [command] + ['%s:%s' % (_escape(k), _escape(v))
                         for k, v in headers.items()]
    if body:
        lines.append('content-length:%d' % len(body))
    return ('\n'.join(lines) + '\n\n').encode('utf-8') + body + b'\0'


class _Closed(Exception):
    """The client closed the connection (or sent garbage)."""


class _Reader(object):
    """Reads STOMP frames from a socket."""

    def __init__(self, sock, closed):
        self.sock = sock
        self.closed = closed
        self.buf = b''

    def _fill(self):
        while True:
            # A bounded wait: a connection closed by another thread (with
            # eventlet's green sockets, too) ends its reader in time.
            try:
                data = self.sock.recv(65536)
                break
            except socket.timeout:
                if self.closed.is_set():
                    raise _Closed('connection closed by the simulator')
        if not data:
            raise _Closed('connection closed by the client')
        self.buf += data
        if len(self.buf) > MAX_FRAME:
            raise _Closed('frame too large')

    def frame(self):
        """(command, headers, body); heart-beats (EOLs) are skipped."""
        while True:
            self.buf = self.buf.lstrip(b'\r\n')
            if b'\n\n' in self.buf:
                break
            self._fill()
        head, _, self.buf = self.buf.partition(b'\n\n')
        lines = head.decode('utf-8').replace('\r', '').split('\n')
        headers = {}
        for line in lines[1:]:
            key, _, value = line.partition(':')
            # STOMP 1.2: a repeated header keeps its first value.
            headers.setdefault(_unescape(key), _unescape(value))
        length = headers.get('content-length')
        if length is not None:
            length = int(length)
            while len(self.buf) < length + 1:
                self._fill()
        else:
            while b'\0' not in self.buf:
                self._fill()
            length = self.buf.index(b'\0')
        body, self.buf = self.buf[:length], self.buf[length:]
        if not self.buf.startswith(b'\0'):
            raise _Closed('frame not terminated by NUL')
        self.buf = self.buf[1:]
        return lines[0], headers, body


class _Connection(object):
    """One client connection: a reader thread and a writer thread."""

    def __init__(self, broker, sock, address):
        self.broker = broker
        self.sock = sock
        self.address = address
        self.out = queue.Queue()
        self.subscriptions = {}      # id -> topic name
        self.connected = False
        self.heartbeat = None        # seconds between our heart-beats
        self.closed = threading.Event()

    def send(self, command, headers, body=b''):
        self.out.put(encode(command, headers, body))

    def error(self, message):
        """An ERROR frame, then the connection is closed (STOMP 1.2)."""
        LOG.info('simulated HMC STOMP: ERROR to %s: %s', self.address,
                 message)
        self.send('ERROR', {'message': message,
                            'content-type': 'text/plain'},
                  message.encode('utf-8'))
        self.out.put(None)

    def write_loop(self):
        while not self.closed.is_set():
            try:
                data = self.out.get(timeout=self.heartbeat or IDLE_TICK)
            except queue.Empty:
                data = b'\n' if self.heartbeat else b''
            try:
                if data is None:
                    self.close()
                    return
                if data:
                    self.sock.sendall(data)
            except (OSError, ValueError):
                self.close()
                return

    def read_loop(self):
        reader = _Reader(self.sock, self.closed)
        try:
            while not self.closed.is_set():
                command, headers, body = reader.frame()
                self.broker.handle(self, command, headers, body)
        except (_Closed, OSError, ValueError, UnicodeDecodeError) as exc:
            LOG.debug('simulated HMC STOMP: connection from %s ended: %s',
                      self.address, exc)
        finally:
            self.close()

    def close(self, reset=False):
        if self.closed.is_set():
            return
        self.closed.set()
        self.out.put(b'')
        try:
            if reset:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                     struct.pack('ii', 1, 0))
            # Also wakes the reader thread up from its recv().
            self.sock.shutdown(socket.SHUT_RDWR)
        except (OSError, ValueError):
            pass
        try:
            self.sock.close()
        except OSError:
            pass
        self.broker._forget(self)


class StompBroker(object):
    """STOMP 1.1/1.2 over TLS on 127.0.0.1 for an HmcServer or LocalServer.

    :param front: the started :class:`~nova_dpm.simulator.server.HmcServer`
        or :class:`~nova_dpm.simulator.local.LocalServer`: its
        ``simulator``, ``cert_paths``, ``userid``, ``stomp_logon(login,
        passcode)``, ``notification_topics()``, ``job_topics()`` and
        ``_hidden(uri)``.
    :param port: TCP port; 0 picks a free one (see :attr:`port`).
    """

    def __init__(self, front, port=0):
        self.front = front
        self.sim = front.simulator
        self._requested_port = port
        self._lock = threading.Lock()
        self._conns = set()
        self._listener = None
        self._stopping = threading.Event()
        # Set by every notification: the tick loop looks what is due next.
        self._wake = threading.Event()
        self._threads = []
        self._watch = None
        self._sequence = {}          # topic -> next session-sequence-nr
        self._message_ids = itertools.count(1)
        # Test controls and counters.
        self.refuse = False
        # Notification types lost on the way (never delivered).
        self.lose = set()
        self.connections = 0
        # (topic, headers, body) of the last messages sent.
        self.messages = collections.deque(maxlen=1000)

    # -- life cycle -------------------------------------------------------

    def start(self):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.front.cert_paths.cert_file,
                                self.front.cert_paths.key_file)
        self._context = context
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LOOPBACK, self._requested_port))
            sock.listen(16)
        except OSError:
            sock.close()
            raise
        sock.settimeout(0.2)
        self._listener = sock
        self._stopping.clear()
        self._spawn(self._accept_loop, 'accept')
        self._spawn(self._tick_loop, 'tick')
        LOG.info('Simulated HMC notifications (STOMP) on %s:%d', LOOPBACK,
                 self.port)
        return self

    def _spawn(self, target, what, *args):
        thread = threading.Thread(target=target, args=args, daemon=True,
                                  name='simulated-hmc-stomp-%s' % what)
        thread.start()
        self._threads.append(thread)
        return thread

    def stop(self):
        if self._listener is None:
            return
        self._stopping.set()
        self._wake.set()
        self._unwatch()
        for conn in self._connections():
            conn.close(reset=True)
        try:
            self._listener.close()
        except OSError:
            pass
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(5.0)
        self._threads = []
        self._listener = None

    @property
    def port(self):
        return self._listener.getsockname()[1]

    def _connections(self):
        with self._lock:
            return list(self._conns)

    def _forget(self, conn):
        # Under the simulator's lock, as _subscribe: a subscription made
        # meanwhile keeps its watch (the lock order is the simulator's
        # lock, then the broker's).
        with self.sim.lock:
            with self._lock:
                self._conns.discard(conn)
                watching = any(c.subscriptions for c in self._conns)
            if not watching:
                self._unwatch()

    # -- test controls ----------------------------------------------------

    def drop_connections(self):
        """Reset every client connection (as a restarting HMC does)."""
        conns = self._connections()
        for conn in conns:
            conn.close(reset=True)
        return len(conns)

    @property
    def subscriptions(self):
        """The topics subscribed to now, one entry per subscription."""
        return sorted(topic for conn in self._connections()
                      for topic in conn.subscriptions.values())

    # -- connections ------------------------------------------------------

    def _accept_loop(self):
        while not self._stopping.is_set():
            try:
                sock, address = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self._spawn(self._serve, 'conn', sock, address)

    def _serve(self, sock, address):
        try:
            sock.settimeout(HANDSHAKE_TIMEOUT)
            tls = self._context.wrap_socket(sock, server_side=True)
            tls.settimeout(READ_TICK)
        except (OSError, ValueError) as exc:
            LOG.debug('simulated HMC STOMP: handshake with %s failed: %s',
                      address, exc)
            sock.close()
            return
        conn = _Connection(self, tls, address)
        with self._lock:
            if self._stopping.is_set():
                tls.close()
                return
            self._conns.add(conn)
            self.connections += 1
        threading.Thread(target=conn.write_loop, daemon=True,
                         name='simulated-hmc-stomp-writer').start()
        conn.read_loop()

    # -- frames -----------------------------------------------------------

    def handle(self, conn, command, headers, body):
        if command in ('CONNECT', 'STOMP'):
            self._connect(conn, headers)
        elif not conn.connected:
            conn.error('Not connected: send CONNECT first')
        elif command == 'SUBSCRIBE':
            self._subscribe(conn, headers)
        elif command == 'UNSUBSCRIBE':
            conn.subscriptions.pop(headers.get('id'), None)
            self._receipt(conn, headers)
        elif command == 'DISCONNECT':
            self._receipt(conn, headers)
            conn.out.put(None)
        elif command in ('ACK', 'NACK', 'BEGIN', 'COMMIT', 'ABORT'):
            self._receipt(conn, headers)
        else:
            conn.error('The HMC does not accept %s frames' % command)

    @staticmethod
    def _receipt(conn, headers):
        if 'receipt' in headers:
            conn.send('RECEIPT', {'receipt-id': headers['receipt']})

    def _connect(self, conn, headers):
        versions = headers.get('accept-version', '1.0').split(',')
        common = [v for v in SUPPORTED_VERSIONS if v in versions]
        if not common:
            conn.error('Supported protocol versions are %s'
                       % ' '.join(SUPPORTED_VERSIONS))
            return
        if not self.front.stomp_logon(headers.get('login', ''),
                                      headers.get('passcode', '')):
            conn.error('Logon failed: the user ID or password is not valid')
            return
        client_hb = headers.get('heart-beat', '0,0').split(',')
        wants = int(client_hb[1]) if len(client_hb) == 2 else 0
        if wants:
            conn.heartbeat = max(wants, HEARTBEAT_MS) / 1000.0
        conn.connected = True
        conn.send('CONNECTED', {'version': common[-1],
                                'heart-beat': '%d,0' % HEARTBEAT_MS,
                                'server': 'nova-dpm-simulated-HMC'})

    def _topics(self):
        """{topic name: 'object' or 'job'} of the sessions logged on."""
        return self.front.notification_topics()

    def _subscribe(self, conn, headers):
        dest = headers.get('destination', '')
        topic = dest[len('/topic/'):] if dest.startswith('/topic/') else None
        if self.refuse:
            conn.error('The user %s is not permitted to subscribe to %s'
                       % (self.front.userid, dest))
            return
        if topic is None or topic not in self._topics():
            conn.error('No such notification topic: %s' % dest)
            return
        sub_id = headers.get('id')
        if not sub_id:
            conn.error('SUBSCRIBE needs an id header')
            return
        with self.sim.lock:
            self._watching()
            with self._lock:
                conn.subscriptions[sub_id] = topic
                self._sequence.setdefault(topic, 0)
        self._receipt(conn, headers)

    # -- notifications ----------------------------------------------------

    def _watching(self):
        with self.sim.lock:
            if self._watch is None:
                self._watch = notify.ChangeWatch(self.sim, self._publish,
                                                 self._publish_jobs)
                self.sim.watchers.append(self._watch)

    def _unwatch(self):
        with self.sim.lock:
            if self._watch is not None:
                self.sim.watchers.remove(self._watch)
                self._watch = None

    def _tick_loop(self):
        """Advance the simulator when something is due, to notify it.

        A real HMC notifies the end of a start or stop when it happens:
        the loop sleeps until the next end that is due (at most TICK while
        anything runs), and is woken by every notification (a transition
        that begins is one).
        """
        while not self._stopping.is_set():
            self._wake.wait(self._next_tick())
            self._wake.clear()
            if self._watch is not None and not self._stopping.is_set():
                self.sim.advance()

    def _next_tick(self):
        sim = self.sim
        if self._watch is None:
            # Nobody subscribed: nothing to notify.
            return IDLE_TICK
        ends = [item['end'] for table in (
            sim.transitions, sim.lagging, sim.discoveries)
            for item in list(table.values())]
        if ends:
            # Never 0: the loop must let the others run (eventlet).
            return min(TICK, max(MIN_TICK, min(ends) - sim.now()))
        running = any(job['status'] == 'running'
                      for job in list(sim.jobs.values()))
        return TICK if running else IDLE_TICK

    def _publish(self, notifications):
        """Send to each object topic subscription (under the sim lock)."""
        topics = self._topics()
        with self._lock:
            targets = [(conn, sub_id, topic) for conn in self._conns
                       for sub_id, topic in conn.subscriptions.items()
                       if topics.get(topic) == 'object']
            for headers, body in notifications:
                if self.front._hidden(headers['object-uri']):
                    continue
                data = json.dumps(body).encode() if body is not None \
                    else b''
                for conn, sub_id, topic in targets:
                    self._send(conn, sub_id, topic, headers, body, data)

    def _publish_jobs(self, completions):
        """Send each job's completion to the job topic of its session.

        HMC rule P6: only the session that started the job is told; no
        body. Called under the simulator's lock.
        """
        topics = self.front.job_topics()
        with self._lock:
            for origin, headers in completions:
                topic = topics.get(origin)
                for conn in self._conns:
                    for sub_id, subscribed in conn.subscriptions.items():
                        if subscribed == topic:
                            self._send(conn, sub_id, topic, headers, None,
                                       b'')

    def _send(self, conn, sub_id, topic, headers, body, data):
        self._wake.set()
        if headers.get('notification-type') in self.lose:
            return
        seq = self._sequence.get(topic, 0)
        self._sequence[topic] = seq + 1
        frame_headers = dict(headers)
        frame_headers.update({
            'destination': '/topic/' + topic,
            'subscription': sub_id,
            'message-id': 'hmc-%d' % next(self._message_ids),
            'session-sequence-nr': str(seq),
        })
        if data:
            frame_headers['content-type'] = 'application/json'
        self.messages.append((topic, frame_headers, body))
        conn.send('MESSAGE', frame_headers, data)
