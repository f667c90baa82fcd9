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

"""The DPM agent in a thread, and neutron-server's side of its RPC.

For the demo and the tests: :class:`InProcessNeutron` answers what the
agent asks neutron-server over RPC (port details, port up and down, state
reports) from a table of ports, on oslo.messaging's in-process ``fake``
transport; :class:`AgentRunner` runs the real agent
(:mod:`nova_dpm.neutron.agent`, its HMC connection and Neutron's common
agent loop) in a thread against it.
Neutron's ML2 plugin does on ``update_device_up`` what
:meth:`InProcessNeutron.update_device_up` does here: the port becomes
ACTIVE, and Nova is told ``network-vif-plugged`` (``on_change``).

Usage::

    neutron = InProcessNeutron(host)
    neutron.add_port(port_id, physical_network='physnet1')
    runner = AgentRunner(neutron, polling_interval=0.2).start()
    ...   # nova-dpm creates the NIC of port_id
    neutron.wait_for_status(port_id, 'ACTIVE')
    runner.stop()
"""

import copy
import threading
import time

from neutron_lib.agent import constants as agent_consts
from neutron_lib.agent import topics
from neutron_lib import constants as n_const
from neutron_lib import rpc as n_rpc
from oslo_config import cfg
from oslo_log import log as logging
import oslo_messaging
import oslo_messaging.opts

from nova_dpm.neutron import agent as agent_module
from nova_dpm.neutron import config

LOG = logging.getLogger(__name__)

FAKE_TRANSPORT = 'fake:/'
# Seconds the one state report of an AgentRunner waits for its answer.
REPORT_TIMEOUT = 30


def init_fake_transport(conf=None):
    """Neutron's RPC on oslo.messaging's in-process transport (once).

    oslo.messaging reads some options from the global configuration, so
    the transport is made from it (``transport_url`` set to ``fake:/``).
    """
    if n_rpc.TRANSPORT is None:
        conf = conf if conf is not None else cfg.CONF
        for group, opts in oslo_messaging.opts.list_opts():
            if group is None:
                conf.register_opts(opts)
        conf.set_override('transport_url', FAKE_TRANSPORT)
        n_rpc.init(conf)
    return n_rpc.TRANSPORT


class InProcessNeutron(object):
    """neutron-server's RPC endpoints for L2 agents, from a port table."""

    target = oslo_messaging.Target(version='1.9')

    def __init__(self, host):
        self.host = host
        self.ports = {}            # port id -> port dict
        self.agent_states = []     # every state report, oldest first
        self.calls = []            # (method, device) of device RPCs
        self.on_change = []        # callables (port id, 'ACTIVE'/'DOWN')
        self._lock = threading.Condition()
        self._servers = []

    # -- the port table ----------------------------------------------------

    def add_port(self, port_id, physical_network, network_type='flat',
                 segmentation_id=None, mac='fa:16:3e:00:00:01',
                 network_id='net-1', admin_state_up=True):
        with self._lock:
            self.ports[port_id] = {
                'id': port_id, 'network_id': network_id,
                'network_type': network_type,
                'physical_network': physical_network,
                'segmentation_id': segmentation_id,
                'mac_address': mac, 'admin_state_up': admin_state_up,
                'device_owner': 'compute:nova', 'status': 'DOWN',
                'mtu': 1500}

    def status(self, port_id):
        with self._lock:
            return self.ports[port_id]['status']

    def wait_for_status(self, port_id, status, timeout=30.0):
        """Wait until the port has ``status``; return whether it has."""
        end = time.monotonic() + timeout
        with self._lock:
            while self.ports[port_id]['status'] != status:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
            return True

    def _set_status(self, port_id, status):
        with self._lock:
            port = self.ports.get(port_id)
            if port is None or port['status'] == status:
                return port is not None
        # The callbacks (Nova's notification) before the waiters wake up.
        for callback in list(self.on_change):
            callback(port_id, status)
        with self._lock:
            port['status'] = status
            self._lock.notify_all()
        return True

    # -- RPC endpoints (what the ML2 plugin answers) -----------------------

    def get_devices_details_list(self, context, devices, agent_id,
                                 host=None):
        return [self.get_device_details(context, device, agent_id, host)
                for device in devices]

    def get_device_details(self, context, device, agent_id, host=None):
        with self._lock:
            self.calls.append(('get_device_details', device))
            port = copy.deepcopy(self.ports.get(device))
        if port is None:
            return {'device': device}
        return {'device': device, 'port_id': device,
                'network_id': port['network_id'],
                'network_type': port['network_type'],
                'physical_network': port['physical_network'],
                'segmentation_id': port['segmentation_id'],
                'mtu': port['mtu'], 'mac_address': port['mac_address'],
                'admin_state_up': port['admin_state_up'],
                'device_owner': port['device_owner'],
                'fixed_ips': [], 'port_security_enabled': False,
                'security_groups': [], 'qos_policy_id': None,
                'network_qos_policy_id': None, 'profile': {}}

    def update_device_up(self, context, device, agent_id, host=None):
        with self._lock:
            self.calls.append(('update_device_up', device))
        self._set_status(device, n_const.PORT_STATUS_ACTIVE)

    def update_device_down(self, context, device, agent_id, host=None):
        with self._lock:
            self.calls.append(('update_device_down', device))
        exists = self._set_status(device, n_const.PORT_STATUS_DOWN)
        return {'device': device, 'exists': exists}

    def report_state(self, context, agent_state, time=None):
        with self._lock:
            self.agent_states.append(copy.deepcopy(
                agent_state.get('agent_state', agent_state)))
            self._lock.notify_all()
        return agent_consts.AGENT_ALIVE

    def security_group_info_for_devices(self, context, devices=None,
                                        **kwargs):
        return {'devices': {}, 'security_groups': {}, 'sg_member_ips': {}}

    def security_group_rules_for_devices(self, context, devices=None,
                                         **kwargs):
        return {}

    # -- life cycle --------------------------------------------------------

    def start(self):
        init_fake_transport()
        for topic in (topics.PLUGIN, topics.REPORTS):
            server = n_rpc.get_server(
                oslo_messaging.Target(topic=topic, server=self.host),
                [self])
            server.start()
            self._servers.append(server)
        return self

    def stop(self):
        for server in self._servers:
            server.stop()
        for server in self._servers:
            server.wait()
        self._servers = []

    def last_agent_state(self, timeout=30.0):
        end = time.monotonic() + timeout
        with self._lock:
            while not self.agent_states and time.monotonic() < end:
                self._lock.wait(end - time.monotonic())
            return self.agent_states[-1] if self.agent_states else None


class AgentRunner(object):
    """The DPM agent of ``conf`` in a thread, talking to ``neutron``.

    ``conf`` (default: the global configuration, which Neutron's agent
    loop reads too) must hold [DEFAULT] host and [dpm] as for the agent;
    [dpm] is registered here if needed. ``hmc``: an HMC object to share
    (nova_dpm.hmc.HMC), else the agent logs on with [dpm].
    """

    def __init__(self, neutron, conf=None, polling_interval=1,
                 report_interval=0, hmc=None):
        self.neutron = neutron
        self.conf = conf if conf is not None else cfg.CONF
        self.polling_interval = polling_interval
        self.report_interval = report_interval
        self.hmc = hmc
        self.agent = None
        self._thread = None

    def start(self):
        config.register_opts(self.conf)
        self.conf.set_override('polling_interval', self.polling_interval,
                               group='AGENT')
        self.conf.set_override('report_interval', self.report_interval,
                               group='AGENT')
        self.neutron.start()
        self.agent = agent_module.build_agent(self.conf, connection=self.hmc)
        self._thread = threading.Thread(target=self.agent.start,
                                        name='neutron-dpm-agent',
                                        daemon=True)
        self._thread.start()
        if not self.report_interval:
            # No heartbeat thread (it would outlive the agent in this
            # process): report the state once, as the heartbeat's first
            # beat does, when the loop has set it up.
            deadline = time.monotonic() + 30
            while not hasattr(self.agent, 'agent_state') and \
                    time.monotonic() < deadline:
                time.sleep(0.05)
            # Neutron's report RPC waits report_interval seconds for its
            # answer: 0 here, so give this one call a real time limit.
            self.agent.state_rpc.timeout = REPORT_TIMEOUT
            self.agent._report_state()
        return self

    def stop(self, timeout=30.0):
        if self.agent is not None:
            self.agent.stop()
            self._thread.join(timeout)
        self.neutron.stop()
        for name in ('polling_interval', 'report_interval'):
            self.conf.clear_override(name, group='AGENT')
