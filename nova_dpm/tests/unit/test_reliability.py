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

"""Faults, concurrency and ownership, on the simulated HMC.

A cross-cutting suite, not the mirror of one product module: it drives the
whole driver (driver, subset, partition, storage, network, hmc) through
faults and concurrent calls.

The fault matrix injects, at every HMC request a spawn makes, each kind of
fault the simulator knows (a connection error, HTTP 500, 409 busy and a read
timeout after the HMC carried the request out) and checks that the build
fails with a clear error or succeeds, and that after Nova's own clean-up
nothing of the instance is left on the HMC.
"""

import collections
import sys
import threading
import time

from nova.compute import provider_tree
from nova.compute import task_states
from nova import exception as nova_exception
import os_resource_classes as orc
import zhmcclient

from nova_dpm import exception
from nova_dpm import hmc
from nova_dpm.simulator import jobs as sim_jobs
from nova_dpm.tests.unit import base

FAULTS = ('connection', 'http500', 'busy', 'timeout')


class RequestLog(object):
    """Records (thread, method, uri) of every request the driver sends."""

    def __init__(self, sim):
        self.entries = []
        self._lock = threading.Lock()
        original = sim.request

        def request(method, uri, *args, **kwargs):
            with self._lock:
                self.entries.append((threading.get_ident(), method, uri))
            return original(method, uri, *args, **kwargs)
        sim.request = request


def in_threads(function, items):
    """Call ``function(item)`` for all items at once; return the errors."""
    errors = []

    def call(item):
        try:
            function(item)
        except Exception as exc:  # noqa: B902 (collected, asserted)
            errors.append(exc)
    threads = [threading.Thread(target=call, args=(i,)) for i in items]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return errors


class FaultMatrixTest(base.DriverTestCase):
    definitions = base.WITH_Z17

    def spawn_requests(self):
        """(method, pattern, nth) of every request of a clean build."""
        self.sim.reset_counts()
        server, _c = self.build()
        seen = collections.Counter()
        steps = []
        for method, pattern in self.sim.requests:
            seen[(method, pattern)] += 1
            steps.append((method, pattern, seen[(method, pattern)]))
        self.driver.destroy(self.context, server, None)
        return steps

    def nova_cleanup(self, instance):
        """What Nova does after a failed build: destroy, cleanup hook."""
        instance.task_state = task_states.SPAWNING
        self.driver.destroy(self.context, instance, None)
        self.driver.failed_spawn_cleanup(instance)

    def leftovers(self, instance):
        name = self.driver.partitions.naming.name(instance.uuid)
        left = [n for n in self.faked_partitions() if n == name]
        for sg in self.session.hmc.consoles.console.storage_groups.list():
            if instance.uuid in sg.properties['name']:
                left.append(sg.properties['name'])
        return left

    def test_fault_at_every_spawn_request(self):
        steps = self.spawn_requests()
        self.assertGreater(len(steps), 8)
        outcomes = collections.Counter()
        for method, pattern, nth in steps:
            for kind in FAULTS:
                instance = self.instance()
                self.sim.clear_faults()
                self.sim.inject_fault(kind, method, pattern, nth)
                try:
                    self.build(instance)
                    outcomes['succeeded'] += 1
                except nova_exception.NovaException as exc:
                    message = exc.format_message()
                    self.assertTrue(message, (kind, method, pattern))
                    self.assertNotIn('Traceback', message)
                    outcomes[type(exc).__name__] += 1
                self.sim.clear_faults()
                self.nova_cleanup(instance)
                self.assertEqual([], self.leftovers(instance),
                                 (kind, method, pattern, nth))
        size = len(steps) * len(FAULTS)
        self.assertEqual(size, sum(outcomes.values()))
        report = ('fault matrix (%s): %d requests x %d faults = %d cases; '
                  'outcomes %s' % (self.definition, len(steps), len(FAULTS),
                                   size, dict(sorted(outcomes.items()))))
        self.addDetailUniqueName('fault-matrix', _text(report))
        print(report, file=sys.stderr)
        # Every kind of fault must actually break builds.
        self.assertGreater(size - outcomes['succeeded'], len(steps))

    def test_faults_during_power_operations_and_destroy(self):
        server, _c = self.build()
        part = self.faked_partition(server)
        operations = {
            'power_off': lambda: self.driver.power_off(server),
            'power_on': lambda: self.driver.power_on(self.context, server,
                                                     None),
            'reboot': lambda: self.driver.reboot(self.context, server, None,
                                                 'HARD'),
        }
        cases = 0
        for name, operation in operations.items():
            for pattern in ('/api/partitions/{id}/operations/start',
                            '/api/partitions/{id}/operations/stop',
                            '/api/jobs/{id}',
                            # The status read that deletes the ended job.
                            '/api/services/aggregation/submit'):
                method = 'GET' if 'jobs' in pattern else 'POST'
                for kind in FAULTS:
                    self.sim.clear_faults()
                    self.sim.inject_fault(kind, method, pattern)
                    try:
                        operation()
                    except exception.DPMError as exc:
                        self.assertTrue(exc.format_message())
                    self.sim.clear_faults()
                    self.sim.complete_transitions()
                    cases += 1
                    # Nova's view (get_info) matches the partition's.
                    status = part.properties['status']
                    state = self.driver.get_info(server, False).state
                    from nova_dpm import partition
                    self.assertEqual(partition.power_state_of(status), state,
                                     (name, pattern, kind))
        self.assertEqual(48, cases)
        for kind in FAULTS:
            self.sim.inject_fault(kind, 'DELETE', '/api/partitions/{id}')
        server.task_state = task_states.DELETING
        for attempt in range(len(FAULTS) + 2):
            try:
                self.driver.destroy(self.context, server, None)
                break
            except exception.DPMError:
                continue
        self.assertIsNone(self.faked_partition(server))


class JobOutcomeTest(base.DriverTestCase):
    definitions = base.WITH_Z17

    def test_a_canceled_stop_fails_at_once_and_leaves_no_job(self):
        server, _c = self.build()
        # Longer than the test waits: only the cancel can end the stop.
        self.sim.transition_time = 600.0
        outcome = []

        def power_off():
            try:
                self.driver.power_off(server)
            except Exception as exc:
                outcome.append(exc)
        worker = threading.Thread(target=power_off)
        worker.start()
        try:
            for _ in range(500):
                running = [j for j in self.sim.jobs.values()
                           if j['status'] == 'running']
                if running:
                    break
                time.sleep(0.01)
            # An operator cancels the job on the HMC.
            self.session.post(running[0]['uri'] + '/operations/cancel')
        finally:
            worker.join(40)
        self.assertEqual(1, len(outcome))
        self.assertIsInstance(outcome[0], exception.HMCOperationFailed)
        self.assertIn('stop partition', outcome[0].format_message())
        self.assertEqual({}, self.sim.jobs)
        # The cancel left the partition as it was.
        self.assertEqual('active',
                         self.faked_partition(server).properties['status'])

    def _stop_job(self, server):
        """Start a stop of the server's partition; return its job."""
        part = self.driver.partitions.get(server.uuid)
        return part.stop(wait_for_completion=False)

    def test_a_failed_job_is_reported_and_deleted(self):
        server, _c = self.build()
        self.sim.transition_time = 600.0
        job = self._stop_job(server)
        # The HMC ends the job with an error.
        sim_jobs.finish(self.sim.jobs[job.uri.rsplit('/', 1)[1]], 409, 1,
                        'Simulated: the stop failed')
        self.sim.transitions.clear()
        exc = self.assertRaises(zhmcclient.HTTPError,
                                self.driver.hmc.wait_for_job, job, 'stop',
                                hmc.Deadline(10))
        self.assertEqual((409, 1), (exc.http_status, exc.reason))
        self.assertIn('the stop failed', exc.message)
        self.assertEqual({}, self.sim.jobs)

    def test_a_partition_gone_after_its_job_still_gets_the_job_deleted(self):
        server, _c = self.build()
        ended = self.driver.hmc.wait_for_job(
            self._stop_job(server), 'stop', hmc.Deadline(10))
        gone = zhmcclient.Partition(self.driver.partitions.cpc.partitions,
                                    '/api/partitions/0f0f0f0f-gone')
        self.assertFalse(self.driver.hmc.read_status(gone, discard=ended))
        self.assertEqual({}, self.sim.jobs)
        self.assertIsNone(self.driver.hmc.wait_for_status(
            gone, {'stopped'}, hmc.Deadline(10), 'gone'))

    def test_a_lost_status_read_is_read_again(self):
        if not self.driver.hmc.aggregates():
            self.skipTest('the HMC (API %d.%d) has no Submit Requests'
                          % self.driver.api_version)
        server, _c = self.build()
        self.sim.inject_fault('connection', 'POST',
                              '/api/services/aggregation/submit')
        self.driver.power_off(server)
        self.assertEqual([('connection', 'POST',
                           '/api/services/aggregation/submit')],
                         self.sim.fired_faults)
        self.assertEqual('stopped',
                         self.faked_partition(server).properties['status'])
        self.assertEqual({}, self.sim.jobs)


class HmcLossTest(base.DriverTestCase):
    definitions = base.WITH_Z17

    def test_periodic_task_reports_and_recovers(self):
        self.build()
        self.sim.inject_fault('connection', 'GET', '/api/cpcs/{id}/partitions')
        exc = self.assertRaises(exception.HMCUnavailable,
                                self.driver.get_available_resource,
                                base.HOST)
        self.assertIn('list partitions', exc.format_message())
        res = self.driver.get_available_resource(base.HOST)
        self.assertEqual(2, res['vcpus_used'])

    def test_unreachable_hmc_at_startup(self):
        self.dpm_flags(hmc_mock_file=None, hmc=['127.0.0.1'], hmc_port=9,
                       hmc_username='nova', hmc_connect_retries=0,
                       hmc_connect_timeout=1)
        settings = __import__('nova_dpm.conf', fromlist=['validate'])
        connection = hmc.HMC(settings.validate(base.driver.CONF))
        started = time.monotonic()
        exc = self.assertRaises(exception.HMCUnavailable, connection.logon,
                                attempts=2, delay=0.01)
        self.assertLess(time.monotonic() - started, 60)
        message = exc.format_message()
        self.assertIn('[dpm] hmc = 127.0.0.1', message)
        self.assertIn('after 2 attempts', message)
        self.assertNotIn(base.PASSWORD, message)


class ConcurrencyTest(base.DriverTestCase):
    definitions = base.WITH_Z17

    def test_ten_concurrent_spawns_and_deletes(self):
        self.sim.latency = 0.01
        self.sim.transition_time = 0.05
        instances = [self.instance(vcpus=1, memory_mb=1024)
                     for _i in range(10)]
        errors = in_threads(
            lambda instance: self.build(instance, network_info=[]),
            instances)
        self.assertEqual([], errors)
        self.assertEqual(sorted(i.uuid for i in instances),
                         sorted(self.driver.list_instance_uuids()))
        res = self.driver.get_available_resource(base.HOST)
        self.assertEqual(10, res['vcpus_used'])
        self.assertEqual(10240, res['memory_mb_used'])
        tree = provider_tree.ProviderTree()
        tree.new_root(base.HOST, 'rp')
        self.driver.update_provider_tree(tree, base.HOST)
        self.assertEqual(8, tree.data(base.HOST).inventory[orc.VCPU]['total'])

        def destroy(instance):
            instance.task_state = task_states.DELETING
            self.driver.destroy(self.context, instance, None)
        self.assertEqual([], in_threads(destroy, instances))
        self.assertEqual([], self.driver.list_instance_uuids())
        own = [n for n in self.faked_partitions() if n.startswith(
            'OpenStack-%s-' % base.HOST)]
        self.assertEqual([], own)
        self.assertEqual(0, self.driver.get_available_resource(
            base.HOST)['vcpus_used'])

    def test_max_instances_holds_under_concurrency(self):
        self.dpm_flags(max_instances=3)
        self.start()
        self.sim.latency = 0.01
        admitted, refused = [], []

        def build(instance):
            try:
                self.build(instance, network_info=[])
                admitted.append(instance)
            except nova_exception.InstanceUnacceptable:
                refused.append(instance)
        threads = [threading.Thread(target=build, args=(self.instance(),))
                   for _i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertEqual(3, len(admitted))
        self.assertEqual(5, len(refused))
        self.assertEqual(3, len(self.driver.list_instance_uuids()))

    def test_operations_on_one_instance_never_interleave(self):
        server, _c = self.build(network_info=[])
        uri = self.faked_partition(server).uri
        self.sim.latency = 0.005
        self.sim.transition_time = 0.05
        log = RequestLog(self.sim)
        spans = []

        def cycle(op):
            for _i in range(3):
                first = len(log.entries)
                op()
                spans.append((threading.get_ident(), first,
                              len(log.entries)))
        ops = [lambda: self.driver.power_off(server),
               lambda: self.driver.power_on(self.context, server, None),
               lambda: self.driver.reboot(self.context, server, None,
                                          'HARD')]
        threads = [threading.Thread(target=cycle, args=(op,)) for op in ops]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertEqual(9, len(spans))
        # From an operation's first request to its last (it may have waited
        # for the instance lock before), every request on the partition (and
        # every job request) comes from its own thread.
        for thread, first, last in spans:
            own = [i for i in range(first, last)
                   if log.entries[i][0] == thread]
            self.assertTrue(own)
            for other, method, path in log.entries[own[0]:own[-1] + 1]:
                if path.startswith(uri) or path.startswith('/api/jobs'):
                    self.assertEqual(thread, other, (method, path))
        self.assertGreater(len(log.entries), 18)


class OwnershipTest(base.DriverTestCase):
    """A CPC full of foreign, other-subset and look-alike partitions."""

    definitions = base.WITH_Z17
    LOOKALIKES = [
        'OpenStack-subset10-6f1a3d43-3f0a-4d51-9f7c-2cbd6a1f3b7e',
        'OpenStack-subset-6f1a3d43-3f0a-4d51-9f7c-2cbd6a1f3b7e',
        'OpenStack-subset1-6F1A3D43-3F0A-4D51-9F7C-2CBD6A1F3B7E',
        'OpenStack-subset1-6f1a3d43-3f0a-4d51-9f7c-2cbd6a1f3b7',
        'OpenStack-subset1-x-6f1a3d43-3f0a-4d51-9f7c-2cbd6a1f3b7e',
        'openstack-subset1-6f1a3d43-3f0a-4d51-9f7c-2cbd6a1f3b7e',
        'OpenStack-subset1.6f1a3d43-3f0a-4d51-9f7c-2cbd6a1f3b7e',
        'LINUX-subset1',
    ]

    def setUp(self):
        self.start_driver = False
        super().setUp()

        def add(data):
            parts = self.cpc_definition(data).setdefault('partitions', [])
            for name in self.LOOKALIKES:
                parts.append({'properties': {
                    'name': name, 'status': 'active', 'ifl-processors': 1,
                    'initial-memory': 1024, 'maximum-memory': 1024}})
        self.edit_definition(add)
        self.start()

    def test_no_request_reaches_beyond_the_subset(self):
        foreign = {n: dict(p.properties)
                   for n, p in self.faked_partitions().items()}
        foreign_uris = {p['object-uri'] for p in foreign.values()}
        log = RequestLog(self.sim)
        server, _c = self.build()
        self.driver.get_available_resource(base.HOST)
        self.assertEqual([server.uuid], self.driver.list_instance_uuids())
        self.driver.power_off(server)
        self.driver.power_on(self.context, server, None)
        self.driver.reboot(self.context, server, None, 'HARD')
        self.driver.get_info(server)
        server.task_state = task_states.DELETING
        self.driver.destroy(self.context, server, None)
        touched = {path.split('?')[0] for _t, _m, path in log.entries}
        for uri in foreign_uris:
            self.assertFalse([t for t in touched
                              if t == uri or t.startswith(uri + '/')], uri)
        after = {n: dict(p.properties)
                 for n, p in self.faked_partitions().items()}
        self.assertEqual(foreign, after)

    def test_out_of_band_changes_are_reported_truthfully(self):
        server, _c = self.build()
        part = self.faked_partition(server)
        self.sim.set_status(part.uri, 'stopped')
        self.driver.partitions._listed_at = 0
        from nova.compute import power_state
        self.assertEqual(power_state.SHUTDOWN,
                         self.driver.get_info(server).state)
        self.faked_cpc.partitions.remove(part.oid)
        self.driver.partitions._listed_at = 0
        self.assertRaises(nova_exception.InstanceNotFound,
                          self.driver.get_info, server)
        self.assertEqual([], self.driver.list_instance_uuids())


def _text(value):
    from testtools import content
    return content.text_content(value)


load_tests = base.load_tests
