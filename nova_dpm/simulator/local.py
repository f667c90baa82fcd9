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

"""The network side of the in-process simulated HMC ([dpm] hmc_mock_file).

In-process, the client's zhmcclient session is the simulator's own
(:class:`~nova_dpm.simulator.session.SimulatedSession`): its requests are
calls, not HTTPS.  What a client of a real HMC reaches over the network
beside the Web Services API is served by :class:`LocalServer` on
127.0.0.1, as the HTTPS front end (server.py) serves it:

* the console WebSockets (ascii_console.py), on a free port;
* the notification service, STOMP over TLS
  (:class:`~nova_dpm.simulator.stomp.StompBroker`), on another free port:
  the object notifications of every change of the simulator's state,
  whether made through the session or directly on the simulator object
  (an HMC operator's stop or start, :meth:`SimulatedHmc.set_status`).

Both use one certificate, signed by a CA of their own (:attr:`ca_file`).
The session answers with this server's address where a client asks where
the HMC is: ``actual_host`` (127.0.0.1), ``port`` (the WebSockets),
``verify_cert`` (the CA file) and ``notification_port``.  The server
starts on the first of these questions (or when a console WebSocket URI is
handed out) and serves until :meth:`stop`.

The notification service accepts the userid and password that the session
was built with (none, when it was built without) and subscriptions to the
session's notification topics (zhmcclient.mock names them; there is no
logon in-process, so they are valid as long as the session exists).  The
session's requests carry :data:`ORIGIN` as their API session, so that the
jobs it starts are notified on its job topic.
"""

import hmac
import logging
import ssl
import tempfile
import threading

from nova_dpm.simulator import ascii_console
from nova_dpm.simulator import certs
from nova_dpm.simulator import stomp

LOG = logging.getLogger(__name__)

LOOPBACK = '127.0.0.1'
# What the in-process session's requests carry as their API session
# (SimulatedHmc.request's origin): the jobs it starts are notified on its
# job topic (HMC rule P6).
ORIGIN = 'in-process-session'


class LocalServer(object):
    """Console WebSockets and notifications of an in-process HMC.

    :param sim: the :class:`~nova_dpm.simulator.hmc.SimulatedHmc`; its
        ``session`` (the SimulatedSession, if any) gives the credentials
        and topics of the notification service.
    """

    host = LOOPBACK

    def __init__(self, sim):
        self.simulator = sim
        self._dir = None
        self._websockets = None
        self.cert_paths = None
        self.stomp = None

    def start(self):
        # Removed by stop(), or when the process ends.
        self._dir = tempfile.TemporaryDirectory(prefix='nova-dpm-hmc-local-')
        self.cert_paths = certs.write_cert_dir(self._dir.name)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.cert_paths.cert_file,
                                self.cert_paths.key_file)
        self._websockets = ascii_console.WebSocketServer(
            self.simulator, context, self.host)
        threading.Thread(target=self._websockets.serve_forever,
                         kwargs={'poll_interval': 0.05},
                         name='simulated-hmc-console', daemon=True).start()
        self.stomp = stomp.StompBroker(self).start()
        LOG.info('In-process simulated HMC: console WebSockets on %s:%d, '
                 'notifications (STOMP) on %s:%d', self.host, self.port,
                 self.host, self.notification_port)
        return self

    def stop(self):
        """Stop serving; the next question to the session starts anew."""
        if self.stomp is not None:
            self.stomp.stop()
            self.stomp = None
        if self._websockets is not None:
            self._websockets.shutdown()
            self._websockets.server_close()
            self._websockets = None
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None
        with self.simulator.lock:
            if self.simulator.console_endpoint is self:
                self.simulator.console_endpoint = None

    @property
    def port(self):
        """The port of the console WebSockets."""
        return self._websockets.server_address[1]

    @property
    def notification_port(self):
        return self.stomp.port

    @property
    def ca_file(self):
        return self.cert_paths.ca_file if self.cert_paths else None

    # -- what the notification service asks (stomp.StompBroker) -----------

    @property
    def userid(self):
        session = self.simulator.session
        return session.userid if session is not None else None

    def stomp_logon(self, login, passcode):
        """Whether a STOMP CONNECT's login and passcode are the session's."""
        session = self.simulator.session
        userid = (session.userid if session is not None else None) or ''
        # zhmcclient keeps the password there; it has no public property.
        password = (session._password if session is not None else None) \
            or ''
        return (hmac.compare_digest(login.encode(), userid.encode()) &
                hmac.compare_digest(passcode.encode(), password.encode()))

    def notification_topics(self):
        """{topic name: 'object' or 'job'} of the in-process session."""
        session = self.simulator.session
        if session is None or not session.object_topic:
            return {}
        return {session.object_topic: 'object',
                session.job_topic: 'job'}

    def job_topics(self):
        """{origin: job topic} of the in-process session."""
        session = self.simulator.session
        if session is None or not session.job_topic:
            return {}
        return {ORIGIN: session.job_topic}

    @staticmethod
    def _hidden(uri):
        # In-process, the session sees every object.
        return False
