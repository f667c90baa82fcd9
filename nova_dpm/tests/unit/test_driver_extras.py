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

"""Beyond the original driver: graceful stop, soft reboot, console log,
crash dump and VLAN networking, on HMC definitions."""

from nova.compute import power_state
from nova import exception as nova_exception
from nova.network import model as network_model

from nova_dpm import exception
from nova_dpm import network
from nova_dpm.tests.unit import base

START = 'POST /api/partitions/{id}/operations/start'
STOP = 'POST /api/partitions/{id}/operations/stop'
OS_CMD = 'POST /api/partitions/{id}/operations/send-os-cmd'


class GracefulStopTest(base.DriverTestCase):

    def setUp(self):
        super().setUp()
        self.server, _c = self.build()
        self.part = self.faked_partition(self.server)
        self.sim.reset_counts()

    def test_guest_that_shuts_down(self):
        self.sim.set_guest(self.part.uri, honours_shutdown=True,
                           shutdown_outcome='paused')
        self.driver.power_off(self.server, timeout=30, retry_interval=0)
        self.assertEqual('stopped', self.part.properties['status'])
        self.assertEqual(1, self.sim.count(pattern=OS_CMD))
        # paused by the guest's own halt, then stopped hard (immediate).
        self.assertEqual(1, self.sim.count(pattern=STOP))
        self.assertIn('shutdown -h now', self.sim.os_messages(self.part.uri))

    def test_guest_that_stops_itself_needs_no_hard_stop(self):
        self.sim.set_guest(self.part.uri, honours_shutdown=True,
                           shutdown_outcome='stopped')
        self.driver.power_off(self.server, timeout=30)
        self.assertEqual('stopped', self.part.properties['status'])
        self.assertEqual(0, self.sim.count(pattern=STOP))

    def test_guest_that_ignores_it_is_stopped_hard_after_the_timeout(self):
        self.sim.set_guest(self.part.uri, honours_shutdown=False)
        self.driver.power_off(self.server, timeout=1)
        self.assertEqual('stopped', self.part.properties['status'])
        self.assertEqual(1, self.sim.count(pattern=STOP))

    def _no_console_check_before_z14(self):
        if self.definition == 'z13':
            self.skipTest('List OS Messages needs SE 2.14.0; see '
                          'test_no_console_check_on_se_2_13')

    def test_login_prompt_on_console_stops_hard_early(self):
        self._no_console_check_before_z14()
        self.driver.settings.guest_console_grace_period = 10
        self.sim.set_guest(self.part.uri, console='login')
        self.driver.power_off(self.server, timeout=20)
        self.assertEqual('stopped', self.part.properties['status'])
        self.assertEqual(1, self.sim.count(pattern=STOP))
        self.assertEqual('Password: ', self.sim.os_messages(self.part.uri)[-1])
        self.assertIn('did not take the shutdown command: its console shows '
                      'a login prompt', self.logger.output)
        self.assertNotIn('did not shut down within', self.logger.output)

    def test_console_nobody_reads_stops_hard_after_grace(self):
        self._no_console_check_before_z14()
        self.driver.settings.guest_console_grace_period = 1
        self.sim.set_guest(self.part.uri, console='none')
        self.driver.power_off(self.server, timeout=20)
        self.assertEqual('stopped', self.part.properties['status'])
        self.assertEqual(1, self.sim.count(pattern=STOP))
        self.assertNotIn('shutdown -h now',
                         self.sim.os_messages(self.part.uri))
        self.assertIn('nothing but the command\'s echo came on its console '
                      'within 1 s ([dpm] guest_console_grace_period)',
                      self.logger.output)

    def test_listener_that_only_echoes_stops_hard_after_grace(self):
        self._no_console_check_before_z14()
        self.driver.settings.guest_console_grace_period = 1
        self.sim.set_guest(self.part.uri, honours_shutdown=False)
        self.driver.power_off(self.server, timeout=20)
        self.assertEqual(1, self.sim.count(pattern=STOP))
        self.assertIn('guest_console_grace_period', self.logger.output)

    def test_listener_that_acts_is_given_the_whole_timeout(self):
        # The guest acknowledges at once but needs 2 s to shut down, more
        # than the grace period: no early hard stop.
        self.driver.settings.guest_console_grace_period = 1
        self.sim.set_guest(self.part.uri, shutdown_outcome='stopped',
                           shutdown_delay=2)
        self.driver.power_off(self.server, timeout=20)
        self.assertEqual('stopped', self.part.properties['status'])
        self.assertEqual(0, self.sim.count(pattern=STOP))
        self.assertNotIn('did not take the shutdown command',
                         self.logger.output)

    def test_console_check_off(self):
        self.driver.settings.guest_console_grace_period = 0
        self.sim.set_guest(self.part.uri, console='login')
        self.driver.power_off(self.server, timeout=1)
        self.assertEqual(1, self.sim.count(pattern=STOP))
        self.assertEqual(0, self.sim.count(
            'GET', '/api/partitions/{id}/operations/list-os-messages'))
        self.assertIn('did not shut down within 1 s', self.logger.output)

    def test_no_console_check_on_se_2_13(self):
        if self.definition != 'z13':
            self.skipTest('the z13 definition has SE 2.13.1')
        self.sim.set_guest(self.part.uri, console='login')
        self.driver.power_off(self.server, timeout=1)
        self.assertEqual(0, self.sim.count(
            'GET', '/api/partitions/{id}/operations/list-os-messages'))
        self.assertIn('did not shut down within 1 s', self.logger.output)

    def test_configured_command_is_sent(self):
        self.dpm_flags(guest_shutdown_command='poweroff')
        self.driver.settings.guest_shutdown_command = 'poweroff'
        self.sim.set_guest(self.part.uri, honours_shutdown=True,
                           shutdown_outcome='stopped')
        self.driver.power_off(self.server, timeout=30)
        self.assertIn('poweroff', self.sim.os_messages(self.part.uri))

    def test_timeout_zero_stays_hard(self):
        self.driver.power_off(self.server)
        self.assertEqual(0, self.sim.count(pattern=OS_CMD))
        self.assertEqual(1, self.sim.count(pattern=STOP))

    def test_graceful_stop_of_stopped_partition(self):
        self.driver.power_off(self.server)
        self.driver.power_off(self.server, timeout=30)
        self.assertEqual('stopped', self.part.properties['status'])

    def test_soft_reboot(self):
        self.flags(shutdown_timeout=30)
        self.sim.set_guest(self.part.uri, honours_shutdown=True,
                           shutdown_outcome='paused')
        self.driver.reboot(self.context, self.server, None, 'SOFT')
        self.assertEqual('active', self.part.properties['status'])
        self.assertEqual(1, self.sim.count(pattern=OS_CMD))
        self.assertEqual(1, self.sim.count(pattern=START))

    def test_hard_reboot_sends_no_command(self):
        self.driver.reboot(self.context, self.server, None, 'HARD')
        self.assertEqual(0, self.sim.count(pattern=OS_CMD))
        self.assertEqual('active', self.part.properties['status'])


class ConsoleAndDumpTest(base.DriverTestCase):

    def setUp(self):
        super().setUp()
        self.server, _c = self.build()
        self.part = self.faked_partition(self.server)

    def skip_before_z14(self):
        if self.definition == 'z13':
            self.skipTest('List OS Messages needs SE 2.14.0; see '
                          'test_console_output_needs_se_2_14')

    def test_console_output_needs_se_2_14(self):
        if self.definition != 'z13':
            self.skipTest('the z13 definition has SE 2.13.1')
        exc = self.assertRaises(NotImplementedError,
                                self.driver.get_console_output,
                                self.context, self.server)
        self.assertIn('needs SE 2.14.0 or later', str(exc))
        self.assertIn('this CPC has 2.13.1', str(exc))

    def test_console_output_is_the_os_messages(self):
        self.skip_before_z14()
        self.sim.add_os_message(self.part.uri, 'hello from the guest')
        out = self.driver.get_console_output(self.context, self.server)
        self.assertIsInstance(out, bytes)
        lines = out.decode().splitlines()
        self.assertEqual('hello from the guest', lines[-1])
        self.assertEqual(self.sim.os_messages(self.part.uri), lines)

    def test_console_output_is_bounded(self):
        self.skip_before_z14()
        for i in range(300):
            self.sim.add_os_message(self.part.uri, '%04d ' % i + 'x' * 500)
        out = self.driver.get_console_output(self.context, self.server)
        self.assertLessEqual(len(out), 100 * 1024)
        self.assertTrue(out.decode().endswith('0299 ' + 'x' * 500 + '\n'))

    def test_console_output_of_missing_instance(self):
        self.skip_before_z14()
        self.assertRaises(nova_exception.InstanceNotFound,
                          self.driver.get_console_output, self.context,
                          self.instance())

    def test_console_output_when_the_hmc_refuses(self):
        self.skip_before_z14()
        self.sim.inject_fault(
            'http500', 'GET', '/api/partitions/{id}/operations/'
            'list-os-messages')
        self.assertRaises(nova_exception.ConsoleNotAvailable,
                          self.driver.get_console_output, self.context,
                          self.server)

    def test_trigger_crash_dump(self):
        self.driver.trigger_crash_dump(self.server)
        self.assertEqual(1, self.sim.count(
            'POST', '/api/partitions/{id}/operations/psw-restart'))
        self.assertEqual(power_state.RUNNING,
                         self.driver.get_info(self.server, False).state)

    def test_trigger_crash_dump_refused_when_stopped(self):
        self.driver.power_off(self.server)
        self.assertRaises(nova_exception.InstanceNotRunning,
                          self.driver.trigger_crash_dump, self.server)


class VlanTest(base.DriverTestCase):

    def vlan_vif(self, vlan):
        vif = self.vif('port-v', 'fa:16:3e:00:00:0c', base.VSWITCH_1)
        vif['details'][network_model.VIF_DETAILS_VLAN] = vlan
        return vif

    def test_vlan_nic(self):
        vifs = network_model.NetworkInfo(
            [self.vif('port-a', 'fa:16:3e:00:00:0a'), self.vlan_vif('101')])
        if self.definition == 'z13':
            # The z13 definition's HMC (2.13.1) has API version 1.7.
            exc = self.assertRaises(nova_exception.InstanceUnacceptable,
                                    self.build, network_info=vifs)
            self.assertIn('port-v', exc.format_message())
            self.assertIn('this HMC has 1.7', exc.format_message())
            return
        server, _c = self.build(network_info=vifs)
        nics = {n.properties['name']: n.properties
                for n in self.faked_partition(server).nics.list()}
        self.assertEqual(101, nics['OpenStack_Port_port-v']['vlan-id'])
        self.assertEqual('enforced',
                         nics['OpenStack_Port_port-v']['vlan-type'])
        self.assertIsNone(nics['OpenStack_Port_port-a'].get('vlan-id'))
        # The guest tools need nothing else: same boot parameter entries.
        self.assertEqual(
            '0001,0,fa163e00000a;0004,1,fa163e00000c;',
            self.faked_partition(server).properties[
                'boot-os-specific-parameters'])

    def test_vlan_id_out_of_range(self):
        for bad in ('0', '4095', 'abc'):
            exc = self.assertRaises(exception.InvalidNetwork,
                                    self.driver.network.plan,
                                    [self.vlan_vif(bad)])
            self.assertIn('from 1 to 4094', exc.format_message())

    def test_vlan_refused_on_an_old_hmc(self):
        exc = self.assertRaises(exception.InvalidNetwork, network.plan,
                                [self.vlan_vif(5)], (2, 19))
        self.assertIn('2.20 or later', exc.format_message())
        self.assertIn('this HMC has 2.19', exc.format_message())


load_tests = base.load_tests_per_definition
