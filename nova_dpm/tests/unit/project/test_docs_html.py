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

"""The built documentation: the support matrix, specs and release notes.

The support matrix page tells complete, partial and missing apart.

Builds the documentation with Sphinx (as ``tox -e docs`` does, into a
temporary directory) and reads the HTML and the stylesheet it links: every
summary cell shows its level with the symbol of that level, the three
symbols differ, the levels match support-matrix.ini, and the page's own
stylesheet gives the three levels different colours and the header row a
light text colour, with the priority that beats the theme's link style.
Every spec of ``specs/`` and the release notes are pages of the docs.
"""

import configparser
import html as html_module
import os
import re
import subprocess
import sys

import fixtures
import testtools

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..',
                                    '..', '..'))
SOURCE = os.path.join(ROOT, 'doc', 'source')
MATRIX_INI = os.path.join(SOURCE, 'support-matrix.ini')
SPECS = os.path.join(ROOT, 'specs')
NOTES = os.path.join(ROOT, 'releasenotes', 'notes')
LEVELS = ('complete', 'partial', 'missing')

CELL_RE = re.compile(
    r'<code class="([^"]*\bsp_impl_summary\b[^"]*)"[^>]*>'
    r'<span class="pre">([^<]*)</span></code>')


def _can_build():
    try:
        import openstackdocstheme  # noqa: F401
        import sphinx  # noqa: F401
        import sphinx_feature_classification  # noqa: F401
    except ImportError:
        return False
    return True


class SupportMatrixHtmlTest(testtools.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.html = cls.css = None
        if not _can_build():
            return
        cls._tmp = fixtures.TempDir()
        cls._tmp.setUp()
        out = os.path.join(cls._tmp.path, 'html')
        env = dict(os.environ, OS_NOVA_DISABLE_EVENTLET_PATCHING='1')
        proc = subprocess.run(
            [sys.executable, '-m', 'sphinx', '-q', '-b', 'html', '-d',
             os.path.join(cls._tmp.path, 'doctrees'), SOURCE, out],
            cwd=ROOT, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, universal_newlines=True, timeout=600)
        cls.out = out
        cls.build_output = proc.stdout
        cls.returncode = proc.returncode
        page = os.path.join(out, 'support-matrix.html')
        if os.path.exists(page):
            with open(page, encoding='utf-8') as f:
                cls.html = f.read()
            with open(os.path.join(out, '_static', 'nova-dpm-matrix.css'),
                      encoding='utf-8') as f:
                cls.css = f.read()

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, '_tmp', None) is not None:
            cls._tmp.cleanUp()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        if not _can_build():
            self.skipTest('Sphinx, openstackdocstheme or '
                          'sphinx-feature-classification is not installed')
        self.assertEqual(0, self.returncode, self.build_output)

    def cells(self):
        result = []
        for classes, symbol in CELL_RE.findall(self.html):
            levels = [lv for lv in LEVELS + ('unknown',)
                      if 'sp_impl_' + lv in classes.split()]
            self.assertEqual(1, len(levels), classes)
            result.append((levels[0], symbol))
        return result

    def test_each_level_has_its_own_symbol(self):
        symbols = {}
        for level, symbol in self.cells():
            symbols.setdefault(level, set()).add(symbol)
        self.assertEqual(set(LEVELS), set(symbols))
        for level in LEVELS:
            self.assertEqual(1, len(symbols[level]), level)
        self.assertEqual(3, len({s.pop() for s in symbols.values()}))

    def test_levels_match_the_matrix(self):
        parser = configparser.ConfigParser(interpolation=None)
        parser.read(MATRIX_INI)
        expected = sorted(parser[s]['driver.dpm'] for s in parser.sections()
                          if 'driver.dpm' in parser[s])
        self.assertEqual(expected, sorted(lv for lv, _s in self.cells()))

    def test_cells_name_their_level(self):
        # Tooltips on the links: the level in words.
        for level in LEVELS:
            self.assertRegex(
                self.html, r'<a [^>]*title="%s"[^>]*><code class="'
                r'sp_impl_summary sp_impl_%s' % (level, level))

    def test_page_links_the_stylesheet_after_the_theme(self):
        links = re.findall(r'<link rel="stylesheet"[^>]*href="([^"]+)"',
                           self.html)
        names = [os.path.basename(link.split('?')[0]) for link in links]
        self.assertIn('nova-dpm-matrix.css', names)
        self.assertGreater(names.index('nova-dpm-matrix.css'),
                           names.index('support-matrix.css'))

    def colour(self, selector_part):
        """The colour declared for the rule whose selector has the part."""
        for selectors, body in re.findall(r'([^{}]+)\{([^}]*)\}',
                                          re.sub(r'/\*.*?\*/', '', self.css,
                                                 flags=re.S)):
            if selector_part in selectors:
                match = re.search(r'(?<![-\w])color:\s*([^;!]+?)\s*'
                                  r'!important', body)
                if match:
                    return match.group(1)
        return None

    def test_levels_have_distinct_colours_that_beat_the_theme(self):
        colours = {lv: self.colour('a code.sp_impl_%s' % lv)
                   for lv in LEVELS}
        self.assertNotIn(None, colours.values(), colours)
        self.assertEqual(3, len(set(colours.values())), colours)

    def test_header_link_is_light_on_dark(self):
        self.assertEqual('#ffffff',
                         self.colour('thead th.sp_feature_cells a'))
        self.assertRegex(self.css, r'background-color:\s*#2c3e50\s*'
                         r'!important')

    def test_every_spec_is_a_page(self):
        specs = sorted(n[:-4] for n in os.listdir(SPECS)
                       if n.endswith('.rst') and n != 'template.rst')
        self.assertNotEqual([], specs)
        with open(os.path.join(self.out, 'specs', 'index.html'),
                  encoding='utf-8') as f:
            index = f.read()
        for name in specs:
            with open(os.path.join(SPECS, name + '.rst'),
                      encoding='utf-8') as f:
                title = [line for line in f.read().splitlines()
                         if line.strip() and not line.startswith(
                             ('..', ' ', '='))][0]
            page = os.path.join(self.out, 'specs', name + '.html')
            self.assertTrue(os.path.exists(page), name)
            with open(page, encoding='utf-8') as f:
                self.assertIn(html_module.escape(title, quote=False),
                              f.read(), name)
            self.assertIn('href="%s.html"' % name, index)

    def test_release_notes_are_a_page(self):
        with open(os.path.join(self.out, 'release-notes.html'),
                  encoding='utf-8') as f:
            page = f.read()
        self.assertIn('<h1>Release notes', page)
        # At least one committed note is rendered (reno reads git).
        self.assertRegex(page, r'<h[23][^>]*>(New Features|Bug Fixes|'
                         r'Upgrade Notes)')
