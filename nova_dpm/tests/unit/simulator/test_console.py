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

"""What zhmcclient's own end-to-end suite found missing in the simulator.

The console's factory tasks and system-defined user roles (HMC rule O1),
the adapters' channel status (H13), their PCHIDs (H14), the partitions
assigned to a Network Express adapter (H12) and the message of an unknown
session (A5). Each test fails on plain zhmcclient.mock with the same
definition.
"""

import zhmcclient

from nova_dpm import simulator
from nova_dpm.simulator import console as sim_console
from nova_dpm.simulator import server as hmc_server
from nova_dpm.tests.unit.simulator import base


class ConsoleTest(base.TestCase):
    """HMC rule O1: what every console has from the factory."""

    def test_task_list_is_never_empty(self):
        mock = self.env(False)
        self.assertEqual([], mock.console.tasks.list())
        env = self.env()
        tasks = env.console.tasks.list()
        names = {t.name for t in tasks}
        self.assertIn('Start', names)
        self.assertIn('New Partition', names)
        task = env.console.tasks.find(name='Stop')
        task.pull_full_properties()
        self.assertEqual('Stop a partition', task.properties['description'])
        self.assertIs(False, task.properties['view-only-mode-supported'])

    def test_create_user_role_takes_the_operator_role(self):
        # The mock answers 500,99 "Mock setup error" without the
        # system-defined role hmc-operator-tasks.
        def create(env):
            return env.console.user_roles.create({'name': 'my role'})
        self.assertHttpError(500, 99, create, self.env(False))
        env = self.env()
        role = create(env)
        role.pull_full_properties()
        operator = env.console.user_roles.find(name='hmc-operator-tasks')
        self.assertEqual('system-defined', operator.get_property('type'))
        self.assertEqual(operator.uri, role.properties[
            'associated-system-defined-user-role-uri'])
        self.assertEqual('user-defined', role.properties['type'])

    def test_system_roles_on_every_definition(self):
        for name in ('z13', 'z16', 'z17'):
            env = self.env(definition=name)
            roles = {r.name: r.get_property('type')
                     for r in env.console.user_roles.list()}
            for role, _description in sim_console.SYSTEM_USER_ROLES:
                self.assertEqual('system-defined', roles.get(role), name)


class AdapterTest(base.TestCase):

    def test_every_adapter_has_a_channel_status(self):
        # HMC rule H13; zhmcclient's list_permitted_adapters(
        # full_properties=True) reads it for every adapter.
        mock = self.env(False)
        self.assertNotIn('physical-channel-status',
                         mock.cpc.adapters.list(True)[0].properties)
        for name in ('z13', 'z16', 'z17'):
            env = self.env(definition=name)
            for adapter in env.cpc.adapters.list(full_properties=True):
                self.assertEqual(
                    'operating',
                    adapter.properties.get('physical-channel-status'),
                    '%s %s' % (name, adapter.name))

    def test_adapter_ids_are_pchids(self):
        # HMC rule H14: adapter-id is the PCHID, three hex digits, and the
        # PCHIDs of one card share the slot's group of four.
        for name in ('z13', 'z16', 'z17'):
            env = self.env(definition=name)
            for adapter in env.cpc.adapters.list():
                pchid = adapter.get_property('adapter-id')
                self.assertRegex(pchid, r'^[0-9a-f]{3}$', name)
        env = self.env(definition='z17')
        hybrid = env.cpc.adapters.find(name='Network Express Hybrid 0150')
        self.assertEqual(['Network Express Hybrid 0151'],
                         [a.name for a in hybrid.list_sibling_adapters()])

    def test_network_express_adapter_lists_its_partitions(self):
        # HMC rule H12: a NIC on a port of the adapter assigns the
        # partition to it; the mock leaves Network Express adapters out.
        env = self.env(definition='z17')
        adapter = env.cpc.adapters.find(name='Network Express Hybrid 0150')
        port = adapter.ports.list()[0]
        part = env.partition()
        self.assertEqual([], adapter.list_assigned_partitions())
        part.nics.create({'name': 'ne-1', 'type': 'neth',
                          'network-adapter-port-uri': port.uri})
        self.assertEqual([part.uri],
                         [p.uri for p in adapter.list_assigned_partitions()])
        other = env.cpc.adapters.find(name='Network Express Hybrid 0151')
        self.assertEqual([], other.list_assigned_partitions())
        self.assertEqual([], adapter.list_assigned_partitions(
            filter_args={'name': 'another'}))


class UnknownSessionTest(base.TestCase):
    """HMC rule A5: the message of 403,5."""

    def test_unknown_session_message(self):
        sim = simulator.load_session('z16').simulator
        server = hmc_server.HmcServer(sim, 'admin', 'secret').start()
        self.addCleanup(server.stop)
        session = zhmcclient.Session(
            hmc_server.LOOPBACK, 'admin', session_id='no-such-session',
            port=server.port, verify_cert=server.ca_file)
        exc = self.assertRaises(
            zhmcclient.ServerAuthError, session.get, '/api/cpcs',
            logon_required=False, renew_session=False)
        self.assertEqual((403, 5), (exc.details.http_status,
                                    exc.details.reason))
        # zhmcclient.testutils is_valid_hmc_session_id() recognizes an
        # unknown session by this text of the HMC's message.
        self.assertIn('x-api-session header did not map to a known session',
                      str(exc))
