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

"""The processes of a cloud: started, recorded, waited for and stopped.

Every service runs in a session (process group) of its own, its output in
``DIR/log/<name>.log``. Its pid, process group and start time (from
``/proc/<pid>/stat``) are recorded in ``DIR/state.json`` as soon as it is
started, so that ``down`` stops exactly the processes ``up`` started, even
after a failed or interrupted ``up``, and never a process that merely
reused a recorded pid.
"""

import json
import os
import signal
import socket
import subprocess
import time

STATE = 'state.json'


class StartError(Exception):
    """A service did not start: its name and the end of its log."""

    def __init__(self, service, reason, log_tail=''):
        self.service = service
        self.reason = reason
        self.log_tail = log_tail
        super().__init__('%s: %s' % (service, reason))


def free_port():
    """A TCP port of 127.0.0.1 free now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def port_open(port, host='127.0.0.1'):
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _start_time(pid):
    """The start time of pid in clock ticks since boot; None if gone."""
    try:
        with open('/proc/%d/stat' % pid) as stat:
            fields = stat.read().rsplit(')', 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[19])


def tail(path, lines=15):
    try:
        with open(path, errors='replace') as log:
            return ''.join(log.readlines()[-lines:])
    except OSError:
        return '(no log at %s)' % path


class Processes(object):
    """The recorded processes of the cloud in ``directory``."""

    def __init__(self, directory):
        self.dir = directory
        self.log_dir = os.path.join(directory, 'log')
        self.state_file = os.path.join(directory, STATE)
        self.state = self._load()

    def _load(self):
        try:
            with open(self.state_file) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {'processes': [], 'settings': {}}

    def save(self):
        tmp = self.state_file + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(self.state, f, indent=1, sort_keys=True)
        os.replace(tmp, self.state_file)

    @property
    def settings(self):
        return self.state['settings']

    def log_path(self, name):
        return os.path.join(self.log_dir, name + '.log')

    def start(self, name, argv, env=None, cwd=None):
        """Start argv as service ``name`` and record it; the Popen."""
        os.makedirs(self.log_dir, exist_ok=True)
        with open(self.log_path(name), 'ab') as log:
            proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, env=env, cwd=cwd or self.dir,
                start_new_session=True)
        # What the service's environment adds to this one (paths, the
        # RabbitMQ variables; no password): restart() uses it again.
        extra = {k: v for k, v in (env or {}).items()
                 if os.environ.get(k) != v}
        self.state['processes'].append({
            'name': name, 'pid': proc.pid, 'argv': argv,
            'env': extra, 'cwd': cwd,
            'start_time': _start_time(proc.pid)})
        self.save()
        return proc

    def run(self, name, argv, env=None, timeout=600):
        """Run a one-off command (a manage command), logged under name."""
        os.makedirs(self.log_dir, exist_ok=True)
        with open(self.log_path(name), 'ab') as log:
            log.write(('$ %s\n' % ' '.join(argv)).encode())
            log.flush()
            try:
                rc = subprocess.call(argv, stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=subprocess.STDOUT,
                                     env=env, cwd=self.dir, timeout=timeout)
            except subprocess.TimeoutExpired:
                rc = 'timeout'
        if rc != 0:
            raise StartError(name, '%s failed (%s)' % (argv[0], rc),
                             tail(self.log_path(name)))

    def alive(self, entry):
        started = _start_time(entry['pid'])
        if started is None or started != entry.get('start_time'):
            return False
        try:
            with open('/proc/%d/stat' % entry['pid']) as stat:
                return stat.read().rsplit(')', 1)[1].split()[0] != 'Z'
        except OSError:
            return False

    def find(self, name):
        for entry in self.state['processes']:
            if entry['name'] == name:
                return entry
        return None

    def wait(self, name, ready, timeout, also=()):
        """Wait until ready() is true while the service runs.

        The services named in ``also`` must keep running too.
        """
        entry = self.find(name)
        for other in also:
            other_entry = self.find(other)
            if other_entry is not None and not self.alive(other_entry):
                raise StartError(other, 'exited', tail(self.log_path(other)))
        deadline = time.monotonic() + timeout
        while True:
            try:
                if ready():
                    return
            except StartError:
                raise
            except Exception:  # noqa: S110 - not ready yet
                pass
            if entry is not None and not self.alive(entry):
                raise StartError(name, 'exited during start',
                                 tail(self.log_path(name)))
            if time.monotonic() > deadline:
                raise StartError(name, 'not ready after %ds' % timeout,
                                 tail(self.log_path(name)))
            time.sleep(0.5)

    def stop_one(self, entry, grace=15.0):
        """SIGTERM the service's process group, SIGKILL after grace."""
        pid = entry['pid']
        if not self.alive(entry):
            if _start_time(pid) is None:
                # Gone, but its group may have outlived it (workers,
                # helpers). A pid now used by another process is left
                # alone, and so is its group.
                try:
                    os.killpg(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            return False
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            return False
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if not self.alive(entry):
                break
            _reap(pid)
            time.sleep(0.2)
        try:
            # The rest of the group (workers, helpers) and a laggard.
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        _reap(pid)
        return True

    def restart(self, name, kill=False):
        """Stop a service (SIGKILL at once with kill) and start it again.

        The same command line and environment; False if name is unknown.
        """
        entry = self.find(name)
        if entry is None:
            return False
        if kill and self.alive(entry):
            try:
                os.killpg(entry['pid'], signal.SIGKILL)
            except ProcessLookupError:
                pass
            _reap(entry['pid'])
        self.stop_one(entry)
        self.state['processes'].remove(entry)
        env = dict(os.environ)
        env.update(entry.get('env') or {})
        self.start(name, entry['argv'], env=env, cwd=entry.get('cwd'))
        return True

    def stop_all(self, report=print):
        """Stop every recorded process, last started first."""
        entries = self.state['processes']
        for entry in reversed(list(entries)):
            if self.stop_one(entry):
                report('stopped %s (pid %d)' % (entry['name'], entry['pid']))
            entries.remove(entry)
            self.save()

    def rss_kib(self):
        """Sum of the resident memory of the recorded process groups."""
        pgids = {e['pid'] for e in self.state['processes'] if self.alive(e)}
        total = 0
        for pid in os.listdir('/proc'):
            if not pid.isdigit():
                continue
            try:
                if os.getpgid(int(pid)) not in pgids:
                    continue
                with open('/proc/%s/status' % pid) as status:
                    for line in status:
                        if line.startswith('VmRSS:'):
                            total += int(line.split()[1])
            except (OSError, ValueError):
                continue
        return total


def _reap(pid):
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
