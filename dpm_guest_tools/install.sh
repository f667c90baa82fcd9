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
# Usage: install.sh [DESTDIR]
#
# Install the DPM guest image tools under DESTDIR (default: /, the running
# system; an image's mounted root or a package build root otherwise).  The
# RPM spec and the Debian package builder use this script, so the three
# ways of installing give the same layout:
#
#   /usr/bin/autoconfigure_networking.sh, setmac.sh,
#       dpm_console_listener.sh                        (commands, 0755)
#   /usr/lib/dpm-guest-tools/dpm_guest_image_tools_common
#                                  (shell library sourced by both, 0644)
#   /usr/lib/systemd/system/autoconfigure_networking.service,
#       dpm_console_listener.service                   (units, 0644)
#   /usr/lib/udev/rules.d/80-setmac.rules, 41-dpm-fcp-online.rules
#                                                      (udev rules, 0644)
#   /usr/lib/dracut/dracut.conf.d/90-dpm-guest-tools.conf
#                          (dracut: the FCP rule into the initramfs, 0644)
#   /usr/share/initramfs-tools/hooks/dpm-guest-tools
#                 (initramfs-tools: the FCP rule into the initramfs, 0755)
#   /usr/sbin/dpm-image-cleanup    (run before the image is captured, 0755)
#   /etc/cloud/cloud.cfg.d/90-nova-dpm.cfg   (cloud-init data source, 0644)
#   /usr/share/doc/dpm-guest-tools/README.rst
#
# It does not enable the units: run "systemctl enable" (with --root=DESTDIR
# for an image) or let the package's scripts do it.

set -eu
src=.
[[ ${BASH_SOURCE[0]} == */* ]] && src=${BASH_SOURCE[0]%/*}
dest=${1:-}
dest=${dest%/}

put() {
    install -D -m "$1" "$src/$2" "$dest/$3"
}

put 0755 usr/bin/autoconfigure_networking.sh \
    usr/bin/autoconfigure_networking.sh
put 0755 usr/bin/setmac.sh usr/bin/setmac.sh
put 0755 usr/bin/dpm_console_listener.sh usr/bin/dpm_console_listener.sh
put 0644 usr/lib/dpm-guest-tools/dpm_guest_image_tools_common \
    usr/lib/dpm-guest-tools/dpm_guest_image_tools_common
put 0644 usr/lib/systemd/system/autoconfigure_networking.service \
    usr/lib/systemd/system/autoconfigure_networking.service
put 0644 usr/lib/systemd/system/dpm_console_listener.service \
    usr/lib/systemd/system/dpm_console_listener.service
put 0644 etc/udev/rules.d/80-setmac.rules usr/lib/udev/rules.d/80-setmac.rules
put 0644 usr/lib/udev/rules.d/41-dpm-fcp-online.rules \
    usr/lib/udev/rules.d/41-dpm-fcp-online.rules
put 0644 usr/lib/dracut/dracut.conf.d/90-dpm-guest-tools.conf \
    usr/lib/dracut/dracut.conf.d/90-dpm-guest-tools.conf
put 0755 usr/share/initramfs-tools/hooks/dpm-guest-tools \
    usr/share/initramfs-tools/hooks/dpm-guest-tools
put 0755 usr/sbin/dpm-image-cleanup usr/sbin/dpm-image-cleanup
put 0644 etc/cloud/cloud.cfg.d/90-nova-dpm.cfg \
    etc/cloud/cloud.cfg.d/90-nova-dpm.cfg
put 0644 README.rst usr/share/doc/dpm-guest-tools/README.rst
