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

"""The HMC restarts while the driver waits (HMC rule A12), over HTTPS.

The simulated HMC restarts right after it has answered a request of an
operation: it forgets every job and session and refuses connections for a
moment, while the CPC goes on with what it was doing. Each operation ends
as it would have without the restart (a lost job is replaced by the status
of its object; one logon for the whole driver once the HMC is back), or
fails with nothing of the instance left on the HMC.
"""

import threading

from nova.compute import task_states

from nova_dpm import exception
from nova_dpm.tests.unit import base

load_tests = base.load_tests

START = '/api/partitions/{id}/operations/start'
STOP = '/api/partitions/{id}/operations/stop'
DISCOVERY = '/api/storage-groups/{id}/operations/start-fcp-storage-discovery'
# Seconds the restarting HMC refuses connections: long enough for several
# polls to meet a refused connection.
DOWN = 0.4


class RestartTestCase(base.DriverTestCase):
    transport = 'https'
    definitions = base.PER_DEFINITION

    def start(self):
        driver = super().start()
        # Starts and stops take a moment, so that the restart meets them
        # under way.
        self.sim.transition_time = 0.3
        return driver

    def status(self, instance):
        part = self.faked_partition(instance)
        return part.properties['status'] if part else None

    def leftovers(self, instance):
        name = self.driver.partitions.naming.name(instance.uuid)
        left = [n for n in self.faked_partitions() if n == name]
        for sg in self.session.hmc.consoles.console.storage_groups.list():
            if instance.uuid in sg.properties['name']:
                left.append(sg.properties['name'])
        return left

    def assert_one_logon_since(self, logons):
        self.assertTrue(self.server.wait_until_up())
        self.assertEqual(logons + 1, self.server.logons)
        self.assertEqual(0, self.server.failed_logons)
        self.assertEqual(0, self.server.requests_without_session)

    def assert_no_jobs(self):
        self.sim.complete_transitions()
        self.assertEqual({}, self.sim.jobs)


class RestartDuringOperationsTest(RestartTestCase):

    def test_spawn_through_a_restart_during_the_start(self):
        logons = self.server.logons
        self.server.restart_after('POST', START, DOWN)
        instance, _c = self.build()
        self.assertEqual(1, self.sim.restarts)
        self.assertEqual('active', self.status(instance))
        self.assertEqual(1, self.sim.count('POST', START))
        self.assert_one_logon_since(logons)
        self.assert_no_jobs()
        self.assertIn('no longer knows job', self.logger.output)

    def test_a_start_the_restart_lost_is_made_again(self):
        logons = self.server.logons
        self.server.restart_after('POST', START, DOWN, lose_operations=True)
        instance, _c = self.build()
        self.assertEqual('active', self.status(instance))
        self.assertEqual(2, self.sim.count('POST', START))
        self.assert_one_logon_since(logons)
        self.assert_no_jobs()

    def test_stop_through_a_restart(self):
        instance, _c = self.build()
        logons = self.server.logons
        self.server.restart_after('POST', STOP, DOWN)
        self.driver.power_off(instance)
        self.assertEqual('stopped', self.status(instance))
        self.assertEqual(1, self.sim.count('POST', STOP))
        self.assert_one_logon_since(logons)
        self.assert_no_jobs()

    def test_a_stop_the_restart_lost_is_made_again(self):
        instance, _c = self.build()
        self.server.restart_after('POST', STOP, DOWN, lose_operations=True)
        self.driver.power_off(instance)
        self.assertEqual('stopped', self.status(instance))
        self.assertEqual(2, self.sim.count('POST', STOP))
        self.assert_no_jobs()

    def test_delete_through_a_restart(self):
        instance, _c = self.build()
        logons = self.server.logons
        self.server.restart_after('POST', STOP, DOWN)
        instance.task_state = task_states.DELETING
        self.driver.destroy(self.context, instance, None)
        self.assertEqual([], self.leftovers(instance))
        self.assert_one_logon_since(logons)
        self.assert_no_jobs()

    def test_three_threads_log_on_once(self):
        instances = [self.build()[0] for _ in range(3)]
        logons = self.server.logons
        # After the third stop is answered: every thread then waits.
        self.server.restart_after('POST', STOP, DOWN, nth=3)
        errors = []

        def power_off(instance):
            try:
                self.driver.power_off(instance)
            except Exception as exc:  # noqa: B902 (asserted below)
                errors.append(exc)

        threads = [threading.Thread(target=power_off, args=(i,))
                   for i in instances]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        self.assertEqual([], errors)
        self.assertEqual(['stopped'] * 3,
                         [self.status(i) for i in instances])
        self.assert_one_logon_since(logons)
        self.assert_no_jobs()


class RestartTooLongTest(RestartTestCase):
    start_driver = False

    def test_an_hmc_back_too_late_fails_the_build_cleanly(self):
        # The HMC comes back after the operation's time limit: the build
        # fails with the timeout naming the last failure, and after
        # Nova's clean-up nothing of the instance is on the HMC.
        self.dpm_flags(hmc_operation_timeout=1)
        self.start()
        self.server.restart_after('POST', START, 2.0)
        instance = self.instance()
        exc = self.assertRaises(exception.HMCTimeout, self.build, instance)
        message = exc.format_message()
        self.assertIn('the HMC does not answer', message)
        self.assertNotIn(base.PASSWORD, message)
        self.assertTrue(self.server.wait_until_up())
        instance.task_state = task_states.SPAWNING
        self.driver.destroy(self.context, instance, None)
        self.driver.failed_spawn_cleanup(instance)
        self.assertEqual([], self.leftovers(instance))
        self.assert_no_jobs()


class RestartDuringDiscoveryTest(RestartTestCase):
    definitions = ('z16',)

    def test_spawn_through_a_restart_during_storage_discovery(self):
        logons = self.server.logons
        self.server.restart_after('POST', DISCOVERY, DOWN)
        instance, _c = self.build()
        self.assertEqual('active', self.status(instance))
        self.assert_one_logon_since(logons)
        self.assert_no_jobs()
        self.assertIn('starting another discovery', self.logger.output)
