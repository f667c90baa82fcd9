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

"""NICs on adapter ports (VIF type dpm_adapter), and waiting for Neutron.

The driver runs on the z17 definition (network-express-support, no virtual
switches) and on z16 (virtual switches), against the simulated HMC.
"""

from nova.compute import power_state
from nova import exception as nova_exception

from nova_dpm.cmd import check
from nova_dpm.tests.unit import base
from nova_dpm.tests.unit import test_check
from nova_dpm.tests.unit import test_driver

OSA_PORT_1 = '/api/adapters/%s/network-ports/1' % base.OSA


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
        self.assertIn('port 1 of adapter Network Express Hybrid 0150, '
                      'which has no such port', message)
        message = self.refused(self.port_vif(
            'port-y', 'fa:16:3e:00:00:01',
            '0e0000ff-0000-4000-8000-0000000000ff', 0))
        self.assertIn('Port port-y', message)
        self.assertIn('network adapter 0e0000ff-0000-4000-8000-0000000000ff,'
                      ' which the HMC does not know', message)
        message = self.refused(
            self.port_vif('port-z', 'fa:16:3e:00:00:01', base.FCP_A, 0))
        self.assertIn('FCP-A (ficon) is not a network adapter', message)

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
        self.edit_definition(test_driver.add_other_cpc)
        self.start()
        message = self.refused(self.port_vif(
            'port-x', 'fa:16:3e:00:00:01', test_driver.OTHER_OSA, 0))
        self.assertIn('its adapter OSA-X is not on CPC CPC1', message)


class AdapterPortWithVirtualSwitchesTest(base.DriverTestCase):
    definition = 'z16'

    def test_cpc_with_virtual_switches(self):
        self.assertFalse(self.driver.network.adapter_ports_only)
        # It has virtual switches: no need to ask for API features.
        self.assertNotIn('list-features',
                         ' '.join(p for _m, p in self.sim.requests))

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


class CheckZ17Test(test_check.CheckTestCase):
    definition = 'z17'

    def test_lists_adapter_ports_instead_of_virtual_switches(self):
        rows = self.run_check(0)
        self.assert_row('virtual switch', check.INFO,
                        'CPC CPC1 has no virtual switches',
                        'bound as dpm_adapter', '4 network adapter port(s)')
        ports = [r.detail for r in rows['adapter port']]
        self.assertIn('Network Express Hybrid 0150 (%s) port 0, family '
                      'network-express' % base.NETX_1, ports)
        self.assertIn('OSA-1 (%s) port 1, family osa' % base.OSA, ports)
        self.assert_row('init_host', check.PASS, 'nova-compute would start')
