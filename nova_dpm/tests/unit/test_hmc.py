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
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import textwrap
import threading
import types
from unittest import mock

import fixtures
from nova.compute import power_state
from nova.compute import task_states
from nova import exception as nova_exception
import requests
import testtools
import zhmcclient

from nova_dpm import capabilities
from nova_dpm import exception
from nova_dpm import hmc
from nova_dpm.simulator import certs
from nova_dpm.simulator import errors as sim_errors
from nova_dpm.simulator import jobs as sim_jobs
from nova_dpm.simulator import versions
from nova_dpm.tests.unit import base


def _wait_until(read, done, deadline, what, wanted='completion', state=None):
    """hmc.wait_until driving a wait made of these callables."""
    return hmc.wait_until(
        hmc.waits.CallableWait(read, done, what, wanted, state), deadline)


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
            'nova_dpm.hmc.session.time.sleep', self.sleeps.append))

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
        self.ended = getattr(self, 'ended', 0) + 1

    def wait_ends(self, what, deadline, polls, seconds):
        self.waits.append((what, polls))

    def polling(self):
        return getattr(self.local, 'polling', False)


class FakeClock(object):
    """time.monotonic and time.sleep of nova_dpm.hmc.waits, without waiting."""

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
        self.assertEqual((7, 2, 90, 600, 600),
                         (config.connect_timeout, config.connect_retries,
                          config.read_timeout, config.operation_timeout,
                          config.status_timeout))


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

    def test_logoff_ends_the_session_on_the_hmc(self):
        self.assertEqual(1, self.server.active_sessions)
        self.driver.hmc.logoff()
        self.assertEqual(0, self.server.active_sessions)
        # Once more: nothing to end, no error.
        self.driver.hmc.logoff()
        self.assertEqual(1, self.server.logons)

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
        first = self.assertRaises(hmc.LogonRefused,
                                  session.get, '/api/cpcs')
        second = self.assertRaises(hmc.LogonRefused,
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
            self.assertRaises(hmc.LogonRefused,
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
        new_session = hmc.SerializedLogonSession._new_session

        def record(session, config):
            made.append(new_session(session, config))
            return made[-1]

        patcher = mock.patch.object(hmc.SerializedLogonSession,
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
                              hmc.SerializedLogonSession)


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
        real_client = zhmcclient.Client

        def client(session):
            published.append(connection._session)
            return real_client(session)

        with mock.patch.object(hmc.client.zhmcclient, 'Client', client):
            session = connection.session
        self.assertEqual([None], published)
        self.assertIs(session, connection.client.session)

    def test_missing_entry_point_is_reported(self):
        settings = _settings(hmc_mock_file='z16')
        with mock.patch.object(hmc.session.metadata, 'entry_points',
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
        self.useFixture(fixtures.MonkeyPatch('nova_dpm.hmc.waits.time',
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
        result = _wait_until(self.read, lambda n: self.clock.now >= 1030,
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
            _wait_until(self.read, lambda n, c=count: n >= c + 2,
                        deadline, 'test')
        self.assertEqual(10, len(self.times))
        self.assertLessEqual(self.max_in_window(),
                             hmc.POLL_BURST + hmc.POLL_RATE)
        self.assertEqual(10, deadline.budget.polls)

    def test_separate_operations_have_separate_budgets(self):
        for _ in range(3):
            _wait_until(self.read, lambda n: True, hmc.Deadline(60),
                        'test')
        # Three operations: three immediate first polls.
        self.assertEqual([1000.0] * 3, self.times)

    def test_timeout_names_what_and_the_last_status(self):
        deadline = hmc.Deadline(2)
        exc = self.assertRaises(
            exception.HMCTimeout, _wait_until,
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
        exc = self.assertRaises(exception.HMCTimeout, _wait_until,
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
        self.assertRaises(exception.HMCOperationFailed, _wait_until,
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
        self.useFixture(base.WaitWatch(observer))
        self.assertEqual('active', _wait_until(
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
                      hmc.LogonRefused(zhmcclient.HTTPError(
                          {'http-status': 403, 'reason': 0,
                           'message': 'refused'}), 'nova', 'h'),
                      exception.HMCUnavailable(reason='r')):
            def read(error=error):
                self.times.append(self.clock.now)
                raise error
            del self.times[:]
            self.assertRaises(type(error), _wait_until, read,
                              lambda s: True, hmc.Deadline(60), 'w')
            self.assertEqual(1, len(self.times))

    def test_an_hmc_that_stays_away_times_out_naming_why(self):
        def read():
            self.times.append(self.clock.now)
            raise zhmcclient.ConnectionError('Connection refused', None)
        exc = self.assertRaises(exception.HMCTimeout, _wait_until, read,
                                lambda s: True, hmc.Deadline(5), 'w', 'x')
        self.assertIn('the HMC does not answer (ConnectionError: '
                      'Connection refused)', exc.format_message())
        self.assertEqual(1005.0, self.clock.now)
        self.assertLessEqual(len(self.times),
                             hmc.POLL_BURST + hmc.POLL_RATE * 5 + 1)

    def test_a_watch_sees_polls_and_the_end(self):
        observer = Observer()
        watch = base.WaitWatch(observer)
        watch.setUp()
        _wait_until(self.read, lambda n: n == 3, hmc.Deadline(60), 'w')
        self.assertEqual(['w'] * 3, observer.polls)
        self.assertEqual(3, observer.ended)
        self.assertEqual([('w', 3)], observer.waits)
        watch.cleanUp()
        _wait_until(self.read, lambda n: True, hmc.Deadline(60), 'x')
        self.assertEqual([('w', 3)], observer.waits)


class SeamTest(base.DriverTestCase):
    """Every wait of the driver goes through hmc.wait_until."""

    definitions = base.PER_DEFINITION
    definition = 'z16'

    def test_every_job_and_status_poll_is_inside_a_wait(self):
        observer = Observer()
        self.useFixture(base.WaitWatch(observer))
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


class PollArithmeticTest(base.testtools.TestCase):
    """Back-off, token bucket and time limit, number by number.

    The figures below follow from the documented constants by hand: polls
    back off 0.1 s x 1.5 up to 0.5 s; an operation has 2 tokens and gets
    3 a second back.
    """

    def setUp(self):
        super().setUp()
        self.clock = FakeClock()
        self.useFixture(fixtures.MonkeyPatch('nova_dpm.hmc.waits.time',
                                             self.clock))
        self.times = []

    def read(self):
        self.times.append(self.clock.now)
        return len(self.times)

    def elapsed(self):
        return [round(t - 1000.0, 6) for t in self.times]

    def test_intervals_back_off_by_half_up_to_the_maximum(self):
        intervals = hmc.waits.poll_intervals()
        got = [round(next(intervals), 6) for _ in range(7)]
        self.assertEqual([0.1, 0.15, 0.225, 0.3375, 0.5, 0.5, 0.5], got)

    def test_one_wait_alone(self):
        # The back-off would poll at 0, 0.1, 0.25, 0.475 (4 polls in less
        # than half a second, beyond 2 + 3 x 0.475): the budget lengthens
        # the second and third pause to a third of a second; from then on
        # the back-off (0.3375 s, then 0.5 s) stays under the cap.
        _wait_until(self.read, lambda n: self.clock.now >= 2.0 + 1000,
                    hmc.Deadline(60), 'test')
        self.assertEqual([0.0, 0.1, 0.333333, 0.666667, 1.004167, 1.504167,
                          2.004167], self.elapsed())

    def test_waits_of_one_operation_take_tokens_at_three_a_second(self):
        # Five waits that each end at their first poll: two polls at once
        # (the burst), then one every third of a second.
        deadline = hmc.Deadline(60)
        for _ in range(5):
            _wait_until(self.read, lambda n: True, deadline, 'test')
        self.assertEqual([0.0, 0.0, 0.333333, 0.666667, 1.0],
                         self.elapsed())
        self.assertEqual(5, deadline.budget.polls)

    def test_budget_delay_and_refill(self):
        budget = hmc.PollBudget()
        self.assertEqual((3.0, 2.0), (budget.rate, budget.burst))
        self.assertEqual(0.0, budget.delay())
        budget.take()
        self.assertEqual(0.0, budget.delay())
        budget.take()
        # No token left: the next one comes in a third of a second.
        self.assertAlmostEqual(1 / 3.0, budget.delay())
        self.clock.sleep(0.1)
        self.assertAlmostEqual(0.7 / 3.0, budget.delay())
        # Tokens saved up never exceed the burst.
        self.clock.sleep(100)
        for _ in range(2):
            self.assertEqual(0.0, budget.delay())
            budget.take()
        self.assertAlmostEqual(1 / 3.0, budget.delay())
        self.assertEqual(4, budget.polls)

    def test_a_token_and_a_fraction_is_no_delay(self):
        budget = hmc.PollBudget()
        budget.take()
        self.clock.sleep(0.1)
        # 1.3 tokens: a poll now, never a negative pause.
        self.assertEqual(0.0, budget.delay())

    def test_budget_takes_rate_and_burst(self):
        budget = hmc.PollBudget(rate=1, burst=1)
        budget.take()
        self.assertEqual(1.0, budget.delay())
        self.clock.sleep(0.25)
        self.assertEqual(0.75, budget.delay())

    def test_first_poll_waits_for_a_token_when_time_is_left(self):
        deadline = hmc.Deadline(10)
        deadline.budget.take()
        deadline.budget.take()
        _wait_until(self.read, lambda n: True, deadline, 'test')
        self.assertEqual([0.333333], self.elapsed())

    def test_first_poll_due_exactly_at_the_limit_is_made(self):
        self.clock.now = 0.0
        deadline = hmc.Deadline(1 / 3.0)
        deadline.budget.take()
        deadline.budget.take()
        self.assertEqual(1, _wait_until(self.read, lambda n: True,
                                        deadline, 'test'))
        self.assertEqual([1 / 3.0], self.times)

    def test_no_poll_at_the_time_limit(self):
        # The next poll would come exactly when the time is up: the wait
        # ends with the value read last, without that poll.
        self.clock.now = 0.0
        exc = self.assertRaises(exception.HMCTimeout, _wait_until,
                                self.read, lambda n: False,
                                hmc.Deadline(0.1), 'partition P', 'active',
                                state=lambda n: 'read %d' % n)
        self.assertEqual([0.0], self.times)
        self.assertEqual(0.1, self.clock.now)
        self.assertIn('(last status: read 1)', exc.format_message())

    def test_time_up_at_a_poll_ends_the_wait(self):
        # done() is asked first; then the time limit counts.
        deadline = hmc.Deadline(0.1)

        def read():
            self.times.append(self.clock.now)
            self.clock.now += 0.1
            return 'stopping'
        exc = self.assertRaises(exception.HMCTimeout, _wait_until, read,
                                lambda s: False, deadline, 'P', 'stopped')
        self.assertEqual(1, len(self.times))
        self.assertIn('last status: stopping', exc.format_message())
        self.assertEqual(
            'done', _wait_until(lambda: 'done', lambda s: s == 'done',
                                hmc.Deadline(0), 'P'))

    def test_deadline(self):
        deadline = hmc.Deadline(5)
        self.assertEqual(5.0, deadline.remaining())
        deadline.check('w', 'x', 's')
        self.clock.sleep(4.5)
        self.assertEqual(0.5, deadline.remaining())
        self.clock.sleep(0.5)
        self.assertEqual(0.0, deadline.remaining())
        exc = self.assertRaises(exception.HMCTimeout, deadline.check,
                                'stop of P', 'stopped', 'stopping')
        self.assertEqual('Timed out after 5 s waiting for stop of P to '
                         'reach stopped (last status: stopping)',
                         exc.format_message())
        self.clock.sleep(10)
        self.assertEqual(0.0, deadline.remaining())

    def test_deadlines_of_one_operation_share_a_budget(self):
        first = hmc.Deadline(5)
        second = hmc.Deadline(60, budget=first.budget)
        self.assertIs(first.budget, second.budget)
        self.assertIsNot(first.budget, hmc.Deadline(5).budget)


def _http_error(status, reason, message='m', **more):
    body = {'http-status': status, 'reason': reason, 'message': message}
    body.update(more)
    return zhmcclient.HTTPError(body)


class TranslatedTest(testtools.TestCase):
    """zhmcclient errors become nova-dpm errors naming what failed."""

    def translate(self, error):
        def fail():
            with hmc.translated('stop partition', 'P1'):
                raise error
        return self.assertRaises(exception.DPMError, fail)

    def test_task_permission(self):
        exc = self.translate(_http_error(403, 1, 'no task permission',
                                         **{'request-uri': '/api/x'}))
        self.assertIsInstance(exc, exception.HMCPermissionDenied)
        message = exc.format_message()
        self.assertIn('stop partition on P1 was refused', message)
        self.assertIn('task permission for it on /api/x', message)
        self.assertIn('(HMC message: no task permission)', message)
        self.assertEqual(403, exc.kwargs['http_status'])
        exc = self.translate(_http_error(403, 1))
        self.assertIn('task permission for it on P1', exc.format_message())

    def test_other_http_errors(self):
        for status, reason, refused in ((403, 5, True), (404, 1, True),
                                        (400, 7, True), (409, 2, False),
                                        (500, 0, False)):
            exc = self.translate(_http_error(status, reason, 'why'))
            self.assertIs(exception.HMCOperationFailed, type(exc))
            self.assertEqual(
                'HMC operation stop partition on P1 failed: HTTP %d reason '
                '%d: why' % (status, reason), exc.format_message())
            self.assertEqual(status, exc.kwargs['http_status'])
            self.assertEqual(refused, exc.refused)

    def test_connection_and_authentication(self):
        for error, name in (
                (zhmcclient.ConnectionError('gone', None),
                 'ConnectionError'),
                (zhmcclient.ClientAuthError('no'), 'ClientAuthError')):
            exc = self.translate(error)
            self.assertIs(exception.HMCUnavailable, type(exc))
            self.assertIn('stop partition on P1: %s: ' % name,
                          exc.format_message())

    def test_logon_refused(self):
        exc = self.translate(hmc.LogonRefused(_http_error(403, 0), 'nova',
                                              'hmc1'))
        self.assertIsInstance(exc, exception.HMCLogonRefused)
        self.assertIn('user nova', exc.format_message())
        self.assertIn('hmc1', exc.format_message())
        refused = hmc.LogonRefused(_http_error(403, 0, 'refused'), 'nova',
                                   'hmc1')
        self.assertIn('refused the logon of user nova', str(refused))
        self.assertEqual((403, 0), (refused.details.http_status,
                                    refused.details.reason))

    def test_any_other_zhmcclient_error(self):
        exc = self.translate(zhmcclient.ParseError('not JSON'))
        self.assertIs(exception.HMCOperationFailed, type(exc))
        self.assertIn('failed: ParseError: not JSON', exc.format_message())
        self.assertIsNone(exc.kwargs['http_status'])
        self.assertFalse(exc.refused)

    def test_other_exceptions_pass(self):
        def fail():
            with hmc.translated('o', 't'):
                raise KeyError('k')
        self.assertRaises(KeyError, fail)

    def test_untrusted_certificate(self):
        for details in (ssl.SSLError('bad'),
                        requests.exceptions.SSLError('bad')):
            error = zhmcclient.ConnectionError('tls', details)
            self.assertIs(details, hmc.untrusted_certificate(error))
        for error in (zhmcclient.ConnectionError('x', ValueError('v')),
                      zhmcclient.ConnectionError('x', None),
                      _http_error(500, 0)):
            self.assertIsNone(hmc.untrusted_certificate(error))


class AnswerTest(testtools.TestCase):
    """One answer of Submit Requests."""

    def test_success_gone_and_errors(self):
        self.assertEqual({'a': 1}, hmc.client._answer(
            {'status': 200, 'body': {'a': 1}}, '/u'))
        self.assertEqual({}, hmc.client._answer({'status': 204}, '/u'))
        self.assertEqual({}, hmc.client._answer(
            {'status': 299, 'body': None}, '/u'))
        self.assertIsNone(hmc.client._answer(
            {'status': 404, 'body': {}}, '/u'))
        exc = self.assertRaises(zhmcclient.HTTPError, hmc.client._answer,
                                {'status': 300}, '/u')
        self.assertEqual((300, 0, 'no answer for /u'),
                         (exc.http_status, exc.reason, exc.message))
        exc = self.assertRaises(
            zhmcclient.HTTPError, hmc.client._answer,
            {'status': 409, 'body': {'reason': 2, 'message': 'busy'}}, '/u')
        self.assertEqual((409, 2, 'busy'),
                         (exc.http_status, exc.reason, exc.message))
        exc = self.assertRaises(zhmcclient.HTTPError, hmc.client._answer, {},
                                '/u')
        self.assertEqual((500, 0), (exc.http_status, exc.reason))


class ApiVersionTest(testtools.TestCase):
    """Which requests an HMC API version gets (no HMC needed)."""

    def connection(self, version):
        connection = hmc.HMC(_settings(hmc=['hmc.example']))
        connection.adopt(capabilities.Capabilities(version))
        return connection

    def test_aggregation_and_properties_filter_from_4_1(self):
        for version, offered in (((1, 7), False), ((2, 25), False),
                                 ((4, 0), False), ((3, 9), False),
                                 ((4, 1), True), ((4, 10), True),
                                 ((5, 0), True)):
            connection = self.connection(version)
            self.assertEqual(offered, connection.aggregates(), version)
            self.assertEqual(offered, connection._properties_filter,
                             version)

    def test_refused_aggregation_stays_off(self):
        connection = hmc.HMC(_settings(hmc=['hmc.example']))
        self.assertTrue(connection.aggregates())
        self.assertTrue(connection._properties_filter)
        connection._aggregation = False
        connection.adopt(capabilities.Capabilities((4, 10)))
        self.assertFalse(connection.aggregates())

    def test_logoff_without_a_session_makes_none(self):
        connection = hmc.HMC(_settings(hmc=['hmc.example']))
        connection.logoff()
        self.assertIsNone(connection._session)


class VersionGatesTest(testtools.TestCase):
    """The driver's API-version thresholds are the HMC's.

    The simulator's gates carry their sources: the driver asks no HMC for
    what it lacks, and leaves nothing unused that it has.
    """

    def gate(self, table, path, *more):
        for entry in table:
            if re.fullmatch(entry[1], path) and \
                    all(m in entry for m in more):
                return entry
        raise AssertionError('no gate for %s' % path)

    def test_thresholds(self):
        part = '/api/partitions/p1'
        # Submit Requests has no documented first version (HMC rule N1):
        # the simulated HMC answers it on every level, and the driver's
        # own AGGREGATION_API is a cautious assumption, not a gate to
        # hold the simulator to.
        self.assertRaises(AssertionError, self.gate, versions.OPERATIONS,
                          hmc.AGGREGATION_URI)
        gate = self.gate(versions.OPERATIONS,
                         part + '/operations/list-os-messages')
        self.assertEqual((hmc.OS_MESSAGES_API, hmc.OS_MESSAGES_SE),
                         gate[2:4])
        self.assertEqual(hmc.PROPERTIES_FILTER_API, self.gate(
            versions.QUERY_PARAMETERS, part, 'properties')[3])
        for path in ('/api/cpcs/c1/partitions',
                     '/api/cpcs/c1/virtual-switches'):
            self.assertEqual(hmc.ADDITIONAL_PROPERTIES_API, self.gate(
                versions.QUERY_PARAMETERS, path, 'additional-properties')[3])


class HmcRequestsTest(base.DriverTestCase):
    """HMC's requests on the definitions: what is sent, what the HMC holds."""

    definitions = base.PER_DEFINITION
    definition = 'z16'

    def setUp(self):
        super().setUp()
        self.hmc = self.driver.hmc
        self.raw = _RawUris(self.sim)

    def partitions(self, count=1):
        parts = []
        for _ in range(count):
            instance, _c = self.build(network_info=[], power_on=False)
            parts.append(self.driver.partitions.get(instance.uuid))
        self.raw.log[:] = []
        self.sim.reset_counts()
        return parts

    def ended_job(self, partition, code, status='complete', message=None,
                  reason=0):
        uri = partition.uri + '/operations/stop'
        job = sim_jobs.new_job(self.sim, types.SimpleNamespace(
            method='POST', uri=uri), end=0)
        if status != 'running':
            sim_jobs.finish(job, code, reason, message, status)
        return zhmcclient.Job(self.session, job['uri'], 'POST', uri)

    def job_kept(self, job):
        return job.uri.rsplit('/', 1)[1] in self.sim.jobs

    def test_api_version_of_the_definition(self):
        expected = (4, 10) if self.definition == 'z16' else (1, 7)
        self.assertEqual(expected, self.hmc.api_version())
        self.assertEqual(self.definition == 'z16', self.hmc.aggregates())
        self.assertEqual([('GET', '/api/version', 'ok')], self.raw.log)

    def test_api_version_errors_are_translated(self):
        self.sim.inject_fault('connection', 'GET', '/api/version')
        exc = self.assertRaises(exception.HMCUnavailable,
                                self.hmc.api_version)
        self.assertIn('query API version on HMC: ConnectionError',
                      exc.format_message())
        self.sim.inject_fault('http500', 'GET', '/api/version')
        exc = self.assertRaises(exception.HMCOperationFailed,
                                self.hmc.api_version)
        self.assertIn('query API version on HMC failed: HTTP 500 reason 0',
                      exc.format_message())

    def test_cpc_by_object_id(self):
        cpc = self.hmc.cpc(base.CPC_ID)
        self.assertEqual('CPC1', cpc.get_property('name'))
        self.assertEqual(base.CPC_URI, cpc.uri)
        self.assertIsNone(self.hmc.cpc('00000000-0000-4000-8000-00000000dead'))

    def test_pull_partition(self):
        part, = self.partitions()
        self.assertIs(True, self.hmc.pull_partition(part, ['status']))
        self.assertEqual('stopped', part.get_property('status'))
        uri = self.raw.log[-1][1]
        if self.definition == 'z16':
            self.assertEqual(part.uri + '?properties=status', uri)
        else:
            self.assertEqual(part.uri, uri)
        self.sim.inject_fault('http500', 'GET', '/api/partitions/{id}')
        exc = self.assertRaises(zhmcclient.HTTPError,
                                self.hmc.pull_partition, part, ['status'])
        self.assertEqual(500, exc.http_status)
        self.faked_cpc.partitions.remove(part.uri.rsplit('/', 1)[1])
        self.assertIs(False, self.hmc.pull_partition(part, ['status']))
        self.assertIs(False, hmc.pull(part))

    def test_wait_for_job_success_keeps_the_status_for_the_next_read(self):
        part, = self.partitions()
        for code in (200, 201, 204):
            job = self.ended_job(part, code)
            self.assertEqual(job.uri, self.hmc.wait_for_job(
                job, 'stop', hmc.Deadline(5)))
            self.assertTrue(self.job_kept(job))
            self.hmc.discard_job(job.uri)
            self.assertFalse(self.job_kept(job))
        # Deleting a status that is gone already is no error.
        self.hmc.discard_job(job.uri)

    def test_failed_job_is_deleted_and_raised(self):
        part, = self.partitions()
        for code, status, message, reason, expected in (
                (500, 'complete', 'broke', 12, (500, 12, 'broke')),
                (400, 'complete', None, 0,
                 (400, 0, 'the job ended with status complete')),
                (409, 'canceled', 'canceled', 3, (409, 3, 'canceled')),
                (204, 'canceled', None, 0,
                 (409, 0, 'the job ended with status canceled'))):
            job = self.ended_job(part, code, status, message, reason)
            exc = self.assertRaises(zhmcclient.HTTPError,
                                    self.hmc.wait_for_job, job, 'stop',
                                    hmc.Deadline(5))
            self.assertEqual(expected,
                             (exc.http_status, exc.reason, exc.message))
            self.assertEqual(('POST', part.uri + '/operations/stop'),
                             (exc.request_method, exc.request_uri))
            self.assertFalse(self.job_kept(job))

    def test_job_that_does_not_end_times_out(self):
        part, = self.partitions()
        job = self.ended_job(part, None, status='running')
        clock = FakeClock()
        self.useFixture(fixtures.MonkeyPatch('nova_dpm.hmc.waits.time', clock))
        exc = self.assertRaises(exception.HMCTimeout, self.hmc.wait_for_job,
                                job, 'stop of P', hmc.Deadline(2))
        self.assertEqual('Timed out after 2 s waiting for stop of P to '
                         'reach job completion (last status: running)',
                         exc.format_message())
        self.assertTrue(self.job_kept(job))

    def test_read_status_deletes_the_job_in_the_same_round_trip(self):
        part, = self.partitions()
        job = self.ended_job(part, 204)
        part.update_properties_local({'status': 'unknown'})
        self.assertTrue(self.hmc.read_status(part, job.uri))
        self.assertEqual('stopped', part.get_property('status'))
        self.assertFalse(self.job_kept(job))
        if self.definition == 'z16':
            self.assertEqual([('POST', hmc.AGGREGATION_URI, 'ok')],
                             self.raw.log)
        else:
            self.assertEqual([('GET', part.uri, 'ok'),
                              ('DELETE', job.uri, 'ok')], self.raw.log)

    def test_read_status_of_a_gone_partition(self):
        part, = self.partitions()
        job = self.ended_job(part, 204)
        self.faked_cpc.partitions.remove(part.uri.rsplit('/', 1)[1])
        self.assertIs(False, self.hmc.read_status(part, job.uri))
        self.assertFalse(self.job_kept(job))
        self.assertIs(False, self.hmc.read_status(part))

    def test_read_status_after_a_dropped_aggregation(self):
        if self.definition != 'z16':
            self.skipTest('Submit Requests needs API 4.1')
        part, = self.partitions()
        job = self.ended_job(part, 204)
        self.sim.inject_fault('connection', 'POST', hmc.AGGREGATION_URI)
        part.update_properties_local({'status': 'unknown'})
        self.assertTrue(self.hmc.read_status(part, job.uri))
        self.assertEqual('stopped', part.get_property('status'))
        self.assertFalse(self.job_kept(job))
        self.assertEqual([('GET', part.uri + '?properties=status', 'ok'),
                          ('DELETE', job.uri, 'ok')],
                         [r for r in self.raw.log if r[2] == 'ok'])
        # A dropped connection is no refusal: aggregation stays.
        self.assertTrue(self.hmc.aggregates())

    def answer_status_with(self, answer):
        """The HMC answers the status GET of Submit Requests so."""
        original = self.sim.request

        def request(method, uri, *args, **kwargs):
            result = original(method, uri, *args, **kwargs)
            if uri == hmc.AGGREGATION_URI:
                for response in result:
                    if response.get('id') == 'status':
                        response.update(answer)
            return result
        self.sim.request = request

    def test_status_answer_without_the_filter(self):
        # An HMC that refuses the properties filter in Submit Requests
        # (400), or answers without the status: a plain read follows.
        if self.definition != 'z16':
            self.skipTest('Submit Requests needs API 4.1')
        part, = self.partitions()
        for answer in ({'status': 400, 'body': {'http-status': 400,
                                                'reason': 1}},
                       {'status': 200, 'body': {}}):
            self.answer_status_with(answer)
            job = self.ended_job(part, 204)
            part.update_properties_local({'status': 'unknown'})
            self.raw.log[:] = []
            self.assertTrue(self.hmc.read_status(part, job.uri))
            self.assertEqual('stopped', part.get_property('status'))
            self.assertFalse(self.job_kept(job))
            self.assertEqual(
                [('POST', hmc.AGGREGATION_URI, 'ok'),
                 ('GET', part.uri + '?properties=status', 'ok')],
                self.raw.log)
        self.answer_status_with({'status': 500, 'body': {}})
        job = self.ended_job(part, 204)
        exc = self.assertRaises(zhmcclient.HTTPError,
                                self.hmc.read_status, part, job.uri)
        self.assertEqual(500, exc.http_status)

    def test_hmc_without_submit_requests(self):
        if self.definition != 'z16':
            self.skipTest('Submit Requests needs API 4.1')
        part, = self.partitions()
        self.sim.aggregation = False
        job = self.ended_job(part, 204)
        self.assertTrue(self.hmc.read_status(part, job.uri))
        self.assertFalse(self.job_kept(job))
        self.assertFalse(self.hmc.aggregates())
        self.assertEqual(
            [('POST', hmc.AGGREGATION_URI, 404),
             ('GET', part.uri + '?properties=status', 'ok'),
             ('DELETE', job.uri, 'ok')], self.raw.log)
        # From then on, no more attempts.
        self.raw.log[:] = []
        job = self.ended_job(part, 204)
        found = self.hmc.get_many([part.uri, base.CPC_URI], job.uri)
        self.assertEqual({part.uri, base.CPC_URI}, set(found))
        self.assertNotIn(hmc.AGGREGATION_URI,
                         [uri for _m, uri, _s in self.raw.log])
        self.assertFalse(self.job_kept(job))

    def answer(self, method, path, status, reason):
        """The HMC answers requests of this path with an error."""
        original = self.sim.request

        def request(m, uri, *args, **kwargs):
            if m.upper() == method and uri.split('?')[0] == path:
                raise sim_errors.http_error(m, uri, status, reason, 'no')
            return original(m, uri, *args, **kwargs)
        self.sim.request = request

    def test_submit_requests_refused_with_400_or_405(self):
        if self.definition != 'z16':
            self.skipTest('Submit Requests needs API 4.1')
        part, = self.partitions()
        original = self.sim.request
        for status in (400, 405):
            self.sim.request = original
            self.hmc._aggregation = True
            self.answer('POST', hmc.AGGREGATION_URI, status, 0)
            found = self.hmc.get_many([part.uri, base.CPC_URI])
            self.assertEqual('CPC1', found[base.CPC_URI]['name'])
            self.assertFalse(self.hmc.aggregates())

    def test_pull_of_an_object_answered_404(self):
        # zhmcclient makes CeasedExistence of 404,1 only.
        part, = self.partitions()
        self.answer('GET', part.uri, 404, 2)
        self.assertIs(False, hmc.pull(part))
        self.answer('GET', part.uri, 500, 0)
        self.assertRaises(zhmcclient.HTTPError, hmc.pull, part)

    def test_aggregation_server_error_is_raised(self):
        if self.definition != 'z16':
            self.skipTest('Submit Requests needs API 4.1')
        part, = self.partitions()
        self.sim.inject_fault('http500', 'POST', hmc.AGGREGATION_URI)
        exc = self.assertRaises(zhmcclient.HTTPError, self.hmc.get_many,
                                [part.uri, base.CPC_URI])
        self.assertEqual(500, exc.http_status)
        self.assertTrue(self.hmc.aggregates())

    def test_get_many(self):
        one, two = self.partitions(2)
        self.faked_cpc.partitions.remove(two.uri.rsplit('/', 1)[1])
        job = self.ended_job(one, 204)
        found = self.hmc.get_many([one.uri, two.uri, base.CPC_URI], job.uri)
        self.assertEqual({one.uri, two.uri, base.CPC_URI}, set(found))
        self.assertEqual(one.name, found[one.uri]['name'])
        self.assertIsNone(found[two.uri])
        self.assertEqual('CPC1', found[base.CPC_URI]['name'])
        self.assertFalse(self.job_kept(job))
        if self.definition == 'z16':
            self.assertEqual([('POST', hmc.AGGREGATION_URI, 'ok')],
                             self.raw.log)
        else:
            self.assertEqual(
                [('DELETE', job.uri, 'ok'), ('GET', one.uri, 'ok'),
                 ('GET', two.uri, 404), ('GET', base.CPC_URI, 'ok')],
                self.raw.log)

    def test_get_many_of_one_object_is_one_get(self):
        part, = self.partitions()
        found = self.hmc.get_many(iter([part.uri]))
        self.assertEqual(part.name, found[part.uri]['name'])
        self.assertEqual([('GET', part.uri, 'ok')], self.raw.log)
        self.raw.log[:] = []
        job = self.ended_job(part, 204)
        self.hmc.get_many([part.uri], job.uri)
        self.assertFalse(self.job_kept(job))
        if self.definition == 'z16':
            self.assertEqual([('POST', hmc.AGGREGATION_URI, 'ok')],
                             self.raw.log)

    def test_get_many_errors_other_than_gone_are_raised(self):
        one, two = self.partitions(2)
        self.hmc._aggregation = False
        self.sim.inject_fault('http500', 'GET', '/api/partitions/{id}')
        exc = self.assertRaises(zhmcclient.HTTPError, self.hmc.get_many,
                                [one.uri, two.uri])
        self.assertEqual(500, exc.http_status)

    def test_wait_for_status(self):
        part, = self.partitions()
        job = self.ended_job(part, 204)
        self.assertEqual('stopped', self.hmc.wait_for_status(
            part, {'stopped', 'terminated'}, hmc.Deadline(5), 'stop of P',
            discard=job.uri))
        self.assertFalse(self.job_kept(job))
        clock = FakeClock()
        self.useFixture(fixtures.MonkeyPatch('nova_dpm.hmc.waits.time', clock))
        exc = self.assertRaises(exception.HMCTimeout,
                                self.hmc.wait_for_status, part,
                                {'degraded', 'active'}, hmc.Deadline(1),
                                'start of P')
        self.assertEqual('Timed out after 1 s waiting for start of P to '
                         'reach active or degraded (last status: stopped)',
                         exc.format_message())
        self.faked_cpc.partitions.remove(part.uri.rsplit('/', 1)[1])
        self.assertIsNone(self.hmc.wait_for_status(
            part, {'active'}, hmc.Deadline(5), 'start of P'))


load_tests = base.load_tests
