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

"""CPCs without virtual switches (z17, API feature network-express-support).

Sources: zhmcclient 1.26 ``Nic``/``NicManager.create`` and
``VirtualSwitchManager.list`` docstrings (virtual switches are removed with
network-express-support; NICs of every adapter are then created with
``network-adapter-port-uri``); zhmcclient's design note
``design/hipersocket-changes-z16.md`` (section "Changes in z17 CPCs");
zhmcclient's DPM export of a z17 (``tests/unit/zhmcclient/
dpm-export-1p-1sg.json``: SE 2.17.0, adapter family ``network-express``
with type ``network-express-hybrid`` and one network port each, the API
feature list); zhmcclient's end-to-end test ``tests/end2end/
test_adapter.py`` (a NIC on a network-express port is created with
``type: neth``); zhmc-ansible-modules ``plugins/modules/zhmc_nic.py``
(``type`` creatable with network-express-support, SE 2.17.0).

Two things zhmcclient's mock cannot do are done here at load time:

* an HMC definition lists a CPC's API features as the CPC property
  ``available-api-features-list`` (the key zhmcclient's DPM export uses);
  the mock answers List CPC API Features from ``FakedCpc.api_features``,
  which no definition can set, so the property is moved there;
* the mock gives ports only to adapters of the families osa, roce and
  hipersockets; CNA and Network Express adapters get their network ports
  here.
"""

import copy

from zhmcclient.mock._hmc import FakedPortManager
from zhmcclient.mock import _urihandler as urihandler

from nova_dpm.simulator import errors

NETWORK_EXPRESS_FEATURE = 'network-express-support'
API_FEATURES_PROPERTY = 'available-api-features-list'

# Adapter families with network ports (zhmcclient Adapter.port_type_by_family)
# that zhmcclient.mock (1.26) builds without ports.
PORTLESS_IN_MOCK = ('cna', 'network-express', 'networking', 'cloud-network')

# adapter-family -> (NIC type, whether Create NIC must name the type) for a
# NIC created with network-adapter-port-uri.  [UNCERTAIN] inferred: that a
# Network Express NIC without 'type' is refused (zhmcclient's tests always
# give 'neth'); OSH NICs (EQDIO, not usable by Linux) are not modelled.
PORT_NIC_TYPES = {
    'osa': ('osd', ('osd',)),
    'hipersockets': ('iqd', ('iqd',)),
    'roce': ('roce', ('roce',)),
    'cna': ('cna', ('cna',)),
    'network-express': (None, ('neth',)),
}


def network_express(cpc):
    """Whether the faked CPC has the network-express-support feature."""
    return NETWORK_EXPRESS_FEATURE in (cpc.api_features or [])


def split_definition(hmc_dict):
    """Take out what the mock cannot load; return it for :func:`complete`.

    ``hmc_dict`` is changed: the API feature lists and the ports of
    adapters the mock builds without ports are removed.
    """
    taken = {'features': {}, 'ports': {}}
    definition = hmc_dict.get('hmc_definition') or {}
    for cpc in definition.get('cpcs') or []:
        props = cpc.get('properties') or {}
        if API_FEATURES_PROPERTY in props:
            taken['features'][props.get('object-id')] = list(
                props.pop(API_FEATURES_PROPERTY) or [])
        for adapter in cpc.get('adapters') or []:
            aprops = adapter.get('properties') or {}
            if aprops.get('adapter-family') in PORTLESS_IN_MOCK:
                taken['ports'][aprops.get('object-id')] = copy.deepcopy(
                    adapter.pop('ports', None) or [])
    return taken


def complete(faked_hmc, taken):
    """Put back what :func:`split_definition` took out."""
    for cpc in faked_hmc.cpcs.list():
        features = taken['features'].get(cpc.oid)
        if features is not None:
            cpc.api_features = features
        for adapter in cpc.adapters.list():
            if adapter.oid not in taken['ports']:
                continue
            # What FakedAdapter does for the families it knows.
            adapter._adapter_kind = 'network'
            adapter.properties.setdefault('network-port-uris', [])
            adapter._ports = FakedPortManager(hmc=faked_hmc, adapter=adapter)
            for port in taken['ports'][adapter.oid]:
                adapter.ports.add(dict(port.get('properties') or {}))


def port_nic_type(req, adapter, body, cpc):
    """The type of a NIC backed by a port of ``adapter``, or an error.

    HMC rule H1: before network-express-support only RoCE and CNA ports
    back NICs directly; with it, every network adapter's ports do. The
    type is given in the body only with network-express-support
    (HMC rule H4), and must suit the adapter.
    """
    err = req.err
    family = adapter.properties.get('adapter-family')
    nes = network_express(cpc)
    if not nes and family in ('osa', 'hipersockets'):
        raise err.bad_request(
            errors.INVALID_VALUE,
            "Field 'network-adapter-port-uri': adapter type %s requires "
            "'virtual-switch-uri' instead" % adapter.properties.get('type'))
    if family not in PORT_NIC_TYPES:
        raise err.bad_request(
            errors.INVALID_VALUE,
            "Field 'network-adapter-port-uri': adapter %s (family %s) is not "
            "a network adapter" % (adapter.properties.get('name'), family))
    default, allowed = PORT_NIC_TYPES[family]
    nic_type = body.get('type', default)
    if nic_type is None:
        raise err.bad_request(
            errors.MISSING_FIELD,
            "Missing required field in request body: 'type' (a NIC on "
            "adapter %s of family %s needs one of: %s)"
            % (adapter.properties.get('name'), family, ', '.join(allowed)))
    if nic_type not in allowed:
        raise err.bad_request(
            errors.INVALID_VALUE,
            "Field 'type': %r is not valid for a NIC on adapter %s of family "
            "%s (valid: %s)" % (nic_type, adapter.properties.get('name'),
                                family, ', '.join(allowed)))
    return nic_type


def get_connected_vnics(sim, req):
    """Get Connected VNICs of a Virtual Switch: a GET (HMC rule H11).

    zhmcclient's VirtualSwitch.get_connected_nics sends it as GET;
    zhmcclient's mock only answers it as POST, so it is asked that way.
    """
    as_post = copy.copy(req)
    as_post.method = 'POST'
    return sim.delegate(as_post)


def post_connected_vnics(sim, req):
    """A POST of the operation: 405 (HMC rule H11)."""
    raise req.err.error(405, 0, 'Get Connected VNICs of a Virtual Switch '
                                'is a GET operation')


# Families whose NICs are backed by a port, which zhmcclient's mock (1.26)
# leaves out of Get Partitions Assigned to Adapter.
PORT_FAMILIES_MISSED_BY_MOCK = ('network-express', 'networking',
                                'cloud-network')


def assigned_partitions(sim, req):
    """Get Partitions Assigned to Adapter (HMC rule H12).

    A partition is assigned to a network adapter when one of its NICs is
    backed by a port of the adapter. The mock knows that for OSA,
    HiperSockets, RoCE and CNA adapters only; the partitions with a NIC on
    a Network Express port are added here.
    """
    answer = sim.delegate(req)
    adapter = sim.lookup(req.path.split('/operations/')[0])
    family = adapter.properties.get('adapter-family') if adapter else None
    if family not in PORT_FAMILIES_MISSED_BY_MOCK:
        return answer
    _uri, filter_args = urihandler.parse_query_parms(req.method, req.uri)
    ports = {port.uri for port in adapter.ports.list()}
    assigned = answer['partitions-assigned-to-adapter']
    listed = {p['object-uri'] for p in assigned}
    for partition in adapter.manager.parent.partitions.list(filter_args):
        if partition.uri in listed:
            continue
        if any(nic.properties.get('network-adapter-port-uri') in ports
               for nic in partition.nics.list()):
            assigned.append({
                name: partition.properties.get(name)
                for name in ('object-uri', 'name', 'status')})
    return answer


def complete_adapters(faked_hmc):
    """Every adapter has a physical-channel-status (HMC rule H13).

    The mock keeps the properties of the definition only; a real HMC
    reports the channel status of every adapter. An adapter of a
    definition without one is operating.
    """
    for cpc in faked_hmc.cpcs.list():
        for adapter in cpc.adapters.list():
            adapter.properties.setdefault('physical-channel-status',
                                          'operating')
