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

"""nova_dpm/shape.py: a resize on one subset changes the whole shape.

The driver's resize methods are called as Nova calls them on one CPC
subset (source and destination the same); the partition is read back from
the simulated HMC. The definitions have CRYPTO-1 (EP11) and CRYPTO-2
(CCA); the active foreign partition LINUX01 uses domain 0 of CRYPTO-1.
"""

from nova.compute import task_states
from nova import objects

from nova_dpm import crypto
from nova_dpm import exception
from nova_dpm import shape
from nova_dpm.simulator import catalog
from nova_dpm.tests.unit import base

CRYPTO_1, CRYPTO_2 = catalog.CRYPTO_ADAPTERS
UPDATE = 'POST /api/partitions/{id}'
INCREASE = 'POST /api/partitions/{id}/operations/increase-crypto-configuration'
DECREASE = 'POST /api/partitions/{id}/operations/decrease-crypto-configuration'
EP11 = 'ep11-coprocessor'

load_tests = base.load_tests


def usage(*domains):
    return [{'domain-index': i, 'access-mode': 'control-usage'}
            for i in domains]


class ShapeTest(base.DriverTestCase):

    definitions = base.PER_DEFINITION
    start_driver = False

    def setUp(self):
        super().setUp()
        self.dpm_flags(max_dedicated_processors=4,
                       physical_crypto_adapters=[CRYPTO_1, CRYPTO_2])
        self.start()
        self.migration = objects.Migration(source_compute=base.HOST,
                                           dest_compute=base.HOST)

    def flavored(self, **specs):
        instance = self.instance()
        instance.flavor.extra_specs = specs
        return instance

    def flavor(self, vcpus=2, **specs):
        flavor = objects.Flavor(id=7, name='dpm.other', vcpus=vcpus,
                                memory_mb=4096, root_gb=0, ephemeral_gb=0,
                                flavorid='7', swap=0, extra_specs=specs)
        return flavor

    def props(self, server):
        return self.faked_partition(server).properties

    def resize(self, server, flavor, power_on=True):
        self.driver.migrate_disk_and_power_off(
            self.context, server, base.HOST, flavor, [])
        server.old_flavor, server.new_flavor = server.flavor, flavor
        server.flavor = flavor
        server.task_state = task_states.RESIZE_FINISH
        self.driver.finish_migration(
            self.context, self.migration, server, '[]', [], None, True, {},
            None, power_on=power_on)

    def revert(self, server):
        server.flavor = server.old_flavor
        server.task_state = task_states.RESIZE_REVERTING
        self.driver.finish_revert_migration(
            self.context, server, [], self.migration, power_on=True)

    def domains(self, server):
        config = self.props(server)['crypto-configuration'] or {}
        return (config.get('crypto-adapter-uris'),
                config.get('crypto-domain-configurations'))

    def test_shared_with_weight_to_dedicated_and_back(self):
        server, _ = self.build(self.flavored(**{
            'dpm:processing_weight': '40', 'dpm:absolute_capping': '1.25'}))
        self.sim.reset_counts()
        self.resize(server, self.flavor(3, **{'hw:cpu_policy': 'dedicated'}))
        props = self.props(server)
        self.assertEqual(('dedicated', 3, 'active'),
                         (props['processor-mode'], props['ifl-processors'],
                          props['status']))
        # One update, while stopped (HMC rule D1); no crypto request.
        self.assertEqual(1, self.sim.count(pattern=UPDATE))
        self.assertEqual([{'ifl-processors': 3, 'initial-memory': 4096,
                           'maximum-memory': 4096,
                           'processor-mode': 'dedicated'}],
                         [body for _, body in self.sim.sent(pattern=UPDATE)])
        self.assertEqual(0, self.sim.count(pattern=INCREASE))
        self.revert(server)
        props = self.props(server)
        self.assertEqual(
            ('shared', 2, 40, True, 1.25, 'active'),
            (props['processor-mode'], props['ifl-processors'],
             props['initial-ifl-processing-weight'],
             props['ifl-absolute-processor-capping'],
             props['ifl-absolute-processor-capping-value'], props['status']))

    def test_weight_and_capping_go_with_a_flavor_without_them(self):
        server, _ = self.build(self.flavored(**{
            'dpm:processing_weight': '40', 'dpm:absolute_capping': '1.25'}))
        self.resize(server, self.flavor(3))
        props = self.props(server)
        self.assertEqual(('shared', 100, False),
                         (props['processor-mode'],
                          props['initial-ifl-processing-weight'],
                          props['ifl-absolute-processor-capping']))

    def test_more_domains_keep_the_old_ones_and_revert_releases(self):
        server, _ = self.build(self.flavored(**{
            'dpm:crypto_domains': '2', 'dpm:crypto_adapter_type': EP11}))
        self.assertEqual(([uri(CRYPTO_1)], usage(1, 2)),
                         self.domains(server))
        self.sim.reset_counts()
        self.resize(server, self.flavor(**{
            'dpm:crypto_domains': '3', 'dpm:crypto_adapter_type': EP11}))
        self.assertEqual(([uri(CRYPTO_1)], usage(1, 2, 3)),
                         self.domains(server))
        self.assertEqual((1, 0), (self.sim.count(pattern=INCREASE),
                                  self.sim.count(pattern=DECREASE)))
        self.assertEqual('1,2', server.system_metadata[shape.OLD_DOMAINS])
        self.sim.reset_counts()
        self.revert(server)
        # Same size, other crypto: the running partition is stopped before
        # its crypto configuration changes, and started again after.
        self.assertEqual(
            ['stop', 'decrease-crypto-configuration', 'start'],
            [u.rsplit('/', 1)[1] for u, _ in self.sim.sent(
                'POST', '/api/partitions/{id}/operations/*')])
        self.assertEqual(([uri(CRYPTO_1)], usage(1, 2)),
                         self.domains(server))
        self.assertNotIn(shape.OLD_DOMAINS, server.system_metadata)
        self.assertEqual('active', self.props(server)['status'])

    def test_other_adapter_type_and_no_crypto(self):
        server, _ = self.build(self.flavored(**{
            'dpm:crypto_domains': '2', 'dpm:crypto_adapter_type': EP11}))
        self.sim.reset_counts()
        self.resize(server, self.flavor(**{
            'dpm:crypto_domains': '1',
            'dpm:crypto_adapter_type': 'cca-coprocessor'}))
        # Domain 1 is free on CRYPTO-2 too: kept; domain 2 released.
        self.assertEqual(([uri(CRYPTO_2)], usage(1)), self.domains(server))
        self.assertEqual((1, 1), (self.sim.count(pattern=INCREASE),
                                  self.sim.count(pattern=DECREASE)))
        self.driver.confirm_migration(self.context, self.migration, server,
                                      [])
        self.assertNotIn(shape.OLD_DOMAINS, server.system_metadata)
        self.resize(server, self.flavor(3))
        self.assertEqual(([], []), self.domains(server))
        self.assertEqual('active', self.props(server)['status'])

    def test_revert_takes_equivalent_domains_when_the_old_are_taken(self):
        server, _ = self.build(self.flavored(**{
            'dpm:crypto_domains': '2', 'dpm:crypto_adapter_type': EP11}))
        self.resize(server, self.flavor(**{
            'dpm:crypto_domains': '1', 'dpm:crypto_adapter_type': EP11}))
        self.assertEqual(([uri(CRYPTO_1)], usage(1)), self.domains(server))
        # Meanwhile another instance takes the released domain 2.
        other, _ = self.build(self.flavored(**{
            'dpm:crypto_domains': '1', 'dpm:crypto_adapter_type': EP11}),
            lun=2)
        self.assertEqual(([uri(CRYPTO_1)], usage(2)), self.domains(other))
        self.revert(server)
        self.assertEqual(([uri(CRYPTO_1)], usage(1, 3)),
                         self.domains(server))
        self.assertEqual('active', self.props(server)['status'])

    def test_revert_takes_the_old_domains_back_where_free(self):
        ep11 = {'dpm:crypto_adapter_type': EP11}
        first, _ = self.build(self.flavored(
            **dict(ep11, **{'dpm:crypto_domains': '1'})), lun=2)
        server, _ = self.build(self.flavored(
            **dict(ep11, **{'dpm:crypto_domains': '2'})))
        self.assertEqual(([uri(CRYPTO_1)], usage(2, 3)),
                         self.domains(server))
        # Domain 1 is free again: lower, but not the partition's.
        self.driver.destroy(self.context, first, [])
        self.resize(server, self.flavor(**dict(
            ep11, **{'dpm:crypto_domains': '1'})))
        self.assertEqual(([uri(CRYPTO_1)], usage(2)), self.domains(server))
        self.revert(server)
        self.assertEqual(([uri(CRYPTO_1)], usage(2, 3)),
                         self.domains(server))

    def test_domains_used_on_the_new_adapter_are_not_kept(self):
        # Another instance uses domains 0 and 1 of CRYPTO-2; the server's
        # domain 1 (on CRYPTO-1) cannot come along to CRYPTO-2.
        other, _ = self.build(self.flavored(**{
            'dpm:crypto_domains': '2',
            'dpm:crypto_adapter_type': 'cca-coprocessor'}), lun=2)
        self.assertEqual(([uri(CRYPTO_2)], usage(0, 1)), self.domains(other))
        server, _ = self.build(self.flavored(**{
            'dpm:crypto_domains': '2', 'dpm:crypto_adapter_type': EP11}))
        self.assertEqual(([uri(CRYPTO_1)], usage(1, 2)),
                         self.domains(server))
        self.resize(server, self.flavor(**{
            'dpm:crypto_domains': '1',
            'dpm:crypto_adapter_type': 'cca-coprocessor'}))
        self.assertEqual(([uri(CRYPTO_2)], usage(2)), self.domains(server))
        self.assertEqual('active', self.props(server)['status'])

    def test_a_failed_decrease_gets_the_old_domains_back(self):
        # A foreign partition uses domain 2 of CRYPTO-2; LINUX01 domain 0
        # of CRYPTO-1.
        cpc = self.driver.subset.cpc
        foreign = cpc.partitions.create({
            'name': 'FOREIGN', 'ifl-processors': 1, 'initial-memory': 1024,
            'maximum-memory': 1024})
        foreign.increase_crypto_config(
            [cpc.adapters.resource_object(CRYPTO_2)], usage(2))
        ep11 = {'dpm:crypto_adapter_type': EP11}
        first, _ = self.build(self.flavored(
            **dict(ep11, **{'dpm:crypto_domains': '1'})), lun=2)
        server, _ = self.build(self.flavored(
            **dict(ep11, **{'dpm:crypto_domains': '2'})))
        self.driver.destroy(self.context, first, [])
        self.assertEqual(([uri(CRYPTO_1)], usage(2, 3)),
                         self.domains(server))
        # To CRYPTO-2: domain 3 is kept, domain 0 added, then the HMC
        # fails the release of CRYPTO-1 and domain 2.
        self.sim.reset_counts()
        self.sim.inject_fault('http500', 'POST', DECREASE)
        self.assertRaises(
            exception.HMCOperationFailed, self.resize, server,
            self.flavor(**{'dpm:crypto_domains': '2',
                           'dpm:crypto_adapter_type': 'cca-coprocessor'}))
        # The increase, and the restore's decrease (the failed one is not
        # performed).
        self.assertEqual([('http500', 'POST', DECREASE[5:])],
                         self.sim.fired_faults)
        self.assertEqual((1, 1), (self.sim.count(pattern=INCREASE),
                                  self.sim.count(pattern=DECREASE)))
        # Its own domains again, not the lowest of those it held then (0,
        # LINUX01's on CRYPTO-1).
        self.assertEqual(([uri(CRYPTO_1)], usage(2, 3)),
                         self.domains(server))
        self.assertEqual('stopped', self.props(server)['status'])
        self.assertNotIn(shape.OLD_DOMAINS, server.system_metadata)

    def test_revert_does_not_start_on_a_domain_taken_meanwhile(self):
        ep11 = {'dpm:crypto_adapter_type': EP11}
        server, _ = self.build(self.flavored(
            **dict(ep11, **{'dpm:crypto_domains': '2'})))
        self.resize(server, self.flavor(**dict(
            ep11, **{'dpm:crypto_domains': '3'})))
        # Meanwhile, on the HMC, an active partition uses domain 1 of
        # CRYPTO-1 too (HMC rule R3: the server's start would fail).
        cpc = self.driver.subset.cpc
        foreign = cpc.partitions.create({
            'name': 'FOREIGN', 'ifl-processors': 1, 'initial-memory': 1024,
            'maximum-memory': 1024})
        foreign.increase_crypto_config(
            [cpc.adapters.resource_object(CRYPTO_1)], usage(1))
        self.sim.set_status(foreign.uri, 'active')
        self.sim.reset_counts()
        exc = self.assertRaises(exception.CPCResourcesShort, self.revert,
                                server)
        self.assertIn('crypto domain(s) 1 in use (control-usage) by '
                      'partition FOREIGN', str(exc))
        self.assertEqual(0, self.sim.count(
            pattern='POST /api/partitions/{id}/operations/start'))
        self.assertEqual(([uri(CRYPTO_1)], usage(1, 2)),
                         self.domains(server))

    def test_no_free_domain_leaves_the_old_shape(self):
        server, _ = self.build(self.flavored(**{
            'dpm:crypto_domains': '2', 'dpm:crypto_adapter_type': EP11}))
        exc = self.assertRaises(
            crypto.CryptoUnavailable, self.resize, server, self.flavor(4, **{
                'dpm:crypto_domains': '85',
                'dpm:crypto_adapter_type': EP11}))
        self.assertIn('asks for 85 on crypto adapter(s) CRYPTO-1, and 84 '
                      'are free', str(exc))
        props = self.props(server)
        self.assertEqual((2, 'stopped'),
                         (props['ifl-processors'], props['status']))
        self.assertEqual(([uri(CRYPTO_1)], usage(1, 2)),
                         self.domains(server))

    def test_adapter_type_the_subset_lacks_leaves_the_old_shape(self):
        # Also for a stopped server, which is not started (and not checked
        # at its start) after the resize.
        for power_on in (True, False):
            server, _ = self.build(lun=1 + power_on)
            exc = self.assertRaises(
                crypto.CryptoUnavailable, self.resize, server,
                self.flavor(4, **{'dpm:crypto_domains': '1',
                                  'dpm:crypto_adapter_type': 'accelerator'}),
                power_on)
            self.assertIn('no accelerator crypto adapter', str(exc))
            props = self.props(server)
            self.assertEqual((2, 'stopped', None),
                             (props['ifl-processors'], props['status'],
                              props.get('crypto-configuration')))


def uri(object_id):
    return '/api/adapters/' + object_id
