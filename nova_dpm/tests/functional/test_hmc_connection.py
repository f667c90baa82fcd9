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

"""The HMC connection through the Nova API: HTTPS, logon, secrets, failover.

nova-compute reaches the simulated HMC over HTTPS with a real
``zhmcclient.Session`` (``cloud.HTTPS``); the server's session and fault
controls change what the HMC does between two Nova API calls.
"""

import logging
import threading

import fixtures
from nova import conf as nova_conf
from oslo_log import log as oslo_logging

from nova_dpm.simulator.cloud import nova_cloud as cloud

CONF = nova_conf.CONF
LOG = oslo_logging.getLogger(__name__)

START = '/api/partitions/{id}/operations/start'
STOP = '/api/partitions/{id}/operations/stop'
OS_COMMAND = '/api/partitions/{id}/operations/send-os-cmd'
VERSION = '/api/version'
SESSIONS = '/api/sessions'


class AllLogRecords(logging.Handler):
    """Every log record of the process, formatted, from DEBUG up.

    With its traceback and stack, so that nothing a record would print is
    left out of what a test searches.
    """

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter(
            '%(levelname)s %(name)s: %(message)s'))
        self.lines = []
        self._guard = threading.Lock()

    def emit(self, record):
        text = self.format(record)
        with self._guard:
            self.lines.append(text)

    def text(self):
        with self._guard:
            return '\n'.join(self.lines)


class CaptureAllLogging(fixtures.Fixture):
    """Attach an :class:`AllLogRecords` handler to the root logger.

    The root logger and every logger known so far that is set to a level
    above DEBUG (oslo.log's defaults for urllib3, keystoneauth, ...) are
    set to DEBUG for the test.
    """

    def _setUp(self):
        self.handler = AllLogRecords()
        root = logging.getLogger()
        loggers = [root] + [
            logger for logger in list(logging.root.manager.loggerDict.values())
            if isinstance(logger, logging.Logger)]
        for logger in loggers:
            if logger.level > logging.DEBUG:
                self.addCleanup(logger.setLevel, logger.level)
                logger.setLevel(logging.DEBUG)
        root.addHandler(self.handler)
        self.addCleanup(root.removeHandler, self.handler)


class HttpsConnectionTests(cloud.DPMCloudTestCase):
    """The connection nova-compute holds to the HTTPS simulator.

    Periodic tasks are off in nova's tests: every HMC request comes from
    the API call being made.
    """

    def power_requests(self):
        """(Send OS Command, Stop, Start) counted by the simulator."""
        return (self.simulator.count('POST', OS_COMMAND),
                self.simulator.count('POST', STOP),
                self.simulator.count('POST', START))

    def test_tls_verified_against_the_servers_ca(self):
        session = self.driver.hmc.session
        self.assertEqual(cloud.HTTPS, self.HMC_TRANSPORT)
        self.assertFalse(self.driver.hmc.simulated)
        self.assertEqual(self.hmc_server.ca_file, session.verify_cert)
        self.assertEqual('127.0.0.1', session.actual_host)
        self.assertEqual(self.hmc_server.port, session.port)
        # nova-compute logged on once at startup and went on with that
        # session, over TLS connections the server accepted.
        self.assertEqual(1, self.hmc_server.logons)
        self.assertEqual(0, self.hmc_server.failed_logons)
        self.assertGreaterEqual(self.hmc_server.connections, 1)
        self.assertEqual(1, self.hmc_server.active_sessions)

    def test_expired_session_is_renewed_transparently(self):
        server = self.boot()
        part = self.hmc.partition_of(server['id'])
        self.assertEqual('active', part['status'])
        logons = self.hmc_server.logons
        self.simulator.reset_counts()
        answered = len(self.hmc_server.responses)

        # The HMC ends the session (a timeout, an HMC restart, a logoff
        # by an administrator) between two server actions.
        self.hmc_server.expire_session()
        self.assertEqual(0, self.hmc_server.active_sessions)

        server = self.stop(server)
        self.assertEqual((1, 1, 0), self.power_requests())
        self.assertEqual('stopped', self.hmc.partition(part['name'])['status'])
        # zhmcclient logged on again once, and repeated the one request
        # the server refused (403, reason 5).
        self.assertEqual(logons + 1, self.hmc_server.logons)
        self.assertEqual(1, self.hmc_server.active_sessions)
        new = list(self.hmc_server.responses)[answered:]
        self.assertEqual(1, len([r for r in new if r[2] == 403]))
        self.assertEqual([('POST', SESSIONS, 200)],
                         [r for r in new if r[1] == SESSIONS])

        # The new session serves the next action without another logon.
        server = self.start(server)
        self.assertEqual('active', self.hmc.partition(part['name'])['status'])
        self.assertEqual(logons + 1, self.hmc_server.logons)
        self.delete(server)
        self.assertNothingOnHmc(server['id'])


class PasswordNotLoggedTests(cloud.DPMCloudTestCase):
    """[dpm] hmc_password appears in no log record and no API answer."""

    # A failed start is an error of the RPC cast, not of the API call.
    CAST_AS_CALL = False

    def _configure_logging(self):
        # Before the HMC server starts and nova-compute logs on.
        self.log = self.useFixture(CaptureAllLogging()).handler

    def test_password_is_never_logged(self):
        password = self.HMC_PASSWORD
        # What nova-compute logs at startup with debug on.
        CONF.log_opt_values(LOG, logging.DEBUG)

        server = self.boot()
        server = self.stop(server)
        server = self.start(server)

        # A failed operation: the HMC answers Start Partition with 500.
        server = self.stop(server)
        self.hmc_server.inject_fault('http500', 'POST', START)
        self.api.post_server_action(server['id'], {'os-start': None})
        server = self.wait_for_status(server, 'SHUTOFF')
        self.assertEqual([('http500', 'POST', START)],
                         self.simulator.fired_faults)
        self.assertEqual('stopped', self.hmc.partition_of(
            server['id'])['status'])
        actions = self.admin_api.get_instance_actions(server['id'])
        # Newest first: the failed start.
        start = [a for a in actions if a['action'] == 'start'][0]
        detail = self.admin_api.get_instance_action_details(
            server['id'], start['request_id'])
        event, = [e for e in detail['events']
                  if e['event'] == 'compute_start_instance']
        self.assertEqual('Error', event['result'])
        self.assertIn('HTTP 500', event['details'])
        self.assertIn('HMCOperationFailed', event['traceback'])

        # Nova recorded an instance fault; the API shows it for a server
        # in ERROR, where an admin can put it.
        self.admin_api.post_server_action(
            server['id'], {'os-resetState': {'state': 'error'}})
        in_error = self.get_server(server)
        self.assertEqual('ERROR', in_error['status'])
        self.assertIn('HTTP 500 reason 0: Simulated internal server error',
                      in_error['fault']['message'])
        self.delete(server)
        self.assertNothingOnHmc(server['id'])

        # Nothing the API showed holds the password ...
        for what, shown in (('the instance actions', actions),
                            ('the failed start', detail),
                            ('the server in ERROR', in_error)):
            # (Counted, so that a failure does not print the secret.)
            self.assertEqual(0, repr(shown).count(password),
                             'The API shows the HMC password in %s' % what)
        # ... and no log record of any service or library does.
        self.assertNotLogged(password)
        self.assertEqual(0, self.stdlog.logger.output.count(password),
                         "The HMC password is in nova's captured log")
        # The records are there: the logon (zhmcclient logs its request
        # with the password blanked), the configuration (masked by
        # oslo.config), the HMC requests and the failure.
        self.assertLogged('Logging on to HMC 127.0.0.1')
        self.assertLogged('"password": "********"')
        self.assertLogged('dpm.hmc_password               = ****')
        self.assertLogged('dpm.hmc_username               = %s' %
                          cloud.HMC_USERID)
        self.assertLogged('/operations/start')
        self.assertLogged('Simulated internal server error')

    def assertLogged(self, needle):
        if needle not in self.log.text():
            self.fail('%r is in none of the %d log records' % (
                needle, len(self.log.lines)))

    def assertNotLogged(self, needle):
        found = [line for line in self.log.lines if needle in line]
        if found:
            # Without the secret itself.
            self.fail('%d log record(s) hold the HMC password; the first: '
                      '%s' % (len(found), found[0].replace(needle, '<HERE>')))


class FailoverTests(cloud.DPMCloudTestCase):
    """[dpm] hmc = localhost, 127.0.0.1: two names of the one server.

    Both names reach the HTTPS simulator on 127.0.0.1 (its certificate
    is for both). The first one, the "primary", is unavailable when its
    availability check loses its connection (a connection fault of the
    server): with several hosts, zhmcclient sends ``GET /api/version`` to
    each in turn at every logon and logs on to the first that answers.
    """

    def hmc_hosts(self):
        return ['localhost', '127.0.0.1']

    def _before_compute_start(self):
        # One attempt per host: a lost connection means "not available".
        self.flags(group='dpm', hmc_connect_retries=0)
        self.hmc_server.drop_connection('GET', VERSION)

    def test_failover_at_logon_and_at_relogon(self):
        session = self.driver.hmc.session
        self.assertEqual(['localhost', '127.0.0.1'], session.host)
        # At startup the primary did not answer: the second one is used.
        self.assertEqual([('connection', 'GET', VERSION)],
                         self.simulator.fired_faults)
        self.assertEqual('127.0.0.1', session.actual_host)
        self.assertEqual(1, self.hmc_server.logons)
        server = self.boot()
        self.assertEqual('127.0.0.1', session.actual_host)

        # A re-logon starts again from the first host, which answers now.
        self.hmc_server.expire_session()
        server = self.stop(server)
        self.assertEqual('localhost', session.actual_host)
        self.assertEqual(2, self.hmc_server.logons)

        # The primary fails again while the session ends: the next action
        # logs on to the second host and goes on there.
        self.hmc_server.expire_session()
        self.hmc_server.drop_connection('GET', VERSION)
        server = self.start(server)
        self.assertEqual('127.0.0.1', session.actual_host)
        self.assertEqual(3, self.hmc_server.logons)
        self.assertEqual(2, len(self.simulator.fired_faults))
        self.assertEqual('active', self.hmc.partition_of(
            server['id'])['status'])

        self.delete(server)
        self.assertNothingOnHmc(server['id'])
        self.assertEqual(0, self.hmc_server.failed_logons)
