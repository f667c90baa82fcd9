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

"""The feature support matrix must tell the truth about DPMDriver.

``doc/source/support-matrix.ini`` marks every feature of Nova's matrix as
complete, partial or missing for ``driver.dpm``. Most features stand for
one or more methods of ``nova.virt.driver.ComputeDriver`` (or for a
capability flag). A feature marked complete or partial must have all of
them implemented by ``DPMDriver`` itself (not inherited from
ComputeDriver); a feature marked missing must have none of them. In the
other direction, every public method that DPMDriver overrides must be
accounted for by a feature it claims, or be listed as infrastructure.

A feature that no method decides (for example "Flat networking") is
listed in NOT_A_METHOD with the reason; some of those are checked by
behaviour below.
"""

import configparser
import inspect
import os

from nova import exception as nova_exception
from nova.virt import driver as virt_driver
import testtools

from nova_dpm import capabilities
from nova_dpm import driver as dpm_driver
from nova_dpm import exception
from nova_dpm import hmc
from nova_dpm import network
from nova_dpm.simulator import catalog
from nova_dpm import storage

REPO_ROOT = os.path.abspath(
    os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))
MATRIX = os.path.join(REPO_ROOT, 'doc', 'source', 'support-matrix.ini')

DRIVER = 'driver.dpm'
NOTES = 'driver-notes.dpm'
SIMULATED = 'simulated-only.dpm'
# Rows with behaviour shown only against the simulated HMC, and a word the
# value of their simulated-only.dpm key must contain.
SHOWN_ONLY_SIMULATED = {
    'operation.launch': ('storage groups', 'adapter ports'),
    'operation.attach-volume': ('storage groups',),
    'operation.detach-volume': ('storage groups',),
    'operation.storage.block.backend.fibrechannel': ('storage groups',),
    'operation.networking.topology.flat': ('adapter ports',),
    'operation.trigger-crash-dump': ('PSW restart',),
    'operation.get-guest-info': ('HMC notifications',),
    'operation.diagnostics': ('metrics',),
    'operation.console.serial.interactive': ('ASCII Console WebSocket',),
}
CLAIMED = ('complete', 'partial')
STATUSES = CLAIMED + ('missing',)

# feature -> (ComputeDriver methods, ComputeDriver capabilities) that
# implement it.
IMPLEMENTED_BY = {
    'operation.attach-volume': (('attach_volume',), ()),
    'operation.attach-tagged-volume': ((), ('supports_tagged_attach_volume',)),
    'operation.detach-volume': (('detach_volume',), ()),
    'operation.extend-volume': (('extend_volume',),
                                ('supports_extend_volume',)),
    'operation.attach-interface': (('attach_interface',),
                                   ('supports_attach_interface',)),
    'operation.attach-tagged-interface': (
        (), ('supports_tagged_attach_interface',)),
    'operation.detach-interface': (('detach_interface',), ()),
    'operation.maintenance-mode': (('host_maintenance_mode',
                                    'set_host_enabled'), ()),
    'operation.evacuate': ((), ('supports_evacuate',)),
    'operation.rebuild': (('rebuild',), ()),
    'operation.rebuild-volume-backed': (('rebuild',), ()),
    'operation.get-guest-info': (('get_info',), ()),
    'operation.get-host-uptime': (('get_host_uptime',), ()),
    'operation.get-host-ip': (('get_host_ip_addr',), ()),
    'operation.live-migrate': (('live_migration',
                                'check_can_live_migrate_destination',
                                'check_can_live_migrate_source',
                                'pre_live_migration',
                                'post_live_migration_at_destination',
                                'rollback_live_migration_at_destination'),
                               ()),
    'operation.force-live-migration-to-complete': (
        ('live_migration_force_complete',), ()),
    'operation.abort-in-progress-live-migration': (
        ('live_migration_abort',), ()),
    'operation.launch': (('spawn',), ()),
    'operation.pause': (('pause',), ()),
    'operation.reboot': (('reboot',), ()),
    'operation.rescue': (('rescue', 'unrescue'), ()),
    'operation.resize': (('migrate_disk_and_power_off', 'finish_migration',
                          'confirm_migration', 'finish_revert_migration'),
                         ()),
    'operation.resume': (('resume',), ()),
    'operation.set-admin-password': (('set_admin_password',), ()),
    'operation.snapshot': (('snapshot',), ()),
    'operation.suspend': (('suspend',), ()),
    'operation.swap-volume': (('swap_volume',), ()),
    'operation.terminate': (('destroy',), ()),
    'operation.trigger-crash-dump': (('trigger_crash_dump',), ()),
    'operation.unpause': (('unpause',), ()),
    'operation.device-tags': ((), ('supports_device_tagging',)),
    'operation.quiesce': (('quiesce',), ()),
    'operation.unquiesce': (('unquiesce',), ()),
    'operation.multiattach-volume': ((), ('supports_multiattach',)),
    'operation.trusted-certs': ((), ('supports_trusted_certs',)),
    'operation.cache-images': (('cache_image',), ()),
    'operation.boot-emulated-tpm': ((), ('supports_vtpm',)),
    'operation.power-off': (('power_off',), ()),
    'operation.power-on': (('power_on',), ()),
    'operation.diagnostics': (('get_instance_diagnostics',), ()),
    'operation.console.serial.log': (('get_console_output',), ()),
    'operation.console.serial.interactive': (('get_serial_console',), ()),
    'operation.console.spice': (('get_spice_console',), ()),
    'operation.console.vnc': (('get_vnc_console',), ()),
    'operation.storage.block': (('get_volume_connector', 'attach_volume',
                                 'detach_volume'), ()),
    'operation.storage.block.backend.fibrechannel': (
        ('get_volume_connector',), ()),
}

# Features that no ComputeDriver method or capability decides.
NOT_A_METHOD = {
    'operation.guest.disk.autoconfig':
        'done inside spawn by drivers with local disks',
    'operation.guest.disk.rate-limit':
        'flavor extra specs interpreted by spawn',
    'operation.guest.setup.configdrive': 'built by the driver inside spawn',
    'operation.guest.setup.inject.file': 'done inside spawn',
    'operation.guest.setup.inject.networking': 'done inside spawn',
    'operation.storage.block.backend.iscsi': 'a connection type, no method',
    'operation.storage.block.backend.iscsi.auth.chap':
        'a connection type, no method',
    'operation.storage.image':
        'decided inside prepare_for_spawn/spawn; checked by behaviour below',
    'operation.networking.securitygroups': 'Neutron agent matter',
    'operation.networking.topology.flat': 'checked by behaviour below',
    'operation.networking.topology.vlan': 'checked by behaviour below',
    'operation.uefi-boot': 'image property interpreted by spawn',
    'operation.encrypted-volume': 'an argument of attach_volume',
    'operation.file-backed-memory': 'host configuration of a driver',
    'operation.report-cpu-traits': 'part of update_provider_tree',
    'operation.port-with-resource-request': 'placement and Neutron matter',
    'operation.boot-encrypted-vm': 'flavor/image property read by spawn',
}

# Public methods DPMDriver overrides that are part of every driver's
# plumbing rather than a feature of the matrix.
INFRASTRUCTURE = frozenset([
    'init_host', 'cleanup_host',
    'get_available_nodes', 'node_is_available',
    'get_available_resource', 'update_provider_tree',
    'list_instance_uuids', 'list_instances', 'instance_exists',
    'prepare_for_spawn', 'prepare_networks_before_block_device_mapping',
    'failed_spawn_cleanup', 'cleanup',
    'plug_vifs', 'unplug_vifs',
])


def load_matrix(path=MATRIX):
    cfg = configparser.ConfigParser(interpolation=None)
    with open(path) as f:
        cfg.read_file(f)
    return cfg


def features(cfg):
    return [s for s in cfg.sections() if not s.startswith('driver.')]


def overrides(driver_cls, name):
    """True if driver_cls implements name itself (not ComputeDriver's).

    The raw class attributes are compared (not the bound methods, which
    are new objects at every access for class methods), so an attribute
    merely copied from ComputeDriver does not count.
    """
    base = inspect.getattr_static(virt_driver.ComputeDriver, name, None)
    return inspect.getattr_static(driver_cls, name, None) is not base


def capability(driver_cls, name):
    return driver_cls.capabilities.get(name) is True


def check(cfg, driver_cls=dpm_driver.DPMDriver):
    """Every disagreement between the matrix and driver_cls, as text."""
    problems = []
    sections = set(features(cfg))
    for feature in sorted(sections):
        if not cfg.has_option(feature, DRIVER):
            problems.append('%s: no %s entry' % (feature, DRIVER))
            continue
        status = cfg.get(feature, DRIVER)
        if status not in STATUSES:
            problems.append('%s: %s=%s is not one of %s' %
                            (feature, DRIVER, status, ', '.join(STATUSES)))
            continue
        if status == 'partial' and not cfg.has_option(feature, NOTES):
            problems.append('%s: partial without %s saying what is '
                            'missing' % (feature, NOTES))
        if feature in NOT_A_METHOD:
            continue
        if feature not in IMPLEMENTED_BY:
            problems.append('%s: unknown feature; add it to IMPLEMENTED_BY '
                            'or NOT_A_METHOD in %s' % (feature, __name__))
            continue
        methods, caps = IMPLEMENTED_BY[feature]
        done = ([m for m in methods if overrides(driver_cls, m)] +
                [c for c in caps if capability(driver_cls, c)])
        wanted = list(methods) + list(caps)
        if status in CLAIMED:
            lacking = [w for w in wanted if w not in done]
            if lacking:
                problems.append(
                    '%s: marked %s, but %s does not implement %s' %
                    (feature, status, driver_cls.__name__,
                     ', '.join(lacking)))
        elif done:
            problems.append(
                '%s: marked missing, but %s implements %s' %
                (feature, driver_cls.__name__, ', '.join(done)))
    for feature in sorted(set(IMPLEMENTED_BY) | set(NOT_A_METHOD)):
        if feature not in sections:
            problems.append('%s: missing from the matrix' % feature)
    accounted = set(INFRASTRUCTURE)
    for feature in sections & set(IMPLEMENTED_BY):
        if cfg.get(feature, DRIVER, fallback=None) in CLAIMED:
            accounted.update(IMPLEMENTED_BY[feature][0])
    for name in sorted(vars(virt_driver.ComputeDriver)):
        if name.startswith('_') or not callable(
                getattr(virt_driver.ComputeDriver, name)):
            continue
        if overrides(driver_cls, name) and name not in accounted:
            problems.append(
                '%s implements %s, which no feature marked complete or '
                'partial accounts for' % (driver_cls.__name__, name))
    return problems


def doctored(**statuses):
    """The real matrix with some driver.dpm values replaced (None: drop)."""
    cfg = load_matrix()
    for feature, status in statuses.items():
        if status is None:
            cfg.remove_option(feature, DRIVER)
        else:
            cfg.set(feature, DRIVER, status)
    return cfg


def _vif(**kw):
    vif = {'id': 'port-1', 'type': 'dpm_vswitch',
           'address': 'fa:16:3e:00:00:01',
           'details': {'object_id': catalog.VSWITCH_0},
           'network': {'meta': {}}}
    vif.update(kw)
    return vif


class SupportMatrixTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.cfg = load_matrix()

    def test_matrix_matches_driver(self):
        problems = check(self.cfg)
        self.assertEqual([], problems, '\n'.join(problems))

    def test_driver_column(self):
        self.assertEqual('DPM', self.cfg.get(DRIVER, 'title'))
        self.assertEqual([DRIVER], [s for s in self.cfg.sections()
                                    if s.startswith('driver.')])

    def test_mapping_names_real_driver_api(self):
        for feature, (methods, caps) in IMPLEMENTED_BY.items():
            for name in methods:
                self.assertTrue(
                    callable(getattr(virt_driver.ComputeDriver, name, None)),
                    '%s: ComputeDriver has no method %s' % (feature, name))
            for name in caps:
                self.assertIn(name, virt_driver.ComputeDriver.capabilities,
                              '%s: unknown capability %s' % (feature, name))
        self.assertEqual(set(), set(IMPLEMENTED_BY) & set(NOT_A_METHOD))

    def test_infrastructure_is_overridden(self):
        # A stale entry would hide a method that the matrix should cover.
        for name in INFRASTRUCTURE:
            self.assertTrue(overrides(dpm_driver.DPMDriver, name), name)

    def test_sphinx_extension_accepts_matrix(self):
        try:
            from sphinx_feature_classification import support_matrix
        except ImportError:
            self.skipTest('sphinx-feature-classification not installed')
        cfg = configparser.ConfigParser()
        with open(MATRIX) as f:
            cfg.read_file(f)
        matrix = support_matrix.Matrix(cfg)
        self.assertEqual(['DPM'], [d.title for d in matrix.drivers.values()])
        self.assertEqual(len(features(cfg)), len(matrix.features))

    def test_rows_shown_only_against_the_simulated_hmc(self):
        marked = {f: self.cfg.get(f, SIMULATED) for f in features(self.cfg)
                  if self.cfg.has_option(f, SIMULATED)}
        self.assertEqual(sorted(SHOWN_ONLY_SIMULATED), sorted(marked))
        for feature, words in SHOWN_ONLY_SIMULATED.items():
            # Only what the driver claims can have been shown at all.
            self.assertIn(self.cfg.get(feature, DRIVER), CLAIMED, feature)
            for word in words:
                self.assertIn(word, ' '.join(marked[feature].split()),
                              feature)

    def test_only_known_keys(self):
        # A misspelt key would silently drop a mark or a note.
        known = {'title', 'status', 'notes', 'cli', DRIVER, NOTES, SIMULATED}
        for feature in features(self.cfg):
            self.assertEqual(set(), set(self.cfg.options(feature)) - known,
                             feature)

    def test_console_log_is_partial_before_se_2_14(self):
        # List OS Messages needs SE 2.14.0 and HMC API 2.20 (the driver
        # answers NotImplementedError below; test_partition runs it on the
        # z13 definition).
        feature = 'operation.console.serial.log'
        self.assertEqual('partial', self._status(feature))
        notes = ' '.join(self.cfg.get(feature, NOTES).split())
        self.assertIn('SE before %s' % hmc.OS_MESSAGES_SE, notes)
        self.assertIn('API %d.%d' % hmc.OS_MESSAGES_API, notes)
        gate = capabilities.GATES[capabilities.OS_MESSAGES]
        self.assertEqual(((2, 14, 0), (2, 20)), (gate.se, gate.api))

    def test_no_nominal_size_for_attached_volumes(self):
        # attach_volume defines the storage volume with the Cinder
        # volume's size (from the block device mapping), not a nominal one.
        notes = self.cfg.get('operation.attach-volume', NOTES)
        self.assertNotIn('nominal', notes)
        self.assertIn('sized like it', ' '.join(notes.split()))

    # -- a doctored matrix or driver must fail ----------------------------

    def test_claim_of_unimplemented_operation_fails(self):
        problems = check(doctored(**{'operation.pause': 'complete'}))
        self.assertEqual(
            ['operation.pause: marked complete, but DPMDriver does not '
             'implement pause'], problems)

    def test_claim_of_unimplemented_capability_fails(self):
        problems = check(doctored(
            **{'operation.multiattach-volume': 'partial'}))
        self.assertEqual(
            ['operation.multiattach-volume: marked partial, but DPMDriver '
             'does not implement supports_multiattach'], problems)

    def test_implemented_operation_marked_missing_fails(self):
        problems = check(doctored(**{'operation.reboot': 'missing'}))
        self.assertIn('operation.reboot: marked missing, but DPMDriver '
                      'implements reboot', problems)
        self.assertIn('DPMDriver implements reboot, which no feature marked '
                      'complete or partial accounts for', problems)

    def test_feature_without_dpm_status_fails(self):
        problems = check(doctored(**{'operation.launch': None}))
        self.assertIn('operation.launch: no driver.dpm entry', problems)

    def test_invalid_status_fails(self):
        problems = check(doctored(**{'operation.launch': 'unknown'}))
        self.assertIn('operation.launch: driver.dpm=unknown is not one of '
                      'complete, partial, missing', problems)

    def test_partial_without_notes_fails(self):
        cfg = load_matrix()
        cfg.remove_option('operation.attach-volume', NOTES)
        self.assertEqual(['operation.attach-volume: partial without '
                          'driver-notes.dpm saying what is missing'],
                         check(cfg))

    def test_removed_feature_fails(self):
        cfg = load_matrix()
        cfg.remove_section('operation.suspend')
        self.assertEqual(['operation.suspend: missing from the matrix'],
                         check(cfg))

    def test_unknown_feature_fails(self):
        cfg = load_matrix()
        cfg.add_section('operation.teleport')
        cfg.set('operation.teleport', 'title', 'Teleport instance')
        cfg.set('operation.teleport', DRIVER, 'missing')
        problems = check(cfg)
        self.assertEqual(1, len(problems))
        self.assertIn('operation.teleport: unknown feature', problems[0])

    def test_driver_gaining_an_operation_fails(self):
        class Grown(dpm_driver.DPMDriver):
            def pause(self, instance):
                pass

            def get_diagnostics(self, instance):
                pass

        problems = check(self.cfg, Grown)
        self.assertIn('operation.pause: marked missing, but Grown '
                      'implements pause', problems)
        self.assertIn('Grown implements get_diagnostics, which no feature '
                      'marked complete or partial accounts for', problems)

    def test_driver_losing_an_operation_fails(self):
        class Shrunk(dpm_driver.DPMDriver):
            reboot = virt_driver.ComputeDriver.reboot

        self.assertEqual(['operation.reboot: marked complete, but Shrunk '
                          'does not implement reboot'],
                         check(self.cfg, Shrunk))

    # -- features decided by behaviour, not by a method -------------------

    def _status(self, feature):
        return self.cfg.get(feature, DRIVER)

    def test_image_boot_matches_matrix(self):
        self.assertEqual('missing',
                         self._status('operation.storage.image'))
        instance = type('Instance', (), {'uuid': 'u-1',
                                         'image_ref': 'image-1'})()
        self.assertRaises(nova_exception.InstanceUnacceptable,
                          storage.check_volume_boot, instance)

    def test_vlan_matches_matrix(self):
        # partial: needs HMC API 2.20; refused on older HMCs.
        self.assertEqual('partial',
                         self._status('operation.networking.topology.vlan'))
        vif = _vif(details={
            'object_id': catalog.VSWITCH_0,
            'vlan': 100})
        self.assertEqual(100, network.nics_from_vifs(
            [vif], capabilities.Capabilities((2, 20), '2.14.0'))[0].vlan)
        self.assertRaises(exception.InvalidNetwork, network.nics_from_vifs,
                          [vif], capabilities.Capabilities((2, 19), '2.14.0'))

    def test_console_log_matches_matrix(self):
        # partial: none on SE < 2.14 (List OS Messages, HMC rule gate).
        feature = 'operation.console.serial.log'
        self.assertEqual('partial', self._status(feature))
        self.assertEqual((2, 14, 0), capabilities.GATES[
            capabilities.OS_MESSAGES].se)
        self.assertIn('SE before 2.14.0', load_matrix().get(feature, NOTES))

    def test_flat_matches_matrix(self):
        status = self._status('operation.networking.topology.flat')
        self.assertIn(status, CLAIMED)
        nics = network.nics_from_vifs([_vif()])
        self.assertEqual(1, len(nics))
        # partial: the 13th port is refused.
        self.assertEqual('partial', status)
        vifs = [_vif(id='port-%d' % i, address='fa:16:3e:00:00:%02x' % i)
                for i in range(network.MAX_NICS + 1)]
        self.assertRaises(exception.InvalidNetwork, network.nics_from_vifs,
                          vifs)
