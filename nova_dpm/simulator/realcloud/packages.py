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

"""RabbitMQ and MariaDB from the distribution's packages.

The cloud runs the installed programs (``apt-get install rabbitmq-server
mariadb-server``, as tools/install-cloud-packages.sh does for root) from
the cloud's directory, never as the system's services. Where they are not
installed and the user is not root, ``apt-get download`` fetches the
packages and their missing dependencies, and ``dpkg -x`` unpacks them into
``DIR/pkg``.
"""

import os
import subprocess

PACKAGES = ('rabbitmq-server', 'mariadb-server')
# The programs the cloud runs, by package, as installed.
PROGRAMS = {
    'rabbitmq-server': ('/usr/lib/rabbitmq/bin/rabbitmq-server',
                        '/usr/bin/epmd'),
    'mariadb-server': ('/usr/sbin/mariadbd', '/usr/bin/mariadb-install-db'),
}
ERLANG_ROOT = '/usr/lib/erlang'


class Missing(Exception):
    pass


def root_of(directory):
    return os.path.join(directory, 'pkg', 'root')


def locate(directory):
    """{package: root} where each package's programs are ('' = '/')."""
    found = {}
    for package, programs in PROGRAMS.items():
        for root in ('', root_of(directory)):
            if all(os.access(root + p, os.X_OK) for p in programs):
                found[package] = root
                break
    return found


def _missing_dependencies(packages):
    """The packages and their dependencies that dpkg does not have."""
    out = subprocess.run(
        ['apt-cache', 'depends', '--recurse', '--no-recommends',
         '--no-suggests', '--no-conflicts', '--no-breaks', '--no-replaces',
         '--no-enhances', '--no-pre-depends'] + list(packages),
        capture_output=True, text=True, check=True).stdout
    names = sorted({line.strip() for line in out.splitlines()
                    if line and not line[0].isspace()
                    and not line.startswith('<')})
    state = subprocess.run(
        ['dpkg-query', '-W', '-f', '${Package} ${db:Status-Status}\n']
        + names, capture_output=True, text=True).stdout
    installed = {line.split()[0] for line in state.splitlines()
                 if line.endswith(' installed')}
    return [n for n in names if n not in installed]


def download(directory, packages, log):
    """Fetch the packages and their missing dependencies into DIR/pkg.

    apt-get download, then dpkg -x into DIR/pkg/root; Missing on failure.
    """
    pkg_dir = os.path.join(directory, 'pkg')
    root = root_of(directory)
    os.makedirs(root, exist_ok=True)
    try:
        names = _missing_dependencies(packages)
        subprocess.run(['apt-get', 'download'] + names, cwd=pkg_dir,
                       stdout=log, stderr=subprocess.STDOUT, check=True)
        for deb in sorted(os.listdir(pkg_dir)):
            if deb.endswith('.deb'):
                subprocess.run(['dpkg', '-x', os.path.join(pkg_dir, deb),
                                root], stdout=log, stderr=subprocess.STDOUT,
                               check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise Missing('could not fetch %s with apt-get download: %s'
                      % (' '.join(packages), exc))
    _relocate_erlang(root)


def _relocate_erlang(root):
    """Point the unpacked erl script at its unpacked runtime."""
    erl = root + ERLANG_ROOT + '/bin/erl'
    if not os.path.isfile(erl):
        return
    with open(erl) as f:
        text = f.read()
    text = text.replace('ROOTDIR="%s"' % ERLANG_ROOT,
                        'ROOTDIR="%s"' % (root + ERLANG_ROOT))
    with open(erl, 'w') as f:
        f.write(text)


def ensure(directory, log):
    """{package: root}, fetching what is missing where allowed."""
    found = locate(directory)
    missing = [p for p in PACKAGES if p not in found]
    if missing and os.geteuid() == 0:
        raise Missing('%s not installed: as root, install them with '
                      'apt-get install %s (tools/install-cloud-packages.sh)'
                      % (', '.join(missing), ' '.join(missing)))
    if missing:
        download(directory, missing, log)
        found = locate(directory)
        missing = [p for p in PACKAGES if p not in found]
        if missing:
            raise Missing('%s not usable after apt-get download'
                          % ', '.join(missing))
    return found
