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

"""nova_dpm/flavor.py and the dedicated IFLs of a subset.

Extra specs are parsed and refused without the HMC; the partitions the
driver creates from them, the start-up check of [dpm]
max_dedicated_processors and the PCPU inventory are checked on the
simulated HMC.
"""

from nova.compute import provider_tree
from nova import exception as nova_exception
import os_resource_classes as orc
import testtools
import yaml

from nova_dpm import conf as dpm_conf
from nova_dpm import exception
from nova_dpm import flavor
from nova_dpm import simulator
from nova_dpm.tests.unit import base
from nova_dpm.tests.unit import test_conf

CREATE_PARTITION = '/api/cpcs/{id}/partitions'


class ParseTest(base.DriverTestCase):
    """The dpm: extra specs alone (no HMC request is made)."""

    start_driver = False

    def specs_of(self, **specs):
        instance = self.instance()
        instance.flavor.extra_specs = specs
        return flavor.read(instance.flavor)

    def test_processing_weight(self):
        for text, value in (('1', 1), ('999', 999), (' 40 ', 40)):
            self.assertEqual({flavor.PROCESSING_WEIGHT: value},
                             self.specs_of(**{'dpm:processing_weight': text}))
        for text in ('0', '1000', '-5', '1.5', 'heavy', ''):
            exc = self.assertRaises(
                flavor.InvalidExtraSpec, self.specs_of,
                **{'dpm:processing_weight': text})
            self.assertEqual(
                'flavor extra spec dpm:processing_weight=%r: expected an '
                'integer from 1 to 999' % text, exc.format_message())

    def test_absolute_capping(self):
        for text, value in (('0.01', 0.01), ('255', 255.0), ('1.5', 1.5),
                            ('2.25', 2.25)):
            self.assertEqual({flavor.ABSOLUTE_CAPPING: value},
                             self.specs_of(**{'dpm:absolute_capping': text}))
        for text in ('0', '0.001', '255.01', '1.234', 'nan', 'inf', 'x'):
            exc = self.assertRaises(
                flavor.InvalidExtraSpec, self.specs_of,
                **{'dpm:absolute_capping': text})
            self.assertIn('dpm:absolute_capping=%r: expected a number of '
                          'processors from 0.01 to 255 in hundredths' % text,
                          exc.format_message())

    def test_unknown_dpm_spec_is_refused_and_others_are_ignored(self):
        self.assertEqual({}, self.specs_of(**{'hw:cpu_policy': 'shared',
                                              'quota:cpu_shares': '5'}))
        exc = self.assertRaises(flavor.UnknownExtraSpec, self.specs_of,
                                **{'dpm:weight': '5'})
        self.assertEqual('unknown extra spec dpm:weight (known: %s)' %
                         ', '.join(sorted(s[4:] for s in flavor.SPECS)),
                         exc.format_message())


class NovaApiValidatorTest(testtools.TestCase):
    """The validators nova-api loads from the entry point."""

    def validate(self, name, value):
        validators = {v.name: v for v in flavor.register()}
        validators[name].validate(name, value)

    def test_every_dpm_spec_has_a_validator(self):
        self.assertEqual(sorted(flavor.SPECS),
                         sorted(v.name for v in flavor.register()))

    def test_values(self):
        for name, good, bad in (
                (flavor.PROCESSING_WEIGHT, ('1', '999'), ('0', '1000', 'x')),
                (flavor.ABSOLUTE_CAPPING, ('0.01', '255', '1.5'),
                 ('1.234', '-1', 'x')),
                (flavor.CRYPTO_DOMAINS, ('1', '85'), ('0', '86')),
                (flavor.CRYPTO_ADAPTER_TYPE, flavor.CRYPTO_TYPES,
                 ('ep11', 'cca'))):
            for value in good:
                self.validate(name, value)
            for value in bad:
                self.assertRaises(nova_exception.ValidationError,
                                  self.validate, name, value)


class PartitionTest(base.DriverTestCase):
    """The partitions the driver creates from a flavor."""

    definitions = base.PER_DEFINITION

    def setUp(self):
        super().setUp()
        self.dpm_flags(max_dedicated_processors=4)
        self.start()

    def flavored(self, vcpus=2, **specs):
        instance = self.instance(vcpus=vcpus)
        instance.flavor.extra_specs = specs
        return instance

    def test_shared_by_default(self):
        instance, _ = self.build()
        props = self.faked_partition(instance).properties
        self.assertEqual('shared', props['processor-mode'])
        self.assertFalse(props.get('ifl-absolute-processor-capping'))

    def test_dedicated(self):
        instance, _ = self.build(self.flavored(
            3, **{'hw:cpu_policy': 'dedicated'}))
        props = self.faked_partition(instance).properties
        self.assertEqual(('dedicated', 3, 'active'),
                         (props['processor-mode'], props['ifl-processors'],
                          props['status']))

    def test_dedicated_from_the_image(self):
        # nova's hw:cpu_policy comes from the flavor or the image.
        instance = self.flavored(2)
        instance.system_metadata['image_hw_cpu_policy'] = 'dedicated'
        instance, _ = self.build(instance)
        self.assertEqual('dedicated', self.faked_partition(
            instance).properties['processor-mode'])

    def test_weight_and_capping(self):
        instance, _ = self.build(self.flavored(**{
            'dpm:processing_weight': '250', 'dpm:absolute_capping': '0.5'}))
        props = self.faked_partition(instance).properties
        self.assertEqual(
            ('shared', 250, True, 0.5),
            (props['processor-mode'], props['initial-ifl-processing-weight'],
             props['ifl-absolute-processor-capping'],
             props['ifl-absolute-processor-capping-value']))

    def assert_refused_before_the_hmc(self, instance, message):
        exc = self.assertRaises(nova_exception.InstanceUnacceptable,
                                self.driver.prepare_for_spawn, instance)
        self.assertIn(message, exc.format_message())
        self.assertEqual(0, self.sim.count('POST', CREATE_PARTITION))
        self.assertEqual(set(), self.driver.partitions.known())

    def test_tuning_of_dedicated_ifls_is_refused(self):
        for spec, value in (('dpm:processing_weight', '10'),
                            ('dpm:absolute_capping', '1')):
            self.assert_refused_before_the_hmc(
                self.flavored(**{'hw:cpu_policy': 'dedicated', spec: value}),
                'flavor extra spec %s applies to shared IFLs only; '
                'hw:cpu_policy=dedicated asks for dedicated ones' % spec)

    def test_mixed_policy_is_refused(self):
        self.assert_refused_before_the_hmc(
            self.flavored(**{'hw:cpu_policy': 'mixed',
                             'hw:cpu_dedicated_mask': '^0'}),
            "hw:cpu_policy=mixed: a partition's IFLs are all shared or all "
            "dedicated")

    def test_bad_extra_spec_is_refused(self):
        self.assert_refused_before_the_hmc(
            self.flavored(**{'dpm:processing_weight': '0'}),
            "flavor extra spec dpm:processing_weight='0': expected an "
            "integer from 1 to 999")


class DedicatedSubsetTest(base.DriverTestCase):
    """[dpm] max_dedicated_processors: the check at start, the inventory."""

    definitions = base.PER_DEFINITION
    start_driver = False

    def inventory(self):
        tree = provider_tree.ProviderTree()
        tree.new_root(base.HOST, 'rp-uuid')
        self.driver.update_provider_tree(tree, base.HOST)
        return tree.data(base.HOST).inventory

    def test_inventory_has_pcpu(self):
        self.dpm_flags(max_dedicated_processors=6)
        self.start()
        inv = self.inventory()
        self.assertEqual({orc.VCPU, orc.PCPU, orc.MEMORY_MB}, set(inv))
        self.assertEqual({'total': 6, 'min_unit': 1, 'max_unit': 6,
                          'step_size': 1, 'allocation_ratio': 1.0,
                          'reserved': 0}, inv[orc.PCPU])
        self.assertEqual(8, inv[orc.VCPU]['total'])
        self.assertEqual(14, self.driver.get_available_resource(
            base.HOST)['vcpus'])

    def test_dedicated_only_subset(self):
        self.dpm_flags(max_processors=None, max_dedicated_processors=2)
        self.start()
        self.assertEqual({orc.PCPU, orc.MEMORY_MB}, set(self.inventory()))
        instance = self.instance()
        exc = self.assertRaises(nova_exception.InstanceUnacceptable,
                                self.driver.prepare_for_spawn, instance)
        self.assertIn('the flavor asks for shared IFLs; the CPC subset '
                      'offers dedicated ones only ([dpm] max_processors)',
                      exc.format_message())

    def test_shared_only_subset_refuses_a_dedicated_flavor(self):
        self.start()
        self.assertNotIn(orc.PCPU, self.inventory())
        instance = self.instance()
        instance.flavor.extra_specs = {'hw:cpu_policy': 'dedicated'}
        exc = self.assertRaises(nova_exception.InstanceUnacceptable,
                                self.driver.prepare_for_spawn, instance)
        self.assertIn('hw:cpu_policy=dedicated: the CPC subset offers no '
                      'dedicated IFLs ([dpm] max_dedicated_processors)',
                      exc.format_message())

    def test_more_than_the_cpc_has_is_refused(self):
        ifls = self.cpc_definition_of_shipped()['properties'][
            'processor-count-ifl']
        self.dpm_flags(max_dedicated_processors=ifls)
        self.start()
        self.dpm_flags(max_dedicated_processors=ifls + 1)
        self.assert_refused('max_dedicated_processors',
                            '%d exceeds the %d IFL processors CPC CPC1 can '
                            'dedicate (%d IFLs, 0 of them dedicated to other '
                            'partitions)' % (ifls + 1, ifls, ifls))

    def test_ifls_dedicated_to_other_partitions_are_not_free(self):
        def dedicate(data):
            cpc = self.cpc_definition(data)
            ifls = cpc['properties']['processor-count-ifl']
            foreign = cpc['partitions'][0]['properties']
            foreign.update({'processor-mode': 'dedicated',
                            'ifl-processors': ifls - 4})
        self.edit_definition(dedicate)
        self.dpm_flags(max_dedicated_processors=5)
        self.assert_refused('max_dedicated_processors', '5 exceeds the 4 IFL',
                            '44 of them dedicated to other partitions')
        self.dpm_flags(max_dedicated_processors=4)
        self.start()
        self.assertEqual(4, self.inventory()[orc.PCPU]['total'])

    def test_own_dedicated_partitions_count_against_the_option(self):
        self.dpm_flags(max_dedicated_processors=40)
        self.start()
        instance = self.instance(vcpus=40)
        instance.flavor.extra_specs = {'hw:cpu_policy': 'dedicated'}
        self.build(instance)
        # Started again: its own partition does not make the CPC short.
        self.start()
        self.assertEqual(40, self.inventory()[orc.PCPU]['total'])

    def cpc_definition_of_shipped(self):
        with open(simulator.definition_path(self.definition)) as f:
            return self.cpc_definition(yaml.safe_load(f))


class ConfTest(testtools.TestCase):
    """max_processors may be left out when dedicated IFLs are offered."""

    OPTIONS = {'hmc_mock_file': 'z16', 'cpc_object_id': base.CPC_ID,
               'max_memory': 4096}

    def validate(self, **options):
        return dpm_conf.validate(test_conf.load(dict(self.OPTIONS,
                                                     **options)))

    def test_max_processors_required_without_dedicated(self):
        exc = self.assertRaises(exception.InvalidConfiguration,
                                self.validate)
        self.assertIn('[dpm] max_processors', exc.format_message())
        settings = self.validate(max_dedicated_processors=2)
        self.assertEqual((None, 2), (settings.max_processors,
                                     settings.max_dedicated_processors))

    def test_max_dedicated_processors_is_a_positive_count(self):
        exc = self.assertRaises(exception.InvalidConfiguration,
                                self.validate, max_processors=2,
                                max_dedicated_processors=0)
        self.assertIn("[dpm] max_dedicated_processors: '0' is not valid: "
                      "expected a number of IFL processors, at least 1",
                      exc.format_message())


load_tests = base.load_tests
