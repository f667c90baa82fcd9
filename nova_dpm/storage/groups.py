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

"""Storage: FCP volumes, the volume connector and boot from volume.

Two backends sit behind one interface (:class:`StorageBackend`):

* :class:`HbaBackend` where the CPC's ``dpm-storage-management`` firmware
  feature is off (z13 and the first z14 models): one virtual HBA per
  ``[dpm] physical_storage_adapter_mappings`` entry, boot from the first one
  (``boot-device = storage-adapter``).
* :class:`StorageGroupBackend` where the feature is on (every later
  machine): a non-shared FCP storage group per instance, attached to its
  partition; the attachment's virtual storage resources carry the WWPNs; the
  boot volume is a storage volume of that group whose fulfillment nova-dpm
  indicates (``boot-device = storage-volume``). The boot volume is
  defined with the group; the HMC validates a path only through defined
  volumes: nova-dpm starts discovery once Cinder has mapped the volume,
  waits for it, then fulfils the volume (see
  :meth:`StorageGroupBackend.boot_properties`).

Cinder's view of a volume (``connection_info``) is parsed here once, into a
:class:`FcTarget`.
"""

import collections

from nova import exception as nova_exception
from nova.virt import driver as virt_driver
from os_brick.initiator.connectors import fibre_channel_s390x
from oslo_log import log as logging
from oslo_utils import excutils
import zhmcclient

from nova_dpm import exception
from nova_dpm import hmc as hmc_module

LOG = logging.getLogger(__name__)

FC_TYPE = 'fibre_channel'
MAX_LUN = 0xffffffff

# Volume fulfillment states that Accept Mismatched Storage Volumes ends
# (IBM: Accept Mismatched Storage Volumes). [INFERRED] that an
# 'overprovisioned' volume is one whose LUN is larger than defined: no
# source we have says what the state means (known limitations).
MISMATCH_STATES = ('pending-with-mismatches', 'overprovisioned')
# A volume the HMC found on some of the group's paths, not on all (IBM:
# The Storage Group details page, fulfillment states): normal while
# discovery still reaches the other paths.
INCOMPLETE = 'incomplete'
# Start FCP Storage Discovery needs HMC 2.14.1 with API 2.37 and SE 2.14.1
# (zhmcclient StorageGroup.discover_fcp). Older HMCs find paths and LUNs
# only by their periodic background check (IBM: The Storage Group details
# page: every 10 minutes for a group that is not complete).
DISCOVERY_API = (2, 37)
DISCOVERY_SE = (2, 14, 1)
# GiB: sizes closer than this are the same size.
SIZE_TOLERANCE = 0.001
# The size a storage volume is defined with when Nova does not know the
# volume's size; the HMC then reports a mismatch, which is accepted.
PLACEHOLDER_SIZE = 1.0

# Device numbers nova-dpm gives its HBAs; NICs start at 0001 (network.py),
# so the two never meet in a partition nova-dpm created.
HBA_DEVNO_BASE = 0xb000

FcTarget = collections.namedtuple(
    'FcTarget', ['volume_id', 'initiators', 'targets', 'fcp_lun'])
BootTarget = collections.namedtuple(
    'BootTarget', ['volume_id', 'initiator', 'target', 'fcp_lun', 'size_gb'])
# The boot volume as Nova's block device mapping knows it before Cinder
# has mapped it (volume_id is None until Nova has created the volume).
BootVolume = collections.namedtuple('BootVolume', ['volume_id', 'size_gb'])
# The name of a boot volume defined before its Cinder volume existed.
BOOT_VOLUME_NAME = 'boot'
# Get Connection Report: HMC 2.14.1 with API 2.37, SE 2.14.1 (zhmcclient
# StorageGroup.get_connection_report), as Start FCP Storage Discovery.
CORRECT_VOLUMES = 'correct-volumes'


# os-brick's s390x Fibre Channel connector already knows how Linux on Z
# addresses a Cinder LUN: LUN n becomes the 64-bit FCP LUN with n in its
# first level (0x%04x000000000000 below 2**16, 0x%08x00000000 up to 2**32).
# It exposes that only as a private method; we call it rather than repeat
# the rule so both stay identical, and refuse LUNs above 2**32 - 1, for
# which it has no answer (it returns 0).
_S390X_FC = fibre_channel_s390x.FibreChannelConnectorS390X(root_helper=None)


def fcp_lun(lun):
    """Cinder's integer target_lun -> the HMC's 16-hex-digit FCP LUN."""
    if isinstance(lun, bool) or not isinstance(lun, int) or lun < 0:
        raise ValueError('target_lun %r is not a LUN: expected an integer '
                         '>= 0' % (lun,))
    if lun > MAX_LUN:
        raise ValueError('target_lun %d is above %d, the largest LUN an FCP '
                         'LUN can address here' % (lun, MAX_LUN))
    return _S390X_FC._get_lun_string(lun)[2:]


def parse_fc(connection_info, volume_id=None):
    """Validate Cinder's connection_info of an FC volume; an FcTarget.

    Raises InvalidVolume naming the volume and the problem.
    """
    volume_id = volume_id or (connection_info or {}).get('serial') or '?'
    if not isinstance(connection_info, dict):
        raise exception.InvalidVolume(volume=volume_id,
                                      reason='no connection info')
    vtype = connection_info.get('driver_volume_type')
    if vtype != FC_TYPE:
        raise exception.InvalidVolume(
            volume=volume_id,
            reason='its driver_volume_type is %r; nova-dpm attaches only '
                   'Fibre Channel (%s) volumes' % (vtype, FC_TYPE))
    data = dict(connection_info.get('data') or {})
    volume_id = data.get('volume_id') or volume_id
    refuse_encrypted(volume_id, data.get('encrypted'))
    # os-brick normalises target_wwn/target_wwns/target_lun(s) and the
    # initiator_target_map (lower case), and pairs targets with LUNs. Its
    # helper is private too; we use it for the same reason as above.
    try:
        props = _S390X_FC._add_targets_to_connection_properties(data)
    except Exception as exc:
        raise exception.InvalidVolume(
            volume=volume_id,
            reason='its connection info has no usable target WWPNs and LUNs '
                   '(%s)' % exc)
    targets = props['targets']
    itmap = props.get('initiator_target_lun_map') or {}
    luns = {lun for _wwpn, lun in targets}
    try:
        fcp_luns = {lun: fcp_lun(lun) for lun in luns}
    except ValueError as exc:
        raise exception.InvalidVolume(volume=volume_id, reason=str(exc))
    return FcTarget(volume_id=volume_id,
                    initiators=itmap,
                    targets=targets,
                    fcp_lun=fcp_luns)


def volume_size(bdm):
    """The size in GiB of a block device mapping's volume, or None.

    Nova 34's DriverVolumeBlockDevice has no 'size' key: the size is its
    attribute ``volume_size``, proxied from the BlockDeviceMapping object
    (nova/virt/block_device.py).
    """
    size = getattr(bdm, 'volume_size', None)
    return float(size) if size else None


def root_volume(block_device_info):
    """The boot volume's BDM entry (boot_index 0), or None."""
    for bdm in virt_driver.block_device_info_get_mapping(block_device_info):
        if bdm.get('boot_index') == 0:
            return bdm
    return None


def choose_boot_target(fc, initiator, ignore):
    """(target WWPN, FCP LUN) for booting through ``initiator``.

    The first of the initiator's targets in Cinder's initiator_target_map
    that is not in [dpm] target_wwpn_ignore_list; without a map, the first
    target WWPN not ignored.
    """
    if fc.initiators:
        if initiator not in fc.initiators:
            raise exception.InvalidVolume(
                volume=fc.volume_id,
                reason="Cinder's initiator_target_map does not map the boot "
                       "path's WWPN %s; it maps %s. Check the zoning and "
                       "host mapping of the volume" %
                       (initiator, ', '.join(sorted(fc.initiators))))
        candidates = fc.initiators[initiator]
    else:
        candidates = fc.targets
    for wwpn, lun in candidates:
        if wwpn not in ignore:
            return wwpn, fc.fcp_lun[lun]
    raise exception.InvalidVolume(
        volume=fc.volume_id,
        reason='every target WWPN for the boot path %s is in [dpm] '
               'target_wwpn_ignore_list (%s)' %
               (initiator, ', '.join(w for w, _l in candidates)))


def check_maps_partition(fc, wwpns):
    """A data volume must be mapped to at least one of the WWPNs."""
    if fc.initiators and not set(fc.initiators) & set(wwpns):
        raise exception.InvalidVolume(
            volume=fc.volume_id,
            reason="Cinder's initiator_target_map maps %s, none of the "
                   "partition's WWPNs %s" %
                   (', '.join(sorted(fc.initiators)), ', '.join(wwpns)))


class StorageBackend(object):
    """What the driver needs from a storage backend.

    Backends keep what they created per partition URI, so the build and
    the teardown do not read it back from the HMC; after a restart they
    read it once.
    """

    name = None

    def __init__(self, hmc, subset, settings):
        self.hmc = hmc
        self.subset = subset
        self.settings = settings

    def prepare(self, instance, partition, boot=None):
        """Give a new partition its storage paths; return their WWPNs.

        ``boot``: the boot volume's BootVolume, if Nova knows it yet.
        """
        raise NotImplementedError()

    def wwpns(self, partition):
        """The WWPNs of an existing partition, in mapping order."""
        raise NotImplementedError()

    def boot_properties(self, instance, partition, boot):
        """Partition properties that make it boot from ``boot``."""
        raise NotImplementedError()

    def attach_volume(self, instance, partition, fc, size_gb=None):
        pass

    def detach_volume(self, instance, partition, fc):
        pass

    def device_numbers(self, partition):
        """Device numbers the partition's storage paths use."""
        return set()

    def release_leftovers(self, name):
        """Free storage of a partition that is gone already."""

    def detach(self, instance, partition):
        """Detach what could keep the partition from being deleted.

        Returns True when something was detached (the delete is worth a
        second try).
        """
        return False

    def release(self, instance, partition):
        """After the partition's deletion: free what it did not take along."""


class HbaBackend(StorageBackend):
    """Virtual HBAs on the mapped FCP adapter ports (feature off).

    The HBAs go with their partition; nothing is left to release.
    """

    name = 'hba'

    def __init__(self, hmc, subset, settings):
        super().__init__(hmc, subset, settings)
        self._paths = {}     # partition uri -> [(HBA uri, WWPN)]

    @staticmethod
    def hba_name(index):
        return 'OpenStack-HBA-%d' % index

    def prepare(self, instance, partition, boot=None):
        paths = []
        for index, (_adapter, port_uri, _port) in enumerate(
                self.subset.adapter_ports):
            props = {
                'name': self.hba_name(index),
                'description': 'OpenStack path %d of CPC subset %s' % (
                    index, self.subset.host),
                'adapter-port-uri': port_uri,
                'device-number': '%04x' % (HBA_DEVNO_BASE + index),
            }
            with hmc_module.translated('create HBA', partition.name):
                hba = partition.hbas.create(props)
                hba.pull_properties(['wwpn'])
            paths.append((hba.uri, hba.get_property('wwpn').lower()))
        self._paths[partition.uri] = paths
        return [wwpn for _uri, wwpn in paths]

    def _hba_paths(self, partition):
        paths = self._paths.get(partition.uri)
        if paths is not None:
            return paths
        with hmc_module.translated('list HBAs', partition.name):
            # One request on every HMC (hmc.PROPERTIES_FILTER_API).
            if not self.hmc.pull_partition(partition, ['hba-uris']):
                raise zhmcclient.CeasedExistence(partition.uri)
            hbas = [zhmcclient.Hba(partition.hbas, uri)
                    for uri in partition.get_property('hba-uris') or []]
            for hba in hbas:
                hba.pull_properties(['name', 'wwpn'])
        order = {self.hba_name(i): i
                 for i in range(len(self.subset.adapter_ports))}
        paths = [(h.uri, h.get_property('wwpn').lower())
                 for h in sorted((h for h in hbas if h.name in order),
                                 key=lambda h: order[h.name])]
        self._paths[partition.uri] = paths
        return paths

    def wwpns(self, partition):
        return [wwpn for _uri, wwpn in self._hba_paths(partition)]

    def boot_properties(self, instance, partition, boot):
        boot_hba = next((uri for uri, wwpn in self._hba_paths(partition)
                         if wwpn == boot.initiator), None)
        if boot_hba is None:
            raise exception.DPMError(
                reason='partition %s has no HBA with WWPN %s to boot from' %
                       (partition.name, boot.initiator))
        return {
            'boot-device': 'storage-adapter',
            'boot-storage-device': boot_hba,
            'boot-world-wide-port-name': boot.target,
            'boot-logical-unit-number': boot.fcp_lun,
        }

    def device_numbers(self, partition):
        return {'%04x' % (HBA_DEVNO_BASE + i)
                for i in range(len(self.subset.adapter_ports))}

    def release(self, instance, partition):
        self._paths.pop(partition.uri, None)


class StorageGroupBackend(StorageBackend):
    """A storage group per instance (feature dpm-storage-management on)."""

    name = 'storage-group'

    def __init__(self, hmc, subset, settings, api_version=None):
        super().__init__(hmc, subset, settings)
        self._groups = {}    # partition uri -> StorageGroup
        self._devnos = {}    # partition uri -> device numbers of its VSRs
        self._vsrs = {}      # partition uri -> {WWPN: VSR uri}
        self._ports = {}     # partition uri -> {WWPN: validated port uri}
        self._boot = {}      # partition uri -> boot volume uri
        self.discovery = can_discover(
            api_version, subset.cpc.get_property('se-version'))
        if not self.discovery:
            LOG.warning('This HMC or CPC cannot start FCP storage discovery '
                        '(it needs HMC 2.14.1, Web Services API %d.%d, and '
                        'SE 2.14.1): a build waits for the HMC\'s periodic '
                        'check of its storage groups, which can take longer '
                        'than [dpm] hmc_operation_timeout.',
                        *DISCOVERY_API)

    def _console(self):
        return self.hmc.client.consoles.console

    def _port(self, adapter_uri, port_uri):
        """The zhmcclient Port of a mapped adapter port (no request)."""
        adapter = self.subset.adapters[adapter_uri]
        return adapter.ports.resource_object(port_uri)

    def group_name(self, partition):
        # The partition's name: unique per CPC, and as unambiguous.
        return partition.name

    def _group(self, partition):
        group = self._groups.get(partition.uri)
        if group is not None:
            return group
        group = self._find_group(self.group_name(partition))
        if group is not None:
            self._groups[partition.uri] = group
        return group

    def _find_group(self, name):
        """The storage group of this CPC named exactly ``name``, or None.

        One request; the HMC matches the name filter as a pattern, so the
        exact name is checked here.
        """
        with hmc_module.translated('find storage group', name):
            groups = self._console().storage_groups.list(
                filter_args={'name': name, 'cpc-uri': self.subset.cpc.uri})
        return next((g for g in groups if g.name == name), None)

    def prepare(self, instance, partition, boot=None):
        """Create the group (with the boot volume), its ports, attach it.

        The HMC validates a path only through the group's defined volumes
        (IBM: Attach Storage Group to Partition), so the boot volume is
        defined first: in Create Storage Group itself when Nova knows its
        size, else at spawn (boot_properties).
        """
        paths = self.subset.adapter_ports
        props = {
            'name': self.group_name(partition),
            # HMC rule A6: a storage group description has 200 characters
            # at most.
            'description': ('OpenStack instance %s of CPC subset %s' % (
                instance.uuid, self.subset.host))[:200],
            'cpc-uri': self.subset.cpc.uri,
            'type': 'fcp',
            'shared': False,
            'max-partitions': 1,
            'connectivity': len(paths),
        }
        if boot is not None and boot.size_gb:
            props['storage-volumes'] = [dict(
                self._boot_volume_props(boot.volume_id, boot.size_gb),
                operation='create')]
        with hmc_module.translated('create storage group', partition.name):
            group = self._console().storage_groups.create(props)
            volumes = group.properties.get('element-uris') or []
            if volumes:
                self._boot[partition.uri] = volumes[0]
            try:
                group.add_candidate_adapter_ports(
                    [self._port(a, p) for a, p, _i in paths])
                # A busy partition (409,2, HMC rule A3) is asked again.
                hmc_module.retry_while_busy(
                    lambda: partition.attach_storage_group(group),
                    hmc_module.Deadline(
                        self.settings.hmc_operation_timeout),
                    'attach storage group %s' % group.name)
            except zhmcclient.Error:
                with excutils.save_and_reraise_exception():
                    self._clean_up('storage group', group.name, group.delete)
        self._groups[partition.uri] = group
        return self._wwpns(group, partition)

    def _wwpns(self, group, partition):
        # Not list(full_properties=True): zhmcclient 1.26 reads the
        # properties with Submit Requests whatever the HMC's version;
        # get_many uses it only where the HMC has it (AGGREGATION_API).
        with hmc_module.translated('list virtual storage resources',
                                   group.name):
            uris = [v.uri for v in group.virtual_storage_resources.list()]
            answers = self.hmc.get_many(uris) if uris else {}
        own = [dict(answers[u], **{'element-uri': u}) for u in uris
               if answers.get(u) and
               answers[u].get('partition-uri') == partition.uri]
        # The HMC numbers the VSRs itself (HMC rule K4); NICs must avoid
        # those numbers.
        self._devnos[partition.uri] = {
            str(v.get('device-number')).lower() for v in own}
        self._vsrs[partition.uri] = {
            v['world-wide-port-name'].lower(): v['element-uri'] for v in own}
        self._ports[partition.uri] = {
            v['world-wide-port-name'].lower(): _validated_port(v)
            for v in own}

        # A new VSR has no storage port until FCP storage discovery has
        # validated its WWPN (IBM: Attach Storage Group to Partition), so
        # the order cannot follow the ports: device number, then WWPN,
        # which stay the same from creation on. The first is the boot
        # path.
        def order(vsr):
            return (str(vsr.get('device-number')).lower(),
                    vsr['world-wide-port-name'].lower())
        return [v['world-wide-port-name'].lower()
                for v in sorted(own, key=order)]

    def device_numbers(self, partition):
        if partition.uri not in self._devnos:
            self.wwpns(partition)
        return self._devnos.get(partition.uri, set())

    def wwpns(self, partition):
        group = self._group(partition)
        return self._wwpns(group, partition) if group else []

    def _require_group(self, partition):
        group = self._group(partition)
        if group is None:
            raise exception.DPMError(
                reason='partition %s has no storage group %s' %
                       (partition.name, self.group_name(partition)))
        return group

    def boot_properties(self, instance, partition, boot):
        """Fulfil the boot volume once the HMC has validated its path.

        Cinder has mapped the volume by now, and the boot volume is
        defined (with the group, or here). FCP storage discovery
        validates the boot initiator's WWPN through it and gives its VSR
        a storage port (IBM: Attach Storage Group to Partition); the
        volume is fulfilled through that port, which makes it complete
        (zhmcclient indicate_fulfillment_fcp). All within one
        [dpm] hmc_operation_timeout.
        """
        group = self._require_group(partition)
        deadline = hmc_module.Deadline(self.settings.hmc_operation_timeout)
        volume = self._boot_volume(group, partition, boot, deadline)
        vsr_uri = self._vsr_uri(partition, boot.initiator)
        nothing_found = self._nothing_found(boot.volume_id, boot.initiator,
                                            boot.target, boot.fcp_lun)
        port_uri, job, ended = self._wait_found(
            group, vsr_uri, _validated_port, deadline,
            'storage path %s of %s' % (boot.initiator, partition.name),
            'validated', nothing_found)
        if job is not None:
            # The group is busy while its discovery runs.
            self._finish_discovery(job, group, deadline)
        self._fulfil(group, volume, boot.target, boot.fcp_lun, port_uri,
                     deadline, 'fulfil boot volume')
        self._wait_complete(
            group, volume.uri, boot.volume_id, boot.size_gb, deadline,
            nothing_found, discard=ended,
            paths_wanted=len(self._vsrs.get(partition.uri) or ()))
        return {
            'boot-device': 'storage-volume',
            'boot-storage-volume': volume.uri,
        }

    @staticmethod
    def _boot_volume_props(volume_id, size_gb):
        return {
            'name': volume_id or BOOT_VOLUME_NAME,
            'description': 'Cinder volume %s (boot)' % (
                volume_id or 'of the instance'),
            'usage': 'boot',
            'size': size_gb or PLACEHOLDER_SIZE,
        }

    def _boot_volume(self, group, partition, boot, deadline):
        """The boot volume: defined with the group, found, or defined now.

        Defined here when Nova did not know its size when the group was
        created; found by name when this service did not create the
        group (a restart since).
        """
        uri = self._boot.get(partition.uri)
        if uri is not None:
            return group.storage_volumes.resource_object(uri)
        with hmc_module.translated('define boot volume', group.name):
            for volume in group.storage_volumes.list():
                if volume.name in (boot.volume_id, BOOT_VOLUME_NAME):
                    self._boot[partition.uri] = volume.uri
                    return volume
            volume = hmc_module.retry_while_busy(
                lambda: group.storage_volumes.create(
                    self._boot_volume_props(boot.volume_id, boot.size_gb)),
                deadline, 'define boot volume in %s' % group.name)
        self._boot[partition.uri] = volume.uri
        return volume

    def _fulfil(self, group, volume, wwpn, lun, port_uri, deadline, what):
        """Fulfill FCP Storage Volume; repeated while the group is busy."""
        with hmc_module.translated(what, group.name):
            hmc_module.retry_while_busy(
                lambda: volume.indicate_fulfillment_fcp(
                    wwpn=wwpn, lun=lun,
                    host_port=self._port_object(port_uri)),
                deadline, '%s in %s' % (what, group.name))

    def _vsr_uri(self, partition, wwpn):
        if wwpn not in self._vsrs.get(partition.uri, {}):
            self.wwpns(partition)
        uri = self._vsrs.get(partition.uri, {}).get(wwpn)
        if uri is None:
            raise exception.DPMError(
                reason='partition %s has no storage path with WWPN %s' %
                       (partition.name, wwpn))
        return uri

    def _port_object(self, port_uri):
        """The zhmcclient Port of a storage port URI (no request)."""
        adapter_uri = port_uri.split('/storage-ports/')[0]
        adapter = self.subset.adapters.get(adapter_uri) or zhmcclient.Adapter(
            self.subset.cpc.adapters, adapter_uri)
        return adapter.ports.resource_object(port_uri)

    @staticmethod
    def _nothing_found(volume_id, initiators, target, lun):
        if not isinstance(initiators, str):
            initiators = ', '.join(initiators)
        return exception.InvalidVolume(
            volume=volume_id,
            reason='FCP storage discovery found no path from initiator '
                   'WWPN %s to target WWPN %s, LUN %s. Check the SAN zoning '
                   '(the initiator and the target in one zone) and the '
                   "storage system's host mapping (LUN masking) of the "
                   'volume' % (initiators, target, lun))

    def _reported(self, group, nothing_found):
        """``nothing_found`` with what the HMC's connection report says.

        Get Connection Report exists where Start FCP Storage Discovery
        does (zhmcclient StorageGroup.get_connection_report); a failure to
        read it leaves the message as it was.
        """
        if not self.discovery:
            return nothing_found
        try:
            with hmc_module.translated('get connection report', group.name):
                report = group.get_connection_report()
        except exception.DPMError as exc:
            LOG.debug('No connection report of %s: %s', group.name, exc)
            return nothing_found
        return exception.InvalidVolume(
            volume=nothing_found.kwargs['volume'],
            reason='%s. %s' % (nothing_found.kwargs['reason'],
                               describe_report(report)))

    def _discover(self, group):
        """Start FCP storage discovery of the group; its Job, or None.

        IBM: Start FCP Storage Discovery (HMC 2.14.1, API 2.37, SE 2.14.1;
        zhmcclient StorageGroup.discover_fcp). Where the HMC or the CPC is
        older (None), the HMC looks only periodically (IBM: The Storage
        Group details page: every 10 minutes while a group is not
        complete).
        """
        if not self.discovery:
            return None
        with hmc_module.translated('start FCP storage discovery',
                                   group.name):
            return group.discover_fcp(force_restart=False,
                                      wait_for_completion=False)

    def _wait_found(self, group, uri, found, deadline, what, wanted,
                    nothing_found, discovering=True, job=None, discard=None):
        """Wait until FCP storage discovery has found what ``uri`` needs.

        The one wait of this backend: polls the object ``uri`` (a VSR or
        a storage volume) and the discovery job in one round trip each
        time, until ``found(properties, ended)`` returns a result
        (``ended``: a discovery has ended since the wait began, or none can
        be started). ``job``: a discovery still running from an earlier
        wait, polled instead of starting another. Without ``discovering``
        (and no ``job``), the object is read first and a discovery started
        only if it is not found. Once a discovery started here has ended
        without the result, ``nothing_found`` is raised; one inherited
        from an earlier wait may have begun before the object existed, so
        another is started then.

        Returns (result, the discovery Job if it is still running, else
        None, the URI of an ended job to delete or None). ``discard``: an
        ended job deleted with the first read.
        """
        if job is None and discovering:
            job = self._discover(group)
        polling = {'job': job, 'inherited': job is not None and
                   not discovering, 'discard': discard, 'result': None,
                   'ended': None}

        def read():
            job = polling['job']
            uris = [uri] + ([job.uri] if job else [])
            with hmc_module.translated('read FCP storage discovery results',
                                       group.name):
                answers = self.hmc.get_many(uris,
                                            discard=polling['discard'])
            polling['discard'] = None
            props = answers.get(uri)
            if props is None:
                raise exception.DPMError(
                    reason='%s of storage group %s is gone' %
                           (uri, group.name))
            # None: the HMC no longer knows the job.
            return props, (answers.get(job.uri) if job else {})

        def done(answer):
            props, job_state = answer
            job = polling['job']
            if job is not None and job_state is None:
                job = polling['job'] = self._rediscover(group, job)
                polling['inherited'] = False
                job_state = {}
            ended = job is not None and \
                job_state.get('status') not in (None, 'running')
            try:
                result = found(props, ended or not self.discovery)
            except exception.InvalidVolume:
                if ended:
                    self.hmc.discard_job(job.uri)
                raise
            if ended:
                polling['job'] = None
            if result is not None:
                polling['result'] = result
                if ended:
                    # Deleted by the caller's next read.
                    polling['ended'] = job.uri
                return True
            if job is None:
                # Not found at the first read; an HMC without Start FCP
                # Storage Discovery finds it at its periodic check.
                polling['job'] = self._discover(group)
                return False
            if not ended:
                return False
            code = job_state.get('job-status-code')
            if code and code >= 300:
                self.hmc.discard_job(job.uri)
                raise exception.HMCOperationFailed(
                    operation='FCP storage discovery',
                    target=group.name,
                    reason=((job_state.get('job-results') or {}).get(
                        'message') or 'job status %s' % code),
                    http_status=code)
            # The ended job's status goes with the next read.
            polling['discard'] = job.uri
            if polling['inherited']:
                polling['inherited'] = False
                polling['job'] = self._discover(group)
                return False
            self.hmc.discard_job(job.uri)
            raise self._reported(group, nothing_found)

        hmc_module.wait_until(read, done, deadline, what, wanted,
                              state=lambda answer: _state_of(answer[0]))
        return polling['result'], polling['job'], polling['ended']

    def _rediscover(self, group, lost):
        """Start FCP storage discovery again after the HMC lost ``lost``.

        A restarted HMC has forgotten its jobs (404 on the job's URI),
        and whether that discovery ran is unknown: the group is read, and
        discovered again.
        """
        LOG.warning('The HMC no longer knows FCP storage discovery job %s '
                    'of storage group %s (it has restarted); starting '
                    'another discovery.', lost.uri, group.name)
        return self._discover(group)

    def _wait_complete(self, group, volume_uri, volume_id, size_gb,
                       deadline, nothing_found, job=None, discard=None,
                       incomplete_ok=False, paths_wanted=0):
        """Wait until the HMC has found the volume; accept a size mismatch.

        A mismatched volume (IBM: Accept Mismatched Storage Volumes) is
        accepted when the HMC found at least the size Cinder gave it (a
        storage system may round a volume up); a smaller one means the LUN
        is not the volume Cinder mapped. An incomplete volume (found on
        some of the group's paths only) is waited for while discovery
        runs; after it, a data volume (``incomplete_ok``) that a path
        reaches is accepted with a warning. A boot volume is not: the
        partition starts only from a complete one (HMC rule L1). ``job``:
        a discovery still running, polled and deleted once it ends.
        ``paths_wanted``: the number of paths a complete volume should
        have; fewer are logged.
        """
        seen = {}

        def found(props, ended):
            state = props.get('fulfillment-state')
            seen['paths'] = len(props.get('paths') or ())
            if state == 'complete' and not seen['paths']:
                # Complete once fulfilled (zhmcclient
                # indicate_fulfillment_fcp), yet no path shows the LUN:
                # wait for a discovery that finds it.
                return None
            if state == 'complete' or state in MISMATCH_STATES:
                found_gb = props.get('active-size')
                if size_gb and found_gb is not None and \
                        float(found_gb) + SIZE_TOLERANCE < size_gb:
                    raise exception.InvalidVolume(
                        volume=volume_id,
                        reason='the HMC found a LUN of %s GiB for it, '
                               'smaller than its %s GiB: check which LUN '
                               'the storage system maps' % (found_gb,
                                                            size_gb))
                return state
            if state == INCOMPLETE:
                if not ended or not seen['paths']:
                    return None
                if incomplete_ok:
                    return state
                raise exception.InvalidVolume(
                    volume=volume_id,
                    reason='the HMC found it on %d of the paths of storage '
                           'group %s only (fulfillment state incomplete); '
                           'check the SAN zoning and LUN masking for every '
                           'initiator WWPN of the instance' % (
                               len(props.get('paths') or []), group.name))
            if state in ('pending', None):
                return None
            raise exception.InvalidVolume(
                volume=volume_id,
                reason='its storage volume has fulfillment state %s '
                       'on the HMC' % state)

        state, job, ended = self._wait_found(
            group, volume_uri, found, deadline,
            'storage volume %s of %s' % (volume_id, group.name),
            'complete on a path', nothing_found, discovering=False, job=job,
            discard=discard)
        if ended:
            self.hmc.discard_job(ended)
        if job is not None:
            self._finish_discovery(job, group, deadline)
        self._after_found(group, volume_uri, volume_id, size_gb, state,
                          seen.get('paths', 0), paths_wanted, deadline)

    def _after_found(self, group, volume_uri, volume_id, size_gb, state,
                     paths, paths_wanted, deadline):
        """Warn about missing paths; accept a mismatched size."""
        if state == INCOMPLETE or paths < paths_wanted:
            LOG.warning('The HMC reaches storage volume %s on %d of the '
                        '%s paths of storage group %s only (fulfillment '
                        'state %s); using it. Check the SAN zoning and LUN '
                        'masking of the other paths.', volume_id,
                        paths, paths_wanted or 'several',
                        group.name, state)
        if state in MISMATCH_STATES:
            LOG.warning('The HMC found storage volume %s with another size '
                        'than the %s GiB defined; accepting it.',
                        volume_id, size_gb)
            with hmc_module.translated('accept mismatched storage volume',
                                       group.name):
                hmc_module.retry_while_busy(
                    lambda: self.hmc.session.post(
                        group.uri +
                        '/operations/accept-mismatched-storage-volumes',
                        body={'storage-volume-uris': [volume_uri]}),
                    deadline, 'accept mismatched storage volume in %s' %
                    group.name)

    def _finish_discovery(self, job, group, deadline):
        """Wait for a discovery still running to end; delete its status.

        The HMC keeps an ended job's status until it is deleted or its
        retention interval expires. A failure of this discovery no longer
        matters: what the driver waited for is found.
        """
        try:
            self.hmc.discard_job(self.hmc.wait_for_job(
                job, 'FCP storage discovery of %s' % group.name, deadline))
        except zhmcclient.Error as exc:
            LOG.debug('FCP storage discovery of %s ended: %s', group.name,
                      hmc_module.describe_error(exc))

    def _clean_up(self, what, name, delete):
        """Delete an object after a failure; log, never raise.

        The original error is what the user must see (it is re-raised by
        the caller); a failed deletion is logged with what is left.
        """
        try:
            with hmc_module.translated('remove %s' % what, name):
                delete()
        except Exception as exc:
            LOG.error('Could not remove %s %s after a failure; it is left '
                      'on the HMC: %s', what, name, exc)

    def _remove_volume(self, volume):
        """Delete a storage volume, waiting out a busy group.

        The group stays busy while a discovery runs: the removal waits for
        it, within a time limit of its own.
        """
        hmc_module.retry_while_busy(
            volume.delete,
            hmc_module.Deadline(self.settings.hmc_operation_timeout),
            'remove storage volume %s' % volume.name)

    def attach_volume(self, instance, partition, fc, size_gb=None):
        """Define a data volume, fulfil it, wait until the HMC found it.

        The volume is fulfilled with Cinder's target WWPN and LUN, like
        the boot volume: discovery alone would pair any unclaimed LUN of a
        similar size with it (zhmcclient's indicate_fulfillment_fcp: a
        non-boot volume may be fulfilled too). It is defined with its
        real size, which the HMC compares with the LUN's.
        """
        group = self._require_group(partition)
        deadline = hmc_module.Deadline(self.settings.hmc_operation_timeout)
        wwpns = self.wwpns(partition)
        initiators = [w for w in wwpns if w in fc.initiators] or wwpns
        target = (fc.initiators.get(initiators[0]) or fc.targets)[0]
        lun = fc.fcp_lun[target[1]]
        nothing_found = self._nothing_found(fc.volume_id, initiators,
                                            target[0], lun)
        with hmc_module.translated('define data volume', group.name):
            volume = hmc_module.retry_while_busy(
                lambda: group.storage_volumes.create({
                    'name': fc.volume_id,
                    'description': 'Cinder volume %s' % fc.volume_id,
                    'usage': 'data',
                    'size': size_gb or PLACEHOLDER_SIZE,
                }), deadline, 'define data volume in %s' % group.name)
        try:
            port_uri = self._ports.get(partition.uri, {}).get(initiators[0])
            job = ended = None
            if port_uri is None:
                port_uri, job, ended = self._wait_found(
                    group, self._vsr_uri(partition, initiators[0]),
                    _validated_port, deadline,
                    'storage path %s of %s' % (initiators[0],
                                               partition.name),
                    'validated', nothing_found, discovering=False)
            if job is not None:
                # The group is busy while its discovery runs.
                self._finish_discovery(job, group, deadline)
                job = None
            self._fulfil(group, volume, target[0], lun, port_uri, deadline,
                         'fulfil data volume')
            self._wait_complete(
                group, volume.uri, fc.volume_id, size_gb, deadline,
                nothing_found, job=job, discard=ended, incomplete_ok=True,
                paths_wanted=len(wwpns))
        except Exception:
            with excutils.save_and_reraise_exception():
                self._clean_up('data volume', fc.volume_id,
                               lambda: self._remove_volume(volume))

    def detach_volume(self, instance, partition, fc):
        group = self._group(partition)
        if group is None:
            return
        with hmc_module.translated('remove data volume', group.name):
            for volume in group.storage_volumes.list(
                    filter_args={'name': fc.volume_id}):
                volume.delete()

    def detach(self, instance, partition):
        group = self._group(partition)
        if group is None:
            return False
        with hmc_module.translated('detach storage group', group.name):
            try:
                partition.detach_storage_group(group)
            except zhmcclient.HTTPError as exc:
                if exc.http_status not in (404, 409):
                    raise
                return False
        return True

    def release(self, instance, partition):
        """Delete the instance's storage group (gone is success)."""
        group = self._group(partition)
        if group is None:
            return
        self._delete_group(group)
        self._groups.pop(partition.uri, None)
        self._devnos.pop(partition.uri, None)
        self._vsrs.pop(partition.uri, None)
        self._ports.pop(partition.uri, None)
        self._boot.pop(partition.uri, None)

    def _delete_group(self, group):
        with hmc_module.translated('delete storage group', group.name):
            try:
                group.delete()
            except zhmcclient.HTTPError as exc:
                if exc.http_status != 404:
                    raise

    def release_leftovers(self, name):
        """Delete the storage group of a partition deleted earlier.

        A destroy whose group deletion failed after the partition was gone
        is retried by Nova; this finishes it.
        """
        group = self._find_group(name)
        if group is not None:
            LOG.info('Deleting storage group %s left by an earlier deletion.',
                     name)
            self._delete_group(group)


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


def _validated_port(vsr, ended=False):
    """The storage port of a VSR whose WWPN is validated, or None."""
    info = vsr.get('world-wide-port-name-info') or {}
    if info.get('status') == 'validated' and vsr.get('adapter-port-uri'):
        return vsr['adapter-port-uri']
    return None


def _state_of(props):
    if 'fulfillment-state' in props:
        return props['fulfillment-state']
    return (props.get('world-wide-port-name-info') or {}).get('status')


def can_discover(api_version, se_version):
    """Whether Start FCP Storage Discovery exists (DISCOVERY_API/_SE).

    An unknown API version counts as new enough.
    """
    if api_version is not None and tuple(api_version) < DISCOVERY_API:
        return False
    parts = [int(p) for p in str(se_version or '').split('.')
             if p.isdigit()]
    return not parts or tuple(parts) >= DISCOVERY_SE


def backend_for(hmc, subset, settings, api_version=None):
    if subset.storage_management:
        return StorageGroupBackend(hmc, subset, settings, api_version)
    return HbaBackend(hmc, subset, settings)


def check_volume_boot(instance):
    """Refuse an instance that boots from an image (it has an image_ref)."""
    if instance.image_ref:
        raise nova_exception.InstanceUnacceptable(
            instance_id=instance.uuid,
            # Short: Nova keeps 255 characters of a fault message.
            reason='nova-dpm boots only from a Fibre Channel volume; create '
                   'the server with --volume or --boot-from-volume')


def refuse_encrypted(volume_id, encrypted):
    """Refuse an encrypted volume (connection info or Nova's encryption)."""
    if encrypted:
        raise exception.InvalidVolume(
            volume=volume_id,
            reason='it is encrypted; the partition reaches its volumes '
                   'directly over FCP, so nova-dpm cannot decrypt them')
