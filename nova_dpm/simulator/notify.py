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

"""Notifications of the simulated HMC (HMC rules P1-P6).

:class:`ChangeWatch` looks at the simulated HMC after every change of its
state (each request, each due transition, each out-of-band change such as
:meth:`SimulatedHmc.set_status`) and turns what changed into the object
notifications a real HMC publishes on every session's object topic:

* ``status-change`` for a partition whose ``status`` changed, with one
  change report (``old-status``, ``new-status``,
  ``has-unacceptable-status``);
* ``property-change`` for a partition whose other properties changed, one
  change report per property (``property-name``, ``old-value``,
  ``new-value``);
* ``inventory-change`` (``action`` ``add`` or ``remove``, no body) for a
  partition or NIC created or deleted.

It also sees the asynchronous jobs that have ended (completed or
canceled) since the last look and hands each one's ``job-completion``
notification (HMC rule P6: headers ``notification-type`` and ``job-uri``,
no body) to ``publish_jobs`` with the API session that started the job,
whose job topic alone receives it.

A notification is a ``(headers, body)`` pair; the STOMP broker
(:mod:`nova_dpm.simulator.stomp`) adds the per-topic
``session-sequence-nr`` and the STOMP headers.  The change is seen where
it happens, whoever made it (the API, an HMC operator through a test's
direct call), so both notify alike.
"""

import copy
import itertools
import time

# Statuses of a partition that the HMC counts as unacceptable (the
# partition's 'acceptable-status' property; the HMC default: active).
DEFAULT_ACCEPTABLE = ('active',)
# Job statuses of an ended job (Query Job Status).
JOB_ENDED = ('complete', 'canceled')


def _snapshot_value(value):
    if isinstance(value, (list, dict)):
        return copy.deepcopy(value)
    return value


class ChangeWatch(object):
    """Turns state changes of a SimulatedHmc into object notifications.

    :param sim: the SimulatedHmc.
    :param publish: callable(list of (headers, body)) called under the
        simulator's lock; it must not block.
    :param publish_jobs: callable(list of (session id, headers)) for the
        job completions, called likewise; None: jobs are not watched.
    """

    def __init__(self, sim, publish, publish_jobs=None):
        self.sim = sim
        self.publish = publish
        self.publish_jobs = publish_jobs
        self._global = itertools.count(1)
        with sim.lock:
            self._state = self._read()
            # Jobs that had ended before anybody listened: not told.
            self._ended = self._ended_jobs()

    def _ended_jobs(self):
        return {job_id for job_id, job in self.sim.jobs.items()
                if job['status'] in JOB_ENDED}

    def _check_jobs(self):
        """Publish the completion of each job ended since the last look."""
        ended = self._ended_jobs()
        new = ended - self._ended
        self._ended = ended
        if not new or self.publish_jobs is None:
            return
        out = []
        for job_id in sorted(new):
            job = self.sim.jobs[job_id]
            if job.get('origin') is None:
                continue
            out.append((job['origin'], {
                'notification-type': 'job-completion',
                'job-uri': job['uri'],
                'global-sequence-nr': str(next(self._global)),
                'timestamp': str(int(time.time() * 1000)),
            }))
        if out:
            self.publish_jobs(out)

    def _read(self):
        """{partition uri: (partition, properties, {nic uri: nic})}."""
        state = {}
        for cpc in self.sim.cpcs():
            for part in cpc.partitions.list():
                props = {k: _snapshot_value(v)
                         for k, v in part.properties.items()}
                nics = {nic.uri: nic for nic in part.nics.list()}
                state[part.uri] = (part, props, nics)
        return state

    def check(self):
        """Compare with the last look; publish what changed."""
        self._check_jobs()
        new = self._read()
        old = self._state
        self._state = new
        out = []
        for uri, (part, props, nics) in new.items():
            if uri not in old:
                out.append(self._inventory('add', part, props))
                for nic in nics.values():
                    out.append(self._inventory('add', nic, None, part))
                continue
            _, old_props, old_nics = old[uri]
            out += self._compare(part, old_props, props)
            for nic_uri, nic in nics.items():
                if nic_uri not in old_nics:
                    out.append(self._inventory('add', nic, None, part))
            for nic_uri, nic in old_nics.items():
                if nic_uri not in nics:
                    out.append(self._inventory('remove', nic, None, part))
        for uri, (part, props, nics) in old.items():
            if uri not in new:
                for nic in nics.values():
                    out.append(self._inventory('remove', nic, None, part))
                out.append(self._inventory('remove', part, props))
        if out:
            self.publish(out)

    def _compare(self, part, old, new):
        out = []
        if old.get('status') != new.get('status'):
            acceptable = new.get('acceptable-status') or DEFAULT_ACCEPTABLE
            out.append((self._headers('status-change', part, new), {
                'change-reports': [{
                    'old-status': old.get('status'),
                    'new-status': new.get('status'),
                    'has-unacceptable-status':
                        new.get('status') not in acceptable,
                }]}))
        reports = [{'property-name': name, 'old-value': old.get(name),
                    'new-value': new.get(name)}
                   for name in sorted(set(old) | set(new))
                   if name != 'status' and old.get(name) != new.get(name)]
        if reports:
            out.append((self._headers('property-change', part, new),
                        {'change-reports': reports}))
        return out

    def _headers(self, kind, resource, props, parent=None):
        props = props if props is not None else resource.properties
        headers = {
            'notification-type': kind,
            'global-sequence-nr': str(next(self._global)),
            'timestamp': str(int(time.time() * 1000)),
            'class': resource.manager.class_value,
            'name': str(props.get('name', '')),
        }
        if parent is None:
            headers['object-uri'] = resource.uri
            headers['object-id'] = resource.oid
        else:
            # An element (a NIC): its URI, and its object's.
            headers['element-uri'] = resource.uri
            headers['element-id'] = resource.oid
            headers['object-uri'] = parent.uri
            headers['object-id'] = parent.oid
        return headers

    def _inventory(self, action, resource, props, parent=None):
        headers = self._headers('inventory-change', resource, props, parent)
        headers['action'] = action
        return headers, None
