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

"""The built wheel: it carries nova/virt/dpm and never nova's own files,
and nova's loader finds the driver in it under both spellings."""

import csv
import io
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

import testtools

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))

LOAD = '''
import sys
sys.path.insert(0, %(target)r)
from nova import monkey_patch; monkey_patch.patch()
import nova.virt
import os
shim = os.path.join(%(target)r, 'nova', 'virt')
nova.virt.__path__.insert(0, shim)
from nova.virt import driver
for spelling in ('dpm.DPMDriver', 'dpm.driver.DPMDriver'):
    loaded = driver.load_compute_driver(None, spelling)
    print(spelling, type(loaded).__module__, type(loaded).__name__,
          sys.modules['nova_dpm'].__file__)
'''


class WheelTest(testtools.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.mkdtemp()
        src = os.path.join(cls.tmp, 'src')
        # Build from a copy, so the source tree gets no build/ or egg-info.
        shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
            '.tox', '.stestr', 'build', 'doc', 'releasenotes', '*.egg-info',
            '__pycache__'))
        out = os.path.join(cls.tmp, 'dist')
        subprocess.run(
            [sys.executable, '-m', 'pip', 'wheel', '--no-deps',
             '--no-build-isolation', '--wheel-dir', out, src],
            check=True, capture_output=True)
        wheels = [f for f in os.listdir(out) if f.endswith('.whl')]
        assert len(wheels) == 1, wheels
        cls.wheel = os.path.join(out, wheels[0])

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)
        super().tearDownClass()

    def names(self):
        with zipfile.ZipFile(self.wheel) as whl:
            return whl.namelist()

    def test_carries_the_shim_and_not_nova(self):
        names = self.names()
        self.assertIn('nova/virt/dpm/__init__.py', names)
        self.assertIn('nova/virt/dpm/driver.py', names)
        self.assertIn('nova_dpm/driver.py', names)
        self.assertIn('nova_dpm/simulator/definitions/z16.yaml', names)
        self.assertIn('nova_dpm/simulator/definitions/z13.yaml', names)
        nova_files = [n for n in names if n.startswith('nova/')]
        self.assertEqual(
            [], [n for n in nova_files
                 if not n.startswith('nova/virt/dpm/')])
        self.assertNotIn('nova/__init__.py', names)
        self.assertNotIn('nova/virt/__init__.py', names)

    def test_carries_the_files_the_install_guide_copies(self):
        # The guide copies from <prefix>/share/nova-dpm, where pip puts the
        # wheel's data files (<name>.data/data/ is the prefix).
        from nova_dpm.tests.unit.project import test_install_guide as guide
        share = '/opt/nova-dpm/share/nova-dpm/'
        wanted = {word[len(share):] for _name, text in guide.guide_blocks()
                  for argv, _body in guide.commands(text)
                  for word in argv if word.startswith(share)}
        self.assertIn('etc/systemd/neutron-dpm-agent@.service', wanted)
        data = {n.split('.data/data/share/nova-dpm/', 1)[1]
                for n in self.names() if '.data/data/share/nova-dpm/' in n}
        self.assertEqual(set(), wanted - data)
        self.assertIn('etc/neutron/plugins/ml2/ml2_conf.ini', data)

    def metadata(self):
        with zipfile.ZipFile(self.wheel) as whl:
            name = [n for n in whl.namelist()
                    if n.endswith('.dist-info/METADATA')][0]
            return whl.read(name).decode().splitlines()

    def test_version_is_of_the_4_series(self):
        # The package index's nova-dpm 3.0.0 is the retired driver.
        version = [line.split(':', 1)[1].strip() for line in self.metadata()
                   if line.startswith('Version:')]
        self.assertEqual(1, len(version))
        self.assertTrue(version[0].startswith('4.0.0'), version)

    def test_driver_requirements_leave_the_simulator_to_its_extra(self):
        lines = self.metadata()
        requires = [line.split(':', 1)[1].strip() for line in lines
                    if line.startswith('Requires-Dist:')]
        base = [r for r in requires if 'extra ==' not in r]
        extra = [r for r in requires if 'extra == "simulator"' in r]
        self.assertIn('Provides-Extra: simulator', lines)
        self.assertEqual([], [r for r in base if 'cryptography' in r])
        zhmc = [r for r in base if r.startswith('zhmcclient')]
        self.assertEqual(1, len(zhmc), base)
        self.assertIn('<2', zhmc[0])
        self.assertNotIn('1.27', zhmc[0])
        self.assertTrue([r for r in extra if r.startswith('cryptography')])
        self.assertTrue([r for r in extra if r.startswith('zhmcclient')
                         and '<1.27' in r], extra)

    def test_uninstall_removes_only_its_own_files(self):
        # pip uninstall removes exactly the files listed in RECORD.
        with zipfile.ZipFile(self.wheel) as whl:
            record = [n for n in whl.namelist()
                      if n.endswith('.dist-info/RECORD')][0]
            rows = list(csv.reader(io.StringIO(
                whl.read(record).decode())))
        paths = [row[0] for row in rows if row]
        self.assertTrue(paths)
        for path in paths:
            self.assertTrue(
                path.startswith(('nova_dpm/', 'nova/virt/dpm/',
                                 'nova_dpm-')), path)

    def test_nova_loads_the_installed_driver(self):
        target = os.path.join(self.tmp, 'target')
        subprocess.run(
            [sys.executable, '-m', 'pip', 'install', '--no-deps',
             '--no-compile', '--target', target, self.wheel],
            check=True, capture_output=True)
        self.assertFalse(os.path.exists(
            os.path.join(target, 'nova', '__init__.py')))
        env = dict(os.environ, OS_NOVA_DISABLE_EVENTLET_PATCHING='1')
        result = subprocess.run(
            [sys.executable, '-c', LOAD % {'target': target}],
            capture_output=True, text=True, env=env, cwd=self.tmp)
        self.assertEqual(0, result.returncode, result.stderr)
        lines = result.stdout.splitlines()
        self.assertEqual(2, len(lines), result.stdout)
        for line, spelling in zip(lines, ('dpm.DPMDriver',
                                          'dpm.driver.DPMDriver')):
            name, module, cls, origin = line.split()
            self.assertEqual(spelling, name)
            self.assertEqual(('nova_dpm.driver', 'DPMDriver'),
                             (module, cls))
            # The driver came from the installed wheel, not the source tree.
            self.assertTrue(origin.startswith(target), origin)
