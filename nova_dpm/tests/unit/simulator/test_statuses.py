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

"""jobs.py and resources.py: statuses a real HMC reports, the mock never.

A stop that ends in 'terminated', a status that lags behind the start job,
and a start that fails because the CPC lacks processors or memory
(HMC rules E1-E4; the sources are named in nova_dpm/simulator/jobs.py and
resources.py). Each test shows what plain zhmcclient.mock does instead.
"""

import os
import tempfile

import yaml
import zhmcclient

from nova_dpm import simulator
from nova_dpm.tests.unit.simulator import base

# z16.yaml: storage-customer 1048576 MiB; LINUX01 (16384 MiB, 4 IFLs) and
# ZVM-PROD (65536 MiB, 8 IFLs) are active; the CPC has 48 IFLs.
FREE_MEMORY = 1048576 - 16384 - 65536
IFLS = 48


def wait_job(env, job):
    """Wait for a job without zhmcclient's 10 s polls; its result."""
    env.sim.complete_transitions()
    result = env.session.get(job.uri)
    env.session.delete(job.uri)
    return result


def status(env, partition):
    partition.pull_properties(['status'])
    return partition.get_property('status')


class StopEndsTerminatedTest(base.TestCase):

    def test_mock_stop_always_ends_stopped(self):
        env = self.env(False)
        p = env.partition()
        env.set_status(p.uri, 'active')
        p.stop()
        self.assertEqual('stopped', status(env, p))

    def test_stop_can_end_terminated(self):
        # HMC rule E4: PART_STOPPING_END_STATUSES = stopped, terminated.
        env = self.env()
        env.sim.configure(terminated_stops=1)
        p = env.partition()
        env.set_status(p.uri, 'active')
        result = wait_job(env, p.stop(wait_for_completion=False))
        self.assertEqual(('complete', 204),
                         (result['status'], result['job-status-code']))
        self.assertEqual('terminated', status(env, p))
        # Stop is valid from terminated; the next stop ends stopped.
        wait_job(env, p.stop(wait_for_completion=False))
        self.assertEqual('stopped', status(env, p))

    def test_terminated_partition_holds_its_memory(self):
        env = self.env()
        env.sim.configure(terminated_stops=1)
        p = env.partition(**{'initial-memory': 4096,
                             'maximum-memory': 4096})
        env.set_status(p.uri, 'active')
        wait_job(env, p.stop(wait_for_completion=False))
        env.cpc.pull_properties(['storage-customer-available'])
        self.assertEqual(FREE_MEMORY - 4096,
                         env.cpc.get_property('storage-customer-available'))

    def test_forced_stop_outcome_is_one_shot(self):
        env = self.env()
        p = env.partition()
        env.set_status(p.uri, 'active')
        env.sim.force_stop_outcome(p.uri, 'terminated')
        wait_job(env, p.stop(wait_for_completion=False))
        self.assertEqual('terminated', status(env, p))
        wait_job(env, p.stop(wait_for_completion=False))
        self.assertEqual('stopped', status(env, p))
        self.assertRaises(ValueError, env.sim.force_stop_outcome, p.uri,
                          'paused')


class StatusLagTest(base.TestCase):

    def test_mock_start_is_active_at_once(self):
        env = self.env(False)
        p = env.partition()
        p.start(status_timeout=1)
        self.assertEqual('active', status(env, p))

    def test_status_lags_behind_the_start_job(self):
        # HMC rule E3 (zhmcclient Partition.start: deferred status).
        env = self.env()
        env.sim.configure(start_status_lag=3600)
        p = env.partition()
        env.sim.force_start_outcome(p.uri, 'active')
        env.sim.transition_time = 3600
        job = p.start(wait_for_completion=False)
        for trans in env.sim.transitions.values():
            trans['end'] = 0
        result = env.session.get(job.uri)
        self.assertEqual(('complete', 204),
                         (result['status'], result['job-status-code']))
        # The job has ended; the status still says paused, as zhmcclient
        # names it (the old simulator said 'stopped', which no source
        # names).
        self.assertEqual('paused', status(env, p))
        env.sim.complete_transitions()
        self.assertEqual('active', status(env, p))

    def test_lag_status_can_be_stopped(self):
        env = self.env()
        env.sim.configure(start_status_lag=3600, start_lag_status='stopped')
        p = env.partition()
        env.sim.force_start_outcome(p.uri, 'active')
        p.start(wait_for_completion=False)
        self.assertEqual('stopped', status(env, p))

    def test_hmc_acts_on_the_real_status_during_a_lag(self):
        env = self.env()
        env.sim.configure(start_status_lag=3600)
        p = env.partition()
        env.sim.force_start_outcome(p.uri, 'active')
        p.start(wait_for_completion=False)
        self.assertEqual('paused', status(env, p))
        # Really active: a stop is accepted, a second start is not.
        self.assertHttpError(409, 1, p.start, wait_for_completion=False)
        wait_job(env, p.stop(wait_for_completion=False))
        self.assertEqual('stopped', status(env, p))


class StartShortOfResourcesTest(base.TestCase):

    def big(self, env, name='big', memory=FREE_MEMORY + 1024, ifls=1,
            **props):
        body = {'initial-memory': memory, 'maximum-memory': memory,
                'ifl-processors': ifls}
        body.update(props)
        return env.partition(name, **body)

    def test_mock_starts_whatever_the_cpc_has(self):
        env = self.env(False)
        p = self.big(env, ifls=IFLS + 1)
        p.start(status_timeout=1)
        self.assertEqual('active', status(env, p))

    def test_start_beyond_free_memory_fails_its_job(self):
        env = self.env()
        p = self.big(env)
        result = wait_job(env, p.start(wait_for_completion=False))
        self.assertEqual(('complete', 409),
                         (result['status'], result['job-status-code']))
        message = result['job-results']['message']
        self.assertIn('memory: partition big needs %d MiB, the CPC has %d '
                      'MiB free' % (FREE_MEMORY + 1024, FREE_MEMORY),
                      message)
        self.assertEqual('stopped', status(env, p))

    def test_start_within_free_memory_succeeds(self):
        env = self.env()
        p = self.big(env, memory=FREE_MEMORY)
        env.sim.force_start_outcome(p.uri, 'active')
        result = wait_job(env, p.start(wait_for_completion=False))
        self.assertEqual(204, result['job-status-code'])
        self.assertEqual('active', status(env, p))
        env.cpc.pull_properties(['storage-customer-available'])
        self.assertEqual(0,
                         env.cpc.get_property('storage-customer-available'))

    def test_reserved_partition_ends_in_reservation_error(self):
        # 'auto': reserve-resources true -> the status tells (E1, E3).
        env = self.env()
        p = self.big(env, **{'reserve-resources': True})
        result = wait_job(env, p.start(wait_for_completion=False))
        self.assertEqual(204, result['job-status-code'])
        self.assertEqual('reservation-error', status(env, p))

    def test_shortage_mode_status(self):
        env = self.env()
        env.sim.configure(start_shortage='status')
        p = self.big(env)
        wait_job(env, p.start(wait_for_completion=False))
        self.assertEqual('reservation-error', status(env, p))

    def test_more_shared_ifls_than_the_cpc_has(self):
        env = self.env()
        p = self.big(env, memory=1024, ifls=IFLS + 1)
        result = wait_job(env, p.start(wait_for_completion=False))
        self.assertEqual(409, result['job-status-code'])
        self.assertIn('IFL processors: partition big needs %d, the CPC has '
                      '%d not dedicated' % (IFLS + 1, IFLS),
                      result['job-results']['message'])

    def test_shared_ifls_may_exceed_the_cpc_together(self):
        # Shared processors are shared: 4 + 8 + 40 > 48 is fine.
        env = self.env()
        p = self.big(env, memory=1024, ifls=40)
        env.sim.force_start_outcome(p.uri, 'active')
        wait_job(env, p.start(wait_for_completion=False))
        self.assertEqual('active', status(env, p))

    def test_dedicated_ifls_are_taken_from_the_cpc(self):
        env = self.env()
        d = self.big(env, 'dedicated', memory=1024, ifls=40,
                     **{'processor-mode': 'dedicated'})
        env.set_status(d.uri, 'active')
        p = self.big(env, memory=1024, ifls=10)
        result = wait_job(env, p.start(wait_for_completion=False))
        self.assertEqual(409, result['job-status-code'])
        self.assertIn('IFL processors: partition big needs 10, the CPC has '
                      '8 not dedicated', result['job-results']['message'])

    def test_stopped_partition_with_reserved_resources_holds_them(self):
        env = self.env()
        self.big(env, 'reserved', memory=FREE_MEMORY // 2 + 1024,
                 **{'reserve-resources': True})
        p = self.big(env, memory=FREE_MEMORY // 2)
        result = wait_job(env, p.start(wait_for_completion=False))
        self.assertEqual(409, result['job-status-code'])

    def test_concurrent_starts_race_for_the_last_memory(self):
        env = self.env()
        env.sim.transition_time = 3600
        a = self.big(env, 'a', memory=FREE_MEMORY // 2 + 1024)
        b = self.big(env, 'b', memory=FREE_MEMORY // 2 + 1024)
        env.sim.force_start_outcome(a.uri, 'active')
        job_a = a.start(wait_for_completion=False)
        job_b = b.start(wait_for_completion=False)
        self.assertEqual(204, wait_job(env, job_a)['job-status-code'])
        self.assertEqual(409, wait_job(env, job_b)['job-status-code'])

    def test_stop_gives_the_memory_back(self):
        env = self.env()
        p = self.big(env, memory=4096)
        env.sim.force_start_outcome(p.uri, 'active')
        wait_job(env, p.start(wait_for_completion=False))
        env.cpc.pull_properties(['storage-customer-available'])
        self.assertEqual(FREE_MEMORY - 4096,
                         env.cpc.get_property('storage-customer-available'))
        wait_job(env, p.stop(wait_for_completion=False))
        env.cpc.pull_properties(['storage-customer-available'])
        self.assertEqual(FREE_MEMORY,
                         env.cpc.get_property('storage-customer-available'))


class SettingsTest(base.TestCase):

    def definition(self, settings):
        with open(simulator.definition_path('z16')) as f:
            data = yaml.safe_load(f)
        data['simulator'] = settings
        fd, path = tempfile.mkstemp(suffix='.yaml')
        with os.fdopen(fd, 'w') as f:
            yaml.safe_dump(data, f, sort_keys=False)
        self.addCleanup(os.unlink, path)
        return path

    def test_settings_from_the_definition(self):
        path = self.definition({'terminated_stops': 2,
                                'start_status_lag': 1.5,
                                'start_shortage': 'status'})
        sim = simulator.load_session(path).simulator
        self.assertEqual(2, sim.settings['terminated_stops'])
        self.assertEqual(1.5, sim.settings['start_status_lag'])
        self.assertEqual('status', sim.settings['start_shortage'])
        self.assertEqual('paused', sim.settings['start_lag_status'])

    def test_plain_mock_refuses_the_section(self):
        # The section is the simulator's: zhmcclient's schema has none.
        path = self.definition({'terminated_stops': 1})
        self.assertRaises(zhmcclient.mock.HmcDefinitionSchemaError,
                          zhmcclient.mock.FakedSession.from_hmc_yaml_file,
                          path)

    def test_unknown_or_bad_settings_are_named(self):
        path = self.definition({'terminated_stop': 1})
        exc = self.assertRaises(ValueError, simulator.load_session, path)
        self.assertIn("Unknown simulator setting 'terminated_stop'",
                      str(exc))
        self.assertIn(path, str(exc))
        sim = simulator.load_session('z16').simulator
        exc = self.assertRaises(ValueError, sim.configure,
                                start_shortage='never')
        self.assertIn('start_shortage must be one of auto, job, status',
                      str(exc))
        self.assertRaises(ValueError, sim.configure, start_status_lag=-1)
        self.assertRaises(ValueError, sim.configure, terminated_stops=True)

    def test_shipped_definitions_keep_the_defaults(self):
        for name in ('z13', 'z16'):
            sim = simulator.load_session(name).simulator
            self.assertEqual(0, sim.settings['terminated_stops'])
            self.assertEqual(0.0, sim.settings['start_status_lag'])
