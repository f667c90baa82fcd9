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

"""Partitions: naming and ownership, create/start/stop/delete, power state.

Ownership rule
--------------
The partition of instance ``U`` in the subset of ``[DEFAULT] host`` ``H`` is
named ``OpenStack-<token>-<U>``. ``<token>`` is ``H`` itself when ``H`` has
at most 17 characters, all of them allowed in HMC names, and does not look
like a hashed token; otherwise it is the first four characters of ``H``
(with disallowed characters replaced by ``x``), ``_`` and the first 12 hex
digits of SHA-256(``H``). The name therefore never exceeds the HMC's 64
characters, and for short host names it is the name the original nova-dpm
gave, so its partitions stay recognised.

A partition belongs to the subset only when its name is *exactly*
``OpenStack-<token>-`` followed by a canonical lower-case UUID. The UUID has
a fixed length, so the token is fully determined by the name: a host that is
a prefix of another host, hosts with ``-`` or ``.``, and regex
metacharacters cannot make one subset claim another's partition.
"""

import hashlib
import re
import threading
import time
import weakref

from nova.compute import power_state
from nova import exception as nova_exception
from oslo_log import log as logging
import zhmcclient

from nova_dpm import capabilities
from nova_dpm import conf as dpm_conf
from nova_dpm import contract
from nova_dpm import exception
from nova_dpm import flavor as flavor_module
from nova_dpm import hmc

LOG = logging.getLogger(__name__)

NAME_MAX = 64
UUID_LEN = 36
TOKEN_MAX = NAME_MAX - len(contract.PARTITION_PREFIX) - 1 - UUID_LEN  # 17
_NAME_CHARS = re.compile(r'^[A-Za-z0-9._@#-]+$')
_HASHED_TOKEN = re.compile(r'^.{4}_[0-9a-f]{12}$')

# Partition status -> Nova power state (HMC rule E1). The mapping is
# documented in the overview guide.
POWER_STATES = {
    'active': power_state.RUNNING,
    'degraded': power_state.RUNNING,       # running, some resource lost
    'starting': power_state.NOSTATE,       # transitional
    'stopping': power_state.NOSTATE,       # transitional
    'stopped': power_state.SHUTDOWN,
    'reservation-error': power_state.SHUTDOWN,  # not running, can start
    # All CPUs stopped: the OS halted itself (or never booted). Nova then
    # sees a shut-off server and stops it; Nova's PAUSED (a pause it
    # asked for) would make it ignore the state.
    'paused': power_state.SHUTDOWN,
    'terminated': power_state.CRASHED,     # OS ended abnormally
    'communications-not-active': power_state.NOSTATE,  # SE lost contact
    'status-check': power_state.NOSTATE,   # SE is checking status
}

# Statuses from which Stop is valid (HMC rule E4) and in which Delete is
# valid (E5); Start is valid from the latter (E2).
STOPPABLE = ('active', 'degraded', 'paused', 'terminated')
DELETABLE = ('stopped', 'reservation-error')
RUNNING = ('active', 'degraded')
TRANSITIONAL = ('starting', 'stopping')
# Statuses a start may report for a while after its job has ended before
# the partition is active (HMC rule E3; 'stopped' as well: see Started).
LAGGING_START_STATUSES = ('paused', 'terminated', 'stopped')
# Statuses in which a graceful stop has ended: the guest's operating system
# has shut down (a Linux that halts itself stops its CPUs: paused).
SHUT_DOWN = DELETABLE + ('paused', 'terminated')
# How many Stop Partition operations one stop makes at most while the
# partition keeps ending in 'terminated' (HMC rule E4).
STOP_ATTEMPTS = 3
# Starts made when the HMC restarts and forgets the start job before the
# start has taken effect (the partition is still stopped).
LOST_JOB_ATTEMPTS = 2
# The properties that tell why a start found too little on the CPC: the
# partition's size, and what the CPC has (free memory, processors by type).
SIZE_NEEDS = (
    # (partition property, CPC property with the CPC's count, unit)
    ('ifl-processors', 'processor-count-ifl', 'IFLs'),
    ('cp-processors', 'processor-count-general-purpose', 'CPs'),
)


def host_token(host):
    """The part of partition names that identifies the subset's host."""
    if (len(host) <= TOKEN_MAX and _NAME_CHARS.match(host) and
            not _HASHED_TOKEN.match(host)):
        return host
    head = ''.join(c if _NAME_CHARS.match(c) else 'x' for c in host[:4])
    head = head.ljust(4, 'x')
    digest = hashlib.sha256(host.encode('utf-8')).hexdigest()[:12]
    return '%s_%s' % (head, digest)


class Naming(object):
    """Names of this subset's partitions, and the test for ownership."""

    def __init__(self, host):
        self.host = host
        self.token = host_token(host)
        self.prefix = '%s%s-' % (contract.PARTITION_PREFIX, self.token)
        # Server-side filter for List Partitions; the exact test below is
        # applied to every result, so this only has to be a superset.
        self.list_filter = '^%s.{%d}$' % (re.escape(self.prefix), UUID_LEN)

    def name(self, instance_uuid):
        return self.prefix + instance_uuid

    def description(self):
        return 'OpenStack CPC subset %s' % self.host

    def owner_uuid(self, name):
        """The instance UUID if ``name`` is a partition of this subset."""
        if (name and len(name) == len(self.prefix) + UUID_LEN and
                name.startswith(self.prefix)):
            candidate = name[len(self.prefix):]
            if dpm_conf.UUID_RE.match(candidate):
                return candidate
        return None


def power_state_of(status):
    return POWER_STATES.get(status, power_state.NOSTATE)


class Partitions(object):
    """This subset's partitions on the CPC.

    Keeps the instance UUID -> partition URI map (URIs never change) and the
    status of every partition from the last listing, so that Nova's
    power-state sync costs one request for the whole subset.
    """

    STATUS_CACHE_SECONDS = 5.0
    # How long a start may report paused (or stopped, terminated) before
    # that counts as its outcome (HMC rule E3: the status can lag behind
    # the job): zhmcclient's status timeout, how long its Partition.start
    # waits for the status after the job (DEFAULT_STATUS_TIMEOUT, 60 s).
    start_grace = float(zhmcclient.DEFAULT_STATUS_TIMEOUT)
    SIZE_PROPERTIES = ['ifl-processors', 'initial-memory']

    def __init__(self, connection, cpc, host, settings):
        # The HMC (nova_dpm.hmc.HMC); what it can do is its capabilities.
        self.hmc = connection
        self.cpc = cpc
        self.naming = Naming(host)
        self.settings = settings
        self._lock = threading.Lock()
        self._uris = {}          # instance uuid -> partition uri
        self._status = {}        # instance uuid -> status (last listing)
        self._listed_at = 0.0
        self._sizes = {}         # uri -> (ifl-processors, initial-memory)
        # Weak: a lock lives while an operation holds (or waits for) it,
        # so the table does not grow with every instance ever seen.
        self._instance_locks = weakref.WeakValueDictionary()
        # Creates and deletes by this service, numbered, so that a listing
        # that started before one of them does not undo it.
        self._changes = 0
        self._changed = {}       # uuid -> number of its last change
        # True while the HMC's status notifications keep the statuses
        # current (notifications.PartitionEvents): no listing needed.
        self.pushed = False

    # -- per-instance serialisation ------------------------------------

    def lock(self, instance_uuid):
        """The lock of one instance.

        Operations on one partition never interleave; different instances
        never wait for each other.
        """
        with self._lock:
            lock = self._instance_locks.get(instance_uuid)
            if lock is None:
                lock = self._instance_locks[instance_uuid] = \
                    threading.RLock()
            return lock

    # -- listing --------------------------------------------------------

    def refresh(self):
        """List this subset's partitions (1 request); refresh the caches.

        Returns {uuid: Partition}. The listing carries the partitions'
        sizes where the HMC has capabilities.ADDITIONAL_PROPERTIES.
        Partitions this service creates or deletes while the listing is
        under way keep what the create or delete recorded: the listing may
        predate them.
        """
        extra = self.SIZE_PROPERTIES if self.hmc.capabilities.can(
            capabilities.ADDITIONAL_PROPERTIES) else None
        with self._lock:
            started = self._changes
        with hmc.translated('list partitions', self.cpc.name):
            found = self.cpc.partitions.list(
                filter_args={'name': self.naming.list_filter},
                additional_properties=extra)
        own = {}
        for part in found:
            uuid = self.naming.owner_uuid(part.name)
            if uuid:
                own[uuid] = part
        with self._lock:
            recent = {u for u, change in self._changed.items()
                      if change > started}
            for uuid in recent:
                own.pop(uuid, None)
                if uuid in self._uris:
                    own[uuid] = zhmcclient.Partition(
                        self.cpc.partitions, self._uris[uuid],
                        name=self.naming.name(uuid),
                        properties={'status': self._status.get(uuid)})
            self._changed = {u: c for u, c in self._changed.items()
                             if c > started}
            self._uris = {u: p.uri for u, p in own.items()}
            self._status = {u: p.get_property('status')
                            for u, p in own.items()}
            self._listed_at = time.monotonic()
            for uri in list(self._sizes):
                if uri not in self._uris.values():
                    del self._sizes[uri]
            if extra:
                for part in own.values():
                    self._sizes[part.uri] = tuple(
                        part.get_property(p) or 0 for p in extra)
        return own

    def statuses(self, max_age=None):
        """{uuid: status}, from a listing at most ``max_age`` s old.

        Without ``max_age``, while status notifications are received
        (:attr:`pushed`), the statuses they keep current.
        """
        pushed = self.pushed and max_age is None
        max_age = self.STATUS_CACHE_SECONDS if max_age is None else max_age
        with self._lock:
            fresh = pushed or time.monotonic() - self._listed_at <= max_age
            if fresh:
                return dict(self._status)
        self.refresh()
        with self._lock:
            return dict(self._status)

    def owner(self, uri):
        """(instance uuid, cached status) of a partition URI (no request).

        None for a partition that is not one of this subset's.
        """
        with self._lock:
            for uuid, known in self._uris.items():
                if known == uri:
                    return uuid, self._status.get(uuid)
        return None

    def known(self):
        """UUIDs of the partitions this service knows (no request)."""
        with self._lock:
            return set(self._uris)

    def uri(self, instance_uuid):
        with self._lock:
            return self._uris.get(instance_uuid)

    def get(self, instance_uuid, refresh=True):
        """The Partition of an instance, or None.

        No request when the URI is known; otherwise one listing, unless
        ``refresh`` is false (the caller is about to create it).
        """
        uri = self.uri(instance_uuid)
        if uri is None:
            if not refresh:
                return None
            self.refresh()
            uri = self.uri(instance_uuid)
            if uri is None:
                return None
        return zhmcclient.Partition(self.cpc.partitions, uri,
                                    name=self.naming.name(instance_uuid))

    def status(self, partition, discard=None):
        """The partition's current status (1 request), or None if gone.

        ``discard``: an ended job whose status is deleted in the same round
        trip (see HMC.read_status).
        """
        with hmc.translated('read partition status', partition.name):
            found = self.hmc.read_status(partition, discard)
        if not found:
            self._uncache(partition)
            return None
        self._cache_status(partition)
        return partition.get_property('status')

    def _cache_status(self, partition):
        """Keep the status this service last saw.

        The cached statuses of get_info(use_cache=True) then never lag
        behind this service's own starts and stops.
        """
        # The local properties only: prop() would ask the HMC.
        status = partition.properties.get('status')
        uuid = self.naming.owner_uuid(partition.name)
        if status and uuid:
            with self._lock:
                if uuid in self._uris:
                    self._status[uuid] = status

    def _record_change(self, uuid):
        self._changes += 1
        self._changed[uuid] = self._changes

    def _uncache(self, partition):
        """Drop a partition that is gone (or deleted) from the caches."""
        uuid = self.naming.owner_uuid(partition.name)
        with self._lock:
            self._record_change(uuid)
            self._uris.pop(uuid, None)
            self._status.pop(uuid, None)
            self._sizes.pop(partition.uri, None)

    def usage(self):
        """(processors, memory MiB) used by this subset's partitions.

        One List Partitions request, which carries the sizes on HMC API
        4.1 and later. On older HMCs the sizes that are not known yet are
        read together in one more request (see HMC.get_many) and then
        kept (a resize through :meth:`resize` updates them).
        """
        own = self.refresh()
        with self._lock:
            missing = [p.uri for p in own.values()
                       if p.uri not in self._sizes]
        if missing:
            with hmc.translated('read partition sizes', self.cpc.name):
                found = self.hmc.get_many(missing)
            with self._lock:
                for uri, props in found.items():
                    if props is not None:
                        self._sizes[uri] = tuple(
                            props.get(p) or 0 for p in self.SIZE_PROPERTIES)
        procs = memory = 0
        with self._lock:
            for part in own.values():
                size = self._sizes.get(part.uri)
                if size is not None:
                    procs += size[0]
                    memory += size[1]
        return procs, memory

    # -- lifecycle -------------------------------------------------------

    def create(self, instance):
        """Create the partition of an instance from its flavor."""
        flavor = instance.flavor
        props = {
            'name': self.naming.name(instance.uuid),
            'description': self.naming.description(),
            'ifl-processors': flavor.vcpus,
            'initial-memory': flavor.memory_mb,
            'maximum-memory': flavor.memory_mb,
        }
        props.update(flavor_module.processor_properties(instance,
                                                        self.settings))
        with hmc.translated('create partition', props['name']):
            part = self.cpc.partitions.create(props)
        with self._lock:
            self._uris[instance.uuid] = part.uri
            self._status[instance.uuid] = 'stopped'
            self._sizes[part.uri] = (flavor.vcpus, flavor.memory_mb)
            self._record_change(instance.uuid)
        LOG.info('Created partition %s (%d IFLs, %d MiB).', props['name'],
                 flavor.vcpus, flavor.memory_mb, instance=instance)
        return part

    def update(self, partition, properties, deadline=None):
        """Update Partition Properties; asked again while it is busy.

        A busy partition (409,2, HMC rule A3) is asked again within
        ``deadline`` (default: [dpm] hmc_operation_timeout from now).
        """
        deadline = deadline or self._deadline()
        with hmc.translated('update partition', partition.name):
            hmc.retry_while_busy(
                lambda: partition.update_properties(properties), deadline,
                'update partition %s' % partition.name)

    def resize(self, partition, properties, stop=False):
        """Set the processors and memory of a stopped partition.

        ``properties``: ifl-processors, initial-memory and maximum-memory,
        in one update (maximum-memory changes only while the partition is
        stopped, HMC rule D1; the initial memory never exceeds the
        maximum, HMC rule C11). With ``stop``, the partition is stopped
        first. No request when the size is already so.
        """
        size = (properties['ifl-processors'], properties['initial-memory'])
        with self._lock:
            if self._sizes.get(partition.uri) == size:
                return
        if stop:
            self.stop(partition)
        self.update(partition, properties)
        with self._lock:
            self._sizes[partition.uri] = size
        LOG.info('Partition %s now has %d IFLs and %d MiB.', partition.name,
                 size[0], size[1])

    def _deadline(self):
        """The time limit of one start, stop or delete, all steps in."""
        return hmc.Deadline(self.settings.hmc_operation_timeout)

    def start(self, partition):
        """Start and wait until active or degraded; return the status."""
        try:
            with hmc.translated('start partition', partition.name):
                return self._start(partition, self._deadline())
        finally:
            self._cache_status(partition)

    def _start(self, partition, deadline):
        """Optimistic start.

        The start is requested without reading the status first. If the
        HMC refuses it for the partition's state, the status decides:
        already running is success; paused or terminated is stopped first
        (the HMC only starts a stopped partition); a transition is waited
        out. A start job that fails is checked against the CPC's free
        resources, so that a shortage is reported as such.
        """
        for attempt in range(1, LOST_JOB_ATTEMPTS + 1):
            try:
                job = partition.start(wait_for_completion=False)
            except zhmcclient.HTTPError as exc:
                if exc.http_status != 409:
                    raise
                status = self._after_transition(partition, deadline)
                if status in RUNNING:
                    return status
                if status in STOPPABLE:
                    self._stop(partition, deadline)
                job = partition.start(wait_for_completion=False)
            try:
                ended = self.hmc.wait_for_job(
                    job, 'start of %s' % partition.name, deadline)
            except zhmcclient.HTTPError as exc:
                self._check_resources(partition,
                                      hmc.describe_error(exc))
                raise
            if ended is not None or attempt == LOST_JOB_ATTEMPTS or \
                    self._after_transition(partition, deadline) != 'stopped':
                break
            # The HMC restarted and forgot the job before the start took
            # effect.
            LOG.warning('Partition %s is still stopped after the HMC lost '
                        'its start job; starting it again.', partition.name)
        return self._wait_started(partition, deadline, ended)

    def _wait_started(self, partition, deadline, ended_job=None):
        """After the start job: wait until active or degraded (Started).

        The first status query deletes the ended start job (``ended_job``)
        in the same round trip.
        """
        return hmc.wait_until(Started(self, partition, ended_job),
                              deadline)

    START_FAILURES = {
        'paused': 'the operating system did not boot (check the boot volume '
                  'and the partition messages on the HMC)',
        'terminated': 'the operating system ended abnormally while booting '
                      '(check the partition messages on the HMC)',
        'reservation-error': 'the CPC could not give the partition its '
                             'processors, memory or storage (check the '
                             'CPC\'s free memory, the processors dedicated '
                             'to other partitions and the storage group)',
        'stopped': 'it stopped again (check the partition on the HMC)',
        None: 'the partition is gone',
    }

    def _start_failed(self, partition, status):
        raise exception.HMCOperationFailed(
            operation='start partition', target=partition.name,
            reason='the partition ended in status %r instead of active: %s' %
                   (status, self.START_FAILURES[status]))

    def _check_resources(self, partition, seen):
        """Raise CPCResourcesShort if the CPC lacks what the start needs.

        Called after a start failed (``seen``: how). The HMC's answer does
        not say which resource was short (its documentation leaves open
        whether a shortage fails the start job or ends in
        'reservation-error'), so the partition's size is compared with the
        CPC's free memory (storage-customer-available) and its processor
        counts, in one round trip. Nothing is raised when nothing is found
        short, or when that reading fails: the caller reports the failure
        as it was.
        """
        cpc_uri = self.cpc.uri
        try:
            with hmc.translated('read resources', partition.name):
                found = self.hmc.get_many([partition.uri, cpc_uri])
        except exception.DPMError as exc:
            LOG.debug('Could not read the resources of %s after a failed '
                      'start: %s', partition.name, exc)
            return
        part = found.get(partition.uri) or {}
        cpc = found.get(cpc_uri) or {}
        short = []
        need = part.get('initial-memory') or 0
        free = cpc.get('storage-customer-available')
        if free is not None and need > free:
            short.append('memory: the partition needs %d MiB, the CPC has '
                         '%d MiB free' % (need, free))
        for prop, cpc_prop, unit in SIZE_NEEDS:
            need = part.get(prop) or 0
            have = cpc.get(cpc_prop)
            if have is not None and need > have:
                short.append('%s: the partition has %d, the CPC only %d' %
                             (unit, need, have))
        if short:
            raise exception.CPCResourcesShort(
                operation='start partition', target=partition.name,
                reason='%s (the start ended with %s)' % (
                    '; '.join(short), seen),
                http_status=409)

    def stop(self, partition):
        """Stop and wait until stopped; a stopped partition is success."""
        try:
            with hmc.translated('stop partition', partition.name):
                self._stop(partition, self._deadline())
        finally:
            self._cache_status(partition)

    def _gone(self, exc, partition):
        """Whether a request on ``partition`` failed as it is gone.

        ``exc``, an HTTPError: 404, the partition was deleted on the HMC
        (True; no longer cached); 409, it is busy or in the wrong status
        (False); any other error is raised again.
        """
        if exc.http_status == 404:
            self._uncache(partition)
            return True
        if exc.http_status != 409:
            raise exc
        return False

    def _stop(self, partition, deadline):
        """Stop until the partition is stopped; a stop may need repeating.

        A stop can end in 'terminated' as well as in 'stopped' (HMC rule
        E4; zhmc-ansible-modules' stop_partition then stops again). A
        terminated partition is stopped again, at most STOP_ATTEMPTS times
        in all, within the one deadline.
        """
        for attempt in range(1, STOP_ATTEMPTS + 1):
            try:
                job = partition.stop(wait_for_completion=False)
            except zhmcclient.HTTPError as exc:
                if self._gone(exc, partition):
                    # Deleted on the HMC: nothing is left to stop.
                    return
                status = self._after_transition(partition, deadline)
                if status in DELETABLE or status is None:
                    return
                job = partition.stop(wait_for_completion=False)
            ended = self.hmc.wait_for_job(job, 'stop of %s' % partition.name,
                                          deadline)
            # A job the HMC lost in a restart: whatever the stop came to.
            wanted = DELETABLE + ('terminated',) if ended else \
                tuple(set(POWER_STATES) - set(TRANSITIONAL))
            status = self.hmc.wait_for_status(
                partition, wanted, deadline, partition.name, discard=ended)
            if status is None:
                self._uncache(partition)
                return
            if status in DELETABLE:
                return
            LOG.warning('Partition %s is %s after a stop (attempt %d of %d); '
                        'stopping it again.', partition.name, status,
                        attempt, STOP_ATTEMPTS)
        raise exception.HMCOperationFailed(
            operation='stop partition', target=partition.name,
            reason='the partition was still terminated after %d stops '
                   '(check the partition on the HMC)' % STOP_ATTEMPTS)

    def shutdown(self, partition, timeout, retry_interval=0):
        """Ask the guest OS to shut down; stop hard if it does not."""
        try:
            with hmc.translated('shut down partition', partition.name):
                self._shutdown(partition, timeout, retry_interval)
        finally:
            self._cache_status(partition)

    def _shutdown(self, partition, timeout, retry_interval):
        """Graceful stop with a hard stop as the last resort.

        The command is sent through the HMC's operating-system message
        interface and re-sent every ``retry_interval`` seconds (if > 0).
        The partition counts as shut down when it is stopped, or paused or
        terminated (a Linux that halts itself stops its CPUs: the partition
        is then stopped hard, which is immediate). After ``timeout``
        seconds the partition is stopped hard, within the usual
        [dpm] hmc_operation_timeout. The graceful wait and the hard stop
        share one poll budget.
        """
        command = self.settings.guest_shutdown_command
        # List OS Messages needs SE 2.14.0: without it, no console check.
        grace = (self.settings.guest_console_grace_period
                 if self.hmc.capabilities.can(capabilities.OS_MESSAGES)
                 else 0)
        console = ConsoleWatch(partition, command, grace)
        try:
            partition.send_os_command(command)
        except zhmcclient.HTTPError as exc:
            if exc.http_status != 409:
                raise
            # The OS is not running: nothing to ask; stop hard.
            self._stop(partition, self._deadline())
            return
        LOG.info('Asked the operating system of %s to shut down (%r); '
                 'waiting up to %d s.', partition.name, command, timeout)
        graceful = hmc.Deadline(timeout)
        wait = ShutDown(self, partition, command, retry_interval, console)
        try:
            status = hmc.wait_until(wait, graceful)
        except exception.HMCTimeout:
            LOG.warning('The operating system of %s did not shut down '
                        'within %d s; stopping the partition.',
                        partition.name, timeout)
            status = None
            stop = True
        else:
            if wait.refused:
                LOG.warning('The operating system of %s did not take the '
                            'shutdown command: %s; stopping the partition '
                            'now instead of after %d s.', partition.name,
                            wait.refused, timeout)
            stop = status is not None and status not in DELETABLE
        if stop:
            self._stop(partition, hmc.Deadline(
                self.settings.hmc_operation_timeout,
                budget=graceful.budget))

    def os_messages(self, partition, max_bytes):
        """The newest operating-system messages, as bytes, newest last."""
        with hmc.translated('list OS messages', partition.name):
            result = partition.list_os_messages()
        if isinstance(result, dict):
            result = result.get('os-messages') or []
        result = sorted(result, key=lambda m: m.get('sequence-number', 0))
        text = ''.join('%s\n' % (m.get('message-text') or '').rstrip('\n')
                       for m in result)
        data = text.encode('utf-8', 'replace')
        return data[-max_bytes:] if len(data) > max_bytes else data

    def psw_restart(self, instance_uuid, partition):
        """PSW restart (starts kdump in a Linux guest); running only."""
        with hmc.translated('PSW restart', partition.name):
            try:
                job = partition.psw_restart(wait_for_completion=False)
            except zhmcclient.HTTPError as exc:
                if exc.http_status != 409:
                    raise
                raise nova_exception.InstanceNotRunning(
                    instance_id=instance_uuid)
            ended = self.hmc.wait_for_job(
                job, 'PSW restart of %s' % partition.name, self._deadline())
            self.hmc.discard_job(ended)

    def _after_transition(self, partition, deadline):
        """Wait out a starting/stopping transition; return the status.

        None: the partition is gone.
        """
        status = self.status(partition)
        if status in TRANSITIONAL:
            status = self.hmc.wait_for_status(
                partition, set(POWER_STATES) - set(TRANSITIONAL),
                deadline, partition.name)
            if status is None:
                self._uncache(partition)
        return status

    def delete(self, instance_uuid, partition):
        """Stop if needed and delete. A partition already gone is success.

        Optimistic: the delete is tried first (a stopped partition goes in
        one request); only a 409 costs a stop.
        """
        with hmc.translated('delete partition', partition.name):
            try:
                partition.delete()
            except zhmcclient.HTTPError as exc:
                if self._gone(exc, partition):
                    return
                self._stop(partition, self._deadline())
                try:
                    partition.delete()
                except zhmcclient.HTTPError as exc2:
                    if exc2.http_status != 404:
                        raise
        self._uncache(partition)
        LOG.info('Deleted partition %s.', partition.name)


class Started(hmc.Wait):
    """After a start job: the partition's status until active or degraded.

    The status can lag behind the job (HMC rule E3: zhmcclient's
    Partition.start says it may still read 'paused' for a few seconds, and
    waits up to its status timeout for 'active'). The driver also
    tolerates a lagging 'stopped' or 'terminated' (an inferred reading,
    see the known limitations), so those count as the outcome only once
    they have lasted the partitions' ``start_grace`` seconds (zhmcclient's
    status timeout), within the operation's deadline. reservation-error
    (the CPC lacks processors or memory, or the storage is not ready) ends
    the wait at once, as does a partition that is gone. ``ended_job`` is
    deleted with the first status read that is answered.
    """

    wanted = 'active or degraded'

    def __init__(self, partitions, partition, ended_job=None):
        self.partitions = partitions
        self.partition = partition
        self.what = partition.name
        self.discard = self.job_uri = ended_job
        # Since when the status has been one of LAGGING_START_STATUSES.
        self.lagging_since = None
        # Where notifications are up, a status notified since the start
        # job's wait began counts as read (nova_dpm.hmc.pushed).
        self.told = partitions.hmc.told
        self.told_grace = hmc.STATUS_GRACE if ended_job else None

    def told_value(self):
        return self.told.told_status(self, self.partition,
                                     self.partitions.hmc)

    def read(self):
        status = self.partitions.status(self.partition, discard=self.discard)
        self.discard = None
        return status

    def done(self, status):
        if status in RUNNING:
            return True
        failed = self.partitions._start_failed
        if status == 'reservation-error':
            self.partitions._check_resources(self.partition,
                                             "status 'reservation-error'")
            failed(self.partition, status)
        if status is None:
            failed(self.partition, status)
        if status not in LAGGING_START_STATUSES:
            self.lagging_since = None
            return False
        if self.lagging_since is None:
            self.lagging_since = time.monotonic()
        if time.monotonic() - self.lagging_since >= \
                self.partitions.start_grace:
            failed(self.partition, status)
        return False


class ShutDown(hmc.Wait):
    """A graceful stop: the status until the operating system is down.

    The partition counts as shut down when it is stopped, or paused or
    terminated (SHUT_DOWN), or gone. The shutdown ``command`` is re-sent
    every ``retry_interval`` seconds (if > 0). A console that does not
    take the command (``console``, a :class:`ConsoleWatch`) ends the wait
    early; ``refused`` then says why.
    """

    wanted = 'a shutdown (%s)' % ', '.join(SHUT_DOWN)

    def __init__(self, partitions, partition, command, retry_interval,
                 console):
        self.partitions = partitions
        self.partition = partition
        self.what = partition.name
        self.command = command
        self.retry_interval = retry_interval
        self.console = console
        self.resend_at = (time.monotonic() + retry_interval
                          if retry_interval > 0 else None)
        self.refused = None

    def read(self):
        if self.resend_at is not None and time.monotonic() >= self.resend_at:
            self.resend_at = time.monotonic() + self.retry_interval
            self._resend()
        status = self.partitions.status(self.partition)
        if status is not None and status not in SHUT_DOWN and \
                not self.refused:
            # A console nobody reads (or a login prompt) never runs the
            # command: stop hard now, not after the timeout.
            self.refused = self.console.refusal()
        return status

    def _resend(self):
        try:
            self.partition.send_os_command(self.command)
        except zhmcclient.HTTPError as exc:
            # 409: the operating system no longer takes commands (it went
            # down between two polls) or the HMC is busy: the status read
            # tells, and the next re-send is due after another retry
            # interval.
            if exc.http_status != 409:
                raise

    def done(self, status):
        return status is None or status in SHUT_DOWN or bool(self.refused)


class ConsoleWatch(object):
    """Tells early whether the guest's console took a shutdown command.

    The command goes to the partition's operating-system messages console
    (the SCLP line-mode terminal). Something in the guest must read that
    console and run the command (see the guest image guide); a stock Linux
    runs a login prompt there instead, and then every graceful stop would
    wait the whole shutdown timeout.

    Created before the command is sent, it notes the newest message
    sequence number. Within ``grace`` seconds after the command,
    :meth:`refusal` reads the messages that came after (at most one List
    OS Messages request a second) and names the reason when the console
    asks for a login or password (the command was taken as a user name)
    or when nothing but the command's echo came (nothing acts on the
    console). Any other message counts as a reaction. After the grace
    period, with ``grace`` 0, or when the HMC cannot list the messages
    (SE before 2.14), it never objects.
    """

    PROMPT = re.compile(r'(login|password)\s*:\s*$', re.IGNORECASE)
    READ_EVERY = 1.0

    def __init__(self, partition, command, grace):
        self.partition = partition
        self.command = ' '.join(command.split())
        self.grace = None
        self.grace_seconds = grace
        self.next_read = 0.0
        self.since = -1
        if grace > 0:
            try:
                self.since = max(
                    [-1] + [m.get('sequence-number', 0)
                            for m in self._messages()])
            except zhmcclient.Error as exc:
                # No verdict without the console: the graceful stop goes
                # on as usual.
                self._unreadable(exc)
            else:
                self.grace = hmc.Deadline(grace)

    def _messages(self, **kwargs):
        result = self.partition.list_os_messages(**kwargs)
        if isinstance(result, dict):
            result = result.get('os-messages') or []
        return result

    def _unreadable(self, exc):
        LOG.debug('Cannot read the console of %s: %s', self.partition.name,
                  hmc.describe_error(exc))

    def refusal(self):
        """The reason the command was not taken, or None (no verdict)."""
        if self.grace is None or time.monotonic() < self.next_read:
            return None
        last_chance = not self.grace.remaining()
        self.next_read = time.monotonic() + self.READ_EVERY
        try:
            messages = self._messages(begin=self.since + 1)
        except zhmcclient.Error as exc:
            self._unreadable(exc)
            self.grace = None
            return None
        texts = [(m.get('message-text') or '').rstrip('\n')
                 for m in messages
                 if m.get('sequence-number', 0) > self.since]
        # The console's echo of the command is no reaction.
        texts = [t for t in texts
                 if t.strip() and ' '.join(t.split()) != self.command]
        if any(self.PROMPT.search(t) for t in texts):
            self.grace = None
            return ('its console shows a login prompt, so the command was '
                    'taken as a user name (the guest must run a command '
                    'listener on the console, see the guest image guide)')
        if texts:
            self.grace = None     # the guest reacted: wait as usual
            return None
        if last_chance:
            self.grace = None
            return ('nothing but the command\'s echo came on its console '
                    'within %d s ([dpm] guest_console_grace_period), so no '
                    'program acts on the console' % self.grace_seconds)
        return None
