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

"""The systemd template units, the shipped subset directories and the
installation guide's layout of several subsets on one host agree."""

import configparser
import os
import re
import shlex

from oslo_config import cfg
import testtools

from nova_dpm import conf as dpm_conf

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..',
                                    '..', '..'))
UNIT = os.path.join(ROOT, 'etc', 'systemd', 'nova-compute-dpm@.service')
AGENT_UNIT = os.path.join(ROOT, 'etc', 'systemd',
                          'neutron-dpm-agent@.service')
SUBSETS = os.path.join(ROOT, 'etc', 'nova', 'dpm')
AGENT_SUBSETS = os.path.join(ROOT, 'etc', 'neutron', 'dpm')
GUIDE = os.path.join(ROOT, 'doc', 'source', 'install.rst')


def read_unit(path=UNIT):
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    with open(path) as f:
        parser.read_file(f)
    return parser


def documented_layout():
    """The lines of the guide's 'subset-layout' block, as (path, text)."""
    with open(GUIDE) as f:
        text = f.read()
    block = re.search(r'(?ms)^\.\. code-block:: text\n   :name: '
                      r'subset-layout\n\n(.*?)\n\S', text).group(1)
    rows = [line.strip() for line in block.splitlines() if line.strip()]
    return [tuple(re.split(r'\s{2,}', row, maxsplit=1)) for row in rows]


def without_directory(command):
    """The command line with the program's name only."""
    program, rest = command.split(' ', 1)
    return '%s %s' % (os.path.basename(program), rest)


def config_files(command):
    words = shlex.split(command)
    return [words[i + 1] for i, w in enumerate(words)
            if w == '--config-file']


class SystemdLayoutTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.unit = read_unit()
        self.layout = dict(documented_layout())
        self.command = self.unit['Service']['ExecStart']

    def test_unit_runs_nova_compute_with_the_documented_files(self):
        self.assertEqual('/opt/nova-dpm/bin/nova-compute',
                         shlex.split(self.command)[0])
        files = config_files(self.command)
        self.assertEqual(['/etc/nova/nova.conf',
                          '/etc/nova/dpm/%i/nova-compute.conf'], files)
        documented = [path.replace('<subset>', '%i')
                      for path in self.layout
                      if path.startswith('/etc/nova/')]
        self.assertEqual(files, documented)
        # The guide quotes the command line too.
        service = self.layout['nova-compute-dpm@<subset>.service']
        self.assertIn(without_directory(self.command).replace(
            '%i', '<subset>'), service.replace('runs ', ''))

    def test_a_refused_logon_is_not_restarted(self):
        # nova-compute exits 78 (EX_CONFIG) after a refused HMC logon
        # (driver.refuse_to_start); systemd must not try again.
        from nova_dpm import exception
        service = self.unit['Service']
        self.assertEqual('on-failure', service['Restart'])
        self.assertEqual(str(exception.EX_CONFIG),
                         service['RestartPreventExitStatus'])

    def test_state_directory_is_the_documented_state_path(self):
        state = '/var/lib/' + self.unit['Service']['StateDirectory']
        self.assertEqual('/var/lib/nova/dpm/%i', state)
        self.assertIn(state.replace('%i', '<subset>'), self.layout)
        self.assertEqual('/etc/nova/dpm/%i/nova-compute.conf',
                         self.unit['Unit']['AssertPathExists'])

    def test_shipped_subsets_match_the_unit(self):
        names = sorted(os.listdir(SUBSETS))
        self.assertEqual(['cpc1-subset-a', 'cpc1-subset-b'], names)
        for name in names:
            parser = configparser.ConfigParser(strict=False,
                                               interpolation=None)
            with open(os.path.join(SUBSETS, name, 'nova-compute.conf')) as f:
                parser.read_file(f)
            state = '/var/lib/nova/dpm/%s' % name
            self.assertEqual(name, parser['DEFAULT']['host'])
            self.assertEqual(state, parser['DEFAULT']['state_path'])
            self.assertTrue(parser['oslo_concurrency']['lock_path']
                            .startswith(state + '/'))

    def test_shipped_subsets_are_valid_dpm_configurations(self):
        for name in sorted(os.listdir(SUBSETS)):
            conf = cfg.ConfigOpts()
            conf.register_opts(dpm_conf.dpm_opts, group='dpm')
            conf(['--config-file',
                  os.path.join(SUBSETS, name, 'nova-compute.conf')],
                 project='nova', default_config_files=[],
                 default_config_dirs=[])
            settings = dpm_conf.validate(conf)
            self.assertEqual(2, len(
                settings.physical_storage_adapter_mappings), name)

    def test_guide_steps_use_the_unit_name(self):
        with open(GUIDE) as f:
            text = f.read()
        for name in sorted(os.listdir(SUBSETS)):
            self.assertIn('nova-compute-dpm@%s.service' % name, text)
            self.assertIn('--config-file /etc/nova/dpm/%s/nova-compute.conf'
                          % name, text)


class AgentUnitTest(testtools.TestCase):
    """neutron-dpm-agent@<subset> beside nova-compute-dpm@<subset>."""

    def setUp(self):
        super().setUp()
        self.unit = read_unit(AGENT_UNIT)
        self.compute = read_unit()
        self.layout = dict(documented_layout())

    def test_runs_the_agent_of_the_environment_with_the_layout_files(self):
        command = self.unit['Service']['ExecStart']
        self.assertEqual('/opt/nova-dpm/bin/neutron-dpm-agent',
                         shlex.split(command)[0])
        # The same environment as nova-compute.
        self.assertEqual(
            os.path.dirname(shlex.split(self.compute['Service'][
                'ExecStart'])[0]),
            os.path.dirname(shlex.split(command)[0]))
        files = config_files(command)
        self.assertEqual(['/etc/neutron/neutron.conf',
                          '/etc/neutron/dpm/%i/neutron-dpm-agent.ini'],
                         files)
        documented = [path.replace('<subset>', '%i')
                      for path in self.layout
                      if path.startswith('/etc/neutron/')]
        self.assertEqual(files, documented)
        self.assertEqual(files[1], self.unit['Unit']['AssertPathExists'])
        service = self.layout['neutron-dpm-agent@<subset>.service']
        self.assertIn(without_directory(command).replace('%i', '<subset>'),
                      service.replace('runs ', ''))
        self.assertEqual('neutron', self.unit['Service']['User'])

    def test_same_restart_rules_as_the_compute_unit(self):
        # The HMC user must not be locked out by systemd's restarts.
        for section, keys in (('Unit', ('StartLimitIntervalSec',
                                        'StartLimitBurst')),
                              ('Service', ('Restart', 'RestartSec',
                                           'RestartPreventExitStatus'))):
            for key in keys:
                self.assertIn(key, self.compute[section], key)
                self.assertEqual(self.compute[section][key],
                                 self.unit[section][key], key)
        self.assertIn('78', self.unit['Service'][
            'RestartPreventExitStatus'].split())

    def test_shipped_agent_files_match_the_compute_subsets(self):
        self.assertEqual(sorted(os.listdir(SUBSETS)),
                         sorted(os.listdir(AGENT_SUBSETS)))
        for name in sorted(os.listdir(AGENT_SUBSETS)):
            agent = configparser.ConfigParser(strict=False,
                                              interpolation=None)
            with open(os.path.join(AGENT_SUBSETS, name,
                                   'neutron-dpm-agent.ini')) as f:
                agent.read_file(f)
            compute = configparser.ConfigParser(strict=False,
                                                interpolation=None)
            with open(os.path.join(SUBSETS, name,
                                   'nova-compute.conf')) as f:
                compute.read_file(f)
            # Neutron binds to the agent of the host Nova names.
            self.assertEqual(name, agent['DEFAULT']['host'])
            self.assertEqual(compute['dpm']['cpc_object_id'],
                             agent['dpm']['cpc_object_id'])
            self.assertEqual('noop',
                             agent['securitygroup']['firewall_driver'])
            # A separate HMC user (see the guide's "The HMC users").
            self.assertNotEqual(compute['dpm']['hmc_username'],
                                agent['dpm']['hmc_username'])
