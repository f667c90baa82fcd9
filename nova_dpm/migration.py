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

"""Resize, cold migration and evacuation of volume-backed instances.

Every instance boots from a Fibre Channel volume, so nothing but the
partition moves. Nova drives the steps; this module does the HMC's part:

* ``migrate_disk_and_power_off`` (source): stop the partition, record its
  WWPNs for a revert. The partition stays until the move is confirmed.
* the volume connector (destination, task state ``resize_finish``): on
  another subset the partition and its storage paths are created, so
  that Cinder maps the volumes to the new WWPNs (``driver.py``).
* ``finish_migration`` (destination): on the same subset the stopped
  partition takes the new flavor's whole shape in place: processors,
  memory, processor mode, weight and capping, crypto adapters and domains
  (nova_dpm.shape; HMC rule D1); on another subset the new partition is
  completed as a build completes it (boot volume, NICs), and started.
* ``confirm_migration`` (source): the source partition is deleted.
* revert: the destination's ``destroy`` deletes the new partition (on the
  same subset it keeps the one partition); ``finish_revert_migration``
  (source) gives the partition its old shape back where it changed (its
  old crypto domains where still free), and starts it as it was.
* evacuate: the destination builds a new partition (``spawn``); when the
  source's nova-compute comes back, Nova's evacuation records make it
  destroy the partition left there; the volumes are never touched.
"""

from nova.compute import task_states
from nova import exception as nova_exception
from nova import objects
from oslo_log import log as logging
from oslo_serialization import jsonutils
from oslo_utils import excutils

from nova_dpm import exception
from nova_dpm import shape

LOG = logging.getLogger(__name__)

# System metadata: the WWPNs of the source partition while a move to
# another subset is not confirmed, so that a revert finds them again
# after the destination made Cinder export the volumes to its own.
SOURCE_WWPNS = 'dpm_source_wwpns'


def same_host(migration):
    return migration.source_compute == migration.dest_compute


size_properties = shape.size_properties


class Migrations(object):
    """The HMC's part of Nova's move operations, for one DPMDriver."""

    def __init__(self, driver):
        self.driver = driver
        self.shapes = shape.Shapes(driver)

    # -- source ------------------------------------------------------------

    def power_off(self, instance, timeout, retry_interval):
        """Stop the partition and record its WWPNs; it stays until confirm.

        Without a partition on this subset (a move back after a failed
        one) there is nothing to stop. An HMC failure rolls the instance
        back to its state before the move (InstanceFaultRollback).
        """
        d = self.driver
        with d.partitions.lock(instance.uuid):
            part = d.partitions.get(instance.uuid)
            if part is None:
                LOG.warning('No partition of the instance on this CPC '
                            'subset: nothing to stop.', instance=instance)
                return jsonutils.dumps([])
            try:
                wwpns = d.storage.wwpns_of(instance, part)
                instance.system_metadata[SOURCE_WWPNS] = ','.join(wwpns)
                if timeout and timeout > 0:
                    d.partitions.shutdown(part, timeout, retry_interval)
                else:
                    d.partitions.stop(part)
            except exception.DPMError as exc:
                instance.system_metadata.pop(SOURCE_WWPNS, None)
                raise nova_exception.InstanceFaultRollback(
                    inner_exception=exc)
        return jsonutils.dumps([])

    def confirm(self, migration, instance):
        """Delete the source partition (a move to another subset)."""
        d = self.driver
        instance.system_metadata.pop(SOURCE_WWPNS, None)
        self.shapes.forget(instance)
        if same_host(migration):
            return
        with d.partitions.lock(instance.uuid):
            # Stopped by power_off: deleted without a stop first.
            d._remove(instance, running=False)
        LOG.info('Deleted the partition the instance left on CPC subset '
                 '%s.', d.host, instance=instance)

    def finish_revert(self, instance, migration, power_on):
        """Back as it was: the old shape (same subset), WWPNs, power."""
        d = self.driver
        with d.partitions.lock(instance.uuid):
            part = d._partition(instance)
            if same_host(migration):
                # It may run (with the new shape) since finish_migration.
                self.shapes.restore(
                    instance, part, instance.flavor,
                    instance.new_flavor or instance.flavor, stop=True)
            self._source_wwpns_back(instance)
            instance.system_metadata.pop(SOURCE_WWPNS, None)
            if power_on:
                # Its crypto domains checked first, as for any start.
                d._start(instance, part)

    # -- destination -------------------------------------------------------

    def finish(self, context, migration, instance, image_meta, allocations,
               network_info, block_device_info, power_on):
        """Size the partition in place, or complete the new one; start it.

        On another subset the volume connector created the partition and
        its storage paths; it is completed as a build is (spawn), and
        deleted again should that fail. The partition a failed move
        started from, when the instance is moved back to it, is only
        sized.
        """
        d = self.driver
        with d.partitions.lock(instance.uuid):
            part = d.partitions.get(instance.uuid)
            kept = part is not None and (
                same_host(migration) or self._is_source(instance))
            if kept:
                self._resize_and_start(instance, part, power_on)
                return
        try:
            d.spawn(context, instance, image_meta, None, None, allocations,
                    network_info=network_info,
                    block_device_info=block_device_info, power_on=power_on)
        except Exception:
            with excutils.save_and_reraise_exception():
                # spawn deleted the new partition: the instance's WWPNs
                # are the source partition's again (a move back finds
                # them).
                self._source_wwpns_back(instance)

    def _source_wwpns_back(self, instance):
        source = instance.system_metadata.get(SOURCE_WWPNS)
        if source:
            self.driver.storage.remember_wwpns(instance, source.split(','))

    def _is_source(self, instance):
        """Whether this subset's partition is the one a move started from.

        The partition of a move that failed on its destination, now moved
        back: its WWPNs are those recorded at the start of that move. A
        partition the connector has just created has WWPNs of its own.
        """
        source = instance.system_metadata.get(SOURCE_WWPNS)
        known = self.driver.storage.known_wwpns(instance)
        return bool(source and known and source.split(',') == list(known))

    def _resize_and_start(self, instance, part, power_on):
        """New shape while stopped; the old one back if anything fails.

        Should the new shape or the start fail, Nova gives the instance
        its old flavor again; the partition gets its old shape.
        """
        old = instance.old_flavor or instance.flavor
        try:
            self.shapes.resize(instance, part)
            if power_on:
                self.driver._start(instance, part)
        except Exception:
            with excutils.save_and_reraise_exception():
                LOG.error('The resized partition did not take its new shape '
                          'or did not start; it gets its old shape back.',
                          instance=instance)
                try:
                    self.shapes.restore(instance, part, old, instance.flavor,
                                        stop=True)
                except Exception:
                    LOG.exception('Giving the partition its old shape back '
                                  'failed.', instance=instance)

    def destroy(self, context, instance):
        """Nova's destroy, aware of a revert on the same subset.

        Reverting a resize, Nova destroys the instance on the destination
        first: on the same subset that is the instance's only partition,
        which stays (finish_revert gives it its old size back). Reverting
        a move to another subset, the source's WWPNs are remembered again
        once the destination's partition is gone.
        """
        d = self.driver
        reverting = instance.task_state == task_states.RESIZE_REVERTING
        migration = self._reverting(context, instance) if reverting else None
        if migration is not None and same_host(migration):
            LOG.info('Reverting a resize on this CPC subset: the partition '
                     'stays.', instance=instance)
            return
        with d.partitions.lock(instance.uuid):
            d._remove(instance)
        if migration is not None:
            self._source_wwpns_back(instance)

    @staticmethod
    def _reverting(context, instance):
        try:
            return objects.Migration.get_by_instance_and_status(
                context, instance.uuid, 'reverting')
        except nova_exception.MigrationNotFoundByStatus:
            return None
