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

``nova-dpm-cloud up --dir DIR --subsets 2`` runs once for the class (real
RabbitMQ, MariaDB, Keystone, Placement, Nova and Neutron processes on the
HTTPS simulated HMC); every check is an ``openstack`` command in a
subprocess with DIR/clouds.yaml, as a user types it, and what Nova and
Neutron report is compared with what the simulated HMC and the cloud's
configuration hold. ``nova-dpm-cloud down`` runs at the end, also after a
failure. Run with ``tox -e cloud-test``; not part of the unit suite.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from nova_dpm.simulator import catalog
from nova_dpm.simulator.realcloud import packages

SUBSETS = ('cpc1-subset-a', 'cpc1-subset-b')


def _skip_reason():
    """Why this machine cannot run the cloud, or None."""
    bindir = os.path.dirname(sys.executable)
    for script in ('openstack', 'keystone-manage', 'uwsgi'):
        if not os.path.exists(os.path.join(bindir, script)):
            return ('%s is not installed in this environment: run the '
                    'cloud test with tox -e cloud-test' % script)
    missing = [p for p in packages.PACKAGES
               if p not in packages.locate(tempfile.gettempdir())]
    if not missing:
        return None
    if os.geteuid() == 0:
        return ('the distribution packages %s are not installed: install '
                'them with tools/install-cloud-packages.sh'
                % ' '.join(missing))
    if shutil.which('apt-get') is None:
        return ('the distribution packages %s are not installed, and '
                'without root and apt-get nova-dpm-cloud cannot fetch them'
                % ' '.join(missing))
    return None


class CloudTest(unittest.TestCase):
    """One cloud with two CPC subsets for all tests of the class."""

    @classmethod
    def setUpClass(cls):
        reason = _skip_reason()
        if reason:
            raise unittest.SkipTest('cloud test skipped: %s' % reason)
        cls.dir = tempfile.mkdtemp(prefix='nova-dpm-cloud-')
        cls.cloud(['up', '--dir', cls.dir, '--subsets', str(len(SUBSETS))])
        env = dict(os.environ)
        env.update(OS_CLIENT_CONFIG_FILE=os.path.join(cls.dir, 'clouds.yaml'),
                   OS_CLOUD='nova-dpm')
        cls.env = env

    @classmethod
    def tearDownClass(cls):
        cls.cloud(['down', '--dir', cls.dir])
        shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def cloud(cls, argv):
        proc = subprocess.run(
            [sys.executable, '-m', 'nova_dpm.cmd.cloud'] + argv,
            capture_output=True, text=True)
        if proc.returncode:
            if argv[0] == 'up':
                # Nothing is left running: up stops what it started.
                cls.cloud(['down', '--dir', cls.dir])
            raise AssertionError('nova-dpm-cloud %s failed:\n%s%s'
                                 % (argv[0], proc.stdout, proc.stderr))
        return proc.stdout

    def openstack(self, *argv, parse=True):
        cmd = [os.path.join(os.path.dirname(sys.executable), 'openstack')]
        cmd += list(argv) + (['-f', 'json'] if parse else [])
        proc = subprocess.run(cmd, capture_output=True, text=True,
                              env=self.env)
        self.assertEqual(0, proc.returncode, 'openstack %s:\n%s'
                         % (' '.join(argv), proc.stderr))
        return json.loads(proc.stdout) if parse else proc.stdout

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
        nets = []
        for name, kind, physnet, segment in (
                ('flat-osa1', 'flat', 'osa1', None),
                ('vlan-osa2', 'vlan', 'osa2', '101')):
            argv = ['network', 'create', name, '--provider-network-type',
                    kind, '--provider-physical-network', physnet]
            if segment:
                argv += ['--provider-segment', segment]
            net = self.openstack(*argv)
            self.addCleanup(self.openstack, 'network', 'delete', net['id'],
                            parse=False)
            self.assertEqual((kind, physnet),
                             (net['provider:network_type'],
                              net['provider:physical_network']))
            self.openstack('subnet', 'create', name, '--network', net['id'],
                           '--subnet-range', '192.0.2.0/24', '--no-dhcp')
            nets.append(net)
        for net in nets:
            port = self.openstack('port', 'create', '--network', net['id'],
                                  'port-' + net['name'])
            self.addCleanup(self.openstack, 'port', 'delete', port['id'],
                            parse=False)
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
