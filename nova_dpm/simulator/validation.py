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

"""Field validators of the simulated HMC.

Each ``check_*`` function takes an :class:`~.errors.HmcErrorFactory`, the
field name and the value, and raises an HTTPError (400,7 unless stated)
when the value is not acceptable.  The tables at the end describe the
partition properties (HMC rules C and D).
"""

import re

from nova_dpm.simulator import errors

# HMC rule A6: name String (1-64); description String (0-1024), but only
# (0-200) for storage groups and storage templates.
NAME_MAX = 64
DESCRIPTION_MAX = 1024
SG_DESCRIPTION_MAX = 200

# HMC rule A7 [UNCERTAIN]: the book refers to a "Base managed object
# properties schema" for the allowed characters, which we could not read.
# No source forbids any character, so names are checked for their length
# only (HMC rule A6); the driver keeps to letters, digits and - _ . @ #
# on its own (partition.py).

# HMC rules D7 / J2: WWPN and LUN as exactly 16 hex characters.  Fulfill FCP
# Storage Volume requires lower case [CLIENT ZC _storage_volume.py].  For
# the partition boot fields no source names a letter case (ansible compares
# them as numbers, eq_hex, which suggests an HMC normalises them): either
# case is accepted there.
HEX16_RE = re.compile(r'^[0-9a-f]{16}$')
HEX16_ANY_CASE_RE = re.compile(r'^[0-9a-fA-F]{16}$')

# HMC rules G2, H2, K4: device numbers are 4 hex digits, 0001-FFFF.
DEVNO_RE = re.compile(r'^[0-9a-fA-F]{4}$')

MAC_RE = re.compile(r'^[0-9a-f]{2}(:[0-9a-f]{2}){5}$')

# HMC rule D4: boot-load-parameters, up to 8 of 0-9 A-Z @ $ # . blank.
LOAD_PARM_RE = re.compile(r'^[0-9A-Z@$#. ]{0,8}$')


def _type_name(value):
    return type(value).__name__


def check_string(err, field, value, max_len=None, min_len=0,
                 nullable=False):
    if value is None and nullable:
        return
    if not isinstance(value, str):
        raise err.bad_request(
            errors.INVALID_VALUE,
            "Field '%s': value %r (%s) is not the expected type. Expected "
            "a string" % (field, value, _type_name(value)))
    if max_len is not None and len(value) > max_len:
        # The wording follows a real HMC message (python-zhmcclient #2014).
        raise err.bad_request(
            errors.INVALID_VALUE,
            "Field '%s': String value '%s' exceeds maximum specified "
            "length (%d)" % (field, value, max_len))
    if len(value) < min_len:
        raise err.bad_request(
            errors.INVALID_VALUE,
            "Field '%s': String value '%s' is shorter than the minimum "
            "length (%d)" % (field, value, min_len))


def check_name(err, field, value):
    """HMC rule A6 (length); A7 (characters) is not known, not checked."""
    check_string(err, field, value, max_len=NAME_MAX, min_len=1)


def check_description(err, value, max_len=DESCRIPTION_MAX):
    """HMC rule A6."""
    check_string(err, 'description', value, max_len=max_len)


def check_bool(err, field, value):
    if not isinstance(value, bool):
        raise err.bad_request(
            errors.INVALID_VALUE,
            "Field '%s': value %r is not the expected type. Expected a "
            "boolean" % (field, value))


def check_int(err, field, value, lo=None, hi=None):
    # bool is a subclass of int in Python, but not an integer in JSON.
    if isinstance(value, bool) or not isinstance(value, int):
        raise err.bad_request(
            errors.INVALID_VALUE,
            "Field '%s': value %r (%s) is not the expected type. Expected "
            "an integer" % (field, value, _type_name(value)))
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise err.bad_request(
            errors.INVALID_VALUE,
            "Field '%s': value %d is outside the valid range (%s-%s)"
            % (field, value, lo, hi))


def check_number(err, field, value, lo=None, hi=None):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise err.bad_request(
            errors.INVALID_VALUE,
            "Field '%s': value %r is not the expected type. Expected a "
            "number" % (field, value))
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise err.bad_request(
            errors.INVALID_VALUE,
            "Field '%s': value %r is outside the valid range (%s-%s)"
            % (field, value, lo, hi))


def check_enum(err, field, value, allowed, nullable=False):
    if value is None and nullable:
        return
    if value not in allowed:
        raise err.bad_request(
            errors.INVALID_VALUE,
            "Field '%s': value %r is not one of the valid values %s"
            % (field, value, ', '.join(sorted(str(a) for a in allowed))))


def check_hex16(err, field, value, allow_empty=False, any_case=False):
    """Exactly 16 hex characters, lower case unless ``any_case``.

    HMC rules D7, J2.
    """
    check_string(err, field, value)
    if allow_empty and value == '':
        return
    if not (HEX16_ANY_CASE_RE if any_case else HEX16_RE).match(value):
        raise err.bad_request(
            errors.INVALID_VALUE,
            "Field '%s': value '%s' must be exactly 16 %shexadecimal "
            "characters" % (field, value, '' if any_case else 'lower-case '))


def check_devno(err, field, value):
    """4 hex digits in the range 0001-FFFF (HMC rules G2, H2).

    Returns the value normalised to lower case.
    """
    check_string(err, field, value)
    if not DEVNO_RE.match(value) or int(value, 16) == 0:
        raise err.bad_request(
            errors.INVALID_VALUE,
            "Field '%s': value '%s' is not a device number (4 hexadecimal "
            "digits in the range 0001-FFFF)" % (field, value))
    return value.lower()


def check_mac(err, field, value):
    check_string(err, field, value)
    if not MAC_RE.match(value):
        raise err.bad_request(
            errors.INVALID_VALUE,
            "Field '%s': value '%s' is not a MAC address in the form "
            "xx:xx:xx:xx:xx:xx (lower-case hex)" % (field, value))


def check_uri_or_none(err, field, value):
    check_string(err, field, value, nullable=True)


def check_fields(err, body, writable, read_only=()):
    """Reject read-only and unknown fields, both with 400,6.

    HMC rule C9 (read-only) and C10 (unsupported field); the reason code
    is IBM's "Common request validation reason codes" (6: a field that is
    not listed as required or optional).
    """
    for field in body:
        if field in read_only and field not in writable:
            raise err.bad_request(
                errors.READ_ONLY,
                "Field '%s' is read-only and cannot be provided as input"
                % field)
        if field not in writable:
            raise err.bad_request(
                errors.UNKNOWN_FIELD,
                "The document defines a field that is not supported: '%s'"
                % field)


def check_required(err, body, fields):
    """HMC rule A2: 400,5 for a missing required field."""
    for field in fields:
        if field not in body:
            raise err.bad_request(
                errors.MISSING_FIELD,
                "Missing required field in request body: %s" % field)


def check_body_is_object(err, body):
    if not isinstance(body, dict):
        raise err.bad_request(
            errors.INVALID_VALUE,
            "The request body is not a JSON object")


# ---------------------------------------------------------------------------
# Partition properties (HMC rules C and D)
# ---------------------------------------------------------------------------

# HMC rule E1
PARTITION_STATUSES = (
    'stopped', 'starting', 'active', 'stopping', 'degraded',
    'reservation-error', 'paused', 'terminated',
    'communications-not-active', 'status-check')

# HMC rule C7
PARTITION_TYPES = ('linux', 'ssc', 'zvm')

# HMC rule C12
PROCESSOR_MODES = ('shared', 'dedicated')

# HMC rule D6
BOOT_DEVICES = ('none', 'storage-adapter', 'storage-volume',
                'network-adapter', 'ftp', 'ftps', 'sftp', 'removable-media',
                'iso-image')


def _bool(err, field, value):
    check_bool(err, field, value)


def _str(max_len=None, nullable=False):
    def check(err, field, value):
        check_string(err, field, value, max_len=max_len, nullable=nullable)
    return check


def _int(lo=None, hi=None):
    def check(err, field, value):
        check_int(err, field, value, lo, hi)
    return check


def _num(lo=None, hi=None):
    def check(err, field, value):
        check_number(err, field, value, lo, hi)
    return check


def _enum(allowed, nullable=False):
    def check(err, field, value):
        check_enum(err, field, value, allowed, nullable)
    return check


def _hex16(err, field, value):
    # '' is how the mock and the HMC show "not set" for these fields.
    check_hex16(err, field, value, allow_empty=True, any_case=True)


def _partition_id(err, field, value):
    # HMC rule C4 [CLIENT]: String (2), a hex number in the range 00-7F.
    check_string(err, field, value)
    if not re.match(r'^[0-9a-fA-F]{2}$', value) or int(value, 16) > 0x7f:
        raise err.bad_request(
            errors.INVALID_VALUE,
            "Field '%s': value '%s' is not a partition ID (2 hex digits, "
            "00-7F)" % (field, value))


def _load_parm(err, field, value):
    check_string(err, field, value)
    if not LOAD_PARM_RE.match(value):
        raise err.bad_request(
            errors.INVALID_VALUE,
            "Field '%s': value '%s' must be at most 8 characters from "
            "0-9 A-Z @ $ # . and blank" % (field, value))


def _acceptable_status(err, field, value):
    if not isinstance(value, list):
        raise err.bad_request(
            errors.INVALID_VALUE,
            "Field '%s': value %r is not the expected type. Expected an "
            "array" % (field, value))
    for item in value:
        check_enum(err, field, item, PARTITION_STATUSES)


def _str_list(err, field, value):
    if not isinstance(value, list) or \
            not all(isinstance(v, str) for v in value):
        raise err.bad_request(
            errors.INVALID_VALUE,
            "Field '%s': value %r is not the expected type. Expected an "
            "array of strings" % (field, value))


def _any(err, field, value):
    pass


# Writable partition properties and the check of their value.  Checks that
# depend on other objects (boot-storage-device, boot-storage-volume,
# boot-network-device, names unique) are done by the partition handlers.
PARTITION_WRITABLE = {
    'name': check_name,
    'description': lambda e, f, v: check_description(e, v),
    'short-name': _str(max_len=8),                         # C4
    'partition-id': _partition_id,                          # C4
    'autogenerate-partition-id': _bool,
    'ifl-processors': _int(lo=1),                           # C1
    'cp-processors': _int(lo=1),                            # C1
    'processor-mode': _enum(PROCESSOR_MODES),               # C12
    'initial-memory': _int(lo=1),                           # C11
    'maximum-memory': _int(lo=1),                           # C11
    'reserve-resources': _bool,
    'boot-device': _enum(BOOT_DEVICES),                     # D6
    'boot-timeout': _int(lo=60, hi=600),                    # C5
    'boot-ftp-host': _str(nullable=True),
    'boot-ftp-username': _str(nullable=True),
    'boot-ftp-password': _str(nullable=True),
    'boot-ftp-insfile': _str(nullable=True),
    'boot-removable-media': _str(nullable=True),
    'boot-removable-media-type': _enum(('usb', 'cdrom'), nullable=True),
    'boot-storage-device': check_uri_or_none,               # D7
    'boot-storage-volume': check_uri_or_none,               # D8
    'boot-network-device': check_uri_or_none,               # D9
    'boot-logical-unit-number': _hex16,                     # D7
    'boot-world-wide-port-name': _hex16,                    # D7
    'boot-os-specific-parameters': _str(max_len=256),       # D3
    'boot-load-parameters': _load_parm,                     # D4
    'boot-configuration-selector': _int(lo=0, hi=30),       # D5
    'boot-record-lba': _any,
    'boot-iso-ins-file': _str(nullable=True),
    'secure-boot': _bool,
    'access-global-performance-data': _bool,
    'permit-cross-partition-commands': _bool,
    'access-basic-counter-set': _bool,
    'access-problem-state-counter-set': _bool,
    'access-crypto-activity-counter-set': _bool,
    'access-extended-counter-set': _bool,
    'access-coprocessor-group-set': _bool,
    'access-basic-sampling': _bool,
    'access-diagnostic-sampling': _bool,
    'permit-des-key-import-functions': _bool,
    'permit-aes-key-import-functions': _bool,
    'permit-ecc-key-import-functions': _bool,
    'initial-ifl-processing-weight': _int(lo=1, hi=999),
    'initial-cp-processing-weight': _int(lo=1, hi=999),
    'minimum-ifl-processing-weight': _int(lo=1, hi=999),
    'minimum-cp-processing-weight': _int(lo=1, hi=999),
    'maximum-ifl-processing-weight': _int(lo=1, hi=999),
    'maximum-cp-processing-weight': _int(lo=1, hi=999),
    'ifl-processing-weight-capped': _bool,
    'cp-processing-weight-capped': _bool,
    'ifl-absolute-processor-capping': _bool,
    'cp-absolute-processor-capping': _bool,
    'ifl-absolute-processor-capping-value': _num(lo=0.01, hi=255.0),
    'cp-absolute-processor-capping-value': _num(lo=0.01, hi=255.0),
    'processor-management-enabled': _bool,
    'acceptable-status': _acceptable_status,
    'ssc-host-name': _str(nullable=True),
    'ssc-ipv4-gateway': _str(nullable=True),
    'ssc-ipv6-gateway': _str(nullable=True),
    'ssc-dns-servers': _str_list,
    'ssc-master-userid': _str(nullable=True),
    'ssc-master-pw': _str(nullable=True),
    'ssc-boot-selection': _enum(('installer', 'appliance')),
}

# Create-only (HMC rule C7): allowed at create, read-only afterwards.
PARTITION_CREATE_ONLY = {
    'type': _enum(PARTITION_TYPES),
}

# HMC rule C8: update-only; giving them at create gives 400,6.  Only the
# fields that zhmc-ansible-modules (zhmc_partition.py,
# ZHMC_PARTITION_PROPERTIES: create False) marks update-only and that
# zhmccli's partition create does not offer either.  Not here, because a
# source says they are accepted at create: boot-configuration-selector,
# boot-record-lba and secure-boot (ansible: create True), acceptable-status,
# the processing weights and capping (zhmccli partition create offers them;
# ansible issue #30).
PARTITION_UPDATE_ONLY = frozenset((
    'boot-storage-device', 'boot-storage-volume', 'boot-network-device',
    'boot-logical-unit-number', 'boot-world-wide-port-name',
    'boot-os-specific-parameters', 'boot-load-parameters',
    'boot-iso-ins-file', 'ssc-boot-selection',
))

# Accepted at create by a real HMC (zhmc-ansible-modules zhmc_partition.py:
# create True) but refused by zhmcclient's mock, so set after the mock has
# created the partition.
PARTITION_CREATE_AFTER = frozenset((
    'boot-configuration-selector', 'boot-record-lba', 'secure-boot',
))

# HMC rule C9: read-only properties.
PARTITION_READ_ONLY = frozenset((
    'object-id', 'object-uri', 'parent', 'class', 'status', 'type',
    'auto-start', 'reserved-memory', 'has-unacceptable-status', 'is-locked',
    'os-name', 'os-type', 'os-version', 'degraded-adapters',
    'current-ifl-processing-weight', 'current-cp-processing-weight',
    'hba-uris', 'nic-uris', 'virtual-function-uris', 'storage-group-uris',
    'tape-link-uris', 'partition-link-uris', 'boot-iso-image-name',
    'threads-per-processor', 'secure-execution', 'available-features-list',
    'crypto-configuration',
))

# HMC rule D1: not updatable while the partition is active.
PARTITION_STOP_ONLY = frozenset((
    'short-name', 'partition-id', 'autogenerate-partition-id',
    'processor-mode', 'maximum-memory', 'permit-des-key-import-functions',
    'permit-aes-key-import-functions',
))

# HBA properties (HMC rules G1-G4).
HBA_CREATE = frozenset(('name', 'description', 'adapter-port-uri',
                        'device-number'))
HBA_WRITABLE = frozenset(('name', 'description', 'device-number'))
HBA_READ_ONLY = frozenset(('element-id', 'element-uri', 'parent', 'class',
                           'wwpn', 'adapter-port-uri'))

# NIC properties (HMC rules H1-H4).
NIC_CREATE = frozenset((
    'name', 'description', 'device-number', 'network-adapter-port-uri',
    'virtual-switch-uri', 'ssc-management-nic', 'ssc-ip-address-type',
    'ssc-ip-address', 'ssc-mask-prefix', 'vlan-id', 'vlan-type',
    'mac-address', 'function-number', 'function-range'))
NIC_WRITABLE = frozenset((
    'name', 'description', 'device-number', 'ssc-management-nic',
    'ssc-ip-address-type', 'ssc-ip-address', 'ssc-mask-prefix', 'vlan-id',
    'vlan-type', 'mac-address', 'function-number', 'function-range'))
NIC_READ_ONLY = frozenset((
    'element-id', 'element-uri', 'parent', 'class', 'type',
    'virtual-switch-uri', 'network-adapter-port-uri'))

# Storage group properties (HMC rules I1, I2).
SG_TYPES = ('fcp', 'fc', 'nvme')
SG_CREATE = frozenset((
    'cpc-uri', 'name', 'description', 'type', 'shared', 'connectivity',
    'max-partitions', 'direct-connection-count', 'storage-volumes',
    'email-to-addresses', 'email-cc-addresses', 'email-insert'))
SG_MODIFY = frozenset((
    'name', 'description', 'shared', 'connectivity', 'max-partitions',
    'direct-connection-count', 'storage-volumes', 'email-to-addresses',
    'email-cc-addresses', 'email-insert'))
SG_READ_ONLY = frozenset((
    'object-id', 'object-uri', 'parent', 'class', 'cpc-uri', 'type',
    'fulfillment-state', 'storage-volume-uris',
    'virtual-storage-resource-uris', 'candidate-adapter-port-uris'))

# Storage volume request-info (HMC rule J1).
SV_USAGES = ('boot', 'data')
SV_FIELDS = frozenset(('operation', 'element-uri', 'name', 'description',
                       'size', 'usage', 'model', 'cylinders',
                       'device-number'))

# VSR properties (HMC rule K4).
VSR_WRITABLE = frozenset(('name', 'description', 'device-number'))
