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

"""Flavor extra specs: what a flavor asks of its partition's processors.

``hw:cpu_policy`` (nova's, from the flavor or the image) chooses the
partition's ``processor-mode``: ``dedicated`` gives the partition dedicated
IFLs (counted as ``PCPU`` in placement), ``shared`` or unset shared IFLs
(``VCPU``); ``mixed`` is refused. Extra specs in the ``dpm:`` namespace
tune shared IFLs:

``dpm:processing_weight``
    ``initial-ifl-processing-weight``: an integer from 1 to 999.
``dpm:absolute_capping``
    ``ifl-absolute-processor-capping`` on, with this
    ``ifl-absolute-processor-capping-value``: a number of processors from
    0.01 to 255 in hundredths (for example ``1.5``).

Two more ask for crypto (see nova_dpm.crypto):

``dpm:crypto_domains``
    the number of crypto domains (1 to 85) the partition gets for usage
    on the subset's crypto adapters (``[dpm] physical_crypto_adapters``).
``dpm:crypto_adapter_type``
    only the adapters of that ``crypto-type``: ``accelerator``,
    ``cca-coprocessor`` or ``ep11-coprocessor``.

Any other ``dpm:`` extra spec is refused, so that a misspelt one does not
go unnoticed. Everything here is read from the instance's flavor and image
properties, without the HMC. :func:`register` gives nova-api the same
names and ranges (entry point ``nova.api.extra_spec_validators``), so that
where nova-dpm is installed beside nova-api, a bad value is refused when
the flavor is defined (compute API microversion 2.86 and later).
"""

import decimal

from nova import exception as nova_exception
from nova.objects import fields as obj_fields
from nova.virt import hardware

from nova_dpm import exception

NAMESPACE = 'dpm:'
PROCESSING_WEIGHT = 'dpm:processing_weight'
ABSOLUTE_CAPPING = 'dpm:absolute_capping'
CRYPTO_DOMAINS = 'dpm:crypto_domains'
CRYPTO_ADAPTER_TYPE = 'dpm:crypto_adapter_type'
# The crypto-type of a Crypto Express adapter (IBM's Adapter data model).
CRYPTO_TYPES = ('accelerator', 'cca-coprocessor', 'ep11-coprocessor')
# A Crypto Express adapter has one domain per partition the CPC can have:
# 85 on the largest machines (zhmcclient Cpc.maximum_active_partitions).
CRYPTO_DOMAINS_MAX = 85
# HMC partition properties (IBM's Partition data model; the simulator's
# validation.py enforces the same ranges).
WEIGHT_MIN, WEIGHT_MAX = 1, 999
CAPPING_MIN, CAPPING_MAX = decimal.Decimal('0.01'), decimal.Decimal('255')

# What a partition with shared IFLs has when neither weight nor capping is
# given (the defaults of IBM's Partition data model, as zhmc-ansible-
# modules' partition module lists them).
SHARED_DEFAULTS = {'initial-ifl-processing-weight': 100,
                   'ifl-absolute-processor-capping': False}

DEDICATED = obj_fields.CPUAllocationPolicy.DEDICATED
SHARED = obj_fields.CPUAllocationPolicy.SHARED


# The messages are short: nova keeps 255 characters of a fault, and the
# start of it names the instance twice.
class InvalidExtraSpec(exception.DPMError):
    msg_fmt = 'flavor extra spec %(spec)s=%(value)r: expected %(expected)s'


class UnknownExtraSpec(exception.DPMError):
    msg_fmt = 'unknown extra spec %(spec)s (known: %(known)s)'


class FlavorRefused(exception.DPMError):
    msg_fmt = '%(reason)s'


def _weight(value):
    text = str(value).strip()
    if not text.isdigit() or not WEIGHT_MIN <= int(text) <= WEIGHT_MAX:
        raise ValueError()
    return int(text)


def _count(value):
    text = str(value).strip()
    if not text.isdigit() or not 1 <= int(text) <= CRYPTO_DOMAINS_MAX:
        raise ValueError()
    return int(text)


def _crypto_type(value):
    if value not in CRYPTO_TYPES:
        raise ValueError()
    return value


def _capping(value):
    try:
        number = decimal.Decimal(str(value).strip())
    except decimal.InvalidOperation:
        raise ValueError()
    if not number.is_finite() or number != number.quantize(
            decimal.Decimal('0.01')):
        raise ValueError()
    if not CAPPING_MIN <= number <= CAPPING_MAX:
        raise ValueError()
    return float(number)


# extra spec -> (parser raising ValueError, what is expected)
SPECS = {
    PROCESSING_WEIGHT: (
        _weight, 'an integer from %d to %d' % (WEIGHT_MIN, WEIGHT_MAX)),
    ABSOLUTE_CAPPING: (
        _capping, 'a number of processors from 0.01 to 255 in hundredths '
                  '(for example 1.5)'),
    CRYPTO_DOMAINS: (
        _count, 'a number of crypto domains from 1 to %d' %
                CRYPTO_DOMAINS_MAX),
    CRYPTO_ADAPTER_TYPE: (
        _crypto_type, 'one of %s' % ', '.join(CRYPTO_TYPES)),
}


def read(flavor):
    """{extra spec: parsed value} of the flavor's ``dpm:`` extra specs.

    Raises InvalidExtraSpec naming the first bad or unknown one.
    """
    found = {}
    for name, value in sorted((flavor.extra_specs or {}).items()):
        if not name.startswith(NAMESPACE):
            continue
        if name not in SPECS:
            raise UnknownExtraSpec(spec=name, known=', '.join(
                sorted(n[len(NAMESPACE):] for n in SPECS)))
        parse, expected = SPECS[name]
        try:
            found[name] = parse(value)
        except ValueError:
            raise InvalidExtraSpec(spec=name, value=value, expected=expected)
    return found


def cpu_policy(instance, flavor=None):
    """'dedicated' or 'shared', as nova reads hw:cpu_policy.

    ``flavor``: the instance's flavor unless given (another of its
    flavors during a resize).
    """
    try:
        policy = hardware.get_cpu_policy_constraint(
            flavor or instance.flavor, instance.image_meta)
    except nova_exception.NovaException as exc:
        raise FlavorRefused(reason=exc.format_message())
    if policy not in (None, SHARED, DEDICATED):
        raise FlavorRefused(
            reason="hw:cpu_policy=%s: a partition's IFLs are all shared or "
                   "all dedicated (expected shared or dedicated)" % policy)
    return policy or SHARED


def processor_properties(instance, settings, flavor=None):
    """The partition's processor properties, from flavor and image.

    ``flavor``: the instance's flavor unless given. Raises
    InvalidExtraSpec or FlavorRefused (both DPMError) when the flavor asks
    for what the partition or this CPC subset cannot give.
    """
    flavor = flavor or instance.flavor
    specs = read(flavor)
    policy = cpu_policy(instance, flavor)
    tuning = [n for n in (PROCESSING_WEIGHT, ABSOLUTE_CAPPING) if n in specs]
    if policy == DEDICATED:
        if tuning:
            raise FlavorRefused(
                reason='flavor extra spec %s applies to shared IFLs only; '
                       'hw:cpu_policy=dedicated asks for dedicated ones' %
                       tuning[0])
        if not settings.max_dedicated_processors:
            raise FlavorRefused(
                reason='hw:cpu_policy=dedicated: the CPC subset offers no '
                       'dedicated IFLs ([dpm] max_dedicated_processors)')
        return {'processor-mode': 'dedicated'}
    if not settings.max_processors:
        raise FlavorRefused(
            reason='the flavor asks for shared IFLs; the CPC subset '
                   'offers dedicated ones only ([dpm] max_processors)')
    props = {'processor-mode': 'shared'}
    if PROCESSING_WEIGHT in specs:
        props['initial-ifl-processing-weight'] = specs[PROCESSING_WEIGHT]
    if ABSOLUTE_CAPPING in specs:
        props['ifl-absolute-processor-capping'] = True
        props['ifl-absolute-processor-capping-value'] = \
            specs[ABSOLUTE_CAPPING]
    return props


def shape_properties(instance, settings, flavor=None):
    """processor_properties, with what shared IFLs have by default.

    A flavor that sets no weight or capping gets the HMC's defaults
    (SHARED_DEFAULTS), so that a resize replaces what the old flavor set.
    """
    props = processor_properties(instance, settings, flavor)
    if props['processor-mode'] == SHARED:
        for name, value in SHARED_DEFAULTS.items():
            props.setdefault(name, value)
    return props


def register():
    """nova-api's validators of the ``dpm:`` extra specs."""
    from nova.api.validation.extra_specs import base

    def spec(name, description, **value):
        return base.ExtraSpecValidator(name=name, description=description,
                                       value=value)
    return [
        spec(PROCESSING_WEIGHT, 'Initial processing weight of the shared '
             'IFLs of the partition.', type=int, min=WEIGHT_MIN,
             max=WEIGHT_MAX),
        spec(ABSOLUTE_CAPPING, 'Absolute capping of the shared IFLs of '
             'the partition, in processors (0.01 to 255).', type=str,
             pattern=r'[0-9]{1,3}(\.[0-9]{1,2})?'),
        spec(CRYPTO_DOMAINS, 'Crypto domains the partition gets for usage '
             'on the crypto adapters of the CPC subset.', type=int, min=1,
             max=CRYPTO_DOMAINS_MAX),
        spec(CRYPTO_ADAPTER_TYPE, 'Crypto type of the crypto adapters the '
             'partition gets.', type=str, enum=CRYPTO_TYPES),
    ]


def check(instance, settings, *more):
    """Refuse a flavor this subset cannot give a partition, without the HMC.

    ``more``: further checks of the instance (raising DPMError). Raises
    nova's InstanceUnacceptable naming the extra spec; nova fails the build
    with it (no reschedule: every subset would refuse alike).
    """
    try:
        processor_properties(instance, settings)
        for more_check in more:
            more_check(instance)
    except exception.DPMError as exc:
        raise nova_exception.InstanceUnacceptable(
            instance_id=instance.uuid, reason=exc.format_message())
