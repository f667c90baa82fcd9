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

"""network-vif-plugged at spawn, with nova's real VirtAPI.

nova's Neutron fixture reports its ports ACTIVE, never sends
network-vif-plugged and sets [DEFAULT] vif_plugging_timeout to 0, so nova
waits for nothing. Here the timeout is set again, the ports are DOWN,
and :class:`PortAgent` plays the Neutron DPM agent: it watches the HMC for
the NIC of each DOWN port and, once the NIC exists, reports the port up
(ACTIVE, and the network-vif-plugged event through the Nova API, as
Neutron's notifier does).
"""

import threading
import time

from nova_dpm.simulator.cloud import nova_cloud as cloud


class PortAgent(object):
    """Reports a DOWN port up once its NIC is on the HMC."""

    def __init__(self, test):
        self.test = test
        self.seen = []        # (port id, partition status at that time)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()
        self.test.addCleanup(self.stop)
        return self

    def stop(self):
        self._stop.set()
        self._thread.join(10)

    def _down_ports(self):
        return {p['id']: p for p in self.test.neutron._ports.values()
                if p['status'] == 'DOWN' and p.get('device_id')}

    def _run(self):
        while not self._stop.wait(0.05):
            for port_id, port in self._down_ports().items():
                part = self.test.hmc.partition_of(port['device_id'])
                if part is None:
                    continue
                names = [n['name'] for n in self.test.hmc.nics(part['name'])]
                if 'OpenStack_Port_%s' % port_id not in names:
                    continue
                self.seen.append((port_id, part['status']))
                port['status'] = 'ACTIVE'
                self.test.admin_api.create_server_external_events([{
                    'name': 'network-vif-plugged',
                    'server_uuid': port['device_id'],
                    'tag': port_id, 'status': 'completed'}])


class VifPluggedTests(object):

    HMC_TRANSPORT = cloud.IN_PROCESS
    HMC_DEFINITION = 'z16'

    def down_ports(self):
        ports = self.create_ports()
        for port in ports:
            self.neutron._ports[port['id']]['status'] = 'DOWN'
        return ports

    def test_partition_starts_after_the_agent_reports_the_ports(self):
        self.flags(vif_plugging_timeout=30)
        agent = PortAgent(self).start()
        ports = self.down_ports()
        server = self.boot(ports=ports)
        part = self.hmc.partition_of(server['id'])
        self.assertEqual('active', part['status'])
        # Each port was reported once its NIC existed, before the start.
        self.assertEqual(sorted((p['id'], 'stopped') for p in ports),
                         sorted(agent.seen))

    def test_no_report_fails_the_build_and_leaves_nothing(self):
        self.flags(vif_plugging_timeout=1)
        started = time.monotonic()
        server = self.boot(expected_status='ERROR', ports=self.down_ports())
        self.assertGreaterEqual(time.monotonic() - started, 1)
        self.assertIn('network', server['fault']['message'])
        self.assertNothingOnHmc(server['id'])

    def test_no_report_but_not_fatal_starts_anyway(self):
        self.flags(vif_plugging_timeout=1, vif_plugging_is_fatal=False)
        server = self.boot(ports=self.down_ports())
        self.assertEqual('active',
                         self.hmc.partition_of(server['id'])['status'])


class TestVifPluggedZ16(VifPluggedTests, cloud.DPMCloudTestCase):
    pass
