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

"""nova_dpm/simulator/crypto.py: crypto adapters and domains (R1-R4).

The mock adds whatever Increase Crypto Configuration names, removes
whatever Decrease Crypto Configuration names and starts a partition
whatever domains it shares; the simulator does not.
"""

from nova_dpm.tests.unit.simulator import base

USAGE = 'control-usage'


def domain(index, mode=USAGE):
    return {'domain-index': index, 'access-mode': mode}


class CryptoTest(base.TestCase):

    def adapter(self, env, name='CRYPTO-1'):
        return env.cpc.adapters.find(name=name)

    def test_definitions_have_crypto_adapters_and_a_used_domain(self):
        for definition in ('z13', 'z16'):
            env = self.env(definition=definition)
            adapters = env.cpc.adapters.findall(type='crypto')
            self.assertEqual(['CRYPTO-1', 'CRYPTO-2'],
                             sorted(a.name for a in adapters))
            # LINUX01 uses domain 0 of CRYPTO-1; domain 1 only controls.
            free = env.cpc.get_free_crypto_domains([self.adapter(env)])
            self.assertEqual(list(range(1, 85)), free)
            self.assertEqual(list(range(0, 85)),
                             env.cpc.get_free_crypto_domains(
                                 [self.adapter(env, 'CRYPTO-2')]))

    def test_increase_with_an_adapter_that_is_not_crypto(self):
        # HMC rule R1
        def scenario(env):
            fcp = env.cpc.adapters.find(name='FCP-A')
            env.partition().increase_crypto_config([fcp], [domain(3)])
        self.assertLenientButStrict(scenario, 400, 2)

    def test_increase_with_a_domain_beyond_the_adapters(self):
        # HMC rule R2
        def scenario(env):
            env.partition().increase_crypto_config([self.adapter(env)],
                                                   [domain(85)])
        self.assertLenientButStrict(scenario, 400, 7)

    def test_increase_with_an_unknown_access_mode(self):
        # HMC rule R2
        def scenario(env):
            env.partition().increase_crypto_config(
                [self.adapter(env)], [domain(3, 'usage')])
        self.assertLenientButStrict(scenario, 400, 7)

    def test_start_with_a_usage_domain_of_an_active_partition(self):
        # HMC rule R3: LINUX01 is active and uses domain 0 of CRYPTO-1.
        def scenario(env):
            part = env.partition()
            part.increase_crypto_config([self.adapter(env)], [domain(0)])
            part.start()
        env, exc = self.assertLenientButStrict(scenario, 409)
        self.assertIn('crypto domain(s) 0 in use (control-usage) by '
                      'partition LINUX01', str(exc))
        self.assertEqual('stopped', env.cpc.partitions.find(
            name='inst-1').get_property('status'))

    def start(self, env, part):
        # The guest boots (a partition without a boot device would pause).
        env.sim.force_start_outcome(part.uri, 'active')
        part.start()

    def test_domains_that_do_not_conflict(self):
        env = self.env()
        part = env.partition()
        # Domain 1 of CRYPTO-1 is LINUX01's for control only; domain 0 is
        # free on CRYPTO-2.
        part.increase_crypto_config([self.adapter(env)],
                                    [domain(1), domain(2, 'control')])
        self.start(env, part)
        other = env.partition('inst-2')
        other.increase_crypto_config([self.adapter(env, 'CRYPTO-2')],
                                     [domain(0)])
        self.start(env, other)
        # Stopped partitions hold nothing: a stopped one may share.
        part.stop()
        third = env.partition('inst-3')
        third.increase_crypto_config([self.adapter(env)], [domain(1)])
        self.start(env, third)
        self.assertEqual('active', third.get_property('status'))
        part.decrease_crypto_config([], [2])
        part.pull_full_properties()
        self.assertEqual([domain(1)], part.get_property(
            'crypto-configuration')['crypto-domain-configurations'])

    def test_decrease_leaving_adapters_without_a_usage_domain(self):
        # HMC rule R4: domain 2 only controls.
        def scenario(env):
            part = env.partition()
            part.increase_crypto_config([self.adapter(env)],
                                        [domain(1), domain(2, 'control')])
            part.decrease_crypto_config([], [1])
        env, exc = self.assertLenientButStrict(scenario, 409, 111)
        self.assertEqual(
            [domain(1), domain(2, 'control')],
            env.cpc.partitions.find(name='inst-1').get_property(
                'crypto-configuration')['crypto-domain-configurations'])

    def test_change_of_the_last_usage_domain_to_control(self):
        # HMC rule R4
        def scenario(env):
            part = env.partition()
            part.increase_crypto_config([self.adapter(env)], [domain(1)])
            part.change_crypto_domain_config(1, 'control')
        self.assertLenientButStrict(scenario, 409, 111)

    def test_decrease_of_everything_and_usage_first(self):
        # HMC rule R4 allows what keeps a usage domain, or no adapter.
        env = self.env()
        part = env.partition()
        crypto = self.adapter(env)
        part.increase_crypto_config([crypto], [domain(1), domain(2)])
        part.change_crypto_domain_config(2, 'control')
        part.increase_crypto_config([], [domain(3)])
        part.decrease_crypto_config([], [1])
        part.pull_full_properties()
        self.assertEqual([domain(2, 'control'), domain(3)], part.get_property(
            'crypto-configuration')['crypto-domain-configurations'])
        part.decrease_crypto_config([crypto], [2, 3])
        part.pull_full_properties()
        self.assertEqual(
            {'crypto-adapter-uris': [], 'crypto-domain-configurations': []},
            part.get_property('crypto-configuration'))

    def test_first_increase_without_an_adapter_or_a_usage_domain(self):
        # HMC rule R4: an empty configuration takes its first adapter and
        # its first usage domain in one request.
        for adapters, domains in ((True, []), (False, [domain(1)]),
                                  (True, [domain(1, 'control')])):
            def scenario(env):
                env.partition().increase_crypto_config(
                    [self.adapter(env)] if adapters else [], domains)
            env, exc = self.assertLenientButStrict(scenario, 409, 111)
            self.assertIsNone(env.cpc.partitions.find(
                name='inst-1').get_property('crypto-configuration'))

    def test_decrease_of_the_adapters_leaving_domains(self):
        # HMC rule R4: domains are left without an adapter.
        def scenario(env):
            part = env.partition()
            crypto = self.adapter(env)
            part.increase_crypto_config([crypto], [domain(1)])
            part.decrease_crypto_config([crypto], [])
        env, exc = self.assertLenientButStrict(scenario, 409, 111)
        self.assertIn('without a crypto adapter', str(exc))
