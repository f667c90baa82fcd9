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

"""DPM storage management: storage groups, volumes and VSRs.

HMC rules B3, I1-I6, J1-J2, K1-K4 and L1.  The mock only lists and shows
these objects; creation, modification, deletion, attach/detach,
fulfillment, FCP storage discovery and the acceptance of mismatched
volumes are implemented here.

How a z14-ZR1 or later HMC brings an FCP storage group to life:

* A new FCP group has its WWPNs at once, ``connectivity`` per partition
  it may be attached to, in ``unassigned-world-wide-port-names``, each
  with status 'not-validated' (IBM: Attach Storage Group to Partition
  speaks of "the status of the unassigned worldwide port names of the
  storage group").
* Attach (IBM: Attach Storage Group to Partition) turns ``connectivity``
  of them into VSRs.  A WWPN that is 'validated' keeps the storage port it
  was verified on; a 'not-validated' one gives a VSR *without* a storage
  port ("a storage port is assigned to the virtual storage resource
  later, when DPM successfully verifies connectivity").
* FCP storage discovery (:func:`discover`) validates a VSR's WWPN only
  through the group's defined volumes (IBM: Attach Storage Group to
  Partition: a storage port is assigned "when DPM successfully verifies
  connectivity to the defined storage volumes"): the SAN (san.py) must
  show the WWPN the target WWPN and LUN of a fulfilled volume, or, while
  a volume waits for its LUN, any LUN.  A group without volumes never
  validates a WWPN.  [INFER] the harsher reading: which LUN verifies an
  unfulfilled volume is not published.  Discovery runs when a client
  starts it (IBM: Start FCP Storage Discovery; the job takes
  ``transition_time``) and periodically otherwise (every
  ``discovery_interval`` seconds of the SAN definition; zhmcclient's
  get_connection_report: "regularly every 10 minutes").
* Candidate adapter ports can only be added before a WWPN of the group is
  validated (IBM: Add Candidate Adapter Ports to an FCP Storage Group).
* A fulfilled volume is 'complete' at once (zhmcclient
  StorageVolume.indicate_fulfillment_fcp: after Fulfill its
  fulfillment-state "will have been set to complete"), whether or not a
  path shows it yet; its ``paths`` list the validated VSRs that do.
* While a discovery runs (started, or the periodic check) the group is
  busy: Modify Storage Group Properties, Fulfill FCP Storage Volume and
  Accept Mismatched Storage Volumes answer 409,2 (IBM: Accept Mismatched
  Storage Volumes answers 409 while the group is busy; [INFER] the other
  two alike, and reason 2, "busy", of the common reason codes).
* A data volume is completed by discovery: a visible LUN that no volume of
  the group claims is paired with a pending data volume, one of the same
  size first, else the oldest one.  [INFER] the pairing rule.
* A volume whose LUN has another size than the one defined becomes
  'pending-with-mismatches' (its ``active-size`` tells the size found)
  until Accept Mismatched Storage Volumes (IBM page of that name).
  [INFER] which size difference the HMC flags: any.
* A group is 'complete' when it has volumes and all are 'complete',
  'pending-with-mismatches' when one is (IBM: Storage Group data model,
  fulfillment-state), else 'pending' (HMC rule I4).  The reset to
  'pending' on a change of connectivity or max-partitions is not
  simulated.
* A found volume that some of the group's VSRs reach and others do not
  (their WWPN not validated, or the SAN not showing them the LUN) becomes
  'incomplete' at a discovery, and 'complete' again at the discovery that
  finds every VSR reaching it (IBM: The Storage Group details page names
  the state).  [INFER] the rule.
* 'overprovisioned' is never produced: no source we have says what it
  means.  Accept Mismatched Storage Volumes takes it as well as
  'pending-with-mismatches' [INFER], as the driver reads it (a LUN larger
  than defined).
* FCP storage discovery runs periodically, every ``discovery_interval``
  seconds (IBM: The Storage Group details page: "every 10 minutes" for a
  group that is not complete); Start FCP Storage Discovery exists from
  HMC 2.14.1 (API 2.37) and SE 2.14.1 only (versions.py).
"""

import re
import time
import uuid

from nova_dpm.simulator import errors
from nova_dpm.simulator import jobs
from nova_dpm.simulator import partitions as part
from nova_dpm.simulator import validation as v

# [UNCERTAIN] default connectivity of a new FCP storage group.
DEFAULT_CONNECTIVITY = 2

# Statuses of a WWPN (world-wide-port-name-info, unassigned WWPNs).
VALIDATED = 'validated'
NOT_VALIDATED = 'not-validated'
# Volume fulfillment states (HMC rule I4).
COMPLETE = 'complete'
PENDING = 'pending'
MISMATCHED = 'pending-with-mismatches'
INCOMPLETE = 'incomplete'
# [INFER] sizes closer than this (GiB) are the same size.
SIZE_TOLERANCE = 1e-6


def _console(sim):
    return sim.faked.consoles.console


def get_storage_group(sim, req):
    sg = sim.lookup('/api/storage-groups/' + req.groups[0])
    if sg is None:
        raise req.err.not_found()
    return sg


def attached_partitions(sim, sg):
    result = []
    for cpc in sim.cpcs():
        for partition in cpc.partitions.list():
            if sg.uri in partition.properties.get('storage-group-uris', []):
                result.append(partition)
    return result


def _same_cpc_groups(sim, cpc_uri):
    return [sg for sg in _console(sim).storage_groups.list()
            if sg.properties.get('cpc-uri') == cpc_uri]


def _check_group_props(sim, req, body, sg_type, this=None):
    """Value checks shared by create and modify (HMC rules I1, I2)."""
    err = req.err
    if 'name' in body:
        v.check_name(err, 'name', body['name'])
    if 'description' in body:
        v.check_description(err, body['description'],
                            v.SG_DESCRIPTION_MAX)               # A6
    if 'shared' in body:
        v.check_bool(err, 'shared', body['shared'])
    if 'connectivity' in body:
        v.check_int(err, 'connectivity', body['connectivity'], 1, 64)
    for field in ('max-partitions', 'direct-connection-count'):
        if field in body and sg_type != 'fcp':
            # HMC rule I1: only for FCP storage groups.
            raise err.bad_request(
                errors.INVALID_VALUE,
                "Field '%s' is only valid for storage groups of type fcp"
                % field)
    if 'max-partitions' in body:
        v.check_int(err, 'max-partitions', body['max-partitions'], 1, 1000)
    if 'direct-connection-count' in body:
        v.check_int(err, 'direct-connection-count',
                    body['direct-connection-count'], 0, 1000)
    for field in ('email-to-addresses', 'email-cc-addresses'):
        if field in body and body[field] is not None and (
                not isinstance(body[field], list) or
                not all(isinstance(a, str) for a in body[field])):
            raise err.bad_request(
                errors.INVALID_VALUE,
                "Field '%s' must be an array of strings" % field)
    if 'email-insert' in body:
        v.check_string(err, 'email-insert', body['email-insert'],
                       nullable=True)


def _check_shared(req, shared, max_partitions, sg_type):
    # HMC rule I2: shared must be false for nvme and for max-partitions=1.
    # The reason code is [UNCERTAIN].
    if shared and (sg_type == 'nvme' or max_partitions == 1):
        raise req.err.bad_request(
            errors.INVALID_VALUE,
            "Field 'shared' must be false when type is nvme or "
            "max-partitions is 1")


def _check_volume_requests(sim, req, sg_type, requests, sg=None,
                           create_only=False):
    """Validate storage-volumes request-info objects (HMC rule J1)."""
    err = req.err
    if not isinstance(requests, list):
        raise err.bad_request(
            errors.INVALID_VALUE,
            "Field 'storage-volumes' is not the expected type. Expected an "
            "array")
    names = set(sv.properties.get('name')
                for sv in (sg.storage_volumes.list() if sg else []))
    for item in requests:
        v.check_body_is_object(err, item)
        v.check_fields(err, item, v.SV_FIELDS)
        v.check_required(err, item, ('operation',))
        operation = item['operation']
        allowed = ('create',) if create_only else \
            ('create', 'modify', 'delete')
        v.check_enum(err, 'operation', operation, allowed)
        if operation == 'create':
            if 'element-uri' in item:
                raise err.bad_request(
                    errors.INVALID_VALUE,
                    "Field 'element-uri' is not valid for the create "
                    "operation")
            if sg_type == 'fcp':
                # [INFER] an FCP volume needs its size.
                v.check_required(err, item, ('size',))
        else:
            v.check_required(err, item, ('element-uri',))
            sv = sim.lookup(item['element-uri'])
            if sv is None or sg is None or sv.manager.parent is not sg:
                raise part.ref_not_found(req, 'element-uri',
                                         item['element-uri'])
        if 'size' in item:
            v.check_number(err, 'size', item['size'], lo=0.01)
        if 'usage' in item:
            v.check_enum(err, 'usage', item['usage'], v.SV_USAGES)
        if 'description' in item:
            v.check_description(err, item['description'])
        if 'name' in item:
            v.check_name(err, 'name', item['name'])
            # [UNCERTAIN] volume names are unique within their group.
            if item['name'] in names:
                raise err.bad_request(
                    errors.DUPLICATE,
                    "The name '%s' is already used by another storage "
                    "volume of the storage group" % item['name'])
            names.add(item['name'])


def _create_volume(sim, sg, item):
    props = dict(item)
    props.pop('operation', None)
    props['element-id'] = sim.new_id()
    props.setdefault('name', '%s_vol%d' % (sg.properties['name'],
                                           sim.serial()))
    props.setdefault('description', '')
    props.setdefault('usage', 'data')                            # J1
    props['fulfillment-state'] = PENDING                         # I4
    props['active-size'] = None
    props['uuid'] = None
    props['paths'] = []
    return sg.storage_volumes.add(props)


def _delete_volume(sim, sg, sv):
    uris = sg.properties.get('storage-volume-uris', [])
    if sv.uri in uris:
        uris.remove(sv.uri)
    sim.volume_targets.pop(sv.uri, None)
    sg.storage_volumes.remove(sv.oid)


def check_not_busy(sim, req, sg):
    """409,2 while a discovery of the group runs (see the docstring)."""
    if sg.uri in sim.discoveries:
        raise req.err.conflict(
            errors.BUSY,
            "Storage group %s is busy: FCP storage discovery is running"
            % sg.properties['name'])


def _wwpn_info(vsr):
    return vsr.properties.get('world-wide-port-name-info') or {}


def _validated(vsr):
    return (_wwpn_info(vsr).get('status') == VALIDATED and
            bool(vsr.properties.get('adapter-port-uri')))


def _complete_volume(sim, sv, size_seen):
    """A volume whose LUN was found: complete, or mismatched in size."""
    sv.properties['active-size'] = size_seen
    defined = sv.properties.get('size')
    if defined is not None and abs(float(defined) - size_seen) > \
            SIZE_TOLERANCE:
        sv.properties['fulfillment-state'] = MISMATCHED
    else:
        sv.properties['fulfillment-state'] = COMPLETE
    if not sv.properties.get('uuid'):
        # Real volumes carry a 32 upper-case hex uuid (HMC rule J2).
        sv.properties['uuid'] = uuid.uuid4().hex.upper()


def _size_through(sim, sg, target, port_uri=None, defined=None):
    """Size of the target's LUN seen by a validated VSR of the group.

    ``target``: dict(wwpn, lun); ``port_uri``: only VSRs on that port;
    ``defined``: the volume's defined size (what an open SAN shows).
    None if no validated VSR sees it.
    """
    for vsr in sg.virtual_storage_resources.list():
        if not _validated(vsr):
            continue
        if port_uri and vsr.properties.get('adapter-port-uri') != port_uri:
            continue
        size = sim.san.size_seen(vsr.properties['world-wide-port-name'],
                                 target['wwpn'], target['lun'], defined)
        if size is not None:
            return size
    return None


def _fulfil(sim, sg, sv, wwpn, lun, port_uri):
    """Fulfill: complete at once (zhmcclient indicate_fulfillment_fcp).

    ``active-size`` is the LUN's size where a validated VSR on the port
    shows it, else the defined size.
    """
    target = {'wwpn': wwpn, 'lun': lun, 'adapter-port-uri': port_uri}
    sim.volume_targets[sv.uri] = target
    defined = sv.properties.get('size')
    size = _size_through(sim, sg, target, port_uri, defined)
    sv.properties['active-size'] = size if size is not None else defined
    sv.properties['fulfillment-state'] = COMPLETE
    if not sv.properties.get('uuid'):
        sv.properties['uuid'] = uuid.uuid4().hex.upper()


def _judge_paths(sim, sg):
    """At a discovery: 'incomplete' for a found volume some VSRs miss.

    [INFER] found on some of the group's paths, not on all (IBM: The
    Storage Group details page lists the state; the rule that makes it
    is not published).
    """
    total = len(sg.virtual_storage_resources.list())
    for sv in sg.storage_volumes.list():
        found = len(sv.properties['paths'])
        if sv.uri in sim.volume_targets and found and sv.properties.get(
                'fulfillment-state') in (COMPLETE, INCOMPLETE):
            sv.properties['fulfillment-state'] = (
                INCOMPLETE if found < total else COMPLETE)


def refresh(sim, sg):
    """Recompute the volumes' paths and the group's state."""
    vsrs = [v for v in sg.virtual_storage_resources.list() if _validated(v)]
    volumes = sg.storage_volumes.list()
    for sv in volumes:
        target = sim.volume_targets.get(sv.uri)
        paths = []
        if target and sv.properties.get('fulfillment-state') in (
                COMPLETE, MISMATCHED, INCOMPLETE):
            for vsr in vsrs:
                if sim.san.size_seen(vsr.properties['world-wide-port-name'],
                                     target['wwpn'], target['lun'],
                                     sv.properties.get('size')) is None:
                    continue
                paths.append({
                    'device-number': vsr.properties.get('device-number'),
                    'logical-unit-number': target['lun'],
                    'partition-uri': vsr.properties.get('partition-uri'),
                    'target-world-wide-port-name': target['wwpn'],
                })
        sv.properties['paths'] = paths
    states = [sv.properties.get('fulfillment-state') for sv in volumes]
    if MISMATCHED in states:
        state = MISMATCHED
    elif states and all(s == COMPLETE for s in states):
        state = COMPLETE
    else:
        state = PENDING
    sg.properties['fulfillment-state'] = state


# ---------------------------------------------------------------------------
# FCP storage discovery
# ---------------------------------------------------------------------------

def _storage_ports(sim, cpc_uri):
    cpc = sim.lookup(cpc_uri)
    result = []
    for adapter in cpc.adapters.list() if cpc is not None else []:
        if adapter.properties.get('type') == 'fcp':
            result.extend(p.uri for p in adapter.ports.list())
    return result


def _choose_port(sim, sg, vsr):
    """The storage port discovery puts a newly validated VSR on.

    [INFER] DPM spreads a partition's paths over different ports and
    balances the ports' load: a port no other VSR of the same partition in
    this group uses, then the port with the fewest VSRs on the CPC, then
    the candidate list's order.  Without candidate ports, every FCP port
    of the CPC is a candidate ("all adapter ports in the group are
    automatically detected", IBM: Add Candidate Adapter Ports).
    """
    cpc_uri = sg.properties.get('cpc-uri')
    ports = list(sg.properties.get('candidate-adapter-port-uris') or []) or \
        _storage_ports(sim, cpc_uri)
    if not ports:
        return None
    partition = vsr.properties.get('partition-uri')
    siblings = {v.properties.get('adapter-port-uri')
                for v in sg.virtual_storage_resources.list()
                if v is not vsr and
                v.properties.get('partition-uri') == partition}
    load = {}
    for group in _same_cpc_groups(sim, cpc_uri):
        for other in group.virtual_storage_resources.list():
            port = other.properties.get('adapter-port-uri')
            load[port] = load.get(port, 0) + 1
    return min(ports, key=lambda p: (p in siblings, load.get(p, 0),
                                     ports.index(p)))


def _sees_defined_volume(sim, sg, wwpn):
    """Whether the WWPN reaches a volume defined in the group.

    A fulfilled volume through its target WWPN and LUN; while a volume
    waits for its LUN, any LUN the SAN shows the WWPN ([INFER]). No
    volume, no validation (IBM: Attach Storage Group to Partition).
    """
    waiting = False
    for sv in sg.storage_volumes.list():
        target = sim.volume_targets.get(sv.uri)
        if target is None:
            waiting = True
        elif sim.san.size_seen(wwpn, target['wwpn'], target['lun'],
                               sv.properties.get('size')) is not None:
            return True
    return waiting and sim.san.sees_any(wwpn)


def _validate_paths(sim, sg):
    """Validate the WWPNs of the VSRs that reach a defined volume."""
    for vsr in sg.virtual_storage_resources.list():
        if _validated(vsr):
            continue
        wwpn = vsr.properties['world-wide-port-name']
        if not _sees_defined_volume(sim, sg, wwpn):
            continue
        port = _choose_port(sim, sg, vsr)
        if port is None:
            continue
        vsr.properties['adapter-port-uri'] = port
        vsr.properties['world-wide-port-name-info'] = {
            'status': VALIDATED, 'world-wide-port-name': wwpn}
        sim.wwpn_ports[wwpn] = port


def _visible_luns(sim, sg):
    """{lun: (target, size)} of the LUNs the validated VSRs see."""
    luns = {}
    for vsr in sg.virtual_storage_resources.list():
        if not _validated(vsr):
            continue
        for target, lun, size in sim.san.visible(
                vsr.properties['world-wide-port-name']):
            luns.setdefault(lun, (target, size))
    return luns


def discover(sim, sg):
    """One FCP storage discovery of a storage group (see the docstring)."""
    if sg.properties.get('type') != 'fcp':
        return
    _validate_paths(sim, sg)
    volumes = sg.storage_volumes.list()
    # Data volumes: pair the LUNs nobody claims with pending definitions.
    claimed = {t['lun'] for t in (sim.volume_targets.get(sv.uri)
                                  for sv in volumes) if t}
    free = [(lun, target, size) for lun, (target, size)
            in sorted(_visible_luns(sim, sg).items()) if lun not in claimed]
    waiting = [sv for sv in volumes
               if sv.properties.get('usage', 'data') == 'data' and
               sv.uri not in sim.volume_targets and
               sv.properties.get('fulfillment-state') == PENDING]

    def pair(sv, lun, target, size):
        sim.volume_targets[sv.uri] = {'wwpn': target, 'lun': lun,
                                      'adapter-port-uri': None}
        _complete_volume(sim, sv, size)
        waiting.remove(sv)

    for lun, target, size in list(free):
        same = next((sv for sv in waiting
                     if abs(float(sv.properties.get('size') or 0) - size) <=
                     SIZE_TOLERANCE), None)
        if same is not None:
            pair(same, lun, target, size)
            free.remove((lun, target, size))
    for (lun, target, size), sv in list(zip(free, list(waiting))):
        pair(sv, lun, target, size)
    if sim.san.open and any(_validated(v) for v in
                            sg.virtual_storage_resources.list()):
        # An open SAN has a LUN for every data volume.
        for sv in list(waiting):
            pair(sv, '%016x' % (0x4000000000000000 + sim.serial()),
                 sim.san.any_target(),
                 float(sv.properties.get('size') or 1.0))
    refresh(sim, sg)
    _judge_paths(sim, sg)
    refresh(sim, sg)
    # The connection report's time (IBM: Get Connection Report,
    # last-scan-time: milliseconds since the epoch).
    sim.last_scans[sg.uri] = int(time.time() * 1000)


def advance(sim, now):
    """End the discoveries that are due; run the periodic ones."""
    for sg_uri, run in list(sim.discoveries.items()):
        if run['end'] > now:
            continue
        del sim.discoveries[sg_uri]
        sg = sim.lookup(sg_uri)
        ended = [sim.jobs[j] for j in run['jobs'] if j in sim.jobs]
        if sg is None:
            for job in ended:
                jobs.finish(job, 404, errors.NOT_FOUND,
                            "The storage group no longer exists")
            continue
        discover(sim, sg)
        sim.discovery_due[sg_uri] = now + sim.san.discovery_interval
        for job in ended:
            jobs.finish(job, 204)
    for sg_uri, due in list(sim.discovery_due.items()):
        if due > now:
            continue
        sg = sim.lookup(sg_uri)
        if sg is None:
            del sim.discovery_due[sg_uri]
            continue
        discover(sim, sg)
        sim.discovery_due[sg_uri] = now + sim.san.discovery_interval


def sg_discover(sim, req):
    """Start FCP Storage Discovery (IBM page of that name), asynchronous.

    The job ends after ``transition_time`` seconds; its results are in the
    group's VSRs and volumes then.  The job cannot be canceled
    (zhmcclient's StorageGroup.discover_fcp).
    """
    sg = get_storage_group(sim, req)
    err = req.err
    body = req.body or {}
    v.check_body_is_object(err, body)
    v.check_fields(err, body, ('force-restart',))
    if 'force-restart' in body:
        v.check_bool(err, 'force-restart', body['force-restart'])
    if sg.properties.get('type') != 'fcp':
        # [UNCERTAIN] reason code
        raise err.conflict(errors.WRONG_STATE,
                           "The storage group is not of type fcp")
    end = sim.now() + sim.transition_time
    running = sim.discoveries.get(sg.uri)
    if running is not None and not body.get('force-restart'):
        # The discovery in progress answers this request too.
        end = running['end']
    job = jobs.new_job(sim, req, end, cancelable=False)
    if running is None:
        running = sim.discoveries[sg.uri] = {'jobs': [], 'end': end}
    running['jobs'].append(job['id'])
    running['end'] = end
    for other in running['jobs']:
        if other in sim.jobs:
            sim.jobs[other]['end'] = end
    return {'job-uri': job['uri']}


def sg_connection_report(sim, req):
    """Get Connection Report (IBM page of that name).

    The report of an FCP group exists once a discovery has completed
    (409,1 before: [INFER] the answer is not documented). It holds
    ``last-scan-time``, ``storage-group-uri``, ``fcp-fabrics`` and
    ``fcp-storage-subsystems``, each subsystem with its
    ``storage-configurations`` and their ``volumes-configuration-status``
    (zhmcclient StorageGroup.get_connection_report names the field and
    the value "correct-volumes"). [INFER] the rest: one subsystem per
    storage system whose target WWPNs a VSR's WWPN sees, one
    configuration per such WWPN, status "correct-volumes" when it sees
    the LUN of every fulfilled volume, else "incorrect-volumes"; the
    subsystem's ``name``; ``fcp-fabrics`` empty.
    """
    sg = get_storage_group(sim, req)
    if sg.properties.get('type') != 'fcp' or sg.uri not in sim.last_scans:
        raise req.err.conflict(
            errors.WRONG_STATE,
            "Storage group %s has no connection report: no FCP storage "
            "discovery has completed" % sg.properties['name'])
    targets = [t for t in (sim.volume_targets.get(sv.uri)
                           for sv in sg.storage_volumes.list()) if t]
    systems = {}
    for vsr in sg.virtual_storage_resources.list():
        wwpn = vsr.properties['world-wide-port-name']
        seen = sim.san.visible(wwpn)
        for system in sorted({sim.san.targets.get(t, '') for t, _l, _s
                              in seen}):
            correct = all(sim.san.size_seen(wwpn, t['wwpn'], t['lun'])
                          is not None for t in targets)
            systems.setdefault(system, []).append({
                'world-wide-port-name': wwpn,
                'volumes-configuration-status':
                    'correct-volumes' if correct else 'incorrect-volumes'})
    return {
        'last-scan-time': sim.last_scans[sg.uri],
        'storage-group-uri': sg.uri,
        'fcp-fabrics': [],
        'fcp-storage-subsystems': [
            {'name': name, 'storage-configurations': configs}
            for name, configs in sorted(systems.items())],
    }


def sg_accept_mismatched(sim, req):
    """Accept Mismatched Storage Volumes (IBM page of that name)."""
    sg = get_storage_group(sim, req)
    err = req.err
    body = req.body
    v.check_body_is_object(err, body)
    v.check_fields(err, body, ('storage-volume-uris',))
    v.check_required(err, body, ('storage-volume-uris',))
    uris = body['storage-volume-uris']
    if not isinstance(uris, list) or \
            not all(isinstance(u, str) for u in uris):
        raise err.bad_request(
            errors.INVALID_VALUE,
            "Field 'storage-volume-uris' is not the expected type. Expected "
            "an array of strings")
    if sg.properties.get('type') not in ('fcp', 'nvme'):
        raise err.not_found("The storage group is not of type fcp or nvme")
    volumes = []
    for uri in uris:
        sv = sim.lookup(uri)
        if sv is None or sv.manager.class_value != 'storage-volume' or \
                sv.manager.parent is not sg:
            raise err.not_found("%s is not a storage volume of storage "
                                "group %s" % (uri, sg.properties['name']))
        volumes.append(sv)
    for sv in volumes:
        state = sv.properties.get('fulfillment-state')
        if state not in (MISMATCHED, 'overprovisioned'):
            # [UNCERTAIN] reason code
            raise err.conflict(
                errors.WRONG_STATE,
                "Storage volume %s has fulfillment state %s, not "
                "pending-with-mismatches or overprovisioned"
                % (sv.properties.get('name'), state))
    check_not_busy(sim, req, sg)
    for sv in volumes:
        sv.properties['fulfillment-state'] = COMPLETE
    refresh(sim, sg)
    return None


# ---------------------------------------------------------------------------
# Storage group operations
# ---------------------------------------------------------------------------

def sg_create(sim, req):
    """Create Storage Group (HMC rules I1-I3, J1)."""
    err = req.err
    body = req.body
    v.check_body_is_object(err, body)
    v.check_fields(err, body, v.SG_CREATE,
                   v.SG_READ_ONLY - {'cpc-uri', 'type'})
    v.check_required(err, body, ('cpc-uri', 'name', 'type'))     # I1
    cpc = sim.lookup(body['cpc-uri']) if isinstance(
        body['cpc-uri'], str) else None
    if cpc is None or cpc.manager.class_value != 'cpc':
        raise part.ref_not_found(req, 'cpc-uri', body['cpc-uri'])
    part.check_cpc(req, cpc)
    # HMC rule B3: storage groups need dpm-storage-management.  The reason
    # code is [UNCERTAIN].
    if not part.storage_management_enabled(cpc):
        raise err.conflict(
            errors.WRONG_STATE,
            "CPC %s does not have the dpm-storage-management feature"
            % cpc.properties.get('name'))
    v.check_enum(err, 'type', body['type'], v.SG_TYPES)          # I1
    sg_type = body['type']
    _check_group_props(sim, req, body, sg_type)
    shared = body.get('shared', True)                            # I1
    _check_shared(req, shared, body.get('max-partitions'), sg_type)
    # HMC rule I3 [UNCERTAIN]: names are unique per CPC.
    part.check_unique_name(req, _same_cpc_groups(sim, cpc.uri),
                           body['name'], 'storage group')
    volume_requests = body.get('storage-volumes', [])
    _check_volume_requests(sim, req, sg_type, volume_requests,
                           create_only=True)

    props = {
        'object-id': sim.new_id(),
        'cpc-uri': cpc.uri,
        'name': body['name'],
        'description': body.get('description', ''),
        'type': sg_type,
        'shared': shared,
        'fulfillment-state': 'pending',
        'storage-volume-uris': [],
        'virtual-storage-resource-uris': [],
        'unassigned-world-wide-port-names': [],
        'candidate-adapter-port-uris': [],
    }
    if sg_type == 'fcp':
        props['connectivity'] = body.get('connectivity',
                                         DEFAULT_CONNECTIVITY)
        props['direct-connection-count'] = \
            body.get('direct-connection-count', 0)
        if 'max-partitions' in body:
            props['max-partitions'] = body['max-partitions']
    elif 'connectivity' in body:
        props['connectivity'] = body['connectivity']
    if sg_type == 'fcp':
        # The group's WWPNs exist from the start, not validated (IBM:
        # Attach Storage Group to Partition).  [INFER] connectivity WWPNs
        # for each partition the group may be attached to (one without
        # max-partitions); attach makes more when they run out.
        props['unassigned-world-wide-port-names'] = [
            {'world-wide-port-name': sim.new_wwpn(), 'status': NOT_VALIDATED}
            for _ in range(props['connectivity'] *
                           props.get('max-partitions', 1))]
    sg = _console(sim).storage_groups.add(props)
    uris = [_create_volume(sim, sg, item).uri for item in volume_requests]
    if sg_type == 'fcp':
        sim.discovery_due[sg.uri] = sim.now() + sim.san.discovery_interval
    refresh(sim, sg)
    return {'object-uri': sg.uri, 'element-uris': uris}


def sg_modify(sim, req):
    """Modify Storage Group Properties (HMC rules I2, I4, J1)."""
    sg = get_storage_group(sim, req)
    props = sg.properties
    err = req.err
    body = req.body
    v.check_body_is_object(err, body)
    v.check_fields(err, body, v.SG_MODIFY, v.SG_READ_ONLY)
    sg_type = props.get('type')
    _check_group_props(sim, req, body, sg_type)
    if 'name' in body:
        part.check_unique_name(
            req, _same_cpc_groups(sim, props.get('cpc-uri')), body['name'],
            'storage group', this=sg)
    shared = body.get('shared', props.get('shared'))
    max_partitions = body.get('max-partitions', props.get('max-partitions'))
    _check_shared(req, shared, max_partitions, sg_type)
    n_attached = len(attached_partitions(sim, sg))
    # HMC rule I2: shared cannot become false while attached to more than
    # one partition (409,1 [UNCERTAIN]); nor can max-partitions drop below
    # the number of attachments ([INFER]).
    if not shared and n_attached > 1:
        raise err.conflict(
            errors.WRONG_STATE,
            "Field 'shared' cannot be false while the storage group is "
            "attached to %d partitions" % n_attached)
    if max_partitions is not None and n_attached > max_partitions:
        raise err.conflict(
            errors.WRONG_STATE,
            "Field 'max-partitions' cannot be less than the %d partitions "
            "the storage group is attached to" % n_attached)
    volume_requests = body.get('storage-volumes', [])
    _check_volume_requests(sim, req, sg_type, volume_requests, sg=sg)
    check_not_busy(sim, req, sg)

    for field in ('name', 'description', 'shared', 'connectivity',
                  'max-partitions', 'direct-connection-count'):
        if field in body:
            props[field] = body[field]
    uris = []
    for item in volume_requests:
        if item['operation'] == 'create':
            uris.append(_create_volume(sim, sg, item).uri)
            continue
        sv = sim.lookup(item['element-uri'])
        if item['operation'] == 'delete':
            _delete_volume(sim, sg, sv)
        else:
            for field in ('name', 'description', 'size', 'usage', 'model',
                          'cylinders', 'device-number'):
                if field in item:
                    sv.properties[field] = item[field]
    refresh(sim, sg)
    return {'element-uris': uris}


def sg_delete(sim, req):
    """Delete Storage Group (HMC rule I5)."""
    sg = get_storage_group(sim, req)
    body = req.body or {}
    v.check_body_is_object(req.err, body)
    v.check_fields(req.err, body, ('email-to-addresses',
                                   'email-cc-addresses', 'email-insert'))
    attached = attached_partitions(sim, sg)
    if attached:
        # [INFER] clients detach before they delete.
        raise req.err.conflict(
            errors.WRONG_STATE,
            "Storage group %s is attached to partition(s) %s"
            % (sg.properties['name'],
               ', '.join(p.properties['name'] for p in attached)))
    for sv in sg.storage_volumes.list():
        _delete_volume(sim, sg, sv)
    for vsr in sg.virtual_storage_resources.list():
        sg.virtual_storage_resources.remove(vsr.oid)
    sim.discovery_due.pop(sg.uri, None)
    sim.last_scans.pop(sg.uri, None)
    sg.manager.remove(sg.oid)
    return None


def sg_partitions(sim, req):
    """Get Partitions for a Storage Group."""
    sg = get_storage_group(sim, req)
    query = {}
    if '?' in req.uri:
        for item in req.uri.split('?', 1)[1].split('&'):
            if '=' in item:
                key, value = item.split('=', 1)
                query[key] = value
    result = []
    for partition in attached_partitions(sim, sg):
        props = partition.properties
        if 'name' in query and not re.match(query['name'] + '$',
                                            props.get('name', '')):
            continue
        if 'status' in query and props.get('status') != query['status']:
            continue
        result.append({'object-uri': partition.uri,
                       'object-id': partition.oid,
                       'name': props.get('name'),
                       'status': props.get('status')})
    return {'partitions': result}


def _check_fcp_ports_request(sim, req, sg):
    """HMC rule I6 ([UNCERTAIN] reason codes)."""
    err = req.err
    if sg.properties.get('type') != 'fcp':
        raise err.conflict(errors.WRONG_STATE,
                           "The storage group is not of type fcp")
    v.check_body_is_object(err, req.body)
    v.check_fields(err, req.body, ('adapter-port-uris',))
    v.check_required(err, req.body, ('adapter-port-uris',))
    ports = req.body['adapter-port-uris']
    if not isinstance(ports, list):
        raise err.bad_request(
            errors.INVALID_VALUE,
            "Field 'adapter-port-uris' is not the expected type. Expected "
            "an array")
    cpc = sim.lookup(sg.properties.get('cpc-uri'))
    for port_uri in ports:
        part.lookup_storage_port(sim, req, 'adapter-port-uris', port_uri,
                                 cpc)


def sg_add_ports(sim, req):
    sg = get_storage_group(sim, req)
    _check_fcp_ports_request(sim, req, sg)
    # HMC rule I6 (IBM: Add Candidate Adapter Ports to an FCP Storage
    # Group): only before any WWPN of the group is validated.
    statuses = [w.get('status') for w in sg.properties.get(
        'unassigned-world-wide-port-names', [])] + [
        _wwpn_info(vsr).get('status')
        for vsr in sg.virtual_storage_resources.list()]
    if VALIDATED in statuses:
        raise req.err.conflict(
            errors.WRONG_STATE,
            "Candidate ports cannot be added after WWPNs of the storage "
            "group have been validated")
    return sim.delegate(req)


def sg_remove_ports(sim, req):
    sg = get_storage_group(sim, req)
    _check_fcp_ports_request(sim, req, sg)
    return sim.delegate(req)


# ---------------------------------------------------------------------------
# Attach / detach (HMC rules K1-K4)
# ---------------------------------------------------------------------------

def _attach_body(sim, req):
    v.check_body_is_object(req.err, req.body)
    v.check_fields(req.err, req.body, ('storage-group-uri',))
    v.check_required(req.err, req.body, ('storage-group-uri',))
    uri = req.body['storage-group-uri']
    v.check_string(req.err, 'storage-group-uri', uri)
    sg = sim.lookup(uri)
    if sg is None or sg.manager.class_value != 'storage-group':
        raise part.ref_not_found(req, 'storage-group-uri', uri)
    return sg


def _next_vsr_index(sg):
    names = set(vsr.properties.get('name')
                for vsr in sg.virtual_storage_resources.list())
    n = 1
    while 'vhba_%s%d' % (sg.properties['name'], n) in names:
        n += 1
    return n


def attach(sim, req):
    """Attach Storage Group to Partition (HMC rules K1, K2, K4)."""
    partition = part.get_partition(sim, req)
    err = req.err
    part.check_not_transitional(req, partition)                 # E6
    sg = _attach_body(sim, req)
    props = partition.properties
    cpc = partition.manager.parent
    # The reason codes of all these conflicts are [UNCERTAIN].
    if sg.properties.get('cpc-uri') != cpc.uri:
        raise err.conflict(
            errors.WRONG_STATE,
            "Storage group %s is associated with another CPC"
            % sg.properties['name'])
    if sg.uri in props.get('storage-group-uris', []):
        raise err.conflict(
            errors.WRONG_STATE,
            "Storage group %s is already attached to partition %s"
            % (sg.properties['name'], props['name']))
    attached = attached_partitions(sim, sg)
    if attached and not sg.properties.get('shared'):
        raise err.conflict(
            errors.WRONG_STATE,
            "Storage group %s is not shared and is already attached to "
            "partition %s" % (sg.properties['name'],
                              attached[0].properties['name']))
    max_partitions = sg.properties.get('max-partitions')
    if max_partitions is not None and len(attached) >= max_partitions:
        raise err.conflict(
            errors.WRONG_STATE,
            "Storage group %s is already attached to its maximum of %d "
            "partitions" % (sg.properties['name'], max_partitions))

    if sg.properties.get('type') == 'fcp':
        count = sg.properties.get('connectivity', DEFAULT_CONNECTIVITY)
        unassigned = sg.properties.setdefault(
            'unassigned-world-wide-port-names', [])
        index = _next_vsr_index(sg)
        for _ in range(count):
            wwpn = unassigned.pop(0) if unassigned else {
                'world-wide-port-name': sim.new_wwpn(),
                'status': NOT_VALIDATED}
            name = wwpn['world-wide-port-name']
            # IBM (Attach Storage Group to Partition): a validated WWPN
            # gets the port verified before, a not-validated one none.
            port_uri = sim.wwpn_ports.get(name) \
                if wwpn['status'] == VALIDATED else None
            sg.virtual_storage_resources.add({
                'element-id': sim.new_id(),
                'name': 'vhba_%s%d' % (sg.properties['name'], index),
                'description': '',
                'device-number': part.alloc_devno(sim, req,
                                                  partition),    # K4
                'adapter-port-uri': port_uri,
                'partition-uri': partition.uri,
                'world-wide-port-name': name,
                'world-wide-port-name-info': {
                    'status': VALIDATED if port_uri else NOT_VALIDATED,
                    'world-wide-port-name': name},
            })
            index += 1
    props.setdefault('storage-group-uris', []).append(sg.uri)
    refresh(sim, sg)
    return None


def detach(sim, req):
    """Detach Storage Group from Partition (HMC rules K1, K3)."""
    partition = part.get_partition(sim, req)
    err = req.err
    sg = _attach_body(sim, req)
    props = partition.properties
    if sg.uri not in props.get('storage-group-uris', []):
        raise err.conflict(
            errors.WRONG_STATE,
            "Storage group %s is not attached to partition %s"
            % (sg.properties['name'], props['name']))
    # HMC rule K3 [INFER]: no detach while the partition has resources
    # allocated or is in a transition.
    if props.get('status') not in part.STOPPED_STATUSES:
        raise err.conflict(
            errors.WRONG_STATE,
            "The storage group cannot be detached while partition %s has "
            "status %s" % (props['name'], props.get('status')))
    # [INFER] the WWPNs go back to the group's unassigned WWPNs, with
    # their status.
    unassigned = sg.properties.setdefault(
        'unassigned-world-wide-port-names', [])
    for vsr in sg.virtual_storage_resources.list():
        if vsr.properties.get('partition-uri') == partition.uri:
            unassigned.append({
                'world-wide-port-name': vsr.properties[
                    'world-wide-port-name'],
                'status': _wwpn_info(vsr).get('status', NOT_VALIDATED)})
    part.remove_vsrs(sg, partition)
    props['storage-group-uris'].remove(sg.uri)
    refresh(sim, sg)
    return None


# ---------------------------------------------------------------------------
# Volumes and VSRs
# ---------------------------------------------------------------------------

def sv_fulfill(sim, req):
    """Fulfill FCP Storage Volume (HMC rule J2)."""
    sg = get_storage_group(sim, req)
    sv = sim.lookup('%s/storage-volumes/%s' % (sg.uri, req.groups[1]))
    if sv is None:
        raise req.err.not_found()
    err = req.err
    if sg.properties.get('type') != 'fcp':
        raise err.conflict(errors.WRONG_STATE,
                           "The storage group is not of type fcp")
    body = req.body
    v.check_body_is_object(err, body)
    fields = ('world-wide-port-name', 'logical-unit-number',
              'adapter-port-uri')
    v.check_fields(err, body, fields)
    v.check_required(err, body, fields)
    v.check_hex16(err, 'world-wide-port-name', body['world-wide-port-name'])
    v.check_hex16(err, 'logical-unit-number', body['logical-unit-number'])
    port_uri = body['adapter-port-uri']
    part.lookup_storage_port(sim, req, 'adapter-port-uri', port_uri,
                             sim.lookup(sg.properties['cpc-uri']))
    if port_uri not in sg.properties.get('candidate-adapter-port-uris', []):
        # [UNCERTAIN] reason
        raise err.conflict(
            errors.WRONG_STATE,
            "Adapter port %s is not a candidate port of storage group %s"
            % (port_uri, sg.properties['name']))
    check_not_busy(sim, req, sg)
    _fulfil(sim, sg, sv, body['world-wide-port-name'],
            body['logical-unit-number'], port_uri)
    refresh(sim, sg)
    return None


def vsr_update(sim, req):
    """Update Virtual Storage Resource Properties (HMC rule K4)."""
    sg = get_storage_group(sim, req)
    vsr = sim.lookup('%s/virtual-storage-resources/%s'
                     % (sg.uri, req.groups[1]))
    if vsr is None:
        raise req.err.not_found()
    err = req.err
    body = req.body
    v.check_body_is_object(err, body)
    v.check_fields(err, body, v.VSR_WRITABLE)
    new = dict(body)
    if 'name' in body:
        v.check_name(err, 'name', body['name'])
        part.check_unique_name(req, sg.virtual_storage_resources.list(),
                               body['name'], 'virtual storage resource',
                               this=vsr)
    if 'description' in body:
        v.check_description(err, body['description'])
    if 'device-number' in body:
        partition = sim.lookup(vsr.properties.get('partition-uri') or '')
        if partition is not None:
            part.check_not_transitional(req, partition)
            new['device-number'] = part.check_devno(
                sim, req, partition, body['device-number'], exclude=vsr)
        else:
            new['device-number'] = v.check_devno(err, 'device-number',
                                                 body['device-number'])
    vsr.properties.update(new)
    refresh(sim, sg)
    return None
