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

"""nova_dpm/subset.py: the CPC subset nova-compute manages.

init_host checks the subset against the HMC (the CPC, its mode and status,
processors, memory, the storage adapter mappings) and refuses naming the
option; the inventory reserves nothing (nova's reserved host resources do
not apply to a subset); an old CPC without the feature list gets the HBA
backend.
"""


from nova.compute import provider_tree
import os_resource_classes as orc

from nova_dpm import storage
from nova_dpm.tests.unit import base


class InitHostTest(base.DriverTestCase):
    definitions = base.WITH_Z17
    start_driver = False

    def test_cpc_not_found(self):
        other = 'c1a2b3c4-d5e6-4f70-8a91-000000000000'
        self.dpm_flags(cpc_object_id=other)
        self.assert_refused('cpc_object_id', other, 'shows no CPC')

    def test_cpc_not_in_dpm_mode(self):
        self.edit_definition(lambda d: self.cpc_definition(d)[
            'properties'].update({'dpm-enabled': False}))
        self.assert_refused('cpc_object_id', 'not in DPM mode')

    def test_cpc_not_up(self):
        self.edit_definition(lambda d: self.cpc_definition(d)[
            'properties'].update({'status': 'not-operating'}))
        self.assert_refused('cpc_object_id', "'not-operating'", 'active')

    def test_cpc_up_states_are_accepted(self):
        for status in ('service-required', 'degraded', 'exceptions'):
            self.edit_definition(lambda d: self.cpc_definition(d)[
                'properties'].update({'status': status}))
            self.start()
            self.assertEqual(status,
                             self.driver.subset.cpc.properties['status'])
            # Served (its partitions are managed), but a CPC waiting for
            # service takes no new instances (test_driver ResourcesTest).
            self.assertEqual(
                0 if status == 'service-required' else 8,
                self.driver.get_available_resource(base.HOST)['vcpus'])

    def test_too_many_processors(self):
        self.dpm_flags(max_processors=1000)
        self.assert_refused('max_processors', '1000 exceeds', 'IFL')

    def test_too_much_memory(self):
        self.dpm_flags(max_memory=100 * 1024 * 1024)
        self.assert_refused('max_memory', 'customer memory')

    def test_mapping_names_missing_adapter(self):
        missing = 'fc0000ff-0000-4000-8000-0000000000ff'
        self.dpm_flags(physical_storage_adapter_mappings=['%s:0' % missing])
        self.assert_refused('physical_storage_adapter_mappings', missing,
                            'shows no adapter')

    def test_mapping_names_non_fcp_adapter(self):
        self.dpm_flags(physical_storage_adapter_mappings=[
            '%s:0' % base.OSA])
        self.assert_refused('physical_storage_adapter_mappings',
                            "type 'osd'", 'FCP adapter')

    def test_mapping_names_missing_port(self):
        self.dpm_flags(physical_storage_adapter_mappings=[
            '%s:3' % base.FCP_A])
        self.assert_refused('physical_storage_adapter_mappings',
                            'has no port 3')


class OldHmcTest(base.DriverTestCase):
    """The z13 definition: HMC 2.13.1, API 1.7, SE 2.13.1."""

    definition = 'z13'

    def test_init_host_without_feature_list(self):
        # The old driver died here with KeyError 'available-features-list'.
        self.assertNotIn('available-features-list',
                         self.driver.subset.cpc.properties)
        self.assertFalse(self.driver.subset.storage_management)
        self.assertIsInstance(self.driver.storage, storage.HbaBackend)
        self.assertEqual((1, 7), self.driver.api_version)


class ReservedTest(base.DriverTestCase):
    """Item: nova's reserved host resources do not apply to a subset."""

    definitions = base.PER_DEFINITION

    def inventory(self):
        tree = provider_tree.ProviderTree()
        tree.new_root(base.HOST, 'rp-uuid')
        self.driver.update_provider_tree(tree, base.HOST)
        return tree.data(base.HOST).inventory

    def test_nothing_reserved_with_nova_defaults(self):
        # nova's default reserved_host_memory_mb is 512.
        self.assertEqual(512, base.driver.CONF.reserved_host_memory_mb)
        inv = self.inventory()
        self.assertEqual(0, inv[orc.VCPU]['reserved'])
        self.assertEqual(0, inv[orc.MEMORY_MB]['reserved'])

    def test_nothing_reserved_even_when_set(self):
        self.flags(reserved_host_cpus=2, reserved_host_memory_mb=4096)
        inv = self.inventory()
        self.assertEqual((0, 8), (inv[orc.VCPU]['reserved'],
                                  inv[orc.VCPU]['total']))
        self.assertEqual((0, 32768), (inv[orc.MEMORY_MB]['reserved'],
                                      inv[orc.MEMORY_MB]['total']))


load_tests = base.load_tests
