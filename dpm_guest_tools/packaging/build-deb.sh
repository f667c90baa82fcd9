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
# Usage: build-deb.sh [OUTDIR]
#
# Build dpm-guest-tools_<version>_all.deb (for Ubuntu 24.04 images) into
# OUTDIR (default: the current directory) with dpkg-deb alone; no
# debhelper or source package is needed.  The version is the one of the
# RPM spec, the files are installed by ../install.sh, so both packages
# hold the same files.  Prints the path of the package.

set -eu
here=.
[[ ${BASH_SOURCE[0]} == */* ]] && here=${BASH_SOURCE[0]%/*}
here=$(cd "$here" && pwd)
out=$(cd "${1:-.}" && pwd)
version=$(sed -n 's/^Version: *//p' "$here/rpm/dpm-guest-tools.spec")
[[ -n $version ]] || { echo "no Version in the RPM spec" >&2; exit 1; }

root=$(mktemp -d)
chmod 0755 "$root"
trap 'rm -rf "$root"' EXIT
bash "$here/../install.sh" "$root"
mkdir -p "$root/DEBIAN"
sed "s/@VERSION@/$version/" "$here/debian/control" > "$root/DEBIAN/control"
# Everything under /etc is a configuration file the administrator owns.
(cd "$root" && find etc -type f | sed 's|^|/|' | sort) \
    > "$root/DEBIAN/conffiles"
install -m 0755 "$here/debian/postinst" "$here/debian/prerm" "$root/DEBIAN/"
deb=$out/dpm-guest-tools_${version}_all.deb
dpkg-deb --root-owner-group --build "$root" "$deb" >/dev/null
echo "$deb"
