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

"""The ``[dpm]`` configuration group of nova.conf.

Every option is typed. The types below raise ``ValueError`` with a message
that names the value and what is expected; :func:`validate` turns any such
error, a missing required option or an inconsistent combination into
:class:`nova_dpm.exception.InvalidConfiguration`, naming ``[dpm] <option>``.
``init_host`` calls :func:`validate` first, so a bad value stops
nova-compute at startup.
"""

import collections
import os
import re

from oslo_config import cfg
from oslo_config import types

from nova_dpm import exception

GROUP = 'dpm'

dpm_group = cfg.OptGroup(
    GROUP,
    title='DPM options',
    help="""
Options for the nova-dpm virt driver (``compute_driver = dpm.DPMDriver``).

One nova-compute service manages one *CPC subset*: a slice of one IBM Z or
LinuxONE CPC in DPM mode, bounded by ``max_processors``, ``max_memory`` and
``max_instances``. Several subsets, each with its own nova-compute and its own
``[DEFAULT] host``, can share a CPC with partitions that OpenStack does not
manage.
""")

# A canonical lower-case UUID: HMC object-ids and Nova instance UUIDs.
UUID_RE = re.compile(
    r'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')
_WWPN_RE = re.compile(r'^[0-9a-f]{16}$')

AdapterPortMapping = collections.namedtuple(
    'AdapterPortMapping', ['adapter_id', 'port'])


class TextType(types.ConfigType):
    """A value kept as the text it was parsed to; ``TYPE_NAME`` names it."""

    TYPE_NAME = None

    def __init__(self, type_name=None):
        super().__init__(type_name=type_name or self.TYPE_NAME)

    def _formatter(self, value):
        return value


class ObjectId(TextType):
    """A DPM object-id (a UUID). Case-insensitive; stored lower-case."""

    TYPE_NAME = 'DPM object-id'

    def __call__(self, value):
        text = str(value).strip().lower()
        if not UUID_RE.match(text):
            raise ValueError(
                '%r is not a DPM object-id: expected 36 characters in the '
                'form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx (hex digits), as '
                'the HMC shows in the object-id property' % value)
        return text


class AdapterPort(TextType):
    """``<fcp-adapter-object-id>:<port>`` with a port from 0 to 3."""

    TYPE_NAME = 'FCP adapter port mapping'

    def __call__(self, value):
        if isinstance(value, AdapterPortMapping):
            return value
        expected = ('expected <fcp-adapter-object-id>:<port>, with the '
                    "adapter's DPM object-id and a port number from 0 to 3")
        adapter, sep, port = str(value).strip().rpartition(':')
        if not sep or not port.isdigit() or not 0 <= int(port) <= 3:
            raise ValueError('%r is not valid: %s' % (value, expected))
        try:
            adapter_id = ObjectId()(adapter)
        except ValueError:
            raise ValueError('%r is not valid: %s' % (value, expected))
        return AdapterPortMapping(adapter_id, int(port))

    def _formatter(self, value):
        if isinstance(value, AdapterPortMapping):
            return '%s:%d' % value
        return value


class Wwpn(TextType):
    """A 16-hex-digit WWPN, optional ``0x``; stored lower-case without it."""

    TYPE_NAME = 'WWPN'

    def __call__(self, value):
        text = str(value).strip().lower()
        if text.startswith('0x'):
            text = text[2:]
        if not _WWPN_RE.match(text):
            raise ValueError(
                '%r is not a WWPN: expected 16 hex digits, optionally '
                'prefixed with 0x, for example c05076ffe680a590' % value)
        return text


class BoundedInt(types.Integer):
    """An integer within bounds whose error names the value."""

    def __init__(self, min, what, max=None):
        super().__init__(min=min, max=max)
        self.what = what

    def __call__(self, value):
        try:
            return super().__call__(value)
        except ValueError:
            raise ValueError('%r is not valid: expected %s' %
                             (value, self.what))


dpm_opts = [
    cfg.ListOpt(
        'hmc',
        item_type=types.HostAddress(),
        default=[],
        help="""
The HMC (Hardware Management Console) that manages the CPC: an IP address or
host name, or a comma-separated list of them (a primary HMC and alternates).
At every logon (at startup, and again when the HMC session has expired)
nova-dpm tries them in order and uses the first one that answers; it does
not switch HMCs between logons. Required unless ``hmc_mock_file`` is set.
"""),
    cfg.Opt(
        'hmc_port',
        type=BoundedInt(1, 'a TCP port from 1 to 65535', max=65535),
        default=6794,
        help='TCP port of the HMC Web Services API on every ``hmc``.'),
    cfg.StrOpt(
        'hmc_username',
        help="""
HMC user ID for the Web Services API. The user needs object access to the
CPC, its adapters and virtual switches, and the task permissions to create,
start, stop and delete partitions (see the installation guide). Required
unless ``hmc_mock_file`` is set.
"""),
    cfg.StrOpt(
        'hmc_password',
        secret=True,
        help='Password of ``hmc_username``. Never logged.'),
    cfg.BoolOpt(
        'hmc_verify_cert',
        default=True,
        help="""
Verify the HMC's TLS certificate. Leave this on: with it off, anybody between
nova-compute and the HMC can read the HMC password. Turning it off is logged
as a warning at every start.
"""),
    cfg.StrOpt(
        'hmc_ca_bundle',
        help="""
Path of a PEM file (or a directory prepared with ``c_rehash``) with the CA
certificate(s) that signed the HMC certificate. Unset means the CA bundle of
the Python ``requests`` library (``certifi``, or the file named by the
``REQUESTS_CA_BUNDLE`` environment variable). Ignored when ``hmc_verify_cert``
is false.
"""),
    cfg.Opt(
        'hmc_connect_timeout',
        type=BoundedInt(1, 'a timeout in seconds, at least 1'),
        default=30,
        help='Seconds to wait for a TCP connection to the HMC.'),
    cfg.Opt(
        'hmc_connect_retries',
        type=BoundedInt(0, 'a retry count, 0 or more'),
        default=3,
        help="""
How often a failed connection to the HMC is retried before the request fails
(and, with several ``hmc`` entries, before the next HMC is tried at logon).
At startup the logon is attempted three times, 5 seconds apart, each attempt
with these retries.
"""),
    cfg.Opt(
        'hmc_read_timeout',
        type=BoundedInt(1, 'a timeout in seconds, at least 1'),
        default=300,
        help="""
Seconds to wait for the HMC to answer a request. It applies to every request,
including each poll made while a start or stop is waited for: a read request
(HTTP GET) that gets no answer is repeated up to three times, so one poll of
an HMC that has stopped answering can take about four times this value, far
beyond ``hmc_operation_timeout``, which is checked between polls.
"""),
    cfg.Opt(
        'hmc_operation_timeout',
        type=BoundedInt(1, 'a timeout in seconds, at least 1'),
        default=900,
        help="""
Upper bound in seconds for a partition start or stop, from the request until
the partition has reached its new status. A start or stop that takes longer
fails the Nova operation. The limit is checked between the polls of the HMC;
a poll that is under way when it passes is not cut short (it is bounded by
``hmc_read_timeout`` and the retries of read requests).
"""),
    cfg.BoolOpt(
        'hmc_notifications',
        default=True,
        help="""
Learn the status changes of this subset's partitions from the HMC's object
notifications (STOMP over TLS on ``hmc_notification_port``, verified like
the Web Services API) and report the changes made outside Nova (an HMC
operator's stop or start, a guest that halts) to Nova as lifecycle events at
once, instead of at Nova's next power-state sync. One connection per
nova-compute; it is re-established with back-off when it drops. When the HMC
does not offer notifications (or refuses the subscription), nova-dpm polls as
before and says so once in its log. The simulated HMC of ``hmc_mock_file``
serves notifications on a port of its own on 127.0.0.1 (its session says
which). False: never connect to the notification port.

The DPM agent (neutron-dpm-agent) reads this option too: with it, the agent
learns the NICs created and deleted on the HMC from the notifications and
lists the NICs only every ``nic_reconciliation_interval`` seconds; without
it (or without notifications), it lists them every ``[AGENT]
polling_interval`` seconds.
"""),
    cfg.Opt(
        'hmc_notification_port',
        type=BoundedInt(1, 'a TCP port from 1 to 65535', max=65535),
        default=61612,
        help='TCP port of the HMC\'s notification service (STOMP over '
             'TLS) on the HMC in use; the HMC listens on 61612.'),
    cfg.StrOpt(
        'guest_shutdown_command',
        default='shutdown -h now',
        help="""
Operating-system command that asks the guest to shut down, sent through the
HMC's operating-system message interface (the "Operating System Messages"
task) for a graceful stop (``openstack server stop``, or a soft reboot). When
the partition has not stopped (or paused, as a Linux that halts itself
leaves it) within Nova's shutdown timeout, nova-dpm stops it hard. The guest
must run a program on that console that executes the command (the guest
tools' console listener accepts ``shutdown -h now``, ``poweroff``, ``halt``
and a few more; see the guest image guide).
"""),
    cfg.Opt(
        'guest_console_grace_period',
        type=BoundedInt(0, 'a number of seconds, 0 or more'),
        default=10,
        help="""
Seconds after the shutdown command within which the guest's operating-system
messages console must show a reaction to it (anything besides the command's
echo). If nothing came in that time, or the console asks for a login or
password (a login prompt took the command for a user name), nova-dpm stops
the partition hard at once, with a warning naming the reason, instead of
waiting for Nova's whole shutdown timeout. 0 turns the check off. The console
is read with List OS Messages (SE 2.14.0 and later; on older CPCs the check is
skipped). The guest image guide describes the command listener that
acknowledges the command on the console.
"""),
    cfg.Opt(
        'cpc_object_id',
        type=ObjectId(),
        help="""
DPM object-id of the CPC that hosts this CPC subset, as shown by the HMC (the
CPC's ``object-id`` property; ``zhmc cpc show`` prints it). Case does not
matter. Required.
"""),
    cfg.Opt(
        'max_processors',
        type=BoundedInt(1, 'a number of IFL processors, at least 1'),
        help="""
Number of shared IFL processors this CPC subset offers to Nova (the VCPU
inventory in placement). Must not exceed the CPC's IFLs. Partitions of
flavors without ``hw:cpu_policy=dedicated`` use shared processors, so the sum
over all subsets may exceed the CPC. Required unless
``max_dedicated_processors`` is set; unset then, the subset offers dedicated
IFLs only.
"""),
    cfg.Opt(
        'max_dedicated_processors',
        type=BoundedInt(1, 'a number of IFL processors, at least 1'),
        help="""
Number of IFL processors this CPC subset may dedicate to partitions (the PCPU
inventory in placement), for flavors with ``hw:cpu_policy=dedicated``: their
partitions have processor-mode ``dedicated``. At start-up nova-compute checks
that the CPC has at least this many IFLs that are not dedicated to partitions
outside the subset. Unset: no dedicated processors.
"""),
    cfg.Opt(
        'max_memory',
        type=BoundedInt(512, 'memory in MiB, at least 512'),
        help="""
Memory in MiB this CPC subset offers to Nova (the MEMORY_MB inventory in
placement). Must not exceed the CPC's customer memory. Required.
"""),
    cfg.Opt(
        'max_instances',
        type=BoundedInt(1, 'a number of instances, at least 1'),
        help="""
Maximum number of instances (partitions) in this CPC subset. A spawn beyond it
fails before any HMC request. Unset means no limit beyond the CPC's own
(85 partitions on the largest machines).
"""),
    cfg.MultiOpt(
        'physical_storage_adapter_mappings',
        item_type=AdapterPort(),
        help="""
An FCP adapter port this CPC subset uses for volumes, as
``<fcp-adapter-object-id>:<port>`` (port 0 to 3). Repeat the option for each
path; every instance gets one virtual HBA (one path) per entry, and the first
entry is the boot path. Required for boot from volume. Example::

    physical_storage_adapter_mappings = 7ae4bb84-4bc1-11e7-9b33-00106f0d81c9:0
    physical_storage_adapter_mappings = 7ae4bb85-4bc1-11e7-9b33-00106f0d81c9:1
"""),
    cfg.ListOpt(
        'physical_crypto_adapters',
        item_type=ObjectId(),
        default=[],
        help="""
The crypto adapters (Crypto Express) this CPC subset may give to partitions,
as a comma-separated list of their DPM object-ids. A flavor with the extra
spec ``dpm:crypto_domains`` gets these adapters (those of the type its
``dpm:crypto_adapter_type`` names) and that many crypto domains that no
other partition of the CPC uses for usage, in access mode ``control-usage``.
At start-up nova-compute checks that each entry is a crypto adapter of the
CPC. Empty: flavors that ask for crypto domains are refused.
"""),
    cfg.ListOpt(
        'target_wwpn_ignore_list',
        item_type=Wwpn(),
        default=[],
        help="""
Storage target WWPNs never used to boot from, as a comma-separated list of
16-hex-digit WWPNs (case does not matter, ``0x`` is optional). Use it for
target ports that the storage system reports but that are not zoned to the
CPC.
"""),
    cfg.StrOpt(
        'hmc_mock_file',
        help="""
Talk to a simulated HMC instead of a real one: a path to an HMC definition in
the zhmcclient mock YAML format, or the name of a definition shipped with
nova-dpm (``z16`` for a current machine with DPM storage management, ``z13``
for a machine with HBAs). For evaluation, demos and tests only: no partition
is created on any real machine, and nova-compute says so loudly in its log.
When set, ``hmc``, ``hmc_username`` and ``hmc_password`` are not needed.
"""),
]


# The options of a program that only talks to the HMC about one CPC (the
# Neutron DPM agent, nova_dpm.neutron): the connection and the CPC.
HMC_OPTION_NAMES = (
    'hmc', 'hmc_port', 'hmc_username', 'hmc_password', 'hmc_verify_cert',
    'hmc_ca_bundle', 'hmc_connect_timeout', 'hmc_connect_retries',
    'hmc_read_timeout', 'hmc_operation_timeout', 'cpc_object_id',
    'hmc_mock_file', 'hmc_notifications', 'hmc_notification_port')


def hmc_opts():
    """The option objects named in HMC_OPTION_NAMES (the same objects)."""
    return [opt for opt in dpm_opts if opt.dest in HMC_OPTION_NAMES]


def register_opts(conf):
    conf.register_group(dpm_group)
    conf.register_opts(dpm_opts, group=dpm_group)


def list_opts():
    return [(dpm_group, dpm_opts)]


def _invalid(option, value, expected):
    return exception.InvalidConfiguration(
        option=option,
        reason='%r is not valid: expected %s' % (value, expected))


_OSLO_VALUE_ERROR = re.compile(
    r'^Value for option \S+ from .*? is not valid: ')


def _read(conf, name):
    """Read ``[dpm] name``; a type error becomes InvalidConfiguration."""
    try:
        return getattr(conf.dpm, name)
    except (cfg.ConfigFileValueError, ValueError) as exc:
        reason = _OSLO_VALUE_ERROR.sub('', str(exc), count=1)
        raise exception.InvalidConfiguration(option=name, reason=reason)


def check(conf):
    """Check every [dpm] option; return (values, problems).

    ``values`` maps each option to its value (None where it cannot be
    read); ``problems`` lists an InvalidConfiguration for every bad option,
    in the order of the options, each naming the option, its value and what
    is expected. nova-dpm-check reports them all at once.
    """
    values = {}
    problems = []
    for opt in dpm_opts:
        try:
            values[opt.dest] = _read(conf, opt.dest)
        except exception.InvalidConfiguration as exc:
            values[opt.dest] = None
            problems.append(exc)
    unreadable = {exc.kwargs['option'] for exc in problems}
    values['physical_storage_adapter_mappings'] = list(
        values['physical_storage_adapter_mappings'] or [])
    values['physical_crypto_adapters'] = list(
        values['physical_crypto_adapters'] or [])
    problems += _hmc_problems(values, unreadable)
    for name in ('max_processors', 'max_memory'):
        if values[name] is None and name not in unreadable:
            if name == 'max_processors' and (
                    values['max_dedicated_processors'] or
                    'max_dedicated_processors' in unreadable):
                continue
            problems.append(_invalid(name, None,
                                     'a value; the option is required'))
    seen = set()
    for mapping in values['physical_storage_adapter_mappings']:
        if mapping in seen:
            problems.append(_invalid('physical_storage_adapter_mappings',
                                     '%s:%d' % mapping,
                                     'each adapter port at most once'))
        seen.add(mapping)
    # Options of the same problem come together, in the order of dpm_opts.
    order = {opt.dest: i for i, opt in enumerate(dpm_opts)}
    problems.sort(key=lambda exc: order.get(exc.kwargs['option'], 0))
    return values, problems


def validate(conf):
    """Check every [dpm] option; return them as a plain namespace.

    Raises InvalidConfiguration naming the first bad option, its value and
    what is expected (:func:`check` lists them all).
    """
    values, problems = check(conf)
    if problems:
        raise problems[0]
    return Settings(**values)


def validate_hmc(conf):
    """Check the options named in HMC_OPTION_NAMES, as :func:`validate`.

    For programs that register only :func:`hmc_opts` (the Neutron agent).
    """
    values = {name: read(conf, name) for name in HMC_OPTION_NAMES}
    problems = _hmc_problems(values, set())
    if problems:
        raise problems[0]
    return Settings(**values)


def _hmc_problems(values, unreadable):
    """InvalidConfiguration for each bad HMC option (none unreadable)."""
    problems = []
    simulated = bool(values['hmc_mock_file'])
    if not simulated:
        for name in ('hmc', 'hmc_username', 'hmc_password'):
            if not values[name] and name not in unreadable:
                problems.append(_invalid(
                    name, values[name],
                    'a value (or set hmc_mock_file for a simulated HMC)'))
    if values['cpc_object_id'] is None and 'cpc_object_id' not in unreadable:
        problems.append(_invalid('cpc_object_id', None,
                                 'a value; the option is required'))
    ca_bundle = values['hmc_ca_bundle']
    if ca_bundle and values['hmc_verify_cert'] and not simulated:
        if not (os.path.isfile(ca_bundle) or os.path.isdir(ca_bundle)):
            problems.append(_invalid(
                'hmc_ca_bundle', ca_bundle,
                'the path of a PEM file (or c_rehash directory) with the '
                'CA certificate'))
    return problems


def read(conf, name):
    """Read ``[dpm] name``; a type error becomes InvalidConfiguration."""
    return _read(conf, name)


class Settings(object):
    """The validated [dpm] options, as plain attributes."""

    def __init__(self, **values):
        self.__dict__.update(values)

    def __repr__(self):
        shown = {k: ('***' if k == 'hmc_password' and v else v)
                 for k, v in sorted(self.__dict__.items())}
        return 'Settings(%s)' % ', '.join(
            '%s=%r' % item for item in shown.items())
