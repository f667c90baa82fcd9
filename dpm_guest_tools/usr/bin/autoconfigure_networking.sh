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
# Bring the OSA NICs of a DPM partition online, once, early at boot.
#
# For each "<devno>,<port>[,<mac>];" entry on the kernel command line the
# qeth group device 0.0.<devno> (channels devno, devno+1, devno+2) is set
# up in layer 2 mode on adapter port <port> and set online.  chzdev(8) is
# used when it is installed, otherwise the qeth sysfs interface.  Only the
# active configuration is changed: no udev rule is written, so an image
# captured from an instance does not bring its NICs up with this
# instance's ports.  A device that is already online on another port or
# not in layer 2 mode (set online by something else, such as a rule left in
# the image) is set offline and configured again.  The MAC address is
# applied later by setmac.sh from a udev rule, when the network interface
# appears.
#
# Exit status: 0 when every entry was valid and configured, 1 otherwise.
# Valid entries are configured even when others are malformed.
#
# Environment (mainly for tests): DPM_PROC_CMDLINE, DPM_SYSFS_ROOT (see
# dpm_guest_image_tools_common), DPM_GROUP_TIMEOUT (tenths of a second to
# wait for a new qeth group device to show up in sysfs, default 50) and
# DPM_TOOLS_COMMON (path of the shared helper file).

DPM_LOG_TAG=${DPM_LOG_TAG:-autoconfigure_networking}
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
    echo "autoconfigure_networking: cannot load $DPM_TOOLS_COMMON" >&2
    exit 1
fi

DPM_GROUP_TIMEOUT=${DPM_GROUP_TIMEOUT:-50}
QETH_DRIVER_DIR=$DPM_SYSFS_ROOT/bus/ccwgroup/drivers/qeth

# write_attr <file> <value>
write_attr() {
    if ! printf '%s\n' "$2" > "$1"; then
        dpm_log err "could not write '$2' to $1"
        return 1
    fi
}

# wait_for_group_device <bus id>
# Give the kernel (and udev) time to create the new group device.
wait_for_group_device() {
    local busid=$1 tries=0
    if command -v udevadm >/dev/null 2>&1; then
        udevadm settle --timeout=10 || true
    fi
    while [[ ! -d $QETH_DRIVER_DIR/$busid ]]; do
        if (( tries >= DPM_GROUP_TIMEOUT )); then
            return 1
        fi
        sleep 0.1
        tries=$(( tries + 1 ))
    done
}

# configure_with_chzdev <devno> <port>
configure_with_chzdev() {
    local d0=0.0.$1 d1 d2
    d1=0.0.$(dpm_devno_add "$1" 1)
    d2=0.0.$(dpm_devno_add "$1" 2)
    if ! chzdev --enable --active --yes qeth "$d0:$d1:$d2" layer2=1 \
            "portno=$2"; then
        dpm_log err "chzdev failed to configure qeth device $d0"
        return 1
    fi
}

# configure_with_sysfs <devno> <port>
configure_with_sysfs() {
    local d0=0.0.$1 d1 d2 dev
    d1=0.0.$(dpm_devno_add "$1" 1)
    d2=0.0.$(dpm_devno_add "$1" 2)
    dev=$QETH_DRIVER_DIR/$d0
    if [[ ! -d $dev ]]; then
        if command -v cio_ignore >/dev/null 2>&1; then
            # The channels may be hidden by the cio_ignore list.
            cio_ignore -r "$d0,$d1,$d2" >/dev/null 2>&1 || true
        fi
        write_attr "$QETH_DRIVER_DIR/group" "$d0,$d1,$d2" || return 1
        if ! wait_for_group_device "$d0"; then
            dpm_log err "qeth group device $d0 did not appear in" \
                "$QETH_DRIVER_DIR"
            return 1
        fi
    fi
    write_attr "$dev/layer2" 1 || return 1
    write_attr "$dev/portno" "$2" || return 1
    write_attr "$dev/online" 1 || return 1
}

# read_attr <devno> <attribute>: print the attribute, empty if unreadable.
read_attr() {
    local file=$QETH_DRIVER_DIR/0.0.$1/$2 value=
    [[ -r $file ]] && value=$(<"$file")
    printf '%s\n' "$value"
}

# is_online <devno>
is_online() {
    [[ $(read_attr "$1" online) == 1 ]]
}

# check_online <devno> <port>
# For a device that is already online: succeed if it is in layer 2 mode
# on the given port (nothing to do); otherwise set it offline so that it
# can be configured again (layer2 and portno can only change while the
# device is offline) and fail.  Exit status 2: it could not be set offline.
check_online() {
    local layer2 portno
    layer2=$(read_attr "$1" layer2)
    portno=$(read_attr "$1" portno)
    if [[ $layer2 == 1 && $portno == "$2" ]]; then
        dpm_log info "qeth device 0.0.$1 is already online in layer 2" \
            "mode on port $2; leaving it as it is"
        return 0
    fi
    dpm_log notice "qeth device 0.0.$1 is online with layer2=$layer2" \
        "portno=$portno; setting it offline to configure port $2"
    write_attr "$QETH_DRIVER_DIR/0.0.$1/online" 0 || return 2
    return 1
}

main() {
    local entries rc=0 configured=0 devno port
    entries=$(dpm_parse_cmdline) || rc=1
    if [[ -z $entries ]]; then
        if (( rc == 0 )); then
            dpm_log info "no DPM NIC entries on the kernel command line"
        fi
        return $rc
    fi
    # Read the entries from fd 3 so that no command in the loop can eat
    # them from stdin.
    while read -r -u 3 devno port _; do
        if is_online "$devno"; then
            check_online "$devno" "$port"
            case $? in
                0) continue ;;
                2) rc=1; continue ;;
            esac
        fi
        if command -v chzdev >/dev/null 2>&1; then
            configure_with_chzdev "$devno" "$port" || { rc=1; continue; }
        else
            configure_with_sysfs "$devno" "$port" || { rc=1; continue; }
        fi
        configured=$(( configured + 1 ))
        dpm_log info "configured qeth device 0.0.$devno in layer 2 mode" \
            "on port $port"
    done 3<<< "$entries"
    if (( configured > 0 )) && command -v udevadm >/dev/null 2>&1; then
        # Let setmac.sh run from udev before cloud-init looks at the NICs.
        udevadm settle --timeout=30 || true
    fi
    return $rc
}

main "$@"
