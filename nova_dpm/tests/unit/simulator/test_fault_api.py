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

"""Fault injection over HTTPS (fault_api.py), as a test in another process
reaches it: the fault fires on the HMC API request it names, once."""

import requests
import zhmcclient

from nova_dpm.tests.unit.simulator import test_server

CPCS = '/api/cpcs'


class TestFaultApi(test_server.ServerTestCase):

    def call(self, method, body=None, auth=None):
        response = requests.request(
            method, '%s/simulated-hmc/faults' % self.server.url, json=body,
            verify=self.server.ca_file, timeout=30,
            auth=auth or (test_server.USERID, test_server.PASSWORD))
        return response.status_code, (response.json() if response.content
                                      else None)

    def fresh_client(self):
        """A client of a new session that retries nothing."""
        return zhmcclient.Client(self.new_session(connect_retries=1,
                                                  read_retries=1))

    def test_injected_fault_fails_the_nth_request_once(self):
        self.assertEqual((204, None), self.call('POST', {
            'kind': 'http500', 'method': 'GET', 'pattern': CPCS, 'nth': 2}))
        status, listing = self.call('GET')
        self.assertEqual(
            (200, [{'kind': 'http500', 'method': 'GET', 'pattern': CPCS,
                    'nth': 2, 'seen': 0}], []),
            (status, listing['pending'], listing['fired']))
        client = self.fresh_client()
        client.cpcs.list()
        exc = self.assertRaises(zhmcclient.HTTPError, client.cpcs.list)
        self.assertEqual(500, exc.http_status)
        client.cpcs.list()
        self.assertEqual({'pending': [], 'fired': [['http500', 'GET', CPCS]]},
                         self.call('GET')[1])

    def test_delete_drops_pending_faults(self):
        self.call('POST', {'kind': 'http500', 'method': 'GET',
                           'pattern': CPCS})
        self.assertEqual((204, None), self.call('DELETE'))
        self.fresh_client().cpcs.list()
        self.assertEqual({'pending': [], 'fired': []}, self.call('GET')[1])

    def test_bad_fault_is_refused_with_its_problem(self):
        status, error = self.call('POST', {'kind': 'http500'})
        self.assertEqual((400, 'the body needs method, pattern'),
                         (status, error['message']))
        status, error = self.call('POST', {'kind': 'smoke', 'method': 'GET',
                                           'pattern': CPCS})
        self.assertEqual(400, status)
        self.assertIn("Unknown fault kind 'smoke'", error['message'])
        self.assertEqual([], self.call('GET')[1]['pending'])

    def test_needs_the_simulator_password(self):
        status, _error = self.call('POST', {
            'kind': 'http500', 'method': 'GET', 'pattern': CPCS},
            auth=(test_server.USERID, 'wrong'))
        self.assertEqual(401, status)
        self.assertEqual([], self.sim._faults)
