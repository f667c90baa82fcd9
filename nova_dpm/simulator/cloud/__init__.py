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

"""The in-process cloud harness around the simulated HMC.

Apart from the HMC fake (the rest of :mod:`nova_dpm.simulator`), and like
it part of the simulator extra, never imported by the driver or the
agent:

* :mod:`.nova_cloud`: Nova's services in one process with nova-dpm as the
  only compute driver (the functional tests and ``nova-dpm-demo``);
* :mod:`.neutron_server`: a stand-in for neutron-server's side of the DPM
  agent's RPC, and the agent run in a thread against it (needs the
  neutron extra, not nova);
* :mod:`.neutron_agent`: the DPM agent and that stand-in beside the
  in-process cloud's nova-compute.

This package itself imports nothing, so that the Neutron stand-in is
usable without nova.
"""
