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
"""

from docutils import nodes

# level -> (symbol, tooltip)
LEVELS = {
    'complete': ('\u2714', 'complete'),     # heavy check mark
    'partial': ('\u25d0', 'partial'),       # circle with left half black
    'missing': ('\u2716', 'missing'),       # heavy multiplication x
    'unknown': ('?', 'unknown'),
}
STYLESHEET = 'nova-dpm-matrix.css'


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


def setup(app):
    app.connect('doctree-resolved', _mark_levels)
    # After the theme's and the matrix extension's own stylesheets.
    app.add_css_file(STYLESHEET, priority=900)
    return {'parallel_read_safe': True, 'parallel_write_safe': True}
