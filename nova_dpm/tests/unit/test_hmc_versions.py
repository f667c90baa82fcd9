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

"""The driver on older HMCs and SEs, and the subset's reserved resources.

The z13 definition is an HMC 2.13.1 (API 1.7) with a z13 (SE 2.13.1): no
firmware features, no Submit Requests, no List OS Messages, no query
parameters or NIC fields that came later (nova_dpm/simulator/versions.py).
"""

import threading

from nova.compute import provider_tree
from nova import exception as nova_exception
from nova.network import model as network_model
import os_resource_classes as orc
import testscenarios
import testtools

from nova_dpm import exception
from nova_dpm import storage
from nova_dpm.tests.unit import base


class _RawUris(object):
    """Every top-level request with its query string and outcome."""

    def __init__(self, sim):
        self.log = []
        self._orig = sim.request
        self._local = threading.local()
        sim.request = self._request

    def _request(self, method, uri, *args, **kwargs):
        depth = getattr(self._local, 'depth', 0)
        self._local.depth = depth + 1
        status = 'ok'
        try:
            return self._orig(method, uri, *args, **kwargs)
        except Exception as exc:
            status = getattr(exc, 'http_status', type(exc).__name__)
            raise
        finally:
            self._local.depth = depth
            if depth == 0:
                self.log.append((method.upper(), uri, status))


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

    def test_asks_for_nothing_the_hmc_does_not_have(self):
        raw = _RawUris(self.sim)
        server, _c = self.build()
        self.driver.get_available_resource(base.HOST)
        self.driver.get_info(server, use_cache=False)
        self.driver.power_off(server)
        self.driver.power_on(self.context, server, None)
        self.driver.reboot(self.context, server, None, 'SOFT')
        self.driver.trigger_crash_dump(server)
        self.driver.partitions._sizes.clear()
        self.driver.get_available_resource(base.HOST)
        self.driver.destroy(self.context, server, None)
        refused = [r for r in raw.log if r[2] != 'ok']
        self.assertEqual([], refused)
        uris = ' '.join(uri for _m, uri, _s in raw.log)
        self.assertNotIn('aggregation', uris)
        self.assertNotIn('properties=', uris)
        self.assertNotIn('list-os-messages', uris)
        self.assertNotIn('storage-groups', uris)
        self.assertEqual({}, self.sim.jobs)

    def test_status_read_is_one_request(self):
        # Get Partition Properties has no properties filter before API 4.1:
        # one full read, not a refused filtered one and a full one.
        server, _c = self.build()
        self.sim.reset_counts()
        self.driver.get_info(server, use_cache=False)
        self.assertEqual([('GET', '/api/partitions/{id}')],
                         self.sim.requests)

    def test_console_output_of_missing_instance(self):
        # Not found first: the old driver answered NotImplementedError.
        self.assertRaises(nova_exception.InstanceNotFound,
                          self.driver.get_console_output, self.context,
                          self.instance())

    def test_console_output_needs_se_2_14(self):
        server, _c = self.build()
        self.sim.reset_counts()
        exc = self.assertRaises(NotImplementedError,
                                self.driver.get_console_output,
                                self.context, server)
        self.assertIn('SE 2.14.0 or later', str(exc))
        self.assertEqual(0, self.sim.count(
            'GET', '/api/partitions/{id}/operations/list-os-messages'))

    def test_vlan_refused_naming_the_api_version(self):
        vif = self.vif('port-v', 'fa:16:3e:00:00:0c')
        vif['details'][network_model.VIF_DETAILS_VLAN] = 7
        exc = self.assertRaises(exception.InvalidNetwork,
                                self.driver.network.plan, [vif])
        self.assertIn('2.20 or later', exc.format_message())
        self.assertIn('this HMC has 1.7', exc.format_message())


def _hmc(api, se):
    def edit(data):
        data['hmc_definition']['api_version'] = api
        data['hmc_definition']['cpcs'][0]['properties']['se-version'] = se
    return edit


class VlanVersionTest(base.DriverTestCase):
    """NIC vlan-type: HMC API 2.20 (zhmc_nic.py), z14 or later (zhmccli)."""

    definition = 'z13'
    start_driver = False

    def vifs(self):
        vif = self.vif('port-v', 'fa:16:3e:00:00:0c', base.VSWITCH_1)
        vif['details'][network_model.VIF_DETAILS_VLAN] = 101
        return network_model.NetworkInfo([vif])

    def test_api_2_20_with_a_z14(self):
        # The old driver required API 2.23 and refused this.
        self.edit_definition(_hmc('2.20', '2.14.0'))
        self.start()
        server, _c = self.build(network_info=self.vifs())
        nic = self.faked_partition(server).nics.list()[0].properties
        self.assertEqual((101, 'enforced'),
                         (nic['vlan-id'], nic['vlan-type']))

    def test_a_z13_under_a_newer_hmc(self):
        # The old driver sent vlan-type, which such a CPC refuses.
        self.edit_definition(_hmc('2.23', '2.13.1'))
        self.start()
        exc = self.assertRaises(exception.InvalidNetwork,
                                self.driver.network.plan, self.vifs())
        self.assertIn('z14 or later CPC', exc.format_message())
        self.assertIn('this CPC has SE 2.13.1', exc.format_message())


class ReservedTest(base.DriverTestCase):
    """Item: nova's reserved host resources do not apply to a subset."""

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

    def test_nothing_reserved_even_when_set(self):
        self.flags(reserved_host_cpus=2, reserved_host_memory_mb=4096)
        inv = self.inventory()
        self.assertEqual((0, 8), (inv[orc.VCPU]['reserved'],
                                  inv[orc.VCPU]['total']))
        self.assertEqual((0, 32768), (inv[orc.MEMORY_MB]['reserved'],
                                      inv[orc.MEMORY_MB]['total']))


def load_tests(loader, tests, pattern):
    """ReservedTest on both definitions; the others on their own."""
    suite = loader.suiteClass()
    for test in testtools.iterate_tests(tests):
        if isinstance(test, ReservedTest):
            test.scenarios = [('z13', {'definition': 'z13'}),
                              ('z16', {'definition': 'z16'})]
            suite.addTests(testscenarios.generate_scenarios(test))
        else:
            suite.addTest(test)
    return suite
