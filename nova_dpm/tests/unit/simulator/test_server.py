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

"""The HTTPS front end of the simulated HMC, through a real zhmcclient.

Every test talks to its own server on 127.0.0.1 with a real
``zhmcclient.Session`` (logon, re-logon, urllib3 retries, TLS
verification against the server's CA), as the driver does against a real
HMC.  No test asserts on time; every wait is a bounded loop.
"""

import os
import threading
import time

import requests
import testtools
import zhmcclient

from nova_dpm import simulator
from nova_dpm.simulator import server as hmc_server
from nova_dpm.tests.unit.simulator import base

USERID = 'nova'
PASSWORD = 'not-the-real-one'

START = '/api/partitions/{id}/operations/start'
STOP = '/api/partitions/{id}/operations/stop'
CREATE = '/api/cpcs/{id}/partitions'

# Bounds for the polling loops (iterations of POLL seconds).
POLL = 0.02
MAX_POLLS = 1500


def retry_config(**kw):
    """zhmcclient's defaults, with timeouts that cannot hang a test run."""
    values = dict(connect_timeout=10, read_timeout=60, operation_timeout=60,
                  status_timeout=60)
    values.update(kw)
    return zhmcclient.RetryTimeoutConfig(**values)


class ServerTestCase(base.TestCase):
    """One simulated HMC behind an HmcServer per test."""

    transition_time = 0.0
    cert_dir = None

    def setUp(self):
        super().setUp()
        self.sim = simulator.load_session(
            'z16', transition_time=self.transition_time).simulator
        self.server = hmc_server.HmcServer(
            self.sim, USERID, PASSWORD, cert_dir=self.cert_dir)
        self.server.start()
        self.addCleanup(self.server.stop)
        self.session = self.new_session()
        self.client = zhmcclient.Client(self.session)

    def new_session(self, password=PASSWORD, verify_cert=None, **rt):
        session = zhmcclient.Session(
            '127.0.0.1', USERID, password, port=self.server.port,
            verify_cert=self.server.ca_file if verify_cert is None
            else verify_cert,
            retry_timeout_config=retry_config(**rt))
        self.addCleanup(self._close, session)
        return session

    @staticmethod
    def _close(session):
        # Close the pooled connections of the requests session.
        if session.session is not None:
            session.session.close()

    def raw(self, method, path, session_id=None, **kw):
        """A plain HTTPS request (no zhmcclient logic on top)."""
        headers = {}
        if session_id is not None:
            headers['X-API-Session'] = session_id
        return requests.request(method, self.server.url + path,
                                headers=headers, verify=self.server.ca_file,
                                timeout=60, **kw)

    def assertErrorBody(self, resp, status, reason):
        self.assertEqual(status, resp.status_code)
        self.assertTrue(resp.headers['Content-Type'].startswith(
            'application/json'))
        self.assertEqual(str(len(resp.content)),
                         resp.headers['Content-Length'])
        body = resp.json()
        self.assertEqual(status, body['http-status'])
        self.assertEqual(reason, body['reason'])
        for key in ('message', 'request-method', 'request-uri'):
            self.assertIn(key, body)
        return body

    def statuses(self, method, pattern):
        """HTTP statuses the server answered (None: dropped), in order."""
        return [s for m, p, s in self.server.responses
                if m == method and p == pattern]

    def cpc(self):
        return self.client.cpcs.find(name='CPC1')

    def new_partition(self, name='inst-1'):
        return self.cpc().partitions.create({
            'name': name, 'ifl-processors': 1, 'initial-memory': 1024,
            'maximum-memory': 2048})

    def poll(self, job):
        """Job.check_for_completion() until complete (bounded)."""
        for _ in range(MAX_POLLS):
            status, result = job.check_for_completion()
            if status == 'complete':
                return result
            time.sleep(POLL)
        self.fail('Job %s did not complete' % job.uri)


class TestSessions(ServerTestCase):

    def test_query_api_version_needs_no_logon(self):
        self.assertEqual(
            {'api-major-version': 4, 'api-minor-version': 10,
             'hmc-version': '2.16.0', 'hmc-name': 'HMC1'},
            self.client.query_api_version())
        self.assertEqual(0, self.server.logons)
        self.assertIsNone(self.session.session_id)
        self.assertEqual(1, self.sim.count('GET', '/api/version'))

    def test_logon_and_logoff(self):
        self.session.logon()
        self.assertEqual(1, self.server.logons)
        self.assertEqual(1, self.server.active_sessions)
        self.assertIsNotNone(self.session.session_id)
        self.assertIsNotNone(self.session.session_credential)
        self.assertTrue(self.session.object_topic)
        self.assertEqual(self.session.object_topic + 'job',
                         self.session.job_topic)
        old_id = self.session.session_id

        self.session.logoff()
        self.assertEqual(1, self.server.logoffs)
        self.assertEqual(0, self.server.active_sessions)
        self.assertIsNone(self.session.session_id)
        # The logged-off session id is refused.
        self.assertErrorBody(self.raw('GET', '/api/cpcs', old_id), 403, 5)

    def test_injected_fault_fails_a_logon(self):
        # A fault for POST /api/sessions fails one logon, without a
        # session; the next logon succeeds.
        self.server.inject_fault('http500', 'POST', '/api/sessions')
        self.server.inject_fault('connection', 'POST', '/api/sessions')
        exc = self.assertRaises(zhmcclient.HTTPError, self.session.logon)
        self.assertEqual(500, exc.http_status)
        self.assertRaises(zhmcclient.ConnectionError,
                          self.new_session().logon)
        self.assertEqual((0, 0), (self.server.logons,
                                  self.server.active_sessions))
        self.new_session().logon()
        self.assertEqual(1, self.server.logons)

    def test_logon_response(self):
        resp = self.raw('POST', '/api/sessions',
                        json={'userid': USERID, 'password': PASSWORD})
        self.assertEqual(200, resp.status_code)
        body = resp.json()
        self.assertEqual(4, body['api-major-version'])
        self.assertEqual(10, body['api-minor-version'])
        for key in ('api-session', 'session-credential', 'notification-topic',
                    'job-notification-topic', 'password-expires'):
            self.assertIn(key, body)

    def test_notification_topics(self):
        topics = self.session.get_notification_topics()
        by_type = {t['topic-type']: t['topic-name'] for t in topics}
        self.assertEqual(self.session.object_topic,
                         by_type['object-notification'])
        self.assertEqual(self.session.job_topic, by_type['job-notification'])

    def test_wrong_password_is_refused_once(self):
        session = self.new_session(password='wrong')
        exc = self.assertRaises(zhmcclient.ServerAuthError,
                                zhmcclient.Client(session).cpcs.list)
        self.assertIn('403,0', str(exc))
        self.assertEqual(403, exc.details.http_status)
        self.assertEqual(0, exc.details.reason)
        # zhmcclient does not re-logon on 403,0: exactly one attempt.
        self.assertEqual(1, self.server.failed_logons)
        self.assertEqual(0, self.server.logons)
        self.assertEqual([], self.sim.requests)

    def test_missing_password_is_a_client_error(self):
        session = self.new_session(password=None)
        self.assertRaises(zhmcclient.ClientAuthError,
                          zhmcclient.Client(session).cpcs.list)
        self.assertEqual(0, self.server.failed_logons)

    def test_missing_session_header(self):
        body = self.assertErrorBody(self.raw('GET', '/api/cpcs'), 403, 4)
        self.assertEqual('GET', body['request-method'])
        self.assertEqual('/api/cpcs', body['request-uri'])
        # zhmcclient without session renewal: a clear ServerAuthError.
        exc = self.assertRaises(
            zhmcclient.ServerAuthError, self.session.get, '/api/cpcs',
            logon_required=False, renew_session=False)
        self.assertIn('403,4', str(exc))
        # With renewal (the default), zhmcclient logs on and repeats.
        self.session.get('/api/cpcs', logon_required=False)
        self.assertEqual(1, self.server.logons)
        # The simulator never saw the refused requests.
        self.assertEqual(1, self.sim.count('GET', '/api/cpcs'))

    def test_unknown_session_id(self):
        self.assertErrorBody(self.raw('GET', '/api/cpcs', 'bogus'), 403, 5)

    def test_expired_session_relogon_is_transparent(self):
        self.client.cpcs.list()
        self.server.expire_session()
        self.assertEqual(0, self.server.active_sessions)
        self.assertEqual(['CPC1'],
                         [c.name for c in self.client.cpcs.list()])
        self.assertEqual(2, self.server.logons)
        self.assertEqual([200, 403, 200],
                         self.statuses('GET', '/api/cpcs'))

    def test_expired_twice_in_a_row_is_a_clear_error(self):
        self.client.cpcs.list()
        self.server.expire_session()
        self.server.expire_new_sessions(1)
        exc = self.assertRaises(zhmcclient.ServerAuthError,
                                self.client.cpcs.list)
        self.assertIn('403,5', str(exc))
        self.assertEqual(5, exc.details.reason)
        # zhmcclient re-logs on once per request, not in a loop.
        self.assertEqual(2, self.server.logons)
        # The next request logs on again and works.
        self.client.cpcs.list()
        self.assertEqual(3, self.server.logons)

    def test_expire_sessions_always(self):
        self.server.expire_sessions_always()
        self.assertRaises(zhmcclient.ServerAuthError, self.client.cpcs.list)
        self.assertRaises(zhmcclient.ServerAuthError, self.client.cpcs.list)
        # Per request: the first logon, then one re-logon.
        self.assertEqual(3, self.server.logons)
        self.server.expire_sessions_always(False)
        self.client.cpcs.list()
        self.assertEqual(4, self.server.logons)

    def test_concurrent_sessions(self):
        errors = []

        def work():
            try:
                client = zhmcclient.Client(self.new_session())
                for _ in range(10):
                    client.cpcs.find(name='CPC1').partitions.list()
            except Exception as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual([], errors)
        self.assertFalse(any(t.is_alive() for t in threads))
        self.assertEqual(4, self.server.logons)


class TestProtocol(ServerTestCase):

    def test_list_cpcs_and_partitions(self):
        cpcs = self.client.cpcs.list()
        self.assertEqual(['CPC1'], [c.name for c in cpcs])
        self.assertEqual(base.CPC_URI, cpcs[0].uri)
        names = {p.name for p in cpcs[0].partitions.list()}
        self.assertEqual(
            {p.properties['name']
             for p in self.sim.cpcs()[0].partitions.list()}, names)
        self.assertTrue(names)

    def test_create_is_201_with_location(self):
        partition = self.new_partition()
        self.assertEqual([201], self.statuses('POST', CREATE))
        resp = self.raw('GET', partition.uri, self.session.session_id)
        self.assertEqual(200, resp.status_code)
        self.assertEqual('inst-1', resp.json()['name'])

    def test_http_error_body(self):
        exc = self.assertHttpError(404, 1, self.session.get,
                                   '/api/partitions/no-such-id')
        self.assertEqual('GET', exc.body['request-method'])
        self.assertEqual('/api/partitions/no-such-id',
                         exc.body['request-uri'])

    def test_invalid_json_body(self):
        self.session.logon()
        resp = self.raw('POST', base.CPC_URI + '/partitions',
                        self.session.session_id, data=b'{not json')
        # IBM, "Common request validation reason codes": 9.
        self.assertErrorBody(resp, 400, 9)

    def test_unsupported_method(self):
        self.session.logon()
        self.assertErrorBody(
            self.raw('PUT', '/api/cpcs', self.session.session_id), 405, 0)

    def test_persistent_connection(self):
        self.client.cpcs.list()
        connections = self.server.connections
        for _ in range(20):
            self.client.cpcs.list()
        # HTTP/1.1 keep-alive: the 20 requests reused the connection.
        self.assertEqual(connections, self.server.connections)

    def test_stop_closes_everything(self):
        self.client.cpcs.list()
        port = self.server.port
        self.server.stop()
        self.server.stop()  # idempotent
        session = zhmcclient.Session(
            '127.0.0.1', USERID, PASSWORD, port=port, verify_cert=False,
            retry_timeout_config=retry_config(connect_retries=0))
        self.addCleanup(self._close, session)
        self.assertRaises(zhmcclient.ConnectionError,
                          zhmcclient.Client(session).query_api_version)

    def test_loopback_only(self):
        for host in ('0.0.0.0', '::', '192.0.2.1', 'localhost'):
            self.assertRaises(ValueError, hmc_server.HmcServer, self.sim,
                              USERID, PASSWORD, host=host)

    def test_latency_is_the_simulators(self):
        self.server.latency = 0.001
        self.assertEqual(0.001, self.sim.latency)
        self.client.cpcs.list()


class TestJobs(ServerTestCase):

    transition_time = 0.2

    def test_start_and_stop_with_job_polling(self):
        partition = self.new_partition()
        job = partition.start(wait_for_completion=False)
        self.assertIsInstance(job, zhmcclient.Job)
        self.assertEqual([202], self.statuses('POST', START))
        self.assertEqual('POST', job.op_method)
        self.assertEqual(partition.uri + '/operations/start', job.op_uri)
        partition.pull_full_properties()
        self.assertEqual('starting', partition.get_property('status'))

        self.assertIsNone(self.poll(job))
        partition.pull_full_properties()
        status = partition.get_property('status')
        self.assertNotIn(status, ('starting', 'stopped'))
        self.assertEqual(self.sim.properties(partition.uri)['status'],
                         status)
        # check_for_completion() deleted the ended job on the HMC.
        self.assertHttpError(404, 1, job.query_status)

        job = partition.stop(wait_for_completion=False)
        self.assertIsNone(self.poll(job))
        partition.pull_full_properties()
        self.assertEqual('stopped', partition.get_property('status'))

    def test_wait_for_completion_in_zhmcclient(self):
        # transition_time 0: the job has ended before the first poll, so
        # zhmcclient's 10 s sleep between polls is never reached.
        self.sim.transition_time = 0.0
        partition = self.new_partition()
        partition.start(wait_for_completion=False)
        self.assertIsNone(self.session.post(
            partition.uri + '/operations/stop', wait_for_completion=True))
        partition.pull_full_properties()
        self.assertEqual('stopped', partition.get_property('status'))


class TestFaults(ServerTestCase):

    def test_busy_is_not_retried_by_partition_start(self):
        partition = self.new_partition()
        self.server.inject_fault('busy', 'POST', START)
        self.assertHttpError(409, 2, partition.start,
                             wait_for_completion=False)
        partition.pull_full_properties()
        self.assertEqual('stopped', partition.get_property('status'))
        self.assertEqual([409], self.statuses('POST', START))

    def test_busy_is_retried_with_busy_retries(self):
        partition = self.new_partition()
        self.server.inject_fault('busy', 'POST', START)
        job = self.session.post(partition.uri + '/operations/start',
                                wait_for_completion=False, busy_retries=2)
        self.assertIsInstance(job, zhmcclient.Job)
        self.assertEqual([409, 202], self.statuses('POST', START))
        self.assertEqual(1, self.server.logons)

    def test_faults_come_after_the_session_check(self):
        partition = self.new_partition()
        self.server.expire_session()
        self.server.inject_fault('busy', 'POST', START)
        # 403,5 -> re-logon -> repeated request gets the fault (409,2) ->
        # busy retry (no re-logon) -> 202.
        job = self.session.post(partition.uri + '/operations/start',
                                wait_for_completion=False, busy_retries=1)
        self.assertIsInstance(job, zhmcclient.Job)
        self.assertEqual([403, 409, 202], self.statuses('POST', START))
        self.assertEqual(2, self.server.logons)

    def test_dropped_get_is_retried_by_urllib3(self):
        self.client.cpcs.list()
        self.server.drop_connection('GET', '/api/cpcs')
        self.assertEqual(['CPC1'],
                         [c.name for c in self.client.cpcs.list()])
        self.assertEqual([('connection', 'GET', '/api/cpcs')],
                         self.sim.fired_faults)
        self.assertEqual([200, None, 200], self.statuses('GET', '/api/cpcs'))

    def test_dropped_get_without_read_retries(self):
        # The driver's RetryTimeoutConfig has read_retries=0: a dropped
        # GET is not repeated.
        session = self.new_session(read_retries=0)
        client = zhmcclient.Client(session)
        client.cpcs.list()
        self.server.drop_connection('GET', '/api/cpcs')
        exc = self.assertRaises(zhmcclient.ConnectionError, client.cpcs.list)
        self.assertIn('Connection aborted', str(exc))

    def test_dropped_post_surfaces(self):
        self.client.cpcs.list()
        self.server.drop_connection('POST', CREATE)
        exc = self.assertRaises(zhmcclient.ConnectionError,
                                self.new_partition)
        self.assertIn('Connection aborted', str(exc))
        self.assertNotIn('inst-1',
                         [p.name for p in self.cpc().partitions.list()])
        self.assertEqual([None], self.statuses('POST', CREATE))
        # The next request opens a new connection and works.
        self.new_partition()

    def test_injected_server_error(self):
        self.server.inject_fault('http500', 'GET', '/api/cpcs', nth=2)
        self.client.cpcs.list()
        self.assertHttpError(500, 0, self.client.cpcs.list)
        self.client.cpcs.list()

    def test_read_timeout(self):
        partition = self.new_partition()
        self.sim.transition_time = 3600
        # The server holds the answer for 60 s (stop() ends that early);
        # the client gives up after 0.3 s.
        self.server.timeout_sleep = 60
        session = self.new_session(read_timeout=0.3)
        self.server.inject_fault('timeout', 'POST', START)
        self.assertRaises(
            zhmcclient.ReadTimeout, session.post,
            partition.uri + '/operations/start', wait_for_completion=False)
        # The HMC did perform it: the partition is starting.
        self.assertEqual('starting',
                         self.sim.properties(partition.uri)['status'])

    def test_timeout_fault_without_sleep_drops_the_connection(self):
        partition = self.new_partition()
        self.server.inject_fault('timeout', 'POST', START)
        self.assertRaises(
            zhmcclient.ConnectionError, partition.start,
            wait_for_completion=False)


class TestHmcServerUnit(testtools.TestCase):

    def test_requires_credentials(self):
        sim = simulator.load_session('z16').simulator
        self.assertRaises(ValueError, hmc_server.HmcServer, sim, '', 'x')
        self.assertRaises(ValueError, hmc_server.HmcServer, sim, 'x', None)

    def test_not_started(self):
        sim = simulator.load_session('z16').simulator
        server = hmc_server.HmcServer(sim, 'u', 'p')
        self.assertRaises(RuntimeError, getattr, server, 'port')
        self.assertIsNone(server.ca_file)
        server.stop()  # nothing to stop

    def test_context_manager(self):
        sim = simulator.load_session('z16').simulator
        with hmc_server.HmcServer(sim, 'u', 'p') as server:
            ca_file = server.ca_file
            session = zhmcclient.Session(
                '127.0.0.1', 'u', 'p', port=server.port, verify_cert=ca_file,
                retry_timeout_config=retry_config())
            zhmcclient.Client(session).cpcs.list()
            session.session.close()
            self.assertRaises(RuntimeError, server.start)
        # The temporary certificate directory is gone.
        self.assertFalse(os.path.exists(ca_file))


class TestRestart(ServerTestCase):
    """HMC rule A12: a restart drops sessions and jobs, refuses for a while.

    zhmcclient.mock has no restart: its sessions and jobs never go away.
    """

    transition_time = 0.2

    def test_restart_refuses_then_forgets_sessions_and_jobs(self):
        partition = self.new_partition()
        job = partition.start(wait_for_completion=False)
        logons = self.server.logons
        old_session = self.session.session_id
        self.server.restart(down=0.3)
        self.assertEqual(1, self.sim.restarts)
        # Meanwhile the port refuses connections.
        self.assertRaises(requests.ConnectionError, self.raw, 'GET',
                          '/api/version')
        self.assertTrue(self.server.wait_until_up())
        # The old session is gone: 403,5, then zhmcclient logs on again.
        resp = self.raw('GET', '/api/cpcs', session_id=old_session)
        self.assertErrorBody(resp, 403, 5)
        # The job is forgotten (404), the start goes on on the CPC.
        self.assertHttpError(404, 1, job.query_status)
        self.assertEqual(logons + 1, self.server.logons)
        self.assertEqual({}, self.sim.jobs)
        self.sim.complete_transitions()
        # Nothing to boot: paused, the outcome of a start (HMC rule E3).
        self.assertEqual('paused',
                         self.sim.properties(partition.uri)['status'])

    def test_restart_after_a_request_answers_it_first(self):
        partition = self.new_partition()
        self.server.restart_after('POST', START, down=0.3)
        job = partition.start(wait_for_completion=False)
        self.assertEqual([202], self.statuses('POST', START))
        self.assertTrue(self.server.wait_until_up())
        self.assertHttpError(404, 1, job.query_status)

    def test_a_lost_operation_leaves_the_status_before_it(self):
        partition = self.new_partition()
        partition.start(wait_for_completion=False)
        self.server.restart(down=0.0, lose_operations=True)
        self.assertTrue(self.server.wait_until_up())
        self.sim.complete_transitions()
        self.assertEqual('stopped',
                         self.sim.properties(partition.uri)['status'])

    def test_stop_while_down_does_not_restart(self):
        self.server.restart(down=30)
        self.server.stop()
        self.assertFalse(self.server.up)


class TestInProcessRestart(base.TestCase):
    """The same restart without the HTTPS front end."""

    def test_refuses_then_forgets_jobs(self):
        session = simulator.load_session('z16', transition_time=0.2)
        sim = session.simulator
        cpc = zhmcclient.Client(session).cpcs.find(name='CPC1')
        partition = cpc.partitions.create({
            'name': 'inst-1', 'ifl-processors': 1, 'initial-memory': 1024,
            'maximum-memory': 2048})
        job = partition.start(wait_for_completion=False)
        sim.restart(down=60)
        self.assertRaises(zhmcclient.ConnectionError, job.query_status)
        # A second restart, over at once.
        sim.restart(down=0)
        self.assertRaises(zhmcclient.HTTPError, job.query_status)
        self.assertEqual(2, sim.restarts)
