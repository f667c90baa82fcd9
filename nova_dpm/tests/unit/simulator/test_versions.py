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

"""HMC and SE versions (simulator/versions.py), reason codes and the rules
that no source supports (relaxed).

The z13 definition is an HMC 2.13.1 with API 1.7: what came later is
refused as such an HMC refuses it, while the mock accepts it.
"""

import os
import tempfile

import yaml

from nova_dpm import simulator
from nova_dpm.tests.unit.simulator import base

SUBMIT = '/api/services/aggregation/submit'


def edited(test, edit, name='z13'):
    """Path of an edited copy of a shipped definition."""
    with open(simulator.definition_path(name)) as f:
        data = yaml.safe_load(f)
    edit(data['hmc_definition'])
    fd, path = tempfile.mkstemp(suffix='.yaml')
    with os.fdopen(fd, 'w') as f:
        yaml.safe_dump(data, f)
    test.addCleanup(os.unlink, path)
    return path


def versions(api, se=None, features=None):
    def edit(hmc):
        hmc['api_version'] = api
        cpc = hmc['cpcs'][0]['properties']
        if se is not None:
            cpc['se-version'] = se
        if features is not None:
            cpc['available-features-list'] = [{
                'name': 'dpm-storage-management',
                'description': 'Support for DPM storage management',
                'state': features}]
    return edit


class OldHmcTest(base.TestCase):
    """What an HMC 2.13.1 (API 1.7) does not have."""

    def test_no_feature_list(self):
        # zhmcclient Cpc.feature_enabled: firmware features from HMC/SE
        # 2.14.0 with API 2.23 on; it raises ValueError without the list.
        env = self.env(definition='z13')
        env.cpc.pull_full_properties()
        self.assertNotIn('available-features-list', env.cpc.properties)
        self.assertRaises(ValueError, env.cpc.feature_enabled,
                          'dpm-storage-management')
        p = env.partition()
        p.pull_full_properties()
        self.assertNotIn('available-features-list', p.properties)
        for later in ('boot-storage-volume', 'secure-boot',
                      'storage-group-uris', 'partition-link-uris'):
            self.assertNotIn(later, p.properties)
        nic = env.faked(env.nic(p).uri).properties
        for later in ('vlan-id', 'vlan-type', 'mac-address'):
            self.assertNotIn(later, nic)
        version = env.session.get('/api/version')
        self.assertEqual((1, 7), (version['api-major-version'],
                                  version['api-minor-version']))

    def test_submit_requests_has_no_version_gate(self):
        # HMC rule N1: no source names the HMC version that brought Submit
        # Requests, and zhmcclient 1.26 sends it for every
        # list(full_properties=True) (HMC rule Z2): an HMC 2.13.1 answers
        # it like any other.
        env = self.env(definition='z13')
        p = env.partition()
        answers = env.session.post(SUBMIT, body={'requests': [
            {'id': '1', 'method': 'GET', 'uri': p.uri}]})
        self.assertEqual([('1', 200, p.name)],
                         [(a['id'], a['status'], a['body']['name'])
                          for a in answers])
        listed = env.cpc.partitions.list(full_properties=True)
        self.assertIn('description', listed[0].properties)
        self.assertEqual(2, env.sim.count('POST', SUBMIT))

    def test_list_os_messages_unknown(self):
        env = self.env(definition='z13')
        p = env.partition()
        self.assertHttpError(404, 1, p.list_os_messages)

    def test_additional_properties_unknown(self):
        self.assertLenientButStrict(
            lambda env: env.cpc.partitions.list(
                additional_properties=['ifl-processors']),
            400, 1, definition='z13')
        self.assertLenientButStrict(
            lambda env: env.cpc.virtual_switches.list(
                additional_properties=['port']),
            400, 1, definition='z13')

    def test_properties_filter_unknown(self):
        def scenario(env):
            p = env.partition()
            env.session.get(p.uri + '?properties=status')
        self.assertLenientButStrict(scenario, 400, 1, definition='z13')
        # Without the filter: all properties, as ever.
        env = self.env(definition='z13')
        self.assertIn('status', env.session.get(env.partition().uri))

    def test_nic_vlan_unknown(self):
        for props in ({'vlan-id': 10},
                      {'vlan-id': 10, 'vlan-type': 'enforced'}):
            self.assertLenientButStrict(
                lambda env: env.nic(env.partition(), **props), 400, 6,
                definition='z13')

    def test_storage_group_operations_unknown(self):
        env = self.env(definition='z13')
        p = env.partition()
        self.assertHttpError(404, 1, env.session.post,
                             p.uri + '/operations/attach-storage-group',
                             body={'storage-group-uri': '/api/storage-'
                                   'groups/x'})
        self.assertHttpError(404, 1, env.session.get, '/api/storage-groups')

    def test_later_partition_fields_unknown(self):
        # boot-load-parameters: API 2.23; secure-boot: SE 2.15.0
        # (zhmc-ansible-modules zhmc_partition.py).
        self.assertLenientButStrict(
            lambda env: env.partition().update_properties(
                {'boot-load-parameters': 'ABC'}), 400, 6, definition='z13')
        env = self.env(definition='z13')
        self.assertHttpError(400, 6, env.partition, 'p2',
                             **{'secure-boot': False})

    def test_newer_hmc_has_them_all(self):
        env = self.env(definition='z16')
        p = env.partition()
        answers = env.session.post(SUBMIT, body={'requests': [
            {'id': '1', 'method': 'GET', 'uri': p.uri}]})
        self.assertEqual([(200, 'inst-1')],
                         [(a['status'], a['body']['name']) for a in answers])
        self.assertEqual({'os-messages': []}, p.list_os_messages())
        parts = env.cpc.partitions.list(
            additional_properties=['ifl-processors'])
        self.assertEqual(1, [x for x in parts if x.uri == p.uri][0]
                         .properties['ifl-processors'])
        switches = env.cpc.virtual_switches.list(
            additional_properties=['port'])
        self.assertEqual([0, 1], sorted(s.properties['port']
                                        for s in switches))
        self.assertEqual({'status': 'stopped'},
                         env.session.get(p.uri + '?properties=status'))
        nic = env.nic(p, **{'vlan-id': 10, 'vlan-type': 'enforced'})
        props = env.faked(nic.uri).properties
        self.assertEqual((10, 'enforced'),
                         (props['vlan-id'], props['vlan-type']))


class SeVersionTest(base.TestCase):
    """A newer HMC with an older CPC, and the feature switched off."""

    def test_vlan_type_needs_a_z14(self):
        # zhmccli nic create: vlan-type "only supported on z14 or later
        # CPCs"; HMC API 2.20 has it (zhmc_nic.py).
        z13_cpc = edited(self, versions('2.20', se='2.13.1'))
        env = self.env(definition=z13_cpc)
        self.assertHttpError(
            400, 6, env.nic, env.partition(),
            **{'vlan-id': 10, 'vlan-type': 'enforced'})
        # There a vlan-id goes alone.
        nic = env.nic(env.partition('p2'), **{'vlan-id': 10})
        self.assertEqual(10, env.faked(nic.uri).properties['vlan-id'])
        z14 = edited(self, versions('2.20', se='2.14.0'))
        env = self.env(definition=z14)
        env.nic(env.partition(), **{'vlan-id': 10, 'vlan-type': 'enforced'})

    def test_list_os_messages_needs_se_2_14(self):
        path = edited(self, versions('2.23', se='2.13.1'))
        env = self.env(definition=path)
        self.assertHttpError(404, 1, env.partition().list_os_messages)

    def test_storage_groups_need_the_feature(self):
        # HMC rule B3: an HMC that has storage groups (API 2.23), for a CPC
        # with the dpm-storage-management feature off (reason UNCERTAIN).
        path = edited(self, versions('2.23', se='2.14.0', features=False))
        self.assertLenientButStrict(lambda env: env.group(ports=()),
                                    409, 1, definition=path)


class FcpDiscoveryVersionTest(base.TestCase):
    """Start FCP Storage Discovery: HMC 2.14.1 (API 2.37), SE 2.14.1."""

    def test_discovery_needs_hmc_and_se_2_14_1(self):
        # The plain mock has no discovery at all (404 on every version);
        # the simulator has it from API 2.37 with an SE 2.14.1 on.
        for api, se, known in (('2.25', '2.14.0', False),
                               ('2.36', '2.14.1', False),
                               ('2.37', '2.14.0', False),
                               ('2.37', '2.14.1', True)):
            path = edited(self, versions(api, se=se), name='z16')
            for strict in (False, True):
                sg = self.env(strict, path).group(ports=())
                if strict and known:
                    sg.discover_fcp(wait_for_completion=True)
                else:
                    self.assertHttpError(404, 1, sg.discover_fcp)


class ReasonCodeTest(base.TestCase):
    """IBM, "Common request validation reason codes"."""

    def test_unknown_field_is_6(self):
        self.assertLenientButStrict(
            lambda env: env.nic(env.partition(), bogus=1), 400, 6)
        self.assertLenientButStrict(
            lambda env: env.hba(env.partition(), bogus=1), 400, 6,
            definition='z13')

    def test_duplicate_is_8(self):
        env = self.env()
        env.partition('same')
        self.assertHttpError(400, 8, env.partition, 'same')


class RelaxedRulesTest(base.TestCase):
    """What no source forbids is accepted (the old simulator refused it)."""

    def test_any_characters_in_names(self):
        env = self.env()
        p = env.partition('a/b: ü')
        env.nic(p, 'eth/0')
        env.hba(self.env(definition='z13').partition('x/y'), 'h/1')
        # The length is still checked (HMC rule A6).
        self.assertHttpError(400, 7, env.partition, 'n' * 65)

    def test_boot_wwpn_and_lun_of_either_case(self):
        env = self.env(definition='z13')
        p = env.partition()
        hba = env.hba(p)
        p.update_properties({
            'boot-device': 'storage-adapter',
            'boot-storage-device': hba.uri,
            'boot-world-wide-port-name': base.TARGET.upper(),
            'boot-logical-unit-number': base.LUN.upper()})
        # Still 16 hexadecimal characters.
        self.assertHttpError(400, 7, p.update_properties,
                             {'boot-logical-unit-number': 'zz'})

    def test_fields_a_source_allows_at_create(self):
        # zhmc-ansible-modules zhmc_partition.py: create True.
        env = self.env()
        env.partition('p1', **{'boot-configuration-selector': 1})
        env.partition('p2', **{'boot-record-lba': '0'})
        env.partition('p3', **{'secure-boot': True})
        self.assertTrue(env.faked(env.cpc.partitions.find(
            name='p3').uri).properties['secure-boot'])

    def test_update_only_fields_still_refused_at_create(self):
        # zhmc-ansible-modules zhmc_partition.py: create False; zhmccli
        # partition create has no option for them.
        for field, value in (('boot-os-specific-parameters', 'x'),
                             ('boot-load-parameters', 'A'),
                             ('boot-logical-unit-number', base.LUN)):
            # The mock refuses them too.
            self.assertBothStrict(
                lambda env: env.partition(**{field: value}), 400, 6)
