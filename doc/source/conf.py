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

"""Sphinx configuration of the nova-dpm documentation.

Build with ``tox -e docs`` or::

    sphinx-build -W --keep-going -b html doc/source doc/build/html
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..'))

# Document the nova_dpm of this tree, not an older installed copy: the
# configuration reference and the sample file are generated from the
# option definitions that oslo.config imports from here.
sys.path.insert(0, ROOT)

# nova-compute 34 runs on native threads; importing nova for the option
# reference must not monkey-patch the Sphinx process.
os.environ.setdefault('OS_NOVA_DISABLE_EVENTLET_PATCHING', '1')

# -- General -----------------------------------------------------------

# Local extensions (doc/source/_ext): the support levels of the feature
# matrix.
sys.path.insert(0, os.path.join(HERE, '_ext'))

extensions = [
    'matrix_levels',
    'reno.sphinxext',
    'oslo_config.sphinxext',
    'oslo_config.sphinxconfiggen',
    'sphinx_feature_classification.support_matrix',
]

try:
    import openstackdocstheme  # noqa: F401
except ImportError:
    HAVE_OPENSTACKDOCSTHEME = False
else:
    HAVE_OPENSTACKDOCSTHEME = True
    extensions.append('openstackdocstheme')

# oslo_config.sphinxconfiggen: write the sample nova.conf section of
# nova-dpm into _static/nova-dpm.conf.sample, and the DPM agent's into
# _static/neutron-dpm-agent.conf.sample, at every build, from the same
# generator files that "tox -e genconfig" uses.
config_generator_config_file = [
    (os.path.join(ROOT, 'etc', 'nova', 'nova-dpm-config-generator.conf'),
     '_static/nova-dpm'),
    (os.path.join(ROOT, 'etc', 'neutron',
                  'neutron-dpm-agent-config-generator.conf'),
     '_static/neutron-dpm-agent'),
]


def _series():
    """The release series of this tree: [metadata] version of setup.cfg.

    pbr builds that version (4.0.0.devN between tags); the docs, the
    release notes and ``pip show nova-dpm`` name the same series.
    """
    import configparser
    parser = configparser.ConfigParser()
    parser.read(os.path.join(ROOT, 'setup.cfg'))
    return parser['metadata']['version']


version = release = _series()

source_suffix = '.rst'
master_doc = 'index'
project = 'nova-dpm'
copyright = '2025, nova-dpm developers'
exclude_patterns = ['_build']
pygments_style = 'native' if HAVE_OPENSTACKDOCSTHEME else 'sphinx'
add_module_names = True
show_authors = False

# -- openstackdocstheme --------------------------------------------------

openstackdocs_repo_name = 'openstack/nova-dpm'
openstackdocs_bug_project = 'nova-dpm'
openstackdocs_bug_tag = 'doc'
openstackdocs_auto_name = False
openstackdocs_auto_version = False
openstackdocs_use_storyboard = False

# -- HTML ----------------------------------------------------------------

html_theme = 'openstackdocs' if HAVE_OPENSTACKDOCSTHEME else 'alabaster'
html_static_path = ['_static']
html_title = 'nova-dpm documentation'
htmlhelp_basename = 'nova-dpmdoc'
