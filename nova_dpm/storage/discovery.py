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


"""FCP storage discovery of a storage group, and the waits for it.

The HMC validates a storage path (a virtual storage resource's WWPN)
and finds a storage volume's LUN only through FCP storage discovery (IBM:
Attach Storage Group to Partition; Start FCP Storage Discovery). A
:class:`Discovery` is one group's discovery during one operation; the
wait objects (:class:`PathWait`, :class:`VolumeWait`) poll an object of
the group and the discovery job in one round trip each time, driven by
hmc.wait_until (:func:`nova_dpm.storage.base.wait_until`).
"""

from oslo_log import log as logging
import zhmcclient

from nova_dpm import exception
from nova_dpm import hmc
from nova_dpm.storage import base

LOG = logging.getLogger(__name__)

# Volume fulfillment states that Accept Mismatched Storage Volumes ends
# (IBM: Accept Mismatched Storage Volumes). [INFERRED] that an
# 'overprovisioned' volume is one whose LUN is larger than defined: no
# source we have says what the state means (known limitations).
MISMATCH_STATES = ('pending-with-mismatches', 'overprovisioned')
# A volume the HMC found on some of the group's paths, not on all (IBM:
# The Storage Group details page, fulfillment states): normal while
# discovery still reaches the other paths.
INCOMPLETE = 'incomplete'
# GiB: sizes closer than this are the same size.
SIZE_TOLERANCE = 0.001
# Get Connection Report: HMC 2.14.1 with API 2.37, SE 2.14.1 (zhmcclient
# StorageGroup.get_connection_report), as Start FCP Storage Discovery.
CORRECT_VOLUMES = 'correct-volumes'


def nothing_found(volume_id, initiators, target, lun):
    """The error of a discovery that found no path to the volume."""
    if not isinstance(initiators, str):
        initiators = ', '.join(initiators)
    return exception.InvalidVolume(
        volume=volume_id,
        reason='FCP storage discovery found no path from initiator '
               'WWPN %s to target WWPN %s, LUN %s. Check the SAN zoning '
               '(the initiator and the target in one zone) and the '
               "storage system's host mapping (LUN masking) of the "
               'volume' % (initiators, target, lun))


def describe_report(report):
    """One sentence on a Get Connection Report answer (IBM page).

    Names the storage subsystems the group's WWPNs reach and the
    configurations whose volumes-configuration-status is not
    "correct-volumes" (zhmcclient StorageGroup.get_connection_report).
    """
    systems = report.get('fcp-storage-subsystems') or []
    if not systems:
        return ("The HMC's connection report lists no storage subsystem "
                "that the storage group's WWPNs reach")
    wrong = []
    for system in systems:
        for config in system.get('storage-configurations') or []:
            status = config.get('volumes-configuration-status')
            if status != CORRECT_VOLUMES:
                wrong.append('%s: %s' % (
                    config.get('world-wide-port-name') or
                    system.get('name') or '?', status))
    names = ', '.join(str(s.get('name') or '?') for s in systems)
    if not wrong:
        return ("The HMC's connection report lists storage subsystem(s) "
                "%s with correct volumes" % names)
    return ("The HMC's connection report lists storage subsystem(s) %s; "
            "volumes-configuration-status %s" % (names, '; '.join(wrong)))


def validated_port(vsr, ended=False):
    """The storage port of a VSR whose WWPN is validated, or None."""
    info = vsr.get('world-wide-port-name-info') or {}
    if info.get('status') == 'validated' and vsr.get('adapter-port-uri'):
        return vsr['adapter-port-uri']
    return None


def state_of(answer):
    """The status a wait's answer (properties, job status) shows."""
    props = answer[0]
    if 'fulfillment-state' in props:
        return props['fulfillment-state']
    return (props.get('world-wide-port-name-info') or {}).get('status')


class Discovery(object):
    """FCP storage discovery of one storage group during one operation.

    ``enabled``: the HMC and the CPC have Start FCP Storage Discovery
    (capabilities.FCP_DISCOVERY); where they do not, the HMC looks only
    periodically (IBM: The Storage Group details page: every 10 minutes
    while a group is not complete). ``nothing_found``: the error of a
    discovery that ended without finding what a wait needs. ``discard``:
    an ended job whose status the next read deletes.
    """

    def __init__(self, hmc, group, enabled, deadline, nothing_found):
        self.hmc = hmc
        self.group = group
        self.enabled = enabled
        self.deadline = deadline
        self.nothing_found = nothing_found
        self.discard = None

    def start(self):
        """Start FCP storage discovery of the group; its Job, or None.

        IBM: Start FCP Storage Discovery (HMC 2.14.1, API 2.37, SE 2.14.1;
        zhmcclient StorageGroup.discover_fcp); None where it is missing.
        """
        if not self.enabled:
            return None
        with hmc.translated('start FCP storage discovery',
                            self.group.name):
            return self.group.discover_fcp(force_restart=False,
                                           wait_for_completion=False)

    def restart(self, lost):
        """Start FCP storage discovery again after the HMC lost ``lost``.

        A restarted HMC has forgotten its jobs (404 on the job's URI),
        and whether that discovery ran is unknown: the group is read, and
        discovered again.
        """
        LOG.warning('The HMC no longer knows FCP storage discovery job %s '
                    'of storage group %s (it has restarted); starting '
                    'another discovery.', lost.uri, self.group.name)
        return self.start()

    def finish(self, job):
        """Wait for a discovery still running to end; delete its status.

        The HMC keeps an ended job's status until it is deleted or its
        retention interval expires. A failure of this discovery no longer
        matters: what the driver waited for is found.
        """
        try:
            self.hmc.discard_job(self.hmc.wait_for_job(
                job, 'FCP storage discovery of %s' % self.group.name,
                self.deadline))
        except zhmcclient.Error as exc:
            LOG.debug('FCP storage discovery of %s ended: %s',
                      self.group.name, hmc.describe_error(exc))

    def reported(self):
        """``nothing_found`` with what the HMC's connection report says.

        Get Connection Report exists where Start FCP Storage Discovery
        does (zhmcclient StorageGroup.get_connection_report); a failure to
        read it leaves the message as it was.
        """
        if not self.enabled:
            return self.nothing_found
        try:
            with hmc.translated('get connection report',
                                self.group.name):
                report = self.group.get_connection_report()
        except exception.DPMError as exc:
            LOG.debug('No connection report of %s: %s', self.group.name, exc)
            return self.nothing_found
        return exception.InvalidVolume(
            volume=self.nothing_found.kwargs['volume'],
            reason='%s. %s' % (self.nothing_found.kwargs['reason'],
                               describe_report(report)))


class FoundWait(hmc.Wait):
    """Wait until FCP storage discovery has found what one object needs.

    Polls the object ``uri`` (a VSR or a storage volume) and the discovery
    job in one round trip each time, until :meth:`found` returns a result
    (its ``ended``: a discovery has ended since the wait began, or none
    can be started). With ``discovering``, a discovery starts with the
    wait; without, the object is read first and a discovery started only
    if it is not found. Once a discovery has ended without the result,
    the discovery's ``nothing_found`` is raised. After the wait,
    ``result`` is what was found and ``job`` the discovery if it still
    runs; a job that ended with the result is the discovery's
    ``discard``.
    """

    wanted = None
    # Where notifications are up: read at once, then again when the
    # discovery's completion is notified (nova_dpm.hmc.pushed).
    read_first = True

    def __init__(self, discovery, uri, what, discovering=True):
        self.discovery = discovery
        self.uri = uri
        self.what = what
        self.job = discovery.start() if discovering else None
        self.result = None
        self.told = discovery.hmc.told
        self._told_job = None

    def told_value(self):
        job = self.job
        if job is None or job.uri == self._told_job or \
                self.told.job_ended(job.uri) is None:
            return None
        self._told_job = job.uri
        return self.read()

    def found(self, props, ended):
        """The result the wait is for, None to go on; may raise."""
        raise NotImplementedError()

    def run(self):
        """Wait (within the discovery's deadline); the result."""
        base.wait_until(self, self.discovery.deadline)
        return self.result

    def read(self):
        """(the object's properties, the job's status or None if gone)."""
        job, group = self.job, self.discovery.group
        uris = [self.uri] + ([job.uri] if job else [])
        with hmc.translated('read FCP storage discovery results',
                            group.name):
            answers = self.discovery.hmc.get_many(
                uris, discard=self.discovery.discard)
        self.discovery.discard = None
        props = answers.get(self.uri)
        if props is None:
            raise exception.DPMError(
                reason='%s of storage group %s is gone' %
                       (self.uri, group.name))
        return props, (answers.get(job.uri) if job else {})

    def state(self, answer):
        return state_of(answer)

    def done(self, answer):
        props, job_state = answer
        job = self.job
        if job is not None and job_state is None:
            job = self.job = self.discovery.restart(job)
            job_state = {}
        ended = job is not None and \
            job_state.get('status') not in (None, 'running')
        try:
            result = self.found(props, ended or not self.discovery.enabled)
        except exception.InvalidVolume:
            if ended:
                self.discovery.hmc.discard_job(job.uri)
            raise
        if ended:
            self.job = None
        if result is not None:
            self.result = result
            if ended:
                # Deleted by the next read, or by the caller.
                self.discovery.discard = job.uri
            return True
        if job is None:
            # Not found at the first read; an HMC without Start FCP
            # Storage Discovery finds it at its periodic check.
            self.job = self.discovery.start()
            return False
        if ended:
            self._failed(job, job_state)
        return False

    def _failed(self, job, job_state):
        """A discovery ended without the result: raise why."""
        self.discovery.hmc.discard_job(job.uri)
        code = job_state.get('job-status-code')
        if code and code >= 300:
            raise exception.HMCOperationFailed(
                operation='FCP storage discovery',
                target=self.discovery.group.name,
                reason=((job_state.get('job-results') or {}).get(
                    'message') or 'job status %s' % code),
                http_status=code)
        raise self.discovery.reported()


class PathWait(FoundWait):
    """Until discovery has validated a storage path's WWPN; its port.

    A new VSR has no storage port until FCP storage discovery has
    validated its WWPN (IBM: Attach Storage Group to Partition).
    """

    wanted = 'validated'

    def __init__(self, discovery, vsr_uri, wwpn, partition,
                 discovering=True):
        super().__init__(discovery, vsr_uri, 'storage path %s of %s' % (
            wwpn, partition.name), discovering)

    def found(self, props, ended):
        return validated_port(props)


class VolumeWait(FoundWait):
    """Until the HMC has found a storage volume on a path; its state.

    A mismatched volume (IBM: Accept Mismatched Storage Volumes) is found
    when the HMC found at least the size Cinder gave it (a storage system
    may round a volume up); a smaller one means the LUN is not the volume
    Cinder mapped. An incomplete volume (found on some of the group's
    paths only) is waited for while discovery runs; after it, a data
    volume (``incomplete_ok``) that a path reaches is accepted. A boot
    volume is not: the partition starts only from a complete one (HMC
    rule L1). ``paths``: the number of paths the HMC showed last.
    """

    wanted = 'complete on a path'

    def __init__(self, discovery, volume_uri, volume_id, size_gb,
                 incomplete_ok=False):
        super().__init__(discovery, volume_uri, 'storage volume %s of %s' % (
            volume_id, discovery.group.name), discovering=False)
        self.volume_id = volume_id
        self.size_gb = size_gb
        self.incomplete_ok = incomplete_ok
        self.paths = 0

    def found(self, props, ended):
        state = props.get('fulfillment-state')
        self.paths = len(props.get('paths') or ())
        if state == 'complete' and not self.paths:
            # Complete once fulfilled (zhmcclient indicate_fulfillment_fcp),
            # yet no path shows the LUN: wait for a discovery that finds it.
            return None
        if state == 'complete' or state in MISMATCH_STATES:
            self._check_size(props.get('active-size'))
            return state
        if state == INCOMPLETE:
            return self._incomplete(ended)
        if state in ('pending', None):
            return None
        raise exception.InvalidVolume(
            volume=self.volume_id,
            reason='its storage volume has fulfillment state %s '
                   'on the HMC' % state)

    def _check_size(self, found_gb):
        if self.size_gb and found_gb is not None and \
                float(found_gb) + SIZE_TOLERANCE < self.size_gb:
            raise exception.InvalidVolume(
                volume=self.volume_id,
                reason='the HMC found a LUN of %s GiB for it, smaller than '
                       'its %s GiB: check which LUN the storage system '
                       'maps' % (found_gb, self.size_gb))

    def _incomplete(self, ended):
        if not ended or not self.paths:
            return None
        if self.incomplete_ok:
            return INCOMPLETE
        raise exception.InvalidVolume(
            volume=self.volume_id,
            reason='the HMC found it on %d of the paths of storage group %s '
                   'only (fulfillment state incomplete); check the SAN '
                   'zoning and LUN masking for every initiator WWPN of the '
                   'instance' % (self.paths, self.discovery.group.name))
