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

"""The CPC subset: its validation against the CPC, its resources, its
placement inventory and the max_instances limit."""

import threading

from nova.objects import fields as obj_fields
import os_resource_classes as orc
from oslo_log import log as logging
from oslo_serialization import jsonutils

from nova_dpm import capabilities
from nova_dpm import exception
from nova_dpm import hmc
from nova_dpm import inventory

LOG = logging.getLogger(__name__)

# HMC rule B2: the CPC states in which the HMC accepts partition
# operations; the original nova-dpm accepted the same four.
CPC_UP_STATES = ('active', 'service-required', 'degraded', 'exceptions')
# While nova-compute runs, a CPC in any other status, or in
# service-required (a redundant part failed and waits for service), takes
# no new instances: the subset reports no resources until it is back.
CPC_SERVING_STATES = ('active', 'degraded', 'exceptions')
STORAGE_MANAGEMENT_FEATURE = 'dpm-storage-management'

SUPPORTED_INSTANCES = [(obj_fields.Architecture.S390X,
                        obj_fields.HVType.PRSM,
                        obj_fields.VMMode.HVM)]


class CpcSubset(object):
    """This service's slice of one CPC."""

    def __init__(self, hmc, settings, host):
        self.hmc = hmc
        self.settings = settings
        self.host = host
        self.cpc = None
        self.storage_management = False
        self.adapter_ports = []   # [(adapter uri, port uri, port index)]
        self.adapters = {}        # adapter uri -> zhmcclient Adapter
        self._lock = threading.Lock()
        self._reserved = set()    # uuids reserved, partition not yet made
        # Why the CPC takes no instances now (its status), or None.
        self.unavailable = None

    # -- validation at init_host -------------------------------------------
    #
    # One method per check, each returning what it found or raising
    # CpcSubsetInvalid naming the option: validate() runs them all (and
    # refuses at the first problem), nova-dpm-check runs them one by one.

    def _refuse(self, option, reason):
        raise exception.CpcSubsetInvalid(host=self.host, option=option,
                                         reason=reason)

    def find_cpc(self):
        """The CPC of [dpm] cpc_object_id, its properties pulled."""
        try:
            return inventory.find_cpc(self.hmc, self.settings.cpc_object_id)
        except inventory.Refused as exc:
            self._refuse('cpc_object_id', exc.reason)

    def check_dpm_mode(self, cpc):
        try:
            return inventory.check_dpm_mode(cpc)
        except inventory.Refused as exc:
            self._refuse('cpc_object_id', exc.reason)

    def check_status(self, cpc):
        status = cpc.get_property('status')
        if status not in CPC_UP_STATES:
            self._refuse('cpc_object_id',
                         'CPC %s has status %r; partitions can only be '
                         'managed in status %s' %
                         (cpc.name, status, ', '.join(CPC_UP_STATES)))
        return 'CPC %s has status %s' % (cpc.name, status)

    def check_processors(self, cpc):
        wanted = self.settings.max_processors or 0
        ifls = int(cpc.get_property('processor-count-ifl') or 0)
        if wanted > ifls:
            self._refuse('max_processors', '%d exceeds the %d IFL '
                         'processors of CPC %s' % (wanted, ifls, cpc.name))
        return '[dpm] max_processors %d <= %d IFL processors of CPC %s' % (
            wanted, ifls, cpc.name)

    def check_memory(self, cpc):
        wanted = self.settings.max_memory
        memory = int(cpc.get_property('storage-customer') or 0)
        if wanted > memory:
            self._refuse('max_memory', '%d MiB exceeds the %d MiB customer '
                         'memory of CPC %s' % (wanted, memory, cpc.name))
        return ('[dpm] max_memory %d MiB <= %d MiB customer memory of CPC '
                '%s' % (wanted, memory, cpc.name))

    def check_dedicated_processors(self, cpc):
        """[dpm] max_dedicated_processors <= the CPC's IFLs left to dedicate.

        Those are the CPC's IFLs less the IFLs dedicated to partitions of
        other owners (this subset's own partitions count against the
        option). One request: the CPC's partitions with their processor
        mode and IFLs (HMC rule Z2).
        """
        from nova_dpm import partition
        naming = partition.Naming(self.host)
        wanted = self.settings.max_dedicated_processors
        ifls = int(cpc.get_property('processor-count-ifl') or 0)
        with hmc.translated('list partitions', cpc.name):
            parts = cpc.partitions.list(full_properties=True)
        taken = sum(int(p.properties.get('ifl-processors') or 0)
                    for p in parts
                    if p.properties.get('processor-mode') == 'dedicated' and
                    not naming.owner_uuid(p.name))
        if wanted > ifls - taken:
            self._refuse('max_dedicated_processors', '%d exceeds the %d IFL '
                         'processors CPC %s can dedicate (%d IFLs, %d of '
                         'them dedicated to other partitions)' %
                         (wanted, ifls - taken, cpc.name, ifls, taken))
        return ('[dpm] max_dedicated_processors %d <= %d IFL processors CPC '
                '%s can dedicate' % (wanted, ifls - taken, cpc.name))

    @staticmethod
    def has_storage_management(cpc):
        """Whether the CPC has the dpm-storage-management feature on.

        The CPC property available-features-list exists from HMC/SE 2.14.0
        with HMC API 2.23 on (zhmcclient Cpc.feature_enabled and "Firmware
        features"). A CPC without it (a z13 under an older HMC) has no
        storage management: HBAs. The properties are those pulled by
        find_cpc; no request.
        """
        return any(
            f.get('name') == STORAGE_MANAGEMENT_FEATURE and f.get('state')
            for f in cpc.properties.get('available-features-list') or [])

    def check_adapter_port(self, cpc, mapping):
        """One physical_storage_adapter_mappings entry.

        Returns (adapter, port URI); the adapter's name, type, family,
        adapter-id and ports are pulled (one request).
        """
        try:
            return inventory.Inventory(self.hmc, cpc).storage_port(
                mapping.adapter_id, mapping.port)
        except inventory.Refused as exc:
            self._refuse('physical_storage_adapter_mappings',
                         'entry %s:%d: %s' % (mapping + (exc.reason,)))

    def validate(self):
        """Find the CPC and check that it can host this subset."""
        s = self.settings
        cpc = self.find_cpc()
        for check in (self.check_dpm_mode, self.check_status,
                      self.check_processors, self.check_memory):
            check(cpc)
        if s.max_dedicated_processors:
            self.check_dedicated_processors(cpc)
        ports, adapters = [], {}
        for mapping in s.physical_storage_adapter_mappings:
            adapter, port_uri = self.check_adapter_port(cpc, mapping)
            ports.append((adapter.uri, port_uri, mapping.port))
            adapters[adapter.uri] = adapter
        self.cpc = cpc
        self.storage_management = self.has_storage_management(cpc)
        self.adapter_ports = ports
        self.adapters = adapters
        LOG.info('CPC subset %(host)s on CPC %(cpc)s (%(id)s): '
                 '%(procs)d IFLs, %(mem)d MiB, max_instances %(inst)s, '
                 '%(paths)d storage path(s); storage backend: %(backend)s.',
                 {'host': self.host, 'cpc': cpc.name, 'id': s.cpc_object_id,
                  'procs': self.processors(), 'mem': s.max_memory,
                  'inst': s.max_instances or 'unlimited',
                  'paths': len(self.adapter_ports),
                  'backend': ('storage groups (dpm-storage-management)'
                              if self.storage_management else 'HBAs')})

    # -- max_instances ---------------------------------------------------

    def reserve(self, uuid, read_members):
        """Reserve a place for a new instance; refuse beyond max_instances.

        ``read_members()`` gives the instance UUIDs that have a partition
        (as the partition module knows them); it is called under this
        subset's lock, so two reservations never count the same snapshot.
        Reserved instances count until :meth:`release`. No HMC request.
        """
        limit = self.settings.max_instances
        with self._lock:
            members = read_members()
            if uuid in members or uuid in self._reserved:
                return
            used = len(set(members) | self._reserved)
            if limit is not None and used >= limit:
                raise exception.DPMError(
                    reason='CPC subset %s is full: it holds %d of at most %d '
                           'instances ([dpm] max_instances)' %
                           (self.host, used, limit))
            self._reserved.add(uuid)

    def release(self, uuid):
        with self._lock:
            self._reserved.discard(uuid)

    # -- resources -------------------------------------------------------

    def read_status(self):
        """Read the CPC's status (one request); set ``unavailable``.

        Returns why the CPC takes no new instances now, or None. A change
        either way is logged; the subset comes back by itself once the
        CPC's status allows it.
        """
        with hmc.translated('read CPC status', self.cpc.name):
            props = self.hmc.get_many([self.cpc.uri]).get(self.cpc.uri)
        status = (props or {}).get('status')
        reason = None
        if status not in CPC_SERVING_STATES:
            reason = ('CPC %s has status %r (instances are placed only in '
                      'status %s)' % (self.cpc.name, status,
                                      ', '.join(CPC_SERVING_STATES)))
        if reason and reason != self.unavailable:
            LOG.warning('%s: CPC subset %s reports no processors and no '
                        'memory until the CPC is back.', reason, self.host)
        elif self.unavailable and not reason:
            LOG.info('CPC %s has status %s again: CPC subset %s reports its '
                     'resources.', self.cpc.name, status, self.host)
        self.unavailable = reason
        return reason

    def available_resource(self, used_processors, used_memory):
        """Nova's resource dict; none at all while the CPC is unavailable."""
        s = self.settings
        cpc = self.cpc
        cpu_info = {
            'arch': obj_fields.Architecture.S390X,
            'model': cpc.get_property('machine-model') or '',
            'vendor': 'IBM',
            'machine_type': cpc.get_property('machine-type') or '',
            'topology': {'sockets': 1, 'cores': self.processors(),
                         'threads': 1},
            'features': [],
        }
        down = self.unavailable is not None
        return {
            'vcpus': 0 if down else self.processors(),
            'memory_mb': 0 if down else s.max_memory,
            'local_gb': 0,
            'vcpus_used': used_processors,
            'memory_mb_used': used_memory,
            'local_gb_used': 0,
            'hypervisor_type': obj_fields.HVType.PRSM,
            'hypervisor_version': capabilities.version_int(
                cpc.get_property('se-version') or '0'),
            'hypervisor_hostname': self.host,
            'cpu_info': jsonutils.dumps(cpu_info),
            'disk_available_least': 0,
            'supported_instances': SUPPORTED_INSTANCES,
            'numa_topology': None,
        }

    def processors(self):
        """IFLs of the subset: shared and dedicated."""
        s = self.settings
        return (s.max_processors or 0) + (s.max_dedicated_processors or 0)

    def inventory(self, ratios):
        """VCPU, PCPU and MEMORY_MB from the [dpm] limits; no DISK_GB.

        VCPU (shared IFLs) from max_processors, PCPU (dedicated IFLs, not
        overcommitted) from max_dedicated_processors; an unset one is left
        out.

        ``ratios`` are nova's allocation ratios for this provider, as
        ComputeDriver._get_allocation_ratios computes them. Nothing is
        reserved: nova's [DEFAULT] reserved_host_cpus and
        reserved_host_memory_mb keep resources for a hypervisor host's own
        operating system, and a CPC subset has none (nova-compute runs
        outside the CPC). A subset is kept smaller with [dpm]
        max_processors and max_memory. While the CPC is unavailable,
        everything is reserved (the instances keep their allocations;
        nothing new is placed).
        """
        s = self.settings
        down = self.unavailable is not None
        totals = ((orc.VCPU, s.max_processors, ratios[orc.VCPU]),
                  (orc.PCPU, s.max_dedicated_processors, 1.0),
                  (orc.MEMORY_MB, s.max_memory, ratios[orc.MEMORY_MB]))
        return {
            rc: {
                'total': total,
                'min_unit': 1,
                'max_unit': total,
                'step_size': 1,
                'allocation_ratio': ratio,
                'reserved': total if down else 0,
            } for rc, total, ratio in totals if total}
