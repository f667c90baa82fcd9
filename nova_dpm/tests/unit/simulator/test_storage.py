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

"""Storage groups, volumes, VSRs, attach/detach and fulfillment.

HMC rules B3, I, J, K and L, all through zhmcclient.
"""

from nova_dpm.tests.unit.simulator import base

BOOT = {'name': 'boot', 'usage': 'boot', 'size': 10.0}
DATA = {'name': 'data', 'usage': 'data', 'size': 5.0}


class StorageGroupCreateTest(base.TestCase):

    def test_create(self):
        env = self.env()
        sg = env.group(volumes=[BOOT, DATA])
        sg.pull_full_properties()
        props = sg.properties
        self.assertEqual('pending', props['fulfillment-state'])
        self.assertEqual(2, len(props['storage-volume-uris']))
        self.assertEqual([base.FCP_A_PORT, base.FCP_B_PORT],
                         props['candidate-adapter-port-uris'])
        self.assertEqual(props['storage-volume-uris'],
                         sg.get_property('element-uris'))
        volumes = {v.name: v for v in sg.storage_volumes.list(
            full_properties=True)}
        self.assertEqual('boot', volumes['boot'].get_property('usage'))
        self.assertEqual('pending',
                         volumes['data'].get_property('fulfillment-state'))

    def test_type_enum(self):
        # HMC rule I1: the mock accepts any type.
        self.assertLenientButStrict(
            lambda env: env.group(type='bogus', ports=(),
                                  **{'max-partitions': 1}), 400, 7)

    def test_shared_with_one_partition(self):
        # HMC rule I2
        self.assertLenientButStrict(
            lambda env: env.group(shared=True, ports=()), 400, 7)

    def test_max_partitions_only_for_fcp(self):
        # HMC rule I1
        self.assertLenientButStrict(
            lambda env: env.group(type='fc', ports=()), 400, 7)

    def test_duplicate_name(self):
        # HMC rule I3 [UNCERTAIN]
        def scenario(env):
            env.group('SG', ports=())
            env.group('SG', ports=())
        self.assertLenientButStrict(scenario, 400, 8)

    def test_description_length(self):
        # HMC rule A6: storage groups have description (0-200).
        self.assertLenientButStrict(
            lambda env: env.group(description='d' * 201, ports=()), 400, 7)
        self.env().group(description='d' * 200, ports=())

    def test_name_length(self):
        self.assertLenientButStrict(
            lambda env: env.group('n' * 65, ports=()), 400, 7)

    def test_requires_feature(self):
        # The z13 definition's HMC (API 1.7) has no storage groups at all
        # (simulator/versions.py); the feature being off on a newer HMC is
        # test_versions.FeatureListTest.
        self.assertLenientButStrict(lambda env: env.group(ports=()),
                                    404, 1, definition='z13')

    def test_volume_usage_enum(self):
        # HMC rule J1
        env = self.env()
        self.assertHttpError(400, 7, env.group,
                             volumes=[{'usage': 'swap', 'size': 1.0}])

    def test_volume_size_required(self):
        env = self.env()
        self.assertHttpError(400, 5, env.group, volumes=[{'usage': 'data'}])

    def test_delete(self):
        env = self.env()
        sg = env.group(volumes=[BOOT])
        sv_uri = sg.get_property('element-uris')[0]
        sg.delete()
        self.assertHttpError(404, 1, env.session.get, sg.uri)
        self.assertHttpError(404, 1, env.session.get, sv_uri)

    def test_delete_refused_while_attached(self):
        # HMC rule I5 [INFER]: the mock deletes it.
        def scenario(env):
            sg = env.group(ports=())
            env.partition().attach_storage_group(sg)
            sg.delete()
        # The mock does not implement attach, so only the simulator.
        self.assertHttpError(409, 1, scenario, self.env())

    def test_candidate_ports_only_fcp_ports(self):
        env = self.env()
        sg = env.group(ports=())
        self.assertHttpError(
            404, None, sg.add_candidate_adapter_ports,
            [env.port('/api/adapters/%s/network-ports/0' % base.OSA)])
        sg.add_candidate_adapter_ports([env.port(base.FCP_A_PORT)])
        self.assertHttpError(409, None, sg.add_candidate_adapter_ports,
                             [env.port(base.FCP_A_PORT)])
        sg.remove_candidate_adapter_ports([env.port(base.FCP_A_PORT)])


class VolumeTest(base.TestCase):

    def test_volume_create_update_delete(self):
        env = self.env()
        sg = env.group()
        sv = sg.storage_volumes.create({'name': 'v1', 'usage': 'data',
                                        'size': 1.0})
        sv.update_properties({'description': 'x', 'size': 2.0})
        self.assertEqual(2.0, env.session.get(sv.uri)['size'])
        sv.delete()
        sg.pull_full_properties()
        self.assertEqual([], sg.get_property('storage-volume-uris'))
        self.assertHttpError(404, 1, env.session.get, sv.uri)

    def test_duplicate_volume_name(self):
        env = self.env()
        sg = env.group(volumes=[BOOT])
        self.assertHttpError(400, 8, sg.storage_volumes.create,
                             {'name': 'boot', 'usage': 'data', 'size': 1.0})

    def test_fulfill(self):
        # HMC rules J2, I4: the mock has no such operation.
        env = self.env()
        sg = env.group(volumes=[BOOT])
        env.partition().attach_storage_group(sg)
        env.connect(sg)
        sv = sg.storage_volumes.list()[0]
        port = env.port(base.FCP_A_PORT)
        sv.indicate_fulfillment_fcp(base.TARGET, base.LUN, port)
        sv.pull_full_properties()
        self.assertEqual('complete', sv.get_property('fulfillment-state'))
        self.assertRegex(sv.get_property('uuid'), '^[0-9A-F]{32}$')
        sg.pull_full_properties()
        self.assertEqual('complete', sg.get_property('fulfillment-state'))

        mock = self.env(False)
        msg = mock.session.hmc.consoles.console.storage_groups
        mock_sg = msg.add({'name': 'SG', 'cpc-uri': base.CPC_URI,
                           'type': 'fcp'})
        mock_sv = mock_sg.storage_volumes.add({'name': 'b', 'usage': 'boot'})
        self.assertHttpError(
            404, None, mock.session.post,
            mock_sv.uri + '/operations/fulfill-fcp-storage-volume',
            body={'world-wide-port-name': base.TARGET,
                  'logical-unit-number': base.LUN,
                  'adapter-port-uri': base.FCP_A_PORT})

    def test_fulfill_hex_format(self):
        # HMC rule J2: exactly 16 lower-case hex characters.
        env = self.env()
        sg = env.group(volumes=[BOOT])
        sv_uri = sg.get_property('element-uris')[0]
        uri = sv_uri + '/operations/fulfill-fcp-storage-volume'
        for wwpn, lun in ((base.TARGET.upper(), base.LUN),
                          (base.TARGET, '1'), ('zz' * 8, base.LUN)):
            self.assertHttpError(
                400, 7, env.session.post, uri,
                body={'world-wide-port-name': wwpn,
                      'logical-unit-number': lun,
                      'adapter-port-uri': base.FCP_A_PORT})

    def test_fulfill_needs_candidate_port(self):
        env = self.env()
        sg = env.group(volumes=[BOOT], ports=(base.FCP_A_PORT,))
        sv = sg.storage_volumes.list()[0]
        self.assertHttpError(409, 1, sv.indicate_fulfillment_fcp,
                             base.TARGET, base.LUN,
                             env.port(base.FCP_B_PORT))


class AttachTest(base.TestCase):

    def test_attach_creates_vsrs(self):
        # HMC rules K1, K4: the mock has no attach at all.
        mock = self.env(False)
        p = mock.partition()
        sg = mock.session.hmc.consoles.console.storage_groups.add(
            {'name': 'SG', 'cpc-uri': base.CPC_URI, 'type': 'fcp'})
        self.assertHttpError(
            404, 1, mock.session.post,
            p.uri + '/operations/attach-storage-group',
            body={'storage-group-uri': sg.uri})

        env = self.env()
        p = env.partition()
        nic = env.nic(p)
        sg = env.group(volumes=[{'name': 'boot', 'usage': 'boot',
                                 'size': 10.0}])
        p.attach_storage_group(sg)
        p.pull_full_properties()
        self.assertEqual([sg.uri], p.get_property('storage-group-uris'))
        self.assertEqual([sg.uri],
                         [g.uri for g in p.list_attached_storage_groups()])
        vsrs = sg.virtual_storage_resources.list(full_properties=True)
        self.assertEqual(2, len(vsrs))
        nic.pull_full_properties()
        first = int(nic.get_property('device-number'), 16)
        nic_devnos = set(range(first, first + 3))
        devnos = set()
        for n, vsr in enumerate(vsrs, 1):
            props = vsr.properties
            self.assertEqual('vhba_SG1%d' % n, props['name'])
            self.assertRegex(props['world-wide-port-name'],
                             '^[0-9a-f]{16}$')
            self.assertRegex(props['device-number'], '^[0-9a-f]{4}$')
            self.assertNotIn(int(props['device-number'], 16), nic_devnos)
            devnos.add(props['device-number'])
            self.assertEqual(p.uri, props['partition-uri'])
        self.assertEqual(2, len(devnos))
        # Not validated yet: no port (IBM: Attach Storage Group to
        # Partition); discovery assigns them (test_san.py).
        self.assertEqual({None},
                         {v.get_property('adapter-port-uri') for v in vsrs})
        env.connect(sg)
        vsrs = sg.virtual_storage_resources.list(full_properties=True)
        self.assertEqual({base.FCP_A_PORT, base.FCP_B_PORT},
                         {v.get_property('adapter-port-uri') for v in vsrs})
        self.assertEqual([p.uri],
                         [x.uri for x in sg.list_attached_partitions()])

    def test_connectivity_limits_vsrs(self):
        env = self.env()
        p = env.partition()
        sg = env.group(connectivity=1)
        p.attach_storage_group(sg)
        self.assertEqual(1, len(sg.virtual_storage_resources.list()))

    def test_attach_twice(self):
        env = self.env()
        p = env.partition()
        sg = env.group()
        p.attach_storage_group(sg)
        self.assertHttpError(409, 1, p.attach_storage_group, sg)

    def test_non_shared_group_to_second_partition(self):
        # HMC rule K2
        env = self.env()
        sg = env.group()
        env.partition('a').attach_storage_group(sg)
        self.assertHttpError(409, 1, env.partition('b').attach_storage_group,
                             sg)

    def test_shared_group_max_partitions(self):
        env = self.env()
        sg = env.group(shared=True, **{'max-partitions': 2})
        env.partition('a').attach_storage_group(sg)
        env.partition('b').attach_storage_group(sg)
        self.assertHttpError(409, 1, env.partition('c').attach_storage_group,
                             sg)
        self.assertEqual(4, len(sg.virtual_storage_resources.list()))

    def test_detach(self):
        env = self.env()
        p = env.partition()
        sg = env.group()
        p.attach_storage_group(sg)
        env.set_status(p.uri, 'active')
        # HMC rule K3 [INFER]
        self.assertHttpError(409, 1, p.detach_storage_group, sg)
        env.set_status(p.uri, 'stopped')
        p.detach_storage_group(sg)
        self.assertEqual([], sg.virtual_storage_resources.list())
        p.pull_full_properties()
        self.assertEqual([], p.get_property('storage-group-uris'))
        self.assertHttpError(409, 1, p.detach_storage_group, sg)
        sg.delete()

    def test_attach_while_starting(self):
        env = self.env()
        p = env.partition()
        sg = env.group()
        env.begin(p, 'start')
        self.assertHttpError(409, 1, p.attach_storage_group, sg)

    def test_data_volume_found_by_discovery(self):
        env = self.env()
        p = env.partition()
        sg = env.group(volumes=[DATA])
        sv = sg.storage_volumes.list()[0]
        p.attach_storage_group(sg)
        # Attached, but the SAN shows the group nothing yet.
        self.assertEqual('pending',
                         env.session.get(sv.uri)['fulfillment-state'])
        env.connect(sg, size=5.0)
        props = env.session.get(sv.uri)
        self.assertEqual('complete', props['fulfillment-state'])
        self.assertEqual(2, len(props['paths']))
        self.assertEqual({p.uri},
                         {x['partition-uri'] for x in props['paths']})
        # A volume defined later waits for its LUN and a discovery.
        sv2 = sg.storage_volumes.create({'name': 'd2', 'size': 1.0})
        self.assertEqual('pending',
                         env.session.get(sv2.uri)['fulfillment-state'])
        env.connect(sg, lun='4002400000000000', size=1.0)
        self.assertEqual('complete',
                         env.session.get(sv2.uri)['fulfillment-state'])
        self.assertEqual('complete',
                         env.session.get(sg.uri)['fulfillment-state'])

    def test_volume_on_one_path_of_two_is_incomplete(self):
        # The plain mock neither attaches groups nor discovers: its volumes
        # stay pending.
        env = self.env()
        p = env.partition()
        sg = env.group(volumes=[DATA])
        sv = sg.storage_volumes.list()[0]
        p.attach_storage_group(sg)
        first = sg.virtual_storage_resources.list(full_properties=True)[0]
        env.sim.map_volume([first.get_property('world-wide-port-name')],
                           [base.TARGET], base.LUN, 5.0)
        sg.discover_fcp(wait_for_completion=True)
        props = env.session.get(sv.uri)
        self.assertEqual('incomplete', props['fulfillment-state'])
        self.assertEqual(1, len(props['paths']))
        self.assertEqual('pending',
                         env.session.get(sg.uri)['fulfillment-state'])
        # Once the other path sees it too, it is complete.
        env.connect(sg, size=5.0)
        self.assertEqual('complete',
                         env.session.get(sv.uri)['fulfillment-state'])

    def test_fulfilled_data_volume_gets_its_own_lun(self):
        # Two LUNs of the same size: the fulfilment decides, not the
        # pairing of discovery.
        env = self.env()
        p = env.partition()
        sg = env.group(volumes=[DATA])
        sv = sg.storage_volumes.list()[0]
        p.attach_storage_group(sg)
        wwpns = env.connect(sg, lun='4002400000000000', size=1.0)
        env.sim.map_volume(wwpns, [base.TARGET], '4003400000000000', 5.0)
        port = env.session.get(sg.virtual_storage_resources.list()[0].uri)[
            'adapter-port-uri']
        sv.indicate_fulfillment_fcp(base.TARGET, '4003400000000000',
                                    env.port(port))
        env.connect(sg, lun=base.LUN, size=5.0)
        props = env.session.get(sv.uri)
        self.assertEqual('complete', props['fulfillment-state'])
        self.assertEqual({'4003400000000000'},
                         {x['logical-unit-number'] for x in props['paths']})

    def test_vsr_update(self):
        env = self.env()
        p = env.partition()
        sg = env.group()
        p.attach_storage_group(sg)
        one, two = sg.virtual_storage_resources.list()
        one.update_properties({'name': 'path-1', 'device-number': '0A00'})
        self.assertEqual('0a00', env.session.get(one.uri)['device-number'])
        self.assertHttpError(400, 8, two.update_properties,
                             {'name': 'path-1'})
        self.assertHttpError(400, 8, two.update_properties,
                             {'device-number': '0a00'})
        self.assertHttpError(400, 6, two.update_properties,
                             {'world-wide-port-name': base.TARGET})


class BootFromVolumeTest(base.TestCase):

    def test_end_to_end(self):
        # HMC rule L1: everything through zhmcclient.
        env = self.env(transition_time=0.01)
        p = env.partition()
        sg = env.group(volumes=[BOOT])
        p.attach_storage_group(sg)
        sv = sg.storage_volumes.find(name='boot')
        p.update_properties({'boot-device': 'storage-volume',
                             'boot-storage-volume': sv.uri})
        # Not fulfilled yet: nothing to boot.
        p.start(wait_for_completion=False)
        env.sim.complete_transitions()
        self.assertEqual('paused', env.faked(p.uri).properties['status'])
        p.stop()
        env.connect(sg)
        sv.indicate_fulfillment_fcp(base.TARGET, base.LUN,
                                    env.port(base.FCP_A_PORT))
        p.start()
        self.assertEqual('active', p.get_property('status'))
        p.stop()
        p.detach_storage_group(sg)
        sg.delete()
        p.delete()
