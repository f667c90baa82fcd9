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

"""Servers through the Nova API, checked on the simulated HMC.

Every test class runs twice: on the z13 definition (storage through
virtual HBAs) and on the z16 definition (DPM storage management: a storage
group per instance), with nova-compute reaching the simulated HMC over
HTTPS (a real zhmcclient.Session, TLS verified). A few tests run once more
per definition on the in-process transport (``[dpm] hmc_mock_file``), with
the same checks and the same request counts. What is checked is the HMC's
state, read from the simulator's faked objects, and the HMC requests the
driver made.
"""

from nova.compute import power_state
from nova.tests.functional.api import client as api_client

from nova_dpm.simulator.cloud import nova_cloud as cloud

START = '/api/partitions/{id}/operations/start'
STOP = '/api/partitions/{id}/operations/stop'
CREATE_PARTITION = '/api/cpcs/{id}/partitions'
UPDATE_PARTITION = '/api/partitions/{id}'
OS_COMMAND = '/api/partitions/{id}/operations/send-os-cmd'


class Z13(object):
    """Storage checks for a CPC without dpm-storage-management: HBAs."""

    HMC_DEFINITION = 'z13'

    def storage_wwpns(self, part):
        """The WWPNs of the partition's storage paths, boot path first."""
        return [h['wwpn'] for h in self.hmc.hbas(part['name'])]

    def assertBootStorage(self, part, volume_id):
        hbas = self.hmc.hbas(part['name'])
        self.assertEqual(
            [('OpenStack-HBA-0', cloud.STORAGE_PORTS[0], 'b000'),
             ('OpenStack-HBA-1', cloud.STORAGE_PORTS[1], 'b001')],
            [(h['name'], h['adapter-port-uri'], h['device-number'])
             for h in hbas])
        self.assertEqual(2, len(set(h['wwpn'] for h in hbas)))
        for hba in hbas:
            self.assertRegex(hba['wwpn'], '^[0-9a-f]{16}$')
        self.assertEqual(sorted(h['element-uri'] for h in hbas),
                         sorted(part['hba-uris']))
        # HMC API 1.7: no storage groups, not even the property.
        self.assertNotIn('storage-group-uris', part)
        self.assertEqual([], self.hmc.storage_group_names())
        # Boot through the first HBA, from the first target Cinder mapped
        # to its WWPN, at the volume's LUN.
        self.assertEqual('storage-adapter', part['boot-device'])
        self.assertEqual(hbas[0]['element-uri'], part['boot-storage-device'])
        self.assertEqual(cloud.TARGET_WWPNS[0],
                         part['boot-world-wide-port-name'])
        self.assertEqual(cloud.fcp_lun(self.cinder.lun_of(volume_id)),
                         part['boot-logical-unit-number'])
        # HMC API 1.7: boot-storage-volume came with API 2.23.
        self.assertNotIn('boot-storage-volume', part)

    def assertDataVolumeOnHmc(self, part, volume_id, attached):
        # Without storage management the HMC knows nothing of data
        # volumes: the HBAs reach every LUN the storage maps to them.
        self.assertEqual(2, len(self.hmc.hbas(part['name'])))
        self.assertEqual([], self.hmc.storage_group_names())


class Z16(object):
    """Storage checks for a CPC with dpm-storage-management: groups."""

    HMC_DEFINITION = 'z16'

    def storage_wwpns(self, part):
        vsrs = self.hmc.virtual_storage_resources(part['name'])
        by_port = {v['adapter-port-uri']: v['world-wide-port-name']
                   for v in vsrs}
        return [by_port[p] for p in cloud.STORAGE_PORTS if p in by_port]

    def assertBootStorage(self, part, volume_id):
        name = part['name']
        self.assertEqual([name], self.hmc.storage_group_names())
        group = self.hmc.storage_group(name)
        self.assertEqual(
            {'cpc-uri': cloud.CPC_URI, 'type': 'fcp', 'shared': False,
             'max-partitions': 1, 'connectivity': 2,
             'fulfillment-state': 'complete'},
            {k: group[k] for k in ('cpc-uri', 'type', 'shared',
                                   'max-partitions', 'connectivity',
                                   'fulfillment-state')})
        self.assertEqual([group['object-uri']], part['storage-group-uris'])
        self.assertEqual([], part['hba-uris'])
        # One virtual storage resource per mapped adapter port.
        vsrs = self.hmc.virtual_storage_resources(name)
        self.assertEqual(sorted(cloud.STORAGE_PORTS),
                         sorted(v['adapter-port-uri'] for v in vsrs))
        for vsr in vsrs:
            self.assertEqual(part['object-uri'], vsr['partition-uri'])
            self.assertRegex(vsr['world-wide-port-name'], '^[0-9a-f]{16}$')
        # The boot volume: defined in the group, fulfilled with the first
        # target and the LUN through the first mapped port, and named by
        # the partition's boot properties.
        volumes = self.hmc.storage_volumes(name)
        self.assertEqual([(volume_id, 'boot', 'complete')],
                         [(v['name'], v['usage'], v['fulfillment-state'])
                          for v in volumes])
        self.assertEqual(
            {'wwpn': cloud.TARGET_WWPNS[0],
             'lun': cloud.fcp_lun(self.cinder.lun_of(volume_id)),
             'adapter-port-uri': cloud.STORAGE_PORTS[0]},
            self.hmc.volume_target(volumes[0]['element-uri']))
        self.assertEqual('storage-volume', part['boot-device'])
        self.assertEqual(volumes[0]['element-uri'],
                         part['boot-storage-volume'])

    def assertDataVolumeOnHmc(self, part, volume_id, attached):
        volumes = {v['name']: v for v in
                   self.hmc.storage_volumes(part['name'])}
        if attached:
            self.assertEqual('data', volumes[volume_id]['usage'])
            self.assertEqual(2, len(volumes))
        else:
            self.assertNotIn(volume_id, volumes)
            self.assertEqual(1, len(volumes))
        self.assertEqual(2, len(self.hmc.virtual_storage_resources(
            part['name'])))


class ServerLifecycleTests(object):
    """Boot from volume, power actions, volumes and delete."""

    def boot_and_check(self, **kwargs):
        """Boot with two ports; return (server, partition, ports)."""
        ports = self.create_ports()
        server = self.boot(ports=ports, **kwargs)
        self.assertEqual('ACTIVE', server['status'])
        self.assertEqual(cloud.HOST, server['OS-EXT-SRV-ATTR:host'])
        part = self.hmc.partition_of(server['id'])
        self.assertIsNotNone(part, 'no partition %s on the HMC' %
                             cloud.partition_name(server['id']))
        return server, part, ports

    def test_boot_from_volume(self):
        volume_id = self.new_volume_id(1)
        server, part, ports = self.boot_and_check(volume_id=volume_id)

        self.assertEqual([cloud.partition_name(server['id'])],
                         self.hmc.openstack_partition_names())
        self.assertEqual(power_state.RUNNING,
                         server['OS-EXT-STS:power_state'])
        # The partition: sized by the flavor, running, named and described
        # for this CPC subset.
        self.assertEqual(
            {'status': 'active', 'type': 'linux',
             'ifl-processors': 2, 'cp-processors': 0,
             'processor-mode': 'shared',
             'initial-memory': 4096, 'maximum-memory': 4096,
             'description': 'OpenStack CPC subset dpm-subset-1'},
            {k: part[k] for k in ('status', 'type', 'ifl-processors',
                                  'cp-processors', 'processor-mode',
                                  'initial-memory', 'maximum-memory',
                                  'description')})
        self.assertBootStorage(part, volume_id)

        # Nova asked Cinder to connect the volume to exactly the WWPNs of
        # the partition's storage paths, boot path first.
        wwpns = self.storage_wwpns(part)
        self.assertEqual(2, len(wwpns))
        connector = self.cinder.connector_of(volume_id)
        self.assertEqual(wwpns, connector['wwpns'])
        self.assertEqual(('s390x', True, cloud.HOST),
                         (connector['platform'], connector['multipath'],
                          connector['host']))

        # Two NICs, one per port, on the ports' virtual switches, at
        # device numbers 0001 and 0004 (an OSA NIC takes three).
        nics = self.hmc.nics(part['name'])
        self.assertEqual(
            [('OpenStack_Port_%s' % ports[0]['id'], '0001',
              '/api/virtual-switches/%s' % cloud.VSWITCH_0,
              'OpenStack mac=fa:16:3e:00:00:01, CPCSubset=dpm-subset-1'),
             ('OpenStack_Port_%s' % ports[1]['id'], '0004',
              '/api/virtual-switches/%s' % cloud.VSWITCH_1,
              'OpenStack mac=fa:16:3e:00:00:02, CPCSubset=dpm-subset-1')],
            [(n['name'], n['device-number'], n['virtual-switch-uri'],
              n['description']) for n in nics])
        self.assertEqual(sorted(n['element-uri'] for n in nics),
                         sorted(part['nic-uris']))
        # The guest learns each NIC's OSA port and MAC from the boot
        # parameters: <devno>,<port of the vswitch>,<mac>;
        self.assertEqual(0, self.hmc.virtual_switch(cloud.VSWITCH_0)['port'])
        self.assertEqual(1, self.hmc.virtual_switch(cloud.VSWITCH_1)['port'])
        self.assertEqual('0001,0,fa163e000001;0004,1,fa163e000002;',
                         part['boot-os-specific-parameters'])
        self.assertForeignPartitionsUntouched()

    def test_boot_from_image_backed_volume(self):
        # Nova creates the boot volume from an image, then boots from it.
        flavor = self.create_flavor(3, 6144)
        server, part, _ports = self.boot_and_check(
            image_to_volume=self.image, flavor_id=flavor)
        self.assertEqual((3, 6144, 6144),
                         (part['ifl-processors'], part['initial-memory'],
                          part['maximum-memory']))
        created = list(self.cinder.volumes)
        self.assertEqual(1, len(created))
        self.assertEqual(10, self.cinder.volumes[created[0]]['size'])
        self.assertBootStorage(part, created[0])
        self.assertEqual(self.storage_wwpns(part),
                         self.cinder.connector_of(created[0])['wwpns'])

    def power_requests(self):
        """(Send OS Command, Stop, Start) requests since the last reset."""
        return (self.simulator.count('POST', OS_COMMAND),
                self.simulator.count('POST', STOP),
                self.simulator.count('POST', START))

    def test_stop_start_reboot(self):
        server, part, _ports = self.boot_and_check()
        uri = part['object-uri']
        self.simulator.reset_counts()

        # Nova stops cleanly: the driver asks the guest to shut down (the
        # simulated Linux halts, its partition pauses) and then stops the
        # partition.
        server = self.stop(server)
        self.assertEqual('stopped', self.hmc.partition(part['name'])['status'])
        self.assertEqual(power_state.SHUTDOWN,
                         server['OS-EXT-STS:power_state'])
        self.assertEqual((1, 1, 0), self.power_requests())

        server = self.start(server)
        self.assertEqual('active', self.hmc.partition(part['name'])['status'])
        self.assertEqual(power_state.RUNNING,
                         server['OS-EXT-STS:power_state'])
        self.assertEqual((1, 1, 1), self.power_requests())

        # A soft reboot shuts the guest down first; a hard one does not.
        # Each stops and starts the partition once.
        server = self.reboot(server, hard=False)
        self.assertEqual('active', self.hmc.partition(part['name'])['status'])
        self.assertEqual((2, 2, 2), self.power_requests())
        server = self.reboot(server, hard=True)
        self.assertEqual('active', self.hmc.partition(part['name'])['status'])
        self.assertEqual((2, 3, 3), self.power_requests())
        self.assertEqual(power_state.RUNNING,
                         server['OS-EXT-STS:power_state'])

        # Power actions never recreate or reconfigure the partition.
        self.assertEqual(0, self.simulator.count('POST', CREATE_PARTITION))
        self.assertEqual(0, self.simulator.count('POST', UPDATE_PARTITION))
        after = self.hmc.partition(part['name'])
        self.assertEqual(uri, after['object-uri'])
        for key in ('boot-device', 'boot-os-specific-parameters',
                    'ifl-processors', 'initial-memory', 'nic-uris'):
            self.assertEqual(part[key], after[key])
        self.assertForeignPartitionsUntouched()

    def test_console_log_and_crash_dump(self):
        server, part, _ports = self.boot_and_check()
        if self.HMC_DEFINITION == 'z13':
            # List OS Messages needs SE 2.14.0; the z13 has 2.13.1: Nova
            # answers 501 Not Implemented.
            exc = self.assertRaises(
                api_client.OpenStackApiException,
                self.api.post_server_action, server['id'],
                {'os-getConsoleOutput': {}})
            self.assertEqual(501, exc.response.status_code)
            return
        # openstack console log show: the partition's OS messages, newest
        # last; the simulated Linux logged its boot.
        output = self.api.post_server_action(
            server['id'], {'os-getConsoleOutput': {}})['output']
        self.assertEqual(self.simulator.os_messages(part['object-uri']),
                         output.splitlines())
        self.assertTrue(output.splitlines()[-1].startswith(
            'dpm_console_listener: '))
        lines = self.api.post_server_action(
            server['id'], {'os-getConsoleOutput': {'length': 2}})['output']
        # Nova keeps the last lines (the trailing newline counts as one).
        self.assertTrue(output.endswith(lines))
        self.assertEqual(output.splitlines()[-1:], lines.splitlines())

        # openstack server dump create: a PSW restart (kdump in the guest).
        self.simulator.reset_counts()
        self.api.post_server_action(server['id'],
                                    {'trigger_crash_dump': None})
        self.notifier.wait_for_versioned_notifications(
            'instance.trigger_crash_dump.end')
        self.assertEqual(1, self.simulator.count(
            'POST', '/api/partitions/{id}/operations/psw-restart'))
        self.assertIn('Starting crash kernel...',
                      self.simulator.os_messages(part['object-uri']))
        self.assertEqual('ACTIVE', self.get_server(server)['status'])

        # A stopped server cannot dump: Nova answers 409.
        server = self.stop(server)
        exc = self.assertRaises(
            api_client.OpenStackApiException, self.api.post_server_action,
            server['id'], {'trigger_crash_dump': None})
        self.assertEqual(409, exc.response.status_code)

    def test_attach_and_detach_data_volume(self):
        boot_volume = self.new_volume_id(1)
        data_volume = self.new_volume_id(2)
        server, part, _ports = self.boot_and_check(volume_id=boot_volume)
        wwpns = self.storage_wwpns(part)

        self.attach_volume(server, data_volume)
        attached = [v['volumeId'] for v in
                    self.api.get_server_volumes(server['id'])]
        self.assertEqual(sorted([boot_volume, data_volume]),
                         sorted(attached))
        # Cinder mapped the data volume to the same WWPNs as the boot
        # volume, each to both targets.
        connector = self.cinder.connector_of(data_volume)
        self.assertEqual(wwpns, connector['wwpns'])
        self.assertDataVolumeOnHmc(part, data_volume, attached=True)
        self.assertEqual('active', self.hmc.partition(part['name'])['status'])

        self.detach_volume(server, data_volume)
        attached = [v['volumeId'] for v in
                    self.api.get_server_volumes(server['id'])]
        self.assertEqual([boot_volume], attached)
        self.assertEqual({}, dict(
            self.cinder.volume_to_attachment[data_volume]))
        self.assertDataVolumeOnHmc(part, data_volume, attached=False)
        # The boot path is as it was.
        self.assertBootStorage(self.hmc.partition(part['name']),
                               boot_volume)
        self.assertEqual('ACTIVE', self.get_server(server)['status'])

    def test_delete_leaves_nothing_on_the_hmc(self):
        boot_volume = self.new_volume_id(1)
        server, part, _ports = self.boot_and_check(volume_id=boot_volume)
        self.attach_volume(server, self.new_volume_id(2))
        self.assertEqual(1, len(self.hmc.openstack_partition_names()))

        self.delete(server)

        self.assertNothingOnHmc(server['id'])
        self.assertEqual([], self.hmc.openstack_partition_names())
        self.assertEqual([], self.hmc.storage_group_names())
        self.assertEqual(
            sorted(self.foreign_at_start), self.hmc.partition_names())
        # The volumes were disconnected and the resources given back.
        self.assertEqual({}, dict(
            self.cinder.volume_to_attachment[boot_volume]))
        self.wait_for_allocations(server, {})
        self.assertForeignPartitionsUntouched()

    def test_image_boot_is_refused(self):
        # Flavors have no disk (the subset offers no DISK_GB), so the API
        # already refuses an image boot to a project member ...
        exc = self.assertRaises(
            api_client.OpenStackApiException, self.boot,
            expected_status='ERROR', image_id=self.image)
        self.assertEqual(403, exc.response.status_code)
        self.assertIn('Only volume-backed servers are allowed for flavors '
                      'with zero disk', str(exc))
        # ... and the driver refuses it to an admin, naming the way out.
        server = self.boot(expected_status='ERROR', image_id=self.image,
                           api=self.admin_api)
        # It was scheduled to the DPM host; nova-compute aborted the build
        # there (nova records the handled abort as a finished event).
        event = self._wait_for_instance_action_event(
            server, 'create', 'compute__do_build_and_run_instance',
            'Success')
        self.assertEqual(cloud.HOST, event['host'])
        # The whole advice fits the 255 characters Nova keeps of a fault.
        self.assertEqual(
            'Build of instance %(id)s aborted: Instance %(id)s is '
            'unacceptable: nova-dpm boots only from a Fibre Channel volume; '
            'create the server with --volume or --boot-from-volume' % server,
            server['fault']['message'])
        # Refused before the HMC was asked to create anything.
        self.assertEqual(0, self.simulator.count('POST', CREATE_PARTITION))
        self.assertEqual([], self.hmc.openstack_partition_names())
        self.assertEqual([], self.hmc.storage_group_names())

    def test_port_not_bound_by_networking_dpm_is_refused(self):
        ports = [self.neutron.create_dpm_port(cloud.VSWITCH_0),
                 self.neutron.create_dpm_port(cloud.VSWITCH_1,
                                              vif_type='ovs')]
        server = self.boot(expected_status='ERROR', ports=ports)
        # The whole message fits the 255 characters Nova keeps of a fault.
        self.assertEqual(
            "Build of instance %s aborted: Instance %s is unacceptable: "
            "Port %s cannot be used: VIF type 'ovs'; only 'dpm_adapter' "
            "and 'dpm_vswitch' work" % (server['id'], server['id'],
                                        ports[1]['id']),
            server['fault']['message'])
        self.assertEqual(0, self.simulator.count('POST', CREATE_PARTITION))
        self.assertNothingOnHmc(server['id'])
        self.wait_for_allocations(server, {})

    def test_volume_that_is_not_fibre_channel_is_refused(self):
        volume_id = self.new_volume_id(7)
        self.cinder.iscsi_volumes.add(volume_id)
        server = self.boot(expected_status='ERROR', volume_id=volume_id)
        self.assertIn(
            "Volume %s cannot be used: its driver_volume_type is 'iscsi'; "
            "nova-dpm attaches only Fibre Channel (fibre_channel) volumes" %
            volume_id, server['fault']['message'])
        # The partition made for the volume's connector is gone again.
        self.assertNothingOnHmc(server['id'])
        self.assertEqual([], self.hmc.openstack_partition_names())
        self.assertEqual({}, dict(
            self.cinder.volume_to_attachment[volume_id]))
        self.wait_for_allocations(server, {})
        self.assertForeignPartitionsUntouched()

    def test_flavor_larger_than_the_subset_gets_no_valid_host(self):
        for vcpus, ram in ((self.MAX_PROCESSORS + 1, 1024),
                           (1, self.MAX_MEMORY + 1024)):
            flavor = self.create_flavor(vcpus, ram)
            server = self.boot(expected_status='ERROR', flavor_id=flavor)
            self.assertEqual('No valid host was found. ',
                             server['fault']['message'])
            self.assertIsNone(server['OS-EXT-SRV-ATTR:host'])
        self.assertEqual(0, self.simulator.count('POST', CREATE_PARTITION))
        self.assertEqual([], self.hmc.openstack_partition_names())

    def test_placement_inventory_and_allocations(self):
        rp = self.provider_uuid()
        inventory = self._get_provider_inventory(rp)
        self.assertEqual(['MEMORY_MB', 'VCPU'], sorted(inventory))
        self.assertEqual(
            {'total': self.MAX_PROCESSORS, 'reserved': 0, 'min_unit': 1,
             'max_unit': self.MAX_PROCESSORS, 'step_size': 1,
             'allocation_ratio': 4.0},
            inventory['VCPU'])
        # Nothing reserved, whatever nova's [DEFAULT]
        # reserved_host_memory_mb (512 by default) says.
        self.assertEqual(
            {'total': self.MAX_MEMORY, 'reserved': 0, 'min_unit': 1,
             'max_unit': self.MAX_MEMORY, 'step_size': 1,
             'allocation_ratio': 1.0},
            inventory['MEMORY_MB'])

        server, _part, _ports = self.boot_and_check()
        self.assertEqual(
            {rp: {'resources': {'VCPU': 2, 'MEMORY_MB': 4096}}},
            {k: {'resources': v['resources']} for k, v in
             self._get_allocations_by_server_uuid(server['id']).items()})
        self.assertEqual({'VCPU': 2, 'MEMORY_MB': 4096},
                         self._get_provider_usages(rp))


class TestServersZ13(Z13, ServerLifecycleTests, cloud.DPMCloudTestCase):
    pass


class TestServersZ16(Z16, ServerLifecycleTests, cloud.DPMCloudTestCase):
    pass


class InProcessTests(object):
    """A boot-to-delete subset on [dpm] hmc_mock_file.

    The same test methods as over HTTPS, so the HMC state and the request
    counts they check must come out the same on both transports.
    """

    HMC_TRANSPORT = cloud.IN_PROCESS

    boot_and_check = ServerLifecycleTests.boot_and_check
    power_requests = ServerLifecycleTests.power_requests
    test_stop_start_reboot = ServerLifecycleTests.test_stop_start_reboot
    test_delete_leaves_nothing_on_the_hmc = \
        ServerLifecycleTests.test_delete_leaves_nothing_on_the_hmc

    def setUp(self):
        super().setUp()
        # The driver's own session is the simulator's FakedSession.
        self.assertIsNone(self.hmc_server)
        self.assertTrue(self.driver.hmc.simulated)
        self.assertIs(self.simulator, self.driver.hmc.session.simulator)


class TestInProcessZ13(Z13, InProcessTests, cloud.DPMCloudTestCase):
    pass


class TestInProcessZ16(Z16, InProcessTests, cloud.DPMCloudTestCase):
    pass


class MaxInstancesTests(object):
    """[dpm] max_instances = 1."""

    MAX_INSTANCES = 1

    def test_second_server_beyond_max_instances_fails(self):
        first = self.boot(name='first', volume_id=self.new_volume_id(1))
        creates = self.simulator.count('POST', CREATE_PARTITION)
        self.assertEqual(1, creates)

        second = self.boot(name='second', expected_status='ERROR',
                           volume_id=self.new_volume_id(2))
        message = second['fault']['message']
        self.assertIn('CPC subset dpm-subset-1 is full: it holds 1 of at '
                      'most 1 instances ([dpm] max_instances)', message)
        # Nothing was created for the second one, nothing of the first
        # was touched.
        self.assertEqual(creates, self.simulator.count('POST',
                                                       CREATE_PARTITION))
        self.assertNothingOnHmc(second['id'])
        self.assertEqual([cloud.partition_name(first['id'])],
                         self.hmc.openstack_partition_names())
        self.assertEqual('active', self.hmc.partition_of(first['id'])[
            'status'])
        self.wait_for_allocations(second, {})

        # Once the first is gone there is room again.
        self.delete(first)
        third = self.boot(name='third', volume_id=self.new_volume_id(3))
        self.assertEqual([cloud.partition_name(third['id'])],
                         self.hmc.openstack_partition_names())
        self.assertForeignPartitionsUntouched()


class TestMaxInstancesZ13(Z13, MaxInstancesTests, cloud.DPMCloudTestCase):
    pass


class TestMaxInstancesZ16(Z16, MaxInstancesTests, cloud.DPMCloudTestCase):
    pass
