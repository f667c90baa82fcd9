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

"""The shape of a partition, changed in place by a resize on its subset.

A flavor gives a partition its size (``ifl-processors``, memory), its
processor shape (``processor-mode``; for shared IFLs the processing weight
and absolute capping, the HMC's defaults where the flavor sets none, see
nova_dpm.flavor) and its crypto adapters and domains (nova_dpm.crypto).
While the partition is stopped, a resize on the same CPC subset changes
all of it: one Update Partition Properties (``processor-mode`` and
``maximum-memory`` change only while stopped, HMC rule D1), and for a
flavor with or formerly with crypto domains the crypto configuration
(``Crypto.reshape``). The domains the partition had are recorded in the
instance's system metadata, so that a revert takes them back where they
are still free (others, equally free, where another partition took them
meanwhile).
"""

from oslo_log import log as logging

from nova_dpm import exception
from nova_dpm import flavor as flavor_module

LOG = logging.getLogger(__name__)

# System metadata: the crypto domains of the partition before a resize on
# its subset, until the resize is confirmed or reverted.
OLD_DOMAINS = 'dpm_old_crypto_domains'


def size_properties(flavor):
    """The partition properties a flavor sets (as Partitions.create)."""
    return {'ifl-processors': flavor.vcpus,
            'initial-memory': flavor.memory_mb,
            'maximum-memory': flavor.memory_mb}


class Shapes(object):
    """Resize in place, for one DPMDriver."""

    def __init__(self, driver):
        self.driver = driver

    def properties(self, instance, flavor, old_flavor):
        """Update Partition Properties from ``old_flavor`` to ``flavor``.

        The size always; the processor shape where the two differ.
        Raises a DPMError for a flavor the subset cannot give.
        """
        settings = self.driver.settings
        props = size_properties(flavor)
        shape = flavor_module.shape_properties(instance, settings, flavor)
        try:
            old = flavor_module.shape_properties(instance, settings,
                                                 old_flavor)
        except exception.DPMError:
            old = None    # a flavor this subset refuses: all of it is sent
        if shape != old:
            props.update(shape)
        return props

    def _has_crypto(self, instance, *flavors):
        """Whether any of the flavors asks for crypto, or cannot have it.

        For one that cannot, Crypto.reshape refuses the flavor to apply,
        or gives back the old flavor's crypto (none, say).
        """
        for flavor in flavors:
            try:
                if self.driver.crypto.wanted(instance, flavor)[1]:
                    return True
            except exception.DPMError:
                return True
        return False

    def apply(self, instance, part, flavor, old_flavor, stop=False,
              prefer=(), record=None):
        """The partition (stopped, or with ``stop``) takes ``flavor``'s shape.

        ``prefer``: crypto domains to take first where free; ``record``:
        called with the crypto domains the partition has before they
        change (not where neither flavor has crypto: no request for it
        then).
        """
        partitions = self.driver.partitions
        if stop:
            # Also where the size stays and only the crypto changes.
            partitions.stop(part)
        partitions.resize(part, self.properties(instance, flavor,
                                                old_flavor))
        if self._has_crypto(instance, flavor, old_flavor):
            self.driver.crypto.reshape(instance, part, prefer, flavor,
                                       record)

    def resize(self, instance, part):
        """The new flavor's shape; the old domains recorded for a revert.

        They are recorded before the first change, so that a resize that
        fails half-way gets them back too.
        """
        def record(had):
            instance.system_metadata[OLD_DOMAINS] = ','.join(
                str(i) for i in had)

        old = instance.old_flavor or instance.flavor
        self.apply(instance, part, instance.flavor, old, record=record)

    def restore(self, instance, part, flavor, from_flavor, stop=False):
        """The shape of ``flavor`` back, from that of ``from_flavor``.

        After a revert (``flavor`` the old one, as ``instance.flavor``
        then) or a failed resize: the domains recorded by :meth:`resize`
        are taken back where free.
        """
        recorded = instance.system_metadata.pop(OLD_DOMAINS, '')
        prefer = [int(i) for i in recorded.split(',') if i]
        self.apply(instance, part, flavor, from_flavor, stop=stop,
                   prefer=prefer)

    @staticmethod
    def forget(instance):
        """The resize is confirmed: the old domains are not needed."""
        instance.system_metadata.pop(OLD_DOMAINS, None)
