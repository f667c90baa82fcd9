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

"""Flavors that shape the partition, through the Nova API.

Dedicated IFLs (hw:cpu_policy=dedicated, PCPU in placement), processing
weight and absolute capping of shared IFLs, crypto domains (dpm: extra
specs), and the refusal of a bad extra spec or of a crypto flavor without
free domains, checked on the simulated HMC.
"""

import fixtures
from nova.api.validation.extra_specs import validators
from nova.tests.functional.api import client as api_client

from nova_dpm import flavor as flavor_module
from nova_dpm.simulator import catalog
from nova_dpm.simulator.cloud import nova_cloud as cloud

CREATE_PARTITION = '/api/cpcs/{id}/partitions'
CRYPTO_1, CRYPTO_2 = catalog.CRYPTO_ADAPTERS


class ShapedSubsets(object):
    """Subsets with 4 dedicated IFLs besides the shared, and crypto."""

    MAX_DEDICATED = 4

    def _before_compute_start(self):
        super()._before_compute_start()
        self.flags(group='dpm', max_dedicated_processors=self.MAX_DEDICATED)
        # As the deployment guide says: dedicated flavors are placed on
        # PCPU only, never on VCPU as nova's upgrade fallback would.
        self.flags(group='workarounds', disable_fallback_pcpu_query=True)
        self.flags(group='dpm',
                   physical_crypto_adapters=[CRYPTO_1, CRYPTO_2])

    def flavor_with(self, specs, vcpus=2):
        """A flavor with extra specs that nova-api does not validate.

        Microversion 2.85 is the last without nova-api's validation of
        extra specs: the flavor reaches nova-compute whatever nova-api's
        validators (see test_nova_api_refuses_a_bad_extra_spec).
        """
        name = 'dpm-%d' % len(self.admin_api.get_flavors())
        flavor = self.create_flavor(vcpus, 4096, name=name)
        self.admin_api.microversion = '2.85'
        try:
            self.admin_api.post_extra_spec(flavor, {'extra_specs': specs})
        finally:
            self.admin_api.microversion = 'latest'
        return flavor

    def allocations(self, server):
        return {rp: alloc['resources'] for rp, alloc in
                self._get_allocations_by_server_uuid(server['id']).items()}

    def free_domains(self, adapter):
        """Domains no partition uses for usage on the adapter (the HMC's)."""
        used = set()
        for part in self.hmc.partition_names():
            config = self.hmc.partition(part).get('crypto-configuration')
            if config and adapter in config['crypto-adapter-uris']:
                used |= {dc['domain-index'] for dc in
                         config['crypto-domain-configurations']
                         if dc['access-mode'] == 'control-usage'}
        return [i for i in range(85) if i not in used]


class FlavorTests(ShapedSubsets):
    """A subset with 8 shared and 4 dedicated IFLs."""

    def test_nova_api_refuses_a_bad_extra_spec(self):
        # As where nova-api loads nova-dpm's validators (entry point
        # nova.api.extra_spec_validators).
        self.useFixture(fixtures.MonkeyPatch(
            'nova.api.validation.extra_specs.validators.VALIDATORS',
            dict(validators.VALIDATORS,
                 **{v.name: v for v in flavor_module.register()})))
        flavor = self.create_flavor(2, 4096, name='dpm-validated')
        for specs in ({'dpm:processing_weight': '1000'},
                      {'dpm:crypto_adapter_type': 'ep11'}):
            exc = self.assertRaises(
                api_client.OpenStackApiException,
                self.admin_api.post_extra_spec, flavor,
                {'extra_specs': specs})
            self.assertEqual(400, exc.response.status_code)
            self.assertIn('Validation failed', str(exc))
        self.admin_api.post_extra_spec(flavor, {'extra_specs': {
            'dpm:processing_weight': '999', 'dpm:absolute_capping': '2.5'}})

    def test_inventory_has_shared_and_dedicated_ifls(self):
        inventory = self._get_provider_inventory(self.provider_uuid())
        self.assertEqual(['MEMORY_MB', 'PCPU', 'VCPU'], sorted(inventory))
        self.assertEqual(
            {'total': self.MAX_DEDICATED, 'reserved': 0, 'min_unit': 1,
             'max_unit': self.MAX_DEDICATED, 'step_size': 1,
             'allocation_ratio': 1.0},
            inventory['PCPU'])
        self.assertEqual(self.MAX_PROCESSORS, inventory['VCPU']['total'])

    def test_dedicated_flavor(self):
        flavor = self.flavor_with({'hw:cpu_policy': 'dedicated'}, vcpus=3)
        server = self.boot(flavor_id=flavor)
        part = self.hmc.partition_of(server['id'])
        self.assertEqual(('dedicated', 3, 'active'),
                         (part['processor-mode'], part['ifl-processors'],
                          part['status']))
        rp = self.provider_uuid()
        self.assertEqual({rp: {'PCPU': 3, 'MEMORY_MB': 4096}},
                         self.allocations(server))
        # One more than the dedicated IFLs left: no valid host.
        bigger = self.flavor_with({'hw:cpu_policy': 'dedicated'}, vcpus=2)
        second = self.boot(expected_status='ERROR', flavor_id=bigger,
                           volume_id=self.new_volume_id(2))
        self.assertEqual('No valid host was found. ',
                         second['fault']['message'])
        self.delete(server)
        self.assertNothingOnHmc(server['id'])
        self.assertEqual({'VCPU': 0, 'PCPU': 0, 'MEMORY_MB': 0},
                         self._get_provider_usages(rp))

    def test_weight_and_capping_flavor(self):
        flavor = self.flavor_with({'dpm:processing_weight': '40',
                                   'dpm:absolute_capping': '1.25'})
        server = self.boot(flavor_id=flavor)
        part = self.hmc.partition_of(server['id'])
        self.assertEqual(
            ('shared', 40, True, 1.25),
            (part['processor-mode'], part['initial-ifl-processing-weight'],
             part['ifl-absolute-processor-capping'],
             part['ifl-absolute-processor-capping-value']))
        self.assertEqual({self.provider_uuid(): {'VCPU': 2,
                                                 'MEMORY_MB': 4096}},
                         self.allocations(server))
        self.assertForeignPartitionsUntouched()

    def assertRefused(self, specs, message):
        flavor = self.flavor_with(specs)
        server = self.boot(expected_status='ERROR', flavor_id=flavor)
        self.assertEqual(
            'Build of instance %(id)s aborted: Instance %(id)s is '
            'unacceptable: ' % server + message, server['fault']['message'])
        # Refused before the HMC was asked to create anything.
        self.assertEqual(0, self.simulator.count('POST', CREATE_PARTITION))
        self.assertNothingOnHmc(server['id'])
        self.wait_for_allocations(server, {})

    def test_bad_processing_weight_fails_the_build(self):
        self.assertRefused(
            {'dpm:processing_weight': '1000'},
            "flavor extra spec dpm:processing_weight='1000': expected an "
            "integer from 1 to 999")

    def test_misspelt_extra_spec_fails_the_build(self):
        self.assertRefused(
            {'dpm:processing_wieght': '10'},
            "unknown extra spec dpm:processing_wieght (known: "
            "absolute_capping, crypto_adapter_type, crypto_domains, "
            "processing_weight)")

    def test_capping_of_dedicated_ifls_fails_the_build(self):
        self.assertRefused(
            {'hw:cpu_policy': 'dedicated', 'dpm:absolute_capping': '2'},
            'flavor extra spec dpm:absolute_capping applies to shared IFLs '
            'only; hw:cpu_policy=dedicated asks for dedicated ones')

    def test_crypto_flavor(self):
        flavor = self.flavor_with({'dpm:crypto_domains': '2',
                                   'dpm:crypto_adapter_type':
                                       'ep11-coprocessor'})
        server = self.boot(flavor_id=flavor)
        part = self.hmc.partition_of(server['id'])
        # LINUX01 uses domain 0 of CRYPTO-1: the partition gets 1 and 2.
        self.assertEqual(
            {'crypto-adapter-uris': ['/api/adapters/' + CRYPTO_1],
             'crypto-domain-configurations': [
                 {'domain-index': 1, 'access-mode': 'control-usage'},
                 {'domain-index': 2, 'access-mode': 'control-usage'}]},
            part['crypto-configuration'])
        self.assertEqual('active', part['status'])
        self.assertEqual(3, self.free_domains('/api/adapters/' +
                                              CRYPTO_1)[0])
        self.delete(server)
        self.assertNothingOnHmc(server['id'])
        self.assertEqual(list(range(1, 85)),
                         self.free_domains('/api/adapters/' + CRYPTO_1))
        self.assertForeignPartitionsUntouched()

    def test_no_free_crypto_domain_fails_the_build(self):
        flavor = self.flavor_with({'dpm:crypto_domains': '85',
                                   'dpm:crypto_adapter_type':
                                       'ep11-coprocessor'})
        server = self.boot(expected_status='ERROR', flavor_id=flavor)
        self.assertEqual(
            'Build of instance %s aborted: no free crypto domain: the '
            'flavor asks for 85 on crypto adapter(s) CRYPTO-1, and 84 are '
            'free' % server['id'], server['fault']['message'])
        # The partition made for the volume's connector is gone again.
        self.assertNothingOnHmc(server['id'])
        self.assertEqual([], self.hmc.openstack_partition_names())
        self.wait_for_allocations(server, {})
        self.assertForeignPartitionsUntouched()

    def test_crypto_adapter_type_the_subset_lacks_fails_the_build(self):
        self.assertRefused(
            {'dpm:crypto_domains': '1',
             'dpm:crypto_adapter_type': 'accelerator'},
            'the flavor asks for crypto domains and the CPC subset has no '
            'accelerator crypto adapter ([dpm] physical_crypto_adapters)')


class TestFlavorsInProcess(FlavorTests, cloud.DPMCloudTestCase):
    HMC_TRANSPORT = cloud.IN_PROCESS


class TestFlavorsHttps(FlavorTests, cloud.DPMCloudTestCase):
    """Over HTTPS: the properties as the HMC's JSON carries them."""

    test_inventory_has_shared_and_dedicated_ifls = None
    test_misspelt_extra_spec_fails_the_build = None
    test_capping_of_dedicated_ifls_fails_the_build = None
    test_crypto_adapter_type_the_subset_lacks_fails_the_build = None
    test_nova_api_refuses_a_bad_extra_spec = None
