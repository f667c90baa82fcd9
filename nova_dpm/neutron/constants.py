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

"""Names shared by the mechanism driver and the agent.

The agent type here and the VIF types and binding details of
:mod:`nova_dpm.contract` are the retired networking-dpm's, so that the
port bindings Neutron stored for instances made with networking-dpm keep
their meaning for nova-dpm. What the agent
reports is not: networking-dpm's agent reported only ``adapter_mappings``
(virtual switch object-ids, no VLAN capability) and does not run on
Neutron 29; the mechanism driver binds ports only for agents that report
``vif_mappings`` (``neutron-dpm-agent`` of nova-dpm) and logs a warning
for any other DPM agent.
"""

# The agent type in Neutron's agents table (networking-dpm's: an agent of
# nova-dpm on the same host takes over its row).
AGENT_TYPE = 'DPM agent'
AGENT_BINARY = 'neutron-dpm-agent'
EXTENSION_DRIVER_TYPE = 'dpm'

# The VIF types and binding details the mechanism driver hands to Nova
# are nova_dpm.contract's (shared with nova-dpm).

# What the agent reports in its state (agent['configurations']):
# physical network -> {'vif_type', 'object_id'[, 'port']}, the binding of
# the first mapping of each physical network.
CONF_VIF_MAPPINGS = 'vif_mappings'
# physical network -> [object-id, ...] of every mapping (information
# only: virtual switch object-ids, adapter object-ids for adapter-port
# bindings; the mechanism driver does not read it).
CONF_ADAPTER_MAPPINGS = 'adapter_mappings'
# The network types the agent's HMC can wire (VLAN: see
# nova_dpm.network.vlan_supported).
CONF_NETWORK_TYPES = 'network_types'
