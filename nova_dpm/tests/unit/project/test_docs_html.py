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
The rows that support-matrix.ini marks as shown only against the
simulated HMC carry the mark in the summary, linked to its legend, and a
sentence in their details. Every spec of ``specs/`` and the release notes
are pages of the docs. No inline literal of any page is split across
source lines inside a path or name (it would render with a space), and
the AutoYaST listing's shell script is highlighted as shell, not as one
block of XML character data.
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

SIMULATED_KEY = 'simulated-only.dpm'
SIMULATED_MARK_RE = re.compile(
    r'<a class="reference internal" href="#([^"]+)" title="[a-z]+">'
    r'<code class="[^"]*\bsp_impl_summary\b[^"]*"[^>]*>'
    r'<span class="pre">[^<]*</span></code></a>'
    r'<a class="reference internal" href="#simulated-hmc-only" '
    r'title="shown only against the simulated HMC: ([^"]+)">'
    r'<sup class="nova-dpm-simulated">sim</sup></a>')
# An inline literal (docutils renders each word as a "pre" span) in which
# a word ends in '/', '_' or '-' (and is not all dashes, as the '--' of a
# command line) and the next follows after a blank: a path or name split
# across two source lines.
LITERAL_RE = re.compile(r'<code class="docutils literal[^"]*">(.*?)</code>',
                        re.S)
SPLIT_WORD_RE = re.compile(r'<span class="pre">(?!-+</span>)'
                           r'([^<\s]+[/_-])</span>\s+'
                           r'<span class="pre">([^<]*)</span>')

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

    def test_rows_shown_only_against_the_simulated_hmc_are_marked(self):
        parser = configparser.ConfigParser(interpolation=None)
        parser.read(MATRIX_INI)
        expected = {
            re.sub('[^a-zA-Z0-9_]', '_', s + '_driver.dpm'):
            ' '.join(parser[s][SIMULATED_KEY].split())
            for s in parser.sections() if SIMULATED_KEY in parser[s]}
        self.assertNotEqual({}, expected)
        marked = {ident: html_module.unescape(what) for ident, what in
                  SIMULATED_MARK_RE.findall(self.html)}
        self.assertEqual(expected, marked)
        # Only those rows: one mark per marked row in the summary, one in
        # the legend, one in the details of each.
        self.assertEqual(1 + 2 * len(expected),
                         self.html.count('class="nova-dpm-simulated"'))
        self.assertEqual(len(expected), self.html.count(
            'Shown only against the simulated HMC: '))
        # The legend the marks link to.
        self.assertRegex(self.html, r'id="simulated-hmc-only"')
        self.assertIn('shown <strong>only against the simulated HMC</strong>',
                      self.html)
        self.assertRegex(self.css, r'sup\.nova-dpm-simulated')

    def test_no_literal_split_inside_a_word(self):
        split = []
        for base, _dirs, names in os.walk(self.out):
            for name in names:
                if not name.endswith('.html'):
                    continue
                with open(os.path.join(base, name), encoding='utf-8') as f:
                    page = f.read()
                for literal in LITERAL_RE.findall(page):
                    for first, second in SPLIT_WORD_RE.findall(literal):
                        split.append('%s: %s %s' % (
                            os.path.relpath(os.path.join(base, name),
                                            self.out), first, second))
        self.assertEqual([], split)

    def test_split_literal_is_detected(self):
        # What the check above looks for, as docutils renders a literal
        # written as ``nova_dpm/tests/unit/guest_tools/<newline>vectors.json``.
        rendered = ('<code class="docutils literal notranslate">'
                    '<span class="pre">nova_dpm/tests/unit/guest_tools/'
                    '</span> <span class="pre">vectors.json</span></code>')
        self.assertEqual([('nova_dpm/tests/unit/guest_tools/',
                           'vectors.json')],
                         SPLIT_WORD_RE.findall(
                             LITERAL_RE.findall(rendered)[0]))
        ok = ('<code class="docutils literal notranslate">'
              '<span class="pre">tox</span> <span class="pre">--</span> '
              '<span class="pre">dracut</span> <span class="pre">--force'
              '</span> <span class="pre">-</span></code>')
        self.assertEqual([], SPLIT_WORD_RE.findall(ok))

    def test_autoyast_script_is_highlighted_as_shell(self):
        with open(os.path.join(self.out, 'guest-images.html'),
                  encoding='utf-8') as f:
            page = f.read()
        blocks = re.findall(r'<div class="highlight-(\w+) notranslate">'
                            r'(.*?)</pre>', page, re.S)
        script = [lang for lang, body in blocks
                  if 'zypper' in body and 'DPM_TOOLS_RPM' in body]
        self.assertEqual(['bash'], script)
        # No block of the page is one long preprocessor token (Pygments'
        # "cp", bold red in the theme's style), as CDATA is in XML.
        for _lang, body in blocks:
            for token in re.findall(r'<span class="cp">(.*?)</span>', body,
                                    re.S):
                self.assertLess(len(token), 200, token[:80])

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
