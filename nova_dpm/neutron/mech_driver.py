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

"""The ML2 mechanism driver ``dpm`` (runs in neutron-server).

It binds a port on a host where a live DPM agent reports the port's
physical network (flat or VLAN segment), with the binding the agent
resolved at its start for that network: ``dpm_vswitch`` with the virtual
switch of the configured adapter port, or ``dpm_adapter`` with the adapter
and port themselves (see :mod:`nova_dpm.contract`). Everything else (the agent
lookup, dead agents, segment and network type checks, the provisioning
block that keeps the port DOWN until the agent reports it up) is Neutron's
:class:`SimpleAgentMechanismDriverBase`.
"""

import copy

from neutron_lib.api.definitions import portbindings
from neutron_lib import constants as n_const
from neutron_lib.plugins.ml2 import api
from oslo_log import log as logging

from neutron.plugins.ml2.drivers import mech_agent

from nova_dpm import contract
from nova_dpm.neutron import constants

LOG = logging.getLogger(__name__)

NETWORK_TYPES = (n_const.TYPE_FLAT, n_const.TYPE_VLAN)


class DPMMechanismDriver(mech_agent.SimpleAgentMechanismDriverBase):
    """Bind ports for the DPM agent (nova-dpm's NICs)."""

    def __init__(self):
        super().__init__(
            constants.AGENT_TYPE, contract.VIF_TYPE_VSWITCH,
            {portbindings.CAP_PORT_FILTER: False})

    @property
    def connectivity(self):
        return portbindings.CONNECTIVITY_L2

    def get_allowed_network_types(self, agent=None):
        if agent is None:
            return list(NETWORK_TYPES)
        # An agent that reports no types gets flat only: VLAN NICs need an
        # HMC and CPC that take them (HMC rule H3).
        reported = agent['configurations'].get(
            constants.CONF_NETWORK_TYPES, (n_const.TYPE_FLAT,))
        return [t for t in NETWORK_TYPES if t in reported]

    def get_mappings(self, agent):
        return agent['configurations'].get(constants.CONF_VIF_MAPPINGS, {})

    def get_supported_vif_type(self, agent):
        # The vif_type depends on the physical network (see get_vif_type);
        # Neutron asks this only for its port-binding capability listing.
        return self.vif_type

    def get_vif_type(self, context, agent, segment):
        mapping = self._mapping(agent, segment)
        return mapping.get('vif_type', contract.VIF_TYPE_VSWITCH)

    def get_vif_details(self, context, agent, segment):
        mapping = self._mapping(agent, segment)
        details = copy.deepcopy(self.vif_details)
        details[contract.VIF_DETAILS_OBJECT_ID] = mapping['object_id']
        if mapping.get('vif_type') == contract.VIF_TYPE_ADAPTER:
            details[contract.VIF_DETAILS_PORT] = int(mapping['port'])
        if segment[api.NETWORK_TYPE] == n_const.TYPE_VLAN:
            details[contract.VIF_DETAILS_VLAN] = int(
                segment[api.SEGMENTATION_ID])
        LOG.debug('DPM binding of segment %s on host %s: %s',
                  segment[api.ID], agent['host'], details)
        return details

    def try_to_bind_segment_for_agent(self, context, segment, agent):
        # The base class checks the physical network against
        # get_mappings(); a mapping must also carry what nova-dpm needs.
        if constants.CONF_VIF_MAPPINGS not in agent['configurations']:
            # networking-dpm's agent (adapter_mappings only), or any other
            # agent of the same type that nova-dpm cannot bind for.
            LOG.warning('The DPM agent on host %s reports no %s (an agent '
                        'of the retired networking-dpm?); replace it by '
                        'neutron-dpm-agent of nova-dpm. Port %s not bound.',
                        agent['host'], constants.CONF_VIF_MAPPINGS,
                        context.current['id'])
            return False
        if not self.check_segment_for_agent(segment, agent):
            return False
        mapping = self._mapping(agent, segment)
        if not mapping.get('object_id') or (
                mapping.get('vif_type') == contract.VIF_TYPE_ADAPTER and
                mapping.get('port') is None):
            LOG.warning('DPM agent on host %s reports physical network %s '
                        'without an object-id (%s); port %s not bound.',
                        agent['host'], segment[api.PHYSICAL_NETWORK],
                        mapping, context.current['id'])
            return False
        if segment[api.NETWORK_TYPE] == n_const.TYPE_VLAN and \
                mapping.get('vlan') is False:
            LOG.warning('DPM agent on host %s maps physical network %s to '
                        'an adapter whose NICs take no VLAN id (Network '
                        'Express, RoCE or CNA); port %s not bound to VLAN '
                        'segment %s.', agent['host'],
                        segment[api.PHYSICAL_NETWORK],
                        context.current['id'], segment[api.ID])
            return False
        return super().try_to_bind_segment_for_agent(context, segment,
                                                     agent)

    def _mapping(self, agent, segment):
        return self.get_mappings(agent)[segment[api.PHYSICAL_NETWORK]]
