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

"""Nova lifecycle events from the HMC's object notifications.

:class:`PartitionEvents` keeps one STOMP connection per nova-compute to
the HMC's notification service (zhmcclient.NotificationReceiver),
subscribed to the object topic of the driver's HMC session, in a thread of
its own (a green thread under eventlet).  A ``status-change``
notification of one of this subset's partitions whose status differs from
the one this service knows, while no operation of this service holds the
instance, is confirmed with one status read (a notification can arrive
after this service's own start or stop noted a newer status); the read
keeps the status cache of :class:`~nova_dpm.partition.Partitions` current,
and a change of the power state is emitted to Nova as a lifecycle event.
Nova's power-state sync then needs no listing while notifications arrive.

Notifications of other partitions (foreign ones, other subsets) change
nothing.  A repeated or late notification is harmless: it matches the
status known, or the read shows that nothing changed; notifications
numbered below the last one seen on the connection are ignored.
Transitional statuses (starting, stopping) make no event.  When the
connection drops, it is re-established with back-off and the statuses are
reconciled with one listing (and logged).  Where the HMC offers no
notifications or refuses the subscription, the driver polls as before and
says so once.  The receiver connects to the session's HMC
(``actual_host``) on its ``notification_port`` and verifies it with its
``verify_cert``: for a real HMC, ``[dpm] hmc_notification_port`` and the
certificate settings of the Web Services API; for the in-process simulated
HMC ([dpm] hmc_mock_file), where that simulator serves its notifications.

A partition that pauses (all CPUs stopped) is reported as stopped, as
:data:`nova_dpm.partition.POWER_STATES` maps it; Nova's PAUSED and RESUMED
events are therefore not emitted for HMC statuses.
"""

import logging as std_logging
import threading

from nova.compute import power_state
from nova.virt import event as virtevent
from oslo_log import log as logging
import zhmcclient

from nova_dpm import partition

LOG = logging.getLogger(__name__)

# Seconds between connection attempts: doubling from the first to the
# last (an HMC that restarts needs minutes).
BACKOFF_INITIAL = 1.0
BACKOFF_MAX = 60.0
STOMP_CONNECT_TIMEOUT = 30

# Power state -> the event that reports a change into it.
_EVENTS = {
    power_state.RUNNING: virtevent.EVENT_LIFECYCLE_STARTED,
    power_state.SHUTDOWN: virtevent.EVENT_LIFECYCLE_STOPPED,
    power_state.CRASHED: virtevent.EVENT_LIFECYCLE_STOPPED,
    power_state.PAUSED: virtevent.EVENT_LIFECYCLE_PAUSED,
}


def transition(old_state, new_state):
    """The lifecycle event for a power state change, or None.

    Transitional statuses (NOSTATE: starting, stopping) make no event;
    the change is judged against the last settled state.
    """
    if new_state == power_state.NOSTATE or new_state == old_state:
        return None
    if new_state == power_state.RUNNING and old_state == power_state.PAUSED:
        return virtevent.EVENT_LIFECYCLE_RESUMED
    return _EVENTS.get(new_state)


class _Receiver(zhmcclient.NotificationReceiver):
    """A receiver whose notifications() keeps the connection made before.

    zhmcclient's notifications() connects anew; here the connection made
    (and subscribed) by connect() before the reconciliation is used, so
    that no notification between the two is lost.
    """

    _made = False

    def connect(self):
        if self._made:
            # Connected, or closed by the HMC after an ERROR frame (a
            # refused subscription) that notifications() is to raise.
            if self.is_connected() or not self._handover_queue.empty():
                return
            # Lost before receiving began: the caller reconnects (and
            # reconciles).
            raise zhmcclient.NotificationConnectionError(
                'Lost STOMP connection to HMC')
        super().connect()
        self._made = True


class PartitionEvents(object):
    """The HMC's partition notifications -> status cache, Nova events.

    :param hmc: the driver's :class:`~nova_dpm.hmc.HMC`.
    :param partitions: its :class:`~nova_dpm.partition.Partitions`.
    :param settings: the validated [dpm] settings.
    :param emit: callable(nova.virt.event.LifecycleEvent).
    """

    backoff_initial = BACKOFF_INITIAL
    backoff_max = BACKOFF_MAX

    def __init__(self, hmc, partitions, settings, emit):
        self.hmc = hmc
        self.partitions = partitions
        self.settings = settings
        self.emit = emit
        self._stop = threading.Event()
        self._thread = None
        self._receiver = None
        self._last_seq = -1
        # Whether the log said that the driver polls (it says so once).
        self._told_polling = False
        # For tests and operators: connections made, reconciliations done.
        self.connects = 0
        self.reconciliations = 0
        self.connected = threading.Event()

    # -- life cycle -----------------------------------------------------

    def start(self):
        """Start receiving, or say why the driver polls instead."""
        if not self.settings.hmc_notifications:
            LOG.info('HMC notifications are switched off ([dpm] '
                     'hmc_notifications): partition statuses are polled.')
            return False
        # stomp.py logs every frame at DEBUG, the CONNECT frame with the
        # HMC password: never let it.
        std_logging.getLogger('stomp.py').setLevel(std_logging.INFO)
        self._thread = threading.Thread(
            target=self._run, name='nova-dpm-hmc-notifications',
            daemon=True)
        self._thread.start()
        return True

    def stop(self):
        self._stop.set()
        self.partitions.pushed = False
        self._close()

    def _close(self):
        receiver, self._receiver = self._receiver, None
        self.connected.clear()
        if receiver is not None:
            try:
                receiver.close()
            except Exception as exc:
                LOG.debug('Closing the HMC notification connection: %s',
                          exc)

    def _polling(self, reason):
        """Say once that the driver polls, and why."""
        self.partitions.pushed = False
        if self._told_polling:
            LOG.debug('HMC notifications still not available: %s', reason)
        else:
            self._told_polling = True
            LOG.warning('HMC notifications are not available (%s): '
                        'partition status changes made outside Nova are '
                        'seen at Nova\'s power-state sync (polling).',
                        reason)

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
                self._polling('the HMC refused the subscription: %s' % exc)
                delay = self.backoff_max
            except Exception as exc:
                if self._stop.is_set():
                    break
                if self._logon_refused():
                    # Trying again could lock the HMC user out.
                    self._polling('the HMC refused the logon to its '
                                  'notification service (check [dpm] '
                                  'hmc_username and hmc_password); not '
                                  'tried again until nova-compute restarts')
                    self._close()
                    return
                if self.connects:
                    LOG.warning('HMC notification connection lost (%s); '
                                'reconnecting in %.0f s.', exc, delay)
                self._polling('no notification connection to the HMC: %s'
                              % exc)
            self._close()
            if self._stop.wait(delay):
                break
            delay = min(delay * 2, self.backoff_max)

    def _logon_refused(self):
        """True if the HMC answered the STOMP CONNECT with an ERROR."""
        receiver = self._receiver
        if receiver is None or receiver._made:
            return False
        # The receiver's listener queued the ERROR frame (zhmcclient has
        # no public way to tell it from an unreachable HMC).
        queued = list(receiver._handover_queue.queue)
        return any(item.msgtype == 'error' for item in queued)

    def _connect(self):
        session = self.hmc.session
        topic = session.object_topic
        if topic is None:
            session.logon()
            topic = session.object_topic
        s = self.settings
        # Where the session's HMC serves its notifications, verified as
        # its Web Services API.
        verify = session.verify_cert
        host = (session.actual_host or s.hmc[0]).strip('[]')
        port = session.notification_port
        self._receiver = _Receiver(
            [topic], host, s.hmc_username, s.hmc_password,
            port=port, verify_cert=verify,
            stomp_rt_config=zhmcclient.StompRetryTimeoutConfig(
                connect_timeout=STOMP_CONNECT_TIMEOUT, connect_retries=1))
        self._receiver.connect()
        self._last_seq = -1
        self.connects += 1
        # Subscribed: from now on nothing is missed; the listing tells
        # what changed while there was no connection.
        self._reconcile()
        self.partitions.pushed = True
        self.connected.set()
        LOG.info('Receiving HMC notifications for partition status '
                 'changes from %s:%d (topic %s).', host, port, topic)

    def _receive(self):
        for headers, body in self._receiver.notifications(self._stop):
            try:
                self.handle(headers, body)
            except Exception:
                LOG.exception('HMC notification not understood: %s',
                              headers)

    # -- what a notification means --------------------------------------

    def _reconcile(self):
        """One listing; an event for each change that was missed."""
        before = self.partitions.statuses(max_age=float('inf'))
        statuses = self.partitions.statuses(max_age=0)
        changed = 0
        for uuid, status in statuses.items():
            if self._emit(uuid, before.get(uuid), status):
                changed += 1
        self.reconciliations += 1
        LOG.info('HMC notifications: reconciled %d partitions of this '
                 'subset with one listing; %d changed meanwhile.',
                 len(statuses), changed)

    def handle(self, headers, body):
        """Act on one notification (headers, body)."""
        seq = int(headers.get('session-sequence-nr', -1))
        if seq >= 0:
            if seq <= self._last_seq:
                return
            self._last_seq = seq
        if headers.get('notification-type') != 'status-change' or \
                headers.get('class') != 'partition' or \
                'element-uri' in headers:
            return
        reports = (body or {}).get('change-reports') or []
        if not reports or 'new-status' not in reports[-1]:
            return
        # The reports run from old to new.
        status = reports[-1]['new-status']
        found = self.partitions.owner(headers.get('object-uri'))
        if found is None:
            return          # not one of this subset's partitions
        uuid, cached = found
        if status == cached or partition.power_state_of(status) == \
                power_state.NOSTATE:
            # Known already (this service's own start or stop, or a
            # repeated notification), or on the way to a new status.
            return
        self._confirm(uuid, cached)

    def _confirm(self, uuid, cached):
        """Read the status now; emit the event for a change outside Nova.

        A notification can arrive after this service's own operation
        noted a newer status: the status is read (one request) before
        Nova is told, and it updates the cache.
        """
        lock = self.partitions.lock(uuid)
        if not lock.acquire(blocking=False):
            # This service is starting, stopping or deleting it: Nova
            # knows, and the operation notes the status it ends with.
            return
        try:
            part = self.partitions.get(uuid, refresh=False)
            if part is None:
                return
            status = self.partitions.status(part)
            self._emit(uuid, cached, status, locked=True)
        finally:
            lock.release()

    def _emit(self, uuid, old_status, status, locked=False):
        """Emit the event from old_status to status; True if emitted."""
        if old_status is None or status is None:
            return False
        name = transition(partition.power_state_of(old_status),
                          partition.power_state_of(status))
        if name is None:
            return False
        if not locked:
            lock = self.partitions.lock(uuid)
            if not lock.acquire(blocking=False):
                return False
            lock.release()
        LOG.info('Partition of instance %s is %s (changed outside Nova): '
                 'lifecycle event %s.', uuid, status, name)
        self.emit(virtevent.LifecycleEvent(uuid, name))
        return True
