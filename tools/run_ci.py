#!/usr/bin/env python3
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

"""Run every check CI runs, in this environment; print one summary line.

Used by ``tox -e ci``: the unit suite and the functional suite in nova's
threading mode (as nova-compute 34 runs) and in eventlet mode, the Neutron
suite (mechanism driver and agent), flake8 with
hacking, bashate on the shell scripts, the docs, the release notes and the
sample configuration, and the cloud test (``tox -e cloud-test``: real
OpenStack services with RabbitMQ and MariaDB from the distribution; as
root the packages are installed first, tools/install-cloud-packages.sh;
without them the test skips and says which). Each suite's tests count one
by one; each other check counts as one test. The summary gives each check's
time. The last line printed (and written to .ci/summary.txt) is ``N passed,
N failed``; the exit code is non-zero on any failure.
"""

import glob
import os
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUMMARY = os.path.join(ROOT, '.ci', 'summary.txt')
# The ids of the tests that failed, in the order the checks ran: printed
# again under the table, where a truncated log still shows them.
FAILING = []


def run(cmd, env=None):
    print('\n=== %s' % ' '.join(cmd), flush=True)
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run(cmd, cwd=ROOT, env=full_env).returncode


def stestr_suite(path, mode):
    env = {'OS_NOVA_DISABLE_EVENTLET_PATCHING':
           '1' if mode == 'threading' else '0'}
    rc = run([sys.executable, '-m', 'stestr', '--test-path', path, 'run',
              '--concurrency', '2'], env)
    return _last_run(rc)


def _last_run(rc):
    """(passed, failed) of stestr's last run, which exited with rc."""
    out = subprocess.run([sys.executable, '-m', 'stestr', 'last'], cwd=ROOT,
                         capture_output=True, text=True).stdout
    passed = _total(out, 'Passed')
    failed = _total(out, 'Failed')
    if rc != 0 and failed == 0:
        failed = 1     # the runner itself failed (import error, crash)
    if passed + failed == 0:
        failed = 1     # a suite that runs no test is a failure
    if failed:
        FAILING.extend(_failing_ids())
    return passed, failed


def _failing_ids():
    """The ids of the tests that failed in stestr's last run."""
    out = subprocess.run([sys.executable, '-m', 'stestr', 'failing',
                          '--list'], cwd=ROOT, capture_output=True,
                         text=True).stdout
    return [line.strip() for line in out.splitlines() if line.strip()]


def _total(text, word):
    match = re.search(r' - %s: (\d+)' % word, text)
    return int(match.group(1)) if match else 0


def check(cmd):
    return (1, 0) if run(cmd) == 0 else (0, 1)


def _tox():
    """The tox that runs this CI (.ci/run's .venv), or one on PATH."""
    local = os.path.join(ROOT, '.venv', 'bin', 'tox')
    return local if os.access(local, os.X_OK) else shutil.which('tox')


def cloud_test():
    """tox -e cloud-test: (passed, failed); a skipped test counts neither."""
    if os.geteuid() == 0:
        # Installs RabbitMQ and MariaDB where missing; should it fail, the
        # test skips with a message naming them.
        run(['bash', os.path.join('tools', 'install-cloud-packages.sh')])
    tox = _tox()
    if tox is None:
        print('cloud test skipped: tox is not installed', flush=True)
        return 0, 0
    before = _next_stream()
    rc = run([tox, '-e', 'cloud-test'])
    if _next_stream() == before:
        # No test run (the environment could not be built).
        return 0, 1
    out = subprocess.run([sys.executable, '-m', 'stestr', 'last'], cwd=ROOT,
                         capture_output=True, text=True).stdout
    if rc == 0 and _total(out, 'Skipped') and not _total(out, 'Passed'):
        return 0, 0
    return _last_run(rc)


def _next_stream():
    """The number stestr gives its next run (its repository's counter)."""
    try:
        with open(os.path.join(ROOT, '.stestr', 'next-stream')) as f:
            return f.read().strip()
    except OSError:
        return None


def timed(function, *args):
    started = time.monotonic()
    passed, failed = function(*args)
    return passed, failed, time.monotonic() - started


def shell_scripts():
    found = []
    for pattern in ('dpm_guest_tools/**/*.sh',
                    'dpm_guest_tools/**/dpm_guest_image_tools_common',
                    '.ci/run', 'tools/*.sh'):
        found += glob.glob(os.path.join(ROOT, pattern), recursive=True)
    return sorted(found)


def checks():
    """[(name, function, arguments)]: each check, in the order CI runs it."""
    py = sys.executable
    sphinx = [py, '-m', 'sphinx', '-W', '--keep-going', '-q', '-b', 'html',
              '-d']
    generator = ['oslo-config-generator', '--config-file']
    return [
        ('unit (threading)', stestr_suite,
         ('./nova_dpm/tests/unit', 'threading')),
        ('unit (eventlet)', stestr_suite,
         ('./nova_dpm/tests/unit', 'eventlet')),
        ('functional (threading)', stestr_suite,
         ('./nova_dpm/tests/functional', 'threading')),
        ('functional (eventlet)', stestr_suite,
         ('./nova_dpm/tests/functional', 'eventlet')),
        # The Neutron side (nova-dpm[neutron]) runs on native threads only.
        ('neutron (threading)', stestr_suite,
         ('./nova_dpm/neutron/tests', 'threading')),
        ('pep8 (flake8 + hacking)', check, ([py, '-m', 'flake8'],)),
        # bashate 2.1.1 cannot run as "python -m bashate": use its script.
        ('bashate', check, ([os.path.join(os.path.dirname(py), 'bashate'),
                             '-i', 'E006'] + shell_scripts(),)),
        ('docs', check, (sphinx + ['doc/build/doctrees', 'doc/source',
                                   'doc/build/html'],)),
        ('release notes', check, (sphinx + [
            'releasenotes/build/doctrees', 'releasenotes/source',
            'releasenotes/build/html'],)),
        ('sample config', check, (generator + [
            'etc/nova/nova-dpm-config-generator.conf'],)),
        ('sample agent config', check, (generator + [
            'etc/neutron/neutron-dpm-agent-config-generator.conf'],)),
        # Last: real OpenStack services on the simulated HMC.
        ('cloud (openstack CLI)', cloud_test, ()),
    ]


def main():
    started = time.monotonic()
    results = [(name, timed(function, *args))
               for name, function, args in checks()]
    print('\n%-28s %8s %8s %8s' % ('check', 'passed', 'failed', 'seconds'))
    for name, (passed, failed, seconds) in results:
        print('%-28s %8d %8d %8.0f' % (name, passed, failed, seconds))
    passed = sum(p for _n, (p, _f, _s) in results)
    failed = sum(f for _n, (_p, f, _s) in results)
    print('(%.0f s)' % (time.monotonic() - started))
    for test_id in FAILING:
        print('FAILED: %s' % test_id)
    line = '%d passed, %d failed' % (passed, failed)
    os.makedirs(os.path.dirname(SUMMARY), exist_ok=True)
    with open(SUMMARY, 'w') as f:
        f.write(line + '\n')
    print(line)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
