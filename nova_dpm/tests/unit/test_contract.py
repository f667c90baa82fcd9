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

"""The contract between the halves (nova_dpm.contract), end to end.

For every VIF type and every adapter family that backs NICs, the DPM
agent resolves a physical network mapping on a simulated HMC; the port
bound as the agent reports it is built by the driver (nova-compute's
side: its NIC name and description); the agent's watcher then finds the
NIC on the HMC and parses the port and host back.
"""

import re
import subprocess
import sys
import uuid

import testtools

from nova.network import model as network_model
from nova_dpm import contract
from nova_dpm import exception
from nova_dpm import network
from nova_dpm import partition
from nova_dpm.simulator.cloud import neutron_agent
from nova_dpm.tests.unit import base

# The agent's modules import Neutron's, which import eventlet: allowed
# here as in the functional tests that run the agent in nova's process.
with neutron_agent.eventlet_importable():
    from nova_dpm.neutron import agent
    from nova_dpm.neutron import config as agent_config

load_tests = base.load_tests

ROCE = '0c000011-0000-4000-8000-000000000011'
CNA = '0c000012-0000-4000-8000-000000000012'
HIPERSOCKETS = '0c000013-0000-4000-8000-000000000013'
IQD_VSWITCH = '5e000013-0000-4000-8000-000000000013'

# adapter-family -> the object-id of an adapter of it on the edited
# definitions (Network Express: z17 only).
ADAPTERS = {
    'osa': base.OSA,
    'hipersockets': HIPERSOCKETS,
    'roce': ROCE,
    'cna': CNA,
    'network-express': base.NETX_1,
}
TYPES = {'roce': 'roce', 'cna': 'fcoe', 'hipersockets': 'hipersockets'}


def _adapter(object_id, family, adapter_id):
    return {
        'properties': {
            'object-id': object_id, 'name': '%s-%s' % (family.upper(),
                                                       adapter_id),
            'type': TYPES[family], 'adapter-family': family,
            'adapter-id': adapter_id, 'status': 'active',
            'state': 'online', 'port-count': 1},
        'ports': [{'properties': {'element-id': '0', 'index': 0,
                                  'name': 'Port 0'}}]}


def add_network_adapters(data):
    """RoCE, CNA and HiperSockets adapters (a switch for the last)."""
    cpc = base.DriverTestCase.cpc_definition(data)
    cpc['adapters'] += [_adapter(ROCE, 'roce', '0161'),
                        _adapter(CNA, 'cna', '0171'),
                        _adapter(HIPERSOCKETS, 'hipersockets', '0181')]
    if cpc.get('virtual_switches'):
        cpc['virtual_switches'].append({'properties': {
            'object-id': IQD_VSWITCH, 'name': 'IQD-0181 port 0',
            'description': '', 'type': 'iqd', 'port': 0,
            'backing-adapter-uri': '/api/adapters/' + HIPERSOCKETS,
            'connected-vnic-uris': []}})


class ContractTest(testtools.TestCase):
    """The shared names, without an HMC."""

    def test_nic_name_and_description_parse_back(self):
        port_id = str(uuid.uuid4())
        for host in ('subset1', 'host-a.example.com', 'a_b-c.d'):
            self.assertEqual(
                (port_id, host),
                contract.nic_owner(contract.nic_name(port_id),
                                   contract.nic_description(
                                       'fa:16:3e:0a:0b:0c', host)))
        self.assertIsNone(contract.nic_owner('eth0', 'OpenStack mac=x'))
        self.assertIsNone(contract.nic_owner(contract.nic_name(port_id), ''))
        self.assertIsNone(contract.nic_owner(
            contract.nic_name('not-a-uuid'),
            contract.nic_description('fa:16:3e:0a:0b:0c', 'subset1')))

    def test_partition_filter_matches_every_partition_name(self):
        for host in ('subset1', 'a-very-long-host-name.example.com'):
            name = partition.Naming(host).name(str(uuid.uuid4()))
            self.assertTrue(name.startswith(contract.PARTITION_PREFIX))
            self.assertTrue(re.match(contract.PARTITION_FILTER, name))
        self.assertIsNone(re.match(contract.PARTITION_FILTER, 'LINUX01'))
        # The filter takes the prefix literally.
        self.assertIsNone(re.search(r'[.^$*+?{}\[\]\\|()]',
                                    contract.PARTITION_PREFIX))

    def test_every_family_has_a_nic_type_nova_can_number(self):
        for family, (nic_type, _typed) in \
                contract.ADAPTER_NIC_TYPES.items():
            space, _width = network.NIC_DEVICE_NUMBERS[nic_type]
            # HMC rule H3: the NICs that take a VLAN id are the
            # channel-based ones (OSA, HiperSockets).
            self.assertEqual(space == network.CHANNEL,
                             contract.vlan_capable(family), family)
        self.assertEqual(set(contract.VIF_TYPES), set(network.VIF_TYPES))
        self.assertIn('cna', contract.PORT_FAMILIES)

    def test_neither_half_needs_the_other(self):
        # The contract imports neither nova nor neutron; the Neutron half
        # imports without nova.
        script = (
            'import sys\n'
            'class Block:\n'
            '    def find_spec(self, name, path=None, target=None):\n'
            '        if name.split(".")[0] in BLOCKED:\n'
            '            raise ImportError("blocked: " + name)\n'
            'BLOCKED = set(sys.argv[1].split(","))\n'
            'sys.meta_path.insert(0, Block())\n'
            'for module in sys.argv[2:]:\n'
            '    __import__(module)\n')
        for blocked, modules in (
                ('nova,neutron,neutron_lib', ['nova_dpm.contract']),
                ('nova', ['nova_dpm.neutron.agent',
                          'nova_dpm.neutron.mech_driver'])):
            result = subprocess.run(
                [sys.executable, '-c', script, blocked] + modules,
                capture_output=True, text=True)
            self.assertEqual(0, result.returncode, result.stderr)


class RoundTripTest(base.DriverTestCase):
    """Agent binding -> nova-dpm's NIC -> the agent finds it."""

    definitions = ('z16', 'z17')
    start_driver = False

    def setUp(self):
        super().setUp()
        self.edit_definition(add_network_adapters)
        self.start()

    def families(self):
        return [f for f in sorted(contract.ADAPTER_NIC_TYPES)
                if f != 'network-express' or
                self.definition in base.NO_VSWITCH_DEFINITIONS]

    def agent_bindings(self):
        mappings = agent.Mappings(self.driver.hmc, self.driver.subset.cpc,
                                  self.driver.api_version)
        return mappings.resolve([
            agent_config.AdapterMapping(family, ADAPTERS[family], 0)
            for family in self.families()])

    @staticmethod
    def vif(binding, index=0, vlan=None):
        details = {contract.VIF_DETAILS_OBJECT_ID: binding.object_id}
        if binding.vif_type == contract.VIF_TYPE_ADAPTER:
            details[contract.VIF_DETAILS_PORT] = binding.port
        if vlan is not None:
            details[contract.VIF_DETAILS_VLAN] = vlan
        return network_model.VIF(
            id=str(uuid.uuid4()), address='fa:16:3e:00:00:%02x' % index,
            type=binding.vif_type,
            details=details, network=network_model.Network(
                id='net1', bridge=None, label='flat', subnets=[]))

    def test_every_family_and_vif_type_round_trips(self):
        bindings = self.agent_bindings()
        by_family = {b.physnet: b for b in bindings}
        self.assertEqual(set(self.families()), set(by_family))
        expected_types = {
            f: (contract.VIF_TYPE_ADAPTER if f in contract.PORT_FAMILIES or
                self.definition in base.NO_VSWITCH_DEFINITIONS
                else contract.VIF_TYPE_VSWITCH) for f in by_family}
        self.assertEqual(expected_types,
                         {f: b.vif_type for f, b in by_family.items()})
        if self.definition not in base.NO_VSWITCH_DEFINITIONS:
            # Every VIF type (a CPC without virtual switches has one).
            self.assertEqual(set(contract.VIF_TYPES),
                             set(expected_types.values()))
        vifs = [self.vif(b, i) for i, b in enumerate(bindings)]
        instance, _c = self.build(network_info=vifs)
        nics = {n.properties['name']: n.properties for n in
                self.faked_partition(instance).nics.list()}
        self.assertEqual({contract.nic_name(v['id']) for v in vifs},
                         set(nics))
        watcher = agent.NicWatcher(
            self.driver.hmc, self.driver.subset.cpc, base.HOST,
            self.driver.api_version,
            [b.uri for b in bindings
             if b.vif_type == contract.VIF_TYPE_VSWITCH])
        found = watcher.devices()
        self.assertEqual({v['id'] for v in vifs}, set(found))
        for family, binding in by_family.items():
            nic_type = nics[contract.nic_name(vifs[bindings.index(
                binding)]['id'])]['type']
            self.assertEqual(contract.ADAPTER_NIC_TYPES[family][0],
                             nic_type, family)

    def test_vlan_where_the_agent_reports_it(self):
        # The agent's vlan flag and nova-dpm's refusal agree per family.
        for binding in self.agent_bindings():
            vif = self.vif(binding, vlan=100)
            if binding.vlan:
                self.assertEqual(
                    100, self.driver.network.check_backings([vif])[0].vlan)
            else:
                exc = self.assertRaises(
                    exception.InvalidNetwork,
                    self.driver.network.check_backings, [vif])
                self.assertIn('only OSA and HiperSockets NICs take a VLAN',
                              exc.format_message())
