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

"""The HMC inventory reader: the CPC, its adapters, ports, virtual switches.

One reader serves nova-compute (the storage adapter mappings of the CPC
subset, the adapter ports of ``dpm_adapter`` bindings, the virtual
switches), the DPM agent (its physical network mappings) and
nova-dpm-check. A lookup that finds nothing usable raises :class:`Refused`
with the reason; each caller names what it was checking (a configuration
option and entry, or a Neutron port) around it.

HMC requests (each method says its own): an adapter is one GET of the
properties asked for; ports are read one by one until the wanted one is
found (:meth:`Inventory.network_port`, for one binding) or all in one
round trip (:meth:`Inventory.network_ports`, for the agent's mappings).
"""

import zhmcclient

from nova_dpm import capabilities
from nova_dpm import contract
from nova_dpm import hmc

# HMC rule A10: the HMC answers 404 alike for an object that does not exist
# and for one the user may not access.
_NOT_SHOWN = ('(it does not exist, or the HMC user lacks object-access '
              'permission for it)')


class Refused(Exception):
    """What the HMC shows is not what the caller needs; ``reason`` says."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def find_cpc(connection, object_id):
    """The CPC with ``object_id``, its properties pulled (one request).

    ``connection``: the :class:`~nova_dpm.hmc.HMC`.
    """
    with hmc.translated('read CPC', object_id):
        cpc = connection.cpc(object_id)
    if cpc is None:
        raise Refused('the HMC shows no CPC with object-id %s %s' %
                      (object_id, _NOT_SHOWN))
    return cpc


def check_dpm_mode(cpc):
    """Refuse a CPC that is not in DPM mode (no request)."""
    if not cpc.get_property('dpm-enabled'):
        raise Refused('CPC %s (%s) is not in DPM mode' %
                      (cpc.name, cpc.uri.rsplit('/', 1)[1]))
    return 'CPC %s is in DPM mode' % cpc.name


def missing_port(adapter, index, indexes):
    """The Refused for a port ``index`` that ``adapter`` lacks."""
    return Refused('adapter %s has no port %d (its ports: %s)' % (
        adapter.name, index,
        ', '.join(str(i) for i in sorted(indexes)) or 'none'))


class Inventory(object):
    """The adapters, adapter ports and virtual switches of one CPC.

    What the HMC can do (``hmc.capabilities``) decides how virtual
    switches are listed (:meth:`vswitches`).
    """

    def __init__(self, hmc, cpc):
        self.hmc = hmc
        self.cpc = cpc

    def adapter(self, adapter_id, properties):
        """Adapter ``adapter_id`` of this CPC (one request).

        Its name, parent and ``properties`` are pulled (adapter-family
        among them lets zhmcclient pick the port manager without reading
        the adapter again).
        """
        adapter = zhmcclient.Adapter(self.cpc.adapters,
                                     '/api/adapters/%s' % adapter_id)
        with hmc.translated('read adapter', adapter_id):
            found = hmc.pull(adapter,
                             ['name', 'parent'] + list(properties))
        if not found:
            raise Refused('the HMC shows no adapter with object-id %s %s' %
                          (adapter_id, _NOT_SHOWN))
        if adapter.get_property('parent') != self.cpc.uri:
            raise Refused('adapter %s is not an adapter of CPC %s' %
                          (adapter.get_property('name'), self.cpc.name))
        return adapter

    def storage_port(self, adapter_id, index):
        """(FCP adapter, URI of its storage port ``index``); one request."""
        adapter = self.adapter(adapter_id, [
            'type', 'adapter-family', 'adapter-id', 'storage-port-uris'])
        if adapter.get_property('type') != 'fcp':
            raise Refused('adapter %s has type %r; an FCP adapter (type '
                          'fcp) is expected' % (
                              adapter.name, adapter.get_property('type')))
        port_uris = adapter.get_property('storage-port-uris') or []
        port_uri = '%s/storage-ports/%d' % (adapter.uri, index)
        if port_uri not in port_uris:
            raise missing_port(adapter, index,
                               [int(u.rsplit('/', 1)[1]) for u in port_uris])
        return adapter, port_uri

    def network_adapter(self, adapter_id):
        """A network adapter of this CPC (one request).

        Refused unless its family backs NICs (contract.ADAPTER_NIC_TYPES).
        """
        adapter = self.adapter(adapter_id, [
            'type', 'adapter-family', 'network-port-uris'])
        family = adapter.get_property('adapter-family')
        if family not in contract.ADAPTER_NIC_TYPES:
            raise Refused(
                'adapter %s (%s) is not a network adapter: its family is '
                '%s; NICs are backed by the families %s' % (
                    adapter.name, adapter.get_property('type'), family,
                    ', '.join(sorted(contract.ADAPTER_NIC_TYPES))))
        return adapter

    def network_port(self, adapter, index):
        """The URI of network port ``index`` of ``adapter``.

        The ports are read one by one until it is found (one request
        each): a binding names one port, often the adapter's first.
        """
        seen = []
        for uri in adapter.get_property('network-port-uris') or []:
            port = zhmcclient.Port(adapter.ports, uri)
            with hmc.translated('read adapter port', uri):
                found = hmc.pull(port, ['index'])
            if not found:
                continue
            if port.get_property('index') == index:
                return uri
            seen.append(port.get_property('index'))
        raise missing_port(adapter, index, seen)

    def network_ports(self, adapter):
        """{index: URI} of every network port of ``adapter``.

        One round trip (Submit Requests; one GET per port where the HMC
        lacks it); none for an adapter without ports.
        """
        port_uris = adapter.get_property('network-port-uris') or []
        with hmc.translated('read ports of adapter', adapter.name):
            found = self.hmc.get_many(port_uris) if port_uris else {}
        return {int(port.get('index', -1)): uri
                for uri, port in found.items() if port is not None}

    def vswitches(self, properties=None):
        """{URI: properties} of the CPC's virtual switches.

        With ``properties``, on an HMC that lists them with additional
        properties (API 4.1 and later): one listing. Otherwise the listing
        and one read of the switches (HMC rule Z2: not
        list(full_properties=True), which needs Submit Requests;
        get_many falls back to one GET per switch where the HMC lacks it).
        """
        with hmc.translated('list virtual switches', self.cpc.name):
            if properties is not None and self.hmc.capabilities.can(
                    capabilities.ADDITIONAL_PROPERTIES):
                return {v.uri: v.properties
                        for v in self.cpc.virtual_switches.list(
                            additional_properties=list(properties))}
            uris = [v.uri for v in self.cpc.virtual_switches.list()]
            answers = self.hmc.get_many(uris) if uris else {}
        return {uri: answers[uri] for uri in uris if answers.get(uri)}

    def vswitches_by_port(self, properties=None):
        """{(adapter URI, port index): (URI, properties)} of the switches.

        Each virtual switch serves one port of its backing adapter.
        """
        wanted = None if properties is None else \
            ['backing-adapter-uri', 'port'] + list(properties)
        return {(props.get('backing-adapter-uri'),
                 int(props.get('port') or 0)): (uri, props)
                for uri, props in self.vswitches(wanted).items()}
