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

"""The ``dpm`` mechanism driver, on Neutron's own ML2 test bases.

neutron/tests/unit/plugins/ml2/_test_mech_agent.py (shipped in the neutron
wheel) binds ports through a fake port context exactly as ML2 calls the
driver; its test cases cover flat and VLAN segments, unknown network
types, dead agents and agents without the physical network.
"""

import fixtures
from neutron_lib.api.definitions import portbindings
from neutron_lib.plugins.ml2 import api
import stevedore

from neutron.tests.unit.plugins.ml2 import _test_mech_agent as base

from nova_dpm import contract
from nova_dpm.neutron import constants
from nova_dpm.neutron import mech_driver

PHYSNET = 'fake_physical_network'     # the physnet of Neutron's segments
VSWITCH = '5e000000-0000-4000-8000-000000000000'
VSWITCH_2 = '5e000001-0000-4000-8000-000000000001'
ADAPTER = '0e000001-0000-4000-8000-000000000001'


def dpm_agent(mappings, alive=True, network_types=('flat', 'vlan')):
    return {'alive': alive, 'host': 'subset1',
            'agent_type': constants.AGENT_TYPE,
            'configurations': {
                constants.CONF_VIF_MAPPINGS: mappings,
                constants.CONF_NETWORK_TYPES: list(network_types)}}


def vswitch(object_id=VSWITCH):
    return {'vif_type': contract.VIF_TYPE_VSWITCH, 'object_id': object_id}


def adapter_port(port=1):
    return {'vif_type': contract.VIF_TYPE_ADAPTER, 'object_id': ADAPTER,
            'port': port}


class DPMMechanismDriverBaseTestCase(base.AgentMechanismBaseTestCase):
    VIF_TYPE = contract.VIF_TYPE_VSWITCH
    AGENT_TYPE = constants.AGENT_TYPE
    AGENTS = [dpm_agent({PHYSNET: vswitch()})]
    AGENTS_DEAD = [dpm_agent({PHYSNET: vswitch()}, alive=False)]
    AGENTS_BAD = [dpm_agent({'other_physnet': vswitch()})]
    # vif_details depend on the segment: see _check_bound.
    VIF_DETAILS = None
    EXPECTED_OBJECT_ID = VSWITCH
    EXPECTED_PORT = None

    def setUp(self):
        super().setUp()
        self.driver = mech_driver.DPMMechanismDriver()
        self.driver.initialize()

    def _check_bound(self, context, segment):
        self.assertEqual(segment[api.ID], context._bound_segment_id)
        self.assertEqual(self.VIF_TYPE, context._bound_vif_type)
        expected = {portbindings.CAP_PORT_FILTER: False,
                    portbindings.VIF_DETAILS_CONNECTIVITY:
                        portbindings.CONNECTIVITY_L2,
                    'object_id': self.EXPECTED_OBJECT_ID}
        if self.EXPECTED_PORT is not None:
            expected['port'] = self.EXPECTED_PORT
        if segment[api.NETWORK_TYPE] == 'vlan':
            expected['vlan'] = segment[api.SEGMENTATION_ID]
        self.assertEqual(expected, context._bound_vif_details)


class DPMMechanismGenericTestCase(DPMMechanismDriverBaseTestCase,
                                  base.AgentMechanismGenericTestCase):
    pass


class DPMMechanismFlatTestCase(DPMMechanismDriverBaseTestCase,
                               base.AgentMechanismFlatTestCase):

    def test_type_flat_dead(self):
        context = base.FakePortContext(self.AGENT_TYPE, self.AGENTS_DEAD,
                                       self.FLAT_SEGMENTS)
        self.driver.bind_port(context)
        self._check_unbound(context)


class DPMMechanismVlanTestCase(DPMMechanismDriverBaseTestCase,
                               base.AgentMechanismVlanTestCase):

    def test_type_vlan_refused_when_the_hmc_cannot_tag(self):
        # An agent on an HMC older than API 2.20 reports flat only.
        agents = [dpm_agent({PHYSNET: vswitch()}, network_types=['flat'])]
        context = base.FakePortContext(self.AGENT_TYPE, agents,
                                       self.VLAN_SEGMENTS)
        self.driver.bind_port(context)
        self._check_unbound(context)


class DPMAdapterPortFlatTestCase(DPMMechanismDriverBaseTestCase,
                                 base.AgentMechanismFlatTestCase):
    """Network Express / RoCE: the NIC is backed by the adapter port."""

    VIF_TYPE = contract.VIF_TYPE_ADAPTER
    AGENTS = [dpm_agent({PHYSNET: adapter_port(1)})]
    AGENTS_BAD = [dpm_agent({'other_physnet': adapter_port(1)})]
    EXPECTED_OBJECT_ID = ADAPTER
    EXPECTED_PORT = 1


class DPMAdapterPortVlanTestCase(DPMAdapterPortFlatTestCase,
                                 base.AgentMechanismVlanTestCase):
    pass


class DPMSeveralMappingsTestCase(DPMMechanismDriverBaseTestCase):

    def _segment(self, physnet, network_type='flat', vlan=None):
        segment = {api.ID: 'seg-' + physnet, api.NETWORK_TYPE: network_type,
                   api.PHYSICAL_NETWORK: physnet,
                   api.NETWORK_ID: 'fake_network_id'}
        if vlan is not None:
            segment[api.SEGMENTATION_ID] = vlan
        return segment

    def _bind(self, agents, segments):
        context = base.FakePortContext(self.AGENT_TYPE, agents, segments)
        self.driver.bind_port(context)
        return context

    def test_each_physical_network_gets_its_own_object(self):
        agents = [dpm_agent({'physnet1': vswitch(VSWITCH),
                             'physnet2': vswitch(VSWITCH_2),
                             'physnet3': adapter_port(0)})]
        context = self._bind(agents, [self._segment('physnet2', 'vlan', 7)])
        self.assertEqual(contract.VIF_TYPE_VSWITCH,
                         context._bound_vif_type)
        self.assertEqual(VSWITCH_2, context._bound_vif_details['object_id'])
        self.assertEqual(7, context._bound_vif_details['vlan'])
        context = self._bind(agents, [self._segment('physnet3')])
        self.assertEqual(contract.VIF_TYPE_ADAPTER, context._bound_vif_type)
        self.assertEqual({'object_id': ADAPTER, 'port': 0},
                         {k: context._bound_vif_details[k]
                          for k in ('object_id', 'port')})
        self.assertNotIn('vlan', context._bound_vif_details)

    def test_vlan_not_bound_where_the_nics_take_no_vlan_id(self):
        # A Network Express (or RoCE, CNA) port backs NICs without VLAN
        # ids (HMC rule H3): nova-dpm would refuse such a port.
        mapping = dict(adapter_port(0), vlan=False)
        agents = [dpm_agent({'physnet3': mapping})]
        context = self._bind(agents, [self._segment('physnet3', 'vlan', 7)])
        self._check_unbound(context)
        context = self._bind(agents, [self._segment('physnet3')])
        self.assertEqual(contract.VIF_TYPE_ADAPTER, context._bound_vif_type)

    def test_agent_without_network_types_gets_flat_only(self):
        agent = dpm_agent({'physnet1': vswitch()})
        del agent['configurations'][constants.CONF_NETWORK_TYPES]
        self.assertEqual(['flat'],
                         self.driver.get_allowed_network_types(agent))

    def test_unknown_physical_network_is_not_bound(self):
        agents = [dpm_agent({'physnet1': vswitch()})]
        context = self._bind(agents, [self._segment('physnet9')])
        self._check_unbound(context)

    def test_mapping_without_object_id_is_not_bound(self):
        agents = [dpm_agent({'physnet1': {'vif_type': 'dpm_vswitch'}}),
                  dpm_agent({'physnet2': {'vif_type': 'dpm_adapter',
                                          'object_id': ADAPTER}})]
        for physnet in ('physnet1', 'physnet2'):
            context = self._bind(agents, [self._segment(physnet)])
            self._check_unbound(context)

    def test_bindings_do_not_share_details(self):
        agents = [dpm_agent({'physnet1': vswitch()})]
        first = self._bind(agents, [self._segment('physnet1', 'vlan', 5)])
        second = self._bind(agents, [self._segment('physnet1')])
        self.assertEqual(5, first._bound_vif_details['vlan'])
        self.assertNotIn('vlan', second._bound_vif_details)
        self.assertNotIn('vlan', self.driver.vif_details)

    def test_networking_dpm_agent_is_not_bound_and_named(self):
        # What networking-dpm 3.0.0's agent reports (get_agent_configurations
        # of networking_dpm/ml2/dpm_neutron_agent.py): physical network ->
        # [virtual switch object-id], nothing else.
        agent = {'alive': True, 'host': 'subset1',
                 'agent_type': constants.AGENT_TYPE,
                 'configurations': {'adapter_mappings': {
                     'physnet1': [VSWITCH]}}}
        logger = self.useFixture(fixtures.FakeLogger(level='WARNING'))
        context = self._bind([agent], [self._segment('physnet1')])
        self._check_unbound(context)
        self.assertIn('The DPM agent on host subset1 reports no '
                      'vif_mappings (an agent of the retired networking-dpm?)'
                      '; replace it by neutron-dpm-agent of nova-dpm. Port '
                      '%s not bound.' % context.current['id'], logger.output)
        # Once nova-dpm's agent reports for the same host, the port binds.
        context = self._bind([dpm_agent({'physnet1': vswitch()})],
                             [self._segment('physnet1')])
        self.assertEqual(VSWITCH, context._bound_vif_details['object_id'])

    def test_other_agent_types_are_ignored(self):
        agent = dpm_agent({'physnet1': vswitch()})
        agent['agent_type'] = 'Open vSwitch agent'
        context = self._bind([agent], [self._segment('physnet1')])
        self._check_unbound(context)


class EntryPointTestCase(base.AgentMechanismBaseTestCase):

    def test_neutron_loads_the_driver_by_its_name(self):
        # How ML2 loads [ml2] mechanism_drivers = dpm (an installed
        # nova-dpm registers the entry point).
        manager = stevedore.DriverManager(
            'neutron.ml2.mechanism_drivers', 'dpm', invoke_on_load=True)
        self.assertIsInstance(manager.driver,
                              mech_driver.DPMMechanismDriver)
        self.assertEqual('DPM agent', manager.driver.agent_type)
