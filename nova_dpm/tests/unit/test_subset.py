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


import uuid

from nova.compute import provider_tree
from nova import exception as nova_exception
import os_resource_classes as orc
from oslo_serialization import jsonutils
import yaml

from nova_dpm import exception
from nova_dpm import simulator
from nova_dpm import storage
from nova_dpm import subset
from nova_dpm.tests.unit import base

# What each shipped definition's CPC is (its SE version as Nova's
# hypervisor_version, machine type and model) and whether it has the
# dpm-storage-management feature (storage groups rather than HBAs).
CPCS = {
    'z13': (2013001, '2964', 'N63', False),
    'z16': (2016000, '3931', 'A01', True),
    'z17': (2017000, '9175', 'A01', True),
}


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

    def test_cpc_of_another_hmc_user_is_refused_before_any_check(self):
        self.dpm_flags(cpc_object_id=base.OTHER_CPC)
        message = self.assert_refused('cpc_object_id', base.OTHER_CPC,
                                      'object-access permission')
        self.assertNotIn('DPM mode', message)

    def test_every_ifl_and_all_customer_memory_may_be_offered(self):
        # The limits are the CPC's own: equal is accepted.
        cpc = self.cpc_definition_of_shipped()
        ifls = cpc['properties']['processor-count-ifl']
        memory = cpc['properties']['storage-customer']
        self.dpm_flags(max_processors=ifls, max_memory=memory)
        self.start()
        res = self.driver.get_available_resource(base.HOST)
        self.assertEqual((ifls, memory), (res['vcpus'], res['memory_mb']))
        self.dpm_flags(max_processors=ifls + 1)
        self.assert_refused('max_processors', '%d exceeds the %d IFL' %
                            (ifls + 1, ifls))
        self.dpm_flags(max_processors=ifls, max_memory=memory + 1)
        self.assert_refused('max_memory', '%d MiB exceeds the %d MiB' %
                            (memory + 1, memory))

    def test_cpc_reporting_no_ifls_or_customer_memory(self):
        # A null count is taken as none: the subset does not fit.
        for name, option, words in (
                ('processor-count-ifl', 'max_processors',
                 '8 exceeds the 0 IFL'),
                ('storage-customer', 'max_memory',
                 '32768 MiB exceeds the 0 MiB')):
            self.edit_definition(lambda d: self.cpc_definition(d)[
                'properties'].update({name: None}))
            self.assert_refused(option, words)

    def test_subset_before_validation(self):
        self.start()
        fresh = subset.CpcSubset(self.driver.hmc, self.driver.settings,
                                 base.HOST)
        self.assertEqual((None, False, [], {}),
                         (fresh.cpc, fresh.storage_management,
                          fresh.adapter_ports, fresh.adapters))
        self.assertIn('max_instances unlimited', self.logger.output)

    def cpc_definition_of_shipped(self):
        with open(simulator.definition_path(self.definition)) as f:
            return self.cpc_definition(yaml.safe_load(f))

    def test_checks_report_what_they_found(self):
        # nova-dpm-check prints these lines, one per check.
        self.start()
        s = self.driver.subset
        cpc = s.cpc
        self.assertEqual('CPC CPC1 is in DPM mode', s.check_dpm_mode(cpc))
        self.assertEqual('CPC CPC1 has status active', s.check_status(cpc))
        self.assertEqual('[dpm] max_processors 8 <= 48 IFL processors of '
                         'CPC CPC1', s.check_processors(cpc))
        self.assertEqual('[dpm] max_memory 32768 MiB <= 1048576 MiB '
                         'customer memory of CPC CPC1', s.check_memory(cpc))
        self.assertEqual(cpc.uri, s.find_cpc().uri)

    def test_adapter_ports_of_the_mappings(self):
        self.start()
        s = self.driver.subset
        uri_a = '/api/adapters/%s' % base.FCP_A
        uri_b = '/api/adapters/%s' % base.FCP_B
        self.assertEqual([(uri_a, uri_a + '/storage-ports/0', 0),
                          (uri_b, uri_b + '/storage-ports/0', 0)],
                         s.adapter_ports)
        self.assertEqual({uri_a, uri_b}, set(s.adapters))
        for uri, adapter in s.adapters.items():
            self.assertEqual(uri, adapter.uri)
            # What the HMC holds for the adapter, read at init_host.
            faked = self.faked_cpc.adapters.lookup_by_oid(
                uri.rsplit('/', 1)[1])
            self.assertEqual(faked.properties['name'],
                             adapter.properties['name'])
        self.assertEqual(base.CPC_URI, s.cpc.uri)

    def test_mapping_names_adapter_of_another_cpc(self):
        self.edit_definition(base.add_other_cpc)
        self.dpm_flags(physical_storage_adapter_mappings=[
            '%s:0' % base.OTHER_FCP])
        self.assert_refused('physical_storage_adapter_mappings',
                            base.OTHER_FCP, 'FCP-X is not an adapter of '
                            'CPC CPC1')

    def test_missing_port_message_names_the_ports(self):
        ports = len(self.faked_cpc_adapter_ports(base.FCP_A))
        self.dpm_flags(physical_storage_adapter_mappings=[
            '%s:0' % base.FCP_B, '%s:3' % base.FCP_A])
        self.assert_refused('physical_storage_adapter_mappings',
                            'entry %s:3' % base.FCP_A,
                            'its ports: %s' % ', '.join(
                                str(i) for i in range(ports)))

    def faked_cpc_adapter_ports(self, adapter_id):
        cpc = self.cpc_definition_of_shipped()
        for adapter in cpc['adapters']:
            if adapter['properties']['object-id'] == adapter_id:
                return adapter.get('ports') or []
        raise AssertionError(adapter_id)


class StorageManagementTest(base.DriverTestCase):
    """Which CPCs report storage management (the storage backend)."""

    definitions = base.WITH_Z17
    start_driver = False

    def test_definition_reports_its_storage_management(self):
        self.start()
        expected = CPCS[self.definition][3]
        self.assertEqual(expected, self.driver.subset.storage_management)
        self.assertIsInstance(
            self.driver.storage,
            storage.StorageGroupBackend if expected else storage.HbaBackend)
        # As the HMC holds it: the CPC's firmware feature.
        features = self.faked_cpc.properties.get(
            'available-features-list') or []
        self.assertEqual(expected, any(
            f['name'] == 'dpm-storage-management' and f['state']
            for f in features))
        self.assertIn('storage backend: %s' % (
            'storage groups' if expected else 'HBAs'), self.logger.output)

    def test_feature_listed_but_off_is_no_storage_management(self):
        def off(data):
            for f in self.cpc_definition(data)['properties'].get(
                    'available-features-list') or []:
                f['state'] = False
        self.edit_definition(off)
        self.start()
        self.assertFalse(self.driver.subset.storage_management)

    def test_other_features_are_no_storage_management(self):
        def other(data):
            self.cpc_definition(data)['properties'][
                'available-features-list'] = [
                {'name': 'dpm-fcp-tape-management', 'state': True},
                {'name': 'dpm-storage-management', 'state': False}]
        self.edit_definition(other)
        self.start()
        self.assertFalse(self.driver.subset.storage_management)


class AvailableResourceTest(base.DriverTestCase):
    """get_available_resource: the [dpm] limits and the CPC's identity."""

    definitions = base.WITH_Z17

    def test_available_resource_of_the_cpc(self):
        version, machine_type, model, _sm = CPCS[self.definition]
        cpc = self.faked_cpc.properties
        # The definition's CPC is what the expectations say.
        self.assertEqual((machine_type, model),
                         (cpc['machine-type'], cpc['machine-model']))
        res = self.driver.get_available_resource(base.HOST)
        cpu_info = jsonutils.loads(res.pop('cpu_info'))
        self.assertEqual({
            'vcpus': 8, 'memory_mb': 32768, 'local_gb': 0,
            'vcpus_used': 0, 'memory_mb_used': 0, 'local_gb_used': 0,
            'hypervisor_type': 'prsm', 'hypervisor_version': version,
            'hypervisor_hostname': base.HOST, 'disk_available_least': 0,
            'supported_instances': [('s390x', 'prsm', 'hvm')],
            'numa_topology': None}, res)
        self.assertEqual({
            'arch': 's390x', 'model': model, 'vendor': 'IBM',
            'machine_type': machine_type,
            'topology': {'sockets': 1, 'cores': 8, 'threads': 1},
            'features': []}, cpu_info)

    def test_used_resources_follow_the_partitions(self):
        self.build(self.instance(vcpus=3, memory_mb=6144), network_info=[])
        res = self.driver.get_available_resource(base.HOST)
        self.assertEqual((3, 6144),
                         (res['vcpus_used'], res['memory_mb_used']))
        self.assertEqual(8, res['vcpus'])

    def test_cpc_reporting_no_identity(self):
        def null(data):
            self.cpc_definition(data)['properties'].update({
                'machine-model': None, 'machine-type': None,
                'se-version': None})
        self.edit_definition(null)
        self.start()
        res = self.driver.get_available_resource(base.HOST)
        self.assertEqual(0, res['hypervisor_version'])
        cpu_info = jsonutils.loads(res['cpu_info'])
        self.assertEqual(('', ''),
                         (cpu_info['model'], cpu_info['machine_type']))


class VersionIntTest(base.testtools.TestCase):

    def test_version_int(self):
        for text, number in (('2.15.0', 2015000), ('2.13.1', 2013001),
                             ('2.16', 2016000), ('3', 3000000),
                             ('1.2.3.4', 1002003), ('2.x.7', 2007000),
                             (2, 2000000), ('0', 0), ('10.20.30', 10020030),
                             ('', 0), ('unknown', 0)):
            self.assertEqual(number, subset.version_int(text), text)


class MaxInstancesTest(base.DriverTestCase):
    """reserve()/release(): [dpm] max_instances, before any HMC request."""

    definitions = base.PER_DEFINITION

    def setUp(self):
        super().setUp()
        self.dpm_flags(max_instances=2)
        self.start()
        self.subset = self.driver.subset
        self.assertIn('max_instances 2,', self.logger.output)

    def test_admitted_instances_count_until_released(self):
        first, second, third = (str(uuid.uuid4()) for _i in range(3))
        self.subset.reserve(first, set)
        self.subset.reserve(second, set)
        # Admitting the same instance again takes no second place.
        self.subset.reserve(first, set)
        exc = self.assertRaises(exception.DPMError, self.subset.reserve,
                                third, set)
        self.assertIn('CPC subset %s is full: it holds 2 of at most 2 '
                      'instances ([dpm] max_instances)' % base.HOST,
                      exc.format_message())
        self.subset.release(first)
        self.subset.reserve(third, set)
        self.assertRaises(exception.DPMError, self.subset.reserve, first, set)
        # Releasing an instance never admitted changes nothing.
        self.subset.release(str(uuid.uuid4()))
        self.assertRaises(exception.DPMError, self.subset.reserve, first, set)
        self.assertEqual(0, len(self.sim.requests))

    def test_members_count_with_reservations(self):
        member, admitted, other = (str(uuid.uuid4()) for _i in range(3))
        self.subset.reserve(admitted, set)
        # One partition exists and one is admitted: full.
        exc = self.assertRaises(exception.DPMError, self.subset.reserve,
                                other, lambda: {member})
        self.assertIn('holds 2 of at most 2', exc.format_message())
        # An instance with a partition is admitted without a place.
        self.subset.reserve(member, lambda: {member})
        # A reserved instance whose partition exists counts once.
        exc = self.assertRaises(exception.DPMError, self.subset.reserve,
                                other, lambda: {member, admitted})
        self.assertIn('holds 2 of at most 2', exc.format_message())
        self.subset.release(admitted)
        self.subset.reserve(other, lambda: {member})
        self.assertRaises(exception.DPMError, self.subset.reserve,
                          str(uuid.uuid4()), lambda: {member})

    def test_no_limit(self):
        self.dpm_flags(max_instances=None)
        self.start()
        for _i in range(5):
            self.driver.subset.reserve(str(uuid.uuid4()), set)

    def test_full_subset_refuses_a_build_before_any_hmc_request(self):
        first, _c = self.build(network_info=[])
        second, _c = self.build(network_info=[])
        partitions = set(self.faked_partitions())
        self.sim.reset_counts()
        third = self.instance()
        exc = self.assertRaises(nova_exception.InstanceUnacceptable,
                                self.driver.prepare_for_spawn, third)
        self.assertIn('holds 2 of at most 2', exc.format_message())
        self.assertEqual(0, self.sim.count('POST'))
        self.assertEqual(partitions, set(self.faked_partitions()))
        # A built instance is no longer reserved, but counted by its
        # partition; after its destroy the place is free again.
        self.driver.destroy(self.context, first, [], None)
        self.assertNotIn(self.driver.partitions.naming.name(first.uuid),
                         self.faked_partitions())
        self.driver.prepare_for_spawn(third)


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

    def test_inventory_of_the_limits(self):
        self.flags(cpu_allocation_ratio=2.0, ram_allocation_ratio=1.5)
        inv = self.inventory()
        self.assertEqual({orc.VCPU, orc.MEMORY_MB}, set(inv))
        self.assertEqual({'total': 8, 'min_unit': 1, 'max_unit': 8,
                          'step_size': 1, 'allocation_ratio': 2.0,
                          'reserved': 0}, inv[orc.VCPU])
        self.assertEqual({'total': 32768, 'min_unit': 1, 'max_unit': 32768,
                          'step_size': 1, 'allocation_ratio': 1.5,
                          'reserved': 0}, inv[orc.MEMORY_MB])

    def test_nothing_reserved_even_when_set(self):
        self.flags(reserved_host_cpus=2, reserved_host_memory_mb=4096)
        inv = self.inventory()
        self.assertEqual((0, 8), (inv[orc.VCPU]['reserved'],
                                  inv[orc.VCPU]['total']))
        self.assertEqual((0, 32768), (inv[orc.MEMORY_MB]['reserved'],
                                      inv[orc.MEMORY_MB]['total']))


load_tests = base.load_tests
