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

"""The HMC rules reference and the citations of its rules.

doc/source/contributor/hmc-rules.rst describes every HMC rule nova-dpm
relies on, under a label ``hmc-rule-<id>``, with its source, how sure we
are and where nova-dpm relies on it. Code and tests cite the rules by id
("HMC rule C3", "HMC rules E2 and E4"). These tests keep the two in step:
each rule has its fields, and each cited id names a rule (or an area) of
the reference.
"""

import io
import os
import re

import testtools

REPO_ROOT = os.path.abspath(
    os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))
REFERENCE = os.path.join(REPO_ROOT, 'doc', 'source', 'contributor',
                         'hmc-rules.rst')
CITING_TREES = ('nova_dpm', 'tools')

CERTAINTIES = ('documented', 'observed', "IBM's clients", 'inferred')
FIELDS = (':Source:', ':Certainty:', ':Relied on by:')

_LABEL = re.compile(r'^\.\. _hmc-rule-([a-z])(\d+):$')
_AREA = re.compile(r'^([A-Z])\. \S')
# "HMC rule C3", "HMC rules C1-C12", and the older hyphenated form.
_CITATION = re.compile(r'(?:HMC rules?|hmc-rule[s]) ([^\n]*)')
# A citation's ids end at the first of these characters.
_CITATION_END = re.compile(r'[:;.()\[\]"]')
_ID = re.compile(r'\b([A-Z])(\d{1,2})?(?:-\1?(\d{1,2}))?\b')


def read(path):
    with io.open(path, encoding='utf-8') as f:
        return f.read()


def reference_rules(text):
    """{id: the rule's text up to the next label} and the area letters."""
    rules = {}
    areas = set()
    current = None
    for line in text.splitlines():
        match = _LABEL.match(line)
        if match:
            current = match.group(1).upper() + match.group(2)
            rules[current] = []
            continue
        match = _AREA.match(line)
        if match:
            areas.add(match.group(1))
            current = None
            continue
        if current is not None:
            rules[current].append(line)
    return {k: '\n'.join(v) for k, v in rules.items()}, areas


def cited_ids(text):
    """The rule ids (and bare area letters) a text cites."""
    for match in _CITATION.finditer(text):
        ids = _CITATION_END.split(match.group(1), 1)[0]
        for letter, first, last in _ID.findall(ids):
            if not first:
                yield letter
                continue
            end = int(last) if last else int(first)
            for number in range(int(first), end + 1):
                yield '%s%d' % (letter, number)


def citing_files():
    for tree in CITING_TREES:
        for root, _dirs, files in os.walk(os.path.join(REPO_ROOT, tree)):
            for name in files:
                if name.endswith('.py'):
                    yield os.path.join(root, name)


class ReferenceTest(testtools.TestCase):

    def setUp(self):
        super(ReferenceTest, self).setUp()
        self.rules, self.areas = reference_rules(read(REFERENCE))

    def test_reference_has_rules_of_every_area(self):
        self.assertGreater(len(self.rules), 60)
        self.assertEqual(self.areas, {r[0] for r in self.rules})

    def test_every_rule_has_source_certainty_and_users(self):
        for rule_id, text in sorted(self.rules.items()):
            for field in FIELDS:
                self.assertIn(field, text, 'HMC rule %s lacks %s'
                              % (rule_id, field))
            certainty = text.split(':Certainty:', 1)[1].split('\n:', 1)[0]
            self.assertTrue(
                any(c in certainty for c in CERTAINTIES),
                'HMC rule %s: the certainty names none of %s'
                % (rule_id, ', '.join(CERTAINTIES)))

    def test_rule_headings_carry_their_id(self):
        for rule_id, text in self.rules.items():
            heading = text.strip().splitlines()[0]
            self.assertTrue(heading.startswith(rule_id + ': '),
                            'HMC rule %s has heading %r' % (rule_id, heading))

    def test_citation_parser(self):
        text = ('# HMC rules C1-C3, D7 / J2 and E4 (reason inferred)\n'
                '"""HMC rule K4: device numbers, see A1."""\n'
                '# HMC rules B3, I, J and L\n')
        self.assertEqual(
            ['C1', 'C2', 'C3', 'D7', 'J2', 'E4', 'K4', 'B3', 'I', 'J', 'L'],
            list(cited_ids(text)))

    def test_every_cited_rule_is_in_the_reference(self):
        known = set(self.rules) | self.areas
        unknown = []
        count = 0
        for path in citing_files():
            for rule_id in cited_ids(read(path)):
                count += 1
                if rule_id not in known:
                    unknown.append('%s: %s' % (
                        os.path.relpath(path, REPO_ROOT), rule_id))
        self.assertGreater(count, 100)
        self.assertEqual([], unknown)
