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

"""Changes made on the HMC reach Nova's API through lifecycle events.

nova-compute receives the notifications of the simulated HMC ([dpm]
hmc_notifications), served over HTTPS or in-process ([dpm]
hmc_mock_file). An HMC operator's stop, made directly on the simulator,
makes the server SHUTOFF without Nova's power-state sync (whose periodic
task does not run in these tests).
"""

from nova.compute import power_state

from nova_dpm.simulator.cloud import nova_cloud as cloud


class TestEventsFromTheHmc(cloud.DPMCloudTestCase):

    HMC_NOTIFICATIONS = True
    # Nova's compute manager stops a server that shut down unexpectedly
    # with an RPC cast to itself while it handles the event; made a call,
    # that cast would wait for the handling that waits for it.
    CAST_AS_CALL = False

    def setUp(self):
        super().setUp()
        self.assertTrue(self.driver.events.connected.wait(30))
        # Every lifecycle event the driver hands to the compute manager.
        self.events = []
        forward = self.driver._compute_event_callback

        def record(event):
            self.events.append(event)
            forward(event)
        self.driver._compute_event_callback = record

    def stop_on_the_hmc(self, server):
        """An HMC operator stops the server's partition; nobody asks Nova."""
        part = self.hmc.partition_of(server['id'])
        self.simulator.set_status(part['object-uri'], 'stopped')
        return self.wait_for_status(server, 'SHUTOFF')

    def foreign_active_partition(self):
        with self.simulator.lock:
            return next(p.uri for p in self.hmc._cpc().partitions.list()
                        if not p.properties['name'].startswith('OpenStack-')
                        and p.properties['status'] == 'active')

    def test_partition_stopped_on_the_hmc_makes_the_server_shutoff(self):
        server = self.boot(ports=self.create_ports())
        self.assertEqual(power_state.RUNNING,
                         server['OS-EXT-STS:power_state'])
        part = self.hmc.partition_of(server['id'])
        # An HMC operator stops the partition; nobody asks Nova.
        self.simulator.set_status(part['object-uri'], 'stopped')
        server = self.wait_for_status(server, 'SHUTOFF')
        self.assertEqual(power_state.SHUTDOWN,
                         server['OS-EXT-STS:power_state'])
        self.assertEqual('stopped',
                         self.hmc.partition_of(server['id'])['status'])
        self.assertForeignPartitionsUntouched()

    def test_a_foreign_partition_makes_no_event(self):
        server = self.boot(ports=self.create_ports())
        # The foreign partition's change is notified first; the server's
        # own stop after it shows that both were handled.
        self.simulator.set_status(self.foreign_active_partition(), 'stopped')
        self.stop_on_the_hmc(server)
        self.assertTrue(self.events)
        self.assertEqual({server['id']}, {e.get_instance_uuid()
                                          for e in self.events})

    def test_a_dropped_connection_is_reconnected_and_reconciled(self):
        server = self.boot(ports=self.create_ports())
        events = self.driver.events
        connects, reconciled = events.connects, events.reconciliations
        # The HMC resets the connection (as when it restarts); the
        # partition stops while the driver may not be listening.
        events.connected.clear()
        self.assertEqual(1, self.notification_service.drop_connections())
        self.simulator.set_status(
            self.hmc.partition_of(server['id'])['object-uri'], 'stopped')
        self.assertTrue(events.connected.wait(30))
        server = self.wait_for_status(server, 'SHUTOFF')
        self.assertEqual(power_state.SHUTDOWN,
                         server['OS-EXT-STS:power_state'])
        self.assertEqual(connects + 1, events.connects)
        self.assertEqual(reconciled + 1, events.reconciliations)
        self.assertForeignPartitionsUntouched()


class TestEventsFromTheInProcessHmc(TestEventsFromTheHmc):
    """The same with the in-process simulated HMC ([dpm] hmc_mock_file)."""

    HMC_TRANSPORT = cloud.IN_PROCESS
