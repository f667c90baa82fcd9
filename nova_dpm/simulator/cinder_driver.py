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

"""A Cinder volume driver for the simulated SAN's storage system.

cinder-volume loads it (``volume_driver =
nova_dpm.simulator.cinder_driver.SimulatedSanFCDriver``) in a cloud whose
HMC is the HTTPS simulated HMC (nova-dpm-cloud).  It manages volumes on
the storage system of the SAN behind the simulated CPC through the
storage system's management interface that the simulator's process
serves (san_api.py), as a Fibre Channel back end does on its array:

* create_volume creates a volume (a LUN) of the requested size;
* initialize_connection maps the LUN to the connector's WWPNs (the
  partition's virtual HBAs) and returns Fibre Channel connection info:
  the storage system's target WWPNs, the LUN and an initiator_target_map,
  and hands it to the FC zone manager, as FC drivers do (without
  ``zoning_mode = fabric`` that is a no-op); the simulated HMC then finds
  the LUN by FCP storage discovery;
* terminate_connection unmaps it (all hosts on a forced detach);
* delete_volume deletes it (the storage system refuses a mapped one).

The storage system keeps no data: a volume cannot be made from an image
or copied, and the driver says so.
"""

from cinder import exception
from cinder.volume import driver
from cinder.zonemanager import utils as fczm_utils
from oslo_config import cfg
from oslo_log import log as logging
import requests

LOG = logging.getLogger(__name__)

SAN_OPTS = [
    cfg.URIOpt('simulated_san_url',
               help='https://HOST:PORT of the simulated HMC whose process '
                    'serves the SAN storage system\'s management interface'),
    cfg.StrOpt('simulated_san_username',
               help='The userid of the simulated HMC.'),
    cfg.StrOpt('simulated_san_password', secret=True,
               help='The password of the simulated HMC.'),
    cfg.StrOpt('simulated_san_ca_file',
               help='The CA certificate of the simulated HMC (ca.pem).'),
    cfg.IntOpt('simulated_san_capacity_gb', default=1024,
               help='The capacity the back end reports to the scheduler.'),
]
TIMEOUT = 30


class SimulatedSanFCDriver(driver.FibreChannelDriver):
    """Fibre Channel volumes on the simulated SAN's storage system."""

    VERSION = '1.0.0'
    CI_WIKI_NAME = 'nova-dpm'

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.configuration:
            self.configuration.append_config_values(SAN_OPTS)
        self.protocol = 'FC'

    @staticmethod
    def get_driver_options():
        return SAN_OPTS

    # -- the storage system's management interface --------------------------

    def _call(self, method, path, body=None):
        conf = self.configuration
        try:
            response = requests.request(
                method, '%s/simulated-san/%s' % (
                    conf.simulated_san_url.rstrip('/'), path),
                json=body, timeout=TIMEOUT,
                auth=(conf.simulated_san_username,
                      conf.simulated_san_password),
                verify=conf.simulated_san_ca_file or True)
        except requests.RequestException as exc:
            raise exception.VolumeBackendAPIException(
                data='simulated SAN at %s: %s' % (conf.simulated_san_url,
                                                  exc))
        if response.status_code >= 400:
            raise exception.VolumeBackendAPIException(
                data='simulated SAN: %s /simulated-san/%s: %d %s' % (
                    method, path, response.status_code, response.text))
        return response.json() if response.content else None

    @staticmethod
    def _lun(volume):
        if not volume.provider_location:
            raise exception.VolumeBackendAPIException(
                data='volume %s has no LUN on the simulated SAN' % volume.id)
        return int(volume.provider_location)

    # -- setup and stats --------------------------------------------------

    def do_setup(self, context):
        missing = [name for name in ('simulated_san_url',
                                     'simulated_san_username',
                                     'simulated_san_password')
                   if not getattr(self.configuration, name)]
        if missing:
            raise exception.InvalidConfigurationValue(
                option=', '.join(missing), value=None)

    def check_for_setup_error(self):
        self._call('GET', 'volumes')

    def _update_volume_stats(self):
        used = sum(v['size'] for v in self._call('GET', 'volumes')['volumes'])
        capacity = self.configuration.simulated_san_capacity_gb
        name = self.configuration.safe_get('volume_backend_name')
        self._stats = {
            'volume_backend_name': name or self.__class__.__name__,
            'vendor_name': 'nova-dpm simulator',
            'driver_version': self.VERSION,
            'storage_protocol': self.protocol,
            'total_capacity_gb': capacity,
            'free_capacity_gb': max(capacity - used, 0),
            'reserved_percentage': 0,
            'QoS_support': False,
            'multiattach': False,
            'thin_provisioning_support': False,
        }

    def get_volume_stats(self, refresh=False):
        if refresh or not self._stats:
            self._update_volume_stats()
        return self._stats

    # -- volumes ------------------------------------------------------------

    def create_volume(self, volume):
        created = self._call('POST', 'volumes', {'size': volume.size,
                                                 'name': volume.id})
        LOG.info('Volume %s is LUN %d of the simulated SAN',
                 volume.id, created['lun'])
        return {'provider_location': str(created['lun'])}

    def delete_volume(self, volume):
        if not volume.provider_location:
            return  # never created on the storage system
        try:
            self._call('DELETE', 'volumes/%d' % self._lun(volume))
        except exception.VolumeBackendAPIException as exc:
            if ' 404 ' not in str(exc):
                raise

    def create_export(self, context, volume, connector):
        pass

    def ensure_export(self, context, volume):
        pass

    def remove_export(self, context, volume):
        pass

    def copy_image_to_volume(self, context, volume, image_service, image_id,
                             disable_sparse=False):
        raise exception.VolumeBackendAPIException(
            data='the simulated SAN keeps no data: create the volume '
                 'without an image and set it bootable')

    # -- connections ------------------------------------------------------

    def _connection(self, volume, wwpns):
        targets = self._call('GET', 'volumes')['target-wwpns']
        return {
            'driver_volume_type': 'fibre_channel',
            'data': {
                'target_discovered': False,
                'target_wwn': targets,
                'target_lun': self._lun(volume),
                'initiator_target_map': {w: list(targets) for w in wwpns},
                'volume_id': volume.id,
                'discard': False,
            },
        }

    def validate_connector(self, connector):
        """The connector needs WWPNs only (as for most FC arrays).

        cinder's FibreChannelDriver wants WWNNs too; nova-dpm's connector
        has none: a partition's virtual HBAs have WWPNs only.
        """
        if not (connector or {}).get('wwpns'):
            raise exception.InvalidConnectorException(missing='wwpns')

    def initialize_connection(self, volume, connector):
        wwpns = [w.lower() for w in (connector or {}).get('wwpns') or []]
        if not wwpns:
            raise exception.InvalidConnectorException(missing='wwpns')
        self._call('POST', 'volumes/%d/map' % self._lun(volume),
                   {'initiators': wwpns})
        info = self._connection(volume, wwpns)
        fczm_utils.add_fc_zone(info)
        return info

    def terminate_connection(self, volume, connector, **kwargs):
        lun = self._lun(volume)
        if connector and connector.get('wwpns'):
            wwpns = [w.lower() for w in connector['wwpns']]
        else:
            # A forced detach: every host the volume is mapped to.
            wwpns = [h for v in self._call('GET', 'volumes')['volumes']
                     if v['lun'] == lun for h in v['hosts']]
        if not wwpns:
            return None
        self._call('POST', 'volumes/%d/unmap' % lun, {'initiators': wwpns})
        info = self._connection(volume, wwpns)
        fczm_utils.remove_fc_zone(info)
        return info
