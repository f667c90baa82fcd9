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

"""Server diagnostics through Nova's API (microversion 2.48).

What ``openstack server show --diagnostics`` shows: the figures of the
simulated HMC's metrics, the same numbers the simulated HMC answered, one
Get Metrics request for several servers.
"""

from nova.tests.functional.api import client

from nova_dpm.simulator.cloud import nova_cloud as cloud
from nova_dpm.simulator import metrics as sim_metrics

GET_METRICS = '/api/services/metrics/context/{id}'


class DiagnosticsMixin(object):

    def setUp(self):
        super().setUp()
        # Nova's 2.48 response schema names the in-tree drivers only as
        # 'driver'; nova-dpm leaves it empty (null), which Nova's
        # default response validation ('warn') logs and lets through. The
        # test fixture's 'error' would turn it into a 500.
        self.flags(response_validation='warn', group='api')
        self.admin_api.microversion = '2.48'

    def diagnostics(self, server):
        return self.admin_api.api_get(
            '/servers/%s/diagnostics' % server['id']).body

    def nic_counters(self, server, port_id):
        part = self.hmc.partition_of(server['id'])
        for nic in self.hmc.nics(part['name']):
            if nic['name'] == 'OpenStack_Port_%s' % port_id:
                return self.simulator.metrics_served[
                    (sim_metrics.NIC_GROUP, nic['element-uri'])]
        self.fail('no NIC for port %s' % port_id)

    def test_diagnostics_are_the_hmc_metrics(self):
        servers = []
        for n in range(1, 4):
            ports = self.create_ports()
            servers.append((self.boot(ports=ports, name='dpm-%d' % n,
                                      volume_id=self.new_volume_id(n)),
                            ports))
        self.simulator.reset_counts()
        for server, ports in servers:
            diags = self.diagnostics(server)
            part = self.hmc.partition_of(server['id'])
            usage = self.simulator.metrics_served[
                (sim_metrics.PARTITION_USAGE, part['object-uri'])]
            self.assertEqual('running', diags['state'])
            self.assertEqual(self.FLAVOR_VCPUS, diags['num_cpus'])
            self.assertEqual(
                [usage['processor-usage']] * self.FLAVOR_VCPUS,
                [cpu['utilisation'] for cpu in diags['cpu_details']])
            self.assertEqual(self.FLAVOR_RAM,
                             diags['memory_details']['maximum'])
            self.assertEqual(len(ports), diags['num_nics'])
            for nic, port in zip(diags['nic_details'], ports):
                counters = self.nic_counters(server, port['id'])
                self.assertEqual(port['mac_address'], nic['mac_address'])
                self.assertEqual(counters['bytes-received'],
                                 nic['rx_octets'])
                self.assertEqual(counters['bytes-sent'], nic['tx_octets'])
                self.assertEqual(counters['packets-received'],
                                 nic['rx_packets'])
        # One Get Metrics for the three servers.
        self.assertEqual(1, self.simulator.count('GET', GET_METRICS))

    def test_stopped_server_has_no_diagnostics(self):
        server = self.boot(ports=self.create_ports())
        self.stop(server)
        exc = self.assertRaises(client.OpenStackApiException,
                                self.diagnostics, server)
        self.assertEqual(409, exc.response.status_code)

    def test_hmc_without_metric_groups_is_not_implemented(self):
        server = self.boot(ports=self.create_ports())
        self.simulator.metric_groups_removed.update(sim_metrics.DPM_GROUPS)
        exc = self.assertRaises(client.OpenStackApiException,
                                self.diagnostics, server)
        self.assertEqual(501, exc.response.status_code)


class TestDiagnosticsInProcess(DiagnosticsMixin, cloud.DPMCloudTestCase):

    HMC_TRANSPORT = 'in-process'


class TestDiagnosticsHttps(DiagnosticsMixin, cloud.DPMCloudTestCase):

    HMC_TRANSPORT = 'https'
