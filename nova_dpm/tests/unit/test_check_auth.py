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

"""nova-dpm-check: every bad option at once; logon, TLS and permissions.

The connection tests run the command against the simulated HMC served over
HTTPS, configured as for a real HMC.
"""

import shutil
import tempfile

from nova_dpm.cmd import check
from nova_dpm import simulator
from nova_dpm.simulator import certs
from nova_dpm.simulator import server as server_module
from nova_dpm.tests.unit import base
from nova_dpm.tests.unit import test_check


class AllOptionsTest(test_check.CheckTestCase):

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


class HttpsCheckTest(test_check.CheckTestCase):
    """[dpm] hmc set: the check logs on to the HTTPS simulator."""

    definition = 'z13'

    def setUp(self):
        super().setUp()
        self.session = simulator.load_session(self.definition)
        self.server = server_module.HmcServer(
            self.session.simulator, 'nova', base.PASSWORD).start()
        self.addCleanup(self.server.stop)
        del self.dpm['hmc_mock_file']
        self.dpm.update(hmc='127.0.0.1', hmc_port=str(self.server.port),
                        hmc_username='nova',
                        hmc_ca_bundle=self.server.ca_file,
                        hmc_connect_retries='0')

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
        uri = '/api/adapters/%s' % base.FCP_A
        self.server.deny_object(uri, 'adapter FCP-A')
        self.run_check(1)
        self.assert_row('adapter mapping 1', check.FAIL, uri,
                        'object-access permission', 'adapter FCP-A',
                        '403 reason 1')
        self.assert_row('adapter mapping 2', check.PASS)
        self.assert_row('init_host', check.FAIL, 'object-access permission')
        self.assert_only_failures('adapter mapping 1', 'init_host')

    def test_cpc_without_permission(self):
        self.server.deny_object(base.CPC_URI, 'CPC CPC1')
        self.run_check(1)
        self.assert_row('CPC found', check.FAIL, base.CPC_URI,
                        'read CPC', 'object-access permission for CPC CPC1')
        self.assert_row('init_host', check.FAIL, 'object-access permission')
        self.assert_only_failures('CPC found', 'init_host')
