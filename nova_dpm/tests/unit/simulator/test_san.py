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

"""The SAN, FCP storage discovery, validation of WWPNs, size mismatches.

IBM HMC WS API: Attach Storage Group to Partition, Add Candidate Adapter
Ports to an FCP Storage Group, Start FCP Storage Discovery, Accept
Mismatched Storage Volumes (see simulator/storage.py).  The plain mock
has neither attach nor discovery nor acceptance of mismatches.
"""

import time

from nova_dpm.simulator import catalog
from nova_dpm.simulator import san
from nova_dpm.tests.unit.simulator import base

BOOT = {'name': 'boot', 'usage': 'boot', 'size': 10.0}
TARGET_2 = catalog.TARGET_WWPNS[1]
LUN_2 = '4002400000000000'


class SanTestCase(base.TestCase):

    def attached(self, env, volumes=(BOOT,), name='SG1', partition='inst-1',
                 **kw):
        p = env.partition(partition)
        sg = env.group(name=name, volumes=volumes, **kw)
        p.attach_storage_group(sg)
        return p, sg

    @staticmethod
    def vsrs(sg):
        return sg.virtual_storage_resources.list(full_properties=True)


class WwpnValidationTest(SanTestCase):

    def test_group_has_unassigned_wwpns_before_attach(self):
        # The mock (and the old simulator) have none.
        mock = self.env(False)
        sg = mock.console.storage_groups.create(
            {'cpc-uri': base.CPC_URI, 'name': 'SG', 'type': 'fcp'})
        self.assertFalse(mock.session.get(sg.uri).get(
            'unassigned-world-wide-port-names'))

        env = self.env()
        sg = env.group(connectivity=2)
        wwpns = env.session.get(sg.uri)['unassigned-world-wide-port-names']
        self.assertEqual(2, len(wwpns))
        for wwpn in wwpns:
            self.assertEqual('not-validated', wwpn['status'])
            self.assertRegex(wwpn['world-wide-port-name'], '^[0-9a-f]{16}$')
        env.partition().attach_storage_group(sg)
        # Attach turns them into the VSRs' WWPNs.
        self.assertEqual(
            sorted(w['world-wide-port-name'] for w in wwpns),
            sorted(v.get_property('world-wide-port-name')
                   for v in self.vsrs(sg)))
        self.assertEqual(
            [], env.session.get(sg.uri)['unassigned-world-wide-port-names'])

    def test_vsr_has_no_port_until_discovery(self):
        env = self.env()
        _p, sg = self.attached(env)
        for vsr in self.vsrs(sg):
            self.assertIsNone(vsr.get_property('adapter-port-uri'))
            self.assertEqual(
                {'status': 'not-validated',
                 'world-wide-port-name':
                     vsr.get_property('world-wide-port-name')},
                vsr.get_property('world-wide-port-name-info'))
        env.connect(sg)
        vsrs = self.vsrs(sg)
        self.assertEqual(
            {base.FCP_A_PORT, base.FCP_B_PORT},
            {v.get_property('adapter-port-uri') for v in vsrs})
        self.assertEqual(
            {'validated'},
            {v.get_property('world-wide-port-name-info')['status']
             for v in vsrs})

    def test_discovery_finds_only_mapped_wwpns(self):
        env = self.env()
        _p, sg = self.attached(env)
        one, two = self.vsrs(sg)
        env.sim.map_volume([one.get_property('world-wide-port-name')],
                           [base.TARGET], base.LUN, 10)
        sg.discover_fcp()
        one.pull_full_properties()
        two.pull_full_properties()
        self.assertEqual('validated',
                         one.get_property('world-wide-port-name-info')[
                             'status'])
        self.assertEqual(base.FCP_A_PORT, one.get_property('adapter-port-uri'))
        self.assertEqual('not-validated',
                         two.get_property('world-wide-port-name-info')[
                             'status'])
        self.assertIsNone(two.get_property('adapter-port-uri'))

    def test_empty_group_never_validates(self):
        # IBM (Attach Storage Group to Partition): DPM verifies
        # connectivity "to the defined storage volumes". The old
        # simulator validated a WWPN that saw any LUN, volumes or not.
        env = self.env()
        _p, sg = self.attached(env, volumes=())
        env.connect(sg)
        self.assertEqual({('not-validated', None)}, {
            (v.get_property('world-wide-port-name-info')['status'],
             v.get_property('adapter-port-uri')) for v in self.vsrs(sg)})
        # Once a volume is defined, the next discovery validates them.
        sg.update_properties({'storage-volumes': [
            dict(BOOT, operation='create')]})
        sg.discover_fcp()
        self.assertEqual({'validated'}, {
            v.get_property('world-wide-port-name-info')['status']
            for v in self.vsrs(sg)})

    def test_fulfilled_volume_validates_only_through_its_lun(self):
        # A fulfilled volume is reached through its own target and LUN;
        # another LUN the WWPN sees does not verify it.
        env = self.env()
        _p, sg = self.attached(env, ports=(base.FCP_A_PORT,))
        sv = sg.storage_volumes.find(name='boot')
        sv.indicate_fulfillment_fcp(base.TARGET, base.LUN,
                                    env.port(base.FCP_A_PORT))
        env.connect(sg, lun=LUN_2)
        self.assertEqual({'not-validated'}, {
            v.get_property('world-wide-port-name-info')['status']
            for v in self.vsrs(sg)})
        env.connect(sg)
        self.assertEqual({'validated'}, {
            v.get_property('world-wide-port-name-info')['status']
            for v in self.vsrs(sg)})

    def test_discovery_is_a_job_that_takes_the_transition_time(self):
        # The mock has no such operation.
        mock = self.env(False)
        msg = mock.console.storage_groups.create(
            {'cpc-uri': base.CPC_URI, 'name': 'SG', 'type': 'fcp'})
        self.assertHttpError(404, None, msg.discover_fcp)

        env = self.env(transition_time=0.3)
        _p, sg = self.attached(env)
        wwpns = [v.get_property('world-wide-port-name')
                 for v in self.vsrs(sg)]
        env.sim.map_volume(wwpns, [base.TARGET], base.LUN, 10)
        job = sg.discover_fcp(wait_for_completion=False)
        self.assertEqual('running', job.query_status()[0])
        self.assertEqual({None}, {v.get_property('adapter-port-uri')
                                  for v in self.vsrs(sg)})
        self.assertHttpError(404, None, env.session.post,
                             job.uri + '/operations/cancel')
        job.wait_for_completion()
        self.assertNotIn(None, {v.get_property('adapter-port-uri')
                                for v in self.vsrs(sg)})

    def test_periodic_discovery(self):
        env = self.env()
        env.sim.san.discovery_interval = 0.05
        _p, sg = self.attached(env)
        env.sim.map_volume([v.get_property('world-wide-port-name')
                            for v in self.vsrs(sg)], [base.TARGET],
                           base.LUN, 10)
        time.sleep(0.1)
        self.assertNotIn(None, {v.get_property('adapter-port-uri')
                                for v in self.vsrs(sg)})

    def test_candidate_ports_until_validated(self):
        # IBM: Add Candidate Adapter Ports to an FCP Storage Group.
        env = self.env()
        _p, sg = self.attached(env, ports=(base.FCP_A_PORT,))
        # Attached, not validated yet: still possible.
        sg.add_candidate_adapter_ports([env.port(base.FCP_B_PORT)])
        sg.remove_candidate_adapter_ports([env.port(base.FCP_B_PORT)])
        env.connect(sg)
        self.assertHttpError(409, 1, sg.add_candidate_adapter_ports,
                             [env.port(base.FCP_B_PORT)])

    def test_ports_spread_and_balanced(self):
        # [INFER] a partition's paths on different ports, the least used
        # port first.
        env = self.env()
        _p, foreign = self.attached(env, name='FOREIGN', partition='other',
                                    connectivity=1)
        env.connect(foreign)
        self.assertEqual(base.FCP_A_PORT,
                         self.vsrs(foreign)[0].get_property(
                             'adapter-port-uri'))
        _p, sg = self.attached(env)
        one, two = sorted(self.vsrs(sg),
                          key=lambda v: v.get_property('device-number'))
        env.connect(sg)
        one.pull_full_properties()
        two.pull_full_properties()
        self.assertEqual(base.FCP_B_PORT, one.get_property('adapter-port-uri'))
        self.assertEqual(base.FCP_A_PORT, two.get_property('adapter-port-uri'))

    def test_detach_keeps_validated_wwpns_and_ports(self):
        env = self.env()
        p, sg = self.attached(env)
        env.connect(sg)
        ports = {v.get_property('world-wide-port-name'):
                 v.get_property('adapter-port-uri') for v in self.vsrs(sg)}
        p.detach_storage_group(sg)
        unassigned = env.session.get(sg.uri)[
            'unassigned-world-wide-port-names']
        self.assertEqual({(w, 'validated') for w in ports},
                         {(u['world-wide-port-name'], u['status'])
                          for u in unassigned})
        p.attach_storage_group(sg)
        self.assertEqual(ports, {v.get_property('world-wide-port-name'):
                                 v.get_property('adapter-port-uri')
                                 for v in self.vsrs(sg)})


class VolumeCompletionTest(SanTestCase):

    def fulfil(self, env, sg, port=base.FCP_A_PORT, lun=base.LUN):
        sv = sg.storage_volumes.find(name='boot')
        sv.indicate_fulfillment_fcp(base.TARGET, lun, env.port(port))
        return sv, env.session.get(sv.uri)

    def test_fulfilled_volume_is_complete_at_once(self):
        # zhmcclient StorageVolume.indicate_fulfillment_fcp: after Fulfill
        # the state "will have been set to complete". The old simulator
        # kept it pending until a path showed the LUN.
        env = self.env(transition_time=0.01)
        p, sg = self.attached(env)
        sv, props = self.fulfil(env, sg)
        self.assertEqual('complete', props['fulfillment-state'])
        self.assertEqual([], props['paths'])
        self.assertEqual('complete',
                         env.session.get(sg.uri)['fulfillment-state'])
        # [INFER] complete, but no path shows it: nothing to boot from.
        p.update_properties({'boot-device': 'storage-volume',
                             'boot-storage-volume': sv.uri})
        p.start(wait_for_completion=False)
        env.sim.complete_transitions()
        self.assertEqual('paused', env.faked(p.uri).properties['status'])
        p.stop()
        # Cinder maps it; discovery validates the paths that show it.
        env.connect(sg)
        props = env.session.get(sv.uri)
        self.assertEqual('complete', props['fulfillment-state'])
        self.assertEqual(10.0, props['active-size'])
        self.assertEqual(2, len(props['paths']))
        p.start()
        self.assertEqual('active', p.get_property('status'))

    def test_volume_on_some_paths_is_incomplete_after_discovery(self):
        env = self.env()
        _p, sg = self.attached(env)
        one = self.vsrs(sg)[0]
        env.sim.map_volume([one.get_property('world-wide-port-name')],
                           [base.TARGET], base.LUN, 10)
        sg.discover_fcp()
        one.pull_full_properties()
        _sv, props = self.fulfil(env, sg,
                                 port=one.get_property('adapter-port-uri'))
        self.assertEqual('complete', props['fulfillment-state'])
        self.assertEqual(1, len(props['paths']))
        # Found, on one of the group's two paths: the next discovery
        # says incomplete.
        sg.discover_fcp()
        props = env.session.get(_sv.uri)
        self.assertEqual('incomplete', props['fulfillment-state'])

    def test_size_mismatch_and_accept(self):
        env = self.env()
        _p, sg = self.attached(env, volumes=[
            {'name': 'data', 'usage': 'data', 'size': 1.0}])
        env.connect(sg, size=10.0)
        sv = sg.storage_volumes.find(name='data')
        props = env.session.get(sv.uri)
        self.assertEqual('pending-with-mismatches',
                         props['fulfillment-state'])
        self.assertEqual(10.0, props['active-size'])
        self.assertEqual('pending-with-mismatches',
                         env.session.get(sg.uri)['fulfillment-state'])
        uri = sg.uri + '/operations/accept-mismatched-storage-volumes'
        env.session.post(uri, body={'storage-volume-uris': [sv.uri]})
        self.assertEqual('complete',
                         env.session.get(sv.uri)['fulfillment-state'])
        self.assertEqual('complete',
                         env.session.get(sg.uri)['fulfillment-state'])
        # Only mismatched volumes can be accepted.
        self.assertHttpError(409, 1, env.session.post, uri,
                             body={'storage-volume-uris': [sv.uri]})

    def test_accept_needs_volumes_of_the_group(self):
        # The mock has no such operation.
        mock = self.env(False)
        msg = mock.console.storage_groups.create(
            {'cpc-uri': base.CPC_URI, 'name': 'SG', 'type': 'fcp'})
        self.assertHttpError(
            404, None, mock.session.post,
            msg.uri + '/operations/accept-mismatched-storage-volumes',
            body={'storage-volume-uris': []})
        env = self.env()
        sg = env.group(volumes=[BOOT])
        other = env.group(name='SG2', volumes=[BOOT])
        sv_uri = other.get_property('element-uris')[0]
        uri = sg.uri + '/operations/accept-mismatched-storage-volumes'
        self.assertHttpError(404, None, env.session.post, uri,
                             body={'storage-volume-uris': [sv_uri]})
        self.assertHttpError(400, None, env.session.post, uri, body={})

    def test_data_volumes_paired_by_size(self):
        env = self.env()
        _p, sg = self.attached(env, volumes=[
            {'name': 'small', 'usage': 'data', 'size': 2.0},
            {'name': 'big', 'usage': 'data', 'size': 20.0}])
        wwpns = [v.get_property('world-wide-port-name')
                 for v in self.vsrs(sg)]
        env.sim.map_volume(wwpns, [TARGET_2], base.LUN, 20.0)
        env.sim.map_volume(wwpns, [TARGET_2], LUN_2, 2.0)
        sg.discover_fcp()
        volumes = {v.name: v.properties
                   for v in sg.storage_volumes.list(full_properties=True)}
        self.assertEqual('complete', volumes['big']['fulfillment-state'])
        self.assertEqual(base.LUN,
                         volumes['big']['paths'][0]['logical-unit-number'])
        self.assertEqual(LUN_2,
                         volumes['small']['paths'][0]['logical-unit-number'])

    def test_data_volume_of_another_size(self):
        env = self.env()
        _p, sg = self.attached(env, volumes=[
            {'name': 'data', 'usage': 'data', 'size': 1.0}])
        env.connect(sg, size=3.0)
        props = env.session.get(sg.storage_volumes.find(name='data').uri)
        self.assertEqual('pending-with-mismatches',
                         props['fulfillment-state'])
        self.assertEqual(3.0, props['active-size'])


class BusyGroupTest(SanTestCase):
    """IBM: Accept Mismatched Storage Volumes: 409 while the group is busy."""

    def test_busy_while_discovery_runs(self):
        # The mock has no discovery, and the old simulator accepted every
        # change while one ran.
        env = self.env(transition_time=3600)
        _p, sg = self.attached(env, volumes=[
            BOOT, {'name': 'data', 'usage': 'data', 'size': 1.0}])
        sv = sg.storage_volumes.find(name='boot')
        job = sg.discover_fcp(wait_for_completion=False)
        self.assertHttpError(409, 2, sg.storage_volumes.create,
                             {'name': 'more', 'size': 1.0})
        self.assertHttpError(409, 2, sv.indicate_fulfillment_fcp,
                             base.TARGET, base.LUN,
                             env.port(base.FCP_A_PORT))
        data = sg.storage_volumes.find(name='data')
        env.sim.volume_targets[data.uri] = {
            'wwpn': base.TARGET, 'lun': LUN_2, 'adapter-port-uri': None}
        env.faked(data.uri).properties['fulfillment-state'] = \
            'pending-with-mismatches'
        self.assertHttpError(
            409, 2, env.session.post,
            sg.uri + '/operations/accept-mismatched-storage-volumes',
            body={'storage-volume-uris': [data.uri]})
        # Once the discovery has ended, each is accepted.
        env.sim.transition_time = 0
        for run in env.sim.discoveries.values():
            run['end'] = 0
        job.wait_for_completion()
        sg.storage_volumes.create({'name': 'more', 'size': 1.0})
        sv.indicate_fulfillment_fcp(base.TARGET, base.LUN,
                                    env.port(base.FCP_A_PORT))


class ConnectionReportTest(SanTestCase):
    """IBM: Get Connection Report; zhmcclient get_connection_report."""

    def test_report_after_a_discovery(self):
        # The mock has no such operation.
        mock = self.env(False)
        msg = mock.console.storage_groups.create(
            {'cpc-uri': base.CPC_URI, 'name': 'SG', 'type': 'fcp'})
        self.assertHttpError(404, None, msg.get_connection_report)

        env = self.env()
        _p, sg = self.attached(env)
        # None before the first discovery has completed.
        self.assertHttpError(409, 1, sg.get_connection_report)
        sg.discover_fcp()
        report = sg.get_connection_report()
        self.assertEqual(sg.uri, report['storage-group-uri'])
        self.assertIsInstance(report['last-scan-time'], int)
        # The SAN shows the group nothing: no storage subsystem.
        self.assertEqual([], report['fcp-storage-subsystems'])
        sv = sg.storage_volumes.find(name='boot')
        sv.indicate_fulfillment_fcp(base.TARGET, base.LUN,
                                    env.port(base.FCP_A_PORT))
        one = self.vsrs(sg)[0].get_property('world-wide-port-name')
        env.sim.map_volume([one], [base.TARGET], LUN_2, 10)
        sg.discover_fcp()
        (system,) = sg.get_connection_report()['fcp-storage-subsystems']
        self.assertEqual(
            [(one, 'incorrect-volumes')],
            [(c['world-wide-port-name'], c['volumes-configuration-status'])
             for c in system['storage-configurations']])
        env.connect(sg)
        (system,) = sg.get_connection_report()['fcp-storage-subsystems']
        self.assertEqual(
            {'correct-volumes'},
            {c['volumes-configuration-status']
             for c in system['storage-configurations']})
        self.assertEqual(2, len(system['storage-configurations']))


class SanDefinitionTest(base.TestCase):

    def test_z16_san_knows_its_targets(self):
        env = self.env()
        self.assertEqual({base.TARGET, TARGET_2}, set(env.sim.san.targets))
        self.assertRaises(ValueError, env.sim.map_volume,
                          ['c05076ffe6800001'], ['500507680b21ffff'],
                          base.LUN, 10)
        self.assertRaises(ValueError, env.sim.map_volume,
                          ['c05076ffe6800001'], [base.TARGET], '1', 10)

    def test_without_storage_systems_any_target(self):
        sim_san = san.San({})
        sim_san.map_volume(['c05076ffe6800001'], ['500507680b21ffff'],
                           base.LUN, 4)
        self.assertEqual([('500507680b21ffff', base.LUN, 4.0)],
                         sim_san.visible('C05076FFE6800001'))
        self.assertEqual(san.DEFAULT_DISCOVERY_INTERVAL,
                         sim_san.discovery_interval)
        self.assertRaises(ValueError, san.San, {'bogus': 1})


class OpenSanTest(SanTestCase):

    def test_open_san(self):
        # For a real Cinder that cannot map volumes in the simulated SAN.
        env = self.env()
        env.sim.san.open = True
        _p, sg = self.attached(env, volumes=[
            BOOT, {'name': 'data', 'usage': 'data', 'size': 3.0}])
        sg.discover_fcp()
        self.assertNotIn(None, {v.get_property('adapter-port-uri')
                                for v in self.vsrs(sg)})
        volumes = {v.name: v.properties
                   for v in sg.storage_volumes.list(full_properties=True)}
        self.assertEqual('complete', volumes['data']['fulfillment-state'])
        sv = sg.storage_volumes.find(name='boot')
        sv.indicate_fulfillment_fcp(base.TARGET, base.LUN,
                                    env.port(base.FCP_A_PORT))
        self.assertEqual('complete',
                         env.session.get(sv.uri)['fulfillment-state'])
