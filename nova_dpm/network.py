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

"""Networking: NICs on virtual switches or adapter ports, the MAC contract.

The contract with the Neutron side (the mechanism driver and agent that
bind the port) and with the guest image tools (which configure the
interface):

* A VIF of type ``dpm_vswitch`` carries the object-id of an OSA (or
  HiperSockets) virtual switch in its details (``object_id``). nova-dpm
  creates one NIC on it (``virtual-switch-uri``).
* A VIF of type ``dpm_adapter`` carries the object-id of a network adapter
  (``object_id``) and the index of one of its ports (``port``). nova-dpm
  creates one NIC backed by that port (``network-adapter-port-uri``). This
  is the only kind on CPCs without virtual switches (z17 and later, API
  feature ``network-express-support``); elsewhere it serves RoCE and CNA
  adapters.
* A VLAN id in the details (``vlan``) makes it a NIC with ``vlan-id`` and
  ``vlan-type = enforced``: the adapter tags and filters the traffic, so
  the guest sees an untagged interface.
* The NIC is named ``OpenStack_Port_<port-id>``; its description starts with
  ``OpenStack``, and holds ``mac=<mac>`` and ``CPCSubset=<host>``.
* The partition's ``boot-os-specific-parameters`` (appended by the firmware
  to the guest kernel's command line) hold one entry per NIC,
  ``<devno>,<port>,<mac>;``: the NIC's device number (4 lower-case hex
  digits), the adapter port (0-3), and the MAC as 12 lower-case hex digits.
  The guest tools read exactly this, whatever backs the NIC.

The VIF type names, binding detail keys, NIC name and description and the
adapter families are nova_dpm.contract's, which the Neutron side reads too.

Each VIF type is one entry of ``VIF_TYPES``: how its binding details are
read and how its backing is found on the HMC (through nova_dpm.inventory).
Each NIC type is one entry of ``NIC_DEVICE_NUMBERS``: which device numbers
a NIC of it occupies.
"""

import collections
import re

from oslo_log import log as logging
import zhmcclient

from nova_dpm import capabilities
from nova_dpm import conf as dpm_conf
from nova_dpm import contract
from nova_dpm import exception
from nova_dpm import hmc
from nova_dpm import inventory

LOG = logging.getLogger(__name__)

# HMC rule D3: boot-os-specific-parameters holds at most 256 characters.
BOOT_PARAMETERS_MAX = 256
ENTRY_LENGTH = len('0001,0,fa163e000001;')
MAX_NICS = BOOT_PARAMETERS_MAX // ENTRY_LENGTH      # 12
NIC_DEVNO_BASE = 0x0001

# NIC type -> (device-number space, device numbers one NIC occupies).
# HMC rule H2: an OSA NIC occupies three consecutive channel-based device
# numbers, and channel-based numbers are shared with the storage paths
# (HBAs, VSRs); RoCE, CNA and Network Express (NETH) NICs are PCI
# functions with PCI-based numbers of their own. HiperSockets NICs are
# taken to be as wide as OSA ones, and a PCI function to take one number
# (both inferred, see the known limitations).
CHANNEL = 'channel'
PCI = 'pci'
NIC_DEVICE_NUMBERS = {
    'osd': (CHANNEL, 3),
    'iqd': (CHANNEL, 3),
    'roce': (PCI, 1),
    'cna': (PCI, 1),
    'neth': (PCI, 1),
}

# The API feature of CPCs without virtual switches (z17 and later).
NETWORK_EXPRESS_FEATURE = capabilities.GATES[
    capabilities.NETWORK_EXPRESS].api_feature
ADAPTER_PORTS_MAX = 4

# HMC rule H3: nova-dpm gives a VLAN NIC vlan-id and vlan-type 'enforced',
# where the HMC and the CPC can (capabilities.VLAN).
VLAN_RANGE = (1, 4094)

_MAC = re.compile(r'^[0-9a-f]{2}(:[0-9a-f]{2}){5}$')

# One port's NIC as planned from its VIF: ``object_id`` is the virtual
# switch (dpm_vswitch) or the network adapter (dpm_adapter); ``port`` is
# the adapter port index the binding names (dpm_adapter only).
Nic = collections.namedtuple('Nic', ['port_id', 'mac', 'vif_type',
                                     'object_id', 'port', 'vlan'])
# What backs a NIC on the HMC: the Create NIC properties naming it, the
# adapter port index (for the boot parameters) and the NIC type.
Backing = collections.namedtuple('Backing', ['props', 'port', 'nic_type'])


def device_numbers(count, taken=(), step=3):
    """``count`` device numbers, each the first of ``step`` free ones.

    ``taken`` are device numbers the partition already uses in the same
    space (its storage paths', for channel-based NICs): on machines with
    storage groups the HMC numbers the virtual storage resources itself,
    from the same channel-based range.
    """
    taken = {int(str(d), 16) for d in taken}
    found = []
    first = NIC_DEVNO_BASE
    while len(found) < count:
        block = set(range(first, first + step))
        if block & taken:
            first += 1
            continue
        found.append('%04x' % first)
        first += step
    return found


def nic_device_numbers(nic_types, taken=()):
    """The device number of each NIC type in ``nic_types``, in order.

    Channel-based NICs avoid ``taken`` (the storage paths' numbers) and
    each other; PCI-based ones only each other (HMC rule H2).
    """
    used = {CHANNEL: {int(str(d), 16) for d in taken}, PCI: set()}
    result = []
    for nic_type in nic_types:
        space, width = NIC_DEVICE_NUMBERS[nic_type]
        devno = device_numbers(1, ['%x' % n for n in used[space]],
                               width)[0]
        used[space].update(range(int(devno, 16), int(devno, 16) + width))
        result.append(devno)
    return result


def boot_entry(devno, port, mac):
    return '%s,%d,%s;' % (devno, port, mac.replace(':', '').lower())


def boot_parameters(entries):
    """The boot-os-specific-parameters value for (devno, port, mac)."""
    value = ''.join(boot_entry(*e) for e in entries)
    if len(value) > BOOT_PARAMETERS_MAX:
        raise exception.InvalidNetwork(
            port='(all)',
            reason='%d NICs need %d characters of boot-os-specific-'
                   'parameters; the HMC allows %d, so a partition can have '
                   'at most %d NICs' % (len(entries), len(value),
                                        BOOT_PARAMETERS_MAX, MAX_NICS))
    return value


def _vlan(vif):
    """The VLAN id of a port, from its binding details (or network)."""
    details = vif.get('details') or {}
    network = vif.get('network') or {}
    meta = network.get('meta') or {}
    for value in (details.get(contract.VIF_DETAILS_VLAN),
                  meta.get('vlan')):
        if value not in (None, ''):
            return value
    return None


def _vlan_id(port, value):
    try:
        vlan = int(value)
    except (TypeError, ValueError):
        vlan = None
    if vlan is None or not VLAN_RANGE[0] <= vlan <= VLAN_RANGE[1]:
        raise exception.InvalidNetwork(
            port=port, reason='its VLAN id %r is not an integer from %d to '
                              '%d' % ((value,) + VLAN_RANGE))
    return vlan


def _object_id(port, details, what):
    object_id = str(details.get(contract.VIF_DETAILS_OBJECT_ID, '')).lower()
    if not dpm_conf.UUID_RE.match(object_id):
        raise exception.InvalidNetwork(
            port=port,
            reason='its binding details carry no %s object_id (got %r)' %
                   (what, object_id))
    return object_id


class _VswitchType(object):
    """dpm_vswitch: a NIC on an OSA or HiperSockets virtual switch."""

    name = contract.VIF_TYPE_VSWITCH

    @staticmethod
    def parse(port, details):
        return _object_id(port, details, 'virtual switch'), None

    @staticmethod
    def backing(networking, nic):
        return networking.vswitch_backing(nic.object_id, nic.port_id)


class _AdapterPortType(object):
    """dpm_adapter: a NIC backed by a network adapter port."""

    name = contract.VIF_TYPE_ADAPTER

    @staticmethod
    def parse(port, details):
        object_id = _object_id(port, details, 'network adapter')
        index = details.get(contract.VIF_DETAILS_PORT)
        try:
            index = int(index)
        except (TypeError, ValueError):
            index = None
        if index is None or not 0 <= index < ADAPTER_PORTS_MAX:
            raise exception.InvalidNetwork(
                port=port,
                reason='its binding details carry no adapter port index '
                       '(port: an integer from 0 to %d; got %r)' %
                       (ADAPTER_PORTS_MAX - 1,
                        details.get(contract.VIF_DETAILS_PORT)))
        return object_id, index

    @staticmethod
    def backing(networking, nic):
        return networking.adapter_port_backing(nic.object_id, nic.port,
                                               nic.port_id)


# VIF type -> how its binding details are read and its backing found. A
# new NIC backing is one entry here.
VIF_TYPES = {t.name: t for t in (_VswitchType, _AdapterPortType)}


def _vif_type(port, vif):
    vif_type = VIF_TYPES.get(vif.get('type'))
    if vif_type is None:
        raise exception.InvalidNetwork(
            port=port,
            # Short: Nova keeps 255 characters of a fault message.
            reason='VIF type %r; only %s work' %
                   (vif.get('type'),
                    ' and '.join(repr(t) for t in sorted(VIF_TYPES))))
    return vif_type


def _checked_vlan(port, vif, known):
    """The VLAN id of a port, None; refused where NICs take none."""
    if _vlan(vif) is None:
        return None
    vlan = _vlan_id(port, _vlan(vif))
    short = (known.shortfalls(capabilities.VLAN) if known is not None
             else [('API', None, 'unknown')])
    # The HMC first: an HMC too old for VLANs says so whatever its CPC.
    for kind, _need, have in sorted(short, key=lambda s: s[0] != 'API'):
        if kind == 'SE':
            reason = ('a z14 or later CPC (SE %s or later); this CPC has SE '
                      '%s' % (capabilities.version_text(
                          capabilities.GATES[capabilities.VLAN].se), have))
        else:
            reason = ('HMC Web Services API %s or later (HMC 2.14.0, z14); '
                      'this HMC has %s' % (
                          capabilities.version_text(
                              capabilities.GATES[capabilities.VLAN].api),
                          'an unknown version' if have == 'unknown'
                          else have))
        raise exception.InvalidNetwork(
            port=port, reason='it is on VLAN %d, and NICs with a VLAN id '
                              'need %s' % (vlan, reason))
    return vlan


def nics_from_vifs(network_info, known=None):
    """Validate the VIFs before any HMC request; a list of Nic.

    VLAN ports need an HMC and a CPC that can make VLAN NICs (``known``:
    the :class:`~nova_dpm.capabilities.Capabilities`; without them VLAN
    ports are refused). Raises InvalidNetwork naming the port and the
    problem.
    """
    nics = []
    for vif in network_info or []:
        port = vif.get('id')
        vif_type = _vif_type(port, vif)
        vlan = _checked_vlan(port, vif, known)
        object_id, index = vif_type.parse(port, vif.get('details') or {})
        mac = str(vif.get('address') or '').lower()
        if not _MAC.match(mac):
            raise exception.InvalidNetwork(
                port=port, reason='its MAC address %r is not a MAC' % mac)
        nics.append(Nic(port, mac, vif_type.name, object_id, index, vlan))
    if len(nics) > MAX_NICS:
        raise exception.InvalidNetwork(
            port=nics[MAX_NICS].port_id,
            reason='the instance has %d ports; the %d-character limit of '
                   'boot-os-specific-parameters allows at most %d' %
                   (len(nics), BOOT_PARAMETERS_MAX, MAX_NICS))
    return nics


class Networking(object):
    """NICs of this subset's partitions."""

    def __init__(self, hmc, subset):
        self.hmc = hmc
        self.subset = subset
        # Whether the CPC has no virtual switches (network-express-support,
        # z17 and later): its NICs are all backed by adapter ports.
        self.adapter_ports_only = False
        self._vswitch_ports = {}     # vswitch uri -> adapter port
        # (adapter object-id, port index) -> Backing; adapters and their
        # ports do not change while the service runs.
        self._adapter_ports = {}

    @property
    def inventory(self):
        """The reader of the CPC's adapters and virtual switches."""
        return inventory.Inventory(self.hmc, self.subset.cpc)

    def load_vswitch_ports(self):
        """Read the adapter ports of all the CPC's virtual switches at once.

        One listing, on HMCs that return the port with it (API 4.1 and
        later); the first spawns after a start then read no virtual switch.
        Elsewhere, or if the listing fails, each switch is read when an
        instance first uses it (:meth:`vswitch_port`).

        Whether the CPC has no virtual switches at all is its
        network-express-support API feature (API 4.10 and later), as in
        the DPM agent; never an empty or failed listing (a user without
        object access to the switches lists none). Such a CPC lists none.
        """
        known = self.hmc.capabilities
        with hmc.translated('list API features', self.subset.cpc.name):
            self.adapter_ports_only = known.can(capabilities.NETWORK_EXPRESS)
        if self.adapter_ports_only:
            LOG.info('CPC %s has no virtual switches (%s): its NICs are '
                     'backed by adapter ports (VIF type %s).',
                     self.subset.cpc.name, NETWORK_EXPRESS_FEATURE,
                     contract.VIF_TYPE_ADAPTER)
            return
        if not known.can(capabilities.ADDITIONAL_PROPERTIES):
            return
        try:
            vswitches = self.inventory.vswitches(['port'])
        except exception.DPMError as exc:
            LOG.warning('Could not list the virtual switches of CPC %s (%s); '
                        'each is read when first used.', self.subset.cpc.name,
                        exc.format_message())
            return
        for uri, props in vswitches.items():
            if props.get('port') is not None:
                self._vswitch_ports[uri] = int(props['port'])

    def planned_nics(self, network_info):
        """:func:`nics_from_vifs` for this HMC and CPC; no HMC request."""
        return nics_from_vifs(network_info, self.hmc.capabilities)

    def check_backings(self, network_info):
        """The planned NICs, with every backing found on the HMC.

        Each virtual switch and adapter port is read once per service
        run. Raises InvalidNetwork naming the port and the object.
        """
        nics = self.planned_nics(network_info)
        for nic in nics:
            self.backing(nic)
        return nics

    def backing(self, nic):
        """The Backing of a planned NIC (read from the HMC once)."""
        backing = VIF_TYPES[nic.vif_type].backing(self, nic)
        # HMC rule H3: VLAN ids only for OSA and HiperSockets NICs.
        if nic.vlan is not None and \
                backing.nic_type not in contract.VLAN_NIC_TYPES:
            raise exception.InvalidNetwork(
                port=nic.port_id,
                reason='it is on VLAN %d, and only OSA and HiperSockets '
                       'NICs take a VLAN id; its adapter port backs a %s '
                       'NIC' % (nic.vlan, backing.nic_type))
        return backing

    def vswitch_backing(self, vswitch_id, port_id):
        uri = '/api/virtual-switches/%s' % vswitch_id
        return Backing({'virtual-switch-uri': uri},
                       self.vswitch_port(vswitch_id, port_id), 'osd')

    def vswitch_port(self, vswitch_id, port_id=None):
        """The adapter port behind a virtual switch of this CPC.

        Virtual switches do not change: each is read once and kept.
        ``port_id`` (the Neutron port) is named in errors.
        """
        uri = '/api/virtual-switches/%s' % vswitch_id
        port = self._vswitch_ports.get(uri)
        if port is None:
            if self.adapter_ports_only:
                raise exception.InvalidNetwork(
                    port=port_id or vswitch_id,
                    reason='it is bound as %s (virtual switch %s), but CPC '
                           '%s has no virtual switches (%s): bind it as %s' %
                           (contract.VIF_TYPE_VSWITCH, vswitch_id,
                            self.subset.cpc.name, NETWORK_EXPRESS_FEATURE,
                            contract.VIF_TYPE_ADAPTER))
            vswitch = zhmcclient.VirtualSwitch(
                self.subset.cpc.virtual_switches, uri)
            with hmc.translated('read virtual switch', vswitch_id):
                found = hmc.pull(vswitch, ['parent', 'port', 'name'])
            if not found:
                raise exception.InvalidNetwork(
                    port=port_id or vswitch_id,
                    reason='its binding names virtual switch %s, which the '
                           'HMC does not show (it does not exist, or the '
                           'HMC user lacks object-access permission for '
                           'it)' % vswitch_id)
            if vswitch.get_property('parent') != self.subset.cpc.uri:
                raise exception.InvalidNetwork(
                    port=port_id or vswitch_id,
                    reason='its virtual switch %s is not on CPC %s' %
                           (vswitch.get_property('name'),
                            self.subset.cpc.name))
            port = int(vswitch.get_property('port') or 0)
            self._vswitch_ports[uri] = port
        return port

    def adapter_port_backing(self, adapter_id, index, port_id):
        """The network port ``index`` of adapter ``adapter_id``.

        Read once per service run (an adapter and two to four ports).
        """
        key = (adapter_id, index)
        if key not in self._adapter_ports:
            self._adapter_ports[key] = self._read_adapter_port(
                adapter_id, index, port_id)
        return self._adapter_ports[key]

    def _read_adapter_port(self, adapter_id, index, port_id):
        try:
            adapter = self.inventory.network_adapter(adapter_id)
            family = adapter.get_property('adapter-family')
            if family in contract.VSWITCH_FAMILIES and \
                    not self.adapter_ports_only:
                # HMC rule H1: before network-express-support, OSA and
                # HiperSockets NICs go through the port's virtual switch.
                raise inventory.Refused(
                    'its adapter %s is an %s adapter, whose ports CPC %s '
                    'reaches through virtual switches: bind it as %s' %
                    (adapter.name, family, self.subset.cpc.name,
                     contract.VIF_TYPE_VSWITCH))
            uri = self.inventory.network_port(adapter, index)
        except inventory.Refused as exc:
            raise exception.InvalidNetwork(port=port_id, reason=exc.reason)
        nic_type, typed = contract.ADAPTER_NIC_TYPES[family]
        props = {'network-adapter-port-uri': uri}
        if typed:
            props['type'] = nic_type
        return Backing(props, index, nic_type)

    def create_nics(self, partition, nics, taken=(), deadline=None):
        """Create the NICs; return the boot-os-specific-parameters.

        ``taken``: device numbers the partition already uses. A busy
        partition (409,2, HMC rule A3) is asked again within
        ``deadline`` (hmc.Deadline; None: one try).
        """
        backings = [self.backing(nic) for nic in nics]
        devnos = nic_device_numbers([b.nic_type for b in backings], taken)
        value = boot_parameters([(devno, backing.port, nic.mac)
                                 for nic, backing, devno
                                 in zip(nics, backings, devnos)])
        for nic, backing, devno in zip(nics, backings, devnos):
            props = {
                'name': contract.nic_name(nic.port_id),
                'description': contract.nic_description(nic.mac,
                                                        self.subset.host),
                'device-number': devno,
            }
            props.update(backing.props)
            if nic.vlan is not None:
                props['vlan-id'] = nic.vlan
                props['vlan-type'] = 'enforced'
            with hmc.translated('create NIC', partition.name):
                if deadline is None:
                    partition.nics.create(props)
                else:
                    hmc.retry_while_busy(
                        lambda: partition.nics.create(props), deadline,
                        'create NIC %s in %s' % (props['name'],
                                                 partition.name))
            LOG.debug('Created NIC %s (device %s) backed by %s.',
                      props['name'], devno, nic.object_id)
        return value
