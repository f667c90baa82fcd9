# Copyright 2025 nova-dpm developers
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

"""What an older HMC or SE does not know yet.

An HMC answers only the operations, query parameters and request body
fields of its own Web Services API version (the ``api_version`` of the HMC
definition); some also depend on the SE version of the CPC
(``se-version``). :func:`check` is called for every request before it is
dispatched and refuses what came later, as an HMC of that version does:

* an operation (URI) it does not have: 404,1 (IBM, "HTTP status codes":
  404 means the URI does not designate an extant resource);
* a query parameter it does not have: 400,1 (IBM, "Common request
  validation reason codes"; seen on a real HMC 2.15 for
  ``additional-properties``, zhmc-prometheus-exporter issue #823);
* a request body field it does not have: 400,6 (IBM, "Common request
  validation reason codes": an unrecognized field).

HMC versions and their API versions (zhmcclient documentation, intro.rst):
2.13.1 = 1.7 and 2.1-2.2, 2.14.0 = 2.20-2.25, 2.14.1 = 2.35-2.40,
2.15.0 = 3.1-3.4, 2.16.0 = 4.1 and later.
"""

import re

from nova_dpm.simulator import errors

# One gate: (HTTP method or None for any, path regex, minimum API version,
# minimum SE version of the CPC or None, what, source).
_P = r'/api/partitions/[^/?]+'
_NICS = _P + r'/nics(/[^/?]+)?'

OPERATIONS = [
    # Submit Requests has no version gate (HMC rule N1): no source names
    # the HMC version that brought it, and zhmcclient 1.26 sends it for
    # every list(full_properties=True), whatever the HMC's version.

    # zhmcclient Partition.list_os_messages: "SE version >= 2.14.0";
    # HMC 2.14.0 has API 2.20. What an HMC 2.14 answers for a CPC with an
    # older SE is not documented: INFERRED, the same 404.
    ('GET', _P + r'/operations/list-os-messages', (2, 20), '2.14.0',
     'List OS Messages', 'zhmcclient Partition.list_os_messages'),
    # zhmcclient Partition.create_os_websocket: "HMC version >= 2.14.0
    # with HMC API version >= 2.22" (HMC rule W1); no SE version named.
    ('POST', _P + r'/operations/get-ascii-console-websocket-uri', (2, 22),
     None, 'Get ASCII Console WebSocket URI',
     'zhmcclient Partition.create_os_websocket'),
    # The dpm-storage-management feature, storage groups and their
    # operations: HMC 2.14.0 with API 2.23 (zhmcclient concepts.rst,
    # "Firmware features"; Cpc.feature_enabled).
    (None, r'/api/storage-groups(/.*)?', (2, 23), None,
     'storage groups', 'zhmcclient "Firmware features"'),
    ('POST', _P + r'/operations/(attach|detach)-storage-group', (2, 23),
     None, 'Attach/Detach Storage Group', 'zhmcclient "Firmware features"'),
    # zhmcclient StorageGroup.discover_fcp: "HMC version >= 2.14.1" and
    # "SE version >= 2.14.1"; HMC 2.14.1 has API 2.35-2.40, and the
    # operation came with API 2.37 (zhmcclient's API version table). The
    # SE is the one of the group's CPC. An older HMC keeps only its
    # periodic check (san.py discovery_interval).
    ('POST', r'/api/storage-groups/[^/?]+/operations/'
     r'start-fcp-storage-discovery', (2, 37), '2.14.1',
     'Start FCP Storage Discovery', 'zhmcclient StorageGroup.discover_fcp'),
    # zhmcclient StorageGroup.get_connection_report: "HMC Version >=
    # 2.14.1 with HMC API version >= 2.37" and "SE Version >= 2.14.1".
    ('GET', r'/api/storage-groups/[^/?]+/operations/'
     r'get-connection-report', (2, 37), '2.14.1',
     'Get Connection Report',
     'zhmcclient StorageGroup.get_connection_report'),
]

QUERY_PARAMETERS = [
    # zhmc-prometheus-exporter #823: "introduced in the 2.16 HMC (API
    # version 4.1)"; zhmcclient list(): "requires HMC 2.16.0 or higher".
    ('GET', r'/api/cpcs/[^/?]+/partitions', 'additional-properties',
     (4, 1), None, 'zhmc-prometheus-exporter #823'),
    ('GET', r'/api/cpcs/[^/?]+/virtual-switches', 'additional-properties',
     (4, 1), None, 'zhmcclient VirtualSwitchManager.list'),
    # zhmcclient #862: the properties filter of Get Partition Properties
    # since HMC 2.16.0, of Get CPC Properties since HMC 2.14.0. zhmcclient
    # says older HMCs "may simply ignore" it; INFERRED, the harsher reading:
    # 400,1 like a newer HMC for a parameter it does not support.
    ('GET', _P, 'properties', (4, 1), None, 'python-zhmcclient #862'),
    ('GET', r'/api/cpcs/[^/?]+', 'properties', (2, 20), None,
     'python-zhmcclient #862'),
]

BODY_FIELDS = [
    # zhmc-ansible-modules zhmc_nic.py: vlan-id and mac-address came with
    # API 2.2 (an update of SE 2.13.1), vlan-type with API 2.20 (SE 2.14.0);
    # mac-address became writable with API 2.20. zhmccli nic create:
    # vlan-type is "only supported on z14 or later CPCs".
    ('POST', _NICS, 'vlan-id', (2, 2), None, 'zhmc_nic.py'),
    ('POST', _NICS, 'vlan-type', (2, 20), '2.14.0',
     'zhmc_nic.py; zhmccli nic create'),
    ('POST', _NICS, 'mac-address', (2, 20), None, 'zhmc_nic.py'),
    # zhmc-ansible-modules zhmc_partition.py: boot-storage-volume and
    # boot-load-parameters "added in API version 2.23 (HMC 2.14.0)";
    # secure-boot "added in SE/CPC 2.15.0" (HMC 2.15.0: API 3.1).
    ('POST', _P, 'boot-storage-volume', (2, 23), None, 'zhmc_partition.py'),
    ('POST', _P, 'boot-load-parameters', (2, 23), None,
     'zhmc_partition.py'),
    ('POST', _P, 'secure-boot', (3, 1), '2.15.0', 'zhmc_partition.py'),
    ('POST', r'/api/cpcs/[^/?]+/partitions', 'boot-load-parameters',
     (2, 23), None, 'zhmc_partition.py'),
    ('POST', r'/api/cpcs/[^/?]+/partitions', 'secure-boot', (3, 1),
     '2.15.0', 'zhmc_partition.py'),
]


# Partition properties that an older HMC does not have (the mock gives
# every partition all of them): (name, minimum API version, source).
LATER_PARTITION_PROPERTIES = [
    ('boot-storage-volume', (2, 23), 'zhmc_partition.py'),
    ('boot-load-parameters', (2, 23), 'zhmc_partition.py'),
    ('storage-group-uris', (2, 23), 'zhmcclient "Firmware features"'),
    ('secure-boot', (3, 1), 'zhmc_partition.py'),
    # The firmware features dpm-fcp-tape-management (HMC 2.15.0) and
    # dpm-smcd-partition-link-management (HMC 2.16.0), zhmcclient
    # "Firmware features".
    ('tape-link-uris', (3, 1), 'zhmcclient "Firmware features"'),
    ('partition-link-uris', (4, 1), 'zhmcclient "Firmware features"'),
]


# NIC properties, the same way (zhmc-ansible-modules zhmc_nic.py).
LATER_NIC_PROPERTIES = [
    ('vlan-id', (2, 2), 'zhmc_nic.py'),
    ('mac-address', (2, 2), 'zhmc_nic.py'),
    ('vlan-type', (2, 20), 'zhmc_nic.py'),
]


def strip_later_properties(sim, props, table=None):
    """Remove from a new object what its HMC does not have yet."""
    api = api_version(sim)
    for name, min_api, _src in table or LATER_PARTITION_PROPERTIES:
        if api < min_api:
            props.pop(name, None)


def has_vlan_type(sim, path):
    """Whether NICs of the partition of ``path`` have vlan-type.

    zhmccli nic create: vlan-type is "only supported on z14 or later
    CPCs", and there a vlan-id requires it; zhmc_nic.py: from API 2.20.
    """
    return not _too_old(sim, path, (2, 20), '2.14.0')


def _compile(table):
    return [(m, re.compile('^' + rx + '$')) + tuple(rest)
            for m, rx, *rest in table]


_OPERATIONS = _compile(OPERATIONS)
_QUERY_PARAMETERS = _compile(QUERY_PARAMETERS)
_BODY_FIELDS = _compile(BODY_FIELDS)


def parse(version):
    """'2.13.1' or '1.7' -> (2, 13, 1) or (1, 7); () if not a version."""
    try:
        return tuple(int(p) for p in str(version).split('.'))
    except ValueError:
        return ()


def api_version(sim):
    """The Web Services API version of the simulated HMC."""
    return parse(sim.faked.api_version)


def _cpc_of(sim, path):
    """The faked CPC that the URI path is about, or None."""
    m = re.match(r'^/api/storage-groups/([^/?]+)', path)
    if m:
        group = sim.lookup('/api/storage-groups/%s' % m.group(1))
        cpc_uri = group.properties.get('cpc-uri') if group else None
        return sim.lookup(cpc_uri) if cpc_uri else None
    m = re.match(r'^/api/(partitions|cpcs)/([^/?]+)', path)
    if not m:
        return None
    if m.group(1) == 'cpcs':
        try:
            return sim.faked.cpcs.lookup_by_oid(m.group(2))
        except KeyError:
            return None
    partition = sim.lookup('/api/partitions/%s' % m.group(2))
    if partition is None or partition.manager.class_value != 'partition':
        return None
    return partition.manager.parent


def _too_old(sim, path, min_api, min_se):
    if api_version(sim) < min_api:
        return True
    if min_se is not None:
        cpc = _cpc_of(sim, path)
        if cpc is not None and \
                parse(cpc.properties.get('se-version')) < parse(min_se):
            return True
    return False


def _matches(entry_method, regex, req):
    return entry_method in (None, req.method) and regex.match(req.path)


def check(sim, req):
    """Refuse what the HMC (or the CPC's SE) does not have yet."""
    for method, regex, min_api, min_se, what, _src in _OPERATIONS:
        if _matches(method, regex, req) and \
                _too_old(sim, req.path, min_api, min_se):
            raise req.err.not_found(
                "The URI does not designate an extant resource: %s (%s) "
                "is not supported by this HMC (API version %s)"
                % (req.path, what, sim.faked.api_version))
    query = req.uri.split('?', 1)[1] if '?' in req.uri else ''
    names = {part.split('=', 1)[0] for part in query.split('&') if part}
    for method, regex, name, min_api, min_se, _src in _QUERY_PARAMETERS:
        if name in names and _matches(method, regex, req) and \
                _too_old(sim, req.path, min_api, min_se):
            raise req.err.bad_request(
                errors.QUERY_PARAMETER,
                "Unrecognized or unsupported query parameter: '%s'" % name)
    if isinstance(req.body, dict):
        for method, regex, name, min_api, min_se, _src in _BODY_FIELDS:
            if name in req.body and _matches(method, regex, req) and \
                    _too_old(sim, req.path, min_api, min_se):
                raise req.err.bad_request(
                    errors.UNKNOWN_FIELD,
                    "The request body contains an unrecognized field: "
                    "'%s'" % name)
