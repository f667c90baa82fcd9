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

"""The guest OS model: Send OS Command, List OS Messages, PSW Restart."""

import zhmcclient

from nova_dpm.simulator import guest
from nova_dpm.tests.unit.simulator import base

OS_CMD = 'POST /api/partitions/{id}/operations/send-os-cmd'
LIST = 'GET /api/partitions/{id}/operations/list-os-messages'
RESTART = 'POST /api/partitions/{id}/operations/psw-restart'
FIELDS = {'sequence-number', 'message-text', 'message-id', 'timestamp',
          'sound-alarm', 'is-priority', 'is-held', 'prompt-text', 'os-name'}


class GuestTestCase(base.TestCase):

    def running(self, env, name='inst-1'):
        """A partition that boots from its NIC and is active."""
        p = env.partition(name)
        nic = env.nic(p)
        p.update_properties({'boot-device': 'network-adapter',
                             'boot-network-device': nic.uri})
        p.start()
        self.assertEqual('active', self.status(env, p))
        return p

    @staticmethod
    def status(env, p):
        p.pull_properties(['status'])
        return p.get_property('status')

    @staticmethod
    def seqs(result):
        return [m['sequence-number'] for m in result['os-messages']]


class MockTest(GuestTestCase):

    def test_the_mock_has_no_guest(self):
        # zhmcclient.mock: 404 for the OS message operations; PSW restart
        # only synchronously and without any effect.
        env = self.env(strict=False)
        p = env.cpc.partitions.find(name='LINUX01')
        self.assertHttpError(404, None, p.send_os_command, 'shutdown -h now')
        self.assertHttpError(404, None, p.list_os_messages)
        self.assertRaises(AssertionError, p.psw_restart,
                          wait_for_completion=False)
        self.assertEqual({}, p.psw_restart())
        self.assertEqual('active', self.status(env, p))

    def test_the_simulator_has_one(self):
        env = self.env()
        p = env.cpc.partitions.find(name='LINUX01')
        p.send_os_command('uname -a')
        # The dpm_console_listener (the default console) ignores it.
        self.assertEqual(['uname -a', guest.LISTENER_IGNORES % 'uname -a'],
                         env.sim.os_messages(p.uri))
        self.assertEqual(2, len(p.list_os_messages()['os-messages']))
        self.assertIsInstance(p.psw_restart(wait_for_completion=False),
                              zhmcclient.Job)


class ShutdownTest(GuestTestCase):

    def test_honoured_by_default(self):
        # Also for a partition never configured with set_guest.
        env = self.env()
        p = self.running(env)
        self.assertIsNone(p.send_os_command('shutdown -h now'))
        self.assertEqual('paused', self.status(env, p))
        texts = env.sim.os_messages(p.uri)
        i = texts.index('shutdown -h now')
        self.assertIn('[  OK  ] Reached target shutdown.target - System '
                      'Shutdown.', texts[i:])
        self.assertEqual(guest.POWER_DOWN, texts[-1])
        # The OS is not running any more.
        self.assertHttpError(409, 1, p.send_os_command, 'poweroff')

    def test_outcome_stopped(self):
        env = self.env()
        p = self.running(env)
        env.sim.set_guest(p.uri, shutdown_outcome='stopped')
        p.send_os_command('halt')
        self.assertEqual('stopped', self.status(env, p))
        self.assertEqual(guest.HALTED, env.sim.os_messages(p.uri)[-1])

    def test_all_shutdown_commands(self):
        env = self.env()
        for n, command in enumerate(sorted(guest.SHUTDOWN_COMMANDS)):
            p = self.running(env, 'p%d' % n)
            p.send_os_command(command)
            self.assertEqual('paused', self.status(env, p), command)

    def test_ignored(self):
        env = self.env()
        p = self.running(env)
        env.sim.set_guest(p.uri, honours_shutdown=False)
        before = len(env.sim.os_messages(p.uri))
        p.send_os_command('shutdown -h now')
        self.assertEqual('active', self.status(env, p))
        self.assertEqual(['shutdown -h now'],
                         env.sim.os_messages(p.uri)[before:])

    def test_login_prompt_takes_commands_as_user_and_password(self):
        env = self.env()
        p = self.running(env)
        env.sim.set_guest(p.uri, console='login')
        p.stop()
        p.start()
        self.assertEqual('inst-1 login: ', env.sim.os_messages(p.uri)[-1])
        before = len(env.sim.os_messages(p.uri))
        p.send_os_command('shutdown -h now')
        self.assertEqual('active', self.status(env, p))
        self.assertEqual(['shutdown -h now', 'Password: '],
                         env.sim.os_messages(p.uri)[before:])
        p.send_os_command('shutdown -h now')
        self.assertEqual('active', self.status(env, p))
        self.assertEqual(['', 'Login incorrect', 'inst-1 login: '],
                         env.sim.os_messages(p.uri)[before + 3:])

    def test_console_nobody_reads(self):
        env = self.env()
        p = self.running(env)
        env.sim.set_guest(p.uri, console='none')
        before = env.sim.os_messages(p.uri)
        p.send_os_command('shutdown -h now')
        self.assertEqual('active', self.status(env, p))
        self.assertEqual(before, env.sim.os_messages(p.uri))

    def test_listener_acknowledges(self):
        env = self.env()
        p = self.running(env)
        env.sim.set_guest(p.uri, shutdown_delay=3600)
        before = len(env.sim.os_messages(p.uri))
        p.send_os_command('shutdown  -h now')
        self.assertEqual(['shutdown  -h now',
                          guest.LISTENER_RUNS % 'shutdown -h now'],
                         env.sim.os_messages(p.uri)[before:before + 2])

    def test_other_commands_are_only_echoed(self):
        env = self.env()
        p = self.running(env)
        p.send_os_command('shutdown -r now', is_priority=True)
        self.assertEqual('active', self.status(env, p))
        last = p.list_os_messages()['os-messages'][-1]
        self.assertEqual('shutdown -r now\n', last['message-text'])
        self.assertTrue(last['is-priority'])

    def test_delay(self):
        env = self.env()
        p = self.running(env)
        env.sim.set_guest(p.uri, shutdown_delay=3600)
        p.send_os_command('poweroff')
        self.assertEqual('active', self.status(env, p))
        self.assertNotIn(guest.POWER_DOWN, env.sim.os_messages(p.uri))
        env.sim.complete_transitions()
        self.assertEqual('paused', self.status(env, p))
        self.assertEqual(guest.POWER_DOWN, env.sim.os_messages(p.uri)[-1])

    def test_stop_during_delay_ends_the_shutdown(self):
        env = self.env()
        p = self.running(env)
        env.sim.set_guest(p.uri, shutdown_delay=3600)
        p.send_os_command('poweroff')
        p.stop()
        p.start()
        env.sim.complete_transitions()
        # The new OS instance is not halted by the old command.
        self.assertEqual('active', self.status(env, p))

    def test_set_status_ends_the_shutdown(self):
        env = self.env()
        p = self.running(env)
        env.sim.set_guest(p.uri, shutdown_delay=3600)
        p.send_os_command('poweroff')
        env.sim.set_status(p.uri, 'degraded')
        env.sim.complete_transitions()
        self.assertEqual('degraded', self.status(env, p))


class SendOsCommandRulesTest(GuestTestCase):

    def test_refused_unless_the_os_runs(self):
        # [INFER] 409,1 when no OS runs.
        env = self.env()
        p = env.partition()
        self.assertHttpError(409, 1, p.send_os_command, 'uname -a')
        for status in ('paused', 'terminated', 'reservation-error'):
            env.set_status(p.uri, status)
            self.assertHttpError(409, 1, p.send_os_command, 'uname -a')
        env.set_status(p.uri, 'degraded')
        p.send_os_command('uname -a')
        env.begin(p, 'stop')
        self.assertHttpError(409, 1, p.send_os_command, 'uname -a')

    def test_body(self):
        env = self.env()
        p = self.running(env)
        uri = p.uri + '/operations/send-os-cmd'
        text = guest.TEXT
        self.assertHttpError(400, 5, env.session.post, uri,
                             body={'is-priority': False})
        for bad in ('', 'x' * (guest.COMMAND_MAX + 1), 42, None):
            self.assertHttpError(400, 7, env.session.post, uri,
                                 body={text: bad})
        self.assertHttpError(400, 7, env.session.post, uri,
                             body={text: 'ls', 'is-priority': 'yes'})
        self.assertHttpError(400, 6, env.session.post, uri,
                             body={text: 'ls', 'bogus': 1})
        env.session.post(uri, body={text: 'x' * guest.COMMAND_MAX})
        env.session.post(uri, body={text: 'ls'})
        self.assertEqual('ls', env.sim.os_messages(p.uri)[-2])

    def test_missing_partition(self):
        env = self.env()
        self.assertHttpError(
            404, 1, env.session.post,
            '/api/partitions/nope/operations/send-os-cmd',
            body={guest.TEXT: 'ls'})
        self.assertHttpError(
            404, 1, env.session.get,
            '/api/partitions/nope/operations/list-os-messages')


class OsMessagesTest(GuestTestCase):

    def test_boot_messages(self):
        env = self.env()
        p = self.running(env)
        texts = env.sim.os_messages(p.uri)
        self.assertTrue(texts[0].startswith('Linux version '))
        nic = env.faked(p.nics.list()[0].uri).properties
        self.assertIn('qeth 0.0.%s: Device is a OSD Express card (level: '
                      '0199) with link type OSD_10GIG.'
                      % nic['device-number'], texts)
        self.assertEqual(guest.LISTENER_READY, texts[-1])
        for msg in p.list_os_messages()['os-messages']:
            self.assertEqual(FIELDS, set(msg))
            self.assertTrue(msg['message-text'].endswith('\n'))
        # A stop writes nothing (the OS is stopped from outside); a new
        # start boots again.
        p.stop()
        self.assertEqual(texts, env.sim.os_messages(p.uri))
        # ... and the messages stay readable.
        self.assertEqual(len(texts), len(p.list_os_messages()['os-messages']))
        p.start()
        self.assertEqual(2 * len(texts), len(env.sim.os_messages(p.uri)))

    def test_no_boot_messages_without_an_os(self):
        env = self.env()
        p = env.partition()
        p.start(wait_for_completion=False)
        self.assertEqual('paused', self.status(env, p))
        self.assertEqual([], env.sim.os_messages(p.uri))
        self.assertEqual({'os-messages': []}, p.list_os_messages())

    def test_boot_from_hba(self):
        env = self.env(definition='z13')
        p = env.partition()
        hba = env.hba(p)
        p.update_properties({'boot-device': 'storage-adapter',
                             'boot-storage-device': hba.uri,
                             'boot-world-wide-port-name': base.TARGET,
                             'boot-logical-unit-number': base.LUN})
        p.start()
        devno = env.faked(hba.uri).properties['device-number']
        self.assertIn('zfcp 0.0.%s: LUN 0x%s at port 0x%s is ready'
                      % (devno, base.LUN, base.TARGET),
                      env.sim.os_messages(p.uri))

    def test_boot_from_volume(self):
        env = self.env()
        p = env.partition()
        sg = env.group(volumes=[{'name': 'boot', 'usage': 'boot',
                                 'size': 10.0}])
        p.attach_storage_group(sg)
        env.connect(sg)
        sv = sg.storage_volumes.find(name='boot')
        sv.indicate_fulfillment_fcp(base.TARGET, base.LUN,
                                    env.port(base.FCP_A_PORT))
        p.update_properties({'boot-device': 'storage-volume',
                             'boot-storage-volume': sv.uri})
        p.start()
        texts = env.sim.os_messages(p.uri)
        luns = [t for t in texts if ' LUN 0x%s ' % base.LUN in t]
        self.assertTrue(luns)
        for text in luns:
            self.assertTrue(text.startswith('zfcp 0.0.'))

    def test_begin_and_end(self):
        env = self.env()
        p = env.partition()
        for i in range(10):
            env.sim.add_os_message(p.uri, 'message %d' % i)
        self.assertEqual(list(range(10)), self.seqs(p.list_os_messages()))
        self.assertEqual([3, 4, 5],
                         self.seqs(p.list_os_messages(begin=3, end=5)))
        self.assertEqual([8, 9], self.seqs(p.list_os_messages(begin=8)))
        self.assertEqual([0, 1], self.seqs(p.list_os_messages(end=1)))
        self.assertEqual([], self.seqs(p.list_os_messages(begin=20)))
        self.assertEqual(
            ['message 4'],
            [m['message-text'].rstrip('\n') for m in
             p.list_os_messages(begin=4, end=4)['os-messages']])

    def test_other_query_parameters(self):
        env = self.env()
        p = self.running(env)
        p.send_os_command('uname -a', is_priority=True)
        uri = p.uri + '/operations/list-os-messages'
        result = env.session.get(uri + '?is-priority=true')
        self.assertEqual(['uname -a\n'], [m['message-text'] for m in
                                          result['os-messages']])
        result = env.session.get(uri + '?max-messages=2')
        self.assertEqual([0, 1], self.seqs(result))
        for query in ('?bogus=1', '?begin-sequence-number=x',
                      '?end-sequence-number=-1', '?is-held=yes'):
            self.assertHttpError(400, 1, env.session.get, uri + query)

    def test_at_most_1000_messages(self):
        env = self.env()
        p = env.partition()
        for i in range(guest.MAX_MESSAGES + 5):
            env.sim.add_os_message(p.uri, 'line %d' % i)
        seqs = self.seqs(p.list_os_messages())
        self.assertEqual(guest.MAX_MESSAGES, len(seqs))
        # The oldest are gone; sequence numbers go on.
        self.assertEqual(5, seqs[0])
        self.assertEqual(guest.MAX_MESSAGES + 4, seqs[-1])
        texts = env.sim.os_messages(p.uri)
        self.assertEqual(guest.MAX_MESSAGES, len(texts))
        self.assertEqual('line 5', texts[0])
        env.sim.add_os_message(p.uri, 'one more')
        self.assertEqual(guest.MAX_MESSAGES + 5,
                         self.seqs(p.list_os_messages())[-1])

    def test_deleted_partition_loses_its_messages(self):
        env = self.env()
        p = env.partition()
        env.sim.add_os_message(p.uri, 'hello')
        p.delete()
        self.assertRaises(ValueError, env.sim.os_messages, p.uri)
        self.assertNotIn(p.uri, env.sim.guests)


class PswRestartTest(GuestTestCase):

    def test_no_wait(self):
        env = self.env()
        p = self.running(env)
        env.sim.reset_counts()
        job = p.psw_restart(wait_for_completion=False)
        self.assertIsInstance(job, zhmcclient.Job)
        self.assertIsNone(job.wait_for_completion())
        self.assertEqual('active', self.status(env, p))
        texts = env.sim.os_messages(p.uri)
        i = texts.index('Starting crash kernel...')
        self.assertIn('kdump: saving vmcore complete', texts[i:])
        # The crash kernel rebooted the system.
        self.assertEqual(guest.LISTENER_READY, texts[-1])
        self.assertEqual(1, env.sim.count(pattern=RESTART))
        self.assertEqual(1, env.sim.count('GET', '/api/jobs/{id}'))

    def test_wait(self):
        env = self.env()
        p = self.running(env)
        self.assertIsNone(p.psw_restart())
        self.assertIn('Starting crash kernel...', env.sim.os_messages(p.uri))
        self.assertEqual('active', self.status(env, p))
        self.assertEqual({}, env.sim.jobs)

    def test_wait_with_a_restart_time(self):
        env = self.env()
        p = self.running(env)
        env.sim.restart_time = 0.01
        self.assertIsNone(p.psw_restart(wait_for_completion=True,
                                        operation_timeout=60))
        self.assertIn('Starting crash kernel...', env.sim.os_messages(p.uri))

    def test_job_in_progress(self):
        env = self.env()
        p = self.running(env)
        env.sim.restart_time = 3600
        job = p.psw_restart(wait_for_completion=False)
        self.assertEqual('running', env.session.get(job.uri)['status'])
        self.assertNotIn('Starting crash kernel...',
                         env.sim.os_messages(p.uri))
        # zhmcclient: "This job does not support cancellation."
        self.assertHttpError(404, 4, job.cancel)
        # [UNCERTAIN] one PSW restart at a time.
        self.assertHttpError(409, 2, p.psw_restart,
                             wait_for_completion=False)
        env.sim.complete_transitions()
        self.assertIsNone(job.wait_for_completion())
        self.assertIn('Starting crash kernel...', env.sim.os_messages(p.uri))

    def test_stop_during_the_restart(self):
        env = self.env()
        p = self.running(env)
        env.sim.restart_time = 3600
        job = p.psw_restart(wait_for_completion=False)
        p.stop()
        env.sim.complete_transitions()
        exc = self.assertRaises(zhmcclient.HTTPError,
                                job.wait_for_completion)
        self.assertEqual((409, 1), (exc.http_status, exc.reason))

    def test_refused_when_stopped(self):
        env = self.env()
        p = env.partition()
        self.assertHttpError(409, 1, p.psw_restart,
                             wait_for_completion=False)
        self.assertHttpError(409, 1, p.psw_restart)
        self.assertEqual({}, env.sim.jobs)
        for status in ('reservation-error', 'starting'):
            env.set_status(p.uri, status)
            self.assertHttpError(409, 1, p.psw_restart)

    def test_allowed_without_an_os(self):
        # MOCK accepts paused and terminated; no OS runs: no effect.
        env = self.env()
        p = env.partition()
        for status in ('paused', 'terminated'):
            env.set_status(p.uri, status)
            self.assertIsNone(p.psw_restart())
            self.assertEqual(status, self.status(env, p))
        self.assertEqual([], env.sim.os_messages(p.uri))

    def test_without_kdump(self):
        env = self.env()
        p = self.running(env)
        env.sim.set_guest(p.uri, kdump=False)
        p.psw_restart()
        self.assertEqual('terminated', self.status(env, p))
        texts = env.sim.os_messages(p.uri)
        self.assertEqual('Starting crash kernel...', texts[-2])
        self.assertNotIn('kdump: saving vmcore complete', texts)
        # Out of 'terminated' with Stop (HMC rule E4).
        p.stop()
        self.assertEqual('stopped', self.status(env, p))

    def test_defaults(self):
        env = self.env()
        env.sim.set_guest_defaults(kdump=False)
        p = self.running(env)
        p.psw_restart()
        self.assertEqual('terminated', self.status(env, p))


class PipelineTest(GuestTestCase):
    """The new operations go through the common request pipeline."""

    def test_counting(self):
        env = self.env()
        p = self.running(env)
        env.sim.reset_counts()
        p.send_os_command('ls')
        p.list_os_messages(begin=1, end=2)
        p.psw_restart()
        self.assertEqual(1, env.sim.count(pattern=OS_CMD))
        self.assertEqual(1, env.sim.count(pattern=LIST))
        self.assertEqual(1, env.sim.count(pattern=RESTART))

    def test_faults(self):
        env = self.env()
        p = self.running(env)
        before = env.sim.os_messages(p.uri)
        env.sim.inject_fault('busy', 'POST', OS_CMD)
        self.assertHttpError(409, 2, p.send_os_command, 'shutdown -h now')
        # Not performed.
        self.assertEqual(before, env.sim.os_messages(p.uri))
        self.assertEqual('active', self.status(env, p))
        env.sim.inject_fault('connection', 'GET', LIST)
        self.assertRaises(zhmcclient.ConnectionError, p.list_os_messages)
        env.sim.inject_fault('timeout', 'POST', OS_CMD)
        self.assertRaises(zhmcclient.ReadTimeout, p.send_os_command,
                          'shutdown -h now')
        # A timed-out POST was performed.
        self.assertEqual('paused', self.status(env, p))
        env.sim.inject_fault('http500', 'POST', RESTART)
        self.assertHttpError(500, 0, p.psw_restart)

    def test_results_are_copies(self):
        env = self.env()
        p = env.partition()
        env.sim.add_os_message(p.uri, 'hello')
        result = p.list_os_messages()
        result['os-messages'][0]['message-text'] = 'changed'
        del result['os-messages'][:]
        self.assertEqual(['hello'], env.sim.os_messages(p.uri))
        texts = env.sim.os_messages(p.uri)
        texts.append('x')
        self.assertEqual(['hello'], env.sim.os_messages(p.uri))

    def test_set_guest_checks(self):
        env = self.env()
        p = env.partition()
        self.assertRaises(ValueError, env.sim.set_guest, p.uri,
                          shutdown_outcome='active')
        self.assertRaises(ValueError, env.sim.set_guest, p.uri,
                          shutdown_delay=-1)
        self.assertRaises(ValueError, env.sim.set_guest_defaults, bogus=1)
        self.assertRaises(ValueError, env.sim.set_guest, p.uri,
                          console='shell')
        self.assertRaises(ValueError, env.sim.set_guest,
                          '/api/partitions/nope')
        self.assertRaises(ValueError, env.sim.add_os_message,
                          env.cpc.uri, 'x')
