#!/usr/bin/env bash
# Install the distribution packages nova-dpm-cloud runs (RabbitMQ and
# MariaDB) where they are missing, without starting their system services
# (nova-dpm-cloud runs them from its own directory). Debian and Ubuntu;
# run as root, e.g. by CI before "tox -e cloud-test".
set -eu

packages="rabbitmq-server mariadb-server"
missing=""
for pkg in $packages; do
    if ! dpkg-query -W -f '${db:Status-Status}' "$pkg" 2>/dev/null \
            | grep -qx installed; then
        missing="$missing $pkg"
    fi
done
if [ -z "$missing" ]; then
    echo "Installed already: $packages"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "Missing:$missing; run as root to install them (without root," \
        "nova-dpm-cloud fetches them with apt-get download)." >&2
    exit 1
fi
# policy-rc.d exit code 101: the packages' services are not started.
policy=/usr/sbin/policy-rc.d
created=""
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod 755 "$policy"
    created=yes
fi
export DEBIAN_FRONTEND=noninteractive
rc=0
apt-get update -qq && apt-get install -y -q --no-install-recommends \
    $missing || rc=$?
if [ -n "$created" ]; then
    rm -f "$policy"
fi
exit "$rc"
