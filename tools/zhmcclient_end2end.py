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

"""zhmcclient's own end-to-end suite against the HTTPS simulated HMC.

Used by ``tox -e zhmcclient-end2end``. For the installed zhmcclient
release, this script

1. downloads its source distribution with pip (once, into the cache
   directory, ``.tox/zhmcclient-end2end-cache`` by default) and unpacks its
   ``tests`` directory, unmodified;
2. for each shipped HMC definition (or those named with ``--definition``),
   starts ``nova-dpm-hmc-simulator`` on 127.0.0.1 port 6794 (the HMC's
   port, which the suite's sessions use), its notifications on 61612
   (where zhmcclient's auto-update connects), with a fresh private CA,
   writes the HMC inventory and vault files the suite reads
   (``TESTINVENTORY``, ``TESTVAULT``, ``TESTHMC``; TLS verified against
   the CA), runs pytest on ``tests/end2end`` and stops the simulator;
3. prints the passed/failed/skipped counts per definition and every failed
   test with the first line of its error.

Each failure is either expected, because a real HMC of the definition's
level gives it too or the simulator does not model what the test needs
(listed in KNOWN_FAILURES with the reason, and in
``doc/source/known-limitations.rst``), or unexpected. The
exit status is non-zero if a test fails unexpectedly or a known failure
passes (the list is then out of date).

Usage: ``tools/zhmcclient_end2end.py [--definition z16] [-- PYTEST ARGS]``.
"""

import argparse
import fnmatch
import os
import secrets
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import xml.etree.ElementTree as ET

import yaml
import zhmcclient

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFINITIONS_DIR = os.path.join(ROOT, 'nova_dpm', 'simulator', 'definitions')
DEFAULT_CACHE = os.path.join(ROOT, '.tox', 'zhmcclient-end2end-cache')
HMC_PORT = 6794
# The HMC's notification port: zhmcclient's auto-update connects there.
STOMP_PORT = 61612
USERID = 'e2e-admin'
START_TIMEOUT = 60

# Failures that a real HMC of the definition's level gives as well, or
# that need what the simulator does not model: (definitions, test id
# pattern (fnmatch), reason). Documented in
# doc/source/known-limitations.rst.
ALL = ('z13', 'z16', 'z17')
KNOWN_FAILURES = [
    # Not modelled by the simulator; a real HMC passes.
    (('z16', 'z17'),
     'tests.end2end.test_partition::test_part_attach_detach_network_link*',
     'partition links (SMC-D, HiperSockets) are not simulated'),
    (('z17',), 'tests.end2end.test_port::test_port_update*',
     'needs partition links, which are not simulated'),
    # What a real HMC of the definition's level fails as well.
    (('z13',),
     'tests.end2end.test_partition::test_part_attach_detach_network_link*',
     'HMC 2.13.1 has no partition links (firmware feature '
     'dpm-smcd-partition-link-management, HMC 2.16.0; HMC rule V8)'),
    (('z13',), 'tests.end2end.test_partition::test_part_list_os_messages*',
     'List OS Messages needs SE 2.14.0 (HMC rule V4)'),
    (('z13',),
     'tests.end2end.test_partition::test_part_create_os_websocket*',
     'Get ASCII Console WebSocket URI needs HMC 2.14.0 with API 2.22 '
     '(HMC rule W1)'),
    (('z13',), 'tests.end2end.test_cpc::test_cpc_property*',
     "the 'properties' filter of Get CPC Properties came with HMC 2.14.0 "
     '(HMC rule V6): HMC 2.13.1 returns every property'),
    (('z13',), 'tests.end2end.test_virtual_switch::test_vswitch_find_list*',
     "List Virtual Switches takes 'additional-properties' from HMC 2.16.0 "
     '(HMC rule V5): an older HMC answers 400,1'),
    (('z17',), 'tests.end2end.test_cpc::test_cpc_features*',
     'zhmcclient 1.26 Cpc.maximum_active_partitions does not know machine '
     'type 9175 (z17): ValueError on a real z17 as well'),
]

# Tests not run, with the reason.
DESELECTED = {
    'tests/end2end/test__import_local.py::test_import_local':
        'checks that zhmcclient is imported from the source tree beside '
        'the tests; this run tests the installed release on purpose',
}


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--definition', action='append', metavar='NAME',
        help='Shipped HMC definition to test (repeatable; default: all)')
    parser.add_argument(
        '--cache-dir', default=os.environ.get('ZHMC_E2E_CACHE',
                                              DEFAULT_CACHE),
        help='Where the source distribution is kept (default: %(default)s)')
    parser.add_argument(
        '--transition-time', type=float, default=0.2, metavar='S',
        help='Seconds a simulated partition start or stop takes')
    parser.add_argument(
        '--keep', action='store_true',
        help='Keep the work directory (inventory, vault, junit, logs)')
    parser.add_argument('pytest_args', nargs='*',
                        help='Extra pytest arguments (after --)')
    return parser.parse_args(argv)


def shipped_definitions():
    return sorted(f[:-len('.yaml')] for f in os.listdir(DEFINITIONS_DIR)
                  if f.endswith('.yaml'))


def suite_dir(cache_dir):
    """The unpacked tests of the installed zhmcclient (downloaded once)."""
    version = zhmcclient.__version__
    target = os.path.join(cache_dir, 'zhmcclient-%s' % version)
    if os.path.isfile(os.path.join(target, 'tests', 'end2end',
                                   'conftest.py')):
        return target
    os.makedirs(cache_dir, exist_ok=True)
    sdist = os.path.join(cache_dir, 'zhmcclient-%s.tar.gz' % version)
    if not os.path.isfile(sdist):
        subprocess.run(
            [sys.executable, '-m', 'pip', 'download', '--no-deps',
             '--no-binary', ':all:', '-d',
             cache_dir, 'zhmcclient==%s' % version], check=True)
    prefix = 'zhmcclient-%s/' % version
    unpack = tempfile.mkdtemp(prefix='unpack-', dir=cache_dir)
    with tarfile.open(sdist) as tar:
        # Only the tests and pytest.ini: the package itself is the
        # installed one, never the copy in the source distribution.
        members = [m for m in tar.getmembers()
                   if m.name.startswith(prefix + 'tests/') or
                   m.name == prefix + 'pytest.ini']
        tar.extractall(unpack, members=members, filter='data')
    shutil.rmtree(target, ignore_errors=True)
    os.rename(os.path.join(unpack, prefix.rstrip('/')), target)
    shutil.rmtree(unpack, ignore_errors=True)
    return target


def cpcs_of(definition):
    with open(os.path.join(DEFINITIONS_DIR, definition + '.yaml')) as f:
        data = yaml.safe_load(f)
    cpcs = {}
    for cpc in data['hmc_definition']['cpcs']:
        props = cpc['properties']
        cpcs[props['name']] = {
            'machine_type': str(props['machine-type']),
            'dpm_enabled': bool(props.get('dpm-enabled')),
        }
    return cpcs


def write_files(work, definition, password, ca_file):
    nickname = 'simulated-%s' % definition
    inventory = {'all': {'hosts': {nickname: {
        'description': 'nova-dpm simulated HMC, definition %s' % definition,
        'ansible_host': '127.0.0.1',
        'cpcs': cpcs_of(definition),
    }}}}
    vault = {'hmc_auth': {nickname: {
        'userid': USERID, 'password': password,
        'verify': True, 'ca_certs': ca_file,
    }}}
    paths = (os.path.join(work, 'inventory.yaml'),
             os.path.join(work, 'vault.yaml'))
    for path, data in zip(paths, (inventory, vault)):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, 'w') as f:
            yaml.safe_dump(data, f, default_flow_style=False)
    return nickname, paths


def start_simulator(work, definition, password, transition_time):
    log = open(os.path.join(work, 'simulator.log'), 'w')
    proc = subprocess.Popen(
        [sys.executable, '-u', '-m', 'nova_dpm.cmd.hmc_simulator',
         '--definition', definition, '--port', str(HMC_PORT),
         '--stomp-port', str(STOMP_PORT),
         '--cert-dir', os.path.join(work, 'certs'), '--userid', USERID,
         '--password', password, '--transition-time', str(transition_time)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    serving = threading.Event()

    def _read():
        # Keep the pipe drained for as long as the simulator runs.
        for line in proc.stdout:
            log.write(line)
            log.flush()
            if 'Stop with Ctrl-C' in line:
                serving.set()

    reader = threading.Thread(target=_read, daemon=True)
    reader.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not serving.wait(0.2):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            reader.join(5)
            log.close()
            raise SystemExit(
                'The simulated HMC (%s) did not start on port %d; see %s'
                % (definition, HMC_PORT,
                   os.path.join(work, 'simulator.log')))
    return proc, log, reader


def stop_simulator(proc, log, reader):
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    reader.join(5)
    log.close()


def results(junit):
    """(outcome, test id, message) for each test case of the junit file."""
    tree = ET.parse(junit)
    for case in tree.iter('testcase'):
        test_id = '%s::%s' % (case.get('classname'), case.get('name'))
        outcome, message = 'passed', ''
        for tag in ('failure', 'error', 'skipped'):
            node = case.find(tag)
            if node is not None:
                outcome = 'skipped' if tag == 'skipped' else 'failed'
                message = (node.get('message') or '').strip()
                break
        yield outcome, test_id, message.split('\n')[0][:200]


def known_reason(definition, test_id):
    for definitions, pattern, reason in KNOWN_FAILURES:
        if definition in definitions and fnmatch.fnmatch(test_id, pattern):
            return reason
    return None


def run_definition(definition, tests, args):
    work = tempfile.mkdtemp(prefix='zhmcclient-end2end-%s-' % definition)
    password = secrets.token_urlsafe(16)
    simulator = start_simulator(work, definition, password,
                                args.transition_time)
    try:
        ca_file = os.path.join(work, 'certs', 'ca.pem')
        nickname, (inventory, vault) = write_files(
            work, definition, password, ca_file)
        junit = os.path.join(work, 'junit.xml')
        env = dict(os.environ, TESTEND2END_LOAD='true',
                   TESTINVENTORY=inventory, TESTVAULT=vault,
                   TESTHMC=nickname)
        subprocess.run(
            [sys.executable, '-m', 'pytest', '-p', 'no:cacheprovider', '-q',
             '-rN', '--tb=line', '-W', 'ignore::UserWarning',
             '--junitxml', junit, 'tests/end2end'] +
            ['--deselect=%s' % test for test in DESELECTED] +
            args.pytest_args,
            cwd=tests, env=env)
    finally:
        stop_simulator(*simulator)
    outcomes = list(results(junit)) if os.path.isfile(junit) else []
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print('Work directory kept: %s' % work)
    return outcomes


def report(definition, outcomes):
    counts = {'passed': 0, 'failed': 0, 'skipped': 0}
    unexpected, known, fixed = [], [], []
    for outcome, test_id, message in outcomes:
        counts[outcome] += 1
        reason = known_reason(definition, test_id)
        if outcome == 'failed':
            (known if reason else unexpected).append(
                (test_id, reason or message))
        elif outcome == 'passed' and reason:
            fixed.append((test_id, reason))
    print('\n=== %s: %d passed, %d failed (%d known), %d skipped'
          % (definition, counts['passed'], counts['failed'], len(known),
             counts['skipped']))
    for title, items in (('Known failures', known),
                         ('UNEXPECTED failures', unexpected),
                         ('Known failures that passed', fixed)):
        if items:
            print('%s:' % title)
            for test_id, text in items:
                print('  %s\n      %s' % (test_id, text))
    ok = not unexpected and not fixed and bool(outcomes)
    return counts, ok


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    definitions = args.definition or shipped_definitions()
    tests = suite_dir(os.path.abspath(args.cache_dir))
    print('zhmcclient %s end2end suite: %s' % (zhmcclient.__version__,
                                               tests))
    for test, reason in DESELECTED.items():
        print('Not run: %s: %s' % (test, reason))
    summary, all_ok = [], True
    for definition in definitions:
        counts, ok = report(definition, run_definition(definition, tests,
                                                       args))
        summary.append((definition, counts))
        all_ok = all_ok and ok
    print('\n=== zhmcclient %s end2end on the simulated HMC'
          % zhmcclient.__version__)
    for definition, counts in summary:
        print('%-6s %4d passed %4d failed %4d skipped'
              % (definition, counts['passed'], counts['failed'],
                 counts['skipped']))
    return 0 if all_ok else 1


if __name__ == '__main__':
    sys.exit(main())
