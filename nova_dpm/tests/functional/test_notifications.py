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

nova-compute receives the notifications of the simulated HMC served over
HTTPS ([dpm] hmc_notifications). An HMC operator's stop, made directly on
the simulator, makes the server SHUTOFF without Nova's power-state sync
(whose periodic task does not run in these tests).
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
