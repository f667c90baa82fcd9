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

"""A DPMDriver on a simulated HMC built from an HMC definition.

Every test gets its own simulated HMC, loaded from one of the definitions
shipped with nova-dpm (optionally edited: ``edit_definition``), so the
driver runs its real code against HMC state, never against hand mocks.
"""

import copy
import logging
import os
import tempfile
import unittest
import uuid

import fixtures
from nova.compute import power_state
from nova.compute import task_states
from nova.compute import vm_states
from nova import context as nova_context
from nova import exception as nova_exception
from nova.network import model as network_model
from nova import objects
from nova.tests.unit import fake_instance
from nova.virt import block_device
from oslo_config import fixture as config_fixture
from oslo_serialization import jsonutils
import testscenarios
import testtools
import yaml

from nova_dpm import driver
from nova_dpm import exception
from nova_dpm import hmc
from nova_dpm.hmc import session as hmc_session
from nova_dpm.hmc import waits as hmc_waits
from nova_dpm import partition
from nova_dpm import simulator
from nova_dpm.simulator import catalog
from nova_dpm.simulator import hmc as sim_hmc
from nova_dpm.simulator import jobs as sim_jobs
from nova_dpm.simulator import server as server_module
from nova_dpm.simulator import session as sim_session
from nova_dpm import storage
from nova_dpm.tests.unit import fake_virtapi

objects.register_all()

HOST = 'subset1'
# The shipped definitions' ids (nova_dpm/simulator/catalog.py).
CPC_ID = catalog.CPC_ID
CPC_URI = catalog.CPC_URI
FCP_A = catalog.FCP_A
FCP_B = catalog.FCP_B
OSA = catalog.OSA
VSWITCH_0 = catalog.VSWITCH_0
VSWITCH_1 = catalog.VSWITCH_1
# Network Express adapters of the z17 definition (one port each).
NETX_1 = catalog.NETX_1
NETX_2 = catalog.NETX_2
# Definitions of CPCs without virtual switches (network-express-support).
NO_VSWITCH_DEFINITIONS = catalog.NETWORK_EXPRESS_DEFINITIONS
# There, the ports of the virtual switches above are these adapter ports.
VSWITCH_PORTS = {VSWITCH_0: NETX_1, VSWITCH_1: NETX_2}
TARGETS = list(catalog.TARGET_WWPNS)
PASSWORD = 'Never-Log-Me-0xC0FFEE'

# A second CPC, added to a definition by add_other_cpc.
OTHER_CPC = 'c2a2b3c4-d5e6-4f70-8a91-b2c3d4e5f607'
OTHER_FCP = 'fc0000aa-0000-4000-8000-0000000000aa'
OTHER_OSA = '05a000aa-0000-4000-8000-0000000000aa'
OTHER_VSWITCH = '5e0000aa-0000-4000-8000-0000000000aa'


def add_other_cpc(data):
    """A second DPM CPC with an FCP adapter and a virtual switch."""
    cpcs = data['hmc_definition']['cpcs']
    other = copy.deepcopy(cpcs[0])
    other['properties'].update({'object-id': OTHER_CPC, 'name': 'CPC2'})
    fcp, osa = other['adapters'][0], other['adapters'][2]
    fcp['properties'].update({'object-id': OTHER_FCP, 'name': 'FCP-X'})
    osa['properties'].update({'object-id': OTHER_OSA, 'name': 'OSA-X'})
    other['adapters'] = [fcp, osa]
    if other.get('virtual_switches'):
        vswitch = other['virtual_switches'][0]
        vswitch['properties'].update({
            'object-id': OTHER_VSWITCH, 'name': 'OSA-X port 0',
            'backing-adapter-uri': '/api/adapters/' + OTHER_OSA})
        other['virtual_switches'] = [vswitch]
    other['partitions'] = []
    cpcs.append(other)


class FakeClock(fixtures.Fixture):
    """One clock for the driver and the simulated HMC that never waits.

    ``time.monotonic`` and ``time.sleep`` of the modules that wait
    (nova_dpm.hmc's waits and session, nova_dpm.partition, the
    simulator's jobs and session)
    and the simulated HMC's own clock read one counter; a sleep moves it
    on at once. The simulated HMC does nothing in the background (a
    transition, a guest's shutdown or a discovery ends when a request
    finds its time has come), so a wait of N seconds ends as it would in
    real time, only without taking that time. One thread only: not for
    the https transport.
    """

    MODULES = (hmc_waits, hmc_session, partition, sim_jobs,
               sim_session)

    def __init__(self, start=1000.0):
        super().__init__()
        self.now = start

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.now += max(0.0, seconds)

    def _setUp(self):
        for module in self.MODULES:
            self.useFixture(fixtures.MockPatchObject(module, 'time', self))
        self.useFixture(fixtures.MockPatchObject(
            sim_hmc.SimulatedHmc, 'now', staticmethod(self.monotonic)))


class _Observer(object):
    """A wait observer (WaitWatch) acting as polls begin."""

    def __init__(self, poll_begins):
        self.poll_begins = poll_begins

    def poll_ends(self, what, deadline):
        pass

    def wait_ends(self, what, deadline, polls, seconds):
        pass


class _Watched(hmc_waits.Wait):
    """A wait whose polls an observer sees (see WaitWatch)."""

    def __init__(self, wait, deadline, observer):
        self.wait = wait
        self.what = wait.what
        self.wanted = wait.wanted
        self.deadline = deadline
        self.observer = observer
        self.polls = 0

    def read(self):
        self.polls += 1
        self.observer.poll_begins(self.what, self.deadline)
        try:
            return self.wait.read()
        finally:
            self.observer.poll_ends(self.what, self.deadline)

    def done(self, value):
        return self.wait.done(value)

    def state(self, value):
        return self.wait.state(value)


class WaitWatch(fixtures.Fixture):
    """Let ``observer`` watch every wait of hmc.wait_until.

    Wraps the waits module's wait_until (and its name in nova_dpm.hmc):
    ``observer.poll_begins(what, deadline)`` and ``poll_ends(what,
    deadline)`` around each poll, ``wait_ends(what, deadline, polls,
    seconds)`` when a wait ends, whether done, failed or timed out.
    """

    def __init__(self, observer):
        self.observer = observer

    def _setUp(self):
        original = hmc_waits.wait_until
        observer = self.observer

        def watched(wait, deadline):
            wait = _Watched(wait, deadline, observer)
            began = hmc_waits.time.monotonic()
            try:
                return original(wait, deadline)
            finally:
                observer.wait_ends(wait.what, deadline, wait.polls,
                                   hmc_waits.time.monotonic() - began)
        for module in (hmc_waits, hmc):
            self.useFixture(fixtures.MockPatchObject(
                module, 'wait_until', watched))


class DriverTestCase(testtools.TestCase):
    """Base: a driver after init_host on a fresh simulated HMC."""

    definition = 'z13'
    start_driver = True
    # True: the driver and the simulated HMC run on a FakeClock
    # (self.clock): waits take no real time.
    fake_clock = False
    # 'in-process': the driver's session is the simulator's own (fast).
    # 'https': the driver uses a real zhmcclient.Session, TLS verified,
    # against the simulator served on 127.0.0.1 (the production path).
    transport = 'in-process'
    # HMC notifications ([dpm] hmc_notifications).
    notifications = False
    USERID = 'nova'

    def setUp(self):
        super().setUp()
        self.conf = self.useFixture(config_fixture.Config(driver.CONF))
        self.logger = self.useFixture(fixtures.FakeLogger(level='DEBUG'))
        # zhmcclient traces every API call at DEBUG; keep ours readable.
        logging.getLogger('zhmcclient').setLevel(logging.INFO)
        self.context = nova_context.get_admin_context()
        self.clock = None
        if self.fake_clock:
            self.assertEqual('in-process', self.transport)
            self.clock = self.useFixture(FakeClock())
        self.flags(host=HOST)
        self.dpm_flags(
            hmc_mock_file=self.definition,
            cpc_object_id=CPC_ID,
            max_processors=8,
            max_memory=32768,
            physical_storage_adapter_mappings=['%s:0' % FCP_A,
                                               '%s:0' % FCP_B],
            target_wwpn_ignore_list=[],
            hmc_password=PASSWORD,
            hmc_operation_timeout=20)
        # Nova's database of block device mappings, as far as the driver
        # reads it (attach_volume looks up the volume's size there).
        self.volume_bdms = {}
        self.useFixture(fixtures.MockPatch(
            'nova.objects.BlockDeviceMapping.get_by_volume_and_instance',
            side_effect=self._get_bdm))
        # ... and the instance's mappings (the connector of a build reads
        # the boot volume's size there): instance uuid -> [BDM].
        self.instance_bdms = {}
        self.useFixture(fixtures.MockPatch(
            'nova.objects.BlockDeviceMappingList.get_by_instance_uuid',
            side_effect=self._get_bdms))
        self.driver = None
        if self.start_driver:
            self.start()

    def _get_bdm(self, context, volume_id, instance_uuid,
                 expected_attrs=None):
        try:
            return self.volume_bdms[(volume_id, instance_uuid)]
        except KeyError:
            raise nova_exception.VolumeBDMNotFound(volume_id=volume_id)

    def _get_bdms(self, context, instance_uuid, use_slave=False):
        return objects.BlockDeviceMappingList(
            objects=self.instance_bdms.get(instance_uuid, []))

    def boot_bdm(self, instance, size=10, volume_id='vol-boot'):
        """Nova's API records the root BDM (with its size) before a build."""
        bdm = self.bdm({'data': {'volume_id': volume_id}}, size,
                       instance_uuid=instance.uuid)
        self.instance_bdms[instance.uuid] = [bdm]
        return bdm

    def flags(self, **kw):
        for name, value in kw.items():
            self.conf.config(**{name: value})

    def dpm_flags(self, **kw):
        for name, value in kw.items():
            self.conf.config(group='dpm', **{name: value})

    def assert_refused(self, option, *words):
        """init_host refuses the subset, naming [dpm] option and words."""
        exc = self.assertRaises(exception.DPMError, self.start)
        message = exc.format_message()
        self.assertIn('[dpm] %s' % option, message)
        for word in words:
            self.assertIn(word, message)
        return message

    def start(self):
        self.server = None
        if self.transport == 'https':
            self.session = simulator.load_session(
                driver.CONF.dpm.hmc_mock_file)
            self.server = server_module.HmcServer(
                self.session.simulator, self.USERID, PASSWORD).start()
            self.addCleanup(self.server.stop)
            self.dpm_flags(hmc_mock_file=None, hmc=['127.0.0.1'],
                           hmc_port=self.server.port,
                           hmc_username=self.USERID,
                           hmc_ca_bundle=self.server.ca_file,
                           hmc_notification_port=self.server.stomp.port)
        self.dpm_flags(hmc_notifications=self.notifications)
        # After the driver's cleanups: the network side of an in-process
        # HMC (notifications, console WebSockets) stops.
        self.addCleanup(self._stop_serving)
        # Neutron's part: network-vif-plugged for each port whose NIC is
        # on the HMC when the driver waits.
        self.virtapi = fake_virtapi.FakeVirtAPI(self.faked_nic_names)
        self.driver = driver.DPMDriver(virtapi=self.virtapi)
        # As nova-compute does: its host, [DEFAULT] host.
        self.driver.init_host(driver.CONF.host)
        if self.driver.events is not None:
            self.addCleanup(self.driver.events.stop)
        # The simulated HMC reports a start's outcome at once: no need to
        # wait for a late status (HMC rule E3) as on a real HMC.
        self.driver.partitions.start_grace = 0
        if self.server is None:
            self.session = self.driver.hmc.session
        self.sim = self.session.simulator
        self.sim.reset_counts()
        return self.driver

    def _stop_serving(self):
        session = getattr(self, 'session', None)
        if self.server is None and session is not None:
            session.stop_serving()

    def on_poll(self, action, nth=1, what=None):
        """Call ``action`` once, at the nth poll of the driver's waits.

        ``what``: count only the polls of waits for that (hmc.wait_until's
        ``what``). Something happens on the HMC while the driver waits.
        """
        seen = []

        def poll_begins(polled, deadline):
            if what is None or polled == what:
                seen.append(polled)
                if len(seen) == nth:
                    action()

        self.useFixture(WaitWatch(_Observer(poll_begins)))

    # -- HMC definitions -------------------------------------------------

    def edit_definition(self, edit, name=None):
        """Write an edited copy of a shipped definition; use it."""
        with open(simulator.definition_path(name or self.definition)) as f:
            data = yaml.safe_load(f)
        edit(data)
        fd, path = tempfile.mkstemp(suffix='.yaml')
        with os.fdopen(fd, 'w') as f:
            yaml.safe_dump(data, f)
        self.addCleanup(os.unlink, path)
        self.dpm_flags(hmc_mock_file=path)
        return path

    @staticmethod
    def cpc_definition(data):
        return data['hmc_definition']['cpcs'][0]

    # -- the HMC's own state (not through the driver) ----------------------

    @property
    def faked_cpc(self):
        return self.session.hmc.cpcs.lookup_by_oid(CPC_ID)

    def faked_partitions(self):
        return {p.properties['name']: p
                for p in self.faked_cpc.partitions.list()}

    def faked_nic_names(self):
        return {nic.properties['name']
                for part in self.faked_cpc.partitions.list()
                for nic in part.nics.list()}

    def faked_partition(self, instance):
        name = self.driver.partitions.naming.name(instance.uuid)
        return self.faked_partitions().get(name)

    # -- Nova objects ------------------------------------------------------

    def instance(self, vcpus=2, memory_mb=4096, image_ref='', **kw):
        flavor = objects.Flavor(id=1, name='dpm.small', vcpus=vcpus,
                                memory_mb=memory_mb, root_gb=0,
                                ephemeral_gb=0, flavorid='1', swap=0,
                                rxtx_factor=1.0, vcpu_weight=1,
                                disabled=False, is_public=True,
                                extra_specs={}, projects=[])
        values = dict(uuid=str(uuid.uuid4()), host=HOST, node=HOST,
                      image_ref=image_ref, vm_state=vm_states.BUILDING,
                      task_state=task_states.BLOCK_DEVICE_MAPPING,
                      system_metadata={},
                      expected_attrs=['system_metadata'])
        values.update(kw)
        return fake_instance.fake_instance_obj(self.context, flavor=flavor,
                                               **values)

    def vif(self, port_id, mac, vswitch=VSWITCH_0, vif_type='dpm_vswitch'):
        """A port bound as dpm_vswitch.

        On a definition without virtual switches, the virtual switches of
        the others become adapter ports (dpm_adapter).
        """
        if self.definition in NO_VSWITCH_DEFINITIONS and \
                vswitch in VSWITCH_PORTS and vif_type == 'dpm_vswitch':
            return self.port_vif(port_id, mac, VSWITCH_PORTS[vswitch])
        return network_model.VIF(
            id=port_id, address=mac, type=vif_type,
            details={'object_id': vswitch},
            network=network_model.Network(id='net1', bridge=None,
                                          label='flat', subnets=[]))

    @staticmethod
    def port_vif(port_id, mac, adapter=NETX_1, port=0, **details):
        """A port bound as dpm_adapter (an adapter port backs the NIC)."""
        details.update(object_id=adapter, port=port)
        return network_model.VIF(
            id=port_id, address=mac, type='dpm_adapter', details=details,
            network=network_model.Network(id='net1', bridge=None,
                                          label='flat', subnets=[]))

    def two_vifs(self):
        return network_model.NetworkInfo([
            self.vif('port-a', 'fa:16:3e:00:00:0a', VSWITCH_0),
            self.vif('port-b', 'fa:16:3e:00:00:0b', VSWITCH_1)])

    @staticmethod
    def fc_connection(wwpns, lun=1, targets=TARGETS, volume_id='vol-boot'):
        """Connection info as a Cinder FC driver gives it."""
        return {
            'driver_volume_type': 'fibre_channel',
            'serial': volume_id,
            'data': {
                'volume_id': volume_id,
                'target_discovered': False,
                'target_wwn': list(targets),
                'target_lun': lun,
                'initiator_target_map': {w: list(targets) for w in wwpns},
            },
        }

    def bdm(self, connection_info, size=10, boot_index=0,
            instance_uuid=None, device_name='/dev/sda'):
        """Nova's BlockDeviceMapping object of a volume."""
        data = (connection_info or {}).get('data') or {}
        return objects.BlockDeviceMapping(
            self.context, id=1, source_type='volume',
            destination_type='volume',
            volume_id=data.get('volume_id') or 'vol-boot',
            boot_index=boot_index, device_name=device_name,
            volume_size=size, connection_info=jsonutils.dumps(
                connection_info),
            delete_on_termination=False,
            instance_uuid=instance_uuid or str(uuid.uuid4()),
            attachment_id=None, disk_bus=None, device_type='disk',
            guest_format=None, tag=None, volume_type=None, encrypted=False,
            no_device=False, snapshot_id=None, image_id=None)

    def block_device_info(self, connection_info, size=10):
        """Block device info as Nova's compute manager passes it to spawn.

        Its DriverVolumeBlockDevice objects have no 'size' key: the size
        is their attribute volume_size.
        """
        return {'root_device_name': '/dev/sda', 'ephemerals': [],
                'swap': None,
                'block_device_mapping': [
                    block_device.DriverVolumeBlockDevice(
                        self.bdm(connection_info, size))]}

    def cinder_map(self, connection_info, size=10):
        """Map the volume to the connector's WWPNs, as Cinder's FC driver.

        The simulated SAN shows it to those WWPNs from then on.
        """
        data = connection_info['data']
        lun = storage.fcp_lun(data['target_lun'])
        sim = self.session.simulator
        for initiator, targets in data['initiator_target_map'].items():
            sim.map_volume([initiator], targets, lun, size)
        return connection_info

    def attach_data_volume(self, instance, connector, lun=2, size=5,
                           volume_id='vol-data'):
        """Nova attaching a volume to a built instance, Cinder mapping it."""
        info = self.cinder_map(
            self.fc_connection(connector['wwpns'], lun=lun,
                               volume_id=volume_id), size)
        self.volume_bdms[(volume_id, instance.uuid)] = self.bdm(
            info, size, boot_index=None, instance_uuid=instance.uuid,
            device_name='/dev/sdb')
        self.driver.attach_volume(self.context, info, instance, '/dev/sdb')
        return info

    def build(self, instance=None, network_info=None, lun=1, power_on=True,
              size=10):
        """Nova's build sequence: checks, connector, spawn."""
        instance = instance or self.instance()
        network_info = (self.two_vifs() if network_info is None
                        else network_info)
        self.driver.prepare_for_spawn(instance)
        self.driver.prepare_networks_before_block_device_mapping(
            instance, network_info)
        self.boot_bdm(instance, size)
        connector = self.driver.get_volume_connector(instance)
        bdi = self.block_device_info(self.cinder_map(
            self.fc_connection(connector['wwpns'], lun=lun), size), size)
        instance.task_state = task_states.SPAWNING
        self.driver.spawn(self.context, instance, None, [], None, {},
                          network_info, bdi, power_on=power_on)
        instance.vm_state = vm_states.ACTIVE
        instance.task_state = None
        instance.power_state = (power_state.RUNNING if power_on
                                else power_state.SHUTDOWN)
        return instance, connector


# The definitions a class runs on, as its ``definitions`` attribute.
PER_DEFINITION = ('z13', 'z16')    # HBAs (z13), storage groups (z16)
WITH_Z17 = ('z13', 'z16', 'z17')   # and NICs on adapter ports (z17)


def load_tests(loader, tests, pattern):
    """Run each test of a class with ``definitions`` once per definition.

    Use as ``load_tests = base.load_tests`` in a module. A class without
    ``definitions`` runs once, on its own ``definition``.
    """
    result = unittest.TestSuite()
    for test in testtools.iterate_tests(tests):
        definitions = getattr(test, 'definitions', None)
        if definitions:
            test.scenarios = [(d, {'definition': d}) for d in definitions]
            result.addTests(testscenarios.generate_scenarios(test))
        else:
            result.addTest(test)
    return result
