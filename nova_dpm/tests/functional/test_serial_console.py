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

"""An interactive serial console through Nova's API and nova-serialproxy.

``openstack console url show --serial`` is the os-remote-consoles API;
the URL's WebSocket is served by nova-serialproxy's own request handler
(nova.console.websocketproxy, run in a thread of the test); the proxy
checks the token and its port with nova-compute, connects to the
driver's TCP endpoint and moves bytes to the simulated HMC's ASCII
console WebSocket and the simulated guest behind it.
"""

import threading
import urllib.parse

import fixtures
from nova.console import websocketproxy
from nova.tests.functional.api import client as api_client
import websocket
from websockify import websocketproxy as websockify_proxy

from nova_dpm.simulator.cloud import nova_cloud as cloud

GET_URI = ('/api/partitions/{id}/operations/'
           'get-ascii-console-websocket-uri')
# Seconds the client waits for an answer (a bound, never asserted on).
PATIENCE = 20


class SerialProxy(fixtures.Fixture):
    """nova-serialproxy's request handler on 127.0.0.1, in a thread.

    websockify's standard-library server (LibProxyServer) instead of the
    forking server of the nova-serialproxy command: each connection runs
    in a thread of this process, where the in-process cloud's database
    and message bus are.
    """

    def _setUp(self):
        if not websocketproxy.utils.concurrency_mode_threading():
            # The forked child of the real proxy opens an eventlet hub of
            # its own (eventlet.hubs.use_hub); in this process that would
            # replace the hub that the whole test runs on.
            self.useFixture(fixtures.MockPatch('eventlet.hubs.use_hub'))
        self.server = websockify_proxy.LibProxyServer(
            RequestHandlerClass=websocketproxy.NovaProxyRequestHandler,
            listen_host='127.0.0.1', listen_port=0)
        self.server.security_proxy = None
        self.port = self.server.server_address[1]
        thread = threading.Thread(target=self.server.serve_forever,
                                  kwargs={'poll_interval': 0.1},
                                  daemon=True)
        thread.start()
        self.addCleanup(self.server.server_close)
        self.addCleanup(self.server.shutdown)


class SerialConsoleMixin(object):

    def setUp(self):
        super().setUp()
        self.proxy = self.useFixture(SerialProxy())
        self.flags(group='serial_console', enabled=True,
                   proxyclient_address='127.0.0.1',
                   port_range='10000:20000',
                   base_url='ws://127.0.0.1:%d/' % self.proxy.port)
        self.addCleanup(self.driver.consoles.close_all)

    def console_url(self, server):
        """What ``openstack console url show --serial`` shows."""
        body = {'remote_console': {'protocol': 'serial', 'type': 'serial'}}
        resp = self.api.api_post('/servers/%s/remote-consoles'
                                 % server['id'], body).body
        console = resp['remote_console']
        self.assertEqual('serial', console['type'])
        return console['url']

    def connect(self, url):
        ws = websocket.WebSocket()
        ws.connect(url, timeout=PATIENCE)
        self.addCleanup(ws.close)
        return ws

    @staticmethod
    def read_until(ws, text):
        data = b''
        while text.encode() not in data:
            chunk = ws.recv()
            if not chunk:
                raise AssertionError('The console closed before %r; it '
                                     'sent %r' % (text, data))
            data += chunk if isinstance(chunk, bytes) else chunk.encode()
        return data.decode()

    def test_type_a_command_and_read_the_answer(self):
        server = self.boot(ports=self.create_ports())
        part = self.hmc.partition_of(server['id'])
        self.simulator.set_guest(part['object-uri'],
                                 ascii_login='root:passw0rd')
        url = self.console_url(server)
        self.assertEqual(('ws', '127.0.0.1:%d' % self.proxy.port),
                         urllib.parse.urlparse(url)[:2])
        ws = self.connect(url)
        # Enter on a terminal: a carriage return.
        ws.send_binary(b'\r')
        self.read_until(ws, 'login: ')
        ws.send_binary(b'root\r')
        self.read_until(ws, 'Password: ')
        ws.send_binary(b'passw0rd\r')
        self.read_until(ws, 'root@')
        ws.send_binary(b'hostname\r')
        out = self.read_until(ws, '# ')
        self.assertIn('hostname\r\n%s\r\n'
                      % part['name'].lower(), out)
        self.assertNotIn('/api/websock/', out)

    def test_shutoff_server_has_no_console(self):
        server = self.boot(ports=self.create_ports())
        self.stop(server)
        self.simulator.reset_counts()
        body = {'remote_console': {'protocol': 'serial', 'type': 'serial'}}
        exc = self.assertRaises(
            api_client.OpenStackApiException, self.api.api_post,
            '/servers/%s/remote-consoles' % server['id'], body)
        # Nova's answer to ConsoleTypeUnavailable; the HMC refused the
        # console of the stopped partition (HMC rule W2).
        self.assertEqual(400, exc.response.status_code)
        self.assertEqual(1, self.simulator.count('POST', GET_URI))
        self.assertEqual(0, self.driver.consoles.count())


class TestSerialConsoleHttps(SerialConsoleMixin, cloud.DPMCloudTestCase):
    """The driver reaches the simulated HMC over HTTPS."""


class TestSerialConsoleInProcess(SerialConsoleMixin, cloud.DPMCloudTestCase):
    """[dpm] hmc_mock_file: the in-process simulated HMC."""

    HMC_TRANSPORT = cloud.IN_PROCESS
