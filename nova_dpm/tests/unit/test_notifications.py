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

"""Lifecycle events from the HMC's notifications (nova_dpm.notifications).

The driver runs against an HMC definition served over HTTPS, with the
simulated HMC's STOMP notification service, or in-process ([dpm]
hmc_mock_file), where the simulated HMC serves its notifications too; an
HMC operator's change is made on the simulator directly.  Every wait is
bounded (a condition looked at until a deadline); no test asserts on
time.
"""

import threading
import time

from nova.compute import power_state
from nova.virt import event as virtevent

from nova_dpm import notifications
from nova_dpm.tests.unit import base

WAIT = 60.0
POLL = 0.05
LIST = ('GET', '/api/cpcs/{id}/partitions')


def wait_until(predicate, timeout=WAIT):
    """Look at predicate() until it holds or the deadline passes."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(POLL)
    return True


class EventsTestCase(base.DriverTestCase):

    transport = 'https'
    notifications = True

    def setUp(self):
        super().setUp()
        self.events = []
        self.cond = threading.Condition()
        self.driver.register_event_listener(self._event)
        self.feed = self.driver.events
        self.assertTrue(self.feed.connected.wait(WAIT))

    def _event(self, event):
        with self.cond:
            self.events.append(event)
            self.cond.notify_all()

    def wait_events(self, count):
        with self.cond:
            self.assertTrue(self.cond.wait_for(
                lambda: len(self.events) >= count, WAIT))
        return [(e.get_instance_uuid(), e.get_transition())
                for e in self.events]

    def build_running(self):
        server, _c = self.build()
        self.assertEqual('active',
                         self.faked_partition(server).properties['status'])
        return server

    def uri(self, server):
        return self.faked_partition(server).uri

    @property
    def stomp(self):
        """The simulated HMC's notification service (stomp.StompBroker)."""
        if self.server is not None:
            return self.server.stomp
        return self.sim.console_endpoint.stomp


class TestLifecycleEvents(EventsTestCase):

    def test_out_of_band_stop_is_a_stopped_event(self):
        server = self.build_running()
        self.sim.reset_counts()
        # An HMC operator stops the partition.
        self.sim.set_status(self.uri(server), 'stopped')
        self.assertEqual(
            [(server.uuid, virtevent.EVENT_LIFECYCLE_STOPPED)],
            self.wait_events(1))
        # The status cache is current without a listing.
        self.assertEqual(power_state.SHUTDOWN,
                         self.driver.get_info(server).state)
        self.assertEqual(0, self.sim.count(*LIST))
        self.assertTrue(self.driver.partitions.pushed)

    def test_out_of_band_start_after_stop(self):
        server = self.build_running()
        self.sim.set_status(self.uri(server), 'stopped')
        self.wait_events(1)
        self.sim.set_status(self.uri(server), 'active')
        self.assertEqual(
            [(server.uuid, virtevent.EVENT_LIFECYCLE_STOPPED),
             (server.uuid, virtevent.EVENT_LIFECYCLE_STARTED)],
            self.wait_events(2))

    def test_foreign_partition_makes_no_event(self):
        server = self.build_running()
        foreign = [p for p in self.faked_cpc.partitions.list()
                   if p.uri != self.uri(server)]
        self.assertTrue(foreign)
        for part in foreign:
            new = 'stopped' if part.properties['status'] != 'stopped' \
                else 'active'
            self.sim.set_status(part.uri, new)
        # Ours last: once its event is in, the others were handled.
        self.sim.set_status(self.uri(server), 'terminated')
        self.assertEqual(
            [(server.uuid, virtevent.EVENT_LIFECYCLE_STOPPED)],
            self.wait_events(1))

    def test_nova_own_stop_makes_no_event(self):
        server = self.build_running()
        self.driver.power_off(server)
        self.assertEqual('stopped',
                         self.faked_partition(server).properties['status'])
        # Then an operator starts it again: the only event.
        self.sim.set_status(self.uri(server), 'active')
        self.assertEqual(
            [(server.uuid, virtevent.EVENT_LIFECYCLE_STARTED)],
            self.wait_events(1))

    def test_repeated_and_late_notifications_are_harmless(self):
        server = self.build_running()
        self.sim.set_status(self.uri(server), 'stopped')
        self.wait_events(1)
        headers, body = [(h, b) for t, h, b in self.stomp.messages
                         if h['notification-type'] == 'status-change'][-1]
        # The same notification again.
        self.feed.handle(headers, body)
        # An older one (active) after the newer: ignored by its number.
        self.feed.handle(dict(headers, **{'session-sequence-nr': '0'}),
                         {'change-reports': [{'old-status': 'stopped',
                                              'new-status': 'active'}]})
        self.sim.set_status(self.uri(server), 'active')
        self.assertEqual(
            [(server.uuid, virtevent.EVENT_LIFECYCLE_STOPPED),
             (server.uuid, virtevent.EVENT_LIFECYCLE_STARTED)],
            self.wait_events(2))

    def test_dropped_connection_is_reconnected_and_reconciled(self):
        self.feed.backoff_initial = 0.1
        server = self.build_running()
        self.assertEqual(1, self.feed.reconciliations)
        self.assertEqual(1, self.stomp.drop_connections())
        # While nobody listens, an operator stops the partition.
        self.sim.set_status(self.uri(server), 'stopped')
        self.sim.reset_counts()
        self.assertEqual(
            [(server.uuid, virtevent.EVENT_LIFECYCLE_STOPPED)],
            self.wait_events(1))
        self.assertEqual(2, self.feed.connects)
        self.assertEqual(2, self.feed.reconciliations)
        # One listing reconciled it.
        self.assertEqual(1, self.sim.count(*LIST))
        # One subscription per topic (the broker may not have read them
        # yet), none left of the dropped connection.
        topics = sorted(self.feed.subscribed.values())
        self.assertTrue(wait_until(
            lambda: len(self.stomp.subscriptions) >= len(topics)))
        self.assertEqual(topics, self.stomp.subscriptions)
        self.assertIn('reconciled', self.logger.output)
        self.assertIn('connection lost', self.logger.output)
        self.assertNotIn(base.PASSWORD, self.logger.output)


class TestFallbackToPolling(EventsTestCase):

    def test_refused_subscription_is_said_once(self):
        self.feed.backoff_initial = 0.05
        self.feed.backoff_max = 0.05
        self.stomp.refuse = True
        self.stomp.drop_connections()
        self.assertTrue(wait_until(lambda: self.feed.connects >= 4))
        self.assertEqual(
            1, self.logger.output.count('HMC notifications are not '
                                        'available'))
        self.assertIn('refused the subscription', self.logger.output)
        self.assertTrue(wait_until(
            lambda: not self.driver.partitions.pushed))
        self.assertEqual([], self.stomp.subscriptions)


class TestRefusedLogon(EventsTestCase):

    def test_refused_logon_is_not_repeated(self):
        self.feed.backoff_initial = 0.05
        before = self.stomp.connections
        # The HMC user's password changed while nova-compute runs.
        self.server.password = 'changed-on-the-hmc'
        self.stomp.drop_connections()
        self.assertTrue(wait_until(lambda: not self.feed._thread.is_alive()))
        # One attempt, then no more: retries could lock the user out.
        self.assertEqual(before + 1, self.stomp.connections)
        self.assertIn('refused the logon to its notification service',
                      self.logger.output)
        self.assertFalse(self.driver.partitions.pushed)


class TestLifecycleEventsInProcess(TestLifecycleEvents):
    """The same with the in-process simulated HMC ([dpm] hmc_mock_file).

    Its session names where it serves its notifications; the driver
    connects there as to a real HMC (TLS verified against the CA of the
    in-process HMC).
    """

    transport = 'in-process'

    def test_connected_where_the_session_says(self):
        local = self.sim.console_endpoint
        # The session's object and job topics (zhmcclient.mock's names;
        # the broker may not have read both SUBSCRIBE frames yet).
        self.assertTrue(wait_until(
            lambda: len(self.stomp.subscriptions) >= 2))
        self.assertEqual(['faked-job-notification-topic',
                          'faked-notification-topic'],
                         self.stomp.subscriptions)
        self.assertEqual(1, self.stomp.connections)
        self.assertIn('from 127.0.0.1:%d ' % local.notification_port,
                      self.logger.output)
        self.assertNotIn('HMC notifications are not available',
                         self.logger.output)


class TestFallbackToPollingInProcess(TestFallbackToPolling):

    transport = 'in-process'


class TestTransitions(base.DriverTestCase):

    start_driver = False

    def test_events_for_power_state_changes(self):
        t = notifications.transition
        self.assertEqual(virtevent.EVENT_LIFECYCLE_STOPPED,
                         t(power_state.RUNNING, power_state.SHUTDOWN))
        self.assertEqual(virtevent.EVENT_LIFECYCLE_STOPPED,
                         t(power_state.RUNNING, power_state.CRASHED))
        self.assertEqual(virtevent.EVENT_LIFECYCLE_STARTED,
                         t(power_state.SHUTDOWN, power_state.RUNNING))
        self.assertEqual(virtevent.EVENT_LIFECYCLE_RESUMED,
                         t(power_state.PAUSED, power_state.RUNNING))
        self.assertIsNone(t(power_state.RUNNING, power_state.NOSTATE))
        self.assertIsNone(t(power_state.RUNNING, power_state.RUNNING))
