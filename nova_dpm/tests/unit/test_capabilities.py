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

"""The capabilities map: every gate against simulated HMCs of each level.

Each gate is asked of the shipped definitions (z13: HMC 2.13.1, API 1.7,
SE 2.13.1, no feature list; z16: API 4.10, SE 2.16.0; z17: API 4.10, SE
2.17.0, Network Express) and of edited ones at the levels in between
(HMC 2.14.0, 2.14.1 and 2.15.0). Where the simulated HMC enforces the
same version (its versions.py tables, HMC rules V1-V8), the gate's
answer is checked against what the simulated HMC does with the request.
"""

import os
import tempfile

import testtools
import yaml
import zhmcclient

from nova_dpm import capabilities as caps
from nova_dpm import conf as dpm_conf
from nova_dpm import hmc
from nova_dpm import simulator
from nova_dpm.simulator import catalog
from nova_dpm.simulator import versions

# (definition, API version, SE version): the HMC levels asked.
LEVELS = {
    'z13': ('z13', None, None),
    'hmc-2.14.0': ('z16', '2.25', '2.14.0'),
    'hmc-2.14.1': ('z16', '2.37', '2.14.1'),
    'hmc-2.15.0': ('z16', '3.4', '2.15.0'),
    'z16': ('z16', None, None),
    'z17': ('z17', None, None),
}

# What each level can do, gate by gate.
EXPECTED = {
    caps.ADDITIONAL_PROPERTIES: {'z16', 'z17'},
    caps.PROPERTIES_FILTER: {'z16', 'z17'},
    caps.AGGREGATION: {'z16', 'z17'},
    caps.OS_MESSAGES: {'hmc-2.14.0', 'hmc-2.14.1', 'hmc-2.15.0', 'z16',
                       'z17'},
    caps.FCP_DISCOVERY: {'hmc-2.14.1', 'hmc-2.15.0', 'z16', 'z17'},
    caps.VLAN: {'hmc-2.14.0', 'hmc-2.14.1', 'hmc-2.15.0', 'z16', 'z17'},
    caps.API_FEATURES: {'z16', 'z17'},
    caps.STORAGE_MANAGEMENT: {'hmc-2.14.0', 'hmc-2.14.1', 'hmc-2.15.0',
                              'z16', 'z17'},
    caps.NETWORK_EXPRESS: {'z17'},
}


def _settings(mock_file):
    values = {opt.dest: opt.default for opt in dpm_conf.dpm_opts}
    values.update(hmc_username='nova', hmc_password='secret',
                  hmc_mock_file=mock_file)
    return dpm_conf.Settings(**values)


class GatesTest(testtools.TestCase):

    def connect(self, level):
        """An HMC of that level after start: its capabilities known."""
        name, api, se = LEVELS[level]
        path = name
        if api is not None:
            with open(simulator.definition_path(name)) as f:
                data = yaml.safe_load(f)
            data['hmc_definition']['api_version'] = api
            data['hmc_definition']['cpcs'][0]['properties'][
                'se-version'] = se
            fd, path = tempfile.mkstemp(suffix='.yaml')
            with os.fdopen(fd, 'w') as f:
                yaml.safe_dump(data, f)
            self.addCleanup(os.unlink, path)
        connection = hmc.HMC(_settings(path))
        connection.api_version()
        cpc = connection.cpc(catalog.CPC_ID)
        connection.adopt_cpc(cpc)
        return connection, cpc

    def test_every_gate_has_a_rule_a_source_and_expectations(self):
        self.assertEqual(set(caps.GATES), set(EXPECTED))
        for name, gate in caps.GATES.items():
            self.assertTrue(gate.rule and gate.source, name)
            self.assertTrue(caps.Capabilities.needs(name), name)

    def test_each_gate_at_each_level(self):
        for level in LEVELS:
            connection, _cpc = self.connect(level)
            for name, expected in EXPECTED.items():
                self.assertEqual(level in expected,
                                 connection.capabilities.can(name),
                                 '%s at %s' % (name, level))

    def probe(self, connection, method, uri, body=None):
        """Whether the simulated HMC accepts the request (404/400: no)."""
        try:
            if method == 'GET':
                connection.session.get(uri)
            else:
                connection.session.post(uri, body=body)
        except zhmcclient.HTTPError as exc:
            if exc.http_status in (400, 404):
                return False
            raise
        return True

    def test_gates_agree_with_what_the_hmc_does(self):
        for level in LEVELS:
            connection, cpc = self.connect(level)
            can = connection.capabilities.can
            partition = cpc.partitions.list()[0]
            probes = {
                caps.ADDITIONAL_PROPERTIES: (
                    'GET', cpc.uri + '/partitions?additional-properties='
                    'status'),
                caps.PROPERTIES_FILTER: (
                    'GET', partition.uri + '?properties=status'),
                caps.OS_MESSAGES: (
                    'GET', partition.uri + '/operations/list-os-messages'),
            }
            for name, (method, uri) in probes.items():
                self.assertEqual(can(name),
                                 self.probe(connection, method, uri),
                                 '%s at %s' % (name, level))

    def test_gates_are_the_simulated_hmcs(self):
        # OPERATIONS: (method, path, API, SE, what, source); BODY_FIELDS:
        # (method, path, field, API, SE, source).
        ops = {entry[4]: entry[2:4] for entry in versions.OPERATIONS}
        fields = {entry[2]: entry[3:5] for entry in versions.BODY_FIELDS}
        for name, (api, se) in (
                (caps.FCP_DISCOVERY, ops['Start FCP Storage Discovery']),
                (caps.OS_MESSAGES, ops['List OS Messages']),
                (caps.VLAN, fields['vlan-type'])):
            gate = caps.GATES[name]
            self.assertEqual((api, versions.parse(se)), (gate.api, gate.se),
                             name)

    def test_network_express_reads_the_api_features_once(self):
        connection, cpc = self.connect('z17')
        sim = connection.session.simulator
        sim.reset_counts()
        self.assertTrue(connection.capabilities.can(caps.NETWORK_EXPRESS))
        self.assertTrue(connection.capabilities.can(caps.NETWORK_EXPRESS))
        self.assertEqual(1, sim.count(
            'GET', '/api/cpcs/{id}/operations/list-features'))

    def test_no_api_feature_request_below_4_10(self):
        connection, cpc = self.connect('hmc-2.15.0')
        sim = connection.session.simulator
        sim.reset_counts()
        self.assertFalse(connection.capabilities.can(caps.NETWORK_EXPRESS))
        self.assertEqual(0, sim.count(
            'GET', '/api/cpcs/{id}/operations/list-features'))


class UnknownVersionsTest(testtools.TestCase):
    """Before the HMC has answered, or without an SE version."""

    def test_nothing_known(self):
        nothing = caps.Capabilities()
        for name in caps.GATES:
            self.assertEqual(name == caps.FCP_DISCOVERY, nothing.can(name),
                             name)

    def test_shortfalls_name_what_is_missing(self):
        old = caps.Capabilities((2, 19), '2.13.1')
        self.assertEqual([('SE', '2.14.0', '2.13.1'), ('API', '2.20', '2.19')],
                         old.shortfalls(caps.OS_MESSAGES))
        self.assertEqual([('SE', '2.14.0', 'unknown')],
                         caps.Capabilities((2, 20)).shortfalls(caps.VLAN))
        self.assertEqual([('feature', 'dpm-storage-management', 'off')],
                         old.shortfalls(caps.STORAGE_MANAGEMENT))
        self.assertEqual('API 2.37, SE 2.14.1',
                         caps.Capabilities.needs(caps.FCP_DISCOVERY))


class VersionsTest(testtools.TestCase):

    def test_parse(self):
        self.assertEqual((2, 14, 1), caps.parse_version('2.14.1'))
        self.assertEqual((4, 10), caps.parse_version('4.10'))
        self.assertEqual((2, 14), caps.parse_version('2.14.x'))
        self.assertEqual((), caps.parse_version(''))
        self.assertIsNone(caps.parse_version(None))

    def test_version_int_is_novas_hypervisor_version(self):
        self.assertEqual(2015000, caps.version_int('2.15.0'))
        self.assertEqual(2016001, caps.version_int('2.16.1'))
        self.assertEqual(2000000, caps.version_int('2'))
        self.assertEqual(0, caps.version_int('0'))
