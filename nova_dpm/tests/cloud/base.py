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

"""The cloud of nova-dpm-cloud for tests that drive it with the openstack CLI.

``nova-dpm-cloud up --dir DIR --subsets 2`` runs once for all test classes
of the run (real RabbitMQ, MariaDB, Keystone, Placement, Nova, Neutron and
Cinder processes on the HTTPS simulated HMC), and ``nova-dpm-cloud down``
when the test process ends, also after a failure. Every check is an
``openstack`` command in a subprocess with DIR/clouds.yaml, as a user types
it, compared with what the simulated HMC, its SAN and the cloud's
configuration hold. With NOVA_DPM_CLOUD_DIR set, the tests use the cloud
already running in that directory and leave it running.
"""

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

import requests
import zhmcclient

from nova_dpm.simulator.realcloud import packages

SUBSETS = ('cpc1-subset-a', 'cpc1-subset-b')
# How long a state change of a server or volume may take on a loaded
# machine (a bound for polling, not a measurement).
WAIT = 600
FLAVOR = 'dpm.small'


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


# The flavors known to exist in the cloud (none is deleted).
_FLAVORS = set()
# The directory of the cloud this test process brought up (one for all
# test classes), stopped and removed when the process ends.
_OWN = []


def _own_cloud(test_class):
    """Bring the cloud up on first use; its directory."""
    if not _OWN:
        directory = tempfile.mkdtemp(prefix='nova-dpm-cloud-')
        test_class.dir = directory
        test_class.cloud(['up', '--dir', directory, '--subsets',
                          str(len(SUBSETS))])
        _OWN.append(directory)
        atexit.register(_down, test_class, directory)
    return _OWN[0]


def _down(test_class, directory):
    test_class.cloud(['down', '--dir', directory])
    shutil.rmtree(directory, ignore_errors=True)


class CloudTestCase(unittest.TestCase):
    """The one cloud with two CPC subsets of the test run."""

    @classmethod
    def setUpClass(cls):
        reason = _skip_reason()
        if reason:
            raise unittest.SkipTest('cloud test skipped: %s' % reason)
        if os.environ.get('NOVA_DPM_CLOUD_DIR'):
            cls.dir = os.path.abspath(os.environ['NOVA_DPM_CLOUD_DIR'])
        else:
            cls.dir = _own_cloud(cls)
        env = dict(os.environ)
        env.update(OS_CLIENT_CONFIG_FILE=os.path.join(cls.dir, 'clouds.yaml'),
                   OS_CLOUD='nova-dpm')
        cls.env = env
        with open(os.path.join(cls.dir, 'state.json')) as state:
            cls.settings = json.load(state)['settings']
        cls.hmc_before = cls.hmc_names()

    @classmethod
    def cloud(cls, argv):
        proc = subprocess.run(
            [sys.executable, '-m', 'nova_dpm.cmd.cloud'] + argv,
            capture_output=True, text=True)
        if proc.returncode:
            if argv[0] == 'up':
                # Nothing is left running: up stops what it started.
                cls.cloud(['down', '--dir', cls.dir])
                if '\npackages did not start' in proc.stderr:
                    # Not root, and apt-get download could not fetch them.
                    raise unittest.SkipTest(
                        'cloud test skipped: the distribution packages %s '
                        'are missing and could not be fetched:\n%s'
                        % (' '.join(packages.PACKAGES), proc.stderr))
            raise AssertionError('nova-dpm-cloud %s failed:\n%s%s'
                                 % (argv[0], proc.stdout, proc.stderr))
        return proc.stdout

    def openstack(self, *argv, parse=True, fails=False):
        """An openstack command's output (parsed: its JSON).

        fails: the command must fail; its error output is returned.
        """
        cmd = [os.path.join(os.path.dirname(sys.executable), 'openstack')]
        cmd += list(argv) + (['-f', 'json'] if parse and not fails else [])
        proc = subprocess.run(cmd, capture_output=True, text=True,
                              env=self.env)
        if fails:
            self.assertNotEqual(0, proc.returncode, 'openstack %s did not '
                                'fail:\n%s' % (' '.join(argv), proc.stdout))
            return proc.stderr
        self.assertEqual(0, proc.returncode, 'openstack %s:\n%s'
                         % (' '.join(argv), proc.stderr))
        return json.loads(proc.stdout) if parse else proc.stdout

    # -- what the simulated HMC and its SAN hold ------------------------------

    @classmethod
    def hmc_session(cls):
        return zhmcclient.Session(
            '127.0.0.1', cls.settings['hmc_userid'],
            cls.settings['hmc_password'], port=cls.settings['ports']['hmc'],
            verify_cert=os.path.join(cls.dir, 'hmc', 'ca.pem'))

    @classmethod
    def hmc_names(cls):
        """{'partitions': [...], 'storage-groups': [...]} on the HMC."""
        session = cls.hmc_session()
        try:
            client = zhmcclient.Client(session)
            cpc = client.cpcs.list()[0]
            return {
                'partitions': sorted(p.name for p in cpc.partitions.list()),
                'storage-groups': sorted(
                    g.name for g in client.consoles.console
                    .storage_groups.list()),
            }
        finally:
            session.logoff()

    def simulator_call(self, method, path, body=None):
        """A request to the simulated HMC's process outside the HMC API.

        Its SAN (/simulated-san/) or fault injection (/simulated-hmc/),
        with the simulator's credentials; the JSON answer or None.
        """
        response = requests.request(
            method, 'https://127.0.0.1:%d%s' % (self.settings['ports']['hmc'],
                                                path),
            json=body, auth=(self.settings['hmc_userid'],
                             self.settings['hmc_password']),
            verify=os.path.join(self.dir, 'hmc', 'ca.pem'), timeout=30)
        self.assertLess(response.status_code, 300, response.text)
        return response.json() if response.content else None

    def san_volumes(self):
        """The volumes of the simulated SAN's storage system."""
        volumes = self.simulator_call('GET', '/simulated-san/volumes')
        return {v['name']: v for v in volumes['volumes']}

    def assertHmcHoldsNothingOfOpenStack(self):
        now = self.hmc_names()
        self.assertEqual(self.hmc_before, now)
        self.assertEqual([], [n for names in now.values() for n in names
                              if n.startswith('OpenStack')])

    # -- polling -------------------------------------------------------------

    def wait_for(self, what, get, ready, failed=()):
        """Poll get() until ready(value); fail on a status in failed."""
        deadline = time.monotonic() + WAIT
        while True:
            value = get()
            if ready(value):
                return value
            status = value.get('status') if isinstance(value, dict) else None
            self.assertNotIn(status, failed, '%s: %s' % (what, value))
            self.assertLess(time.monotonic(), deadline,
                            '%s: not reached within %ds: %s'
                            % (what, WAIT, value))
            time.sleep(2)

    def server_status(self, server_id, status):
        return self.wait_for(
            'server %s %s' % (server_id, status),
            lambda: self.openstack('server', 'show', server_id),
            lambda s: s['status'] == status and not s.get(
                'OS-EXT-STS:task_state'), failed=('ERROR',))

    def volume_status(self, volume_id, status):
        return self.wait_for(
            'volume %s %s' % (volume_id, status),
            lambda: self.openstack('volume', 'show', volume_id),
            lambda v: v['status'] == status,
            failed=('error', 'error_deleting', 'error_detaching'))

    def server_gone(self, server_id):
        def get():
            found = self.openstack('server', 'list', '--all-projects')
            return [s for s in found if s['ID'] == server_id]
        self.wait_for('server %s deleted' % server_id, get,
                      lambda found: not found)

    # -- what a server needs -------------------------------------------------

    def flavor(self, name=FLAVOR, vcpus=1, ram=1024, properties=()):
        """The flavor of that name, made as given if it does not exist."""
        if name in _FLAVORS:
            return name
        found = self.openstack('flavor', 'list', '--all')
        if name not in [f['Name'] for f in found]:
            argv = ['flavor', 'create', '--vcpus', str(vcpus), '--ram',
                    str(ram), '--disk', '0']
            for prop in properties:
                argv += ['--property', prop]
            self.openstack(*(argv + [name]))
        _FLAVORS.add(name)
        return name

    def network(self, name, kind, physnet, segment=None):
        argv = ['network', 'create', name, '--provider-network-type', kind,
                '--provider-physical-network', physnet]
        if segment:
            argv += ['--provider-segment', segment]
        net = self.openstack(*argv)
        self.addCleanup(self.openstack, 'network', 'delete', net['id'],
                        parse=False)
        self.openstack('subnet', 'create', name, '--network', net['id'],
                       '--subnet-range', '192.0.2.0/24', '--no-dhcp')
        return net

    def port(self, network, name):
        port = self.openstack('port', 'create', '--network', network['id'],
                              name)
        self.addCleanup(self.openstack, 'port', 'delete', port['id'],
                        parse=False)
        return port

    def volume(self, name, bootable=False):
        """A 1 GiB volume on the simulated SAN (bootable: a boot disk)."""
        argv = ['volume', 'create', '--size', '1', name]
        volume = self.openstack(*(argv + (['--bootable'] if bootable
                                          else [])))
        self.addCleanup(self.openstack, 'volume', 'delete', volume['id'],
                        parse=False)
        return self.volume_status(volume['id'], 'available')

    def create_server(self, name, volume, ports, subset, flavor=None):
        argv = ['server', 'create', '--flavor', flavor or self.flavor(),
                '--volume', volume['id'], '--availability-zone',
                'nova:%s' % subset]
        for port in ports:
            argv += ['--nic', 'port-id=%s' % port['id']]
        if not ports:
            argv += ['--nic', 'none']
        return self.openstack(*(argv + [name]))

    # -- servers -------------------------------------------------------------

    def delete_server(self, server_id):
        self.openstack('server', 'delete', server_id, parse=False)
        self.server_gone(server_id)

    def delete_if_there(self, server_id):
        found = self.openstack('server', 'list', '--all-projects')
        if server_id in [s['ID'] for s in found]:
            self.delete_server(server_id)

    def boot(self, name, subset, networks, flavor=None):
        """A server from a new boot volume with a port on each network."""
        volume = self.volume(name + '-boot', bootable=True)
        ports = [self.port(net, '%s-%s' % (name, net['name']))
                 for net in networks]
        server = self.create_server(name, volume, ports, subset, flavor)
        self.addCleanup(self.delete_if_there, server['id'])
        return server, volume, ports

    def assertActiveOn(self, server, subset, ports):
        server = self.server_status(server['id'], 'ACTIVE')
        self.assertEqual(subset, server['OS-EXT-SRV-ATTR:host'])
        for port in ports:
            self.wait_for('port %s ACTIVE' % port['id'],
                          lambda p=port: self.openstack('port', 'show',
                                                        p['id']),
                          lambda p: p['status'] == 'ACTIVE')
        return server

    def power_actions(self, server_id):
        self.openstack('server', 'stop', server_id, parse=False)
        self.server_status(server_id, 'SHUTOFF')
        self.openstack('server', 'start', server_id, parse=False)
        self.server_status(server_id, 'ACTIVE')
        for kind in ('--soft', '--hard'):
            self.openstack('server', 'reboot', kind, server_id, parse=False)
            self.server_status(server_id, 'ACTIVE')

    def attach_and_detach(self, server_id):
        data = self.volume('data-volume')
        self.openstack('server', 'add', 'volume', server_id, data['id'])
        attached = self.volume_status(data['id'], 'in-use')
        self.assertEqual([server_id],
                         [a['server_id'] for a in attached['attachments']])
        # The storage system maps it to the partition's two WWPNs.
        self.assertEqual(2, len(self.san_volumes()[data['id']]['hosts']))
        self.openstack('server', 'remove', 'volume', server_id, data['id'],
                       parse=False)
        self.volume_status(data['id'], 'available')
        self.assertEqual([], self.san_volumes()[data['id']]['hosts'])
