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

"""The DPM agent (``neutron-dpm-agent``): one per CPC subset.

It runs on Neutron's common L2 agent loop
(:class:`neutron.plugins.ml2.drivers.agent._common_agent.CommonAgentLoop`,
the loop of the macvtap agent); this module supplies the manager that loop
asks for the devices of the host, and the RPC callbacks.

* At start it logs on to the HMC (once; the session is kept), finds the CPC
  of ``[dpm] cpc_object_id`` and checks every
  ``physical_network_adapter_mappings`` entry against it (the adapter
  exists on that CPC and is a network adapter, the port exists, and the
  virtual switch of that port, or, on a CPC without virtual switches, the
  port itself, is what NICs will use). A bad entry stops the agent with a
  message naming the option, the entry and the object. The result is
  reported in the agent's state, where the mechanism driver reads it.
* A device is a Neutron port for which nova-dpm has created a NIC on a
  partition of the CPC: the NIC is named ``OpenStack_Port_<port-id>`` and
  its description holds ``mac=<mac>`` and ``CPCSubset=<host>`` with this
  agent's ``[DEFAULT] host``. The loop reports a new device up (Neutron
  then sets the port ACTIVE and tells Nova ``network-vif-plugged``) and a
  vanished one down.
* A listing, whatever the number of ports, is one request for the CPC's
  OpenStack partitions with their NIC URIs (HMC API 4.1 and later), or one
  Get Connected VNICs request per mapped virtual switch (older HMCs); plus,
  only when NICs appeared, one Submit Requests that reads all new NICs (a
  NIC's name and description are read once and remembered).
* When the listings are made is :mod:`nova_dpm.neutron.nic_feed`'s
  business: while the agent receives the HMC's object notifications
  (``[dpm] hmc_notifications``), a NIC created is read alone (one request)
  and a NIC deleted costs nothing, both at once, and the NICs are listed
  every ``[dpm] nic_reconciliation_interval`` seconds (and after each
  connection of the notification service); without notifications they
  are listed every ``[AGENT] polling_interval`` seconds.
* An HMC that does not answer changes nothing: the ports stay as they
  were, and the agent logs off so that the next interval logs on again,
  to the first HMC of ``[dpm] hmc`` that answers (failover).
"""

import collections
import sys
import threading

# The agent runs on native threads, as Neutron 29's own agents do
# (neutron.cmd.agents): oslo.service's threading backend must be chosen
# before anything imports oslo.service's loopingcall or service, which
# would otherwise settle on eventlet, whose green heartbeat never runs in
# an unpatched process.
from oslo_service import backend as oslo_service_backend
from oslo_service.backend import exceptions as backend_exceptions
try:
    oslo_service_backend.init_backend(
        oslo_service_backend.BackendType.THREADING)
except backend_exceptions.BackendAlreadySelected:
    # A process that chose before (a test runner hosting nova's cloud).
    pass

from neutron_lib.agent import topics  # noqa: E402
from oslo_config import cfg  # noqa: E402
from oslo_log import log as logging  # noqa: E402
import oslo_messaging  # noqa: E402
from oslo_service import loopingcall  # noqa: E402
from oslo_service import service  # noqa: E402

from neutron.api.rpc.handlers import securitygroups_rpc as sg_rpc  # noqa
from neutron.common import config as common_config  # noqa: E402
from neutron.plugins.ml2.drivers.agent import _agent_manager_base as amb  # noqa
from neutron.plugins.ml2.drivers.agent import _common_agent as ca  # noqa

from nova_dpm import capabilities  # noqa: E402
from nova_dpm import contract  # noqa: E402
from nova_dpm import exception  # noqa: E402
from nova_dpm import hmc  # noqa: E402
from nova_dpm import inventory  # noqa: E402
from nova_dpm.neutron import config  # noqa: E402
from nova_dpm.neutron import constants  # noqa: E402
from nova_dpm.neutron import nic_feed  # noqa: E402

LOG = logging.getLogger(__name__)

OPTION = 'physical_network_adapter_mappings'

# vlan: whether NICs on the mapping can carry a VLAN id (HMC rule H3:
# OSA and HiperSockets NICs only).
Binding = collections.namedtuple(
    'Binding', ['physnet', 'vif_type', 'object_id', 'port', 'adapter_id',
                'uri', 'vlan'])


class MappingError(exception.InvalidConfiguration):
    pass


class AgentStopped(Exception):
    """Ends the common agent loop after :meth:`DPMAgentLoop.stop`."""


def _invalid(mapping, reason):
    return MappingError(option=OPTION,
                        reason='%s:%s:%d: %s' % (mapping + (reason,)))


class Mappings(object):
    """The physical networks of this agent, checked against the CPC."""

    def __init__(self, hmc, cpc):
        self.hmc = hmc
        self.cpc = cpc
        self.inventory = inventory.Inventory(hmc, cpc)
        self.bindings = []          # Binding, in the configured order
        # (adapter uri, port) -> (vswitch uri, properties)
        self._vswitches = None
        self._ports_only = None     # CPC without virtual switches?

    def resolve(self, mappings):
        """Check each AdapterMapping; raise MappingError on the first bad.

        HMC requests: one per distinct adapter, one for its ports, and one
        listing of the virtual switches.
        """
        adapters = {}
        for mapping in mappings:
            try:
                if mapping.adapter_id not in adapters:
                    adapter = self.inventory.network_adapter(
                        mapping.adapter_id)
                    adapters[mapping.adapter_id] = (
                        adapter, self.inventory.network_ports(adapter))
                adapter, ports = adapters[mapping.adapter_id]
                if mapping.port not in ports:
                    raise inventory.missing_port(adapter, mapping.port, ports)
            except inventory.Refused as exc:
                raise _invalid(mapping, exc.reason)
            self.bindings.append(self._binding(mapping, adapter))
        by_physnet = {}
        for binding in self.bindings:
            by_physnet.setdefault(binding.physnet, []).append(binding)
        for physnet, found in by_physnet.items():
            if len(found) > 1:
                LOG.warning('[dpm] %s maps physical network %s to %d adapter '
                            'ports; new ports use the first one (%s).',
                            OPTION, physnet, len(found), found[0].object_id)
        return self.bindings

    def _binding(self, mapping, adapter):
        family = adapter.get_property('adapter-family')
        vswitch = self._vswitch(adapter.uri, mapping.port)
        if vswitch is not None:
            uri, _props = vswitch
            return Binding(mapping.physnet, contract.VIF_TYPE_VSWITCH,
                           uri.rsplit('/', 1)[1], mapping.port,
                           mapping.adapter_id, uri, True)
        if family in contract.PORT_FAMILIES or self._adapter_ports_only():
            # RoCE, CNA, Network Express, and every adapter of a CPC
            # without virtual switches (z17 network-express-support,
            # hmc-rules H1/H5): the NIC names the adapter port.
            return Binding(mapping.physnet, contract.VIF_TYPE_ADAPTER,
                           mapping.adapter_id, mapping.port,
                           mapping.adapter_id, adapter.uri,
                           contract.vlan_capable(family))
        raise _invalid(mapping, 'CPC %s has no virtual switch for port %d '
                       'of adapter %s' % (self.cpc.name, mapping.port,
                                          adapter.name))

    def _adapter_ports_only(self):
        """Whether the CPC has no virtual switches (HMC rules H1, H5).

        The test nova-compute makes (nova_dpm.network): the CPC's
        network-express-support API feature, from API 4.10 on. An empty
        listing alone (a user without object access to the virtual
        switches) is no such CPC.
        """
        if self._ports_only is None:
            with hmc.translated('list API features', self.cpc.name):
                self._ports_only = self.hmc.capabilities.can(
                    capabilities.NETWORK_EXPRESS)
        return self._ports_only

    def _vswitch(self, adapter_uri, port):
        """(URI, properties) of the switch of an adapter port, or None."""
        if self._vswitches is None:
            self._vswitches = self.inventory.vswitches_by_port(['object-id'])
        return self._vswitches.get((adapter_uri, port))

    def configurations(self):
        """What the agent reports; the mechanism driver reads it."""
        first = {}
        every = {}
        for binding in self.bindings:
            every.setdefault(binding.physnet, []).append(binding.object_id)
            if binding.physnet in first:
                continue
            entry = {'vif_type': binding.vif_type,
                     'object_id': binding.object_id,
                     'vlan': binding.vlan}
            if binding.vif_type == contract.VIF_TYPE_ADAPTER:
                entry[contract.VIF_DETAILS_PORT] = binding.port
            first[binding.physnet] = entry
        types = ['flat']
        # nova-dpm's own test for VLAN NICs (HMC rule H3).
        if self.hmc.capabilities.can(capabilities.VLAN):
            types.append('vlan')
        return {constants.CONF_VIF_MAPPINGS: first,
                constants.CONF_ADAPTER_MAPPINGS: every,
                constants.CONF_NETWORK_TYPES: types,
                'cpc_object_id': self.cpc.uri.rsplit('/', 1)[1],
                'cpc_name': self.cpc.name}


class NicWatcher(object):
    """The NICs nova-dpm created for this host's ports on the CPC."""

    def __init__(self, hmc, cpc, host, vswitch_uris):
        self.hmc = hmc
        self.cpc = cpc
        self.host = host
        self.listing = hmc.capabilities.can(capabilities.ADDITIONAL_PROPERTIES)
        self.vswitch_uris = sorted(set(vswitch_uris))
        # NIC URI -> (port id, host) or None for a NIC not of OpenStack;
        # name and description of a NIC are read once.
        self._known = {}

    def nic_uris(self):
        """The URIs of the NICs to consider (one request, see module)."""
        if self.listing:
            with hmc.translated('list partitions', self.cpc.name):
                parts = self.cpc.partitions.list(
                    filter_args={'name': contract.PARTITION_FILTER},
                    additional_properties=['nic-uris'])
            return {uri for p in parts
                    for uri in p.properties.get('nic-uris') or ()}
        uris = set()
        for vswitch_uri in self.vswitch_uris:
            with hmc.translated('get connected NICs', vswitch_uri):
                # A GET (HMC rule H11; zhmcclient get_connected_nics).
                result = self.hmc.session.get(
                    vswitch_uri + '/operations/get-connected-vnics')
            uris.update(result.get('connected-vnic-uris') or ())
        return uris

    def devices(self):
        """{port id: NIC URI} of this host's NICs on the CPC (listing)."""
        uris = self.nic_uris()
        self._learn(uris)
        self._known = {u: o for u, o in self._known.items() if u in uris}
        return self._mine()

    def apply(self, changes):
        """{port id: NIC URI} after NIC changes seen in notifications.

        ``changes``: (``add`` or ``remove``, NIC URI) and (``gone``,
        partition URI) in the order notified. At most one request: the
        read of the NICs added (a deleted NIC needs none).
        """
        last = {}
        for action, uri in changes:
            if action == 'gone':
                prefix = uri + '/'
                for nic_uri in list(self._known) + list(last):
                    if nic_uri.startswith(prefix):
                        last[nic_uri] = 'remove'
            else:
                last[uri] = action
        for uri, action in last.items():
            if action == 'remove':
                self._known.pop(uri, None)
        self._learn(uri for uri, action in last.items() if action == 'add')
        return self._mine()

    def _learn(self, uris):
        """Read the name and description of the NICs not known yet."""
        new = [uri for uri in sorted(uris) if uri not in self._known]
        if not new:
            return
        with hmc.translated('read NICs', self.cpc.name):
            found = self.hmc.get_many(new)
        for uri, props in found.items():
            if props is None:
                continue       # deleted since it was listed or notified
            self._known[uri] = contract.nic_owner(
                props.get('name'), props.get('description'))

    def _mine(self):
        return {owner[0]: uri for uri, owner in self._known.items()
                if owner and owner[1] == self.host}


class DPMRpcCallbacks(sg_rpc.SecurityGroupAgentRpcCallbackMixin,
                      amb.CommonAgentManagerRpcCallBackBase):
    """What neutron-server tells the agent (RPC API 1.4, as macvtap)."""

    target = oslo_messaging.Target(version='1.4')

    def port_update(self, context, **kwargs):
        # The device is the port id; the loop reads the details itself,
        # at once (it may be waiting for a NIC change).
        self.updated_devices.add(kwargs['port']['id'])
        self.agent.mgr.feed.wake()

    def network_update(self, context, **kwargs):
        pass

    def network_delete(self, context, **kwargs):
        pass


class DPMManager(amb.CommonAgentManagerBase):
    """The common agent loop's view of the CPC (see the module)."""

    def __init__(self, hmc, settings, host, polling_interval=2):
        self.hmc = hmc
        self.settings = settings
        self.host = host
        self.cpc = None
        self.mappings = None
        self.watcher = None
        self.feed = nic_feed.NicFeed(polling_interval,
                                     settings.nic_reconciliation_interval)
        self.notifications = nic_feed.NicNotifications(hmc, settings,
                                                       self.feed)
        self._devices = {}
        self._failing = False
        self.stopped = False
        # The thread of the agent loop (DPMAgentLoop.start): only its
        # calls list the NICs; the state reports, from another thread,
        # get the devices of the last listing.
        self.loop_thread = None

    def start(self):
        """Find the CPC and check the mappings; raise on a bad one."""
        api_version = self.hmc.api_version()
        try:
            self.cpc = inventory.find_cpc(self.hmc,
                                          self.settings.cpc_object_id)
            inventory.check_dpm_mode(self.cpc)
        except inventory.Refused as exc:
            raise exception.InvalidConfiguration(option='cpc_object_id',
                                                 reason=exc.reason)
        self.hmc.adopt_cpc(self.cpc)
        self.mappings = Mappings(self.hmc, self.cpc)
        bindings = self.mappings.resolve(
            self.settings.physical_network_adapter_mappings)
        listing = self.hmc.capabilities.can(
            capabilities.ADDITIONAL_PROPERTIES)
        if not listing and any(b.vif_type == contract.VIF_TYPE_ADAPTER
                               for b in bindings):
            raise exception.InvalidConfiguration(
                option=OPTION,
                reason='adapter-port NICs need HMC API %s or later; '
                       'this HMC has %s' % (
                           capabilities.version_text(capabilities.GATES[
                               capabilities.ADDITIONAL_PROPERTIES].api),
                           capabilities.version_text(api_version)))
        self.watcher = NicWatcher(
            self.hmc, self.cpc, self.host,
            [b.uri for b in bindings
             if b.vif_type == contract.VIF_TYPE_VSWITCH])
        for binding in bindings:
            LOG.info('Physical network %s: %s %s (adapter %s port %d).',
                     binding.physnet, binding.vif_type, binding.object_id,
                     binding.adapter_id, binding.port)
        return self

    # -- devices ---------------------------------------------------------

    def get_all_devices(self):
        if threading.current_thread() is not self.loop_thread:
            return set(self._devices)
        if self.stopped:
            raise AgentStopped()
        try:
            self._devices = self._scan()
            # A request of the scan may have logged on anew.
            self.notifications.check_topic()
        except (exception.HMCUnavailable,
                exception.HMCOperationFailed) as exc:
            LOG.warning('Could not list the NICs of CPC %s (%s); ports keep '
                        'their status until the HMC answers.', self.cpc.name,
                        exc.format_message())
            if isinstance(exc, exception.HMCUnavailable):
                # The next request logs on again, to the first HMC of
                # [dpm] hmc that answers.
                self.hmc.logoff()
            self._failing = True
            self.feed.failed()
            return set(self._devices)
        except Exception:
            # Anything else (an answer of an unexpected form, a timeout
            # below the HMC layer) must not end Neutron's agent loop while
            # the heartbeat still reports the agent alive.
            LOG.exception('Could not list the NICs of CPC %s; ports keep '
                          'their status, the next interval tries again.',
                          self.cpc.name)
            self._failing = True
            self.feed.failed()
            return set(self._devices)
        if self._failing:
            LOG.info('The HMC answers again: %d NICs of this host on CPC '
                     '%s.', len(self._devices), self.cpc.name)
            self._failing = False
        return set(self._devices)

    def _scan(self):
        """The devices: a listing when one is due, else the NICs notified."""
        at = self.feed.clock()
        changes = self.feed.take()
        if changes == nic_feed.LIST:
            devices = self.watcher.devices()
            if self.feed.listed(at):
                LOG.info('HMC notifications: reconciled the NICs of CPC %s '
                         'with one listing; %d of them are ports of this '
                         'host.', self.cpc.name, len(devices))
            return devices
        if not changes:
            return self._devices
        self.feed.targeted += 1
        return self.watcher.apply(changes)

    def get_devices_modified_timestamps(self, devices):
        # A NIC recreated for the same port (a rebuild) has a new URI: the
        # loop then reports the port again.
        return {d: self._devices[d] for d in devices if d in self._devices}

    def plug_interface(self, network_id, network_segment, device,
                       device_owner):
        # nova-dpm has created the NIC on the right adapter: it is plugged.
        return device in self._devices

    def ensure_port_admin_state(self, device, admin_state_up):
        # A NIC has no administrative state to set through the HMC.
        pass

    # -- identity and RPC ------------------------------------------------

    def get_agent_configurations(self):
        return self.mappings.configurations()

    def get_agent_id(self):
        return 'dpm-%s' % self.host

    def get_extension_driver_type(self):
        return constants.EXTENSION_DRIVER_TYPE

    def get_rpc_callbacks(self, context, agent, sg_agent):
        return DPMRpcCallbacks(context, agent, sg_agent)

    def get_agent_api(self, **kwargs):
        return None

    def get_rpc_consumers(self):
        return [[topics.PORT, topics.UPDATE],
                [topics.NETWORK, topics.UPDATE],
                [topics.NETWORK, topics.DELETE],
                [topics.SECURITY_GROUP, topics.UPDATE]]

    # -- no ARP spoofing protection: the OSA adapter sees only its MACs --

    def setup_arp_spoofing_protection(self, device, device_details):
        pass

    def delete_arp_spoofing_protection(self, devices):
        pass

    def delete_unreferenced_arp_protection(self, current_devices):
        pass


class DPMAgentLoop(ca.CommonAgentLoop):
    """Neutron's common agent loop, with an end.

    Its daemon loop polls forever; here :meth:`stop` makes the next poll
    end it, so that an agent run in a thread (the demo, the tests) and a
    service stopped by a signal both end cleanly.
    """

    def __init__(self, manager, polling_interval, *args, **kwargs):
        super().__init__(manager, polling_interval, *args, **kwargs)
        # The manager paces the loop (NicFeed.wait): the loop itself
        # sleeps no more after an iteration.
        self.polling_interval = 0

    def start(self):
        self.mgr.loop_thread = threading.current_thread()
        self.mgr.notifications.start()
        try:
            super().start()
        except AgentStopped:
            LOG.info('DPM agent loop ended.')

    def stop(self, graceful=True):
        self.mgr.stopped = True
        self.mgr.notifications.stop()
        # A loop that never started has no RPC clients to time out.
        super().stop(graceful and hasattr(self, 'plugin_rpc'))

    def scan_devices(self, previous, sync):
        # Until a NIC change is notified or a listing is due.
        self.mgr.feed.wait()
        return super().scan_devices(previous, sync)

    def _report_state(self):
        # The heartbeat of the base class has no end of its own: end it.
        if self.mgr.stopped:
            raise loopingcall.LoopingCallDone()
        super()._report_state()


def _check_firewall():
    driver = cfg.CONF.SECURITYGROUP.firewall_driver
    if driver not in (None, '', 'noop',
                      'neutron.agent.firewall.NoopFirewallDriver'):
        raise exception.InvalidConfiguration(
            option='(SECURITYGROUP) firewall_driver',
            reason='%r: the DPM agent filters nothing; expected noop' %
                   driver)


def build_agent(conf=cfg.CONF, connection=None):
    """Validate the configuration, log on, check the mappings.

    Returns the CommonAgentLoop, not started. ``connection``: an HMC object
    to use instead of one made from [dpm] (the demo shares its own).
    """
    settings = config.validate(conf)
    _check_firewall()
    if connection is None:
        connection = hmc.HMC(settings)
        connection.logon()
    manager = DPMManager(connection, settings, conf.host,
                         conf.AGENT.polling_interval).start()
    return DPMAgentLoop(
        manager, conf.AGENT.polling_interval,
        conf.AGENT.quitting_rpc_timeout, constants.AGENT_TYPE,
        constants.AGENT_BINARY)


def main(argv=None):
    config.register_opts(cfg.CONF)
    common_config.register_common_config_options()
    common_config.init(sys.argv[1:] if argv is None else argv)
    common_config.setup_logging()
    try:
        agent = build_agent()
    except exception.HMCLogonRefused as exc:
        # Final (HMC rule A11): EX_CONFIG, which the agent's systemd unit
        # names in RestartPreventExitStatus, so that no restart repeats
        # the logon and locks the HMC user out.
        LOG.critical('%s. Agent terminated with exit status %d '
                     '(EX_CONFIG).', exc.format_message(),
                     exception.EX_CONFIG)
        return exception.EX_CONFIG
    except exception.DPMError as exc:
        LOG.error('%s. Agent terminated.', exc.format_message())
        return 1
    LOG.info('DPM agent for CPC %s initialized; running.',
             agent.mgr.cpc.name)
    service.launch(cfg.CONF, agent, restart_method='mutate').wait()
    return 0
