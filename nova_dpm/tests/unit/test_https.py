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

"""The driver's production path: a real zhmcclient.Session over TLS.

The simulated HMC is served on 127.0.0.1 with a generated CA; the driver is
configured exactly as for a real HMC.
"""

import logging
import shutil
import tempfile

from nova.compute import power_state
from nova.compute import task_states

from nova_dpm import exception
from nova_dpm.simulator import certs
from nova_dpm.tests.unit import base


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


def _rmtree(path):
    shutil.rmtree(path, ignore_errors=True)
