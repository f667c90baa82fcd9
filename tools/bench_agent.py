#!/usr/bin/env python3
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

"""HMC requests per minute of the DPM agent, with 0, 10 and 40 ports.

The agent's manager (nova_dpm.neutron.agent) runs against the simulated
HMC (z16: HMC API 4.10; z13: API 1.7); one poll is what Neutron's agent
loop does once per [AGENT] polling_interval (default 2 s: 30 polls a
minute). "steady" counts a minute in which the ports' NICs exist and do
not change; "all new" a minute in whose first poll all NICs appear.

    python tools/bench_agent.py [--definition z16|z13] [--interval S]
"""

import argparse
import threading
import uuid

from nova_dpm import conf as dpm_conf
from nova_dpm import contract
from nova_dpm import hmc
from nova_dpm.neutron import agent
from nova_dpm.neutron import config

CPC_ID = 'c1a2b3c4-d5e6-4f70-8a91-b2c3d4e5f607'
OSA = '05a00001-0000-4000-8000-000000000001'
VSWITCH_0 = '5e000000-0000-4000-8000-000000000000'
HOST = 'bench-subset'


def measure(definition, ports, polls):
    settings = dpm_conf.Settings(
        hmc=[], hmc_port=6794, hmc_username=None, hmc_password=None,
        hmc_verify_cert=True, hmc_ca_bundle=None, hmc_connect_timeout=30,
        hmc_connect_retries=3, hmc_read_timeout=300,
        hmc_operation_timeout=900, cpc_object_id=CPC_ID,
        hmc_mock_file=definition,
        physical_network_adapter_mappings=[
            config.AdapterMapping('physnet1', OSA, 0),
            config.AdapterMapping('physnet2', OSA, 1)])
    connection = hmc.HMC(settings)
    mgr = agent.DPMManager(connection, settings, HOST).start()
    mgr.loop_thread = threading.current_thread()
    sim = connection.session.simulator
    cpc = connection.cpc(CPC_ID)
    # nova-dpm's side: up to 12 NICs per partition.
    part = None
    for i in range(ports):
        if i % 12 == 0:
            part = cpc.partitions.create({
                'name': 'OpenStack-%s-%s' % (HOST, uuid.uuid4()),
                'initial-memory': 4096, 'maximum-memory': 4096,
                'ifl-processors': 1})
        port_id = str(uuid.uuid4())
        part.nics.create({
            'name': contract.nic_name(port_id),
            'description': contract.nic_description('fa:16:3e:00:00:01',
                                                    HOST),
            'virtual-switch-uri': '/api/virtual-switches/' + VSWITCH_0})
    sim.reset_counts()
    found = mgr.get_all_devices()
    assert len(found) == ports, (len(found), ports)
    for _ in range(polls - 1):
        mgr.get_all_devices()
    first_minute = len(sim.requests)
    sim.reset_counts()
    for _ in range(polls):
        mgr.get_all_devices()
    steady = len(sim.requests)
    return steady, first_minute


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--definition', default='z16')
    parser.add_argument('--interval', type=float, default=2.0,
                        help='[AGENT] polling_interval (default 2 s)')
    args = parser.parse_args()
    polls = int(round(60 / args.interval))
    print('DPM agent, %s, polling every %g s (%d polls a minute): HMC '
          'requests per minute' % (args.definition, args.interval, polls))
    print('%8s %10s %10s' % ('ports', 'steady', 'all new'))
    for ports in (0, 10, 40):
        steady, first = measure(args.definition, ports, polls)
        print('%8d %10d %10d' % (ports, steady, first))


if __name__ == '__main__':
    main()
