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

"""nova_dpm/simulator/hmc.py: definitions, accounting, faults, threads.

How the simulated HMC loads a definition, counts requests, injects faults
and latency, and stays consistent under concurrent requests.
"""

import os
import threading
from unittest import mock

import yaml
import zhmcclient
from zhmcclient.mock import FakedSession

from nova_dpm import simulator
from nova_dpm.simulator import hmc as hmc_module
from nova_dpm.simulator import session as session_module
from nova_dpm.tests.unit.simulator import base

START = '/api/partitions/{id}/operations/start'


class DefinitionTest(base.TestCase):

    def test_shipped_definitions(self):
        for name in ('z16', 'z13'):
            path = simulator.definition_path(name)
            self.assertTrue(os.path.isfile(path))
            self.assertEqual(name + '.yaml', os.path.basename(path))

    def test_path_is_accepted(self):
        path = simulator.definition_path('z13')
        self.assertEqual(path, simulator.definition_path(path))
        session = simulator.load_session(path)
        self.assertIsInstance(session, simulator.SimulatedSession)
        self.assertIsInstance(session, FakedSession)
        self.assertIsInstance(session.simulator, simulator.SimulatedHmc)

    def test_missing_definition(self):
        exc = self.assertRaises(ValueError, simulator.definition_path,
                                '/no/such/file.yaml')
        self.assertIn('/no/such/file.yaml', str(exc))
        self.assertIn('z13', str(exc))
        self.assertIn('z16', str(exc))
        self.assertRaises(ValueError, simulator.load_session, 'z99')

    def test_load_session_options(self):
        session = simulator.load_session('z16', latency=0.5,
                                         transition_time=2.0)
        self.assertEqual(0.5, session.simulator.latency)
        self.assertEqual(2.0, session.simulator.transition_time)

    def test_from_hmc_yaml(self):
        with open(simulator.definition_path('z16')) as f:
            text = f.read()
        session = simulator.SimulatedSession.from_hmc_yaml(text)
        self.assertIsInstance(session, simulator.SimulatedSession)
        client = zhmcclient.Client(session)
        self.assertEqual(['CPC1'], [c.name for c in client.cpcs.list()])

    def test_object_ids(self):
        for name, se, mtype, feature in (('z16', '2.16.0', '3931', True),
                                         ('z13', '2.13.1', '2964', False)):
            env = self.env(definition=name)
            cpc = env.cpc
            cpc.pull_full_properties()
            self.assertEqual(base.CPC_URI, cpc.uri)
            self.assertTrue(cpc.get_property('dpm-enabled'))
            self.assertEqual('active', cpc.get_property('status'))
            self.assertEqual(se, cpc.get_property('se-version'))
            self.assertEqual(mtype, cpc.get_property('machine-type'))
            self.assertEqual(feature, cpc.firmware_feature_enabled(
                'dpm-storage-management'))
            for oid, adapter_name in ((base.FCP_A, 'FCP-A'),
                                      (base.FCP_B, 'FCP-B')):
                props = env.session.get('/api/adapters/' + oid)
                self.assertEqual(adapter_name, props['name'])
                self.assertEqual('fcp', props['type'])
                self.assertEqual('ficon', props['adapter-family'])
                self.assertEqual(1, len(props['storage-port-uris']))
            port = env.session.get(base.FCP_A_PORT)
            self.assertEqual(0, port['index'])
            osa = env.session.get('/api/adapters/' + base.OSA)
            self.assertEqual(('OSA-1', 'osd', 2),
                             (osa['name'], osa['type'],
                              len(osa['network-port-uris'])))
            for uri, port_index in ((base.VS0, 0), (base.VS1, 1)):
                vs = env.session.get(uri)
                self.assertEqual('osd', vs['type'])
                self.assertEqual('/api/adapters/' + base.OSA,
                                 vs['backing-adapter-uri'])
                self.assertEqual(port_index, vs['port'])
            statuses = {p.name: p.get_property('status')
                        for p in cpc.partitions.list()}
            self.assertEqual({'LINUX01': 'active', 'ZVM-PROD': 'active',
                              'TEST-LPAR': 'stopped'}, statuses)

    def test_definitions_are_mock_format(self):
        for name in ('z16', 'z13'):
            with open(simulator.definition_path(name)) as f:
                data = yaml.safe_load(f)
            self.assertIn('hmc_definition', data)
            # Besides the simulator's SAN extension (san.py).
            self.assertLessEqual(set(data), {'hmc_definition',
                                             session_module.SAN_KEY})
            data.pop(session_module.SAN_KEY, None)
            FakedSession.from_hmc_dict(data)


class UriPatternTest(base.TestCase):

    def test_patterns(self):
        for uri, pattern in (
                ('/api/partitions/abc', '/api/partitions/{id}'),
                ('/api/partitions/abc?properties=status',
                 '/api/partitions/{id}'),
                ('/api/cpcs/c1/partitions?name=x',
                 '/api/cpcs/{id}/partitions'),
                ('/api/partitions/p/hbas/h', '/api/partitions/{id}/hbas/{id}'),
                ('/api/partitions/p/operations/start', START),
                ('/api/adapters/a/storage-ports/0',
                 '/api/adapters/{id}/storage-ports/{id}'),
                ('/api/storage-groups/s/storage-volumes/v/operations/'
                 'fulfill-fcp-storage-volume',
                 '/api/storage-groups/{id}/storage-volumes/{id}/operations/'
                 'fulfill-fcp-storage-volume'),
                ('/api/jobs/j', '/api/jobs/{id}'),
                ('/api/sessions/this-session', '/api/sessions/this-session'),
                ('/api/console', '/api/console'),
                ('/api/console/operations/list-unmanaged-cpcs',
                 '/api/console/operations/list-unmanaged-cpcs'),
                ('/api/version', '/api/version')):
            self.assertEqual(pattern, simulator.uri_pattern(uri), uri)


class AccountingTest(base.TestCase):

    def test_count(self):
        env = self.env()
        sim = env.sim
        sim.reset_counts()
        self.assertEqual([], sim.requests)
        p = env.partition()
        p.start(wait_for_completion=False)
        p.pull_properties(['status'])
        self.assertEqual(('POST', '/api/cpcs/{id}/partitions'),
                         sim.requests[0])
        self.assertEqual(1, sim.count('POST', START))
        self.assertEqual(1, sim.count('post', '*/operations/start'))
        self.assertEqual(1, sim.count(pattern='POST ' + START))
        self.assertEqual(0, sim.count(pattern='GET ' + START))
        self.assertEqual(1, sim.count(pattern='/api/partitions/{id}'))
        self.assertEqual(len(sim.requests), sim.count())
        self.assertEqual(sum(sim.count_by_method().values()),
                         len(sim.requests))
        self.assertEqual({'POST': 2, 'GET': 1}, sim.count_by_method())
        sim.reset_counts()
        self.assertEqual(0, sim.count())
        self.assertEqual({}, sim.count_by_method())

    def test_bodies_are_kept_as_sent(self):
        env = self.env()
        sim = env.sim
        p = env.partition()
        sim.reset_counts()
        body = {'description': 'd1'}
        p.update_properties(body)
        body['description'] = 'changed by the client afterwards'
        p.pull_properties(['status'])
        sent = sim.sent('POST', '/api/partitions/{id}')
        self.assertEqual([(p.uri, {'description': 'd1'})], sent)
        self.assertEqual(sent, sim.sent(pattern='POST /api/partitions/*'))
        self.assertEqual([(p.uri + '?properties=status', None)],
                         sim.sent('GET'))
        sim.reset_counts()
        self.assertEqual([], sim.sent())

    def test_an_aggregated_request_counts_once(self):
        env = self.env()
        sim = env.sim
        p = env.partition()
        sim.reset_counts()
        sim.inject_fault('http500', 'GET', '/api/partitions/{id}')
        result = env.session.post('/api/services/aggregation/submit', body={
            'requests': [
                {'id': str(i), 'method': 'GET', 'uri': p.uri}
                for i in range(3)]})
        self.assertEqual(3, len(result))
        # One request of the client; the HMC's own inner requests are
        # neither counted nor faulted.
        self.assertEqual([('POST', '/api/services/aggregation/submit')],
                         sim.requests)
        self.assertEqual([], sim.fired_faults)


class FaultTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.e = self.env()
        self.sim = self.e.sim

    def test_unknown_kind(self):
        self.assertRaises(ValueError, self.sim.inject_fault, 'fire', 'GET',
                          '*')

    def test_connection_not_performed(self):
        self.sim.inject_fault('connection', 'POST',
                              '/api/cpcs/{id}/partitions')
        self.assertRaises(zhmcclient.ConnectionError, self.e.partition)
        self.assertEqual([], self.e.cpc.partitions.list(
            filter_args={'name': 'inst-1'}))
        self.e.partition()   # the fault fired once
        self.assertEqual(1, len(self.sim.fired_faults))

    def test_http500_not_performed(self):
        self.sim.inject_fault('http500', 'POST', '/api/cpcs/*/partitions')
        self.assertHttpError(500, 0, self.e.partition)
        self.assertEqual([], self.e.cpc.partitions.list(
            filter_args={'name': 'inst-1'}))

    def test_busy_not_performed_and_retried(self):
        p = self.e.partition()
        self.sim.inject_fault('busy', 'POST', START)
        self.assertHttpError(409, 2, p.start, wait_for_completion=False)
        self.assertEqual('stopped', self.e.faked(p.uri).properties['status'])
        # zhmcclient-style busy retries in the session.
        self.sim.inject_fault('busy', 'POST', START)
        self.e.session.post(p.uri + '/operations/start',
                            wait_for_completion=False, busy_retries=1)
        self.assertEqual('paused', self.e.faked(p.uri).properties['status'])

    def test_timeout_post_is_performed(self):
        self.sim.inject_fault('timeout', 'POST', '/api/cpcs/{id}/partitions')
        self.assertRaises(zhmcclient.ReadTimeout, self.e.partition)
        self.assertEqual(1, len(self.e.cpc.partitions.list(
            filter_args={'name': 'inst-1'})))
        self.assertEqual(1, self.sim.count('POST',
                                           '/api/cpcs/{id}/partitions'))

    def test_timeout_delete_is_performed(self):
        p = self.e.partition()
        self.sim.inject_fault('timeout', 'DELETE', '/api/partitions/{id}')
        self.assertRaises(zhmcclient.ReadTimeout, p.delete)
        self.assertHttpError(404, 1, self.e.session.get, p.uri)

    def test_timeout_get(self):
        self.sim.inject_fault('timeout', 'GET', '/api/cpcs')
        self.assertRaises(zhmcclient.ReadTimeout, self.e.client.cpcs.list)

    def test_nth(self):
        self.sim.inject_fault('http500', 'GET', '/api/partitions/{id}', nth=3)
        uri = self.e.cpc.partitions.find(name='LINUX01').uri
        self.e.session.get('/api/cpcs')          # does not match
        self.e.session.get(uri)
        self.e.session.get(uri)
        self.assertHttpError(500, 0, self.e.session.get, uri)
        self.e.session.get(uri)

    def test_clear_faults(self):
        # An injected fault fires...
        self.sim.inject_fault('connection', '*', '*')
        self.assertRaises(zhmcclient.ConnectionError,
                          self.e.session.get, '/api/cpcs')
        # ...unless cleared, now or later in the count.
        self.sim.inject_fault('connection', '*', '*')
        self.sim.inject_fault('http500', 'GET', '/api/cpcs', nth=2)
        self.sim.clear_faults()
        for _ in range(3):
            cpcs = self.e.session.get('/api/cpcs')['cpcs']
            self.assertEqual([base.CPC_URI], [c['object-uri'] for c in cpcs])


class ConcurrencyTest(base.TestCase):

    def test_concurrent_creates(self):
        env = self.env()
        failures = []

        def create(i):
            try:
                env.partition('p%d' % i)
                env.partition('same')
            except zhmcclient.HTTPError as exc:
                failures.append(exc.reason)
        threads = [threading.Thread(target=create, args=(i,))
                   for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        names = [p.name for p in env.cpc.partitions.list()]
        self.assertEqual(len(names), len(set(names)))
        self.assertEqual(3 + 8 + 1, len(names))
        self.assertEqual([8] * 7, failures)
        self.assertEqual(16, env.sim.count('POST',
                                           '/api/cpcs/{id}/partitions'))

    def test_latency_sleeps_outside_the_lock(self):
        env = self.env(latency=0.25)
        held = []
        real_sleep = hmc_module.time.sleep

        def sleep(seconds):
            # Another thread tries the simulator lock while we "sleep".
            def probe():
                got = env.sim.lock.acquire(blocking=False)
                held.append(not got)
                if got:
                    env.sim.lock.release()
            t = threading.Thread(target=probe)
            t.start()
            t.join()
            real_sleep(0)

        with mock.patch.object(hmc_module.time, 'sleep', sleep):
            env.session.get('/api/cpcs')
        self.assertEqual([False], held)
