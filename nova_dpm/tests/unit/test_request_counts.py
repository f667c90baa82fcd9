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

"""The exact HMC requests of the driver's main operations.

A cross-cutting suite, not the mirror of one product module: it counts
the requests every layer of the driver makes together.

Every operation's requests are compared, by method and URI pattern, with
the list below, on both HMC definitions (z13: HBAs, z16: storage groups),
with no latency and instant starts and stops (so that each wait costs
exactly one job query and one status query). A change that adds a request
fails here: update the expectation only together with the reason, and
check tools/bench.py for the targets.

Requests that the simulator makes to itself while answering a request (the
mock answers POST /api/services/aggregation/submit by issuing the GETs it
aggregates) are not counted: a real HMC answers that POST alone.
"""

import collections
import threading

import fixtures
from nova.compute import provider_tree

from nova_dpm.hmc import session as hmc_session
from nova_dpm import simulator
from nova_dpm.tests.unit import base

LIST = 'GET /api/cpcs/{id}/partitions'
# The CPC's status, read by get_available_resource (an unavailable CPC
# reports no resources).
CPC_GET = 'GET /api/cpcs/{id}'
PART_GET = 'GET /api/partitions/{id}'
JOB_GET = 'GET /api/jobs/{id}'
START = 'POST /api/partitions/{id}/operations/start'
STOP = 'POST /api/partitions/{id}/operations/stop'

AGGREGATE = 'POST /api/services/aggregation/submit'

# A start or stop with instant transitions: request, one job query, then
# one status query that deletes the ended job in the same round trip
# (Submit Requests, HMC API 4.1 and later: z16).
START_WAIT = {START: 1, JOB_GET: 1, AGGREGATE: 1}
STOP_WAIT = {STOP: 1, JOB_GET: 1, AGGREGATE: 1}
# Without Submit Requests (HMC API 1.7: z13) the status query and the
# job's deletion are two requests.
APART = {JOB_GET: 1, PART_GET: 1, 'DELETE /api/jobs/{id}': 1}


def _plus(*counts):
    total = collections.Counter()
    for c in counts:
        total.update(c)
    return dict(total)


START_WAIT_APART = _plus({START: 1}, APART)
STOP_WAIT_APART = _plus({STOP: 1}, APART)

# The requests of a build (connector and spawn), per definition.
BUILD = {
    'z13': _plus({
        'POST /api/cpcs/{id}/partitions': 1,
        'POST /api/partitions/{id}/hbas': 2,
        'GET /api/partitions/{id}/hbas/{id}': 2,
        'POST /api/partitions/{id}/nics': 2,
        'POST /api/partitions/{id}': 1,
    }, START_WAIT_APART),
    'z16': _plus({
        'POST /api/cpcs/{id}/partitions': 1,
        # With the boot volume defined in it (the root BDM's size).
        'POST /api/storage-groups': 1,
        'POST /api/storage-groups/{id}/operations/'
        'add-candidate-adapter-ports': 1,
        'POST /api/partitions/{id}/operations/attach-storage-group': 1,
        'GET /api/storage-groups/{id}/virtual-storage-resources': 1,
        # The VSRs' properties in one round trip; after Cinder's mapping,
        # FCP storage discovery and one poll of it (the boot path's VSR
        # with the discovery job, in one round trip; the simulator's
        # discovery takes transition_time, 0 here); the boot volume's
        # state read with the ended job's deletion.
        AGGREGATE: 3,
        'POST /api/storage-groups/{id}/operations/'
        'start-fcp-storage-discovery': 1,
        'POST /api/storage-groups/{id}/storage-volumes/{id}/operations/'
        'fulfill-fcp-storage-volume': 1,
        'POST /api/partitions/{id}/nics': 2,
        'POST /api/partitions/{id}': 1,
    }, START_WAIT),
}
INIT_HOST = {
    'GET /api/version': 1,
    'GET /api/cpcs/{id}': 1,
    'GET /api/adapters/{id}': 2,
    LIST: 1,
}
# On HMC API 4.1 and later, init_host also lists the CPC's virtual
# switches with their ports (one request).
VSWITCH_LIST = {'GET /api/cpcs/{id}/virtual-switches': 1}
# On API 4.10 and later, init_host first asks the CPC's API features
# whether it has virtual switches at all (network-express-support).
API_FEATURES = {'GET /api/cpcs/{id}/operations/list-features': 1}
# Before, the first build after init_host reads the two virtual switches
# it uses (kept afterwards).
VSWITCH_READS = {'GET /api/virtual-switches/{id}': 2}

# definition -> operation -> {'METHOD pattern': count}
EXPECTED = {
    'z13': {
        'init_host': INIT_HOST,
        'first build': _plus(VSWITCH_READS, BUILD['z13']),
        'build': BUILD['z13'],
        # Nova believes it runs: stop, then delete.
        'destroy': _plus({'DELETE /api/partitions/{id}': 1},
                         STOP_WAIT_APART),
        'power_off': STOP_WAIT_APART,
        'power_on': START_WAIT_APART,
        'reboot HARD': _plus(STOP_WAIT_APART, START_WAIT_APART),
    },
    'z16': {
        'init_host': _plus(INIT_HOST, API_FEATURES, VSWITCH_LIST),
        'first build': BUILD['z16'],
        'build': BUILD['z16'],
        # Stop, delete the partition (its attachment goes with it), then
        # the storage group, known since the build.
        'destroy': _plus({
            'DELETE /api/partitions/{id}': 1,
            'POST /api/storage-groups/{id}/operations/delete': 1,
        }, STOP_WAIT),
        'power_off': STOP_WAIT,
        'power_on': START_WAIT,
        'reboot HARD': _plus(STOP_WAIT, START_WAIT),
    },
}

# The same on both definitions.
COMMON = {
    # Steady state: the CPC's status and one listing; partition sizes are
    # known.
    'resources': {CPC_GET: 1, LIST: 1},
    'list_instance_uuids': {LIST: 1},
    'get_info, no cache': {PART_GET: 1},
    'get_info, cache expired': {LIST: 1},
    'get_info, cache fresh': {},
    # get_num_instances lists the subset; every get_info uses that listing.
    'power sync': {LIST: 1},
}


class _Recorder(object):
    """Top-level requests of a SimulatedHmc, as 'METHOD pattern'."""

    def __init__(self, sim):
        self.log = []
        self._orig = sim.request
        self._local = threading.local()
        self._lock = threading.Lock()
        sim.request = self._request

    def _request(self, method, uri, *args, **kwargs):
        depth = getattr(self._local, 'depth', 0)
        if depth == 0:
            with self._lock:
                self.log.append('%s %s' % (method.upper(),
                                           simulator.uri_pattern(uri)))
        self._local.depth = depth + 1
        try:
            return self._orig(method, uri, *args, **kwargs)
        finally:
            self._local.depth = depth

    def take(self):
        with self._lock:
            log, self.log = self.log, []
        return dict(collections.Counter(log))


class RequestCountTest(base.DriverTestCase):
    definitions = base.PER_DEFINITION
    start_driver = False

    def setUp(self):
        super().setUp()
        self.recorders = []
        load = hmc_session.simulated_session

        def simulated_session(settings):
            session = load(settings)
            self.recorders.append(_Recorder(session.simulator))
            return session
        self.useFixture(fixtures.MonkeyPatch(
            'nova_dpm.hmc.session.simulated_session', simulated_session))

    def expected(self, operation):
        if operation in COMMON:
            return COMMON[operation]
        return EXPECTED[self.definition][operation]

    def assertRequests(self, operation, fn, *args, **kwargs):
        self.recorders[-1].take()
        result = fn(*args, **kwargs)
        self.assertEqual(self.expected(operation), self.recorders[-1].take(),
                         'HMC requests of %s on %s' % (operation,
                                                       self.definition))
        return result

    def resources(self):
        self.driver.get_available_resource(base.HOST)
        tree = provider_tree.ProviderTree()
        tree.new_root(base.HOST, base.CPC_ID)
        self.driver.update_provider_tree(tree, base.HOST)

    def test_init_host(self):
        self.start()
        self.assertEqual(1, len(self.recorders))
        self.assertEqual(self.expected('init_host'),
                         self.recorders[0].take())

    def test_operations(self):
        self.start()
        first = self.assertRequests('first build', self.build)[0]
        instance = self.assertRequests('build', self.build)[0]
        self.resources()
        self.assertRequests('resources', self.resources)
        self.assertRequests('list_instance_uuids',
                            self.driver.list_instance_uuids)
        self.assertRequests('get_info, no cache', self.driver.get_info,
                            instance, use_cache=False)
        self.driver.partitions.STATUS_CACHE_SECONDS = -1.0
        self.assertRequests('get_info, cache expired', self.driver.get_info,
                            instance)
        del self.driver.partitions.STATUS_CACHE_SECONDS
        self.assertRequests('get_info, cache fresh', self.driver.get_info,
                            instance)
        self.assertRequests('power_off', self.driver.power_off, instance)
        self.assertRequests('power_on', self.driver.power_on, self.context,
                            instance, None)
        self.assertRequests('reboot HARD', self.driver.reboot, self.context,
                            instance, None, 'HARD')
        self.assertRequests('destroy', self.driver.destroy, self.context,
                            instance, None)
        self.assertRequests('destroy', self.driver.destroy, self.context,
                            first, None)

    def test_no_job_status_is_left_on_the_hmc(self):
        self.start()
        instance = self.build()[0]
        self.driver.power_off(instance)
        self.driver.power_on(self.context, instance, None)
        self.driver.reboot(self.context, instance, None, 'HARD')
        self.driver.trigger_crash_dump(instance)
        self.sim.complete_transitions()
        self.driver.destroy(self.context, instance, None)
        self.assertEqual({}, self.sim.jobs)

    def test_an_hmc_without_aggregation_gets_one_request_per_step(self):
        if self.definition != 'z13':
            # zhmcclient itself reads the VSRs of a storage group through
            # the aggregation service.
            self.skipTest('storage groups need the aggregation service')
        # An HMC whose API version (4.1) should have Submit Requests but
        # refuses them; the z13 definition's (1.7) has none to refuse.
        self.edit_definition(
            lambda d: d['hmc_definition'].update(api_version='4.1'))
        self.start()
        self.sim.aggregation = False
        recorder = self.recorders[-1]
        recorder.take()
        instance = self.build()[0]
        # The first ended job finds out: the refused Submit Requests, then
        # the status query and the job's deletion one after the other.
        build = recorder.take()
        self.assertEqual(1, build[AGGREGATE])
        self.assertEqual(1, build['DELETE /api/jobs/{id}'])
        one_by_one = {JOB_GET: 1, PART_GET: 1, 'DELETE /api/jobs/{id}': 1}
        self.driver.power_off(instance)
        self.assertEqual(_plus({STOP: 1}, one_by_one), recorder.take())
        self.driver.power_on(self.context, instance, None)
        self.assertEqual(_plus({START: 1}, one_by_one), recorder.take())
        self.assertEqual({}, self.sim.jobs)

    def test_virtual_switches_are_read_one_by_one_if_the_listing_fails(self):
        if self.definition != 'z16':
            self.skipTest('the listing needs HMC API 4.1')
        self.start()
        self.driver.network._vswitch_ports.clear()
        self.sim.inject_fault('http500', 'GET',
                              '/api/cpcs/{id}/virtual-switches')
        self.driver.network.load_vswitch_ports()
        self.assertEqual(1, len(self.sim.fired_faults))
        recorder = self.recorders[-1]
        recorder.take()
        self.build()
        self.assertEqual(2, recorder.take()['GET /api/virtual-switches/{id}'])

    def test_sizes_unknown_after_a_restart_are_read_in_one_request(self):
        self.start()
        for _ in range(3):
            self.build()
        known = self.driver.get_available_resource(base.HOST)
        recorder = self.recorders[-1]
        # After a restart of nova-compute no partition size is known.
        self.driver.partitions._sizes.clear()
        recorder.take()
        self.assertEqual(known, self.driver.get_available_resource(base.HOST))
        if self.definition == 'z16':
            # API 4.1 and later: the sizes come with the listing.
            self.assertEqual({CPC_GET: 1, LIST: 1}, recorder.take())
            return
        # HMC API 1.7 has neither the additional properties of a listing
        # nor Submit Requests: one read per partition, once.
        self.assertEqual({CPC_GET: 1, LIST: 1, PART_GET: 3},
                         recorder.take())
        self.assertEqual(known, self.driver.get_available_resource(base.HOST))
        self.assertEqual({CPC_GET: 1, LIST: 1}, recorder.take())

    def test_power_sync_costs_one_request_for_the_subset(self):
        self.start()
        instances = [self.build()[0] for _ in range(6)]

        def sync():
            # nova's _sync_power_states.
            self.assertEqual(len(instances), self.driver.get_num_instances())
            for instance in instances:
                self.driver.get_info(instance)
        self.assertRequests('power sync', sync)

    def test_resources_do_not_grow_with_partitions(self):
        def add(data):
            parts = self.cpc_definition(data).setdefault('partitions', [])
            for i in range(20):
                parts.append({'properties': {
                    'name': 'OTHER-%02d' % i, 'status': 'active',
                    'ifl-processors': 1, 'initial-memory': 1024,
                    'maximum-memory': 1024}})
        self.edit_definition(add)
        self.start()
        for _ in range(4):
            self.build()
        self.resources()
        self.assertRequests('resources', self.resources)
        self.assertRequests('list_instance_uuids',
                            self.driver.list_instance_uuids)


load_tests = base.load_tests
