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

"""nova_dpm/cmd/check.py: nova-dpm-check on the simulated HMC definitions.

Every test writes a nova.conf, runs ``main(['--config-file', ...])`` in
process and reads the table it prints: on z13, z16 and z17 (adapter ports
instead of virtual switches), every bad option reported at once, and logon,
TLS and permissions against the simulated HMC served over HTTPS. ``main``
parses into a fresh ConfigOpts, so nothing is left in nova's global CONF
between tests.
"""

import collections
import io
import os
import shutil
import tempfile
from unittest import mock

import fixtures
import testtools
import yaml
import zhmcclient

from nova_dpm.cmd import check
from nova_dpm import conf as dpm_conf
from nova_dpm import driver
from nova_dpm import simulator
from nova_dpm.simulator import certs
from nova_dpm.simulator import server as server_module
from nova_dpm.tests.unit import base

Row = collections.namedtuple('Row', ['check', 'result', 'detail'])

CPC_CHECKS = ['DPM mode', 'CPC status', 'processors', 'memory',
              'storage backend']
ALL_CHECKS = (['configuration', 'TLS verification', 'HMC logon',
               'CPC found'] + CPC_CHECKS +
              ['adapter mapping 1', 'adapter mapping 2', 'init_host',
               'virtual switch', 'partitions'])
OTHER_CPC = 'c1a2b3c4-d5e6-4f70-8a91-000000000000'
OWN_1 = 'OpenStack-%s-1f1a3d43-3f0a-4d51-9f7c-2cbd6a1f3b7e' % base.HOST
OWN_2 = 'OpenStack-%s-2f1a3d43-3f0a-4d51-9f7c-2cbd6a1f3b7e' % base.HOST
FOREIGN = 'OpenStack-subset10-6f1a3d43-3f0a-4d51-9f7c-2cbd6a1f3b7e'


def _partition(name, status):
    oid = name[-36:]
    return {'properties': {
        'object-id': oid, 'name': name, 'description': '', 'type': 'linux',
        'status': status, 'short-name': oid[:8].upper(),
        'partition-id': oid[:2], 'autogenerate-partition-id': False,
        'ifl-processors': 2, 'cp-processors': 0, 'processor-mode': 'shared',
        'initial-memory': 4096, 'maximum-memory': 4096,
        'reserved-memory': 0, 'reserve-resources': False,
        'boot-device': 'none', 'boot-timeout': 60,
        'boot-os-specific-parameters': '', 'boot-storage-device': None,
        'boot-storage-volume': None, 'boot-network-device': None,
        'boot-logical-unit-number': '', 'boot-world-wide-port-name': '',
        'acceptable-status': ['active'], 'has-unacceptable-status': False,
        'initial-ifl-processing-weight': 100,
        'initial-cp-processing-weight': 100,
        'available-features-list': [], 'os-name': '', 'os-type': '',
        'os-version': ''}}


class CheckTestCase(testtools.TestCase):

    definition = 'z13'

    def setUp(self):
        super().setUp()
        self.logger = self.useFixture(fixtures.FakeLogger(level='WARNING'))
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.default = {'host': base.HOST}
        self.dpm = {
            'hmc_mock_file': self.definition,
            'hmc_password': base.PASSWORD,
            'cpc_object_id': base.CPC_ID,
            'max_processors': '8',
            'max_memory': '32768',
        }
        self.mappings = ['%s:0' % base.FCP_A, '%s:0' % base.FCP_B]

    # -- helpers -----------------------------------------------------------

    def write_conf(self):
        lines = ['[DEFAULT]']
        lines += ['%s = %s' % item for item in self.default.items()]
        lines.append('[dpm]')
        lines += ['%s = %s' % item for item in self.dpm.items()
                  if item[1] is not None]
        lines += ['physical_storage_adapter_mappings = %s' % m
                  for m in self.mappings]
        path = os.path.join(self.tmp, 'nova.conf')
        with open(path, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        return path

    def edit_definition(self, edit):
        with open(simulator.definition_path(self.definition)) as f:
            data = yaml.safe_load(f)
        edit(data)
        path = os.path.join(self.tmp, 'hmc.yaml')
        with open(path, 'w') as f:
            yaml.safe_dump(data, f)
        self.dpm['hmc_mock_file'] = path

    def edit_cpc(self, **properties):
        properties = {k.replace('_', '-'): v for k, v in properties.items()}
        self.edit_definition(lambda d: base.DriverTestCase.cpc_definition(
            d)['properties'].update(properties))

    def run_check(self, expected_rc, argv=None):
        """Run main(); return the rows {check: [Row]} and the output."""
        out = io.StringIO()
        self.useFixture(fixtures.MonkeyPatch('sys.stdout', out))
        if argv is None:
            argv = ['--config-file', self.write_conf()]
        rc = check.main(argv)
        self.output = out.getvalue()
        self.addOnException(lambda exc_info: self.addDetail(
            'stdout', testtools.content.text_content(self.output)))
        self.assertEqual(expected_rc, rc)
        self.assertNotIn(base.PASSWORD, self.output)
        self.assertNotIn(base.PASSWORD, self.logger.output)
        self.rows = self.parse(self.output)
        return self.rows

    @staticmethod
    def parse(output):
        rows = collections.OrderedDict()
        lines = output.splitlines()
        start = lines.index(next(x for x in lines if x.startswith('-----')))
        width = check.NAME_WIDTH + 1
        for line in lines[start + 1:]:
            if not line:
                break
            row = Row(line[:width].strip(),
                      line[width:width + check.RESULT_WIDTH].strip(),
                      line[width + check.RESULT_WIDTH + 1:])
            rows.setdefault(row.check, []).append(row)
        return rows

    def row(self, name):
        self.assertIn(name, self.rows)
        return self.rows[name][0]

    def assert_row(self, name, result, *words):
        row = self.row(name)
        self.assertEqual(result, row.result, row.detail)
        for word in words:
            self.assertIn(word, row.detail)
        return row

    def assert_skipped(self, names, reason):
        for name in names:
            self.assert_row(name, check.SKIPPED, reason)

    def assert_only_failures(self, *names):
        failed = [r.check for rows in self.rows.values() for r in rows
                  if r.result == check.FAIL]
        self.assertEqual(sorted(names), sorted(failed))
        self.assertIn('FAILED', self.output)


class CheckTest(CheckTestCase):
    """Runs on both definitions (see the subclasses at the end)."""

    def test_all_checks_pass(self):
        rows = self.run_check(0)
        self.assertEqual(ALL_CHECKS, list(rows))
        for row_list in rows.values():
            for row in row_list:
                self.assertIn(row.result, (check.PASS, check.INFO), row)
        z16 = self.definition == 'z16'
        self.assertIn('SIMULATED HMC (%s)' % self.definition, self.output)
        self.assertIn('CPC subset %s' % base.HOST, self.output)
        self.assert_row('configuration', check.PASS, 'simulated HMC',
                        'max_processors 8', 'max_memory 32768 MiB',
                        '2 storage path(s)')
        self.assert_row('TLS verification', check.INFO, 'simulated')
        self.assert_row('HMC logon', check.PASS, 'simulated HMC',
                        'API version %s' % ('4.10' if z16 else '1.7'))
        self.assert_row('CPC found', check.PASS, 'CPC1', base.CPC_ID,
                        'machine type %s' % ('3931' if z16 else '2964'),
                        'SE version %s' % ('2.16.0' if z16 else '2.13.1'))
        self.assert_row('DPM mode', check.PASS, 'DPM mode')
        self.assert_row('CPC status', check.PASS, 'active')
        self.assert_row('processors', check.PASS, '8 <= 48 IFL')
        self.assert_row('memory', check.PASS, '32768 MiB <= 1048576 MiB')
        self.assert_row('storage backend', check.INFO,
                        'storage groups' if z16 else 'HBAs')
        self.assert_row('adapter mapping 1', check.PASS, base.FCP_A,
                        'FCP-A', 'type fcp', 'port 0')
        self.assert_row('adapter mapping 2', check.PASS, 'FCP-B')
        self.assert_row('init_host', check.PASS, 'nova-compute would start',
                        'storage groups' if z16 else 'HBAs')
        vswitches = rows['virtual switch']
        self.assertIn('2 virtual switch(es)', vswitches[0].detail)
        self.assertIn(base.VSWITCH_0, vswitches[1].detail)
        self.assertIn('adapter OSA-1 port 0', vswitches[1].detail)
        self.assertIn('adapter OSA-1 port 1', vswitches[2].detail)
        self.assert_row('partitions', check.PASS, '0 partition(s)',
                        'OpenStack-%s-' % base.HOST,
                        'no [dpm] max_instances limit')
        self.assertIn('OK (', self.output)

    def test_bad_option_value(self):
        self.dpm['max_processors'] = '0'
        self.run_check(1)
        self.assert_row('configuration', check.FAIL,
                        '[dpm] max_processors', 'at least 1')
        self.assert_skipped(
            [c for c in ALL_CHECKS[1:] if not c.startswith('adapter')] +
            ['adapter mapping'], 'configuration failed')
        self.assert_only_failures('configuration')

    def test_required_option_missing(self):
        self.dpm['cpc_object_id'] = None
        self.run_check(1)
        self.assert_row('configuration', check.FAIL,
                        '[dpm] cpc_object_id', 'required')

    def test_configuration_file_missing(self):
        missing = os.path.join(self.tmp, 'missing.conf')
        self.run_check(1, ['--config-file', missing])
        self.assert_row('configuration', check.FAIL, missing)
        self.assert_skipped(['HMC logon', 'CPC found', 'partitions'],
                            'configuration failed')

    def test_simulated_definition_missing(self):
        self.dpm['hmc_mock_file'] = os.path.join(self.tmp, 'none.yaml')
        self.run_check(1)
        self.assert_row('HMC logon', check.FAIL, 'none.yaml', 'not found')
        self.assert_skipped(['CPC found', 'init_host', 'partitions'],
                            'no HMC connection')
        self.assert_only_failures('HMC logon')

    def test_cpc_not_found(self):
        self.dpm['cpc_object_id'] = OTHER_CPC
        self.run_check(1)
        self.assert_row('CPC found', check.FAIL, 'shows no CPC', OTHER_CPC)
        self.assert_skipped(CPC_CHECKS + ['adapter mapping 1',
                                          'virtual switch', 'partitions'],
                            'the CPC was not found')
        self.assert_row('init_host', check.FAIL, 'would refuse to start',
                        'shows no CPC')
        self.assert_only_failures('CPC found', 'init_host')

    def test_cpc_not_in_dpm_mode(self):
        self.edit_cpc(dpm_enabled=False)
        self.run_check(1)
        self.assert_row('DPM mode', check.FAIL, 'CPC1', 'not in DPM mode')
        self.assert_row('processors', check.PASS)
        self.assert_skipped(['adapter mapping 1', 'adapter mapping 2',
                             'virtual switch', 'partitions'],
                            'not in DPM mode')
        self.assert_row('init_host', check.FAIL, 'not in DPM mode')
        self.assert_only_failures('DPM mode', 'init_host')

    def test_cpc_not_up(self):
        self.edit_cpc(status='not-operating')
        self.run_check(1)
        self.assert_row('CPC status', check.FAIL, "'not-operating'",
                        'active, service-required')
        self.assert_row('partitions', check.PASS)
        self.assert_only_failures('CPC status', 'init_host')

    def test_cpc_degraded_is_up(self):
        self.edit_cpc(status='degraded')
        self.run_check(0)
        self.assert_row('CPC status', check.PASS, 'degraded')

    def test_too_many_processors_and_too_much_memory(self):
        # Both are reported, not only the first as init_host does.
        self.dpm.update(max_processors='49', max_memory=str(2 * 1048576))
        self.run_check(1)
        self.assert_row('processors', check.FAIL,
                        '[dpm] max_processors: 49 exceeds the 48 IFL')
        self.assert_row('memory', check.FAIL, '2097152 MiB exceeds',
                        '1048576 MiB customer memory')
        self.assert_row('init_host', check.FAIL, '[dpm] max_processors')
        self.assert_row('adapter mapping 1', check.PASS)
        self.assert_only_failures('processors', 'memory', 'init_host')

    def test_missing_adapter(self):
        missing = 'fc0000ff-0000-4000-8000-0000000000ff'
        self.mappings[1] = '%s:0' % missing
        self.run_check(1)
        self.assert_row('adapter mapping 1', check.PASS, 'FCP-A')
        self.assert_row('adapter mapping 2', check.FAIL, missing,
                        'shows no adapter')
        self.assert_row('init_host', check.FAIL, missing)
        self.assert_only_failures('adapter mapping 2', 'init_host')

    def test_non_fcp_adapter(self):
        self.mappings[0] = '%s:0' % base.OSA
        self.run_check(1)
        self.assert_row('adapter mapping 1', check.FAIL, 'OSA-1',
                        "type 'osd'", 'FCP adapter')
        self.assert_row('adapter mapping 2', check.PASS, 'FCP-B')
        self.assert_only_failures('adapter mapping 1', 'init_host')

    def test_missing_port(self):
        self.mappings[0] = '%s:3' % base.FCP_A
        self.run_check(1)
        self.assert_row('adapter mapping 1', check.FAIL, 'FCP-A',
                        'has no port 3', '(its ports: 0)')
        self.assert_only_failures('adapter mapping 1', 'init_host')

    def test_no_mappings_is_a_warning(self):
        self.mappings = []
        self.run_check(0)
        self.assert_row('adapter mapping', check.WARN,
                        'physical_storage_adapter_mappings')
        self.assert_row('init_host', check.PASS, '0 storage path(s)')

    def test_partitions_of_the_subset_and_max_instances(self):
        def add(data):
            parts = base.DriverTestCase.cpc_definition(data)['partitions']
            parts.append(_partition(OWN_1, 'active'))
            parts.append(_partition(OWN_2, 'stopped'))
            parts.append(_partition(FOREIGN, 'active'))
        self.edit_definition(add)
        self.dpm['max_instances'] = '1'
        self.run_check(0)
        self.assert_row('partitions', check.WARN, '2 partition(s)',
                        'at most 1', '4 IFL(s), 8192 MiB',
                        'every spawn is refused')
        details = [r.detail for r in self.rows['partition']]
        self.assertEqual(['%s: active' % OWN_1, '%s: stopped' % OWN_2],
                         details)
        self.assertNotIn(FOREIGN, self.output)

    def test_global_nova_conf_untouched(self):
        self.default['host'] = 'check-only-host'
        self.run_check(0)
        self.assertIn('CPC subset check-only-host', self.output)
        self.assertNotEqual('check-only-host', driver.CONF.host)


class RealHmcTest(CheckTestCase):
    """[dpm] hmc set: zhmcclient.Session replaced by a simulated one."""

    def setUp(self):
        super().setUp()
        del self.dpm['hmc_mock_file']
        self.dpm.update(hmc='192.0.2.10, 192.0.2.11', hmc_username='nova')
        self.session_kwargs = {}
        self.logon_error = None
        self.useFixture(fixtures.MonkeyPatch(
            'nova_dpm.hmc.session.SerializedLogonSession', self.fake_session))

    def fake_session(self, host, userid=None, password=None, **kw):
        self.session_kwargs = dict(kw, host=host, userid=userid)
        self.assertEqual(base.PASSWORD, password)
        session = simulator.load_session(self.definition, userid=userid,
                                         password=password)
        if self.logon_error is not None:
            session.logon = mock.Mock(side_effect=self.logon_error)
        return session

    def test_tls_on_with_system_cas(self):
        self.logon_error = zhmcclient.ConnectionError('refused', None)
        self.run_check(1)
        self.assert_row('TLS verification', check.PASS,
                        "the Python requests library's")
        self.assertIs(True, self.session_kwargs['verify_cert'])

    def test_tls_on_with_ca_bundle(self):
        bundle = os.path.join(self.tmp, 'ca.pem')
        with open(bundle, 'w') as f:
            f.write('-----BEGIN CERTIFICATE-----\n')
        self.dpm['hmc_ca_bundle'] = bundle
        self.logon_error = zhmcclient.ConnectionError('refused', None)
        self.run_check(1)
        self.assert_row('TLS verification', check.PASS, bundle)
        self.assertEqual(bundle, self.session_kwargs['verify_cert'])

    def test_tls_off_is_a_warning(self):
        self.dpm['hmc_verify_cert'] = 'false'
        self.logon_error = zhmcclient.ConnectionError('refused', None)
        self.run_check(1)
        self.assert_row('TLS verification', check.WARN, 'off',
                        'intercepted')
        self.assertIs(False, self.session_kwargs['verify_cert'])

    def test_hmc_not_reachable(self):
        self.logon_error = zhmcclient.ConnectionError('no route', None)
        self.run_check(1)
        self.assert_row('HMC logon', check.FAIL, '192.0.2.10, 192.0.2.11',
                        'no route')
        self.assert_skipped(['CPC found', 'adapter mapping 1', 'init_host',
                             'partitions'], 'no HMC connection')
        self.assert_only_failures('HMC logon')

    def test_logon_error_never_shows_the_password(self):
        self.logon_error = zhmcclient.ClientAuthError(
            'logon of nova with password %s refused' % base.PASSWORD)
        self.run_check(1)
        self.assert_row('HMC logon', check.FAIL, 'failed', '***')
        self.assert_only_failures('HMC logon')

    def test_configuration_names_the_hmc_not_the_password(self):
        self.logon_error = zhmcclient.ConnectionError('refused', None)
        self.run_check(1)
        self.assert_row('configuration', check.PASS,
                        'HMC 192.0.2.10, 192.0.2.11 port 6794 as user nova')

    def test_logon(self):
        self.run_check(0)
        self.assert_row('HMC logon', check.PASS, 'logged on to',
                        'as user nova', 'HMC HMC1')
        self.assert_row('init_host', check.PASS)


class CheckZ13Test(CheckTest):
    definition = 'z13'


class CheckZ16Test(CheckTest):
    definition = 'z16'

    def test_storage_groups_without_fcp_discovery_warn(self):
        # An HMC 2.14.0 (API 2.25) and SE 2.14.0: storage groups, but no
        # Start FCP Storage Discovery; builds wait for the periodic check.
        def edit(data):
            data['hmc_definition']['api_version'] = '2.25'
            base.DriverTestCase.cpc_definition(data)['properties'][
                'se-version'] = '2.14.0'
        self.edit_definition(edit)
        self.run_check(0)
        self.assert_row('storage backend', check.WARN, 'storage groups',
                        'API 2.25', 'SE (2.14.0)', 'periodic check',
                        'hmc_operation_timeout')


del CheckTest


class EntryPointTest(testtools.TestCase):

    def test_console_script(self):
        setup_cfg = os.path.join(
            os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
                os.path.dirname(os.path.abspath(__file__)))))), 'setup.cfg')
        with open(setup_cfg) as f:
            self.assertIn('nova-dpm-check = nova_dpm.cmd.check:main',
                          f.read())

    def test_options_are_the_drivers(self):
        empty = self.useFixture(fixtures.TempDir()).join('nova.conf')
        open(empty, 'w').close()
        conf = check.load_conf(['--config-file', empty])
        self.assertEqual(sorted(o.dest for o in dpm_conf.dpm_opts),
                         sorted(k for k in conf.dpm))


class AllOptionsTest(CheckTestCase):

    def test_every_bad_option_in_one_run(self):
        self.dpm['max_processors'] = '0'
        self.dpm['max_memory'] = 'lots'
        self.dpm['cpc_object_id'] = None
        self.mappings.append(self.mappings[0])
        self.run_check(1)
        details = [row.detail for row in self.rows['configuration']]
        self.assertEqual(4, len(details), details)
        for row in self.rows['configuration']:
            self.assertEqual(check.FAIL, row.result)
        text = '\n'.join(details)
        for words in ('[dpm] cpc_object_id', '[dpm] max_processors',
                      '[dpm] max_memory',
                      '[dpm] physical_storage_adapter_mappings'):
            self.assertIn(words, text)
        self.assertIn('at least 1', text)
        self.assertIn("'lots'", text)
        self.assertIn('each adapter port at most once', text)
        self.assert_skipped(['HMC logon', 'CPC found', 'init_host'],
                            'configuration failed')
        self.assertIn('FAILED (4 fail', self.output)

    def test_one_bad_option_one_row(self):
        self.dpm['max_memory'] = '0'
        self.run_check(1)
        self.assertEqual(1, len(self.rows['configuration']))
        self.assert_row('configuration', check.FAIL, '[dpm] max_memory')


class HttpsFixture(object):
    """The HTTPS simulator in place of hmc_mock_file (after setUp)."""

    def serve(self):
        self.session = simulator.load_session(self.definition)
        self.server = server_module.HmcServer(
            self.session.simulator, 'nova', base.PASSWORD).start()
        self.addCleanup(self.server.stop)
        del self.dpm['hmc_mock_file']
        self.dpm.update(hmc='127.0.0.1', hmc_port=str(self.server.port),
                        hmc_username='nova',
                        hmc_ca_bundle=self.server.ca_file,
                        hmc_connect_retries='0')


class HttpsCheckTest(CheckTestCase, HttpsFixture):
    """[dpm] hmc set: the check logs on to the HTTPS simulator."""

    definition = 'z13'

    def setUp(self):
        super().setUp()
        self.serve()

    def test_logon_passes(self):
        self.run_check(0)
        self.assert_row('HMC logon', check.PASS, 'logged on to 127.0.0.1',
                        'as user nova')
        self.assertEqual(1, self.server.logons)
        self.assertEqual(1, self.server.logoffs)

    def test_wrong_password_says_the_logon_was_refused(self):
        self.dpm['hmc_password'] = 'wrong-password'
        self.run_check(1)
        row = self.assert_row('HMC logon', check.FAIL,
                              'the HMC refused the logon of user nova')
        self.assertNotIn('answered', row.detail)
        self.assertNotIn('wrong-password', self.output)
        self.assert_only_failures('HMC logon')
        self.assert_skipped(['CPC found', 'partitions'], 'no HMC connection')
        # One attempt: repeated failures would disable the HMC user.
        self.assertEqual(1, self.server.failed_logons)
        self.assertFalse(self.server.user_disabled)

    def test_every_final_refusal_is_named_after_one_attempt(self):
        # HMC rule A11.
        for answer, words in (
                ('password-expired', ('password of HMC user nova has '
                                      'expired', 'change it on the HMC')),
                ('partial-session', ('has expired', 'HTTP 201')),
                ('too-many-sessions', ('maximum number of sessions',
                                       'HTTP 400 reason 13')),
                ('forbidden', ('refused the logon of user nova',
                               'HTTP 403 reason 2'))):
            self.server.answer_logon(answer)
            attempts = self.server.logon_attempts
            self.run_check(1)
            row = self.assert_row('HMC logon', check.FAIL, *words)
            self.assertNotIn(base.PASSWORD, self.output)
            self.assertNotIn('answered', row.detail)
            self.assert_only_failures('HMC logon')
            self.assertEqual(attempts + 1, self.server.logon_attempts)
        self.assertEqual(0, self.server.active_sessions)

    def test_disabled_user_is_refused(self):
        self.server.user_disabled = True
        self.run_check(1)
        self.assert_row('HMC logon', check.FAIL, 'refused the logon',
                        'not disabled')

    def test_untrusted_certificate(self):
        other = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, other, True)
        self.dpm['hmc_ca_bundle'] = certs.write_cert_dir(other).ca_file
        self.run_check(1)
        self.assert_row('HMC logon', check.FAIL, 'not trusted',
                        'certificate verify failed', '[dpm] hmc_ca_bundle')
        self.assertEqual(0, self.server.logons)

    def test_adapter_without_permission(self):
        # HMC rule A10: answered 404, as a missing adapter.
        uri = '/api/adapters/%s' % base.FCP_A
        self.server.deny_object(uri, 'adapter FCP-A')
        self.run_check(1)
        self.assert_row('adapter mapping 1', check.FAIL, base.FCP_A,
                        'shows no adapter', 'object-access permission')
        self.assert_row('adapter mapping 2', check.PASS)
        self.assert_row('init_host', check.FAIL, 'object-access permission')
        self.assert_only_failures('adapter mapping 1', 'init_host')

    def test_cpc_without_permission(self):
        self.server.deny_object(base.CPC_URI, 'CPC CPC1')
        self.run_check(1)
        self.assert_row('CPC found', check.FAIL, base.CPC_ID,
                        'shows no CPC', 'object-access permission')
        self.assert_row('init_host', check.FAIL, 'object-access permission')
        self.assert_only_failures('CPC found', 'init_host')


class ListTestCase(CheckTestCase):
    """nova-dpm-check --list: the object-ids of a definition."""

    def setUp(self):
        super().setUp()
        # Only the HMC is configured: --list is how the ids are found.
        for name in ('cpc_object_id', 'max_processors', 'max_memory'):
            del self.dpm[name]
        self.mappings = []

    def run_list(self, expected_rc):
        out = io.StringIO()
        self.useFixture(fixtures.MonkeyPatch('sys.stdout', out))
        rc = check.main(['--list', '--config-file', self.write_conf()])
        self.output = out.getvalue()
        self.addOnException(lambda exc_info: self.addDetail(
            'stdout', testtools.content.text_content(self.output)))
        self.assertEqual(expected_rc, rc)
        self.assertNotIn(base.PASSWORD, self.output)
        self.assertNotIn('CHECK', self.output)     # no table
        return self.output.splitlines()

    def definition_cpc(self):
        path = self.dpm['hmc_mock_file']
        if not os.path.isabs(path):
            path = simulator.definition_path(path)
        with open(path) as f:
            data = yaml.safe_load(f)
        return base.DriverTestCase.cpc_definition(data)

    def assert_lists_the_definition(self, lines):
        cpc = self.definition_cpc()
        props = cpc['properties']
        self.assertIn('CPC %s (%s): DPM mode' % (props['name'],
                                                 props['object-id']),
                      '\n'.join(lines))
        vswitches = {}
        for vswitch in cpc.get('virtual_switches') or ():
            vp = vswitch['properties']
            adapter_id = vp['backing-adapter-uri'].rsplit('/', 1)[1]
            vswitches[(adapter_id, vp['port'])] = vp['object-id']
        for adapter in cpc['adapters']:
            ap = adapter['properties']
            index = next(i for i, line in enumerate(lines)
                         if line.startswith('  adapter %s (%s): type %s' % (
                             ap['name'], ap['object-id'], ap['type'])))
            ports = [line for line in lines[index + 1:]
                     if line.startswith('    ')]
            ports = ports[:len(adapter.get('ports') or ())]
            for port, line in zip(sorted(adapter.get('ports') or (),
                                         key=lambda p: p['properties'][
                                             'index']), ports):
                index = port['properties']['index']
                self.assertTrue(line.startswith('    port %d' % index), line)
                vswitch = vswitches.get((ap['object-id'], index))
                if vswitch:
                    self.assertIn('virtual switch', line)
                    self.assertIn('(%s)' % vswitch, line)
                else:
                    self.assertNotIn('virtual switch', line)
        return cpc


class ListTest(ListTestCase):

    def test_lists_every_object_id_without_the_subset_options(self):
        lines = self.run_list(0)
        self.assertEqual('nova-dpm-check --list: objects of the SIMULATED '
                         'HMC (%s)' % self.definition, lines[0])
        cpc = self.assert_lists_the_definition(lines)
        self.assertEqual(
            len(cpc['adapters']),
            sum(1 for line in lines if line.startswith('  adapter ')))

    def test_cpc_object_id_limits_the_listing(self):
        classic = {'properties': {
            'object-id': OTHER_CPC, 'name': 'CPC9', 'dpm-enabled': False,
            'iml-mode': 'classic', 'status': 'operating'}}
        self.edit_definition(
            lambda d: d['hmc_definition']['cpcs'].append(classic))
        lines = self.run_list(0)
        self.assertIn('CPC CPC9 (%s): not in DPM mode, not usable by '
                      'nova-dpm' % OTHER_CPC, lines)
        self.dpm['cpc_object_id'] = base.CPC_ID
        lines = self.run_list(0)
        self.assertNotIn('CPC9', self.output)
        self.assert_lists_the_definition(lines)

    def test_unknown_cpc(self):
        self.dpm['cpc_object_id'] = '0c0c0c0c-0000-4000-8000-000000000000'
        lines = self.run_list(0)
        self.assertIn('CPC 0c0c0c0c-0000-4000-8000-000000000000: not '
                      'shown by the HMC (no such CPC, or the user lacks '
                      'object access to it)', lines)

    def test_missing_definition_fails_with_its_name(self):
        self.dpm['hmc_mock_file'] = os.path.join(self.tmp, 'nowhere.yaml')
        lines = self.run_list(1)
        self.assertTrue(lines[-1].startswith('FAIL: '), lines[-1])
        self.assertIn('nowhere.yaml', lines[-1])

    def test_bad_hmc_option_fails(self):
        self.dpm['hmc_connect_timeout'] = 'soon'
        lines = self.run_list(1)
        self.assertIn('hmc_connect_timeout', lines[0])
        self.assertTrue(lines[0].startswith('FAIL: '), lines[0])


class ListZ17Test(ListTest):
    definition = 'z17'


class HttpsListTest(ListTestCase, HttpsFixture):
    """--list logs on once; objects without object access are left out."""

    definition = 'z13'

    def setUp(self):
        super().setUp()
        self.serve()

    def test_adapter_without_object_access_is_not_listed(self):
        self.server.deny_object('/api/adapters/%s' % base.FCP_A,
                                'adapter FCP-A')
        lines = self.run_list(0)
        self.assertEqual('nova-dpm-check --list: objects that HMC 127.0.0.1 '
                         'shows user nova', lines[0])
        self.assertNotIn(base.FCP_A, self.output)
        self.assertIn(base.FCP_B, self.output)
        self.assertEqual(1, self.server.logons)
        self.assertEqual(1, self.server.logoffs)

    def test_wrong_password_is_one_refused_logon(self):
        self.dpm['hmc_password'] = 'wrong-password'
        lines = self.run_list(1)
        self.assertIn('FAIL: ', lines[-1])
        self.assertIn('the HMC refused the logon of user nova', lines[-1])
        self.assertNotIn('wrong-password', self.output)
        self.assertEqual(1, self.server.failed_logons)


class CheckZ17Test(CheckTestCase):
    definition = 'z17'

    def test_lists_adapter_ports_instead_of_virtual_switches(self):
        rows = self.run_check(0)
        self.assert_row('virtual switch', check.INFO,
                        'CPC CPC1 has no virtual switches',
                        'bound as dpm_adapter', '4 network adapter port(s)')
        ports = [r.detail for r in rows['adapter port']]
        self.assertIn('Network Express Hybrid 0150 (%s) port 0, family '
                      'network-express' % base.NETX_1, ports)
        self.assertIn('OSA-1 (%s) port 1, family osa' % base.OSA, ports)
        self.assert_row('init_host', check.PASS, 'nova-compute would start')
