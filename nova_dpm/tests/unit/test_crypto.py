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

"""nova_dpm/crypto.py: crypto adapters and domains, on the simulated HMC.

The shipped definitions have two crypto adapters, CRYPTO-1 (EP11) and
CRYPTO-2 (CCA); the active foreign partition LINUX01 uses domain 0 of
CRYPTO-1 for usage and domain 1 for control.
"""

from nova import exception as nova_exception

from nova_dpm import exception
from nova_dpm.simulator import catalog
from nova_dpm.tests.unit import base

CRYPTO_1, CRYPTO_2 = catalog.CRYPTO_ADAPTERS
INCREASE = '/api/partitions/{id}/operations/increase-crypto-configuration'
START = '/api/partitions/{id}/operations/start'


def uri(object_id):
    return '/api/adapters/' + object_id


class CryptoTest(base.DriverTestCase):

    definitions = base.PER_DEFINITION
    start_driver = False

    def setUp(self):
        super().setUp()
        self.dpm_flags(physical_crypto_adapters=[CRYPTO_1, CRYPTO_2])

    def crypto_instance(self, domains='2', kind=None):
        instance = self.instance()
        specs = {'dpm:crypto_domains': domains}
        if kind:
            specs['dpm:crypto_adapter_type'] = kind
        instance.flavor.extra_specs = specs
        return instance

    def crypto_config(self, instance):
        return self.faked_partition(instance).properties[
            'crypto-configuration']

    def usage(self, domains):
        return [{'domain-index': i, 'access-mode': 'control-usage'}
                for i in domains]

    def test_option_is_checked_at_start(self):
        self.dpm_flags(physical_crypto_adapters=[base.FCP_A])
        self.assert_refused('physical_crypto_adapters', 'FCP-A',
                            'a crypto adapter is expected')
        missing = 'c00000ff-0000-4000-8000-0000000000ff'
        self.dpm_flags(physical_crypto_adapters=[CRYPTO_1, missing])
        self.assert_refused('physical_crypto_adapters', missing,
                            'shows no adapter')
        self.dpm_flags(physical_crypto_adapters=[CRYPTO_2])
        self.start()
        self.assertEqual(['CRYPTO-2'],
                         [a.name for a in self.driver.crypto.adapters])

    def test_build_gets_free_domains_of_the_adapters_of_its_type(self):
        self.start()
        instance, _ = self.build(self.crypto_instance('2', 'ep11-coprocessor'))
        # Domain 0 of CRYPTO-1 is LINUX01's: the next two are free.
        self.assertEqual({'crypto-adapter-uris': [uri(CRYPTO_1)],
                          'crypto-domain-configurations': self.usage([1, 2])},
                         self.crypto_config(instance))
        self.assertEqual('active', self.faked_partition(
            instance).properties['status'])
        # A second one gets the next domains, on both adapters (no type).
        second, _ = self.build(self.crypto_instance('1'))
        self.assertEqual({'crypto-adapter-uris': [uri(CRYPTO_1),
                                                  uri(CRYPTO_2)],
                          'crypto-domain-configurations': self.usage([3])},
                         self.crypto_config(second))
        # Deleting the first frees its domains.
        self.driver.destroy(self.context, instance, [])
        cpc = self.driver.subset.cpc
        adapters = self.driver.crypto.adapters[:1]
        self.assertEqual([1, 2, 4], cpc.get_free_crypto_domains(adapters)[:3])

    def test_flavor_without_crypto_makes_no_crypto_request(self):
        self.start()
        self.build()
        self.assertEqual(0, self.sim.count('POST', INCREASE))

    def test_no_free_domain_fails_and_leaves_nothing(self):
        self.start()
        instance = self.crypto_instance('85', 'ep11-coprocessor')
        self.driver.prepare_for_spawn(instance)
        self.boot_bdm(instance)
        exc = self.assertRaises(exception.DPMError,
                                self.driver.get_volume_connector, instance)
        self.assertEqual('no free crypto domain: the flavor asks for 85 on '
                         'crypto adapter(s) CRYPTO-1, and 84 are free',
                         exc.format_message())
        self.assertIsNone(self.faked_partition(instance))
        self.assertEqual(0, self.sim.count('POST', INCREASE))

    def test_failed_build_releases_the_domains(self):
        self.start()
        self.sim.inject_fault('http500', 'POST',
                              '/api/partitions/{id}/operations/start')
        instance = self.crypto_instance('3')
        self.assertRaises(exception.HMCOperationFailed, self.build, instance)
        self.assertIsNone(self.faked_partition(instance))
        free = self.driver.subset.cpc.get_free_crypto_domains(
            self.driver.crypto.adapters)
        self.assertEqual(list(range(1, 85)), free)

    def test_refused_before_the_hmc(self):
        self.dpm_flags(physical_crypto_adapters=[CRYPTO_2])
        self.start()
        for instance, words in (
                (self.crypto_instance('1', 'accelerator'),
                 'the flavor asks for crypto domains and the CPC subset has '
                 'no accelerator crypto adapter ([dpm] '
                 'physical_crypto_adapters)'),
                (self.crypto_instance('0'),
                 "flavor extra spec dpm:crypto_domains='0': expected a "
                 "number of crypto domains from 1 to 85"),
                (self.crypto_instance('2', 'ep11'),
                 "flavor extra spec dpm:crypto_adapter_type='ep11': "
                 "expected one of accelerator, cca-coprocessor, "
                 "ep11-coprocessor")):
            exc = self.assertRaises(nova_exception.InstanceUnacceptable,
                                    self.driver.prepare_for_spawn, instance)
            self.assertIn(words, exc.format_message())
        self.assertEqual(0, self.sim.count('POST',
                                           '/api/cpcs/{id}/partitions'))

    def test_conflict_is_found_before_the_start(self):
        self.start()
        instance, _ = self.build(self.crypto_instance('1'), power_on=False)
        self.assertEqual(self.usage([1]), self.crypto_config(instance)[
            'crypto-domain-configurations'])
        # Meanwhile an active partition outside nova-dpm took domain 1.
        foreign = self.faked_partitions()['ZVM-PROD']
        foreign.properties['crypto-configuration'] = {
            'crypto-adapter-uris': [uri(CRYPTO_2)],
            'crypto-domain-configurations': self.usage([1])}
        starts = self.sim.count('POST', START)
        exc = self.assertRaises(exception.CPCResourcesShort,
                                self.driver.power_on, self.context, instance,
                                [])
        self.assertIn('crypto domain(s) 1 in use (control-usage) by '
                      'partition ZVM-PROD on the same crypto adapter',
                      exc.format_message())
        self.assertEqual(starts, self.sim.count('POST', START))
        # Once ZVM-PROD is stopped, the domain is free to use again.
        self.sim.set_status(foreign.uri, 'stopped')
        self.driver.power_on(self.context, instance, [])
        self.assertEqual('active', self.faked_partition(
            instance).properties['status'])


class Z17CryptoTest(CryptoTest):
    """zhmcclient 1.26 does not know the z17's crypto domains."""

    definitions = None
    definition = 'z17'

    def test_build_gets_free_domains_of_the_adapters_of_its_type(self):
        self.start()
        instance = self.crypto_instance('1')
        self.driver.prepare_for_spawn(instance)
        self.boot_bdm(instance)
        exc = self.assertRaises(exception.DPMError,
                                self.driver.get_volume_connector, instance)
        self.assertIn('the crypto domains of CPC CPC1 are not known: Unknown '
                      'machine type', exc.format_message())
        self.assertIsNone(self.faked_partition(instance))

    test_no_free_domain_fails_and_leaves_nothing = None
    test_failed_build_releases_the_domains = None
    test_conflict_is_found_before_the_start = None


load_tests = base.load_tests
