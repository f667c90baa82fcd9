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

"""The cloud of nova-dpm-cloud, driven by the openstack CLI.

Services, agents, networks and ports, and the life of servers on two CPC
subsets, on the cloud of nova_dpm.tests.cloud.base (one for the test run).
What Nova and Neutron report is compared with what the simulated HMC and
the cloud's configuration hold. Run with ``tox -e cloud-test``; not part
of the unit suite. With NOVA_DPM_CLOUD_DIR set, the tests use the cloud
already running in that directory (the flavors and the volumes they make
are left or deleted as the tests go) and leave it running.
"""

import os

from nova_dpm.simulator import catalog
from nova_dpm.tests.cloud import base

SUBSETS = base.SUBSETS


class CloudTest(base.CloudTestCase):
    """Services, networks and the life of servers on two CPC subsets."""

    def test_compute_services_up(self):
        services = self.openstack('compute', 'service', 'list')
        found = sorted((s['Binary'], s['Host'], s['State'])
                       for s in services)
        self.assertEqual(
            [('nova-compute', subset, 'up') for subset in SUBSETS],
            [s for s in found if s[0] == 'nova-compute'])
        for binary in ('nova-conductor', 'nova-scheduler'):
            self.assertIn(binary, [s[0] for s in found if s[2] == 'up'])

    def test_one_dpm_hypervisor_per_subset(self):
        hypervisors = self.openstack('hypervisor', 'list', '--long')
        self.assertEqual(
            [(subset, 'prsm', 'up') for subset in SUBSETS],
            sorted((h['Hypervisor Hostname'], h['Hypervisor Type'],
                    h['State']) for h in hypervisors))

    def test_dpm_agent_per_subset(self):
        agents = self.openstack('network', 'agent', 'list')
        self.assertEqual(
            [('DPM agent', subset, True) for subset in SUBSETS],
            sorted((a['Agent Type'], a['Host'], a['Alive'])
                   for a in agents))

    def test_flat_and_vlan_networks_and_ports(self):
        nets = [self.network('flat-osa1', 'flat', 'osa1'),
                self.network('vlan-osa2', 'vlan', 'osa2', '101')]
        self.assertEqual(
            [('flat', 'osa1'), ('vlan', 'osa2')],
            [(n['provider:network_type'], n['provider:physical_network'])
             for n in nets])
        for net in nets:
            port = self.port(net, 'port-' + net['name'])
            self.assertEqual('DOWN', port['status'])
            self.assertEqual(1, len(port['fixed_ips']))

    def test_each_hypervisor_is_its_subsets_service(self):
        for subset in SUBSETS:
            hyp = self.openstack('hypervisor', 'show', subset)
            self.assertEqual((subset, 'enabled'),
                             (hyp['service_host'], hyp['status']))
        with open(os.path.join(self.dir, 'etc', 'nova', 'dpm', SUBSETS[0],
                               'nova-compute.conf')) as conf:
            self.assertIn('cpc_object_id = %s' % catalog.CPC_ID, conf.read())

    def test_server_life_cycle_on_two_subsets(self):
        nets = [self.network('flat-osa1', 'flat', 'osa1'),
                self.network('vlan-osa2', 'vlan', 'osa2', '102')]
        first, boot_a, ports_a = self.boot('server-a', SUBSETS[0], nets)
        second, boot_b, ports_b = self.boot('server-b', SUBSETS[1], nets)
        self.assertActiveOn(first, SUBSETS[0], ports_a)
        self.assertActiveOn(second, SUBSETS[1], ports_b)
        self.assertEqual('in-use', self.openstack(
            'volume', 'show', boot_a['id'])['status'])

        log = self.openstack('console', 'log', 'show', first['id'],
                             parse=False)
        self.assertTrue(log.strip(), 'the console log is empty')
        self.power_actions(first['id'])
        self.attach_and_detach(first['id'])

        for server in (first, second):
            self.delete_server(server['id'])
        for volume in (boot_a, boot_b):
            self.volume_status(volume['id'], 'available')
        self.assertEqual({boot_a['id']: [], boot_b['id']: []},
                         {v: self.san_volumes()[v]['hosts']
                          for v in (boot_a['id'], boot_b['id'])})
        self.assertHmcHoldsNothingOfOpenStack()

    # -- recovery ------------------------------------------------------------

    def test_survives_compute_kill_and_rabbitmq_restart(self):
        nets = [self.network('flat-osa1', 'flat', 'osa1')]
        server, _vol, ports = self.boot('server-kill', SUBSETS[0], nets)
        # Kill nova-compute while it builds the server, start it again.
        self.wait_for('server %s building on the compute' % server['id'],
                      lambda: self.openstack('server', 'show', server['id']),
                      lambda s: s['status'] != 'BUILD' or s.get(
                          'OS-EXT-STS:task_state') in (
                          'block_device_mapping', 'spawning'))
        self.cloud(['restart', '--dir', self.dir, '--kill',
                    'nova-compute-%s' % SUBSETS[0]])
        self.wait_for('server %s out of BUILD' % server['id'],
                      lambda: self.openstack('server', 'show', server['id']),
                      lambda s: s['status'] in ('ACTIVE', 'ERROR'))
        self.delete_server(server['id'])
        self.assertHmcHoldsNothingOfOpenStack()

        again, _vol, ports = self.boot('server-again', SUBSETS[0], nets)
        self.assertActiveOn(again, SUBSETS[0], ports)
        # RabbitMQ restarted between two operations.
        self.cloud(['restart', '--dir', self.dir, 'rabbitmq'])
        self.openstack('server', 'stop', again['id'], parse=False)
        self.server_status(again['id'], 'SHUTOFF')
        self.delete_server(again['id'])
        self.assertHmcHoldsNothingOfOpenStack()
        self.test_compute_services_up()
