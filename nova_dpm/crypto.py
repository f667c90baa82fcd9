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

"""Crypto adapters and domains of partitions.

``[dpm] physical_crypto_adapters`` names the crypto adapters of the subset;
init_host checks that each is a crypto adapter of the CPC. A flavor with
``dpm:crypto_domains`` (nova_dpm.flavor) gets, when its partition is
created, those adapters (of ``dpm:crypto_adapter_type`` where given) and
that many domains in access mode ``control-usage``: the lowest domains that
no partition of the CPC uses for usage on any of the adapters (zhmcclient
Cpc.get_free_crypto_domains), given to the partition with one Increase
Crypto Configuration. The domains go with the partition when it is
deleted, after a failed build as after a delete. A resize on the same
subset gives the stopped partition the new flavor's adapters and domains
(:meth:`Crypto.reshape`): the domains it has are kept where they still
serve, free ones are added, and those no longer needed are released.

A domain is the partition's alone only among partitions that hold their
resources (HMC rule R3): before a partition with crypto domains is started,
the domains of the other partitions of the CPC are read, and a conflict
fails the start with a message naming the domain and the other partition,
rather than the HMC's refusal.
"""

import threading

from oslo_log import log as logging
import zhmcclient

from nova_dpm import exception
from nova_dpm import flavor
from nova_dpm import hmc

LOG = logging.getLogger(__name__)

OPTION = 'physical_crypto_adapters'
USAGE = 'control-usage'


class CryptoUnavailable(exception.DPMError):
    msg_fmt = '%(reason)s'


def _holds(partition):
    """Whether the partition holds its resources (HMC rule E1)."""
    status = partition.get_property('status')
    if status == 'stopped':
        return bool(partition.properties.get('reserve-resources'))
    return status != 'reservation-error'


def _usage_domains(crypto_config):
    return {dc['domain-index'] for dc in
            (crypto_config or {}).get('crypto-domain-configurations') or []
            if dc.get('access-mode') == USAGE}


def _too_few(count, adapters, free):
    return CryptoUnavailable(
        reason='no free crypto domain: the flavor asks for %d on crypto '
               'adapter(s) %s, and %d are free' % (
                   count, ', '.join(a.get_property('name') for a in adapters),
                   free))


class Crypto(object):
    """The crypto adapters of a CPC subset and its partitions' domains."""

    def __init__(self, hmc, subset, settings):
        self.hmc = hmc
        self.subset = subset
        self.settings = settings
        self.adapters = []    # zhmcclient Adapters, in option order
        # One choice of free domains at a time in this service, so two
        # builds never take the same domains.
        self._lock = threading.Lock()

    def validate(self, cpc):
        """Check [dpm] physical_crypto_adapters (one request per entry)."""
        adapters = []
        for object_id in self.settings.physical_crypto_adapters:
            adapter = zhmcclient.Adapter(
                cpc.adapters, '/api/adapters/%s' % object_id)
            with hmc.translated('read adapter', object_id):
                found = hmc.pull(adapter, [
                    'name', 'parent', 'adapter-family', 'crypto-type',
                    'detected-card-type'])
            if not found:
                self._refuse('the HMC shows no adapter with object-id %s (it '
                             'does not exist, or the HMC user lacks '
                             'object-access permission for it)' % object_id)
            name = adapter.get_property('name')
            if adapter.get_property('parent') != cpc.uri:
                self._refuse('adapter %s is not an adapter of CPC %s' %
                             (name, cpc.name))
            if adapter.get_property('adapter-family') != 'crypto':
                self._refuse('adapter %s is a %s adapter; a crypto adapter '
                             'is expected' %
                             (name, adapter.get_property('adapter-family')))
            adapters.append(adapter)
        self.adapters = adapters
        return adapters

    def _refuse(self, reason):
        raise exception.CpcSubsetInvalid(host=self.subset.host,
                                         option=OPTION, reason=reason)

    # -- a flavor's request ------------------------------------------------

    def wanted(self, instance, instance_flavor=None):
        """(adapters, domain count) the flavor asks for; ([], 0) if none.

        ``instance_flavor``: the instance's flavor unless given. Raises
        CryptoUnavailable when the subset has no adapter for it.
        """
        specs = flavor.read(instance_flavor or instance.flavor)
        count = specs.get(flavor.CRYPTO_DOMAINS, 0)
        kind = specs.get(flavor.CRYPTO_ADAPTER_TYPE)
        if not count:
            if kind:
                raise CryptoUnavailable(
                    reason='flavor extra spec %s needs %s' % (
                        flavor.CRYPTO_ADAPTER_TYPE, flavor.CRYPTO_DOMAINS))
            return [], 0
        adapters = [a for a in self.adapters
                    if kind in (None, a.get_property('crypto-type'))]
        if not adapters:
            raise CryptoUnavailable(
                reason='the flavor asks for crypto domains and the CPC '
                       'subset has no %scrypto adapter ([dpm] %s)' % (
                           '%s ' % kind if kind else '', OPTION))
        return adapters, count

    def check(self, instance):
        """Refuse a crypto flavor the subset cannot serve (no request)."""
        self.wanted(instance)

    # -- the partition's domains -------------------------------------------

    def attach(self, instance, partition):
        """Give a new partition its adapters and free domains.

        Two requests (the CPC's partitions, Increase Crypto
        Configuration), none for a flavor without crypto. Raises
        CryptoUnavailable when too few domains are free.
        """
        adapters, count = self.wanted(instance)
        if not count:
            return []
        cpc = self.subset.cpc
        names = ', '.join(a.get_property('name') for a in adapters)
        with self._lock:
            free = self._free(cpc, adapters)
            if len(free) < count:
                raise _too_few(count, adapters, len(free))
            chosen = free[:count]
            with hmc.translated('increase crypto configuration',
                                partition.name):
                partition.increase_crypto_config(
                    adapters, [{'domain-index': i, 'access-mode': USAGE}
                               for i in chosen])
        LOG.info('Partition %s uses crypto domain(s) %s of crypto '
                 'adapter(s) %s.', partition.name,
                 ', '.join(str(i) for i in chosen), names,
                 instance=instance)
        return chosen

    def reshape(self, instance, partition, prefer=(), instance_flavor=None,
                record=None):
        """Give a stopped partition the crypto a flavor asks for.

        ``record``: called with the domains it has before anything
        changes. ``instance_flavor``: the instance's flavor unless given. The
        domains it has are kept where they still serve, free ones are
        taken for the rest (those of ``prefer`` first where free: the old
        ones of a revert), and what the flavor no longer needs is
        released: one Increase, then one Decrease Crypto Configuration at
        most (HMC rule R4). Returns (the domains it had, those it has).
        Raises CryptoUnavailable, nothing changed, when too few are free.
        """
        adapters, count = self.wanted(instance, instance_flavor)
        with hmc.translated('read crypto configuration', partition.name):
            self.hmc.pull_partition(partition, ['crypto-configuration'])
        config = partition.properties.get('crypto-configuration') or {}
        have_uris = list(config.get('crypto-adapter-uris') or [])
        have = [dc['domain-index'] for dc in
                config.get('crypto-domain-configurations') or []]
        if record is not None:
            record(have)
        added = [a for a in adapters if a.uri not in have_uris]
        removed = [zhmcclient.Adapter(self.subset.cpc.adapters, uri)
                   for uri in have_uris
                   if uri not in [a.uri for a in adapters]]
        with self._lock:
            chosen = self._choose(adapters, added, have, count, prefer)
            new = [i for i in chosen if i not in have]
            gone = [i for i in have if i not in chosen]
            if added or new:
                with hmc.translated('increase crypto configuration',
                                    partition.name):
                    partition.increase_crypto_config(
                        added, [{'domain-index': i, 'access-mode': USAGE}
                                for i in new])
            if removed or gone:
                with hmc.translated('decrease crypto configuration',
                                    partition.name):
                    partition.decrease_crypto_config(removed, gone)
        if new or gone or added or removed:
            LOG.info('Partition %s uses crypto domain(s) %s now.',
                     partition.name,
                     ', '.join(str(i) for i in chosen) or 'none',
                     instance=instance)
        return have, chosen

    def _choose(self, adapters, added, have, count, prefer):
        """``count`` domains for ``adapters``, sorted.

        ``have``: the partition's domains, kept where they are free on
        the ``added`` adapters too; then free ones, ``prefer``'s first.
        """
        if not count:
            return []
        cpc = self.subset.cpc
        keep = have
        if added:
            usable = set(self._free(cpc, added))
            keep = [i for i in have if i in usable]
        free = []
        if len(keep) < count or set(prefer) - set(keep):
            free = self._free(cpc, adapters)
        order = [i for i in prefer if i in keep or i in free]
        chosen = []
        for index in order + sorted(keep) + free:
            if index not in chosen and len(chosen) < count:
                chosen.append(index)
        if len(chosen) < count:
            raise _too_few(count, adapters, len(chosen))
        return sorted(chosen)

    @staticmethod
    def _free(cpc, adapters):
        """Domains free for usage on all the adapters (one request)."""
        try:
            with hmc.translated('read free crypto domains', cpc.name):
                return cpc.get_free_crypto_domains(adapters) or []
        except ValueError as exc:
            # zhmcclient knows the domain count of the machine types it
            # knows (Adapter.maximum_crypto_domains).
            raise CryptoUnavailable(
                reason='the crypto domains of CPC %s are not known: %s' % (
                    cpc.name, exc))

    def before_start(self, instance, partition):
        """Refuse to start a partition whose usage domain is taken.

        No request for a flavor without crypto; otherwise one listing of
        the CPC's partitions with their crypto configurations and statuses.
        """
        if not self.wanted(instance)[1]:
            return
        cpc = self.subset.cpc
        with hmc.translated('read crypto configurations', cpc.name):
            parts = cpc.partitions.list(full_properties=True)
        mine = next((p for p in parts if p.uri == partition.uri), None)
        config = mine.get_property('crypto-configuration') if mine else None
        adapters = set((config or {}).get('crypto-adapter-uris') or [])
        domains = _usage_domains(config)
        for other in parts:
            theirs = other.get_property('crypto-configuration') or {}
            shared = domains & _usage_domains(theirs)
            if other.uri == partition.uri or not shared or \
                    not _holds(other) or \
                    not adapters & set(theirs.get('crypto-adapter-uris')
                                       or []):
                continue
            raise exception.CPCResourcesShort(
                operation='start partition', target=partition.name,
                reason='crypto domain(s) %s in use (control-usage) by '
                       'partition %s on the same crypto adapter' % (
                           ', '.join(str(i) for i in sorted(shared)),
                           other.name))
