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

"""nova_dpm/simulator/catalog.py against the shipped HMC definitions.

Every id and name of the catalog is read back from the YAML files (z13,
z16, z17), so that editing a definition without the catalog, or the other
way round, fails here and not in some test far away.
"""

import os

import testtools
import yaml

from nova_dpm import simulator
from nova_dpm.simulator import catalog


def _load(name):
    with open(simulator.definition_path(name)) as f:
        return yaml.safe_load(f)


class CatalogTest(testtools.TestCase):

    def cpc(self, name):
        cpcs = _load(name)['hmc_definition']['cpcs']
        self.assertEqual(1, len(cpcs), name)
        return cpcs[0]

    def adapters(self, name):
        return {a['properties']['object-id']: a
                for a in self.cpc(name).get('adapters', [])}

    def test_every_definition_is_in_the_catalog(self):
        shipped = sorted(os.path.splitext(f)[0] for f in os.listdir(
            os.path.dirname(simulator.definition_path('z16')))
            if f.endswith('.yaml'))
        self.assertEqual(sorted(catalog.DEFINITIONS), shipped)

    def test_cpc(self):
        for name in catalog.DEFINITIONS:
            props = self.cpc(name)['properties']
            self.assertEqual((catalog.CPC_ID, catalog.CPC_NAME),
                             (props['object-id'], props['name']), name)
            self.assertTrue(props['dpm-enabled'], name)
            self.assertEqual('/api/cpcs/' + props['object-id'],
                             catalog.CPC_URI)

    def test_fcp_adapters_and_their_storage_ports(self):
        for name in catalog.DEFINITIONS:
            adapters = self.adapters(name)
            for fcp, port_uri, mapping in zip(catalog.FCP_ADAPTERS,
                                              catalog.STORAGE_PORTS,
                                              catalog.ADAPTER_MAPPINGS):
                self.assertIn(fcp, adapters, name)
                self.assertEqual('fcp', adapters[fcp]['properties']['type'])
                indexes = [p['properties']['index']
                           for p in adapters[fcp].get('ports', [])]
                self.assertIn(catalog.FCP_PORT, indexes, name)
                self.assertEqual('/api/adapters/%s/storage-ports/%d'
                                 % (fcp, catalog.FCP_PORT), port_uri)
                self.assertEqual('%s:%d' % (fcp, catalog.FCP_PORT), mapping)
            self.assertEqual((catalog.FCP_A, catalog.FCP_B),
                             catalog.FCP_ADAPTERS)

    def test_osa_adapter_and_virtual_switches(self):
        for name in catalog.DEFINITIONS:
            adapters = self.adapters(name)
            self.assertEqual('osd',
                             adapters[catalog.OSA]['properties']['type'])
            switches = {s['properties']['object-id']: s['properties']
                        for s in self.cpc(name).get('virtual_switches', [])}
            if name in catalog.NETWORK_EXPRESS_DEFINITIONS:
                self.assertEqual({}, switches, name)
                continue
            self.assertEqual(sorted(catalog.VSWITCHES), sorted(switches))
            for port, vswitch in enumerate(catalog.VSWITCHES):
                self.assertEqual(
                    ('/api/adapters/%s' % catalog.OSA, port),
                    (switches[vswitch]['backing-adapter-uri'],
                     switches[vswitch]['port']), name)

    def test_crypto_adapters(self):
        for name in catalog.DEFINITIONS:
            adapters = self.adapters(name)
            for crypto, kind in zip(catalog.CRYPTO_ADAPTERS,
                                    catalog.CRYPTO_TYPES):
                props = adapters[crypto]['properties']
                self.assertEqual(('crypto', kind),
                                 (props['adapter-family'],
                                  props['crypto-type']), name)

    def test_network_express_adapters(self):
        for name in catalog.DEFINITIONS:
            adapters = self.adapters(name)
            props = self.cpc(name)['properties']
            express = 'network-express-support' in props.get(
                'available-api-features-list', [])
            self.assertEqual(name in catalog.NETWORK_EXPRESS_DEFINITIONS,
                             express, name)
            for netx in catalog.NETWORK_EXPRESS:
                if not express:
                    self.assertNotIn(netx, adapters, name)
                    continue
                self.assertEqual(
                    'network-express',
                    adapters[netx]['properties']['adapter-family'])
                self.assertEqual(1, len(adapters[netx]['ports']))

    def test_storage_management(self):
        for name in catalog.DEFINITIONS:
            features = {f['name']: f['state'] for f in self.cpc(name)[
                'properties'].get('available-features-list', [])}
            self.assertEqual(name in catalog.STORAGE_GROUP_DEFINITIONS,
                             features.get('dpm-storage-management', False),
                             name)

    def test_target_wwpns_of_the_simulated_san(self):
        systems = _load('z16')['simulated_san']['storage_systems']
        self.assertEqual([list(catalog.TARGET_WWPNS)],
                         [s['target_wwpns'] for s in systems])

    def test_foreign_partitions(self):
        for name in catalog.DEFINITIONS:
            partitions = {p['properties']['name']: p['properties']['status']
                          for p in self.cpc(name).get('partitions', [])}
            self.assertEqual(catalog.FOREIGN_PARTITIONS, partitions, name)
