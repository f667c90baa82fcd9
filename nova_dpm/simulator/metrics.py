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

"""The metrics service of the simulated HMC (HMC rules Q1-Q4).

Create Metrics Context, Get Metrics and Delete Metrics Context, built on
zhmcclient.mock's metrics contexts (``FakedMetricsContextManager``, its
metric group definitions and its MetricsResponse formatting). What the
mock does not do, done here:

* Q1: ``anticipated-frequency-seconds`` is an integer of at least 15;
* Q2: the DPM metric groups ``partition-usage`` and
  ``partition-attached-network-interface`` exist from HMC 2.13.1 on; a
  group name the HMC does not know is refused with 400;
* Q3: the HMC forgets its metrics contexts when it restarts (404 after);
* Q4: the values are the partitions' own and move while a partition is
  active: processor usage, cumulative NIC byte and packet counters that
  stop when the partition stops.
"""

import datetime

from zhmcclient.mock._hmc import FakedMetricObjectValues

from nova_dpm.simulator import errors

CONTEXT_PATH = '/api/services/metrics/context'
PARTITION_USAGE = 'partition-usage'
NIC_GROUP = 'partition-attached-network-interface'
DPM_GROUPS = (PARTITION_USAGE, NIC_GROUP)
# HMC rule Q1: the smallest anticipated frequency the HMC accepts.
MIN_FREQUENCY = 15
# HMC rule Q2: the HMC version that brought the DPM metric groups.
DPM_GROUPS_HMC = (2, 13, 1)
RUNNING = ('active', 'degraded')

# What a running partition does per second in the simulation: bytes sent
# and received by each NIC, bytes per packet. Processor usage follows a
# saw-tooth between 5 and 64 percent, its phase taken from the partition.
TX_RATE = 12000
RX_RATE = 30000
PACKET_BYTES = 1000


class Meter:
    """Per partition: seconds spent running, as the metrics saw them."""

    def __init__(self):
        self.running = {}   # partition URI -> seconds active so far
        self.seen = {}      # partition URI -> (time, was running)

    def update(self, sim, now):
        """Account the time since the last update of each partition."""
        for part in _partitions(sim):
            uri = part.uri
            last, was_running = self.seen.get(uri, (now, False))
            if was_running:
                self.running[uri] = self.running.get(uri, 0.0) + now - last
            status = part.properties.get('status')
            self.seen[uri] = (now, status in RUNNING)

    def seconds(self, uri):
        return self.running.get(uri, 0.0)


def _partitions(sim):
    for cpc in sim.cpcs():
        if cpc.properties.get('dpm-enabled', True):
            for part in cpc.partitions.list():
                yield part


def _version(text):
    try:
        return tuple(int(x) for x in str(text).split('.'))
    except ValueError:
        return (0,)


def available_groups(sim):
    """The metric group names this HMC has (HMC rule Q2)."""
    groups = set(sim.faked.metric_groups)
    console = sim.faked.consoles.console
    if _version(console.properties.get('version', '0')) < DPM_GROUPS_HMC:
        groups.difference_update(DPM_GROUPS)
    return groups - sim.metric_groups_removed


def _check_body(sim, req):
    body = req.body if isinstance(req.body, dict) else {}
    freq = body.get('anticipated-frequency-seconds')
    if freq is None:
        raise req.err.bad_request(
            errors.MISSING_FIELD, "The request body lacks the required "
            "field 'anticipated-frequency-seconds'")
    if isinstance(freq, bool) or not isinstance(freq, int) or \
            freq < MIN_FREQUENCY:
        raise req.err.bad_request(
            errors.INVALID_VALUE, "'anticipated-frequency-seconds' must be "
            "an integer of at least %d, not %r" % (MIN_FREQUENCY, freq))
    groups = body.get('metric-groups') or []
    have = available_groups(sim)
    for name in groups:
        if name not in have:
            raise req.err.bad_request(
                errors.INVALID_VALUE, "'metric-groups' names a metric "
                "group this HMC does not have: %r" % (name,))
    return body, list(groups) or sorted(have)


def create(sim, req):
    """Create Metrics Context (HMC rules Q1 and Q2)."""
    body, groups = _check_body(sim, req)
    context = sim.faked.metrics_contexts.add(
        {'anticipated-frequency-seconds':
         body['anticipated-frequency-seconds'], 'metric-groups': groups})
    return {'metrics-context-uri': context.uri,
            'metric-group-infos': context.get_metric_group_infos()}


def _context(sim, req):
    try:
        return sim.faked.lookup_by_uri(req.path)
    except KeyError:
        raise req.err.not_found(
            "No metrics context %s (deleted, or forgotten when the HMC "
            "restarted)" % req.path) from None


def delete(sim, req):
    """Delete Metrics Context: 404,1 for one that is gone (HMC rule Q3)."""
    context = _context(sim, req)
    sim.faked.metrics_contexts.remove(context.oid)


def get(sim, req):
    """Get Metrics: this moment's values of the context's groups (Q4)."""
    context = _context(sim, req)
    now = sim.now()
    sim.meter.update(sim, now)
    stamp = datetime.datetime.now(datetime.timezone.utc)
    values = {PARTITION_USAGE: [], NIC_GROUP: []}
    for part in _partitions(sim):
        seconds = sim.meter.seconds(part.uri)
        running = part.properties.get('status') in RUNNING
        values[PARTITION_USAGE].append(FakedMetricObjectValues(
            PARTITION_USAGE, part.uri, stamp,
            _usage(sim, part, seconds, running)))
        for nic in part.nics.list():
            values[NIC_GROUP].append(FakedMetricObjectValues(
                NIC_GROUP, nic.uri, stamp, _nic(sim, part, seconds)))
    served = {}
    for group, objects in values.items():
        sim.faked._metric_values.pop(group, None)
        for obj in objects:
            sim.faked.add_metric_values(obj)
            served[(group, obj.resource_uri)] = dict(obj.values)
    sim.metrics_served = served
    return context.get_metric_values_response()


def _order(sim, group):
    return [name for name, _ in sim.faked.metric_groups[group].types]


def _usage(sim, part, seconds, running):
    usage = 0
    if running:
        phase = sum(part.oid.encode('utf-8')) % 60
        usage = 5 + (int(seconds) + phase) % 60
    figures = {'processor-usage': usage, 'network-usage': usage // 4,
               'storage-usage': usage // 8}
    return [(name, figures.get(name, 0))
            for name in _order(sim, PARTITION_USAGE)]


def _nic(sim, part, seconds):
    sent = int(seconds * TX_RATE)
    received = int(seconds * RX_RATE)
    figures = {'partition-id': part.oid,
               'bytes-sent': sent, 'bytes-received': received,
               'packets-sent': sent // PACKET_BYTES,
               'packets-received': received // PACKET_BYTES}
    return [(name, figures.get(name, 0))
            for name in _order(sim, NIC_GROUP)]
