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

"""Configuration of the DPM agent (``neutron-dpm-agent``).

``[dpm]`` holds the HMC options nova-compute has (the same option objects
as nova.conf's, from :mod:`nova_dpm.conf`, with the same validation) and
``physical_network_adapter_mappings``. ``[DEFAULT] host`` must be the
``host`` of the nova-compute of this CPC subset: Neutron binds a port to
the agent of the host Nova names, and nova-dpm writes that host into each
NIC's description.
"""

import collections
import re

from oslo_config import cfg

from nova_dpm import conf as dpm_conf
from nova_dpm import exception

AdapterMapping = collections.namedtuple(
    'AdapterMapping', ['physnet', 'adapter_id', 'port'])

_PHYSNET = re.compile(r'^[^:\s]+$')
MAX_PORT = 3


class NetworkAdapterMapping(dpm_conf.TextType):
    """``<physnet>:<adapter-object-id>[:<port>]``, port 0 by default."""

    TYPE_NAME = 'network adapter mapping'

    def __call__(self, value):
        if isinstance(value, AdapterMapping):
            return value
        expected = ('expected <physical-network>:<adapter-object-id>[:'
                    "<port>], with the network adapter's DPM object-id and "
                    'its port number from 0 to %d (0 if omitted)' % MAX_PORT)
        parts = str(value).strip().split(':')
        if len(parts) == 2:
            parts.append('0')
        if len(parts) != 3 or not _PHYSNET.match(parts[0]) or \
                not parts[2].isdigit() or int(parts[2]) > MAX_PORT:
            raise ValueError('%r is not valid: %s' % (value, expected))
        try:
            adapter_id = dpm_conf.ObjectId()(parts[1])
        except ValueError:
            raise ValueError('%r is not valid: %s' % (value, expected))
        return AdapterMapping(parts[0], adapter_id, int(parts[2]))

    def _formatter(self, value):
        if isinstance(value, AdapterMapping):
            return '%s:%s:%d' % value
        return value


agent_opts = [
    cfg.MultiOpt(
        'physical_network_adapter_mappings',
        item_type=NetworkAdapterMapping(),
        help="""
A physical network of Neutron and the network adapter port of this CPC that
connects to it, as ``<physical-network>:<adapter-object-id>[:<port>]``
(port 0 if omitted). Repeat the option for each physical network. The
adapter must be an OSA or HiperSockets adapter (its NICs use the virtual
switch of that port), or, on a CPC without virtual switches (z17 with
Network Express) or for a RoCE or CNA adapter, a network adapter whose
port backs the NICs directly. The agent checks every mapping against the
CPC at start and refuses to start on a bad one. Only the first mapping of
a physical network is used for new ports. At least one is required.
Example value::

    physnet1:05a00001-0000-4000-8000-000000000001:0
"""),
    cfg.Opt(
        'nic_reconciliation_interval',
        type=dpm_conf.BoundedInt(1, 'a number of seconds, at least 1'),
        default=60,
        help="""
Seconds between two listings of the CPC's NICs while the agent receives the
HMC's notifications (``hmc_notifications``). The agent learns NICs created
and deleted from the notifications at once (one read of each new NIC) and
lists all NICs only at start, after each (re)connection of the notification
service, after a failed HMC request, and at this interval, to reconcile.
Without notifications it lists the NICs every ``[AGENT] polling_interval``
seconds instead.
"""),
]


def register_opts(conf):
    conf.register_group(dpm_conf.dpm_group)
    conf.register_opts(dpm_conf.hmc_opts(), group=dpm_conf.dpm_group)
    conf.register_opts(agent_opts, group=dpm_conf.dpm_group)


def list_opts():
    return [(dpm_conf.dpm_group, dpm_conf.hmc_opts() + agent_opts)]


def validate(conf):
    """The validated [dpm] options of the agent, as a Settings object.

    Raises InvalidConfiguration naming the first bad option.
    """
    settings = dpm_conf.validate_hmc(conf)
    name = 'physical_network_adapter_mappings'
    mappings = list(dpm_conf.read(conf, name) or [])
    if not mappings:
        raise exception.InvalidConfiguration(
            option=name,
            reason='no value: expected at least one '
                   '<physical-network>:<adapter-object-id>[:<port>]')
    settings.nic_reconciliation_interval = dpm_conf.read(
        conf, 'nic_reconciliation_interval')
    seen = set()
    for mapping in mappings:
        if mapping in seen:
            raise exception.InvalidConfiguration(
                option=name,
                reason='%s:%s:%d is given twice' % mapping)
        seen.add(mapping)
    settings.physical_network_adapter_mappings = mappings
    return settings
