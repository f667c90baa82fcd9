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

"""Waiting for the HMC: one primitive, a poll budget, and the statuses a
real HMC reports after a start or a stop.

The driver runs on the simulated HMC with its real-HMC behaviour switched
on (SimulatedHmc.configure): stops that end in 'terminated', a status that
lags behind the start job, starts short of CPC memory. The primitive's
pacing is checked on a fake clock (no test here measures time).
"""

import threading

import fixtures
from nova import exception as nova_exception

from nova_dpm import exception
from nova_dpm import hmc
from nova_dpm.tests.unit import base

STOP = 'POST /api/partitions/{id}/operations/stop'
START = 'POST /api/partitions/{id}/operations/start'
JOB_GET = 'GET /api/jobs/{id}'


def short_cpc(data):
    """The CPC has 2048 MiB left beside its two active partitions."""
    base.DriverTestCase.cpc_definition(data)['properties'][
        'storage-customer'] = 16384 + 65536 + 2048


class DriverStatusTest(base.DriverTestCase):
    """What the driver does with the statuses of a real HMC."""

    start_driver = False

    def test_stop_ending_terminated_is_stopped_again(self):
        # Without the second stop the driver waited for 'stopped' until
        # [dpm] hmc_operation_timeout.
        self.dpm_flags(hmc_operation_timeout=3)
        self.start()
        instance, _c = self.build()
        self.sim.configure(terminated_stops=1)
        self.sim.reset_counts()
        self.driver.power_off(instance)
        self.assertEqual('stopped',
                         self.faked_partition(instance).properties['status'])
        self.assertEqual(2, self.sim.count(pattern=STOP))
        self.assertIn('is terminated after a stop (attempt 1 of 3)',
                      self.logger.output)

    def test_stop_that_keeps_ending_terminated_is_bounded(self):
        self.dpm_flags(hmc_operation_timeout=10)
        self.start()
        instance, _c = self.build()
        self.sim.configure(terminated_stops=100)
        self.sim.reset_counts()
        exc = self.assertRaises(exception.HMCOperationFailed,
                                self.driver.power_off, instance)
        self.assertIn('still terminated after 3 stops', exc.format_message())
        self.assertEqual(3, self.sim.count(pattern=STOP))

    def test_destroy_of_a_partition_whose_stop_ends_terminated(self):
        self.dpm_flags(hmc_operation_timeout=3)
        self.start()
        instance, _c = self.build()
        self.sim.configure(terminated_stops=1)
        self.driver.destroy(self.context, instance, None)
        self.assertIsNone(self.faked_partition(instance))

    def test_stopped_read_right_after_the_start_job(self):
        # The status lags behind the job (hmc-rules E3, harsher reading:
        # it still says 'stopped'). The old driver failed at once with
        # "it stopped again".
        self.start()
        instance, _c = self.build(power_on=False)
        self.driver.partitions.start_grace = 30
        self.sim.configure(start_status_lag=0.3)
        self.driver.power_on(self.context, instance, None)
        self.assertEqual('active',
                         self.faked_partition(instance).properties['status'])

    def test_paused_read_right_after_the_start_job(self):
        self.start()
        instance, _c = self.build(power_on=False)
        self.driver.partitions.start_grace = 30
        self.sim.configure(start_status_lag=0.3, start_lag_status='paused')
        self.driver.power_on(self.context, instance, None)
        self.assertEqual('active',
                         self.faked_partition(instance).properties['status'])

    def test_stopped_for_longer_than_the_grace_is_the_outcome(self):
        self.start()
        instance, _c = self.build(power_on=False)
        self.driver.partitions.start_grace = 0.2
        self.sim.configure(start_status_lag=3600)
        exc = self.assertRaises(exception.HMCOperationFailed,
                                self.driver.power_on, self.context,
                                instance, None)
        self.assertIn("ended in status 'stopped' instead of active",
                      exc.format_message())

    def test_build_short_of_cpc_memory_is_rescheduled(self):
        self.edit_definition(short_cpc)
        self.start()
        instance = self.instance(memory_mb=4096)
        exc = self.assertRaises(nova_exception.ComputeResourcesUnavailable,
                                self.build, instance)
        message = exc.format_message()
        self.assertIn(self.driver.partitions.naming.name(instance.uuid),
                      message)
        self.assertIn('memory: the partition needs 4096 MiB, the CPC has '
                      '2048 MiB free', message)
        # Nothing is left behind.
        self.assertIsNone(self.faked_partition(instance))

    def test_power_on_short_of_memory_names_what_is_short(self):
        self.edit_definition(short_cpc)
        self.start()
        instance, _c = self.build(self.instance(memory_mb=4096),
                                  power_on=False)
        exc = self.assertRaises(exception.CPCResourcesShort,
                                self.driver.power_on, self.context,
                                instance, None)
        message = exc.format_message()
        self.assertIn('the CPC lacks the resources to start it: memory: the '
                      'partition needs 4096 MiB, the CPC has 2048 MiB free',
                      message)
        self.assertIn('the start ended with HTTP 409', message)

    def test_reservation_error_for_lack_of_memory(self):
        self.edit_definition(short_cpc)
        self.start()
        self.sim.configure(start_shortage='status')
        instance, _c = self.build(self.instance(memory_mb=4096),
                                  power_on=False)
        exc = self.assertRaises(exception.CPCResourcesShort,
                                self.driver.power_on, self.context,
                                instance, None)
        self.assertIn("2048 MiB free (the start ended with status "
                      "'reservation-error')", exc.format_message())

    def test_start_within_the_cpc_memory(self):
        self.edit_definition(short_cpc)
        self.start()
        instance, _c = self.build(self.instance(memory_mb=2048))
        self.assertEqual('active',
                         self.faked_partition(instance).properties['status'])


load_tests = base.load_tests_per_definition


class Observer(object):
    """Records the polls of every wait, per thread."""

    def __init__(self):
        self.local = threading.local()
        self.polls = []
        self.waits = []

    def poll_begins(self, what, deadline):
        self.local.polling = True
        self.polls.append(what)

    def poll_ends(self, what, deadline):
        self.local.polling = False

    def wait_ends(self, what, deadline, polls, seconds):
        self.waits.append((what, polls))

    def polling(self):
        return getattr(self.local, 'polling', False)


class SeamTest(base.DriverTestCase):
    """Every wait of the driver goes through hmc.wait_until."""

    definition = 'z16'

    def test_every_job_and_status_poll_is_inside_a_wait(self):
        observer = Observer()
        hmc.add_wait_observer(observer)
        self.addCleanup(hmc.remove_wait_observer, observer)
        outside = []
        original = self.sim.request

        def request(method, uri, *args, **kwargs):
            pattern = '%s %s' % (method.upper(), self.sim_pattern(uri))
            if pattern == JOB_GET and not observer.polling():
                outside.append(pattern)
            return original(method, uri, *args, **kwargs)
        self.sim.request = request
        self.sim.configure(terminated_stops=1)
        instance, _c = self.build()
        self.driver.power_off(instance)
        self.driver.power_on(self.context, instance, None)
        self.driver.reboot(self.context, instance, None, 'HARD')
        self.driver.power_off(instance, timeout=5)
        self.driver.destroy(self.context, instance, None)
        self.assertEqual([], outside)
        self.assertTrue(observer.polls)
        self.assertIn(('start of %s' %
                       self.driver.partitions.naming.name(instance.uuid), 1),
                      observer.waits)

    @staticmethod
    def sim_pattern(uri):
        from nova_dpm import simulator
        return simulator.uri_pattern(uri)


class FakeClock(object):
    """time.monotonic and time.sleep of nova_dpm.hmc, without waiting."""

    def __init__(self):
        self.now = 1000.0

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.now += max(0.0, seconds)


class WaitUntilTest(base.testtools.TestCase):
    """The primitive on a fake clock: pacing, budget, deadline."""

    def setUp(self):
        super().setUp()
        self.clock = FakeClock()
        self.useFixture(fixtures.MonkeyPatch('nova_dpm.hmc.time',
                                             self.clock))
        self.times = []

    def read(self):
        self.times.append(self.clock.now)
        return len(self.times)

    def max_in_window(self, window=1.0):
        return max(sum(1 for u in self.times if t <= u < t + window)
                   for t in self.times)

    def test_long_wait_stays_within_the_cap(self):
        deadline = hmc.Deadline(60)
        result = hmc.wait_until(self.read, lambda n: self.clock.now >= 1030,
                                deadline, 'test', 'the end')
        self.assertEqual(len(self.times), result)
        # At most POLL_BURST + POLL_RATE polls in any second (5).
        self.assertLessEqual(self.max_in_window(),
                             hmc.POLL_BURST + hmc.POLL_RATE)
        # In the long run POLL_RATE a second ...
        self.assertLessEqual(len(self.times),
                             hmc.POLL_BURST + hmc.POLL_RATE * 30 + 1)
        # ... and never a pause longer than POLL_MAX: the wait ends at most
        # POLL_MAX after the condition holds.
        gaps = [b - a for a, b in zip(self.times, self.times[1:])]
        self.assertLessEqual(max(gaps), hmc.POLL_MAX + 1e-9)
        # The back-off starts at POLL_FIRST; one wait's back-off is within
        # the budget, which never lengthens it.
        self.assertAlmostEqual(hmc.POLL_FIRST, gaps[0])
        self.assertEqual(hmc.POLL_MAX, round(gaps[-1], 9))

    def test_the_waits_of_one_operation_share_the_budget(self):
        # Five short waits in a row (as a start that stops first, then
        # starts): each restarts the back-off, the budget does not. Without
        # it the ten polls came within half a second.
        deadline = hmc.Deadline(60)
        for _ in range(5):
            count = len(self.times)
            hmc.wait_until(self.read, lambda n, c=count: n >= c + 2,
                           deadline, 'test')
        self.assertEqual(10, len(self.times))
        self.assertLessEqual(self.max_in_window(),
                             hmc.POLL_BURST + hmc.POLL_RATE)
        self.assertEqual(10, deadline.budget.polls)

    def test_separate_operations_have_separate_budgets(self):
        for _ in range(3):
            hmc.wait_until(self.read, lambda n: True, hmc.Deadline(60),
                           'test')
        # Three operations: three immediate first polls.
        self.assertEqual([1000.0] * 3, self.times)

    def test_timeout_names_what_and_the_last_status(self):
        deadline = hmc.Deadline(2)
        exc = self.assertRaises(
            exception.HMCTimeout, hmc.wait_until,
            lambda: self.read() and 'stopping', lambda s: False, deadline,
            'partition P', 'stopped')
        self.assertEqual('Timed out after 2 s waiting for partition P to '
                         'reach stopped (last status: stopping)',
                         exc.format_message())
        # No poll after the time limit.
        self.assertLess(self.times[-1], 1002.0)
        self.assertEqual(1002.0, self.clock.now)

    def test_done_may_raise(self):
        def done(n):
            if n == 3:
                raise exception.HMCOperationFailed(
                    operation='o', target='t', reason='r')
            return False
        self.assertRaises(exception.HMCOperationFailed, hmc.wait_until,
                          self.read, done, hmc.Deadline(60), 'test')
        self.assertEqual(3, len(self.times))

    def test_observers_see_polls_and_the_end(self):
        observer = Observer()
        hmc.add_wait_observer(observer)
        self.addCleanup(hmc.remove_wait_observer, observer)
        hmc.wait_until(self.read, lambda n: n == 3, hmc.Deadline(60), 'w')
        self.assertEqual(['w'] * 3, observer.polls)
        self.assertEqual([('w', 3)], observer.waits)
        hmc.remove_wait_observer(observer)
        hmc.wait_until(self.read, lambda n: True, hmc.Deadline(60), 'x')
        self.assertEqual([('w', 3)], observer.waits)
