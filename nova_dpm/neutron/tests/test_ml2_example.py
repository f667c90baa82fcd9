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

"""The shipped ML2 example (etc/neutron/plugins/ml2/ml2_conf.ini).

Its mechanism drivers are loaded by name, as ML2 loads them, and asked in
their order to bind, as ML2's MechanismManager does: the DHCP port of a
network on the network node goes to its Open vSwitch agent, an instance
port on a CPC subset to its DPM agent, on the example's flat and VLAN
physical networks; with the DPM agent down nothing binds the instance
port (Neutron then marks it binding_failed, see the networking guide).
"""

import configparser
import os

from neutron_lib.api.definitions import portbindings
from neutron_lib import constants as n_const
from neutron_lib.plugins.ml2 import api
import stevedore

from neutron.tests.unit.plugins.ml2 import _test_mech_agent as base

from nova_dpm import contract
from nova_dpm.neutron.tests import test_mech_driver

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..',
                                    '..'))
EXAMPLE = os.path.join(ROOT, 'etc', 'neutron', 'plugins', 'ml2',
                       'ml2_conf.ini')
NETWORK_NODE = 'network-node'
SUBSET = 'cpc1-subset-a'


def read_example():
    parser = configparser.ConfigParser()
    parser.read(EXAMPLE)
    return parser


class HostPortContext(base.FakePortContext):
    """A port context whose agents are those of the port's host."""

    def __init__(self, host, agents, segments):
        super().__init__(None, agents, segments)
        self._host = host

    @property
    def host(self):
        return self._host

    def host_agents(self, agent_type):
        return [a for a in self._agents
                if a['agent_type'] == agent_type and
                a['host'] == self._host]


class ML2ExampleTest(base.AgentMechanismBaseTestCase):

    def setUp(self):
        super().setUp()
        self.example = read_example()
        self.names = [name.strip() for name in
                      self.example['ml2']['mechanism_drivers'].split(',')]
        self.drivers = []
        for name in self.names:
            driver = stevedore.DriverManager(
                'neutron.ml2.mechanism_drivers', name,
                invoke_on_load=True).driver
            driver.initialize()
            self.drivers.append((name, driver))
        self.flat = self.example['ml2_type_flat']['flat_networks'].split(
            ',')[0].strip()
        vlan = self.example['ml2_type_vlan']['network_vlan_ranges']
        self.vlan_physnet, first, _last = vlan.split(',')[0].split(':')
        self.vlan_id = int(first)
        self.agents = [
            {'alive': True, 'host': NETWORK_NODE,
             'agent_type': n_const.AGENT_TYPE_OVS,
             'configurations': {
                 'bridge_mappings': {self.flat: 'br-' + self.flat,
                                     self.vlan_physnet:
                                         'br-' + self.vlan_physnet},
                 'integration_bridge': 'br-int',
                 portbindings.OVS_HYBRID_PLUG: False,
                 'tunnel_types': []}},
            dict(test_mech_driver.dpm_agent({
                self.flat: test_mech_driver.vswitch(
                    test_mech_driver.VSWITCH),
                self.vlan_physnet: test_mech_driver.vswitch(
                    test_mech_driver.VSWITCH_2)}), host=SUBSET),
        ]

    def segment(self, network_type):
        if network_type == n_const.TYPE_FLAT:
            return {api.ID: 'seg-flat', api.NETWORK_TYPE: network_type,
                    api.PHYSICAL_NETWORK: self.flat,
                    api.NETWORK_ID: 'net-flat'}
        return {api.ID: 'seg-vlan', api.NETWORK_TYPE: network_type,
                api.PHYSICAL_NETWORK: self.vlan_physnet,
                api.SEGMENTATION_ID: self.vlan_id,
                api.NETWORK_ID: 'net-vlan'}

    def bind(self, host, network_type, agents=None):
        """Ask the drivers in the example's order; (driver, context)."""
        context = HostPortContext(host, agents or self.agents,
                                  [self.segment(network_type)])
        for name, driver in self.drivers:
            driver.bind_port(context)
            if context._bound_vif_type:
                return name, context
        return None, context

    def test_example_lists_openvswitch_and_dpm(self):
        self.assertEqual(['openvswitch', 'dpm'], self.names)
        self.assertEqual('', self.example['ml2']['project_network_types'])

    def test_dhcp_port_of_the_network_node_goes_to_open_vswitch(self):
        for network_type in (n_const.TYPE_FLAT, n_const.TYPE_VLAN):
            name, context = self.bind(NETWORK_NODE, network_type)
            self.assertEqual('openvswitch', name, network_type)
            self.assertEqual(portbindings.VIF_TYPE_OVS,
                             context._bound_vif_type)

    def test_instance_port_of_a_subset_goes_to_its_dpm_agent(self):
        for network_type, vswitch in (
                (n_const.TYPE_FLAT, test_mech_driver.VSWITCH),
                (n_const.TYPE_VLAN, test_mech_driver.VSWITCH_2)):
            name, context = self.bind(SUBSET, network_type)
            self.assertEqual('dpm', name, network_type)
            self.assertEqual(contract.VIF_TYPE_VSWITCH,
                             context._bound_vif_type)
            self.assertEqual(vswitch,
                             context._bound_vif_details['object_id'])
            if network_type == n_const.TYPE_VLAN:
                self.assertEqual(self.vlan_id,
                                 context._bound_vif_details['vlan'])

    def test_instance_port_with_its_agent_down_is_bound_by_none(self):
        agents = [dict(a, alive=a['host'] != SUBSET) for a in self.agents]
        name, context = self.bind(SUBSET, n_const.TYPE_FLAT, agents)
        self.assertIsNone(name)
        self.assertIsNone(context._bound_vif_type)
