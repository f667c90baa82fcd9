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

"""nova_dpm/migration.py on one CPC subset, on a simulated HMC.

The moves between two subsets go through Nova's API in
nova_dpm/tests/functional/test_migrations.py; here the driver's resize
methods are called as Nova calls them on one subset, and what the HMC
refuses or is spared is checked request by request.
"""

import fixtures
from nova.compute import power_state
from nova.compute import task_states
from nova import exception as nova_exception
from nova import objects

from nova_dpm import driver
from nova_dpm import exception
from nova_dpm import migration
from nova_dpm.tests.unit import base

UPDATE = 'POST /api/partitions/{id}'
START = 'POST /api/partitions/{id}/operations/start'
STOP = 'POST /api/partitions/{id}/operations/stop'

load_tests = base.load_tests


class ResizeInPlaceTest(base.DriverTestCase):

    definitions = base.PER_DEFINITION

    def setUp(self):
        super().setUp()
        self.server, self.connector = self.build()
        self.part = self.faked_partition(self.server)
        self.migration = objects.Migration(source_compute=base.HOST,
                                           dest_compute=base.HOST)

    def flavor(self, vcpus, memory_mb):
        flavor = self.server.flavor.obj_clone()
        flavor.vcpus, flavor.memory_mb = vcpus, memory_mb
        return flavor

    def sizes(self):
        props = self.part.properties
        return (props['ifl-processors'], props['initial-memory'],
                props['maximum-memory'])

    def power_off(self, flavor):
        self.driver.migrate_disk_and_power_off(
            self.context, self.server, base.HOST, flavor, [])
        self.server.old_flavor = self.server.flavor
        self.server.flavor = flavor
        self.server.task_state = task_states.RESIZE_FINISH

    def finish(self, power_on=True):
        self.driver.finish_migration(
            self.context, self.migration, self.server, '[]', [], None, True,
            {}, None, power_on=power_on)

    def test_resize_stops_updates_once_and_starts(self):
        self.sim.reset_counts()
        self.power_off(self.flavor(4, 8192))
        self.assertEqual('stopped', self.part.properties['status'])
        self.assertEqual(','.join(self.connector['wwpns']),
                         self.server.system_metadata[migration.SOURCE_WWPNS])
        # Nova asks for the destination's connector: the same partition.
        self.assertEqual(self.connector['wwpns'],
                         self.driver.get_volume_connector(
                             self.server)['wwpns'])
        self.finish()
        self.assertEqual((4, 8192, 8192), self.sizes())
        self.assertEqual('active', self.part.properties['status'])
        self.assertEqual((1, 1, 1), (self.sim.count(pattern=STOP),
                                     self.sim.count(pattern=UPDATE),
                                     self.sim.count(pattern=START)))
        # The resources Nova reports count the new size.
        self.assertEqual((4, 8192), self.driver.partitions.usage())

    def test_stopped_server_stays_stopped(self):
        self.power_off(self.flavor(1, 2048))
        self.sim.reset_counts()
        self.finish(power_on=False)
        self.assertEqual(((1, 2048, 2048), 'stopped'),
                         (self.sizes(), self.part.properties['status']))
        self.assertEqual(0, self.sim.count(pattern=START))

    def test_same_size_needs_no_update(self):
        self.power_off(self.server.flavor)
        self.sim.reset_counts()
        self.finish()
        self.assertEqual(0, self.sim.count(pattern=UPDATE))
        self.assertEqual(1, self.sim.count(pattern=START))

    def test_revert_stops_and_sets_the_old_size_back(self):
        self.power_off(self.flavor(4, 8192))
        self.finish()
        self.server.flavor = self.server.old_flavor
        self.server.task_state = task_states.RESIZE_REVERTING
        self.sim.reset_counts()
        self.driver.finish_revert_migration(
            self.context, self.server, [], self.migration, power_on=True)
        self.assertEqual(((2, 4096, 4096), 'active'),
                         (self.sizes(), self.part.properties['status']))
        self.assertEqual((1, 1, 1), (self.sim.count(pattern=STOP),
                                     self.sim.count(pattern=UPDATE),
                                     self.sim.count(pattern=START)))
        self.assertNotIn(migration.SOURCE_WWPNS, self.server.system_metadata)
        self.assertEqual(self.connector['wwpns'],
                         self.driver.get_volume_connector(
                             self.server)['wwpns'])

    def test_maximum_memory_of_an_active_partition_is_refused(self):
        # HMC rule D1: why a resize stops the partition first.
        part = self.driver.partitions.get(self.server.uuid)
        exc = self.assertRaises(
            exception.HMCOperationFailed, self.driver.partitions.resize,
            part, migration.size_properties(self.flavor(4, 8192)))
        self.assertEqual(409, exc.kwargs['http_status'])
        self.assertEqual((2, 4096, 4096), self.sizes())

    def test_start_failure_sets_the_old_size_back(self):
        self.power_off(self.flavor(4, 8192))
        self.sim.inject_fault('http500', 'POST', START)
        self.assertRaises(exception.HMCOperationFailed, self.finish)
        self.assertEqual(((2, 4096, 4096), 'stopped'),
                         (self.sizes(), self.part.properties['status']))

    def test_hmc_failure_at_power_off_rolls_back(self):
        self.sim.inject_fault('http500', 'POST', STOP)
        exc = self.assertRaises(
            nova_exception.InstanceFaultRollback,
            self.driver.migrate_disk_and_power_off, self.context,
            self.server, base.HOST, self.flavor(4, 8192), [])
        self.assertIsInstance(exc.inner_exception,
                              exception.HMCOperationFailed)
        self.assertNotIn(migration.SOURCE_WWPNS, self.server.system_metadata)
        self.assertEqual('active', self.part.properties['status'])

    def test_confirm_on_the_same_subset_keeps_the_partition(self):
        self.power_off(self.flavor(4, 8192))
        self.finish()
        self.sim.reset_counts()
        self.driver.confirm_migration(self.context, self.migration,
                                      self.server, [])
        self.assertEqual(0, self.sim.count())
        self.assertEqual('active', self.part.properties['status'])
        self.assertNotIn(migration.SOURCE_WWPNS, self.server.system_metadata)


class ConfirmTest(base.DriverTestCase):
    """The source's confirm of a move to another subset."""

    definitions = base.PER_DEFINITION

    def test_confirm_deletes_the_stopped_source_without_a_stop(self):
        server, _connector = self.build()
        self.driver.migrate_disk_and_power_off(
            self.context, server, 'other', server.flavor, [])
        # Nova believes the instance runs (on the destination now).
        server.power_state = power_state.RUNNING
        self.sim.reset_counts()
        self.driver.confirm_migration(
            self.context, objects.Migration(source_compute=base.HOST,
                                            dest_compute='other'),
            server, [])
        self.assertIsNone(self.faked_partition(server))
        self.assertEqual(0, self.sim.count(pattern=STOP))
        self.assertEqual([], self.driver.list_instance_uuids())


class FaultAtEachStepTest(base.DriverTestCase):
    """A cold migration between two subsets of one simulated CPC.

    The HMC fails each request of the move once (HTTP 500), one move at a
    time: whatever failed, the destination is left without a partition
    or storage group of the instance, the source partition is the one it
    was (same URI, same WWPNs), and the instance comes back as Nova
    recovers it.
    """

    definitions = base.PER_DEFINITION
    OTHER = 'subset2'

    def setUp(self):
        super().setUp()
        session = self.session
        self.useFixture(fixtures.MockPatch(
            'nova_dpm.hmc.session.simulated_session',
            return_value=session))
        self.other = driver.DPMDriver(virtapi=self.virtapi)
        self.other.init_host(self.OTHER)
        self.other.partitions.start_grace = 0

    def connector_and_bdi(self, drv, instance):
        connector = drv.get_volume_connector(instance)
        bdi = self.block_device_info(self.cinder_map(
            self.fc_connection(connector['wwpns'])))
        return connector, bdi

    def move(self, src, dst, instance):
        """Nova's cold migration: source, destination (steps named)."""
        move = objects.Migration(source_compute=src.host,
                                 dest_compute=dst.host)
        self.step = 'power off'
        src.migrate_disk_and_power_off(self.context, instance, dst.host,
                                       instance.flavor, [])
        self.step = 'destination'
        instance.old_flavor = instance.flavor
        instance.task_state = task_states.RESIZE_FINISH
        _connector, bdi = self.connector_and_bdi(dst, instance)
        dst.finish_migration(self.context, move, instance, '[]',
                             self.two_vifs(), None, False, {}, bdi)
        instance.task_state = None
        return move

    def on_the_other(self, instance):
        name = self.other.partitions.naming.name(instance.uuid)
        groups = self.session.hmc.consoles.console.storage_groups.list()
        return ([n for n in self.faked_partitions() if n == name] +
                [g.properties['name'] for g in groups
                 if g.properties['name'] == name])

    def test_fault_at_each_request_of_a_cold_migration(self):
        server, _c = self.build()
        self.sim.reset_counts()
        move = self.move(self.driver, self.other, server)
        requests = self.sim.count()
        self.driver.confirm_migration(self.context, move, server, [])
        self.assertEqual([], [n for n in self.faked_partitions()
                              if server.uuid in n and
                              self.OTHER not in n])
        self.other.destroy(self.context, server, [])
        self.assertGreater(requests, 10)
        outcomes = []
        for nth in range(1, requests + 1):
            outcomes.append(self.fail_at(nth))
        # A fault on a poll is ridden out; every step failed somewhere.
        self.assertEqual({'succeeded', 'power off', 'destination'},
                         set(outcomes))

    def fail_at(self, nth):
        server, connector = self.build()
        before = self.faked_partition(server)
        self.sim.inject_fault('http500', '*', '*', nth=nth)
        try:
            move = self.move(self.driver, self.other, server)
        except Exception:
            self.sim.clear_faults()
            self.assertEqual([], self.on_the_other(server), nth)
            part = self.faked_partition(server)
            self.assertIs(before, part, nth)
            self.assertEqual(connector['wwpns'], self.driver.storage.wwpns(
                self.driver.partitions.get(server.uuid)))
            self.recover(server, connector)
            outcome = self.step
        else:
            self.sim.clear_faults()
            self.driver.confirm_migration(self.context, move, server, [])
            self.assertIsNone(self.faked_partition(server), nth)
            self.other.destroy(self.context, server, [])
            return 'succeeded'
        self.driver.destroy(self.context, server, [])
        return outcome

    def recover(self, server, connector):
        """As Nova does, or an admin after the server went to ERROR."""
        if self.step == 'power off':
            # InstanceFaultRollback: the server stays; start it again.
            self.driver.power_on(self.context, server, [])
        else:
            # Reset state, migrate back to the source, confirm.
            move = self.move(self.other, self.driver, server)
            self.other.confirm_migration(self.context, move, server, [])
        self.assertEqual('active',
                         self.faked_partition(server).properties['status'])
        self.assertEqual(connector['wwpns'], self.driver.get_volume_connector(
            server)['wwpns'])
