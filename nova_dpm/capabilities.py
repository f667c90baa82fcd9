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

"""What the HMC and the CPC's SE can do: one map, asked by name.

An HMC answers only what its Web Services API version has, and some
operations also depend on the SE version of the CPC or on a feature the
CPC lists (HMC rules V1-V8). Every such gate is one entry of
:data:`GATES`, with the HMC rule (doc/source/contributor/hmc-rules.rst)
and the source it comes from. A :class:`Capabilities`, built at start
from the HMC's API version, the CPC's SE version and its feature lists,
answers ``can(NAME)`` for every gate; :meth:`Capabilities.needs` says
what a gate needs, for messages.

HMC versions and their API versions (HMC rule V2): 2.13.1 has 1.7 (and
2.1-2.2 with updates), 2.14.0 has 2.20-2.25, 2.14.1 2.35-2.40, 2.15.0
3.1-3.4, 2.16.0 4.1 and later.
"""

import collections

# The gates, by name.
ADDITIONAL_PROPERTIES = 'additional-properties'
PROPERTIES_FILTER = 'properties-filter'
AGGREGATION = 'aggregation'
OS_MESSAGES = 'os-messages'
FCP_DISCOVERY = 'fcp-storage-discovery'
VLAN = 'vlan'
API_FEATURES = 'api-features'
STORAGE_MANAGEMENT = 'storage-management'
NETWORK_EXPRESS = 'network-express'

# One gate: the minimum API version, the minimum SE version of the CPC,
# the firmware feature (the CPC's available-features-list) and the API
# feature (List CPC API Features) it needs (None: no such need); the
# answer while a version it needs is not known; the HMC rule; the source.
Gate = collections.namedtuple(
    'Gate', ['api', 'se', 'feature', 'api_feature', 'unknown', 'rule',
             'source'])


def _gate(rule, source, api=None, se=None, feature=None, api_feature=None,
          unknown=False):
    return Gate(api, se, feature, api_feature, unknown, rule, source)


GATES = {
    # Listings of partitions and of virtual switches return further
    # properties on request; older HMCs refuse the parameter with 400,1.
    ADDITIONAL_PROPERTIES: _gate(
        'V5', 'zhmc-prometheus-exporter #823; zhmcclient '
        'PartitionManager.list', api=(4, 1)),
    # Get Partition Properties takes the "properties" filter; before,
    # zhmcclient's pull_properties() costs a refused request and a full one.
    PROPERTIES_FILTER: _gate('V6', 'python-zhmcclient #862', api=(4, 1)),
    # Submit Requests: no source names the version that brought it
    # (zhmcclient uses it since 2023, when HMC 2.16 was current): assumed
    # from API 4.1 on; an HMC that refuses it anyway is still detected.
    AGGREGATION: _gate('N1', 'zhmcclient _manager.py (assumed version)',
                       api=(4, 1)),
    # List OS Messages needs SE 2.14.0, hence an HMC 2.14.0: API 2.20.
    OS_MESSAGES: _gate('V4, M2', 'zhmcclient Partition.list_os_messages',
                       api=(2, 20), se=(2, 14, 0)),
    # Start FCP Storage Discovery: HMC 2.14.1 with API 2.37, SE 2.14.1.
    # Versions not known count as new enough.
    FCP_DISCOVERY: _gate('I7', 'zhmcclient StorageGroup.discover_fcp',
                         api=(2, 37), se=(2, 14, 1), unknown=True),
    # NICs with vlan-id and vlan-type 'enforced': vlan-type came with API
    # 2.20 and exists on z14 (SE 2.14.0) and later CPCs only.
    VLAN: _gate('H3, V7', 'zhmc-ansible-modules zhmc_nic.py; zhmccli nic '
                'create', api=(2, 20), se=(2, 14, 0)),
    # List CPC API Features: before API 4.10 no API feature is enabled.
    API_FEATURES: _gate('H10', 'zhmcclient Cpc.api_feature_enabled',
                        api=(4, 10)),
    # Storage groups instead of HBAs: the firmware feature (HMC/SE 2.14.0,
    # API 2.23; no feature list before).
    STORAGE_MANAGEMENT: _gate('B3, V3', 'zhmcclient Cpc.feature_enabled',
                              feature='dpm-storage-management'),
    # A CPC without virtual switches (z17 and later): its API feature.
    NETWORK_EXPRESS: _gate('H7, H10', 'zhmcclient Cpc.api_feature_enabled',
                           api=(4, 10),
                           api_feature='network-express-support'),
}


def parse_version(text):
    """'2.14.1' -> (2, 14, 1), '4.10' -> (4, 10); the numeric parts only.

    None for None; a tuple is returned as it is.
    """
    if text is None or isinstance(text, tuple):
        return text
    return tuple(int(p) for p in str(text).split('.') if p.isdigit())


def version_text(version):
    """(2, 14, 0) -> '2.14.0'."""
    return '.'.join(str(p) for p in version)


def version_int(text):
    """'2.15.0' -> 2015000, the form Nova expects for hypervisor_version."""
    parts = (list(parse_version(text)) + [0, 0, 0])[:3]
    return parts[0] * 1000000 + parts[1] * 1000 + parts[2]


class Capabilities(object):
    """What this HMC, and the CPC's SE, can do.

    ``api_version``: the HMC's (major, minor), None while not known;
    ``se_version``: the CPC's SE version ('2.14.1' or a tuple), None while
    not known; ``features``: the names of the CPC's enabled firmware
    features (None: the CPC lists none); ``api_features``: a callable
    telling whether the CPC has an API feature, called on a question that
    needs one (zhmcclient's Cpc.api_feature_enabled: List CPC API Features
    once, one request; it raises zhmcclient errors).
    """

    def __init__(self, api_version=None, se_version=None, features=None,
                 api_features=None):
        self.api_version = (tuple(api_version) if api_version is not None
                            else None)
        self.se_version = parse_version(se_version)
        self.features = frozenset(features or ())
        self._api_features = api_features

    @classmethod
    def of_cpc(cls, api_version, cpc):
        """The capabilities of an HMC API version and a CPC.

        The CPC's properties as pulled (``se-version``,
        ``available-features-list``): no request; its API features are
        read when first needed.
        """
        props = cpc.properties
        features = [f.get('name') for f in
                    props.get('available-features-list') or []
                    if f.get('state')]
        return cls(api_version, props.get('se-version'), features,
                   cpc.api_feature_enabled)

    def can(self, name):
        """Whether the HMC and the CPC can do what the gate ``name`` is."""
        return not self.shortfalls(name)

    def shortfalls(self, name):
        """What the gate ``name`` lacks: [(kind, needed, have)].

        ``kind``: 'SE', 'API', 'feature' or 'API feature' (in this order);
        versions as text ('2.14.0'), 'unknown' for a version not known.
        Empty when the gate is open.
        """
        gate = GATES[name]
        short = []
        for kind, need, have in (('SE', gate.se, self.se_version),
                                 ('API', gate.api, self.api_version)):
            if need is None or (not have and gate.unknown):
                continue
            if not have or have < need:
                short.append((kind, version_text(need),
                              version_text(have) if have else 'unknown'))
        if gate.feature is not None and gate.feature not in self.features:
            short.append(('feature', gate.feature, 'off'))
        if gate.api_feature is not None and not short and not (
                self._api_features and
                self._api_features(gate.api_feature)):
            short.append(('API feature', gate.api_feature, 'off'))
        return short

    @staticmethod
    def needs(name):
        """What the gate ``name`` needs, in words: 'API 2.20, SE 2.14.0'."""
        gate = GATES[name]
        words = []
        if gate.api:
            words.append('API %s' % version_text(gate.api))
        if gate.se:
            words.append('SE %s' % version_text(gate.se))
        for kind, feature in (('feature', gate.feature),
                              ('API feature', gate.api_feature)):
            if feature:
                words.append('the %s %s' % (kind, feature))
        return ', '.join(words)
