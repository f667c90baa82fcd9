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

"""nova-dpm-cloud without a cloud: commands, files and process records.

The cloud itself is tested by nova_dpm/tests/cloud (tox -e cloud-test).
"""

import configparser
import io
import os
import subprocess
import sys

import fixtures
import testtools

from nova_dpm.cmd import cloud as cloud_cmd
from nova_dpm.simulator import catalog
from nova_dpm.simulator.realcloud import config
from nova_dpm.simulator.realcloud import procs
from nova_dpm.simulator.realcloud import services

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))))


def _keys(text):
    """{(section, option)} of an ini text with repeated options."""
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.read_file(io.StringIO(text))
    return {(section, key) for section in parser.sections()
            for key in parser[section]}


class TestCommands(testtools.TestCase):

    def test_compute_command_is_the_units_exec_start(self):
        with open(os.path.join(REPO, 'etc', 'systemd',
                               services.UNIT)) as unit:
            exec_start = [line for line in unit
                          if line.startswith('ExecStart=')][0]
        self.assertEqual(
            'ExecStart=/opt/nova-dpm/bin/nova-compute --config-file '
            '/etc/nova/nova.conf --config-file '
            '/etc/nova/dpm/%i/nova-compute.conf\n', exec_start)
        with open(os.path.join(REPO, 'doc', 'source', 'install.rst')) as rst:
            self.assertIn(
                'runs nova-compute --config-file /etc/nova/nova.conf '
                '--config-file /etc/nova/dpm/<subset>/nova-compute.conf',
                rst.read())
        argv = services.compute_command('/x/etc', 'cpc1-subset-b')
        self.assertEqual(
            [os.path.join(os.path.dirname(sys.executable), 'nova-compute'),
             '--config-file', '/x/etc/nova/nova.conf',
             '--config-file', '/x/etc/nova/dpm/cpc1-subset-b/'
             'nova-compute.conf'], argv)

    def test_agent_command_is_the_units_exec_start(self):
        # The install guide's layout table shows the same command line.
        with open(os.path.join(REPO, 'etc', 'systemd',
                               services.AGENT_UNIT)) as unit:
            exec_start = [line for line in unit
                          if line.startswith('ExecStart=')][0]
        with open(os.path.join(REPO, 'doc', 'source', 'install.rst')) as rst:
            self.assertIn(
                'runs neutron-dpm-agent --config-file /etc/neutron/'
                'neutron.conf --config-file /etc/neutron/dpm/<subset>/'
                'neutron-dpm-agent.ini', rst.read())
        self.assertEqual(
            'ExecStart=/opt/nova-dpm/bin/neutron-dpm-agent --config-file '
            '/etc/neutron/neutron.conf --config-file '
            '/etc/neutron/dpm/%i/neutron-dpm-agent.ini\n', exec_start)
        self.assertEqual(
            [os.path.join(os.path.dirname(sys.executable),
                          'neutron-dpm-agent'),
             '--config-file', '/x/etc/neutron/neutron.conf',
             '--config-file', '/x/etc/neutron/dpm/cpc1-subset-a/'
             'neutron-dpm-agent.ini'],
            services.agent_command('/x/etc', 'cpc1-subset-a'))

    def test_cinder_backend_is_the_simulated_san(self):
        text = config.cinder_conf(self._settings())
        self.assertIn('enabled_backends = %s' % config.CINDER_BACKEND, text)
        self.assertIn('volume_driver = %s' % config.CINDER_DRIVER, text)
        self.assertIn('simulated_san_ca_file = /x/hmc/ca.pem', text)

    def _settings(self):
        settings = services.new_settings('/x', 2)
        self.assertEqual(['cpc1-subset-a', 'cpc1-subset-b'],
                         settings['subsets'])
        self.assertEqual(len(services.PORTS),
                         len(set(settings['ports'].values())))
        # The simulated HMC's STOMP port: it picks it, up reads it.
        settings['ports']['stomp'] = 1
        return settings

    def test_subset_file_has_the_options_of_the_shipped_one(self):
        settings = self._settings()
        ours = config.compute_conf(settings, 'cpc1-subset-a', '/x/lib/a')
        with open(os.path.join(REPO, 'etc', 'nova', 'dpm', 'cpc1-subset-a',
                               'nova-compute.conf')) as shipped:
            expected = _keys(shipped.read())
        self.assertEqual(set(), expected - _keys(ours))
        self.assertIn('cpc_object_id = %s' % catalog.CPC_ID, ours)
        for mapping in catalog.ADAPTER_MAPPINGS:
            self.assertIn('physical_storage_adapter_mappings = %s'
                          % mapping, ours)

    def test_subsets_offer_dedicated_ifls_crypto_and_unequal_memory(self):
        settings = self._settings()
        confs = [configparser.ConfigParser(strict=False, interpolation=None)
                 for _subset in settings['subsets']]
        for conf, subset in zip(confs, settings['subsets']):
            conf.read_string(config.compute_conf(settings, subset, '/x'))
        self.assertEqual(
            [('2', ','.join(catalog.CRYPTO_ADAPTERS), memory)
             for memory in ('65536', '16384')],
            [(c['dpm']['max_dedicated_processors'],
              c['dpm']['physical_crypto_adapters'], c['dpm']['max_memory'])
             for c in confs])
        nova = configparser.ConfigParser(strict=False, interpolation=None)
        nova.read_string(config.nova_conf(settings))
        self.assertEqual(('true', 'true'), (
            nova['DEFAULT']['allow_resize_to_same_host'],
            nova['workarounds']['disable_fallback_pcpu_query']))

    def test_agent_maps_both_osa_ports(self):
        text = config.agent_conf(self._settings(), 'cpc1-subset-b')
        self.assertIn('host = cpc1-subset-b', text)
        self.assertIn('hmc_notification_port = 1', text)
        for port in (0, 1):
            self.assertIn('osa%d:%s:%d' % (port + 1, catalog.OSA, port),
                          text)


class TestProcesses(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.procs = procs.Processes(self.dir)

    def test_down_stops_what_up_started_and_is_idempotent(self):
        proc = self.procs.start('sleeper', ['sleep', '600'])
        entry = self.procs.find('sleeper')
        self.assertTrue(self.procs.alive(entry))
        stopped = []
        self.procs.stop_all(report=stopped.append)
        self.assertFalse(self.procs.alive(entry))
        self.assertRaises(ProcessLookupError, os.kill, proc.pid, 0)
        self.assertEqual(['stopped sleeper (pid %d)' % proc.pid], stopped)
        self.assertEqual([], procs.Processes(self.dir).state['processes'])
        self.procs.stop_all(report=stopped.append)
        self.assertEqual(1, len(stopped))

    def test_a_reused_pid_is_not_stopped(self):
        other = subprocess.Popen(['sleep', '600'], start_new_session=True)
        self.addCleanup(other.wait)
        self.addCleanup(other.kill)
        self.procs.state['processes'].append(
            {'name': 'old', 'pid': other.pid, 'start_time': 1, 'argv': []})
        self.procs.stop_all(report=lambda m: None)
        self.assertIsNone(other.poll())

    def test_failed_start_names_the_service_and_its_log(self):
        self.procs.start('broken', ['sh', '-c', 'echo cannot bind; exit 3'])
        exc = self.assertRaises(procs.StartError, self.procs.wait,
                                'broken', lambda: False, 60)
        self.assertEqual('broken', exc.service)
        self.assertEqual('exited during start', exc.reason)
        self.assertIn('cannot bind', exc.log_tail)


class TestCommandLine(testtools.TestCase):

    def test_down_without_a_cloud(self):
        path = self.useFixture(fixtures.TempDir()).path
        self.assertEqual(0, cloud_cmd.main(['down', '--dir', path]))
        self.assertEqual(0, cloud_cmd.main(['down', '--dir', path]))

    def test_up_refuses_a_directory_of_other_files(self):
        path = self.useFixture(fixtures.TempDir()).path
        with open(os.path.join(path, 'thesis.tex'), 'w'):
            pass
        self.assertIn('did not make', cloud_cmd._clean(path))
        self.assertTrue(os.path.exists(os.path.join(path, 'thesis.tex')))
