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

"""The strict simulated HMC.

:class:`SimulatedHmc` sits in front of the faked HMC of ``zhmcclient.mock``
(its resource tree and its URI handler) and makes it behave like a real HMC
where the mock is lenient.  The rules it enforces are described, with
their sources, in doc/source/contributor/hmc-rules.rst and cited below by
id, e.g. "HMC rule C3".

It has one entry point, :meth:`SimulatedHmc.request`, which knows nothing
about the transport: :class:`~nova_dpm.simulator.session.SimulatedSession`
calls it for zhmcclient, and an HTTP server can call it for real clients.
A request goes through these steps:

1. fault injection check (:meth:`inject_fault`);
2. per-request latency (``time.sleep`` outside any lock, so concurrent
   requests overlap);
3. request accounting (:attr:`requests`, :meth:`count`);
4. under a lock: advance due start/stop transitions (and guest
   shutdowns and PSW restarts, see guest.py), strict validation,
   the operation itself (own handler or the mock's URI handler),
   post-processing; the result is deep-copied before the lock is released;
5. for an asynchronous operation with ``wait_for_completion=True``: wait
   (outside the lock) until its job has ended and return the job's result.
"""

import copy
import fnmatch
import itertools
import re
import threading
import time
import uuid

import zhmcclient
from zhmcclient.mock._urihandler import FakedConnectionError
from zhmcclient.mock._urihandler import FakedHTTPError
from zhmcclient.mock._urihandler import UriHandler
from zhmcclient.mock._urihandler import URIS

from nova_dpm.simulator import ascii_console
from nova_dpm.simulator import crypto
from nova_dpm.simulator import errors
from nova_dpm.simulator import guest
from nova_dpm.simulator import jobs
from nova_dpm.simulator import metrics
from nova_dpm.simulator import network
from nova_dpm.simulator import partitions
from nova_dpm.simulator import resources
from nova_dpm.simulator import san as san_module
from nova_dpm.simulator import storage
from nova_dpm.simulator import versions

# The HMC's Submit Requests operation (the aggregation service).
AGGREGATION_PATH = '/api/services/aggregation/submit'

FAULT_KINDS = ('connection', 'http500', 'busy', 'timeout')

# Real-HMC behaviour that can be switched per test (SimulatedHmc.configure)
# or per HMC definition (a top-level ``simulator:`` section, see
# session.py); jobs.py describes each with its sources.
SETTINGS = {
    # Stops in a row of each partition that end in 'terminated'.
    'terminated_stops': 0,
    # Seconds the status lags behind an ended start job ...
    'start_status_lag': 0.0,
    # ... reading this status meanwhile: zhmcclient Partition.start
    # names 'paused'.
    'start_lag_status': 'paused',
    # How a start beyond the CPC's free resources fails.
    'start_shortage': 'auto',
}
_SETTING_CHOICES = {
    'start_lag_status': ('stopped', 'paused', 'terminated'),
    'start_shortage': ('auto', 'job', 'status'),
}


def check_settings(settings):
    """Validate simulator settings; ValueError names the bad one."""
    for name, value in settings.items():
        if name not in SETTINGS:
            raise ValueError("Unknown simulator setting %r; valid settings: "
                             "%s" % (name, ', '.join(sorted(SETTINGS))))
        choices = _SETTING_CHOICES.get(name)
        if choices is not None:
            if value not in choices:
                raise ValueError("Simulator setting %s must be one of %s, "
                                 "not %r" % (name, ', '.join(choices), value))
        elif isinstance(value, bool) or \
                not isinstance(value, (int, float)) or value < 0:
            raise ValueError("Simulator setting %s must be a number >= 0, "
                             "not %r" % (name, value))


# Segments that end with "s" but are not collections, and segments that
# follow a collection name but are not object ids.
_NOT_COLLECTIONS = frozenset(('operations', 'services', 'metrics'))
_NOT_IDS = frozenset(('operations', 'this-session'))


def uri_pattern(uri):
    """Return the accounting pattern of a URI.

    The query string is dropped and each object id (the segment that follows
    a collection name such as ``partitions`` or ``hbas``) becomes ``{id}``:
    ``/api/partitions/42/hbas/7?x=1`` -> ``/api/partitions/{id}/hbas/{id}``.
    """
    path = uri.split('?', 1)[0]
    out = []
    prev = ''
    for seg in path.split('/'):
        is_id = seg and seg not in _NOT_IDS and (
            (prev.endswith('s') and prev not in _NOT_COLLECTIONS) or
            prev == 'context')
        out.append('{id}' if is_id else seg)
        prev = '{id}' if is_id else seg
    return '/'.join(out)


def _split(method, pattern):
    """Accept 'GET /api/x' as pattern too (method taken from it)."""
    if pattern is not None and ' ' in pattern:
        word, rest = pattern.split(' ', 1)
        if word.upper() in ('GET', 'POST', 'DELETE', 'PUT', '*'):
            if method is None or method == '*':
                method = word
            pattern = rest.strip()
    if method is not None:
        method = method.upper()
    return method, pattern


class _Request:
    """One request being processed (the handlers' view of it)."""

    def __init__(self, method, uri, body, wait_for_completion):
        self.method = method
        self.uri = uri
        self.path = uri.split('?', 1)[0]
        self.body = body
        self.wait_for_completion = wait_for_completion
        self.groups = ()
        self.err = errors.HmcErrorFactory(method, uri)


class _Fault:
    def __init__(self, kind, method, pattern, nth):
        self.kind = kind
        self.method = method
        self.pattern = pattern
        self.nth = nth
        self.seen = 0

    def matches(self, method, pattern):
        if self.method not in (None, '*') and self.method != method:
            return False
        return (pattern == self.pattern or
                fnmatch.fnmatchcase(pattern, self.pattern))


def _routes():
    """(method, path regex, handler) of the operations we handle ourselves.

    Anything else goes straight to the mock's URI handler.
    """
    p = r'/api/partitions/([^/?]+)'
    sg = r'/api/storage-groups/([^/?]+)'
    vs = r'/api/virtual-switches/([^/?]+)'
    table = [
        ('POST', r'/api/cpcs/([^/?]+)/partitions', partitions.create),
        ('POST', p, partitions.update),
        ('DELETE', p, partitions.delete),
        ('POST', p + '/operations/start', partitions.start),
        ('POST', p + '/operations/stop', partitions.stop),
        ('POST', p + '/operations/send-os-cmd', guest.send_os_cmd),
        ('GET', p + '/operations/list-os-messages', guest.list_os_messages),
        ('POST', p + '/operations/psw-restart', guest.psw_restart),
        ('POST', p + '/operations/' + ascii_console.OPERATION,
         ascii_console.get_uri),
        ('POST', p + '/operations/increase-crypto-configuration',
         crypto.increase),
        ('POST', p + '/hbas', partitions.hba_create),
        ('POST', p + r'/hbas/([^/?]+)', partitions.hba_update),
        ('DELETE', p + r'/hbas/([^/?]+)', partitions.hba_delete),
        ('POST', p + r'/hbas/([^/?]+)/operations/'
         r'reassign-storage-adapter-port', partitions.hba_reassign),
        ('POST', p + '/nics', partitions.nic_create),
        ('POST', p + r'/nics/([^/?]+)', partitions.nic_update),
        ('DELETE', p + r'/nics/([^/?]+)', partitions.nic_delete),
        ('POST', p + '/operations/attach-storage-group', storage.attach),
        ('POST', p + '/operations/detach-storage-group', storage.detach),
        ('POST', r'/api/storage-groups', storage.sg_create),
        ('POST', sg + '/operations/modify', storage.sg_modify),
        ('POST', sg + '/operations/delete', storage.sg_delete),
        ('GET', sg + '/operations/get-partitions', storage.sg_partitions),
        ('POST', sg + '/operations/add-candidate-adapter-ports',
         storage.sg_add_ports),
        ('POST', sg + '/operations/remove-candidate-adapter-ports',
         storage.sg_remove_ports),
        ('POST', sg + r'/storage-volumes/([^/?]+)/operations/'
         r'fulfill-fcp-storage-volume', storage.sv_fulfill),
        ('POST', sg + '/operations/start-fcp-storage-discovery',
         storage.sg_discover),
        ('POST', sg + '/operations/accept-mismatched-storage-volumes',
         storage.sg_accept_mismatched),
        ('GET', sg + '/operations/get-connection-report',
         storage.sg_connection_report),
        ('POST', sg + r'/virtual-storage-resources/([^/?]+)',
         storage.vsr_update),
        ('GET', vs + '/operations/get-connected-vnics',
         network.get_connected_vnics),
        ('POST', vs + '/operations/get-connected-vnics',
         network.post_connected_vnics),
        ('GET', r'/api/adapters/([^/?]+)/operations/'
         r'get-partitions-assigned-to-adapter', network.assigned_partitions),
        ('POST', metrics.CONTEXT_PATH, metrics.create),
        ('GET', metrics.CONTEXT_PATH + r'/([^/?]+)', metrics.get),
        ('DELETE', metrics.CONTEXT_PATH + r'/([^/?]+)', metrics.delete),
        ('GET', r'/api/jobs/([^/?]+)', jobs.query),
        ('DELETE', r'/api/jobs/([^/?]+)', jobs.delete),
        ('POST', r'/api/jobs/([^/?]+)/operations/cancel', jobs.cancel),
    ]
    return [(m, re.compile('^' + rx + '$'), h) for m, rx, h in table]


class SimulatedHmc:
    """A strict, thread-safe simulated HMC on top of zhmcclient's mock.

    :param faked_hmc: the ``zhmcclient.mock.FakedHmc`` holding the resources
        (``FakedSession.hmc``).
    :param latency: seconds added to every request.
    :param transition_time: seconds that a partition start or stop takes.
    :param restart_time: seconds that a PSW restart takes (None: the
        transition time).
    :param san: the storage area network behind the FCP adapters
        (san.San; None: an empty one).
    """

    def __init__(self, faked_hmc, latency=0.0, transition_time=0.0,
                 restart_time=None, san=None):
        self.faked = faked_hmc
        self.latency = latency
        self.transition_time = transition_time
        self.restart_time = restart_time
        self._urihandler = UriHandler(URIS)
        # False: behave like an HMC without the aggregation service (Submit
        # Requests), which answers its URI with 404.
        self.aggregation = True
        self._routes = _routes()
        # The big lock: all state of the faked HMC is read and changed
        # under it.
        self.lock = threading.RLock()
        # A small lock for accounting and faults, so that requests that
        # wait for their latency do not hold the big lock.
        self._acct_lock = threading.Lock()
        # Requests the HMC makes to itself (the aggregation service answers
        # Submit Requests by running the inner requests) are not requests
        # of the client: they are neither counted, delayed nor faulted.
        self._inner = threading.local()
        self._requests = []
        # The bodies as the client sent them: (method, uri, body).
        self._sent = []
        self._faults = []
        self.fired_faults = []
        # Start/stop transitions: partition URI -> dict(kind, job_id, end).
        self.transitions = {}
        # Jobs: job id -> dict (see jobs.py).
        self.jobs = {}
        # One-shot start outcomes forced by tests: partition URI -> status.
        self.forced_start_outcomes = {}
        # The same for stops.
        self.forced_stop_outcomes = {}
        # Real-HMC behaviour switches (SETTINGS, configure()).
        self.settings = dict(SETTINGS)
        # Stops in a row that ended 'terminated': partition URI -> count.
        self.terminated_stops = {}
        # Statuses lagging behind an ended start job: partition URI ->
        # dict(end, status).
        self.lagging = {}
        # Storage volume details the mock has no place for
        # (element-uri -> dict(wwpn, lun, adapter-port-uri)).
        self.volume_targets = {}
        # The SAN (san.py), FCP storage discoveries in progress
        # (storage group URI -> dict(job, end)) and when each group's next
        # periodic discovery is due (storage group URI -> time).
        self.san = san if san is not None else san_module.San()
        self.discoveries = {}
        self.discovery_due = {}
        # When each group's last discovery ended (storage group URI ->
        # HMC timestamp), for its connection report.
        self.last_scans = {}
        # Ports that validated WWPNs were found on, kept when the WWPN
        # goes back to its group's unassigned WWPNs (WWPN -> port URI).
        self.wwpn_ports = {}
        # The guest OS of each partition: partition URI -> guest.Guest,
        # and the settings of guests that tests did not configure.
        self.guests = {}
        self.guest_defaults = dict(guest.DEFAULTS)
        self._serial = itertools.count(1)
        # Restarts of the HMC (restart(), restart_after()): those due after
        # a matching request, the time until which a restarting HMC
        # answers nothing (in-process), what is told of each restart (the
        # HTTPS front end: it drops the sessions and the connections), and
        # how many there were.
        self._restart_triggers = []
        self._down_until = 0.0
        self.restart_listeners = []
        self.restarts = 0
        # Who is told of every change of state (notify.ChangeWatch: the
        # object notifications of the STOMP broker, stomp.py).
        self.watchers = []
        # The metrics service (metrics.py): how long each partition ran,
        # the values the last Get Metrics answered ((group, resource URI)
        # -> {metric: value}), and metric groups a test took away from
        # this HMC.
        self.meter = metrics.Meter()
        self.metrics_served = {}
        self.metric_groups_removed = set()
        # The console WebSockets handed out (ascii_console.py: URI ->
        # state) and what serves them: the HTTPS front end, or an
        # ascii_console.ConsoleServer started for the in-process HMC.
        self.ascii_consoles = {}
        self.console_endpoint = None

    # ------------------------------------------------------------------
    # Clock and generated values
    # ------------------------------------------------------------------

    @staticmethod
    def now():
        return time.monotonic()

    def serial(self):
        """A number unique within this simulated HMC."""
        return next(self._serial)

    def new_wwpn(self):
        """A WWPN as a real HMC shows it: 16 lower-case hex (HMC rule G3)."""
        return 'c05076ff%08x' % (0xe6800000 + self.serial())

    def new_mac(self):
        n = self.serial()
        return '02:00:00:%02x:%02x:%02x' % (
            (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff)

    @staticmethod
    def new_id():
        """An object or element id, a UUID like a real HMC's."""
        return str(uuid.uuid4())

    new_job_id = new_id

    # ------------------------------------------------------------------
    # Request accounting
    # ------------------------------------------------------------------

    @property
    def requests(self):
        """List of (method, pattern) of the requests seen so far."""
        with self._acct_lock:
            return list(self._requests)

    def count(self, method=None, pattern=None):
        """Number of requests matching method and pattern (exact/fnmatch).

        ``pattern`` may also be given as 'METHOD /api/...'.
        """
        method, pattern = _split(method, pattern)
        if method == '*':
            method = None
        n = 0
        for m, p in self.requests:
            if method is not None and m != method:
                continue
            if pattern is not None and p != pattern and \
                    not fnmatch.fnmatchcase(p, pattern):
                continue
            n += 1
        return n

    def sent(self, method=None, pattern=None):
        """[(uri, body)] of the requests seen so far, as sent.

        ``method`` and ``pattern`` select as in :meth:`count`. The bodies
        are copies taken before the request was performed: what the client
        sent, not what the HMC made of it.
        """
        method, pattern = _split(method, pattern)
        with self._acct_lock:
            sent = list(self._sent)
        return [(uri, copy.deepcopy(body)) for m, uri, body in sent
                if (method in (None, '*') or m == method) and
                (pattern is None or fnmatch.fnmatchcase(
                    uri_pattern(uri), pattern))]

    def count_by_method(self):
        result = {}
        for m, _ in self.requests:
            result[m] = result.get(m, 0) + 1
        return result

    def reset_counts(self):
        with self._acct_lock:
            del self._requests[:]
            del self._sent[:]

    # ------------------------------------------------------------------
    # Fault injection
    # ------------------------------------------------------------------

    def inject_fault(self, kind, method, pattern, nth=1):
        """Make the nth matching request (counted from now) fail once.

        kind: 'connection' (zhmcclient.ConnectionError, not performed),
        'http500' (HTTPError 500,0, not performed), 'busy' (HTTPError 409,2,
        not performed), 'timeout' (zhmcclient.ReadTimeout; a POST or DELETE
        is performed first, as a real HMC may have done it; a GET is not).
        method: HTTP method, or '*' for any.  pattern: an accounting pattern
        such as '/api/partitions/{id}/operations/start' (exact or with
        fnmatch wildcards); 'POST /api/...' is accepted as well.
        """
        if kind not in FAULT_KINDS:
            raise ValueError("Unknown fault kind %r; valid kinds: %s"
                             % (kind, ', '.join(FAULT_KINDS)))
        if nth < 1:
            raise ValueError("nth must be >= 1")
        method, pattern = _split(method, pattern)
        with self._acct_lock:
            self._faults.append(_Fault(kind, method, pattern, nth))

    def clear_faults(self):
        with self._acct_lock:
            del self._faults[:]

    def _take_fault(self, method, pattern):
        with self._acct_lock:
            for fault in list(self._faults):
                if fault.matches(method, pattern):
                    fault.seen += 1
                    if fault.seen == fault.nth:
                        self._faults.remove(fault)
                        self.fired_faults.append(
                            (fault.kind, method, pattern))
                        return fault.kind
        return None

    @staticmethod
    def _fault_error(kind, method, uri):
        if kind == 'connection':
            return zhmcclient.ConnectionError(
                "Simulated connection failure for %s %s" % (method, uri),
                None)
        if kind == 'http500':
            return errors.http_error(
                method, uri, 500, 0,
                "Simulated internal server error")
        if kind == 'busy':
            return errors.http_error(
                method, uri, 409, errors.BUSY,
                "Simulated: the target object is busy performing another "
                "operation")
        return zhmcclient.ReadTimeout(
            "Simulated read timeout for %s %s" % (method, uri), None,
            read_timeout=0, read_retries=0)

    # ------------------------------------------------------------------
    # Restarts (HMC rule A12)
    # ------------------------------------------------------------------

    def restart(self, down=0.0, lose_operations=False):
        """The HMC restarts now (a firmware update, a switch-over).

        It forgets every job, ended or not, and every session (the HTTPS
        front end drops those and refuses connections for ``down``
        seconds; in process, every request fails with a ConnectionError
        meanwhile). The CPC does not restart: the starts, stops and FCP
        storage discoveries under way go on. [inferred] With
        ``lose_operations`` the starts and stops under way are lost
        instead (the harsher reading): the partition keeps the status it
        had before.
        """
        with self.lock:
            self.jobs.clear()
            # HMC rule Q3: the metrics contexts are gone too.
            for context in list(self.faked.metrics_contexts.list()):
                self.faked.metrics_contexts.remove(context.oid)
            if lose_operations:
                for uri, trans in list(self.transitions.items()):
                    del self.transitions[uri]
                    partition = self.lookup(uri)
                    if partition is not None:
                        partition.properties['status'] = trans['previous']
            self.restarts += 1
        if self.restart_listeners:
            for listener in list(self.restart_listeners):
                listener(down)
            return
        with self._acct_lock:
            self._down_until = self.now() + down

    def restart_after(self, method, pattern, down=0.0, nth=1,
                      lose_operations=False):
        """Restart once the nth matching request has been answered.

        See :meth:`restart`; requests are counted from now. ``pattern``
        as for :meth:`inject_fault`, e.g.
        ``'/api/partitions/{id}/operations/start'``.
        """
        if nth < 1:
            raise ValueError("nth must be >= 1")
        method, pattern = _split(method, pattern)
        with self._acct_lock:
            self._restart_triggers.append(
                (_Fault('restart', method, pattern, nth),
                 (down, lose_operations)))

    def _restart_if_due(self, method, pattern):
        due = None
        with self._acct_lock:
            for trigger in list(self._restart_triggers):
                fault, args = trigger
                if fault.matches(method, pattern):
                    fault.seen += 1
                    if fault.seen == fault.nth:
                        self._restart_triggers.remove(trigger)
                        due = args
                        break
        if due is not None:
            self.restart(*due)

    def _check_up(self, method, uri):
        with self._acct_lock:
            down = self._down_until > self.now()
        if down:
            raise zhmcclient.ConnectionError(
                "Simulated: the HMC is restarting and refuses the "
                "connection for %s %s" % (method, uri), None)

    # ------------------------------------------------------------------
    # The entry point
    # ------------------------------------------------------------------

    def request(self, method, uri, body=None, wait_for_completion=False,
                operation_timeout=None, origin=None):
        """Perform one HMC Web Services API request.

        Returns the response body (a deep copy; None for 204) or, for an
        asynchronous operation, ``{'job-uri': ...}`` (202).  With
        ``wait_for_completion=True`` an asynchronous operation is waited
        for and the job's result is returned (an HTTPError is raised if
        the job failed).  Errors are zhmcclient.HTTPError with an HMC error
        body, zhmcclient.ConnectionError or zhmcclient.ReadTimeout.
        ``origin``: the API session that made the request (the HTTPS
        front's session id), kept with the jobs it starts: their
        completion is notified to that session (HMC rule P6).
        """
        method = method.upper()
        if getattr(self._inner, 'depth', 0):
            return self._perform(_Request(method, uri, copy.deepcopy(body),
                                          wait_for_completion))
        pattern = uri_pattern(uri)
        self._check_up(method, uri)
        fault = self._take_fault(method, pattern)
        if fault is not None and (fault != 'timeout' or method == 'GET'):
            raise self._fault_error(fault, method, uri)

        if self.latency:
            time.sleep(self.latency)

        with self._acct_lock:
            self._requests.append((method, pattern))
            self._sent.append((method, uri, copy.deepcopy(body)))

        # The HMC never shares objects with its client: neither the body
        # given to it nor the result it returns.
        body = copy.deepcopy(body)
        req = _Request(method, uri, body, wait_for_completion)
        self._inner.origin = origin

        if fault == 'timeout':
            # The operation is performed, but the client never sees the
            # response.
            try:
                self._perform(req)
            except zhmcclient.HTTPError:
                pass
            raise self._fault_error(fault, method, uri)

        try:
            result = self._perform(req)
        finally:
            self._restart_if_due(method, pattern)
        if wait_for_completion and isinstance(result, dict) and \
                'job-uri' in result and jobs.is_async(req):
            result = jobs.wait(self, req, result['job-uri'],
                               operation_timeout)
        return result

    def origin(self):
        """The API session of the request under way (None: unknown)."""
        return getattr(self._inner, 'origin', None)

    def _perform(self, req):
        with self.lock:
            self._inner.depth = getattr(self._inner, 'depth', 0) + 1
            try:
                self.advance()
                result = self._dispatch(req)
                # With transition_time 0 a start or stop is over at once.
                self.advance()
            finally:
                self._inner.depth -= 1
            return copy.deepcopy(result)

    def _dispatch(self, req):
        if not self.aggregation and req.path == AGGREGATION_PATH:
            raise req.err.not_found("No such service: %s" % req.path)
        # What the HMC's API version (or the CPC's SE) does not have yet.
        versions.check(self, req)
        for method, regex, handler in self._routes:
            if method != req.method:
                continue
            m = regex.match(req.path)
            if m:
                req.groups = m.groups()
                return handler(self, req)
        return self.delegate(req)

    def delegate(self, req, body=None):
        """Perform the request with the mock's URI handler.

        ``body`` replaces the request body if given.  The mock's errors are
        converted to zhmcclient errors.
        """
        if body is None:
            body = req.body
        try:
            if req.method == 'GET':
                return self._urihandler.get(self.faked, req.uri, True)
            if req.method == 'POST':
                # The mock's handlers are all synchronous and assert this.
                return self._urihandler.post(self.faked, req.uri, body,
                                             True, True)
            if req.method == 'DELETE':
                return self._urihandler.delete(self.faked, req.uri, True)
        except FakedHTTPError as exc:
            raise zhmcclient.HTTPError(exc.response()) from None
        except FakedConnectionError as exc:
            raise zhmcclient.ConnectionError(exc.message, None) from None
        raise req.err.error(405, 0, "Method %s is not supported"
                            % req.method)

    # ------------------------------------------------------------------
    # Transitions and test helpers
    # ------------------------------------------------------------------

    def advance(self):
        """Finish the transitions and guest events that are due by now."""
        with self.lock:
            now = self.now()
            self.meter.update(self, now)
            jobs.advance(self, now)
            guest.advance(self, now)
            storage.advance(self, now)
            resources.refresh(self)
            # The statuses as they are now count from now on.
            self.meter.update(self, now)
            self._changed()

    def _changed(self):
        """Let the watchers see the state (under the lock)."""
        for watcher in list(self.watchers):
            watcher.check()

    def configure(self, **settings):
        """Switch real-HMC behaviour (see SETTINGS and jobs.py).

        ``terminated_stops`` (int): stops in a row of each partition that
        end in 'terminated'; ``start_status_lag`` (seconds) and
        ``start_lag_status`` ('stopped', 'paused', 'terminated'): the
        status read after a start job has ended; ``start_shortage``
        ('auto', 'job', 'status'): how a start beyond the CPC's free
        resources fails. ValueError names a bad setting.
        """
        check_settings(settings)
        with self.lock:
            self.settings.update(settings)

    def transition_ended(self, partition, kind, status):
        """Called by jobs.advance when a start or stop has ended."""
        guest.transition_ended(self, partition, kind, status)

    def complete_transitions(self):
        """Finish all start/stop transitions now (for tests).

        Guest shutdowns and PSW restarts in progress are finished too, as
        are statuses lagging behind ended start jobs.
        """
        with self.lock:
            for trans in self.transitions.values():
                trans['end'] = self.now()
            for lag in self.lagging.values():
                lag['end'] = self.now()
            guest.complete_all(self)
            self.advance()
            # A start that ended just now may have begun a status lag.
            for lag in self.lagging.values():
                lag['end'] = self.now()
            self.advance()

    def set_status(self, partition_uri, status):
        """Change a partition's status out of band (for tests).

        A start or stop in progress for the partition is abandoned; its job
        ends with 409,1.
        """
        with self.lock:
            partition = self.lookup(partition_uri)
            if partition is None or \
                    partition.manager.class_value != 'partition':
                raise ValueError("No partition %s" % partition_uri)
            jobs.abandon(self, partition_uri,
                         "The partition status was changed to %r while the "
                         "operation was in progress" % status)
            guest.interrupted(self, partition_uri)
            self.lagging.pop(partition_uri, None)
            self.meter.update(self, self.now())
            partition.properties['status'] = status
            self.meter.update(self, self.now())
            resources.refresh(self)
            self._changed()

    def force_start_outcome(self, partition_uri, status):
        """Make the next start of the partition end in ``status``.

        HMC rule E3: the outcome of a start is not deterministic on a real
        HMC (active, degraded, reservation-error, terminated, paused).
        """
        with self.lock:
            self.forced_start_outcomes[partition_uri] = status

    def force_stop_outcome(self, partition_uri, status):
        """Make the next stop of the partition end in ``status``.

        HMC rule E4: a stop ends in 'stopped' or 'terminated'.
        """
        if status not in ('stopped', 'terminated'):
            raise ValueError("A stop ends in 'stopped' or 'terminated', not "
                             "%r" % status)
        with self.lock:
            self.forced_stop_outcomes[partition_uri] = status

    # ------------------------------------------------------------------
    # The guest operating systems (guest.py), for tests
    # ------------------------------------------------------------------

    def _partition(self, partition_uri):
        partition = self.lookup(partition_uri)
        if partition is None or \
                partition.manager.class_value != 'partition':
            raise ValueError("No partition %s" % partition_uri)
        return partition

    def set_guest(self, partition_uri, honours_shutdown=True,
                  shutdown_outcome='paused', shutdown_delay=0.0,
                  kdump=True, console='listener', ascii_login=None):
        """Configure the guest OS of a partition.

        honours_shutdown: the guest acts on a shutdown command sent with
        Send OS Command ('shutdown -h now', 'poweroff', 'halt', ...); if
        False it only echoes it.  shutdown_outcome: the status the
        partition ends in ('paused', 'stopped' or 'terminated').
        shutdown_delay: seconds from the command to that status.  kdump:
        a PSW restart runs the crash kernel and the partition stays
        active; without it the partition ends 'terminated'.  console: what
        reads the OS messages console, 'listener' (the guest tools'
        command listener), 'login' (a getty: commands are taken as user
        name and password, never run) or 'none' (nothing: not even an
        echo).  ascii_login: 'user:password' of the account that the getty
        of the Integrated ASCII Console lets in (None: nobody;
        ascii_console.py).
        Partitions not configured here use :attr:`guest_defaults`.
        """
        settings = {'honours_shutdown': honours_shutdown,
                    'shutdown_outcome': shutdown_outcome,
                    'shutdown_delay': shutdown_delay, 'kdump': kdump,
                    'console': console, 'ascii_login': ascii_login}
        guest.check_settings(settings)
        with self.lock:
            self._partition(partition_uri)
            guest.get(self, partition_uri).settings = settings

    def set_guest_defaults(self, **settings):
        """Change the guest settings of partitions not set by set_guest."""
        guest.check_settings(settings)
        with self.lock:
            self.guest_defaults.update(settings)

    def os_messages(self, partition_uri):
        """The texts of the partition's OS messages, oldest first."""
        with self.lock:
            self.advance()
            self._partition(partition_uri)
            return guest.texts(guest.get(self, partition_uri))

    def add_os_message(self, partition_uri, text):
        """Let the partition's OS write a message (in any status)."""
        with self.lock:
            self.advance()
            self._partition(partition_uri)
            guest.log(self, guest.get(self, partition_uri), text)

    # ------------------------------------------------------------------
    # The SAN (san.py), for tests and their Cinder stand-in
    # ------------------------------------------------------------------

    def map_volume(self, initiators, targets, fcp_lun, size):
        """Map a volume to initiator WWPNs, as Cinder's FC driver does.

        The HMC sees the mapping at its next FCP storage discovery.
        """
        with self.lock:
            self.san.map_volume(initiators, targets, fcp_lun, size)

    def unmap_volume(self, initiators, targets, fcp_lun):
        with self.lock:
            self.san.unmap_volume(initiators, targets, fcp_lun)

    def discover_now(self):
        """Run the periodic FCP storage discovery of every group now."""
        with self.lock:
            for sg in self.storage_groups():
                storage.discover(self, sg)

    def lookup(self, uri):
        """The faked resource for a URI, or None."""
        try:
            return self.faked.lookup_by_uri(uri)
        except KeyError:
            return None

    def cpcs(self):
        return self.faked.cpcs.list()

    def storage_groups(self):
        return self.faked.consoles.console.storage_groups.list()

    def properties(self, uri):
        """A deep copy of the properties of the resource (for tests)."""
        with self.lock:
            self.advance()
            resource = self.lookup(uri)
            if resource is None:
                raise KeyError(uri)
            return copy.deepcopy(resource.properties)
