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

"""The DPM agent on the HMC's notifications (nova_dpm.neutron.nic_feed).

The agent logs on over HTTPS to the simulated HMC and receives its object
notifications from the simulator's STOMP service; nova-dpm's side (the
partitions and NICs) is played through the simulator's in-process session.
Where the agent's loop runs, its listing intervals are an hour: a port
that becomes ACTIVE or DOWN during a test got there through a
notification. Where HMC requests are counted over a period, the period is
simulated (the feed's clock), not waited for. Every wait is bounded.
"""

import threading
import time
import uuid

import fixtures
from oslo_config import cfg

from nova_dpm import hmc as hmc_module
from nova_dpm.hmc import listener
from nova_dpm.neutron import agent
from nova_dpm.neutron import config
from nova_dpm.neutron.tests import test_agent
from nova_dpm.simulator.cloud import neutron_server
from nova_dpm.simulator import stomp

WAIT = 60.0
HOUR = 3600
LISTING = ('GET', '/api/cpcs/{id}/partitions')
NIC_READ = ('GET', '/api/partitions/{id}/nics/{id}')
POLLING = 'HMC notifications are not available'


def wait_until(predicate, timeout=WAIT):
    """Look at predicate() until it holds or the deadline passes."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


class Clock(object):
    """A clock the test moves (a simulated period)."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class NotifiedTestCase(test_agent.AgentTestCase):

    def setUp(self):
        super().setUp()
        # Reconnections in a test come quickly.
        self.useFixture(fixtures.MockPatchObject(
            listener.Listener, 'backoff_initial', 0.1))
        self.useFixture(fixtures.MockPatchObject(
            listener.Listener, 'backoff_max', 0.5))

    def serve(self):
        super().serve()
        self.conf.config(group='dpm',
                         hmc_notification_port=self.server.stomp.port)

    def started_manager(self, polling_interval=2, reconciliation=60):
        """A manager on a simulated clock, its notifications started."""
        self.conf.config(group='dpm',
                         nic_reconciliation_interval=reconciliation)
        settings = config.validate(cfg.CONF)
        connection = hmc_module.HMC(settings)
        connection.logon()
        self.addCleanup(connection.logoff)
        mgr = agent.DPMManager(connection, settings, test_agent.HOST,
                               polling_interval).start()
        mgr.loop_thread = threading.current_thread()
        self.clock = Clock()
        mgr.feed.clock = self.clock
        mgr.notifications.start()
        self.addCleanup(mgr.notifications.stop)
        return mgr

    def run_for(self, mgr, seconds, step=2):
        """The loop's scans over a simulated period; the requests made."""
        self.sim.reset_counts()
        end = self.clock.now + seconds
        while self.clock.now < end:
            mgr.get_all_devices()
            self.clock.now += step
        return self.sim.requests


class NotifiedNicTest(NotifiedTestCase):
    """The whole agent; its listing intervals are an hour."""

    def setUp(self):
        super().setUp()
        self.serve()
        self.conf.config(group='dpm', nic_reconciliation_interval=HOUR)
        self.neutron = neutron_server.InProcessNeutron(test_agent.HOST)
        self.runner = neutron_server.AgentRunner(self.neutron,
                                                 polling_interval=HOUR)
        self.runner.start()
        self.addCleanup(self.runner.stop)
        self.feed = self.runner.agent.mgr.feed
        # Subscribed, and the listing after the subscription made.
        self.assertTrue(wait_until(lambda: self.feed.reconciliations))
        self.port_id = str(uuid.uuid4())
        self.neutron.add_port(self.port_id, 'physnet1')

    def reports(self):
        return [c for c in self.neutron.calls
                if c[0] != 'get_device_details']

    def test_created_nic_makes_the_port_active_with_one_read(self):
        self.sim.reset_counts()
        _p, nic = self.nic(self.partition(), port_id=self.port_id)
        self.assertTrue(self.neutron.wait_for_status(self.port_id,
                                                     'ACTIVE'))
        self.assertEqual([('update_device_up', self.port_id)],
                         self.reports())
        # The new NIC was read; nothing was listed.
        self.assertEqual(0, self.sim.count(*LISTING))
        self.assertEqual([nic.uri],
                         [uri for uri, _b in self.sim.sent(*NIC_READ)])

    def test_deleted_nic_makes_the_port_down_without_a_request(self):
        _p, nic = self.nic(self.partition(), port_id=self.port_id)
        self.assertTrue(self.neutron.wait_for_status(self.port_id,
                                                     'ACTIVE'))
        self.sim.reset_counts()
        nic.delete()
        self.assertTrue(self.neutron.wait_for_status(self.port_id, 'DOWN'))
        self.assertEqual([('update_device_up', self.port_id),
                          ('update_device_down', self.port_id)],
                         self.reports())
        # Only nova-dpm's DELETE: the agent asked the HMC nothing.
        self.assertEqual([('DELETE', '/api/partitions/{id}/nics/{id}')],
                         self.sim.requests)

    def test_other_hosts_and_foreign_nics_stay_down(self):
        other = str(uuid.uuid4())
        self.neutron.add_port(other, 'physnet1')
        part = self.partition()
        # Another subset's port id on this partition, a NIC of an HMC
        # user, then this host's: once this one is up, the others were
        # seen.
        self.nic(part, port_id=other, host='subset2')
        part.nics.create({'name': 'admin-nic', 'virtual-switch-uri':
                          '/api/virtual-switches/' + test_agent.VSWITCH_0})
        self.nic(part, port_id=self.port_id)
        self.assertTrue(self.neutron.wait_for_status(self.port_id,
                                                     'ACTIVE'))
        self.assertEqual('DOWN', self.neutron.status(other))
        self.assertEqual([('update_device_up', self.port_id)],
                         self.reports())

    def test_port_update_is_handled_without_waiting_for_a_listing(self):
        self.nic(self.partition(), port_id=self.port_id)
        self.assertTrue(self.neutron.wait_for_status(self.port_id,
                                                     'ACTIVE'))
        details = ('get_device_details', self.port_id)
        self.assertEqual(1, self.neutron.calls.count(details))
        # What neutron-server's port_update RPC calls on the agent.
        agent_loop = self.runner.agent
        agent_loop.rpc_callbacks.port_update(agent_loop.context,
                                             port={'id': self.port_id})
        self.assertTrue(wait_until(
            lambda: self.neutron.calls.count(details) == 2))

    def test_reconnection_is_reconciled_with_one_listing(self):
        # The notification service goes away; a NIC is created meanwhile
        # (no notification can tell it); the service comes back.
        port = self.server.stomp.port
        self.server.stomp.stop()
        self.assertTrue(wait_until(lambda: not self.feed.pushed))
        self.sim.reset_counts()
        self.nic(self.partition(), port_id=self.port_id)
        self.server.stomp = stomp.StompBroker(self.server, port).start()
        self.assertTrue(self.neutron.wait_for_status(self.port_id,
                                                     'ACTIVE'))
        self.assertEqual(1, self.sim.count(*LISTING))
        self.assertEqual(2, self.feed.reconciliations)
        self.assertIn('reconnecting in', self.logger.output)
        self.assertIn('reconciled the NICs of CPC', self.logger.output)


class PartitionGoneTest(NotifiedTestCase):

    def test_deleted_partition_takes_its_nics(self):
        # An HMC that notifies a partition's removal and not that of its
        # NICs: the ports of its NICs are no longer devices.
        self.serve()
        self.conf.config(group='dpm', hmc_notifications=False)
        mgr = self.started_manager(polling_interval=HOUR)
        part = self.partition()
        port_id, _nic = self.nic(part)
        self.assertEqual({port_id}, mgr.get_all_devices())
        # Another agent subscribes; the partition is deleted.
        self.conf.config(group='dpm', hmc_notifications=True)
        other = self.started_manager()
        self.assertTrue(wait_until(lambda: other.feed.pushed))
        part.delete()

        def removal():
            return [h for _t, h, _b in self.server.stomp.messages
                    if h.get('class') == 'partition' and
                    h.get('action') == 'remove']
        self.assertTrue(wait_until(removal))
        mgr.feed.handle(removal()[0], None)
        self.sim.reset_counts()
        self.assertEqual(set(), mgr.get_all_devices())
        self.assertEqual([], self.sim.requests)


class NewSessionTest(NotifiedTestCase):

    def test_a_new_hmc_session_is_subscribed_to_again(self):
        # The agent's HMC session expires: its topic tells nothing more.
        # The next listing (the reconciliation) logs on anew, with a new
        # object topic, which the agent subscribes to.
        self.serve()
        mgr = self.started_manager()
        self.assertTrue(wait_until(lambda: mgr.feed.pushed))
        self.assertEqual(set(), mgr.get_all_devices())
        old_topic = mgr.hmc.session.object_topic
        self.server.expire_session()
        part = self.partition()
        first, _nic = self.nic(part)
        self.clock.now += 60
        self.assertEqual({first}, mgr.get_all_devices())
        self.assertNotEqual(old_topic, mgr.hmc.session.object_topic)
        self.assertTrue(wait_until(lambda: mgr.feed.pushed))
        self.assertIn('subscribing to the topics of the HMC session again',
                      self.logger.output)
        self.clock.now += 2
        mgr.get_all_devices()         # the reconciliation
        self.assertEqual(2, mgr.feed.reconciliations)
        # The new subscription tells the next NIC: no listing is due.
        self.sim.reset_counts()
        second, _nic = self.nic(part)
        self.assertTrue(wait_until(
            lambda: mgr.get_all_devices() == {first, second}))
        self.assertEqual(0, self.sim.count(*LISTING))


class RequestRateTest(NotifiedTestCase):
    """HMC requests a minute at steady state, over 10 simulated minutes."""

    def test_notifications_leave_one_listing_a_minute(self):
        self.serve()
        part = self.partition()
        for _ in range(3):
            self.nic(part)
        mgr = self.started_manager()
        self.assertTrue(wait_until(lambda: mgr.feed.pushed))
        # The reconciliation after the connection.
        self.assertEqual(3, len(mgr.get_all_devices()))
        self.assertEqual(1, mgr.feed.reconciliations)
        self.clock.now += 2
        # Then one listing a minute.
        self.assertEqual([LISTING] * 10, self.run_for(mgr, 600))
        self.assertEqual(3, len(mgr.get_all_devices()))

    def test_without_notifications_thirty_listings_a_minute(self):
        self.serve()
        self.conf.config(group='dpm', hmc_notifications=False)
        mgr = self.started_manager()
        requests = self.run_for(mgr, 600)
        self.assertEqual([LISTING] * 300, requests)
        self.assertIn('HMC notifications are switched off',
                      self.logger.output)
        self.assertEqual(0, self.server.stomp.connections)


class FallbackTest(NotifiedTestCase):

    def test_refused_subscription_polls_and_says_so_once(self):
        self.serve()
        self.server.stomp.refuse = True
        mgr = self.started_manager()
        notifications = mgr.notifications.listener
        self.assertTrue(wait_until(lambda: notifications.connects >= 3))
        # Then the notification port stops answering (each refused
        # subscription was a connection made, for a moment).
        self.server.stomp.stop()
        self.assertTrue(wait_until(lambda: not mgr.feed.pushed))
        self.assertEqual(1, self.logger.output.count(POLLING))
        self.assertIn('the HMC refused the subscription', self.logger.output)
        # Polling: a listing every polling interval finds a new NIC.
        port_id, _nic = self.nic(self.partition())
        requests = self.run_for(mgr, 60)
        self.assertEqual([LISTING] * 30, [r for r in requests
                                          if r == LISTING])
        self.assertEqual({port_id}, mgr.get_all_devices())

    def test_unreachable_notification_port_polls(self):
        self.serve()
        self.server.stomp.stop()
        mgr = self.started_manager()
        self.assertTrue(wait_until(lambda: POLLING in self.logger.output))
        self.assertFalse(mgr.feed.pushed)
        self.assertEqual([LISTING] * 30, self.run_for(mgr, 60))

    def test_in_process_simulated_hmc_notifies_too(self):
        self.conf.config(group='dpm', hmc_mock_file='z16',
                         cpc_object_id=test_agent.CPC_ID,
                         physical_network_adapter_mappings=self.mappings)
        mgr = self.started_manager()
        self.sim = mgr.hmc.session.simulator
        self.assertIsNotNone(mgr.notifications.listener)
        self.assertTrue(wait_until(lambda: mgr.feed.pushed))
        self.assertNotIn(POLLING, self.logger.output)
        self.clock.now += 2
        self.assertEqual([LISTING], self.run_for(mgr, 60))
