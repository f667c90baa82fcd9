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

"""The installed nova-dpm's version (4.x follows the retired 3.0.0)."""

from importlib import metadata

DISTRIBUTION = 'nova-dpm'


def version_string():
    """The version of the installed distribution, e.g. '4.0.0'.

    A source tree that is not installed reports 'unknown (not installed)'.
    """
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return 'unknown (not installed)'
