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

"""One connection to the HMC's notification service (STOMP over TLS).

Neither Nova nor Neutron is imported here: nova-compute
(:mod:`nova_dpm.notifications`) and the DPM agent (:mod:`nova_dpm.neutron`)
both use it.

Interface::

    listener = Listener(hmc, topics, on_notification,
                        on_connected=None, on_unavailable=None,
                        port=None, name='nova-dpm-hmc-notifications')
    listener.start()        # False if there is nothing to connect to
    listener.is_up()        # connected and subscribed now
    listener.reconnect()    # subscribe again now (new session topics)
    listener.stop()

* ``hmc``: the service's :class:`nova_dpm.hmc.HMC`; its session (logged
  on if it is not yet) gives the topics and the HMC actually in use, its
  settings the user, password and TLS verification
  (``hmc_username``, ``hmc_password``, ``hmc_verify_cert``,
  ``hmc_ca_bundle``) and, unless ``port`` is given,
  ``hmc_notification_port``.
* ``topics``: which of the session's notification topics to subscribe
  to, by kind: ``'object'`` (Session.object_topic: status, property and
  inventory changes) and ``'job'`` (Session.job_topic: job completion).
* ``on_notification(headers, message)``: called in the receiving thread
  for each notification, in the order of the connection; ``headers`` are
  the STOMP message's headers (``notification-type``, ``object-uri``,
  ``job-uri``, ``destination``...), ``message`` its JSON body (a dict) or
  None. A notification numbered (``session-sequence-nr``, per topic) at or
  below the last one seen on its topic since the connection was made is
  dropped before the callback. An error raised by the callback is logged
  and the next notification is handled.
* ``on_connected()``: called each time the connection has been made and
  subscribed, before the first notification of that connection is
  handled: the place to reconcile with one listing what changed while
  there was no connection. An error raised there counts as a failed
  connection (retried with back-off). ``subscribed`` then maps each kind
  to the topic name subscribed to.
* ``on_unavailable(reason)``: called each time notifications stop or
  fail to start (a dropped connection, an unreachable notification port,
  a refused subscription, a refused logon), with a sentence saying why;
  the caller polls in the meantime.

The connection runs in a thread of its own (a green thread under
eventlet). When it drops it is made again with back-off, from
``backoff_initial`` doubling to ``backoff_max`` seconds; a refused
subscription waits ``backoff_max``; a refused logon is not tried again
(retries could lock the HMC user out). ``connects`` counts the
connections made, ``connected`` is a threading.Event set while it is up.
stomp.py, which logs every frame at DEBUG (the CONNECT frame with the
password), is kept at INFO.
"""

import logging as std_logging
import threading

from oslo_log import log as logging
import zhmcclient

LOG = logging.getLogger(__name__)

# Seconds between connection attempts: doubling from the first to the
# last (an HMC that restarts needs minutes).
BACKOFF_INITIAL = 1.0
BACKOFF_MAX = 60.0
STOMP_CONNECT_TIMEOUT = 30

# The kinds of topic -> the zhmcclient Session attribute naming it.
TOPICS = {'object': 'object_topic', 'job': 'job_topic'}


class _Receiver(zhmcclient.NotificationReceiver):
    """A receiver whose notifications() keeps the connection made before.

    zhmcclient's notifications() connects anew; here the connection made
    (and subscribed) by connect() before on_connected is used, so that no
    notification between the two is lost.
    """

    _made = False

    def connect(self):
        if self._made:
            # Connected, or closed by the HMC after an ERROR frame (a
            # refused subscription) that notifications() is to raise.
            if self.is_connected() or not self._handover_queue.empty():
                return
            # Lost before receiving began: the caller reconnects.
            raise zhmcclient.NotificationConnectionError(
                'Lost STOMP connection to HMC')
        try:
            super().connect()
        except zhmcclient.NotificationSubscriptionError:
            # Logged on, then a later SUBSCRIBE found the connection
            # closed: the HMC refused an earlier one (its ERROR frame is
            # queued for notifications() to raise), or the connection
            # dropped (notifications() says so).
            pass
        self._made = True


def _ignore(*args):
    pass


class Listener(object):
    """The HMC's notifications on some topics of a session (see above)."""

    backoff_initial = BACKOFF_INITIAL
    backoff_max = BACKOFF_MAX

    def __init__(self, hmc, topics, on_notification, on_connected=None,
                 on_unavailable=None, port=None,
                 name='nova-dpm-hmc-notifications'):
        unknown = set(topics) - set(TOPICS)
        if unknown:
            raise ValueError('unknown notification topics %s (expected %s)'
                             % (sorted(unknown), sorted(TOPICS)))
        self.hmc = hmc
        self.topics = tuple(topics)
        self.on_notification = on_notification
        self.on_connected = on_connected or _ignore
        self.on_unavailable = on_unavailable or _ignore
        self.port = port
        self.name = name
        self._stop = threading.Event()
        self._again = threading.Event()
        self._thread = None
        self._receiver = None
        self._last_seq = {}
        # {kind: topic name} of the connection made last.
        self.subscribed = {}
        self.connects = 0
        self.connected = threading.Event()

    # -- life cycle -----------------------------------------------------

    def start(self):
        """Start the receiving thread; False where there is no HMC."""
        if self.hmc.simulated:
            return False
        std_logging.getLogger('stomp.py').setLevel(std_logging.INFO)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.name,
                                        daemon=True)
        self._thread.start()
        return True

    def stop(self):
        self._stop.set()
        self._close()

    def is_up(self):
        return self.connected.is_set()

    def _close(self):
        receiver, self._receiver = self._receiver, None
        self.connected.clear()
        if receiver is not None:
            try:
                receiver.close()
            except Exception as exc:
                LOG.debug('Closing the HMC notification connection: %s',
                          exc)

    def _down(self, reason):
        self.connected.clear()
        self.on_unavailable(reason)

    # -- the receiving thread ------------------------------------------

    def _run(self):
        delay = self.backoff_initial
        while not self._stop.is_set():
            try:
                self._connect()
                delay = self.backoff_initial
                self._receive()
            except zhmcclient.NotificationJMSError as exc:
                # The HMC refused the subscription: not soon again.
                self._down('the HMC refused the subscription: %s' % exc)
                delay = self.backoff_max
            except Exception as exc:
                if self._stop.is_set():
                    break
                if self._renewing():
                    continue
                if self._logon_refused():
                    self._close()
                    self._down('the HMC refused the logon to its '
                               'notification service (check [dpm] '
                               'hmc_username and hmc_password); not '
                               'tried again until the service restarts')
                    return
                if self.connects:
                    LOG.warning('HMC notification connection lost (%s); '
                                'reconnecting in %.0f s.', exc, delay)
                self._down('no notification connection to the HMC: %s'
                           % exc)
            if self._renewing():
                continue
            self._close()
            if self._stop.wait(delay):
                break
            delay = min(delay * 2, self.backoff_max)

    def reconnect(self):
        """Make the connection again now, to the session's topics.

        After a re-logon the HMC session has new topics (its jobs are told
        on the new job topic): the connection is closed and made again at
        once, without counting as a lost connection.
        """
        self._again.set()
        self._close()

    def _renewing(self):
        if not self._again.is_set():
            return False
        self._again.clear()
        self._close()
        LOG.info('HMC notifications: subscribing to the topics of the '
                 'HMC session again (it logged on anew).')
        return True

    def _logon_refused(self):
        """True if the HMC answered the STOMP CONNECT with an ERROR."""
        receiver = self._receiver
        if receiver is None or receiver._made:
            return False
        # The receiver's listener queued the ERROR frame (zhmcclient has
        # no public way to tell it from an unreachable HMC).
        queued = list(receiver._handover_queue.queue)
        return any(item.msgtype == 'error' for item in queued)

    def _topic_names(self):
        session = self.hmc.session
        names = [getattr(session, TOPICS[kind]) for kind in self.topics]
        if None in names:
            session.logon()
            names = [getattr(session, TOPICS[kind]) for kind in self.topics]
        return names

    def _connect(self):
        names = self._topic_names()
        s = self.hmc.settings
        verify = (s.hmc_ca_bundle or True) if s.hmc_verify_cert else False
        host = (self.hmc.session.actual_host or s.hmc[0]).strip('[]')
        port = self.port or s.hmc_notification_port
        self._receiver = _Receiver(
            names, host, s.hmc_username, s.hmc_password, port=port,
            verify_cert=verify,
            stomp_rt_config=zhmcclient.StompRetryTimeoutConfig(
                connect_timeout=STOMP_CONNECT_TIMEOUT, connect_retries=1))
        self._receiver.connect()
        self.subscribed = dict(zip(self.topics, names))
        self._last_seq = {}
        self.connects += 1
        # Subscribed: from now on nothing is missed.
        self.on_connected()
        self.connected.set()
        LOG.info('Receiving HMC notifications from %s:%d (topics %s).',
                 host, port, ', '.join(names))

    def _receive(self):
        for headers, message in self._receiver.notifications(self._stop):
            try:
                self.handle(headers, message)
            except Exception:
                LOG.exception('HMC notification not understood: %s',
                              headers)

    def handle(self, headers, message):
        """Hand one notification to on_notification, unless it is stale."""
        seq = int(headers.get('session-sequence-nr', -1))
        if seq >= 0:
            topic = headers.get('destination')
            if seq <= self._last_seq.get(topic, -1):
                return
            self._last_seq[topic] = seq
        self.on_notification(headers, message)
