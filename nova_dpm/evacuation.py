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

"""Fencing of the source partition of an evacuated instance.

Nova evacuates an instance whose nova-compute is down; its partition may
still run. Two partitions must never run on the same volumes, so when the
destination rebuilds the instance (``spawn``, task state
``rebuild_spawning``, an ``evacuation`` migration), it looks for the
source subset's partition of the instance on its own CPC and, where that
partition is not stopped, stops it (with a warning) before its own
partition is started. A source partition that is not on this CPC is named
in a warning, and the evacuation goes on as Nova's does without a
driver's fencing. Should the HMC fail to list the CPC's partitions or to
stop the source partition, the evacuation fails (its own partition is
removed by ``spawn``): this service cannot tell that the source does not
run on the same volumes. The leftover partition is deleted by the
source's nova-compute when it comes back (Nova's evacuation records,
``destroy``).
"""

import re

from nova.compute import task_states
from nova import exception as nova_exception
from nova import objects
from oslo_log import log as logging

from nova_dpm import exception
from nova_dpm import hmc
from nova_dpm import partition as partition_module

LOG = logging.getLogger(__name__)

EVACUATION = 'evacuation'


def source_of(context, instance):
    """The source host of the instance's evacuation; None otherwise."""
    if instance.task_state != task_states.REBUILD_SPAWNING:
        return None
    mig_context = instance.migration_context
    if mig_context is None:
        return None
    try:
        migration = objects.Migration.get_by_id(context,
                                                mig_context.migration_id)
    except nova_exception.MigrationNotFound:
        return None
    if migration.migration_type != EVACUATION:
        return None
    return migration.source_compute


def fence(driver, context, instance):
    """Stop the partition an evacuated instance left on its source.

    No request unless the instance is being evacuated here.
    """
    source = source_of(context, instance)
    if source is None or source == driver.host:
        return
    name = partition_module.Naming(source).name(instance.uuid)
    cpc = driver.subset.cpc
    try:
        with hmc.translated('list partitions', cpc.name):
            found = cpc.partitions.list(filter_args={
                'name': '^%s$' % re.escape(name)})
        if not found:
            LOG.warning('Evacuation from CPC subset %s: no partition %s on '
                        'CPC %s (another CPC, deleted, or not visible to '
                        'this HMC user); it is not stopped from here.',
                        source, name, cpc.name, instance=instance)
            return
        _stop(driver, instance, source, found[0])
    except exception.DPMError as exc:
        LOG.error('Evacuation from CPC subset %s: its partition %s could '
                  'not be checked or stopped (%s); the instance is not '
                  'started here, so that two partitions never run on the '
                  'same volumes. Stop that partition on the HMC and '
                  'evacuate again.', source, name, exc.format_message(),
                  instance=instance)
        raise


def _stop(driver, instance, source, part):
    """Stop the source partition unless it is stopped already."""
    status = part.get_property('status')
    if status in partition_module.DELETABLE:
        LOG.info('Evacuation from CPC subset %s: its partition %s is %s.',
                 source, part.name, status, instance=instance)
        return
    LOG.warning('Evacuation from CPC subset %s: stopping its partition %s '
                '(%s) before this CPC subset starts the instance, so that '
                'two partitions never run on the same volumes.', source,
                part.name, status, instance=instance)
    driver.partitions.stop(part)
