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

"""nova_dpm/driver.py: DPMDriver as nova calls it, on HMC definitions.

The HBA (z13) and storage-group (z16, z17) backends run the same
driver-level tests: the classes here run once per definition (z17: NICs on
adapter ports, no virtual switches). The driver interface checks need no
HMC.
"""

import inspect
import os
import shutil
import tempfile
import threading

from nova.compute import power_state
from nova.compute import provider_tree
from nova.compute import task_states
from nova.compute import vm_states
from nova import exception as nova_exception
from nova.virt import driver as nova_driver
import os_resource_classes as orc
from oslo_serialization import jsonutils
import testtools
import zhmcclient

from nova_dpm import capabilities
from nova_dpm import driver
from nova_dpm import exception
from nova_dpm.simulator import certs
from nova_dpm import storage
from nova_dpm.tests.unit import base


def _foreign(name, status='active', ifl=2, memory=4096):
    return {'properties': {'name': name, 'status': status,
                           'ifl-processors': ifl, 'initial-memory': memory,
                           'maximum-memory': memory}}


class InitHostTest(base.DriverTestCase):
    definitions = base.WITH_Z17
    start_driver = False

    def test_starts_and_logs_the_backend(self):
        self.start()
        self.assertEqual(self.definition != 'z13',
                         self.driver.subset.storage_management)
        self.assertEqual(2, len(self.driver.subset.adapter_ports))

    def test_invalid_option_stops_init_host(self):
        self.dpm_flags(hmc_mock_file=None, hmc=[])
        self.assert_refused('hmc', 'hmc_mock_file')

    def test_no_sys_exit_in_the_driver(self):
        package = os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__))))
        for name in os.listdir(package):
            if name.endswith('.py'):
                with open(os.path.join(package, name)) as f:
                    self.assertNotIn('sys.exit', f.read(), name)


class ResourcesTest(base.DriverTestCase):

    definitions = base.WITH_Z17

    def setUp(self):
        self.start_driver = False
        super().setUp()
        other = 'OpenStack-subset10-6f1a3d43-3f0a-4d51-9f7c-2cbd6a1f3b7e'

        def add(data):
            parts = self.cpc_definition(data).setdefault('partitions', [])
            parts.append(_foreign(other, ifl=6, memory=8192))
            parts.append(_foreign(
                'OpenStack-subset1-1f1a3d43-3f0a-4d51-9f7c-2cbd6a1f3b7e',
                status='stopped', ifl=3, memory=2048))
            parts.append(_foreign('OpenStack-subset1-not-a-uuid'))
        self.edit_definition(add)
        self.start()

    def test_available_resource(self):
        res = self.driver.get_available_resource(base.HOST)
        for key in ('vcpus', 'memory_mb', 'local_gb', 'vcpus_used',
                    'memory_mb_used', 'local_gb_used', 'hypervisor_type',
                    'hypervisor_version', 'hypervisor_hostname', 'cpu_info',
                    'disk_available_least', 'supported_instances',
                    'numa_topology'):
            self.assertIn(key, res)
        self.assertEqual(8, res['vcpus'])
        self.assertEqual(32768, res['memory_mb'])
        # Only this subset's partition counts; not the other subset's,
        # not the look-alike, not the foreign ones.
        self.assertEqual(3, res['vcpus_used'])
        self.assertEqual(2048, res['memory_mb_used'])
        self.assertEqual('prsm', res['hypervisor_type'])
        se = self.faked_cpc.properties['se-version']
        major, minor, patch = (int(x) for x in se.split('.'))
        self.assertEqual(major * 1000000 + minor * 1000 + patch,
                         res['hypervisor_version'])
        self.assertEqual([('s390x', 'prsm', 'hvm')],
                         res['supported_instances'])
        self.assertEqual('s390x', jsonutils.loads(res['cpu_info'])['arch'])

    def test_provider_tree_inventory(self):
        self.flags(cpu_allocation_ratio=2.0, reserved_host_memory_mb=512)
        tree = provider_tree.ProviderTree()
        tree.new_root(base.HOST, 'rp-uuid')
        self.driver.update_provider_tree(tree, base.HOST)
        inv = tree.data(base.HOST).inventory
        self.assertEqual({orc.VCPU, orc.MEMORY_MB}, set(inv))
        self.assertEqual(8, inv[orc.VCPU]['total'])
        self.assertEqual(2.0, inv[orc.VCPU]['allocation_ratio'])
        self.assertEqual(32768, inv[orc.MEMORY_MB]['total'])
        # A CPC subset has no host OS to reserve for (test_subset).
        self.assertEqual(0, inv[orc.MEMORY_MB]['reserved'])

    def test_own_partitions_count_from_the_start(self):
        self.dpm_flags(max_instances=1)
        self.start()
        exc = self.assertRaises(nova_exception.InstanceUnacceptable,
                                self.driver.prepare_for_spawn,
                                self.instance())
        self.assertIn('1 of at most 1', exc.format_message())
        self.assertEqual(0, self.sim.count())

    def resources(self):
        """update_available_resource: resources, then the inventory."""
        res = self.driver.get_available_resource(base.HOST)
        tree = provider_tree.ProviderTree()
        tree.new_root(base.HOST, 'rp-uuid')
        self.driver.update_provider_tree(tree, base.HOST)
        return res, tree.data(base.HOST).inventory

    def test_unavailable_cpc_reports_no_resources_until_back(self):
        # The old driver reported the subset's resources whatever the
        # CPC's status, and Nova placed builds that could not start.
        for status in ('not-operating', 'service-required'):
            self.faked_cpc.properties['status'] = status
            res, inv = self.resources()
            self.assertEqual((0, 0), (res['vcpus'], res['memory_mb']))
            for rc in (orc.VCPU, orc.MEMORY_MB):
                self.assertEqual(inv[rc]['total'], inv[rc]['reserved'])
            self.assertIn("CPC CPC1 has status '%s'" % status,
                          self.logger.output)
            self.assertIn('reports no processors and no memory',
                          self.logger.output)
            # Back by itself at the next periodic update.
            self.faked_cpc.properties['status'] = 'active'
            res, inv = self.resources()
            self.assertEqual((8, 32768, 3),
                             (res['vcpus'], res['memory_mb'],
                              res['vcpus_used']))
            self.assertEqual(0, inv[orc.VCPU]['reserved'])
            self.assertIn('has status active again', self.logger.output)

    def test_lists_only_own_partitions(self):
        self.assertEqual(['1f1a3d43-3f0a-4d51-9f7c-2cbd6a1f3b7e'],
                         self.driver.list_instance_uuids())
        self.assertEqual(
            ['OpenStack-subset1-1f1a3d43-3f0a-4d51-9f7c-2cbd6a1f3b7e'],
            self.driver.list_instances())


class LifecycleTest(base.DriverTestCase):

    definitions = base.WITH_Z17

    def test_connector_before_spawn_creates_partition_and_paths(self):
        instance = self.instance()
        connector = self.driver.get_volume_connector(instance)
        part = self.faked_partition(instance)
        self.assertIsNotNone(part)
        self.assertEqual(2, len(connector['wwpns']))
        for wwpn in connector['wwpns']:
            self.assertRegex(wwpn, r'^[0-9a-f]{16}$')
        self.assertEqual(base.HOST, connector['host'])
        self.assertEqual('s390x', connector['platform'])
        self.assertEqual('linux', connector['os_type'])
        self.assertTrue(connector['multipath'])
        self.assertEqual(sorted(connector['wwpns']),
                         sorted(self.hmc_wwpns(part)))
        # Asked again: the same WWPNs, nothing created twice.
        self.sim.reset_counts()
        self.assertEqual(connector,
                         self.driver.get_volume_connector(instance))
        self.assertEqual(0, self.sim.count('POST'))

    def hmc_wwpns(self, part):
        if self.definition == 'z13':
            return [h.properties['wwpn'] for h in part.hbas.list()]
        wwpns = []
        for sg in self.session.hmc.consoles.console.storage_groups.list():
            for vsr in sg.virtual_storage_resources.list():
                if vsr.properties.get('partition-uri') == part.uri:
                    wwpns.append(vsr.properties['world-wide-port-name'])
        return wwpns

    def test_partition_from_flavor(self):
        instance, _c = self.build(self.instance(vcpus=3, memory_mb=6144))
        props = self.faked_partition(instance).properties
        self.assertEqual(3, props['ifl-processors'])
        self.assertEqual(6144, props['initial-memory'])
        self.assertEqual(6144, props['maximum-memory'])
        self.assertEqual('shared', props['processor-mode'])
        self.assertEqual('OpenStack CPC subset subset1', props['description'])
        self.assertEqual('active', props['status'])

    def test_full_cycle_with_two_paths_and_two_nics(self):
        instance, connector = self.build(lun=0x4001)
        part = self.faked_partition(instance)
        props = part.properties
        boot_wwpn = connector['wwpns'][0]
        if self.definition == 'z13':
            self.assertEqual('storage-adapter', props['boot-device'])
            hba = [h for h in part.hbas.list()
                   if h.properties['wwpn'] == boot_wwpn][0]
            self.assertEqual(hba.uri, props['boot-storage-device'])
            self.assertEqual('/api/adapters/%s/storage-ports/0' % base.FCP_A,
                             hba.properties['adapter-port-uri'])
            self.assertEqual(base.TARGETS[0],
                             props['boot-world-wide-port-name'])
            self.assertEqual('4001000000000000',
                             props['boot-logical-unit-number'])
        else:
            self.assertEqual('storage-volume', props['boot-device'])
            volume = self.sim.lookup(props['boot-storage-volume'])
            self.assertEqual('boot', volume.properties['usage'])
            self.assertEqual('complete',
                             volume.properties['fulfillment-state'])
        nics = sorted(part.nics.list(),
                      key=lambda n: n.properties['device-number'])
        self.assertEqual(['OpenStack_Port_port-a', 'OpenStack_Port_port-b'],
                         [n.properties['name'] for n in nics])
        self.assertEqual(
            'OpenStack mac=fa:16:3e:00:00:0b, CPCSubset=subset1',
            nics[1].properties['description'])
        if self.definition in base.NO_VSWITCH_DEFINITIONS:
            # Network Express NICs: PCI functions, one device number each.
            self.assertEqual(['0001', '0002'],
                             [n.properties['device-number'] for n in nics])
            self.assertEqual('/api/adapters/%s/network-ports/0' %
                             base.NETX_2,
                             nics[1].properties['network-adapter-port-uri'])
            self.assertEqual('neth', nics[1].properties['type'])
            self.assertEqual('0001,0,fa163e00000a;0002,0,fa163e00000b;',
                             props['boot-os-specific-parameters'])
        else:
            self.assertEqual(['0001', '0004'],
                             [n.properties['device-number'] for n in nics])
            self.assertEqual('/api/virtual-switches/%s' % base.VSWITCH_1,
                             nics[1].properties['virtual-switch-uri'])
            # The virtual switch's real port (1), not always 0.
            self.assertEqual('0001,0,fa163e00000a;0004,1,fa163e00000b;',
                             props['boot-os-specific-parameters'])
        info = self.driver.get_info(instance, use_cache=False)
        self.assertEqual(power_state.RUNNING, info.state)

        self.driver.power_off(instance)
        self.assertEqual('stopped', part.properties['status'])
        self.assertEqual(power_state.SHUTDOWN,
                         self.driver.get_info(instance, False).state)
        self.driver.power_on(self.context, instance, None)
        self.assertEqual('active', part.properties['status'])
        self.driver.reboot(self.context, instance, None, 'HARD')
        self.assertEqual('active', part.properties['status'])
        self.assertEqual(1, self.sim.count(
            'POST', '/api/partitions/{id}/operations/stop') - 1)

        instance.task_state = task_states.DELETING
        self.driver.destroy(self.context, instance, None)
        self.assertIsNone(self.faked_partition(instance))
        self.assertEqual([], self.instance_leftovers(instance))
        # Nova detaches the volumes after destroy: the WWPNs are still known
        # and nothing is created again.
        self.sim.reset_counts()
        self.assertEqual(connector['wwpns'],
                         self.driver.get_volume_connector(instance)['wwpns'])
        self.assertEqual(0, self.sim.count())
        # destroy is idempotent.
        self.driver.destroy(self.context, instance, None)

    def instance_leftovers(self, instance):
        name = self.driver.partitions.naming.name(instance.uuid)
        left = [n for n in self.faked_partitions() if n == name]
        if self.definition == 'z16':
            left += [sg.properties['name'] for sg in
                     self.session.hmc.consoles.console.storage_groups.list()
                     if instance.uuid in sg.properties['name']]
        return left

    def test_get_info_maps_statuses_and_missing(self):
        instance, _c = self.build()
        part = self.faked_partition(instance)
        for status, state in (('paused', power_state.SHUTDOWN),
                              ('terminated', power_state.CRASHED),
                              ('degraded', power_state.RUNNING),
                              ('reservation-error', power_state.SHUTDOWN)):
            self.sim.set_status(part.uri, status)
            self.assertEqual(state,
                             self.driver.get_info(instance, False).state)
        self.assertTrue(self.driver.instance_exists(instance))
        self.sim.set_status(part.uri, 'stopped')
        self.faked_cpc.partitions.remove(part.oid)
        self.assertRaises(nova_exception.InstanceNotFound,
                          self.driver.get_info, instance, False)
        self.assertFalse(self.driver.instance_exists(instance))
        self.assertNotIn(instance.uuid, self.driver.list_instance_uuids())

    def test_cached_status_follows_own_starts_and_stops(self):
        instance, _c = self.build()
        self.assertEqual(power_state.RUNNING,
                         self.driver.get_info(instance).state)
        self.sim.reset_counts()
        # Within the cache's lifetime, Nova's power-state sync sees what
        # this service just did, without asking the HMC.
        self.driver.power_off(instance)
        self.assertEqual(power_state.SHUTDOWN,
                         self.driver.get_info(instance).state)
        self.driver.power_on(self.context, instance, None)
        self.assertEqual(power_state.RUNNING,
                         self.driver.get_info(instance).state)
        self.assertEqual(0, self.sim.count(
            'GET', '/api/cpcs/{id}/partitions'))

    def test_power_on_from_paused_and_terminated(self):
        instance, _c = self.build()
        part = self.faked_partition(instance)
        for status in ('paused', 'terminated'):
            self.sim.set_status(part.uri, status)
            self.driver.power_on(self.context, instance, None)
            self.assertEqual('active', part.properties['status'])

    def test_power_on_waits_out_a_stop_in_progress(self):
        instance, _c = self.build()
        part = self.faked_partition(instance)
        self.sim.transition_time = 0.3
        # Somebody else (the HMC console) stops the partition just now.
        other = zhmcclient.Client(self.session)
        cpc = other.cpcs.find(**{'object-id': base.CPC_ID})
        cpc.partitions.find(name=part.properties['name']).stop(
            wait_for_completion=False)
        self.assertEqual('stopping', self.sim.properties(part.uri)['status'])
        self.driver.power_on(self.context, instance, None)
        self.assertEqual('active', self.sim.properties(part.uri)['status'])

    def test_power_off_of_stopped_partition_is_success(self):
        instance, _c = self.build(power_on=False)
        part = self.faked_partition(instance)
        self.assertEqual('stopped', part.properties['status'])
        self.driver.power_off(instance)
        self.assertEqual('stopped', part.properties['status'])

    def test_destroy_of_unknown_instance_is_success(self):
        instance = self.instance(task_state=task_states.DELETING)
        self.driver.destroy(self.context, instance, None)
        self.assertEqual(0, self.sim.count('DELETE'))

    def test_get_info_cached_costs_one_request_for_all(self):
        instances = [self.build(network_info=[])[0] for _i in range(3)]
        self.driver.partitions._listed_at = 0
        self.sim.reset_counts()
        for instance in instances:
            self.assertEqual(power_state.RUNNING,
                             self.driver.get_info(instance).state)
        self.assertEqual(1, self.sim.count())

    def volumes(self, instance):
        """The volumes of the instance's storage group: name -> size."""
        return {v.properties['name']: (v.properties['usage'],
                                       v.properties['size'])
                for g in self.session.hmc.consoles.console.storage_groups
                .list() if instance.uuid in g.properties['name']
                for v in g.storage_volumes.list()}

    def test_attach_and_detach_data_volume(self):
        instance, connector = self.build()
        part = self.faked_partition(instance)
        hbas = sorted(h.properties['name'] for h in part.hbas.list())
        boot = self.volumes(instance)
        self.sim.reset_counts()
        info = self.attach_data_volume(instance, connector, size=5)
        if self.definition == 'z13':
            # HBAs reach every LUN Cinder maps to their WWPNs: nothing is
            # written on the HMC, the HBAs stay as they are.
            self.assertEqual([], [r for r in self.sim.requests
                                  if r[0] != 'GET'])
            self.assertEqual(hbas, sorted(h.properties['name']
                                          for h in part.hbas.list()))
        else:
            # The group gets a data volume of the volume's real size.
            self.assertEqual(1, len(boot))
            self.assertEqual(dict(boot, **{'vol-data': ('data', 5.0)}),
                             self.volumes(instance))
        self.driver.detach_volume(self.context, info, instance, '/dev/sdb')
        self.assertEqual(boot, self.volumes(instance))
        self.assertEqual('active', part.properties['status'])

    def test_attach_refuses_unmapped_and_non_fc_volumes(self):
        instance, _c = self.build()
        info = self.fc_connection(['c05076ffe6800000'], volume_id='vol-x')
        exc = self.assertRaises(exception.InvalidVolume,
                                self.driver.attach_volume, self.context,
                                info, instance, '/dev/sdb')
        self.assertIn("none of the partition's WWPNs", exc.format_message())
        info['driver_volume_type'] = 'iscsi'
        exc = self.assertRaises(exception.InvalidVolume,
                                self.driver.attach_volume, self.context,
                                info, instance, '/dev/sdb')
        self.assertIn("'iscsi'", exc.format_message())


class BuildRefusalTest(base.DriverTestCase):
    """Refusals that happen before any HMC request."""

    definitions = base.WITH_Z17

    def test_image_boot_is_refused(self):
        instance = self.instance(
            image_ref='155d900f-4e14-4e4c-a73d-069cbf4541e6')
        exc = self.assertRaises(nova_exception.InstanceUnacceptable,
                                self.driver.prepare_for_spawn, instance)
        self.assertIn('boots only from a Fibre Channel volume; create the '
                      'server with --volume or --boot-from-volume',
                      exc.format_message())
        # Even with a boot volume beside the image.
        bdi = self.block_device_info(self.fc_connection(
            ['c05076ffe6800001']))
        exc = self.assertRaises(
            nova_exception.BuildAbortException, self.driver.spawn,
            self.context, instance, None, [], None, {}, [], bdi)
        self.assertIn('create the server with --volume or '
                      '--boot-from-volume', exc.format_message())
        self.assertEqual(0, self.sim.count())

    def test_max_instances(self):
        self.dpm_flags(max_instances=1)
        self.start()
        self.build()
        self.sim.reset_counts()
        second = self.instance()
        exc = self.assertRaises(nova_exception.InstanceUnacceptable,
                                self.driver.prepare_for_spawn, second)
        self.assertIn('max_instances', exc.format_message())
        self.assertIn('1 of at most 1', exc.format_message())
        self.assertEqual(0, self.sim.count())
        self.assertIsNone(self.faked_partition(second))

    def test_unsupported_vifs_are_refused_before_the_hmc(self):
        instance = self.instance()
        for vif, words in (
                (self.vif('p1', 'fa:16:3e:00:00:01', vif_type='ovs'),
                 "'ovs'"),
                (self.vif('p1', 'fa:16:3e:00:00:01',
                          vswitch='5e0000ff-0000-4000-8000-0000000000ff'),
                 'has no virtual switches'
                 if self.definition in base.NO_VSWITCH_DEFINITIONS
                 else 'which the HMC does not show')):
            exc = self.assertRaises(
                nova_exception.InstanceUnacceptable,
                self.driver.prepare_networks_before_block_device_mapping,
                instance, [vif])
            self.assertIn(words, exc.format_message())
        self.assertEqual(0, self.sim.count('POST'))

    def test_missing_and_non_fc_boot_volume(self):
        instance = self.instance()
        exc = self.assertRaises(
            nova_exception.BuildAbortException, self.driver.spawn,
            self.context, instance, None, [], None, {}, [], {})
        self.assertIn('no boot volume', exc.format_message())
        bdi = self.block_device_info({'driver_volume_type': 'rbd',
                                      'data': {}})
        exc = self.assertRaises(
            nova_exception.BuildAbortException, self.driver.spawn,
            self.context, instance, None, [], None, {}, [], bdi)
        self.assertIn("'rbd'", exc.format_message())
        self.assertEqual(0, self.sim.count())


class HmcRefusalTest(base.DriverTestCase):

    definitions = base.WITH_Z17

    def test_request_the_hmc_refuses_fails_the_build_for_good(self):
        # A NIC name beyond the HMC's 64 characters: 400, reason 7. Another
        # host would be refused alike, so the build is not rescheduled.
        vifs = [self.vif('p' * 60, 'fa:16:3e:00:00:01')]
        instance = self.instance()
        exc = self.assertRaises(nova_exception.BuildAbortException,
                                self.build, instance, network_info=vifs)
        self.assertIn('HMC operation create NIC', exc.format_message())
        self.assertIn('HTTP 400 reason 7', exc.format_message())
        self.assertIsNone(self.faked_partition(instance))


class BusyPartitionTest(base.DriverTestCase):
    """409,2 (HMC rule A3): the partition is busy; ask again."""

    definitions = base.WITH_Z17

    def test_busy_partition_is_asked_again_within_the_deadline(self):
        # The old driver failed the build at the first 409,2 of Create
        # NIC, Update Partition Properties or Attach Storage Group.
        patterns = [('POST', '/api/partitions/{id}/nics'),
                    ('POST', '/api/partitions/{id}')]
        if self.definition != 'z13':
            patterns.append(('POST', '/api/partitions/{id}/operations/'
                                     'attach-storage-group'))
        for method, pattern in patterns:
            self.sim.inject_fault('busy', method, pattern)
            self.sim.reset_counts()
            instance, _c = self.build()
            part = self.faked_partition(instance)
            self.assertEqual('active', part.properties['status'])
            self.assertEqual(2, len(part.nics.list()))
            self.assertIn(('busy', method, pattern), self.sim.fired_faults)

    def test_busy_beyond_the_deadline_fails_and_cleans_up(self):
        self.dpm_flags(hmc_operation_timeout=1)
        self.start()
        for _ in range(20):
            self.sim.inject_fault('busy', 'POST', '/api/partitions/{id}')
        instance = self.instance()
        exc = self.assertRaises(exception.HMCTimeout, self.build, instance)
        self.assertIn('update partition', exc.format_message())
        self.assertIn('busy', exc.format_message())
        self.driver.failed_spawn_cleanup(instance)
        self.assertIsNone(self.faked_partition(instance))


class FailedSpawnTest(base.DriverTestCase):
    """A failed spawn leaves nothing of the instance on the HMC."""

    definitions = base.WITH_Z17

    def assert_nothing_left(self, instance):
        self.assertIsNone(self.faked_partition(instance))
        groups = self.session.hmc.consoles.console.storage_groups.list()
        self.assertEqual([], [g for g in groups
                              if instance.uuid in g.properties['name']])

    def test_fault_at_each_spawn_request(self):
        patterns = [('POST', '/api/partitions/{id}/nics'),
                    ('POST', '/api/partitions/{id}'),
                    ('POST', '/api/partitions/{id}/operations/start')]
        for method, pattern in patterns:
            instance = self.instance()
            self.driver.prepare_for_spawn(instance)
            connector = self.driver.get_volume_connector(instance)
            bdi = self.block_device_info(
                self.cinder_map(self.fc_connection(connector['wwpns'])))
            instance.task_state = task_states.SPAWNING
            self.sim.inject_fault('http500', method, pattern)
            self.assertRaises(exception.HMCOperationFailed,
                              self.driver.spawn, self.context,
                              instance, None, [], None, {},
                              self.two_vifs(), bdi)
            self.sim.clear_faults()
            self.driver.failed_spawn_cleanup(instance)
            self.assert_nothing_left(instance)

    def test_boot_target_all_ignored_aborts_and_cleans_up(self):
        self.dpm_flags(target_wwpn_ignore_list=base.TARGETS)
        self.start()
        instance = self.instance()
        exc = self.assertRaises(nova_exception.BuildAbortException,
                                self.build, instance)
        self.assertIn('target_wwpn_ignore_list', exc.format_message())
        self.assert_nothing_left(instance)


class MessagesTest(base.DriverTestCase):
    """The remaining refusals, each with its message."""

    definitions = base.WITH_Z17
    start_driver = False

    def test_adapter_of_another_cpc(self):
        self.edit_definition(base.add_other_cpc)
        self.dpm_flags(physical_storage_adapter_mappings=[
            '%s:0' % base.OTHER_FCP])
        exc = self.assertRaises(exception.CpcSubsetInvalid, self.start)
        self.assertIn('[dpm] physical_storage_adapter_mappings',
                      exc.format_message())
        self.assertIn('adapter FCP-X is not an adapter of CPC CPC1',
                      exc.format_message())

    def test_virtual_switch_of_another_cpc(self):
        if self.definition in base.NO_VSWITCH_DEFINITIONS:
            self.skipTest('no virtual switches (see test_network)')
        self.edit_definition(base.add_other_cpc)
        self.start()
        exc = self.assertRaises(
            nova_exception.InstanceUnacceptable,
            self.driver.prepare_networks_before_block_device_mapping,
            self.instance(),
            [self.vif('port-x', 'fa:16:3e:00:00:01', base.OTHER_VSWITCH)])
        self.assertIn('port-x', exc.format_message())
        self.assertIn('its virtual switch OSA-X port 0 is not on CPC CPC1',
                      exc.format_message())

    def test_no_storage_path(self):
        self.dpm_flags(physical_storage_adapter_mappings=[])
        self.start()
        instance = self.instance()
        exc = self.assertRaises(nova_exception.InstanceUnacceptable,
                                self.build, instance, network_info=[])
        self.assertIn('the CPC subset has no storage path to boot from; '
                      'set [dpm] physical_storage_adapter_mappings',
                      exc.format_message())
        self.assertEqual(0, self.sim.count())

    def test_partition_that_does_not_boot(self):
        self.start()
        instance, _c = self.build(power_on=False)
        part = self.faked_partition(instance)
        self.sim.force_start_outcome(part.uri, 'paused')
        exc = self.assertRaises(exception.HMCOperationFailed,
                                self.driver.power_on, self.context,
                                instance, None)
        self.assertIn("ended in status 'paused' instead of active",
                      exc.format_message())

    def test_start_ending_in_reservation_error_fails_at_once(self):
        self.start()
        instance, _c = self.build(power_on=False)
        part = self.faked_partition(instance)
        self.sim.force_start_outcome(part.uri, 'reservation-error')
        self.driver.partitions.start_grace = 60
        # Not an HMCTimeout after [dpm] hmc_operation_timeout (20 s here).
        exc = self.assertRaises(exception.HMCOperationFailed,
                                self.driver.power_on, self.context,
                                instance, None)
        self.assertIn("ended in status 'reservation-error' instead of "
                      "active: the CPC could not give the partition its "
                      "processors, memory or storage", exc.format_message())

    def test_listing_never_undoes_a_concurrent_create(self):
        self.start()
        listed = threading.Event()
        release = threading.Event()
        original = self.sim.request

        def request(method, uri, *args, **kwargs):
            result = original(method, uri, *args, **kwargs)
            if method == 'GET' and uri.split('?')[0].endswith('/partitions'):
                # The HMC answered; the answer arrives late.
                listed.set()
                release.wait(10)
            return result
        self.sim.request = request
        lister = threading.Thread(target=self.driver.partitions.refresh)
        lister.start()
        self.assertTrue(listed.wait(10))
        self.sim.request = original
        instance = self.instance()
        self.driver.get_volume_connector(instance)
        release.set()
        lister.join(10)
        self.assertIn(instance.uuid, self.driver.partitions.known())
        self.assertEqual('stopped',
                         self.driver.partitions.statuses()[instance.uuid])

    def test_start_or_stop_that_takes_too_long(self):
        self.dpm_flags(hmc_operation_timeout=1)
        self.start()
        instance, _c = self.build()
        self.sim.transition_time = 30
        exc = self.assertRaises(exception.HMCTimeout, self.driver.power_off,
                                instance)
        self.assertIn('Timed out after 1 s waiting for stop of',
                      exc.format_message())
        self.sim.complete_transitions()

    def test_encrypted_volumes(self):
        self.start()
        instance, connector = self.build()
        info = self.fc_connection(connector['wwpns'], volume_id='vol-e')
        exc = self.assertRaises(exception.InvalidVolume,
                                self.driver.attach_volume, self.context,
                                info, instance, '/dev/sdb',
                                encryption={'provider': 'luks'})
        self.assertIn('Volume vol-e cannot be used: it is encrypted',
                      exc.format_message())
        info['data']['encrypted'] = True
        exc = self.assertRaises(exception.InvalidVolume,
                                self.driver.attach_volume, self.context,
                                info, instance, '/dev/sdb')
        self.assertIn('it is encrypted', exc.format_message())
        other = self.instance()
        self.driver.prepare_for_spawn(other)
        wwpns = self.driver.get_volume_connector(other)['wwpns']
        boot = self.fc_connection(wwpns)
        boot['data']['encrypted'] = True
        other.task_state = task_states.SPAWNING
        exc = self.assertRaises(nova_exception.BuildAbortException,
                                self.driver.spawn, self.context, other, None,
                                [], None, {}, [],
                                self.block_device_info(boot))
        self.assertIn('it is encrypted', exc.format_message())

    def test_unshelve_of_an_offloaded_instance(self):
        self.start()
        instance, connector = self.build()
        instance.task_state = task_states.SHELVING_OFFLOADING
        self.driver.destroy(self.context, instance, None)
        # Nova detaches the volumes with the recorded WWPNs...
        self.assertEqual(connector['wwpns'], self.driver.get_volume_connector(
            instance)['wwpns'])
        self.assertIsNone(self.faked_partition(instance))
        # ... and unshelves: block devices are mapped while spawning.
        instance.vm_state = vm_states.SHELVED_OFFLOADED
        instance.task_state = task_states.SPAWNING
        new = self.driver.get_volume_connector(instance)['wwpns']
        self.assertNotEqual(connector['wwpns'], new)
        self.driver.spawn(self.context, instance, None, [], None, {}, [],
                          self.block_device_info(
                              self.cinder_map(self.fc_connection(new))))
        self.assertEqual('active',
                         self.faked_partition(instance).properties['status'])

    def test_retried_destroy_deletes_a_leftover_storage_group(self):
        if self.definition != 'z16':
            self.skipTest('storage groups exist on the z16 definition')
        self.start()
        instance, _c = self.build()
        self.sim.inject_fault('http500', 'POST',
                              '/api/storage-groups/{id}/operations/delete')
        instance.task_state = task_states.DELETING
        self.assertRaises(exception.HMCOperationFailed, self.driver.destroy,
                          self.context, instance, None)
        self.assertIsNone(self.faked_partition(instance))
        name = self.driver.partitions.naming.name(instance.uuid)
        groups = self.session.hmc.consoles.console.storage_groups
        self.assertEqual([name], [g.properties['name'] for g in groups.list()])
        self.driver.destroy(self.context, instance, None)
        self.assertEqual([], groups.list())

    def test_rebuild_gets_a_new_partition_and_new_wwpns(self):
        self.start()
        instance, connector = self.build()
        old = self.faked_partition(instance).uri
        # Nova's generic rebuild: destroy, re-attach the volumes (asking
        # for the connector), spawn.
        instance.task_state = task_states.REBUILDING
        self.driver.destroy(self.context, instance, None)
        instance.task_state = task_states.REBUILD_BLOCK_DEVICE_MAPPING
        new = self.driver.get_volume_connector(instance)
        self.assertEqual(2, len(new['wwpns']))
        self.assertNotEqual(connector['wwpns'], new['wwpns'])
        instance.task_state = task_states.REBUILD_SPAWNING
        self.driver.spawn(self.context, instance, None, [], None, {}, [],
                          self.block_device_info(self.cinder_map(
                              self.fc_connection(new['wwpns']))))
        part = self.faked_partition(instance)
        self.assertNotEqual(old, part.uri)
        self.assertEqual('active', part.properties['status'])


class HostTest(base.DriverTestCase):
    """The node, the host's address, and what cleanup_host ends."""

    def test_node(self):
        self.flags(my_ip='192.0.2.7')
        self.assertEqual([base.HOST], self.driver.get_available_nodes())
        self.assertTrue(self.driver.node_is_available(base.HOST))
        self.assertFalse(self.driver.node_is_available('subset2'))
        self.assertEqual('192.0.2.7', self.driver.get_host_ip_addr())

    def test_cleanup_host_before_init_host(self):
        driver.DPMDriver(virtapi=None).cleanup_host(base.HOST)


class HttpsHostTest(base.DriverTestCase):
    transport = 'https'

    def test_cleanup_host_logs_off(self):
        self.assertEqual(1, self.server.active_sessions)
        self.driver.cleanup_host(base.HOST)
        self.assertEqual(0, self.server.active_sessions)

    def test_init_host_logs_on_first(self):
        # The logon's own checks come first: an untrusted certificate is
        # named as such, without any attempt to log on.
        other = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, other, True)
        paths = certs.write_cert_dir(other)
        logons = self.server.logons
        self.dpm_flags(hmc_ca_bundle=paths.ca_file)
        self.driver = driver.DPMDriver(virtapi=None)
        self.assertRaises(exception.HMCCertificateUntrusted,
                          self.driver.init_host, base.HOST)
        self.assertEqual(logons, self.server.logons)


class ConnectorTest(base.DriverTestCase):
    """The volume connector: what is created, read and remembered."""

    definitions = base.PER_DEFINITION

    def hmc_wwpns(self, instance):
        return LifecycleTest.hmc_wwpns(self, self.faked_partition(instance))

    def test_connector_shape_and_record(self):
        instance = self.instance()
        connector = self.driver.get_volume_connector(instance)
        self.assertIs(False, connector['do_local_attach'])
        self.assertEqual(','.join(connector['wwpns']),
                         instance.system_metadata[storage.WWPN_METADATA])
        self.assertEqual(sorted(self.hmc_wwpns(instance)),
                         sorted(connector['wwpns']))

    def test_one_storage_path_is_no_multipath(self):
        self.dpm_flags(physical_storage_adapter_mappings=[
            '%s:0' % base.FCP_A])
        self.start()
        connector = self.driver.get_volume_connector(self.instance())
        self.assertEqual(1, len(connector['wwpns']))
        self.assertIs(False, connector['multipath'])

    def test_wwpns_from_the_instance_record_after_a_restart(self):
        instance, connector = self.build()
        # A new nova-compute knows only Nova's record of the instance.
        self.driver.storage._recorded.clear()
        self.sim.reset_counts()
        self.assertEqual(connector['wwpns'], self.driver.get_volume_connector(
            instance)['wwpns'])
        self.assertEqual(0, self.sim.count())

    def test_wwpns_read_from_the_hmc_when_not_recorded(self):
        instance, connector = self.build()
        self.driver.storage._recorded.clear()
        instance.system_metadata.pop(storage.WWPN_METADATA)
        self.sim.reset_counts()
        wwpns = self.driver.get_volume_connector(instance)['wwpns']
        self.assertEqual(sorted(connector['wwpns']), sorted(wwpns))
        self.assertEqual(0, self.sim.count('POST', '/api/cpcs/{id}/*'))
        self.assertEqual(','.join(wwpns),
                         instance.system_metadata[storage.WWPN_METADATA])

    def test_gone_partition_with_unknown_wwpns(self):
        instance = self.instance(task_state=None, vm_state=vm_states.ACTIVE)
        connector = self.driver.get_volume_connector(instance)
        self.assertEqual([], connector['wwpns'])
        self.assertIs(False, connector['multipath'])
        self.assertEqual(0, self.sim.count('POST'))
        self.assertIsNone(self.faked_partition(instance))
        self.assertNotIn(storage.WWPN_METADATA, instance.system_metadata)

    def test_offloaded_instance_outside_a_spawn_gets_no_partition(self):
        instance, connector = self.build()
        self.driver.destroy(self.context, instance, None)
        self.sim.reset_counts()
        instance.vm_state = vm_states.SHELVED_OFFLOADED
        instance.task_state = None
        self.assertEqual(connector['wwpns'], self.driver.get_volume_connector(
            instance)['wwpns'])
        # An active instance in SPAWNING (not offloaded) neither.
        other = self.instance(vm_state=vm_states.ACTIVE,
                              task_state=task_states.SPAWNING)
        self.assertEqual([], self.driver.get_volume_connector(other)[
            'wwpns'])
        self.assertEqual(0, self.sim.count('POST'))
        self.assertIsNone(self.faked_partition(instance))
        self.assertIsNone(self.faked_partition(other))

    def test_leftover_partition_is_replaced(self):
        # An interrupted build left the partition behind; this service did
        # not list it since.
        instance = self.instance()
        name = self.driver.partitions.naming.name(instance.uuid)
        other = zhmcclient.Client(self.session)
        cpc = other.cpcs.find(**{'object-id': base.CPC_ID})
        old = cpc.partitions.create({
            'name': name, 'ifl-processors': 1, 'initial-memory': 1024,
            'maximum-memory': 1024}).uri
        self.sim.reset_counts()
        connector = self.driver.get_volume_connector(instance)
        part = self.faked_partition(instance)
        self.assertNotEqual(old, part.uri)
        self.assertIsNone(self.sim.lookup(old))
        self.assertEqual(2, self.sim.count('POST',
                                           '/api/cpcs/{id}/partitions'))
        self.assertEqual(sorted(connector['wwpns']),
                         sorted(self.hmc_wwpns(instance)))

    def test_failed_create_keeps_no_admission(self):
        self.dpm_flags(max_instances=1)
        self.start()
        instance = self.instance()
        self.sim.inject_fault('http500', 'POST', '/api/cpcs/{id}/partitions')
        self.assertRaises(exception.HMCOperationFailed,
                          self.driver.get_volume_connector, instance)
        self.assertIsNone(self.faked_partition(instance))
        # The place is free again for the next build.
        self.build()

    def test_create_beyond_max_instances_is_refused(self):
        self.dpm_flags(max_instances=1)
        self.start()
        self.build()
        self.sim.reset_counts()
        instance = self.instance()
        exc = self.assertRaises(nova_exception.InstanceUnacceptable,
                                self.driver.get_volume_connector, instance)
        self.assertIn('max_instances', exc.format_message())
        self.assertEqual(0, self.sim.count('POST'))

    def test_failed_storage_paths_delete_the_partition(self):
        pattern = ('/api/partitions/{id}/hbas' if self.definition == 'z13'
                   else '/api/storage-groups')
        self.sim.inject_fault('http500', 'POST', pattern)
        instance = self.instance()
        self.assertRaises(exception.HMCOperationFailed,
                          self.driver.get_volume_connector, instance)
        self.assertIsNone(self.faked_partition(instance))
        self.assertEqual(1, self.sim.count('DELETE', '/api/partitions/{id}'))


class SpawnTest(base.DriverTestCase):
    """Spawn's outcomes and what each leaves on the HMC."""

    definition = 'z16'

    def test_failed_spawn_cleanup_releases_the_admission(self):
        self.dpm_flags(max_instances=1)
        self.start()
        first = self.instance()
        self.driver.prepare_for_spawn(first)
        self.driver.failed_spawn_cleanup(first)
        self.assertEqual(0, self.sim.count('POST'))
        self.build()

    def test_failed_spawn_cleanup_deletes_the_partition(self):
        instance = self.instance()
        self.driver.prepare_for_spawn(instance)
        self.driver.get_volume_connector(instance)
        self.assertIsNotNone(self.faked_partition(instance))
        self.driver.failed_spawn_cleanup(instance)
        self.assertIsNone(self.faked_partition(instance))
        self.assertEqual([], self.sim.storage_groups())

    def test_boot_volume_size(self):
        instance, _c = self.build(size=7)
        volumes = [v.properties for g in self.sim.storage_groups()
                   for v in g.storage_volumes.list()]
        self.assertEqual([('boot', 7.0)],
                         [(v['usage'], v['size']) for v in volumes])

    def test_spawn_without_a_connector_creates_the_partition(self):
        # The simulated HMC hands out WWPNs in order: the first partition
        # gets the first two.
        instance = self.instance(task_state=task_states.SPAWNING)
        wwpns = ['c05076ffe6800001', 'c05076ffe6800002']
        self.driver.spawn(self.context, instance, None, [], None, {}, [],
                          self.block_device_info(self.cinder_map(
                              self.fc_connection(wwpns))))
        part = self.faked_partition(instance)
        self.assertEqual('active', part.properties['status'])
        self.assertEqual(','.join(wwpns),
                         instance.system_metadata[storage.WWPN_METADATA])
        self.assertEqual(1, self.sim.count('POST',
                                           '/api/cpcs/{id}/partitions'))

    def test_unusable_port_at_spawn_aborts_before_the_hmc(self):
        instance = self.instance(task_state=task_states.SPAWNING)
        bdi = self.block_device_info(self.fc_connection(['c05076ffe6800001']))
        exc = self.assertRaises(
            nova_exception.BuildAbortException, self.driver.spawn,
            self.context, instance, None, [], None, {},
            [self.vif('p1', 'fa:16:3e:00:00:01', vif_type='ovs')], bdi)
        self.assertIn("'ovs'", exc.format_message())
        self.assertEqual(0, self.sim.count())

    def test_cpc_short_of_resources_reschedules(self):
        def short(data):
            self.cpc_definition(data)['properties'][
                'storage-customer'] = 16384 + 65536 + 2048
        self.edit_definition(short)
        self.start()
        instance = self.instance(memory_mb=4096)
        exc = self.assertRaises(nova_exception.ComputeResourcesUnavailable,
                                self.build, instance)
        self.assertIn('4096 MiB', exc.format_message())
        self.assertIsNone(self.faked_partition(instance))
        self.assertEqual([], self.sim.storage_groups())


class HbaPathsTest(base.DriverTestCase):
    """On HBAs (z13): the boot path's target, failures, what they leave."""

    definition = 'z13'

    def test_boot_target_is_one_of_the_boot_path(self):
        # Zoned apart: each path reaches its own target.
        instance = self.instance()
        self.driver.prepare_for_spawn(instance)
        first, second = self.driver.get_volume_connector(instance)['wwpns']
        info = self.fc_connection([first, second])
        info['data']['initiator_target_map'] = {first: [base.TARGETS[1]],
                                                second: [base.TARGETS[0]]}
        instance.task_state = task_states.SPAWNING
        self.driver.spawn(self.context, instance, None, [], None, {}, [],
                          self.block_device_info(self.cinder_map(info)))
        props = self.faked_partition(instance).properties
        self.assertEqual(base.TARGETS[1], props['boot-world-wide-port-name'])
        self.assertEqual('active', props['status'])

    def test_spawn_error_is_not_hidden(self):
        instance = self.instance()
        self.sim.inject_fault('http500', 'POST', '/api/partitions/{id}/nics')
        self.sim.inject_fault('http500', 'DELETE', '/api/partitions/{id}')
        exc = self.assertRaises(exception.HMCOperationFailed, self.build,
                                instance)
        self.assertIn('create NIC', exc.format_message())
        self.assertIsNotNone(self.faked_partition(instance))
        self.assertIn('Removing the partition after the failed spawn '
                      'failed too', self.logger.output)

    def test_destroy_goes_on_without_the_wwpns(self):
        instance, _c = self.build(power_on=False)
        instance.power_state = power_state.SHUTDOWN
        self.driver.storage._recorded.clear()
        instance.system_metadata.pop(storage.WWPN_METADATA)
        self.driver.storage._paths.clear()
        self.sim.inject_fault('http500', 'GET', '/api/partitions/{id}')
        self.driver.destroy(self.context, instance, None)
        self.assertIsNone(self.faked_partition(instance))
        self.assertIn('Could not read the WWPNs', self.logger.output)

    def test_failed_rebuild_forgets_the_old_wwpns(self):
        instance, connector = self.build()
        instance.task_state = task_states.REBUILDING
        self.driver.destroy(self.context, instance, None)
        # The new partition gets its first storage path, not the second.
        self.sim.inject_fault('http500', 'POST', '/api/partitions/{id}/hbas',
                              nth=2)
        instance.task_state = task_states.REBUILD_BLOCK_DEVICE_MAPPING
        self.assertRaises(exception.HMCOperationFailed,
                          self.driver.get_volume_connector, instance)
        self.assertIsNone(self.faked_partition(instance))
        # What is recorded now is the WWPN of the partition just deleted.
        instance.task_state = None
        wwpns = self.driver.get_volume_connector(instance)['wwpns']
        self.assertEqual(1, len(wwpns))
        self.assertNotIn(wwpns[0], connector['wwpns'])


class VifPluggingTest(base.DriverTestCase):
    """network-vif-plugged: which ports are waited for, and the outcomes."""

    definition = 'z16'

    def vifs(self, active=False):
        vifs = self.two_vifs()
        for vif in vifs:
            vif['active'] = active
        return vifs

    def test_ports_down_are_waited_for_with_their_nics_on_the_hmc(self):
        self.flags(vif_plugging_timeout=42)
        instance, _c = self.build(network_info=self.vifs())
        (names, timeout, seen), = self.virtapi.calls
        self.assertEqual([('network-vif-plugged', 'port-a'),
                          ('network-vif-plugged', 'port-b')], names)
        self.assertEqual(42, timeout)
        self.assertEqual({'OpenStack_Port_port-a', 'OpenStack_Port_port-b'},
                         seen)
        self.assertEqual('active',
                         self.faked_partition(instance).properties['status'])

    def test_no_wait_for_active_ports_stopped_builds_or_timeout_0(self):
        self.build(network_info=self.vifs(active=True))
        self.build(network_info=self.vifs(), power_on=False)
        self.flags(vif_plugging_timeout=0)
        self.build(network_info=self.vifs())
        self.assertEqual([], self.virtapi.calls)

    def test_timeout_fails_the_build_when_fatal(self):
        self.virtapi.outcome = 'timeout'
        instance = self.instance()
        self.assertRaises(nova_exception.VirtualInterfaceCreateException,
                          self.build, instance, network_info=self.vifs())
        self.assertIsNone(self.faked_partition(instance))

    def test_timeout_starts_the_partition_when_not_fatal(self):
        self.flags(vif_plugging_is_fatal=False)
        self.virtapi.outcome = 'timeout'
        instance, _c = self.build(network_info=self.vifs())
        self.assertEqual('active',
                         self.faked_partition(instance).properties['status'])

    def test_failed_event(self):
        self.virtapi.outcome = 'failed'
        instance = self.instance()
        self.assertRaises(nova_exception.VirtualInterfaceCreateException,
                          self.build, instance, network_info=self.vifs())
        self.assertIsNone(self.faked_partition(instance))
        self.flags(vif_plugging_is_fatal=False)
        instance, _c = self.build(network_info=self.vifs())
        self.assertEqual('active',
                         self.faked_partition(instance).properties['status'])


class RemoveTest(base.DriverTestCase):
    """destroy: the order of the requests and the fallbacks."""

    definitions = base.PER_DEFINITION

    def deletes(self):
        return self.sim.count('DELETE', '/api/partitions/{id}')

    def test_running_instance_is_stopped_first(self):
        instance, _c = self.build()
        self.sim.reset_counts()
        self.driver.destroy(self.context, instance, None)
        self.assertEqual((1, 1), (self.sim.count(
            'POST', '/api/partitions/{id}/operations/stop'), self.deletes()))
        self.assertIsNone(self.faked_partition(instance))

    def test_instance_nova_believes_stopped_is_deleted_first(self):
        instance, _c = self.build(power_on=False)
        instance.power_state = power_state.SHUTDOWN
        self.sim.reset_counts()
        self.driver.destroy(self.context, instance, None)
        self.assertEqual((0, 1), (self.sim.count(
            'POST', '/api/partitions/{id}/operations/stop'), self.deletes()))
        self.assertIsNone(self.faked_partition(instance))

    def test_wwpns_are_read_before_the_delete(self):
        instance, connector = self.build()
        self.driver.storage._recorded.clear()
        instance.system_metadata.pop(storage.WWPN_METADATA)
        self.driver.destroy(self.context, instance, None)
        self.assertIsNone(self.faked_partition(instance))
        instance.task_state = None
        self.sim.reset_counts()
        self.assertEqual(connector['wwpns'], self.driver.get_volume_connector(
            instance)['wwpns'])
        self.assertEqual(0, self.sim.count())

    def test_refused_delete(self):
        instance, _c = self.build(power_on=False)
        instance.power_state = power_state.SHUTDOWN
        self.sim.inject_fault('http500', 'DELETE', '/api/partitions/{id}')
        if self.definition == 'z13':
            # Nothing to detach: the refusal stands.
            self.assertRaises(exception.HMCOperationFailed,
                              self.driver.destroy, self.context, instance,
                              None)
            self.assertIsNotNone(self.faked_partition(instance))
            return
        # The storage group is detached and the delete tried again.
        self.driver.destroy(self.context, instance, None)
        self.assertIsNone(self.faked_partition(instance))
        self.assertEqual(1, self.sim.count(
            'POST', '/api/partitions/{id}/operations/detach-storage-group'))
        self.assertEqual([], self.sim.storage_groups())


class PowerTest(base.DriverTestCase):
    """Hard and graceful stops, reboot types, crash dump, console log."""

    definition = 'z16'

    def shutdowns(self):
        return self.sim.count('POST',
                              '/api/partitions/{id}/operations/send-os-cmd')

    def stops(self):
        return self.sim.count('POST', '/api/partitions/{id}/operations/stop')

    def test_power_off_with_and_without_timeout(self):
        instance, _c = self.build()
        self.sim.reset_counts()
        self.driver.power_off(instance)
        self.assertEqual((0, 1), (self.shutdowns(), self.stops()))
        self.driver.power_on(self.context, instance, None)
        self.sim.reset_counts()
        self.driver.power_off(instance, timeout=1)
        self.assertEqual(1, self.shutdowns())
        part = self.faked_partition(instance)
        self.assertEqual('stopped', part.properties['status'])
        # A negative timeout is no timeout.
        self.driver.power_on(self.context, instance, None)
        self.sim.reset_counts()
        self.driver.power_off(instance, timeout=-1)
        self.assertEqual((0, 1), (self.shutdowns(), self.stops()))

    def test_reboot_types(self):
        self.flags(shutdown_timeout=10)
        instance, _c = self.build()
        part = self.faked_partition(instance)
        self.sim.reset_counts()
        self.driver.reboot(self.context, instance, None, 'HARD')
        self.assertEqual((0, 1), (self.shutdowns(), self.stops()))
        self.assertEqual('active', part.properties['status'])
        self.sim.reset_counts()
        self.driver.reboot(self.context, instance, None, 'SOFT')
        self.assertEqual(1, self.shutdowns())
        self.assertEqual(1, self.sim.count(
            'POST', '/api/partitions/{id}/operations/start'))
        self.assertEqual('active', part.properties['status'])

    def test_power_of_an_unknown_instance(self):
        instance = self.instance()
        for call in (lambda: self.driver.power_off(instance),
                     lambda: self.driver.power_on(self.context, instance,
                                                  None),
                     lambda: self.driver.reboot(self.context, instance, None,
                                                'HARD'),
                     lambda: self.driver.trigger_crash_dump(instance),
                     lambda: self.driver.get_console_output(self.context,
                                                            instance)):
            self.assertRaises(nova_exception.InstanceNotFound, call)
        self.assertEqual(0, self.sim.count('POST'))

    def test_crash_dump(self):
        instance, _c = self.build()
        self.sim.reset_counts()
        self.driver.trigger_crash_dump(instance)
        self.assertEqual(1, self.sim.count(
            'POST', '/api/partitions/{id}/operations/psw-restart'))
        self.assertEqual({}, self.sim.jobs)

    def test_get_info_names_the_partition(self):
        instance, _c = self.build()
        part = self.faked_partition(instance)
        self.assertEqual(part.uri, self.driver.get_info(instance).internal_id)
        self.assertEqual(part.uri,
                         self.driver.get_info(instance, False).internal_id)

    def test_detach_after_the_partition_is_gone(self):
        instance, connector = self.build()
        info = self.attach_data_volume(instance, connector)
        self.driver.destroy(self.context, instance, None)
        self.sim.reset_counts()
        self.driver.detach_volume(self.context, info, instance, '/dev/sdb')
        self.assertEqual(0, self.sim.count('POST'))


class ConsoleOutputTest(base.DriverTestCase):

    definition = 'z16'

    def test_console_log(self):
        instance, _c = self.build()
        part = self.faked_partition(instance)
        self.sim.add_os_message(part.uri, 'hello from the guest')
        out = self.driver.get_console_output(self.context, instance)
        self.assertIsInstance(out, bytes)
        self.assertTrue(out.endswith(b'hello from the guest\n'))
        self.sim.add_os_message(part.uri, 'x' * 200 * 1024)
        out = self.driver.get_console_output(self.context, instance)
        self.assertEqual(100 * 1024, len(out))

    def test_api_version_before_2_20(self):
        instance, _c = self.build()
        cpc = self.driver.subset.cpc
        self.driver.hmc.adopt(capabilities.Capabilities.of_cpc((2, 20), cpc))
        self.driver.get_console_output(self.context, instance)
        self.driver.hmc.adopt(capabilities.Capabilities.of_cpc((2, 19), cpc))
        self.sim.reset_counts()
        exc = self.assertRaises(NotImplementedError,
                                self.driver.get_console_output, self.context,
                                instance)
        self.assertIn('Web Services API 2.20 or later', str(exc))
        self.assertIn('this HMC has 2.19', str(exc))
        self.assertEqual(0, self.sim.count(
            'GET', '/api/partitions/{id}/operations/list-os-messages'))

    def test_se_2_14_0_has_it(self):
        instance, _c = self.build()
        self.faked_cpc.properties['se-version'] = '2.14.0'
        self.driver.subset.cpc.update_properties_local(
            {'se-version': '2.14.0'})
        self.driver.hmc.adopt_cpc(self.driver.subset.cpc)
        self.sim.reset_counts()
        self.driver.get_console_output(self.context, instance)
        self.assertEqual(1, self.sim.count(
            'GET', '/api/partitions/{id}/operations/list-os-messages'))

    def test_hmc_error_is_console_not_available(self):
        instance, _c = self.build()
        self.sim.inject_fault(
            'http500', 'GET', '/api/partitions/{id}/operations/'
            'list-os-messages')
        self.assertRaises(nova_exception.ConsoleNotAvailable,
                          self.driver.get_console_output, self.context,
                          instance)


class OldSeConsoleTest(base.DriverTestCase):

    definition = 'z13'

    def test_no_console_log_before_se_2_14_0(self):
        instance, _c = self.build()
        self.sim.reset_counts()
        exc = self.assertRaises(NotImplementedError,
                                self.driver.get_console_output, self.context,
                                instance)
        self.assertIn('needs SE 2.14.0 or later', str(exc))
        self.assertIn('this CPC has 2.13.1', str(exc))
        self.assertEqual(0, self.sim.count(
            'GET', '/api/partitions/{id}/operations/list-os-messages'))


class DriverInterfaceTest(testtools.TestCase):

    def test_methods_have_nova_signatures(self):
        checked = 0
        for name, member in inspect.getmembers(driver.DPMDriver,
                                               inspect.isfunction):
            base = getattr(nova_driver.ComputeDriver, name, None)
            if name.startswith('_') or base is None:
                continue
            self.assertEqual(inspect.signature(base),
                             inspect.signature(member), name)
            checked += 1
        self.assertGreater(checked, 20)

    def test_required_methods_are_implemented(self):
        for name in ('init_host', 'list_instance_uuids', 'list_instances',
                     'get_info', 'spawn', 'destroy', 'cleanup', 'reboot',
                     'power_off', 'power_on', 'get_available_resource',
                     'update_provider_tree', 'get_volume_connector',
                     'attach_volume', 'detach_volume', 'get_available_nodes',
                     'instance_exists', 'prepare_for_spawn'):
            self.assertIsNot(getattr(nova_driver.ComputeDriver, name),
                             getattr(driver.DPMDriver, name), name)

    def test_capabilities(self):
        caps = driver.DPMDriver.capabilities
        self.assertEqual(set(nova_driver.ComputeDriver.capabilities),
                         set(caps))
        for name, value in caps.items():
            if name.startswith('supports_image_type_'):
                self.assertFalse(value, name)
        # Nova offers none of these for a partition.
        for name in ('has_imagecache',
                     'supports_attach_interface', 'supports_device_tagging',
                     'supports_multiattach', 'supports_trusted_certs'):
            self.assertIs(False, caps[name], name)
        # Volume-backed moves (migration.py, tests/functional/
        # test_migrations.py): evacuation, and a cold migration that may
        # stay on the CPC subset.
        for name in ('supports_evacuate', 'supports_migrate_to_same_host'):
            self.assertIs(True, caps[name], name)

    def test_nova_loads_both_spellings(self):
        import nova.virt
        shim = os.path.join(os.path.dirname(__file__), '..', '..', '..',
                            'nova', 'virt')
        shim = os.path.abspath(shim)
        if shim not in nova.virt.__path__ and os.path.isdir(shim):
            # Running from a source tree without the wheel installed.
            nova.virt.__path__.append(shim)
        for spelling in ('dpm.DPMDriver', 'dpm.driver.DPMDriver'):
            loaded = nova_driver.load_compute_driver(None, spelling)
            self.assertIsInstance(loaded, driver.DPMDriver)


load_tests = base.load_tests
