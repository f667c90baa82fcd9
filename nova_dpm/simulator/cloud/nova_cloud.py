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

"""An in-process OpenStack cloud whose only compute host is nova-dpm.

:class:`DPMCloudTestCase` starts, inside one process and on sqlite, what a
real deployment runs as separate services: the Nova API (through its WSGI
stack), conductor, scheduler, placement and one nova-compute with
``compute_driver = dpm.DPMDriver``. Cinder and Neutron are nova's own test
fixtures, taught here to behave like a Fibre Channel storage backend and
like Neutron with the ``dpm`` mechanism driver (ports bound for a DPM
agent, a DHCP subnet whose DHCP port a network node would own).

The driver talks to the simulated HMC of ``nova_dpm.simulator`` over one of
two transports (:attr:`DPMCloudTestCase.HMC_TRANSPORT`):

* ``'https'`` (the default): an :class:`~nova_dpm.simulator.server.HmcServer`
  serves the simulated HMC on ``https://127.0.0.1:<port>`` with a CA of its
  own, and the driver is configured as for a real HMC (``[dpm] hmc``,
  ``hmc_port``, ``hmc_username``, ``hmc_password``, ``hmc_verify_cert =
  true``, ``hmc_ca_bundle`` = the server's CA): a real ``zhmcclient.Session``
  logs on, verifies the certificate and re-logs on as against an HMC;
* ``'in-process'``: ``[dpm] hmc_mock_file``, the simulator's zhmcclient
  FakedSession inside nova-compute (no HTTP, no logon); the simulated HMC
  serves its notifications and console WebSockets on 127.0.0.1 all the
  same (:mod:`nova_dpm.simulator.local`), stopped after nova-compute.

What the tests look at is the HMC's own state (:class:`HmcState`), read
from the simulator's faked HMC objects directly and never through the
driver or its session, so a driver that believes something wrong cannot
make a test pass. The HMC requests counted by the simulator are the same
on both transports: the HTTPS server answers Logon, Logoff and Get
Notification Topics itself (it counts logons in ``HmcServer.logons``) and
hands every other request, ``GET /api/version`` included, to the
simulator after the session check; a request refused for an expired
session or failed by an injected fault is not counted.

The same class runs the ``nova-dpm-demo`` console script
(``nova_dpm.cmd.demo``), outside any test runner, and is the base of the
functional tests (``nova_dpm.tests.functional``). It is part of the
simulator extra (``nova-dpm[simulator]``): it needs nova's functional
test fixtures (shipped in nova's wheel), placement and wsgi-intercept,
and the driver never imports it.
"""

import copy
import datetime
import itertools
import os
import sys
import time
import uuid

import fixtures
from nova import test
from nova.tests import fixtures as nova_fixtures
from nova.tests.functional.api import client as api_client
from nova.tests.functional import fixtures as func_fixtures
from nova.tests.functional import integrated_helpers
import nova.virt
from urllib3 import connection as urllib3_connection
from urllib3 import connectionpool as urllib3_connectionpool
from wsgi_intercept import requests_intercept

from nova_dpm import driver as driver_module
from nova_dpm import simulator as hmc_simulator
from nova_dpm.simulator import catalog
from nova_dpm.simulator import server as hmc_server

# nova loads ``compute_driver = dpm.DPMDriver`` as nova.virt.dpm. Installed,
# the shim is inside nova's package; in a plain source tree it is only in
# this repository's nova/virt, which is added to nova.virt's search path.
try:
    import nova.virt.dpm  # noqa: F401
except ImportError:
    _REPO = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.dirname(os.path.abspath(__file__)))))
    nova.virt.__path__.append(os.path.join(_REPO, 'nova', 'virt'))
    import nova.virt.dpm  # noqa: F401

# -- the simulated machine (nova_dpm/simulator/catalog.py) -----------------

HOST = 'dpm-subset-1'
CPC_OBJECT_ID = catalog.CPC_ID
CPC_URI = catalog.CPC_URI
FCP_ADAPTERS = catalog.FCP_ADAPTERS
STORAGE_PORTS = catalog.STORAGE_PORTS
ADAPTER_MAPPINGS = list(catalog.ADAPTER_MAPPINGS)
VSWITCH_0 = catalog.VSWITCH_0   # OSA-1 port 0
VSWITCH_1 = catalog.VSWITCH_1   # OSA-1 port 1
PARTITION_PREFIX = 'OpenStack-%s-' % HOST

# -- how nova-compute reaches the simulated HMC -------------------------------

HTTPS = 'https'
IN_PROCESS = 'in-process'
TRANSPORTS = (HTTPS, IN_PROCESS)
HMC_USERID = 'nova-dpm-functional'
# Distinctive, and plain letters and digits, so that it reads the same in
# every encoding a log could use (JSON, URL, repr): a test looks for it in
# all log output.
HMC_PASSWORD = 'hmcPw4f9c27e1Xq83dLkZ'

# -- the fake storage backend ----------------------------------------------

# The two target ports of the storage system behind the fake Cinder.
TARGET_WWPNS = catalog.TARGET_WWPNS
# LUNs handed out to volumes, in the order they are first connected.
FIRST_LUN = 2


def partition_name(instance_uuid):
    return PARTITION_PREFIX + instance_uuid


def fcp_lun(lun):
    """The 16-hex-digit FCP LUN Linux on Z uses for a small Cinder LUN."""
    return '%04x000000000000' % lun


def paste_config():
    """nova's api-paste.ini as installed in this virtualenv."""
    for base in (sys.prefix, os.environ.get('VIRTUAL_ENV') or sys.prefix):
        path = os.path.join(base, 'etc', 'nova', 'api-paste.ini')
        if os.path.isfile(path):
            return path
    raise RuntimeError('nova api-paste.ini not found under %s/etc/nova: '
                       'install nova into this environment' % sys.prefix)


class HttpsNotIntercepted(fixtures.Fixture):
    """wsgi-intercept leaves HTTPS connections alone.

    nova's API and placement fixtures serve their WSGI apps to ``requests``
    through wsgi-intercept, on plain ``http://`` URLs. Installing an
    intercept also replaces the connection class of *every* urllib3 HTTPS
    pool in the process; for a host it does not intercept, that class falls
    back to its own TLS connection, which with urllib3 2 does not even
    start (``TypeError: ... unexpected keyword argument 'cert_reqs'``) and
    would not verify the certificate as zhmcclient asked. Here every
    install keeps urllib3's own HTTPS connection, so the driver's
    zhmcclient.Session reaches the HTTPS simulator exactly as it would
    reach an HMC.
    """

    def _setUp(self):
        real = urllib3_connection.HTTPSConnection
        pool = urllib3_connectionpool.HTTPSConnectionPool
        original_install = requests_intercept.install

        def install():
            original_install()
            pool.ConnectionCls = real

        self.useFixture(fixtures.MonkeyPatch(
            'wsgi_intercept.requests_intercept.install', install))
        if pool.ConnectionCls is not real:
            self.useFixture(fixtures.MonkeyPatch(
                'urllib3.connectionpool.HTTPSConnectionPool.ConnectionCls',
                real))


class FibreChannelCinderFixture(nova_fixtures.CinderFixture):
    """nova's Cinder fixture, serving Fibre Channel volumes.

    Every attachment that has a host connector gets the connection info of
    a Cinder FC driver: the two target WWPNs of the storage system, the
    volume's LUN and an initiator_target_map that maps each WWPN of the
    connector to both targets.
    """

    def __init__(self, test):
        super().__init__(test)
        self.luns = {}
        self._next_lun = itertools.count(FIRST_LUN)
        #: Volumes served over iSCSI instead (which nova-dpm refuses).
        self.iscsi_volumes = set()

    def lun_of(self, volume_id):
        if volume_id not in self.luns:
            self.luns[volume_id] = next(self._next_lun)
        return self.luns[volume_id]

    def connector_of(self, volume_id, attachment_id=None):
        """The connector of the volume's (given or connected) attachment."""
        for att_id, att in self.volume_to_attachment[volume_id].items():
            if attachment_id in (None, att_id) and att.get('connector'):
                return att['connector']
        return None

    def _find_connection_info(self, volume_id, attachment_id):
        attachment = self.volume_to_attachment[volume_id].get(
            attachment_id) or {}
        connector = attachment.get('connector') or {}
        if volume_id in self.iscsi_volumes:
            return {
                'driver_volume_type': 'iscsi',
                'data': {'target_iqn': 'iqn.2010-10.org.openstack:%s' %
                         volume_id, 'target_portal': '192.0.2.5:3260',
                         'target_lun': 1, 'volume_id': volume_id,
                         'attachment_id': attachment_id},
            }
        targets = list(TARGET_WWPNS)
        self._map_in_san(volume_id, connector, targets)
        return {
            'driver_volume_type': 'fibre_channel',
            'data': {
                'target_discovered': False,
                'target_wwn': targets,
                'target_lun': self.lun_of(volume_id),
                'initiator_target_map': {
                    wwpn: list(targets)
                    for wwpn in connector.get('wwpns') or []},
                'volume_id': volume_id,
                'attachment_id': attachment_id,
                'discard': False,
            },
        }

    def _map_in_san(self, volume_id, connector, targets):
        """Map the volume to the connector's WWPNs on the storage system.

        As a Cinder FC driver does when it connects a volume; the
        simulated HMC finds the LUN by FCP storage discovery.
        """
        simulator = getattr(self.test, 'simulator', None)
        wwpns = connector.get('wwpns') or []
        if simulator is None or not wwpns:
            return
        size = (self.volumes.get(volume_id) or {}).get('size') or 1
        simulator.map_volume(wwpns, targets, fcp_lun(self.lun_of(volume_id)),
                             size)

    def fake_attachment_create(self, context, volume_id, instance_uuid,
                               connector=None, mountpoint=None):
        # The parent computes the connection info before it records the
        # connector; record it first so the map is built from it.
        attachment = super().fake_attachment_create(
            context, volume_id, instance_uuid, connector=None,
            mountpoint=mountpoint)
        if connector:
            record = self.volume_to_attachment[volume_id][attachment['id']]
            record['connector'] = connector
            attachment['connection_info'] = self._find_connection_info(
                volume_id, attachment['id'])
        return attachment


class DPMNeutronFixture(nova_fixtures.NeutronFixture):
    """nova's Neutron fixture with a flat network on OSA virtual switches.

    Ports made by :meth:`create_dpm_port` are bound as the ``dpm``
    mechanism driver binds them for a DPM agent: VIF type ``dpm_vswitch``
    with the virtual switch's object-id in the VIF details. The subnet
    has DHCP on, with the port that Neutron's DHCP agent on a network node
    would own (:attr:`dhcp_port`, bound to that node's Open vSwitch
    agent): it is data only, no DHCP server runs. Nova reads it as for any
    DHCP subnet (the ``dhcp_server`` of the subnet in the network info).
    """

    dpm_network = {
        'id': '6d3e4a52-1f0b-4c55-9a0e-2f1d7c0b5a11',
        'name': 'dpm-flat',
        'description': 'flat provider network on OSA-1',
        'status': 'ACTIVE',
        'subnets': ['0b7c1f4e-8d2a-4e7b-b6c3-5a9d2e1f0c22'],
        'admin_state_up': True,
        'tenant_id': nova_fixtures.PROJECT_ID,
        'project_id': nova_fixtures.PROJECT_ID,
        'shared': True,
        'mtu': 1500,
        'router:external': False,
        'availability_zone_hints': [],
        'availability_zones': ['nova'],
        'port_security_enabled': False,
        'ipv4_address_scope': None,
        'ipv6_address_scope': None,
        'provider:network_type': 'flat',
        'provider:physical_network': 'osa1',
        'provider:segmentation_id': None,
    }
    dpm_subnet = {
        'id': '0b7c1f4e-8d2a-4e7b-b6c3-5a9d2e1f0c22',
        'name': 'dpm-flat-subnet',
        'description': '',
        'ip_version': 4,
        'ipv6_address_mode': None,
        'ipv6_ra_mode': None,
        'enable_dhcp': True,
        'network_id': dpm_network['id'],
        'tenant_id': nova_fixtures.PROJECT_ID,
        'project_id': nova_fixtures.PROJECT_ID,
        'dns_nameservers': [],
        'gateway_ip': '192.0.2.1',
        'allocation_pools': [{'start': '192.0.2.10',
                              'end': '192.0.2.250'}],
        'host_routes': [],
        'cidr': '192.0.2.0/24',
    }
    dhcp_port = {
        'id': '7a0000dc-0000-4000-8000-000000000001',
        'name': '',
        'description': '',
        'network_id': dpm_network['id'],
        'admin_state_up': True,
        'status': 'ACTIVE',
        'mac_address': 'fa:16:3e:00:dc:01',
        'fixed_ips': [{'ip_address': '192.0.2.2',
                       'subnet_id': dpm_subnet['id']}],
        'tenant_id': nova_fixtures.PROJECT_ID,
        'project_id': nova_fixtures.PROJECT_ID,
        'device_id': 'dhcp-network-node',
        'device_owner': 'network:dhcp',
        'binding:host_id': 'network-node',
        'binding:profile': {},
        'binding:vif_details': {},
        'binding:vif_type': 'ovs',
        'binding:vnic_type': 'normal',
        'port_security_enabled': False,
        'security_groups': [],
    }

    def __init__(self, test):
        super().__init__(test)
        self._networks[self.dpm_network['id']] = self.dpm_network
        self._subnets[self.dpm_subnet['id']] = self.dpm_subnet
        self._ports[self.dhcp_port['id']] = copy.deepcopy(self.dhcp_port)
        self._dpm_serial = itertools.count(1)

    def list_subnets(self, retrieve_all=True, **_params):
        # nova's fixture returns every subnet whatever the filter; Neutron
        # returns the subnets asked for (Nova asks by the ids of a port's
        # fixed IPs), and Nova takes the first IPv4 subnet of the list.
        return {'subnets': copy.deepcopy(self._list_resource(
            self._subnets, retrieve_all, **_params))}

    def create_dpm_port(self, vswitch_id, vif_type='dpm_vswitch'):
        """A port on the flat network, bound to an OSA virtual switch."""
        n = next(self._dpm_serial)
        port = {
            # Distinct in the first 11 characters, as Neutron's random ids
            # are: Nova names the port's device (and its link in the
            # network data) after them.
            'id': '7a%06x-0000-4000-8000-%012x' % (n, n),
            'name': 'dpm-port-%d' % n,
            'description': '',
            'network_id': self.dpm_network['id'],
            'admin_state_up': True,
            'status': 'ACTIVE',
            'mac_address': 'fa:16:3e:00:%02x:%02x' % (n >> 8, n & 0xff),
            'fixed_ips': [{'ip_address': '192.0.2.%d' % (10 + n),
                           'subnet_id': self.dpm_subnet['id']}],
            'tenant_id': nova_fixtures.PROJECT_ID,
            'project_id': nova_fixtures.PROJECT_ID,
            'device_id': '',
            'device_owner': '',
            'binding:profile': {},
            'binding:vif_details': {'object_id': vswitch_id},
            'binding:vif_type': vif_type,
            'binding:vnic_type': 'normal',
            'port_security_enabled': False,
            'security_groups': [],
        }
        self._ports[port['id']] = port
        return copy.deepcopy(port)


class HmcState(object):
    """What the simulated HMC holds, read from its faked objects.

    Every method returns deep copies of HMC property dicts (names with
    dashes, as the HMC WS API shows them), taken under the simulator's
    lock, so nothing here goes through zhmcclient, HTTP or the driver and
    no request is counted.

    :param simulator: the :class:`~nova_dpm.simulator.hmc.SimulatedHmc`
        (the one the HTTPS server serves, or the one inside the driver's
        in-process session).
    """

    def __init__(self, simulator):
        self.simulator = simulator
        self.faked = simulator.faked

    def _cpc(self):
        return self.faked.cpcs.lookup_by_oid(CPC_OBJECT_ID)

    def _partition(self, name):
        for part in self._cpc().partitions.list():
            if part.properties.get('name') == name:
                return part
        return None

    def _group(self, name):
        for group in self.simulator.storage_groups():
            if group.properties.get('name') == name:
                return group
        return None

    def _copy(self, resources, key='name'):
        return sorted((copy.deepcopy(r.properties) for r in resources),
                      key=lambda p: p.get(key) or '')

    def cpc(self):
        with self.simulator.lock:
            return copy.deepcopy(self._cpc().properties)

    def resource(self, uri):
        """Properties of any HMC object by URI (adapter, port, ...)."""
        return self.simulator.properties(uri)

    def port_label(self, port_uri):
        """'FCP-A port 0' for an adapter port URI."""
        port = self.resource(port_uri)
        adapter = self.resource(port['parent'])
        return '%s port %s' % (adapter['name'], port['index'])

    def partition_names(self):
        with self.simulator.lock:
            self.simulator.advance()
            return sorted(p.properties['name']
                          for p in self._cpc().partitions.list())

    def openstack_partition_names(self):
        return [n for n in self.partition_names()
                if n.startswith(PARTITION_PREFIX)]

    def partition(self, name):
        """Properties of the partition with this name, or None."""
        with self.simulator.lock:
            self.simulator.advance()
            part = self._partition(name)
            return copy.deepcopy(part.properties) if part else None

    def partition_of(self, instance_uuid):
        return self.partition(partition_name(instance_uuid))

    def hbas(self, name):
        """HBAs of a partition, by name."""
        with self.simulator.lock:
            return self._copy(self._partition(name).hbas.list())

    def nics(self, name):
        """NICs of a partition, by device number."""
        with self.simulator.lock:
            return self._copy(self._partition(name).nics.list(),
                              key='device-number')

    def virtual_switch(self, object_id):
        with self.simulator.lock:
            return copy.deepcopy(
                self._cpc().virtual_switches.lookup_by_oid(
                    object_id).properties)

    def storage_group_names(self):
        with self.simulator.lock:
            return sorted(g.properties['name']
                          for g in self.simulator.storage_groups())

    def storage_group(self, name):
        with self.simulator.lock:
            group = self._group(name)
            return copy.deepcopy(group.properties) if group else None

    def virtual_storage_resources(self, group_name):
        """VSRs of a storage group, by name."""
        with self.simulator.lock:
            return self._copy(
                self._group(group_name).virtual_storage_resources.list())

    def storage_volumes(self, group_name):
        """Storage volumes of a storage group, by name."""
        with self.simulator.lock:
            return self._copy(self._group(group_name).storage_volumes.list())

    def volume_target(self, volume_uri):
        """Where a boot volume was fulfilled (wwpn, lun, port), or None.

        As the simulator recorded it from Fulfill FCP Storage Volume.
        """
        with self.simulator.lock:
            target = self.simulator.volume_targets.get(volume_uri)
            return copy.deepcopy(target)

    def foreign_snapshot(self):
        """Everything about the partitions OpenStack does not manage."""
        with self.simulator.lock:
            self.simulator.advance()
            snap = {}
            for part in self._cpc().partitions.list():
                name = part.properties['name']
                if name.startswith('OpenStack-'):
                    continue
                snap[name] = {
                    'properties': copy.deepcopy(part.properties),
                    'nics': self._copy(part.nics.list()),
                    'hbas': self._copy(part.hbas.list()),
                }
            return snap


class DPMCloudTestCase(test.TestCase,
                       integrated_helpers.PlacementInstanceHelperMixin):
    """Nova API, conductor, scheduler, placement and a DPM nova-compute.

    Class attributes choose the transport, the simulated HMC and the CPC
    subset; setUp leaves behind:

    * ``self.api`` (project member) and ``self.admin_api``, both at the
      latest microversion; ``self.placement``;
    * ``self.cinder`` (:class:`FibreChannelCinderFixture`),
      ``self.neutron`` (:class:`DPMNeutronFixture`), ``self.glance``;
    * ``self.compute``, ``self.driver`` (the DPMDriver),
      ``self.simulator`` (the SimulatedHmc: request counts, faults, guest
      behaviour) and ``self.hmc`` (:class:`HmcState`);
    * ``self.hmc_server``: the HmcServer (session and fault controls,
      ``logons``) with the ``'https'`` transport, None in-process;
    * ``self.flavor`` (2 vCPUs, 4096 MiB, no disk).
    """

    #: How nova-compute reaches the simulated HMC: 'https' (an HmcServer
    #: and a real zhmcclient.Session, TLS verified) or 'in-process'
    #: ([dpm] hmc_mock_file).
    HMC_TRANSPORT = HTTPS
    #: The simulated machine: 'z16' (storage groups) or 'z13' (HBAs).
    HMC_DEFINITION = 'z16'
    #: The HMC user nova-compute logs on as, with the 'https' transport.
    HMC_USERID = HMC_USERID
    HMC_PASSWORD = HMC_PASSWORD
    MAX_PROCESSORS = 8
    MAX_MEMORY = 32768
    MAX_INSTANCES = None
    #: Seconds a simulated partition start or stop takes.
    TRANSITION_TIME = 0.0
    #: [dpm] hmc_notifications: nova-compute receives the simulated HMC's
    #: notifications (on both transports).
    HMC_NOTIFICATIONS = False
    #: Treat RPC casts as calls: an API call returns once compute is done.
    CAST_AS_CALL = True

    FLAVOR_VCPUS = 2
    FLAVOR_RAM = 4096

    def setUp(self):
        super().setUp()
        if self.HMC_TRANSPORT not in TRANSPORTS:
            raise ValueError('HMC_TRANSPORT %r: expected one of %s' % (
                self.HMC_TRANSPORT, ', '.join(TRANSPORTS)))
        self.flags(api_paste_config=paste_config(), group='wsgi')
        self.flags(compute_driver='dpm.DPMDriver', host=HOST)
        self.flags(group='dpm',
                   cpc_object_id=CPC_OBJECT_ID,
                   max_processors=self.MAX_PROCESSORS,
                   max_memory=self.MAX_MEMORY,
                   max_instances=self.MAX_INSTANCES,
                   physical_storage_adapter_mappings=ADAPTER_MAPPINGS,
                   hmc_notifications=self.HMC_NOTIFICATIONS)
        self._configure_logging()
        self.simulator = None
        self.hmc_server = None
        if self.HMC_TRANSPORT == HTTPS:
            self.useFixture(HttpsNotIntercepted())
            self._serve_hmc()
        else:
            self.flags(group='dpm', hmc_mock_file=self.HMC_DEFINITION)
            # Runs after nova-compute has stopped (cleanups run in
            # reverse): the network side of the in-process HMC.
            self.addCleanup(self._stop_serving)

        if self.CAST_AS_CALL:
            self.useFixture(nova_fixtures.CastAsCallFixture(self))
        self.placement = self.useFixture(
            func_fixtures.PlacementFixture()).api
        self.neutron = self.useFixture(DPMNeutronFixture(self))
        self.cinder = self.useFixture(FibreChannelCinderFixture(self))
        self.glance = self.useFixture(nova_fixtures.GlanceFixture(self))
        self.policy = self.useFixture(nova_fixtures.RealPolicyFixture())
        self.notifier = self.useFixture(
            nova_fixtures.NotificationFixture(self))

        self.flags(transport_url=self.cell_mappings['cell1'].transport_url)
        self.conductor = self.start_service('conductor')
        self.scheduler = self.start_service('scheduler')
        self._before_compute_start()
        self.compute = self._start_compute(HOST)

        api_fixture = self.useFixture(nova_fixtures.OSAPIFixture(
            api_version='v2.1'))
        self.api = api_fixture.api
        self.admin_api = api_fixture.admin_api
        self.api.microversion = 'latest'
        self.admin_api.microversion = 'latest'

        self.driver = self.compute.manager.driver
        if self.simulator is None:
            # In-process: the driver built its session (and the simulator
            # in it) from [dpm] hmc_mock_file when nova-compute started.
            self.simulator = self.driver.hmc.session.simulator
            self.simulator.transition_time = self.TRANSITION_TIME
        self.hmc = HmcState(self.simulator)
        self.foreign_at_start = self.hmc.foreign_snapshot()
        self.flavor = self.create_flavor(self.FLAVOR_VCPUS, self.FLAVOR_RAM)
        self.image = self.create_s390x_image()

    def _serve_hmc(self):
        """Serve a new simulated HMC over HTTPS; point [dpm] at it.

        The server is stopped after nova-compute (cleanups run in reverse),
        so that the driver's logoff still reaches it.
        """
        self.simulator = hmc_simulator.load_session(
            self.HMC_DEFINITION,
            transition_time=self.TRANSITION_TIME).simulator
        self.hmc_server = hmc_server.HmcServer(
            self.simulator, self.HMC_USERID, self.HMC_PASSWORD).start()
        self.addCleanup(self.hmc_server.stop)
        self.flags(group='dpm',
                   hmc=self.hmc_hosts(),
                   hmc_port=self.hmc_server.port,
                   hmc_username=self.HMC_USERID,
                   hmc_password=self.HMC_PASSWORD,
                   hmc_verify_cert=True,
                   hmc_ca_bundle=self.hmc_server.ca_file,
                   hmc_notification_port=self.hmc_server.stomp.port)

    def _stop_serving(self):
        if self.simulator is not None:
            self.simulator.session.stop_serving()

    @property
    def notification_service(self):
        """The simulated HMC's STOMP broker (either transport)."""
        if self.hmc_server is not None:
            return self.hmc_server.stomp
        return self.simulator.serve_locally().stomp

    def hmc_hosts(self):
        """[dpm] hmc with the 'https' transport."""
        return [hmc_server.LOOPBACK]

    def _before_compute_start(self):
        """Hook: the HMC is served, nova-compute not yet started."""

    def _configure_logging(self):
        """Hook for the demo: called after nova's log capture is set up."""

    def _clear_attrs(self):
        # nova drops the test's attributes after each test to save memory;
        # pytest still needs some of them afterwards. Keep them.
        pass

    # -- flavors, ports, volumes -----------------------------------------

    def create_flavor(self, vcpus, ram, name=None):
        name = name or 'dpm-%dcpu-%dmb' % (vcpus, ram)
        flavor = self.admin_api.post_flavor({'flavor': {
            'name': name, 'vcpus': vcpus, 'ram': ram, 'disk': 0}})
        return flavor['id']

    def create_s390x_image(self):
        """A Linux on Z image in Glance (for image-to-volume boots)."""
        stamp = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)
        image = {
            'id': 'e5390000-0000-4000-8000-000000000001',
            'name': 'linux-s390x',
            'created_at': stamp, 'updated_at': stamp,
            'deleted_at': None, 'deleted': False,
            'status': 'active', 'visibility': 'public', 'protected': False,
            'container_format': 'bare', 'disk_format': 'raw',
            'size': 2147483648, 'min_ram': 0, 'min_disk': 0,
            'properties': {'architecture': 's390x', 'os_distro': 'rhel'},
        }
        self.glance.create(None, image)
        return image['id']

    def create_ports(self, *vswitches):
        """One bound port per virtual switch (default: both switches)."""
        vswitches = vswitches or (VSWITCH_0, VSWITCH_1)
        return [self.neutron.create_dpm_port(v) for v in vswitches]

    @staticmethod
    def new_volume_id(n):
        """A fixed volume id; the Cinder fixture fakes its existence."""
        return 'b0000000-0000-4000-8000-%012x' % n

    # -- servers -----------------------------------------------------------

    def server_body(self, name='dpm-server', flavor_id=None, ports=None,
                    volume_id=None, image_id=None, image_to_volume=None):
        """A server create request.

        Booting from ``volume_id`` (an existing volume) by default; with
        ``image_to_volume`` (an image id), from a volume nova creates from
        the image; with ``image_id``, from the image itself.
        """
        ports = self.create_ports() if ports is None else ports
        body = {
            'name': name,
            'flavorRef': flavor_id or self.flavor,
            'networks': [{'port': p['id']} for p in ports] or 'none',
        }
        if image_id:
            body['imageRef'] = image_id
        elif image_to_volume:
            body['block_device_mapping_v2'] = [{
                'source_type': 'image', 'destination_type': 'volume',
                'uuid': image_to_volume, 'volume_size': 10,
                'boot_index': 0, 'delete_on_termination': True}]
        else:
            body['block_device_mapping_v2'] = [{
                'source_type': 'volume', 'destination_type': 'volume',
                'uuid': volume_id or self.new_volume_id(1),
                'boot_index': 0, 'delete_on_termination': False}]
        return body

    def boot(self, expected_status='ACTIVE', api=None, **kwargs):
        api = api or self.api
        server = api.post_server({'server': self.server_body(**kwargs)})
        return self.wait_for_status(server, expected_status)

    def get_server(self, server):
        """The server as an admin sees it (with host and task state)."""
        return self.admin_api.get_server(server['id'])

    def wait_for_status(self, server, status, timeout=30.0):
        """Poll until the server has ``status`` and no task.

        ERROR counts only once the fault is recorded; an unexpected ERROR
        fails at once.
        """
        deadline = time.monotonic() + timeout
        while True:
            server = self.get_server(server)
            done = (server['status'] == status and
                    server.get('OS-EXT-STS:task_state') is None and
                    (status != 'ERROR' or 'fault' in server))
            if done:
                return server
            failed = (server['status'] == 'ERROR' and status != 'ERROR' and
                      'fault' in server)
            if failed or time.monotonic() > deadline:
                self.fail('server %s did not reach %s: status %s, task %s, '
                          'fault: %s' % (
                              server['id'], status, server['status'],
                              server.get('OS-EXT-STS:task_state'),
                              (server.get('fault') or {}).get('message')))
            time.sleep(0.05)

    def action(self, server, body, status):
        self.api.post_server_action(server['id'], body)
        return self.wait_for_status(server, status)

    def stop(self, server):
        return self.action(server, {'os-stop': None}, 'SHUTOFF')

    def start(self, server):
        return self.action(server, {'os-start': None}, 'ACTIVE')

    def reboot(self, server, hard=False):
        return self.action(server, {'reboot': {
            'type': 'HARD' if hard else 'SOFT'}}, 'ACTIVE')

    def attach_volume(self, server, volume_id):
        self.api.post_server_volume(
            server['id'], {'volumeAttachment': {'volumeId': volume_id}})
        self._wait_for_volume_attach(server['id'], volume_id)
        self.notifier.wait_for_versioned_notifications(
            'instance.volume_attach.end')

    def detach_volume(self, server, volume_id):
        self.api.delete_server_volume(server['id'], volume_id)
        self._wait_for_volume_detach(server['id'], volume_id)
        self.notifier.wait_for_versioned_notifications(
            'instance.volume_detach.end')

    def delete(self, server, timeout=30.0):
        self.api.delete_server(server['id'])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.get_server(server)
            except api_client.OpenStackApiNotFoundException:
                return
            time.sleep(0.05)
        self.fail('server %s was not deleted in %ss' % (server['id'],
                                                        timeout))

    # -- placement -----------------------------------------------------------

    def provider_uuid(self):
        return self._get_provider_uuid_by_name(HOST)

    def wait_for_allocations(self, server, expected, timeout=10.0):
        """Poll the server's allocations until they are ``expected``.

        ``expected`` maps provider UUIDs to resources. Nova frees the
        allocations of a failed build after it records the fault.
        """
        deadline = time.monotonic() + timeout
        while True:
            found = {rp: alloc['resources'] for rp, alloc in
                     self._get_allocations_by_server_uuid(
                         server['id']).items()}
            if found == expected or time.monotonic() > deadline:
                self.assertEqual(expected, found)
                return
            time.sleep(0.05)

    # -- HMC checks ----------------------------------------------------------

    def assertNothingOnHmc(self, instance_uuid):
        """No partition and no storage group of the instance remain."""
        name = partition_name(instance_uuid)
        self.assertNotIn(name, self.hmc.partition_names())
        self.assertNotIn(name, self.hmc.storage_group_names())

    def assertForeignPartitionsUntouched(self):
        self.assertEqual(self.foreign_at_start, self.hmc.foreign_snapshot())


# -- a second CPC subset on the same simulated CPC ---------------------------

HOST_2 = 'dpm-subset-2'


def partition_name_on(host, instance_uuid):
    """The partition of an instance on the CPC subset of ``host``."""
    return 'OpenStack-%s-%s' % (host, instance_uuid)


def _node_uuid(node):
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, node))


def _node_uuid_per_host(driver, refresh=False):
    node = driver.get_available_nodes()[0]
    return {_node_uuid(node): node}


class SecondSubsetMixin(object):
    """A second nova-compute, CPC subset HOST_2, on the same simulated CPC.

    Mixed in before :class:`DPMCloudTestCase`. The second service has
    [dpm] limits of its own (the ``SUBSET_2_*`` attributes); both reach
    the one simulated HMC, so the 'https' transport is required (with
    ``[dpm] hmc_mock_file`` every service would simulate a CPC of its
    own). ``self.compute_2`` is the second service.
    """

    SUBSET_2_MAX_PROCESSORS = 8
    SUBSET_2_MAX_MEMORY = 32768
    SUBSET_2_MAX_INSTANCES = None

    def setUp(self):
        if self.HMC_TRANSPORT != HTTPS:
            raise ValueError('two CPC subsets need HMC_TRANSPORT = %r'
                             % HTTPS)
        # nova-compute keeps its node's UUID for the process (a file in
        # production, one process per host); two services in one process
        # get one UUID per host instead.
        self.useFixture(fixtures.MockPatch(
            'nova_dpm.driver.DPMDriver.get_nodenames_by_uuid',
            _node_uuid_per_host))
        resource = driver_module.DPMDriver.get_available_resource

        def with_node_uuid(driver, nodename):
            found = resource(driver, nodename)
            found['uuid'] = _node_uuid(nodename)
            return found

        self.useFixture(fixtures.MockPatch(
            'nova_dpm.driver.DPMDriver.get_available_resource',
            with_node_uuid))
        super().setUp()
        self.compute_2 = self.start_subset(
            HOST_2, max_processors=self.SUBSET_2_MAX_PROCESSORS,
            max_memory=self.SUBSET_2_MAX_MEMORY,
            max_instances=self.SUBSET_2_MAX_INSTANCES)

    def start_subset(self, host, **limits):
        """Start nova-compute for ``host`` with these [dpm] limits.

        The [dpm] options are read when the service starts; afterwards
        they are set back to those of the first subset, so that a restart
        of the first service finds its own.
        """
        first = {name: getattr(test.CONF.dpm, name) for name in limits}
        self.flags(group='dpm', **limits)
        try:
            return self._start_compute(host)
        finally:
            self.flags(group='dpm', **first)

    def restart_subset(self, host):
        """Restart nova-compute for ``host`` as a new process would.

        A new driver (nothing kept in memory), the [dpm] options of the
        first subset; the simulated HMC keeps its state.
        """
        compute = self.computes[host]
        return self.restart_compute_service(compute,
                                            keep_hypervisor_state=False)
