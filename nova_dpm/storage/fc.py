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


"""Fibre Channel connection info: Cinder's view of a volume, parsed once.

Cinder's ``connection_info`` of an FC volume becomes an :class:`FcTarget`
here; the boot path (initiator WWPN, target WWPN, FCP LUN) is chosen from
it.
"""

import collections

from os_brick.initiator.connectors import fibre_channel_s390x

from nova_dpm import exception

FC_TYPE = 'fibre_channel'
MAX_LUN = 0xffffffff

FcTarget = collections.namedtuple(
    'FcTarget', ['volume_id', 'initiators', 'targets', 'fcp_lun'])


class BootTarget(collections.namedtuple('BootTarget', [
        'volume_id', 'initiator', 'target', 'fcp_lun', 'size_gb'])):
    """The boot path: Cinder's volume through one initiator WWPN."""

    __slots__ = ()

    def __str__(self):
        return 'volume %s: target %s, LUN %s, through %s' % (
            self.volume_id, self.target, self.fcp_lun, self.initiator)


# os-brick's s390x Fibre Channel connector already knows how Linux on Z
# addresses a Cinder LUN: LUN n becomes the 64-bit FCP LUN with n in its
# first level (0x%04x000000000000 below 2**16, 0x%08x00000000 up to 2**32).
# It exposes that only as a private method; we call it rather than repeat
# the rule so both stay identical, and refuse LUNs above 2**32 - 1, for
# which it has no answer (it returns 0).
_S390X_FC = fibre_channel_s390x.FibreChannelConnectorS390X(root_helper=None)


def fcp_lun(lun):
    """Cinder's integer target_lun -> the HMC's 16-hex-digit FCP LUN."""
    if isinstance(lun, bool) or not isinstance(lun, int) or lun < 0:
        raise ValueError('target_lun %r is not a LUN: expected an integer '
                         '>= 0' % (lun,))
    if lun > MAX_LUN:
        raise ValueError('target_lun %d is above %d, the largest LUN an FCP '
                         'LUN can address here' % (lun, MAX_LUN))
    return _S390X_FC._get_lun_string(lun)[2:]


def parse_fc(connection_info, volume_id=None):
    """Validate Cinder's connection_info of an FC volume; an FcTarget.

    Raises InvalidVolume naming the volume and the problem.
    """
    volume_id = volume_id or (connection_info or {}).get('serial') or '?'
    if not isinstance(connection_info, dict):
        raise exception.InvalidVolume(volume=volume_id,
                                      reason='no connection info')
    vtype = connection_info.get('driver_volume_type')
    if vtype != FC_TYPE:
        raise exception.InvalidVolume(
            volume=volume_id,
            reason='its driver_volume_type is %r; nova-dpm attaches only '
                   'Fibre Channel (%s) volumes' % (vtype, FC_TYPE))
    data = dict(connection_info.get('data') or {})
    volume_id = data.get('volume_id') or volume_id
    refuse_encrypted(volume_id, data.get('encrypted'))
    # os-brick normalises target_wwn/target_wwns/target_lun(s) and the
    # initiator_target_map (lower case), and pairs targets with LUNs. Its
    # helper is private too; we use it for the same reason as above.
    try:
        props = _S390X_FC._add_targets_to_connection_properties(data)
    except Exception as exc:
        raise exception.InvalidVolume(
            volume=volume_id,
            reason='its connection info has no usable target WWPNs and LUNs '
                   '(%s)' % exc)
    targets = props['targets']
    itmap = props.get('initiator_target_lun_map') or {}
    luns = {lun for _wwpn, lun in targets}
    try:
        fcp_luns = {lun: fcp_lun(lun) for lun in luns}
    except ValueError as exc:
        raise exception.InvalidVolume(volume=volume_id, reason=str(exc))
    return FcTarget(volume_id=volume_id,
                    initiators=itmap,
                    targets=targets,
                    fcp_lun=fcp_luns)


def choose_boot_target(fc, initiator, ignore):
    """(target WWPN, FCP LUN) for booting through ``initiator``.

    The first of the initiator's targets in Cinder's initiator_target_map
    that is not in [dpm] target_wwpn_ignore_list; without a map, the first
    target WWPN not ignored.
    """
    if fc.initiators:
        if initiator not in fc.initiators:
            raise exception.InvalidVolume(
                volume=fc.volume_id,
                reason="Cinder's initiator_target_map does not map the boot "
                       "path's WWPN %s; it maps %s. Check the zoning and "
                       "host mapping of the volume" %
                       (initiator, ', '.join(sorted(fc.initiators))))
        candidates = fc.initiators[initiator]
    else:
        candidates = fc.targets
    for wwpn, lun in candidates:
        if wwpn not in ignore:
            return wwpn, fc.fcp_lun[lun]
    raise exception.InvalidVolume(
        volume=fc.volume_id,
        reason='every target WWPN for the boot path %s is in [dpm] '
               'target_wwpn_ignore_list (%s)' %
               (initiator, ', '.join(w for w, _l in candidates)))


def check_maps_partition(fc, wwpns):
    """A data volume must be mapped to at least one of the WWPNs."""
    if fc.initiators and not set(fc.initiators) & set(wwpns):
        raise exception.InvalidVolume(
            volume=fc.volume_id,
            reason="Cinder's initiator_target_map maps %s, none of the "
                   "partition's WWPNs %s" %
                   (', '.join(sorted(fc.initiators)), ', '.join(wwpns)))


def refuse_encrypted(volume_id, encrypted):
    """Refuse an encrypted volume (connection info or Nova's encryption)."""
    if encrypted:
        raise exception.InvalidVolume(
            volume=volume_id,
            reason='it is encrypted; the partition reaches its volumes '
                   'directly over FCP, so nova-dpm cannot decrypt them')
