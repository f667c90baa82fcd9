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


# The documented defaults (the options' help and the configuration guide).
DEFAULTS = {
    'hmc_port': 6794, 'hmc_verify_cert': True,
    'hmc_connect_timeout': 30, 'hmc_connect_retries': 3,
    'hmc_read_timeout': 300, 'hmc_operation_timeout': 900,
    'guest_shutdown_command': 'shutdown -h now',
    'guest_console_grace_period': 10, 'max_instances': None,
    'target_wwpn_ignore_list': [], 'hmc_mock_file': None,
    'hmc_ca_bundle': None,
}

# Integer options: (smallest, largest) value accepted (None: no limit).
BOUNDS = {
    'hmc_port': (1, 65535),
    'hmc_connect_timeout': (1, None),
    'hmc_connect_retries': (0, None),
    'hmc_read_timeout': (1, None),
    'hmc_operation_timeout': (1, None),
    'guest_console_grace_period': (0, None),
    'max_processors': (1, None),
    'max_memory': (512, None),
    'max_instances': (1, None),
}


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

    def test_documented_defaults(self):
        s = dpm_conf.validate(load(GOOD))
        for name, value in DEFAULTS.items():
            self.assertEqual(value, getattr(s, name), name)
        self.assertEqual([], dpm_conf.read(load({}), 'hmc'))

    def test_bounds_of_integer_options(self):
        for name, (low, high) in BOUNDS.items():
            accepted = [low, low + 1000] + ([high] if high else [])
            for value in accepted:
                s = dpm_conf.validate(load(dict(GOOD, **{name: str(value)})))
                self.assertEqual(value, getattr(s, name), name)
            refused = [low - 1] + ([high + 1] if high else [])
            for value in refused:
                _v, problems = dpm_conf.check(load(dict(
                    GOOD, **{name: str(value)})))
                self.assertEqual([name], [exc.kwargs['option']
                                          for exc in problems])

    def test_validate_raises_the_first_problem(self):
        conf = load(dict(GOOD, hmc_port='0', max_memory='1'),
                    {'physical_storage_adapter_mappings':
                     ['%s:1' % FCP_A] * 2})
        exc = self.assertRaises(exception.InvalidConfiguration,
                                dpm_conf.validate, conf)
        self.assertEqual('hmc_port', exc.kwargs['option'])

    def test_password_is_secret(self):
        s = dpm_conf.validate(load(GOOD))
        self.assertNotIn(GOOD['hmc_password'], repr(s))
        opt = [o for o in dpm_conf.dpm_opts if o.dest == 'hmc_password'][0]
        self.assertTrue(opt.secret)

    def test_settings_repr(self):
        s = dpm_conf.Settings(hmc_password='pw', max_memory=512)
        self.assertEqual("Settings(hmc_password='***', max_memory=512)",
                         repr(s))
        self.assertEqual('Settings(hmc_password=None)',
                         repr(dpm_conf.Settings(hmc_password=None)))

    def test_every_option_has_help(self):
        for _group, opts in dpm_conf.list_opts():
            for opt in opts:
                self.assertGreater(len(opt.help or ''), 20, opt.dest)


class TypeTest(testtools.TestCase):
    """The option types as oslo.config and the sample generator use them."""

    def test_object_id(self):
        t = dpm_conf.ObjectId()
        self.assertEqual(CPC.lower(), t('  %s\n' % CPC))
        self.assertEqual('DPM object-id', t.type_name)
        self.assertEqual(CPC, t._formatter(CPC))
        exc = self.assertRaises(ValueError, t, CPC + '0')
        self.assertIn('36 characters', str(exc))

    def test_adapter_port(self):
        t = dpm_conf.AdapterPort()
        mapping = dpm_conf.AdapterPortMapping(FCP_A, 2)
        self.assertIs(mapping, t(mapping))
        for port in (0, 3):
            self.assertEqual(
                (FCP_A, port), t(' %s:%d ' % (FCP_A.upper(), port)))
        self.assertEqual('%s:2' % FCP_A, t._formatter(mapping))
        self.assertEqual('as-is', t._formatter('as-is'))
        self.assertEqual('FCP adapter port mapping', t.type_name)
        for bad in ('%s:-1' % FCP_A, '%s:' % FCP_A, ':0', '%s:0:1' % FCP_A,
                    '%s:00x' % FCP_A):
            exc = self.assertRaises(ValueError, t, bad)
            self.assertIn('%r is not valid' % bad, str(exc))

    def test_wwpn(self):
        t = dpm_conf.Wwpn()
        self.assertEqual('c05076ffe680a590', t(' 0XC05076FFE680A590 '))
        self.assertEqual('c05076ffe680a590', t('c05076ffe680a590'))
        self.assertEqual('WWPN', t.type_name)
        self.assertEqual('x', t._formatter('x'))
        for bad in ('0x', 'c05076ffe680a59', 'c05076ffe680a5900',
                    '0x0xc05076ffe680a5'):
            self.assertRaises(ValueError, t, bad)

    def test_bounded_int(self):
        t = dpm_conf.BoundedInt(512, 'memory in MiB, at least 512', max=600)
        self.assertEqual(512, t('512'))
        self.assertEqual(600, t(600))
        for bad in ('511', '601', 'x'):
            exc = self.assertRaises(ValueError, t, bad)
            self.assertEqual('%r is not valid: expected memory in MiB, at '
                             'least 512' % bad, str(exc))


class CheckTest(testtools.TestCase):
    """check(): every problem at once, in the order of the options."""

    def test_all_problems_in_option_order(self):
        options = dict(GOOD, hmc=None, max_processors='four',
                       cpc_object_id=None, max_memory=None,
                       hmc_port='0')
        values, problems = dpm_conf.check(load(options, {
            'physical_storage_adapter_mappings': ['%s:1' % FCP_A] * 2}))
        self.assertEqual(
            ['hmc', 'hmc_port', 'cpc_object_id', 'max_processors',
             'max_memory', 'physical_storage_adapter_mappings'],
            [exc.kwargs['option'] for exc in problems])
        messages = [exc.format_message() for exc in problems]
        # An unreadable value is reported once, as unreadable (not also as
        # missing), without oslo.config's prefix.
        self.assertIn("'four' is not valid", messages[3])
        self.assertNotIn('required', messages[3])
        for message in messages:
            self.assertNotIn('Value for option', message)
        self.assertIsNone(values['max_processors'])
        self.assertIsNone(values['hmc_port'])
        self.assertEqual('nova', values['hmc_username'])
        self.assertEqual([(FCP_A, 1)] * 2,
                         values['physical_storage_adapter_mappings'])

    def test_no_problems(self):
        values, problems = dpm_conf.check(load(GOOD))
        self.assertEqual([], problems)
        self.assertEqual(
            {opt.dest for opt in dpm_conf.dpm_opts}, set(values))
        self.assertEqual(4, values['max_processors'])

    def test_unreadable_hmc_option_is_not_also_missing(self):
        _values, problems = dpm_conf.check(load(dict(
            GOOD, hmc='hmc one', cpc_object_id='cpc1')))
        self.assertEqual(['hmc', 'cpc_object_id'],
                         [exc.kwargs['option'] for exc in problems])
        self.assertNotIn('set hmc_mock_file', problems[0].format_message())
        self.assertNotIn('required', problems[1].format_message())

    def test_ca_bundle_checked_only_when_used(self):
        missing = '/nonexistent/ca.pem'
        for options in (dict(hmc_verify_cert='false'),
                        dict(hmc_mock_file='z16')):
            _v, problems = dpm_conf.check(load(dict(
                GOOD, hmc_ca_bundle=missing, **options)))
            self.assertEqual([], problems, options)
        with tempfile.TemporaryDirectory() as path:
            _v, problems = dpm_conf.check(load(dict(GOOD,
                                                    hmc_ca_bundle=path)))
            self.assertEqual([], problems)
            pem = os.path.join(path, 'ca.pem')
            with open(pem, 'w') as f:
                f.write('-----BEGIN CERTIFICATE-----\n')
            s = dpm_conf.validate(load(dict(GOOD, hmc_ca_bundle=pem)))
            self.assertEqual(pem, s.hmc_ca_bundle)


class HmcOptionsTest(testtools.TestCase):
    """The options of programs that only talk to the HMC (the agent)."""

    def load(self, options):
        lines = ['[dpm]'] + ['%s = %s' % item for item in options.items()
                             if item[1] is not None]
        fd, path = tempfile.mkstemp(suffix='.conf')
        with os.fdopen(fd, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        self.addCleanup(os.unlink, path)
        conf = cfg.ConfigOpts()
        conf.register_opts(dpm_conf.hmc_opts(), group=dpm_conf.GROUP)
        conf(args=[], default_config_files=[path])
        return conf

    def test_hmc_opts_are_the_options_themselves(self):
        opts = dpm_conf.hmc_opts()
        self.assertEqual(sorted(dpm_conf.HMC_OPTION_NAMES),
                         sorted(opt.dest for opt in opts))
        for opt in opts:
            self.assertIn(opt, dpm_conf.dpm_opts)

    def test_validate_hmc(self):
        options = {name: GOOD.get(name) for name in
                   ('hmc', 'hmc_username', 'hmc_password', 'cpc_object_id')}
        s = dpm_conf.validate_hmc(self.load(options))
        self.assertEqual(set(dpm_conf.HMC_OPTION_NAMES), set(vars(s)))
        self.assertEqual(CPC.lower(), s.cpc_object_id)
        self.assertEqual(6794, s.hmc_port)
        for name, value, words in (
                ('hmc_username', None, 'set hmc_mock_file'),
                ('cpc_object_id', None, 'the option is required'),
                ('hmc_read_timeout', '0', "'0' is not valid")):
            exc = self.assertRaises(
                exception.InvalidConfiguration, dpm_conf.validate_hmc,
                self.load(dict(options, **{name: value})))
            self.assertIn('[dpm] %s' % name, exc.format_message())
            self.assertIn(words, exc.format_message())
        # The first problem, in the order of the options.
        exc = self.assertRaises(
            exception.InvalidConfiguration, dpm_conf.validate_hmc,
            self.load(dict(options, hmc_username=None, cpc_object_id=None)))
        self.assertEqual('hmc_username', exc.kwargs['option'])

    def test_list_opts(self):
        ((group, opts),) = dpm_conf.list_opts()
        self.assertIs(dpm_conf.dpm_group, group)
        self.assertIs(dpm_conf.dpm_opts, opts)
        self.assertEqual('dpm', group.name)
