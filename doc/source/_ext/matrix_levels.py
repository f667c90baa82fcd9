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

"""Make the support levels of the feature matrix tell apart at a glance.

sphinx_feature_classification marks complete and partial support with the
same check mark and tells them apart only by colour, which the theme's
link style overrides (the summary cells are links). This extension gives
each level its own symbol and a tooltip, and adds the stylesheet
``nova-dpm-matrix.css``, which colours the levels and the header row
whatever the theme does.

It also marks the rows whose ``simulated-only.dpm`` key (which
sphinx_feature_classification ignores) names behaviour shown only against
the simulated HMC: a ``sim`` mark after the level symbol in the summary,
linking to the legend of the page (the target ``simulated-hmc-only``),
and a sentence under the row's details.
"""

import configparser
import os
import re

from docutils import nodes

# level -> (symbol, tooltip)
LEVELS = {
    'complete': ('\u2714', 'complete'),     # heavy check mark
    'partial': ('\u25d0', 'partial'),       # circle with left half black
    'missing': ('\u2716', 'missing'),       # heavy multiplication x
    'unknown': ('?', 'unknown'),
}
STYLESHEET = 'nova-dpm-matrix.css'
MATRIX_DOC = 'support-matrix'
MATRIX_INI = 'support-matrix.ini'
DRIVER = 'driver.dpm'
SIMULATED_KEY = 'simulated-only.dpm'
SIMULATED_MARK = 'sim'
SIMULATED_TARGET = 'simulated-hmc-only'
# sphinx_feature_classification's ids: the keys with every character other
# than [a-zA-Z0-9_] replaced by '_'.
KEY_PATTERN = re.compile('[^a-zA-Z0-9_]')


def simulated_rows(path):
    """{summary link id: what was shown only against the simulated HMC}."""
    cfg = configparser.ConfigParser(interpolation=None)
    with open(path, encoding='utf-8') as f:
        cfg.read_file(f)
    rows = {}
    for section in cfg.sections():
        what = cfg.get(section, SIMULATED_KEY, fallback=None)
        if what:
            key = KEY_PATTERN.sub('_', '%s_%s' % (section, DRIVER))
            rows[key] = ' '.join(what.split())
    return rows


def _summary_mark(what):
    title = 'shown only against the simulated HMC: %s' % what
    ref = nodes.reference('', '', refid=SIMULATED_TARGET, reftitle=title)
    ref += nodes.superscript(SIMULATED_MARK, SIMULATED_MARK,
                             classes=['nova-dpm-simulated'])
    return ref


def _details_note(what):
    para = nodes.paragraph(classes=['nova-dpm-simulated-note'])
    para += nodes.strong(SIMULATED_MARK, SIMULATED_MARK,
                         classes=['nova-dpm-simulated'])
    para += nodes.Text(' Shown only against the simulated HMC: %s.' % what)
    return para


def _mark_simulated(app, doctree):
    rows = simulated_rows(os.path.join(app.srcdir, MATRIX_INI))
    for ref in list(doctree.findall(nodes.reference)):
        what = rows.get(ref.get('refid'))
        literal = ref.next_node(nodes.literal)
        if what and literal is not None and \
                'sp_impl_summary' in literal.get('classes', []):
            ref.parent.append(_summary_mark(what))
    for literal in list(doctree.findall(nodes.literal)):
        ids = literal.get('ids', [])
        what = ids and rows.get(ids[0])
        if what:
            literal.parent.append(_details_note(what))


def _mark_levels(app, doctree, docname):
    for node in doctree.findall(nodes.literal):
        classes = node.get('classes', [])
        if 'sp_impl_summary' not in classes:
            continue
        for level, (symbol, tooltip) in LEVELS.items():
            if 'sp_impl_' + level in classes:
                node.children = [nodes.Text(symbol)]
                node['classes'].append('nova-dpm-level')
                parent = node.parent
                if isinstance(parent, nodes.reference):
                    parent['reftitle'] = tooltip
                break


def _on_doctree(app, doctree, docname):
    _mark_levels(app, doctree, docname)
    if docname == MATRIX_DOC:
        _mark_simulated(app, doctree)


def setup(app):
    app.connect('doctree-resolved', _on_doctree)
    # After the theme's and the matrix extension's own stylesheets.
    app.add_css_file(STYLESHEET, priority=900)
    return {'parallel_read_safe': True, 'parallel_write_safe': True}
