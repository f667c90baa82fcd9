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

"""nova_dpm/inventory.py: the CPC, adapters, ports and virtual switches.

Against the simulated HMC of each definition: what is found, what is
refused and why, and the HMC requests each lookup costs.
"""

from nova_dpm import inventory
from nova_dpm.tests.unit import base

load_tests = base.load_tests

ADAPTER_GET = ('GET', '/api/adapters/{id}')
PORT_GET = ('GET', '/api/adapters/{id}/network-ports/{id}')
AGGREGATE = ('POST', '/api/services/aggregation/submit')
VSWITCH_LIST = ('GET', '/api/cpcs/{id}/virtual-switches')
MISSING = '0e0000ff-0000-4000-8000-0000000000ff'


class InventoryTest(base.DriverTestCase):

    definitions = base.WITH_Z17

    def setUp(self):
        super().setUp()
        self.inventory = inventory.Inventory(
            self.driver.hmc, self.driver.subset.cpc, self.driver.api_version)
        self.sim.reset_counts()

    def refused(self, call, *args):
        return self.assertRaises(inventory.Refused, call, *args).reason

    def test_cpc(self):
        cpc = inventory.find_cpc(self.driver.hmc, base.CPC_ID)
        self.assertEqual(base.CPC_URI, cpc.uri)
        self.assertEqual('CPC %s is in DPM mode' % cpc.name,
                         inventory.check_dpm_mode(cpc))
        reason = self.refused(inventory.find_cpc, self.driver.hmc,
                              base.OTHER_CPC)
        self.assertIn('the HMC shows no CPC with object-id %s' %
                      base.OTHER_CPC, reason)
        self.assertIn('object-access permission', reason)
        self.faked_cpc.properties['dpm-enabled'] = False
        cpc = inventory.find_cpc(self.driver.hmc, base.CPC_ID)
        self.assertEqual('CPC %s (%s) is not in DPM mode' % (
            cpc.name, base.CPC_ID),
            self.refused(inventory.check_dpm_mode, cpc))

    def test_storage_port_in_one_request(self):
        adapter, uri = self.inventory.storage_port(base.FCP_A, 0)
        self.assertEqual('/api/adapters/%s/storage-ports/0' % base.FCP_A,
                         uri)
        self.assertEqual('fcp', adapter.properties['type'])
        self.assertEqual([ADAPTER_GET], self.sim.requests)
        self.assertEqual(
            'adapter FCP-A has no port 3 (its ports: 0)',
            self.refused(self.inventory.storage_port, base.FCP_A, 3))
        self.assertIn("has type 'osd'; an FCP adapter",
                      self.refused(self.inventory.storage_port, base.OSA, 0))
        self.assertIn('the HMC shows no adapter with object-id %s' % MISSING,
                      self.refused(self.inventory.storage_port, MISSING, 0))

    def test_network_adapter_and_its_family(self):
        adapter = self.inventory.network_adapter(base.OSA)
        self.assertEqual('osa', adapter.properties['adapter-family'])
        reason = self.refused(self.inventory.network_adapter, base.FCP_A)
        self.assertEqual(
            'adapter FCP-A (fcp) is not a network adapter: its family is '
            'ficon; NICs are backed by the families cna, hipersockets, '
            'network-express, osa, roce', reason)

    def test_adapter_of_another_cpc(self):
        self.edit_definition(base.add_other_cpc)
        self.start()
        self.inventory = inventory.Inventory(
            self.driver.hmc, self.driver.subset.cpc, self.driver.api_version)
        self.assertEqual(
            'adapter OSA-X is not an adapter of CPC CPC1',
            self.refused(self.inventory.network_adapter, base.OTHER_OSA))

    def test_one_port_is_read_until_found(self):
        adapter = self.inventory.network_adapter(base.OSA)
        self.sim.reset_counts()
        self.assertEqual(adapter.properties['network-port-uris'][1],
                         self.inventory.network_port(adapter, 1))
        # Port 0 first, then port 1: two requests, no more.
        self.assertEqual([PORT_GET, PORT_GET], self.sim.requests)
        self.sim.reset_counts()
        self.assertEqual('adapter OSA-1 has no port 3 (its ports: 0, 1)',
                         self.refused(self.inventory.network_port, adapter,
                                      3))

    def test_all_ports_in_one_round_trip(self):
        adapter = self.inventory.network_adapter(base.OSA)
        self.sim.reset_counts()
        ports = self.inventory.network_ports(adapter)
        self.assertEqual([0, 1], sorted(ports))
        self.assertEqual(adapter.properties['network-port-uris'],
                         [ports[0], ports[1]])
        expected = [PORT_GET, PORT_GET] if self.definition == 'z13' \
            else [AGGREGATE]
        self.assertEqual(expected, self.sim.requests)

    def test_virtual_switches(self):
        by_port = self.inventory.vswitches_by_port(['object-id'])
        if self.definition in base.NO_VSWITCH_DEFINITIONS:
            self.assertEqual({}, by_port)
            return
        adapter_uri = '/api/adapters/%s' % base.OSA
        self.assertEqual(
            {(adapter_uri, 0): '/api/virtual-switches/%s' % base.VSWITCH_0,
             (adapter_uri, 1): '/api/virtual-switches/%s' % base.VSWITCH_1},
            {key: uri for key, (uri, _props) in by_port.items()})
        if self.definition == 'z13':
            # API 1.7: the listing, then the switches read (one by one
            # without Submit Requests).
            self.assertEqual(VSWITCH_LIST, self.sim.requests[0])
            self.assertEqual(3, len(self.sim.requests))
        else:
            # One listing with the properties asked for.
            self.assertEqual([VSWITCH_LIST], self.sim.requests)
        self.sim.reset_counts()
        # Without properties: every property, read after the listing.
        full = self.inventory.vswitches()
        self.assertEqual('OSA-1 port 0', full['/api/virtual-switches/%s' %
                                              base.VSWITCH_0]['name'])
        self.assertEqual(VSWITCH_LIST, self.sim.requests[0])
        self.assertLess(1, len(self.sim.requests))
