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

"""The storage area network behind the simulated HMC's FCP adapters.

A real HMC learns what its storage groups can reach only by FCP storage
discovery (storage.py): the CPC logs the groups' WWPNs in to the fabric and
looks at the LUNs the storage systems show them.  What the storage systems
show depends on the SAN's zoning and on the host mapping (LUN masking) that
the storage administrator, or Cinder's FC driver, set up.  This module is
that SAN: a table of which target WWPNs and LUNs, with their sizes, each
initiator WWPN may see.

An HMC definition configures it under the top-level key
``simulated_san`` (a nova-dpm extension that the loader takes out before
zhmcclient validates the rest of the file)::

    simulated_san:
      discovery_interval: 600      # seconds between periodic discoveries
      storage_systems:
      - name: DS8K-1
        target_wwpns: [500507680b214ac1, 500507680b224ac1]

Tests (their Cinder stand-in) map a volume with :meth:`San.map_volume`
when Cinder would: when it attaches the volume to the instance's
connector.  Without ``storage_systems`` every target WWPN is accepted.

``open: true`` makes an open SAN for a simulated HMC used with a real
Cinder that cannot map volumes here: every WWPN sees every target WWPN
and LUN a client names, in the size it defined, and a data volume gets a
LUN of its own at the next discovery.
"""

import re

# zhmcclient's StorageGroup.get_connection_report: "LUN discovery for FCP
# storage groups is performed automatically based on certain triggers, and
# regularly every 10 minutes".
DEFAULT_DISCOVERY_INTERVAL = 600.0

_HEX16 = re.compile('^[0-9a-f]{16}$')
# The target of an open SAN without storage systems.
OPEN_TARGET = '5005076810000001'


# The host LUN numbers a simulated storage system gives its volumes.
MAX_VOLUME_LUN = 255


def fcp_lun_of(lun):
    """A host LUN number (< 256) as the 16 hex digits Linux on Z uses."""
    return '%04x000000000000' % lun


def _wwpn(value, what):
    text = str(value).lower()
    if not _HEX16.match(text):
        raise ValueError('%s %r is not a WWPN: expected 16 hex digits'
                         % (what, value))
    return text


class San(object):
    """Which (target WWPN, FCP LUN) each initiator WWPN sees, and sizes.

    Not thread-safe on its own: SimulatedHmc calls it under its lock.
    """

    def __init__(self, definition=None):
        definition = dict(definition or {})
        unknown = set(definition) - {'discovery_interval', 'storage_systems',
                                     'open'}
        if unknown:
            raise ValueError('simulated_san: unknown keys %s; expected '
                             'discovery_interval, storage_systems, open'
                             % ', '.join(sorted(unknown)))
        self.open = bool(definition.get('open', False))
        self.discovery_interval = float(definition.get(
            'discovery_interval', DEFAULT_DISCOVERY_INTERVAL))
        self.targets = {}            # target WWPN -> storage system name
        for system in definition.get('storage_systems') or []:
            for wwpn in system.get('target_wwpns') or []:
                self.targets[_wwpn(wwpn, 'target WWPN')] = system.get(
                    'name', '')
        # (initiator, target, fcp_lun) -> size in GiB
        self._luns = {}
        # The volumes of the storage systems (created by a volume driver
        # through san_api.py): host LUN number -> {'size', 'name'}.
        self.volumes = {}

    # -- the storage system's volumes (its management interface) ----------

    def create_volume(self, size, name):
        """A new volume of size GiB; its LUN number (the lowest free).

        LUN 0 is left out, as storage systems keep it for the controller.
        """
        size = float(size)
        if size <= 0:
            raise ValueError('volume %r: size %r GiB, expected > 0'
                             % (name, size))
        lun = 1
        while lun in self.volumes:
            lun += 1
        if lun > MAX_VOLUME_LUN:
            raise ValueError('the simulated storage system is full: it has '
                             '%d volumes' % MAX_VOLUME_LUN)
        self.volumes[lun] = {'size': size, 'name': str(name)}
        return lun

    def volume_hosts(self, lun):
        """The initiator WWPNs the volume (a LUN number) is mapped to."""
        fcp = fcp_lun_of(lun)
        return sorted({i for (i, _t, fl) in self._luns if fl == fcp})

    def delete_volume(self, lun):
        """Delete a volume; refused while it is mapped to a host."""
        if lun not in self.volumes:
            raise KeyError('the simulated storage system has no volume '
                           'with LUN %r' % lun)
        hosts = self.volume_hosts(lun)
        if hosts:
            raise ValueError('volume with LUN %d is mapped to %s: unmap it '
                             'first' % (lun, ', '.join(hosts)))
        del self.volumes[lun]

    def map_lun(self, lun, initiators):
        """Map a volume to initiators through every target WWPN."""
        if lun not in self.volumes:
            raise KeyError('the simulated storage system has no volume '
                           'with LUN %r' % lun)
        self.map_volume(initiators, self.target_wwpns(), fcp_lun_of(lun),
                        self.volumes[lun]['size'])

    def unmap_lun(self, lun, initiators):
        self.unmap_volume(initiators, self.target_wwpns(), fcp_lun_of(lun))

    def target_wwpns(self):
        return sorted(self.targets) or [OPEN_TARGET]

    def map_volume(self, initiators, targets, fcp_lun, size):
        """Let each initiator see the LUN through each target (Cinder).

        ``fcp_lun``: the 16-hex-digit LUN as the HMC shows it; ``size``:
        the volume's size in GiB.
        """
        lun = str(fcp_lun).lower()
        if not _HEX16.match(lun):
            raise ValueError('FCP LUN %r: expected 16 hex digits' % fcp_lun)
        size = float(size)
        for target in targets:
            target = _wwpn(target, 'target WWPN')
            if self.targets and target not in self.targets:
                raise ValueError(
                    'the simulated SAN has no storage system with target '
                    'WWPN %s (it has %s)' % (
                        target, ', '.join(sorted(self.targets))))
            for initiator in initiators:
                self._luns[(_wwpn(initiator, 'initiator WWPN'), target,
                            lun)] = size

    def unmap_volume(self, initiators, targets, fcp_lun):
        lun = str(fcp_lun).lower()
        for target in targets:
            for initiator in initiators:
                self._luns.pop((str(initiator).lower(), str(target).lower(),
                                lun), None)

    def sees_any(self, initiator):
        """Whether the initiator sees a LUN (always, in an open SAN)."""
        return self.open or bool(self.visible(initiator))

    def visible(self, initiator):
        """[(target, lun, size)] the initiator sees, in a stable order."""
        initiator = str(initiator).lower()
        return sorted((t, lun, size)
                      for (i, t, lun), size in self._luns.items()
                      if i == initiator)

    def size_seen(self, initiator, target, lun, defined=None):
        """The LUN's size if the initiator sees it through target; None.

        In an open SAN an unmapped LUN is seen with the ``defined`` size.
        """
        size = self._luns.get((str(initiator).lower(), str(target).lower(),
                               str(lun).lower()))
        if size is None and self.open:
            return defined
        return size

    def any_target(self):
        """A target WWPN of the SAN, for LUNs an open SAN makes up."""
        return min(self.targets) if self.targets else OPEN_TARGET
