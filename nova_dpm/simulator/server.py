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

"""HTTPS front end of the simulated HMC.

:class:`HmcServer` serves the HMC Web Services API on
``https://127.0.0.1:<port>`` from a
:class:`~nova_dpm.simulator.hmc.SimulatedHmc`, so that a real
``zhmcclient.Session`` (and so the driver, unchanged) talks to the
simulator over TLS, with logon, session expiry, retries, timeouts and job
polling as against a real HMC::

    sim = simulator.load_session('z16', transition_time=2).simulator
    server = HmcServer(sim, 'admin', 'secret').start()
    session = zhmcclient.Session('127.0.0.1', 'admin', 'secret',
                                 port=server.port,
                                 verify_cert=server.ca_file)
    ...
    server.stop()

What the server does itself (the SimulatedHmc knows nothing about
sessions or HTTP):

* ``GET /api/version`` is answered without a session (it goes to the
  simulator, so it is counted and can be faulted);
* ``POST /api/sessions`` (Logon) checks the userid and password (wrong:
  403,0, which zhmcclient raises as ServerAuthError without re-logon);
  after :attr:`HmcServer.max_failed_logons` consecutive failures the user
  is disabled and even the right password gets 403,0 until
  :meth:`HmcServer.enable_user`; a logon takes
  :attr:`HmcServer.logon_time` seconds; it
  answers the fields zhmcclient reads (``api-session``,
  ``session-credential``, ``notification-topic``,
  ``job-notification-topic``, ...);
* every other request needs a valid ``X-API-Session`` header: missing is
  403,4, unknown or expired is 403,5 (zhmcclient then logs on again once
  and repeats the request);
* a fault injected for ``POST /api/sessions`` fails the logon (see
  :meth:`HmcServer.inject_fault`); no session is created;
* ``DELETE /api/sessions/this-session`` (Logoff) and
  ``GET /api/sessions/operations/get-notification-topics``;
* an object the user has no object-access permission for (see
  :meth:`HmcServer.deny_object`) is answered as IBM's book describes for
  every operation: 404,1, as if it did not exist, and List operations
  (and Submit Requests) leave it out; an operation whose task permission
  the user lacks (:meth:`HmcServer.deny_task`) gets 403,1;
* everything else goes to :meth:`SimulatedHmc.request` *after* the session
  check, so injected faults hit the request as the client repeats it.

Responses: 200 with a JSON body, 201 (and ``Location``) for a create, 202
with ``{"job-uri": ...}`` for an asynchronous operation (Start/Stop
Partition), 204 for no content, and the HMC error body (``http-status``,
``reason``, ``message``, ``request-method``, ``request-uri``) for errors.
Simulated faults: a ``connection`` fault closes the connection without an
answer (TCP reset); a ``timeout`` fault holds the connection for
:attr:`HmcServer.timeout_sleep` seconds (more than the client's read
timeout) and then closes it.

HTTP/1.1 with persistent connections (``Content-Length`` on every response
with a body) and ``TCP_NODELAY`` on accepted sockets.  Binds to 127.0.0.1
only.
"""

import collections
import hmac
import http.server
import json
import logging
import shutil
import socket
import socketserver
import ssl
import struct
import tempfile
import threading
import uuid

import zhmcclient

from nova_dpm.simulator import ascii_console
from nova_dpm.simulator import certs
from nova_dpm.simulator import errors
from nova_dpm.simulator.hmc import uri_pattern
from nova_dpm.simulator import san_api
from nova_dpm.simulator import stomp

LOG = logging.getLogger(__name__)

LOOPBACK = '127.0.0.1'

VERSION_URI = '/api/version'
SESSIONS_URI = '/api/sessions'
THIS_SESSION_URI = '/api/sessions/this-session'
TOPICS_URI = '/api/sessions/operations/get-notification-topics'
SESSION_HEADER = 'X-API-Session'

# 403 reason codes (HMC WS API book, "Session and authentication").
BAD_CREDENTIALS = 0        # Logon: userid or password not valid
NO_PERMISSION = 1          # no task permission (objects: 404,1)
NO_SESSION = 4             # no X-API-Session header
INVALID_SESSION = 5        # X-API-Session unknown, expired or logged off

JSON_TYPE = 'application/json;charset=UTF-8'
# Get Metrics (zhmcclient reads this content type as text).
METRICS_TYPE = 'application/vnd.ibm-z-zmanager-metrics'

# Seconds a client gets to complete the TLS handshake.
HANDSHAKE_TIMEOUT = 10
# Seconds an idle persistent connection is kept open.
IDLE_TIMEOUT = 300
# Bound of the per-response log kept for tests (HmcServer.responses).
RESPONSE_LOG_SIZE = 1000
# What Logon answers a user with the right password, by the switch a test
# sets (HmcServer.answer_logon; HMC rule A11): (HTTP status, reason code).
# IBM "Change Logon Password": a user whose password has expired gets a
# partially-authenticated session, with 201 or with 409 reason 50 or 51
# (the page does not say which answer comes when); IBM "Common request
# validation reason codes": 400,13 when the user has the maximum number
# of sessions; 'forbidden': a 403 other than a wrong password.
LOGON_ANSWERS = {
    'password-expired': (409, 50),
    'password-expired-51': (409, 51),
    'partial-session': (201, None),
    'too-many-sessions': (400, 13),
    'forbidden': (403, 2),
}
# Consecutive failed logons after which the HMC disables a user: the HMC
# User object's 'max-failed-logins' (zhmcclient.mock Create User default:
# 3; the HMC's password rules and user settings can change it).
MAX_FAILED_LOGONS = 3


class _MalformedJson(ValueError):
    """The request body is not a well-formed JSON document."""


class _Handler(http.server.BaseHTTPRequestHandler):
    """One connection; each request is handed to the HmcServer."""

    protocol_version = 'HTTP/1.1'
    server_version = 'nova-dpm-simulated-HMC'
    sys_version = ''
    # Buffered: the status line, the headers and the body leave in one
    # write when handle_one_request() flushes (one TLS record, no delay).
    wbufsize = -1
    timeout = IDLE_TIMEOUT

    def do_GET(self):
        if ascii_console.is_upgrade(self):
            self.server.front.serve_console(self)
            return
        self.server.front.handle(self, 'GET')

    def do_POST(self):
        self.server.front.handle(self, 'POST')

    def do_DELETE(self):
        self.server.front.handle(self, 'DELETE')

    def do_PUT(self):
        self.server.front.handle(self, 'PUT')

    def do_PATCH(self):
        self.server.front.handle(self, 'PATCH')

    def log_message(self, format, *args):  # noqa: A002 (base signature)
        LOG.debug('simulated HMC %s: ' + format, self.address_string(),
                  *args)


class _TlsServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    """A threading HTTP server that speaks TLS on each accepted socket.

    The TLS handshake happens in the connection's thread, not in the
    accept loop, so that a slow or failing client blocks nobody.
    """

    daemon_threads = True

    def __init__(self, front, ssl_context, port):
        self.front = front
        self.ssl_context = ssl_context
        super().__init__((LOOPBACK, port), _Handler)

    def server_bind(self):
        # HTTPServer.server_bind() would look up the FQDN of the address.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def finish_request(self, request, client_address):
        try:
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            # wrap_socket() takes the file descriptor over; the plain
            # socket that shutdown_request() sees later is detached.
            conn = self.ssl_context.wrap_socket(
                request, server_side=True, do_handshake_on_connect=False)
        except OSError as exc:
            LOG.debug('simulated HMC: cannot set up connection from %s: '
                      '%s', client_address, exc)
            return
        self.front._track(conn)
        try:
            conn.settimeout(HANDSHAKE_TIMEOUT)
            conn.do_handshake()
            conn.settimeout(None)
            self.front._count_connection()
            self.RequestHandlerClass(conn, client_address, self)
        except OSError as exc:
            # Failed handshakes (the client refused our certificate),
            # resets, and connections shut down by stop().
            LOG.debug('simulated HMC: connection from %s ended: %s',
                      client_address, exc)
        except ValueError as exc:
            # eventlet's green ssl: "Read on closed or unwrapped SSL
            # socket" for a connection shut down by stop() or restart().
            if self.front.up and not self.front.stopping:
                raise
            LOG.debug('simulated HMC: connection from %s closed by stop: '
                      '%s', client_address, exc)
        finally:
            self.front._untrack(conn)
            try:
                conn.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        LOG.exception('simulated HMC: error on the connection from %s',
                      client_address)


class HmcServer:
    """HTTPS front end of a SimulatedHmc on 127.0.0.1.

    :param simulator: the :class:`~nova_dpm.simulator.hmc.SimulatedHmc`.
    :param userid: the HMC userid that may log on.
    :param password: its password.
    :param cert_dir: directory with ``ca.pem``, ``server.pem`` and
        ``server.key`` (see :mod:`nova_dpm.simulator.certs`); missing files
        are generated.  None: a temporary directory with new certificates,
        removed by :meth:`stop`.
    :param port: TCP port; 0 picks a free one (see :attr:`port`).
    :param host: must be ``'127.0.0.1'``: the simulator never listens on
        another address.
    :param timeout_sleep: seconds a ``timeout`` fault holds the connection
        before closing it (set it above the client's read timeout to get a
        zhmcclient.ReadTimeout); None or 0 closes at once.
    :param max_failed_logons: consecutive failed logons of the user after
        which it is disabled (None: never).
    :param notifications: serve the HMC's notifications over STOMP too
        (:attr:`stomp`, a :class:`~nova_dpm.simulator.stomp.StompBroker`).
    :param stomp_port: its TCP port; 0 picks a free one.
    """

    def __init__(self, simulator, userid, password, cert_dir=None, port=0,
                 host=LOOPBACK, timeout_sleep=None,
                 max_failed_logons=MAX_FAILED_LOGONS, notifications=True,
                 stomp_port=0):
        if host != LOOPBACK:
            raise ValueError(
                "The simulated HMC serves on %s only, not on %r"
                % (LOOPBACK, host))
        if not userid or not password:
            raise ValueError("A userid and a password are required")
        self.simulator = simulator
        self.userid = userid
        self.password = password
        self.timeout_sleep = timeout_sleep
        self._requested_port = port
        self._cert_dir = cert_dir
        self._temp_dir = None
        self.cert_paths = None
        self._httpd = None
        self._thread = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        # session id -> dict(userid, credential, valid)
        self._sessions = {}
        self._expire_new = 0          # -1: every new session, forever
        self._topic_serial = 0
        self._conns = {}              # socket -> thread
        self.logons = 0
        self.failed_logons = 0
        # Every Logon request with a well-formed body, whatever its answer.
        self.logon_attempts = 0
        # userid -> a key of LOGON_ANSWERS (answer_logon).
        self._logon_answers = {}
        # Sessions a user may have at once (None: no limit): beyond,
        # Logon answers 400,13.
        self.max_sessions = None
        self.max_failed_logons = max_failed_logons
        self._failed_in_a_row = 0
        self.user_disabled = False
        # Seconds a logon takes (a real HMC needs a noticeable time to
        # authenticate and create a session).
        self.logon_time = 0.0
        # Requests that arrived without an X-API-Session header (403,4).
        self.requests_without_session = 0
        self._denied_objects = {}     # URI -> object description
        self._denied_tasks = []       # (method, uri pattern, task name)
        self.logoffs = 0
        self.connections = 0
        self.responses = collections.deque(maxlen=RESPONSE_LOG_SIZE)
        # Restarts (restart()): set while the HMC is up; the thread that
        # brings it back; the restart a request handler has to carry out
        # once it has answered.
        self._up = threading.Event()
        self._restarter = None
        self._local = threading.local()
        self._context = None
        simulator.restart_listeners.append(self._on_restart)
        self.notifications = notifications
        self._stomp_port = stomp_port
        self.stomp = None

    # ------------------------------------------------------------------
    # Life cycle
    # ------------------------------------------------------------------

    def start(self):
        """Generate/load the certificates, bind and serve in a thread."""
        if self._httpd is not None:
            raise RuntimeError("The simulated HMC server is already started")
        if self._cert_dir is None:
            self._temp_dir = tempfile.mkdtemp(prefix='nova-dpm-hmc-certs-')
            self.cert_paths = certs.write_cert_dir(self._temp_dir)
        else:
            self.cert_paths = certs.ensure_cert_dir(self._cert_dir)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.cert_paths.cert_file,
                                self.cert_paths.key_file)
        self._context = context
        self._stopping.clear()
        self._serve(self._requested_port)
        # The console WebSockets are served here, on the API's port.
        self.simulator.console_endpoint = self
        LOG.info('Simulated HMC serving on %s', self.url)
        if self.notifications:
            self.stomp = stomp.StompBroker(self, self._stomp_port).start()
        return self

    def _serve(self, port):
        self._httpd = _TlsServer(self, self._context, port)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={'poll_interval': 0.05},
            name='simulated-hmc-%d' % self.port, daemon=True)
        self._thread.start()
        self._up.set()

    def stop(self, join_timeout=5.0):
        """Stop serving, close all connections, remove temporary files."""
        httpd = self._httpd
        if httpd is None:
            return
        self._stopping.set()
        if self.stomp is not None:
            self.stomp.stop()
            self.stomp = None
        restarter = self._restarter
        if restarter is not None and \
                restarter is not threading.current_thread():
            restarter.join(join_timeout)
        self._close(self._httpd, join_timeout)
        self._httpd = None
        self._thread = None
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
            self._temp_dir = None
        LOG.info('Simulated HMC on 127.0.0.1 stopped')

    def _close(self, httpd, join_timeout):
        """Stop listening and close every connection."""
        self._up.clear()
        httpd.shutdown()
        with self._lock:
            conns = dict(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        httpd.server_close()
        self._thread.join(join_timeout)
        for thread in conns.values():
            if thread is not threading.current_thread():
                thread.join(join_timeout)

    # ------------------------------------------------------------------
    # Restarts (HMC rule A12)
    # ------------------------------------------------------------------

    def restart(self, down=0.0, lose_operations=False):
        """The HMC restarts now: see SimulatedHmc.restart.

        Every session is dropped (the next request with one gets 403,5),
        every connection is closed, and for ``down`` seconds the port
        refuses connections; then the HMC serves again on the same port.
        Injected faults, failed-logon counts and the user's state stay.
        """
        self.simulator.restart(down, lose_operations)

    def restart_after(self, method, pattern, down=0.0, nth=1,
                      lose_operations=False):
        """Restart once the nth matching request has been answered."""
        self.simulator.restart_after(method, pattern, down, nth,
                                     lose_operations)

    def wait_until_up(self, timeout=60.0):
        """Block until the HMC serves again after a restart; True if so."""
        return self._up.wait(timeout)

    @property
    def up(self):
        return self._up.is_set()

    def _on_restart(self, down):
        # Called by the SimulatedHmc. The sessions go at once, so that no
        # request answered from now on finds its session; a request
        # handler that restarts the HMC goes down once it has answered.
        with self._lock:
            self._sessions.clear()
            self._up.clear()
        if getattr(self._local, 'handling', False):
            self._local.restart = down
        else:
            self._go_down(down)

    def _go_down(self, down):
        if self._httpd is None or self.stopping:
            return
        self._restarter = threading.Thread(
            target=self._down_and_up, args=(self._httpd, down),
            name='simulated-hmc-restart', daemon=True)
        self._restarter.start()

    def _down_and_up(self, httpd, down):
        port = httpd.server_address[1]
        self._close(httpd, 5.0)
        LOG.info('Simulated HMC on 127.0.0.1:%d restarts: it refuses '
                 'connections for %.1f s', port, down)
        if self._stopping.wait(down):
            return
        with self._lock:
            if self.stopping:
                return
            self._serve(port)
        LOG.info('Simulated HMC on 127.0.0.1:%d serves again', port)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    @property
    def port(self):
        if self._httpd is None:
            raise RuntimeError("The simulated HMC server is not started")
        return self._httpd.server_address[1]

    @property
    def url(self):
        return 'https://%s:%d' % (LOOPBACK, self.port)

    @property
    def ca_file(self):
        """The CA certificate a client verifies the server against."""
        return self.cert_paths.ca_file if self.cert_paths else None

    @property
    def stopping(self):
        return self._stopping.is_set()

    def _track(self, conn):
        with self._lock:
            self._conns[conn] = threading.current_thread()

    def _untrack(self, conn):
        with self._lock:
            self._conns.pop(conn, None)

    def _count_connection(self):
        with self._lock:
            self.connections += 1

    # ------------------------------------------------------------------
    # Test and fault controls
    # ------------------------------------------------------------------

    def expire_session(self):
        """Invalidate all current sessions (next use: 403,5)."""
        with self._lock:
            for sess in self._sessions.values():
                sess['valid'] = False

    def expire_new_sessions(self, count=1):
        """The next ``count`` logons succeed, but with expired sessions.

        With :meth:`expire_session` and ``count=1``, a request fails 403,5,
        zhmcclient logs on again, the repeated request fails 403,5 again and
        zhmcclient gives up (it re-logs on once per request).
        """
        with self._lock:
            self._expire_new = count

    def expire_sessions_always(self, enabled=True):
        """Every session, current and new, is expired (or stop that)."""
        with self._lock:
            self._expire_new = -1 if enabled else 0
            if enabled:
                for sess in self._sessions.values():
                    sess['valid'] = False

    def answer_logon(self, answer, userid=None):
        """Answer the user's logons with ``answer`` (LOGON_ANSWERS).

        Once the password is right: a wrong one still gets 403,0. None
        ends the switch. ``userid``: the server's user by default.
        """
        if answer is not None and answer not in LOGON_ANSWERS:
            raise ValueError("Unknown logon answer %r; valid answers: %s"
                             % (answer, ', '.join(sorted(LOGON_ANSWERS))))
        with self._lock:
            self._logon_answers[userid or self.userid] = answer

    def enable_user(self):
        """What an HMC administrator does for a disabled user."""
        with self._lock:
            self.user_disabled = False
            self._failed_in_a_row = 0

    def deny_object(self, uri, description=None):
        """The user loses object-access permission for the object at uri.

        HMC rule A10 (IBM's HMC WS API book, the status codes of each
        operation, and its List operations): a request on the object, or
        on a URI below it, gets 404,1 exactly as for an object that does
        not exist, and lists leave the object out. A request whose body
        names the object (a NIC's virtual switch, an HBA's adapter port)
        gets 404 as for a body URI that designates no object (HMC rule
        A4; that a hidden object counts as missing there is inferred).
        """
        with self._lock:
            self._denied_objects[uri] = description or uri

    def deny_task(self, method, pattern, task):
        """The user loses the task permission for matching requests (403,1).

        ``pattern`` is an accounting pattern of the simulator, e.g.
        ``'/api/partitions/{id}/operations/start'``; ``task`` is the HMC
        task named in the answer (e.g. ``'Start'``).
        """
        with self._lock:
            self._denied_tasks.append((method, pattern, task))

    def _hidden(self, uri):
        """True if the user may not see the object at (or above) uri."""
        path = uri.split('?', 1)[0]
        with self._lock:
            return any(path == d or path.startswith(d + '/')
                       for d in self._denied_objects)

    def _object_problem(self, path, body):
        """The 404,1 message for a request naming a hidden object."""
        named = [path]
        if isinstance(body, dict):
            named += [v for v in body.values() if isinstance(v, str)]
        for uri in named:
            if self._hidden(uri):
                return ('The object %s does not exist or the API user does '
                        'not have object-access permission to it' % uri)
        return None

    def _task_problem(self, method, path):
        """The 403,1 message for a request whose task is denied."""
        pattern = uri_pattern(path)
        with self._lock:
            for denied_method, denied_pattern, task in self._denied_tasks:
                if method == denied_method and pattern == denied_pattern:
                    return ('The user %s does not have permission for the '
                            'task %s' % (self.userid, task))
        return None

    def _visible(self, method, body, result):
        """The result without what the user may not see (lists)."""
        with self._lock:
            if not self._denied_objects:
                return result
        if isinstance(result, dict) and method == 'GET':
            return {key: ([item for item in value
                           if not (isinstance(item, dict) and
                                   self._hidden(item.get('object-uri') or
                                                item.get('element-uri') or
                                                ''))]
                          if isinstance(value, list) else value)
                    for key, value in result.items()}
        if isinstance(result, list) and isinstance(body, dict):
            # Submit Requests: one answer per request, by id.
            uris = {r.get('id'): r.get('uri', '')
                    for r in body.get('requests') or []}
            answers = []
            for answer in result:
                uri = uris.get(answer.get('id'), '')
                if self._hidden(uri):
                    answer = dict(answer, status=404, body={
                        'http-status': 404, 'reason': 1,
                        'message': self._object_problem(uri, None)})
                elif isinstance(answer.get('body'), dict):
                    answer = dict(answer, body=self._visible(
                        'GET', None, answer['body']))
                answers.append(answer)
            return answers
        return result

    @property
    def active_sessions(self):
        with self._lock:
            return sum(1 for s in self._sessions.values() if s['valid'])

    def drop_connection(self, method, pattern, nth=1):
        """Close the connection of the nth matching request unanswered.

        ``pattern`` is an accounting pattern of the simulator, e.g.
        ``'/api/cpcs/{id}/partitions'`` (see SimulatedHmc.inject_fault).
        """
        self.simulator.inject_fault('connection', method, pattern, nth)

    def inject_fault(self, kind, method, pattern, nth=1):
        """Fail the nth matching request (SimulatedHmc.inject_fault()).

        kind: 'connection', 'http500', 'busy' or 'timeout'.
        """
        self.simulator.inject_fault(kind, method, pattern, nth)

    @property
    def latency(self):
        return self.simulator.latency

    @latency.setter
    def latency(self, seconds):
        self.simulator.latency = seconds

    # ------------------------------------------------------------------
    # Request handling
    # ------------------------------------------------------------------

    def handle(self, h, method):
        if not self._up.is_set():
            # Restarting: the connections still open are cut.
            self._drop(h, method, h.path)
            return
        self._local.handling = True
        self._local.restart = None
        try:
            self._handle(h, method)
        finally:
            self._local.handling = False
            down = self._local.restart
            if down is not None:
                self._local.restart = None
                try:
                    h.wfile.flush()
                except OSError:
                    pass
                self._go_down(down)

    def serve_console(self, h):
        """A WebSocket opening: the console WebSocket of its URI.

        It carries no session header: the URI is the credential
        (ascii_console.py).
        """
        h.close_connection = True
        if not self._up.is_set():
            self._drop(h, 'GET', h.path)
            return
        h.wfile.flush()
        ascii_console.serve(self.simulator, h.connection, h.path, h.headers)

    def _handle(self, h, method):
        uri = h.path
        path = uri.split('?', 1)[0]
        try:
            body = self._read_body(h)
        except _MalformedJson as exc:
            # IBM, "Common request validation reason codes": 400,9.
            self._send_error(h, method, uri, 400, errors.MALFORMED_JSON,
                             str(exc))
            return
        except ValueError as exc:
            self._send_error(h, method, uri, 400, 0, str(exc))
            return
        if method not in ('GET', 'POST', 'DELETE'):
            self._send_error(h, method, uri, 405, 0,
                             "Method %s is not supported" % method)
            return
        if method == 'GET' and path == VERSION_URI:
            self._call(h, method, uri, None)
            return
        if san_api.handles(path):
            # The storage system's management interface (san_api.py).
            status, answer = san_api.request(
                self.simulator, h.headers, self.userid, self.password,
                method, path, body)
            self._send_json(h, method, uri, status, answer)
            return
        if method == 'POST' and path == SESSIONS_URI:
            self._logon(h, uri, body)
            return
        session_id = h.headers.get(SESSION_HEADER)
        reason = self._check_session(session_id)
        if reason == NO_SESSION:
            with self._lock:
                self.requests_without_session += 1
            self._send_error(h, method, uri, 403, reason,
                             "No session ID was provided (no %s header)"
                             % SESSION_HEADER)
            return
        if reason is not None:
            # HMC rule A5: the HMC's message for 403,5 says that the
            # x-api-session header did not map to a known session
            # (zhmcclient.testutils is_valid_hmc_session_id looks for it).
            self._send_error(h, method, uri, 403, reason,
                             "The x-api-session header did not map to a "
                             "known session: it has expired, was logged "
                             "off or never existed")
            return
        if method == 'DELETE' and path == THIS_SESSION_URI:
            self._logoff(h, session_id)
            return
        if self._partial(session_id):
            # [inferred] A partially-authenticated session serves only
            # Change Logon Password (IBM page of that name), which the
            # simulator does not offer, and Logoff: 403,5 otherwise.
            self._send_error(h, method, uri, 403, INVALID_SESSION,
                             "The session is only partially authenticated: "
                             "the user's password has expired")
            return
        if method == 'GET' and path == TOPICS_URI:
            self._topics(h, session_id)
            return
        hidden = self._object_problem(path, body)
        if hidden is not None:
            self._send_error(h, method, uri, 404, 1, hidden)
            return
        denied = self._task_problem(method, path)
        if denied is not None:
            self._send_error(h, method, uri, 403, NO_PERMISSION, denied)
            return
        self._call(h, method, uri, body)

    @staticmethod
    def _read_body(h):
        if h.headers.get('Transfer-Encoding', '').lower() == 'chunked':
            data = b''
            while True:
                line = h.rfile.readline(1024)
                size = int(line.split(b';', 1)[0].strip() or b'0', 16)
                if size == 0:
                    # Trailer section up to the empty line.
                    while h.rfile.readline(1024) not in (b'\r\n', b'\n', b''):
                        pass
                    break
                data += h.rfile.read(size)
                h.rfile.readline(1024)
        else:
            length = int(h.headers.get('Content-Length') or 0)
            data = h.rfile.read(length) if length > 0 else b''
        if not data.strip():
            return None
        try:
            return json.loads(data.decode('utf-8'))
        except (UnicodeDecodeError, ValueError) as exc:
            raise _MalformedJson("The request body is not a well-formed "
                                 "JSON document: %s" % exc)

    def _check_session(self, session_id):
        """None if the session is valid, else the 403 reason code."""
        if not session_id:
            return NO_SESSION
        with self._lock:
            sess = self._sessions.get(session_id)
            if sess is None or not sess['valid']:
                return INVALID_SESSION
        return None

    def _partial(self, session_id):
        with self._lock:
            return self._sessions[session_id].get('partial', False)

    def _logon(self, h, uri, body):
        if not isinstance(body, dict) or \
                not isinstance(body.get('userid'), str) or \
                not isinstance(body.get('password'), str):
            self._send_error(h, 'POST', uri, 400, 5,
                             "The request body must have the string fields "
                             "'userid' and 'password'")
            return
        with self._lock:
            self.logon_attempts += 1
        # A logon meets injected faults like any request (an HMC whose
        # console restarts drops it or answers 500); a faulted logon
        # creates no session.
        fault = self.simulator._take_fault('POST', SESSIONS_URI)
        if fault is not None:
            self._send_exception(h, 'POST', uri, self.simulator._fault_error(
                fault, 'POST', uri))
            return
        if self.logon_time:
            self._stopping.wait(self.logon_time)
        good = (hmac.compare_digest(body['userid'].encode(),
                                    self.userid.encode()) &
                hmac.compare_digest(body['password'].encode(),
                                    self.password.encode()))
        with self._lock:
            if good and self.user_disabled:
                # Inferred (harsher reading): a disabled user's logon is
                # refused like a wrong password, and the user stays
                # disabled until an administrator enables it (the HMC's
                # 'disable-delay' may re-enable it after some minutes).
                good = False
            if good:
                self._failed_in_a_row = 0
            elif body['userid'] == self.userid:
                self._failed_in_a_row += 1
                if self.max_failed_logons is not None and \
                        self._failed_in_a_row >= self.max_failed_logons:
                    self.user_disabled = True
            if not good:
                self.failed_logons += 1
        if not good:
            self._send_error(h, 'POST', uri, 403, BAD_CREDENTIALS,
                             "Logon failed: the user ID or password is not "
                             "valid")
            return
        status = self._refused_logon(h, uri)
        if status is None:
            return
        session_id = uuid.uuid4().hex
        with self._lock:
            valid = self._expire_new == 0
            if self._expire_new > 0:
                self._expire_new -= 1
            self._topic_serial += 1
            topic = '%s.%d' % (self.userid, self._topic_serial)
            self._sessions[session_id] = {
                'userid': self.userid, 'valid': valid, 'topic': topic,
                'partial': status == 201}
            if status == 200:
                self.logons += 1
        major, minor = self._api_version()
        # A partial session (201) gets the fields of a full one: nothing
        # available to us names those of a 201, and zhmcclient takes any
        # 201 for a logon.
        self._send_json(h, 'POST', uri, status, {
            'api-session': session_id,
            'session-credential': uuid.uuid4().hex,
            'notification-topic': topic,
            'job-notification-topic': topic + 'job',
            'api-major-version': major,
            'api-minor-version': minor,
            'password-expires': -1,
        })

    def _refused_logon(self, h, uri):
        """The status of the session to create: 200, or 201 (partial).

        None: the logon was refused here (LOGON_ANSWERS, max_sessions).
        """
        with self._lock:
            answer = self._logon_answers.get(self.userid)
            sessions = sum(1 for sess in self._sessions.values()
                           if sess['valid'] and
                           sess['userid'] == self.userid)
        if answer is None and self.max_sessions is not None and \
                sessions >= self.max_sessions:
            answer = 'too-many-sessions'
        if answer is None:
            return 200
        status, reason = LOGON_ANSWERS[answer]
        if status == 201:
            return 201
        messages = {
            409: "Logon failed: the password of user %s has expired; "
                 "change it (Change Logon Password)",
            400: "The maximum number of logged in user sessions for user "
                 "%s has been reached; no more are allowed",
            403: "Logon failed: user %s may not log on to the Web "
                 "Services API",
        }
        self._send_error(h, 'POST', uri, status, reason,
                         messages[status] % self.userid)
        return None

    def _api_version(self):
        major, minor = str(self.simulator.faked.api_version).split('.')[:2]
        return int(major), int(minor)

    def _logoff(self, h, session_id):
        with self._lock:
            self._sessions.pop(session_id, None)
            self.logoffs += 1
        self._send_json(h, 'DELETE', THIS_SESSION_URI, 204, None)

    def _topics(self, h, session_id):
        with self._lock:
            topic = self._sessions[session_id]['topic']
        self._send_json(h, 'GET', TOPICS_URI, 200, {'topics': [
            {'topic-type': 'object-notification', 'topic-name': topic},
            {'topic-type': 'job-notification', 'topic-name': topic + 'job'},
        ]})

    def _call(self, h, method, uri, body):
        try:
            result = self.simulator.request(
                method, uri, body=body,
                origin=h.headers.get(SESSION_HEADER))
        except Exception as exc:
            self._send_exception(h, method, uri, exc)
        else:
            self._send_result(h, method, uri,
                              self._visible(method, body, result))

    def _send_exception(self, h, method, uri, exc):
        """Answer a failed request as the HMC would (or not at all)."""
        try:
            raise exc
        except zhmcclient.HTTPError as exc:
            err = dict(exc.body or {})
            err.setdefault('http-status', exc.http_status)
            err.setdefault('reason', exc.reason)
            err.setdefault('message', exc.message)
            err.setdefault('request-method', method)
            err.setdefault('request-uri', uri)
            self._send_json(h, method, uri, exc.http_status, err)
        except zhmcclient.ReadTimeout:
            # The client sees no answer: hold the connection beyond its
            # read timeout (stop() cuts the wait short), then drop it.
            if self.timeout_sleep:
                self._stopping.wait(self.timeout_sleep)
            self._drop(h, method, uri)
        except zhmcclient.ConnectionError:
            self._drop(h, method, uri)
        except Exception as exc:
            LOG.exception('Simulated HMC: %s %s failed', method, uri)
            self._send_error(h, method, uri, 500, 0,
                             "Internal error of the simulated HMC: %s" % exc)

    def _send_result(self, h, method, uri, result):
        if result is None:
            self._send_json(h, method, uri, 204, None)
            return
        if isinstance(result, str):
            # Get Metrics answers a MetricsResponse, not JSON.
            self._send_text(h, method, uri, result)
            return
        headers = {}
        status = 200
        if method == 'POST' and isinstance(result, dict):
            if set(result) == {'job-uri'}:
                # An asynchronous operation (Start/Stop Partition).
                status = 202
            elif '/operations/' not in uri and (
                    'object-uri' in result or 'element-uri' in result):
                # A create: 201 and the new URI in Location.
                status = 201
                headers['Location'] = result.get('object-uri') or \
                    result.get('element-uri')
        self._send_json(h, method, uri, status, result, headers)

    def _send_error(self, h, method, uri, status, reason, message):
        self._send_json(h, method, uri, status, {
            'http-status': status,
            'reason': reason,
            'message': message,
            'request-method': method,
            'request-uri': uri,
        })

    def _send_json(self, h, method, uri, status, obj, headers=None):
        self.responses.append((method, uri_pattern(uri), status))
        h.send_response(status)
        for name, value in (headers or {}).items():
            h.send_header(name, value)
        if status == 204:
            # No body; RFC 9110 forbids Content-Length on 204.
            h.end_headers()
            return
        data = json.dumps(obj).encode('utf-8')
        h.send_header('Content-Type', JSON_TYPE)
        h.send_header('Content-Length', str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def _send_text(self, h, method, uri, text):
        self.responses.append((method, uri_pattern(uri), 200))
        data = text.encode('utf-8')
        h.send_response(200)
        h.send_header('Content-Type', METRICS_TYPE)
        h.send_header('Content-Length', str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def _drop(self, h, method, uri):
        """Close the connection without an answer (TCP reset)."""
        self.responses.append((method, uri_pattern(uri), None))
        h.close_connection = True
        try:
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                    struct.pack('ii', 1, 0))
        except OSError:
            pass
