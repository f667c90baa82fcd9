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

"""The driver against the HTTPS simulator: logon, re-logon, permissions.

The driver runs its production path (a real zhmcclient session over TLS);
the simulated HMC refuses bad credentials, disables a user after repeated
failures, expires sessions and answers 403,1 where the user lacks a
permission.
"""

import shutil
import socket
import tempfile
import threading

import fixtures
from nova import exception as nova_exception

from nova_dpm import exception
from nova_dpm import hmc as hmc_module
from nova_dpm.simulator import certs
from nova_dpm.tests.unit import base

THREADS = 20


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


class LogonRefusedTest(HttpsAuthTestCase):

    def test_refused_logon_fails_at_once_with_one_attempt(self):
        self.start()
        self.restart(hmc_password='wrong-password')
        exc = self.assertRaises(exception.HMCLogonRefused,
                                self.driver.init_host, base.HOST)
        message = exc.format_message()
        self.assertIn('the HMC refused the logon of user nova', message)
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

    def test_disabled_user_is_refused_once(self):
        self.start()
        for _ in range(3):
            self.assertRaises(exception.HMCLogonRefused, self.restart(
                hmc_password='wrong-password').init_host, base.HOST)
        self.assertTrue(self.server.user_disabled)
        self.server.failed_logons = 0
        exc = self.assertRaises(exception.HMCLogonRefused, self.restart(
            hmc_password=base.PASSWORD).init_host, base.HOST)
        self.assertIn('not disabled', exc.format_message())
        self.assertEqual(1, self.server.failed_logons)


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

    def test_session_is_the_serialized_one(self):
        self.start()
        self.assertIsInstance(self.driver.hmc.session,
                              hmc_module.SerializedLogonSession)


class PermissionTest(HttpsAuthTestCase):

    def test_adapter_without_permission_is_named(self):
        self.start()
        adapter_uri = '/api/adapters/%s' % base.FCP_A
        self.server.deny_object(adapter_uri, 'adapter FCP-A')
        logons = self.server.logons
        self.restart()
        exc = self.assertRaises(exception.HMCPermissionDenied,
                                self.driver.init_host, base.HOST)
        message = exc.format_message()
        self.assertIn(adapter_uri, message)
        self.assertIn('object-access permission', message)
        self.assertIn('403 reason 1', message)
        # A permission problem is not a session problem: no new logon.
        self.assertEqual(logons + 1, self.server.logons)

    def test_partition_without_permission_is_named(self):
        self.start()
        server, _connector = self.build()
        partition = self.faked_partition(server)
        uri = partition.uri
        self.server.deny_object(uri, 'partition %s' %
                                partition.properties['name'])
        exc = self.assertRaises(exception.HMCPermissionDenied,
                                self.driver.power_off, server)
        message = exc.format_message()
        self.assertIn(uri, message)
        self.assertIn(partition.properties['name'], message)
        self.assertIn('object-access permission', message)
        self.assertEqual('active', partition.properties['status'])

    def test_task_without_permission_is_named(self):
        self.start()
        server, _connector = self.build()
        self.server.deny_task('POST', '/api/partitions/{id}/operations/stop',
                              'Stop')
        exc = self.assertRaises(exception.HMCPermissionDenied,
                                self.driver.power_off, server)
        message = exc.format_message()
        self.assertIn('task permission', message)
        self.assertIn('task Stop', message)

    def test_virtual_switch_without_permission_fails_the_build(self):
        self.start()
        before = set(self.faked_partitions())
        uri = '/api/virtual-switches/%s' % base.VSWITCH_1
        self.server.deny_object(uri, 'virtual switch VSWITCH-OSA1-P1')
        # Refused before anything is created on the HMC.
        exc = self.assertRaises(nova_exception.InstanceUnacceptable,
                                self.build)
        message = exc.format_message()
        self.assertIn(uri, message)
        self.assertIn('object-access permission', message)
        # Nothing is left behind on the HMC.
        self.assertEqual(before, set(self.faked_partitions()))
