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

"""nova_dpm/partition.py: names, statuses, start, stop, console, dump.

Partitions are driven the way nova drives them, through the driver, on a
simulated HMC built from a shipped definition: graceful stop and soft
reboot, the console log and crash dump, the statuses a real HMC reports
while and after a job runs (terminated stops, a status lagging behind the
start job, starts short of CPC memory), and the console and status-read
gates of old HMCs and SEs. The naming rules need no HMC.
"""

import gc
import time
import types
from unittest import mock
import uuid as uuid_module

from nova.compute import power_state
from nova import exception as nova_exception
import testtools

from nova_dpm import exception
from nova_dpm import partition
from nova_dpm.tests.unit import base


UUID = '6f1a3d43-3f0a-4d51-9f7c-2cbd6a1f3b7e'
START = 'POST /api/partitions/{id}/operations/start'
STOP = 'POST /api/partitions/{id}/operations/stop'
OS_CMD = 'POST /api/partitions/{id}/operations/send-os-cmd'
LIST = ('GET', '/api/cpcs/{id}/partitions')
DELETE = ('DELETE', '/api/partitions/{id}')


def short_cpc(data):
    """The CPC has 2048 MiB left beside its two active partitions."""
    base.DriverTestCase.cpc_definition(data)['properties'][
        'storage-customer'] = 16384 + 65536 + 2048


class NamingTest(testtools.TestCase):

    def test_short_host_keeps_the_original_form(self):
        naming = partition.Naming('subset1')
        self.assertEqual('OpenStack-subset1-' + UUID, naming.name(UUID))
        self.assertEqual(UUID, naming.owner_uuid('OpenStack-subset1-' + UUID))

    def test_names_never_exceed_64_characters(self):
        for host in ('a', 'x' * 17, 'x' * 18, 'compute-node-01.example.com',
                     'h' * 255, 'white space', 'we/ird:host'):
            name = partition.Naming(host).name(UUID)
            self.assertLessEqual(len(name), 64, host)
            self.assertRegex(name, r'^[A-Za-z0-9._@#-]+$')
            self.assertEqual(UUID, partition.Naming(host).owner_uuid(name))

    def test_long_hosts_with_a_common_prefix_differ(self):
        a = partition.Naming('compute-node-0001.example.com')
        b = partition.Naming('compute-node-0002.example.com')
        self.assertNotEqual(a.token, b.token)
        self.assertIsNone(a.owner_uuid(b.name(UUID)))
        self.assertIsNone(b.owner_uuid(a.name(UUID)))

    def test_no_subset_claims_another_or_a_foreign_partition(self):
        hosts = ['a', 'a-b', 'a.b', 'axb', 'a-', 'a.*', '.*', 'ab',
                 'abc_0123456789ab', 'x' * 17, 'x' * 18, 'x' * 30]
        names = {h: partition.Naming(h).name(UUID) for h in hosts}
        for host in hosts:
            naming = partition.Naming(host)
            for other, name in names.items():
                owned = naming.owner_uuid(name)
                if other == host:
                    self.assertEqual(UUID, owned)
                else:
                    self.assertIsNone(owned, '%s claims %s' % (host, name))
        naming = partition.Naming('a')
        for foreign in ('LINUX01', 'OpenStack-a-', 'OpenStack-a-' + UUID + 'x',
                        'OpenStack-a-' + UUID.upper(), 'openstack-a-' + UUID,
                        'OpenStack-a-b-' + UUID, 'OpenStack-a-not-a-uuid'):
            self.assertIsNone(naming.owner_uuid(foreign), foreign)

    def test_a_host_that_looks_hashed_is_hashed(self):
        host = 'abcd_0123456789ab'
        self.assertNotEqual(host, partition.host_token(host))

    def test_17_characters_kept_18_hashed(self):
        self.assertEqual(17, partition.TOKEN_MAX)
        self.assertEqual('x' * 17, partition.host_token('x' * 17))
        self.assertEqual(64, len(partition.Naming('x' * 17).name(UUID)))
        self.assertNotEqual('x' * 18, partition.host_token('x' * 18))

    def test_hashed_token(self):
        import hashlib
        digest = hashlib.sha256(b'a b').hexdigest()[:12]
        # Four characters, disallowed ones and missing ones as x.
        self.assertEqual('axbx_' + digest, partition.host_token('a b'))
        digest = hashlib.sha256(b'compute/01').hexdigest()[:12]
        self.assertEqual('comp_' + digest,
                         partition.host_token('compute/01'))

    def test_power_state_of_every_status(self):
        from nova.compute import power_state as ps
        expected = {
            'active': ps.RUNNING, 'degraded': ps.RUNNING,
            'stopped': ps.SHUTDOWN, 'reservation-error': ps.SHUTDOWN,
            'paused': ps.SHUTDOWN, 'terminated': ps.CRASHED,
            'starting': ps.NOSTATE, 'stopping': ps.NOSTATE,
            'communications-not-active': ps.NOSTATE,
            'status-check': ps.NOSTATE,
        }
        for status, state in expected.items():
            self.assertEqual(state, partition.power_state_of(status), status)
        self.assertEqual(ps.NOSTATE, partition.power_state_of('bogus'))


class GracefulStopTest(base.DriverTestCase):

    definitions = base.PER_DEFINITION
    fake_clock = True

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

    def test_refused_resend_does_not_fail_the_stop(self):
        # Nova re-sends the command every shutdown_retry_interval; the
        # guest (or the HMC) may refuse a re-send with 409 while the
        # guest is already going down.
        self.sim.set_guest(self.part.uri, honours_shutdown=True,
                           shutdown_outcome='stopped', shutdown_delay=1.0)
        self.sim.inject_fault('busy', 'POST',
                              '/api/partitions/{id}/operations/send-os-cmd',
                              nth=2)
        self.driver.power_off(self.server, timeout=30, retry_interval=0.2)
        self.assertEqual('stopped', self.part.properties['status'])
        self.assertEqual(0, self.sim.count(pattern=STOP))
        self.assertGreaterEqual(self.sim.count(pattern=OS_CMD), 2)

    def test_command_resent_every_retry_interval(self):
        self.driver.settings.guest_console_grace_period = 0
        self.sim.set_guest(self.part.uri, honours_shutdown=False)
        self.driver.power_off(self.server, timeout=10, retry_interval=1)
        # The first command, then one a second until the timeout.
        self.assertGreaterEqual(self.sim.count(pattern=OS_CMD), 9)
        self.assertLessEqual(self.sim.count(pattern=OS_CMD), 11)
        self.assertEqual(1, self.sim.count(pattern=STOP))

    def test_soft_reboot_sends_the_command_once(self):
        self.flags(shutdown_timeout=30)
        self.sim.set_guest(self.part.uri, honours_shutdown=True,
                           shutdown_outcome='stopped', shutdown_delay=3)
        self.driver.reboot(self.context, self.server, None, 'SOFT')
        self.assertEqual('active', self.part.properties['status'])
        self.assertEqual(1, self.sim.count(pattern=OS_CMD))
        self.assertEqual(0, self.sim.count(pattern=STOP))

    def test_late_reaction_within_the_grace_waits_the_timeout(self):
        # Nothing on the console at first; the guest writes something a
        # moment later: it reacted, so no early hard stop.
        self._no_console_check_before_z14()
        self.driver.settings.guest_console_grace_period = 2
        self.sim.set_guest(self.part.uri, console='none',
                           honours_shutdown=False)
        self.on_poll(lambda: self.sim.add_os_message(
            self.part.uri, 'Stopping the database'), nth=3,
            what=self.part.properties['name'])
        self.driver.power_off(self.server, timeout=5)
        self.assertEqual(1, self.sim.count(pattern=STOP))
        self.assertNotIn('did not take the shutdown command',
                         self.logger.output)
        self.assertIn('did not shut down within 5 s', self.logger.output)

    def test_console_read_at_most_once_a_second(self):
        self._no_console_check_before_z14()
        self.driver.settings.guest_console_grace_period = 10
        self.sim.set_guest(self.part.uri, console='none',
                           honours_shutdown=False)
        self.driver.power_off(self.server, timeout=30)
        reads = self.sim.count(
            'GET', '/api/partitions/{id}/operations/list-os-messages')
        # Before the command, then about once a second for 10 s.
        self.assertGreaterEqual(reads, 10)
        self.assertLessEqual(reads, 13)
        self.assertIn('within 10 s ([dpm] guest_console_grace_period)',
                      self.logger.output)

    def test_unreadable_console_does_not_stop_the_shutdown(self):
        self._no_console_check_before_z14()
        self.driver.settings.guest_console_grace_period = 10
        self.sim.set_guest(self.part.uri, honours_shutdown=True,
                           shutdown_outcome='stopped', shutdown_delay=0.3)
        # The console read before the command is lost on the way.
        self.sim.inject_fault(
            'connection', 'GET',
            '/api/partitions/{id}/operations/list-os-messages')
        self.driver.power_off(self.server, timeout=30)
        self.assertEqual('stopped', self.part.properties['status'])
        self.assertEqual(1, self.sim.count(pattern=OS_CMD))
        self.assertEqual(0, self.sim.count(pattern=STOP))

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


class InstanceLockTest(base.DriverTestCase):
    """The per-instance locks of Partitions."""

    def test_one_lock_per_instance_while_it_is_used(self):
        partitions = self.driver.partitions
        first = partitions.lock('uuid-1')
        self.assertIs(first, partitions.lock('uuid-1'))
        self.assertIsNot(first, partitions.lock('uuid-2'))

    def test_locks_of_gone_instances_are_not_kept(self):
        instance, _c = self.build()
        self.driver.destroy(self.context, instance, [])
        gc.collect()
        self.assertEqual([], list(self.driver.partitions._instance_locks))


class ConsoleAndDumpTest(base.DriverTestCase):

    definitions = base.PER_DEFINITION
    fake_clock = True

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
        # Its job's status is deleted on the HMC.
        self.assertEqual({}, self.sim.jobs)
        self.assertEqual(power_state.RUNNING,
                         self.driver.get_info(self.server, False).state)

    def test_trigger_crash_dump_refused_when_stopped(self):
        self.driver.power_off(self.server)
        self.assertRaises(nova_exception.InstanceNotRunning,
                          self.driver.trigger_crash_dump, self.server)


class DriverStatusTest(base.DriverTestCase):
    """What the driver does with the statuses of a real HMC."""

    definitions = base.PER_DEFINITION
    start_driver = False
    fake_clock = True

    def test_stop_ending_terminated_is_stopped_again(self):
        # Without the second stop the driver waited for 'stopped' until
        # [dpm] hmc_operation_timeout.
        self.dpm_flags(hmc_operation_timeout=3)
        self.start()
        instance, _c = self.build()
        self.sim.configure(terminated_stops=1)
        self.sim.reset_counts()
        self.driver.power_off(instance)
        self.assertEqual('stopped',
                         self.faked_partition(instance).properties['status'])
        self.assertEqual(2, self.sim.count(pattern=STOP))
        self.assertIn('is terminated after a stop (attempt 1 of 3)',
                      self.logger.output)

    def test_stop_that_keeps_ending_terminated_is_bounded(self):
        self.dpm_flags(hmc_operation_timeout=10)
        self.start()
        instance, _c = self.build()
        self.sim.configure(terminated_stops=100)
        self.sim.reset_counts()
        exc = self.assertRaises(exception.HMCOperationFailed,
                                self.driver.power_off, instance)
        self.assertIn('still terminated after 3 stops', exc.format_message())
        self.assertEqual(3, self.sim.count(pattern=STOP))

    def test_destroy_of_a_partition_whose_stop_ends_terminated(self):
        self.dpm_flags(hmc_operation_timeout=3)
        self.start()
        instance, _c = self.build()
        self.sim.configure(terminated_stops=1)
        self.driver.destroy(self.context, instance, None)
        self.assertIsNone(self.faked_partition(instance))

    def test_stopped_read_right_after_the_start_job(self):
        # The status lags behind the job (HMC rules E3, harsher reading:
        # it still says 'stopped'). The old driver failed at once with
        # "it stopped again".
        self.start()
        instance, _c = self.build(power_on=False)
        self.driver.partitions.start_grace = 30
        self.sim.configure(start_status_lag=0.3, start_lag_status='stopped')
        self.driver.power_on(self.context, instance, None)
        self.assertEqual('active',
                         self.faked_partition(instance).properties['status'])

    def test_paused_read_right_after_the_start_job(self):
        self.start()
        instance, _c = self.build(power_on=False)
        self.driver.partitions.start_grace = 30
        self.sim.configure(start_status_lag=0.3, start_lag_status='paused')
        self.driver.power_on(self.context, instance, None)
        self.assertEqual('active',
                         self.faked_partition(instance).properties['status'])

    def test_paused_is_waited_for_as_long_as_zhmcclient_waits(self):
        # zhmcclient's Partition.start waits up to its status timeout
        # (60 s) for the status after the job; the old driver took a
        # 'paused' lasting 15 s for the outcome and deleted the
        # partition. Here 40 s pass between the first and every later
        # status read.
        self.start()
        instance, _c = self.build(power_on=False)
        self.driver.partitions.start_grace = \
            partition.Partitions.start_grace
        self.assertEqual(60.0, self.driver.partitions.start_grace)
        self.sim.configure(start_status_lag=0.3)
        ticks = iter([0.0])
        clock = types.SimpleNamespace(
            monotonic=lambda: next(ticks, 40.0), sleep=time.sleep)
        with mock.patch.object(partition, 'time', clock):
            self.driver.power_on(self.context, instance, None)
        self.assertEqual('active',
                         self.faked_partition(instance).properties['status'])

    def test_stopped_for_longer_than_the_grace_is_the_outcome(self):
        self.start()
        instance, _c = self.build(power_on=False)
        self.driver.partitions.start_grace = 0.2
        self.sim.configure(start_status_lag=3600, start_lag_status='stopped')
        exc = self.assertRaises(exception.HMCOperationFailed,
                                self.driver.power_on, self.context,
                                instance, None)
        self.assertIn("ended in status 'stopped' instead of active",
                      exc.format_message())

    def test_build_short_of_cpc_memory_is_rescheduled(self):
        self.edit_definition(short_cpc)
        self.start()
        instance = self.instance(memory_mb=4096)
        exc = self.assertRaises(nova_exception.ComputeResourcesUnavailable,
                                self.build, instance)
        message = exc.format_message()
        self.assertIn(self.driver.partitions.naming.name(instance.uuid),
                      message)
        self.assertIn('memory: the partition needs 4096 MiB, the CPC has '
                      '2048 MiB free', message)
        # Nothing is left behind.
        self.assertIsNone(self.faked_partition(instance))

    def test_power_on_short_of_memory_names_what_is_short(self):
        self.edit_definition(short_cpc)
        self.start()
        instance, _c = self.build(self.instance(memory_mb=4096),
                                  power_on=False)
        exc = self.assertRaises(exception.CPCResourcesShort,
                                self.driver.power_on, self.context,
                                instance, None)
        message = exc.format_message()
        self.assertIn('the CPC lacks the resources to start it: memory: the '
                      'partition needs 4096 MiB, the CPC has 2048 MiB free',
                      message)
        self.assertIn('the start ended with HTTP 409', message)
        # Only what is short: the CPC has the processors.
        self.assertNotIn('IFLs', message)
        self.assertNotIn('CPs', message)
        self.assertEqual(409, exc.kwargs['http_status'])

    def test_partition_gone_when_its_resources_are_read(self):
        # The start failed; the partition is deleted before its size is
        # read. Its unknown size is 0: nothing is reported short on a CPC
        # without a MiB free, the start's own error is.
        def no_memory_left(data):
            base.DriverTestCase.cpc_definition(data)['properties'][
                'storage-customer'] = 16384 + 65536
        self.edit_definition(no_memory_left)
        self.start()
        instance, _c = self.build(power_on=False)
        faked = self.faked_partition(instance)
        request = self.sim.request
        started = []

        def reads_partition(uri, body):
            if uri == faked.uri:
                return True
            return any(r.get('uri', '').startswith(faked.uri + '?') or
                       r.get('uri') == faked.uri
                       for r in (body or {}).get('requests', []))

        def hooked(method, uri, body=None, **kwargs):
            if uri.endswith('/operations/start'):
                started.append(uri)
            elif started and reads_partition(uri, body) and \
                    self.faked_partition(instance) is not None:
                self.faked_cpc.partitions.remove(faked.oid)
            return request(method, uri, body=body, **kwargs)

        self.sim.request = hooked
        exc = self.assertRaises(exception.HMCOperationFailed,
                                self.driver.power_on, self.context,
                                instance, None)
        self.assertNotIsInstance(exc, exception.CPCResourcesShort)
        self.assertIn('start partition', exc.format_message())
        self.assertIsNone(self.faked_partition(instance))

    def test_no_cps_on_a_linuxone(self):
        # A LinuxONE has IFLs only: a partition without CPs is not short
        # of them.
        def edit(data):
            short_cpc(data)
            base.DriverTestCase.cpc_definition(data)['properties'][
                'processor-count-general-purpose'] = 0
        self.edit_definition(edit)
        self.start()
        instance, _c = self.build(self.instance(memory_mb=4096),
                                  power_on=False)
        exc = self.assertRaises(exception.CPCResourcesShort,
                                self.driver.power_on, self.context,
                                instance, None)
        message = exc.format_message()
        self.assertIn('memory: the partition needs 4096 MiB', message)
        self.assertNotIn('CPs', message)

    def test_reservation_error_for_lack_of_memory(self):
        self.edit_definition(short_cpc)
        self.start()
        self.sim.configure(start_shortage='status')
        instance, _c = self.build(self.instance(memory_mb=4096),
                                  power_on=False)
        exc = self.assertRaises(exception.CPCResourcesShort,
                                self.driver.power_on, self.context,
                                instance, None)
        self.assertIn("2048 MiB free (the start ended with status "
                      "'reservation-error')", exc.format_message())

    def test_start_within_the_cpc_memory(self):
        self.edit_definition(short_cpc)
        self.start()
        instance, _c = self.build(self.instance(memory_mb=2048))
        self.assertEqual('active',
                         self.faked_partition(instance).properties['status'])


class OldHmcTest(base.DriverTestCase):
    """The z13 definition: HMC 2.13.1, API 1.7, SE 2.13.1."""

    definition = 'z13'

    def test_status_read_is_one_request(self):
        # Get Partition Properties has no properties filter before API 4.1:
        # one full read, not a refused filtered one and a full one.
        server, _c = self.build()
        self.sim.reset_counts()
        self.driver.get_info(server, use_cache=False)
        self.assertEqual([('GET', '/api/partitions/{id}')],
                         self.sim.requests)

    def test_console_output_of_missing_instance(self):
        # Not found first: the old driver answered NotImplementedError.
        self.assertRaises(nova_exception.InstanceNotFound,
                          self.driver.get_console_output, self.context,
                          self.instance())

    def test_console_output_needs_se_2_14(self):
        server, _c = self.build()
        self.sim.reset_counts()
        exc = self.assertRaises(NotImplementedError,
                                self.driver.get_console_output,
                                self.context, server)
        self.assertIn('SE 2.14.0 or later', str(exc))
        self.assertEqual(0, self.sim.count(
            'GET', '/api/partitions/{id}/operations/list-os-messages'))


class PartitionCacheTest(base.DriverTestCase):
    """What Partitions knows of the HMC, and when it asks again."""

    definitions = base.PER_DEFINITION
    fake_clock = True

    def fresh(self):
        """The Partitions of a compute service restarted just now."""
        return partition.Partitions(
            self.driver.hmc, self.driver.subset.cpc, base.HOST,
            self.driver.settings)

    def after_listings(self, *actions):
        """Run each action once the HMC answered a partition listing.

        Before the driver has the answer: something changes while the
        listing is under way.
        """
        pending = list(actions)
        request = self.sim.request
        listing = base.CPC_URI + '/partitions'

        def hooked(method, uri, *args, **kwargs):
            result = request(method, uri, *args, **kwargs)
            if method == 'GET' and uri.startswith(listing) and pending:
                pending.pop(0)()
            return result

        self.sim.request = hooked

    def test_lookup_lists_only_with_refresh(self):
        instance, _c = self.build(power_on=False)
        parts = self.fresh()
        self.sim.reset_counts()
        self.assertIsNone(parts.get(instance.uuid, refresh=False))
        self.assertEqual([], self.sim.requests)
        found = parts.get(instance.uuid)
        self.assertEqual(self.faked_partition(instance).uri, found.uri)
        self.assertEqual(parts.naming.name(instance.uuid), found.name)
        self.assertEqual([LIST], self.sim.requests)
        # Known from then on: no request.
        self.assertEqual(found.uri, parts.get(instance.uuid).uri)
        self.assertEqual(1, len(self.sim.requests))
        self.assertIsNone(parts.get(str(uuid_module.uuid4())))
        self.assertEqual([LIST, LIST], self.sim.requests)

    def test_status_read_keeps_a_partition_forgets_a_gone_one(self):
        instance, _c = self.build()
        parts = self.fresh()
        part = parts.get(instance.uuid)
        faked = self.faked_partition(instance)
        self.sim.set_status(faked.uri, 'stopped')
        self.assertEqual('stopped', parts.status(part))
        self.assertIn(instance.uuid, parts.known())
        # The cached statuses follow this service's own reads.
        self.sim.reset_counts()
        self.assertEqual('stopped', parts.statuses()[instance.uuid])
        self.assertEqual([], self.sim.requests)
        self.faked_cpc.partitions.remove(faked.oid)
        self.assertIsNone(parts.status(part))
        self.assertNotIn(instance.uuid, parts.known())
        self.assertIsNone(parts.uri(instance.uuid))
        self.assertNotIn(instance.uuid, parts.statuses())

    def test_statuses_are_kept_5_seconds(self):
        instance, _c = self.build()
        parts = self.fresh()
        parts.refresh()
        self.sim.set_status(self.faked_partition(instance).uri, 'stopped')
        self.sim.reset_counts()
        self.clock.sleep(4.9)
        self.assertEqual('active', parts.statuses()[instance.uuid])
        self.assertEqual([], self.sim.requests)
        self.clock.sleep(0.2)
        self.assertEqual('stopped', parts.statuses()[instance.uuid])
        self.assertEqual([LIST], self.sim.requests)
        self.clock.sleep(0.01)
        self.assertEqual('stopped', parts.statuses(max_age=0)[
            instance.uuid])
        self.assertEqual([LIST, LIST], self.sim.requests)

    def test_destroy_forgets_the_partition(self):
        instance, _c = self.build()
        parts = self.driver.partitions
        self.assertIn(instance.uuid, parts.known())
        self.driver.destroy(self.context, instance, None)
        self.assertNotIn(instance.uuid, parts.known())
        self.assertIsNone(parts.uri(instance.uuid))
        self.sim.reset_counts()
        self.assertIsNone(parts.get(instance.uuid, refresh=False))
        self.assertNotIn(instance.uuid, parts.statuses())

    def test_create_and_delete_during_a_listing_are_kept(self):
        old, _c = self.build(power_on=False)
        new = self.instance()
        parts = self.fresh()
        parts.refresh()
        old_part = parts.get(old.uuid)
        created = []
        self.after_listings(lambda: (
            created.append(parts.create(new)),
            parts.delete(old.uuid, old_part)))
        parts.refresh()
        self.assertEqual({new.uuid}, parts.known())
        self.assertEqual(created[0].uri, parts.uri(new.uuid))
        self.assertEqual({new.uuid: 'stopped'}, parts.statuses())

    def test_a_listing_older_than_another_keeps_the_changes(self):
        # Two listings under way; a create and a delete during the later
        # one. The earlier listing ends last and predates both.
        old, _c = self.build(power_on=False)
        new = self.instance()
        parts = self.fresh()
        parts.refresh()
        old_part = parts.get(old.uuid)
        self.after_listings(
            parts.refresh,
            lambda: (parts.create(new), parts.delete(old.uuid, old_part)))
        parts.refresh()
        self.assertEqual({new.uuid}, parts.known())

    def test_usage_counts_a_missing_size_as_0(self):
        instance, _c = self.build()
        # A partition of this subset with CPs: it has no ifl-processors.
        cpc = self.driver.hmc.client.cpcs.find(name='CPC1')
        cpc.partitions.create({
            'name': self.driver.partitions.naming.name(
                str(uuid_module.uuid4())),
            'cp-processors': 2,
            'initial-memory': 1024, 'maximum-memory': 1024})
        parts = self.fresh()
        self.sim.reset_counts()
        self.assertEqual((2, 4096 + 1024), parts.usage())
        if self.definition == 'z13':
            # API 1.7: the list carries no sizes; each is read once.
            self.assertEqual(2, self.sim.count(
                'GET', '/api/partitions/{id}'))
        else:
            self.assertEqual([LIST], self.sim.requests)
        self.sim.reset_counts()
        self.assertEqual((2, 4096 + 1024), parts.usage())
        self.assertEqual([LIST], self.sim.requests)


class StartStopTest(base.DriverTestCase):
    """Starts, stops and deletes the HMC refuses for the status."""

    definitions = base.PER_DEFINITION
    fake_clock = True

    def test_power_on_of_a_running_partition(self):
        instance, _c = self.build()
        self.sim.reset_counts()
        self.driver.power_on(self.context, instance, None)
        self.assertEqual('active',
                         self.faked_partition(instance).properties['status'])
        self.assertEqual(1, self.sim.count(pattern=START))
        self.assertEqual(0, self.sim.count(pattern=STOP))

    def test_power_on_of_a_paused_partition_stops_it_first(self):
        instance, _c = self.build()
        self.sim.set_status(self.faked_partition(instance).uri, 'paused')
        self.sim.reset_counts()
        self.driver.power_on(self.context, instance, None)
        self.assertEqual('active',
                         self.faked_partition(instance).properties['status'])
        self.assertEqual(1, self.sim.count(pattern=STOP))
        self.assertEqual(2, self.sim.count(pattern=START))
        self.assertEqual({}, self.sim.jobs)

    def test_stop_during_a_start_waits_it_out(self):
        instance, _c = self.build(power_on=False)
        self.sim.transition_time = 1
        cpc = self.driver.hmc.client.cpcs.find(name='CPC1')
        cpc.partitions.find(name=self.faked_partition(
            instance).properties['name']).start(wait_for_completion=False)
        self.assertEqual('starting',
                         self.faked_partition(instance).properties['status'])
        self.sim.reset_counts()
        self.driver.power_off(instance)
        self.assertEqual('stopped',
                         self.faked_partition(instance).properties['status'])
        # Refused while starting, then made once active.
        self.assertEqual(2, self.sim.count(pattern=STOP))

    def test_partition_gone_during_the_stop_is_forgotten(self):
        instance, _c = self.build()
        faked = self.faked_partition(instance)
        self.sim.transition_time = 1
        self.on_poll(lambda: self.faked_cpc.partitions.remove(faked.oid),
                     what=faked.properties['name'])
        self.driver.power_off(instance)
        self.assertIsNone(self.faked_partition(instance))
        self.assertNotIn(instance.uuid, self.driver.partitions.known())

    def test_partition_gone_during_the_start(self):
        instance, _c = self.build(power_on=False)
        faked = self.faked_partition(instance)
        self.on_poll(lambda: self.faked_cpc.partitions.remove(faked.oid),
                     what=faked.properties['name'])
        exc = self.assertRaises(exception.HMCOperationFailed,
                                self.driver.power_on, self.context,
                                instance, None)
        self.assertIn('the partition is gone', exc.format_message())
        self.assertNotIn(instance.uuid, self.driver.partitions.known())

    def test_delete_of_a_partition_nova_believes_stopped(self):
        instance, _c = self.build()
        instance.power_state = power_state.SHUTDOWN
        self.sim.reset_counts()
        self.driver.destroy(self.context, instance, None)
        self.assertIsNone(self.faked_partition(instance))
        # Refused while active, stopped, deleted.
        self.assertEqual(1, self.sim.count(pattern=STOP))
        self.assertEqual(2, self.sim.count(*DELETE))

    def test_delete_of_a_partition_gone_meanwhile(self):
        instance, _c = self.build(power_on=False)
        self.faked_cpc.partitions.remove(self.faked_partition(instance).oid)
        part = self.driver.partitions.get(instance.uuid)
        self.driver.partitions.delete(instance.uuid, part)
        self.assertNotIn(instance.uuid, self.driver.partitions.known())

    def test_destroy_of_a_partition_gone_that_nova_believes_running(self):
        # Deleted on the HMC (or by a destroy whose answer was lost) while
        # this service still knows its URI: the stop meets 404. The old
        # driver failed the destroy with that 404.
        instance, _c = self.build()
        self.assertEqual(power_state.RUNNING, instance.power_state)
        self.faked_cpc.partitions.remove(self.faked_partition(instance).oid)
        self.sim.reset_counts()
        self.driver.destroy(self.context, instance, None)
        self.assertEqual(1, self.sim.count(pattern=STOP))
        self.assertNotIn(instance.uuid, self.driver.partitions.known())

    def test_delete_refused_twice_is_reported(self):
        instance, _c = self.build(power_on=False)
        part = self.driver.partitions.get(instance.uuid)
        for _ in range(2):
            self.sim.inject_fault('busy', *DELETE)
        exc = self.assertRaises(exception.HMCOperationFailed,
                                self.driver.partitions.delete,
                                instance.uuid, part)
        self.assertIn('delete partition', exc.format_message())
        self.assertIsNotNone(self.faked_partition(instance))
        self.assertIn(instance.uuid, self.driver.partitions.known())

    def test_gone_at_the_second_delete_is_success(self):
        instance, _c = self.build(power_on=False)
        part = self.driver.partitions.get(instance.uuid)
        faked = self.faked_partition(instance)
        self.sim.inject_fault('busy', *DELETE)
        request = self.sim.request

        def gone_at_the_stop(method, uri, *args, **kwargs):
            if uri.endswith('/operations/stop'):
                self.faked_cpc.partitions.remove(faked.oid)
            return request(method, uri, *args, **kwargs)

        self.sim.request = gone_at_the_stop
        self.driver.partitions.delete(instance.uuid, part)
        self.assertNotIn(instance.uuid, self.driver.partitions.known())


load_tests = base.load_tests
