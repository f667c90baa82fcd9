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

"""The DPM agent beside the in-process cloud's nova-compute.

:class:`DPMAgentFixture`, for the in-process cloud's test case
(:mod:`.nova_cloud`; tests and the demo; it needs the neutron extra
too): it runs the DPM agent (nova_dpm.neutron.agent on Neutron's common
agent loop) in a thread against the cloud's simulated HMC, with its own
HMC session, and an in-process stand-in for neutron-server's agent RPC
(:mod:`.neutron_server`). When the agent reports a port up or down, the
stand-in does what ML2 does: it sets the port's status in the cloud's
Neutron fixture and, for up, sends Nova ``network-vif-plugged`` through
Nova's API. :meth:`bound_port` makes a
port bound as the ``dpm`` mechanism driver binds it from the agent's
reported state.
"""

import contextlib
import sys
import warnings

import fixtures


@contextlib.contextmanager
def eventlet_importable():
    """Let Neutron's modules import eventlet in nova's threading mode.

    nova forbids importing eventlet when it runs on native threads; Neutron
    imports it (without monkey patching) in modules the agent needs. In
    production the agent is a process of its own; here it shares the test
    process, and nothing is patched.
    """
    poison = [f for f in sys.meta_path
              if type(f).__name__ == 'PoisonEventletImport']
    for finder in poison:
        sys.meta_path.remove(finder)
    try:
        # Importing eventlet (and oslo.service's eventlet modules) warns
        # that they are deprecated (EventletDeprecationWarning is a plain
        # Warning); nothing here runs on eventlet.
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            yield
    finally:
        sys.meta_path[0:0] = poison


class DPMAgentFixture(fixtures.Fixture):
    """The DPM agent and neutron-server's agent RPC, in this process.

    :param test: the DPMCloudTestCase (its flags, Neutron fixture, admin
        API and host).
    :param mappings: [dpm] physical_network_adapter_mappings of the agent.
    """

    def __init__(self, test, mappings, polling_interval=1):
        super().__init__()
        self.test = test
        self.mappings = mappings
        self.polling_interval = polling_interval
        self.events = []     # Nova's answers to network-vif-plugged

    def _setUp(self):
        with eventlet_importable():
            from nova_dpm.neutron import config
            from nova_dpm.neutron import mech_driver
            from nova_dpm.simulator.cloud import neutron_server
        from nova_dpm.simulator.cloud import nova_cloud as cloud
        from oslo_config import cfg
        self.host = cloud.HOST
        config.register_opts(cfg.CONF)
        self.test.flags(group='dpm',
                        physical_network_adapter_mappings=self.mappings)
        self.server_side = neutron_server.InProcessNeutron(self.host)
        self.server_side.on_change.append(self._port_status_changed)
        self.runner = neutron_server.AgentRunner(
            self.server_side, polling_interval=self.polling_interval)
        self.runner.start()
        self.addCleanup(self.runner.stop)
        self.mech_driver = mech_driver.DPMMechanismDriver()

    def _port_status_changed(self, port_id, status):
        port = self.test.neutron._ports.get(port_id)
        if port is None:
            return
        port['status'] = status
        if status == 'ACTIVE' and port.get('device_id'):
            result = self.test.admin_api.api_post(
                '/os-server-external-events',
                {'events': [{'name': 'network-vif-plugged',
                             'server_uuid': port['device_id'],
                             'tag': port_id, 'status': 'completed'}]})
            self.events.extend(result.body['events'])

    def agent(self):
        """The agent as neutron-server's agents table shows it."""
        state = self.server_side.last_agent_state()
        return {'agent_type': state['agent_type'], 'host': state['host'],
                'alive': True, 'configurations': state['configurations']}

    def bound_port(self, network=None, segmentation_id=None):
        """A DOWN port bound as the ``dpm`` mechanism driver binds it.

        On ``network`` (default: the Neutron fixture's flat network), for
        this agent.
        """
        network = network or self.test.neutron.dpm_network
        segment = {'id': 'segment-%s' % network['id'],
                   'network_id': network['id'],
                   'network_type': network['provider:network_type'],
                   'physical_network': network['provider:physical_network'],
                   'segmentation_id': segmentation_id}
        agent = self.agent()
        if not self.mech_driver.check_segment_for_agent(segment, agent):
            raise ValueError('The DPM agent of %s does not serve %s' %
                             (self.host, segment))
        vif_type = self.mech_driver.get_vif_type(None, agent, segment)
        details = self.mech_driver.get_vif_details(None, agent, segment)
        port = self.test.neutron.create_dpm_port(details['object_id'],
                                                 vif_type=vif_type)
        stored = self.test.neutron._ports[port['id']]
        stored['binding:vif_details'] = dict(details)
        stored['binding:host_id'] = self.host
        stored['status'] = 'DOWN'
        self.server_side.add_port(
            port['id'], segment['physical_network'],
            network_type=segment['network_type'],
            segmentation_id=segmentation_id, mac=port['mac_address'],
            network_id=network['id'])
        return stored

    def wait_for_status(self, port_id, status, timeout=30.0):
        return self.server_side.wait_for_status(port_id, status, timeout)
