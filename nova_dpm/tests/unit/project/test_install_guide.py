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

"""The installation guide's bare-host steps, run in a scratch root.

The shell blocks named ``bare-host-*`` of doc/source/install.rst are read
in order and each command is carried out on a temporary directory that
stands for ``/``: users are recorded (no useradd), directories and files
are made with the modes and owners the commands give (recorded, as the
test does not run as root), ``pip install`` puts the data files where
setup.cfg's ``data_files`` put them under the environment's prefix, and
``systemctl`` is recorded. ``nova-dpm-check`` runs for real, in process,
with the guide's files, against the simulated HMC: the only change to the
files is the one an operator makes, here ``hmc_mock_file`` in place of a
real HMC. A command the guide adds that this runner does not know fails
the test, so the guide and the test cannot drift apart.
"""

import configparser
import glob
import importlib.metadata
import io
import os
import re
import shlex
import shutil
from unittest import mock

import fixtures
from oslo_config import cfg
import testtools

from nova_dpm.cmd import check
from nova_dpm.neutron import config as agent_config
from nova_dpm.tests.unit.project import test_systemd_layout

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..',
                                    '..', '..'))
GUIDE = os.path.join(ROOT, 'doc', 'source', 'install.rst')
SETUP = os.path.join(ROOT, 'setup.cfg')
DEFINITION = 'z16'
SUBSETS = ('cpc1-subset-a', 'cpc1-subset-b')
SIMULATED = 'hmc_mock_file = %s' % DEFINITION
# What a bare RHEL 9 or Ubuntu 24.04 host has before the guide's steps.
BASE_DIRECTORIES = ('/etc/systemd/system', '/opt', '/var/lib', '/var/log')


def guide_blocks():
    """[(name, text)] of the guide's shell blocks named bare-host-*."""
    with open(GUIDE) as f:
        text = f.read()
    blocks = re.findall(r'(?ms)^\.\. code-block:: shell\n   :name: '
                        r'(bare-host-[\w-]+)\n\n(.*?)(?=^\S|\Z)', text)
    return [(name, '\n'.join(line[3:] for line in body.splitlines()))
            for name, body in blocks]


def commands(text):
    """(argv, here-document or None) of each command of a block."""
    lines = text.splitlines()
    while lines:
        line = lines.pop(0)
        while line.endswith('\\'):
            line = line[:-1] + lines.pop(0).strip()
        if not line.strip() or line.lstrip().startswith('#'):
            continue
        argv = shlex.split(line)
        body = None
        if argv[-1].startswith('<<'):
            end = argv.pop()[2:]
            body = []
            while lines[0] != end:
                body.append(lines.pop(0))
            lines.pop(0)
            body = '\n'.join(body) + '\n'
        yield argv, body


def data_files():
    """[(target under the prefix, source glob)] of setup.cfg."""
    parser = configparser.ConfigParser()
    parser.read(SETUP)
    rows = []
    for line in parser['files']['data_files'].strip().splitlines():
        target, source = (part.strip() for part in line.split('='))
        rows.append((target, source))
    return rows


def console_scripts():
    parser = configparser.ConfigParser()
    parser.read(SETUP)
    scripts = parser['entry_points']['console_scripts'].strip()
    return [line.split('=')[0].strip() for line in scripts.splitlines()]


class ScratchHost(object):
    """A root directory on which the guide's commands are carried out."""

    def __init__(self, test, root):
        self.test = test
        self.root = root
        self.users = {}         # name -> argv of useradd
        self.owners = {}        # path -> (mode, owner, group)
        self.systemctl = []     # argv
        self.pip = []           # argv
        self.checks = []        # (argv, exit code, output)
        self.venvs = []
        self.edited = False
        for path in BASE_DIRECTORIES:
            os.makedirs(self.path(path))

    def path(self, path):
        self.test.assertTrue(path.startswith('/'), path)
        return os.path.join(self.root, path.lstrip('/'))

    def run(self, argv, body):
        program = os.path.basename(argv[0])
        handler = {
            'useradd': self.useradd, 'install': self.install,
            'cat': self.cat, 'chown': self.chown, 'chmod': self.chmod,
            'systemctl': self.systemctl.append, 'pip': self.pip_install,
            'nova-dpm-check': self.check,
        }.get(program)
        if program.startswith('python3') and argv[1:3] == ['-m', 'venv']:
            handler = self.venv
        if handler is None:
            self.test.fail('the guide runs %r, which this test does not '
                           'model' % ' '.join(argv))
        if program == 'cat':
            return handler(argv, body)
        return handler(argv)

    # -- users, directories, files ----------------------------------------

    def useradd(self, argv):
        self.test.assertIn('--system', argv)
        self.users[argv[-1]] = argv

    def _options(self, argv, flags):
        found, rest, args = {}, [], list(argv[1:])
        while args:
            word = args.pop(0)
            if word in flags:
                found[word] = args.pop(0) if flags[word] else True
            else:
                rest.append(word)
        return found, rest

    def install(self, argv):
        opts, paths = self._options(
            argv, {'-d': False, '-m': True, '-o': True, '-g': True})
        mode = int(opts.get('-m', '0755'), 8)
        owner = (opts.get('-o', 'root'), opts.get('-g', 'root'))
        if opts.get('-d'):
            for path in paths:
                os.makedirs(self.path(path), exist_ok=True)
                self.owners[path] = (mode,) + owner
            return
        *sources, target = paths
        for source in sources:
            dest = target
            if target.endswith('/') or os.path.isdir(self.path(target)):
                dest = os.path.join(target, os.path.basename(source))
            self.test.assertTrue(os.path.isdir(os.path.dirname(
                self.path(dest))), 'no directory for %s' % dest)
            shutil.copyfile(self.path(source), self.path(dest))
            self.owners[dest] = (mode,) + owner

    def cat(self, argv, body):
        self.test.assertEqual('>', argv[1])
        self.test.assertIsNotNone(body)
        with open(self.path(argv[2]), 'w') as f:
            f.write(body)
        self.owners[argv[2]] = (0o644, 'root', 'root')

    def chown(self, argv):
        user, group = argv[1].split(':')
        for path in argv[2:]:
            self.owners[path] = (self.owners[path][0], user, group)

    def chmod(self, argv):
        for path in argv[2:]:
            self.owners[path] = (int(argv[1], 8),) + self.owners[path][1:]

    # -- the environment ----------------------------------------------------

    def venv(self, argv):
        prefix = argv[3]
        os.makedirs(self.path(os.path.join(prefix, 'bin')))
        self.venvs.append(prefix)

    def pip_install(self, argv):
        """What pip puts into the environment: scripts and data files."""
        prefix = os.path.dirname(os.path.dirname(argv[0]))
        self.test.assertIn(prefix, self.venvs)
        self.pip.append(argv)
        nova = [ep.name for ep in importlib.metadata.distribution(
            'nova').entry_points if ep.group == 'console_scripts']
        for script in console_scripts() + nova:
            open(self.path(os.path.join(prefix, 'bin', script)), 'w').close()
        for target, pattern in data_files():
            base = os.path.dirname(pattern)
            for source in glob.glob(os.path.join(ROOT, pattern)):
                dest = self.path(os.path.join(
                    prefix, target, os.path.relpath(source,
                                                    os.path.join(ROOT,
                                                                 base))))
                if os.path.isdir(source):
                    shutil.copytree(source, dest)
                else:
                    os.makedirs(os.path.dirname(dest), exist_ok=True)
                    shutil.copyfile(source, dest)

    # -- nova-dpm-check ---------------------------------------------------

    def edit(self):
        """The operator's edit: the simulated HMC instead of a real one."""
        pattern = self.path('/etc/*/dpm/*/*')
        for path in sorted(glob.glob(pattern)):
            with open(path) as f:
                text = f.read()
            self.test.assertIn('\n[dpm]\n', text)
            with open(path, 'w') as f:
                f.write(text.replace('\n[dpm]\n',
                                     '\n[dpm]\n%s\n' % SIMULATED, 1))
        self.edited = True

    def check(self, argv):
        self.test.assertIn(os.path.dirname(os.path.dirname(argv[0])),
                           self.venvs)
        if not self.edited:
            self.edit()
        args = [self.path(a) if a.startswith('/') else a for a in argv[1:]]
        out = io.StringIO()
        with mock.patch('sys.stdout', out):
            rc = check.main(args)
        self.checks.append((argv, rc, out.getvalue()))


class InstallGuideTest(testtools.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.blocks = guide_blocks()

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.FakeLogger(level='WARNING'))
        self.host = ScratchHost(self, self.useFixture(
            fixtures.TempDir()).path)
        for _name, text in self.blocks:
            for argv, body in commands(text):
                self.host.run(argv, body)

    def unit(self, name):
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.optionxform = str
        with open(self.host.path('/etc/systemd/system/' + name)) as f:
            parser.read_file(f)
        return parser

    def enabled(self):
        """The unit instances the guide enables and starts."""
        names = []
        for argv in self.host.systemctl:
            if argv[1:3] == ['enable', '--now']:
                names += argv[3:]
        return names

    def test_guide_has_the_steps(self):
        self.assertEqual(
            ['bare-host-users', 'bare-host-venv', 'bare-host-shared',
             'bare-host-subsets', 'bare-host-list', 'bare-host-check',
             'bare-host-units'], [name for name, _text in self.blocks])

    def test_users_and_directories(self):
        self.assertEqual({'nova', 'neutron'}, set(self.host.users))
        for user in ('nova', 'neutron'):
            argv = self.host.users[user]
            home = argv[argv.index('--home-dir') + 1]
            self.assertEqual('/var/lib/%s' % user, home)
            self.assertEqual((0o750, user, user), self.host.owners[home])
        for subset in SUBSETS:
            for path, group in (
                    ('/etc/nova/dpm/%s/nova-compute.conf' % subset, 'nova'),
                    ('/etc/neutron/dpm/%s/neutron-dpm-agent.ini' % subset,
                     'neutron')):
                # The files hold HMC passwords.
                self.assertEqual((0o640, 'root', group),
                                 self.host.owners[path], path)
                self.assertEqual((0o750, 'root', group),
                                 self.host.owners[os.path.dirname(path)])
        self.assertEqual((0o640, 'root', 'nova'),
                         self.host.owners['/etc/nova/nova.conf'])
        self.assertEqual((0o640, 'root', 'neutron'),
                         self.host.owners['/etc/neutron/neutron.conf'])

    def test_environment_holds_the_shipped_files(self):
        self.assertEqual(['/opt/nova-dpm'], self.host.venvs)
        (argv,) = self.host.pip
        self.assertIn('nova-dpm[neutron]', argv)
        self.assertIn('-c', argv)
        # The units installed are the source tree's, found under the
        # environment's prefix where setup.cfg's data_files put them.
        for name in ('nova-compute-dpm@.service',
                     'neutron-dpm-agent@.service'):
            with open(self.host.path('/etc/systemd/system/' + name)) as f:
                installed = f.read()
            with open(os.path.join(ROOT, 'etc', 'systemd', name)) as f:
                self.assertEqual(f.read(), installed)

    def test_units_run_the_environment_with_existing_files(self):
        enabled = self.enabled()
        self.assertEqual(sorted(
            ['nova-compute-dpm@%s.service' % s for s in SUBSETS] +
            ['neutron-dpm-agent@%s.service' % s for s in SUBSETS]),
            sorted(enabled))
        for instance in enabled:
            template, subset = re.match(r'^(.*@)(.*)\.service$',
                                        instance).groups()
            unit = self.unit(template + '.service')
            command = shlex.split(
                unit['Service']['ExecStart'].replace('%i', subset))
            self.assertTrue(os.path.isfile(self.host.path(command[0])),
                            command[0])
            for i, word in enumerate(command):
                if word == '--config-file':
                    self.assertTrue(os.path.isfile(
                        self.host.path(command[i + 1])), command[i + 1])
            asserted = unit['Unit']['AssertPathExists'].replace('%i', subset)
            self.assertTrue(os.path.isfile(self.host.path(asserted)))

    def test_layout_table_matches_the_scratch_root(self):
        unit = self.unit('nova-compute-dpm@.service')
        made_by_systemd = {
            '/var/lib/' + unit['Service']['StateDirectory'],
            '/var/log/' + unit['Service']['LogsDirectory']}
        rows = [path for path, _text in
                test_systemd_layout.documented_layout()
                if path.startswith('/')]
        self.assertIn('/etc/nova/dpm/<subset>/nova-compute.conf', rows)
        for path in rows:
            if path.replace('<subset>', '%i') in made_by_systemd:
                continue
            for subset in SUBSETS:
                self.assertTrue(os.path.exists(self.host.path(
                    path.replace('<subset>', subset))), path)

    def test_distribution_nova_compute_is_masked_first(self):
        first = self.host.systemctl[0]
        self.assertEqual(['systemctl', 'mask', '--now', 'nova-compute.service',
                          'openstack-nova-compute.service'], first)

    def test_state_path_is_the_units_state_directory(self):
        unit = self.unit('nova-compute-dpm@.service')
        for subset in SUBSETS:
            conf = configparser.ConfigParser(strict=False,
                                             interpolation=None)
            conf.read(self.host.path('/etc/nova/dpm/%s/nova-compute.conf' %
                                     subset))
            self.assertEqual(subset, conf['DEFAULT']['host'])
            self.assertEqual(
                '/var/lib/' + unit['Service']['StateDirectory'].replace(
                    '%i', subset), conf['DEFAULT']['state_path'])

    def test_nova_dpm_check_passes_with_the_units_files(self):
        unit = self.unit('nova-compute-dpm@.service')
        runs = [run for run in self.host.checks if '--list' not in run[0]]
        self.assertEqual(len(SUBSETS), len(runs))
        for (argv, rc, output), subset in zip(runs, SUBSETS):
            command = shlex.split(
                unit['Service']['ExecStart'].replace('%i', subset))
            # Exactly the two files the unit gives nova-compute.
            self.assertEqual(command[1:], argv[1:])
            self.assertEqual(0, rc, output)
            self.assertIn('CPC subset %s ([DEFAULT] host)' % subset, output)
            self.assertIn('SIMULATED HMC (%s)' % DEFINITION, output)
            self.assertIn('\nOK (', output)
            self.assertNotIn('CHANGE-ME', output)

    def test_list_shows_the_ids_of_the_shipped_files(self):
        (run,) = [run for run in self.host.checks if '--list' in run[0]]
        argv, rc, output = run
        self.assertEqual(0, rc, output)
        conf = configparser.ConfigParser(strict=False, interpolation=None)
        conf.read(self.host.path(argv[-1]))
        self.assertIn('(%s): DPM mode' % conf['dpm']['cpc_object_id'],
                      output)
        lines = output.splitlines()
        for mapping in conf['dpm']['physical_storage_adapter_mappings'] \
                .split('\n'):
            self.assertTrue(any('(%s): type fcp' % mapping.split(':')[0]
                                in line for line in lines), mapping)

    def test_agent_files_are_valid_and_name_a_listed_adapter_port(self):
        (_argv, _rc, listing) = [r for r in self.host.checks
                                 if '--list' in r[0]][0]
        for subset in SUBSETS:
            conf = cfg.ConfigOpts()
            agent_config.register_opts(conf)
            conf(['--config-file', self.host.path('/etc/neutron/neutron.conf'),
                  '--config-file', self.host.path(
                      '/etc/neutron/dpm/%s/neutron-dpm-agent.ini' % subset)],
                 project='neutron', default_config_files=[],
                 default_config_dirs=[])
            settings = agent_config.validate(conf)
            for mapping in settings.physical_network_adapter_mappings:
                adapter = re.search(r'(?m)^  adapter .*\(%s\): type osd.*\n'
                                    r'((?:    .*\n)*)' % mapping.adapter_id,
                                    listing)
                self.assertIsNotNone(adapter, mapping)
                self.assertIn('    port %d (' % mapping.port,
                              adapter.group(1))
