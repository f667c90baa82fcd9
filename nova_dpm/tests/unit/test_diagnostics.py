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

"""Server diagnostics from the HMC's metrics, against HMC definitions."""

import fixtures
from nova import exception as nova_exception
from nova.network import model as network_model
from nova import objects

from nova_dpm import diagnostics
from nova_dpm.simulator import metrics as sim_metrics
from nova_dpm.tests.unit import base

load_tests = base.load_tests

CREATE = 'POST /api/services/metrics/context'
GET = 'GET /api/services/metrics/context/{id}'
DELETE = 'DELETE /api/services/metrics/context/{id}'


class DiagnosticsTestCase(base.DriverTestCase):

    fake_clock = True

    def setUp(self):
        super().setUp()
        if self.clock is not None:
            self.useFixture(fixtures.MockPatchObject(
                diagnostics, 'time', self.clock))

    def build_with_ports(self, *ports):
        vifs = network_model.NetworkInfo([
            self.vif(port, 'fa:16:3e:00:00:%02x' % (10 + i),
                     base.VSWITCH_0 if i % 2 == 0 else base.VSWITCH_1)
            for i, port in enumerate(ports)])
        instance, _c = self.build(network_info=vifs)
        instance.info_cache = objects.InstanceInfoCache(
            network_info=vifs, instance_uuid=instance.uuid)
        return instance

    def diags(self, instance):
        return self.driver.get_instance_diagnostics(instance)

    def served(self, group, uri):
        return self.sim.metrics_served[(group, uri)]

    def nic_uri(self, instance, port):
        part = self.faked_partition(instance)
        for nic in part.nics.list():
            if nic.properties['name'] == 'OpenStack_Port_%s' % port:
                return nic.uri
        self.fail('no NIC for port %s' % port)


class FiguresTest(DiagnosticsTestCase):
    """The figures are the HMC's, one Get Metrics for many servers."""

    definitions = base.WITH_Z17

    def test_figures_are_the_metrics_of_the_partition(self):
        first = self.build_with_ports('port-a', 'port-b')
        second = self.build_with_ports('port-c')
        self.sim.reset_counts()
        self.clock.sleep(30)
        seen = []
        for instance, ports in ((first, ('port-a', 'port-b')),
                                (second, ('port-c',))):
            diags = self.diags(instance)
            seen.append(len(self.sim.requests))
            uri = self.faked_partition(instance).uri
            usage = self.served(sim_metrics.PARTITION_USAGE, uri)
            self.assertEqual('running', diags.state)
            self.assertEqual(2, diags.num_cpus)
            self.assertGreater(usage['processor-usage'], 0)
            self.assertEqual([usage['processor-usage']] * 2,
                             [c.utilisation for c in diags.cpu_details])
            self.assertEqual(4096, diags.memory_details.maximum)
            self.assertEqual(len(ports), diags.num_nics)
            for nic, port in zip(diags.nic_details, ports):
                counters = self.served(sim_metrics.NIC_GROUP,
                                       self.nic_uri(instance, port))
                self.assertGreater(counters['bytes-received'], 0)
                self.assertEqual(counters['bytes-received'], nic.rx_octets)
                self.assertEqual(counters['bytes-sent'], nic.tx_octets)
                self.assertEqual(counters['packets-received'],
                                 nic.rx_packets)
                self.assertEqual(counters['packets-sent'], nic.tx_packets)
            self.assertEqual([], diags.disk_details)
        # The first call read the NIC names of both partitions: the
        # second server's diagnostics cost no request.
        self.assertEqual(seen[0], seen[1])
        # The context was made at the first call: one Create Metrics
        # Context and one Get Metrics for both servers.
        self.assertEqual(1, self.sim.count(pattern=CREATE))
        self.assertEqual(1, self.sim.count(pattern=GET))
        body = self.sim.sent(pattern=CREATE)[0][1]
        self.assertEqual(diagnostics.FREQUENCY,
                         body['anticipated-frequency-seconds'])
        self.assertEqual(list(diagnostics.GROUPS), body['metric-groups'])


class RefreshTest(DiagnosticsTestCase):

    def test_no_context_before_the_first_call(self):
        self.build_with_ports('port-a')
        self.assertEqual(0, self.sim.count(pattern=CREATE))
        self.assertEqual([], self.sim.faked.metrics_contexts.list())

    def test_one_request_per_refresh_and_figures_move(self):
        instance = self.build_with_ports('port-a')
        self.clock.sleep(5)
        before = self.diags(instance).nic_details[0].rx_octets
        self.clock.sleep(diagnostics.REFRESH / 2)
        self.assertEqual(before, self.diags(instance).nic_details[0].rx_octets)
        self.assertEqual(1, self.sim.count(pattern=GET))
        self.clock.sleep(diagnostics.REFRESH)
        after = self.diags(instance).nic_details[0].rx_octets
        self.assertEqual(2, self.sim.count(pattern=GET))
        self.assertGreater(after, before)

    def test_stopped_partition_figures_stand_still(self):
        instance = self.build_with_ports('port-a')
        self.clock.sleep(20)
        self.driver.power_off(instance)
        stopped = self.diags(instance)
        self.assertEqual('shutdown', stopped.state)
        self.assertEqual([0, 0], [c.utilisation
                                  for c in stopped.cpu_details])
        self.clock.sleep(3 * diagnostics.REFRESH)
        later = self.diags(instance)
        self.assertEqual(stopped.nic_details[0].rx_octets,
                         later.nic_details[0].rx_octets)
        self.assertEqual(2, self.sim.count(pattern=GET))

    def test_context_made_again_after_hmc_restart(self):
        instance = self.build_with_ports('port-a')
        self.diags(instance)
        self.sim.restart()
        self.clock.sleep(diagnostics.REFRESH)
        self.assertIsNotNone(self.diags(instance).nic_details[0].rx_octets)
        self.assertEqual(2, self.sim.count(pattern=CREATE))
        self.assertIn('no longer has metrics context', self.logger.output)

    def test_cleanup_host_deletes_the_context(self):
        instance = self.build_with_ports('port-a')
        self.diags(instance)
        self.driver.cleanup_host(base.HOST)
        self.assertEqual(1, self.sim.count(pattern=DELETE))
        self.assertEqual([], self.sim.faked.metrics_contexts.list())

    def test_cleanup_host_without_context_sends_nothing(self):
        self.driver.cleanup_host(base.HOST)
        self.assertEqual(0, self.sim.count(pattern=DELETE))


class NotAvailableTest(DiagnosticsTestCase):

    def test_partition_gone_from_the_hmc(self):
        instance = self.build_with_ports('port-a')
        part = self.faked_partition(instance)
        part.properties['status'] = 'stopped'
        self.faked_cpc.partitions.remove(part.oid)
        self.assertRaises(nova_exception.InstanceNotFound,
                          self.diags, instance)

    def test_instance_without_partition(self):
        self.assertRaises(nova_exception.InstanceNotFound,
                          self.diags, self.instance())
        self.assertEqual(0, self.sim.count(pattern=CREATE))

    def test_hmc_without_the_metric_groups(self):
        instance = self.build_with_ports('port-a')
        self.sim.metric_groups_removed.update(sim_metrics.DPM_GROUPS)
        exc = self.assertRaises(NotImplementedError, self.diags, instance)
        self.assertIn('partition-usage', str(exc))
        # Said once; asked again only after a while.
        self.assertRaises(NotImplementedError, self.diags, instance)
        self.assertEqual(1, self.sim.count(pattern=CREATE))
        self.assertEqual(1, self.logger.output.count(
            'Server diagnostics are not available'))
        self.sim.metric_groups_removed.clear()
        self.clock.sleep(diagnostics.UNSUPPORTED_RETRY)
        self.assertEqual(1, self.diags(instance).num_nics)


class HttpsTest(DiagnosticsTestCase):
    """The production path: Get Metrics over HTTPS (its own content)."""

    fake_clock = False
    transport = 'https'

    def test_figures_over_https(self):
        instance = self.build_with_ports('port-a')
        diags = self.diags(instance)
        uri = self.faked_partition(instance).uri
        usage = self.served(sim_metrics.PARTITION_USAGE, uri)
        self.assertEqual(usage['processor-usage'],
                         diags.cpu_details[0].utilisation)
        counters = self.served(sim_metrics.NIC_GROUP,
                               self.nic_uri(instance, 'port-a'))
        self.assertEqual(counters['bytes-sent'],
                         diags.nic_details[0].tx_octets)
