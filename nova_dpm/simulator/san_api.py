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

"""The management interface of the simulated SAN's storage system.

A real storage system has a management interface of its own (its REST
API, reached by its Cinder volume driver), separate from the HMC.  The
process of ``nova-dpm-hmc-simulator`` holds the SAN (san.py), so it serves
that interface too, under ``/simulated-san/`` of the same HTTPS port; the
HMC Web Services API (``/api/``) is unchanged by it.  A request needs
HTTP Basic authentication with the simulator's userid and password.

=======  ===============================  ====================================
GET      /simulated-san/volumes           {"target-wwpns": [...],
                                          "volumes": [{lun, size, name,
                                          hosts}]}
POST     /simulated-san/volumes           {"size": GiB, "name": str} ->
                                          201 {"lun": n, "target-wwpns"}
DELETE   /simulated-san/volumes/<lun>     204; 409 while mapped
POST     /simulated-san/volumes/<lun>/map     {"initiators": [wwpn]}: 204
POST     /simulated-san/volumes/<lun>/unmap   {"initiators": [wwpn]}: 204
=======  ===============================  ====================================

Errors are ``{"message": ...}`` with 400 (bad input), 401, 404 (no such
volume) or 409 (a mapped volume deleted).  The simulated HMC sees a
mapping only at its next FCP storage discovery, as a real HMC does.
"""

import base64
import hmac
import re

PREFIX = '/simulated-san/'
_VOLUME = re.compile(r'^/simulated-san/volumes/(\d+)(/map|/unmap)?$')


def handles(path):
    return path.startswith(PREFIX)


class Answer(Exception):
    def __init__(self, status, body=None):
        super().__init__(status)
        self.status = status
        self.body = body


UNAUTHORIZED = (401, {
    'message': 'HTTP Basic authentication with the simulator userid and '
               'password required'})


def authorized(headers, userid, password):
    value = headers.get('Authorization') or ''
    if not value.startswith('Basic '):
        return False
    try:
        given = base64.b64decode(value[6:]).decode('utf-8')
    except (ValueError, UnicodeDecodeError):
        return False
    return hmac.compare_digest(given.encode('utf-8'),
                               ('%s:%s' % (userid, password)).encode('utf-8'))


def _initiators(body):
    initiators = (body or {}).get('initiators')
    if not isinstance(initiators, list) or not initiators:
        raise Answer(400, {'message': "the body needs 'initiators': a "
                                      "non-empty list of WWPNs"})
    return initiators


def _listing(san):
    return {'target-wwpns': san.target_wwpns(),
            'volumes': [dict(lun=lun, hosts=san.volume_hosts(lun), **vol)
                        for lun, vol in sorted(san.volumes.items())]}


def _volume_call(san, method, lun, action, body):
    if lun not in san.volumes:
        raise Answer(404, {'message': 'no volume with LUN %d' % lun})
    if method == 'DELETE' and not action:
        try:
            san.delete_volume(lun)
        except ValueError as exc:
            raise Answer(409, {'message': str(exc)})
        return None
    if method == 'POST' and action == '/map':
        san.map_lun(lun, _initiators(body))
        return None
    if method == 'POST' and action == '/unmap':
        san.unmap_lun(lun, _initiators(body))
        return None
    raise Answer(405, {'message': 'method %s not allowed here' % method})


def _dispatch(san, method, path, body):
    if path == PREFIX + 'volumes':
        if method == 'GET':
            return 200, _listing(san)
        if method == 'POST':
            body = body or {}
            lun = san.create_volume(body.get('size') or 0,
                                    body.get('name') or '')
            return 201, {'lun': lun, 'target-wwpns': san.target_wwpns()}
        raise Answer(405, {'message': 'method %s not allowed here' % method})
    match = _VOLUME.match(path)
    if not match:
        raise Answer(404, {'message': 'no such resource: %s' % path})
    result = _volume_call(san, method, int(match.group(1)), match.group(2),
                          body)
    return (204, None) if result is None else (200, result)


def request(sim, headers, userid, password, method, path, body):
    """Answer one request: (HTTP status, JSON body or None)."""
    if not authorized(headers, userid, password):
        return UNAUTHORIZED
    try:
        with sim.lock:
            return _dispatch(sim.san, method, path, body)
    except Answer as answer:
        return answer.status, answer.body
    except (ValueError, TypeError) as exc:
        return 400, {'message': str(exc)}
