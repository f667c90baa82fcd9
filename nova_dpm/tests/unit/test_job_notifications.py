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

"""Starts, stops and PSW restarts woken by notifications (hmc.pushed).

The driver runs against an HMC definition served over HTTPS with the
simulated HMC's STOMP notification service (job-completion and
status-change notifications, HMC rules P3-P6). The HMC requests are
counted; every wait is bounded; no test asserts on time.
"""

import threading

import fixtures

from nova_dpm.hmc import pushed
from nova_dpm.tests.unit import test_notifications

# A start or stop takes this long on the simulated HMC: its end is pushed
# by the simulator's own clock, not found by a request.
TRANSITION = 0.3
JOB_READS = ('GET', '/api/jobs/{id}')
STATUS_READS = ('GET', '/api/partitions/{id}')
AGGREGATED = ('POST', '/api/services/aggregation/submit')


class JobsTestCase(test_notifications.EventsTestCase):

    def setUp(self):
        super().setUp()
        self.told = self.driver.hmc.told
        self.assertTrue(test_notifications.wait_until(self.told.live))
        # Built with starts that end within their request: their status
        # can be notified before the job's wait begins (one status read
        # after STATUS_GRACE, not counted below).
        self.server_ = self.build_running()
        self.sim.transition_time = TRANSITION
        self.sim.reset_counts()
        self.told.safety_reads = 0

    def status(self):
        return self.faked_partition(self.server_).properties['status']

    def polls(self):
        """(job reads, status reads) made since the counts were reset."""
        return (self.sim.count(*JOB_READS),
                self.sim.count(*STATUS_READS) + self.sim.count(*AGGREGATED))


class TestWokenByNotifications(JobsTestCase):

    def test_stop_and_start_make_no_polls(self):
        self.driver.power_off(self.server_)
        self.assertEqual('stopped', self.status())
        # One Query Job Status reads the outcome of the job whose
        # completion was notified; no status is read.
        self.assertEqual((1, 0), self.polls())
        self.assertEqual(1, self.sim.count('DELETE', '/api/jobs/{id}'))
        self.sim.reset_counts()
        self.driver.power_on(self.context, self.server_, None)
        self.assertEqual('active', self.status())
        self.assertEqual((1, 0), self.polls())
        self.assertEqual(0, self.told.safety_reads)
        # Nothing is left on the HMC: the ended jobs' statuses are gone.
        self.assertEqual({}, self.sim.jobs)

    def test_psw_restart_waits_for_the_notification(self):
        self.driver.trigger_crash_dump(self.server_)
        self.assertEqual((1, 0), self.polls())
        self.assertEqual({}, self.sim.jobs)

    def test_no_status_notified_costs_one_read_after_the_grace(self):
        # The job's completion is told, its status change is not: the
        # status is read once, after the grace, not after SAFETY_POLL.
        self.useFixture(fixtures.MockPatchObject(
            pushed, 'SAFETY_POLL', test_notifications.WAIT * 10))
        self.server.stomp.lose = {'status-change'}
        self.driver.power_off(self.server_)
        self.assertEqual('stopped', self.status())
        self.assertEqual((1, 1), self.polls())
        self.assertEqual(1, self.told.safety_reads)
        self.assertEqual({}, self.sim.jobs)

    def test_lost_notifications_are_caught_by_the_safety_read(self):
        self.useFixture(fixtures.MockPatchObject(pushed, 'SAFETY_POLL', 0.2))
        self.server.stomp.lose = {'job-completion', 'status-change'}
        self.driver.power_off(self.server_)
        self.assertEqual('stopped', self.status())
        self.assertGreaterEqual(self.told.safety_reads, 2)
        self.assertEqual({}, self.sim.jobs)


class TestDroppedConnection(JobsTestCase):

    def test_wait_falls_back_to_polling(self):
        # The connection drops while the stop is under way: the wait
        # polls from then on, whether or not the connection is made again.
        self.sim.transition_time = 3600
        dropped = threading.Event()

        def operator():
            if test_notifications.wait_until(lambda: self.sim.transitions):
                self.server.stomp.drop_connections()
                test_notifications.wait_until(
                    lambda: not self.told.live())
                dropped.set()
                self.sim.complete_transitions()

        helper = threading.Thread(target=operator, daemon=True)
        helper.start()
        self.driver.power_off(self.server_)
        helper.join(test_notifications.WAIT)
        self.assertTrue(dropped.is_set())
        self.assertEqual('stopped', self.status())
        self.assertIn('no HMC notifications any more; polling',
                      self.logger.output)
        self.assertGreaterEqual(self.polls()[0], 1)
        self.assertEqual({}, self.sim.jobs)


class TestWithoutNotifications(test_notifications.EventsTestCase):

    notifications = False

    def setUp(self):
        # No receiver to wait for: the driver polls.
        super(test_notifications.EventsTestCase, self).setUp()

    def test_waits_poll_as_before(self):
        server = self.build_running()
        self.assertFalse(self.driver.hmc.told is not None and
                         self.driver.hmc.told.live())
        self.sim.transition_time = TRANSITION
        self.sim.reset_counts()
        self.driver.power_off(server)
        self.assertEqual('stopped',
                         self.faked_partition(server).properties['status'])
        polls = (self.sim.count(*JOB_READS) +
                 self.sim.count(*STATUS_READS) + self.sim.count(*AGGREGATED))
        self.assertGreater(polls, 1)


class TestDiscovery(JobsTestCase):
    """FCP storage discovery (storage groups) woken by its completion."""

    definition = 'z16'

    def test_discovery_is_read_at_once_and_at_its_completion(self):
        # A discovery that takes a while: polling would read it about
        # twice a second.
        self.sim.transition_time = 1.5
        self.sim.reset_counts()
        self.build_running()
        requests = [' '.join(r) for r in self.sim.requests]
        began = requests.index(
            'POST /api/storage-groups/{id}/operations/'
            'start-fcp-storage-discovery')
        ended = requests.index(
            'POST /api/storage-groups/{id}/storage-volumes/{id}/'
            'operations/fulfill-fcp-storage-volume')
        self.assertEqual([' '.join(AGGREGATED)] * 2,
                         requests[began + 1:ended])
        self.assertEqual(0, self.told.safety_reads)


class TestRelogon(JobsTestCase):

    def test_a_new_session_is_subscribed_again(self):
        old = self.driver.hmc.session.job_topic
        self.server.expire_session()
        # The next request logs on anew (403,5): the session's topics are
        # new, and its jobs are told on the new job topic only.
        self.driver.get_info(self.server_, use_cache=False)
        new = self.driver.hmc.session.job_topic
        self.assertNotEqual(old, new)
        # The first wait polls, and has the connection made again.
        self.driver.power_off(self.server_)
        self.assertEqual('stopped', self.status())
        self.assertTrue(test_notifications.wait_until(self.told.live))
        self.assertIn('subscribing to the topics of the HMC session again',
                      self.logger.output)
        self.assertTrue(test_notifications.wait_until(
            lambda: new in self.server.stomp.subscriptions))
        self.assertNotIn(old, self.server.stomp.subscriptions)
        self.sim.reset_counts()
        self.driver.power_on(self.context, self.server_, None)
        self.assertEqual('active', self.status())
        self.assertEqual((1, 0), self.polls())
