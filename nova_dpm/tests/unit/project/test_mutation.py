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

"""tools/mutation.py (``tox -e mutation``) and the list of equivalent
survivors beside the tests: every listed survivor still names a line of
its module and an operator the run uses, so the list cannot go stale
silently, and every driver module has a mirror test file."""

import importlib.util
import os
import tempfile

import testtools

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..',
                                    '..', '..'))
DRIVER_MODULES = ('subset', 'conf', 'network', 'storage', 'partition',
                  'hmc', 'driver')


def load_tool():
    spec = importlib.util.spec_from_file_location(
        'mutation_tool', os.path.join(ROOT, 'tools', 'mutation.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class EquivalentsTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.tool = load_tool()

    def test_every_listed_survivor_names_a_line_and_an_operator(self):
        listed = self.tool.load_equivalents()
        for (module, operator, line), reason in listed.items():
            lines = set()
            path = self.tool.module_file(module)
            for source in self.tool.module_sources(path):
                with open(os.path.join(ROOT, source)) as f:
                    lines.update(raw.strip() for raw in f)
            self.assertIn(line, lines,
                          'mutation-equivalents.txt: %s no longer has the '
                          'line %r' % (module, line))
            self.assertIn(operator, self.tool.OPERATORS)
            self.assertGreater(len(reason), 10,
                               'give a reason for %s %r' % (module, line))

    def test_a_malformed_line_is_refused_with_its_number(self):
        with tempfile.NamedTemporaryFile('w', suffix='.txt') as f:
            f.write('# comment\n\nsubset | core/AddNot | if x:\n')
            f.flush()
            error = self.assertRaises(SystemExit,
                                      self.tool.load_equivalents, f.name)
        self.assertIn(':3: expected "module | operator | source line | '
                      'reason"', str(error))

    def test_every_driver_module_has_its_mirror_tests(self):
        for name in DRIVER_MODULES:
            self.assertEqual('nova_dpm.tests.unit.test_' + name,
                             self.tool.mirror_tests(name))
        self.assertEqual('nova_dpm.tests.unit.cmd.test_check',
                         self.tool.mirror_tests('cmd/check'))

    def test_tox_runs_every_driver_module_by_default(self):
        with open(os.path.join(ROOT, 'tox.ini')) as f:
            tox = f.read()
        self.assertIn('tools/mutation.py {posargs:%s}'
                      % ' '.join(DRIVER_MODULES), tox)

    def test_a_package_is_mutated_with_every_file_of_it(self):
        path = self.tool.module_file('storage')
        self.assertEqual(os.path.join('nova_dpm', 'storage'), path)
        sources = self.tool.module_sources(path)
        self.assertIn(os.path.join('nova_dpm', 'storage', 'groups.py'),
                      sources)
        self.assertIn(os.path.join('nova_dpm', 'storage', '__init__.py'),
                      sources)
        self.assertEqual([os.path.join('nova_dpm', 'subset.py')],
                         self.tool.module_sources(
                             self.tool.module_file('subset')))

    def test_unknown_module_is_named(self):
        error = self.assertRaises(SystemExit, self.tool.module_file,
                                  'nosuch')
        self.assertIn('nova_dpm/nosuch.py', str(error))
