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

"""Resize, cold migration and evacuation through the Nova API.

On one CPC subset (a resize in place) and between two CPC subsets of the
same simulated CPC (two nova-compute services), on the z13 definition
(HBAs) and the z16 definition (storage groups). What is checked is the
HMC's state: which partitions exist, their size and status, and the WWPNs
of their storage paths, against the WWPNs Cinder exported the volume to.
"""

from nova.tests.functional.api import client as api_client

from nova_dpm.simulator import catalog
from nova_dpm.simulator.cloud import nova_cloud as cloud
from nova_dpm.tests.functional import test_flavors
from nova_dpm.tests.functional import test_servers

HOST_1 = cloud.HOST
HOST_2 = cloud.HOST_2
START = test_servers.START
STOP = test_servers.STOP
UPDATE_PARTITION = test_servers.UPDATE_PARTITION
CREATE_PARTITION = test_servers.CREATE_PARTITION
CRYPTO_1 = '/api/adapters/' + catalog.CRYPTO_ADAPTERS[0]
EP11 = {'dpm:crypto_domains': '2', 'dpm:crypto_adapter_type':
        'ep11-coprocessor'}
DEDICATED = {'hw:cpu_policy': 'dedicated'}


class MoveHelpers(object):

    def part_on(self, host, server):
        return self.hmc.partition(cloud.partition_name_on(host, server['id']))

    def own_partitions(self, server=None):
        """Partitions of the CPC subsets (of one server)."""
        return sorted(n for n in self.hmc.partition_names()
                      if n.startswith('OpenStack-dpm-subset-') and
                      (server is None or n.endswith(server['id'])))

    def exported_to(self, volume_id):
        """The WWPNs Cinder exported the volume to now."""
        return self.cinder.connector_of(volume_id)['wwpns']

    def sizes(self, part):
        return (part['ifl-processors'], part['initial-memory'],
                part['maximum-memory'])

    def admin_action(self, server, body, status):
        self.admin_api.post_server_action(server['id'], body)
        return self.wait_for_status(server, status)

    def move_fails(self, server, body):
        """Post a move that fails on a compute host; the server in ERROR.

        RPC casts run as calls here, so the API may answer 500 itself.
        """
        try:
            self.admin_api.post_server_action(server['id'], body)
        except api_client.OpenStackApiException:
            pass
        return self.wait_for_status(server, 'ERROR')

    def boot_on(self, host, volume_n=1, flavor_id=None):
        body = self.server_body(volume_id=self.new_volume_id(volume_n),
                                flavor_id=flavor_id)
        body['host'] = host
        server = self.admin_api.post_server({'server': body})
        server = self.wait_for_status(server, 'ACTIVE')
        self.assertEqual(host, server['OS-EXT-SRV-ATTR:host'])
        return server

    def assertAsBefore(self, server, volume_id, before, wwpns,
                       sizes=(2, 4096, 4096)):
        """The server's one partition is ``before``, active.

        ``sizes``: its IFLs, initial and maximum memory; its volume is
        exported to the same ``wwpns``.
        """
        self.assertEqual(HOST_1, server['OS-EXT-SRV-ATTR:host'])
        part = self.part_on(HOST_1, server)
        self.assertEqual(before['object-uri'], part['object-uri'])
        self.assertEqual((sizes, 'active'),
                         (self.sizes(part), part['status']))
        self.assertEqual(wwpns, self.storage_wwpns(part))
        self.assertEqual(wwpns, self.exported_to(volume_id))
        self.assertEqual([cloud.partition_name_on(HOST_1, server['id'])],
                         self.own_partitions(server))

    def assertRecoverable(self, server, volume_id, before, wwpns):
        """Nothing left on HOST_2; the source partition as it was; back."""
        self.assertEqual([cloud.partition_name_on(HOST_1, server['id'])],
                         self.own_partitions(server))
        part = self.part_on(HOST_1, server)
        self.assertEqual((before['object-uri'], 'stopped'),
                         (part['object-uri'], part['status']))
        self.assertEqual(wwpns, self.storage_wwpns(part))
        # Recovery: reset the state, move it back to where it came from.
        self.admin_api.post_server_action(
            server['id'], {'os-resetState': {'state': 'active'}})
        server = self.admin_action(
            server, {'migrate': {'host': HOST_1}}, 'VERIFY_RESIZE')
        server = self.action(server, {'confirmResize': None}, 'ACTIVE')
        self.assertAsBefore(server, volume_id, before, wwpns)


class SameSubsetTests(MoveHelpers):
    """One CPC subset: a resize changes the partition in place."""

    def setUp(self):
        super().setUp()
        self.flags(allow_resize_to_same_host=True)

    def test_resize_up_confirm_then_down_revert(self):
        server = self.boot_on(HOST_1)
        volume_id = self.new_volume_id(1)
        before = self.hmc.partition_of(server['id'])
        wwpns = self.storage_wwpns(before)
        self.assertEqual(wwpns, self.exported_to(volume_id))
        bigger = self.create_flavor(4, 8192)
        self.simulator.reset_counts()

        server = self.action(server, {'resize': {'flavorRef': bigger}},
                             'VERIFY_RESIZE')
        # The same partition, stopped, sized and started again.
        self.assertAsBefore(server, volume_id, before, wwpns, (4, 8192, 8192))
        self.assertEqual(1, self.simulator.count('POST', UPDATE_PARTITION))
        self.assertEqual(0, self.simulator.count('POST', CREATE_PARTITION))
        server = self.action(server, {'confirmResize': None}, 'ACTIVE')
        self.assertEqual([cloud.partition_name(server['id'])],
                         self.hmc.openstack_partition_names())
        self.assertEqual((4, 8192, 8192),
                         self.sizes(self.hmc.partition_of(server['id'])))

        smaller = self.create_flavor(1, 2048)
        server = self.action(server, {'resize': {'flavorRef': smaller}},
                             'VERIFY_RESIZE')
        self.assertEqual((1, 2048, 2048),
                         self.sizes(self.hmc.partition_of(server['id'])))
        server = self.action(server, {'revertResize': None}, 'ACTIVE')
        self.assertAsBefore(server, volume_id, before, wwpns, (4, 8192, 8192))
        self.assertEqual(4, server['flavor']['vcpus'])
        self.assertForeignPartitionsUntouched()

    def test_stopped_server_is_resized_stopped(self):
        server = self.stop(self.boot_on(HOST_1))
        bigger = self.create_flavor(3, 6144)
        self.simulator.reset_counts()
        server = self.action(server, {'resize': {'flavorRef': bigger}},
                             'VERIFY_RESIZE')
        part = self.hmc.partition_of(server['id'])
        self.assertEqual(((3, 6144, 6144), 'stopped'),
                         (self.sizes(part), part['status']))
        self.assertEqual(0, self.simulator.count('POST', START))
        server = self.action(server, {'confirmResize': None}, 'SHUTOFF')
        self.assertEqual('stopped',
                         self.hmc.partition_of(server['id'])['status'])


class TwoSubsetTests(MoveHelpers):
    """Moves between CPC subsets HOST_1 and HOST_2 of one CPC."""

    def assertMovedTo(self, server, volume_id, source, host, sizes):
        """The server runs on ``host``; the source partition is stopped."""
        self.assertEqual(host, server['OS-EXT-SRV-ATTR:host'])
        new = self.part_on(host, server)
        self.assertEqual((sizes, 'active'), (self.sizes(new), new['status']))
        new_wwpns = self.storage_wwpns(new)
        self.assertEqual(2, len(new_wwpns))
        self.assertEqual(new_wwpns, self.exported_to(volume_id))
        self.assertIn(new['boot-device'],
                      ('storage-volume', 'storage-adapter'))
        self.assertEqual(2, len(self.hmc.nics(new['name'])))
        old = self.part_on(source, server)
        self.assertEqual('stopped', old['status'])
        self.assertFalse(set(new_wwpns) & set(self.storage_wwpns(old)))
        return new

    def test_cold_migrate_and_confirm(self):
        server = self.boot_on(HOST_1)
        volume_id = self.new_volume_id(1)
        before = self.part_on(HOST_1, server)
        server = self.admin_action(
            server, {'migrate': {'host': HOST_2}}, 'VERIFY_RESIZE')
        self.assertMovedTo(server, volume_id, HOST_1, HOST_2,
                           (2, 4096, 4096))
        # The source keeps its partition, untouched, until the confirm.
        self.assertEqual(before['object-uri'],
                         self.part_on(HOST_1, server)['object-uri'])
        server = self.action(server, {'confirmResize': None}, 'ACTIVE')
        self.assertEqual([cloud.partition_name_on(HOST_2, server['id'])],
                         self.own_partitions())
        self.assertNotIn(before['name'], self.hmc.storage_group_names())
        self.assertEqual('active', self.part_on(HOST_2, server)['status'])
        self.delete(server)
        self.assertEqual([], self.own_partitions())
        self.assertEqual([], self.hmc.storage_group_names())
        self.assertForeignPartitionsUntouched()

    def test_resize_to_other_subset_and_revert(self):
        server = self.boot_on(HOST_1)
        volume_id = self.new_volume_id(1)
        before = self.part_on(HOST_1, server)
        wwpns = self.storage_wwpns(before)
        bigger = self.create_flavor(3, 6144)
        server = self.action(server, {'resize': {'flavorRef': bigger}},
                             'VERIFY_RESIZE')
        self.assertMovedTo(server, volume_id, HOST_1, HOST_2,
                           (3, 6144, 6144))
        server = self.action(server, {'revertResize': None}, 'ACTIVE')
        self.assertAsBefore(server, volume_id, before, wwpns)
        self.assertEqual(2, server['flavor']['vcpus'])
        self.assertEqual(
            [cloud.partition_name_on(HOST_1, server['id'])] *
            (self.HMC_DEFINITION == 'z16'), self.hmc.storage_group_names())

    def test_evacuate_and_source_cleans_up_when_back(self):
        server = self.boot_on(HOST_1)
        volume_id = self.new_volume_id(1)
        self.computes[HOST_1].stop()
        service = self.admin_api.get_services(
            binary='nova-compute', host=HOST_1)[0]
        self.admin_api.put_service_force_down(service['id'], True)
        # The source partition still runs: the destination stops it
        # before it starts its own.
        source = self.part_on(HOST_1, server)
        self.assertEqual('active', source['status'])
        self.simulator.reset_counts()

        self.admin_api.post_server_action(
            server['id'], {'evacuate': {'host': HOST_2}})
        # From microversion 2.95 on, Nova stops an evacuated server after
        # its rebuild (spawn starts it).
        server = self.wait_for_status(server, 'SHUTOFF')
        self.assertEqual(HOST_2, server['OS-EXT-SRV-ATTR:host'])
        new = self.part_on(HOST_2, server)
        self.assertEqual('stopped', self.part_on(HOST_1, server)['status'])
        # In the order the HMC saw them: the source's stop, then the
        # destination's start (and stop).
        self.assertEqual(
            [source['object-uri'] + '/operations/stop',
             new['object-uri'] + '/operations/start',
             new['object-uri'] + '/operations/stop'],
            [uri for uri, _ in self.simulator.sent(
                'POST', '/api/partitions/{id}/operations/st*')])
        self.assertIn('stopping its partition %s (active) before this CPC '
                      'subset starts the instance' % source['name'],
                      self.stdlog.logger.output)
        server = self.start(server)
        new = self.part_on(HOST_2, server)
        self.assertEqual('active', new['status'])
        new_wwpns = self.storage_wwpns(new)
        self.assertEqual(new_wwpns, self.exported_to(volume_id))
        self.assertIsNotNone(self.part_on(HOST_1, server))

        # The source's service comes back: its leftover partition goes,
        # the evacuated instance and its volume stay as they are.
        self.restart_subset(HOST_1)
        self.admin_api.put_service_force_down(service['id'], False)
        self.assertEqual([cloud.partition_name_on(HOST_2, server['id'])],
                         self.own_partitions())
        self.assertEqual(new['object-uri'],
                         self.part_on(HOST_2, server)['object-uri'])
        self.assertEqual('active', self.part_on(HOST_2, server)['status'])
        self.assertEqual(new_wwpns, self.exported_to(volume_id))
        server = self.get_server(server)
        self.assertEqual(('ACTIVE', HOST_2),
                         (server['status'], server['OS-EXT-SRV-ATTR:host']))
        self.assertEqual(
            [volume_id],
            [v['id'] for v in server['os-extended-volumes:volumes_attached']])

    def test_hmc_fault_mid_migration_leaves_subsets_clean(self):
        server = self.boot_on(HOST_1)
        volume_id = self.new_volume_id(1)
        before = self.part_on(HOST_1, server)
        wwpns = self.storage_wwpns(before)
        # The new partition's start fails (HTTP 500).
        self.hmc_server.inject_fault('http500', 'POST', START)
        server = self.move_fails(server, {'migrate': {'host': HOST_2}})
        self.assertEqual([('http500', 'POST', START)],
                         self.simulator.fired_faults)
        self.assertRecoverable(server, volume_id, before, wwpns)


class ShapeHelpers(test_flavors.ShapedSubsets, MoveHelpers):
    """Subsets with dedicated IFLs and the crypto adapters."""

    def domains(self, part):
        """The usage domains of the partition, on which adapters."""
        config = part.get('crypto-configuration') or {}
        return (config.get('crypto-adapter-uris') or [],
                [dc['domain-index'] for dc in
                 config.get('crypto-domain-configurations') or []
                 if dc['access-mode'] == 'control-usage'])

    def shape(self, part):
        return (part['processor-mode'], part['ifl-processors'],
                part.get('initial-ifl-processing-weight'),
                part.get('ifl-absolute-processor-capping'), part['status'])

    def usages(self, host):
        return self._get_provider_usages(self._get_provider_uuid_by_name(host))

    def allocated(self, server):
        """{host: resources} of the server's allocations."""
        hosts = {self._get_provider_uuid_by_name(h): h
                 for h in (HOST_1, HOST_2) if h in self.computes}
        return {hosts[rp]: res for rp, res in self.allocations(server).items()}


class SameSubsetShapeTests(ShapeHelpers):
    """One CPC subset: a resize changes the processor shape and crypto."""

    def setUp(self):
        super().setUp()
        self.flags(allow_resize_to_same_host=True)

    def test_shared_with_weight_to_dedicated_with_crypto_and_revert(self):
        weighted = self.flavor_with({'dpm:processing_weight': '40',
                                     'dpm:absolute_capping': '1.25'})
        server = self.boot_on(HOST_1, flavor_id=weighted)
        volume_id = self.new_volume_id(1)
        before = self.hmc.partition_of(server['id'])
        wwpns = self.storage_wwpns(before)
        self.assertEqual({HOST_1: {'VCPU': 2, 'MEMORY_MB': 4096}},
                         self.allocated(server))
        shaped = self.flavor_with(dict(DEDICATED, **EP11), vcpus=3)
        server = self.action(server, {'resize': {'flavorRef': shaped}},
                             'VERIFY_RESIZE')
        part = self.hmc.partition_of(server['id'])
        self.assertEqual(before['object-uri'], part['object-uri'])
        self.assertEqual(('dedicated', 3, 'active'),
                         (part['processor-mode'], part['ifl-processors'],
                          part['status']))
        # LINUX01 uses domain 0 of CRYPTO-1.
        self.assertEqual(([CRYPTO_1], [1, 2]), self.domains(part))
        # Placement: the instance holds dedicated IFLs (PCPU), the
        # migration the old shared ones until the confirm or revert.
        self.assertEqual({HOST_1: {'PCPU': 3, 'MEMORY_MB': 4096}},
                         self.allocated(server))
        self.assertEqual({'VCPU': 2, 'PCPU': 3, 'MEMORY_MB': 8192},
                         self.usages(HOST_1))

        server = self.action(server, {'revertResize': None}, 'ACTIVE')
        self.assertAsBefore(server, volume_id, before, wwpns)
        part = self.hmc.partition_of(server['id'])
        self.assertEqual(('shared', 2, 40, True, 'active'), self.shape(part))
        self.assertEqual(1.25, part['ifl-absolute-processor-capping-value'])
        self.assertEqual(([], []), self.domains(part))
        self.assertEqual(list(range(1, 85)), self.free_domains(CRYPTO_1))
        self.assertEqual({HOST_1: {'VCPU': 2, 'MEMORY_MB': 4096}},
                         self.allocated(server))
        self.assertEqual({'VCPU': 2, 'PCPU': 0, 'MEMORY_MB': 4096},
                         self.usages(HOST_1))
        self.assertForeignPartitionsUntouched()

    def test_crypto_domains_up_confirm_then_down_revert(self):
        server = self.boot_on(HOST_1, flavor_id=self.flavor_with(EP11))
        more = self.flavor_with(dict(EP11, **{'dpm:crypto_domains': '3'}))
        server = self.action(server, {'resize': {'flavorRef': more}},
                             'VERIFY_RESIZE')
        self.assertEqual(
            ([CRYPTO_1], [1, 2, 3]),
            self.domains(self.hmc.partition_of(server['id'])))
        server = self.action(server, {'confirmResize': None}, 'ACTIVE')
        self.assertEqual(4, self.free_domains(CRYPTO_1)[0])

        fewer = self.flavor_with(dict(EP11, **{'dpm:crypto_domains': '1'}))
        server = self.action(server, {'resize': {'flavorRef': fewer}},
                             'VERIFY_RESIZE')
        part = self.hmc.partition_of(server['id'])
        self.assertEqual((([CRYPTO_1], [1]), 'active'),
                         (self.domains(part), part['status']))
        self.assertEqual([2, 3, 4], self.free_domains(CRYPTO_1)[:3])
        server = self.action(server, {'revertResize': None}, 'ACTIVE')
        part = self.hmc.partition_of(server['id'])
        # The old domains back: they were still free.
        self.assertEqual((([CRYPTO_1], [1, 2, 3]), 'active'),
                         (self.domains(part), part['status']))
        self.delete(server)
        self.assertEqual(list(range(1, 85)), self.free_domains(CRYPTO_1))

    def test_hmc_fault_in_the_new_crypto_leaves_the_old_shape(self):
        server = self.boot_on(HOST_1)
        volume_id = self.new_volume_id(1)
        before = self.hmc.partition_of(server['id'])
        wwpns = self.storage_wwpns(before)
        shaped = self.flavor_with(dict(DEDICATED, **EP11), vcpus=3)
        increase = ('/api/partitions/{id}/operations/'
                    'increase-crypto-configuration')
        self.simulator.inject_fault('http500', 'POST', increase)
        server = self.move_fails(server, {'resize': {'flavorRef': shaped}})
        self.assertEqual([('http500', 'POST', increase)],
                         self.simulator.fired_faults)
        part = self.hmc.partition_of(server['id'])
        self.assertEqual(('shared', 2, 100, False, 'stopped'),
                         self.shape(part))
        self.assertEqual(([], []), self.domains(part))
        self.assertEqual(2, server['flavor']['vcpus'])
        # Recovery: reset the state, reboot.
        self.admin_api.post_server_action(
            server['id'], {'os-resetState': {'state': 'active'}})
        server = self.reboot(self.wait_for_status(server, 'ACTIVE'),
                             hard=True)
        self.assertAsBefore(server, volume_id, before, wwpns)


class TwoSubsetShapeTests(ShapeHelpers):
    """Dedicated IFLs and crypto domains moved to the other subset."""

    def test_cold_migrate_dedicated_revert_then_confirm(self):
        server = self.boot_on(HOST_1, flavor_id=self.flavor_with(DEDICATED))
        before = self.part_on(HOST_1, server)
        server = self.admin_action(
            server, {'migrate': {'host': HOST_2}}, 'VERIFY_RESIZE')
        self.assertEqual('dedicated',
                         self.part_on(HOST_2, server)['processor-mode'])
        server = self.action(server, {'revertResize': None}, 'ACTIVE')
        self.assertEqual([cloud.partition_name_on(HOST_1, server['id'])],
                         self.own_partitions())
        part = self.part_on(HOST_1, server)
        self.assertEqual((before['object-uri'], 'dedicated', 'active'),
                         (part['object-uri'], part['processor-mode'],
                          part['status']))
        self.assertEqual({HOST_1: {'PCPU': 2, 'MEMORY_MB': 4096}},
                         self.allocated(server))
        self.assertEqual({'VCPU': 0, 'PCPU': 0, 'MEMORY_MB': 0},
                         self.usages(HOST_2))

        server = self.admin_action(
            server, {'migrate': {'host': HOST_2}}, 'VERIFY_RESIZE')
        new = self.part_on(HOST_2, server)
        self.assertEqual(('dedicated', 2, 'active'),
                         (new['processor-mode'], new['ifl-processors'],
                          new['status']))
        self.assertEqual('dedicated',
                         self.part_on(HOST_1, server)['processor-mode'])
        self.assertEqual({HOST_2: {'PCPU': 2, 'MEMORY_MB': 4096}},
                         self.allocated(server))
        # The migration holds the source's dedicated IFLs until confirm.
        self.assertEqual({'VCPU': 0, 'PCPU': 2, 'MEMORY_MB': 4096},
                         self.usages(HOST_1))
        server = self.action(server, {'confirmResize': None}, 'ACTIVE')
        self.assertEqual([cloud.partition_name_on(HOST_2, server['id'])],
                         self.own_partitions())
        self.assertEqual({'VCPU': 0, 'PCPU': 0, 'MEMORY_MB': 0},
                         self.usages(HOST_1))
        self.assertEqual({'VCPU': 0, 'PCPU': 2, 'MEMORY_MB': 4096},
                         self.usages(HOST_2))

    def test_cold_migrate_crypto_confirm_then_back_and_revert(self):
        server = self.boot_on(HOST_1, flavor_id=self.flavor_with(EP11))
        self.assertEqual(([CRYPTO_1], [1, 2]),
                         self.domains(self.part_on(HOST_1, server)))
        server = self.admin_action(
            server, {'migrate': {'host': HOST_2}}, 'VERIFY_RESIZE')
        # The source keeps its domains until the confirm.
        self.assertEqual(([CRYPTO_1], [3, 4]),
                         self.domains(self.part_on(HOST_2, server)))
        self.assertEqual(([CRYPTO_1], [1, 2]),
                         self.domains(self.part_on(HOST_1, server)))
        server = self.action(server, {'confirmResize': None}, 'ACTIVE')
        self.assertEqual([1, 2, 5], self.free_domains(CRYPTO_1)[:3])

        server = self.admin_action(
            server, {'migrate': {'host': HOST_1}}, 'VERIFY_RESIZE')
        self.assertEqual(([CRYPTO_1], [1, 2]),
                         self.domains(self.part_on(HOST_1, server)))
        server = self.action(server, {'revertResize': None}, 'ACTIVE')
        # The destination's domains released, the source's kept.
        self.assertEqual([cloud.partition_name_on(HOST_2, server['id'])],
                         self.own_partitions())
        part = self.part_on(HOST_2, server)
        self.assertEqual((([CRYPTO_1], [3, 4]), 'active'),
                         (self.domains(part), part['status']))
        self.assertEqual([1, 2, 5], self.free_domains(CRYPTO_1)[:3])

    def test_no_free_domain_on_the_destination(self):
        # The source holds 84 domains of CRYPTO-1 until a confirm, LINUX01
        # the last one: the destination finds none free.
        crypto = self.flavor_with(dict(EP11, **{'dpm:crypto_domains': '84'}))
        server = self.boot_on(HOST_1, flavor_id=crypto)
        volume_id = self.new_volume_id(1)
        before = self.part_on(HOST_1, server)
        wwpns = self.storage_wwpns(before)
        server = self.move_fails(server, {'migrate': {'host': HOST_2}})
        self.assertIn('no free crypto domain', server['fault']['message'])
        self.assertIsNone(self.part_on(HOST_2, server))
        self.assertEqual([cloud.partition_name_on(HOST_1, server['id'])],
                         self.hmc.storage_group_names())
        self.assertRecoverable(server, volume_id, before, wwpns)
        self.assertEqual(([CRYPTO_1], list(range(1, 85))),
                         self.domains(self.part_on(HOST_1, server)))


class FullDestinationTests(MoveHelpers):
    """HOST_2: one instance and 8192 MiB at most."""

    SUBSET_2_MAX_INSTANCES = 1
    SUBSET_2_MAX_MEMORY = 8192

    def test_resize_beyond_the_other_subset_finds_no_host(self):
        server = self.boot_on(HOST_1)
        before = self.part_on(HOST_1, server)
        huge = self.create_flavor(2, 16384)
        self.simulator.reset_counts()
        try:
            self.api.post_server_action(server['id'],
                                        {'resize': {'flavorRef': huge}})
        except api_client.OpenStackApiException as exc:
            # RPC casts run as calls here: the scheduler's answer reaches
            # the API.
            self.assertRegex(str(exc), 'NoValidHost|No valid host')
        server = self.wait_for_status(server, 'ACTIVE')
        self.assertEqual(HOST_1, server['OS-EXT-SRV-ATTR:host'])
        part = self.part_on(HOST_1, server)
        self.assertEqual(
            (before['object-uri'], 'active', (2, 4096, 4096)),
            (part['object-uri'], part['status'], self.sizes(part)))
        self.assertIsNone(self.part_on(HOST_2, server))
        # Placement refused the destination before any HMC request.
        self.assertEqual(0, self.simulator.count('POST', STOP))
        self.assertEqual(0, self.simulator.count('POST', CREATE_PARTITION))

    def test_migration_to_a_full_subset_fails_cleanly(self):
        self.boot_on(HOST_2, volume_n=2)
        server = self.boot_on(HOST_1)
        volume_id = self.new_volume_id(1)
        before = self.part_on(HOST_1, server)
        wwpns = self.storage_wwpns(before)
        server = self.move_fails(server, {'migrate': {'host': HOST_2}})
        self.assertIn('max_instances', server['fault']['message'])
        self.assertEqual(1, len([n for n in self.own_partitions()
                                 if HOST_2 in n]))
        self.assertIsNone(self.part_on(HOST_2, server))
        self.assertRecoverable(server, volume_id, before, wwpns)


class TestSameSubsetZ13(test_servers.Z13, SameSubsetTests,
                        cloud.DPMCloudTestCase):
    pass


class TestSameSubsetZ16(test_servers.Z16, SameSubsetTests,
                        cloud.DPMCloudTestCase):
    pass


class TestTwoSubsetsZ13(test_servers.Z13, TwoSubsetTests,
                        cloud.SecondSubsetMixin, cloud.DPMCloudTestCase):
    pass


class TestTwoSubsetsZ16(test_servers.Z16, TwoSubsetTests,
                        cloud.SecondSubsetMixin, cloud.DPMCloudTestCase):
    pass


class TestSameSubsetShapeZ16(test_servers.Z16, SameSubsetShapeTests,
                             cloud.DPMCloudTestCase):
    pass


class TestTwoSubsetShapesZ16(test_servers.Z16, TwoSubsetShapeTests,
                             cloud.SecondSubsetMixin,
                             cloud.DPMCloudTestCase):
    pass


class TestFullDestinationZ16(test_servers.Z16, FullDestinationTests,
                             cloud.SecondSubsetMixin,
                             cloud.DPMCloudTestCase):
    pass
