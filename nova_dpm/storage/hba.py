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


"""The HBA backend: virtual HBAs on the mapped FCP adapter ports.

Where the CPC's ``dpm-storage-management`` firmware feature is off (z13
and the first z14 models): one virtual HBA per ``[dpm]
physical_storage_adapter_mappings`` entry, boot from the first one
(``boot-device = storage-adapter``).
"""

import zhmcclient

from nova_dpm import exception
from nova_dpm import hmc
from nova_dpm.storage import base

# Device numbers nova-dpm gives its HBAs; NICs start at 0001 (network.py),
# so the two never meet in a partition nova-dpm created.
HBA_DEVNO_BASE = 0xb000


class HbaBackend(base.StorageBackend):
    """Virtual HBAs on the mapped FCP adapter ports (feature off).

    The HBAs go with their partition; nothing is left to release.
    """

    name = 'hba'

    @classmethod
    def applies(cls, subset):
        """Every subset: the backend of last resort."""
        return True

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
            with hmc.translated('create HBA', partition.name):
                hba = partition.hbas.create(props)
                hba.pull_properties(['wwpn'])
            paths.append((hba.uri, hba.get_property('wwpn').lower()))
        self._paths[partition.uri] = paths
        return [wwpn for _uri, wwpn in paths]

    def _hba_paths(self, partition):
        paths = self._paths.get(partition.uri)
        if paths is not None:
            return paths
        with hmc.translated('list HBAs', partition.name):
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
