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

"""The contract between nova-dpm's two halves.

What nova-compute (nova_dpm.network, nova_dpm.partition) writes on the HMC
and in port bindings, and what the Neutron side (the mechanism driver and
``neutron-dpm-agent``, nova_dpm.neutron) reads back, is defined here once:

* the VIF types of a port binding and the keys of its details;
* the name and description of a NIC nova-dpm creates, and the parser the
  agent recognises such a NIC with;
* the name prefix of the partitions nova-dpm creates, and the listing
  filter the agent derives from it;
* which adapter families back NICs, the type of a NIC on each, and which
  families are reached through virtual switches on CPCs that have them.

This module imports neither nova nor neutron: both halves import it.
"""

import re

# -- port bindings -----------------------------------------------------------

# A NIC on the virtual switch of an OSA or HiperSockets adapter port
# (details: object_id = the virtual switch), or a NIC backed by the
# adapter port itself (details: object_id = the adapter, port = the port
# index). The names are those of the retired networking-dpm, so that
# bindings Neutron stored keep their meaning.
VIF_TYPE_VSWITCH = 'dpm_vswitch'
VIF_TYPE_ADAPTER = 'dpm_adapter'
VIF_TYPES = (VIF_TYPE_VSWITCH, VIF_TYPE_ADAPTER)
VIF_DETAILS_OBJECT_ID = 'object_id'
VIF_DETAILS_PORT = 'port'
VIF_DETAILS_VLAN = 'vlan'

# -- partitions --------------------------------------------------------------

# Every partition nova-dpm creates is named PARTITION_PREFIX<token>-<uuid>
# (nova_dpm.partition). The agent lists the CPC's partitions with a filter
# that matches all of them (the HMC matches the whole name; the prefix has
# no regular-expression metacharacter).
PARTITION_PREFIX = 'OpenStack-'
PARTITION_FILTER = '^%s.*$' % PARTITION_PREFIX

# -- NICs --------------------------------------------------------------------

NIC_NAME_PREFIX = 'OpenStack_Port_'
NIC_DESCRIPTION_PREFIX = 'OpenStack'
_UUID = r'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'
NIC_NAME = re.compile(r'^%s(%s)$' % (re.escape(NIC_NAME_PREFIX), _UUID))
NIC_DESCRIPTION = re.compile(
    r'^%s\b.*\bmac=(?P<mac>[0-9a-f]{2}(?::[0-9a-f]{2}){5})\b.*'
    r'\bCPCSubset=(?P<host>\S+?),?$' % re.escape(NIC_DESCRIPTION_PREFIX))


def nic_name(port_id):
    """The name of the NIC of Neutron port ``port_id``."""
    return '%s%s' % (NIC_NAME_PREFIX, port_id)


def nic_description(mac, host):
    """The description of a NIC: its MAC and the CPC subset's host."""
    return '%s mac=%s, CPCSubset=%s' % (NIC_DESCRIPTION_PREFIX, mac, host)


def nic_owner(name, description):
    """(port id, host) of a NIC nova-dpm created, else None."""
    match = NIC_NAME.match(name or '')
    described = NIC_DESCRIPTION.match(description or '')
    if not match or not described:
        return None
    return match.group(1), described.group('host')


# -- adapters ----------------------------------------------------------------

# adapter-family (zhmcclient Adapter) -> the type of a NIC backed by one of
# its ports, and whether Create NIC must be told that type. A family not
# here backs no NIC. CNA (FCoE) adapters have network ports, and before
# z17 RoCE and CNA ports back NICs through network-adapter-port-uri
# (zhmcclient NicManager.create; zhmcclient.mock's Get Partitions Assigned
# to Adapter). Network Express ports (z17) back NETH functions; the NIC
# type is given at creation (zhmcclient tests/end2end/test_adapter.py,
# HMC rule H4).
ADAPTER_NIC_TYPES = {
    'osa': ('osd', False),
    'hipersockets': ('iqd', False),
    'roce': ('roce', False),
    'cna': ('cna', False),
    'network-express': ('neth', True),
}
# Families whose ports are reached through virtual switches on CPCs that
# have them (HMC rules H1, H5); the ports of the others back NICs directly
# (dpm_adapter) on every CPC.
VSWITCH_FAMILIES = ('osa', 'hipersockets')
PORT_FAMILIES = tuple(sorted(f for f in ADAPTER_NIC_TYPES
                             if f not in VSWITCH_FAMILIES))


# HMC rule H3: only OSA and HiperSockets NICs take a VLAN id.
VLAN_NIC_TYPES = ('osd', 'iqd')


def vlan_capable(family):
    """Whether NICs on ports of ``family`` take a VLAN id (HMC rule H3)."""
    return ADAPTER_NIC_TYPES[family][0] in VLAN_NIC_TYPES
