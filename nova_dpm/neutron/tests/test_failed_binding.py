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

"""A port that failed to bind while its DPM agent was down, in Neutron's ML2.

Neutron 29's ML2 plugin (loaded as the core plugin on Neutron's sqlite
test base) with ``mechanism_drivers = dpm``: what the networking guide
says about ports that failed to bind. The port stays ``binding_failed``
when the agent comes back (ML2 binds failed ports again on an agent's
revival only for Open vSwitch agents); an update of the port with its
host unchanged (``openstack port set --host``) binds it, and so does the
agent's request for the port's details.
"""

import fixtures
from neutron_lib.api.definitions import portbindings
from neutron_lib.api.definitions import provider_net
from neutron_lib import context
from neutron_lib.plugins import directory
from oslo_config import cfg

from neutron.conf.plugins.ml2 import config as ml2_config
from neutron.plugins.ml2 import plugin as ml2_plugin
from neutron.tests.common import helpers
from neutron.tests.unit import testlib_api

from nova_dpm import contract
from nova_dpm.neutron import constants

HOST = 'cpc1-subset-a'
VSWITCH = '5e000000-0000-4000-8000-000000000000'


class FailedBindingTest(testlib_api.SqlTestCase):

    physnet = 'physnet1'

    def setUp(self):
        super().setUp()
        # ML2 logs each failed binding as an error; keep them in the test.
        self.useFixture(fixtures.FakeLogger(name='neutron.plugins.ml2'))
        ml2_config.register_ml2_plugin_opts()
        cfg.CONF.import_opt('network_vlan_ranges',
                            'neutron.plugins.ml2.drivers.type_vlan',
                            group='ml2_type_vlan')
        cfg.CONF.set_override('mechanism_drivers', ['dpm'], group='ml2')
        cfg.CONF.set_override('type_drivers', ['flat', 'vlan'], group='ml2')
        cfg.CONF.set_override('project_network_types', [], group='ml2')
        cfg.CONF.set_override('network_vlan_ranges', ['physnet1:1:100'],
                              group='ml2_type_vlan')
        self.setup_coreplugin('ml2')
        self.driver = directory.get_plugin()
        self.context = context.get_admin_context()
        self.agent = helpers._register_agent({
            'binary': constants.AGENT_BINARY, 'host': HOST, 'topic': 'N/A',
            'agent_type': constants.AGENT_TYPE,
            'configurations': {
                constants.CONF_VIF_MAPPINGS: {self.physnet: {
                    'vif_type': contract.VIF_TYPE_VSWITCH,
                    'object_id': VSWITCH, 'vlan': True}},
                constants.CONF_NETWORK_TYPES: ['flat', 'vlan']}})
        network = self.driver.create_network(self.context, {'network': {
            'name': 'provider', 'tenant_id': 'tenant',
            'admin_state_up': True, 'shared': False,
            provider_net.NETWORK_TYPE: 'vlan',
            provider_net.PHYSICAL_NETWORK: self.physnet,
            provider_net.SEGMENTATION_ID: 7}})
        self.network_id = network['id']

    def create_port(self):
        return self.driver.create_port(self.context, {'port': {
            'tenant_id': 'tenant', 'network_id': self.network_id,
            'name': '', 'admin_state_up': True, 'device_id': 'server-1',
            'device_owner': 'compute:nova', 'fixed_ips': [],
            'mac_address': 'fa:16:3e:00:00:01',
            portbindings.HOST_ID: HOST}})

    def vif_type(self, port_id):
        return self.driver.get_port(self.context, port_id)[
            portbindings.VIF_TYPE]

    def failed_port(self, revive=True):
        helpers.kill_agent(self.agent['id'])
        port = self.create_port()
        self.assertEqual(portbindings.VIF_TYPE_BINDING_FAILED,
                         port[portbindings.VIF_TYPE])
        if revive:
            helpers.revive_agent(self.agent['id'])
        return port['id']

    def report_state(self):
        """The agent's state report: a dead agent is revived by it."""
        helpers._register_agent({
            key: self.agent[key] for key in (
                'binary', 'host', 'topic', 'agent_type', 'configurations')})

    def test_bound_while_the_agent_is_alive(self):
        port = self.create_port()
        self.assertEqual(contract.VIF_TYPE_VSWITCH,
                         port[portbindings.VIF_TYPE])
        self.assertEqual({'object_id': VSWITCH, 'vlan': 7},
                         {k: port[portbindings.VIF_DETAILS][k]
                          for k in ('object_id', 'vlan')})

    def test_failed_binding_stays_when_the_agent_revives(self):
        port_id = self.failed_port(revive=False)
        self.report_state()
        self.assertEqual(portbindings.VIF_TYPE_BINDING_FAILED,
                         self.vif_type(port_id))

    def test_only_the_agent_type_keeps_ml2_from_binding_it_on_revival(self):
        # The control of the test above: were DPM agents in ML2's list
        # (Open vSwitch agents only), the same report would bind the port.
        port_id = self.failed_port(revive=False)
        self.useFixture(fixtures.MockPatchObject(
            ml2_plugin.Ml2Plugin, '_rebind_on_revive_agent_types',
            [constants.AGENT_TYPE]))
        self.report_state()
        self.assertEqual(contract.VIF_TYPE_VSWITCH, self.vif_type(port_id))

    def test_port_set_host_binds_it_again(self):
        port_id = self.failed_port()
        self.driver.update_port(self.context, port_id, {'port': {
            portbindings.HOST_ID: HOST}})
        self.assertEqual(contract.VIF_TYPE_VSWITCH, self.vif_type(port_id))

    def test_agent_asking_for_the_port_binds_it_again(self):
        port_id = self.failed_port()
        self.driver.get_bound_port_context(self.context, port_id, HOST)
        self.assertEqual(contract.VIF_TYPE_VSWITCH, self.vif_type(port_id))
