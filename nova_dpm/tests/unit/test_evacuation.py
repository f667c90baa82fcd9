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

"""nova_dpm/evacuation.py: the source partition of an evacuation stopped.

This subset is the destination; the source subset's partition of the
instance is made on the same simulated CPC. Nova's evacuation record is
the one object not read from the database.
"""

import fixtures
from nova.compute import task_states
from nova import objects

from nova_dpm import evacuation
from nova_dpm import exception
from nova_dpm import partition
from nova_dpm.tests.unit import base

SOURCE = 'subset-gone'
STOP = 'POST /api/partitions/{id}/operations/stop'


class FenceTest(base.DriverTestCase):

    def setUp(self):
        super().setUp()
        self.migration = objects.Migration(
            id=7, migration_type='evacuation', source_compute=SOURCE,
            dest_compute=base.HOST)
        self.useFixture(fixtures.MockPatch(
            'nova.objects.Migration.get_by_id',
            side_effect=lambda context, mid: self.migration))
        self.server = self.instance(task_state=task_states.REBUILD_SPAWNING)
        self.server.migration_context = objects.MigrationContext(
            migration_id=7)

    def source_partition(self, status):
        cpc = self.driver.subset.cpc
        part = cpc.partitions.create({
            'name': partition.Naming(SOURCE).name(self.server.uuid),
            'ifl-processors': 1, 'initial-memory': 1024,
            'maximum-memory': 1024})
        self.sim.set_status(part.uri, status)
        self.sim.reset_counts()
        return self.faked_partitions()[part.name]

    def test_a_running_source_is_stopped_with_a_warning(self):
        source = self.source_partition('active')
        evacuation.fence(self.driver, self.context, self.server)
        self.assertEqual('stopped', source.properties['status'])
        self.assertEqual(1, self.sim.count(pattern=STOP))
        self.assertIn('Evacuation from CPC subset %s: stopping its '
                      'partition %s (active)' % (
                          SOURCE, source.properties['name']),
                      self.logger.output)

    def test_a_stopped_source_is_left_alone(self):
        source = self.source_partition('stopped')
        evacuation.fence(self.driver, self.context, self.server)
        self.assertEqual(0, self.sim.count(pattern=STOP))
        self.assertEqual('stopped', source.properties['status'])

    def test_a_source_out_of_reach_is_named_and_the_evacuation_goes_on(self):
        evacuation.fence(self.driver, self.context, self.server)
        self.assertIn('Evacuation from CPC subset %s: no partition %s on '
                      'CPC' % (SOURCE, partition.Naming(SOURCE).name(
                          self.server.uuid)), self.logger.output)
        self.assertEqual(0, self.sim.count(pattern=STOP))

    def test_a_source_that_holds_its_resources_is_stopped(self):
        # Paused, degraded or terminated: not running an OS perhaps, but
        # not stopped either (HMC rule E1); the HMC stops each (E4).
        for status in ('paused', 'degraded', 'terminated'):
            source = self.source_partition(status)
            evacuation.fence(self.driver, self.context, self.server)
            self.assertEqual(('stopped', 1),
                             (source.properties['status'],
                              self.sim.count(pattern=STOP)), status)
            self.driver.subset.cpc.partitions.find(
                name=source.properties['name']).delete()

    def test_an_hmc_error_fails_the_evacuation(self):
        self.source_partition('active')
        self.sim.inject_fault('http500', 'GET', '/api/cpcs/{id}/partitions')
        self.assertRaises(exception.HMCOperationFailed, evacuation.fence,
                          self.driver, self.context, self.server)
        self.assertIn('could not be checked or stopped', self.logger.output)
        self.assertEqual(0, self.sim.count(pattern=STOP))

    def test_a_source_that_does_not_stop_fails_the_evacuation(self):
        # The support element lost contact: the HMC refuses the stop, and
        # the partition may still run; the destination is not started and
        # its new partition goes.
        source = self.source_partition('communications-not-active')
        self.driver.prepare_for_spawn(self.server)
        self.boot_bdm(self.server, 10)
        self.server.task_state = task_states.REBUILD_BLOCK_DEVICE_MAPPING
        connector = self.driver.get_volume_connector(self.server)
        self.server.task_state = task_states.REBUILD_SPAWNING
        mine = partition.Naming(base.HOST).name(self.server.uuid)
        self.assertIn(mine, self.faked_partitions())
        bdi = self.block_device_info(self.cinder_map(
            self.fc_connection(connector['wwpns']), 10), 10)
        self.assertRaises(
            exception.HMCOperationFailed, self.driver.spawn,
            self.context, self.server, None, [], None, {}, [], bdi,
            power_on=True)
        self.assertIn('Evacuation from CPC subset %s: its partition %s could '
                      'not be checked or stopped' % (
                          SOURCE, source.properties['name']),
                      self.logger.output)
        self.assertNotIn(mine, self.faked_partitions())
        self.assertEqual('communications-not-active',
                         source.properties['status'])
        self.assertEqual(0, self.sim.count(
            pattern='POST /api/partitions/{id}/operations/start'))

    def test_no_request_for_a_rebuild_or_a_build(self):
        self.source_partition('active')
        self.migration.migration_type = 'migration'
        evacuation.fence(self.driver, self.context, self.server)
        self.server.task_state = task_states.SPAWNING
        evacuation.fence(self.driver, self.context, self.server)
        self.assertEqual(0, self.sim.count())
