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

"""nova-dpm-demo: one server's life on a simulated IBM Z, end to end.

The demo starts, inside this one process, the OpenStack services a server
needs: the Nova API, conductor, scheduler, placement and a nova-compute
whose virt driver is nova-dpm (``compute_driver = dpm.DPMDriver``). Cinder
and Neutron are stand-ins that serve Fibre Channel volumes and ports bound
to OSA virtual switches. nova-dpm manages a *simulated* HMC built from a
definition shipped with nova-dpm: no real machine is touched and nothing
needs to be configured.

By default the simulated HMC is served over HTTPS on 127.0.0.1
(``nova_dpm.simulator.server.HmcServer``, with a CA and a server
certificate generated for the run), and nova-dpm is configured as for a
real HMC: ``[dpm] hmc``, ``hmc_port``, ``hmc_username``, ``hmc_password``,
``hmc_verify_cert = true`` and ``hmc_ca_bundle`` = the generated CA, so a
real zhmcclient session logs on and verifies the certificate. With
``--in-process`` nova-dpm uses ``[dpm] hmc_mock_file`` instead: the
simulator inside nova-compute, without HTTP.

It then boots a server from a volume through the Nova API, prints what the
HMC holds for it, stops, starts, reboots and deletes it, and prints for
every step the HMC requests that nova-dpm made. Every step is checked: the
command exits 0 when all of them did what they should, 1 otherwise (with
the reason), 2 when the environment cannot run the demo.

The in-process cloud is the simulator extra's
(``nova_dpm.simulator.cloud.nova_cloud``), on which the functional tests
run too.
"""

import argparse
import collections
import logging
import os
import secrets
import sys
import time
import traceback
import unittest

from nova_dpm import version

#: What the HMC requests nova-dpm makes are for, by accounting pattern.
REQUEST_PURPOSE = {
    ('GET', '/api/cpcs/{id}'): 'read the CPC',
    ('GET', '/api/adapters/{id}'): 'read a mapped FCP adapter',
    ('POST', '/api/services/aggregation/submit'):
        'read several objects in one request',
    ('GET', '/api/cpcs/{id}/partitions'):
        "list the subset's partitions",
    ('POST', '/api/cpcs/{id}/partitions'): 'create the partition',
    ('GET', '/api/partitions/{id}'): "read the partition's properties",
    ('POST', '/api/partitions/{id}'): 'set the boot properties',
    ('DELETE', '/api/partitions/{id}'): 'delete the partition',
    ('POST', '/api/partitions/{id}/operations/start'):
        'start the partition (asynchronous job)',
    ('POST', '/api/partitions/{id}/operations/stop'):
        'stop the partition (asynchronous job)',
    ('POST', '/api/partitions/{id}/operations/send-os-cmd'):
        'ask the operating system to shut down',
    ('GET', '/api/partitions/{id}/operations/list-os-messages'):
        "read the console: did the guest take the command?",
    ('GET', '/api/jobs/{id}'): 'poll the job',
    ('DELETE', '/api/jobs/{id}'): 'delete the finished job',
    ('POST', '/api/partitions/{id}/hbas'): 'create a virtual HBA',
    ('GET', '/api/partitions/{id}/hbas/{id}'): "read an HBA's WWPN",
    ('POST', '/api/partitions/{id}/nics'): 'create a NIC',
    ('GET', '/api/virtual-switches/{id}'):
        "read a virtual switch's OSA port",
    ('GET', '/api/storage-groups'): "find the instance's storage group",
    ('POST', '/api/storage-groups'): 'create the storage group',
    ('GET', '/api/storage-groups/{id}'): 'read the storage group',
    ('POST', '/api/storage-groups/{id}/operations/add-candidate-adapter-'
     'ports'): 'add the mapped FCP ports to the group',
    ('POST', '/api/partitions/{id}/operations/attach-storage-group'):
        'attach the storage group to the partition',
    ('POST', '/api/partitions/{id}/operations/detach-storage-group'):
        'detach the storage group',
    ('GET', '/api/storage-groups/{id}/virtual-storage-resources'):
        'list the virtual storage resources (WWPNs)',
    ('GET', '/api/storage-groups/{id}/virtual-storage-resources/{id}'):
        'read a virtual storage resource (WWPN)',
    ('POST', '/api/storage-groups/{id}/operations/modify'):
        'define a storage volume in the group',
    ('GET', '/api/storage-groups/{id}/storage-volumes'):
        "list the group's storage volumes",
    ('POST', '/api/storage-groups/{id}/storage-volumes/{id}/operations/'
     'fulfill-fcp-storage-volume'):
        'tell the HMC where the boot volume is (target WWPN, LUN)',
    ('POST', '/api/storage-groups/{id}/operations/'
     'start-fcp-storage-discovery'):
        'let the HMC find the paths Cinder mapped (FCP storage discovery)',
    ('POST', '/api/storage-groups/{id}/operations/delete'):
        'delete the storage group',
}


class Report(object):
    """The demo's output: plain text, one flush per line."""

    WIDTH = 78
    PURPOSE_COLUMN = 56

    def __init__(self, stream):
        self.stream = stream

    def line(self, text=''):
        self.stream.write(text + '\n')
        self.stream.flush()

    def title(self, text):
        self.line(text)
        self.line('=' * min(len(text), self.WIDTH))

    def heading(self, text):
        self.line()
        self.line(text)
        self.line('-' * min(len(text), self.WIDTH))

    def field(self, name, value, indent=2, width=16):
        self.line('%s%-*s %s' % (' ' * indent, width, name, value))

    def requests(self, requests, elapsed):
        """Summarise the (method, pattern) pairs of one step."""
        counts = collections.Counter(requests)
        by_method = collections.Counter(m for m, _p in requests)
        methods = ', '.join('%s %d' % kv for kv in sorted(by_method.items()))
        self.line('  %d HMC requests in %.2f s (%s), in the order nova-dpm '
                  'first made them:' % (len(requests), elapsed, methods))
        seen = []
        for request in requests:
            if request not in seen:
                seen.append(request)
        for method, pattern in seen:
            purpose = REQUEST_PURPOSE.get((method, pattern), '')
            text = '    %3d x %-6s %s' % (
                counts[(method, pattern)], method, pattern)
            if not purpose:
                self.line(text)
            elif len(text) <= self.PURPOSE_COLUMN - 2:
                self.line('%-*s %s' % (self.PURPOSE_COLUMN - 1, text,
                                       purpose))
            else:
                self.line(text)
                self.line('%*s %s' % (self.PURPOSE_COLUMN - 1, '', purpose))


def _parse_args(argv):
    parser = argparse.ArgumentParser(
        prog='nova-dpm-demo',
        description='Boot, stop, start, reboot and delete a server through '
                    'the Nova API on a simulated IBM Z HMC, in one process, '
                    'and show what nova-dpm does on the HMC at each step.')
    parser.add_argument(
        '--hmc', choices=('z16', 'z13'), default='z16',
        help='simulated machine: z16 (DPM storage management: a storage '
             'group per server; the default) or z13 (virtual HBAs)')
    parser.add_argument(
        '--in-process', action='store_true',
        help='reach the simulated HMC inside nova-compute ([dpm] '
             'hmc_mock_file) instead of over HTTPS on 127.0.0.1 with a real '
             'zhmcclient session and a verified certificate (the default)')
    parser.add_argument(
        '-v', '--verbose', action='store_true',
        help="also print the services' log (INFO and above) on stderr; by "
             "default only nova-dpm's warnings and errors are shown")
    return parser.parse_args(argv)


class _QuietLog(logging.Filter):
    """Without --verbose: nova-dpm's warnings, everybody's errors.

    The other services warn about things that are normal for a cloud that
    was started a second ago (no compute node record yet, policy defaults,
    an optional cache backend that is not installed); they are left out.
    """

    def filter(self, record):
        if record.name.startswith('nova_dpm'):
            return record.levelno >= logging.WARNING
        if record.name.startswith('stevedore'):
            return False
        return record.levelno >= logging.ERROR


class _ShortFormatter(logging.Formatter):
    """One line per record: no traceback (--verbose shows them)."""

    MAX = 160

    def format(self, record):
        message = (record.getMessage().strip().splitlines() or [''])[0]
        if len(message) > self.MAX:
            message = message[:self.MAX - 3] + '...'
        return '  [log] %s %s: %s' % (record.levelname, record.name, message)


def _log_handler(verbose):
    """The demo's one log handler, on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    if verbose:
        handler.setFormatter(logging.Formatter(
            '  [log] %(levelname)s %(name)s: %(message)s'))
        handler.setLevel(logging.INFO)
    else:
        handler.setFormatter(_ShortFormatter())
        handler.setLevel(logging.WARNING)
        handler.addFilter(_QuietLog())
    return handler


def _use_only(handler):
    """Make ``handler`` the root logger's only handler.

    Importing nova's test base sets up oslo.log on stderr at INFO; the
    demo keeps its own output readable instead.
    """
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)


def _demo_case(cloud, args, report, handler):
    """The demo as a case of the functional tests' in-process cloud."""

    class Demo(cloud.DPMCloudTestCase):
        HMC_DEFINITION = args.hmc
        HMC_TRANSPORT = cloud.IN_PROCESS if args.in_process else cloud.HTTPS
        HMC_USERID = 'nova-dpm-demo'
        # A new password for every run; it is never printed.
        HMC_PASSWORD = secrets.token_urlsafe(16)
        error = None
        agent = None

        def _configure_logging(self):
            # nova's log capture has just replaced the root handlers.
            root = logging.getLogger()
            root.addHandler(handler)
            self.addCleanup(root.removeHandler, handler)

        def setUp(self):
            started = time.monotonic()
            try:
                super().setUp()
                self.agent = _start_agent(self, cloud)
            except Exception as exc:
                self.error = exc
                raise
            self.setup_time = time.monotonic() - started

        def test_demo(self):
            try:
                _Walkthrough(self, cloud, report).run()
            except Exception as exc:
                self.error = exc
                raise

    return Demo('test_demo')


def _start_agent(case, cloud):
    """The DPM agent beside nova-compute, if nova-dpm[neutron] is there.

    It maps the Neutron fixture's physical network to port 0 of OSA-1, so
    the dpm mechanism driver binds ports to that port's virtual switch;
    nova-dpm then waits for network-vif-plugged before it starts the
    partition. Without the neutron extra the demo's ports are bound by
    the stand-in alone (None).
    """
    from nova_dpm.simulator import catalog
    try:
        from nova_dpm.simulator.cloud import neutron_agent
        with neutron_agent.eventlet_importable():
            import neutron  # noqa: F401
    except ImportError:
        return None
    physnet = cloud.DPMNeutronFixture.dpm_network['provider:physical_network']
    agent = case.useFixture(neutron_agent.DPMAgentFixture(
        case, ['%s:%s:0' % (physnet, catalog.OSA)], polling_interval=1))
    case.flags(vif_plugging_timeout=60, vif_plugging_is_fatal=True)
    return agent


class _Walkthrough(object):
    """The steps of the demo, printed and checked."""

    def __init__(self, case, cloud, report):
        self.case = case
        self.cloud = cloud
        self.out = report
        self.hmc = case.hmc
        self.sim = case.simulator

    def run(self):
        case, out = self.case, self.out
        out.line('Started in %.1f s: Nova API, conductor, scheduler, '
                 'placement and nova-compute' % case.setup_time)
        out.line('with compute_driver = dpm.DPMDriver, [DEFAULT] host = %s.'
                 % self.cloud.HOST)
        if case.agent is not None:
            out.line('Beside it, the DPM agent (neutron-dpm-agent, with its '
                     'own HMC session) reports')
            out.line("the ports whose NICs it sees on the HMC to an "
                     "in-process neutron-server stand-in.")
        self.show_settings()
        self.show_subset()
        server = self.boot()
        self.show_partition(server)
        self.show_address(server)
        server = self.power('Step 2: stop the server', server,
                            case.stop, 'SHUTOFF', 'stopped')
        server = self.power('Step 3: start the server', server,
                            case.start, 'ACTIVE', 'active')
        server = self.power('Step 4: reboot the server (soft)', server,
                            case.reboot, 'ACTIVE', 'active')
        self.delete(server)
        case.assertForeignPartitionsUntouched()
        out.line()
        out.line('The partitions OpenStack does not manage (%s) were not '
                 'touched.' % ', '.join(sorted(case.foreign_at_start)))
        self.show_sessions()

    def timed(self, action, *args, **kwargs):
        self.sim.reset_counts()
        started = time.monotonic()
        result = action(*args, **kwargs)
        return result, time.monotonic() - started, self.sim.requests

    # -- the connection ------------------------------------------------

    def show_settings(self):
        # nova is imported once the demo has chosen its threading mode.
        from nova import conf as nova_conf
        case, out = self.case, self.out
        dpm = nova_conf.CONF.dpm
        out.heading('[dpm] settings of nova-compute')
        if case.hmc_server is None:
            out.field('hmc_mock_file', '%s (the simulated HMC runs inside '
                      'nova-compute; no HTTP, no logon)' % dpm.hmc_mock_file)
            case.assertTrue(case.driver.hmc.simulated)
            return
        server = case.hmc_server
        session = case.driver.hmc.session
        out.field('hmc', ', '.join(dpm.hmc))
        out.field('hmc_port', '%d (the simulated HMC on %s)' % (
            dpm.hmc_port, server.url))
        out.field('hmc_username', dpm.hmc_username)
        out.field('hmc_password', '(set, generated for this run; never '
                  'printed or logged)')
        out.field('hmc_verify_cert', '%s: the HMC certificate is verified '
                  'against' % str(dpm.hmc_verify_cert).lower())
        out.field('hmc_ca_bundle', '%s,' % dpm.hmc_ca_bundle)
        out.line('  %-16s the CA generated for this run, which signed the '
                 'certificate' % '')
        out.line('  %-16s of 127.0.0.1 and localhost' % '')
        out.field('hmc_mock_file', '(unset: a real zhmcclient session over '
                  'HTTPS)')
        out.line('  -> logged on to %s as %s; TLS verified: %s' % (
            session.actual_host, dpm.hmc_username,
            'yes' if session.verify_cert == server.ca_file else 'NO'))
        case.assertFalse(case.driver.hmc.simulated)
        case.assertTrue(dpm.hmc_verify_cert)
        case.assertEqual(server.ca_file, session.verify_cert)
        # nova-compute's one logon, and the DPM agent's own where it runs.
        case.assertEqual(1 if case.agent is None else 2, server.logons)
        self.logons = server.logons

    def show_sessions(self):
        server = self.case.hmc_server
        if server is None:
            return
        agent = ' (nova-compute and the DPM agent)' \
            if self.case.agent is not None else ''
        self.out.line('HMC sessions: %d logon(s) at startup%s, %d during '
                      'the steps; TLS connections: %d.' % (
                          self.logons, agent, server.logons - self.logons,
                          server.connections))

    # -- before ------------------------------------------------------------

    def show_subset(self):
        case, out = self.case, self.out
        cpc = self.hmc.cpc()
        out.heading('The simulated machine and the CPC subset')
        out.field('CPC', '%s: IBM %s model %s, SE %s, DPM mode, %d IFLs, '
                  '%d MiB' % (cpc['name'], cpc['machine-type'],
                              cpc['machine-model'], cpc['se-version'],
                              cpc['processor-count-ifl'],
                              cpc['storage-customer']))
        feature = case.driver.subset.storage_management
        out.field('storage', 'DPM storage management %s: %s' % (
            'on' if feature else 'off',
            'a storage group per server' if feature else
            'virtual HBAs in each partition'))
        inventory = case._get_provider_inventory(case.provider_uuid())
        out.field('placement', 'VCPU %d (allocation ratio %.1f), MEMORY_MB '
                  '%d; no DISK_GB (servers boot from volumes)' % (
                      inventory['VCPU']['total'],
                      inventory['VCPU']['allocation_ratio'],
                      inventory['MEMORY_MB']['total']))
        case.assertEqual(['MEMORY_MB', 'VCPU'], sorted(inventory))
        foreign = []
        for name, snap in sorted(case.foreign_at_start.items()):
            foreign.append('%s (%s)' % (name, snap['properties']['status']))
        out.field('partitions', 'already on the CPC, not OpenStack\'s: %s'
                  % ', '.join(foreign))

    # -- boot --------------------------------------------------------------

    def boot(self):
        case, out, cloud = self.case, self.out, self.cloud
        volume = case.new_volume_id(1)
        if case.agent is not None:
            # The first port as Neutron binds it with the DPM agent.
            ports = [case.agent.bound_port()] + case.create_ports(
                cloud.VSWITCH_1)
        else:
            ports = case.create_ports()
        self.volume, self.ports = volume, ports
        out.heading('Step 1: boot a server from a volume')
        out.line('  POST /servers: flavor %d vCPUs / %d MiB, boot volume %s '
                 '(Fibre Channel),' % (case.FLAVOR_VCPUS, case.FLAVOR_RAM,
                                       volume))
        out.line('  ports %s on virtual switch %s and %s on %s' % (
            ports[0]['mac_address'], cloud.VSWITCH_0,
            ports[1]['mac_address'], cloud.VSWITCH_1))
        if case.agent is not None:
            self.show_binding(ports[0])
        server, elapsed, requests = self.timed(
            case.boot, name='demo-server', volume_id=volume, ports=ports)
        out.line('  -> server %s is %s on host %s' % (
            server['id'], server['status'],
            server['OS-EXT-SRV-ATTR:host']))
        out.requests(requests, elapsed)
        case.assertEqual('ACTIVE', server['status'])
        if case.agent is not None:
            self.show_port_active(server, ports[0])
        return server

    def show_binding(self, port):
        case, out = self.case, self.out
        details = port['binding:vif_details']
        out.line('  port %s: bound by the dpm mechanism driver for the DPM '
                 'agent of' % port['id'])
        out.line('    host %s: vif_type %s, object_id %s; status %s' % (
            port['binding:host_id'], port['binding:vif_type'],
            details['object_id'], port['status']))
        case.assertEqual('dpm_vswitch', port['binding:vif_type'])
        case.assertEqual(self.cloud.VSWITCH_0, details['object_id'])
        case.assertEqual('DOWN', port['status'])

    def show_port_active(self, server, port):
        case, out = self.case, self.out
        case.assertTrue(case.agent.wait_for_status(port['id'], 'ACTIVE'))
        events = [(e['name'], e['server_uuid'], e['tag'], e['code'])
                  for e in case.agent.events]
        case.assertIn(('network-vif-plugged', server['id'], port['id'], 200),
                      events)
        out.line('  port %s is %s: the DPM agent saw its NIC on the HMC and '
                 'reported it up;' % (port['id'],
                                      case.neutron._ports[port['id']][
                                          'status']))
        out.line('    Nova got network-vif-plugged (HTTP 200) and nova-dpm '
                 'started the partition after it.')

    def show_partition(self, server):
        case, out, cloud, hmc = self.case, self.out, self.cloud, self.hmc
        part = hmc.partition_of(server['id'])
        case.assertIsNotNone(part, 'the HMC has no partition %s' %
                             cloud.partition_name(server['id']))
        out.heading('What the HMC holds for the server now')
        out.field('partition', '%s (status %s)' % (
            part['name'], part['status']))
        out.field('description', part['description'], indent=4, width=14)
        out.field('processors', '%d shared IFLs' % part['ifl-processors'],
                  indent=4, width=14)
        out.field('memory', '%d MiB (initial), %d MiB (maximum)' % (
            part['initial-memory'], part['maximum-memory']),
            indent=4, width=14)
        case.assertEqual(
            ('active', case.FLAVOR_VCPUS, case.FLAVOR_RAM, case.FLAVOR_RAM),
            (part['status'], part['ifl-processors'],
             part['initial-memory'], part['maximum-memory']))

        if case.driver.subset.storage_management:
            wwpns = self.show_storage_group(part)
        else:
            wwpns = self.show_hbas(part)
        connector = case.cinder.connector_of(self.volume)
        out.line('    Cinder was asked to map the volume to exactly these '
                 'WWPNs: %s' % ('yes' if connector['wwpns'] == wwpns
                                else 'NO: %s' % connector['wwpns']))
        case.assertEqual(wwpns, connector['wwpns'])

        nics = hmc.nics(part['name'])
        out.line('  NICs')
        for nic in nics:
            vswitch = hmc.resource(nic['virtual-switch-uri'])
            out.line('    device %s  %s  on %s (OSA port %d)' % (
                nic['device-number'], nic['name'], vswitch['name'],
                vswitch['port']))
            out.line('                 %s' % nic['description'])
        case.assertEqual(['0001', '0004'],
                         [n['device-number'] for n in nics])

        params = part['boot-os-specific-parameters']
        out.line('  Boot')
        out.field('boot-device', part['boot-device'], indent=4, width=28)
        if part['boot-device'] == 'storage-volume':
            out.field('boot-storage-volume', part['boot-storage-volume'],
                      indent=4, width=28)
            out.line('      = storage volume %s' % hmc.resource(
                part['boot-storage-volume'])['name'])
        else:
            out.field('boot-storage-device', part['boot-storage-device'],
                      indent=4, width=28)
            out.line('      = virtual HBA %s' % hmc.resource(
                part['boot-storage-device'])['name'])
            out.field('boot-world-wide-port-name',
                      part['boot-world-wide-port-name'], indent=4, width=28)
            out.field('boot-logical-unit-number',
                      part['boot-logical-unit-number'], indent=4, width=28)
        out.field('boot-os-specific-parameters', repr(params), indent=4,
                  width=28)
        for entry in filter(None, params.split(';')):
            devno, port, mac = entry.split(',')
            out.line('      = NIC %s on OSA port %s, MAC %s' % (
                devno, port, ':'.join(mac[i:i + 2] for i in range(0, 12, 2))))
        expected = ''.join('%s,%d,%s;' % (
            devno, hmc.virtual_switch(vswitch)['port'],
            port['mac_address'].replace(':', ''))
            for devno, vswitch, port in zip(
                ('0001', '0004'), (cloud.VSWITCH_0, cloud.VSWITCH_1),
                self.ports))
        case.assertEqual(expected, params)

    def show_address(self, server):
        """How the guest gets its address and its network data."""
        from nova import context as nova_context
        from nova import objects
        from nova.virt import netutils
        case, out = self.case, self.out
        neutron = self.cloud.DPMNeutronFixture
        subnet, dhcp = neutron.dpm_subnet, neutron.dhcp_port
        instance = objects.Instance.get_by_uuid(
            nova_context.get_admin_context(), server['id'],
            expected_attrs=['info_cache'])
        data = netutils.get_network_metadata(
            instance.info_cache.network_info)
        out.heading('How the server gets its address')
        for port in self.ports:
            out.line('  port %s: MAC %s, fixed IP %s' % (
                port['id'], port['mac_address'],
                port['fixed_ips'][0]['ip_address']))
        out.line('  subnet %s %s, enable_dhcp %s, DHCP port %s (device_'
                 'owner %s,' % (subnet['name'], subnet['cidr'],
                                str(subnet['enable_dhcp']).lower(),
                                dhcp['fixed_ips'][0]['ip_address'],
                                dhcp['device_owner']))
        out.line('    host %s, vif_type %s): in a cloud, the DHCP agent on '
                 'the network node' % (dhcp['binding:host_id'],
                                       dhcp['binding:vif_type']))
        out.line("    answers each port's MAC with its fixed IP. The "
                 "stand-in only holds this port: no")
        out.line('    DHCP server and no metadata service run in the demo.')
        out.line("  network_data.json that Nova's metadata service would "
                 "serve (nova.virt.netutils")
        out.line('  .get_network_metadata of the server\'s network info), '
                 'which cloud-init reads:')
        links = {link['id']: link for link in data['links']}
        for network in data['networks']:
            link = links[network['link']]
            out.line('    %s: type %s, link %s (MAC %s)' % (
                network['id'], network['type'], link['id'],
                link['ethernet_mac_address']))
        case.assertEqual(len(self.ports), len(links))
        case.assertEqual([p['mac_address'] for p in self.ports],
                         [links[n['link']]['ethernet_mac_address']
                          for n in data['networks']])
        case.assertEqual({'ipv4_dhcp'},
                         {n['type'] for n in data['networks']})
        addresses = [a['addr'] for net in server['addresses'].values()
                     for a in net]
        case.assertEqual(sorted(p['fixed_ips'][0]['ip_address']
                                for p in self.ports), sorted(addresses))

    def show_storage_group(self, part):
        case, out, cloud, hmc = self.case, self.out, self.cloud, self.hmc
        group = hmc.storage_group(part['name'])
        case.assertIsNotNone(group, 'the HMC has no storage group %s' %
                             part['name'])
        out.line('  Storage group %s' % group['name'])
        out.field('group', '%s, %s, connectivity %d, fulfillment %s, '
                  'attached: %s' % (
                      group['type'],
                      'shared' if group['shared'] else 'not shared',
                      group['connectivity'], group['fulfillment-state'],
                      'yes' if group['object-uri'] in
                      part['storage-group-uris'] else 'NO'),
                  indent=4, width=8)
        by_port = {}
        for vsr in hmc.virtual_storage_resources(group['name']):
            by_port[vsr['adapter-port-uri']] = vsr
        wwpns = []
        for n, port_uri in enumerate(cloud.STORAGE_PORTS, 1):
            vsr = by_port.get(port_uri)
            case.assertIsNotNone(vsr, 'no storage path on %s' % port_uri)
            wwpns.append(vsr['world-wide-port-name'])
            out.field('path %d' % n, 'WWPN %s on %s (device %s)' % (
                vsr['world-wide-port-name'], hmc.port_label(port_uri),
                vsr['device-number']), indent=4, width=8)
        for volume in hmc.storage_volumes(group['name']):
            target = hmc.volume_target(volume['element-uri']) or {}
            out.field('volume', '%s: usage %s, %s, target WWPN %s, LUN %s '
                      'via %s' % (
                          volume['name'], volume['usage'],
                          volume['fulfillment-state'], target.get('wwpn'),
                          target.get('lun'),
                          target.get('adapter-port-uri') and
                          hmc.port_label(target['adapter-port-uri'])),
                      indent=4, width=8)
            case.assertEqual(
                (self.volume, 'boot', 'complete', cloud.TARGET_WWPNS[0]),
                (volume['name'], volume['usage'],
                 volume['fulfillment-state'], target.get('wwpn')))
        case.assertEqual('complete', group['fulfillment-state'])
        return wwpns

    def show_hbas(self, part):
        case, out, cloud, hmc = self.case, self.out, self.cloud, self.hmc
        hbas = hmc.hbas(part['name'])
        out.line('  Virtual HBAs')
        for hba in hbas:
            out.line('    %s  WWPN %s on %s (device %s)' % (
                hba['name'], hba['wwpn'],
                hmc.port_label(hba['adapter-port-uri']),
                hba['device-number']))
        case.assertEqual(list(cloud.STORAGE_PORTS),
                         [h['adapter-port-uri'] for h in hbas])
        return [h['wwpn'] for h in hbas]

    # -- power and delete ------------------------------------------------

    def power(self, title, server, action, status, hmc_status):
        case, out = self.case, self.out
        out.heading(title)
        server, elapsed, requests = self.timed(action, server)
        part = self.hmc.partition_of(server['id'])
        out.line('  -> server %s, partition %s' % (server['status'],
                                                   part['status']))
        out.requests(requests, elapsed)
        case.assertEqual((status, hmc_status),
                         (server['status'], part['status']))
        return server

    def delete(self, server):
        case, out, cloud = self.case, self.out, self.cloud
        out.heading('Step 5: delete the server')
        _none, elapsed, requests = self.timed(case.delete, server)
        name = cloud.partition_name(server['id'])
        gone = name not in self.hmc.partition_names()
        group_gone = name not in self.hmc.storage_group_names()
        out.line('  -> server deleted; partition %s, storage group %s' % (
            'deleted' if gone else 'STILL THERE',
            'deleted' if group_gone else 'STILL THERE'))
        out.requests(requests, elapsed)
        case.assertNothingOnHmc(server['id'])
        case.assertEqual([], self.hmc.openstack_partition_names())


def _one_line(exc):
    text = str(exc).strip() or type(exc).__name__
    return text if isinstance(exc, AssertionError) else '%s: %s' % (
        type(exc).__name__, text)


def main(argv=None):
    args = _parse_args(sys.argv[1:] if argv is None else argv)
    # nova-compute 34 runs on native threads; the demo does too.
    os.environ.setdefault('OS_NOVA_DISABLE_EVENTLET_PATCHING', '1')
    report = Report(sys.stdout)
    started = time.monotonic()
    try:
        from nova_dpm.simulator.cloud import nova_cloud as cloud
    except ImportError as exc:
        sys.stderr.write(
            'nova-dpm-demo: cannot start the in-process cloud: %s\n'
            'It needs the simulator extra of nova-dpm (nova\'s functional '
            'test fixtures, openstack-placement, wsgi-intercept):\n'
            '    pip install \'nova-dpm[simulator]\'\n' % exc)
        return 2

    report.title('nova-dpm %s demo: a server on a simulated IBM %s' % (
        version.version_string(), args.hmc))
    report.line('Nothing here touches a real machine: nova-dpm talks to a '
                'simulated HMC')
    if args.in_process:
        report.line('([dpm] hmc_mock_file = %s), Cinder and Neutron are '
                    'in-process stand-ins.' % args.hmc)
    else:
        report.line('(%s) served over HTTPS on 127.0.0.1, through a real '
                    'zhmcclient session' % args.hmc)
        report.line('with TLS verified; Cinder and Neutron are in-process '
                    'stand-ins.')
    report.line()

    handler = _log_handler(args.verbose)
    _use_only(handler)
    case = _demo_case(cloud, args, report, handler)
    result = unittest.TestResult()
    case.run(result)
    elapsed = time.monotonic() - started
    report.line()
    if case.error is not None:
        if args.verbose:
            traceback.print_exception(case.error, file=sys.stderr)
        report.line('FAILED after %.1f s: %s' % (
            elapsed, _one_line(case.error)))
        if not args.verbose:
            report.line("(run with --verbose for the traceback and the "
                        "services' log)")
        return 1
    if not result.wasSuccessful() or result.testsRun != 1:
        # Something failed outside the steps (in a cleanup, say).
        problems = result.errors + result.failures
        last = [x for x in (problems[0][1] if problems else '').splitlines()
                if x.strip()]
        report.line('FAILED after %.1f s: %s' % (
            elapsed, last[-1].strip() if last else 'the demo did not run'))
        if args.verbose and problems:
            sys.stderr.write(problems[0][1] + '\n')
        return 1
    report.line('Done in %.1f s: every step did what it should.' % elapsed)
    return 0


if __name__ == '__main__':
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        traceback.print_exc()
        sys.exit(130)
