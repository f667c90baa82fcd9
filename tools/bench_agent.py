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
HMC (z16: HMC API 4.10; z13: API 1.7) on a simulated clock; a scan is
what Neutron's agent loop does once per [AGENT] polling_interval (default
2 s: 30 scans a minute). "steady" counts a minute in which the ports'
NICs exist and do not change; "all new" a minute in whose first scan all
NICs appear. Both without HMC notifications (the in-process simulated
HMC has none): a listing at every scan.

Then the steady state with and without notifications, over 10 simulated
minutes, against the HTTPS simulated HMC and its STOMP notification
service: with them the agent lists the NICs every [dpm]
nic_reconciliation_interval seconds (default 60) and reads a NIC only
when one is created.

    python tools/bench_agent.py [--definition z16|z13] [--interval S]
"""

import argparse
import tempfile
import threading
import time
import uuid

from nova_dpm import conf as dpm_conf
from nova_dpm import contract
from nova_dpm import hmc
from nova_dpm.neutron import agent
from nova_dpm.neutron import config
from nova_dpm import simulator
from nova_dpm.simulator import server as server_module

CPC_ID = 'c1a2b3c4-d5e6-4f70-8a91-b2c3d4e5f607'
OSA = '05a00001-0000-4000-8000-000000000001'
VSWITCH_0 = '5e000000-0000-4000-8000-000000000000'
HOST = 'bench-subset'
USERID = 'bench-agent'
PASSWORD = 'benchAgentPw4k8Q2'
RECONCILIATION = 60
MINUTES = 10


class Clock(object):
    """The agent's simulated clock (NicFeed.clock)."""

    now = 0.0

    def __call__(self):
        return self.now


def settings_for(definition, **changes):
    values = dict(
        hmc=[], hmc_port=6794, hmc_username=None, hmc_password=None,
        hmc_verify_cert=True, hmc_ca_bundle=None, hmc_connect_timeout=30,
        hmc_connect_retries=3, hmc_read_timeout=300,
        hmc_operation_timeout=900, cpc_object_id=CPC_ID,
        hmc_mock_file=definition, hmc_notifications=False,
        hmc_notification_port=61612,
        nic_reconciliation_interval=RECONCILIATION,
        physical_network_adapter_mappings=[
            config.AdapterMapping('physnet1', OSA, 0),
            config.AdapterMapping('physnet2', OSA, 1)])
    values.update(changes)
    return dpm_conf.Settings(**values)


def manager(settings, interval):
    connection = hmc.HMC(settings)
    connection.logon()
    mgr = agent.DPMManager(connection, settings, HOST, interval).start()
    mgr.loop_thread = threading.current_thread()
    mgr.feed.clock = Clock()
    return mgr


def add_ports(cpc, ports):
    """nova-dpm's side: up to 12 NICs per partition."""
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


def scan_for(mgr, sim, seconds, interval, ports):
    """The agent loop's scans over a simulated period: requests made."""
    sim.reset_counts()
    clock = mgr.feed.clock
    end = clock.now + seconds
    while clock.now < end:
        assert len(mgr.get_all_devices()) == ports
        clock.now += interval
    return len(sim.requests)


def measure(definition, ports, interval):
    """(steady, all new) requests a minute, without notifications."""
    mgr = manager(settings_for(definition), interval)
    sim = mgr.hmc.session.simulator
    add_ports(mgr.hmc.cpc(CPC_ID), ports)
    first_minute = scan_for(mgr, sim, 60, interval, ports)
    return scan_for(mgr, sim, 60, interval, ports), first_minute


def steady_rpm(definition, notifications, ports=10, interval=2.0):
    """Steady-state requests a minute over the HTTPS simulated HMC."""
    session = simulator.load_session(definition)
    sim = session.simulator
    with tempfile.TemporaryDirectory() as tmp:
        # The HTTPS front end is left running (its threads are daemons):
        # in a process that has imported Neutron's agent modules, as this
        # one has, its stop() does not return (socketserver's shutdown
        # waits on a lock of eventlet's).
        server = server_module.HmcServer(sim, USERID, PASSWORD,
                                         cert_dir=tmp).start()
        mgr = manager(settings_for(
            None, hmc=['127.0.0.1'], hmc_port=server.port,
            hmc_username=USERID, hmc_password=PASSWORD,
            hmc_ca_bundle=server.ca_file,
            hmc_notification_port=server.stomp.port,
            hmc_notifications=notifications), interval)
        add_ports(mgr.hmc.cpc(CPC_ID), ports)
        mgr.notifications.start()
        deadline = time.monotonic() + 60
        while notifications and not mgr.feed.pushed:
            assert time.monotonic() < deadline, 'no notifications'
            time.sleep(0.05)
        # The first scan (the listing after the connection), then the
        # steady state.
        assert len(mgr.get_all_devices()) == ports
        mgr.feed.clock.now += interval
        count = scan_for(mgr, sim, MINUTES * 60, interval, ports)
        mgr.notifications.stop()
        mgr.hmc.logoff()
        server.stomp.stop()
    return count / float(MINUTES)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--definition', default='z16')
    parser.add_argument('--interval', type=float, default=2.0,
                        help='[AGENT] polling_interval (default 2 s)')
    args = parser.parse_args(argv)
    polls = int(round(60 / args.interval))
    print('DPM agent, %s, scanning every %g s (%d scans a minute), '
          'without notifications: HMC requests per minute' % (
              args.definition, args.interval, polls))
    print('%8s %10s %10s' % ('ports', 'steady', 'all new'))
    for ports in (0, 10, 40):
        steady, first = measure(args.definition, ports, args.interval)
        print('%8d %10d %10d' % (ports, steady, first))
    print('DPM agent at steady state, 10 ports, HTTPS simulated HMC, %d '
          'simulated minutes: HMC requests per minute' % MINUTES)
    for notifications in (True, False):
        rpm = steady_rpm(args.definition, notifications,
                         interval=args.interval)
        print('  %-40s %6.1f requests/min' % (
            'with notifications (reconciliation %d s)' % RECONCILIATION
            if notifications else 'without notifications (polling)', rpm))


if __name__ == '__main__':
    main()
