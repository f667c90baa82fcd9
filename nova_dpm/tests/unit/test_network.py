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

"""nova_dpm/network.py: NICs on virtual switches and adapter ports, VLANs.

The rules that need no HMC (device numbers, the MAC contract with the guest
tools, supported ports), VLAN NICs and the HMC and SE versions that allow
them, NICs on adapter ports (VIF type dpm_adapter, z17 Network Express) and
waiting for Neutron's network-vif-plugged.
"""

import json
import os
from unittest import mock

from nova.compute import power_state
from nova import exception as nova_exception
from nova.network import model as network_model
import testtools

from nova_dpm import exception
from nova_dpm import hmc as hmc_module
from nova_dpm import network
from nova_dpm.tests.unit import base


VECTORS = os.path.join(os.path.dirname(__file__), 'guest_tools',
                       'vectors.json')


def vif(port_id, mac, vswitch=base.VSWITCH_0, vif_type='dpm_vswitch',
        vlan=None):
    return {'id': port_id, 'address': mac, 'type': vif_type,
            'details': {'object_id': vswitch},
            'network': {'meta': {'vlan': vlan} if vlan else {}}}


def _hmc(api, se):
    def edit(data):
        data['hmc_definition']['api_version'] = api
        data['hmc_definition']['cpcs'][0]['properties']['se-version'] = se
    return edit


OSA_PORT_1 = '/api/adapters/%s/network-ports/1' % base.OSA


class NetworkRulesTest(testtools.TestCase):

    def test_driver_writes_the_guest_tools_test_vectors(self):
        with open(VECTORS) as f:
            vectors = json.load(f)
        self.assertGreater(len(vectors), 2)
        for case in vectors:
            entries = [(n['devno'], n['port'], n['mac'])
                       for n in case['nics']]
            self.assertEqual(case['cmdline'],
                             network.boot_parameters(entries))

    def test_device_numbers_leave_room_for_osa_triplets(self):
        self.assertEqual(['0001', '0004', '0007'],
                         network.device_numbers(3))

    def test_device_numbers_avoid_the_storage_paths(self):
        # VSRs the HMC numbered 0005 and 000a: every NIC triple avoids them.
        self.assertEqual(['0001', '0006', '000b'],
                         network.device_numbers(3, {'0005', '000A'}))

    def test_taken_device_numbers_are_hexadecimal(self):
        # 0010 is 16 and 001A is 26 only when read in base 16.
        self.assertEqual(
            ['0001', '0004', '0007', '000a', '000d', '0011'],
            network.device_numbers(6, ['0010']))
        self.assertEqual(
            ['0001', '0004', '0007', '000a', '000d', '0010', '0013',
             '0016', '001b'],
            network.device_numbers(9, {'001A'}))
        # 0100 (256) is far beyond: nothing moves; 0003 moves the first.
        self.assertEqual(['0001', '0004'],
                         network.device_numbers(2, ['0100']))
        self.assertEqual(['0004', '0007'],
                         network.device_numbers(2, ['0003', '0100']))

    def test_nic_device_numbers_per_space(self):
        # Channel-based NICs (three numbers each) avoid the storage paths
        # and each other; PCI functions (one number each) only each other.
        self.assertEqual(
            ['0001', '0001', '0011', '0002', '0014', '0003'],
            network.nic_device_numbers(
                ['osd', 'neth', 'iqd', 'roce', 'osd', 'cna'],
                taken=['0004', '0007', '000A', '000d', '0010']))
        self.assertEqual(['0001', '0002', '0003'],
                         network.nic_device_numbers(['neth'] * 3,
                                                    taken=['0001']))
        self.assertEqual(['0001', '0002', '0003', '0001'],
                         network.nic_device_numbers(
                             ['cna', 'roce', 'neth', 'iqd']))
        self.assertEqual([], network.nic_device_numbers([]))

    def test_each_nic_its_own_numbers_beyond_0010(self):
        # Numbers with hex digits above 9 or two digits: the numbers a NIC
        # occupies are read back in base 16, whatever they look like.
        self.assertEqual(['%04x' % n for n in range(1, 19)],
                         network.nic_device_numbers(['neth'] * 18))
        self.assertEqual(['0030', '0033'], network.nic_device_numbers(
            ['osd', 'osd'], taken=['%04x' % n for n in range(1, 0x30)]))
        self.assertEqual(['0001', '0004', '0010', '0013'],
                         network.nic_device_numbers(
                             ['iqd', 'osd', 'osd', 'iqd'],
                             taken=['000e', '000f', '000c', '0009', '0007']))
        self.assertEqual(['0004', '000f'], network.nic_device_numbers(
            ['osd', 'osd'], taken=['0009', '000e', '000b', '0003', '001c']))

    def test_vlan_supported(self):
        cases = [
            (None, None, False), ((1, 7), None, False),
            ((2, 19), None, False), ((2, 20), None, True),
            ((2, 20), '2.14.0', True), ((2, 20), '2.13.1', False),
            ((4, 10), '2.16.0', True), ((4, 10), '2.13.1', False),
            ((3, 0), '2.15.1', True), ([2, 23], '2.14.1', True),
            ((2, 21), '2.9.9', False), ((2, 2), '2.16.0', False),
        ]
        for api, se, expected in cases:
            self.assertEqual(expected, network.vlan_supported(api, se),
                             (api, se))

    def test_plan_reads_each_port(self):
        vifs = [vif('p1', 'FA:16:3E:00:00:01'),
                vif('p2', 'fa:16:3e:00:00:02', vswitch=base.VSWITCH_1.upper(),
                    vlan='12'),
                {'id': 'p3', 'address': 'fa:16:3e:00:00:03',
                 'type': 'dpm_adapter',
                 'details': {'object_id': base.NETX_1, 'port': '3'}}]
        self.assertEqual([
            network.Nic('p1', 'fa:16:3e:00:00:01', 'dpm_vswitch',
                        base.VSWITCH_0, None, None),
            network.Nic('p2', 'fa:16:3e:00:00:02', 'dpm_vswitch',
                        base.VSWITCH_1, None, 12),
            network.Nic('p3', 'fa:16:3e:00:00:03', 'dpm_adapter',
                        base.NETX_1, 3, None)],
            network.nics_from_vifs(vifs, (2, 20), '2.14.0'))
        self.assertEqual([], network.nics_from_vifs(None))
        # Without versions, VLAN ports are refused.
        exc = self.assertRaises(exception.InvalidNetwork,
                                network.nics_from_vifs, vifs[1:2])
        self.assertIn('this HMC has an unknown version',
                      exc.format_message())

    def test_adapter_port_index_range(self):
        for index in (-1, 4, 'x', None):
            bad = {'id': 'p3', 'address': 'fa:16:3e:00:00:03',
                   'type': 'dpm_adapter',
                   'details': {'object_id': base.NETX_1, 'port': index}}
            exc = self.assertRaises(exception.InvalidNetwork,
                                    network.nics_from_vifs, [bad])
            self.assertIn('an integer from 0 to 3; got %r' % (index,),
                          exc.format_message())

    def test_vlan_from_binding_details_before_network(self):
        port = vif('p1', 'fa:16:3e:00:00:01', vlan=7)
        port['details']['vlan'] = '9'
        self.assertEqual(9, network.nics_from_vifs([port], (2, 20))[0].vlan)
        port['details']['vlan'] = ''
        self.assertEqual(7, network.nics_from_vifs([port], (2, 20))[0].vlan)
        for edge in ('1', '4094'):
            port['details']['vlan'] = edge
            self.assertEqual(
                int(edge), network.nics_from_vifs([port], (2, 20))[0].vlan)

    def test_twelve_nics_fit_thirteen_do_not(self):
        vifs = [vif('p%d' % i, 'fa:16:3e:00:00:%02x' % i) for i in range(13)]
        nics = network.nics_from_vifs(vifs[:12])
        value = network.boot_parameters(
            [(d, 3, n.mac) for d, n in zip(network.device_numbers(12),
                                           nics)])
        self.assertEqual(240, len(value))
        exc = self.assertRaises(exception.InvalidNetwork,
                                network.nics_from_vifs, vifs)
        self.assertIn('at most 12', exc.format_message())
        exc = self.assertRaises(
            exception.InvalidNetwork, network.boot_parameters,
            [('0001', 0, 'fa:16:3e:00:00:01')] * 13)
        self.assertIn('the HMC allows 256', exc.format_message())

    def test_unsupported_ports_are_refused(self):
        cases = [
            (vif('p1', 'fa:16:3e:00:00:01', vif_type='ovs'),
             "VIF type 'ovs'; only 'dpm_adapter' and 'dpm_vswitch' work"),
            (vif('p1', 'fa:16:3e:00:00:01', vlan=100), 'on VLAN 100'),
            (vif('p1', 'fa:16:3e:00:00:01', vswitch='vs1'),
             'no virtual switch object_id'),
            (vif('p1', 'not-a-mac'), "'not-a-mac' is not a MAC"),
        ]
        for bad, words in cases:
            exc = self.assertRaises(exception.InvalidNetwork,
                                    network.nics_from_vifs, [bad])
            self.assertIn(words, exc.format_message())
            self.assertIn('p1', exc.format_message())


class CreateNicTest(base.DriverTestCase):
    """Create NIC as the HMC receives it, on each definition."""

    definitions = base.WITH_Z17

    def sent_nics(self):
        return [body for _uri, body in self.sim.sent(
            'POST', '/api/partitions/{id}/nics')]

    def test_create_nic_bodies_as_sent(self):
        instance, _c = self.build()
        part = self.faked_partition(instance)
        sent = self.sent_nics()
        description = 'OpenStack mac=fa:16:3e:00:00:0%s, CPCSubset=subset1'
        if self.definition in base.NO_VSWITCH_DEFINITIONS:
            backing = [{'network-adapter-port-uri':
                        '/api/adapters/%s/network-ports/0' % adapter,
                        'type': 'neth'}
                       for adapter in (base.NETX_1, base.NETX_2)]
            devnos = ['0001', '0002']
            ports = [0, 0]
        else:
            backing = [{'virtual-switch-uri': '/api/virtual-switches/%s' %
                        vswitch} for vswitch in (base.VSWITCH_0,
                                                 base.VSWITCH_1)]
            devnos = ['0001', '0004']
            ports = [0, 1]
        expected = []
        for letter, devno, props in zip('ab', devnos, backing):
            body = {'name': 'OpenStack_Port_port-%s' % letter,
                    'description': description % letter,
                    'device-number': devno}
            body.update(props)
            expected.append(body)
        self.assertEqual(expected, sent)
        # What the HMC holds: the same NICs, and the boot parameters
        # naming their device numbers and ports.
        held = {n.properties['name']: n.properties for n in part.nics.list()}
        for body in sent:
            for key, value in body.items():
                self.assertEqual(value, held[body['name']][key])
        self.assertEqual(
            '%s,%d,fa163e00000a;%s,%d,fa163e00000b;' % (
                devnos[0], ports[0], devnos[1], ports[1]),
            part.properties['boot-os-specific-parameters'])

    def test_vlan_nic_as_sent(self):
        vif = self.vif('port-v', 'fa:16:3e:00:00:0c', base.VSWITCH_1)
        vif['details'][network_model.VIF_DETAILS_VLAN] = '101'
        if self.definition in base.NO_VSWITCH_DEFINITIONS:
            # VLAN ids only on OSA ports there.
            vif = self.port_vif('port-v', 'fa:16:3e:00:00:0c', base.OSA, 1,
                                vlan='101')
        if self.definition == 'z13':
            # API 1.7: refused before anything is sent.
            self.assertRaises(nova_exception.InstanceUnacceptable,
                              self.build, network_info=[vif])
            self.assertEqual([], self.sim.sent('POST'))
            return
        self.build(network_info=[vif])
        body, = self.sent_nics()
        self.assertEqual((101, 'enforced'),
                         (body['vlan-id'], body['vlan-type']))
        self.assertNotIn('type', body)

    def test_vlan_supported_by_each_definition(self):
        se = self.faked_cpc.properties['se-version']
        self.assertEqual(
            self.definition != 'z13',
            network.vlan_supported(self.driver.api_version, se))
        self.assertEqual(
            self.definition != 'z13',
            network.vlan_supported(self.driver.network.api_version))


def _add_adapter(object_id, family, adapter_type, adapter_id):
    """An edit: a network adapter with two ports on the definition's CPC."""
    def edit(data):
        base.DriverTestCase.cpc_definition(data)['adapters'].append({
            'properties': {
                'object-id': object_id, 'name': '%s-%s' % (
                    family.upper(), adapter_id),
                'type': adapter_type, 'adapter-family': family,
                'adapter-id': adapter_id, 'status': 'active',
                'state': 'online', 'port-count': 2},
            'ports': [{'properties': {'element-id': str(i), 'index': i,
                                      'name': 'Port %d' % i}}
                      for i in range(2)]})
    return edit


ROCE = '0c000001-0000-4000-8000-000000000001'
CNA = '0c000002-0000-4000-8000-000000000002'
HIPERSOCKETS = '0c000003-0000-4000-8000-000000000003'
_add_roce = _add_adapter(ROCE, 'roce', 'roce', '0160')
VSWITCH_GET = 'GET /api/virtual-switches/{id}'
ADAPTER_GET = 'GET /api/adapters/{id}'


class VirtualSwitchTest(base.DriverTestCase):
    """NICs on virtual switches: each switch read once per service run."""

    definitions = base.PER_DEFINITION

    def test_switch_ports_from_one_listing_where_the_hmc_gives_them(self):
        known = self.driver.network._vswitch_ports
        if self.definition == 'z13':
            # API 1.7: no listing with additional properties.
            self.assertEqual({}, known)
        else:
            self.assertEqual(
                {'/api/virtual-switches/%s' % base.VSWITCH_0: 0,
                 '/api/virtual-switches/%s' % base.VSWITCH_1: 1}, known)
        self.build()
        self.assertEqual(2 if self.definition == 'z13' else 0,
                         self.sim.count(pattern=VSWITCH_GET))
        self.sim.reset_counts()
        self.build()
        self.assertEqual(0, self.sim.count(pattern=VSWITCH_GET))
        self.assertFalse(self.driver.network.adapter_ports_only)

    def test_requests_of_loading_the_switch_ports(self):
        self.sim.reset_counts()
        self.driver.network.load_vswitch_ports()
        expected = [] if self.definition == 'z13' else [
            ('GET', '/api/cpcs/{id}/virtual-switches')]
        # A CPC with virtual switches is not asked for API features.
        self.assertEqual(expected, self.sim.requests)

    def test_check_returns_the_plan(self):
        vifs = self.two_vifs()
        self.assertEqual(network.nics_from_vifs(vifs, self.driver.api_version),
                         self.driver.network.check_backings(vifs))
        self.assertEqual(2, len(self.driver.network.check_backings(vifs)))

    def test_errors_without_a_port_name_the_switch(self):
        missing = '5e0000ff-0000-4000-8000-0000000000ff'
        exc = self.assertRaises(exception.InvalidNetwork,
                                self.driver.network.vswitch_port, missing)
        self.assertIn('Port %s' % missing, exc.format_message())
        self.edit_definition(base.add_other_cpc)
        self.start()
        exc = self.assertRaises(exception.InvalidNetwork,
                                self.driver.network.vswitch_port,
                                base.OTHER_VSWITCH)
        self.assertIn('Port %s' % base.OTHER_VSWITCH, exc.format_message())
        self.assertIn('is not on CPC CPC1', exc.format_message())

    def test_switch_without_port_number_is_port_0(self):
        def null_port(data):
            for vswitch in self.cpc_definition(data)['virtual_switches']:
                vswitch['properties']['port'] = None
        self.edit_definition(null_port)
        self.start()
        instance, _c = self.build()
        self.assertEqual(
            '0001,0,fa163e00000a;0004,0,fa163e00000b;',
            self.faked_partition(instance).properties[
                'boot-os-specific-parameters'])

    def test_listing_failure_reads_each_switch_when_used(self):
        network_ = self.driver.network
        network_._vswitch_ports.clear()
        self.sim.inject_fault('http500', 'GET', '*/virtual-switches')
        network_.load_vswitch_ports()
        self.assertEqual({}, network_._vswitch_ports)
        if self.definition == 'z13':
            self.assertEqual(0, self.sim.count('GET'))
        else:
            self.assertIn('Could not list the virtual switches of CPC '
                          'CPC1', self.logger.output)
        self.sim.reset_counts()
        instance, _c = self.build()
        self.assertEqual(2, self.sim.count(pattern=VSWITCH_GET))
        self.assertEqual(
            '0001,0,fa163e00000a;0004,1,fa163e00000b;',
            self.faked_partition(instance).properties[
                'boot-os-specific-parameters'])

    def refused(self, vif):
        before = set(self.faked_partitions())
        exc = self.assertRaises(
            nova_exception.InstanceUnacceptable, self.build,
            network_info=[vif])
        self.assertEqual(before, set(self.faked_partitions()))
        self.assertEqual([], self.sim.sent('POST'))
        return exc.format_message()

    def test_unknown_switch_is_refused(self):
        missing = '5e0000ff-0000-4000-8000-0000000000ff'
        message = self.refused(self.vif('port-x', 'fa:16:3e:00:00:01',
                                        missing))
        self.assertIn('Port port-x', message)
        self.assertIn('virtual switch %s, which the HMC does not show'
                      % missing, message)

    def test_switch_of_another_cpc_is_refused(self):
        self.edit_definition(base.add_other_cpc)
        self.start()
        message = self.refused(self.vif('port-x', 'fa:16:3e:00:00:01',
                                        base.OTHER_VSWITCH))
        self.assertIn('its virtual switch OSA-X port 0 is not on CPC CPC1',
                      message)


class AdapterPortBackingTest(base.DriverTestCase):
    """NICs on adapter ports (z17): what is read and what is sent."""

    definition = 'z17'
    start_driver = False

    def test_each_adapter_port_is_read_once(self):
        self.start()
        vifs = [self.port_vif('port-o', 'fa:16:3e:00:00:01', base.OSA, 1),
                self.port_vif('port-n', 'fa:16:3e:00:00:02', base.NETX_1)]
        self.build(network_info=vifs)
        self.assertEqual(2, self.sim.count(pattern=ADAPTER_GET))
        self.assertEqual(3, self.sim.count(pattern='GET /api/adapters/*/*'))
        self.sim.reset_counts()
        self.build(network_info=vifs)
        self.assertEqual(0, self.sim.count(pattern=ADAPTER_GET))
        self.assertEqual(0, self.sim.count(pattern='GET /api/adapters/*/*'))

    def test_roce_port_backs_a_pci_function(self):
        self.edit_definition(_add_roce)
        self.start()
        instance, _c = self.build(network_info=[
            self.port_vif('port-r', 'fa:16:3e:00:00:01', ROCE, 1),
            self.port_vif('port-o', 'fa:16:3e:00:00:02', base.OSA, 0)])
        roce, osa = [body for _u, body in self.sim.sent(
            'POST', '/api/partitions/{id}/nics')]
        self.assertEqual({
            'name': 'OpenStack_Port_port-r',
            'description': 'OpenStack mac=fa:16:3e:00:00:01, '
                           'CPCSubset=subset1',
            'device-number': '0001',
            'network-adapter-port-uri':
                '/api/adapters/%s/network-ports/1' % ROCE}, roce)
        # The OSA NIC's channel numbers avoid the storage group's.
        part = self.faked_partition(instance)
        vsrs = {vsr['device-number'] for vsr in self.vsrs(part)}
        self.assertEqual(2, len(vsrs))
        devno = int(osa['device-number'], 16)
        self.assertFalse(vsrs & {'%04x' % n
                                 for n in range(devno, devno + 3)})
        self.assertEqual(
            '0001,1,fa163e000001;%s,0,fa163e000002;' % osa['device-number'],
            part.properties['boot-os-specific-parameters'])

    def vsrs(self, part):
        found = []
        for sg in self.session.hmc.consoles.console.storage_groups.list():
            for vsr in sg.virtual_storage_resources.list():
                if vsr.properties.get('partition-uri') == part.uri:
                    found.append(vsr.properties)
        return found

    def test_cna_and_hipersockets_ports(self):
        # On a CPC without virtual switches, HiperSockets adapter ports
        # back NICs directly; neither NIC type is named in Create NIC.
        self.edit_definition(lambda d: [
            _add_adapter(CNA, 'cna', 'fcoe', '0170')(d),
            _add_adapter(HIPERSOCKETS, 'hipersockets', 'hipersockets',
                         '0180')(d)])
        self.start()
        instance, _c = self.build(network_info=[
            self.port_vif('port-c', 'fa:16:3e:00:00:01', CNA, 0),
            self.port_vif('port-i', 'fa:16:3e:00:00:02', HIPERSOCKETS, 1),
            self.port_vif('port-n', 'fa:16:3e:00:00:03', base.NETX_1, 0)])
        cna, iqd, neth = [body for _u, body in self.sim.sent(
            'POST', '/api/partitions/{id}/nics')]
        self.assertEqual('/api/adapters/%s/network-ports/0' % CNA,
                         cna['network-adapter-port-uri'])
        self.assertNotIn('type', cna)
        self.assertNotIn('type', iqd)
        self.assertEqual('neth', neth['type'])
        # PCI functions: one number each, in their own space.
        self.assertEqual(('0001', '0002'),
                         (cna['device-number'], neth['device-number']))
        held = {n.properties['name']: n.properties['type']
                for n in self.faked_partition(instance).nics.list()}
        self.assertEqual({'OpenStack_Port_port-c': 'cna',
                          'OpenStack_Port_port-i': 'iqd',
                          'OpenStack_Port_port-n': 'neth'}, held)

    def test_cpc_without_switches_on_an_older_api(self):
        # No API features before 4.10: not known to have no switches.
        def older(data):
            data['hmc_definition']['api_version'] = '4.9'
        self.edit_definition(older)
        self.start()
        self.assertFalse(self.driver.network.adapter_ports_only)
        self.assertNotIn('has no virtual switches', self.logger.output)


class VlanTest(base.DriverTestCase):

    definitions = base.PER_DEFINITION

    def vlan_vif(self, vlan):
        vif = self.vif('port-v', 'fa:16:3e:00:00:0c', base.VSWITCH_1)
        vif['details'][network_model.VIF_DETAILS_VLAN] = vlan
        return vif

    def test_vlan_nic(self):
        vifs = network_model.NetworkInfo(
            [self.vif('port-a', 'fa:16:3e:00:00:0a'), self.vlan_vif('101')])
        if self.definition == 'z13':
            # The z13 definition's HMC (2.13.1) has API version 1.7.
            exc = self.assertRaises(nova_exception.InstanceUnacceptable,
                                    self.build, network_info=vifs)
            self.assertIn('port-v', exc.format_message())
            self.assertIn('this HMC has 1.7', exc.format_message())
            return
        server, _c = self.build(network_info=vifs)
        nics = {n.properties['name']: n.properties
                for n in self.faked_partition(server).nics.list()}
        self.assertEqual(101, nics['OpenStack_Port_port-v']['vlan-id'])
        self.assertEqual('enforced',
                         nics['OpenStack_Port_port-v']['vlan-type'])
        self.assertIsNone(nics['OpenStack_Port_port-a'].get('vlan-id'))
        # The guest tools need nothing else: same boot parameter entries.
        self.assertEqual(
            '0001,0,fa163e00000a;0004,1,fa163e00000c;',
            self.faked_partition(server).properties[
                'boot-os-specific-parameters'])

    def test_vlan_id_out_of_range(self):
        for bad in ('0', '4095', 'abc'):
            exc = self.assertRaises(exception.InvalidNetwork,
                                    self.driver.network.planned_nics,
                                    [self.vlan_vif(bad)])
            self.assertIn('from 1 to 4094', exc.format_message())

    def test_vlan_refused_on_an_old_hmc(self):
        exc = self.assertRaises(exception.InvalidNetwork,
                                network.nics_from_vifs,
                                [self.vlan_vif(5)], (2, 19))
        self.assertIn('2.20 or later', exc.format_message())
        self.assertIn('this HMC has 2.19', exc.format_message())


class OldHmcTest(base.DriverTestCase):
    """The z13 definition: HMC 2.13.1, API 1.7, SE 2.13.1."""

    definition = 'z13'

    def test_vlan_refused_naming_the_api_version(self):
        vif = self.vif('port-v', 'fa:16:3e:00:00:0c')
        vif['details'][network_model.VIF_DETAILS_VLAN] = 7
        exc = self.assertRaises(exception.InvalidNetwork,
                                self.driver.network.planned_nics, [vif])
        self.assertIn('2.20 or later', exc.format_message())
        self.assertIn('this HMC has 1.7', exc.format_message())


class VlanVersionTest(base.DriverTestCase):
    """NIC vlan-type: HMC API 2.20 (zhmc_nic.py), z14 or later (zhmccli)."""

    definition = 'z13'
    start_driver = False

    def vifs(self):
        vif = self.vif('port-v', 'fa:16:3e:00:00:0c', base.VSWITCH_1)
        vif['details'][network_model.VIF_DETAILS_VLAN] = 101
        return network_model.NetworkInfo([vif])

    def test_api_2_20_with_a_z14(self):
        # The old driver required API 2.23 and refused this.
        self.edit_definition(_hmc('2.20', '2.14.0'))
        self.start()
        server, _c = self.build(network_info=self.vifs())
        nic = self.faked_partition(server).nics.list()[0].properties
        self.assertEqual((101, 'enforced'),
                         (nic['vlan-id'], nic['vlan-type']))

    def test_a_z13_under_a_newer_hmc(self):
        # The old driver sent vlan-type, which such a CPC refuses.
        self.edit_definition(_hmc('2.23', '2.13.1'))
        self.start()
        exc = self.assertRaises(exception.InvalidNetwork,
                                self.driver.network.planned_nics, self.vifs())
        self.assertIn('z14 or later CPC', exc.format_message())
        self.assertIn('this CPC has SE 2.13.1', exc.format_message())


class AdapterPortTest(base.DriverTestCase):
    definition = 'z17'

    def refused(self, *vifs):
        exc = self.assertRaises(
            nova_exception.InstanceUnacceptable,
            self.driver.prepare_networks_before_block_device_mapping,
            self.instance(), list(vifs))
        self.assertEqual(0, self.sim.count('POST'))
        return exc.format_message()

    def test_cpc_without_virtual_switches_is_served(self):
        self.assertTrue(self.driver.network.adapter_ports_only)
        self.assertIn('has no virtual switches', self.logger.output)
        # Asked without a Neutron port, the error names the switch.
        exc = self.assertRaises(exception.InvalidNetwork,
                                self.driver.network.vswitch_port,
                                base.VSWITCH_0)
        self.assertIn('Port %s' % base.VSWITCH_0, exc.format_message())

    def test_failed_listing_does_not_decide(self):
        # The old driver took a failed virtual-switch listing for a CPC
        # with virtual switches and refused every dpm_adapter port of
        # its OSA adapters.
        real = hmc_module.simulated_session

        def failing_listing(settings):
            session = real(settings)
            session.simulator.inject_fault(
                'http500', 'GET', '/api/cpcs/{id}/virtual-switches')
            return session

        with mock.patch.object(hmc_module.session, 'simulated_session',
                               failing_listing):
            self.start()
        self.assertTrue(self.driver.network.adapter_ports_only)
        vifs = [self.port_vif('port-o', 'fa:16:3e:00:00:01', base.OSA, 1)]
        instance, _c = self.build(network_info=vifs)
        self.assertEqual('active',
                         self.faked_partition(instance).properties['status'])

    def test_nics_on_osa_and_network_express_ports(self):
        vifs = [self.port_vif('port-o', 'fa:16:3e:00:00:01', base.OSA, 1),
                self.port_vif('port-n', 'fa:16:3e:00:00:02', base.NETX_1,
                              0)]
        instance, _c = self.build(network_info=vifs)
        part = self.faked_partition(instance)
        nics = {n.properties['name']: n.properties
                for n in part.nics.list()}
        osa = nics['OpenStack_Port_port-o']
        neth = nics['OpenStack_Port_port-n']
        self.assertEqual(OSA_PORT_1, osa['network-adapter-port-uri'])
        self.assertEqual('osd', osa['type'])
        self.assertNotIn('virtual-switch-uri', osa)
        self.assertEqual('neth', neth['type'])
        # The OSA NIC's channel-based numbers avoid the storage group's
        # VSRs; the NETH function has PCI numbers of its own.
        self.assertEqual('0001', neth['device-number'])
        self.assertEqual(
            '%s,1,fa163e000001;0001,0,fa163e000002;' % osa['device-number'],
            part.properties['boot-os-specific-parameters'])
        self.assertEqual('active', part.properties['status'])

    def test_virtual_switch_binding_is_refused(self):
        vif = self.vif('port-v', 'fa:16:3e:00:00:01',
                       '5e0000ff-0000-4000-8000-0000000000ff')
        message = self.refused(vif)
        self.assertIn('Port port-v', message)
        self.assertIn('virtual switch 5e0000ff-0000-4000-8000-0000000000ff',
                      message)
        self.assertIn('CPC CPC1 has no virtual switches', message)
        self.assertIn('bind it as dpm_adapter', message)

    def test_port_that_does_not_exist_is_refused(self):
        message = self.refused(
            self.port_vif('port-x', 'fa:16:3e:00:00:01', base.NETX_1, 1))
        self.assertIn('Port port-x', message)
        self.assertIn('adapter Network Express Hybrid 0150 has no port 1 '
                      '(its ports: 0)', message)
        message = self.refused(self.port_vif(
            'port-y', 'fa:16:3e:00:00:01',
            '0e0000ff-0000-4000-8000-0000000000ff', 0))
        self.assertIn('Port port-y', message)
        self.assertIn('the HMC shows no adapter with object-id '
                      '0e0000ff-0000-4000-8000-0000000000ff (it does not '
                      'exist, or the HMC user lacks object-access', message)
        message = self.refused(
            self.port_vif('port-z', 'fa:16:3e:00:00:01', base.FCP_A, 0))
        self.assertIn('FCP-A (fcp) is not a network adapter: its family is '
                      'ficon', message)

    def test_binding_without_port_index_is_refused(self):
        vif = self.port_vif('port-p', 'fa:16:3e:00:00:01')
        vif['details'].pop('port')
        message = self.refused(vif)
        self.assertIn('Port port-p', message)
        self.assertIn('no adapter port index', message)

    def test_vlan_only_on_osa_ports(self):
        vif = self.port_vif('port-v', 'fa:16:3e:00:00:01', base.NETX_1, 0,
                            vlan=100)
        message = self.refused(vif)
        self.assertIn('only OSA and HiperSockets NICs take a VLAN id',
                      message)
        instance, _c = self.build(network_info=[self.port_vif(
            'port-o', 'fa:16:3e:00:00:01', base.OSA, 0, vlan=100)])
        nic = self.faked_partition(instance).nics.list()[0]
        self.assertEqual(100, nic.properties['vlan-id'])
        self.assertEqual('enforced', nic.properties['vlan-type'])

    def test_adapter_of_another_cpc_is_refused(self):
        self.edit_definition(base.add_other_cpc)
        self.start()
        message = self.refused(self.port_vif(
            'port-x', 'fa:16:3e:00:00:01', base.OTHER_OSA, 0))
        self.assertIn('adapter OSA-X is not an adapter of CPC CPC1',
                      message)


class AdapterPortWithVirtualSwitchesTest(base.DriverTestCase):
    definition = 'z16'

    def test_cpc_with_virtual_switches(self):
        self.assertFalse(self.driver.network.adapter_ports_only)

    def test_empty_listing_does_not_decide(self):
        # A user without object access to the virtual switches lists
        # none: the CPC still has them (no network-express-support). The
        # old driver asked for the feature only after an empty listing.
        def edit(data):
            self.cpc_definition(data)['virtual_switches'] = []
        self.edit_definition(edit)
        self.start()
        self.assertFalse(self.driver.network.adapter_ports_only)
        self.assertNotIn('has no virtual switches', self.logger.output)

    def test_osa_port_must_go_through_its_virtual_switch(self):
        exc = self.assertRaises(
            nova_exception.InstanceUnacceptable,
            self.driver.prepare_networks_before_block_device_mapping,
            self.instance(),
            [self.port_vif('port-o', 'fa:16:3e:00:00:01', base.OSA, 1)])
        self.assertIn('Port port-o', exc.format_message())
        self.assertIn('OSA-1 is an osa adapter', exc.format_message())
        self.assertIn('bind it as dpm_vswitch', exc.format_message())


class VifPluggedTest(base.DriverTestCase):
    """network-vif-plugged: nova's libvirt semantics, the DPM order."""

    definition = 'z16'

    def setUp(self):
        super().setUp()
        self.statuses = []
        seen = self.virtapi.nics

        def nics():
            # What the HMC shows when the driver begins to wait.
            self.statuses.extend(p.properties['status']
                                 for p in self.faked_partitions().values()
                                 if p.properties['name'].startswith(
                                     'OpenStack'))
            return seen()
        self.virtapi.nics = nics

    def vifs(self, active_b=False):
        vifs = self.two_vifs()
        vifs[1]['active'] = active_b
        return vifs

    def test_waits_for_down_ports_after_nics_before_start(self):
        instance, _c = self.build(network_info=self.vifs(active_b=True))
        self.assertEqual(1, len(self.virtapi.calls))
        events, timeout, seen = self.virtapi.calls[0]
        # Only the port Neutron reports down; the active one is not
        # waited for (as nova's libvirt driver does).
        self.assertEqual([('network-vif-plugged', 'port-a')], events)
        self.assertEqual(300, timeout)
        # The NICs existed and the partition was stopped during the wait.
        self.assertIn('OpenStack_Port_port-a', seen)
        self.assertEqual(['stopped'], self.statuses)
        self.assertEqual('active',
                         self.faked_partition(instance).properties['status'])

    def test_no_wait_when_nothing_is_down_or_waiting_is_off(self):
        vifs = self.two_vifs()
        for vif in vifs:
            vif['active'] = True
        self.build(network_info=vifs)
        self.flags(vif_plugging_timeout=0)
        self.build()
        self.flags(vif_plugging_timeout=300)
        self.build(power_on=False)
        self.assertEqual([], self.virtapi.calls)

    def test_timeout_is_fatal_by_default(self):
        self.virtapi.outcome = 'timeout'
        self.flags(vif_plugging_timeout=7)
        instance = self.instance()
        self.assertRaises(nova_exception.VirtualInterfaceCreateException,
                          self.build, instance)
        self.assertEqual(7, self.virtapi.calls[0][1])
        self.assertIsNone(self.faked_partition(instance))
        self.assertEqual(0, self.sim.count(
            'POST', '/api/partitions/{id}/operations/start'))

    def test_timeout_not_fatal_starts_anyway(self):
        self.virtapi.outcome = 'timeout'
        self.flags(vif_plugging_is_fatal=False)
        instance, _c = self.build()
        self.assertEqual(power_state.RUNNING,
                         self.driver.get_info(instance, False).state)
        self.assertIn('starting the partition anyway', self.logger.output)

    def test_failed_event(self):
        self.virtapi.outcome = 'failed'
        instance = self.instance()
        self.assertRaises(nova_exception.VirtualInterfaceCreateException,
                          self.build, instance)
        self.assertIsNone(self.faked_partition(instance))
        self.flags(vif_plugging_is_fatal=False)
        instance, _c = self.build()
        self.assertEqual('active',
                         self.faked_partition(instance).properties['status'])


class VifPluggedZ17Test(VifPluggedTest):
    definition = 'z17'


load_tests = base.load_tests
