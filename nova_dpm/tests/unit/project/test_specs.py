#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

"""Structure checks for the design specs in specs/*.rst.

Every spec has a document title followed by exactly the sections of
REQUIRED_SECTIONS, in that order, as top-level RST sections (subsections
are free), and no line is longer than 79 columns.
"""

import glob
import io
import os
import re
import string

import testtools

REPO_ROOT = os.path.abspath(
    os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))
SPECS_DIR = os.path.join(REPO_ROOT, 'specs')
MAX_COLUMNS = 79

REQUIRED_SECTIONS = (
    'Problem description',
    'Proposed change',
    'Alternatives',
    'Data model impact',
    'REST API impact',
    'Security impact',
    'Notifications impact',
    'Other end user impact',
    'Performance impact',
    'Other deployer impact',
    'Developer impact',
    'Implementation',
    'Dependencies',
    'Testing',
    'Documentation impact',
    'References',
    'History',
)

EXPECTED_SPECS = ('template.rst', 'cpc-subsets.rst',
                  'boot-from-fcp-volume.rst', 'networking.rst',
                  'storage-groups.rst')

_ADORNMENT = re.compile(r'^([%s])\1{2,}$' % re.escape(string.punctuation))


def headings(text):
    """[(title, style, line number)] of the RST section titles in text.

    style is (adornment character, has overline).  Indented lines (block
    quotes, literal blocks, directive bodies) are never titles.
    """
    lines = [line.rstrip() for line in text.splitlines()]
    found = []
    for i, line in enumerate(lines[:-1]):
        if not line or line[0].isspace() or _ADORNMENT.match(line):
            continue
        under = lines[i + 1]
        if not _ADORNMENT.match(under):
            continue
        over = lines[i - 1] if i > 0 else ''
        has_overline = bool(_ADORNMENT.match(over)) and over == under
        found.append((line.strip(), (under[0], has_overline), i + 1,
                      len(under) >= len(line)))
    return found


def check_spec(text):
    """A list of problems; empty when the spec is well formed."""
    problems = []
    for number, line in enumerate(text.splitlines(), 1):
        if len(line) > MAX_COLUMNS:
            problems.append('line %d has %d columns (at most %d)' %
                            (number, len(line), MAX_COLUMNS))
    found = headings(text)
    for title, _style, number, long_enough in found:
        if not long_enough:
            problems.append('line %d: the adornment of %r is shorter than '
                            'the title' % (number, title))
    styles = []
    for _title, style, _number, _ok in found:
        if style not in styles:
            styles.append(style)
    if len(styles) < 2:
        problems.append('expected a document title followed by sections; '
                        'found %d heading style(s)' % len(styles))
        return problems
    title_style, section_style = styles[0], styles[1]
    titles = [t for t, s, _n, _ok in found if s == title_style]
    if len(titles) != 1:
        problems.append('expected one document title, found %d: %s' %
                        (len(titles), titles))
    sections = [t for t, s, _n, _ok in found if s == section_style]
    if tuple(sections) != REQUIRED_SECTIONS:
        missing = [s for s in REQUIRED_SECTIONS if s not in sections]
        extra = [s for s in sections if s not in REQUIRED_SECTIONS]
        detail = []
        if missing:
            detail.append('missing %s' % missing)
        if extra:
            detail.append('unexpected %s' % extra)
        if not detail:
            detail.append('wrong order or repeated sections')
        problems.append('top-level sections must be exactly %s; found %s '
                        '(%s)' % (list(REQUIRED_SECTIONS), sections,
                                  '; '.join(detail)))
    return problems


def make_spec(sections=REQUIRED_SECTIONS, body='Some text.'):
    """A minimal well-formed spec with the given top-level sections."""
    parts = ['=====\nTitle\n=====\n', 'Introduction.\n']
    for section in sections:
        parts.append('%s\n%s\n\n%s\n' % (section, '=' * len(section), body))
    return '\n'.join(parts)


def spec_files():
    return sorted(glob.glob(os.path.join(SPECS_DIR, '*.rst')))


class SpecsTestCase(testtools.TestCase):

    def test_expected_specs_exist(self):
        names = [os.path.basename(f) for f in spec_files()]
        for name in EXPECTED_SPECS:
            self.assertIn(name, names)

    def test_specs_are_well_formed(self):
        files = spec_files()
        self.assertNotEqual([], files)
        for path in files:
            with open(path, encoding='utf-8') as f:
                problems = check_spec(f.read())
            self.assertEqual([], problems, path)

    def test_specs_parse_cleanly(self):
        try:
            import docutils.core
        except ImportError:
            self.skipTest('docutils is not installed')
        for path in spec_files():
            with open(path, encoding='utf-8') as f:
                text = f.read()
            warnings = io.StringIO()
            docutils.core.publish_doctree(
                text, source_path=path,
                settings_overrides={'report_level': 2, 'halt_level': 5,
                                    'warning_stream': warnings})
            self.assertEqual('', warnings.getvalue(), path)


class CheckerTestCase(testtools.TestCase):
    """The checker itself must reject broken specs."""

    def test_minimal_spec_passes(self):
        self.assertEqual([], check_spec(make_spec()))

    def test_subsections_allowed(self):
        text = make_spec().replace(
            'Implementation\n==============\n',
            'Implementation\n==============\n\nWork items\n----------\n')
        self.assertEqual([], check_spec(text))

    def test_missing_section_fails(self):
        sections = [s for s in REQUIRED_SECTIONS if s != 'Security impact']
        problems = check_spec(make_spec(sections))
        self.assertEqual(1, len(problems))
        self.assertIn("missing ['Security impact']", problems[0])

    def test_wrong_order_fails(self):
        sections = list(REQUIRED_SECTIONS)
        sections[0], sections[1] = sections[1], sections[0]
        problems = check_spec(make_spec(sections))
        self.assertEqual(1, len(problems))
        self.assertIn('wrong order', problems[0])

    def test_extra_section_fails(self):
        sections = list(REQUIRED_SECTIONS) + ['Appendix']
        problems = check_spec(make_spec(sections))
        self.assertIn("unexpected ['Appendix']", problems[0])

    def test_title_as_plain_text_fails(self):
        text = make_spec().replace('Testing\n=======\n', 'Testing\n')
        problems = check_spec(text)
        self.assertIn("missing ['Testing']", ' '.join(problems))

    def test_section_at_wrong_level_fails(self):
        text = make_spec().replace('History\n=======\n', 'History\n-------\n')
        problems = check_spec(text)
        self.assertIn("missing ['History']", ' '.join(problems))

    def test_indented_title_is_not_a_section(self):
        text = make_spec().replace('References\n==========\n',
                                   '  References\n  ==========\n')
        problems = check_spec(text)
        self.assertIn("missing ['References']", ' '.join(problems))

    def test_long_line_fails(self):
        text = make_spec(body='x' * (MAX_COLUMNS + 1))
        problems = check_spec(text)
        self.assertEqual(len(REQUIRED_SECTIONS), len(problems))
        self.assertIn('has 80 columns', problems[0])

    def test_line_of_79_columns_passes(self):
        self.assertEqual([], check_spec(make_spec(body='x' * MAX_COLUMNS)))

    def test_short_underline_fails(self):
        text = make_spec().replace('Alternatives\n============\n',
                                   'Alternatives\n=========\n')
        problems = check_spec(text)
        self.assertIn("adornment of 'Alternatives' is shorter",
                      ' '.join(problems))

    def test_missing_document_title_fails(self):
        text = make_spec().replace('=====\nTitle\n=====\n', '')
        self.assertNotEqual([], check_spec(text))

    def test_broken_spec_text_fails(self):
        broken = (
            '====\nSpec\n====\n\n'
            'Proposed change\n===============\n\nText.\n\n'
            'Problem description\n===================\n\n'
            + 'A line that is far too long for the limit of this project. '
            * 2 + '\n')
        problems = check_spec(broken)
        self.assertEqual(2, len(problems), problems)
