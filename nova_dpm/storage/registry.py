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


"""The storage backends, in the order they are asked.

The first backend whose ``applies(subset)`` is true serves the CPC
subset. A new backend is one module with its StorageBackend subclass and
one entry here, before the backends it is to take precedence over.
"""

from nova_dpm.storage import groups
from nova_dpm.storage import hba

BACKENDS = (
    # dpm-storage-management on: an FCP storage group per instance.
    groups.StorageGroupBackend,
    # Every other CPC: virtual HBAs. It applies to every subset: last.
    hba.HbaBackend,
)


def backend_for(hmc, subset, settings, api_version=None):
    """The storage backend serving ``subset``: the first that applies."""
    backend = next(b for b in BACKENDS if b.applies(subset))
    return backend(hmc, subset, settings, api_version)
