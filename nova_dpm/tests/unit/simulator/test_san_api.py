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

"""The SAN storage system's management interface (san_api.py) over HTTPS.

What a Cinder volume driver in another process (cinder_driver.py) uses:
volumes created, mapped to initiator WWPNs (which the SAN then shows
them), unmapped and deleted, behind HTTP Basic authentication.
"""

import requests
import testtools

from nova_dpm import simulator
from nova_dpm.simulator import catalog
from nova_dpm.simulator import san
from nova_dpm.simulator import server as hmc_server
from nova_dpm.tests.unit.simulator import test_server

INITIATORS = ['c05076ffe6800004', 'c05076ffe6800005']


class TestSanApi(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.sim = simulator.load_session('z16').simulator
        self.server = hmc_server.HmcServer(self.sim, test_server.USERID,
                                           test_server.PASSWORD)
        self.server.start()
        self.addCleanup(self.server.stop)

    def call(self, method, path, body=None, auth=None):
        response = requests.request(
            method, '%s/simulated-san/%s' % (self.server.url, path),
            json=body, verify=self.server.ca_file, timeout=30,
            auth=auth or (test_server.USERID, test_server.PASSWORD))
        return response.status_code, (response.json() if response.content
                                      else None)

    def test_volume_life_cycle(self):
        status, created = self.call('POST', 'volumes',
                                    {'size': 2, 'name': 'vol-1'})
        self.assertEqual((201, 1), (status, created['lun']))
        self.assertEqual(sorted(catalog.TARGET_WWPNS),
                         created['target-wwpns'])
        self.assertEqual((204, None), self.call(
            'POST', 'volumes/1/map', {'initiators': INITIATORS}))
        # The SAN shows the LUN to each initiator through both targets.
        with self.sim.lock:
            seen = self.sim.san.visible(INITIATORS[0])
        self.assertEqual(sorted((t, san.fcp_lun_of(1), 2.0)
                                for t in catalog.TARGET_WWPNS), seen)
        status, listing = self.call('GET', 'volumes')
        self.assertEqual([{'lun': 1, 'size': 2.0, 'name': 'vol-1',
                           'hosts': INITIATORS}], listing['volumes'])
        # A storage system refuses to delete a mapped volume.
        status, error = self.call('DELETE', 'volumes/1')
        self.assertEqual(409, status)
        self.assertIn('mapped to %s' % ', '.join(INITIATORS),
                      error['message'])
        self.assertEqual((204, None), self.call(
            'POST', 'volumes/1/unmap', {'initiators': INITIATORS}))
        with self.sim.lock:
            self.assertEqual([], self.sim.san.visible(INITIATORS[0]))
        self.assertEqual((204, None), self.call('DELETE', 'volumes/1'))
        self.assertEqual([], self.call('GET', 'volumes')[1]['volumes'])

    def test_lowest_free_lun(self):
        for name in ('a', 'b', 'c'):
            self.call('POST', 'volumes', {'size': 1, 'name': name})
        self.call('DELETE', 'volumes/2')
        self.assertEqual(2, self.call('POST', 'volumes',
                                      {'size': 1, 'name': 'd'})[1]['lun'])

    def test_bad_requests(self):
        status, error = self.call('POST', 'volumes', {'size': 0,
                                                      'name': 'x'})
        self.assertEqual(400, status)
        self.assertIn('expected > 0', error['message'])
        self.assertEqual(404, self.call('DELETE', 'volumes/7')[0])
        self.call('POST', 'volumes', {'size': 1, 'name': 'x'})
        status, error = self.call('POST', 'volumes/1/map', {})
        self.assertEqual(400, status)
        self.assertIn("'initiators'", error['message'])
        status, error = self.call('POST', 'volumes/1/map',
                                  {'initiators': ['not-a-wwpn']})
        self.assertEqual(400, status)
        self.assertIn('16 hex digits', error['message'])

    def test_needs_the_simulator_credentials(self):
        status, error = self.call('GET', 'volumes',
                                  auth=(test_server.USERID, 'wrong'))
        self.assertEqual(401, status)
        self.assertIn('HTTP Basic', error['message'])
        # Not an HMC logon: it never counts towards disabling the user.
        self.assertEqual(0, self.server.failed_logons)
