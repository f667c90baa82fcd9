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

"""End to end: a server's port becomes ACTIVE because the DPM agent saw it.

Nova's in-process cloud boots a server through its API on nova-dpm; the
DPM agent (nova_dpm.neutron.agent, with Neutron's common agent loop) runs
beside nova-compute against the same simulated HMC, over HTTPS, and
reports to an in-process stand-in for neutron-server's RPC
(nova_dpm.simulator.cloud.neutron_server). The stand-in does what the ML2
plugin does when an agent reports a port up: the port becomes ACTIVE and
Nova gets ``network-vif-plugged`` through its API. The port's binding is
the one the ``dpm`` mechanism driver computes from the agent's reported
state.
"""

import os

import testtools

from nova_dpm.simulator import catalog
from nova_dpm.simulator.cloud import neutron_agent
from nova_dpm.simulator.cloud import nova_cloud as cloud

OSA = catalog.OSA
PHYSNET = cloud.DPMNeutronFixture.dpm_network['provider:physical_network']
EVENTLET = os.environ.get('OS_NOVA_DISABLE_EVENTLET_PATCHING') == '0'


@testtools.skipIf(EVENTLET, 'neutron-dpm-agent runs on native threads in '
                            'its own process, never under eventlet')
class NeutronAgentEndToEndTest(cloud.DPMCloudTestCase):

    def setUp(self):
        super().setUp()
        self.agent = self.useFixture(neutron_agent.DPMAgentFixture(
            self, ['%s:%s:0' % (PHYSNET, OSA)]))

    def test_port_becomes_active_when_the_agent_sees_the_nic(self):
        # nova-dpm waits for network-vif-plugged before it starts the
        # partition: the boot only succeeds because the agent reports it.
        self.flags(vif_plugging_timeout=60, vif_plugging_is_fatal=True)
        port = self.agent.bound_port()
        self.assertEqual('dpm_vswitch', port['binding:vif_type'])
        self.assertEqual(cloud.VSWITCH_0,
                         port['binding:vif_details']['object_id'])
        self.assertEqual('DOWN', port['status'])

        server = self.boot(ports=[port])
        part = self.hmc.partition_of(server['id'])
        nics = self.hmc.nics(part['name'])
        self.assertEqual(['OpenStack_Port_%s' % port['id']],
                         [n['name'] for n in nics])
        self.assertEqual('/api/virtual-switches/' + cloud.VSWITCH_0,
                         nics[0]['virtual-switch-uri'])

        self.assertTrue(self.agent.wait_for_status(port['id'], 'ACTIVE'))
        self.assertEqual('ACTIVE', self.neutron._ports[port['id']]['status'])
        self.assertIn(('update_device_up', port['id']),
                      self.agent.server_side.calls)
        self.assertEqual(
            [('network-vif-plugged', server['id'], port['id'], 200)],
            [(e['name'], e['server_uuid'], e['tag'], e['code'])
             for e in self.agent.events])

        self.delete(server)
        self.assertTrue(self.agent.wait_for_status(port['id'], 'DOWN'))
        self.assertIn(('update_device_down', port['id']),
                      self.agent.server_side.calls)
