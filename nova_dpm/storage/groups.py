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


"""The storage-group backend: a storage group per instance.

Where the CPC's ``dpm-storage-management`` firmware feature is on (every
machine after the first z14 models): a non-shared FCP storage group per
instance, attached to its partition; the attachment's virtual storage
resources carry the WWPNs; the boot volume is a storage volume of that
group whose fulfillment nova-dpm indicates (``boot-device =
storage-volume``). The boot volume is defined with the group; the HMC
validates a path only through defined volumes: nova-dpm starts discovery
once Cinder has mapped the volume, waits for it, then fulfils the volume
(see :meth:`StorageGroupBackend.boot_properties` and
:mod:`nova_dpm.storage.discovery`).
"""

from oslo_log import log as logging
from oslo_utils import excutils
import zhmcclient

from nova_dpm import capabilities
from nova_dpm import exception
from nova_dpm import hmc
from nova_dpm.storage import base
from nova_dpm.storage import discovery as discovery_module

LOG = logging.getLogger(__name__)

# The size a storage volume is defined with when Nova does not know the
# volume's size; the HMC then reports a mismatch, which is accepted.
PLACEHOLDER_SIZE = 1.0
# The name of a boot volume defined before its Cinder volume existed.
BOOT_VOLUME_NAME = 'boot'


class StorageGroupBackend(base.StorageBackend):
    """A storage group per instance (feature dpm-storage-management on)."""

    name = 'storage-group'
    wants_boot_volume = True
    # The storage group type (IBM: Create Storage Group); FCP storage
    # discovery and fulfillment apply to 'fcp' groups.
    group_type = 'fcp'

    @classmethod
    def applies(cls, subset):
        """Where the CPC has the dpm-storage-management feature on."""
        return bool(subset.storage_management)

    def __init__(self, hmc, subset, settings):
        super().__init__(hmc, subset, settings)
        self._groups = {}    # partition uri -> StorageGroup
        self._devnos = {}    # partition uri -> device numbers of its VSRs
        self._vsrs = {}      # partition uri -> {WWPN: VSR uri}
        self._ports = {}     # partition uri -> {WWPN: validated port uri}
        self._boot = {}      # partition uri -> boot volume uri
        self.discovery = hmc.capabilities.can(capabilities.FCP_DISCOVERY)
        if not self.discovery:
            LOG.warning('This HMC or CPC cannot start FCP storage discovery '
                        '(it needs HMC 2.14.1, %s): a build waits for the '
                        'HMC\'s periodic check of its storage groups, which '
                        'can take longer than [dpm] hmc_operation_timeout.',
                        capabilities.Capabilities.needs(
                            capabilities.FCP_DISCOVERY))

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
        with hmc.translated('find storage group', name):
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
            'type': self.group_type,
            'shared': False,
            'max-partitions': 1,
            'connectivity': len(paths),
        }
        if boot is not None and boot.size_gb:
            props['storage-volumes'] = [dict(
                self._boot_volume_props(boot.volume_id, boot.size_gb),
                operation='create')]
        with hmc.translated('create storage group', partition.name):
            group = self._console().storage_groups.create(props)
            volumes = group.properties.get('element-uris') or []
            if volumes:
                self._boot[partition.uri] = volumes[0]
            try:
                group.add_candidate_adapter_ports(
                    [self._port(a, p) for a, p, _i in paths])
                # A busy partition (409,2, HMC rule A3) is asked again.
                hmc.retry_while_busy(
                    lambda: partition.attach_storage_group(group),
                    hmc.Deadline(
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
        with hmc.translated('list virtual storage resources',
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
            v['world-wide-port-name'].lower():
                discovery_module.validated_port(v)
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
        search = self._discovery(group, discovery_module.nothing_found(
            boot.volume_id, boot.initiator, boot.target, boot.fcp_lun))
        volume = self._boot_volume(group, partition, boot, search.deadline)
        port_uri = self._validated_path(search, partition, boot.initiator)
        self._fulfil(group, volume, boot.target, boot.fcp_lun, port_uri,
                     search.deadline, 'fulfil boot volume')
        self._wait_complete(
            search, volume.uri, boot.volume_id, boot.size_gb,
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
        with hmc.translated('define boot volume', group.name):
            for volume in group.storage_volumes.list():
                if volume.name in (boot.volume_id, BOOT_VOLUME_NAME):
                    self._boot[partition.uri] = volume.uri
                    return volume
            volume = hmc.retry_while_busy(
                lambda: group.storage_volumes.create(
                    self._boot_volume_props(boot.volume_id, boot.size_gb)),
                deadline, 'define boot volume in %s' % group.name)
        self._boot[partition.uri] = volume.uri
        return volume

    def _fulfil(self, group, volume, wwpn, lun, port_uri, deadline, what):
        """Fulfill FCP Storage Volume; repeated while the group is busy."""
        with hmc.translated(what, group.name):
            hmc.retry_while_busy(
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

    def _discovery(self, group, nothing_found, deadline=None):
        """The group's FCP storage discovery for one operation.

        Within ``deadline``, by default one [dpm] hmc_operation_timeout
        from now; ``nothing_found``: the error of a discovery that ends
        without what a wait needs (discovery_module.nothing_found).
        """
        return discovery_module.Discovery(
            self.hmc, group, self.discovery,
            deadline or hmc.Deadline(
                self.settings.hmc_operation_timeout),
            nothing_found)

    def _validated_path(self, search, partition, wwpn, discovering=True):
        """The storage port of the path ``wwpn``, once discovery found it.

        See :class:`~nova_dpm.storage.discovery.PathWait`; a discovery
        still running afterwards is waited for (the group is busy while
        it runs) and its status deleted.
        """
        wait = discovery_module.PathWait(
            search, self._vsr_uri(partition, wwpn), wwpn, partition,
            discovering)
        port_uri = wait.run()
        if wait.job is not None:
            search.finish(wait.job)
        return port_uri

    def _wait_complete(self, search, volume_uri, volume_id, size_gb,
                       incomplete_ok=False, paths_wanted=0):
        """Wait until the HMC has found the volume; accept a size mismatch.

        See :class:`~nova_dpm.storage.discovery.VolumeWait`. A discovery
        still running afterwards is waited for and its status deleted.
        ``paths_wanted``: the number of paths a complete volume should
        have; fewer are logged.
        """
        wait = discovery_module.VolumeWait(search, volume_uri, volume_id,
                                           size_gb, incomplete_ok)
        state = wait.run()
        if search.discard:
            self.hmc.discard_job(search.discard)
            search.discard = None
        if wait.job is not None:
            search.finish(wait.job)
        self._after_found(wait, state, paths_wanted)

    def _after_found(self, wait, state, paths_wanted):
        """Warn about missing paths; accept a mismatched size."""
        group, volume_id = wait.discovery.group, wait.volume_id
        if state == discovery_module.INCOMPLETE or \
                wait.paths < paths_wanted:
            LOG.warning('The HMC reaches storage volume %s on %d of the '
                        '%s paths of storage group %s only (fulfillment '
                        'state %s); using it. Check the SAN zoning and LUN '
                        'masking of the other paths.', volume_id,
                        wait.paths, paths_wanted or 'several',
                        group.name, state)
        if state in discovery_module.MISMATCH_STATES:
            LOG.warning('The HMC found storage volume %s with another size '
                        'than the %s GiB defined; accepting it.',
                        volume_id, wait.size_gb)
            with hmc.translated('accept mismatched storage volume',
                                group.name):
                hmc.retry_while_busy(
                    lambda: self.hmc.session.post(
                        group.uri +
                        '/operations/accept-mismatched-storage-volumes',
                        body={'storage-volume-uris': [wait.uri]}),
                    wait.discovery.deadline,
                    'accept mismatched storage volume in %s' % group.name)

    def _clean_up(self, what, name, delete):
        """Delete an object after a failure; log, never raise.

        The original error is what the user must see (it is re-raised by
        the caller); a failed deletion is logged with what is left.
        """
        try:
            with hmc.translated('remove %s' % what, name):
                delete()
        except Exception as exc:
            LOG.error('Could not remove %s %s after a failure; it is left '
                      'on the HMC: %s', what, name, exc)

    def _remove_volume(self, volume):
        """Delete a storage volume, waiting out a busy group.

        The group stays busy while a discovery runs: the removal waits for
        it, within a time limit of its own.
        """
        hmc.retry_while_busy(
            volume.delete,
            hmc.Deadline(self.settings.hmc_operation_timeout),
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
        deadline = hmc.Deadline(self.settings.hmc_operation_timeout)
        wwpns = self.wwpns(partition)
        initiators = [w for w in wwpns if w in fc.initiators] or wwpns
        target = (fc.initiators.get(initiators[0]) or fc.targets)[0]
        lun = fc.fcp_lun[target[1]]
        search = self._discovery(group, discovery_module.nothing_found(
            fc.volume_id, initiators, target[0], lun), deadline)
        volume = self._define_data_volume(group, fc.volume_id, size_gb,
                                          search.deadline)
        try:
            port_uri = self._ports.get(partition.uri, {}).get(initiators[0])
            if port_uri is None:
                port_uri = self._validated_path(search, partition,
                                                initiators[0],
                                                discovering=False)
            self._fulfil(group, volume, target[0], lun, port_uri,
                         search.deadline, 'fulfil data volume')
            self._wait_complete(search, volume.uri, fc.volume_id, size_gb,
                                incomplete_ok=True, paths_wanted=len(wwpns))
        except Exception:
            with excutils.save_and_reraise_exception():
                self._clean_up('data volume', fc.volume_id,
                               lambda: self._remove_volume(volume))

    @staticmethod
    def _define_data_volume(group, volume_id, size_gb, deadline):
        """Create Storage Volume of Cinder's data volume in the group."""
        with hmc.translated('define data volume', group.name):
            return hmc.retry_while_busy(
                lambda: group.storage_volumes.create({
                    'name': volume_id,
                    'description': 'Cinder volume %s' % volume_id,
                    'usage': 'data',
                    'size': size_gb or PLACEHOLDER_SIZE,
                }), deadline, 'define data volume in %s' % group.name)

    def detach_volume(self, instance, partition, fc):
        group = self._group(partition)
        if group is None:
            return
        with hmc.translated('remove data volume', group.name):
            for volume in group.storage_volumes.list(
                    filter_args={'name': fc.volume_id}):
                volume.delete()

    def detach(self, instance, partition):
        group = self._group(partition)
        if group is None:
            return False
        with hmc.translated('detach storage group', group.name):
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
        with hmc.translated('delete storage group', group.name):
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
