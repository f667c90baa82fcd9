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

"""The DPM agent against the simulated HMC over HTTPS.

The agent logs on with a real zhmcclient.Session, TLS verified, to the
simulated HMC served on 127.0.0.1; nova-dpm's side (partitions and NICs)
is played through the simulator's in-process session, with the NIC names
and descriptions of nova_dpm.network. What the agent reports is seen by an
in-process stand-in for neutron-server
(nova_dpm.simulator.cloud.neutron_server).
"""

import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import uuid

import fixtures
from neutron.common import config as common_config
from oslo_config import cfg
from oslo_config import fixture as config_fixture
import testtools
import yaml
import zhmcclient

from nova_dpm import contract
from nova_dpm import exception
from nova_dpm import hmc as hmc_module
from nova_dpm.neutron import agent
from nova_dpm.neutron import config
from nova_dpm import simulator
from nova_dpm.simulator import catalog
from nova_dpm.simulator.cloud import neutron_server
from nova_dpm.simulator import server as server_module

common_config.register_common_config_options()
config.register_opts(cfg.CONF)

HOST = 'subset1'
CPC_ID = catalog.CPC_ID
OSA = catalog.OSA
FCP = catalog.FCP_A
VSWITCH_0 = catalog.VSWITCH_0
VSWITCH_1 = catalog.VSWITCH_1
# A RoCE adapter the tests add to the z16 definition (the object-id of a
# z17 Network Express adapter, which z16 does not have).
ROCE = catalog.NETX_1
USERID = 'neutron-agent'
PASSWORD = 'agentPw7c21Hq9ZmX'
LISTING = 'GET /api/cpcs/{id}/partitions'


class AgentTestCase(testtools.TestCase):
    """A simulated HMC over HTTPS and the agent's configuration."""

    definition = 'z16'

    def setUp(self):
        super().setUp()
        self.conf = self.useFixture(config_fixture.Config(cfg.CONF))
        # As neutron-dpm-agent does at start (Neutron's policy engine, used
        # by its admin context, needs a parsed configuration); the fixture
        # resets it after each test.
        cfg.CONF([], project='neutron', default_config_files=[])
        self.logger = self.useFixture(fixtures.FakeLogger(level='DEBUG'))
        logging.getLogger('zhmcclient').setLevel(logging.INFO)
        self.cert_dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.cert_dir, True)
        self.conf.config(host=HOST)
        self.mappings = ['physnet1:%s:0' % OSA, 'physnet2:%s:1' % OSA]
        self.edits = []

    def serve(self):
        """Load the definition (with self.edits) and serve it."""
        path = simulator.definition_path(self.definition)
        if self.edits:
            with open(path) as f:
                data = yaml.safe_load(f)
            for edit in self.edits:
                edit(data['hmc_definition']['cpcs'][0])
            path = os.path.join(self.cert_dir, 'hmc.yaml')
            with open(path, 'w') as f:
                yaml.safe_dump(data, f)
        self.session = simulator.load_session(path)
        self.sim = self.session.simulator
        self.server = self._server()
        self.conf.config(group='dpm', hmc=['127.0.0.1'],
                         hmc_port=self.server.port, hmc_username=USERID,
                         hmc_password=PASSWORD,
                         hmc_ca_bundle=self.server.ca_file,
                         cpc_object_id=CPC_ID,
                         physical_network_adapter_mappings=self.mappings)
        self.client = zhmcclient.Client(self.session)
        self.cpc = self.client.cpcs.find(**{'object-id': CPC_ID})

    def _server(self, port=0):
        server = server_module.HmcServer(self.sim, USERID, PASSWORD,
                                         cert_dir=self.cert_dir, port=port)
        server.start()
        self.addCleanup(server.stop)
        return server

    def manager(self):
        settings = config.validate(cfg.CONF)
        hmc = hmc_module.HMC(settings)
        hmc.logon()
        self.addCleanup(hmc.logoff)
        # Each call of get_all_devices is an iteration of the loop that
        # lists (no notifications here).
        mgr = agent.DPMManager(hmc, settings, HOST,
                               polling_interval=0).start()
        mgr.loop_thread = threading.current_thread()
        return mgr

    # -- nova-dpm's side -------------------------------------------------

    def partition(self, host=HOST):
        return self.cpc.partitions.create({
            'name': 'OpenStack-%s-%s' % (host, uuid.uuid4()),
            'initial-memory': 4096, 'maximum-memory': 4096,
            'ifl-processors': 1})

    def nic(self, partition, port_id=None, host=HOST, vswitch=VSWITCH_0,
            mac='fa:16:3e:00:00:01'):
        port_id = port_id or str(uuid.uuid4())
        props = {'name': contract.nic_name(port_id),
                 'description': contract.nic_description(mac, host)}
        if vswitch:
            props['virtual-switch-uri'] = '/api/virtual-switches/' + vswitch
        else:
            props['network-adapter-port-uri'] = \
                '/api/adapters/%s/network-ports/0' % ROCE
        return port_id, partition.nics.create(props)

    @staticmethod
    def no_vswitches(cpc):
        # A z17-like CPC (network-express-support): no virtual switches.
        cpc['virtual_switches'] = []

    @staticmethod
    def roce(cpc):
        cpc['adapters'].append({
            'properties': {
                'object-id': ROCE, 'name': 'ROCE-1', 'type': 'roce',
                'adapter-family': 'roce', 'adapter-id': '0150',
                'status': 'active', 'state': 'online', 'port-count': 1,
                'description': 'RoCE adapter'},
            'ports': [{'properties': {'element-id': '0', 'index': 0,
                                      'name': 'Port 0',
                                      'description': ''}}]})


class MappingTest(AgentTestCase):

    def test_mappings_are_resolved_and_reported(self):
        self.serve()
        reported = self.manager().get_agent_configurations()
        self.assertEqual(
            {'physnet1': {'vif_type': 'dpm_vswitch', 'object_id': VSWITCH_0,
                          'vlan': True},
             'physnet2': {'vif_type': 'dpm_vswitch',
                          'object_id': VSWITCH_1, 'vlan': True}},
            reported['vif_mappings'])
        self.assertEqual({'physnet1': [VSWITCH_0], 'physnet2': [VSWITCH_1]},
                         reported['adapter_mappings'])
        self.assertEqual(['flat', 'vlan'], reported['network_types'])
        self.assertEqual(CPC_ID, reported['cpc_object_id'])

    def test_port_defaults_to_0_and_first_mapping_of_a_physnet_wins(self):
        self.mappings = ['physnet1:%s' % OSA.upper(),
                         'physnet1:%s:1' % OSA]
        self.serve()
        reported = self.manager().get_agent_configurations()
        self.assertEqual({'vif_type': 'dpm_vswitch',
                          'object_id': VSWITCH_0, 'vlan': True},
                         reported['vif_mappings']['physnet1'])
        self.assertEqual([VSWITCH_0, VSWITCH_1],
                         reported['adapter_mappings']['physnet1'])
        self.assertIn('maps physical network physnet1 to 2 adapter ports',
                      self.logger.output)

    def test_adapter_port_binding_on_a_cpc_without_virtual_switches(self):
        # z17: network-express-support, no virtual switches.
        self.definition = 'z17'
        self.serve()
        reported = self.manager().get_agent_configurations()
        self.assertEqual(
            {'vif_type': 'dpm_adapter', 'object_id': OSA, 'port': 1,
             'vlan': True},
            reported['vif_mappings']['physnet2'])

    def test_virtual_switches_out_of_sight_are_no_z17(self):
        # A CPC that lists no virtual switch (a user without object access
        # to them) but lacks network-express-support: nova-compute would
        # refuse dpm_adapter for OSA ports, so the agent refuses to start.
        self.edits = [self.no_vswitches]
        self.serve()
        exc = self.assertRaises(exception.InvalidConfiguration,
                                self.manager)
        self.assertIn('has no virtual switch for port 0', str(exc))

    def test_roce_adapter_backs_nics_directly(self):
        self.edits = [self.roce]
        self.mappings = ['physnet1:%s:0' % OSA, 'roce:%s' % ROCE]
        self.serve()
        reported = self.manager().get_agent_configurations()
        self.assertEqual(
            {'vif_type': 'dpm_adapter', 'object_id': ROCE, 'port': 0,
             'vlan': False},
            reported['vif_mappings']['roce'])
        self.assertEqual('dpm_vswitch',
                         reported['vif_mappings']['physnet1']['vif_type'])

    def test_cna_adapter_backs_nics_directly(self):
        # A CNA (FCoE) adapter's network ports back NICs through
        # network-adapter-port-uri, as RoCE ones (nova_dpm.contract).
        def cna(cpc):
            self.roce(cpc)
            cpc['adapters'][-1]['properties'].update({
                'name': 'CNA-1', 'type': 'fcoe', 'adapter-family': 'cna'})
        self.edits = [cna]
        self.mappings = ['fcoe:%s' % ROCE]
        self.serve()
        mgr = self.manager()
        self.assertEqual(
            {'vif_type': 'dpm_adapter', 'object_id': ROCE, 'port': 0,
             'vlan': False},
            mgr.get_agent_configurations()['vif_mappings']['fcoe'])
        # nova-dpm's NIC on that port is the agent's device.
        port_id = str(uuid.uuid4())
        self.partition().nics.create({
            'name': contract.nic_name(port_id),
            'description': contract.nic_description('fa:16:3e:00:00:01',
                                                    HOST),
            'network-adapter-port-uri':
                '/api/adapters/%s/network-ports/0' % ROCE})
        self.assertEqual({port_id}, mgr.get_all_devices())

    def test_hmc_without_vlan_nics_reports_flat_only(self):
        self.definition = 'z13'
        self.serve()
        mgr = self.manager()
        self.assertEqual(['flat'],
                         mgr.get_agent_configurations()['network_types'])


class BadMappingTest(AgentTestCase):

    def assert_refused(self, mappings, *words, edits=()):
        self.mappings = mappings
        self.edits = list(edits)
        self.serve()
        exc = self.assertRaises(exception.InvalidConfiguration,
                                self.manager)
        message = exc.format_message()
        self.assertIn('[dpm] physical_network_adapter_mappings', message)
        for word in words:
            self.assertIn(word, message)
        self.assertNotIn(PASSWORD, message)
        return message

    def test_unknown_adapter(self):
        other = '0a000000-0000-4000-8000-00000000beef'
        self.assert_refused(['physnet1:%s:0' % other], other,
                            'the HMC shows no adapter', 'object-access')

    def test_storage_adapter(self):
        self.assert_refused(['physnet1:%s:0' % FCP], 'FCP-A', 'fcp',
                            'not a network adapter: its family is ficon',
                            'cna, hipersockets, network-express, osa, roce')

    def test_missing_port(self):
        self.assert_refused(['physnet1:%s:3' % OSA], 'OSA-1', 'no port 3',
                            'its ports: 0, 1')

    def test_osa_port_without_virtual_switch(self):
        def only_port_0(cpc):
            cpc['virtual_switches'] = cpc['virtual_switches'][:1]
        self.assert_refused(['physnet1:%s:1' % OSA],
                            'no virtual switch for port 1 of adapter OSA-1',
                            edits=[only_port_0])

    def test_adapter_ports_need_hmc_api_4_1(self):
        def roce_and_no_vswitches(cpc):
            self.roce(cpc)
        self.definition = 'z13'
        self.assert_refused(['roce:%s:0' % ROCE], 'adapter-port NICs',
                            'HMC API 4.1', edits=[roce_and_no_vswitches])

    def test_option_syntax_is_checked_before_any_hmc_request(self):
        for value, words in (
                ('physnet1', 'expected <physical-network>'),
                ('physnet1:not-an-id:0', 'expected <physical-network>'),
                ('physnet1:%s:7' % OSA, 'from 0 to 3'),
                (':%s:0' % OSA, 'expected <physical-network>')):
            self.conf.config(group='dpm', hmc_mock_file='z16',
                             cpc_object_id=CPC_ID)
            # As read from a configuration file.
            self.conf.load_raw_values(
                group='dpm', physical_network_adapter_mappings=value)
            exc = self.assertRaises(exception.InvalidConfiguration,
                                    config.validate, cfg.CONF)
            self.assertIn('[dpm] physical_network_adapter_mappings',
                          exc.format_message())
            self.assertIn(words, exc.format_message())

    def test_no_mapping_and_duplicates_are_refused(self):
        self.conf.config(group='dpm', hmc_mock_file='z16',
                         cpc_object_id=CPC_ID)
        exc = self.assertRaises(exception.InvalidConfiguration,
                                config.validate, cfg.CONF)
        self.assertIn('expected at least one', exc.format_message())
        self.conf.config(group='dpm', physical_network_adapter_mappings=[
            'p:%s:0' % OSA, 'p:%s:0' % OSA.upper()])
        exc = self.assertRaises(exception.InvalidConfiguration,
                                config.validate, cfg.CONF)
        self.assertIn('given twice', exc.format_message())

    def test_hmc_options_are_nova_computes(self):
        self.conf.config(group='dpm', physical_network_adapter_mappings=[
            'p:%s:0' % OSA], cpc_object_id=CPC_ID)
        exc = self.assertRaises(exception.InvalidConfiguration,
                                config.validate, cfg.CONF)
        self.assertIn('[dpm] hmc:', exc.format_message())
        self.conf.config(group='dpm', hmc_mock_file='z16',
                         cpc_object_id=None)
        exc = self.assertRaises(exception.InvalidConfiguration,
                                config.validate, cfg.CONF)
        self.assertIn('[dpm] cpc_object_id', exc.format_message())


class NicWatchTest(AgentTestCase):

    def test_devices_are_this_hosts_openstack_nics(self):
        self.serve()
        mgr = self.manager()
        self.assertEqual(set(), mgr.get_all_devices())
        part = self.partition()
        mine, _nic = self.nic(part)
        self.nic(part, host='subset2', vswitch=VSWITCH_1)
        part.nics.create({'name': 'admin-nic',
                          'virtual-switch-uri':
                              '/api/virtual-switches/' + VSWITCH_0})
        other = self.partition(host='subset2')
        self.nic(other, host='subset2')
        self.assertEqual({mine}, mgr.get_all_devices())

    def test_hmc_requests_per_poll_do_not_grow_with_ports(self):
        self.serve()
        mgr = self.manager()
        part = self.partition()
        for _ in range(5):
            self.nic(part)
        self.sim.reset_counts()
        self.assertEqual(5, len(mgr.get_all_devices()))
        # The listing, and one Submit Requests reading the 5 new NICs.
        self.assertEqual(
            [('GET', '/api/cpcs/{id}/partitions'),
             ('POST', '/api/services/aggregation/submit')],
            self.sim.requests)
        self.sim.reset_counts()
        for _ in range(3):
            mgr.get_all_devices()
        self.assertEqual([('GET', '/api/cpcs/{id}/partitions')] * 3,
                         self.sim.requests)

    def test_older_hmc_asks_each_mapped_virtual_switch(self):
        self.definition = 'z13'
        self.serve()
        mgr = self.manager()
        part = self.partition()
        port_id, _nic = self.nic(part, vswitch=VSWITCH_1)
        self.sim.reset_counts()
        self.assertEqual({port_id}, mgr.get_all_devices())
        self.sim.reset_counts()
        mgr.get_all_devices()
        self.assertEqual(
            2, self.sim.count(
                'GET', '/api/virtual-switches/{id}/operations/'
                'get-connected-vnics'))
        self.assertEqual(2, len(self.sim.requests))

    def test_recreated_nic_is_a_modified_device(self):
        self.serve()
        mgr = self.manager()
        part = self.partition()
        port_id, nic = self.nic(part)
        before = mgr.get_devices_modified_timestamps(mgr.get_all_devices())
        nic.delete()
        self.nic(part, port_id=port_id)
        after = mgr.get_devices_modified_timestamps(mgr.get_all_devices())
        self.assertNotEqual(before[port_id], after[port_id])

    def test_state_reports_do_not_list_nics(self):
        self.serve()
        mgr = self.manager()
        self.sim.reset_counts()
        result = []
        thread = threading.Thread(
            target=lambda: result.append(mgr.get_all_devices()))
        thread.start()
        thread.join()
        self.assertEqual([set()], result)
        self.assertEqual([], self.sim.requests)


class HmcFaultTest(AgentTestCase):

    def setUp(self):
        super().setUp()
        self.serve()
        self.mgr = self.manager()
        part = self.partition()
        self.port_id, self.nic_obj = self.nic(part)
        self.assertEqual({self.port_id}, self.mgr.get_all_devices())

    def test_failed_listing_keeps_the_ports(self):
        for kind in ('connection', 'http500'):
            # The HTTP layer repeats a GET whose connection drops; make
            # every try fail.
            for _ in range(5):
                self.sim.inject_fault(kind, 'GET',
                                      '/api/cpcs/{id}/partitions')
            self.assertEqual({self.port_id}, self.mgr.get_all_devices())
            self.sim.clear_faults()
            self.assertIn('ports keep their status until the HMC answers',
                          self.logger.output)
        self.nic_obj.delete()
        self.assertEqual(set(), self.mgr.get_all_devices())
        self.assertIn('The HMC answers again', self.logger.output)

    def test_hmc_restart(self):
        port = self.server.port
        self.server.stop()
        self.assertEqual({self.port_id}, self.mgr.get_all_devices())
        # The HMC comes back (its sessions gone) on the same address.
        server = self._server(port=port)
        self.nic_obj.delete()
        self.assertEqual(set(), self.mgr.get_all_devices())
        self.assertEqual(1, server.logons)

    def test_a_refused_logon_while_running_is_not_repeated(self):
        # HMC rule A11: the password expires while the agent runs; its
        # session ends. One logon attempt, then none: the listing fails
        # and the ports keep their status.
        self.server.answer_logon('password-expired')
        self.server.expire_session()
        attempts = self.server.logon_attempts
        for _ in range(3):
            self.assertEqual({self.port_id}, self.mgr.get_all_devices())
        self.assertEqual(attempts + 1, self.server.logon_attempts)
        self.assertIn('password of HMC user %s has expired' % USERID,
                      self.logger.output)

    def test_expired_session_is_renewed(self):
        self.server.expire_session()
        self.nic_obj.delete()
        self.assertEqual(set(), self.mgr.get_all_devices())
        self.assertEqual(2, self.server.logons)

    def test_password_never_logged(self):
        root = logging.getLogger()
        records = []

        class Keep(logging.Handler):
            def emit(self, record):
                records.append(self.format(record))
        handler = Keep(level=logging.DEBUG)
        root.addHandler(handler)
        self.addCleanup(root.removeHandler, handler)
        for name in ('zhmcclient', 'zhmcclient.api', 'zhmcclient.hmc',
                     'urllib3', 'nova_dpm'):
            logger = logging.getLogger(name)
            old = logger.level
            logger.setLevel(logging.DEBUG)
            self.addCleanup(logger.setLevel, old)
        self.server.expire_session()
        self.mgr.get_all_devices()
        self.server.stop()
        self.mgr.get_all_devices()
        text = '\n'.join(records) + self.logger.output
        self.assertIn('POST /api/sessions', text)
        self.assertNotIn(PASSWORD, text)


class AgentLoopTest(AgentTestCase):
    """The whole agent: Neutron's loop, RPC, the HMC."""

    def start_agent(self):
        self.serve()
        self.neutron = neutron_server.InProcessNeutron(HOST)
        runner = neutron_server.AgentRunner(self.neutron, polling_interval=1)
        runner.start()
        self.addCleanup(runner.stop)
        return runner

    def test_port_up_and_down_as_nics_come_and_go(self):
        port_id = str(uuid.uuid4())
        other = str(uuid.uuid4())
        self.start_agent()
        self.neutron.add_port(port_id, 'physnet1')
        self.neutron.add_port(other, 'physnet2', network_type='vlan',
                              segmentation_id=100)
        state = self.neutron.last_agent_state()
        self.assertEqual('DPM agent', state['agent_type'])
        self.assertEqual('neutron-dpm-agent', state['binary'])
        self.assertEqual(HOST, state['host'])
        self.assertEqual(VSWITCH_0, state['configurations']['vif_mappings']
                         ['physnet1']['object_id'])
        part = self.partition()
        _p, nic = self.nic(part, port_id=port_id)
        self.assertTrue(self.neutron.wait_for_status(port_id, 'ACTIVE'))
        self.assertEqual('DOWN', self.neutron.status(other))
        self.nic(part, port_id=other, vswitch=VSWITCH_1)
        self.assertTrue(self.neutron.wait_for_status(other, 'ACTIVE'))
        nic.delete()
        self.assertTrue(self.neutron.wait_for_status(port_id, 'DOWN'))
        self.assertEqual('ACTIVE', self.neutron.status(other))
        self.assertEqual(
            [('update_device_up', port_id), ('update_device_up', other),
             ('update_device_down', port_id)],
            [c for c in self.neutron.calls if c[0] != 'get_device_details'])

    def test_agent_stops(self):
        runner = self.start_agent()
        runner.stop()
        self.assertFalse(runner._thread.is_alive())


class RefusedLogonTest(AgentTestCase):
    """HMC rule A11: neutron-dpm-agent ends with 78 after one logon."""

    def test_wrong_password_exits_78_after_one_logon(self):
        self.serve()
        conf = os.path.join(self.cert_dir, 'agent.conf')
        with open(conf, 'w') as f:
            f.write('[DEFAULT]\nhost = %s\n[dpm]\nhmc = 127.0.0.1\n'
                    'hmc_port = %d\nhmc_username = %s\n'
                    'hmc_password = wrong-password\nhmc_ca_bundle = %s\n'
                    'cpc_object_id = %s\n'
                    'physical_network_adapter_mappings = physnet1:%s:0\n'
                    % (HOST, self.server.port, USERID, self.server.ca_file,
                       CPC_ID, OSA))
        root = os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.dirname(os.path.abspath(__file__)))))
        code = ('import sys\n'
                'from nova_dpm.neutron import agent\n'
                'sys.exit(agent.main(["--config-file", %r]))\n' % conf)
        out = subprocess.run(
            [sys.executable, '-c', code], capture_output=True, text=True,
            timeout=120, env=dict(os.environ, PYTHONPATH=root))
        output = out.stdout + out.stderr
        self.assertEqual(exception.EX_CONFIG, out.returncode, output)
        self.assertEqual(1, self.server.logon_attempts)
        self.assertEqual(1, self.server.failed_logons)
        self.assertIn('refused the logon of user %s' % USERID, output)
        self.assertNotIn('wrong-password', output)


class WithoutNovaTest(testtools.TestCase):

    def child(self, code):
        """Run code in a fresh Python on this tree; its output lines."""
        root = os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.dirname(os.path.abspath(__file__)))))
        env = dict(os.environ, PYTHONPATH=root)
        out = subprocess.run([sys.executable, '-c', code], env=env,
                             capture_output=True, text=True, timeout=120)
        self.assertEqual(0, out.returncode, out.stderr)
        return out.stdout.strip().splitlines()

    def test_agent_and_driver_import_without_nova(self):
        # A Neutron node has no nova: the agent, the mechanism driver and
        # the errors they raise must not need it.
        code = (
            'import sys\n'
            'sys.modules["nova"] = None\n'
            'from nova_dpm.neutron import agent, mech_driver\n'
            'from nova_dpm import exception\n'
            'exc = exception.InvalidConfiguration(option="hmc", '
            'reason="bad")\n'
            'print(exc.format_message())\n'
            'print(sorted(m for m in sys.modules if m == "nova" or '
            'm.startswith("nova.")))\n')
        lines = self.child(code)
        self.assertEqual('Invalid configuration [dpm] hmc: bad', lines[-2])
        self.assertEqual("['nova']", lines[-1])

    def test_agent_runs_on_native_threads(self):
        # Importing the agent selects oslo.service's threading backend, as
        # Neutron's own agents do; otherwise loopingcall (the heartbeat
        # that reports the agent to neutron-server) would be a green
        # thread that never runs in an unpatched process.
        code = (
            'import time\n'
            'from nova_dpm.neutron import agent\n'
            'from oslo_service import backend, loopingcall\n'
            'beats = []\n'
            'call = loopingcall.FixedIntervalLoopingCall(\n'
            '    lambda: beats.append(1))\n'
            'call.start(interval=0.1)\n'
            'for _ in range(10):\n'
            '    time.sleep(0.1)\n'
            'call.stop()\n'
            'print(backend.get_backend_type().value, len(beats) > 2)\n')
        self.assertEqual('threading True', self.child(code)[-1])
