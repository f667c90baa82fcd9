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

"""The simulated HMC's logon and permission rules, over HTTPS.

A plain zhmcclient.mock session logs on with any password, never disables
a user, never hides an object and never answers 403,1; the simulated HMC
does all of it, as a real HMC does (HMC rules A5 and A10; the User
object's ``max-failed-logins``).
"""

import threading

import testtools
import zhmcclient

from nova_dpm import simulator
from nova_dpm.simulator import catalog
from nova_dpm.tests.unit.simulator import test_server

USERID = test_server.USERID
PASSWORD = test_server.PASSWORD
VSWITCH = '/api/virtual-switches/' + catalog.VSWITCH_0
START = '/api/partitions/{id}/operations/start'


class TestMockIsLenient(testtools.TestCase):
    """What plain zhmcclient.mock does: the reason for these rules."""

    def test_mock_accepts_any_password(self):
        plain = zhmcclient.mock.FakedSession.from_hmc_yaml_file(
            simulator.definition_path('z13'), USERID, 'wrong')
        plain.logon()
        self.assertTrue(zhmcclient.Client(plain).cpcs.list())


class TestLogonRefused(test_server.ServerTestCase):

    def refused(self, password='wrong'):
        session = self.new_session(password=password)
        exc = self.assertRaises(zhmcclient.ServerAuthError, session.logon)
        self.assertEqual((403, 0), (exc.details.http_status,
                                    exc.details.reason))
        return exc

    def test_user_disabled_after_three_failed_logons(self):
        for _ in range(3):
            self.refused()
        self.assertTrue(self.server.user_disabled)
        # The right password no longer helps: the user is disabled.
        self.refused(PASSWORD)
        self.assertEqual(4, self.server.failed_logons)
        self.assertEqual(0, self.server.logons)
        # Until an administrator enables it again.
        self.server.enable_user()
        self.new_session().logon()
        self.assertEqual(1, self.server.logons)

    def test_a_good_logon_resets_the_count(self):
        self.refused()
        self.refused()
        self.new_session().logon()
        self.refused()
        self.refused()
        self.assertFalse(self.server.user_disabled)

    def test_limit_is_configurable(self):
        self.server.max_failed_logons = 1
        self.refused()
        self.assertTrue(self.server.user_disabled)
        self.server.max_failed_logons = None
        self.server.enable_user()
        for _ in range(5):
            self.refused()
        self.assertFalse(self.server.user_disabled)


class TestPermissions(test_server.ServerTestCase):

    def test_denied_object_is_404_1_as_if_missing(self):
        self.server.deny_object(VSWITCH, 'virtual switch VSWITCH-OSA1-P0')
        self.session.logon()
        resp = self.raw('GET', VSWITCH, self.session.session_id)
        body = self.assertErrorBody(resp, 404, 1)
        self.assertIn(VSWITCH, body['message'])
        self.assertIn('object-access permission', body['message'])
        # Below the object too (its operations).
        self.assertErrorBody(
            self.raw('POST', VSWITCH + '/operations/get-connected-vnics',
                     self.session.session_id), 404, 1)
        # zhmcclient raises it as HTTPError and does not log on again.
        exc = self.assertRaises(zhmcclient.HTTPError, self.session.get,
                                VSWITCH)
        self.assertEqual((404, 1), (exc.http_status, exc.reason))
        self.assertEqual(1, self.server.logons)
        # Other objects stay readable.
        self.cpc().pull_full_properties()

    def test_denied_object_is_left_out_of_lists(self):
        before = [v.uri for v in self.cpc().virtual_switches.list()]
        self.assertIn(VSWITCH, before)
        self.server.deny_object(VSWITCH, 'virtual switch VSWITCH-OSA1-P0')
        after = [v.uri for v in self.cpc().virtual_switches.list()]
        self.assertEqual(sorted(set(before) - {VSWITCH}), sorted(after))

    def test_denied_object_in_submit_requests_is_404(self):
        self.server.deny_object(VSWITCH, 'virtual switch VSWITCH-OSA1-P0')
        cpc_uri = self.cpc().uri
        answers = self.session.post(
            '/api/services/aggregation/submit', body={'requests': [
                {'id': 'v', 'method': 'GET', 'uri': VSWITCH},
                {'id': 'c', 'method': 'GET', 'uri': cpc_uri}]})
        by_id = {a['id']: a for a in answers}
        self.assertEqual(404, by_id['v']['status'])
        self.assertEqual(200, by_id['c']['status'])

    def test_object_named_in_the_body_is_404(self):
        partition = self.new_partition()
        self.server.deny_object(VSWITCH, 'virtual switch VSWITCH-OSA1-P0')
        exc = self.assertRaises(
            zhmcclient.HTTPError, partition.nics.create,
            {'name': 'nic-1', 'virtual-switch-uri': VSWITCH})
        self.assertEqual((404, 1), (exc.http_status, exc.reason))
        self.assertEqual([], partition.nics.list())

    def test_denied_task_is_403_1_naming_it(self):
        partition = self.new_partition()
        self.server.deny_task('POST', START, 'Start')
        exc = self.assertRaises(zhmcclient.HTTPError, partition.start,
                                wait_for_completion=False)
        self.assertEqual((403, 1), (exc.http_status, exc.reason))
        self.assertIn('task Start', exc.message)
        self.assertEqual('stopped', partition.get_property('status'))


class TestSessionCounting(test_server.ServerTestCase):

    def test_requests_without_session_are_counted_and_refused(self):
        self.assertErrorBody(self.raw('GET', '/api/cpcs'), 403, 4)
        self.assertEqual(1, self.server.requests_without_session)

    def test_logon_time(self):
        # Two logons at once both take the logon time; neither is lost.
        self.server.logon_time = 0.2
        sessions = [self.new_session() for _ in range(2)]
        threads = [threading.Thread(target=s.logon) for s in sessions]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        self.assertEqual(2, self.server.logons)
        self.assertEqual(2, self.server.active_sessions)


class TestLogonAnswers(test_server.ServerTestCase):
    """HMC rule A11: the logon refusals a test switches on per user.

    zhmcclient.mock logs on every user (TestMockIsLenient).
    """

    def logon(self, password=PASSWORD):
        return self.new_session(password=password)

    def test_expired_password_is_409_50_or_51(self):
        for answer, reason in (('password-expired', 50),
                               ('password-expired-51', 51)):
            self.server.answer_logon(answer)
            exc = self.assertRaises(zhmcclient.HTTPError,
                                    self.logon().logon)
            self.assertEqual((409, reason), (exc.http_status, exc.reason))
            self.assertIn('expired', exc.message)
        self.assertEqual(0, self.server.failed_logons)

    def test_partial_session_is_201_which_zhmcclient_takes(self):
        self.server.answer_logon('partial-session')
        session = self.logon()
        logons = self.server.logons
        session.logon()
        self.assertEqual(logons, self.server.logons)
        self.assertEqual([('POST', '/api/sessions', 201)],
                         [r for r in self.server.responses
                          if r[1] == '/api/sessions'][-1:])
        # The partial session serves nothing: zhmcclient logs on again
        # once (201 again) and gives up.
        exc = self.assertRaises(zhmcclient.ServerAuthError,
                                session.get, '/api/cpcs')
        self.assertEqual(403, exc.details.http_status)
        session.logoff()

    def test_too_many_sessions_is_400_13(self):
        self.server.answer_logon('too-many-sessions')
        exc = self.assertRaises(zhmcclient.HTTPError, self.logon().logon)
        self.assertEqual((400, 13), (exc.http_status, exc.reason))
        self.server.answer_logon(None)
        self.logon().logon()

    def test_session_limit_gives_400_13(self):
        self.server.max_sessions = self.server.active_sessions + 1
        self.logon().logon()
        exc = self.assertRaises(zhmcclient.HTTPError, self.logon().logon)
        self.assertEqual((400, 13), (exc.http_status, exc.reason))

    def test_other_403_and_the_wrong_password_first(self):
        self.server.answer_logon('forbidden')
        exc = self.assertRaises(zhmcclient.ServerAuthError,
                                self.logon().logon)
        self.assertEqual((403, 2), (exc.details.http_status,
                                    exc.details.reason))
        # A wrong password is refused as such, whatever the switch.
        exc = self.assertRaises(zhmcclient.ServerAuthError,
                                self.logon('wrong').logon)
        self.assertEqual(0, exc.details.reason)

    def test_every_attempt_is_counted(self):
        attempts = self.server.logon_attempts
        self.server.answer_logon('password-expired')
        self.assertRaises(zhmcclient.HTTPError, self.logon().logon)
        self.assertRaises(zhmcclient.ServerAuthError,
                          self.logon('wrong').logon)
        self.assertEqual(attempts + 2, self.server.logon_attempts)

    def test_unknown_answer_is_refused(self):
        self.assertRaises(ValueError, self.server.answer_logon, 'nope')
