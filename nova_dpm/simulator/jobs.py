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

"""Partition start/stop transitions and asynchronous jobs.

HMC rules E2-E4 and F1-F4.  Start and Stop Partition return 202 with a
``job-uri``.  The partition is ``starting``/``stopping`` for
``SimulatedHmc.transition_time`` seconds.  Nothing runs in the background:
every request first finishes the transitions whose time is up
(:func:`advance`), so the state only moves when somebody looks.  Perform
PSW Restart has its own jobs, driven the same way by guest.py.

Real-HMC behaviour switched by the simulator's settings
(:meth:`SimulatedHmc.configure`, or a ``simulator:`` section in the HMC
definition):

* ``terminated_stops``: a stop can end in 'terminated' as well as in
  'stopped' (HMC rule E4; zhmc-ansible-modules module_utils/common.py,
  PART_STOPPING_END_STATUSES, whose stop_partition then stops again).
  That many stops in a row of each partition end in 'terminated'.
* ``start_status_lag`` / ``start_lag_status``: the status can lag behind
  the start job (HMC rule E3; zhmcclient Partition.start: "it still may
  show status paused"). For that many seconds after the job has ended the
  partition reads ``start_lag_status``: 'paused' by default, the status
  zhmcclient names ("it still may show status paused"); 'stopped' (the
  status before the start, no source) and 'terminated' on request.
* ``start_shortage``: a start beyond the CPC's free processors or memory
  (resources.py) fails. The sources leave open how: 'job' - the job fails
  (409, reason 0 [UNCERTAIN]) and the partition is stopped again;
  'status' - the job completes and the partition ends in
  'reservation-error' (HMC rule E3); 'auto' (default) [inferred] -
  'status' for a partition with reserve-resources true (whose status
  describes its reservation, HMC rule E1), 'job' otherwise.
"""

import copy
import time

import zhmcclient

from nova_dpm.simulator import crypto
from nova_dpm.simulator import errors
from nova_dpm.simulator import resources

JOBS_BASE = '/api/jobs/'


def is_async(req):
    """Only POST operations start jobs (Start/Stop Partition, PSW Restart)."""
    return req.method == 'POST'


def new_job(sim, req, end, cancelable=True):
    """Register a running job for the request; ``end``: when it is due."""
    job_id = sim.new_job_id()
    job = {
        'id': job_id,
        'uri': JOBS_BASE + job_id,
        'op-method': req.method,
        'op-uri': req.uri,
        'status': 'running',
        'end': end,
        'cancelable': cancelable,
        'status-code': None,
        'reason-code': None,
        'results': None,
        # The API session told of the job's completion (HMC rule P6).
        'origin': sim.origin(),
    }
    sim.jobs[job_id] = job
    return job


def finish(job, status_code, reason_code=0, message=None,
           status='complete'):
    job['status'] = status
    job['status-code'] = status_code
    job['reason-code'] = reason_code
    # HMC rule F2: job-results is null on success and {"message": ...} on
    # failure.
    job['results'] = None if status_code < 300 else {'message': message}


def begin(sim, req, partition, kind):
    """Put the partition into starting/stopping and return the 202 body."""
    end = sim.now() + sim.transition_time
    job = new_job(sim, req, end)
    previous = partition.properties.get('status')
    partition.properties['status'] = \
        'starting' if kind == 'start' else 'stopping'
    trans = {'kind': kind, 'job': job['id'], 'end': end,
             'previous': previous}
    if kind == 'start':
        trans['short'] = (resources.shortage(sim, partition) +
                          crypto.conflicts(sim, partition))
    sim.transitions[partition.uri] = trans
    return {'job-uri': job['uri']}


def advance(sim, now):
    """Finish all transitions (and status lags) whose end time has come."""
    for uri, lag in list(sim.lagging.items()):
        if lag['end'] <= now:
            del sim.lagging[uri]
            partition = sim.lookup(uri)
            if partition is not None:
                partition.properties['status'] = lag['status']
                sim.transition_ended(partition, 'start', lag['status'])
    for uri, trans in list(sim.transitions.items()):
        if trans['end'] > now:
            continue
        del sim.transitions[uri]
        job = sim.jobs.get(trans['job'])
        partition = sim.lookup(uri)
        if partition is None:
            if job:
                finish(job, 404, errors.NOT_FOUND,
                       "The partition no longer exists")
            continue
        if trans['kind'] == 'start':
            _end_start(sim, partition, trans, job, now)
            continue
        # HMC rule E4: stop ends in 'stopped' (or 'terminated').
        status = sim.forced_stop_outcomes.pop(uri, None)
        if status is None:
            done = sim.terminated_stops.get(uri, 0)
            if done < sim.settings['terminated_stops']:
                sim.terminated_stops[uri] = done + 1
                status = 'terminated'
            else:
                sim.terminated_stops.pop(uri, None)
                status = 'stopped'
        partition.properties['status'] = status
        # The guest OS model reacts (boot messages, see guest.py).
        sim.transition_ended(partition, trans['kind'], status)
        if job:
            # Start/Stop Partition has no response body: the job ends with
            # 204 (zhmcclient then returns None for the job result).
            finish(job, 204)


def _end_start(sim, partition, trans, job, now):
    props = partition.properties
    if trans.get('short'):
        mode = sim.settings['start_shortage']
        if mode == 'auto':
            mode = 'status' if props.get('reserve-resources') else 'job'
        message = ("Insufficient resources to start partition %s: %s"
                   % (props.get('name'), '; '.join(trans['short'])))
        if mode == 'job':
            props['status'] = trans['previous']
            sim.transition_ended(partition, 'start', trans['previous'])
            if job:
                finish(job, 409, 0, message)
            return
        sim.forced_start_outcomes.pop(partition.uri, None)
        status = 'reservation-error'
    else:
        status = sim.forced_start_outcomes.pop(partition.uri, None) or \
            start_outcome(sim, partition)
    lag = sim.settings['start_status_lag']
    if lag > 0 and status != 'reservation-error':
        # The job has ended; the status shows the outcome only later.
        props['status'] = sim.settings['start_lag_status']
        sim.lagging[partition.uri] = {'end': now + lag, 'status': status}
    else:
        props['status'] = status
        # The guest OS model reacts (boot messages, see guest.py).
        sim.transition_ended(partition, 'start', status)
    if job:
        finish(job, 204)


def settle_lag(sim, partition_uri):
    """The HMC acts on the partition's real status, not the lagging one."""
    lag = sim.lagging.pop(partition_uri, None)
    partition = sim.lookup(partition_uri)
    if lag is not None and partition is not None:
        partition.properties['status'] = lag['status']
        sim.transition_ended(partition, 'start', lag['status'])


def abandon(sim, partition_uri, message):
    """End the partition's transition (if any) with a failed job."""
    trans = sim.transitions.pop(partition_uri, None)
    if trans is None:
        return
    job = sim.jobs.get(trans['job'])
    if job is not None and job['status'] == 'running':
        finish(job, 409, errors.WRONG_STATE, message)


def start_outcome(sim, partition):
    """The status a partition reaches at the end of a start.

    HMC rules E3 and L1: a partition with a usable boot configuration
    becomes 'active'; a partition with nothing to boot (e.g. a linux
    partition with boot-device 'none') ends in 'paused'.
    """
    props = partition.properties
    device = props.get('boot-device', 'none')
    if props.get('type') == 'ssc':
        ok = True  # the SSC installer is always there to boot
    elif device == 'storage-adapter':
        # HMC rule D7
        hba = sim.lookup(props.get('boot-storage-device') or '')
        ok = (hba is not None and hba.manager.parent is partition and
              bool(props.get('boot-world-wide-port-name')) and
              bool(props.get('boot-logical-unit-number')))
    elif device == 'storage-volume':
        # HMC rules D8, L1
        sv = sim.lookup(props.get('boot-storage-volume') or '')
        ok = (sv is not None and
              sv.manager.class_value == 'storage-volume' and
              sv.manager.parent.uri in props.get('storage-group-uris', []) and
              sv.properties.get('usage') == 'boot' and
              sv.properties.get('fulfillment-state') == 'complete' and
              # [INFER] complete after Fulfill, but a LUN no path shows
              # cannot be loaded.
              bool(sv.properties.get('paths')))
    elif device == 'network-adapter':
        nic = sim.lookup(props.get('boot-network-device') or '')
        ok = nic is not None and nic.manager.parent is partition
    elif device in ('ftp', 'ftps', 'sftp'):
        ok = bool(props.get('boot-ftp-host'))
    elif device == 'removable-media':
        ok = bool(props.get('boot-removable-media'))
    elif device == 'iso-image':
        ok = bool(props.get('boot-iso-image-name'))
    else:
        ok = False
    return 'active' if ok else 'paused'


def _job_view(job):
    view = {'status': job['status']}
    if job['status'] != 'running':
        view['job-status-code'] = job['status-code']
        view['job-reason-code'] = job['reason-code']
        view['job-results'] = copy.deepcopy(job['results'])
    return view


def _job(sim, req):
    job = sim.jobs.get(req.groups[0])
    if job is None:
        raise req.err.not_found()
    return job


def query(sim, req):
    """Query Job Status (HMC rule F2)."""
    return _job_view(_job(sim, req))


def delete(sim, req):
    """Delete Completed Job Status (HMC rule F3)."""
    job = _job(sim, req)
    if job['status'] in ('running', 'cancel-pending'):
        raise req.err.conflict(
            errors.JOB_NOT_ENDED, "The job has not ended yet")
    del sim.jobs[job['id']]
    return None


def cancel(sim, req):
    """Cancel Job (HMC rule F4).

    Simplification: the cancel takes effect at once (no 'cancel-pending'
    phase); the partition goes back to the status it had before.
    """
    job = _job(sim, req)
    if not job.get('cancelable', True):
        raise req.err.not_found(
            "The operation of job %s does not support cancellation"
            % job['uri'], reason=errors.JOB_NOT_CANCELABLE)
    if job['status'] == 'cancel-pending':
        raise req.err.conflict(42, "A cancel is already pending")
    if job['status'] != 'running':
        raise req.err.conflict(errors.JOB_ENDED, "The job has already ended")
    for uri, trans in list(sim.transitions.items()):
        if trans['job'] == job['id']:
            del sim.transitions[uri]
            partition = sim.lookup(uri)
            if partition is not None:
                partition.properties['status'] = trans['previous']
    finish(job, 409, errors.WRONG_STATE, "The job was canceled",
           status='canceled')
    return None


def wait(sim, req, job_uri, operation_timeout=None):
    """Block until the job has ended; return its result like zhmcclient.

    Like zhmcclient's Job.wait_for_completion(), the ended job is deleted,
    a 200/201 job returns its job-results, a 204 job returns None and a
    failed job raises HTTPError with the job's status and reason codes.
    """
    job_id = job_uri[len(JOBS_BASE):]
    started = time.monotonic()
    while True:
        with sim.lock:
            sim.advance()
            job = sim.jobs.get(job_id)
            if job is None:
                raise req.err.not_found("The job %s no longer exists"
                                        % job_uri)
            if job['status'] != 'running':
                del sim.jobs[job_id]
                code = job['status-code']
                if code in (200, 201):
                    return copy.deepcopy(job['results'])
                if code == 204:
                    return None
                raise zhmcclient.HTTPError({
                    'http-status': code,
                    'reason': job['reason-code'],
                    'message': (job['results'] or {}).get('message'),
                    'request-method': job['op-method'],
                    'request-uri': job['op-uri'],
                })
            remaining = job['end'] - sim.now()
        nap = min(max(remaining, 0.0005), 0.5)
        if operation_timeout:
            left = started + operation_timeout - time.monotonic()
            if left <= 0:
                raise zhmcclient.OperationTimeout(
                    "Waiting for completion of job %s timed out (operation "
                    "timeout: %s s)" % (job_uri, operation_timeout),
                    operation_timeout)
            nap = min(nap, left)
        # Sleep outside the lock, so other requests go on meanwhile.
        time.sleep(nap)
