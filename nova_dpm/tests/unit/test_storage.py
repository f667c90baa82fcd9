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

"""nova_dpm/storage: FCP LUNs, boot targets, storage groups, volumes.

The rules that need no HMC (LUN addressing, boot target selection,
connection info), and storage-group boot and volume sizes on an HMC that
validates paths (z16: the simulated SAN answers the HMC's discovery).
"""

import fixtures
from nova.compute import task_states
from nova import exception as nova_exception
from nova.virt import block_device
import testtools

from nova_dpm import capabilities
from nova_dpm import exception
from nova_dpm.simulator import catalog
from nova_dpm import storage
from nova_dpm.tests.unit import base


def fc_info(target_lun=1, targets=base.TARGETS,
            itmap=None, vtype='fibre_channel'):
    data = {'target_wwn': list(targets), 'target_lun': target_lun,
            'volume_id': 'vol-1', 'target_discovered': False}
    if itmap is not None:
        data['initiator_target_map'] = itmap
    return {'driver_volume_type': vtype, 'data': data, 'serial': 'vol-1'}


FCP_A_PORT, FCP_B_PORT = catalog.STORAGE_PORTS


class DiscoveryTestCase(base.DriverTestCase):

    definition = 'z16'
    fake_clock = True

    def groups(self):
        return self.session.hmc.consoles.console.storage_groups.list()

    def group_of(self, instance):
        name = self.driver.partitions.naming.name(instance.uuid)
        return next(g for g in self.groups() if g.properties['name'] == name)

    def volume(self, instance, name):
        return next(v for v in self.group_of(instance).storage_volumes.list()
                    if v.properties['name'] == name)

    def assert_nothing_left(self, instance):
        self.assertIsNone(self.faked_partition(instance))
        self.assertEqual([], [g.properties['name'] for g in self.groups()
                              if instance.uuid in g.properties['name']])

    def spawn_without_mapping(self, instance, size=10):
        """A build whose volume Cinder did not map (zoning, masking)."""
        self.driver.prepare_for_spawn(instance)
        connector = self.driver.get_volume_connector(instance)
        bdi = self.block_device_info(
            self.fc_connection(connector['wwpns']), size)
        instance.task_state = task_states.SPAWNING
        return connector, bdi

    def load_port_a(self):
        """A partition outside OpenStack with a validated path on FCP-A."""
        client = self.driver.hmc.client
        cpc = client.cpcs.find(name='CPC1')
        console = client.consoles.console
        sg = console.storage_groups.create({
            'cpc-uri': cpc.uri, 'name': 'LINUX01-SG', 'type': 'fcp',
            'shared': False, 'max-partitions': 1, 'connectivity': 1,
            'storage-volumes': [{'operation': 'create', 'name': 'root',
                                 'usage': 'data', 'size': 50.0}]})
        port = self.driver.subset.adapters[
            '/api/adapters/%s' % base.FCP_A].ports.resource_object(
                FCP_A_PORT)
        sg.add_candidate_adapter_ports([port])
        test_lpar = cpc.partitions.find(name='TEST-LPAR')
        test_lpar.attach_storage_group(sg)
        vsr = sg.virtual_storage_resources.list(full_properties=True)[0]
        self.sim.map_volume([vsr.get_property('world-wide-port-name')],
                            [base.TARGETS[0]], '0009000000000000', 50)
        sg.discover_fcp()
        self.sim.reset_counts()


class StorageRulesTest(testtools.TestCase):

    def test_fcp_lun_follows_os_brick(self):
        self.assertEqual('0000000000000000', storage.fcp_lun(0))
        self.assertEqual('0001000000000000', storage.fcp_lun(1))
        self.assertEqual('4001000000000000', storage.fcp_lun(0x4001))
        self.assertEqual('0001234500000000', storage.fcp_lun(0x12345))
        self.assertEqual('ffffffff00000000', storage.fcp_lun(0xffffffff))

    def test_fcp_lun_refuses_what_it_cannot_address(self):
        for bad in (-1, '1', 1.0, True, None):
            exc = self.assertRaises(ValueError, storage.fcp_lun, bad)
            self.assertIn('is not a LUN: expected an integer >= 0',
                          str(exc))
        exc = self.assertRaises(ValueError, storage.fcp_lun, 2 ** 32)
        self.assertIn('target_lun 4294967296 is above 4294967295',
                      str(exc))

    def test_boot_target_skips_ignored_wwpns_per_initiator(self):
        fc = storage.parse_fc(fc_info(itmap={
            'C05076FFE680A590': ['500507680B214AC1', '500507680B224AC1'],
            'c05076ffe680a594': ['500507680b224ac1']}))
        self.assertEqual(('500507680b224ac1', '0001000000000000'),
                         storage.choose_boot_target(
                             fc, 'c05076ffe680a590', ['500507680b214ac1']))
        self.assertEqual(('500507680b214ac1', '0001000000000000'),
                         storage.choose_boot_target(
                             fc, 'c05076ffe680a590', []))

    def test_boot_target_without_map_uses_targets(self):
        fc = storage.parse_fc(fc_info(target_lun=2))
        self.assertEqual(('500507680b214ac1', '0002000000000000'),
                         storage.choose_boot_target(fc, 'c05076ffe680a590',
                                                    []))

    def test_boot_target_errors(self):
        fc = storage.parse_fc(fc_info(itmap={
            'c05076ffe680a594': ['500507680b224ac1']}))
        exc = self.assertRaises(exception.InvalidVolume,
                                storage.choose_boot_target, fc,
                                'c05076ffe680a590', [])
        self.assertIn('does not map the boot path', exc.format_message())
        exc = self.assertRaises(exception.InvalidVolume,
                                storage.choose_boot_target, fc,
                                'c05076ffe680a594', ['500507680b224ac1'])
        self.assertIn('target_wwpn_ignore_list', exc.format_message())

    def test_invalid_connection_info(self):
        cases = [
            (fc_info(vtype='iscsi'), "driver_volume_type is 'iscsi'"),
            (fc_info(targets=()), 'no usable target WWPNs'),
            (fc_info(target_lun=2 ** 40), 'above 4294967295'),
            (None, 'no connection info'),
            ({'driver_volume_type': 'fibre_channel',
              'data': {'target_wwn': ['a', 'b'], 'target_luns': [1, 2, 3]}},
             'no usable target WWPNs and LUNs'),
        ]
        for info, words in cases:
            exc = self.assertRaises(exception.InvalidVolume,
                                    storage.parse_fc, info)
            self.assertIn(words, exc.format_message())

    def test_data_volume_must_map_the_partition(self):
        fc = storage.parse_fc(fc_info(itmap={
            'c05076ffe680a594': ['500507680b224ac1']}))
        storage.check_maps_partition(fc, ['c05076ffe680a594'])
        exc = self.assertRaises(exception.InvalidVolume,
                                storage.check_maps_partition, fc,
                                ['c05076ffe680a590'])
        self.assertIn("none of the partition's WWPNs", exc.format_message())


class BootDiscoveryTest(DiscoveryTestCase):

    def test_boot_through_the_port_discovery_assigned(self):
        # FCP-A carries another partition's path, so DPM puts the new
        # group's first path on FCP-B. The old driver fulfilled the boot
        # volume through the first configured port (FCP-A) without
        # starting discovery, and the start ended paused.
        self.load_port_a()
        instance, connector = self.build()
        part = self.faked_partition(instance)
        self.assertEqual('active', part.properties['status'])
        group = self.group_of(instance)
        vsrs = {v.properties['world-wide-port-name']: v.properties
                for v in group.virtual_storage_resources.list()}
        boot_vsr = vsrs[connector['wwpns'][0]]
        self.assertEqual('validated',
                         boot_vsr['world-wide-port-name-info']['status'])
        self.assertEqual(FCP_B_PORT, boot_vsr['adapter-port-uri'])
        volume = self.sim.lookup(part.properties['boot-storage-volume'])
        self.assertEqual('complete', volume.properties['fulfillment-state'])
        self.assertEqual(FCP_B_PORT,
                         self.sim.volume_targets[volume.uri][
                             'adapter-port-uri'])
        self.assertEqual(1, self.sim.count(
            'POST', '/api/storage-groups/{id}/operations/'
            'start-fcp-storage-discovery'))
        # The connector's order is kept: the boot path stays first.
        self.assertEqual(connector,
                         self.driver.get_volume_connector(instance))

    def test_boot_volume_defined_with_the_group_before_discovery(self):
        # IBM (Attach Storage Group to Partition): a path is validated
        # through the defined volumes. The old driver waited for the
        # path before it defined any volume, which an HMC may never
        # validate, and defined it with a Modify of its own.
        instance = self.instance()
        self.driver.prepare_for_spawn(instance)
        self.boot_bdm(instance, 25)
        connector = self.driver.get_volume_connector(instance)
        group = self.group_of(instance)
        (volume,) = group.storage_volumes.list()
        self.assertEqual(
            ('vol-boot', 'boot', 25.0, 'pending'),
            tuple(volume.properties[k] for k in (
                'name', 'usage', 'size', 'fulfillment-state')))
        self.assertEqual(1, self.sim.count('POST', '/api/storage-groups'))
        self.sim.reset_counts()
        info = self.cinder_map(self.fc_connection(connector['wwpns']), 25)
        instance.task_state = task_states.SPAWNING
        self.driver.spawn(self.context, instance, None, [], None, {},
                          self.two_vifs(), self.block_device_info(info, 25))
        part = self.faked_partition(instance)
        self.assertEqual('active', part.properties['status'])
        self.assertEqual(volume.uri, part.properties['boot-storage-volume'])
        self.assertEqual(0, self.sim.count(
            'POST', '/api/storage-groups/{id}/operations/modify'))
        # Discovery, then Fulfill.
        posts = [p for m, p in self.sim.requests if m == 'POST' and
                 p.startswith('/api/storage-groups/')]
        self.assertEqual([
            '/api/storage-groups/{id}/operations/'
            'start-fcp-storage-discovery',
            '/api/storage-groups/{id}/storage-volumes/{id}/operations/'
            'fulfill-fcp-storage-volume'], posts)

    def test_boot_volume_of_unknown_size_is_defined_at_spawn(self):
        self.check_defined_at_spawn(None)

    def test_boot_volume_not_created_yet_is_defined_at_spawn(self):
        # Nova creates the volume from an image after asking for the
        # connector: its BDM has a size but no volume id yet.
        self.check_defined_at_spawn(10)

    def check_defined_at_spawn(self, size):
        # No root BDM readable when the connector is asked for (size
        # None), or one without a volume id.
        instance = self.instance()
        self.driver.prepare_for_spawn(instance)
        if size:
            self.boot_bdm(instance, size).volume_id = None
        connector = self.driver.get_volume_connector(instance)
        self.assertEqual([], self.group_of(instance).storage_volumes.list())
        info = self.cinder_map(self.fc_connection(connector['wwpns']))
        instance.task_state = task_states.SPAWNING
        self.driver.spawn(self.context, instance, None, [], None, {},
                          self.two_vifs(), self.block_device_info(info, 10))
        part = self.faked_partition(instance)
        self.assertEqual('active', part.properties['status'])
        volume = self.sim.lookup(part.properties['boot-storage-volume'])
        self.assertEqual(('vol-boot', 'boot', 10.0), tuple(
            volume.properties[k] for k in ('name', 'usage', 'size')))

    def test_discovery_takes_its_time(self):
        self.sim.transition_time = 0.3
        instance, _c = self.build()
        self.assertEqual('active',
                         self.faked_partition(instance).properties['status'])
        # The discovery job was polled, then deleted.
        self.assertEqual({}, {j: job for j, job in self.sim.jobs.items()
                              if job['op-uri'].endswith('discovery')})

    def test_nothing_found_fails_the_build_naming_the_path(self):
        instance = self.instance()
        connector, bdi = self.spawn_without_mapping(instance)
        exc = self.assertRaises(
            nova_exception.BuildAbortException, self.driver.spawn,
            self.context, instance, None, [], None, {}, self.two_vifs(), bdi)
        message = exc.format_message()
        self.assertIn('initiator WWPN %s' % connector['wwpns'][0], message)
        self.assertIn('target WWPN %s' % base.TARGETS[0], message)
        self.assertIn('LUN 0001000000000000', message)
        self.assertIn('zoning', message)
        self.assertIn('LUN masking', message)
        # What the HMC's Get Connection Report says (issue 22).
        self.assertIn("connection report lists no storage subsystem",
                      message)
        self.assert_nothing_left(instance)
        self.assertEqual({}, self.sim.jobs)

    def test_nothing_found_names_the_connection_report(self):
        # The SAN shows the initiators another LUN of the target: the
        # report names the subsystem and the incorrect volumes.
        instance = self.instance()
        self.boot_bdm(instance)
        connector, bdi = self.spawn_without_mapping(instance)
        self.sim.map_volume(connector['wwpns'], [base.TARGETS[0]],
                            '0009000000000000', 10)
        exc = self.assertRaises(
            nova_exception.BuildAbortException, self.driver.spawn,
            self.context, instance, None, [], None, {}, self.two_vifs(), bdi)
        message = exc.format_message()
        self.assertIn('LUN 0001000000000000', message)
        self.assertIn('volumes-configuration-status', message)
        self.assertIn('%s: incorrect-volumes' % connector['wwpns'][0],
                      message)
        self.assertEqual(1, self.sim.count(
            'GET', '/api/storage-groups/{id}/operations/'
            'get-connection-report'))
        self.assert_nothing_left(instance)

    def test_discovery_within_the_operation_timeout(self):
        self.dpm_flags(hmc_operation_timeout=1)
        self.start()
        self.sim.transition_time = 30
        instance = self.instance()
        exc = self.assertRaises(exception.HMCTimeout, self.build, instance)
        self.assertIn('storage path', exc.format_message())
        self.driver.failed_spawn_cleanup(instance)
        self.assert_nothing_left(instance)


class RunningDiscoveryTest(DiscoveryTestCase):
    """A discovery still running when what it was started for is found."""

    start_driver = False

    def test_running_discovery_is_polled_then_deleted(self):
        # The HMC's periodic check validated the paths before the spawn's
        # own discovery ends: the boot volume is complete while that job
        # runs. The old driver left the job (its status stays until the
        # retention interval) and could start a second one.
        self.edit_definition(_hmc('4.10', '2.16.0', interval=0.05))
        self.start()
        instance = self.instance()
        self.driver.prepare_for_spawn(instance)
        connector = self.driver.get_volume_connector(instance)
        info = self.cinder_map(self.fc_connection(connector['wwpns']))
        self.clock.sleep(0.2)
        self.sim.transition_time = 0.3
        instance.task_state = task_states.SPAWNING
        self.driver.spawn(self.context, instance, None, [], None, {},
                          self.two_vifs(), self.block_device_info(info))
        self.assertEqual('active',
                         self.faked_partition(instance).properties['status'])
        self.assertEqual(1, self.sim.count(
            'POST', '/api/storage-groups/{id}/operations/'
            'start-fcp-storage-discovery'))
        self.assertEqual({}, self.sim.jobs)

    def test_running_discovery_that_fails_at_last_does_not_matter(self):
        # What the build waited for is found; the discovery still running
        # then fails: the build goes on, the failed job is deleted.
        self.edit_definition(_hmc('4.10', '2.16.0', interval=0.05))
        self.start()
        instance = self.instance()
        self.driver.prepare_for_spawn(instance)
        connector = self.driver.get_volume_connector(instance)
        info = self.cinder_map(self.fc_connection(connector['wwpns']))
        self.clock.sleep(0.2)
        self.sim.transition_time = 0.3
        self.on_poll(lambda: fail_running_discoveries(
            self.sim, 'Simulated discovery failure'),
            what='FCP storage discovery of %s' %
                 self.driver.partitions.naming.name(instance.uuid))
        instance.task_state = task_states.SPAWNING
        self.driver.spawn(self.context, instance, None, [], None, {},
                          self.two_vifs(), self.block_device_info(info))
        self.assertEqual('active',
                         self.faked_partition(instance).properties['status'])
        self.assertIn('Simulated discovery failure', self.logger.output)
        self.assertEqual({}, self.sim.jobs)


class BusyGroupTest(DiscoveryTestCase):
    """IBM: Accept Mismatched Storage Volumes: 409 while a group is busy."""

    def test_data_volume_waits_while_a_discovery_runs(self):
        # A discovery someone else started runs when the volume is
        # attached: Modify and Fulfill answer 409,2 until it ends. The
        # old driver failed the attach at the first 409.
        instance, connector = self.build()
        group = self.driver.storage._group(
            self.driver.partitions.get(instance.uuid))
        self.sim.transition_time = 0.3
        group.discover_fcp(wait_for_completion=False)
        self.sim.reset_counts()
        self.attach_data_volume(instance, connector)
        volume = self.volume(instance, 'vol-data')
        self.assertEqual('complete', volume.properties['fulfillment-state'])
        self.assertGreater(self.sim.count(
            'POST', '/api/storage-groups/{id}/operations/modify'), 1)

    def test_busy_beyond_the_deadline_times_out(self):
        self.dpm_flags(hmc_operation_timeout=1)
        self.start()
        instance, connector = self.build()
        group = self.driver.storage._group(
            self.driver.partitions.get(instance.uuid))
        self.sim.transition_time = 3600
        group.discover_fcp(wait_for_completion=False)
        exc = self.assertRaises(exception.HMCTimeout,
                                self.attach_data_volume, instance, connector)
        self.assertIn('define data volume', exc.format_message())
        self.assertIn('busy', exc.format_message())


class VolumeSizeTest(DiscoveryTestCase):
    """Item: sizes from Nova's DriverVolumeBlockDevice (volume_size)."""

    def test_driver_volume_block_device_has_no_size_key(self):
        bdm = self.block_device_info(self.fc_connection(['c05076ffe6800001']),
                                     size=25)['block_device_mapping'][0]
        self.assertIsInstance(bdm, block_device.DriverVolumeBlockDevice)
        self.assertIsNone(bdm.get('size'))
        self.assertEqual(25.0, storage.volume_size(bdm))
        self.assertIsNone(storage.volume_size({'size': 25}))

    def test_boot_volume_has_its_real_size(self):
        # The old driver defined every boot volume as 1 GiB: the HMC
        # flagged the mismatch and the partition did not start.
        instance, _c = self.build(size=25)
        part = self.faked_partition(instance)
        self.assertEqual('active', part.properties['status'])
        volume = self.sim.lookup(part.properties['boot-storage-volume'])
        self.assertEqual(25.0, volume.properties['size'])
        self.assertEqual('complete', volume.properties['fulfillment-state'])
        self.assertEqual(0, self.sim.count(
            'POST', '/api/storage-groups/{id}/operations/'
            'accept-mismatched-storage-volumes'))

    def test_larger_lun_is_used(self):
        # The storage system rounded the 25 GiB volume up. Fulfilled, the
        # volume is complete (zhmcclient indicate_fulfillment_fcp) and
        # shows the LUN's size; nothing to accept.
        instance = self.instance()
        self.driver.prepare_for_spawn(instance)
        self.boot_bdm(instance, 25)
        connector = self.driver.get_volume_connector(instance)
        info = self.fc_connection(connector['wwpns'])
        self.cinder_map(info, size=25.5)
        instance.task_state = task_states.SPAWNING
        self.driver.spawn(self.context, instance, None, [], None, {},
                          self.two_vifs(), self.block_device_info(info, 25))
        part = self.faked_partition(instance)
        self.assertEqual('active', part.properties['status'])
        volume = self.sim.lookup(part.properties['boot-storage-volume'])
        self.assertEqual('complete', volume.properties['fulfillment-state'])
        self.assertEqual(25.0, volume.properties['size'])
        self.assertEqual(25.5, volume.properties['active-size'])

    def test_smaller_lun_fails_the_build(self):
        instance = self.instance()
        self.driver.prepare_for_spawn(instance)
        connector = self.driver.get_volume_connector(instance)
        info = self.cinder_map(self.fc_connection(connector['wwpns']),
                               size=20)
        instance.task_state = task_states.SPAWNING
        exc = self.assertRaises(
            nova_exception.BuildAbortException, self.driver.spawn,
            self.context, instance, None, [], None, {}, self.two_vifs(),
            self.block_device_info(info, 25))
        self.assertIn('smaller than its 25.0 GiB', exc.format_message())
        self.assert_nothing_left(instance)

    def test_data_volume_has_its_real_size(self):
        # The old driver defined every data volume as 1.0 GiB.
        instance, connector = self.build()
        self.attach_data_volume(instance, connector, size=7)
        volume = self.volume(instance, 'vol-data')
        self.assertEqual(7.0, volume.properties['size'])
        self.assertEqual('complete', volume.properties['fulfillment-state'])
        self.assertEqual('0002000000000000',
                         volume.properties['paths'][0][
                             'logical-unit-number'])

    def test_data_volume_not_found_is_not_left_defined(self):
        instance, connector = self.build()
        info = self.fc_connection(connector['wwpns'], lun=3,
                                  volume_id='vol-lost')
        self.volume_bdms[('vol-lost', instance.uuid)] = self.bdm(
            info, 3, boot_index=None, instance_uuid=instance.uuid)
        exc = self.assertRaises(exception.InvalidVolume,
                                self.driver.attach_volume, self.context,
                                info, instance, '/dev/sdb')
        self.assertIn('LUN 0003000000000000', exc.format_message())
        self.assertEqual([], [v.properties['name'] for v in
                              self.group_of(instance).storage_volumes.list()
                              if v.properties['name'] == 'vol-lost'])

    def test_data_volume_without_bdm_is_accepted_in_any_size(self):
        instance, connector = self.build()
        info = self.cinder_map(
            self.fc_connection(connector['wwpns'], lun=4,
                               volume_id='vol-old'), size=3)
        self.driver.attach_volume(self.context, info, instance, '/dev/sdb')
        volume = self.volume(instance, 'vol-old')
        self.assertEqual(storage.PLACEHOLDER_SIZE,
                         volume.properties['size'])
        self.assertEqual('complete', volume.properties['fulfillment-state'])


def _hmc(api, se, interval=None):
    """Edit: another HMC API version and SE version (and SAN interval)."""
    def edit(data):
        data['hmc_definition']['api_version'] = api
        data['hmc_definition']['cpcs'][0]['properties']['se-version'] = se
        if interval is not None:
            data['simulated_san']['discovery_interval'] = interval
    return edit


class OlderHmcTest(DiscoveryTestCase):
    """Storage groups on older HMCs.

    Before 2.16 (no Submit Requests) and 2.14.1 (no Start FCP Storage
    Discovery).
    """

    start_driver = False

    def test_spawn_without_submit_requests(self):
        # HMC 2.15.0 (API 3.4): zhmcclient's list(full_properties=True)
        # of the VSRs used Submit Requests, which this HMC refuses.
        self.edit_definition(_hmc('3.4', '2.15.0'))
        self.start()
        instance, _c = self.build()
        self.assertEqual('active',
                         self.faked_partition(instance).properties['status'])
        self.assertEqual(0, self.sim.count(
            'POST', '/api/services/aggregation/submit'))

    def test_spawn_waits_for_the_periodic_discovery(self):
        # HMC 2.14.0 (API 2.25) and SE 2.14.0: no Start FCP Storage
        # Discovery; the HMC's periodic check finds the path and the LUN.
        self.edit_definition(_hmc('2.25', '2.14.0', interval=0.2))
        self.start()
        self.assertFalse(self.driver.storage.discovery)
        self.assertIn('cannot start FCP storage discovery',
                      self.logger.output)
        instance, _c = self.build()
        self.assertEqual('active',
                         self.faked_partition(instance).properties['status'])
        self.assertEqual(0, self.sim.count(
            'POST', '/api/storage-groups/{id}/operations/'
            'start-fcp-storage-discovery'))

    def test_se_before_2_14_1_waits_too(self):
        self.edit_definition(_hmc('2.37', '2.14.0', interval=0.2))
        self.start()
        self.assertFalse(self.driver.storage.discovery)
        instance, _c = self.build()
        self.assertEqual('active',
                         self.faked_partition(instance).properties['status'])

    def test_periodic_discovery_beyond_the_timeout(self):
        self.edit_definition(_hmc('2.25', '2.14.0'))
        self.dpm_flags(hmc_operation_timeout=1)
        self.start()
        instance = self.instance()
        exc = self.assertRaises(exception.HMCTimeout, self.build, instance)
        self.assertIn('storage path', exc.format_message())
        self.driver.failed_spawn_cleanup(instance)
        self.assert_nothing_left(instance)


class VolumeIdentityTest(DiscoveryTestCase):
    """A data volume is the LUN Cinder mapped, not one of the same size."""

    def test_data_volume_is_the_lun_cinder_mapped(self):
        instance, connector = self.build()
        # A LUN of the same size is still mapped (detached a moment ago,
        # or another volume Cinder maps at the same time).
        for wwpn in connector['wwpns']:
            self.sim.map_volume([wwpn], base.TARGETS, '0002000000000000', 5)
        self.attach_data_volume(instance, connector, lun=3, size=5,
                                volume_id='vol-new')
        volume = self.volume(instance, 'vol-new')
        self.assertEqual('complete', volume.properties['fulfillment-state'])
        self.assertEqual({'0003000000000000'},
                         {p['logical-unit-number']
                          for p in volume.properties['paths']})
        # Its detach removes that volume, and nothing else.
        self.driver.detach_volume(
            self.context, self.fc_connection(connector['wwpns'], lun=3,
                                             volume_id='vol-new'),
            instance, '/dev/sdb')
        self.assertEqual(['vol-boot'], [
            v.properties['name']
            for v in self.group_of(instance).storage_volumes.list()])


class IncompleteVolumeTest(DiscoveryTestCase):
    """A volume found on one path of two (fulfillment state incomplete)."""

    def test_boot_volume_on_one_path_boots_with_a_warning(self):
        instance = self.instance()
        self.driver.prepare_for_spawn(instance)
        self.boot_bdm(instance)
        connector = self.driver.get_volume_connector(instance)
        info = self.fc_connection(connector['wwpns'])
        # Cinder (or the zoning) lets only the first initiator see it.
        self.sim.map_volume([connector['wwpns'][0]], base.TARGETS,
                            '0001000000000000', 10)
        instance.task_state = task_states.SPAWNING
        self.driver.spawn(self.context, instance, None, [], None, {},
                          self.two_vifs(), self.block_device_info(info, 10))
        part = self.faked_partition(instance)
        self.assertEqual('active', part.properties['status'])
        volume = self.sim.lookup(part.properties['boot-storage-volume'])
        self.assertEqual(1, len(volume.properties['paths']))
        self.assertIn('on 1 of the 2 paths', self.logger.output)
        self.assertEqual({}, self.sim.jobs)

    def test_data_volume_on_one_path_is_used(self):
        instance, connector = self.build()
        self.sim.map_volume([connector['wwpns'][1]], base.TARGETS,
                            '0002000000000000', 5)
        info = self.fc_connection([connector['wwpns'][1]], lun=2,
                                  volume_id='vol-data')
        self.volume_bdms[('vol-data', instance.uuid)] = self.bdm(
            info, 5, boot_index=None, instance_uuid=instance.uuid)
        self.driver.attach_volume(self.context, info, instance, '/dev/sdb')
        volume = self.volume(instance, 'vol-data')
        self.assertEqual('complete', volume.properties['fulfillment-state'])
        self.assertEqual(1, len(volume.properties['paths']))
        self.assertIn('on 1 of the 2 paths', self.logger.output)


class CleanUpTest(DiscoveryTestCase):
    """A failed clean-up does not hide the error that caused it."""

    def test_data_volume_error_survives_a_failed_removal(self):
        instance, connector = self.build()
        info = self.fc_connection(connector['wwpns'], lun=3,
                                  volume_id='vol-lost')
        self.volume_bdms[('vol-lost', instance.uuid)] = self.bdm(
            info, 3, boot_index=None, instance_uuid=instance.uuid)
        # The second group modification from now: the first defines the
        # volume, the second removes it.
        self.sim.inject_fault('http500', 'POST',
                              '/api/storage-groups/{id}/operations/modify',
                              nth=2)
        exc = self.assertRaises(exception.InvalidVolume,
                                self.driver.attach_volume, self.context,
                                info, instance, '/dev/sdb')
        self.assertIn('LUN 0003000000000000', exc.format_message())
        self.assertIn('Could not remove data volume vol-lost',
                      self.logger.output)

    def test_attach_error_survives_a_failed_group_deletion(self):
        self.sim.inject_fault(
            'http500', 'POST',
            '/api/partitions/{id}/operations/attach-storage-group')
        self.sim.inject_fault(
            'busy', 'POST', '/api/storage-groups/{id}/operations/delete')
        instance = self.instance()
        self.driver.prepare_for_spawn(instance)
        exc = self.assertRaises(exception.HMCOperationFailed,
                                self.driver.get_volume_connector, instance)
        # The attachment's error (500), not the deletion's (409).
        self.assertIn('HTTP 500', exc.format_message())
        self.assertIn('Could not remove storage group', self.logger.output)


class StorageRulesMoreTest(testtools.TestCase):
    """Connection info, sizes and the discovery gate (no HMC)."""

    def test_volume_named_by_the_serial_without_a_volume_id(self):
        info = {'driver_volume_type': 'iscsi', 'serial': 'vol-9', 'data': {}}
        exc = self.assertRaises(exception.InvalidVolume, storage.parse_fc,
                                info)
        self.assertIn('vol-9', exc.format_message())
        exc = self.assertRaises(exception.InvalidVolume, storage.parse_fc,
                                {'driver_volume_type': 'iscsi'}, 'vol-8')
        self.assertIn('vol-8', exc.format_message())

    def test_encrypted_volume_is_refused(self):
        info = fc_info()
        info['data']['encrypted'] = True
        exc = self.assertRaises(exception.InvalidVolume, storage.parse_fc,
                                info)
        self.assertIn('it is encrypted', exc.format_message())
        self.assertIn('vol-1', exc.format_message())

    def test_fc_target_of_targets_with_their_own_luns(self):
        fc = storage.parse_fc({
            'driver_volume_type': 'fibre_channel', 'serial': 'vol-2',
            'data': {'target_wwns': list(base.TARGETS),
                     'target_luns': [3, 4]}})
        self.assertEqual('vol-2', fc.volume_id)
        self.assertEqual([(base.TARGETS[0], 3), (base.TARGETS[1], 4)],
                         fc.targets)
        self.assertEqual({3: '0003000000000000', 4: '0004000000000000'},
                         fc.fcp_lun)

    def test_root_volume_is_boot_index_0(self):
        data = {'block_device_mapping': [
            {'boot_index': 1, 'n': 'b'}, {'boot_index': None, 'n': 'c'},
            {'boot_index': 0, 'n': 'a'}]}
        self.assertEqual('a', storage.root_volume(data)['n'])
        self.assertIsNone(storage.root_volume(
            {'block_device_mapping': [{'boot_index': -1}]}))

    def test_placeholder_size_is_1_gib(self):
        self.assertEqual(1.0, storage.PLACEHOLDER_SIZE)

    def test_discovery_needs_api_2_37_and_se_2_14_1(self):
        def can(api, se):
            return capabilities.Capabilities(api, se).can(
                capabilities.FCP_DISCOVERY)

        self.assertTrue(can((2, 37), '2.14.1'))
        self.assertTrue(can([4, 10], '2.16.0'))
        self.assertTrue(can((3, 0), '2.15.0'))
        self.assertFalse(can((2, 36), '2.16.0'))
        self.assertFalse(can((1, 99), '2.16.0'))
        self.assertFalse(can((2, 37), '2.14.0'))
        self.assertFalse(can(None, '2.13.1'))
        self.assertFalse(can(None, '1.14.1'))
        # Unknown versions count as new enough.
        self.assertTrue(can(None, '2.16.0'))
        self.assertTrue(can(None, None))
        self.assertTrue(can((2, 37), 'unknown'))


class WireLog(object):
    """What the driver sent to the simulated HMC, as sent.

    Every top-level request with its body and wait_for_completion, and the
    requests a Submit Requests body carries (method, URI).
    """

    def __init__(self, sim):
        self.sent = []
        self.inner = []
        self._orig = sim.request
        sim.request = self._request

    def _request(self, method, uri, body=None, wait_for_completion=False,
                 **options):
        self.sent.append((method.upper(), uri, body, wait_for_completion))
        if uri == '/api/services/aggregation/submit':
            self.inner.extend((r['method'], r['uri'])
                              for r in body['requests'])
        return self._orig(method, uri, body=body,
                          wait_for_completion=wait_for_completion,
                          **options)

    def posts(self, suffix):
        return [(body, wait) for method, uri, body, wait in self.sent
                if method == 'POST' and uri.endswith(suffix)]


def fail_running_discoveries(sim, message):
    """Make the HMC end every FCP storage discovery job in progress failed.

    As a real HMC ends a discovery it could not run; the simulated HMC's
    own discoveries never fail while their group exists.
    """
    with sim.lock:
        for job in sim.jobs.values():
            if job['op-uri'].endswith('start-fcp-storage-discovery') and \
                    job['status'] == 'running':
                job.update({'status': 'complete', 'status-code': 500,
                            'reason-code': 0,
                            'results': {'message': message}})
        sim.discoveries.clear()


class DiscoveryJobTest(DiscoveryTestCase):
    """Discovery runs as an asynchronous job; its status is deleted."""

    def discovery_jobs(self):
        return [job for job in self.sim.jobs.values()
                if job['op-uri'].endswith('start-fcp-storage-discovery')]

    def test_discovery_is_started_as_an_asynchronous_job(self):
        self.sim.transition_time = 0.3
        wire = WireLog(self.sim)
        instance, _c = self.build()
        self.assertEqual('active',
                         self.faked_partition(instance).properties['status'])
        starts = wire.posts('/operations/start-fcp-storage-discovery')
        self.assertNotEqual([], starts)
        for body, wait in starts:
            # Not a blocking request; an existing discovery is joined,
            # not restarted.
            self.assertIs(False, wait)
            self.assertIs(False, body['force-restart'])
        # Its job was polled while the driver waited, then deleted.
        self.assertIn('GET', {m for m, u in wire.inner
                              if u.startswith('/api/jobs/')})
        self.assertIn('DELETE', {m for m, u in wire.inner +
                                 [(m, u) for m, u, _b, _w in wire.sent]
                                 if u.startswith('/api/jobs/')})
        self.assertEqual([], self.discovery_jobs())
        self.assertEqual({}, self.sim.jobs)

    def test_discovery_waits_no_longer_than_the_operation_timeout(self):
        self.dpm_flags(hmc_operation_timeout=2)
        self.start()
        self.sim.transition_time = 30
        instance = self.instance()
        began = self.clock.now
        exc = self.assertRaises(exception.HMCTimeout, self.build, instance)
        # The driver gave up after its own time limit, not once the
        # discovery ended: it did not block on the job.
        self.assertLess(self.clock.now - began, 10)
        self.assertIn('storage path', exc.format_message())
        self.assertIn('(last status: not-validated)', exc.format_message())

    def test_failed_discovery_fails_the_build_and_is_deleted(self):
        self.sim.transition_time = 5
        instance = self.instance()
        self.driver.prepare_for_spawn(instance)
        connector = self.driver.get_volume_connector(instance)
        info = self.cinder_map(self.fc_connection(connector['wwpns']))
        self.on_poll(lambda: fail_running_discoveries(
            self.sim, 'Simulated discovery failure'))
        instance.task_state = task_states.SPAWNING
        exc = self.assertRaises(
            exception.HMCOperationFailed, self.driver.spawn, self.context,
            instance, None, [], None, {}, self.two_vifs(),
            self.block_device_info(info))
        message = exc.format_message()
        self.assertIn('FCP storage discovery', message)
        self.assertIn('Simulated discovery failure', message)
        self.assertEqual(500, exc.kwargs['http_status'])
        self.assertEqual({}, self.sim.jobs)
        self.assert_nothing_left(instance)

    def test_data_volume_found_by_discovery(self):
        # The LUN shows on the SAN only after the volume was fulfilled:
        # the HMC finds it by the discovery nova-dpm starts then.
        instance, connector = self.build()
        self.sim.transition_time = 0.3
        info = self.fc_connection(connector['wwpns'], lun=2,
                                  volume_id='vol-data')
        self.volume_bdms[('vol-data', instance.uuid)] = self.bdm(
            info, 5, boot_index=None, instance_uuid=instance.uuid)
        self.sim.reset_counts()
        self.on_poll(lambda: self.cinder_map(info, 5))
        self.driver.attach_volume(self.context, info, instance, '/dev/sdb')
        volume = self.volume(instance, 'vol-data')
        # attach_volume returned once the HMC had found the volume.
        self.assertEqual('complete', volume.properties['fulfillment-state'])
        self.assertEqual(1, self.sim.count(
            'POST', '/api/storage-groups/{id}/operations/'
            'start-fcp-storage-discovery'))
        self.assertEqual({}, self.sim.jobs)

    def test_jobs_deleted_after_a_mismatch_is_refused(self):
        self.sim.transition_time = 0.3
        instance = self.instance()
        self.driver.prepare_for_spawn(instance)
        connector = self.driver.get_volume_connector(instance)
        info = self.cinder_map(self.fc_connection(connector['wwpns']),
                               size=20)
        instance.task_state = task_states.SPAWNING
        self.assertRaises(
            nova_exception.BuildAbortException, self.driver.spawn,
            self.context, instance, None, [], None, {}, self.two_vifs(),
            self.block_device_info(info, 25))
        self.assertEqual({}, self.sim.jobs)
        self.assert_nothing_left(instance)

    def test_data_volume_wait_names_the_fulfillment_state(self):
        instance, connector = self.build()
        self.driver.storage.settings.hmc_operation_timeout = 2
        # The discovery outlasts the attach's time limit, not the
        # clean-up's, which waits for the busy group.
        self.sim.transition_time = 3
        info = self.fc_connection(connector['wwpns'], lun=2,
                                  volume_id='vol-data')
        self.volume_bdms[('vol-data', instance.uuid)] = self.bdm(
            info, 5, boot_index=None, instance_uuid=instance.uuid)
        exc = self.assertRaises(exception.HMCTimeout,
                                self.driver.attach_volume, self.context,
                                info, instance, '/dev/sdb')
        self.assertIn('storage volume vol-data', exc.format_message())
        # Fulfilled at once (zhmcclient), but no discovery has shown it
        # on a path yet.
        self.assertIn('to reach complete on a path (last status: complete)',
                      exc.format_message())
        # The volume is not left defined.
        self.assertEqual(['vol-boot'], [
            v.properties['name']
            for v in self.group_of(instance).storage_volumes.list()])


class RegistryTest(base.DriverTestCase):
    """registry.BACKENDS: the first backend that applies serves a subset.

    A new backend is one module and one entry there; the entry here is
    a test's own, placed before the others.
    """

    definition = 'z16'
    start_driver = False

    def register(self, backend):
        self.useFixture(fixtures.MockPatchObject(
            storage.registry, 'BACKENDS',
            (backend,) + storage.registry.BACKENDS))
        self.start()

    def test_an_entry_that_applies_comes_first(self):
        class Claiming(storage.StorageGroupBackend):
            name = 'claiming'

            @classmethod
            def applies(cls, subset):
                return subset.host == base.HOST

        self.register(Claiming)
        self.assertIs(Claiming, type(self.driver.storage))

    def test_an_entry_that_does_not_apply_is_passed_over(self):
        class Declining(storage.HbaBackend):
            name = 'declining'

            @classmethod
            def applies(cls, subset):
                return False

        self.register(Declining)
        # z16 has dpm-storage-management: the storage-group backend.
        self.assertIs(storage.StorageGroupBackend,
                      type(self.driver.storage))
        self.assertEqual('fcp', self.driver.storage.group_type)


class HbaBackendTest(base.DriverTestCase):
    """Virtual HBAs (z13): as created, and as read back after a restart."""

    definition = 'z13'
    fake_clock = True

    def fresh_backend(self):
        """The backend of a compute service restarted just now."""
        return storage.HbaBackend(self.driver.hmc, self.driver.subset,
                                  self.driver.settings)

    def hbas(self, instance):
        return {h.properties['name']: h
                for h in self.faked_partition(instance).hbas.list()}

    def test_hbas_as_created_on_the_hmc(self):
        instance, connector = self.build()
        hbas = self.hbas(instance)
        ports = [p for _a, p, _i in self.driver.subset.adapter_ports]
        self.assertEqual(
            {'OpenStack-HBA-0': ('b000', ports[0]),
             'OpenStack-HBA-1': ('b001', ports[1])},
            {name: (h.properties['device-number'],
                    h.properties['adapter-port-uri'])
             for name, h in hbas.items()})
        self.assertEqual([hbas['OpenStack-HBA-0'].properties['wwpn'],
                          hbas['OpenStack-HBA-1'].properties['wwpn']],
                         connector['wwpns'])
        part = self.faked_partition(instance).properties
        self.assertEqual('storage-adapter', part['boot-device'])
        self.assertEqual(hbas['OpenStack-HBA-0'].uri,
                         part['boot-storage-device'])
        self.assertEqual(base.TARGETS[0], part['boot-world-wide-port-name'])
        self.assertEqual('0001000000000000',
                         part['boot-logical-unit-number'])
        self.assertEqual({'b000', 'b001'}, self.driver.storage.device_numbers(
            self.driver.partitions.get(instance.uuid)))

    def test_restarted_service_reads_the_paths_back(self):
        instance, connector = self.build(power_on=False)
        part = self.driver.partitions.get(instance.uuid)
        backend = self.fresh_backend()
        self.sim.reset_counts()
        self.assertEqual(connector['wwpns'], backend.wwpns(part))
        # The partition's HBA URIs, then each HBA.
        self.assertEqual([('GET', '/api/partitions/{id}'),
                          ('GET', '/api/partitions/{id}/hbas/{id}'),
                          ('GET', '/api/partitions/{id}/hbas/{id}')],
                         self.sim.requests)
        # Kept from then on.
        self.assertEqual(connector['wwpns'], backend.wwpns(part))
        self.assertEqual(3, len(self.sim.requests))
        hbas = self.hbas(instance)
        boot = storage.BootTarget(
            volume_id='vol-boot', initiator=connector['wwpns'][1],
            target=base.TARGETS[1], fcp_lun='0001000000000000', size_gb=10)
        self.assertEqual({
            'boot-device': 'storage-adapter',
            'boot-storage-device': hbas['OpenStack-HBA-1'].uri,
            'boot-world-wide-port-name': base.TARGETS[1],
            'boot-logical-unit-number': '0001000000000000',
        }, backend.boot_properties(instance, part, boot))

    def test_read_back_in_name_order_without_foreign_hbas(self):
        instance, connector = self.build(power_on=False)
        part = self.driver.partitions.get(instance.uuid)
        hbas = self.hbas(instance)
        # Someone renamed the HBAs on the HMC, and added one of their own.
        hbas['OpenStack-HBA-0'].properties['name'] = 'OpenStack-HBA-1'
        hbas['OpenStack-HBA-1'].properties['name'] = 'OpenStack-HBA-0'
        port = self.driver.subset.adapter_ports[0][1]
        self.driver.hmc.client.cpcs.find(name='CPC1').partitions.find(
            name=part.name).hbas.create({'name': 'LINUX-HBA',
                                         'adapter-port-uri': port})
        self.assertEqual(list(reversed(connector['wwpns'])),
                         self.fresh_backend().wwpns(part))

    def test_partition_gone_before_the_read(self):
        instance, _c = self.build(power_on=False)
        part = self.driver.partitions.get(instance.uuid)
        self.faked_cpc.partitions.remove(
            self.faked_partition(instance).oid)
        exc = self.assertRaises(exception.DPMError,
                                self.fresh_backend().wwpns, part)
        self.assertIn('list HBAs', exc.format_message())

    def test_boot_hba_must_exist(self):
        instance, _c = self.build(power_on=False)
        part = self.driver.partitions.get(instance.uuid)
        boot = storage.BootTarget(
            volume_id='vol-boot', initiator='c05076ffe68000ff',
            target=base.TARGETS[0], fcp_lun='0001000000000000', size_gb=10)
        exc = self.assertRaises(exception.DPMError,
                                self.driver.storage.boot_properties,
                                instance, part, boot)
        self.assertIn('has no HBA with WWPN c05076ffe68000ff',
                      exc.format_message())

    def test_destroy_forgets_the_paths(self):
        instance, _c = self.build()
        uri = self.faked_partition(instance).uri
        self.assertIn(uri, self.driver.storage._paths)
        self.driver.destroy(self.context, instance, None)
        self.assertIsNone(self.faked_partition(instance))
        self.assertNotIn(uri, self.driver.storage._paths)


class StorageGroupLifecycleTest(DiscoveryTestCase):
    """The storage group of an instance, from creation to deletion."""

    def fresh_backend(self):
        """The backend of a compute service restarted just now."""
        return storage.StorageGroupBackend(
            self.driver.hmc, self.driver.subset, self.driver.settings)

    def test_group_as_created_on_the_hmc(self):
        instance, connector = self.build()
        group = self.group_of(instance).properties
        part = self.faked_partition(instance)
        self.assertEqual(
            {'name': part.properties['name'], 'type': 'fcp',
             'shared': False, 'max-partitions': 1, 'connectivity': 2,
             'cpc-uri': base.CPC_URI,
             'description': 'OpenStack instance %s of CPC subset %s' % (
                 instance.uuid, base.HOST)},
            {k: group[k] for k in ('name', 'type', 'shared',
                                   'max-partitions', 'connectivity',
                                   'cpc-uri', 'description')})
        self.assertEqual(
            sorted(p for _a, p, _i in self.driver.subset.adapter_ports),
            sorted(group['candidate-adapter-port-uris']))
        self.assertEqual([self.group_of(instance).uri],
                         part.properties['storage-group-uris'])
        volume = self.volume(instance, 'vol-boot').properties
        self.assertEqual('boot', volume['usage'])
        self.assertEqual('storage-volume', part.properties['boot-device'])

    def test_long_description_is_cut_to_200_characters(self):
        host = '.'.join(['h' * 60] * 3)
        self.flags(host=host)
        self.start()
        instance = self.instance(host=host, node=host)
        self.driver.prepare_for_spawn(instance)
        self.driver.get_volume_connector(instance)
        description = self.group_of(instance).properties['description']
        self.assertEqual(200, len(description))
        self.assertTrue(description.startswith(
            'OpenStack instance %s of CPC subset hhh' % instance.uuid))

    def test_restarted_service_reads_the_paths_back(self):
        instance, connector = self.build()
        part = self.driver.partitions.get(instance.uuid)
        backend = self.fresh_backend()
        self.assertEqual(connector['wwpns'], backend.wwpns(part))
        devnos = {str(v.properties['device-number']).lower() for v in
                  self.group_of(instance).virtual_storage_resources.list()}
        self.assertEqual(2, len(devnos))
        self.assertEqual(devnos, self.fresh_backend().device_numbers(part))
        self.assertEqual(devnos, backend.device_numbers(part))

    def test_restart_between_connector_and_spawn(self):
        # Nova asked for the connector (the partition and its group were
        # created), then the compute service restarted before spawn.
        instance = self.instance()
        self.driver.prepare_for_spawn(instance)
        connector = self.driver.get_volume_connector(instance)
        info = self.cinder_map(self.fc_connection(connector['wwpns']))
        self.driver.storage = self.fresh_backend()
        instance.task_state = task_states.SPAWNING
        self.driver.spawn(self.context, instance, None, [], None, {},
                          self.two_vifs(), self.block_device_info(info))
        self.assertEqual('active',
                         self.faked_partition(instance).properties['status'])

    def test_attach_after_a_restart(self):
        instance, connector = self.build()
        self.driver.storage = self.fresh_backend()
        self.attach_data_volume(instance, connector, size=5)
        self.assertEqual('complete', self.volume(
            instance, 'vol-data').properties['fulfillment-state'])

    def test_data_volume_through_the_first_mapped_path(self):
        instance, connector = self.build()
        self.attach_data_volume(instance, connector, size=5)
        volume = self.volume(instance, 'vol-data')
        vsrs = {v.properties['world-wide-port-name']: v.properties
                for v in
                self.group_of(instance).virtual_storage_resources.list()}
        # Cinder's first target, through the port of the first WWPN.
        self.assertEqual(
            {'wwpn': base.TARGETS[0], 'lun': '0002000000000000',
             'adapter-port-uri':
                 vsrs[connector['wwpns'][0]]['adapter-port-uri']},
            {k: self.sim.volume_targets[volume.uri][k]
             for k in ('wwpn', 'lun', 'adapter-port-uri')})
        self.assertEqual('data', volume.properties['usage'])

    def test_data_volume_target_of_the_first_initiator(self):
        # Each initiator zoned with another target: the first initiator's
        # target is the one the volume is fulfilled with.
        instance, connector = self.build()
        first, second = connector['wwpns']
        info = self.fc_connection(connector['wwpns'], lun=2,
                                  volume_id='vol-data')
        info['data']['initiator_target_map'] = {
            first: [base.TARGETS[1]], second: [base.TARGETS[0]]}
        self.cinder_map(info, 5)
        self.volume_bdms[('vol-data', instance.uuid)] = self.bdm(
            info, 5, boot_index=None, instance_uuid=instance.uuid)
        self.driver.attach_volume(self.context, info, instance, '/dev/sdb')
        volume = self.volume(instance, 'vol-data')
        self.assertEqual(base.TARGETS[1],
                         self.sim.volume_targets[volume.uri]['wwpn'])

    def test_data_volume_not_found_names_target_and_deletes_the_job(self):
        instance, connector = self.build()
        self.sim.reset_counts()
        info = self.fc_connection(connector['wwpns'], lun=3,
                                  volume_id='vol-lost')
        self.volume_bdms[('vol-lost', instance.uuid)] = self.bdm(
            info, 3, boot_index=None, instance_uuid=instance.uuid)
        exc = self.assertRaises(exception.InvalidVolume,
                                self.driver.attach_volume, self.context,
                                info, instance, '/dev/sdb')
        self.assertIn('from initiator WWPN %s, %s to target WWPN %s, LUN '
                      '0003000000000000' % (connector['wwpns'][0],
                                            connector['wwpns'][1],
                                            base.TARGETS[0]),
                      exc.format_message())
        # One discovery, which found nothing; its status deleted.
        self.assertEqual(1, self.sim.count(
            'POST', '/api/storage-groups/{id}/operations/'
            'start-fcp-storage-discovery'))
        self.assertEqual({}, self.sim.jobs)

    def test_lun_a_little_smaller_is_refused(self):
        instance = self.instance()
        self.driver.prepare_for_spawn(instance)
        connector = self.driver.get_volume_connector(instance)
        info = self.cinder_map(self.fc_connection(connector['wwpns']),
                               size=24.5)
        instance.task_state = task_states.SPAWNING
        exc = self.assertRaises(
            nova_exception.BuildAbortException, self.driver.spawn,
            self.context, instance, None, [], None, {}, self.two_vifs(),
            self.block_device_info(info, 25))
        self.assertIn('a LUN of 24.5 GiB', exc.format_message())
        self.assert_nothing_left(instance)

    def test_lun_within_the_tolerance_is_accepted(self):
        instance = self.instance()
        self.driver.prepare_for_spawn(instance)
        connector = self.driver.get_volume_connector(instance)
        info = self.cinder_map(self.fc_connection(connector['wwpns']),
                               size=24.9995)
        instance.task_state = task_states.SPAWNING
        self.driver.spawn(self.context, instance, None, [], None, {},
                          self.two_vifs(), self.block_device_info(info, 25))
        self.assertEqual('active',
                         self.faked_partition(instance).properties['status'])

    def test_destroy_leaves_nothing(self):
        instance, _c = self.build()
        uri = self.faked_partition(instance).uri
        backend = self.driver.storage
        self.driver.destroy(self.context, instance, None)
        self.assert_nothing_left(instance)
        self.assertEqual({}, self.sim.jobs)
        for cache in (backend._groups, backend._devnos, backend._vsrs,
                      backend._ports):
            self.assertNotIn(uri, cache)

    def test_release_of_a_group_gone_is_success(self):
        instance, _c = self.build()
        part = self.driver.partitions.get(instance.uuid)
        backend = self.driver.storage
        self.assertIsNotNone(backend._group(part))
        # Deleted on the HMC behind nova-dpm's back.
        cpc = self.driver.hmc.client.cpcs.find(name='CPC1')
        self.sim.set_status(part.uri, 'stopped')
        cpc.partitions.find(name=part.name).delete()
        self.driver.hmc.client.consoles.console.storage_groups.find(
            name=part.name).delete()
        backend.release(instance, part)
        self.assertNotIn(part.uri, backend._groups)
        self.assert_nothing_left(instance)

    def test_group_left_by_a_failed_destroy_goes_with_the_next(self):
        instance, _c = self.build()
        self.sim.inject_fault('http500', 'POST',
                              '/api/storage-groups/{id}/operations/delete')
        self.assertRaises(exception.HMCOperationFailed,
                          self.driver.destroy, self.context, instance, None)
        self.assertIsNone(self.faked_partition(instance))
        self.assertEqual(1, len([g for g in self.groups()
                                 if instance.uuid in g.properties['name']]))
        # Nova retries the deletion: a fresh service finds the group.
        self.driver.storage = self.fresh_backend()
        self.driver.destroy(self.context, instance, None)
        self.assert_nothing_left(instance)
        self.assertIn('left by an earlier deletion', self.logger.output)


class DetachFallbackTest(DiscoveryTestCase):
    """An HMC that refuses to delete a partition (HMC rule E7)."""

    definitions = base.PER_DEFINITION
    DELETE = ('DELETE', '/api/partitions/{id}')
    DETACH = ('POST', '/api/partitions/{id}/operations/'
                      'detach-storage-group')

    def refuse_deletes(self, times=2):
        # The optimistic delete, and the one after the stop.
        for _ in range(times):
            self.sim.inject_fault('busy', *self.DELETE)

    def test_group_detached_and_the_delete_repeated(self):
        instance, _c = self.build()
        self.refuse_deletes()
        self.sim.reset_counts()
        if self.definition == 'z13':
            # HBAs: nothing to detach; the refusal is the outcome.
            exc = self.assertRaises(exception.HMCOperationFailed,
                                    self.driver.destroy, self.context,
                                    instance, None)
            self.assertIn('delete partition', exc.format_message())
            self.assertIsNotNone(self.faked_partition(instance))
            self.assertEqual(0, self.sim.count(*self.DETACH))
            return
        self.driver.destroy(self.context, instance, None)
        self.assertEqual(1, self.sim.count(*self.DETACH))
        self.assertEqual(1, self.sim.count(*self.DELETE))
        self.assert_nothing_left(instance)

    def test_detach_refused_too(self):
        instance, _c = self.build()
        self.refuse_deletes()
        self.sim.inject_fault('busy', *self.DETACH)
        exc = self.assertRaises(exception.HMCOperationFailed,
                                self.driver.destroy, self.context, instance,
                                None)
        # The deletion's refusal, which the detach could not cure.
        self.assertIn('delete partition', exc.format_message())
        self.assertIsNotNone(self.faked_partition(instance))
        if self.definition != 'z13':
            self.assertEqual([self.group_of(instance).uri],
                             self.faked_partition(instance).properties[
                                 'storage-group-uris'])

    def test_detach_of_a_partition_gone(self):
        # The partition went (deleted on the HMC) between the refused
        # deletion and the detach: the detach meets 404, and the
        # deletion's error is reported.
        if self.definition == 'z13':
            self.skipTest('HBAs: no storage group to detach')
        instance, _c = self.build()
        self.refuse_deletes()
        faked = self.faked_partition(instance)
        request = self.sim.request

        def delete_first(method, uri, *args, **kwargs):
            if uri.endswith('/operations/detach-storage-group'):
                self.faked_cpc.partitions.remove(faked.oid)
            return request(method, uri, *args, **kwargs)

        self.sim.request = delete_first
        exc = self.assertRaises(exception.HMCOperationFailed,
                                self.driver.destroy, self.context, instance,
                                None)
        self.assertIn('delete partition', exc.format_message())
        self.assertIsNone(self.faked_partition(instance))

    def test_detach_failing_otherwise_is_reported(self):
        instance, _c = self.build()
        self.refuse_deletes()
        self.sim.inject_fault('http500', *self.DETACH)
        exc = self.assertRaises(exception.HMCOperationFailed,
                                self.driver.destroy, self.context, instance,
                                None)
        if self.definition != 'z13':
            self.assertIn('detach storage group', exc.format_message())


load_tests = base.load_tests
