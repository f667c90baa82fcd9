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

"""When the DPM agent looks at the HMC, and what it looks at.

:class:`NicFeed` sits between the HMC's object notifications and the
agent loop's scans. While notifications arrive, a NIC created or deleted
on the HMC (an ``inventory-change`` notification, ``action`` ``add`` or
``remove``, with the NIC's ``element-uri``; HMC rules P3, P4) is queued and
wakes the agent loop at once; the loop then reads only the new NICs (one
request) and drops the deleted ones (no request). A full listing of the
CPC's NICs is made at start, after each (re)connection of the notification
service, after a failed request, and every
``[dpm] nic_reconciliation_interval`` seconds as the reconciliation.
Without notifications the loop lists the NICs every
``[AGENT] polling_interval`` seconds, as it always did.
"""

import threading
import time

from oslo_log import log as logging

from nova_dpm.hmc import listener

LOG = logging.getLogger(__name__)

# What the loop does with a scan (NicFeed.take).
LIST = 'list'


class NicFeed(object):
    """NIC changes from notifications, and the pacing of the agent loop.

    :param polling_interval: seconds between listings without
        notifications ([AGENT] polling_interval).
    :param reconciliation_interval: seconds between listings while
        notifications arrive ([dpm] nic_reconciliation_interval).
    :param clock: the monotonic clock (tests run a simulated period).
    """

    def __init__(self, polling_interval, reconciliation_interval,
                 clock=time.monotonic):
        self.polling_interval = polling_interval
        self.reconciliation_interval = reconciliation_interval
        self.clock = clock
        self._cond = threading.Condition()
        self._changes = []          # ('add' | 'remove' | 'gone', uri)
        self._pushed = False        # notifications arrive and are whole
        self._last_listing = None   # clock() of the last good listing
        self._retry_at = None       # a listing due before the interval
        self._stopped = False
        self._reconcile = False     # the next listing follows a connection
        self._woken = False         # a scan is wanted now (wake())
        # For tests and operators.
        self.listings = 0
        self.reconciliations = 0
        self.targeted = 0

    # -- what the notification service says --------------------------------

    @property
    def pushed(self):
        return self._pushed

    def connected(self):
        """Subscribed: from now on no change is missed.

        The next scan lists the NICs, which covers what changed while
        there was no connection.
        """
        with self._cond:
            self._pushed = True
            self._retry_at = float('-inf')
            self._reconcile = True
            self._cond.notify_all()

    def disconnected(self):
        """No notifications (lost, refused, unavailable): list again."""
        with self._cond:
            self._pushed = False
            self._cond.notify_all()

    def handle(self, headers, body=None):
        """Queue a NIC created or deleted, or a partition deleted.

        Other notifications (status and property changes, other classes)
        change no device.
        """
        if headers.get('notification-type') != 'inventory-change':
            return
        action = headers.get('action')
        if headers.get('class') == 'nic' and headers.get('element-uri') \
                and action in ('add', 'remove'):
            change = (action, headers['element-uri'])
        elif headers.get('class') == 'partition' and action == 'remove' \
                and headers.get('object-uri'):
            # Its NICs are gone with it, notified or not.
            change = ('gone', headers['object-uri'])
        else:
            return
        with self._cond:
            self._changes.append(change)
            self._cond.notify_all()

    # -- what the agent loop does -----------------------------------------

    def _next_listing(self):
        if self._retry_at is not None:
            return self._retry_at
        if self._last_listing is None:
            return float('-inf')
        interval = (self.reconciliation_interval if self._pushed
                    else self.polling_interval)
        return self._last_listing + interval

    def wait(self):
        """Block until there is something to do (or stop() was called).

        The loop's pace: a queued change ends the wait at once, else the
        next listing is due (polling_interval without notifications,
        reconciliation_interval with them).
        """
        with self._cond:
            while not self._stopped and not self._changes and \
                    not self._woken:
                left = self._next_listing() - self.clock()
                if left <= 0:
                    return
                self._cond.wait(left)

    def take(self):
        """LIST, or the queued changes in the order received.

        LIST when a listing is due: the changes queued until now
        happened before it, so the listing covers them (they are
        dropped).
        """
        with self._cond:
            changes, self._changes = self._changes, []
            self._woken = False
            if self.clock() >= self._next_listing():
                return LIST
            return changes

    def listed(self, at):
        """A listing begun at ``at`` (clock()) succeeded.

        True if it reconciled what changed before the notification
        connection was made.
        """
        with self._cond:
            self._last_listing = at
            self._retry_at = None
            self.listings += 1
            reconciled, self._reconcile = self._reconcile, False
            self.reconciliations += reconciled
            return reconciled

    def failed(self):
        """A request failed: list after polling_interval.

        The listing covers the changes taken for the failed scan.
        """
        with self._cond:
            self._retry_at = self.clock() + self.polling_interval

    def wake(self):
        """End the loop's wait now (neutron-server updated a port)."""
        with self._cond:
            self._woken = True
            self._cond.notify_all()

    def stop(self):
        with self._cond:
            self._stopped = True
            self._cond.notify_all()


class NicNotifications(object):
    """The agent's subscription to its HMC session's object topic.

    :param hmc: the agent's :class:`~nova_dpm.hmc.HMC`.
    :param settings: the validated [dpm] settings of the agent.
    :param feed: the :class:`NicFeed` it feeds.
    """

    def __init__(self, hmc, settings, feed):
        self.hmc = hmc
        self.settings = settings
        self.feed = feed
        self.listener = None
        # The object topic subscribed to (None: not connected).
        self._topic = None
        # Whether the log said that the agent polls (it says so once).
        self._told_polling = False

    def start(self):
        """Start receiving, or say why the agent polls instead."""
        if not self.settings.hmc_notifications:
            LOG.info('HMC notifications are switched off ([dpm] '
                     'hmc_notifications): the NICs are listed every %s s.',
                     self.feed.polling_interval)
            return False
        self.listener = listener.Listener(
            self.hmc, ('object',), self.feed.handle,
            on_connected=self._connected, on_unavailable=self._polling,
            name='neutron-dpm-agent-notifications')
        return self.listener.start()

    def stop(self):
        self.feed.stop()
        if self.listener is not None:
            self.listener.stop()

    def check_topic(self):
        """Subscribe again if the HMC session logged on anew.

        A new session has a new object topic; the old one tells nothing
        more. Until the new subscription is made the agent lists.
        """
        topic = self._topic
        if topic is None or self.hmc.session.object_topic == topic:
            return
        self._topic = None
        self.feed.disconnected()
        self.listener.reconnect()

    def _connected(self):
        self._topic = self.hmc.session.object_topic
        self.feed.connected()
        LOG.info('NICs created and deleted are learned from HMC '
                 'notifications; the NICs are listed now and every %s s '
                 '([dpm] nic_reconciliation_interval).',
                 self.feed.reconciliation_interval)

    def _polling(self, reason):
        """Say once that the agent polls, and why."""
        self._topic = None
        self.feed.disconnected()
        if self._told_polling:
            LOG.debug('HMC notifications still not available: %s', reason)
            return
        self._told_polling = True
        LOG.warning('HMC notifications are not available (%s): the NICs '
                    'are listed every %s s ([AGENT] polling_interval).',
                    reason, self.feed.polling_interval)
