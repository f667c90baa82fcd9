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

"""Resize, cold migration and evacuation through the openstack CLI.

On the cloud of nova_dpm.tests.cloud.base (one for the test run): two CPC
subsets of the simulated CPC, each with shared and dedicated IFLs and both
crypto adapters, the second with less memory (realcloud/config.py). Every
server boots from a volume without NICs. After each step what Nova
reports is compared with what the simulated HMC holds: the partitions of
the server on each subset, their processors, processor mode, memory,
status and crypto domains, and the WWPNs of their storage groups, which
are the hosts the simulated SAN maps the boot volume to. Each test leaves
the cloud as it found it, also after a failure case.
"""

import zhmcclient

from nova_dpm.simulator import catalog
from nova_dpm.simulator.realcloud import config
from nova_dpm.tests.cloud import base

A, B = base.SUBSETS
START = '/api/partitions/{id}/operations/start'
# Flavors: name, vcpus, MiB, extra specs.
SMALL = (base.FLAVOR, 1, 1024, ())
MEDIUM = ('dpm.medium', 2, 2048, ())
# More memory than the second subset has (config.SUBSET_MEMORY); the first
# has room for it.
LARGE = ('dpm.large', 1, config.SUBSET_MEMORY[1] * 2, ())
DEDICATED = ('dpm.dedicated', config.DEDICATED_IFLS, 1024,
             ('hw:cpu_policy=dedicated',))
CRYPTO = ('dpm.crypto', 1, 1024, ('dpm:crypto_domains=2',))
# Every domain of a Crypto Express adapter; a foreign partition uses one.
ALL_DOMAINS = ('dpm.crypto-all', 1, 1024, ('dpm:crypto_domains=85',))


class MoveTest(base.CloudTestCase):
    """Resize, migrate, evacuate; dedicated IFLs and crypto; failures."""

    # -- what the HMC holds of a server --------------------------------------

    def partitions(self, server_id):
        """{subset: properties} of the server's partitions on the HMC.

        With 'wwpns': the WWPNs of the partition's storage group.
        """
        session = self.hmc_session()
        try:
            client = zhmcclient.Client(session)
            cpc = client.cpcs.list()[0]
            groups = client.consoles.console.storage_groups
            found = {}
            for subset in base.SUBSETS:
                name = 'OpenStack-%s-%s' % (subset, server_id)
                parts = cpc.partitions.list(full_properties=True,
                                            filter_args={'name': name})
                if not parts:
                    continue
                props = dict(parts[0].properties)
                props['wwpns'] = sorted(
                    v.get_property('world-wide-port-name')
                    for g in groups.list(filter_args={'name': name})
                    for v in g.virtual_storage_resources.list(
                        full_properties=True))
                found[subset] = props
            return found
        finally:
            session.logoff()

    def shape(self, part):
        return (part['processor-mode'], part['ifl-processors'],
                part['initial-memory'], part['maximum-memory'])

    def crypto_domains(self, part):
        crypto = part.get('crypto-configuration') or {}
        return (sorted(crypto.get('crypto-adapter-uris') or []),
                sorted(d['domain-index'] for d in
                       crypto.get('crypto-domain-configurations') or []))

    def mapped_to(self, volume_id):
        """The WWPNs the simulated SAN maps the volume to."""
        return sorted(self.san_volumes()[volume_id]['hosts'])

    def assertOnlyOn(self, server_id, subset, volume_id, status='active'):
        """The server's one partition is on subset; the volume goes there.

        Returns the partition's properties.
        """
        parts = self.partitions(server_id)
        self.assertEqual([subset], sorted(parts))
        part = parts[subset]
        self.assertEqual(status, part['status'])
        self.assertEqual(2, len(part['wwpns']))
        self.assertEqual(part['wwpns'], self.mapped_to(volume_id))
        return part

    # -- Nova ----------------------------------------------------------------

    def make_flavor(self, flavor):
        name, vcpus, ram, properties = flavor
        return self.flavor(name, vcpus, ram, properties)

    def boot_one(self, name, flavor=SMALL, subset=A):
        """A server without NICs on subset, ACTIVE; (server, volume)."""
        server, volume, _ports = self.boot(name, subset, [],
                                           self.make_flavor(flavor))
        self.assertActiveOn(server, subset, [])
        return server, volume

    def settled(self, server_id, statuses):
        return self.wait_for(
            'server %s in %s' % (server_id, ', '.join(statuses)),
            lambda: self.openstack('server', 'show', server_id),
            lambda s: s['status'] in statuses and not s.get(
                'OS-EXT-STS:task_state'))

    def verify_resize(self, server_id, subset):
        server = self.server_status(server_id, 'VERIFY_RESIZE')
        self.assertEqual(subset, server['OS-EXT-SRV-ATTR:host'])
        return server

    def resize(self, server_id, flavor, subset):
        self.openstack('server', 'resize', '--flavor',
                       self.make_flavor(flavor), server_id, parse=False)
        return self.verify_resize(server_id, subset)

    def migrate(self, server_id, subset):
        self.openstack('server', 'migrate', '--host', subset, server_id,
                       parse=False)
        return self.verify_resize(server_id, subset)

    def finish(self, server_id, action, subset):
        """Confirm or revert the resize; the server ACTIVE on subset."""
        self.openstack('server', 'resize', action, server_id, parse=False)
        server = self.server_status(server_id, 'ACTIVE')
        self.assertEqual(subset, server['OS-EXT-SRV-ATTR:host'])
        return server

    def action_events(self, server_id, action):
        """The events of the server's last action of that kind."""
        actions = [a for a in self.openstack('server', 'event', 'list',
                                             server_id)
                   if a['Action'] == action]
        return self.openstack('server', 'event', 'show', server_id,
                              actions[0]['Request ID'])['events']

    def disable(self, subset):
        """The subset's nova-compute disabled until the test ends."""
        self.openstack('compute', 'service', 'set', '--disable', subset,
                       'nova-compute', parse=False)
        self.addCleanup(self.openstack, 'compute', 'service', 'set',
                        '--enable', subset, 'nova-compute', parse=False)

    def remove(self, server_id, volume_id):
        """Delete the server; its volume available, mapped to nobody."""
        self.delete_server(server_id)
        self.volume_status(volume_id, 'available')
        self.assertEqual([], self.mapped_to(volume_id))
        self.assertHmcHoldsNothingOfOpenStack()

    def hmc_faults(self, method='GET', body=None):
        return self.simulator_call(method, '/simulated-hmc/faults', body)

    # -- resize and cold migration -------------------------------------------

    def test_resize_up_and_down_on_one_subset(self):
        # The other subset disabled: the scheduler keeps the server here.
        self.disable(B)
        server, volume = self.boot_one('resize-here')
        before = self.assertOnlyOn(server['id'], A, volume['id'])
        self.assertEqual(('shared', 1, 1024, 1024), self.shape(before))

        self.resize(server['id'], MEDIUM, A)
        bigger = self.assertOnlyOn(server['id'], A, volume['id'])
        # The same partition, sized in place, with the same storage.
        self.assertEqual(before['object-uri'], bigger['object-uri'])
        self.assertEqual(('shared', 2, 2048, 2048), self.shape(bigger))
        self.assertEqual(before['wwpns'], bigger['wwpns'])
        self.finish(server['id'], 'confirm', A)

        self.resize(server['id'], SMALL, A)
        smaller = self.assertOnlyOn(server['id'], A, volume['id'])
        self.assertEqual(('shared', 1, 1024, 1024), self.shape(smaller))
        self.finish(server['id'], 'revert', A)
        back = self.assertOnlyOn(server['id'], A, volume['id'])
        self.assertEqual((before['object-uri'], ('shared', 2, 2048, 2048)),
                         (back['object-uri'], self.shape(back)))
        self.assertIn('dpm.medium', str(self.openstack(
            'server', 'show', server['id'])['flavor']))
        self.remove(server['id'], volume['id'])

    def test_cold_migrate_crypto_server_confirm_and_revert(self):
        server, volume = self.boot_one('migrate-crypto', CRYPTO)
        source = self.assertOnlyOn(server['id'], A, volume['id'])
        adapters, domains = self.crypto_domains(source)
        self.assertEqual(sorted('/api/adapters/%s' % a
                                for a in catalog.CRYPTO_ADAPTERS), adapters)
        self.assertEqual(2, len(domains))

        self.migrate(server['id'], B)
        parts = self.partitions(server['id'])
        # The source partition stays, stopped, until the move is confirmed;
        # the volume goes to the destination's WWPNs.
        self.assertEqual([A, B], sorted(parts))
        self.assertEqual((source['object-uri'], 'stopped'),
                         (parts[A]['object-uri'], parts[A]['status']))
        self.assertEqual('active', parts[B]['status'])
        self.assertEqual(parts[B]['wwpns'], self.mapped_to(volume['id']))
        self.assertNotEqual(parts[A]['wwpns'], parts[B]['wwpns'])
        moved = self.crypto_domains(parts[B])
        self.assertEqual((adapters, 2), (moved[0], len(moved[1])))
        self.assertFalse(set(domains) & set(moved[1]))
        self.finish(server['id'], 'confirm', B)
        dest = self.assertOnlyOn(server['id'], B, volume['id'])
        self.assertEqual(moved, self.crypto_domains(dest))

        # A move back, reverted: the server on B exactly as it was.
        self.migrate(server['id'], A)
        self.assertEqual([A, B], sorted(self.partitions(server['id'])))
        self.finish(server['id'], 'revert', B)
        back = self.assertOnlyOn(server['id'], B, volume['id'])
        self.assertEqual(
            (dest['object-uri'], dest['wwpns'], moved),
            (back['object-uri'], back['wwpns'], self.crypto_domains(back)))
        self.remove(server['id'], volume['id'])

    # -- evacuation ----------------------------------------------------------

    def test_evacuate_dedicated_server_after_forced_down(self):
        server, volume = self.boot_one('evacuate-dedicated', DEDICATED)
        source = self.assertOnlyOn(server['id'], A, volume['id'])
        self.assertEqual(('dedicated', config.DEDICATED_IFLS, 1024, 1024),
                         self.shape(source))
        # The operator fences the subset: its partition stopped on the
        # HMC, its service forced down.
        self.stop_partition(source['object-uri'])
        self.openstack('compute', 'service', 'set', '--down', A,
                       'nova-compute', parse=False)
        self.addCleanup(self.openstack, 'compute', 'service', 'set', '--up',
                        A, 'nova-compute', parse=False)
        self.openstack('server', 'evacuate', '--host', B, server['id'])
        evacuated = self.settled(server['id'], ('ACTIVE', 'SHUTOFF'))
        self.assertEqual(B, evacuated['OS-EXT-SRV-ATTR:host'])
        if evacuated['status'] == 'SHUTOFF':
            self.openstack('server', 'start', server['id'], parse=False)
            self.server_status(server['id'], 'ACTIVE')
        parts = self.partitions(server['id'])
        self.assertEqual(('dedicated', config.DEDICATED_IFLS, 1024, 1024),
                         self.shape(parts[B]))
        self.assertEqual(parts[B]['wwpns'], self.mapped_to(volume['id']))
        self.assertEqual('stopped', parts[A]['status'])

        # The source's nova-compute starts again: the partition left there
        # goes, the evacuated server stays as it is.
        self.cloud(['restart', '--dir', self.dir, 'nova-compute-%s' % A])
        self.wait_for('the partition left on %s deleted' % A,
                      lambda: self.partitions(server['id']),
                      lambda parts: A not in parts)
        after = self.assertOnlyOn(server['id'], B, volume['id'])
        self.assertEqual(parts[B]['object-uri'], after['object-uri'])
        # The evacuation is completed: the service may be up again.
        self.wait_for('the evacuation of %s completed' % server['id'],
                      lambda: self.openstack('server', 'migration', 'list',
                                             '--server', server['id']),
                      lambda found: found[0]['Status'] == 'completed')
        self.openstack('compute', 'service', 'set', '--up', A,
                       'nova-compute', parse=False)
        self.wait_for('nova-compute of %s up' % A,
                      lambda: self.openstack('compute', 'service', 'list',
                                             '--host', A)[0],
                      lambda s: s['State'] == 'up')
        self.remove(server['id'], volume['id'])

    def stop_partition(self, uri):
        session = self.hmc_session()
        try:
            client = zhmcclient.Client(session)
            cpc = client.cpcs.list()[0]
            zhmcclient.Partition(cpc.partitions, uri).stop()
        finally:
            session.logoff()

    # -- failures ------------------------------------------------------------

    def test_failed_moves_leave_the_subsets_clean(self):
        server, volume = self.boot_one('failed-moves')
        before = self.assertOnlyOn(server['id'], A, volume['id'])
        self.no_valid_host(server['id'], volume['id'], before)
        self.hmc_fault_mid_migration(server['id'], volume['id'], before)
        self.remove(server['id'], volume['id'])

    def no_valid_host(self, server_id, volume_id, before):
        """A resize to a flavor too big for B, the only subset enabled.

        The API accepts it; the scheduler finds no host; the server stays
        as it was.
        """
        self.disable(A)
        self.openstack('server', 'resize', '--flavor',
                       self.make_flavor(LARGE), server_id, parse=False)
        migrations = self.wait_for(
            'the resize of server %s ended' % server_id,
            lambda: self.openstack('server', 'migration', 'list',
                                   '--server', server_id),
            lambda found: found and found[0]['Status'] in (
                'error', 'failed', 'finished', 'confirmed'))
        self.assertEqual('error', migrations[0]['Status'])
        self.assertIn('NoValidHost', str(self.action_events(server_id,
                                                            'resize')))
        self.openstack('compute', 'service', 'set', '--enable', A,
                       'nova-compute', parse=False)
        server = self.server_status(server_id, 'ACTIVE')
        self.assertEqual((A, SMALL[0]), (server['OS-EXT-SRV-ATTR:host'],
                                         server['flavor']['name']))
        after = self.assertOnlyOn(server_id, A, volume_id)
        self.assertEqual(
            (before['object-uri'], before['wwpns'], self.shape(before)),
            (after['object-uri'], after['wwpns'], self.shape(after)))

    def hmc_fault_mid_migration(self, server_id, volume_id, before):
        """The new partition's start on B fails; the server recovers."""
        self.hmc_faults('POST', {'kind': 'http500', 'method': 'POST',
                                 'pattern': START})
        self.addCleanup(self.hmc_faults, 'DELETE')
        self.openstack('server', 'migrate', '--host', B, server_id,
                       parse=False)
        self.wait_for('server %s ERROR' % server_id,
                      lambda: self.openstack('server', 'show', server_id),
                      lambda s: s['status'] == 'ERROR')
        self.assertEqual([['http500', 'POST', START]],
                         self.hmc_faults()['fired'][-1:])
        # Nothing on B; the source partition as it was, stopped.
        parts = self.partitions(server_id)
        self.assertEqual([A], sorted(parts))
        self.assertEqual(
            (before['object-uri'], 'stopped', before['wwpns']),
            (parts[A]['object-uri'], parts[A]['status'], parts[A]['wwpns']))

        # Recoverable: Nova left the volume's attachment to the new WWPNs
        # attaching (Cinder refuses another move of the volume then): it
        # is completed, the server's state reset, the server moved back
        # to A and the move confirmed.
        volume_api = '--os-volume-api-version=3.44'
        attachments = self.openstack(volume_api, 'volume', 'attachment',
                                     'list', '--volume-id', volume_id)
        self.assertEqual(['attaching'], [a['Status'] for a in attachments])
        self.openstack(volume_api, 'volume', 'attachment', 'complete',
                       attachments[0]['ID'], parse=False)
        self.openstack('server', 'set', '--auto-approve', '--state',
                       'active', server_id, parse=False)
        self.migrate(server_id, A)
        self.finish(server_id, 'confirm', A)
        after = self.assertOnlyOn(server_id, A, volume_id)
        self.assertEqual((before['object-uri'], before['wwpns']),
                         (after['object-uri'], after['wwpns']))

    def test_no_free_crypto_domain_fails_the_build(self):
        volume = self.volume('no-domain-boot', bootable=True)
        server = self.create_server('no-domain', volume, [], A,
                                    self.make_flavor(ALL_DOMAINS))
        self.addCleanup(self.delete_if_there, server['id'])
        failed = self.wait_for(
            'server %s ERROR' % server['id'],
            lambda: self.openstack('server', 'show', server['id']),
            lambda s: s['status'] == 'ERROR')
        self.assertIn('no free crypto domain', failed['fault']['message'])
        self.assertEqual({}, self.partitions(server['id']))
        self.remove(server['id'], volume['id'])
