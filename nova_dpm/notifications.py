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

:class:`PartitionEvents` is the one connection per nova-compute to the
HMC's notification service (a :class:`nova_dpm.hmc.listener.Listener`,
which keeps it in a thread of its own, a green thread under eventlet, and
makes it again with back-off when it drops), subscribed to the object
topic of the driver's HMC session.  A ``status-change``
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
Transitional statuses (starting, stopping) make no event.  Each time the
connection is made (again), the statuses are reconciled with one listing
(and logged).  Where the HMC offers no notifications, refuses the
subscription, or the HMC is the in-process simulator, the driver polls as
before and says so once.

A partition that pauses (all CPUs stopped) is reported as stopped, as
:data:`nova_dpm.partition.POWER_STATES` maps it; Nova's PAUSED and RESUMED
events are therefore not emitted for HMC statuses.
"""

from nova.compute import power_state
from nova.virt import event as virtevent
from oslo_log import log as logging

from nova_dpm.hmc import listener
from nova_dpm.hmc import pushed
from nova_dpm import partition

LOG = logging.getLogger(__name__)

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


class PartitionEvents(listener.Listener):
    """The HMC's partition notifications -> status cache, Nova events.

    :param hmc: the driver's :class:`~nova_dpm.hmc.HMC`.
    :param partitions: its :class:`~nova_dpm.partition.Partitions`.
    :param settings: the validated [dpm] settings.
    :param emit: callable(nova.virt.event.LifecycleEvent).
    """

    def __init__(self, hmc, partitions, settings, emit):
        super().__init__(hmc, ('object', 'job'), self._notified,
                         on_connected=self._connected,
                         on_unavailable=self._polling)
        # The job completions and statuses told, for the driver's waits
        # (nova_dpm.hmc.pushed): they listen instead of polling.
        self.told = hmc.told = pushed.Told(
            lambda: hmc.session.job_topic, stale=self.reconnect)
        self.partitions = partitions
        self.settings = settings
        self.emit = emit
        # Whether the log said that the driver polls (it says so once).
        self._told_polling = False
        # For tests and operators: reconciliations done.
        self.reconciliations = 0

    # -- life cycle -----------------------------------------------------

    def start(self):
        """Start receiving, or say why the driver polls instead."""
        if not self.settings.hmc_notifications:
            LOG.info('HMC notifications are switched off ([dpm] '
                     'hmc_notifications): partition statuses are polled.')
            return False
        if self.hmc.simulated:
            self._polling('the in-process simulated HMC ([dpm] '
                          'hmc_mock_file) has no notification service')
            return False
        return super().start()

    def stop(self):
        self.partitions.pushed = False
        self.told.down()
        super().stop()

    def _connected(self):
        self._reconcile()
        self.told.up(self.subscribed.get('job'))

    def _polling(self, reason):
        """Say once that the driver polls, and why."""
        self.partitions.pushed = False
        self.told.down()
        if self._told_polling:
            LOG.debug('HMC notifications still not available: %s', reason)
        else:
            self._told_polling = True
            LOG.warning('HMC notifications are not available (%s): '
                        'partition status changes made outside Nova are '
                        'seen at Nova\'s power-state sync, and starts and '
                        'stops poll the HMC for their end (polling).',
                        reason)

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
        # Subscribed and reconciled: the cache follows the notifications.
        self.partitions.pushed = True
        LOG.info('HMC notifications: reconciled %d partitions of this '
                 'subset with one listing; %d changed meanwhile.',
                 len(statuses), changed)

    def _notified(self, headers, body):
        """Act on one notification (headers, body)."""
        self.told.notified(headers, body)
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
