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

"""Rules that need no HMC: naming, LUNs, connection info, the MAC contract,
the driver interface and how nova loads the driver."""

import inspect
import json
import os

from nova.virt import driver as nova_driver
import testtools

from nova_dpm import driver
from nova_dpm import exception
from nova_dpm import network
from nova_dpm import partition
from nova_dpm import storage

UUID = '6f1a3d43-3f0a-4d51-9f7c-2cbd6a1f3b7e'
VECTORS = os.path.join(os.path.dirname(__file__), 'guest_tools',
                       'vectors.json')


class NamingTest(testtools.TestCase):

    def test_short_host_keeps_the_original_form(self):
        naming = partition.Naming('subset1')
        self.assertEqual('OpenStack-subset1-' + UUID, naming.name(UUID))
        self.assertEqual(UUID, naming.owner_uuid('OpenStack-subset1-' + UUID))

    def test_names_never_exceed_64_characters(self):
        for host in ('a', 'x' * 17, 'x' * 18, 'compute-node-01.example.com',
                     'h' * 255, 'white space', 'we/ird:host'):
            name = partition.Naming(host).name(UUID)
            self.assertLessEqual(len(name), 64, host)
            self.assertRegex(name, r'^[A-Za-z0-9._@#-]+$')
            self.assertEqual(UUID, partition.Naming(host).owner_uuid(name))

    def test_long_hosts_with_a_common_prefix_differ(self):
        a = partition.Naming('compute-node-0001.example.com')
        b = partition.Naming('compute-node-0002.example.com')
        self.assertNotEqual(a.token, b.token)
        self.assertIsNone(a.owner_uuid(b.name(UUID)))
        self.assertIsNone(b.owner_uuid(a.name(UUID)))

    def test_no_subset_claims_another_or_a_foreign_partition(self):
        hosts = ['a', 'a-b', 'a.b', 'axb', 'a-', 'a.*', '.*', 'ab',
                 'abc_0123456789ab', 'x' * 17, 'x' * 18, 'x' * 30]
        names = {h: partition.Naming(h).name(UUID) for h in hosts}
        for host in hosts:
            naming = partition.Naming(host)
            for other, name in names.items():
                owned = naming.owner_uuid(name)
                if other == host:
                    self.assertEqual(UUID, owned)
                else:
                    self.assertIsNone(owned, '%s claims %s' % (host, name))
        naming = partition.Naming('a')
        for foreign in ('LINUX01', 'OpenStack-a-', 'OpenStack-a-' + UUID + 'x',
                        'OpenStack-a-' + UUID.upper(), 'openstack-a-' + UUID,
                        'OpenStack-a-b-' + UUID, 'OpenStack-a-not-a-uuid'):
            self.assertIsNone(naming.owner_uuid(foreign), foreign)

    def test_a_host_that_looks_hashed_is_hashed(self):
        host = 'abcd_0123456789ab'
        self.assertNotEqual(host, partition.host_token(host))

    def test_power_state_of_every_status(self):
        from nova.compute import power_state as ps
        expected = {
            'active': ps.RUNNING, 'degraded': ps.RUNNING,
            'stopped': ps.SHUTDOWN, 'reservation-error': ps.SHUTDOWN,
            'paused': ps.SHUTDOWN, 'terminated': ps.CRASHED,
            'starting': ps.NOSTATE, 'stopping': ps.NOSTATE,
            'communications-not-active': ps.NOSTATE,
            'status-check': ps.NOSTATE,
        }
        for status, state in expected.items():
            self.assertEqual(state, partition.power_state_of(status), status)
        self.assertEqual(ps.NOSTATE, partition.power_state_of('bogus'))


def fc_info(target_lun=1, targets=('500507680b214ac1', '500507680b224ac1'),
            itmap=None, vtype='fibre_channel'):
    data = {'target_wwn': list(targets), 'target_lun': target_lun,
            'volume_id': 'vol-1', 'target_discovered': False}
    if itmap is not None:
        data['initiator_target_map'] = itmap
    return {'driver_volume_type': vtype, 'data': data, 'serial': 'vol-1'}


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


def vif(port_id, mac, vswitch='5e000000-0000-4000-8000-000000000000',
        vif_type='dpm_vswitch', vlan=None):
    return {'id': port_id, 'address': mac, 'type': vif_type,
            'details': {'object_id': vswitch},
            'network': {'meta': {'vlan': vlan} if vlan else {}}}


class NetworkRulesTest(testtools.TestCase):

    def test_driver_writes_the_guest_tools_test_vectors(self):
        with open(VECTORS) as f:
            vectors = json.load(f)
        self.assertGreater(len(vectors), 2)
        for case in vectors:
            entries = [(n['devno'], n['port'], n['mac'])
                       for n in case['nics']]
            self.assertEqual(case['cmdline'],
                             network.boot_parameters(entries))

    def test_device_numbers_leave_room_for_osa_triplets(self):
        self.assertEqual(['0001', '0004', '0007'],
                         network.device_numbers(3))

    def test_device_numbers_avoid_the_storage_paths(self):
        # VSRs the HMC numbered 0005 and 000a: every NIC triple avoids them.
        self.assertEqual(['0001', '0006', '000b'],
                         network.device_numbers(3, {'0005', '000A'}))

    def test_twelve_nics_fit_thirteen_do_not(self):
        vifs = [vif('p%d' % i, 'fa:16:3e:00:00:%02x' % i) for i in range(13)]
        nics = network.plan(vifs[:12])
        value = network.boot_parameters(
            [(d, 3, n.mac) for d, n in zip(network.device_numbers(12),
                                           nics)])
        self.assertEqual(240, len(value))
        exc = self.assertRaises(exception.InvalidNetwork, network.plan, vifs)
        self.assertIn('at most 12', exc.format_message())
        exc = self.assertRaises(
            exception.InvalidNetwork, network.boot_parameters,
            [('0001', 0, 'fa:16:3e:00:00:01')] * 13)
        self.assertIn('the HMC allows 256', exc.format_message())

    def test_unsupported_ports_are_refused(self):
        cases = [
            (vif('p1', 'fa:16:3e:00:00:01', vif_type='ovs'),
             "VIF type 'ovs'; only 'dpm_adapter' and 'dpm_vswitch' work"),
            (vif('p1', 'fa:16:3e:00:00:01', vlan=100), 'on VLAN 100'),
            (vif('p1', 'fa:16:3e:00:00:01', vswitch='vs1'),
             'no virtual switch object_id'),
            (vif('p1', 'not-a-mac'), "'not-a-mac' is not a MAC"),
        ]
        for bad, words in cases:
            exc = self.assertRaises(exception.InvalidNetwork, network.plan,
                                    [bad])
            self.assertIn(words, exc.format_message())
            self.assertIn('p1', exc.format_message())


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


class SessionSettingsTest(testtools.TestCase):
    """How [dpm] options become a zhmcclient session (no connection)."""

    def settings(self, **kw):
        from nova_dpm import conf as dpm_conf
        values = {opt.dest: opt.default for opt in dpm_conf.dpm_opts}
        values.update(hmc_username='nova', hmc_password='secret', **kw)
        return dpm_conf.Settings(**values)

    def session(self, **kw):
        from nova_dpm import hmc
        return hmc.HMC(self.settings(**kw))._make_session()

    def test_ipv6_addresses_are_bracketed(self):
        session = self.session(hmc=['fd00::10', '192.0.2.10', 'hmc.example'])
        self.assertEqual(['[fd00::10]', '192.0.2.10', 'hmc.example'],
                         session._hosts)

    def test_certificate_verification(self):
        self.assertIs(True, self.session(hmc=['h'])._verify_cert)
        self.assertEqual('/etc/ca.pem', self.session(
            hmc=['h'], hmc_ca_bundle='/etc/ca.pem')._verify_cert)
        self.assertIs(False, self.session(
            hmc=['h'], hmc_verify_cert=False,
            hmc_ca_bundle='/etc/ca.pem')._verify_cert)

    def test_timeouts_and_retries(self):
        config = self.session(hmc=['h'], hmc_connect_timeout=7,
                              hmc_connect_retries=2, hmc_read_timeout=90,
                              hmc_operation_timeout=600).retry_timeout_config
        self.assertEqual((7, 2, 90, 600),
                         (config.connect_timeout, config.connect_retries,
                          config.read_timeout, config.operation_timeout))
