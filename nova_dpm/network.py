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

"""Networking: NICs on OSA virtual switches and the MAC contract.

The contract with the networking-dpm agent (which wires the Neutron port)
and with the guest image tools (which configure the interface):

* A VIF of type ``dpm_vswitch`` carries the object-id of an OSA virtual
  switch in its details (``object_id``). nova-dpm creates one NIC on it.
  A VLAN id in the details (``vlan``) makes it a NIC with ``vlan-id`` and
  ``vlan-type = enforced``: the OSA adapter tags and filters the traffic,
  so the guest sees an untagged interface.
* The NIC is named ``OpenStack_Port_<port-id>``; its description starts with
  ``OpenStack``, and holds ``mac=<mac>`` and ``CPCSubset=<host>``.
* The partition's ``boot-os-specific-parameters`` (appended by the firmware
  to the guest kernel's command line) hold one entry per NIC,
  ``<devno>,<port>,<mac>;``: the NIC's device number (4 lower-case hex
  digits), the virtual switch's adapter port (0-3), and the MAC as 12
  lower-case hex digits. The guest tools read exactly this.
"""

import collections
import re

from oslo_log import log as logging
import zhmcclient

from nova_dpm import exception
from nova_dpm import hmc as hmc_module

LOG = logging.getLogger(__name__)

VIF_TYPE = 'dpm_vswitch'
# hmc-rules D3: boot-os-specific-parameters holds at most 256 characters.
BOOT_PARAMETERS_MAX = 256
ENTRY_LENGTH = len('0001,0,fa163e000001;')
MAX_NICS = BOOT_PARAMETERS_MAX // ENTRY_LENGTH      # 12
# An OSA NIC occupies three consecutive device numbers (hmc-rules H2).
NIC_DEVNO_BASE = 0x0001
NIC_DEVNO_STEP = 3

# hmc-rules H3: nova-dpm gives a VLAN NIC vlan-id and vlan-type 'enforced'.
# vlan-type came with HMC API 2.20 (SE 2.14.0), vlan-id with API 2.2
# (zhmc-ansible-modules zhmc_nic.py), and vlan-type is "only supported on
# z14 or later CPCs" (zhmccli nic create/update): SE 2.14.0 or later.
VLAN_MIN_API = (2, 20)
VLAN_MIN_SE = '2.14.0'
VLAN_RANGE = (1, 4094)

_MAC = re.compile(r'^[0-9a-f]{2}(:[0-9a-f]{2}){5}$')
_OBJECT_ID = re.compile(
    r'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')

Nic = collections.namedtuple('Nic', ['port_id', 'mac', 'vswitch_id',
                                     'vlan'])


def nic_name(port_id):
    return 'OpenStack_Port_%s' % port_id


def nic_description(mac, host):
    return 'OpenStack mac=%s, CPCSubset=%s' % (mac, host)


def device_numbers(count, taken=()):
    """``count`` NIC device numbers, each the first of three free ones.

    ``taken`` are device numbers the partition already uses (its storage
    paths'): on machines with storage groups the HMC numbers the virtual
    storage resources itself, from the same channel-based range.
    """
    taken = {int(str(d), 16) for d in taken}
    found = []
    first = NIC_DEVNO_BASE
    while len(found) < count:
        triple = set(range(first, first + NIC_DEVNO_STEP))
        if triple & taken:
            first += 1
            continue
        found.append('%04x' % first)
        first += NIC_DEVNO_STEP
    return found


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
    for value in (details.get('vlan'), meta.get('vlan')):
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


def _version(text):
    return tuple(int(p) for p in str(text).split('.') if p.isdigit())


def plan(network_info, api_version=None, se_version=None):
    """Validate the VIFs before any HMC request; a list of Nic.

    VLAN ports need an HMC with ``VLAN_MIN_API``; without ``api_version``
    they are refused. With ``se_version`` (the CPC's), they also need a
    CPC with ``VLAN_MIN_SE``. Raises InvalidNetwork naming the port and
    the problem.
    """
    nics = []
    for vif in network_info or []:
        port = vif.get('id')
        vif_type = vif.get('type')
        if vif_type != VIF_TYPE:
            raise exception.InvalidNetwork(
                port=port,
                # Short: Nova keeps 255 characters of a fault message.
                reason='VIF type %r; only %r (networking-dpm) works' %
                       (vif_type, VIF_TYPE))
        vlan = None
        if _vlan(vif) is not None:
            vlan = _vlan_id(port, _vlan(vif))
            if api_version is None or tuple(api_version) < VLAN_MIN_API:
                raise exception.InvalidNetwork(
                    port=port,
                    reason='it is on VLAN %d, and NICs with a VLAN id need '
                           'HMC Web Services API %d.%d or later (HMC 2.14.0, '
                           'z14); this HMC has %s' %
                           ((vlan,) + VLAN_MIN_API +
                            ('.'.join(map(str, api_version))
                             if api_version else 'an unknown version',)))
            if se_version is not None and \
                    _version(se_version) < _version(VLAN_MIN_SE):
                raise exception.InvalidNetwork(
                    port=port,
                    reason='it is on VLAN %d, and NICs with a VLAN id need '
                           'a z14 or later CPC (SE %s or later); this CPC '
                           'has SE %s' % (vlan, VLAN_MIN_SE, se_version))
        vswitch = str((vif.get('details') or {}).get('object_id', '')).lower()
        if not _OBJECT_ID.match(vswitch):
            raise exception.InvalidNetwork(
                port=port,
                reason="its binding details carry no virtual switch "
                       "object_id (got %r)" % vswitch)
        mac = str(vif.get('address') or '').lower()
        if not _MAC.match(mac):
            raise exception.InvalidNetwork(
                port=port, reason='its MAC address %r is not a MAC' % mac)
        nics.append(Nic(port, mac, vswitch, vlan))
    if len(nics) > MAX_NICS:
        raise exception.InvalidNetwork(
            port=nics[MAX_NICS].port_id,
            reason='the instance has %d ports; the %d-character limit of '
                   'boot-os-specific-parameters allows at most %d' %
                   (len(nics), BOOT_PARAMETERS_MAX, MAX_NICS))
    return nics


class Networking(object):
    """NICs of this subset's partitions."""

    def __init__(self, hmc, subset, api_version):
        self.hmc = hmc
        self.subset = subset
        self.api_version = api_version
        self._vswitch_ports = {}     # vswitch uri -> adapter port

    def load_vswitch_ports(self):
        """Read the adapter ports of all the CPC's virtual switches at once.

        One listing, on HMCs that return the port with it (API 4.1 and
        later); the first spawns after a start then read no virtual switch.
        Elsewhere, or if the listing fails, each switch is read when an
        instance first uses it (:meth:`vswitch_port`).
        """
        if tuple(self.api_version) < hmc_module.ADDITIONAL_PROPERTIES_API:
            return
        try:
            vswitches = self.subset.cpc.virtual_switches.list(
                additional_properties=['port'])
        except zhmcclient.Error as exc:
            LOG.warning('Could not list the virtual switches of CPC %s (%s); '
                        'each is read when first used.', self.subset.cpc.name,
                        hmc_module.describe_error(exc))
            return
        for vswitch in vswitches:
            port = vswitch.properties.get('port')
            if port is not None:
                self._vswitch_ports[vswitch.uri] = int(port)

    def plan(self, network_info):
        return plan(network_info, self.api_version,
                    self.subset.cpc.get_property('se-version') or '0')

    def vswitch_port(self, vswitch_id, port_id=None):
        """The adapter port behind a virtual switch of this CPC.

        Virtual switches do not change: each is read once and kept.
        ``port_id`` (the Neutron port) is named in errors.
        """
        uri = '/api/virtual-switches/%s' % vswitch_id
        port = self._vswitch_ports.get(uri)
        if port is None:
            vswitch = zhmcclient.VirtualSwitch(
                self.subset.cpc.virtual_switches, uri)
            with hmc_module.translated('read virtual switch', vswitch_id):
                found = hmc_module.pull(vswitch, ['parent', 'port', 'name'])
            if not found:
                raise exception.InvalidNetwork(
                    port=port_id or vswitch_id,
                    reason='its binding names virtual switch %s, which the '
                           'HMC does not know' % vswitch_id)
            if vswitch.get_property('parent') != self.subset.cpc.uri:
                raise exception.InvalidNetwork(
                    port=port_id or vswitch_id,
                    reason='its virtual switch %s is not on CPC %s' %
                           (vswitch.get_property('name'),
                            self.subset.cpc.name))
            port = int(vswitch.get_property('port') or 0)
            self._vswitch_ports[uri] = port
        return port

    def create_nics(self, partition, nics, taken=()):
        """Create the NICs; return the boot-os-specific-parameters.

        ``taken``: device numbers the partition already uses.
        """
        devnos = device_numbers(len(nics), taken)
        entries = []
        for nic, devno in zip(nics, devnos):
            port = self.vswitch_port(nic.vswitch_id, nic.port_id)
            entries.append((devno, port, nic.mac))
        value = boot_parameters(entries)
        for nic, devno in zip(nics, devnos):
            props = {
                'name': nic_name(nic.port_id),
                'description': nic_description(nic.mac, self.subset.host),
                'virtual-switch-uri': '/api/virtual-switches/%s' %
                                      nic.vswitch_id,
                'device-number': devno,
            }
            if nic.vlan is not None:
                props['vlan-id'] = nic.vlan
                props['vlan-type'] = 'enforced'
            with hmc_module.translated('create NIC', partition.name):
                partition.nics.create(props)
            LOG.debug('Created NIC %s (device %s) on virtual switch %s.',
                      props['name'], devno, nic.vswitch_id)
        return value
