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

"""The [dpm] options as an operator writes them into nova.conf."""

import os
import tempfile

from oslo_config import cfg
import testtools

from nova_dpm import conf as dpm_conf
from nova_dpm import exception
from nova_dpm.simulator import catalog

# Upper case: an operator may copy the object-id from the HMC's UI so.
CPC = catalog.CPC_ID.upper()
FCP_A = catalog.FCP_A
GOOD = {
    'hmc': '192.0.2.10',
    'hmc_username': 'nova',
    'hmc_password': 's3cret-Pa55',
    'cpc_object_id': CPC,
    'max_processors': '4',
    'max_memory': '8192',
}


def load(options, multi=None):
    """A ConfigOpts with [dpm] read from a nova.conf holding ``options``."""
    lines = ['[dpm]']
    lines += ['%s = %s' % item for item in options.items() if item[1]
              is not None]
    for name, values in (multi or {}).items():
        lines += ['%s = %s' % (name, v) for v in values]
    fd, path = tempfile.mkstemp(suffix='.conf')
    with os.fdopen(fd, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    conf = cfg.ConfigOpts()
    dpm_conf.register_opts(conf)
    conf(args=[], default_config_files=[path])
    os.unlink(path)
    return conf


# (option, value written, words the message must contain)
INVALID = [
    ('cpc_object_id', 'cpc1', ["'cpc1'", 'is not a DPM object-id',
                               'xxxxxxxx-xxxx']),
    ('cpc_object_id', CPC[:-1], ['is not a DPM object-id']),
    ('max_processors', '0', ["'0'", 'a number of IFL processors, at least 1']),
    ('max_processors', 'four', ["'four'", 'at least 1']),
    ('max_memory', '511', ["'511'", 'memory in MiB, at least 512']),
    ('max_instances', '0', ["'0'", 'a number of instances, at least 1']),
    ('hmc_connect_timeout', '0', ["'0'", 'a timeout in seconds']),
    ('hmc_connect_retries', '-1', ["'-1'", 'a retry count']),
    ('hmc_read_timeout', 'soon', ["'soon'", 'a timeout in seconds']),
    ('hmc_operation_timeout', '0', ["'0'", 'a timeout in seconds']),
    ('hmc_port', '70000', ['70000']),
    ('hmc_verify_cert', 'maybe', ['maybe']),
    ('hmc', 'hmc one', ['hmc one']),
    ('target_wwpn_ignore_list', '50050763', ["'50050763'",
                                             'expected 16 hex digits']),
    ('target_wwpn_ignore_list', 'c05076ffe680a590,0xZZ05076ffe680a59',
     ['0xZZ05076ffe680a59', 'expected 16 hex digits']),
]

INVALID_MAPPINGS = [
    ('%s' % FCP_A, ['<fcp-adapter-object-id>:<port>']),
    ('%s:4' % FCP_A, [':4', 'port number from 0 to 3']),
    ('%s:x' % FCP_A, [':x', 'port number from 0 to 3']),
    ('adapter1:0', ["'adapter1:0'", 'object-id']),
]

MISSING = [
    ('hmc', 'set hmc_mock_file'),
    ('hmc_username', 'set hmc_mock_file'),
    ('hmc_password', 'set hmc_mock_file'),
    ('cpc_object_id', 'the option is required'),
    ('max_processors', 'the option is required'),
    ('max_memory', 'the option is required'),
]


class InvalidValueTest(testtools.TestCase):

    def assert_refused(self, conf, option, words):
        exc = self.assertRaises(exception.InvalidConfiguration,
                                dpm_conf.validate, conf)
        message = exc.format_message()
        self.assertIn('[dpm] %s' % option, message)
        for word in words:
            self.assertIn(word, message)
        self.assertNotIn(GOOD['hmc_password'], message)

    def test_each_invalid_value_names_option_value_and_expectation(self):
        for option, value, words in INVALID:
            options = dict(GOOD, **{option: value})
            self.assert_refused(load(options), option, words)

    def test_each_invalid_mapping(self):
        for value, words in INVALID_MAPPINGS:
            conf = load(GOOD, {'physical_storage_adapter_mappings': [value]})
            self.assert_refused(
                conf, 'physical_storage_adapter_mappings', words)

    def test_duplicate_mapping(self):
        conf = load(GOOD, {'physical_storage_adapter_mappings':
                           ['%s:0' % FCP_A, '%s:0' % FCP_A.upper()]})
        self.assert_refused(conf, 'physical_storage_adapter_mappings',
                            ['each adapter port at most once'])

    def test_each_required_option(self):
        for option, words in MISSING:
            options = dict(GOOD, **{option: None})
            self.assert_refused(load(options), option, [words])

    def test_missing_ca_bundle_file(self):
        options = dict(GOOD, hmc_ca_bundle='/nonexistent/ca.pem')
        self.assert_refused(load(options), 'hmc_ca_bundle',
                            ['/nonexistent/ca.pem', 'PEM file'])

    def test_simulated_hmc_needs_no_credentials(self):
        options = dict(GOOD, hmc=None, hmc_username=None, hmc_password=None,
                       hmc_mock_file='z16')
        settings = dpm_conf.validate(load(options))
        self.assertEqual('z16', settings.hmc_mock_file)


class ValidValueTest(testtools.TestCase):

    def test_values_are_normalised(self):
        conf = load(dict(GOOD, hmc='hmc1.example.com, 192.0.2.11',
                         target_wwpn_ignore_list='0xC05076FFE680A590'),
                    {'physical_storage_adapter_mappings': [
                        '%s:1' % FCP_A.upper(), '%s:0' % FCP_A]})
        s = dpm_conf.validate(conf)
        self.assertEqual(CPC.lower(), s.cpc_object_id)
        self.assertEqual(['hmc1.example.com', '192.0.2.11'], s.hmc)
        self.assertEqual(['c05076ffe680a590'], s.target_wwpn_ignore_list)
        self.assertEqual([(FCP_A, 1), (FCP_A, 0)],
                         s.physical_storage_adapter_mappings)
        self.assertEqual(4, s.max_processors)
        self.assertEqual(8192, s.max_memory)
        self.assertIsNone(s.max_instances)

    def test_defaults_are_safe(self):
        s = dpm_conf.validate(load(GOOD))
        self.assertTrue(s.hmc_verify_cert)
        self.assertIsNone(s.hmc_ca_bundle)
        self.assertIsNone(s.hmc_mock_file)
        self.assertEqual([], s.physical_storage_adapter_mappings)

    def test_password_is_secret(self):
        s = dpm_conf.validate(load(GOOD))
        self.assertNotIn(GOOD['hmc_password'], repr(s))
        opt = [o for o in dpm_conf.dpm_opts if o.dest == 'hmc_password'][0]
        self.assertTrue(opt.secret)

    def test_every_option_has_help(self):
        for _group, opts in dpm_conf.list_opts():
            for opt in opts:
                self.assertGreater(len(opt.help or ''), 20, opt.dest)
