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

"""Sphinx configuration of the nova-dpm release notes.

Build with ``tox -e releasenotes`` or::

    sphinx-build -W --keep-going -b html releasenotes/source \
        releasenotes/build/html

reno reads the notes in ``releasenotes/notes`` from the git history of
the repository, so a note shows up here once it is committed.
"""

import configparser
import os

from reno import scanner

extensions = ['reno.sphinxext']

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))


def _series():
    """[metadata] version of setup.cfg: the series being developed."""
    parser = configparser.ConfigParser()
    parser.read(os.path.join(ROOT, 'setup.cfg'))
    return parser['metadata']['version']


# reno names the notes of a history without any release tag "0.0.0". Until
# the first tag they belong to the series pbr builds (setup.cfg), so they
# are reported as that series in development (releasenotes/config.yaml
# gives the title).
_reno_current_version = scanner.Scanner._get_current_version


def _current_version(self, *args, **kwargs):
    found = _reno_current_version(self, *args, **kwargs)
    return '%s-dev' % _series() if found == '0.0.0' else found


scanner.Scanner._get_current_version = _current_version

try:
    import openstackdocstheme  # noqa: F401
except ImportError:
    HAVE_OPENSTACKDOCSTHEME = False
else:
    HAVE_OPENSTACKDOCSTHEME = True
    extensions.append('openstackdocstheme')

source_suffix = '.rst'
master_doc = 'index'
project = 'nova-dpm Release Notes'
copyright = '2025, nova-dpm developers'
# Release notes are not versioned documents.
version = ''
release = ''
exclude_patterns = []
pygments_style = 'native' if HAVE_OPENSTACKDOCSTHEME else 'sphinx'

openstackdocs_repo_name = 'openstack/nova-dpm'
openstackdocs_bug_project = 'nova-dpm'
openstackdocs_bug_tag = 'releasenotes'
openstackdocs_auto_name = False
openstackdocs_use_storyboard = False

html_theme = 'openstackdocs' if HAVE_OPENSTACKDOCSTHEME else 'alabaster'
html_static_path = []
htmlhelp_basename = 'nova-dpmReleaseNotesdoc'

# -- i18n --------------------------------------------------------------
locale_dirs = ['locale/']
