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

from nova_dpm.simulator.hmc import SimulatedHmc
from nova_dpm.simulator.hmc import uri_pattern
from nova_dpm.simulator.session import definition_path
from nova_dpm.simulator.session import load_session
from nova_dpm.simulator.session import SimulatedSession

__all__ = ['SimulatedHmc', 'SimulatedSession', 'load_session',
           'definition_path', 'uri_pattern']
