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

"""nova_dpm/simulator/network.py: z17, no virtual switches, port NICs.

Sources of the rules: see nova_dpm/simulator/network.py. Each test shows
what the plain mock does with the same request.
"""

import zhmcclient

from nova_dpm.simulator import catalog
from nova_dpm.tests.unit.simulator import base

NETX_1 = catalog.NETX_1
NETX_1_PORT = '/api/adapters/%s/network-ports/0' % NETX_1
OSA_PORT_1 = '/api/adapters/%s/network-ports/1' % base.OSA


def _port_nic(part, port=NETX_1_PORT, name='nic-1', **props):
    body = {'name': name, 'network-adapter-port-uri': port}
    body.update(props)
    return part.nics.create(body)


class Z17Test(base.TestCase):

    def env17(self, strict=True):
        return self.env(strict, 'z17')

    def test_cpc_has_network_express_support_and_no_virtual_switch(self):
        # The mock cannot carry API features in a definition.
        self.assertFalse(self.env17(False).cpc.api_feature_enabled(
            'network-express-support'))
        env = self.env17()
        self.assertTrue(env.cpc.api_feature_enabled(
            'network-express-support'))
        self.assertEqual([], env.cpc.virtual_switches.list())
        # The feature list is no CPC property on a real HMC.
        env.cpc.pull_full_properties()
        self.assertNotIn('available-api-features-list', env.cpc.properties)

    def test_network_express_adapter_has_its_port(self):
        # The mock builds Network Express adapters without ports.
        plain = self.env17(False)
        self.assertRaises(zhmcclient.HTTPError, plain.session.get,
                          NETX_1_PORT)
        env = self.env17()
        adapter = env.cpc.adapters.find(name='Network Express Hybrid 0150')
        self.assertEqual('network-express',
                         adapter.get_property('adapter-family'))
        ports = adapter.ports.list(full_properties=True)
        self.assertEqual([(NETX_1_PORT, 0)],
                         [(p.uri, p.get_property('index')) for p in ports])

    def test_virtual_switch_uri_refused(self):
        # The mock answers 404 (no such virtual switch); the simulator says
        # why: the CPC has none, NICs name their adapter port.
        plain = self.env17(False)
        exc = self.assertHttpError(404, None, plain.nic, plain.partition(),
                                   vswitch=base.VS0)
        env = self.env17()
        exc = self.assertHttpError(400, 7, env.nic, env.partition(),
                                   vswitch=base.VS0)
        self.assertIn('network-adapter-port-uri', exc.body['message'])
        self.assertIn('network-express-support', exc.body['message'])

    def test_both_uris_refused(self):
        # The mock takes the port and ignores the virtual switch.
        # The mock takes the port, then fails inside (no HMC answer).
        both = {'virtual-switch-uri': base.VS0}
        plain = self.env17(False)
        self.assertRaises(zhmcclient.mock.InputError, _port_nic,
                          plain.partition(), OSA_PORT_1, **both)
        env = self.env17()
        self.assertHttpError(400, 15, _port_nic, env.partition(), OSA_PORT_1,
                             **both)

    def test_osa_port_backs_a_nic(self):
        # With network-express-support OSA NICs name their port too (on
        # z16 the same request is refused: test_osa_port_uri_refused).
        env = self.env17()
        nic = _port_nic(env.partition(), OSA_PORT_1)
        nic.pull_full_properties()
        self.assertEqual('osd', nic.properties['type'])
        self.assertEqual(OSA_PORT_1,
                         nic.properties['network-adapter-port-uri'])

    def test_network_express_nic_needs_type_neth(self):
        # [UNCERTAIN] inferred: a NIC on a Network Express port names its
        # type. The mock cannot even find the port.
        plain = self.env17(False)
        self.assertHttpError(404, None, _port_nic, plain.partition())
        env = self.env17()
        part = env.partition()
        self.assertHttpError(400, 5, _port_nic, part)
        self.assertHttpError(400, 7, _port_nic, part, type='osd')
        nic = _port_nic(part, type='neth')
        nic.pull_full_properties()
        self.assertEqual('neth', nic.properties['type'])

    def test_neth_nics_use_pci_device_numbers(self):
        # HMC rule H2: a PCI function's number does not collide with the
        # channel-based numbers of OSA NICs and storage paths.
        env = self.env17()
        part = env.partition()
        osa = part.nics.create({'name': 'osa', 'device-number': '0001',
                                'network-adapter-port-uri': OSA_PORT_1})
        neth = part.nics.create({'name': 'neth', 'device-number': '0001',
                                 'type': 'neth',
                                 'network-adapter-port-uri': NETX_1_PORT})
        self.assertEqual('0001', osa.get_property('device-number'))
        self.assertEqual('0001', neth.get_property('device-number'))
        self.assertHttpError(400, 8, part.nics.create, {
            'name': 'osa-2', 'device-number': '0003',
            'network-adapter-port-uri': OSA_PORT_1})

    def test_port_must_exist(self):
        # An index the adapter does not have; the mock checks this too.
        missing = '/api/adapters/%s/network-ports/1' % NETX_1
        part = self.env17().partition()
        self.assertHttpError(404, 6, _port_nic, part, missing, type='neth')
        # A storage port is no network port.
        self.assertHttpError(404, None, _port_nic, part, base.FCP_A_PORT)

    def test_no_vlan_on_network_express_nics(self):
        # HMC rule H3: VLAN ids only for OSA and HiperSockets NICs.
        part = self.env17().partition()
        vlan = {'vlan-id': 10, 'vlan-type': 'enforced'}
        self.assertHttpError(400, 7, _port_nic, part, type='neth', **vlan)
        nic = _port_nic(part, OSA_PORT_1, **vlan)
        self.assertEqual(10, nic.get_property('vlan-id'))

    def test_type_stays_read_only_without_network_express(self):
        # HMC rule H4: on z16 'type' is not an input.
        env = self.env()
        self.assertHttpError(400, 6, env.nic, env.partition(), type='osd')


class ConnectedVnicsTest(base.TestCase):
    """Get Connected VNICs of a Virtual Switch is a GET (HMC rule H11)."""

    URI = '/api/virtual-switches/%s/operations/get-connected-vnics' % (
        catalog.VSWITCH_0)

    def test_get_answers_and_post_is_refused(self):
        # The plain mock has it the wrong way round.
        plain = self.env(False)
        self.assertRaises(zhmcclient.HTTPError, plain.session.get, self.URI)
        self.assertIn('connected-vnic-uris', plain.session.post(self.URI))
        env = self.env()
        self.assertEqual([], env.session.get(self.URI)['connected-vnic-uris'])
        exc = self.assertRaises(zhmcclient.HTTPError, env.session.post,
                                self.URI)
        self.assertEqual(405, exc.http_status)
        # What zhmcclient itself sends.
        vswitch = env.cpc.virtual_switches.find(
            **{'object-id': catalog.VSWITCH_0})
        self.assertEqual([], vswitch.get_connected_nics())
