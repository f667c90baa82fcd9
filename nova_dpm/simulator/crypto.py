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

"""Crypto adapters and domains of partitions (HMC rules R1-R4).

A partition's ``crypto-configuration`` lists its crypto adapters and its
domains, each domain with an access mode; every domain applies to every
adapter of the partition. zhmcclient's mock adds whatever Increase Crypto
Configuration names; the simulator refuses adapters that are not crypto
adapters of the partition's CPC (R1) and domain indexes beyond what the
adapters have (R2), and a start whose usage domain is in use on one of its
adapters by another partition that holds its resources (R3; the start
fails as a start short of resources does, see jobs.py). Increase and
Decrease Crypto Configuration and Change Crypto Domain Configuration are
the mock's once they leave the configuration empty, or with an adapter
and a domain in control-usage (R4).
"""

from nova_dpm.simulator import errors
from nova_dpm.simulator import partitions
from nova_dpm.simulator import resources
from nova_dpm.simulator import validation

USAGE = 'control-usage'
ACCESS_MODES = ('control', USAGE)
# HMC rule R4: the reason code of "at least one usage domain required"
# (also answered, inferred, for domains left without an adapter).
NO_USAGE_LEFT = 111
# Domains of a Crypto Express adapter in DPM mode: as many as the CPC has
# partitions (zhmcclient Adapter.maximum_crypto_domains and
# Cpc.maximum_active_partitions, by machine type; 9175, the z17, which
# zhmcclient 1.26 does not know, assumed as the z16).
DOMAINS_BY_MACHINE_TYPE = {'2964': 85, '3906': 85, '8561': 85, '3931': 85,
                           '9175': 85}


def config(partition):
    """(adapter URIs, domain configurations) of a faked partition."""
    cc = partition.properties.get('crypto-configuration') or {}
    return (list(cc.get('crypto-adapter-uris') or []),
            list(cc.get('crypto-domain-configurations') or []))


def usage_domains(partition):
    return {dc['domain-index'] for dc in config(partition)[1]
            if dc.get('access-mode') == USAGE}


def _adapters(sim, req, partition, uris):
    """HMC rule R1: crypto adapters of the partition's CPC."""
    if not isinstance(uris, list):
        raise req.err.bad_request(
            errors.INVALID_VALUE, "Field 'crypto-adapter-uris': value %r is "
            "not the expected type. Expected an array" % (uris,))
    cpc = partition.manager.parent
    found = []
    for uri in uris:
        adapter = sim.lookup(uri) if isinstance(uri, str) else None
        if adapter is None or adapter.manager.parent is not cpc or \
                adapter.properties.get('adapter-family') != 'crypto':
            raise req.err.bad_request(
                errors.REF_NOT_FOUND, "Field 'crypto-adapter-uris': %r does "
                "not designate a crypto adapter of the partition's CPC"
                % (uri,))
        found.append(adapter)
    return found


def _domains(req, partition, configs):
    """HMC rule R2: domain indexes the CPC's adapters have."""
    machine = partition.manager.parent.properties.get('machine-type')
    limit = DOMAINS_BY_MACHINE_TYPE.get(machine, 85)
    if not isinstance(configs, list):
        configs = [configs]
    for dc in configs:
        index = dc.get('domain-index') if isinstance(dc, dict) else None
        if not isinstance(index, int) or isinstance(index, bool) or \
                not 0 <= index < limit:
            raise req.err.bad_request(
                errors.INVALID_VALUE, "Field 'domain-index': value %r is not "
                "a crypto domain index from 0 to %d" % (index, limit - 1))
        validation.check_enum(req.err, 'access-mode', dc.get('access-mode'),
                              ACCESS_MODES)


def _target(sim, req, fields):
    """The partition of a crypto request and its body, checked.

    Not while the partition starts or stops; only the named fields.
    """
    partition = partitions.get_partition(sim, req)
    partitions.check_not_transitional(req, partition)
    body = req.body or {}
    validation.check_fields(req.err, body, fields)
    return partition, body


def increase(sim, req):
    """Increase Crypto Configuration (HMC rules R1, R2, R4)."""
    partition, body = _target(sim, req, (
        'crypto-adapter-uris', 'crypto-domain-configurations'))
    added = body.get('crypto-adapter-uris', [])
    configs = body.get('crypto-domain-configurations', [])
    _adapters(sim, req, partition, added)
    _domains(req, partition, configs)
    adapters, domains = config(partition)
    _keeps_usage(req, partition, adapters + list(added), domains + list(
        configs if isinstance(configs, list) else [configs]))
    return sim.delegate(req)


def _keeps_usage(req, partition, adapters, domains):
    """HMC rule R4: a configuration left not empty lacks what it needs.

    At least one crypto adapter, and a domain in control-usage.
    """
    if not adapters and not domains:
        return
    if not adapters:
        raise req.err.conflict(
            NO_USAGE_LEFT, "Partition %s would keep crypto domains without "
            "a crypto adapter: at least one adapter is required" %
            partition.properties.get('name'))
    if not any(dc.get('access-mode') == USAGE for dc in domains):
        raise req.err.conflict(
            NO_USAGE_LEFT, "Partition %s would keep crypto adapters without "
            "a crypto domain in access mode control-usage: at least one "
            "usage domain is required" % partition.properties.get('name'))


def decrease(sim, req):
    """Decrease Crypto Configuration (HMC rule R4)."""
    partition, body = _target(sim, req, (
        'crypto-adapter-uris', 'crypto-domain-indexes'))
    adapters, domains = config(partition)
    gone_adapters = body.get('crypto-adapter-uris') or []
    gone_domains = body.get('crypto-domain-indexes') or []
    _keeps_usage(req, partition,
                 [u for u in adapters if u not in gone_adapters],
                 [dc for dc in domains
                  if dc.get('domain-index') not in gone_domains])
    return sim.delegate(req)


def change(sim, req):
    """Change Crypto Domain Configuration (HMC rules R2, R4)."""
    partition, body = _target(sim, req, ('domain-index', 'access-mode'))
    _domains(req, partition, body)
    adapters, domains = config(partition)
    _keeps_usage(req, partition, adapters, [
        dict(dc, **{'access-mode': body['access-mode']})
        if dc.get('domain-index') == body['domain-index'] else dc
        for dc in domains])
    return sim.delegate(req)


def conflicts(sim, partition):
    """HMC rule R3: why the partition's usage domains cannot be had.

    One sentence per other partition that holds its resources and uses
    one of the same domains, for usage, on one of the same adapters.
    """
    adapters = set(config(partition)[0])
    mine = usage_domains(partition)
    found = []
    if not adapters or not mine:
        return found
    for other in partition.manager.list():
        if other is partition or not resources.holds(sim, other):
            continue
        shared = sorted(mine & usage_domains(other))
        if shared and adapters & set(config(other)[0]):
            found.append(
                'crypto domain(s) %s in use (control-usage) by partition %s '
                'on the same crypto adapter' % (
                    ', '.join(str(i) for i in shared),
                    other.properties.get('name')))
    return found
