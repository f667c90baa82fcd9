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

"""The CPC's processors and memory, as partitions hold them.

HMC rule E1: a partition holds its processors and memory while it is
active, degraded, paused or terminated (and, here, while it is starting or
stopping), and also while stopped when its ``reserve-resources`` is true. A
start that would need more than the CPC has left does not make the
partition active (HMC rules E2/E3; how it fails: see jobs.py).

What is counted, against the totals of the CPC in the HMC definition:

* memory: the ``initial-memory`` of the holding partitions against
  ``storage-customer``; ``storage-customer-available`` (a property real
  CPCs report, e.g. in the HMC dumps of zhmcclient's end2end tests) is kept
  up to date from it;
* processors, per type (IFL: ``processor-count-ifl``, CP:
  ``processor-count-general-purpose``): dedicated processors belong to one
  partition; shared processors are shared, so shared partitions together
  may have more logical processors than the CPC has, but one partition
  cannot have more than the CPC has left undedicated. [inferred: that is
  how PR/SM shares processors; the HMC documentation available to us does
  not state the check.]

A CPC without ``storage-customer`` (or without a processor count) is not
checked for that resource.
"""

# Statuses in which a partition holds its resources (HMC rule E1), plus
# the transitions [inferred: a start takes them, a stop gives them back
# at its end].
HOLDING = ('active', 'degraded', 'paused', 'terminated', 'starting',
           'stopping')

# (partition property, CPC property with the CPC's count, what it is)
PROCESSORS = (
    ('ifl-processors', 'processor-count-ifl', 'IFL'),
    ('cp-processors', 'processor-count-general-purpose', 'CP'),
)


def holds(sim, partition):
    """Does the partition hold its processors and memory now?"""
    props = partition.properties
    trans = sim.transitions.get(partition.uri)
    if trans is not None and trans.get('short'):
        # A start that cannot get them never had them.
        return False
    status = props.get('status')
    if status in HOLDING:
        return True
    return status == 'stopped' and bool(props.get('reserve-resources'))


def _int(value):
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def shortage(sim, partition):
    """What the CPC lacks to start the partition ([] if nothing).

    Each entry is a sentence naming the resource, what the partition needs
    and what is free.
    """
    cpc = partition.manager.parent
    cprops = cpc.properties
    others = [p for p in cpc.partitions.list()
              if p is not partition and holds(sim, p)]
    props = partition.properties
    short = []
    total = cprops.get('storage-customer')
    if total is not None:
        used = sum(_int(p.properties.get('initial-memory')) for p in others)
        need = _int(props.get('initial-memory'))
        if used + need > _int(total):
            short.append('memory: partition %s needs %d MiB, the CPC has %d '
                         'MiB free' % (props.get('name'), need,
                                       _int(total) - used))
    for prop, cpc_prop, kind in PROCESSORS:
        total = cprops.get(cpc_prop)
        need = _int(props.get(prop))
        if total is None or not need:
            continue
        dedicated = sum(
            _int(p.properties.get(prop)) for p in others
            if p.properties.get('processor-mode') == 'dedicated')
        free = _int(total) - dedicated
        if need > free:
            short.append('%s processors: partition %s needs %d, the CPC has '
                         '%d not dedicated to other partitions'
                         % (kind, props.get('name'), need, free))
    return short


def refresh(sim):
    """Keep each CPC's storage-customer-available up to date."""
    for cpc in sim.cpcs():
        total = cpc.properties.get('storage-customer')
        if total is None:
            continue
        used = sum(_int(p.properties.get('initial-memory'))
                   for p in cpc.partitions.list() if holds(sim, p))
        cpc.properties['storage-customer-available'] = _int(total) - used
