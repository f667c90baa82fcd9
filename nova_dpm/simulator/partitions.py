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

"""Strict handlers for partitions, HBAs and NICs.

Each handler validates the request like a real HMC (the rule ids are those
of doc/source/contributor/hmc-rules.rst), then lets the mock's URI handler
do the work where the mock does it right (``sim.delegate``), then fixes up
what the mock gets wrong.  They are called with the simulator's lock held.
"""

import re

from nova_dpm.simulator import errors
from nova_dpm.simulator import jobs
from nova_dpm.simulator import network
from nova_dpm.simulator import validation as v
from nova_dpm.simulator import versions

# HMC rule B2: the CPC statuses in which operations are accepted.
CPC_OK_STATUSES = ('active', 'service-required', 'degraded', 'exceptions')

# Partition statuses in which no resources are allocated (HMC rule E1);
# used for "only while stopped" rules (D1, E5, K3).
STOPPED_STATUSES = ('stopped', 'reservation-error')

# HMC rules E2 and E4.
START_FROM = ('stopped', 'reservation-error')
STOP_FROM = ('active', 'degraded', 'paused', 'terminated')

# NIC types whose device numbers are channel based, and how many device
# numbers one NIC takes (HMC rule H2: an OSA NIC takes a range of 3;
# [UNCERTAIN] we assume the same for HiperSockets). Every other type
# (roce, cna, neth) is a PCI function with one PCI-based number.
CHANNEL_NIC_WIDTH = {'osd': 3, 'iqd': 3}

# [UNCERTAIN] Where a real HMC starts when it generates device numbers is
# unknown; we hand out the lowest free number from 0x1000 upwards.
DEVNO_FIRST = 0x1000

STORAGE_MGMT_FEATURE = 'dpm-storage-management'


# ---------------------------------------------------------------------------
# Helpers shared with storage.py
# ---------------------------------------------------------------------------

def storage_management_enabled(cpc):
    """HMC rule B3: is the dpm-storage-management feature on?"""
    for feature in cpc.properties.get('available-features-list') or []:
        if feature.get('name') == STORAGE_MGMT_FEATURE:
            return bool(feature.get('state'))
    return False


def check_cpc(req, cpc):
    """HMC rules B1 and B2 (reason codes [UNCERTAIN], taken from the mock)."""
    if not cpc.properties.get('dpm-enabled'):
        raise req.err.conflict(
            5, "CPC %s is not in DPM mode" % cpc.properties.get('name'))
    status = cpc.properties.get('status')
    if status is not None and status not in CPC_OK_STATUSES:
        raise req.err.conflict(
            6, "CPC %s hosting the targeted resource has status %s, which "
            "is not valid for the operation"
            % (cpc.properties.get('name'), status))


def get_partition(sim, req):
    partition = sim.lookup('/api/partitions/' + req.groups[0])
    if partition is None:
        raise req.err.not_found()
    check_cpc(req, partition.manager.parent)
    return partition


def check_not_transitional(req, partition):
    """HMC rules D2 and E6: nothing changes while starting or stopping."""
    status = partition.properties.get('status')
    if status in ('starting', 'stopping'):
        raise req.err.conflict(
            errors.WRONG_STATE,
            "The operation cannot be performed because partition %s has "
            "status %s" % (partition.properties['name'], status))


def check_unique_name(req, siblings, name, what, this=None):
    """Names are unique within their scope (HMC rules C3, G1, H1, K4).

    The reason code (400,8) is [UNCERTAIN].
    """
    for sibling in siblings:
        if sibling is not this and sibling.properties.get('name') == name:
            raise req.err.bad_request(
                errors.DUPLICATE,
                "The name '%s' is already used by another %s" % (name, what))


def ref_not_found(req, field, uri):
    """HMC rule A4: a URI in the body that names nothing gives 404."""
    return req.err.not_found(
        "Field '%s': the object %s does not exist" % (field, uri),
        reason=errors.REF_NOT_FOUND)


def lookup_storage_port(sim, req, field, port_uri, cpc):
    """The faked storage port named by an adapter-port-uri field.

    HMC rules A4, G1 (404 reasons 2 and 6 follow the mock, [UNCERTAIN]).
    """
    v.check_string(req.err, field, port_uri)
    m = re.match(r'^(/api/adapters/[^/]+)/storage-ports/[^/]+$', port_uri)
    adapter = sim.lookup(m.group(1)) if m else None
    if adapter is None or adapter.manager.parent is not cpc:
        raise ref_not_found(req, field, port_uri)
    port = sim.lookup(port_uri)
    if port is None:
        raise req.err.not_found(
            "Field '%s': the port %s does not exist" % (field, port_uri),
            reason=6)
    # [UNCERTAIN] reason: the port must be on an FCP adapter.
    if adapter.properties.get('type') != 'fcp':
        raise req.err.bad_request(
            errors.INVALID_VALUE,
            "Field '%s': %s is not a port of an FCP adapter"
            % (field, port_uri))
    return port


def _nic_width(nic_type):
    return CHANNEL_NIC_WIDTH.get(nic_type, 1)


def _nic_space(nic_type):
    # HMC rule H2: roce/cna NICs use PCI-based device numbers, OSA and
    # HiperSockets NICs channel-based ones (like HBAs and VSRs).
    return 'channel' if nic_type in CHANNEL_NIC_WIDTH else 'pci'


def used_devnos(sim, partition, space='channel', exclude=None):
    """The device numbers in use in the partition (HMC rules G2, H2, K4)."""
    used = set()

    def add(devno, width=1):
        try:
            first = int(devno, 16)
        except (TypeError, ValueError):
            return
        used.update(range(first, first + width))

    if space == 'channel':
        for hba in partition.hbas.list():
            if hba is not exclude:
                add(hba.properties.get('device-number'))
        for sg in sim.storage_groups():
            for vsr in sg.virtual_storage_resources.list():
                if vsr is not exclude and \
                        vsr.properties.get('partition-uri') == partition.uri:
                    add(vsr.properties.get('device-number'))
    else:
        for vf in partition.virtual_functions.list():
            if vf is not exclude:
                add(vf.properties.get('device-number'))
    for nic in partition.nics.list():
        nic_type = nic.properties.get('type')
        if nic is not exclude and _nic_space(nic_type) == space:
            add(nic.properties.get('device-number'), _nic_width(nic_type))
    return used


def alloc_devno(sim, req, partition, width=1, space='channel'):
    """Generate a free device number (lower case, HMC rules G2, K4)."""
    used = used_devnos(sim, partition, space)
    candidates = list(range(DEVNO_FIRST, 0x10000)) + \
        list(range(1, DEVNO_FIRST))
    for first in candidates:
        if first + width - 1 > 0xffff:
            continue
        if not any(n in used for n in range(first, first + width)):
            return '%04x' % first
    raise req.err.conflict(errors.WRONG_STATE,
                           "No free device number in the partition")


def check_devno(sim, req, partition, devno, width=1, space='channel',
                exclude=None):
    """Validate a given device number; return it in lower case.

    HMC rules G2 and H2: 0001-FFFF, unique among the partition's HBAs,
    channel-based NICs and VSRs.  The duplicate reason (400,8) is
    [UNCERTAIN].
    """
    devno = v.check_devno(req.err, 'device-number', devno)
    first = int(devno, 16)
    if first + width - 1 > 0xffff:
        raise req.err.bad_request(
            errors.INVALID_VALUE,
            "Field 'device-number': the range of %d device numbers from %s "
            "exceeds FFFF" % (width, devno))
    used = used_devnos(sim, partition, space, exclude=exclude)
    if any(n in used for n in range(first, first + width)):
        raise req.err.bad_request(
            errors.DUPLICATE,
            "Field 'device-number': device number %s is already in use in "
            "partition %s" % (devno, partition.properties['name']))
    return devno


def _check_values(req, body, table):
    for field, value in body.items():
        check = table.get(field)
        if check is not None:
            check(req.err, field, value)


# ---------------------------------------------------------------------------
# Partition
# ---------------------------------------------------------------------------

def _check_boot_device_feature(req, cpc, body):
    """Check boot-device against the CPC's storage feature.

    [UNCERTAIN] HMC rules D7/D8: storage-adapter boot only without and
    storage-volume boot only with the dpm-storage-management feature.
    """
    device = body.get('boot-device')
    feature = storage_management_enabled(cpc)
    if device == 'storage-adapter' and feature:
        raise req.err.bad_request(
            errors.INVALID_VALUE,
            "Field 'boot-device': 'storage-adapter' is not supported when "
            "the CPC has the dpm-storage-management feature")
    if device == 'storage-volume' and not feature:
        raise req.err.bad_request(
            errors.INVALID_VALUE,
            "Field 'boot-device': 'storage-volume' requires the "
            "dpm-storage-management feature")


def _check_memory(req, initial, maximum):
    # HMC rule C11 [UNCERTAIN]: initial-memory <= maximum-memory.
    if initial is not None and maximum is not None and initial > maximum:
        raise req.err.bad_request(
            errors.INVALID_VALUE,
            "Field 'initial-memory': value %d exceeds maximum-memory %d"
            % (initial, maximum))


def _check_partition_id_unique(req, cpc, partition_id, this=None):
    # HMC rule C4 [CLIENT]: a non-conflicting hex number.
    for other in cpc.partitions.list():
        if other is not this and str(
                other.properties.get('partition-id', '')).lower() == \
                partition_id.lower():
            raise req.err.bad_request(
                errors.DUPLICATE,
                "Field 'partition-id': partition ID %s is already used by "
                "partition %s" % (partition_id, other.properties['name']))


def _free_partition_id(cpc, this):
    used = set()
    for other in cpc.partitions.list():
        if other is not this:
            try:
                used.add(int(other.properties.get('partition-id'), 16))
            except (TypeError, ValueError):
                pass
    for n in range(0, 0x80):
        if n not in used:
            return '%02X' % n
    return None


def create(sim, req):
    """Create Partition (HMC rules C1-C12)."""
    try:
        cpc = sim.faked.cpcs.lookup_by_oid(req.groups[0])
    except KeyError:
        raise req.err.not_found()
    check_cpc(req, cpc)
    err = req.err
    body = req.body
    v.check_body_is_object(err, body)
    # HMC rules C8 and C9: update-only and read-only fields -> 400,6.
    for field in body:
        if field in v.PARTITION_UPDATE_ONLY or (
                field in v.PARTITION_READ_ONLY and
                field not in v.PARTITION_CREATE_ONLY):
            raise err.bad_request(
                errors.READ_ONLY,
                "Field '%s' cannot be provided as input to Create Partition"
                % field)
    # HMC rule C10: unsupported fields -> 400,7.
    v.check_fields(err, body, set(v.PARTITION_WRITABLE) |
                   set(v.PARTITION_CREATE_ONLY))
    # HMC rule C1
    v.check_required(err, body, ('name', 'initial-memory', 'maximum-memory'))
    # HMC rule C2 [REAL on HMC 2.13.1; UNCERTAIN for newer HMCs]
    if 'ifl-processors' in body and 'cp-processors' in body:
        raise err.bad_request(
            errors.EXACTLY_ONE,
            "Expected to find exactly one of the following fields in the "
            "document: 'ifl-processors' or 'cp-processors' but found more "
            "than one")
    if 'ifl-processors' not in body and 'cp-processors' not in body:
        # HMC rule C1; the reason (5) is [UNCERTAIN].
        raise err.bad_request(
            errors.MISSING_FIELD,
            "Expected to find exactly one of the following fields in the "
            "document: 'ifl-processors' or 'cp-processors' but found none")
    _check_values(req, body, v.PARTITION_WRITABLE)
    _check_values(req, body, v.PARTITION_CREATE_ONLY)
    _check_memory(req, body['initial-memory'], body['maximum-memory'])
    _check_boot_device_feature(req, cpc, body)
    # HMC rule C3
    check_unique_name(req, cpc.partitions.list(), body['name'], 'partition')
    # HMC rule C4
    if body.get('autogenerate-partition-id', True) is False:
        v.check_required(err, body, ('partition-id',))
    if 'partition-id' in body:
        _check_partition_id_unique(req, cpc, body['partition-id'])

    # Real object ids are UUIDs (the mock would count 1, 2, ...).  The
    # mock refuses some fields at create that a source allows there
    # (validation.PARTITION_CREATE_AFTER): they are set afterwards.
    after = {f: body[f] for f in v.PARTITION_CREATE_AFTER if f in body}
    mock_body = {f: val for f, val in body.items() if f not in after}
    result = sim.delegate(req, dict(mock_body,
                                    **{'object-id': sim.new_id()}))

    partition = sim.lookup(result['object-uri'])
    props = partition.properties
    props.update(after)
    # The mock gives every partition the properties of its newest HMC.
    versions.strip_later_properties(sim, props)
    if props.get('autogenerate-partition-id', True) and \
            'partition-id' not in body:
        # The mock picks a random ID that may collide (HMC rule C4).
        props['partition-id'] = _free_partition_id(cpc, partition)
    # HMC rule B3: the mock claims dpm-storage-management for every new
    # partition; a partition has the features of its CPC, and no feature
    # list at all where the CPC has none (before HMC/SE 2.14.0 with API
    # 2.23: zhmcclient "Firmware features").
    if 'available-features-list' in cpc.properties:
        props['available-features-list'] = [
            dict(f) for f in cpc.properties['available-features-list']]
    else:
        props.pop('available-features-list', None)
    return result


def _check_own_element(sim, req, partition, field, kind, what):
    """Check that ``field`` names an element of this partition.

    ``kind``: 'hba' or 'nic' (HMC rules D7, D9); otherwise 400 naming the
    field.
    """
    uri = req.body.get(field)
    if uri is None:
        return
    element = sim.lookup(uri)
    if element is None:
        raise ref_not_found(req, field, uri)
    if element.manager.class_value != kind or \
            element.manager.parent is not partition:
        raise req.err.bad_request(
            errors.INVALID_VALUE,
            "Field '%s': %s is not %s of partition %s"
            % (field, uri, what, partition.properties['name']))


def update(sim, req):
    """Update Partition Properties (HMC rules C9-C12, D1-D11)."""
    partition = get_partition(sim, req)
    cpc = partition.manager.parent
    props = partition.properties
    err = req.err
    body = req.body
    v.check_body_is_object(err, body)
    check_not_transitional(req, partition)                      # D2
    v.check_fields(err, body, v.PARTITION_WRITABLE,             # C9, C10
                   v.PARTITION_READ_ONLY | set(v.PARTITION_CREATE_ONLY))
    if 'ifl-processors' in body and 'cp-processors' in body:    # C2
        raise err.bad_request(
            errors.EXACTLY_ONE,
            "Expected to find exactly one of the following fields in the "
            "document: 'ifl-processors' or 'cp-processors' but found more "
            "than one")
    _check_values(req, body, v.PARTITION_WRITABLE)

    # HMC rule D1: some properties only change while the partition is
    # stopped.  The reason (409,1) is [UNCERTAIN].  Sending the current
    # value is accepted.
    if props.get('status') not in STOPPED_STATUSES:
        for field in sorted(v.PARTITION_STOP_ONLY & set(body)):
            if body[field] != props.get(field):
                raise err.conflict(
                    errors.WRONG_STATE,
                    "Property '%s' cannot be changed while partition %s "
                    "has status %s"
                    % (field, props['name'], props.get('status')))

    _check_memory(req, body.get('initial-memory', props.get('initial-memory')),
                  body.get('maximum-memory', props.get('maximum-memory')))
    _check_boot_device_feature(req, cpc, body)
    if 'name' in body:                                          # C3, D11
        check_unique_name(req, cpc.partitions.list(), body['name'],
                          'partition', this=partition)
    if 'partition-id' in body:                                  # C4
        _check_partition_id_unique(req, cpc, body['partition-id'],
                                   this=partition)

    # HMC rule D7: boot-storage-device is an HBA of this partition.
    # [UNCERTAIN] reason
    _check_own_element(sim, req, partition, 'boot-storage-device', 'hba',
                       'an HBA')
    # HMC rule D8: boot-storage-volume is a volume of a storage group
    # attached to this partition ([UNCERTAIN] whether the HMC checks this
    # at update time; we do, and with 400,7).
    sv_uri = body.get('boot-storage-volume')
    if sv_uri is not None:
        sv = sim.lookup(sv_uri)
        if sv is None:
            raise ref_not_found(req, 'boot-storage-volume', sv_uri)
        if sv.manager.class_value != 'storage-volume' or \
                sv.manager.parent.uri not in props.get('storage-group-uris',
                                                       []):
            raise err.bad_request(
                errors.INVALID_VALUE,
                "Field 'boot-storage-volume': %s is not a storage volume of "
                "a storage group attached to partition %s"
                % (sv_uri, props['name']))
    # HMC rule D9: boot-network-device is a NIC of this partition.
    _check_own_element(sim, req, partition, 'boot-network-device', 'nic',
                       'a NIC')

    sim.delegate(req, body)
    props['reserved-memory'] = \
        props.get('maximum-memory', 0) - props.get('initial-memory', 0)
    return None


def delete(sim, req):
    """Delete Partition (HMC rule E5)."""
    partition = get_partition(sim, req)
    # The HMC acts on the real status, not on one lagging behind a job.
    jobs.settle_lag(sim, partition.uri)
    props = partition.properties
    if props.get('status') not in STOPPED_STATUSES:
        raise req.err.conflict(
            errors.WRONG_STATE,
            "The operation cannot be performed because partition %s has "
            "status %s" % (props['name'], props.get('status')))
    # [UNCERTAIN] We let the delete detach the storage groups that are still
    # attached (their VSRs go away) rather than refuse it.
    for sg_uri in list(props.get('storage-group-uris', [])):
        sg = sim.lookup(sg_uri)
        if sg is not None:
            remove_vsrs(sg, partition)
    for nic in partition.nics.list():
        _disconnect_nic(sim, nic)
    partition.manager.remove(partition.oid)
    return None


def remove_vsrs(sg, partition):
    """Remove the VSRs of a storage group that belong to a partition."""
    for vsr in sg.virtual_storage_resources.list():
        if vsr.properties.get('partition-uri') == partition.uri:
            uris = sg.properties.get('virtual-storage-resource-uris', [])
            if vsr.uri in uris:
                uris.remove(vsr.uri)
            sg.virtual_storage_resources.remove(vsr.oid)


def _begin(sim, req, action, allowed_from):
    """Start or stop as a job, from a status that allows it (409 else)."""
    partition = get_partition(sim, req)
    # The HMC acts on the real status, not on one lagging behind a job.
    jobs.settle_lag(sim, partition.uri)
    status = partition.properties.get('status')
    if status not in allowed_from:
        # The message is the one a real HMC gave (ANS issue #474).
        raise req.err.conflict(
            errors.WRONG_STATE,
            "The partition is not in a valid state to perform the "
            "operation (status %s)" % status)
    return jobs.begin(sim, req, partition, action)


def start(sim, req):
    """Start Partition, asynchronous (HMC rules E2, E3, F1)."""
    return _begin(sim, req, 'start', START_FROM)


def stop(sim, req):
    """Stop Partition, asynchronous (HMC rules E4, F1)."""
    return _begin(sim, req, 'stop', STOP_FROM)


# ---------------------------------------------------------------------------
# HBA (HMC rules B3, G1-G4)
# ---------------------------------------------------------------------------

def _get_child(sim, req, partition, kind):
    child = sim.lookup('%s/%s/%s' % (partition.uri, kind, req.groups[1]))
    if child is None:
        raise req.err.not_found()
    return child


def hba_create(sim, req):
    partition = get_partition(sim, req)
    cpc = partition.manager.parent
    err = req.err
    body = req.body
    v.check_body_is_object(err, body)
    # HMC rule B3: no HBAs with the dpm-storage-management feature.  The
    # reason code is [UNCERTAIN].
    if storage_management_enabled(cpc):
        raise err.conflict(
            errors.WRONG_STATE,
            "HBAs are not supported on CPC %s because it has the "
            "dpm-storage-management firmware feature"
            % cpc.properties.get('name'))
    check_not_transitional(req, partition)                       # E6
    v.check_fields(err, body, v.HBA_CREATE, v.HBA_READ_ONLY)     # G3
    v.check_required(err, body, ('name', 'adapter-port-uri'))    # G1
    v.check_name(err, 'name', body['name'])
    if 'description' in body:
        v.check_description(err, body['description'])
    check_unique_name(req, partition.hbas.list(), body['name'], 'HBA')
    lookup_storage_port(sim, req, 'adapter-port-uri',
                        body['adapter-port-uri'], cpc)
    if 'device-number' in body:                                  # G2
        devno = check_devno(sim, req, partition, body['device-number'])
    else:
        devno = alloc_devno(sim, req, partition)
    new_body = dict(body)
    new_body['element-id'] = sim.new_id()
    new_body['device-number'] = devno
    new_body['wwpn'] = sim.new_wwpn()                            # G3
    new_body.setdefault('description', '')
    return sim.delegate(req, new_body)


def _checked_child_update(sim, req, kind, writable, read_only, label):
    """(partition, element, body) of an update of an HBA or a NIC.

    The checks every such update makes: a body object, a partition not in
    transition, only writable fields, a valid name unique among the
    partition's elements of ``kind`` ('hbas' or 'nics').
    """
    partition = get_partition(sim, req)
    element = _get_child(sim, req, partition, kind)
    body = req.body
    v.check_body_is_object(req.err, body)
    check_not_transitional(req, partition)
    v.check_fields(req.err, body, writable, read_only)
    if 'name' in body:
        v.check_name(req.err, 'name', body['name'])
        check_unique_name(req, getattr(partition, kind).list(), body['name'],
                          label, this=element)
    return partition, element, body


def hba_update(sim, req):
    # HMC rule G3 (wwpn) and G4 (adapter-port-uri) are not writable.
    partition, hba, body = _checked_child_update(
        sim, req, 'hbas', v.HBA_WRITABLE, v.HBA_READ_ONLY, 'HBA')
    if 'description' in body:
        v.check_description(req.err, body['description'])
    new_body = dict(body)
    if 'device-number' in body:
        new_body['device-number'] = check_devno(
            sim, req, partition, body['device-number'], exclude=hba)
    return sim.delegate(req, new_body)


def hba_delete(sim, req):
    partition = get_partition(sim, req)
    _get_child(sim, req, partition, 'hbas')
    check_not_transitional(req, partition)                       # E6
    return sim.delegate(req)


def hba_reassign(sim, req):
    partition = get_partition(sim, req)
    _get_child(sim, req, partition, 'hbas')
    check_not_transitional(req, partition)                       # E6
    v.check_body_is_object(req.err, req.body)
    v.check_fields(req.err, req.body, ('adapter-port-uri',))
    v.check_required(req.err, req.body, ('adapter-port-uri',))
    lookup_storage_port(sim, req, 'adapter-port-uri',
                        req.body['adapter-port-uri'],
                        partition.manager.parent)
    return sim.delegate(req)


# ---------------------------------------------------------------------------
# NIC (HMC rules H1-H5)
# ---------------------------------------------------------------------------

def _check_vlan(req, vlan_id, vlan_type, nic_type, needs_type=True):
    """HMC rule H3.  The range 1-4094 and the coupling are [UNCERTAIN].

    ``needs_type``: a vlan-id needs vlan-type (on z14 or later CPCs only,
    zhmccli nic create: versions.has_vlan_type).
    """
    err = req.err
    v.check_enum(err, 'vlan-type', vlan_type, ('enforced',), nullable=True)
    if vlan_id is None:
        return
    v.check_int(err, 'vlan-id', vlan_id, 1, 4094)
    if needs_type and vlan_type != 'enforced':
        raise err.bad_request(
            errors.INVALID_VALUE,
            "Field 'vlan-id' requires field 'vlan-type' to be 'enforced'")
    if nic_type not in CHANNEL_NIC_WIDTH:
        raise err.bad_request(
            errors.INVALID_VALUE,
            "Field 'vlan-id' is only valid for OSA and HiperSockets NICs")


def _nic_common_checks(req, body):
    err = req.err
    if 'description' in body:
        v.check_description(err, body['description'])
    if 'mac-address' in body:
        v.check_mac(err, 'mac-address', body['mac-address'])
    if 'ssc-management-nic' in body:
        v.check_bool(err, 'ssc-management-nic', body['ssc-management-nic'])


def _nic_backing(sim, req, partition, body):
    """The NIC type from the backing object (HMC rules H1, H5)."""
    err = req.err
    cpc = partition.manager.parent
    has_vswitch = 'virtual-switch-uri' in body
    has_port = 'network-adapter-port-uri' in body
    if has_vswitch and has_port:
        # [UNCERTAIN] reason
        raise err.bad_request(
            errors.EXACTLY_ONE,
            "Expected to find exactly one of the following fields in the "
            "document: 'virtual-switch-uri' or 'network-adapter-port-uri' "
            "but found more than one")
    if has_vswitch and network.network_express(cpc):
        # A CPC with network-express-support has no virtual switches; NICs
        # name their adapter port (see simulator/network.py for sources).
        # [UNCERTAIN] the status and reason code.
        raise err.bad_request(
            errors.INVALID_VALUE,
            "Field 'virtual-switch-uri': CPC %s has no virtual switches "
            "(API feature %s); specify 'network-adapter-port-uri'"
            % (cpc.properties.get('name'), network.NETWORK_EXPRESS_FEATURE))
    if has_vswitch:
        uri = body['virtual-switch-uri']
        v.check_string(err, 'virtual-switch-uri', uri)
        vswitch = sim.lookup(uri)
        if vswitch is None or \
                vswitch.manager.class_value != 'virtual-switch' or \
                vswitch.manager.parent is not cpc:
            raise ref_not_found(req, 'virtual-switch-uri', uri)
        vs_type = vswitch.properties.get('type', 'osd')
        return 'iqd' if vs_type == 'hipersockets' else vs_type
    if has_port:
        uri = body['network-adapter-port-uri']
        v.check_string(err, 'network-adapter-port-uri', uri)
        m = re.match(r'^(/api/adapters/[^/]+)/network-ports/[^/]+$', uri)
        adapter = sim.lookup(m.group(1)) if m else None
        if adapter is None or adapter.manager.parent is not cpc:
            raise ref_not_found(req, 'network-adapter-port-uri', uri)
        if sim.lookup(uri) is None:
            raise req.err.not_found(
                "Field 'network-adapter-port-uri': the port %s does not "
                "exist" % uri, reason=6)
        return network.port_nic_type(req, adapter, body, cpc)
    raise err.bad_request(
        errors.MISSING_FIELD,
        "Missing required field in request body: 'virtual-switch-uri' or "
        "'network-adapter-port-uri'")


def nic_create(sim, req):
    partition = get_partition(sim, req)
    err = req.err
    body = req.body
    v.check_body_is_object(err, body)
    check_not_transitional(req, partition)                       # E6
    if network.network_express(partition.manager.parent):
        # HMC rule H4: 'type' is creatable with network-express-support.
        v.check_fields(err, body, v.NIC_CREATE | {'type'})
    else:
        v.check_fields(err, body, v.NIC_CREATE, v.NIC_READ_ONLY)  # H4
    v.check_required(err, body, ('name',))                       # H1
    v.check_name(err, 'name', body['name'])
    check_unique_name(req, partition.nics.list(), body['name'], 'NIC')
    _nic_common_checks(req, body)
    nic_type = _nic_backing(sim, req, partition, body)
    _check_vlan(req, body.get('vlan-id'), body.get('vlan-type'), nic_type,
                versions.has_vlan_type(sim, req.path))
    width = _nic_width(nic_type)
    space = _nic_space(nic_type)
    new_body = dict(body)
    new_body['element-id'] = sim.new_id()
    if 'device-number' in body:                                  # H2
        new_body['device-number'] = check_devno(
            sim, req, partition, body['device-number'], width, space)
    else:
        new_body['device-number'] = alloc_devno(sim, req, partition, width,
                                                space)
    # The mock has no device-number pool worth the name and no MAC address.
    new_body.setdefault('mac-address', sim.new_mac())
    new_body['type'] = nic_type
    new_body.setdefault('description', '')
    new_body.setdefault('vlan-id', None)
    new_body.setdefault('vlan-type', None)
    result = sim.delegate(req, new_body)
    # What the HMC's API version does not have yet.
    versions.strip_later_properties(
        sim, sim.lookup(result['element-uri']).properties,
        versions.LATER_NIC_PROPERTIES)
    return result


def nic_update(sim, req):
    partition, nic, body = _checked_child_update(
        sim, req, 'nics', v.NIC_WRITABLE, v.NIC_READ_ONLY, 'NIC')
    _nic_common_checks(req, body)
    nic_type = nic.properties.get('type')
    if 'vlan-id' in body or 'vlan-type' in body:
        _check_vlan(req,
                    body.get('vlan-id', nic.properties.get('vlan-id')),
                    body.get('vlan-type', nic.properties.get('vlan-type')),
                    nic_type, versions.has_vlan_type(sim, req.path))
    new_body = dict(body)
    if 'device-number' in body:
        new_body['device-number'] = check_devno(
            sim, req, partition, body['device-number'], _nic_width(nic_type),
            _nic_space(nic_type), exclude=nic)
    return sim.delegate(req, new_body)


def _disconnect_nic(sim, nic):
    vswitch = sim.lookup(nic.properties.get('virtual-switch-uri') or '')
    if vswitch is not None:
        uris = vswitch.properties.get('connected-vnic-uris', [])
        if nic.uri in uris:
            uris.remove(nic.uri)


def nic_delete(sim, req):
    partition = get_partition(sim, req)
    nic = _get_child(sim, req, partition, 'nics')
    check_not_transitional(req, partition)                       # E6
    result = sim.delegate(req)
    # The mock leaves the NIC in the virtual switch's connected-vnic-uris.
    _disconnect_nic(sim, nic)
    return result
