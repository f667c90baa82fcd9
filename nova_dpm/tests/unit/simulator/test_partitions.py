# Copyright 2025 nova-dpm developers
#
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

"""nova_dpm/simulator/partitions.py: partition, HBA and NIC rules.

The mock is lenient, the simulator not.

Each test runs the same scenario against zhmcclient.mock and against the
simulator (see base.TestCase.assertLenientButStrict).
"""

from nova_dpm.tests.unit.simulator import base


class NameTest(base.TestCase):

    def test_duplicate_partition_name_at_create(self):
        # HMC rule C3
        def scenario(env):
            env.partition('dup')
            env.partition('dup')
        self.assertLenientButStrict(scenario, 400, 8)

    def test_duplicate_partition_name_on_rename(self):
        # HMC rule D11
        def scenario(env):
            env.partition('one')
            two = env.partition('two')
            two.update_properties({'name': 'one'})
        self.assertLenientButStrict(scenario, 400, 8)

    def test_duplicate_name_of_existing_partition(self):
        # HMC rule C3: also against partitions from the definition.
        self.assertLenientButStrict(lambda env: env.partition('LINUX01'),
                                    400, 8)

    def test_duplicate_hba_name(self):
        # HMC rule G1
        def scenario(env):
            p = env.partition()
            env.hba(p, 'hba')
            env.hba(p, 'hba', port=base.FCP_B_PORT)
        self.assertLenientButStrict(scenario, 400, 8, definition='z13')

    def test_same_hba_name_in_two_partitions_is_fine(self):
        env = self.env(definition='z13')
        a, b = env.partition('a'), env.partition('b')
        env.hba(a, 'hba')
        env.hba(b, 'hba')
        for p in (a, b):
            self.assertEqual(['hba'], [h.properties['name'] for h in
                                       env.faked(p.uri).hbas.list()])

    def test_duplicate_nic_name(self):
        # HMC rule H1
        def scenario(env):
            p = env.partition()
            env.nic(p, 'eth')
            env.nic(p, 'eth', vswitch=base.VS1)
        self.assertLenientButStrict(scenario, 400, 8)

    def test_partition_name_too_long(self):
        # HMC rule A6
        self.assertLenientButStrict(lambda env: env.partition('x' * 65),
                                    400, 7)

    def test_partition_name_of_64_is_fine(self):
        env = self.env()
        p = env.partition('x' * 64)
        self.assertEqual('x' * 64, env.faked(p.uri).properties['name'])
        self.assertEqual(p.uri, env.cpc.partitions.find(name='x' * 64).uri)

    def test_empty_partition_name(self):
        self.assertLenientButStrict(lambda env: env.partition(''), 400, 7)

    def test_hba_name_too_long(self):
        self.assertLenientButStrict(
            lambda env: env.hba(env.partition(), 'h' * 65), 400, 7,
            definition='z13')

    def test_partition_description_too_long(self):
        # HMC rule A6: description (0-1024)
        self.assertLenientButStrict(
            lambda env: env.partition(description='d' * 1025), 400, 7)
        self.env().partition(description='d' * 1024)

    def test_name_wrong_type(self):
        # (The mock fails with a TypeError of its own here.)
        self.assertHttpError(400, 7, self.env().partition, 42)


class PartitionPropertyTest(base.TestCase):

    def test_processors_not_an_integer(self):
        # HMC rule C10 (type check), C1
        self.assertLenientButStrict(
            lambda env: env.partition(**{'ifl-processors': '2'}), 400, 7)

    def test_processors_boolean_is_not_an_integer(self):
        self.assertLenientButStrict(
            lambda env: env.partition(**{'ifl-processors': True}), 400, 7)

    def test_processors_zero_on_update(self):
        def scenario(env):
            env.partition().update_properties({'ifl-processors': 0})
        self.assertLenientButStrict(scenario, 400, 7)

    def test_both_processor_types(self):
        # HMC rule C2
        self.assertLenientButStrict(
            lambda env: env.partition(**{'cp-processors': 1}), 400, 15)

    def test_initial_memory_above_maximum(self):
        # HMC rule C11 [UNCERTAIN]
        self.assertLenientButStrict(
            lambda env: env.partition(**{'initial-memory': 4096,
                                         'maximum-memory': 2048}), 400, 7)

    def test_initial_memory_above_maximum_on_update(self):
        def scenario(env):
            env.partition().update_properties({'initial-memory': 4096})
        self.assertLenientButStrict(scenario, 400, 7)

    def test_memory_must_be_positive(self):
        self.assertLenientButStrict(
            lambda env: env.partition(**{'initial-memory': 0}), 400, 7)

    def test_processor_mode_enum(self):
        # HMC rule C12
        self.assertLenientButStrict(
            lambda env: env.partition(**{'processor-mode': 'bogus'}), 400, 7)

    def test_boot_device_enum(self):
        # HMC rule D6
        def scenario(env):
            env.partition().update_properties({'boot-device': 'bogus'})
        self.assertLenientButStrict(scenario, 400, 7)

    def test_boot_timeout_range(self):
        # HMC rule C5
        self.assertLenientButStrict(
            lambda env: env.partition(**{'boot-timeout': 5}), 400, 7)
        self.env().partition(**{'boot-timeout': 600})

    def test_boot_os_specific_parameters_length(self):
        # HMC rule D3
        def scenario(env):
            env.partition().update_properties(
                {'boot-os-specific-parameters': 'p' * 257})
        self.assertLenientButStrict(scenario, 400, 7)
        self.env().partition().update_properties(
            {'boot-os-specific-parameters': 'p' * 256})

    def test_boot_lun_hex(self):
        # HMC rule D7
        def scenario(env):
            env.partition().update_properties(
                {'boot-logical-unit-number': 'zz'})
        self.assertLenientButStrict(scenario, 400, 7, definition='z13')

    def test_boot_storage_device_of_other_partition(self):
        # HMC rule D7
        def scenario(env):
            other = env.hba(env.partition('other'))
            env.partition().update_properties(
                {'boot-storage-device': other.uri})
        self.assertLenientButStrict(scenario, 400, 7, definition='z13')

    def test_boot_storage_device_missing(self):
        def scenario(env):
            p = env.partition()
            p.update_properties(
                {'boot-storage-device': p.uri + '/hbas/nothing'})
        self.assertLenientButStrict(scenario, 404, 2, definition='z13')

    def test_boot_storage_volume_not_attached(self):
        # HMC rule D8
        def scenario(env):
            sg = env.group(volumes=[{'usage': 'boot', 'size': 10.0}],
                           ports=())
            sv_uri = sg.get_property('element-uris')[0]
            env.partition().update_properties(
                {'boot-device': 'storage-volume',
                 'boot-storage-volume': sv_uri})
        scenario_ok = self.env()
        # The mock cannot even create a group with volumes (it returns
        # objects instead of URIs), so only the simulator runs it.
        self.assertHttpError(400, 7, scenario, scenario_ok)

    def test_boot_storage_volume_nonexistent(self):
        def scenario(env):
            env.partition().update_properties(
                {'boot-device': 'storage-volume',
                 'boot-storage-volume': '/api/storage-groups/x/'
                                        'storage-volumes/y'})
        self.assertLenientButStrict(scenario, 404, 2)

    def test_boot_device_storage_adapter_needs_feature_off(self):
        # [UNCERTAIN] D7/D8 coupling with the firmware feature
        def scenario(env):
            env.partition().update_properties(
                {'boot-device': 'storage-adapter'})
        self.assertLenientButStrict(scenario, 400, 7, definition='z16')
        env = self.env(definition='z13')
        env.partition().update_properties({'boot-device': 'storage-adapter'})

    def test_unknown_field_on_update(self):
        # HMC rule C10
        def scenario(env):
            env.partition().update_properties({'no-such-property': 1})
        self.assertLenientButStrict(scenario, 400, 6)

    def test_unknown_field_on_create(self):
        self.assertLenientButStrict(
            lambda env: env.partition(**{'no-such-property': 1}), 400, 6)

    def test_read_only_status_on_update(self):
        # HMC rule C9: the mock even changes the status.
        def scenario(env):
            p = env.partition()
            p.update_properties({'status': 'active'})
        self.assertLenientButStrict(scenario, 400, 6)

    def test_read_only_fields_on_update(self):
        for field, value in (('object-id', 'x'), ('hba-uris', []),
                             ('type', 'ssc'), ('reserved-memory', 0)):
            def scenario(env):
                env.partition().update_properties({field: value})
            self.assertLenientButStrict(scenario, 400, 6)

    def test_update_only_field_at_create(self):
        # HMC rule C8 (the mock knows this one too)
        self.assertBothStrict(
            lambda env: env.partition(**{'boot-storage-device': None}),
            400, 6)

    def test_partition_id_unique(self):
        # HMC rule C4
        def scenario(env):
            env.partition(**{'autogenerate-partition-id': False,
                             'partition-id': '01'})
        self.assertLenientButStrict(scenario, 400, 8)

    def test_generated_partition_ids_are_unique(self):
        env = self.env()
        ids = [env.faked(env.partition('p%d' % i).uri)
               .properties['partition-id'] for i in range(5)]
        existing = {'01', '02', '03'}
        self.assertEqual(5, len(set(ids)))
        self.assertFalse(existing & set(ids))

    def test_partition_features_follow_the_cpc(self):
        # HMC rule B3: the mock claims dpm-storage-management everywhere.
        for strict in (False, True):
            env = self.env(strict, 'z13')
            p = env.partition()
            p.pull_full_properties()
            enabled = p.firmware_feature_enabled('dpm-storage-management')
            self.assertEqual(not strict, enabled)


class ActiveStateTest(base.TestCase):

    def _active(self, env):
        p = env.partition()
        env.set_status(p.uri, 'active')
        return p

    def test_maximum_memory_while_active(self):
        # HMC rule D1
        def scenario(env):
            self._active(env).update_properties({'maximum-memory': 4096})
        self.assertLenientButStrict(scenario, 409, 1)

    def test_stop_only_properties_while_active(self):
        for field, value in (('processor-mode', 'dedicated'),
                             ('partition-id', '7f'),
                             ('short-name', 'NEWNAME'),
                             ('autogenerate-partition-id', False)):
            def scenario(env):
                self._active(env).update_properties({field: value})
            self.assertLenientButStrict(scenario, 409, 1)

    def test_updatable_while_active(self):
        # HMC rule D1: these change while active.
        env = self.env()
        p = self._active(env)
        p.update_properties({'ifl-processors': 2, 'description': 'x',
                             'boot-timeout': 120})
        # Sending the current value of a stop-only property is accepted.
        p.update_properties({'maximum-memory': 2048})
        props = env.faked(p.uri).properties
        self.assertEqual((2, 'x', 120, 2048, 'active'),
                         (props['ifl-processors'], props['description'],
                          props['boot-timeout'], props['maximum-memory'],
                          props['status']))

    def test_stop_only_properties_while_stopped(self):
        env = self.env()
        p = env.partition()
        p.update_properties({'maximum-memory': 4096,
                             'processor-mode': 'dedicated'})
        props = env.faked(p.uri).properties
        self.assertEqual((4096, 'dedicated', 'stopped'),
                         (props['maximum-memory'], props['processor-mode'],
                          props['status']))

    def test_update_while_starting(self):
        # HMC rule D2
        def scenario(env):
            p = env.partition()
            env.begin(p, 'start')
            p.update_properties({'description': 'x'})
        self.assertLenientButStrict(scenario, 409, 1)

    def test_hba_create_while_stopping(self):
        # HMC rule E6 (the mock enforces it as well)
        def scenario(env):
            p = env.partition()
            env.set_status(p.uri, 'active')
            env.begin(p, 'stop')
            env.hba(p)
        self.assertBothStrict(scenario, 409, 1, definition='z13')

    def test_nic_delete_while_starting(self):
        def scenario(env):
            p = env.partition()
            nic = env.nic(p)
            env.begin(p, 'start')
            nic.delete()
        self.assertBothStrict(scenario, 409, 1)

    def test_hba_update_while_starting(self):
        def scenario(env):
            p = env.partition()
            hba = env.hba(p)
            env.begin(p, 'start')
            hba.update_properties({'description': 'x'})
        self.assertLenientButStrict(scenario, 409, 1, definition='z13')


class HbaTest(base.TestCase):

    def test_hba_refused_with_storage_management(self):
        # HMC rule B3 (reason [UNCERTAIN])
        self.assertLenientButStrict(lambda env: env.hba(env.partition()),
                                    409, 1, definition='z16')

    def test_device_number_format(self):
        # HMC rule G2
        for devno in ('0000', 'zzzz', '12345', '12'):
            self.assertLenientButStrict(
                lambda env: env.hba(env.partition(),
                                    **{'device-number': devno}),
                400, 7, definition='z13')

    def test_device_number_unique_with_osa_range(self):
        # HMC rules G2, H2: an OSA NIC takes 3 device numbers.
        def scenario(env):
            p = env.partition()
            env.nic(p, **{'device-number': '0100'})
            env.hba(p, **{'device-number': '0102'})
        self.assertLenientButStrict(scenario, 400, 8, definition='z13')
        env = self.env(definition='z13')
        p = env.partition()
        env.nic(p, **{'device-number': '0100'})
        env.hba(p, **{'device-number': '0103'})

    def test_generated_device_number_and_wwpn(self):
        # HMC rules G2, G3
        env = self.env(definition='z13')
        p = env.partition()
        nic = env.nic(p)
        hbas = [env.hba(p, 'h%d' % i) for i in range(3)]
        nic.pull_full_properties()
        used = set()
        first = int(nic.get_property('device-number'), 16)
        used.update(range(first, first + 3))
        wwpns = set()
        for hba in hbas:
            hba.pull_full_properties()
            devno = hba.get_property('device-number')
            wwpn = hba.get_property('wwpn')
            self.assertRegex(devno, '^[0-9a-f]{4}$')
            self.assertNotIn(int(devno, 16), used)
            used.add(int(devno, 16))
            self.assertRegex(wwpn, '^[0-9a-f]{16}$')
            wwpns.add(wwpn)
        self.assertEqual(3, len(wwpns))

    def test_mock_generates_upper_case_wwpn(self):
        env = self.env(False, 'z13')
        hba = env.hba(env.partition())
        hba.pull_full_properties()
        self.assertNotRegex(hba.get_property('wwpn'), '^[0-9a-f]{16}$')

    def test_wwpn_is_read_only(self):
        # HMC rule G3
        self.assertLenientButStrict(
            lambda env: env.hba(env.partition(), wwpn=base.TARGET),
            400, 6, definition='z13')

    def test_adapter_port_is_create_only(self):
        # HMC rule G4
        def scenario(env):
            env.hba(env.partition()).update_properties(
                {'adapter-port-uri': base.FCP_B_PORT})
        self.assertLenientButStrict(scenario, 400, 6, definition='z13')

    def test_adapter_port_must_exist(self):
        # HMC rules A4, G1 (the mock checks this too)
        self.assertBothStrict(
            lambda env: env.hba(env.partition(),
                                port='/api/adapters/nothing/storage-ports/0'),
            404, None, definition='z13')

    def test_reassign_port(self):
        env = self.env(definition='z13')
        hba = env.hba(env.partition())
        hba.reassign_port(env.port(base.FCP_B_PORT))
        self.assertEqual(base.FCP_B_PORT,
                         env.faked(hba.uri).properties['adapter-port-uri'])


class NicTest(base.TestCase):

    def test_nic_gets_device_number_and_mac(self):
        # HMC rules H2, H4: the mock sets neither.
        for strict in (False, True):
            env = self.env(strict)
            nic = env.nic(env.partition())
            nic.pull_full_properties()
            props = nic.properties
            if strict:
                self.assertRegex(props['device-number'], '^[0-9a-f]{4}$')
                self.assertRegex(props['mac-address'],
                                 '^[0-9a-f]{2}(:[0-9a-f]{2}){5}$')
                self.assertEqual('osd', props['type'])
            else:
                self.assertNotIn('mac-address', props)
                self.assertEqual('iqd', props['type'])

    def test_vswitch_must_exist(self):
        # HMC rule H1 (the mock checks it too)
        self.assertBothStrict(
            lambda env: env.nic(env.partition(),
                                vswitch='/api/virtual-switches/nothing'),
            404, None)

    def test_vlan_id_requires_vlan_type(self):
        # HMC rule H3 [UNCERTAIN]
        self.assertLenientButStrict(
            lambda env: env.nic(env.partition(), **{'vlan-id': 10}), 400, 7)
        env = self.env()
        env.nic(env.partition(), **{'vlan-id': 10, 'vlan-type': 'enforced'})

    def test_vlan_id_range(self):
        self.assertLenientButStrict(
            lambda env: env.nic(env.partition(),
                                **{'vlan-id': 5000,
                                   'vlan-type': 'enforced'}), 400, 7)

    def test_osa_port_uri_refused(self):
        # HMC rule H1: an OSA adapter needs the virtual switch.
        def scenario(env):
            body = {'name': 'n', 'network-adapter-port-uri':
                    '/api/adapters/%s/network-ports/0' % base.OSA}
            env.partition().nics.create(body)
        self.assertLenientButStrict(scenario, 400, 7)

    def test_nic_type_is_read_only(self):
        self.assertLenientButStrict(
            lambda env: env.nic(env.partition(), type='osd'), 400, 6)

    def test_delete_disconnects_from_vswitch(self):
        env = self.env()
        nic = env.nic(env.partition())
        vs = env.faked(base.VS0)
        self.assertIn(nic.uri, vs.properties['connected-vnic-uris'])
        nic.delete()
        self.assertNotIn(nic.uri, vs.properties['connected-vnic-uris'])

    def test_nic_update_devno_conflict(self):
        def scenario(env):
            p = env.partition()
            env.nic(p, 'a', **{'device-number': '0200'})
            b = env.nic(p, 'b', **{'device-number': '0300'})
            b.update_properties({'device-number': '0201'})
        self.assertLenientButStrict(scenario, 400, 8)
