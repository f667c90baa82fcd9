# Copyright 2025 nova-dpm developers
#
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

"""A strict simulated HMC (DPM mode) on top of zhmcclient.mock.

Usage::

    from nova_dpm import simulator
    session = simulator.load_session('z16', transition_time=0.0)
    client = zhmcclient.Client(session)
    hmc = session.simulator          # the SimulatedHmc
    hmc.count('POST', '/api/partitions/{id}/operations/start')
    hmc.set_guest(partition_uri, honours_shutdown=False)  # guest.py
    hmc.os_messages(partition_uri)   # the console log
"""

import zhmcclient

# The simulator is part of the nova-dpm[simulator] extra, not of the
# driver. It is built on zhmcclient.mock's URI handler, a private part of
# zhmcclient that changes between releases, so it names the zhmcclient
# releases it was written for; the HTTPS simulator needs cryptography.
# Anything missing is an ImportError that says what to install (the
# driver reports it for [dpm] hmc_mock_file).
ZHMCCLIENT_RELEASES = ((1, 26), (1, 27))
EXTRA = "pip install 'nova-dpm[simulator]'"


def _check_requirements():
    found = tuple(int(x) for x in zhmcclient.__version__.split('.')[:2])
    low, high = ZHMCCLIENT_RELEASES
    if not low <= found < high:
        raise ImportError(
            'the simulated HMC needs zhmcclient >= %d.%d, < %d.%d (it is '
            'built on zhmcclient.mock); zhmcclient %s is installed: %s'
            % (low + high + (zhmcclient.__version__, EXTRA)))
    for module in ('cryptography', 'yaml'):
        try:
            __import__(module)
        except ImportError as exc:
            raise ImportError('the simulated HMC needs %s (%s): %s'
                              % (module, exc, EXTRA))


_check_requirements()

from nova_dpm.simulator.hmc import SimulatedHmc  # noqa: E402
from nova_dpm.simulator.hmc import uri_pattern  # noqa: E402
from nova_dpm.simulator.session import definition_path  # noqa: E402
from nova_dpm.simulator.session import load_session  # noqa: E402
from nova_dpm.simulator.session import SimulatedSession  # noqa: E402

__all__ = ['SimulatedHmc', 'SimulatedSession', 'load_session',
           'definition_path', 'uri_pattern']
