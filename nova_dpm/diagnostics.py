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

"""Server diagnostics from the HMC's metrics.

One metrics context per nova-compute (:class:`Metrics`), created at the
first diagnostics call and deleted by ``cleanup_host``, for the metric
groups ``partition-usage`` and ``partition-attached-network-interface``.
One Get Metrics request answers for every partition of the HMC, so a
parsed response serves every diagnostics call for :data:`REFRESH`
seconds, whatever the number of instances. A context the HMC has
forgotten (it restarted: HMC rule Q3) is created again once.

What a partition's diagnostics hold (:class:`Diagnostics`): its power
state; one CPU entry per processor of the flavor, each with the
partition's processor usage (the HMC measures the partition as a whole);
the flavor's memory as the maximum (the HMC does not report memory use);
one NIC entry per VIF of the instance, with the counters of the NIC that
nova-dpm created for it. The HMC has no disk metrics for a partition and
no uptime; those stay empty.
"""

import threading
import time

from nova.compute import power_state
from nova import exception as nova_exception
from nova.objects import diagnostics as diagnostics_obj
from oslo_log import log as logging
import zhmcclient

from nova_dpm import contract
from nova_dpm import hmc
from nova_dpm import partition

LOG = logging.getLogger(__name__)

PARTITION_USAGE = 'partition-usage'
NIC_GROUP = 'partition-attached-network-interface'
GROUPS = (PARTITION_USAGE, NIC_GROUP)
# Create Metrics Context: the smallest anticipated frequency the HMC
# accepts (HMC rule Q1), the most often nova-dpm reads.
FREQUENCY = 15
# Seconds a Get Metrics answer serves diagnostics calls. The HMC's
# figures are sampled per interval: reading them more often than the
# frequency announced at Create Metrics Context (15 s) would cost
# requests for the same figures, and several diagnostics calls in a row
# (one per server of a project) cost one request.
REFRESH = 15.0
# Seconds before asking again an HMC that has no such metric groups.
UNSUPPORTED_RETRY = 600.0

# NIC metrics -> Nova's NicDiagnostics fields.
NIC_FIELDS = (
    ('rx_octets', 'bytes-received'), ('tx_octets', 'bytes-sent'),
    ('rx_packets', 'packets-received'), ('tx_packets', 'packets-sent'),
    ('rx_drop', 'packets-received-dropped'),
    ('tx_drop', 'packets-sent-dropped'),
    ('rx_errors', 'packets-received-discarded'),
    ('tx_errors', 'packets-sent-discarded'),
    ('rx_rate', 'bytes-per-second-received'),
    ('tx_rate', 'bytes-per-second-sent'),
)


def unsupported(reason):
    """Nova's "diagnostics not supported" (the API answers 501)."""
    return NotImplementedError(
        'server diagnostics need the HMC metric groups %s: %s'
        % (' and '.join(GROUPS), reason))


class Metrics(object):
    """The metrics context of one nova-compute and its latest figures."""

    def __init__(self, hmc):
        self.hmc = hmc
        self.refresh = REFRESH
        self._lock = threading.Lock()
        self._context = None
        self._sample = None        # (time read, {resource uri: metrics})
        self._refused = None       # (time, reason): the HMC has no groups

    def values(self):
        """{resource URI: {metric: value}}, at most :attr:`refresh` old.

        At most one Get Metrics request (and one Create Metrics Context
        when there is no context yet); NotImplementedError where the HMC
        has no such metric groups.
        """
        with self._lock:
            now = time.monotonic()
            if self._sample and now - self._sample[0] < self.refresh:
                return self._sample[1]
            values = self._read()
            self._sample = (time.monotonic(), values)
            return values

    def _read(self):
        context = self._context or self._create()
        try:
            text = context.get_metrics()
        except zhmcclient.HTTPError as exc:
            if exc.http_status != 404:
                _reraise('get metrics', context.uri)
            # HMC rule Q3: a restarted HMC has forgotten the context.
            LOG.info('The HMC no longer has metrics context %s (%s); '
                     'creating another.', context.uri,
                     hmc.describe_error(exc))
            self._context = None
            context = self._create()
            with hmc.translated('get metrics', context.uri):
                text = context.get_metrics()
        except zhmcclient.Error:
            _reraise('get metrics', context.uri)
        return parse(context, text)

    def _create(self):
        if self._refused and \
                time.monotonic() - self._refused[0] < UNSUPPORTED_RETRY:
            raise unsupported(self._refused[1])
        body = {'anticipated-frequency-seconds': FREQUENCY,
                'metric-groups': list(GROUPS)}
        try:
            context = self.hmc.client.metrics_contexts.create(body)
        except zhmcclient.HTTPError as exc:
            if exc.http_status not in (400, 404):
                _reraise('create metrics context')
            # HMC rule Q2: an HMC without the groups refuses their names.
            return self._refuse(hmc.describe_error(exc))
        except zhmcclient.Error:
            _reraise('create metrics context')
        infos = context.properties.get('metric-group-infos') or []
        missing = set(GROUPS) - {i.get('group-name') for i in infos}
        if missing:
            self._delete(context)
            return self._refuse('the HMC does not offer %s'
                                % ', '.join(sorted(missing)))
        LOG.info('Created metrics context %s for server diagnostics.',
                 context.uri)
        self._context = context
        return context

    def _refuse(self, reason):
        LOG.warning('Server diagnostics are not available: %s', reason)
        self._refused = (time.monotonic(), reason)
        raise unsupported(reason)

    def _delete(self, context):
        try:
            context.delete()
        except zhmcclient.Error as exc:
            # Gone already (HMC restart) or the HMC is away: it forgets
            # the context with the session.
            LOG.info('Metrics context %s not deleted: %s', context.uri,
                     hmc.describe_error(exc))

    def expire(self):
        """Forget the figures: the next call reads the HMC's again."""
        with self._lock:
            self._sample = None

    def close(self):
        """Delete the metrics context, if there is one (cleanup_host)."""
        with self._lock:
            context, self._context = self._context, None
            self._sample = None
        if context is not None:
            self._delete(context)


def _reraise(operation, target='the HMC'):
    """Raise the zhmcclient error being handled as a nova-dpm error."""
    with hmc.translated(operation, target):
        raise


def parse(context, text):
    """{resource URI: {metric: value}} of a MetricsResponse."""
    values = {}
    response = zhmcclient.MetricsResponse(context, text)
    for group in response.metric_group_values:
        for obj in group.object_values:
            values[obj.resource_uri] = dict(obj.metrics)
    return values


class Diagnostics(object):
    """Nova's Diagnostics of the subset's instances."""

    def __init__(self, hmc, partitions, metrics=None):
        self.hmc = hmc
        self.partitions = partitions
        self.metrics = metrics or Metrics(hmc)
        self._lock = threading.Lock()
        self._nics = {}    # NIC URI -> NIC name (read once per NIC)

    def of(self, instance, partition_uri, status):
        """The Diagnostics of an instance whose partition has this URI.

        InstanceNotFound if the HMC's metrics do not know the partition
        (deleted outside Nova).
        """
        values = self.metrics.values()
        usage = values.get(partition_uri)
        if usage is None or partition_uri is None:
            raise nova_exception.InstanceNotFound(instance_id=instance.uuid)
        state = power_state.STATE_MAP[partition.power_state_of(status)]
        diags = diagnostics_obj.Diagnostics(
            state=state, hypervisor='PR/SM', hypervisor_os=None,
            uptime=None, config_drive=False)
        for index in range(instance.flavor.vcpus):
            diags.add_cpu(id=index, utilisation=usage.get('processor-usage'))
        diags.memory_details = diagnostics_obj.MemoryDiagnostics(
            maximum=instance.flavor.memory_mb, used=None)
        names = self._nic_names(partition_uri, values)
        for vif in instance.get_network_info():
            self._add_nic(diags, vif, names, values)
        return diags

    def _nic_names(self, partition_uri, values):
        """{NIC name: NIC URI} of the partition's NICs in the metrics.

        The names of NICs not seen before are read in one round trip
        (Submit Requests where the HMC has it) for every partition of the
        subset at once, and kept: NICs keep their names.
        """
        subset = {self.partitions.uri(u) for u in self.partitions.known()}
        subset.add(partition_uri)
        with self._lock:
            unknown = [uri for uri in values if '/nics/' in uri and
                       uri not in self._nics and
                       uri.split('/nics/')[0] in subset]
        if unknown:
            with hmc.translated('read NICs', partition_uri):
                found = self.hmc.get_many(unknown)
            with self._lock:
                for uri, props in found.items():
                    if props is not None:
                        self._nics[uri] = props.get('name')
        prefix = partition_uri + '/nics/'
        with self._lock:
            return {name: uri for uri, name in self._nics.items()
                    if uri.startswith(prefix) and uri in values}

    @staticmethod
    def _add_nic(diags, vif, names, values):
        metrics = values.get(names.get(contract.nic_name(vif['id'])), {})
        fields = {field: metrics.get(name) for field, name in NIC_FIELDS}
        diags.add_nic(mac_address=vif.get('address'), **fields)

    def close(self):
        self.metrics.close()
