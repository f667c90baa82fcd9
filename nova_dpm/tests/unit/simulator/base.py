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

"""Helpers for the simulator tests.

Most tests run one scenario twice through zhmcclient: against the plain
``zhmcclient.mock.FakedSession`` (lenient) and against the
``SimulatedSession`` (strict), and assert that the mock lets it through
while the simulator answers like a real HMC.
"""

import testtools
import yaml
import zhmcclient
from zhmcclient.mock import FakedSession

from nova_dpm import simulator
from nova_dpm.simulator import catalog
from nova_dpm.simulator import session as simulator_session

CPC_ID = catalog.CPC_ID
CPC_URI = catalog.CPC_URI
FCP_A = catalog.FCP_A
FCP_B = catalog.FCP_B
FCP_A_PORT, FCP_B_PORT = catalog.STORAGE_PORTS
OSA = catalog.OSA
VS0 = '/api/virtual-switches/' + catalog.VSWITCH_0
VS1 = '/api/virtual-switches/' + catalog.VSWITCH_1
TARGET = catalog.TARGET_WWPNS[0]
LUN = '4001400000000000'


class Env:
    """One HMC (plain mock or simulator) as zhmcclient sees it."""

    def __init__(self, strict, definition='z16', transition_time=0.0,
                 latency=0.0):
        path = simulator.definition_path(definition)
        self.strict = strict
        if strict:
            self.session = simulator.load_session(
                path, latency=latency, transition_time=transition_time)
            self.sim = self.session.simulator
        else:
            # The plain mock, from the same definition without the
            # simulator's SAN extension (zhmcclient's schema refuses it).
            with open(path) as f:
                data = yaml.safe_load(f)
            data.pop(simulator_session.SAN_KEY, None)
            self.session = FakedSession.from_hmc_dict(data, path)
            self.sim = None
        self.client = zhmcclient.Client(self.session)
        self.cpc = self.client.cpcs.find(name='CPC1')
        self.console = self.client.consoles.console

    def set_status(self, uri, status):
        if self.strict:
            self.sim.set_status(uri, status)
        else:
            self.session.hmc.lookup_by_uri(uri).properties['status'] = status

    def faked(self, uri):
        return self.session.hmc.lookup_by_uri(uri)

    def partition(self, name='inst-1', **props):
        body = {'name': name, 'ifl-processors': 1, 'initial-memory': 1024,
                'maximum-memory': 2048}
        body.update(props)
        return self.cpc.partitions.create(body)

    def hba(self, partition, name='hba-1', port=FCP_A_PORT, **props):
        body = {'name': name, 'adapter-port-uri': port}
        body.update(props)
        return partition.hbas.create(body)

    def nic(self, partition, name='nic-1', vswitch=VS0, **props):
        body = {'name': name, 'virtual-switch-uri': vswitch}
        body.update(props)
        return partition.nics.create(body)

    def group(self, name='SG1', volumes=(), ports=(FCP_A_PORT, FCP_B_PORT),
              **props):
        body = {'cpc-uri': self.cpc.uri, 'name': name, 'type': 'fcp',
                'shared': False, 'max-partitions': 1, 'connectivity': 2}
        body.update(props)
        if volumes:
            body['storage-volumes'] = [dict(v, operation='create')
                                       for v in volumes]
        sg = self.console.storage_groups.create(body)
        if ports:
            sg.add_candidate_adapter_ports([self.port(uri) for uri in ports])
        return sg

    def connect(self, sg, lun=LUN, size=10.0, targets=(TARGET,)):
        """Map a LUN to the group's WWPNs and let the HMC discover it.

        The mapping is what Cinder does; the discovery is Start FCP
        Storage Discovery.
        """
        wwpns = [v.get_property('world-wide-port-name')
                 for v in sg.virtual_storage_resources.list(
                     full_properties=True)]
        self.sim.map_volume(wwpns, targets, lun, size)
        sg.discover_fcp(wait_for_completion=True)
        return wwpns

    def port(self, uri):
        """The zhmcclient Port object for a storage/network port URI."""
        adapter_uri = uri.split('/storage-ports/')[0].split(
            '/network-ports/')[0]
        adapter = self.cpc.adapters.resource_object(adapter_uri)
        return adapter.ports.resource_object(uri)

    def begin(self, partition, op='start'):
        """Leave the partition in starting/stopping."""
        if self.strict:
            self.sim.transition_time = 3600
            getattr(partition, op)(wait_for_completion=False)
            self.sim.transition_time = 0.0
        else:
            self.set_status(partition.uri,
                            'starting' if op == 'start' else 'stopping')


class TestCase(testtools.TestCase):

    def env(self, strict=True, definition='z16', **kw):
        return Env(strict, definition, **kw)

    def assertHttpError(self, status, reason, fn, *args, **kw):
        exc = self.assertRaises(zhmcclient.HTTPError, fn, *args, **kw)
        self.assertEqual(status, exc.http_status, exc.body)
        if reason is not None:
            self.assertEqual(reason, exc.reason, exc.body)
        # HMC rule A1: the body of a real HMC error.
        for key in ('http-status', 'reason', 'message', 'request-method',
                    'request-uri'):
            self.assertIn(key, exc.body)
        return exc

    def assertLenientButStrict(self, scenario, status, reason=None,
                               definition='z16'):
        """The mock accepts the scenario; the simulator refuses it."""
        scenario(self.env(False, definition))
        env = self.env(True, definition)
        exc = self.assertHttpError(status, reason, scenario, env)
        return env, exc

    def assertBothStrict(self, scenario, status, reason=None,
                         definition='z16'):
        """A rule the mock already enforces; the simulator keeps it."""
        for strict in (False, True):
            self.assertHttpError(status, reason, scenario,
                                 self.env(strict, definition))
