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

"""Measure partition start/stop latency through the simulated HMC's HTTPS.

A real zhmcclient.Session talks to nova_dpm.simulator.server.HmcServer on
127.0.0.1.  Each start and stop (transition time --transition-time, 2 s by
default) is timed from the POST to the moment the client knows the job has
ended, two ways:

* polling: ``wait_for_completion=False`` and ``Job.check_for_completion()``
  with a back-off from 0.1 s to 1 s (x1.5);
* zhmcclient: ``Session.post(..., wait_for_completion=True)``, i.e.
  ``Job.wait_for_completion()``, which sleeps 10 s between polls
  (zhmcclient/_session.py, Job.wait_for_completion).

It also prints the mean time of a plain GET (keep-alive, TLS) and of a
logon.  Nothing is asserted; numbers only.
"""

import argparse
import os
import statistics
import sys
import time

import zhmcclient

# Use the nova_dpm of this tree, not an installed copy.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
from nova_dpm import simulator  # noqa: E402
from nova_dpm.simulator import server as hmc_server  # noqa: E402

USERID = 'measure'
PASSWORD = 'measure-pw'


def poll_job(job, first=0.1, factor=1.5, cap=1.0, limit=600.0):
    """Poll until complete; return the number of status queries."""
    delay = first
    polls = 0
    deadline = time.monotonic() + limit
    while True:
        polls += 1
        status, _ = job.check_for_completion()
        if status == 'complete':
            return polls
        if time.monotonic() > deadline:
            raise RuntimeError('job %s did not complete in %s s'
                               % (job.uri, limit))
        time.sleep(delay)
        delay = min(delay * factor, cap)


def timed(fn):
    start = time.monotonic()
    extra = fn()
    return time.monotonic() - start, extra


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--transition-time', type=float, default=2.0)
    parser.add_argument('--repeat', type=int, default=2,
                        help='start/stop pairs with polling (default 2)')
    parser.add_argument('--zhmcclient-repeat', type=int, default=1,
                        help='start/stop pairs with zhmcclient waiting '
                             '(10 s each; default 1)')
    parser.add_argument('--gets', type=int, default=200)
    args = parser.parse_args(argv)

    sim = simulator.load_session(
        'z16', transition_time=args.transition_time).simulator
    server = hmc_server.HmcServer(sim, USERID, PASSWORD).start()
    try:
        session = zhmcclient.Session(
            '127.0.0.1', USERID, PASSWORD, port=server.port,
            verify_cert=server.ca_file,
            retry_timeout_config=zhmcclient.RetryTimeoutConfig(
                connect_timeout=10, read_timeout=60, operation_timeout=120))
        client = zhmcclient.Client(session)

        logon_s, _ = timed(session.logon)
        cpc = client.cpcs.find(name='CPC1')
        partition = cpc.partitions.create({
            'name': 'measure-1', 'ifl-processors': 1,
            'initial-memory': 1024, 'maximum-memory': 2048})
        start_uri = partition.uri + '/operations/start'
        stop_uri = partition.uri + '/operations/stop'

        samples = []
        for _ in range(args.gets):
            t, _ = timed(lambda: session.get(cpc.uri + '?properties=name'))
            samples.append(t)

        results = []
        for _ in range(args.repeat):
            for name, uri in (('start', start_uri), ('stop', stop_uri)):
                t, polls = timed(lambda: poll_job(session.post(
                    uri, wait_for_completion=False)))
                results.append(('polling 0.1-1 s', name, t, polls))
        for _ in range(args.zhmcclient_repeat):
            for name, uri in (('start', start_uri), ('stop', stop_uri)):
                before = sim.count('GET', '/api/jobs/{id}')
                t, _ = timed(lambda: session.post(
                    uri, wait_for_completion=True))
                polls = sim.count('GET', '/api/jobs/{id}') - before
                results.append(('zhmcclient wait', name, t, polls))
        session.logoff()
    finally:
        server.stop()

    print('transition time: %.2f s' % args.transition_time)
    print('logon: %.1f ms' % (logon_s * 1000))
    print('GET over keep-alive TLS: mean %.2f ms, median %.2f ms, max '
          '%.2f ms (%d requests)'
          % (statistics.mean(samples) * 1000,
             statistics.median(samples) * 1000, max(samples) * 1000,
             len(samples)))
    print('%-16s %-6s %9s %6s %9s' % ('method', 'op', 'seconds', 'polls',
                                      'overhead'))
    for method, name, t, polls in results:
        print('%-16s %-6s %9.3f %6d %8.3fs'
              % (method, name, t, polls, t - args.transition_time))
    print('connections accepted: %d, logons: %d'
          % (server.connections, server.logons))


if __name__ == '__main__':
    main()
