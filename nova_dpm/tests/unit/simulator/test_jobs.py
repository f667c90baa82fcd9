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

"""nova_dpm/simulator/jobs.py: status transitions and jobs (HMC rules E, F).
"""

import zhmcclient

from nova_dpm.tests.unit.simulator import base


class StatusTransitionTest(base.TestCase):

    def test_start_from_reservation_error(self):
        # HMC rule E2: the mock refuses it, a real HMC does not.
        def scenario(env):
            p = env.partition()
            env.set_status(p.uri, 'reservation-error')
            p.start(status_timeout=0.01)
        self.assertHttpError(409, 1, scenario, self.env(False))
        env = self.env()
        p = env.partition()
        env.set_status(p.uri, 'reservation-error')
        p.start(wait_for_completion=False)
        p.pull_properties(['status'])
        self.assertEqual('paused', p.get_property('status'))

    def test_stop_from_degraded(self):
        # HMC rule E4: the mock refuses it.
        def scenario(env):
            p = env.partition()
            env.set_status(p.uri, 'degraded')
            p.stop()
            return p
        self.assertHttpError(409, 1, scenario, self.env(False))
        p = scenario(self.env())
        p.pull_properties(['status'])
        self.assertEqual('stopped', p.get_property('status'))

    def test_stop_from_paused_and_terminated(self):
        env = self.env()
        for status in ('paused', 'terminated', 'active'):
            p = env.partition(status)
            env.set_status(p.uri, status)
            p.stop()
            self.assertEqual('stopped', env.faked(p.uri).properties['status'])

    def test_wrong_state(self):
        # HMC rules E2, E4: 409,1 (the mock agrees for these).
        env = self.env()
        p = env.partition()
        self.assertHttpError(409, 1, p.stop)
        for status in ('active', 'degraded', 'paused', 'terminated'):
            env.set_status(p.uri, status)
            self.assertHttpError(409, 1, p.start, wait_for_completion=False)
        env.set_status(p.uri, 'reservation-error')
        self.assertHttpError(409, 1, p.stop)

    def test_delete_only_when_stopped(self):
        # HMC rule E5
        self.assertBothStrict(
            lambda env: env.cpc.partitions.find(name='LINUX01').delete(),
            409, 1)

    def test_delete_from_reservation_error(self):
        # HMC rule E5 [INFER]: the mock refuses it.
        def scenario(env):
            p = env.partition()
            env.set_status(p.uri, 'reservation-error')
            p.delete()
            return p
        self.assertHttpError(409, 1, scenario, self.env(False))
        env = self.env()
        p = scenario(env)
        self.assertHttpError(404, 1, env.session.get, p.uri)

    def test_delete_while_starting(self):
        env = self.env()
        p = env.partition()
        env.begin(p, 'start')
        self.assertHttpError(409, 1, p.delete)

    def test_start_without_boot_device_pauses(self):
        # HMC rule E3: the mock says active.
        for strict, expected in ((False, 'active'), (True, 'paused')):
            env = self.env(strict)
            p = env.partition()
            if strict:
                p.start(wait_for_completion=False)
            else:
                p.start()
            p.pull_properties(['status'])
            self.assertEqual(expected, p.get_property('status'))

    def test_start_with_hba_boot_is_active(self):
        # HMC rules D7, E3 (z13): Partition.start() with waiting works.
        env = self.env(definition='z13', transition_time=0.01)
        p = env.partition()
        hba = env.hba(p)
        p.update_properties({'boot-device': 'storage-adapter',
                             'boot-storage-device': hba.uri,
                             'boot-world-wide-port-name': base.TARGET,
                             'boot-logical-unit-number': base.LUN})
        self.assertIsNone(p.start())
        self.assertEqual('active', p.get_property('status'))
        self.assertIsNone(p.stop())
        self.assertEqual('stopped', p.get_property('status'))

    def test_transition_is_visible(self):
        env = self.env()
        env.sim.transition_time = 3600
        p = env.partition()
        p.start(wait_for_completion=False)
        p.pull_properties(['status'])
        self.assertEqual('starting', p.get_property('status'))
        env.sim.complete_transitions()
        p.pull_properties(['status'])
        self.assertEqual('paused', p.get_property('status'))
        p.stop(wait_for_completion=False)
        self.assertEqual('stopping', env.faked(p.uri).properties['status'])
        env.sim.complete_transitions()
        self.assertEqual('stopped', env.faked(p.uri).properties['status'])

    def test_transition_advances_lazily_by_time(self):
        env = self.env(transition_time=0.0)
        p = env.partition()
        env.sim.transition_time = 3600
        p.start(wait_for_completion=False)
        # Pretend the time is up: the next request finishes it.
        for trans in env.sim.transitions.values():
            trans['end'] -= 7200
        self.assertEqual('starting', env.faked(p.uri).properties['status'])
        p.pull_properties(['status'])
        self.assertEqual('paused', p.get_property('status'))

    def test_set_status(self):
        env = self.env()
        p = env.partition()
        env.sim.set_status(p.uri, 'terminated')
        p.pull_properties(['status'])
        self.assertEqual('terminated', p.get_property('status'))
        self.assertRaises(ValueError, env.sim.set_status,
                          base.CPC_URI, 'active')

    def test_force_start_outcome(self):
        env = self.env()
        p = env.partition()
        env.sim.force_start_outcome(p.uri, 'degraded')
        p.start(wait_for_completion=False)
        self.assertEqual('degraded', env.faked(p.uri).properties['status'])
        p.stop()
        p.start(wait_for_completion=False)
        self.assertEqual('paused', env.faked(p.uri).properties['status'])


class JobTest(base.TestCase):

    def test_start_returns_a_job(self):
        # HMC rule F1: the mock asserts on wait_for_completion=False.
        env = self.env(False)
        p = env.partition()
        self.assertRaises(AssertionError, p.start, wait_for_completion=False)

        env = self.env()
        env.sim.transition_time = 3600
        p = env.partition()
        job = p.start(wait_for_completion=False)
        self.assertIsInstance(job, zhmcclient.Job)
        self.assertTrue(job.uri.startswith('/api/jobs/'))
        self.assertEqual(('running', None), job.check_for_completion())
        env.sim.complete_transitions()
        self.assertEqual(('complete', None), job.check_for_completion())
        # check_for_completion() deleted the job.
        self.assertHttpError(404, 1, env.session.get, job.uri)

    def test_job_status_and_delete(self):
        # HMC rules F2, F3
        env = self.env()
        env.sim.transition_time = 3600
        p = env.partition()
        job_uri = env.sim.request('POST', p.uri + '/operations/start')[
            'job-uri']
        self.assertEqual({'status': 'running'},
                         env.session.get(job_uri))
        self.assertHttpError(409, 40, env.session.delete, job_uri)
        env.sim.complete_transitions()
        self.assertEqual({'status': 'complete', 'job-status-code': 204,
                          'job-reason-code': 0, 'job-results': None},
                         env.session.get(job_uri))
        env.session.delete(job_uri)
        self.assertHttpError(404, 1, env.session.get, job_uri)
        self.assertHttpError(404, 1, env.session.delete, job_uri)

    def test_wait_for_completion_in_request(self):
        env = self.env(transition_time=0.01)
        p = env.partition()
        self.assertIsNone(env.sim.request(
            'POST', p.uri + '/operations/start', wait_for_completion=True))
        self.assertEqual('paused', env.faked(p.uri).properties['status'])
        self.assertEqual({}, env.sim.jobs)

    def test_job_fails_when_status_changes(self):
        env = self.env()
        env.sim.transition_time = 3600
        p = env.partition()
        job = p.start(wait_for_completion=False)
        env.sim.set_status(p.uri, 'stopped')
        exc = self.assertHttpError(409, 1, job.check_for_completion)
        self.assertEqual(p.uri + '/operations/start',
                         exc.body['request-uri'])

    def test_cancel(self):
        # HMC rule F4
        env = self.env()
        env.sim.transition_time = 3600
        p = env.partition()
        job = p.start(wait_for_completion=False)
        job.cancel()
        self.assertEqual('stopped', env.faked(p.uri).properties['status'])
        self.assertEqual('canceled', env.session.get(job.uri)['status'])
        self.assertHttpError(409, 41, job.cancel)

    def test_operation_timeout(self):
        env = self.env()
        env.sim.transition_time = 3600
        p = env.partition()
        self.assertRaises(zhmcclient.OperationTimeout, env.sim.request,
                          'POST', p.uri + '/operations/start',
                          wait_for_completion=True, operation_timeout=0.01)


class DeepCopyTest(base.TestCase):

    def test_mutating_a_result_does_not_change_the_hmc(self):
        for strict in (False, True):
            env = self.env(strict)
            uri = env.partition().uri
            props = env.session.get(uri)
            props['acceptable-status'].append('paused')
            props['nic-uris'].append('/api/bogus')
            again = env.session.get(uri)
            if strict:
                self.assertEqual(['stopped', 'active'],
                                 again['acceptable-status'])
                self.assertEqual([], again['nic-uris'])
            else:
                # The mock hands out its own lists.
                self.assertIn('/api/bogus', again['nic-uris'])

    def test_mutating_a_body_does_not_change_the_hmc(self):
        env = self.env()
        p = env.partition()
        body = {'acceptable-status': ['active']}
        p.update_properties(body)
        body['acceptable-status'].append('paused')
        self.assertEqual(['active'],
                         env.session.get(p.uri)['acceptable-status'])

    def test_partition_object_sees_change_only_after_pull(self):
        env = self.env()
        p = env.cpc.partitions.find(name='TEST-LPAR')
        p.pull_full_properties()
        env.sim.set_status(p.uri, 'active')
        self.assertEqual('stopped', p.properties['status'])
        p.pull_properties(['status'])
        self.assertEqual('active', p.get_property('status'))
