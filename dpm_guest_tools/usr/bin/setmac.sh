#!/bin/bash
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
#
# Usage: setmac.sh <interface>
#
# Called by the udev rule 80-setmac.rules when a qeth network interface is
# added.  Looks up the device number of the interface (the bus id of its
# qeth group device, 0.0.<devno>), finds the "<devno>,<port>,<mac>;" entry
# for it on the kernel command line and gives the interface that MAC
# address, which is the one OpenStack Neutron assigned to the port.
#
# Exit status:
#   0  MAC set, or nothing to do (no entry for the device, or the entry
#      carries no MAC)
#   1  the MAC is not a locally administered unicast address, the device
#      number cannot be determined, or "ip" failed
#   2  usage error
#
# Environment (mainly for tests): DPM_PROC_CMDLINE, DPM_SYSFS_ROOT (see
# dpm_guest_image_tools_common) and DPM_TOOLS_COMMON (path of the shared
# helper file).

DPM_LOG_TAG=${DPM_LOG_TAG:-dpm_setmac}
if [[ -z $DPM_TOOLS_COMMON ]]; then
    tools_dir=.
    [[ ${BASH_SOURCE[0]} == */* ]] && tools_dir=${BASH_SOURCE[0]%/*}
    # <prefix>/lib/dpm-guest-tools beside <prefix>/bin; the same directory
    # as the script where older installations put it.
    tools_lib=$tools_dir/../lib/dpm-guest-tools
    DPM_TOOLS_COMMON=$tools_lib/dpm_guest_image_tools_common
    [[ -r $DPM_TOOLS_COMMON ]] ||
        DPM_TOOLS_COMMON=$tools_dir/dpm_guest_image_tools_common
fi
# shellcheck source=../lib/dpm-guest-tools/dpm_guest_image_tools_common
if ! source "$DPM_TOOLS_COMMON"; then
    echo "setmac: cannot load $DPM_TOOLS_COMMON" >&2
    exit 1
fi

# device_number <interface>
# Print the 4-digit device number of the interface's qeth group device.
device_number() {
    local link=$DPM_SYSFS_ROOT/class/net/$1/device target busid
    target=$(cd -P "$link" 2>/dev/null && pwd) || return 1
    busid=${target##*/}
    # Bus ids of channel devices look like <cssid>.<ssid>.<devno>.
    [[ ${busid,,} =~ ^[0-9a-f]+\.[0-9a-f]+\.([0-9a-f]{4})$ ]] || return 1
    printf '%s\n' "${BASH_REMATCH[1]}"
}

main() {
    local ifname=$1 devno entries line e_devno e_port e_mac mac
    if [[ $# -ne 1 || -z $ifname ]]; then
        echo "usage: ${0##*/} <interface>" >&2
        return 2
    fi
    if ! devno=$(device_number "$ifname"); then
        dpm_log err "cannot determine the device number of interface" \
            "$ifname from $DPM_SYSFS_ROOT/class/net/$ifname/device"
        return 1
    fi
    # Malformed entries for other devices are not our concern here; they
    # are reported, and the entry for this device is still used.
    entries=$(dpm_parse_cmdline)
    e_mac=
    while read -r e_devno e_port e_mac; do
        [[ $e_devno == "$devno" ]] && break
        e_mac=
    done <<< "$entries"
    if [[ -z $e_mac ]]; then
        dpm_log info "no DPM NIC entry for device $devno ($ifname);" \
            "MAC address left unchanged"
        return 0
    fi
    if [[ $e_mac == - ]]; then
        dpm_log info "DPM NIC entry for device $devno ($ifname) has no" \
            "MAC address; MAC address left unchanged"
        return 0
    fi
    mac=$(dpm_mac_with_colons "$e_mac")
    if ! dpm_mac_is_local_unicast "$e_mac"; then
        dpm_log err "refusing MAC address $mac for $ifname (device" \
            "$devno): it is not a locally administered unicast address"
        return 1
    fi
    if ! ip link set dev "$ifname" address "$mac"; then
        dpm_log err "failed to set MAC address $mac on $ifname"
        return 1
    fi
    dpm_log info "set MAC address $mac on $ifname (device $devno," \
        "port $e_port)"
}

main "$@"
