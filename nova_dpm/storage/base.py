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


"""The common part of the storage backends: the volume path.

:class:`StorageBackend` is what the driver calls: the interface each
backend implements (``prepare``, ``wwpns``, ``boot_properties``, the
volumes and the teardown), and, on top of it, the volume path every
backend shares: the volume connector Cinder maps volumes to, the memory
of an instance's WWPNs beyond its partition, and the boot target chosen
from Cinder's connection info.
"""

import collections

from nova.compute import task_states
from nova.compute import vm_states
from nova import context as nova_context
from nova import exception as nova_exception
from nova import objects
from nova.objects import fields as obj_fields
from nova.virt import driver as virt_driver
from oslo_log import log as logging

from nova_dpm import exception
from nova_dpm import hmc
from nova_dpm.storage import fc as fc_module

LOG = logging.getLogger(__name__)

# The instance's system metadata key of its WWPNs, kept beyond destroy.
WWPN_METADATA = 'dpm_wwpns'
# Task states in which Nova asks for the volume connector of an instance
# whose partition is to be created. RESIZE_FINISH: the destination of a
# move to another CPC subset, before Nova exports the volumes to it (on
# the same subset the partition exists; nova_dpm/migration.py).
CREATING_TASK_STATES = (task_states.BLOCK_DEVICE_MAPPING,
                        task_states.REBUILD_BLOCK_DEVICE_MAPPING,
                        task_states.RESIZE_FINISH)
NO_STORAGE_PATH = ('the CPC subset has no storage path to boot from; set '
                   '[dpm] physical_storage_adapter_mappings')
NO_BOOT_VOLUME = ('the instance has no boot volume (a block device with '
                  'boot_index 0); nova-dpm boots only from a Fibre Channel '
                  'volume')

# The boot volume as Nova's block device mapping knows it before Cinder
# has mapped it (volume_id is None until Nova has created the volume).
BootVolume = collections.namedtuple('BootVolume', ['volume_id', 'size_gb'])
# The boot volume of a build: its block device mapping and Cinder's
# connection info, parsed.
BootPlan = collections.namedtuple('BootPlan', ['bdm', 'fc'])


def wait_until(wait, deadline):
    """Let hmc.wait_until drive a wait object; its value.

    ``wait`` has the attributes ``what`` and ``wanted`` and the methods
    ``read()`` (one poll), ``done(value)`` and ``state(value)``.
    """
    return hmc.wait_until(wait, deadline)


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


def check_volume_boot(instance):
    """Refuse an instance that boots from an image (it has an image_ref)."""
    if instance.image_ref:
        raise nova_exception.InstanceUnacceptable(
            instance_id=instance.uuid,
            # Short: Nova keeps 255 characters of a fault message.
            reason='nova-dpm boots only from a Fibre Channel volume; create '
                   'the server with --volume or --boot-from-volume')


def boot_plan(instance, block_device_info):
    """The build's BootPlan; BuildAbortException without a usable one."""
    bdm = root_volume(block_device_info)
    try:
        if bdm is None:
            raise nova_exception.BuildAbortException(
                instance_uuid=instance.uuid, reason=NO_BOOT_VOLUME)
        return BootPlan(bdm, fc_module.parse_fc(bdm.get('connection_info')))
    except exception.DPMError as exc:
        raise nova_exception.BuildAbortException(
            instance_uuid=instance.uuid, reason=exc.format_message())


def creating(instance):
    """Whether Nova asks for the connector of a partition to be made.

    A build or rebuild maps its block devices in its own task states;
    an unshelve of an offloaded instance does it while spawning.
    """
    return (instance.task_state in CREATING_TASK_STATES or
            (instance.vm_state == vm_states.SHELVED_OFFLOADED and
             instance.task_state == task_states.SPAWNING))


def connector(host, wwpns):
    """The volume connector in the shape Cinder's FC drivers expect."""
    return {
        'host': host,
        'platform': obj_fields.Architecture.S390X,
        'os_type': 'linux',
        'multipath': len(wwpns) > 1,
        'wwpns': list(wwpns),
        'do_local_attach': False,
    }


class StorageBackend(object):
    """What the driver needs from a storage backend.

    Backends keep what they created per partition URI, so the build and
    the teardown do not read it back from the HMC; after a restart they
    read it once. The registry (:mod:`nova_dpm.storage.registry`) picks
    the first backend whose :meth:`applies` to the CPC subset.
    """

    name = None
    # Whether prepare() uses the boot volume (a BootVolume) Nova knows.
    wants_boot_volume = False

    @classmethod
    def applies(cls, subset):
        """Whether this backend serves the CPC subset ``subset``."""
        raise NotImplementedError()

    def __init__(self, hmc, subset, settings):
        self.hmc = hmc
        self.subset = subset
        self.settings = settings
        self._recorded = {}  # instance uuid -> WWPNs, kept beyond destroy

    # -- what each backend implements ------------------------------------

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

    # -- the WWPNs of an instance, beyond its partition ------------------

    def known_wwpns(self, instance):
        """The WWPNs recorded for the instance, or None."""
        if instance.uuid in self._recorded:
            return self._recorded[instance.uuid]
        text = (instance.system_metadata or {}).get(WWPN_METADATA)
        return text.split(',') if text else None

    def remember_wwpns(self, instance, wwpns):
        if wwpns:
            self._recorded[instance.uuid] = list(wwpns)
            instance.system_metadata[WWPN_METADATA] = ','.join(wwpns)

    def forget_wwpns(self, instance):
        self._recorded.pop(instance.uuid, None)
        instance.system_metadata.pop(WWPN_METADATA, None)

    def wwpns_of(self, instance, partition):
        """The instance's WWPNs: as recorded, else read from the HMC."""
        return self.known_wwpns(instance) or self.wwpns(partition)

    def keep_wwpns(self, instance, partition):
        """Record the WWPNs before the partition is deleted, if need be."""
        if self.known_wwpns(instance) is not None:
            return
        try:
            self.remember_wwpns(instance, self.wwpns(partition))
        except exception.DPMError:
            LOG.warning('Could not read the WWPNs before deleting the '
                        'partition.', instance=instance)

    # -- the volume path -------------------------------------------------

    def connector(self, instance, host, find, create):
        """The volume connector: the partition's WWPNs, made if need be.

        ``find(uuid, refresh)``: the instance's partition or None;
        ``create(instance)``: a new partition with its storage paths, and
        their WWPNs. While the instance's block devices are being mapped
        the partition is created here; after destroy, the WWPNs recorded
        at creation are returned, so volumes can still be detached.
        """
        wwpns = self.known_wwpns(instance)
        making = creating(instance)
        part = None
        if making or wwpns is None:
            part = find(instance.uuid, refresh=not making)
        if part is not None:
            wwpns = wwpns or self.wwpns(part)
        elif making:
            # A build, or a rebuild after destroy: a new partition with
            # new WWPNs, to which Cinder maps the volumes now.
            wwpns = create(instance)
        elif wwpns is None:
            LOG.warning('The partition of the instance is gone and its '
                        'WWPNs are not known: the volume connector '
                        'carries no WWPN.', instance=instance)
            wwpns = []
        self.remember_wwpns(instance, wwpns)
        return connector(host, wwpns)

    def create_paths(self, instance, partition):
        """Storage paths for a new partition; their WWPNs, recorded."""
        self.forget_wwpns(instance)
        wwpns = self.prepare(instance, partition, self.boot_volume(instance))
        self.remember_wwpns(instance, wwpns)
        return wwpns

    def boot(self, instance, partition, plan):
        """(BootTarget, partition properties to boot from it).

        The boot path is the partition's first WWPN; its target the first
        that Cinder maps to it and [dpm] target_wwpn_ignore_list allows.
        """
        wwpns = self.wwpns_of(instance, partition)
        if not wwpns:
            raise exception.InvalidVolume(volume=plan.fc.volume_id,
                                          reason=NO_STORAGE_PATH)
        target, lun = fc_module.choose_boot_target(
            plan.fc, wwpns[0], self.settings.target_wwpn_ignore_list)
        boot = fc_module.BootTarget(
            volume_id=plan.fc.volume_id, initiator=wwpns[0], target=target,
            fcp_lun=lun, size_gb=volume_size(plan.bdm))
        return boot, self.boot_properties(instance, partition, boot)

    def boot_volume(self, instance):
        """The boot volume as Nova's block device mappings have it now.

        For a backend that ``wants_boot_volume`` (a storage group is
        created with its boot volume defined, which needs its size: Nova's
        API wrote it into the root BDM before the build). None where it is
        not known, or the volume does not exist yet (Nova creates it from
        an image, a snapshot or nothing after asking for the connector).
        """
        if not self.wants_boot_volume:
            return None
        try:
            root = objects.BlockDeviceMappingList.get_by_instance_uuid(
                nova_context.get_admin_context(), instance.uuid).root_bdm()
        except Exception as exc:
            LOG.debug('No block device mappings of the instance: %s', exc,
                      instance=instance)
            return None
        if root is None or root.destination_type != 'volume' or \
                not root.volume_id:
            return None
        return BootVolume(volume_id=root.volume_id,
                          size_gb=volume_size(root))
