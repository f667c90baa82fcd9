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

"""DPMDriver: Nova's calls mapped onto the nova-dpm modules.

The modules, what each owns and the files to touch to extend them:
doc/source/contributor/module-map.rst.

Every method that touches an instance's partition holds that instance's
lock, so operations on one partition never interleave, while different
instances proceed in parallel.
"""

import logging as std_logging
import os
import threading

from nova.compute import power_state
from nova import conf as nova_conf
from nova import exception as nova_exception
from nova import objects
from nova import utils as nova_utils
from nova.virt import driver
from nova.virt import hardware
from oslo_log import log as logging
from oslo_utils import excutils

from nova_dpm import capabilities
from nova_dpm import conf as dpm_conf
from nova_dpm import console
from nova_dpm import crypto
from nova_dpm import diagnostics
from nova_dpm import evacuation
from nova_dpm import exception
from nova_dpm import flavor
from nova_dpm import hmc
from nova_dpm import migration
from nova_dpm import network
from nova_dpm import notifications
from nova_dpm import partition
from nova_dpm import storage
from nova_dpm import subset
from nova_dpm import version

LOG = logging.getLogger(__name__)


def refuse_to_start(error):
    """End nova-compute with EX_CONFIG (78): the HMC refused the logon.

    A refused logon does not go away by itself, and every new attempt
    counts against the HMC user's failed logons (HMC rule A9): the unit
    file's RestartPreventExitStatus=78 keeps systemd from starting
    nova-compute again. In native-thread mode init_host runs in the main
    thread, where a SystemExit ends the process with its status. In
    eventlet mode it runs in a green thread of oslo.service's launcher,
    which ends the service on a SystemExit but returns the status to
    nova-compute, which exits 0: the process ends here, once the log is
    written.
    """
    LOG.critical('%s. nova-compute stops with exit status %d (EX_CONFIG); '
                 'a systemd unit with RestartPreventExitStatus=%d does '
                 'not start it again.', error.format_message(),
                 exception.EX_CONFIG, exception.EX_CONFIG)
    if _exit_status_passed_on():
        raise exception.RefusedToStart(error)
    std_logging.shutdown()
    os._exit(exception.EX_CONFIG)


def _exit_status_passed_on():
    """Whether a SystemExit raised here ends the process with its status.

    In the main thread (native threads) or the main greenlet (eventlet):
    where nova-compute runs init_host in native-thread mode, and where
    the tests call it. Not in a green thread of oslo.service.
    """
    if nova_utils.concurrency_mode_threading():
        return threading.current_thread() is threading.main_thread()
    import greenlet
    return greenlet.getcurrent().parent is None


CONF = nova_conf.CONF
dpm_conf.register_opts(CONF)

# Why the console log is refused, by what the HMC or SE lacks
# (capabilities.OS_MESSAGES).
CONSOLE_LOG_NEEDS = {
    'SE': 'the console log needs SE %s or later (List OS Messages); this '
          'CPC has %s',
    'API': 'the console log needs an HMC with Web Services API %s or later '
           '(HMC 2.14.0; List OS Messages); this HMC has %s',
}
# As nova's libvirt driver: the console log is bounded to 100 KiB.
CONSOLE_LOG_MAX_BYTES = 100 * 1024


class DPMDriver(driver.ComputeDriver):
    """The Nova virt driver for IBM Z and LinuxONE CPCs in DPM mode."""

    capabilities = dict(
        driver.ComputeDriver.capabilities,
        has_imagecache=False,
        # Volume-backed instances only (as every instance is): resize,
        # cold migration and evacuation move the partition (migration.py).
        supports_evacuate=True,
        supports_migrate_to_same_host=True,
        supports_attach_interface=False,
        supports_device_tagging=False,
        supports_multiattach=False,
        supports_trusted_certs=False,
    )

    def __init__(self, virtapi, read_only=False):
        super().__init__(virtapi)
        self.settings = None
        self.hmc = None
        self.subset = None
        self.partitions = None
        self.storage = None
        self.network = None
        self.crypto = None
        self.events = None        # notifications.PartitionEvents
        self.diagnostics = None   # diagnostics.Diagnostics
        self.consoles = None      # console.SerialConsoles
        self.host = None          # the CPC subset's host, from init_host
        self.migrations = migration.Migrations(self)

    # -- host ------------------------------------------------------------

    def init_host(self, host):
        """Validate [dpm] and the CPC subset; refuse to start otherwise."""
        LOG.info('nova-dpm %s starting for CPC subset %s.',
                 version.version_string(), host)
        self.host = host
        self.settings = dpm_conf.validate(CONF)
        self.hmc = hmc.HMC(self.settings)
        try:
            self.hmc.logon()
        except exception.HMCLogonRefused as exc:
            refuse_to_start(exc)
        self.subset = subset.CpcSubset(self.hmc, self.settings, host)
        self.subset.validate()
        self.crypto = crypto.Crypto(self.hmc, self.subset, self.settings)
        self.crypto.validate(self.subset.cpc)
        self.hmc.api_version()
        self.hmc.adopt_cpc(self.subset.cpc)
        self.partitions = partition.Partitions(
            self.hmc, self.subset.cpc, host, self.settings)
        self.partitions.refresh()
        self.storage = storage.backend_for(self.hmc, self.subset,
                                           self.settings)
        self.network = network.Networking(self.hmc, self.subset)
        self.network.load_vswitch_ports()
        self.events = notifications.PartitionEvents(
            self.hmc, self.partitions, self.settings, self.emit_event)
        self.events.start()
        self.diagnostics = diagnostics.Diagnostics(self.hmc,
                                                   self.partitions)
        self.consoles = console.SerialConsoles(self.hmc)

    def cleanup_host(self, host):
        if self.consoles is not None:
            self.consoles.close_all()
        if self.events is not None:
            self.events.stop()
        if self.diagnostics is not None:
            self.diagnostics.close()
        if self.hmc is not None:
            self.hmc.logoff()

    def get_available_nodes(self, refresh=False):
        return [self.host or CONF.host]

    def node_is_available(self, nodename):
        return nodename == (self.host or CONF.host)

    def get_host_ip_addr(self):
        return CONF.my_ip

    # -- resources -----------------------------------------------------

    def get_available_resource(self, nodename):
        """The subset's resources: none while the CPC is unavailable.

        Two requests: the CPC's status, then (while it serves) the listing
        of the subset's partitions with their sizes.
        """
        if self.subset.read_status():
            return self.subset.available_resource(0, 0)
        procs, memory = self.partitions.usage()
        return self.subset.available_resource(procs, memory)

    def update_provider_tree(self, provider_tree, nodename, allocations=None):
        inventory = provider_tree.data(nodename).inventory
        ratios = self._get_allocation_ratios(inventory)
        provider_tree.update_inventory(nodename,
                                       self.subset.inventory(ratios))

    # -- inventory of instances ------------------------------------------

    def list_instance_uuids(self):
        return list(self.partitions.refresh())

    def list_instances(self):
        return [p.name for p in self.partitions.refresh().values()]

    def instance_exists(self, instance):
        return instance.uuid in self.partitions.refresh()

    def get_info(self, instance, use_cache=True):
        """The partition's power state: at most one HMC request.

        With use_cache (Nova's power-state sync), the status comes from a
        listing of the whole subset at most a few seconds old, so a sync of
        any number of instances costs one request.
        """
        if use_cache:
            status = self.partitions.statuses().get(instance.uuid)
        else:
            part = self.partitions.get(instance.uuid)
            status = self.partitions.status(part) if part else None
        if status is None:
            raise nova_exception.InstanceNotFound(instance_id=instance.uuid)
        return hardware.InstanceInfo(
            state=partition.power_state_of(status),
            internal_id=self.partitions.uri(instance.uuid))

    # -- build -----------------------------------------------------------

    def prepare_for_spawn(self, instance):
        """Checks that need no HMC: image boot, flavor, paths, the limit."""
        storage.check_volume_boot(instance)
        flavor.check(instance, self.settings, self.crypto.check)
        if not self.subset.adapter_ports:
            raise nova_exception.InstanceUnacceptable(
                instance_id=instance.uuid, reason=storage.NO_STORAGE_PATH)
        self._admit(instance)

    def _admit(self, instance):
        """Count the instance against [dpm] max_instances.

        A full subset fails the build with a fault that names the limit.
        (Raising ComputeResourcesUnavailable would let Nova reschedule,
        but a user with one subset would then only see "Exceeded maximum
        number of retries". To keep the scheduler from choosing a full
        subset, use nova's NumInstancesFilter with max_instances_per_host.)
        """
        try:
            self.subset.reserve(instance.uuid, self.partitions.known)
        except exception.DPMError as exc:
            raise nova_exception.InstanceUnacceptable(
                instance_id=instance.uuid, reason=exc.format_message())

    def prepare_networks_before_block_device_mapping(self, instance,
                                                     network_info):
        """Refuse unusable ports before the partition is created."""
        try:
            self.network.check_backings(network_info)
        except exception.DPMError as exc:
            raise nova_exception.InstanceUnacceptable(
                instance_id=instance.uuid, reason=exc.format_message())

    def failed_spawn_cleanup(self, instance):
        """After a build failed before spawn; never hides that failure."""
        try:
            with self.partitions.lock(instance.uuid):
                self._remove_after_failure(instance)
        finally:
            self.subset.release(instance.uuid)

    def get_volume_connector(self, instance):
        """The partition's WWPNs, in the shape Cinder's FC drivers expect.

        Nova asks for it before spawn (to attach the boot volume), so while
        the instance's block devices are being mapped the partition and its
        storage paths are created here. After destroy, the WWPNs recorded
        at creation are returned, so volumes can still be detached.
        """
        with self.partitions.lock(instance.uuid):
            return self.storage.connector(instance, CONF.host,
                                          self.partitions.get, self._create)

    def _create(self, instance):
        """Create the partition and its storage paths; nothing on failure.

        No listing first: this service knows every partition of its
        subset. Should the HMC refuse the create because the partition
        exists after all (left by an interrupted build), the leftover is
        deleted and the create repeated.
        """
        self._admit(instance)
        try:
            try:
                part = self.partitions.create(instance)
            except exception.HMCOperationFailed:
                leftover = self.partitions.get(instance.uuid)
                if leftover is None:
                    raise
                LOG.warning('Deleting partition %s left by an earlier '
                            'attempt.', leftover.name, instance=instance)
                self._remove(instance)
                part = self.partitions.create(instance)
        finally:
            self.subset.release(instance.uuid)
        try:
            self.crypto.attach(instance, part)
            return self.storage.create_paths(instance, part)
        except Exception:
            LOG.exception('Creating the storage paths failed; deleting the '
                          'partition.', instance=instance)
            self._remove(instance)
            raise

    def spawn(self, context, instance, image_meta, injected_files,
              admin_password, allocations, network_info=None,
              block_device_info=None, power_on=True, accel_info=None):
        plan, nics = self._check_build(instance, network_info,
                                       block_device_info)
        with self.partitions.lock(instance.uuid):
            try:
                evacuation.fence(self, context, instance)
                part = self.partitions.get(instance.uuid)
                if part is None:
                    self._create(instance)
                    part = self.partitions.get(instance.uuid)
                boot, props = self.storage.boot(instance, part, plan)
                self._create_nics(instance, part, nics, props, network_info,
                                  power_on)
                LOG.info('Partition %s boots from %s.', part.name, boot,
                         instance=instance)
                if power_on:
                    self._start(instance, part)
            except exception.InvalidVolume as exc:
                self._remove_after_failure(instance)
                raise nova_exception.BuildAbortException(
                    instance_uuid=instance.uuid, reason=exc.format_message())
            except exception.CPCResourcesShort as exc:
                # Another host may have the processors and memory: Nova
                # reschedules the build, with this reason.
                self._remove_after_failure(instance)
                raise nova_exception.ComputeResourcesUnavailable(
                    reason=exc.format_message())
            except exception.HMCOperationFailed as exc:
                self._remove_after_failure(instance)
                if exc.refused:
                    # Another host would be refused alike: fail the build
                    # with the HMC's reason rather than reschedule it.
                    raise nova_exception.BuildAbortException(
                        instance_uuid=instance.uuid,
                        reason=exc.format_message())
                raise
            except Exception:
                with excutils.save_and_reraise_exception():
                    self._remove_after_failure(instance)

    def _start(self, instance, part):
        """Start the partition once its crypto domains are free to use."""
        self.crypto.before_start(instance, part)
        self.partitions.start(part)

    def _create_nics(self, instance, part, nics, props, network_info,
                     power_on):
        """Create the NICs, write the boot properties, await the ports.

        As nova's libvirt driver does: when the partition is to be started
        and [DEFAULT] vif_plugging_timeout is not 0, wait for
        network-vif-plugged of every port Neutron does not report active
        yet. The NICs are created (the partition stopped) inside the wait,
        since the Neutron agent reports a port up once it sees its NIC on
        the HMC; the partition starts after the events. On a timeout the
        build fails if [DEFAULT] vif_plugging_is_fatal (the partition is
        removed), and goes on otherwise.
        """
        timeout = CONF.vif_plugging_timeout
        events = (self._vif_plugged_events(network_info)
                  if power_on and timeout else [])

        def create():
            deadline = hmc.Deadline(
                self.settings.hmc_operation_timeout)
            props['boot-os-specific-parameters'] = self.network.create_nics(
                part, nics, self.storage.device_numbers(part), deadline)
            self.partitions.update(part, props, deadline)

        if not events:
            create()
            return
        try:
            with self.virtapi.wait_for_instance_event(
                    instance, events, timeout=timeout,
                    error_callback=self._vif_plug_failed):
                create()
        except nova_exception.InstanceEventTimeout:
            if CONF.vif_plugging_is_fatal:
                LOG.error('Neutron did not report every port plugged within '
                          '%d s ([DEFAULT] vif_plugging_timeout).', timeout,
                          instance=instance)
                raise nova_exception.VirtualInterfaceCreateException()
            LOG.warning('Neutron did not report every port plugged within '
                        '%d s; starting the partition anyway ([DEFAULT] '
                        'vif_plugging_is_fatal = false).', timeout,
                        instance=instance)

    @staticmethod
    def _vif_plugged_events(network_info):
        """The network-vif-plugged events to wait for, as libvirt does.

        Only ports that are down now undergo the down->up transition the
        event reports; a port already active (or of unknown state) is not
        waited for.
        """
        return [('network-vif-plugged', vif['id'])
                for vif in network_info or []
                if vif.get('active', True) is False]

    @staticmethod
    def _vif_plug_failed(event_name, instance):
        LOG.error('Neutron reported a failure for event %s.', event_name,
                  instance=instance)
        if CONF.vif_plugging_is_fatal:
            raise nova_exception.VirtualInterfaceCreateException()

    def _remove_after_failure(self, instance):
        """Clean up after a failed spawn without hiding why it failed."""
        LOG.error('Spawn failed; removing the partition.', instance=instance)
        try:
            self._remove(instance)
        except Exception:
            LOG.exception('Removing the partition after the failed spawn '
                          'failed too; Nova\'s clean-up will retry.',
                          instance=instance)

    def _check_build(self, instance, network_info, block_device_info):
        """Everything that can be refused without the HMC."""
        def abort(reason):
            raise nova_exception.BuildAbortException(
                instance_uuid=instance.uuid, reason=reason)
        try:
            storage.check_volume_boot(instance)
        except nova_exception.InstanceUnacceptable as exc:
            abort(exc.format_message())
        try:
            nics = self.network.planned_nics(network_info)
        except exception.DPMError as exc:
            abort(exc.format_message())
        return storage.boot_plan(instance, block_device_info), nics

    # -- teardown --------------------------------------------------------

    def _remove(self, instance, running=None):
        """Delete the instance's partition and storage; gone is success.

        The partition is stopped first when Nova believes it runs (one
        request less than an optimistic delete that the HMC refuses), or
        as ``running`` says, and deleted first otherwise; the storage the
        deletion does not take along (a storage group) is released
        afterwards.
        """
        part = self.partitions.get(instance.uuid)
        if part is None:
            self.storage.release_leftovers(
                self.partitions.naming.name(instance.uuid))
            return
        self.storage.keep_wwpns(instance, part)
        if running is None:
            running = instance.power_state == power_state.RUNNING
        if running:
            self.partitions.stop(part)
        try:
            self.partitions.delete(instance.uuid, part)
        except exception.HMCOperationFailed:
            # HMC rule E7: the partition is deleted with its storage group
            # attached, as IBM's ansible modules do; should an HMC refuse,
            # the group is detached and the delete tried once more (see
            # the known limitations).
            if not self.storage.detach(instance, part):
                raise
            self.partitions.delete(instance.uuid, part)
        self.storage.release(instance, part)

    def destroy(self, context, instance, network_info, block_device_info=None,
                destroy_disks=True, destroy_secrets=True):
        """Delete the partition; never the volumes (a revert: migration)."""
        self.consoles.close(instance.uuid)
        self.migrations.destroy(context, instance)

    def cleanup(self, context, instance, network_info, block_device_info=None,
                destroy_disks=True, migrate_data=None, destroy_vifs=True,
                destroy_secrets=True):
        """Nothing beyond destroy: the partition took its NICs along."""

    # -- resize, cold migration (migration.py) ----------------------------

    def migrate_disk_and_power_off(self, context, instance, dest, flavor,
                                   network_info, block_device_info=None,
                                   timeout=0, retry_interval=0):
        return self.migrations.power_off(instance, timeout, retry_interval)

    def finish_migration(self, context, migration, instance, disk_info,
                         network_info, image_meta, resize_instance,
                         allocations, block_device_info=None, power_on=True,
                         share_info=None):
        self.migrations.finish(context, migration, instance, image_meta,
                               allocations, network_info, block_device_info,
                               power_on)

    def confirm_migration(self, context, migration, instance, network_info):
        self.migrations.confirm(migration, instance)

    def finish_revert_migration(self, context, instance, network_info,
                                migration, block_device_info=None,
                                power_on=True, share_info=None):
        self.migrations.finish_revert(instance, migration, power_on)

    # -- power -----------------------------------------------------------

    def _partition(self, instance):
        part = self.partitions.get(instance.uuid)
        if part is None:
            raise nova_exception.InstanceNotFound(instance_id=instance.uuid)
        return part

    def power_off(self, instance, timeout=0, retry_interval=0):
        """Stop; with a timeout, ask the guest OS to shut down first."""
        with self.partitions.lock(instance.uuid):
            part = self._partition(instance)
            if timeout and timeout > 0:
                self.partitions.shutdown(part, timeout, retry_interval)
            else:
                self.partitions.stop(part)

    def power_on(self, context, instance, network_info,
                 block_device_info=None, accel_info=None, share_info=None):
        with self.partitions.lock(instance.uuid):
            self._start(instance, self._partition(instance))

    def reboot(self, context, instance, network_info, reboot_type,
               block_device_info=None, bad_volumes_callback=None,
               accel_info=None, share_info=None):
        """HARD: stop and start. SOFT: graceful shutdown, then start.

        A soft reboot waits up to [DEFAULT] shutdown_timeout for the guest
        OS to shut down, then stops the partition hard.
        """
        with self.partitions.lock(instance.uuid):
            part = self._partition(instance)
            if reboot_type == 'SOFT':
                self.partitions.shutdown(part, CONF.shutdown_timeout)
            else:
                self.partitions.stop(part)
            self.partitions.start(part)

    def get_console_output(self, context, instance):
        """The partition's recent operating-system messages (bytes).

        List OS Messages needs SE 2.14.0 (z14) or later and an HMC 2.14.0
        or later (capabilities.OS_MESSAGES); elsewhere the console log is
        not available. An instance without a partition is
        InstanceNotFound everywhere.
        """
        part = self._partition(instance)
        short = self.hmc.capabilities.shortfalls(capabilities.OS_MESSAGES)
        if short:
            kind, needed, have = short[0]
            raise NotImplementedError(CONSOLE_LOG_NEEDS[kind] %
                                      (needed, have))
        try:
            return self.partitions.os_messages(part, CONSOLE_LOG_MAX_BYTES)
        except exception.HMCOperationFailed as exc:
            LOG.warning('The console log is not available: %s',
                        exc.format_message(), instance=instance)
            raise nova_exception.ConsoleNotAvailable()

    def get_instance_diagnostics(self, instance):
        """Nova's Diagnostics from the HMC's metrics (diagnostics.py)."""
        uri = self._partition(instance).uri
        status = self.partitions.statuses().get(instance.uuid)
        return self.diagnostics.of(instance, uri, status)

    def get_serial_console(self, context, instance):
        """A TCP bridge to the partition's HMC ASCII console (console.py)."""
        return self.consoles.open(instance, self._partition(instance))

    def trigger_crash_dump(self, instance):
        """PSW restart: starts kdump in a Linux guest."""
        with self.partitions.lock(instance.uuid):
            self.partitions.psw_restart(instance.uuid,
                                        self._partition(instance))

    # -- volumes and networks ----------------------------------------------

    def attach_volume(self, context, connection_info, instance, mountpoint,
                      disk_bus=None, device_type=None, encryption=None):
        fc = storage.parse_fc(connection_info)
        storage.refuse_encrypted(fc.volume_id, encryption)
        with self.partitions.lock(instance.uuid):
            part = self._partition(instance)
            storage.check_maps_partition(
                fc, self.storage.wwpns_of(instance, part))
            self.storage.attach_volume(
                instance, part, fc,
                self._volume_size(context, fc.volume_id, instance))

    @staticmethod
    def _volume_size(context, volume_id, instance):
        """The size in GiB of a volume being attached, or None.

        Nova passes attach_volume no block device mapping; its
        BlockDeviceMapping record has the size.
        """
        try:
            bdm = objects.BlockDeviceMapping.get_by_volume_and_instance(
                context, volume_id, instance.uuid)
        except nova_exception.VolumeBDMNotFound:
            LOG.warning('No block device mapping of volume %s: its size is '
                        'not known.', volume_id, instance=instance)
            return None
        return storage.volume_size(bdm)

    def detach_volume(self, context, connection_info, instance, mountpoint,
                      encryption=None):
        fc = storage.parse_fc(connection_info)
        with self.partitions.lock(instance.uuid):
            part = self.partitions.get(instance.uuid)
            if part is not None:
                self.storage.detach_volume(instance, part, fc)

    def plug_vifs(self, instance, network_info):
        """NICs are created with the partition; nothing to plug later."""

    def unplug_vifs(self, instance, network_info):
        """NICs go with the partition; nothing to unplug."""
