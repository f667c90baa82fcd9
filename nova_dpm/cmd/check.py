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

"""nova-dpm-check: check a CPC subset's nova.conf against its CPC.

Usage::

    nova-dpm-check --config-file /etc/nova/nova.conf [--config-file ...]
    nova-dpm-check --list --config-file ... [--config-file ...]

With ``--list`` it checks nothing: it logs on with the HMC options of
``[dpm]`` (``cpc_object_id`` and the subset's options may still be
missing) and lists the object-ids the configuration needs, as the HMC shows
them to the user: the CPCs (or only ``cpc_object_id`` when it is set),
and of each CPC in DPM mode its adapters with their ports and the virtual
switch of each network port. See :class:`Lister`.

It reads nova.conf as nova-compute does (``[DEFAULT] host`` names the CPC
subset, ``[dpm]`` describes it), connects to the HMC (or to the simulated
HMC when ``[dpm] hmc_mock_file`` is set, and says so) and prints one row
per check that ``init_host`` makes, each with what it found:

=================  ==========================================================
check              passes when
=================  ==========================================================
configuration      every ``[dpm]`` option is valid (``conf.check``; one
                   row per bad option, all of them in one run)
TLS verification   (info) certificate verification on/off, CA bundle
HMC logon          the HMC answers and accepts the user (or is simulated)
CPC found          the HMC knows ``[dpm] cpc_object_id``
DPM mode           the CPC is in DPM mode
CPC status         the CPC is in a status that allows partition operations
processors         ``max_processors`` <= the CPC's IFLs
dedicated IFLs     (when set) ``max_dedicated_processors`` <= the CPC's
                   IFLs not dedicated to partitions outside the subset
crypto adapters    (when set) each ``physical_crypto_adapters`` entry is a
                   crypto adapter of the CPC
memory             ``max_memory`` <= the CPC's customer memory
storage backend    (info) HBAs or storage groups (dpm-storage-management);
                   WARN for storage groups on an HMC or SE before 2.14.1
                   (no FCP storage discovery on request)
adapter mapping N  entry N of ``physical_storage_adapter_mappings``: the
                   adapter exists on the CPC, is FCP and has the port
init_host          ``CpcSubset.validate()``, the driver's own verdict
virtual switch     (info) each virtual switch of the CPC and its port; on a
                   CPC without virtual switches, each network adapter port
partitions         this subset's partitions can be listed; their count
                   against ``max_instances``
=================  ==========================================================

Each row is PASS, FAIL, WARN (nova-compute starts, but something is likely
wrong), INFO or ``skipped`` (an earlier check it depends on failed). The
exit code is 1 when any check failed, 0 otherwise. The HMC password is
never printed.

The checks of ``CpcSubset.validate()`` are repeated here one by one, with
the same facts and the same limits, so that every problem is reported and
not only the first; the ``init_host`` row then runs ``validate()`` itself,
so the tool can never pass a subset that nova-compute would refuse.
"""

import logging
import sys

from nova.conf import netconf
from oslo_config import cfg
import zhmcclient

from nova_dpm import capabilities
from nova_dpm import conf as dpm_conf
from nova_dpm import contract
from nova_dpm import crypto
from nova_dpm import exception
from nova_dpm import hmc
from nova_dpm import inventory
from nova_dpm import partition
from nova_dpm import subset

PASS = 'PASS'
FAIL = 'FAIL'
WARN = 'WARN'
INFO = 'INFO'
SKIPPED = 'skipped'

NAME_WIDTH = 20
RESULT_WIDTH = 7
MASK = '***'


class Failed(Exception):
    """A check found a problem; the message says what and where."""


class Row(object):

    def __init__(self, check, result, detail):
        self.check = check
        self.result = result
        self.detail = detail


class Report(object):
    """The rows of the table, and the runner that fills them."""

    def __init__(self):
        self.rows = []

    def add(self, check, result, detail):
        self.rows.append(Row(check, result, detail))
        return result

    def skip(self, check, reason):
        return self.add(check, SKIPPED, reason)

    def run(self, check, func, *args):
        """Run one check; True unless it failed.

        ``func`` returns the detail (the check passed), or a
        ``(result, detail)`` pair, or ``(result, detail, rows)`` with
        ``(check, result, detail)`` rows to show below it; it raises
        :class:`Failed` (or any nova-dpm or zhmcclient error) when the
        check fails.
        """
        try:
            outcome = func(*args)
        except Failed as exc:
            return self.add(check, FAIL, str(exc)) != FAIL
        except exception.DPMError as exc:
            return self.add(check, FAIL, exc.format_message()) != FAIL
        except zhmcclient.Error as exc:
            return self.add(check, FAIL,
                            hmc.describe_error(exc)) != FAIL
        except Exception as exc:
            # A diagnostic tool reports what broke instead of a traceback.
            return self.add(check, FAIL, 'unexpected error: %s: %s' %
                            (type(exc).__name__, exc)) != FAIL
        if not isinstance(outcome, tuple):
            outcome = (PASS, outcome)
        result, detail, more = (outcome + ((),))[:3]
        self.add(check, result, detail)
        for row in more:
            self.add(*row)
        return result != FAIL

    def count(self, result):
        return sum(1 for row in self.rows if row.result == result)

    @property
    def failed(self):
        return self.count(FAIL) > 0


class Checker(object):
    """The checks of one CPC subset, in the order init_host makes them."""

    def __init__(self, conf, host):
        self.conf = conf
        self.host = host
        self.report = Report()
        self.settings = None
        self.hmc = None
        self.cpc = None

    # -- running ---------------------------------------------------------

    def run(self):
        report = self.report
        if not report.run('configuration', self.check_configuration):
            self.skip_rest('configuration failed', connection=True)
            return report
        report.run('TLS verification', self.check_tls)
        if not report.run('HMC logon', self.check_logon):
            self.skip_rest('no HMC connection')
            return report
        if not report.run('CPC found', self.check_cpc_found):
            self._skip_cpc('the CPC was not found')
            report.run('init_host', self.check_init_host)
            self._skip_dpm('the CPC was not found')
            return report
        dpm = report.run('DPM mode', self.check_dpm_mode)
        report.run('CPC status', self.check_status)
        report.run('processors', self.check_processors)
        if self.settings.max_dedicated_processors:
            report.run('dedicated IFLs', self.check_dedicated)
        if self.settings.physical_crypto_adapters:
            report.run('crypto adapters', self.check_crypto)
        report.run('memory', self.check_memory)
        report.run('storage backend', self.check_storage_backend)
        mappings = self.settings.physical_storage_adapter_mappings
        if not mappings:
            report.add('adapter mapping', WARN,
                       'no [dpm] physical_storage_adapter_mappings: '
                       'instances cannot boot (nova-dpm boots partitions '
                       'only from Fibre Channel volumes)')
        for index, mapping in enumerate(mappings, 1):
            name = 'adapter mapping %d' % index
            if dpm:
                report.run(name, self.check_mapping, mapping)
            else:
                report.skip(name, 'entry %s: the CPC is not in DPM mode' %
                            ('%s:%d' % mapping))
        report.run('init_host', self.check_init_host)
        if dpm:
            report.run('virtual switch', self.check_vswitches)
            report.run('partitions', self.check_partitions)
        else:
            self._skip_dpm('the CPC is not in DPM mode')
        return report

    def skip_rest(self, reason, connection=False):
        if connection:
            self.report.skip('TLS verification', reason)
            self.report.skip('HMC logon', reason)
        self.report.skip('CPC found', reason)
        self._skip_cpc(reason)
        self.report.skip('init_host', reason)
        self._skip_dpm(reason)

    def _skip_cpc(self, reason):
        for check in ('DPM mode', 'CPC status', 'processors', 'memory',
                      'storage backend'):
            self.report.skip(check, reason)
        if self.settings is None:
            self.report.skip('adapter mapping', reason)
            return
        mappings = self.settings.physical_storage_adapter_mappings
        for index, mapping in enumerate(mappings, 1):
            self.report.skip('adapter mapping %d' % index,
                             'entry %s: %s' % ('%s:%d' % mapping, reason))

    def _skip_dpm(self, reason):
        self.report.skip('virtual switch', reason)
        self.report.skip('partitions', reason)

    # -- configuration and connection ---------------------------------------

    def check_configuration(self):
        values, problems = dpm_conf.check(self.conf)
        if problems:
            # Every bad option, one row each, so that one run shows them all.
            rows = [('configuration', FAIL, exc.format_message())
                    for exc in problems[1:]]
            return FAIL, problems[0].format_message(), rows
        s = self.settings = dpm_conf.Settings(**values)
        if s.hmc_mock_file:
            where = 'simulated HMC %s' % s.hmc_mock_file
        else:
            where = 'HMC %s port %d as user %s' % (
                ', '.join(s.hmc), s.hmc_port, s.hmc_username)
        return ('[dpm] options valid: %s; CPC %s; max_processors %d, '
                'max_memory %d MiB, max_instances %s, %d storage path(s)' %
                (where, s.cpc_object_id, s.max_processors or 0, s.max_memory,
                 s.max_instances or 'unlimited',
                 len(s.physical_storage_adapter_mappings)))

    def check_tls(self):
        s = self.settings
        if s.hmc_mock_file:
            return INFO, 'not applicable: simulated HMC'
        if not s.hmc_verify_cert:
            return WARN, ('off ([dpm] hmc_verify_cert = false): the HMC '
                          'certificate is not verified, so the connection '
                          'and the HMC password can be intercepted')
        if s.hmc_ca_bundle:
            return 'on, CA bundle %s' % s.hmc_ca_bundle
        return ("on, CA bundle: the Python requests library's (certifi, or "
                "the file named by REQUESTS_CA_BUNDLE)")

    def check_logon(self):
        s = self.settings
        self.hmc = hmc.HMC(s)
        if self.hmc.simulated:
            try:
                self.hmc.session  # noqa: B018 (loads the definition)
            except Exception as exc:
                raise Failed('[dpm] hmc_mock_file %s cannot be loaded: %s'
                             % (s.hmc_mock_file, exc))
        self.hmc.logon(attempts=1)
        version = self.hmc.query_version()
        api = self.api_version = self.hmc.capabilities.api_version
        # The CPC's SE is not known yet: the HMC's part of the VLAN gate.
        short = [need for kind, need, _have in
                 self.hmc.capabilities.shortfalls(capabilities.VLAN)
                 if kind == 'API']
        about = 'HMC %s version %s, API version %d.%d (NICs with a VLAN ' \
            'id %s)' % (version.get('hmc-name'), version.get('hmc-version'),
                        api[0], api[1],
                        'need API %s' % short[0] if short else 'supported')
        if self.hmc.simulated:
            return ('simulated HMC from [dpm] hmc_mock_file %s (no real '
                    'HMC contacted): %s' % (s.hmc_mock_file, about))
        return 'logged on to %s as user %s: %s' % (
            self.hmc.session.actual_host, s.hmc_username, about)

    # -- the CPC ---------------------------------------------------------

    # The CPC checks are the driver's own (CpcSubset), run one at a time.

    def _subset_check(self, check, *args):
        try:
            return check(*args)
        except exception.CpcSubsetInvalid as exc:
            raise Failed('[dpm] %s: %s' % (exc.kwargs['option'],
                                           exc.kwargs['reason']))

    def check_cpc_found(self):
        self.subset = subset.CpcSubset(self.hmc, self.settings,
                                       self.host)
        self.cpc = self._subset_check(self.subset.find_cpc)
        if self.hmc.capabilities.api_version is not None:
            self.hmc.adopt_cpc(self.cpc)
        prop = self.cpc.get_property
        return '%s (%s): machine type %s model %s, SE version %s' % (
            prop('name'), self.settings.cpc_object_id, prop('machine-type'),
            prop('machine-model'), prop('se-version'))

    @property
    def cpc_name(self):
        return self.cpc.get_property('name')

    def check_dpm_mode(self):
        return self._subset_check(self.subset.check_dpm_mode, self.cpc)

    def check_status(self):
        return self._subset_check(self.subset.check_status, self.cpc)

    def check_processors(self):
        return self._subset_check(self.subset.check_processors, self.cpc)

    def check_memory(self):
        return self._subset_check(self.subset.check_memory, self.cpc)

    def check_dedicated(self):
        return self._subset_check(self.subset.check_dedicated_processors,
                                  self.cpc)

    def check_crypto(self):
        checker = crypto.Crypto(self.hmc, self.subset, self.settings)
        adapters = self._subset_check(checker.validate, self.cpc)
        return '[dpm] physical_crypto_adapters: %s' % ', '.join(
            '%s (%s)' % (a.name, a.get_property('crypto-type'))
            for a in adapters)

    def check_storage_backend(self):
        feature = subset.STORAGE_MANAGEMENT_FEATURE
        if self.subset.has_storage_management(self.cpc):
            se = self.cpc.get_property('se-version')
            api = getattr(self, 'api_version', None)
            if not self.hmc.capabilities.can(capabilities.FCP_DISCOVERY):
                args = (feature, '%d.%d' % tuple(api) if api else '?',
                        se) + capabilities.GATES[
                            capabilities.FCP_DISCOVERY].api
                return WARN, (
                    'storage groups: the %s feature is on, but this HMC '
                    '(API %s) or SE (%s) cannot start FCP storage '
                    'discovery (it needs HMC 2.14.1, API %d.%d, and SE '
                    '2.14.1): a build waits for the HMC\'s periodic check '
                    'of its storage group (up to 10 minutes); raise [dpm] '
                    'hmc_operation_timeout accordingly' % args)
            return INFO, ('storage groups: the %s feature is on' % feature)
        return INFO, 'HBAs: the %s feature is off or absent' % feature

    def check_mapping(self, mapping):
        adapter, _port = self._subset_check(self.subset.check_adapter_port,
                                            self.cpc, mapping)
        return 'entry %s:%d: adapter %s (type fcp, adapter-id %s), port %d' % (
            mapping.adapter_id, mapping.port, adapter.get_property('name'),
            adapter.get_property('adapter-id'), mapping.port)

    def check_init_host(self):
        candidate = subset.CpcSubset(self.hmc, self.settings, self.host)
        try:
            candidate.validate()
        except exception.DPMError as exc:
            raise Failed('nova-compute would refuse to start: %s' %
                         exc.format_message())
        return ('CpcSubset.validate() accepts CPC subset %s: nova-compute '
                'would start with %s and %d storage path(s)' %
                (self.host, 'storage groups' if candidate.storage_management
                 else 'HBAs', len(candidate.adapter_ports)))

    # -- information -------------------------------------------------------

    def check_vswitches(self):
        with hmc.translated('list adapters', self.cpc_name):
            adapters = {a.uri: a.name for a in self.cpc.adapters.list()}
        vswitches = inventory.Inventory(self.hmc, self.cpc).vswitches()
        if not vswitches:
            return self.adapter_ports()
        rows = []
        for uri in sorted(vswitches, key=lambda u: vswitches[u].get('name')):
            prop = vswitches[uri].get
            backing = prop('backing-adapter-uri')
            rows.append(('virtual switch', INFO, (
                '%s (%s): adapter %s port %s, type %s' % (
                    prop('name'), uri.rsplit('/', 1)[1],
                    adapters.get(backing, backing), prop('port'),
                    prop('type')))))
        return INFO, '%d virtual switch(es) on CPC %s:' % (
            len(vswitches), self.cpc_name), rows

    def adapter_ports(self):
        """The network adapter ports, for ports bound as dpm_adapter."""
        with hmc.translated('list adapters', self.cpc_name):
            adapters = self.cpc.adapters.list(full_properties=True)
        rows = []
        for adapter in sorted(adapters, key=lambda a: a.name):
            family = adapter.get_property('adapter-family')
            if family not in contract.ADAPTER_NIC_TYPES:
                continue
            with hmc.translated('list adapter ports', adapter.name):
                ports = adapter.ports.list(full_properties=True)
            for port in sorted(ports, key=lambda p: p.get_property('index')):
                rows.append(('adapter port', INFO, (
                    '%s (%s) port %s, family %s' % (
                        adapter.name, adapter.get_property('object-id'),
                        port.get_property('index'), family))))
        detail = ('CPC %s has no virtual switches: ports are bound as %s '
                  '(adapter object-id and port index); %d network adapter '
                  'port(s):' % (self.cpc_name, contract.VIF_TYPE_ADAPTER,
                                len(rows)))
        return INFO, detail, rows

    def check_partitions(self):
        partitions = partition.Partitions(
            self.hmc, self.cpc, self.host, self.settings)
        processors, memory = partitions.usage()
        statuses = partitions.statuses(max_age=float('inf'))
        rows = [('partition', INFO, '%s: %s' % (
            partitions.naming.name(uuid), statuses[uuid]))
            for uuid in sorted(statuses)]
        limit = self.settings.max_instances
        detail = ('%d partition(s) of CPC subset %s (named %s<instance '
                  'uuid>), %s; they use %d IFL(s), %d MiB' % (
                      len(statuses), self.host, partitions.naming.prefix,
                      'of at most %d ([dpm] max_instances)' % limit
                      if limit is not None else
                      'no [dpm] max_instances limit', processors, memory))
        if limit is not None and len(statuses) > limit:
            return WARN, detail + (': more than max_instances, every spawn '
                                   'is refused'), rows
        return PASS, detail, rows


# -- --list ----------------------------------------------------------------

LIST_OPT = cfg.BoolOpt(
    'list', default=False,
    help='List the object-ids of the CPCs, adapters, adapter ports and '
         'virtual switches that the HMC user can see (the values of '
         '[dpm] cpc_object_id, physical_storage_adapter_mappings and the '
         'DPM agent\'s physical_network_adapter_mappings), instead of '
         'checking the subset.')

# What --list needs: the connection to the HMC, not the subset.
LIST_OPTIONS = tuple(name for name in dpm_conf.HMC_OPTION_NAMES
                     if name != 'cpc_object_id')


class Lister(object):
    """The objects of the CPCs that the HMC user can see.

    Requests: the CPC listing (or the one CPC), and per CPC in DPM mode
    the adapter and virtual switch listings and one read of the adapters
    and ports (Submit Requests where the HMC has it, else one GET each).
    """

    def __init__(self, hmc, cpc_object_id=None):
        self.hmc = hmc
        self.cpc_object_id = cpc_object_id

    def lines(self):
        if self.cpc_object_id:
            cpc = self.hmc.cpc(self.cpc_object_id)
            if cpc is None:
                return ['CPC %s: not shown by the HMC (no such CPC, or the '
                        'user lacks object access to it)' %
                        self.cpc_object_id]
            cpcs = [cpc]
        else:
            with hmc.translated('list CPCs', 'HMC'):
                cpcs = self.hmc.client.cpcs.list()
        lines = []
        for cpc in sorted(cpcs, key=lambda c: c.name):
            lines += self.cpc_lines(cpc)
        return lines or ['no CPC: the HMC shows this user no CPC']

    def cpc_lines(self, cpc):
        prop = cpc.get_property
        oid = cpc.uri.rsplit('/', 1)[1]
        if not prop('dpm-enabled'):
            return ['CPC %s (%s): not in DPM mode, not usable by nova-dpm' %
                    (cpc.name, oid)]
        lines = ['CPC %s (%s): DPM mode, status %s, SE %s, machine type '
                 '%s' % (cpc.name, oid, prop('status'), prop('se-version'),
                         prop('machine-type'))]
        vswitches = self.vswitches(cpc)
        with hmc.translated('list adapters', cpc.name):
            uris = [a.uri for a in cpc.adapters.list()]
        adapters = self.read(uris)
        for uri in sorted(adapters, key=lambda u: adapters[u].get('name')):
            lines += self.adapter_lines(uri, adapters[uri], vswitches)
        return lines

    def adapter_lines(self, uri, props, vswitches):
        lines = ['  adapter %s (%s): type %s, family %s, adapter-id %s' % (
            props.get('name'), uri.rsplit('/', 1)[1], props.get('type'),
            props.get('adapter-family'), props.get('adapter-id'))]
        port_uris = (props.get('storage-port-uris') or []) + \
            (props.get('network-port-uris') or [])
        ports = self.read(port_uris)
        for port in sorted(ports.values(), key=lambda p: p.get('index')):
            line = '    port %s (%s)' % (port.get('index'), port.get('name'))
            vswitch = vswitches.get((uri, int(port.get('index') or 0)))
            if vswitch and port.get('class') == 'network-port':
                line += ': virtual switch %s (%s)' % vswitch
            lines.append(line)
        return lines

    def vswitches(self, cpc):
        """{(adapter URI, port): (name, object-id)} of the CPC."""
        found = inventory.Inventory(self.hmc, cpc).vswitches_by_port()
        return {key: (props.get('name'), uri.rsplit('/', 1)[1])
                for key, (uri, props) in found.items()}

    def read(self, uris):
        """{uri: properties} of the objects still there."""
        if not uris:
            return {}
        with hmc.translated('read', 'objects'):
            answers = self.hmc.get_many(uris)
        return {uri: props for uri, props in answers.items() if props}


def list_objects(conf, out, secret=None):
    """``--list``: the exit code (1 when the HMC cannot be read)."""
    def write(line):
        if secret:
            line = line.replace(secret, MASK)
        out.write(line.rstrip() + '\n')

    values, problems = dpm_conf.check(conf)
    problems = [exc for exc in problems
                if exc.kwargs['option'] in LIST_OPTIONS]
    for exc in problems:
        write('FAIL: %s' % exc.format_message())
    if problems:
        return 1
    settings = dpm_conf.Settings(**values)
    if settings.hmc_mock_file:
        write('nova-dpm-check --list: objects of the SIMULATED HMC (%s)' %
              settings.hmc_mock_file)
    else:
        write('nova-dpm-check --list: objects that HMC %s shows user %s' %
              (', '.join(settings.hmc), settings.hmc_username))
    connection = hmc.HMC(settings)
    try:
        connection.logon(attempts=1)
        connection.api_version()
        lines = Lister(connection, values['cpc_object_id']).lines()
    except exception.DPMError as exc:
        write('FAIL: %s' % exc.format_message())
        return 1
    except zhmcclient.Error as exc:
        write('FAIL: %s' % hmc.describe_error(exc))
        return 1
    except Exception as exc:
        # A diagnostic tool reports what broke instead of a traceback.
        write('FAIL: unexpected error: %s: %s' % (type(exc).__name__, exc))
        return 1
    finally:
        connection.logoff()
    for line in lines:
        write(line)
    return 0


def print_table(report, out, header=(), secret=None):
    """Print the header lines, the table and the verdict.

    Every line goes through ``write``, which masks ``secret`` (the HMC
    password): it is never formatted into a line, and would be masked if
    an error message quoted it.
    """
    def write(line):
        if secret:
            line = line.replace(secret, MASK)
        out.write(line.rstrip() + '\n')

    for line in header:
        write(line)
    if header:
        write('')
    row_format = '%%-%ds %%-%ds %%s' % (NAME_WIDTH, RESULT_WIDTH)
    write(row_format % ('CHECK', 'RESULT', 'DETAILS'))
    write(row_format % ('-' * NAME_WIDTH, '-' * RESULT_WIDTH, '-' * 7))
    for row in report.rows:
        write(row_format % (row.check, row.result, row.detail))
    counts = ', '.join('%d %s' % (report.count(r), r.lower()) for r in
                       (PASS, FAIL, WARN, INFO, SKIPPED) if report.count(r))
    write('')
    if report.failed:
        write('FAILED (%s): nova-compute cannot serve this CPC subset as '
              'configured.' % counts)
    else:
        write('OK (%s).' % counts)


def load_conf(argv):
    """A fresh ConfigOpts with [DEFAULT] host and [dpm], parsed from argv.

    Fresh, rather than nova's global CONF: nothing is left behind, and the
    options of other services in nova.conf are ignored.
    """
    conf = cfg.ConfigOpts()
    netconf.register_opts(conf)
    dpm_conf.register_opts(conf)
    conf.register_cli_opt(LIST_OPT)
    conf(argv, project='nova', prog='nova-dpm-check',
         description='Check the CPC subset of a nova-compute with the '
                     'nova-dpm driver against its CPC, as init_host does.')
    return conf


def _password(conf):
    try:
        return conf.dpm.hmc_password
    except cfg.Error:
        return None


def main(argv=None):
    """The console script; returns the exit code (1 if a check failed)."""
    argv = sys.argv[1:] if argv is None else argv
    out = sys.stdout
    # Warnings (simulated HMC, TLS off) to stderr; no-op if already set up.
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format='%(levelname)s %(name)s: %(message)s')
    try:
        conf = load_conf(argv)
    except cfg.Error as exc:
        checker = Checker(None, None)
        checker.report.add('configuration', FAIL, str(exc))
        checker.skip_rest('configuration failed', connection=True)
        print_table(checker.report, out)
        return 1
    secret = _password(conf)
    secret = secret if secret and len(secret) >= 4 else None
    if conf.list:
        return list_objects(conf, out, secret)
    header = ['nova-dpm-check: CPC subset %s ([DEFAULT] host); '
              'configuration files: %s' %
              (conf.host, ', '.join(conf.config_file) or '(none found)')]
    if conf.dpm.hmc_mock_file:
        header.append('*** [dpm] hmc_mock_file is set: checking a '
                      'SIMULATED HMC (%s), not a real one ***' %
                      conf.dpm.hmc_mock_file)
    checker = Checker(conf, conf.host)
    checker.run()
    if checker.hmc is not None:
        checker.hmc.logoff()
    print_table(checker.report, out, header, secret)
    return 1 if checker.report.failed else 0


if __name__ == '__main__':
    sys.exit(main())
