#!/usr/bin/env python3
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

"""Performance benchmark of the nova-dpm driver on the simulated HMC.

Runs the driver's operations, as nova-compute calls them, against a
simulated HMC with a per-request latency and a partition start/stop
duration, and prints for every operation the HMC requests it made (by
method, with status polling apart) and its wall time, then how this scales
with foreign partitions on the CPC, with instances in the subset and with
concurrent spawns, and what nova's periodic tasks cost per minute.
With HMC notifications (the simulated HMC served over HTTPS with its
STOMP service, in this process): the polls and the wait beyond the
transition of a start, a stop and a hard reboot, with notifications up
and off, and the idle subset's requests per minute both ways; and, in a
process of its own (nova's in-process cloud), the time from an HMC
operator's stop to Nova's SHUTOFF.
Targets are marked PASS or FAIL; the exit status is 1 if any fails.

    python tools/bench.py                   # z16, 50 ms latency, 2 s start
    python tools/bench.py --definition z13
    python tools/bench.py --quick           # latency 0, fewer points
    python tools/bench.py --no-cloud        # without the in-process cloud

Counting rules:

* "polling" is GET /api/jobs/{id} and the queries of a partition's
  status made by the driver's one waiting primitive, hmc.wait_until,
  which the bench wraps (watch_waits: every poll of a wait object's
  read()). The first status query after a job has ended
  also deletes the job, in the same round trip (a Submit Requests of the
  status GET and the job's DELETE): it counts as the poll it is.
  Everything else is a request of the operation. The "all" column counts
  every request, polls included. On an HMC without Submit Requests
  (before API 4.1) the job's DELETE follows the status query inside the
  wait: it counts as polling too, as do the reads of the storage-group
  discovery wait. A job query made outside a wait means a wait that
  bypasses hmc.wait_until: the bench then fails.
* "pk/s" is the most polls one operation (one hmc.Deadline) made in any
  1-second window; the driver caps it (hmc.PollBudget).
* Requests that the simulator makes to itself while handling a request
  (zhmcclient's mock answers POST /api/services/aggregation/submit by
  issuing the aggregated GETs) are not counted: a real HMC answers that
  POST alone.
"""

import argparse
import collections
import concurrent.futures
import itertools
import logging
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import weakref

os.environ.setdefault('OS_NOVA_DISABLE_EVENTLET_PATCHING', '1')
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

# As nova-compute does (and nova's test package requires): decide on
# eventlet or native threads before anything imports eventlet.
from nova import monkey_patch  # noqa: E402
monkey_patch.patch()

from nova.compute import power_state  # noqa: E402
from nova.compute import provider_tree  # noqa: E402
from nova.compute import task_states  # noqa: E402
from nova.compute import vm_states  # noqa: E402
from nova import context as nova_context  # noqa: E402
from nova.network import model as network_model  # noqa: E402
from nova import objects  # noqa: E402
from nova.tests.unit import fake_instance  # noqa: E402
from nova.virt import block_device  # noqa: E402
from oslo_serialization import jsonutils  # noqa: E402
import yaml  # noqa: E402

from nova_dpm import driver as dpm_driver  # noqa: E402
from nova_dpm import hmc  # noqa: E402
from nova_dpm.hmc import session as hmc_session  # noqa: E402
from nova_dpm.hmc import waits as hmc_waits  # noqa: E402
from nova_dpm import simulator  # noqa: E402
from nova_dpm.simulator import catalog  # noqa: E402
from nova_dpm.simulator import server as hmc_server  # noqa: E402
from nova_dpm import storage as storage_module  # noqa: E402

objects.register_all()
CONF = dpm_driver.CONF

HOST = 'subset1'
CPC_ID = catalog.CPC_ID
FCP_PORTS = list(catalog.ADAPTER_MAPPINGS)
VSWITCHES = list(catalog.VSWITCHES)
# The z17 definition has no virtual switches: its ports are these Network
# Express adapters' port 0.
NETWORK_EXPRESS = list(catalog.NETWORK_EXPRESS)
TARGET_WWPNS = list(catalog.TARGET_WWPNS)

# Nova's default intervals (nova/conf/compute.py, oslo.service periodic
# tasks): update_available_resource runs at the default periodic spacing
# (update_resources_interval = 0 -> 60 s), _sync_power_states every
# sync_power_state_interval = 600 s, _cleanup_running_deleted_instances
# every running_deleted_instance_poll_interval = 1800 s.
RESOURCE_INTERVAL = 60.0
SYNC_INTERVAL = 600.0
CLEANUP_INTERVAL = 1800.0
# nova's [DEFAULT] sync_power_state_pool_size.
SYNC_POOL = 5

SPAWN_LABEL = 'spawn path (connector + spawn)'
# Server diagnostics of every instance of the subset, one call each.
DIAGNOSTICS_LABEL = 'diagnostics of every instance'


# ---------------------------------------------------------------------------
# Request accounting
# ---------------------------------------------------------------------------

class Recorder(object):
    """Wraps SimulatedHmc.request: logs every top-level request.

    A request is tagged as polling when the driver makes it inside a poll
    of hmc.wait_until (WaitWatcher) and it is a job query or a status
    read. A job query outside a poll is counted in ``unwatched``.
    """

    def __init__(self, sim):
        self.sim = sim
        self._orig = sim.request
        self._local = threading.local()
        self._lock = threading.Lock()
        self.log = []
        self.nested = 0
        self.unwatched = 0
        sim.request = self._request

    def last_transition(self):
        return getattr(self._local, 'transition_at', None)

    def _request(self, method, uri, body=None, wait_for_completion=False,
                 operation_timeout=None):
        depth = getattr(self._local, 'depth', 0)
        method = method.upper()
        if depth == 0:
            pattern = simulator.uri_pattern(uri)
            job_query = method == 'GET' and pattern == '/api/jobs/{id}'
            polling = WATCHER.polling()
            # Inside a wait, every read (a GET, a Submit Requests of reads,
            # the ended job's DELETE on an HMC without Submit Requests) is
            # a poll; an action the wait takes (a re-sent shutdown command,
            # a new discovery) is a request of the operation.
            poll = polling and (
                method in ('GET', 'DELETE') or
                (method == 'POST' and
                 pattern == hmc.AGGREGATION_URI))
            if poll:
                WATCHER.poll_made()
            with self._lock:
                self.log.append((method, pattern, poll))
                if job_query and not polling:
                    self.unwatched += 1
        else:
            with self._lock:
                self.nested += 1
        self._local.depth = depth + 1
        try:
            result = self._orig(method, uri, body=body,
                                wait_for_completion=wait_for_completion,
                                operation_timeout=operation_timeout)
        finally:
            self._local.depth = depth
        if depth == 0 and method == 'POST' and (
                uri.endswith('/operations/start') or
                uri.endswith('/operations/stop')):
            self._local.transition_at = time.monotonic()
            WATCHER.transition(self._local.transition_at)
        return result

    def take(self):
        with self._lock:
            log, self.log = self.log, []
        return log


RECORDERS = {}          # id(SimulatedHmc) -> Recorder


def recorder_for(sim):
    rec = RECORDERS.get(id(sim))
    if rec is None:
        rec = RECORDERS[id(sim)] = Recorder(sim)
    return rec


class WaitWatcher(object):
    """Watches the driver's waits (see watch_waits).

    Per thread: whether a poll is under way, the time of every poll by
    operation (the hmc.Deadline the polls share), and when each wait
    ended after the last start/stop request (the "wait+" column).
    """

    def __init__(self):
        self._local = threading.local()
        self.waits = collections.defaultdict(list)    # thread -> [s]
        self.polls = collections.defaultdict(list)    # thread -> [(op, t)]
        self.seen = 0
        # Operation numbers: a Deadline's id() may be reused once it is
        # gone, a number is not.
        self._ops = weakref.WeakKeyDictionary()
        self._serial = itertools.count(1)
        self._lock = threading.Lock()

    def polling(self):
        return getattr(self._local, 'deadline', None) is not None

    def transition(self, at):
        self._local.transition_at = at

    # -- called by the waits that watch_waits wraps ------------------------

    def poll_begins(self, what, deadline):
        self._local.deadline = deadline

    def poll_ends(self, what, deadline):
        self._local.deadline = None

    def wait_ends(self, what, deadline, polls, seconds):
        self.seen += polls
        began = getattr(self._local, 'transition_at', None)
        if began is not None:
            self.waits[threading.get_ident()].append(
                time.monotonic() - began)

    # -- for the Recorder and the rows -------------------------------------

    def poll_made(self):
        deadline = self._local.deadline
        with self._lock:
            op = self._ops.get(deadline)
            if op is None:
                op = self._ops[deadline] = next(self._serial)
            self.polls[threading.get_ident()].append((op, time.monotonic()))

    def take(self):
        """This thread's waits and polls since the last take."""
        ident = threading.get_ident()
        self._local.transition_at = None
        with self._lock:
            return self.waits.pop(ident, []), self.polls.pop(ident, [])

    def take_all(self):
        """The polls of all threads since the last take."""
        with self._lock:
            polls = [p for ps in self.polls.values() for p in ps]
            self.polls.clear()
            self.waits.clear()
        return polls


WATCHER = WaitWatcher()


class WatchedWait(hmc_waits.Wait):
    """A wait of the driver whose polls WATCHER sees."""

    def __init__(self, wait, deadline):
        self.wait = wait
        self.what = wait.what
        self.wanted = wait.wanted
        self.deadline = deadline
        self.polls = 0
        # Woken by notifications like the wrapped wait (hmc.pushed).
        self.told = wait.told
        self.read_first = wait.read_first

    @property
    def told_since(self):
        return self.wait.told_since

    @told_since.setter
    def told_since(self, serial):
        self.wait.told_since = serial

    def told_value(self):
        return self.wait.told_value()

    def read(self):
        self.polls += 1
        WATCHER.poll_begins(self.what, self.deadline)
        try:
            return self.wait.read()
        finally:
            WATCHER.poll_ends(self.what, self.deadline)

    def done(self, value):
        return self.wait.done(value)

    def state(self, value):
        return self.wait.state(value)


def watch_waits():
    """Watch the driver's waits: wrap hmc.wait_until.

    The waits module's wait_until and its name in nova_dpm.hmc are
    replaced by one that hands the driver's wait to the real one wrapped
    in a WatchedWait, and tells WATCHER when the wait ends. A renamed or
    removed wait_until fails here (AttributeError), loudly.
    """
    original = hmc_waits.wait_until

    def watched(wait, deadline):
        wait = WatchedWait(wait, deadline)
        began = time.monotonic()
        try:
            return original(wait, deadline)
        finally:
            WATCHER.wait_ends(wait.what, deadline, wait.polls,
                              time.monotonic() - began)
    hmc.wait_until  # noqa: B018
    hmc_waits.wait_until = hmc.wait_until = watched


def peak_poll_rate(polls, window=1.0):
    """The most polls one operation made in any ``window`` seconds."""
    by_op = collections.defaultdict(list)
    for op, at in polls:
        by_op[op].append(at)
    peak = 0
    for times in by_op.values():
        for t in times:
            peak = max(peak, sum(1 for u in times if t <= u < t + window))
    return peak


class Row(object):
    """One measured operation."""

    def __init__(self, label, log, wall, waits=(), error=None, calls=1,
                 polls=()):
        self.label = label
        self.wall = wall
        self.waits = list(waits)
        self.peak = peak_poll_rate(polls)
        self.error = error
        self.calls = calls
        self.by_method = collections.Counter()
        self.by_pattern = collections.Counter()
        self.poll = 0
        for method, pattern, poll in log:
            if poll:
                self.poll += 1
            else:
                self.by_method[method] += 1
                self.by_pattern['%s %s' % (method, pattern)] += 1

    @property
    def total(self):
        return sum(self.by_method.values())

    @property
    def all(self):
        return self.total + self.poll


def measure(rec, label, fn, *args, **kwargs):
    """Run fn, return a Row with the requests it made and its wall time."""
    rec.take()
    WATCHER.take()
    error = None
    start = time.monotonic()
    try:
        fn(*args, **kwargs)
    except Exception as exc:   # reported in the table, not fatal
        error = '%s: %s' % (type(exc).__name__, exc)
    wall = time.monotonic() - start
    waits, polls = WATCHER.take()
    return Row(label, rec.take(), wall, waits, error, polls=polls)


# ---------------------------------------------------------------------------
# Configuration, definitions, driver
# ---------------------------------------------------------------------------

def configure():
    CONF([], project='nova', default_config_files=[])
    CONF.set_override('host', HOST)
    for name, value in (('cpc_object_id', CPC_ID),
                        ('max_processors', 8),
                        ('max_memory', 32768),
                        ('physical_storage_adapter_mappings', FCP_PORTS),
                        ('target_wwpn_ignore_list', [])):
        CONF.set_override(name, value, group='dpm')
    # The main tables are those of polling (the in-process simulated HMC
    # serves notifications too); the notifications section overrides it.
    CONF.set_default('hmc_notifications', False, group='dpm')


def write_definition(name, foreign, tmpdir):
    """A copy of a shipped definition with ``foreign`` more partitions.

    Dumped with sort_keys=False so that the CPC's children keep their
    order (virtual switches before partitions).
    """
    with open(simulator.definition_path(name)) as f:
        data = yaml.safe_load(f)
    cpc = data['hmc_definition']['cpcs'][0]
    parts = cpc.setdefault('partitions', [])
    for i in range(foreign):
        parts.append({'properties': {
            'object-id': str(uuid.uuid4()),
            'name': 'FOREIGN-%03d' % i,
            'description': 'Not managed by OpenStack',
            'type': 'linux',
            'status': 'active' if i % 2 else 'stopped',
            'ifl-processors': 1,
            'initial-memory': 1024,
            'maximum-memory': 1024,
        }})
    path = os.path.join(tmpdir, '%s-%d.yaml' % (name, foreign))
    with open(path, 'w') as f:
        yaml.safe_dump(data, f, sort_keys=False)
    return path


class Bench(object):
    """Drivers on simulated HMCs, and Nova's calls into them."""

    def __init__(self, args):
        self.args = args
        self.context = nova_context.get_admin_context()
        self._reuse = None
        # The HMC layer's factory for [dpm] hmc_mock_file: a renamed seam
        # fails here, loudly (AttributeError).
        hmc_session.simulated_session  # noqa: B018
        hmc_session.simulated_session = self._simulated_session
        # Nova's database of block device mappings, as far as the driver
        # reads it: a build's connector looks up the root BDM (its size)
        # there. Nova's API records it before the build.
        self.root_bdms = {}
        objects.BlockDeviceMappingList.get_by_instance_uuid = \
            self._get_bdms

    def _get_bdms(self, context, instance_uuid, use_slave=False):
        bdm = self.root_bdms.get(instance_uuid)
        return objects.BlockDeviceMappingList(
            objects=[bdm] if bdm is not None else [])

    def _simulated_session(self, settings):
        """What the driver calls: our latency, or the session to reuse."""
        if self._reuse is not None:
            return self._reuse
        session = simulator.load_session(
            settings.hmc_mock_file, latency=self.args.latency,
            transition_time=self.args.transition_time)
        recorder_for(session.simulator)
        return session

    def new_driver(self, path, session=None):
        """A DPMDriver (init_host not called yet).

        With ``session``, the driver's HMC is that simulated HMC (a
        nova-compute restart: the HMC keeps its state).
        """
        CONF.set_override('hmc_mock_file', path, group='dpm')
        self._reuse = session
        return dpm_driver.DPMDriver(virtapi=None)

    def init_host(self, drv):
        drv.init_host(HOST)
        self._reuse = None

    @staticmethod
    def sim(drv):
        served = HTTPS_SIMULATORS.get(drv)
        return served if served is not None else drv.hmc.session.simulator

    def rec(self, drv):
        return recorder_for(self.sim(drv))

    @staticmethod
    def fast(drv):
        """Latency and transition time 0 for setup and cleanup."""
        class Fast(object):
            def __enter__(self):
                sim = drv.hmc.session.simulator
                self.saved = sim.latency, sim.transition_time
                sim.latency = sim.transition_time = 0.0
                sim.complete_transitions()

            def __exit__(self, *exc):
                sim = drv.hmc.session.simulator
                sim.latency, sim.transition_time = self.saved
        return Fast()

    # -- Nova objects ------------------------------------------------------

    def instance(self):
        flavor = objects.Flavor(id=1, name='dpm.small', vcpus=1,
                                memory_mb=2048, root_gb=0, ephemeral_gb=0,
                                flavorid='1', swap=0, rxtx_factor=1.0,
                                vcpu_weight=1, disabled=False,
                                is_public=True, extra_specs={}, projects=[])
        return fake_instance.fake_instance_obj(
            self.context, flavor=flavor, uuid=str(uuid.uuid4()), host=HOST,
            node=HOST, image_ref='', vm_state=vm_states.BUILDING,
            task_state=task_states.BLOCK_DEVICE_MAPPING, system_metadata={},
            expected_attrs=['system_metadata'])

    @staticmethod
    def network_info(instance, drv=None):
        adapter_ports = drv is not None and drv.network.adapter_ports_only
        vifs = []
        for i, vswitch in enumerate(VSWITCHES):
            if adapter_ports:
                vif_type = 'dpm_adapter'
                details = {'object_id': NETWORK_EXPRESS[i], 'port': 0}
            else:
                vif_type = 'dpm_vswitch'
                details = {'object_id': vswitch}
            vifs.append(network_model.VIF(
                id='port-%s-%d' % (instance.uuid[:8], i),
                address='fa:16:3e:%02x:%s:%s' % (
                    i, instance.uuid[:2], instance.uuid[2:4]),
                type=vif_type, details=details,
                # Bound and up, as Neutron reports them: spawn waits for no
                # network-vif-plugged event (there is no agent here).
                active=True,
                network=network_model.Network(id='net%d' % i, bridge=None,
                                              label='flat', subnets=[])))
        return network_model.NetworkInfo(vifs)

    def block_device_info(self, wwpns, sim):
        """Spawn's block device info; Cinder maps the volume in the SAN."""
        connection_info = {
            'driver_volume_type': 'fibre_channel',
            'serial': 'vol-boot',
            'data': {
                'volume_id': 'vol-boot',
                'target_discovered': False,
                'target_wwn': list(TARGET_WWPNS),
                'target_lun': 1,
                'initiator_target_map': {w: list(TARGET_WWPNS)
                                         for w in wwpns},
            },
        }
        sim.map_volume(wwpns, TARGET_WWPNS, '0001000000000000', 10)
        return {'root_device_name': '/dev/sda', 'ephemerals': [],
                'swap': None,
                'block_device_mapping': [block_device.DriverVolumeBlockDevice(
                    self.root_bdm(connection_info=connection_info))]}

    def root_bdm(self, instance=None, connection_info=None):
        """The boot volume's BlockDeviceMapping (10 GiB).

        With ``instance``: recorded as Nova's API does before a build.
        """
        bdm = objects.BlockDeviceMapping(
            self.context, id=1, source_type='volume',
            destination_type='volume', volume_id='vol-boot', boot_index=0,
            device_name='/dev/sda', volume_size=10,
            connection_info=jsonutils.dumps(connection_info),
            delete_on_termination=False,
            instance_uuid=instance.uuid if instance else str(uuid.uuid4()),
            attachment_id=None, disk_bus=None, device_type='disk',
            guest_format=None, tag=None, volume_type=None, encrypted=False,
            no_device=False, snapshot_id=None, image_id=None)
        if instance is not None:
            self.root_bdms[instance.uuid] = bdm
        return bdm

    # -- Nova's calls -------------------------------------------------------

    def build(self, drv, instance):
        """Nova's build sequence (_build_and_run_instance)."""
        network_info = self.network_info(instance, drv)
        drv.prepare_for_spawn(instance)
        drv.prepare_networks_before_block_device_mapping(instance,
                                                         network_info)
        self.root_bdm(instance)
        connector = drv.get_volume_connector(instance)
        bdi = self.block_device_info(connector['wwpns'], self.sim(drv))
        instance.task_state = task_states.SPAWNING
        drv.spawn(self.context, instance, None, [], None, {}, network_info,
                  bdi, power_on=True)
        instance.vm_state = vm_states.ACTIVE
        instance.task_state = None
        # Nova records the power state the driver reports after a build.
        instance.power_state = power_state.RUNNING
        return instance

    @staticmethod
    def resources(drv):
        """update_available_resource: resources, then the provider tree."""
        drv.get_available_resource(HOST)
        tree = provider_tree.ProviderTree()
        tree.new_root(HOST, uuid.uuid4())
        drv.update_provider_tree(tree, HOST)

    @staticmethod
    def sync_power_states(drv, instances):
        """Nova's _sync_power_states.

        get_num_instances, then get_info of every instance on a pool of
        sync_power_state_pool_size threads.
        """
        drv.get_num_instances()
        with concurrent.futures.ThreadPoolExecutor(SYNC_POOL) as pool:
            for future in [pool.submit(drv.get_info, i) for i in instances]:
                future.result()

    @staticmethod
    def get_info_cold(drv, instance):
        """get_info(use_cache=True) with the status listing expired."""
        drv.partitions.STATUS_CACHE_SECONDS = -1.0
        try:
            drv.get_info(instance, use_cache=True)
        finally:
            del drv.partitions.STATUS_CACHE_SECONDS

    def with_vifs(self, drv, instances):
        """Give the instances the network info cache Nova keeps."""
        for inst in instances:
            inst.info_cache = objects.InstanceInfoCache(
                network_info=self.network_info(inst, drv),
                instance_uuid=inst.uuid)

    @staticmethod
    def diagnostics(drv, instances):
        """Server diagnostics (Nova's API at 2.48) of every instance."""
        for inst in instances:
            drv.get_instance_diagnostics(inst)

    def destroy(self, drv, instance):
        drv.destroy(self.context, instance, self.network_info(instance))

    def move(self, src, dst, instance, flavor):
        """Nova's resize or cold migration from ``src`` to ``dst``.

        migrate_disk_and_power_off on the source; on the destination the
        connector (Nova exports the volume to its WWPNs) and
        finish_migration; confirm_migration on the source.
        """
        migration = objects.Migration(source_compute=src.host,
                                      dest_compute=dst.host)
        src.migrate_disk_and_power_off(self.context, instance, dst.host,
                                       flavor, self.network_info(instance))
        instance.old_flavor, instance.flavor = instance.flavor, flavor
        instance.task_state = task_states.RESIZE_FINISH
        connector = dst.get_volume_connector(instance)
        bdi = self.block_device_info(connector['wwpns'], self.sim(dst))
        dst.finish_migration(self.context, migration, instance, '[]',
                             self.network_info(instance, dst), None, True,
                             {}, bdi, power_on=True)
        instance.task_state = None
        src.confirm_migration(self.context, migration, instance,
                              self.network_info(instance))
        instance.power_state = power_state.RUNNING

    def power_on(self, drv, instance):
        drv.power_on(self.context, instance, self.network_info(instance))
        instance.power_state = power_state.RUNNING

    def reboot(self, drv, instance, kind):
        drv.reboot(self.context, instance, self.network_info(instance),
                   kind)


# ---------------------------------------------------------------------------
# Scenarios
# ---------------------------------------------------------------------------

class Scenario(object):
    def __init__(self, foreign, instances):
        self.foreign = foreign
        self.instances = instances
        self.rows = collections.OrderedDict()
        self.storage_groups = False

    @property
    def name(self):
        return '%d foreign / %d inst' % (self.foreign, self.instances)

    def add(self, row):
        self.rows[row.label] = row
        return row


def run_scenario(bench, definition, foreign, n_instances, tmpdir,
                 extras=False):
    """All the rows, with ``foreign`` partitions and ``n_instances``."""
    sc = Scenario(foreign, n_instances)
    path = write_definition(definition, foreign, tmpdir)

    # Setup: a first nova-compute fills the subset (fast), then a restart.
    first = bench.new_driver(path)
    bench.init_host(first)
    fillers = []
    with bench.fast(first):
        for _ in range(n_instances):
            fillers.append(bench.build(first, bench.instance()))
    session = first.hmc.session
    rec = recorder_for(session.simulator)

    drv = bench.new_driver(path, session=session)
    sc.add(measure(rec, 'init_host', bench.init_host, drv))
    sc.storage_groups = isinstance(drv.storage,
                                   storage_module.StorageGroupBackend)
    sc.add(measure(rec, 'resources, 1st after init_host', bench.resources,
                   drv))
    sc.add(measure(rec, 'get_available_resource + update_provider_tree',
                   bench.resources, drv))
    sc.add(measure(rec, 'list_instance_uuids', drv.list_instance_uuids))

    a, b = bench.instance(), bench.instance()
    sc.add(measure(rec, 'spawn path, 1st after init_host', bench.build,
                   drv, a))
    sc.add(measure(rec, SPAWN_LABEL, bench.build, drv, b))
    sc.add(measure(rec, 'resources after spawns', bench.resources, drv))
    sc.add(measure(rec, 'get_info (use_cache=False)', drv.get_info, b,
                   use_cache=False))
    sc.add(measure(rec, 'get_info (use_cache=True, expired)',
                   bench.get_info_cold, drv, b))
    sc.add(measure(rec, 'get_info (use_cache=True, fresh)', drv.get_info,
                   b, use_cache=True))
    sc.add(measure(rec, 'power_off', drv.power_off, b))
    sc.add(measure(rec, 'power_on', bench.power_on, drv, b))
    sc.add(measure(rec, 'reboot (HARD)', bench.reboot, drv, b, 'HARD'))
    if extras:
        # Informational: a graceful stop and a soft reboot (the guest of
        # the simulator never shuts down by itself: these wait for the
        # timeout, then stop hard).
        timeout = bench.args.shutdown_timeout
        CONF.set_override('shutdown_timeout', timeout)
        sc.add(measure(rec, 'reboot (SOFT, shutdown_timeout=%ds)' % timeout,
                       bench.reboot, drv, b, 'SOFT'))
        sc.add(measure(rec, 'power_off (clean, timeout=%ds)' % timeout,
                       drv.power_off, b, timeout, 1))
        CONF.clear_override('shutdown_timeout')
        with bench.fast(drv):
            bench.power_on(drv, b)
    subset = fillers + [a, b]
    row = sc.add(measure(rec, 'power-state sync (%d inst)' % len(subset),
                         bench.sync_power_states, drv, subset))
    row.calls = len(subset)
    # Diagnostics of every instance: the first calls create the metrics
    # context and read the NICs' names; later ones share one Get Metrics
    # per refresh (diagnostics.REFRESH).
    bench.with_vifs(drv, subset)
    for label in (DIAGNOSTICS_LABEL + ', 1st', DIAGNOSTICS_LABEL):
        drv.diagnostics.metrics.expire()
        row = sc.add(measure(rec, label, bench.diagnostics, drv, subset))
        row.calls = len(subset)
    sc.add(measure(rec, 'destroy (running)', bench.destroy, drv, b))
    with bench.fast(drv):
        bench.destroy(drv, a)
        for inst in fillers:
            bench.destroy(drv, inst)
    return sc


def run_concurrency(bench, definition, tmpdir, sizes):
    """Wall time of batches of concurrent spawns vs one spawn."""
    path = write_definition(definition, 0, tmpdir)
    drv = bench.new_driver(path)
    bench.init_host(drv)
    rec = bench.rec(drv)
    with bench.fast(drv):       # warm the virtual switch cache
        bench.destroy(drv, bench.build(drv, bench.instance()))
    results = []
    for size in sizes:
        batch = [bench.instance() for _ in range(size)]
        rec.take()
        WATCHER.take_all()
        start = time.monotonic()
        errors = []
        with concurrent.futures.ThreadPoolExecutor(size) as pool:
            for future in [pool.submit(bench.build, drv, i) for i in batch]:
                try:
                    future.result()
                except Exception as exc:
                    errors.append('%s: %s' % (type(exc).__name__, exc))
        wall = time.monotonic() - start
        polls = WATCHER.take_all()
        row = Row('%d concurrent spawn(s)' % size, rec.take(), wall,
                  error='; '.join(errors) or None, calls=size, polls=polls)
        # All operations together: the polls the HMC got in its busiest
        # second.
        row.hmc_peak = peak_poll_rate([(0, at) for _op, at in polls])
        results.append(row)
        with bench.fast(drv):
            for inst in batch:
                bench.destroy(drv, inst)
    return results


HOST_2 = 'subset2'


def run_moves(bench, definition, tmpdir):
    """A resize on one subset, then a cold migration to a second one.

    Both subsets are on one simulated CPC (two drivers, one HMC).
    """
    path = write_definition(definition, 0, tmpdir)
    src = bench.new_driver(path)
    bench.init_host(src)
    dst = bench.new_driver(path, session=src.hmc.session)
    dst.init_host(HOST_2)
    bench._reuse = None
    rec = bench.rec(src)
    with bench.fast(src):
        instance = bench.build(src, bench.instance())
    bigger = instance.flavor.obj_clone()
    bigger.vcpus, bigger.memory_mb = 2, 4096
    rows = [measure(rec, 'resize on the subset + confirm', bench.move,
                    src, src, instance, bigger),
            measure(rec, 'cold migration to subset 2 + confirm',
                    bench.move, src, dst, instance, bigger)]
    with bench.fast(dst):
        bench.destroy(dst, instance)
    return rows


# Seconds the simulated HMC refuses every request in the restart case.
RESTART_DOWN = 1.0


def run_restart(bench, definition, tmpdir):
    """One spawn through an HMC restart, and one without, to compare.

    The HMC restarts right after it has accepted the start: it forgets
    the start job and refuses every request for RESTART_DOWN seconds
    (HMC rule A12). The spawn must succeed, polling through the restart
    and reading the partition's status instead of the lost job.
    """
    path = write_definition(definition, 0, tmpdir)
    drv = bench.new_driver(path)
    bench.init_host(drv)
    rec = bench.rec(drv)
    sim = bench.sim(drv)
    with bench.fast(drv):       # warm the virtual switch cache
        bench.destroy(drv, bench.build(drv, bench.instance()))
    plain = measure(rec, SPAWN_LABEL, bench.build, drv, bench.instance())
    sim.restart_after('POST', '/api/partitions/{id}/operations/start',
                      down=RESTART_DOWN)
    restarts = sim.restarts
    instance = bench.instance()
    row = measure(rec, 'spawn through an HMC restart (%.0f s down)'
                  % RESTART_DOWN, bench.build, drv, instance)
    row.restarted = sim.restarts - restarts
    with bench.fast(drv):
        bench.destroy(drv, instance)
    return plain, row


# ---------------------------------------------------------------------------
# Targets and output
# ---------------------------------------------------------------------------

class Verdicts(object):
    def __init__(self):
        self.results = []

    def check(self, name, ok, detail):
        self.results.append((name, bool(ok), detail))
        return 'PASS' if ok else 'FAIL'

    @property
    def failed(self):
        return [r for r in self.results if not r[1]]


# label -> (maximum requests besides polling, description)
ROW_TARGETS = {
    'get_info (use_cache=False)': (1, '<= 1 request'),
    'get_info (use_cache=True, expired)': (1, '<= 1 request'),
    'get_info (use_cache=True, fresh)': (1, '<= 1 request'),
    'list_instance_uuids': (1, '1 request'),
    'get_available_resource + update_provider_tree': (2, '<= 2 requests'),
    SPAWN_LABEL: (12, '<= 12 besides polling'),
    # On a storage-group CPC the paths exist only once FCP storage
    # discovery has validated them (IBM, "Attach Storage Group to
    # Partition"; "Start FCP Storage Discovery"); the boot volume is
    # defined in Create Storage Group itself.
    SPAWN_LABEL + ' (storage groups)': (12, '<= 12 besides polling, one of '
                                        'them Start FCP Storage Discovery'),
    'destroy (running)': (4, '<= 4 besides polling'),
    DIAGNOSTICS_LABEL: (1, '1 Get Metrics for the whole subset'),
    'power_off': (3, '<= 3 besides polling'),
    'power_on': (3, '<= 3 besides polling'),
    'reboot (HARD)': (3, '<= 3 besides polling'),
}


def row_verdict(verdicts, sc, row):
    target = ROW_TARGETS.get(row.label)
    if row.label == SPAWN_LABEL and sc.storage_groups:
        target = ROW_TARGETS[SPAWN_LABEL + ' (storage groups)']
    if row.error:
        if target is None and not row.label.startswith('power-state'):
            return 'ERROR'
        return verdicts.check('%s [%s]' % (row.label, sc.name), False,
                              row.error)
    if row.label.startswith('power-state sync'):
        limit = 2 if row.calls >= 40 else None
        if limit is None:
            return ''
        return verdicts.check(
            'power-state sync of %d instances [%s]' % (row.calls, sc.name),
            row.all <= limit, '%d requests, target <= %d' % (row.all, limit))
    if target is None:
        return ''
    limit, text = target
    return verdicts.check('%s [%s]' % (row.label, sc.name),
                          row.total <= limit,
                          '%d requests (+%d polling), target %s' %
                          (row.total, row.poll, text))


def fmt_wait(row, transition):
    if not row.waits:
        return ''
    worst = max(row.waits)
    return '%.2f' % (worst - transition)


def print_table(sc, verdicts, transition, detail=False):
    print()
    print('Scenario: %s' % sc.name)
    head = '%-46s %4s %4s %4s %5s %5s %4s %4s %7s %6s  %s' % (
        'operation', 'GET', 'POST', 'DEL', 'total', 'poll', 'all', 'pk/s',
        'wall s', 'wait+', 'target')
    print(head)
    print('-' * len(head))
    for row in sc.rows.values():
        verdict = row_verdict(verdicts, sc, row)
        print('%-46s %4d %4d %4d %5d %5d %4d %4s %7.2f %6s  %s' % (
            row.label[:46], row.by_method['GET'], row.by_method['POST'],
            row.by_method['DELETE'], row.total, row.poll, row.all,
            row.peak or '', row.wall, fmt_wait(row, transition), verdict))
        if row.error:
            print('    ERROR: %s' % row.error[:200])
        if detail and row.total:
            for key, n in sorted(row.by_pattern.items()):
                print('    %3d  %s' % (n, key))


def _key(label):
    return ('power-state sync' if label.startswith('power-state sync')
            else label)


def print_scaling(scenarios):
    print()
    print('Scaling: requests besides polling + polling, and wall time (s); '
          'columns: foreign partitions f / instances i')
    labels = []
    for sc in scenarios:
        for label in sc.rows:
            if _key(label) not in labels:
                labels.append(_key(label))
    head = '%-40s' % 'operation' + ''.join(
        ' %13s' % ('%d f/%d i' % (sc.foreign, sc.instances))
        for sc in scenarios)
    print(head)
    print('-' * len(head))
    for key in labels:
        cells = []
        for sc in scenarios:
            rows = {_key(label): r for label, r in sc.rows.items()}
            row = rows.get(key)
            cells.append(' %13s' % ('-' if row is None else '%d+%d %5.2f' % (
                row.total, row.poll, row.wall)))
        print('%-40s' % key[:40] + ''.join(cells))


def periodic_rpm(sc):
    """Requests per minute of nova's periodic tasks in this scenario."""
    res = sc.rows['get_available_resource + update_provider_tree'].all
    sync = next(r for label, r in sc.rows.items()
                if label.startswith('power-state sync')).all
    cleanup = sc.rows['list_instance_uuids'].all
    return (res * 60.0 / RESOURCE_INTERVAL + sync * 60.0 / SYNC_INTERVAL +
            cleanup * 60.0 / CLEANUP_INTERVAL), res, sync, cleanup


def agent_rpm(definition):
    """The DPM agent's steady-state HMC requests a minute (bench_agent).

    tools/bench_agent.py runs in a process of its own: Neutron's agent
    modules need eventlet importable, which this process (on native
    threads, as nova-compute) forbids. Returns its output and
    {'with': rpm, 'without': rpm}.
    """
    out = subprocess.run(
        [sys.executable, os.path.join(ROOT, 'tools', 'bench_agent.py'),
         '--definition', definition], capture_output=True, text=True,
        env=dict(os.environ, PYTHONPATH=ROOT))
    rpm = {}
    for line in out.stdout.splitlines():
        found = re.match(r'\s+(with|without) notifications.*?'
                         r'([\d.]+) requests/min', line)
        if found:
            rpm[found.group(1)] = float(found.group(2))
    return out.stdout + (out.stderr if out.returncode else ''), rpm


# ---------------------------------------------------------------------------
# HMC notifications (the simulated HMC over HTTPS, with its STOMP service)
# ---------------------------------------------------------------------------

NOTIFY_USER = 'nova'
NOTIFY_PASSWORD = 'bench-password'
# Job queries and status reads: what a wait polls.
JOB_READ = ('GET', '/api/jobs/{id}')
STATUS_READ = ('GET', '/api/partitions/{id}')
AGGREGATED = ('POST', hmc.AGGREGATION_URI)


# driver -> the simulated HMC it reaches over HTTPS (HttpsSubset).
HTTPS_SIMULATORS = weakref.WeakKeyDictionary()


class HttpsSubset(object):
    """A driver (init_host done) on a simulated HMC served over HTTPS."""

    def __init__(self, bench, path, notifications):
        session = simulator.load_session(
            path, latency=bench.args.latency,
            transition_time=bench.args.transition_time)
        self.sim = session.simulator
        self.server = hmc_server.HmcServer(self.sim, NOTIFY_USER,
                                           NOTIFY_PASSWORD).start()
        for name, value in (
                ('hmc_mock_file', None), ('hmc', ['127.0.0.1']),
                ('hmc_port', self.server.port),
                ('hmc_username', NOTIFY_USER),
                ('hmc_password', NOTIFY_PASSWORD),
                ('hmc_ca_bundle', self.server.ca_file),
                ('hmc_notification_port', self.server.stomp.port),
                ('hmc_notifications', notifications)):
            CONF.set_override(name, value, group='dpm')
        self.drv = dpm_driver.DPMDriver(virtapi=None)
        HTTPS_SIMULATORS[self.drv] = self.sim
        self.drv.init_host(HOST)
        if notifications and not self.drv.events.connected.wait(30):
            raise RuntimeError('no notification connection to the '
                               'simulated HMC')

    def close(self):
        self.drv.cleanup_host(HOST)
        self.server.stop()
        for name in ('hmc', 'hmc_port', 'hmc_username', 'hmc_password',
                     'hmc_ca_bundle', 'hmc_notification_port',
                     'hmc_notifications'):
            CONF.clear_override(name, group='dpm')

    def measure(self, fn, *args):
        """(polls, all requests, wall s) of one call.

        polls: job queries and status reads (alone or in a Submit
        Requests) made while the call ran.
        """
        self.sim.reset_counts()
        began = time.monotonic()
        fn(*args)
        wall = time.monotonic() - began
        polls = sum(self.sim.count(*what)
                    for what in (JOB_READ, STATUS_READ, AGGREGATED))
        return polls, len(self.sim.requests), wall


def run_notifications(bench, definition, tmpdir, n_instances):
    """Starts, stops and the idle subset, with and without notifications.

    Returns {notifications (bool): {row: (polls, requests, wall)}}, and
    the steady-state requests per minute as the third entry of each
    'steady' row.
    """
    path = write_definition(definition, 0, tmpdir)
    results = {}
    for notifications in (False, True):
        subset = HttpsSubset(bench, path, notifications)
        try:
            results[notifications] = _notification_rows(
                bench, subset, n_instances)
        finally:
            subset.close()
    return results


def _notification_rows(bench, subset, n_instances):
    drv, sim = subset.drv, subset.sim
    saved = sim.transition_time
    sim.transition_time = 0.0
    instances = [bench.build(drv, bench.instance())
                 for _ in range(n_instances)]
    sim.transition_time = saved
    rows = collections.OrderedDict()
    one = instances[0]
    rows['power_off'] = subset.measure(drv.power_off, one)
    rows['power_on'] = subset.measure(bench.power_on, drv, one)
    rows['reboot (HARD)'] = subset.measure(bench.reboot, drv, one, 'HARD')
    # Nova's periodic tasks on the idle subset, each with the last
    # listing older than the status cache (they run minutes apart).
    counts = []
    for fn, args in ((bench.resources, (drv,)),
                     (bench.sync_power_states, (drv, instances)),
                     (drv.list_instance_uuids, ())):
        drv.partitions._listed_at = 0.0
        counts.append(subset.measure(fn, *args)[1])
    res, sync, cleanup = counts
    rpm = (res * 60.0 / RESOURCE_INTERVAL + sync * 60.0 / SYNC_INTERVAL +
           cleanup * 60.0 / CLEANUP_INTERVAL)
    rows['steady'] = (res, sync, cleanup, rpm)
    sim.transition_time = 0.0
    for inst in instances:
        bench.destroy(drv, inst)
    return rows


def print_notifications(results, transition, n_instances, verdicts):
    print()
    print('HMC notifications: the simulated HMC over HTTPS with its STOMP '
          'service; "poll" = job queries and status reads (alone or in a '
          'Submit Requests); "wait+" = wall time beyond the %.1f s '
          'transition' % transition)
    print('%-16s %-14s %5s %5s %7s %6s' % (
        'notifications', 'operation', 'poll', 'all', 'wall s', 'wait+'))
    for notifications, rows in results.items():
        for label, row in rows.items():
            if label == 'steady':
                continue
            polls, total, wall = row
            print('%-16s %-14s %5d %5d %7.2f %6.2f' % (
                'up' if notifications else 'off (polling)', label, polls,
                total, wall, wall - transition * (
                    2 if label.startswith('reboot') else 1)))
    up = results[True]
    # One Query Job Status reads the outcome of a job whose completion was
    # notified: every other job query or status read is a poll.
    polls = {label: row[0] - (2 if label.startswith('reboot') else 1)
             for label, row in up.items() if label != 'steady'}
    print('  0 status polls per start and stop with notifications up (the '
          'one job query that reads a notified job\'s outcome aside): %s  '
          '%s' % (', '.join('%s %d' % kv for kv in polls.items()),
                  verdicts.check('no polls with notifications',
                                 not any(polls.values()), polls)))
    print('  steady state, idle subset of %d instances (resources every '
          '%ds, power-state sync every %ds, cleanup every %ds):' % (
              n_instances, RESOURCE_INTERVAL, SYNC_INTERVAL,
              CLEANUP_INTERVAL))
    for notifications, rows in results.items():
        res, sync, cleanup, rpm = rows['steady']
        print('    notifications %-14s %5.2f requests/min (resources %d, '
              'sync %d, cleanup %d)' % (
                  'up:' if notifications else 'off:', rpm, res, sync,
                  cleanup))


def measure_out_of_band_stop(runs):
    """Seconds from an HMC operator's stop to Nova's SHUTOFF, per run.

    Measured in a process of its own (nova's test harness parses the
    configuration its own way): ``bench.py --out-of-band-stop N`` prints
    the seconds of each run as JSON. Returns (seconds, problem or None).
    """
    out = subprocess.run(
        [sys.executable, os.path.abspath(__file__), '--out-of-band-stop',
         str(runs)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        cwd=ROOT, check=False)
    try:
        return jsonutils.loads(out.stdout.decode().strip().splitlines()[-1])
    except (IndexError, ValueError):
        return [], out.stderr.decode() or 'no answer (%d)' % out.returncode


def _out_of_band_stop(runs):
    """The measurement itself, in the in-process cloud.

    nova's API, conductor, scheduler and nova-compute with this driver,
    on the simulated HMC over HTTPS with notifications: the partition is
    stopped on the simulator, as an HMC operator would, and Nova's API is
    read every 0.05 s until the server is SHUTOFF with no task (then
    started again through Nova's API for the next run). Nova's
    power-state sync does not run.
    """
    import unittest

    from nova_dpm.simulator.cloud import nova_cloud as cloud
    seconds = []

    class OutOfBandStop(cloud.DPMCloudTestCase):
        HMC_NOTIFICATIONS = True
        CAST_AS_CALL = False

        def test_stop_on_the_hmc(self):
            self.assertTrue(self.driver.events.connected.wait(30))
            server = self.boot(ports=self.create_ports())
            uri = self.hmc.partition_of(server['id'])['object-uri']
            for run in range(runs):
                if run:
                    self.action(server, {'os-start': None}, 'ACTIVE')
                began = time.monotonic()
                self.simulator.set_status(uri, 'stopped')
                self.wait_for_status(server, 'SHUTOFF')
                seconds.append(time.monotonic() - began)

    result = unittest.TestResult()
    OutOfBandStop('test_stop_on_the_hmc').run(result)
    problems = result.errors + result.failures
    print(jsonutils.dumps([seconds, problems[0][1] if problems else None]))
    return 1 if problems else 0


def print_out_of_band(measured, verdicts):
    """The out-of-band stop's runs; the target is on their median."""
    seconds, problem = measured
    median = sorted(seconds)[len(seconds) // 2] if seconds else None
    if problem:
        detail = problem.strip().splitlines()[-1]
    else:
        detail = ('median %.2f s' % median if seconds
                  else 'not measured')
    print('  out-of-band stop (an HMC operator stops the partition) to '
          'Nova\'s SHUTOFF, in the in-process cloud: %s (median < 5 s)  '
          '%s' % (', '.join('%.2f s' % t for t in seconds) or 'not measured',
                  verdicts.check('out-of-band stop to SHUTOFF',
                                 seconds and not problem and median < 5.0,
                                 detail)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--definition', default='z16',
                        help='shipped HMC definition (z16, z13, z17) or a '
                             'YAML file (default z16)')
    parser.add_argument('--latency', type=float, default=None,
                        help='seconds per HMC request (default 0.05; '
                             '0 with --quick)')
    parser.add_argument('--transition-time', type=float, default=None,
                        help='seconds a start or stop takes (default 2; '
                             '0.2 with --quick)')
    parser.add_argument('--shutdown-timeout', type=int, default=3,
                        help='timeout of the graceful-stop rows (default 3)')
    parser.add_argument('--quick', action='store_true',
                        help='latency 0, transition 0.2 s, fewer scaling '
                             'points')
    parser.add_argument('--detail', action='store_true',
                        help='list the requests of each operation by URI')
    parser.add_argument('--no-cloud', action='store_true',
                        help='skip the out-of-band stop measured in the '
                             'in-process cloud')
    parser.add_argument('--out-of-band-stop', type=int, metavar='RUNS',
                        help='only measure RUNS out-of-band stops in the '
                             'in-process cloud; print the seconds as JSON')
    args = parser.parse_args(argv)
    if args.out_of_band_stop:
        return _out_of_band_stop(args.out_of_band_stop)
    if args.latency is None:
        args.latency = 0.0 if args.quick else 0.05
    if args.transition_time is None:
        args.transition_time = 0.2 if args.quick else 2.0

    logging.basicConfig(level=logging.ERROR)
    configure()
    watch_waits()
    bench = Bench(args)
    verdicts = Verdicts()
    began = time.monotonic()

    if args.quick:
        points = [(0, 0), (20, 0), (0, 10), (0, 40)]
        sizes = [1, 5, 10]
    else:
        points = [(0, 0), (20, 0), (80, 0), (0, 10), (0, 40), (80, 40)]
        sizes = [1, 5, 10]

    print('nova-dpm benchmark: definition %s, latency %.0f ms per request, '
          'start/stop %.1f s' % (
              args.definition, args.latency * 1000, args.transition_time))
    print('Counts are HMC requests; "total" = requests besides polling; '
          '"poll" = GET /api/jobs/{id} and status reads while waiting (the '
          'first after a job also deletes the job, in one Submit '
          'Requests, or in a DELETE of its own on HMCs without it); "all" '
          '= both; "pk/s" = most polls of one operation '
          'in any 1 s; "wait+" = worst time from a start/stop '
          'request to the driver seeing the new status, minus the '
          'transition time.')
    scenarios = []
    with tempfile.TemporaryDirectory() as tmpdir:
        for foreign, n in points:
            sc = run_scenario(bench, args.definition, foreign, n, tmpdir,
                              extras=(foreign, n) == (0, 0))
            scenarios.append(sc)
            print_table(sc, verdicts, args.transition_time,
                        detail=args.detail or (foreign, n) == (0, 0))
            sys.stdout.flush()
        batches = run_concurrency(bench, args.definition, tmpdir, sizes)
        plain, restarted = run_restart(bench, args.definition, tmpdir)
        moves = run_moves(bench, args.definition, tmpdir)
        idle = 5 if args.quick else 10
        notified = run_notifications(bench, args.definition, tmpdir, idle)

    print_scaling(scenarios)

    # Steady-state cost of resources and list across partition/instances.
    print()
    print('Targets across scenarios')
    res_counts = {sc.name: sc.rows['get_available_resource + '
                                   'update_provider_tree'].all
                  for sc in scenarios}
    print('  get_available_resource + update_provider_tree (steady) <= 2 '
          'whatever the partitions/instances: %s  %s' % (
              verdicts.check('resources constant', all(
                  v <= 2 for v in res_counts.values()), res_counts),
              ', '.join('%s: %d' % kv for kv in res_counts.items())))

    waits = [(sc.name, label, w) for sc in scenarios
             for label, row in sc.rows.items() for w in row.waits
             if label in ('power_off', 'power_on', 'reboot (HARD)')]
    worst = max(waits, key=lambda x: x[2]) if waits else None
    if worst:
        over = worst[2] - args.transition_time
        print('  waiting for a start/stop <= transition + 1 s: worst %.2f s '
              'beyond the %.1f s transition (%s, %s)  %s' % (
                  over, args.transition_time, worst[1], worst[0],
                  verdicts.check('wait overhead', over <= 1.0,
                                 '%.2f s' % over)))

    # The poll-rate cap of one operation (hmc.PollBudget).
    cap = int(hmc.POLL_BURST + hmc.POLL_RATE)
    peaks = [(sc.name, label, row.peak) for sc in scenarios
             for label, row in sc.rows.items()] + [
        ('concurrent', row.label, row.peak) for row in batches]
    where, label, peak = max(peaks, key=lambda x: x[2])
    print('  poll-rate cap per operation: %g polls/s, burst %g '
          '(at most %d in any 1 s): worst %d in 1 s (%s, %s)  %s' % (
              hmc.POLL_RATE, hmc.POLL_BURST, cap, peak, label,
              where, verdicts.check('poll-rate cap', peak <= cap,
                                    '%d polls in 1 s' % peak)))
    unwatched = sum(r.unwatched for r in RECORDERS.values())
    print('  every poll made through hmc.wait_until (%d polls seen by its '
          'wrapper): %d job queries outside it  %s' % (
              WATCHER.seen, unwatched, verdicts.check(
                  'one way to wait', WATCHER.seen and not unwatched,
                  '%d job queries outside hmc.wait_until, %d polls seen' % (
                      unwatched, WATCHER.seen))))

    print()
    print('Concurrent spawns (the whole build sequence per instance)')
    one = batches[0]
    print('%-24s %6s %6s %6s %8s %9s %7s %7s' % (
        'batch', 'total', 'poll', 'req/ea', 'wall s', 'x 1 spawn', 'pk/s op',
        'pk/s HMC'))
    for row in batches:
        print('%-24s %6d %6d %6.1f %8.2f %9.2f %7d %7d' % (
            row.label, row.total, row.poll, row.total / float(row.calls),
            row.wall, row.wall / one.wall, row.peak, row.hmc_peak))
        if row.error:
            print('    ERROR: %s' % row.error[:300])
    ten = [r for r in batches if r.calls == 10]
    if ten:
        ratio = ten[0].wall / one.wall
        print('  10 concurrent spawns within 1.5 x one spawn: %.2f x  %s' % (
            ratio, verdicts.check('concurrency', ratio <= 1.5 and
                                  not ten[0].error, '%.2f x' % ratio)))

    print()
    print('An HMC restart during the start of a spawn (one run)')
    print('%-42s %6s %6s %8s' % ('operation', 'total', 'poll', 'wall s'))
    for row in (plain, restarted):
        print('%-42s %6d %6d %8.2f' % (
            row.label, row.total, row.poll, row.wall))
        if row.error:
            print('    ERROR: %s' % row.error[:300])
    late = restarted.wall - plain.wall - RESTART_DOWN
    print('  spawn through an HMC restart succeeds, at most 1 s beyond the '
          'restart: %.2f s beyond  %s' % (late, verdicts.check(
              'spawn through an HMC restart', not restarted.error and
              restarted.restarted == 1 and late <= 1.0,
              restarted.error or '%.2f s beyond the restart' % late)))

    print()
    print('Resize and cold migration (Nova\'s calls on source and '
          'destination, confirm included)')
    print('%-42s %6s %6s %8s' % ('operation', 'total', 'poll', 'wall s'))
    for row in moves:
        print('%-42s %6d %6d %8.2f' % (
            row.label, row.total, row.poll, row.wall))
        if row.error:
            print('    ERROR: %s' % row.error[:300])
        if args.detail:
            for key, n in sorted(row.by_pattern.items()):
                print('    %3d  %s' % (n, key))

    print_notifications(notified, args.transition_time, idle, verdicts)
    if not args.no_cloud:
        print_out_of_band(measure_out_of_band_stop(1 if args.quick else 3),
                          verdicts)

    print()
    print("Steady state: nova's periodic tasks at their default intervals")
    print('  update_available_resource every %ds (get_available_resource + '
          'update_provider_tree),' % RESOURCE_INTERVAL)
    print('  _sync_power_states every %ds (get_num_instances + get_info per '
          'instance),' % SYNC_INTERVAL)
    print('  _cleanup_running_deleted_instances every %ds '
          '(list_instance_uuids)' % CLEANUP_INTERVAL)
    rpms = {}
    for sc in scenarios:
        if sc.foreign:
            continue
        rpm, res, sync, cleanup = periodic_rpm(sc)
        n = sc.rows and next(r for label, r in sc.rows.items()
                             if label.startswith('power-state sync')).calls
        rpms[sc.instances] = rpm
        print('  %3d instances (+2 spawned = %d): %5.2f requests/min '
              '(resources %d, sync %d, cleanup %d)' % (
                  sc.instances, n, rpm, res, sync, cleanup))
    print('  requests per minute independent of the instance count: %s' % (
        verdicts.check('steady state', len(set(
            round(v, 3) for v in rpms.values())) == 1,
            ', '.join('%d: %.2f' % kv for kv in sorted(rpms.items())))))

    print()
    text, rpm = agent_rpm(args.definition)
    print(text.rstrip())
    print('  DPM agent with notifications: at most 2 requests/min at '
          'steady state (without: %s)  %s' % (
              rpm.get('without'), verdicts.check(
                  'agent steady state', rpm.get('with', 99) <= 2,
                  '%s requests/min' % rpm.get('with'))))

    print()
    print('Summary: %d targets checked, %d FAIL (%.0f s)' % (
        len(verdicts.results), len(verdicts.failed),
        time.monotonic() - began))
    # The same failure in several scenarios is listed once.
    grouped = collections.OrderedDict()
    for name, _ok, detail in verdicts.failed:
        label, _sep, where = name.partition(' [')
        grouped.setdefault((label, detail), []).append(where.rstrip(']'))
    for (label, detail), where in grouped.items():
        print('  FAIL %s: %s%s' % (
            label, detail,
            ' (%s)' % '; '.join(w for w in where if w) if any(where)
            else ''))
    return 1 if verdicts.failed else 0


if __name__ == '__main__':
    sys.exit(main())
