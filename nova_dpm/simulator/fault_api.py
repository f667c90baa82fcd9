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

"""Fault injection of the HTTPS simulated HMC, for a test in another process.

A test that drives services in other processes (the cloud of
nova-dpm-cloud) reaches :meth:`SimulatedHmc.inject_fault` here, under
``/simulated-hmc/`` of the simulator's HTTPS port, with the simulator's
userid and password (HTTP Basic), as the SAN's interface (san_api.py).
It is no part of the HMC's API::

    POST    /simulated-hmc/faults  {"kind": "http500", "method": "POST",
                                    "pattern": "/api/partitions/{id}/...",
                                    "nth": 1}                     -> 204
    GET     /simulated-hmc/faults  {"pending": [{kind, method, pattern,
                                    nth, seen}], "fired": [[kind, method,
                                    pattern]]}
    DELETE  /simulated-hmc/faults  the pending faults dropped     -> 204
"""

from nova_dpm.simulator import san_api

PREFIX = '/simulated-hmc/'
FAULTS = PREFIX + 'faults'


def handles(path):
    return path.startswith(PREFIX)


def _listing(sim):
    with sim._acct_lock:
        pending = [{'kind': f.kind, 'method': f.method,
                    'pattern': f.pattern, 'nth': f.nth, 'seen': f.seen}
                   for f in sim._faults]
        fired = [list(f) for f in sim.fired_faults]
    return {'pending': pending, 'fired': fired}


def _inject(sim, body):
    body = body if isinstance(body, dict) else {}
    missing = [k for k in ('kind', 'method', 'pattern') if not body.get(k)]
    if missing:
        raise san_api.Answer(400, {'message': 'the body needs %s' %
                                              ', '.join(missing)})
    try:
        sim.inject_fault(body['kind'], body['method'], body['pattern'],
                         int(body.get('nth', 1)))
    except (ValueError, TypeError) as exc:
        raise san_api.Answer(400, {'message': str(exc)})


def request(sim, headers, userid, password, method, path, body):
    """Answer one request: (HTTP status, JSON body or None)."""
    if not san_api.authorized(headers, userid, password):
        return san_api.UNAUTHORIZED
    if path != FAULTS:
        return 404, {'message': 'no such resource: %s' % path}
    try:
        if method == 'GET':
            return 200, _listing(sim)
        if method == 'POST':
            _inject(sim, body)
        elif method == 'DELETE':
            sim.clear_faults()
        else:
            raise san_api.Answer(405, {'message': 'method %s not allowed '
                                                  'here' % method})
    except san_api.Answer as answer:
        return answer.status, answer.body
    return 204, None
