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

"""nova_dpm/hmc.py: sessions, TLS, logon, permissions, waiting.

The production path (a real zhmcclient.Session over TLS against the
simulator served on 127.0.0.1), logon refused and re-logon, untrusted
certificates, missing permissions, the session factories (the driver never
needs the simulator), the session settings, the one waiting primitive with
its poll budget (on a fake clock) and the seam every driver wait goes
through, and requests an old HMC does not have (aggregation).
"""

import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
from unittest import mock

import fixtures
from nova.compute import power_state
from nova.compute import task_states
from nova import exception as nova_exception
import requests
import testtools
import zhmcclient

from nova_dpm import exception
from nova_dpm import hmc
from nova_dpm import hmc as hmc_module
from nova_dpm.simulator import certs
from nova_dpm.tests.unit import base


def _rmtree(path):
    shutil.rmtree(path, ignore_errors=True)


THREADS = 20
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


# Run first in every child: a Python on which the simulator's extra is not
# installed (a newer zhmcclient than the simulator's), then the given code;
# the child prints one JSON document.
_CHILD_PRELUDE = textwrap.dedent('''
    import json, os, sys
    os.environ['OS_NOVA_DISABLE_EVENTLET_PATCHING'] = '1'
    import zhmcclient
    zhmcclient.__version__ = '1.30.0'
    from nova_dpm import conf as dpm_conf
    values = {opt.dest: opt.default for opt in dpm_conf.dpm_opts}
    values.update(hmc_username='nova', hmc_password='secret',
                  cpc_object_id=%r,
                  max_processors=2, max_memory=4096)
''' % base.CPC_ID)


def _settings(**kw):
    from nova_dpm import conf as dpm_conf
    values = {opt.dest: opt.default for opt in dpm_conf.dpm_opts}
    values.update(hmc_username='nova', hmc_password='secret', **kw)
    return dpm_conf.Settings(**values)


JOB_GET = 'GET /api/jobs/{id}'


class HttpsAuthTestCase(base.DriverTestCase):
    transport = 'https'
    start_driver = False

    def setUp(self):
        super().setUp()
        self.sleeps = []
        self.useFixture(fixtures.MonkeyPatch(
            'nova_dpm.hmc.time.sleep', self.sleeps.append))

    def restart(self, **flags):
        """A new driver with changed [dpm] options, on the same server."""
        self.dpm_flags(**flags)
        self.driver = base.driver.DPMDriver(virtapi=None)
        return self.driver

    def assert_clean(self, message):
        self.assertNotIn(base.PASSWORD, message)
        self.assertNotIn('wrong-password', message)


class Observer(object):
    """Records the polls of every wait, per thread."""

    def __init__(self):
        self.local = threading.local()
        self.polls = []
        self.waits = []

    def poll_begins(self, what, deadline):
        self.local.polling = True
        self.polls.append(what)

    def poll_ends(self, what, deadline):
        self.local.polling = False

    def wait_ends(self, what, deadline, polls, seconds):
        self.waits.append((what, polls))

    def polling(self):
        return getattr(self.local, 'polling', False)


class FakeClock(object):
    """time.monotonic and time.sleep of nova_dpm.hmc, without waiting."""

    def __init__(self):
        self.now = 1000.0

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.now += max(0.0, seconds)


class _RawUris(object):
    """Every top-level request with its query string and outcome."""

    def __init__(self, sim):
        self.log = []
        self._orig = sim.request
        self._local = threading.local()
        sim.request = self._request

    def _request(self, method, uri, *args, **kwargs):
        depth = getattr(self._local, 'depth', 0)
        self._local.depth = depth + 1
        status = 'ok'
        try:
            return self._orig(method, uri, *args, **kwargs)
        except Exception as exc:
            status = getattr(exc, 'http_status', type(exc).__name__)
            raise
        finally:
            self._local.depth = depth
            if depth == 0:
                self.log.append((method.upper(), uri, status))


class SessionSettingsTest(testtools.TestCase):
    """How [dpm] options become a zhmcclient session (no connection)."""

    def settings(self, **kw):
        from nova_dpm import conf as dpm_conf
        values = {opt.dest: opt.default for opt in dpm_conf.dpm_opts}
        values.update(hmc_username='nova', hmc_password='secret', **kw)
        return dpm_conf.Settings(**values)

    def session(self, **kw):
        from nova_dpm import hmc
        return hmc.HMC(self.settings(**kw))._make_session()

    def test_ipv6_addresses_are_bracketed(self):
        session = self.session(hmc=['fd00::10', '192.0.2.10', 'hmc.example'])
        self.assertEqual(['[fd00::10]', '192.0.2.10', 'hmc.example'],
                         session._hosts)

    def test_certificate_verification(self):
        self.assertIs(True, self.session(hmc=['h'])._verify_cert)
        self.assertEqual('/etc/ca.pem', self.session(
            hmc=['h'], hmc_ca_bundle='/etc/ca.pem')._verify_cert)
        self.assertIs(False, self.session(
            hmc=['h'], hmc_verify_cert=False,
            hmc_ca_bundle='/etc/ca.pem')._verify_cert)

    def test_timeouts_and_retries(self):
        config = self.session(hmc=['h'], hmc_connect_timeout=7,
                              hmc_connect_retries=2, hmc_read_timeout=90,
                              hmc_operation_timeout=600).retry_timeout_config
        self.assertEqual((7, 2, 90, 600),
                         (config.connect_timeout, config.connect_retries,
                          config.read_timeout, config.operation_timeout))


class HttpsLifecycleTest(base.DriverTestCase):
    transport = 'https'

    def test_lifecycle_over_tls(self):
        self.assertEqual(1, self.server.logons)
        server, connector = self.build()
        part = self.faked_partition(server)
        self.assertEqual('active', part.properties['status'])
        self.driver.power_off(server)
        self.driver.power_on(self.context, server, None)
        self.driver.reboot(self.context, server, None, 'SOFT')
        self.assertEqual(power_state.RUNNING,
                         self.driver.get_info(server, False).state)
        server.task_state = task_states.DELETING
        self.driver.destroy(self.context, server, None)
        self.assertIsNone(self.faked_partition(server))
        self.assertEqual(1, self.server.logons)

    def test_expired_session_is_renewed_transparently(self):
        server, _c = self.build()
        self.server.expire_session()
        self.driver.power_off(server)
        self.assertEqual('stopped',
                         self.faked_partition(server).properties['status'])
        self.assertEqual(2, self.server.logons)

    def test_session_that_keeps_expiring_gives_a_clear_error(self):
        server, _c = self.build()
        self.server.expire_sessions_always(True)
        exc = self.assertRaises(exception.HMCUnavailable,
                                self.driver.power_off, server)
        self.assertIn('stop partition', exc.format_message())
        self.assertNotIn(base.PASSWORD, exc.format_message())

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
        server, _c = self.build()
        self.driver.power_off(server)
        self.sim.inject_fault('http500', 'POST',
                              '/api/partitions/{id}/operations/start')
        exc = self.assertRaises(exception.HMCOperationFailed,
                                self.driver.power_on, self.context, server,
                                None)
        self.assertNotIn(base.PASSWORD, exc.format_message())
        server.task_state = task_states.DELETING
        self.driver.destroy(self.context, server, None)
        text = '\n'.join(records) + self.logger.output
        self.assertGreater(len(records), 50)
        self.assertIn('POST /api/sessions', text)
        self.assertNotIn(base.PASSWORD, text)


class HttpsConnectionTest(base.DriverTestCase):
    transport = 'https'
    start_driver = False

    def test_failover_to_the_second_hmc(self):
        self.start()
        # 127.0.0.2 is loopback too, but nothing listens there.
        self.dpm_flags(hmc=['127.0.0.2', '127.0.0.1'])
        self.driver.cleanup_host(base.HOST)
        self.driver.init_host(base.HOST)
        self.assertEqual('127.0.0.1', self.driver.hmc.session.actual_host)
        self.assertEqual([], self.driver.list_instance_uuids())

    def test_untrusted_certificate_is_refused_clearly(self):
        other = tempfile.mkdtemp()
        self.addCleanup(_rmtree, other)
        paths = certs.write_cert_dir(other)   # a CA the server did not use
        self.start_with_ca(paths.ca_file,
                           'certificate verify failed')

    def test_missing_ca_file_is_refused_clearly(self):
        self.start()
        self.dpm_flags(hmc_ca_bundle='/nonexistent/ca.pem')
        exc = self.assertRaises(exception.InvalidConfiguration,
                                self.driver.init_host, base.HOST)
        self.assertIn('[dpm] hmc_ca_bundle', exc.format_message())

    def start_with_ca(self, ca_file, words):
        self.start()
        self.dpm_flags(hmc_ca_bundle=ca_file)
        self.driver = base.driver.DPMDriver(virtapi=None)
        exc = self.assertRaises(exception.HMCUnavailable,
                                self.driver.init_host, base.HOST)
        message = exc.format_message()
        self.assertIn(words, message)
        self.assertIn('127.0.0.1', message)
        self.assertNotIn(base.PASSWORD, message)


class LogonRefusedTest(HttpsAuthTestCase):

    def test_refused_logon_fails_at_once_with_one_attempt(self):
        self.start()
        self.restart(hmc_password='wrong-password')
        stop = self.assertRaises(exception.RefusedToStart,
                                 self.driver.init_host, base.HOST)
        self.assertEqual(78, stop.code)
        exc = stop.error
        self.assertIsInstance(exc, exception.HMCLogonRefused)
        message = exc.format_message()
        self.assertIn('the HMC refused the logon of user nova', message)
        self.assertIn('HTTP 403 reason 0', message)
        self.assertIn('127.0.0.1', message)
        self.assert_clean(message)
        self.assert_clean(self.logger.output)
        # One attempt, no wait: repeated failures disable the HMC user.
        self.assertEqual(1, self.server.failed_logons)
        self.assertEqual([], self.sleeps)
        self.assertFalse(self.server.user_disabled)

    def test_refusal_is_remembered_by_every_thread(self):
        # The password is changed on the HMC while nova-compute runs; the
        # session expires. Each driver call of each thread fails, but the
        # HMC sees a single failed logon, and the user stays enabled.
        self.start()
        self.server.password = 'changed-on-the-hmc'
        self.server.expire_session()
        errors = []

        def call():
            try:
                self.driver.list_instance_uuids()
            except exception.HMCUnavailable as exc:
                errors.append(exc)

        threads = [threading.Thread(target=call) for _ in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        self.assertRaises(exception.HMCLogonRefused,
                          self.driver.list_instance_uuids)
        self.assertEqual(THREADS, len(errors))
        for exc in errors:
            self.assertIsInstance(exc, exception.HMCLogonRefused)
            self.assertIn('refused the logon of user nova',
                          exc.format_message())
        self.assertEqual(1, self.server.failed_logons)
        self.assertFalse(self.server.user_disabled)
        # After the refusal nothing more is sent, not even without a
        # session id.
        self.assertEqual(0, self.server.requests_without_session)
        # zhmcclient's API log prints the session: that still works.
        self.assertIn('refused logon of user nova',
                      repr(self.driver.hmc.session))
        self.assertNotIn('changed-on-the-hmc', repr(self.driver.hmc.session))

    def test_each_refusal_is_a_new_exception(self):
        self.start()
        self.server.password = 'changed-on-the-hmc'
        self.server.expire_session()
        session = self.driver.hmc.session
        first = self.assertRaises(hmc_module.LogonRefused,
                                  session.get, '/api/cpcs')
        second = self.assertRaises(hmc_module.LogonRefused,
                                   session.get, '/api/cpcs')
        self.assertIsNot(first, second)
        self.assertEqual(str(first), str(second))
        self.assertEqual((first.userid, first.host),
                         (second.userid, second.host))
        self.assertEqual(1, self.server.failed_logons)

    def test_disabled_user_is_refused_once(self):
        self.start()
        for _ in range(3):
            self.assertRaises(exception.RefusedToStart, self.restart(
                hmc_password='wrong-password').init_host, base.HOST)
        self.assertTrue(self.server.user_disabled)
        self.server.failed_logons = 0
        stop = self.assertRaises(exception.RefusedToStart, self.restart(
            hmc_password=base.PASSWORD).init_host, base.HOST)
        self.assertIn('not disabled', str(stop))
        self.assertEqual(1, self.server.failed_logons)


class LogonAnswersTest(HttpsAuthTestCase):
    """HMC rule A11: every final refusal, once, with what to do."""

    CASES = (
        # (simulator answer, error, words of the message)
        ('password-expired', exception.HMCPasswordExpired,
         ('password of HMC user nova has expired', 'change it on the HMC',
          'HTTP 409 reason 50')),
        ('password-expired-51', exception.HMCPasswordExpired,
         ('has expired', 'HTTP 409 reason 51')),
        ('partial-session', exception.HMCPasswordExpired,
         ('has expired', 'change it on the HMC', 'HTTP 201)')),
        ('too-many-sessions', exception.HMCTooManySessions,
         ('HMC user nova already has the maximum number of sessions',
          'HTTP 400 reason 13')),
        ('forbidden', exception.HMCLogonRefused,
         ('refused the logon of user nova', 'HTTP 403 reason 2')),
    )

    def test_each_refusal_stops_init_host_after_one_attempt(self):
        self.start()
        for answer, error, words in self.CASES:
            self.server.answer_logon(answer)
            attempts = self.server.logon_attempts
            sessions = self.server.active_sessions
            driver = self.restart()
            stop = self.assertRaises(exception.RefusedToStart,
                                     driver.init_host, base.HOST)
            self.assertEqual(exception.EX_CONFIG, stop.code)
            self.assertIs(error, type(stop.error), answer)
            message = stop.error.format_message()
            for word in words:
                self.assertIn(word, message)
            self.assertIn('127.0.0.1', message)
            self.assert_clean(message)
            # Remembered: nothing more reaches the HMC.
            self.assertRaises(hmc_module.LogonRefused,
                              driver.hmc.session.get, '/api/cpcs')
            self.assertEqual(attempts + 1, self.server.logon_attempts,
                             answer)
            # A partial session is logged off at once.
            self.assertEqual(sessions, self.server.active_sessions)
        self.assertEqual([], self.sleeps)
        self.assertEqual(0, self.server.failed_logons)
        self.assert_clean(self.logger.output)
        self.assertIn('exit status 78', self.logger.output)

    def test_a_refusal_while_running_is_final_too(self):
        # The session expires; the HMC refuses the new logon: every thread
        # gets the refusal, the HMC sees one attempt.
        self.start()
        self.server.answer_logon('password-expired')
        self.server.expire_session()
        attempts = self.server.logon_attempts
        for _ in range(3):
            exc = self.assertRaises(exception.HMCPasswordExpired,
                                    self.driver.list_instance_uuids)
        self.assertIn('change it on the HMC', exc.format_message())
        self.assertEqual(attempts + 1, self.server.logon_attempts)


class CertificateTest(HttpsAuthTestCase):

    def test_untrusted_certificate_fails_at_once(self):
        other = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, other, True)
        paths = certs.write_cert_dir(other)   # a CA the server did not use
        self.start()
        logons = self.server.logons
        self.restart(hmc_ca_bundle=paths.ca_file)
        exc = self.assertRaises(exception.HMCCertificateUntrusted,
                                self.driver.init_host, base.HOST)
        message = exc.format_message()
        self.assertIn('certificate verify failed', message)
        self.assertIn('[dpm] hmc_ca_bundle', message)
        self.assertIn('127.0.0.1', message)
        self.assert_clean(message)
        # Not retried: no wait between attempts, no logon reached the HMC.
        self.assertEqual([], self.sleeps)
        self.assertEqual(logons, self.server.logons)
        self.assertEqual(0, self.server.failed_logons)

    def test_unreachable_hmc_is_still_retried(self):
        self.start()
        # A loopback port where nothing listens.
        with socket.socket() as sock:
            sock.bind(('127.0.0.1', 0))
            port = sock.getsockname()[1]
        self.restart(hmc_port=port, hmc_connect_retries=0)
        exc = self.assertRaises(exception.HMCUnavailable,
                                self.driver.init_host, base.HOST)
        self.assertNotIsInstance(exc, exception.HMCLogonRefused)
        self.assertIn('after 3 attempts', exc.format_message())
        self.assertEqual([5.0, 5.0], self.sleeps)


class LogonRetryTest(HttpsAuthTestCase):
    """init_host's logon on an HMC that answers with an error."""

    def test_server_error_at_logon_is_retried(self):
        # An HMC console that restarts answers 500 for a while.
        self.start()
        self.restart()
        self.server.inject_fault('http500', 'POST', '/api/sessions')
        logons = self.server.logons
        self.driver.init_host(base.HOST)
        self.assertEqual([5.0], self.sleeps)
        self.assertEqual(logons + 1, self.server.logons)

    def test_lasting_server_error_is_unavailable(self):
        self.start()
        self.restart()
        for _ in range(3):
            self.server.inject_fault('http500', 'POST', '/api/sessions')
        exc = self.assertRaises(exception.HMCUnavailable,
                                self.driver.init_host, base.HOST)
        message = exc.format_message()
        self.assertIn('after 3 attempts', message)
        self.assertIn('HTTP 500', message)
        self.assertIn('127.0.0.1', message)
        self.assertEqual([5.0, 5.0], self.sleeps)

    def test_client_error_at_logon_is_not_retried(self):
        self.start()
        self.restart()
        self.server.inject_fault('busy', 'POST', '/api/sessions')
        exc = self.assertRaises(exception.HMCUnavailable,
                                self.driver.init_host, base.HOST)
        message = exc.format_message()
        self.assertIn('HTTP 409', message)
        self.assertIn('127.0.0.1', message)
        self.assertIn('[dpm] hmc_username nova', message)
        self.assertEqual([], self.sleeps)


class ReLogonTest(HttpsAuthTestCase):

    def test_one_relogon_for_twenty_threads(self):
        self.start()
        self.assertEqual(1, self.server.logons)
        # A real logon takes time; the threads meet the expired session
        # together, while the new logon is under way.
        self.server.logon_time = 0.3
        self.server.expire_session()
        barrier = threading.Barrier(THREADS)
        results = []
        errors = []

        def call():
            barrier.wait(30)
            try:
                results.append(self.driver.list_instance_uuids())
            except Exception as exc:
                errors.append(exc)

        threads = [threading.Thread(target=call) for _ in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        self.assertEqual([], errors)
        self.assertEqual([[]] * THREADS, results)
        self.assertEqual(2, self.server.logons)
        self.assertEqual(0, self.server.requests_without_session)
        self.assertEqual(1, self.server.active_sessions)

    def test_failed_relogon_does_not_stop_later_logons(self):
        # The session expires while the HMC console restarts: the re-logon
        # is dropped. Once the HMC is back, the next call logs on again.
        self.start()
        self.server.expire_session()
        self.server.inject_fault('connection', 'POST', '/api/sessions')
        self.assertRaises(exception.HMCUnavailable,
                          self.driver.list_instance_uuids)
        self.assertEqual(1, self.server.logons)
        self.assertEqual([], self.driver.list_instance_uuids())
        self.assertEqual(2, self.server.logons)
        self.assertEqual([], self.driver.list_instance_uuids())
        self.assertEqual(2, self.server.logons)
        self.assertTrue(self.driver.hmc.session.is_logon())

    def test_failed_relogon_logs_on_again_with_logon(self):
        self.start()
        self.server.expire_session()
        self.server.inject_fault('http500', 'POST', '/api/sessions')
        self.assertRaises(exception.HMCOperationFailed,
                          self.driver.list_instance_uuids)
        self.driver.hmc.logon()
        self.assertEqual(2, self.server.logons)
        self.assertEqual([], self.driver.list_instance_uuids())
        self.assertEqual(0, self.server.requests_without_session)

    def test_relogons_close_the_connections_they_replace(self):
        # Each re-logon replaces zhmcclient's requests session; the old
        # one is closed (its connection pools emptied), not left for the
        # garbage collector with its connection open.
        self.start()
        made = []
        new_session = hmc_module.SerializedLogonSession._new_session

        def record(session, config):
            made.append(new_session(session, config))
            return made[-1]

        patcher = mock.patch.object(hmc_module.SerializedLogonSession,
                                    '_new_session', record)
        patcher.start()
        self.addCleanup(patcher.stop)
        for _ in range(5):
            self.server.expire_session()
            self.driver.list_instance_uuids()
        self.assertEqual(6, self.server.logons)
        self.assertEqual(5, len(made))
        pools = [len(s.get_adapter('https://').poolmanager.pools)
                 for s in made]
        self.assertEqual([0, 0, 0, 0, 1], pools)

    def test_base_url_is_read_under_the_logon_lock(self):
        # zhmcclient sets the base URL to each HMC it tries at logon;
        # another thread building a URL meanwhile waits for the result.
        self.start()
        session = self.driver.hmc.session
        final = session._base_url
        seen = []
        reader = threading.Thread(target=lambda: seen.append(
            session._base_url))
        with session._logon_lock:
            session._base_url = 'https://hmc-being-tried:6794'
            reader.start()
            reader.join(0.2)
            session._base_url = final
        reader.join(10)
        self.assertEqual([final], seen)

    def test_session_is_the_serialized_one(self):
        self.start()
        self.assertIsInstance(self.driver.hmc.session,
                              hmc_module.SerializedLogonSession)


class PermissionTest(HttpsAuthTestCase):

    def test_adapter_without_object_access_is_refused_clearly(self):
        # HMC rule A10: the HMC answers 404 as for a missing adapter.
        self.start()
        self.server.deny_object('/api/adapters/%s' % base.FCP_A,
                                'adapter FCP-A')
        logons = self.server.logons
        self.restart()
        exc = self.assertRaises(exception.CpcSubsetInvalid,
                                self.driver.init_host, base.HOST)
        message = exc.format_message()
        self.assertIn('physical_storage_adapter_mappings', message)
        self.assertIn(base.FCP_A, message)
        self.assertIn('object-access permission', message)
        # A permission problem is not a session problem: no new logon.
        self.assertEqual(logons + 1, self.server.logons)

    def test_partition_without_object_access_is_not_listed(self):
        # The partition vanishes from the HMC's answers; nova-dpm cannot
        # tell this from a deleted one (see the known limitations) and
        # never touches what it cannot see.
        self.start()
        server, _connector = self.build()
        partition = self.faked_partition(server)
        self.server.deny_object(partition.uri, 'partition %s' %
                                partition.properties['name'])
        self.assertNotIn(server.uuid, self.driver.list_instance_uuids())
        self.assertEqual('active', partition.properties['status'])

    def test_task_without_permission_is_named(self):
        self.start()
        server, _connector = self.build()
        partition = self.faked_partition(server)
        self.server.deny_task('POST', '/api/partitions/{id}/operations/stop',
                              'Stop')
        exc = self.assertRaises(exception.HMCPermissionDenied,
                                self.driver.power_off, server)
        message = exc.format_message()
        self.assertIn('task permission', message)
        self.assertIn('task Stop', message)
        self.assertIn(partition.uri, message)
        self.assertEqual('active', partition.properties['status'])

    def test_virtual_switch_without_object_access_fails_the_build(self):
        self.start()
        before = set(self.faked_partitions())
        uri = '/api/virtual-switches/%s' % base.VSWITCH_1
        self.server.deny_object(uri, 'virtual switch VSWITCH-OSA1-P1')
        # Refused before anything is created on the HMC.
        exc = self.assertRaises(nova_exception.InstanceUnacceptable,
                                self.build)
        message = exc.format_message()
        self.assertIn(base.VSWITCH_1, message)
        self.assertIn('object-access permission', message)
        # Nothing is left behind on the HMC.
        self.assertEqual(before, set(self.faked_partitions()))


# nova-compute's own main(), in a child process, with what needs a
# conductor and Placement (absent here) stubbed: the service record, the
# conductor's readiness, the minimum-version check and the Placement
# client. The driver is loaded as in production (compute_driver =
# dpm.DPMDriver, through the worktree's nova/virt shim).
_COMPUTE_CHILD = textwrap.dedent('''
    import sys
    from nova.cmd import compute
    import nova.virt
    nova.virt.__path__.insert(0, %r)
    from nova.conductor import api as conductor_api
    import nova.objects.service
    from nova.scheduler.client import report
    import nova.utils
    nova.objects.service.Service.get_by_host_and_binary = classmethod(
        lambda cls, context, host, binary: None)
    conductor_api.API.wait_until_ready = lambda self, context, **kw: None
    nova.utils.raise_if_old_compute = lambda: None
    report.SchedulerReportClient._create_client = lambda self: None
    sys.argv = ['nova-compute'] + sys.argv[1:]
    sys.exit(compute.main())
''' % os.path.join(ROOT, 'nova', 'virt'))


class ComputeProcessTest(base.DriverTestCase):
    """nova-compute as a process: a refused logon ends it with 78."""

    transport = 'https'
    start_driver = False
    definition = 'z16'

    def test_wrong_password_exits_78_after_one_logon(self):
        self.start()
        state = self.useFixture(fixtures.TempDir()).path
        conf = os.path.join(state, 'nova-compute.conf')
        with open(conf, 'w') as f:
            f.write(textwrap.dedent('''
                [DEFAULT]
                compute_driver = dpm.DPMDriver
                transport_url = fake:/
                host = subset1
                state_path = {state}
                [oslo_concurrency]
                lock_path = {state}
                [dpm]
                hmc = 127.0.0.1
                hmc_port = {port}
                hmc_username = nova
                hmc_password = wrong-password
                hmc_ca_bundle = {ca}
                cpc_object_id = {cpc}
                max_processors = 2
                max_memory = 4096
                physical_storage_adapter_mappings = {fcp}:0
            ''').format(
                state=state, port=self.server.port, ca=self.server.ca_file,
                cpc=base.CPC_ID, fcp=base.FCP_A))
        attempts = self.server.logon_attempts
        env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep +
                   os.environ.get('PYTHONPATH', ''))
        done = subprocess.run(
            [sys.executable, '-c', _COMPUTE_CHILD, '--config-file', conf],
            capture_output=True, text=True, env=env, timeout=300, cwd=state)
        output = done.stdout + done.stderr
        self.assertEqual(78, done.returncode, output[-3000:])
        self.assertEqual(attempts + 1, self.server.logon_attempts)
        self.assertEqual(1, self.server.failed_logons)
        self.assertFalse(self.server.user_disabled)
        self.assertIn('refused the logon of user nova', output)
        self.assertIn('exit status 78', output)
        self.assertNotIn('wrong-password', output)


class WithoutSimulatorTest(testtools.TestCase):
    """A production install: nova-dpm without nova-dpm[simulator]."""

    def child(self, code):
        env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep +
                   os.environ.get('PYTHONPATH', ''))
        done = subprocess.run(
            [sys.executable, '-c', _CHILD_PRELUDE + textwrap.dedent(code)],
            capture_output=True, text=True, env=env, timeout=120, cwd=ROOT)
        self.assertEqual(0, done.returncode, done.stderr)
        return json.loads(done.stdout.strip().splitlines()[-1])

    def test_driver_imports_no_simulator_module(self):
        out = self.child('''
            from nova_dpm import driver, hmc
            from nova_dpm.cmd import check
            session = hmc.HMC(dpm_conf.Settings(
                **dict(values, hmc=['hmc.example']))).session
            print(json.dumps({
                'session': type(session).__mro__[1].__name__,
                'simulator': sorted(m for m in sys.modules
                                    if m.startswith('nova_dpm.simulator'))}))
        ''')
        # The driver's own session class, built on zhmcclient's.
        self.assertEqual({'session': 'Session', 'simulator': []}, out)

    def test_mock_file_without_the_extra_says_what_to_install(self):
        out = self.child('''
            from nova_dpm import exception, hmc
            try:
                hmc.HMC(dpm_conf.Settings(
                    **dict(values, hmc_mock_file='z16'))).session
            except exception.InvalidConfiguration as exc:
                print(json.dumps({'error': str(exc)}))
            else:
                print(json.dumps({'error': None}))
        ''')
        error = out['error']
        self.assertIsNotNone(error)
        self.assertIn('[dpm] hmc_mock_file', error)
        self.assertIn("pip install 'nova-dpm[simulator]'", error)
        self.assertIn('zhmcclient 1.30.0 is installed', error)

    def test_init_host_stops_with_the_message(self):
        out = self.child('''
            from unittest import mock
            from nova import exception as nova_exception
            from nova_dpm import driver
            driver.CONF.set_override('hmc_mock_file', 'z16', group='dpm')
            driver.CONF.set_override('cpc_object_id', values['cpc_object_id'],
                                     group='dpm')
            driver.CONF.set_override('max_processors', 2, group='dpm')
            driver.CONF.set_override('max_memory', 4096, group='dpm')
            try:
                driver.DPMDriver(mock.Mock()).init_host('subset1')
            except nova_exception.NovaException as exc:
                print(json.dumps({'error': type(exc).__name__,
                                  'message': str(exc)}))
            else:
                print(json.dumps({'error': None}))
        ''')
        self.assertEqual('InvalidConfiguration', out['error'])
        self.assertIn("pip install 'nova-dpm[simulator]'", out['message'])


class SessionFactoryTest(testtools.TestCase):
    """Which factory the settings choose, and a missing entry point."""

    def test_real_hmc_gets_a_zhmcclient_session(self):
        settings = _settings(hmc=['hmc.example'])
        self.assertIs(hmc.real_session, hmc.session_factory_for(settings))
        self.assertIsInstance(hmc.HMC(settings).session,
                              hmc.SerializedLogonSession)

    def test_mock_file_gets_the_simulated_session(self):
        settings = _settings(hmc_mock_file='z13')
        self.assertIs(hmc.simulated_session,
                      hmc.session_factory_for(settings))
        session = hmc.HMC(settings).session
        self.assertEqual('SimulatedSession', type(session).__name__)

    def test_given_factory_is_used(self):
        made = []

        def factory(settings):
            made.append(hmc.real_session(settings))
            return made[-1]

        settings = _settings(hmc=['hmc.example'])
        connection = hmc.HMC(settings, session_factory=factory)
        session = connection.session
        self.assertIs(made[0], session)
        self.assertIs(session, connection.client.session)
        self.assertEqual(1, len(made))

    def test_session_is_published_after_its_client(self):
        # A thread that finds the session set reads the client without
        # the lock: it must be there already.
        settings = _settings(hmc=['hmc.example'])
        connection = hmc.HMC(settings)
        published = []
        real_client = hmc.zhmcclient.Client

        def client(session):
            published.append(connection._session)
            return real_client(session)

        with mock.patch.object(hmc.zhmcclient, 'Client', client):
            session = connection.session
        self.assertEqual([None], published)
        self.assertIs(session, connection.client.session)

    def test_missing_entry_point_is_reported(self):
        settings = _settings(hmc_mock_file='z16')
        with mock.patch.object(hmc.metadata, 'entry_points',
                               return_value=[]):
            exc = self.assertRaises(exception.InvalidConfiguration,
                                    getattr, hmc.HMC(settings), 'session')
        self.assertIn('nova_dpm.hmc_sessions:simulated', str(exc))
        self.assertIn("pip install 'nova-dpm[simulator]'", str(exc))


class WaitUntilTest(base.testtools.TestCase):
    """The primitive on a fake clock: pacing, budget, deadline."""

    def setUp(self):
        super().setUp()
        self.clock = FakeClock()
        self.useFixture(fixtures.MonkeyPatch('nova_dpm.hmc.time',
                                             self.clock))
        self.times = []

    def read(self):
        self.times.append(self.clock.now)
        return len(self.times)

    def max_in_window(self, window=1.0):
        return max(sum(1 for u in self.times if t <= u < t + window)
                   for t in self.times)

    def test_long_wait_stays_within_the_cap(self):
        deadline = hmc.Deadline(60)
        result = hmc.wait_until(self.read, lambda n: self.clock.now >= 1030,
                                deadline, 'test', 'the end')
        self.assertEqual(len(self.times), result)
        # At most POLL_BURST + POLL_RATE polls in any second (5).
        self.assertLessEqual(self.max_in_window(),
                             hmc.POLL_BURST + hmc.POLL_RATE)
        # In the long run POLL_RATE a second ...
        self.assertLessEqual(len(self.times),
                             hmc.POLL_BURST + hmc.POLL_RATE * 30 + 1)
        # ... and never a pause longer than POLL_MAX: the wait ends at most
        # POLL_MAX after the condition holds.
        gaps = [b - a for a, b in zip(self.times, self.times[1:])]
        self.assertLessEqual(max(gaps), hmc.POLL_MAX + 1e-9)
        # The back-off starts at POLL_FIRST; one wait's back-off is within
        # the budget, which never lengthens it.
        self.assertAlmostEqual(hmc.POLL_FIRST, gaps[0])
        self.assertEqual(hmc.POLL_MAX, round(gaps[-1], 9))

    def test_the_waits_of_one_operation_share_the_budget(self):
        # Five short waits in a row (as a start that stops first, then
        # starts): each restarts the back-off, the budget does not. Without
        # it the ten polls came within half a second.
        deadline = hmc.Deadline(60)
        for _ in range(5):
            count = len(self.times)
            hmc.wait_until(self.read, lambda n, c=count: n >= c + 2,
                           deadline, 'test')
        self.assertEqual(10, len(self.times))
        self.assertLessEqual(self.max_in_window(),
                             hmc.POLL_BURST + hmc.POLL_RATE)
        self.assertEqual(10, deadline.budget.polls)

    def test_separate_operations_have_separate_budgets(self):
        for _ in range(3):
            hmc.wait_until(self.read, lambda n: True, hmc.Deadline(60),
                           'test')
        # Three operations: three immediate first polls.
        self.assertEqual([1000.0] * 3, self.times)

    def test_timeout_names_what_and_the_last_status(self):
        deadline = hmc.Deadline(2)
        exc = self.assertRaises(
            exception.HMCTimeout, hmc.wait_until,
            lambda: self.read() and 'stopping', lambda s: False, deadline,
            'partition P', 'stopped')
        self.assertEqual('Timed out after 2 s waiting for partition P to '
                         'reach stopped (last status: stopping)',
                         exc.format_message())
        # No poll after the time limit.
        self.assertLess(self.times[-1], 1002.0)
        self.assertEqual(1002.0, self.clock.now)

    def test_first_poll_waits_no_longer_than_the_deadline(self):
        # Earlier waits of the operation used the budget up; the time
        # left is shorter than the wait for the next token.
        deadline = hmc.Deadline(0.2)
        deadline.budget.take()
        deadline.budget.take()
        exc = self.assertRaises(exception.HMCTimeout, hmc.wait_until,
                                self.read, lambda n: False, deadline,
                                'partition P', 'stopped')
        self.assertEqual([], self.times)
        self.assertEqual(1000.2, self.clock.now)
        self.assertIn('last status: not read', exc.format_message())

    def test_done_may_raise(self):
        def done(n):
            if n == 3:
                raise exception.HMCOperationFailed(
                    operation='o', target='t', reason='r')
            return False
        self.assertRaises(exception.HMCOperationFailed, hmc.wait_until,
                          self.read, done, hmc.Deadline(60), 'test')
        self.assertEqual(3, len(self.times))

    def test_polls_on_through_errors_that_go_away(self):
        # HMC rule A12: a restarting HMC refuses connections, answers 5xx
        # or something that is not JSON; the wait goes on.
        failures = [
            zhmcclient.ConnectionError('refused', None),
            zhmcclient.HTTPError({'http-status': 503, 'reason': 0,
                                  'message': 'starting'}),
            zhmcclient.ParseError('not JSON'),
            exception.HMCUnavailable(reason='r', transient=True),
        ]

        def read():
            self.times.append(self.clock.now)
            if failures:
                raise failures.pop(0)
            return 'active'

        observer = Observer()
        hmc.add_wait_observer(observer)
        self.addCleanup(hmc.remove_wait_observer, observer)
        self.assertEqual('active', hmc.wait_until(
            read, lambda s: s == 'active', hmc.Deadline(60), 'w'))
        self.assertEqual(5, len(self.times))
        self.assertEqual([('w', 5)], observer.waits)
        self.assertLessEqual(self.max_in_window(),
                             hmc.POLL_BURST + hmc.POLL_RATE)

    def test_other_errors_end_the_wait_at_once(self):
        untrusted = zhmcclient.ConnectionError(
            'bad certificate', requests.exceptions.SSLError('verify'))
        for error in (untrusted,
                      zhmcclient.HTTPError({'http-status': 404, 'reason': 1,
                                            'message': 'gone'}),
                      hmc_module.LogonRefused(zhmcclient.HTTPError(
                          {'http-status': 403, 'reason': 0,
                           'message': 'refused'}), 'nova', 'h'),
                      exception.HMCUnavailable(reason='r')):
            def read(error=error):
                self.times.append(self.clock.now)
                raise error
            del self.times[:]
            self.assertRaises(type(error), hmc.wait_until, read,
                              lambda s: True, hmc.Deadline(60), 'w')
            self.assertEqual(1, len(self.times))

    def test_an_hmc_that_stays_away_times_out_naming_why(self):
        def read():
            self.times.append(self.clock.now)
            raise zhmcclient.ConnectionError('Connection refused', None)
        exc = self.assertRaises(exception.HMCTimeout, hmc.wait_until, read,
                                lambda s: True, hmc.Deadline(5), 'w', 'x')
        self.assertIn('the HMC does not answer (ConnectionError: '
                      'Connection refused)', exc.format_message())
        self.assertEqual(1005.0, self.clock.now)
        self.assertLessEqual(len(self.times),
                             hmc.POLL_BURST + hmc.POLL_RATE * 5 + 1)

    def test_observers_see_polls_and_the_end(self):
        observer = Observer()
        hmc.add_wait_observer(observer)
        self.addCleanup(hmc.remove_wait_observer, observer)
        hmc.wait_until(self.read, lambda n: n == 3, hmc.Deadline(60), 'w')
        self.assertEqual(['w'] * 3, observer.polls)
        self.assertEqual([('w', 3)], observer.waits)
        hmc.remove_wait_observer(observer)
        hmc.wait_until(self.read, lambda n: True, hmc.Deadline(60), 'x')
        self.assertEqual([('w', 3)], observer.waits)


class SeamTest(base.DriverTestCase):
    """Every wait of the driver goes through hmc.wait_until."""

    definitions = base.PER_DEFINITION
    definition = 'z16'

    def test_every_job_and_status_poll_is_inside_a_wait(self):
        observer = Observer()
        hmc.add_wait_observer(observer)
        self.addCleanup(hmc.remove_wait_observer, observer)
        outside = []
        original = self.sim.request

        def request(method, uri, *args, **kwargs):
            pattern = '%s %s' % (method.upper(), self.sim_pattern(uri))
            if pattern == JOB_GET and not observer.polling():
                outside.append(pattern)
            return original(method, uri, *args, **kwargs)
        self.sim.request = request
        self.sim.configure(terminated_stops=1)
        instance, _c = self.build()
        self.driver.power_off(instance)
        self.driver.power_on(self.context, instance, None)
        self.driver.reboot(self.context, instance, None, 'HARD')
        self.driver.power_off(instance, timeout=5)
        self.driver.destroy(self.context, instance, None)
        self.assertEqual([], outside)
        self.assertTrue(observer.polls)
        self.assertIn(('start of %s' %
                       self.driver.partitions.naming.name(instance.uuid), 1),
                      observer.waits)

    @staticmethod
    def sim_pattern(uri):
        from nova_dpm import simulator
        return simulator.uri_pattern(uri)


class OldHmcTest(base.DriverTestCase):
    """The z13 definition: HMC 2.13.1, API 1.7, SE 2.13.1."""

    definition = 'z13'

    def test_asks_for_nothing_the_hmc_does_not_have(self):
        raw = _RawUris(self.sim)
        server, _c = self.build()
        self.driver.get_available_resource(base.HOST)
        self.driver.get_info(server, use_cache=False)
        self.driver.power_off(server)
        self.driver.power_on(self.context, server, None)
        self.driver.reboot(self.context, server, None, 'SOFT')
        self.driver.trigger_crash_dump(server)
        self.driver.partitions._sizes.clear()
        self.driver.get_available_resource(base.HOST)
        self.driver.destroy(self.context, server, None)
        refused = [r for r in raw.log if r[2] != 'ok']
        self.assertEqual([], refused)
        uris = ' '.join(uri for _m, uri, _s in raw.log)
        self.assertNotIn('aggregation', uris)
        self.assertNotIn('properties=', uris)
        self.assertNotIn('list-os-messages', uris)
        self.assertNotIn('storage-groups', uris)
        self.assertEqual({}, self.sim.jobs)


load_tests = base.load_tests
