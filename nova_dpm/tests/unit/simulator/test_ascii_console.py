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

"""The ASCII console WebSocket (HMC rules W1-W4, ascii_console.py)."""

import ssl

import websocket

from nova_dpm.simulator import ascii_console
from nova_dpm.simulator import server as hmc_server
from nova_dpm.tests.unit.simulator import base
from nova_dpm.tests.unit.simulator import test_server
from nova_dpm.tests.unit.simulator import test_versions

# Seconds a test waits for the WebSocket (a bound, never asserted on).
PATIENCE = 20


def open_ws(session, uri):
    """A WebSocket client on the URI, as zhmcclient.OSConsole opens it."""
    ws = websocket.WebSocket(sslopt={'cert_reqs': ssl.CERT_REQUIRED,
                                     'ca_certs': session.verify_cert})
    ws.connect('wss://%s:%d%s' % (session.actual_host, session.port, uri),
               timeout=PATIENCE)
    return ws


def read_until(ws, text):
    data = ''
    while text not in data:
        data += ws.recv()
    return data


class RulesTest(base.TestCase):

    def test_w1_api_version(self):
        # zhmcclient.mock has no such operation at all (404 on any HMC);
        # the simulator has it from API 2.22 (HMC 2.14.0) on.
        env = self.env(strict=False)
        p = env.cpc.partitions.find(name='LINUX01')
        self.assertHttpError(404, None, p.create_os_websocket)
        env = self.env()
        p = env.cpc.partitions.find(name='LINUX01')
        self.assertTrue(p.create_os_websocket().startswith(
            ascii_console.PREFIX))
        for api, ok in (('2.21', False), ('2.22', True)):
            path = test_versions.edited(self, test_versions.versions(api),
                                        name='z16')
            env = self.env(definition=path)
            p = env.cpc.partitions.find(name='LINUX01')
            if ok:
                p.create_os_websocket()
            else:
                self.assertHttpError(404, 1, p.create_os_websocket)

    def test_w2_the_partition_must_be_active(self):
        env = self.env()
        p = env.partition()
        self.assertHttpError(409, 1, p.create_os_websocket)
        self.assertHttpError(400, 7, env.session.post,
                             p.uri + '/operations/' + ascii_console.OPERATION,
                             body={'force-takeover': 'yes'})

    def test_w3_one_websocket_per_partition_on_this_hmc(self):
        env = self.env()
        p = env.cpc.partitions.find(name='LINUX01')
        ws = open_ws(env.session, p.create_os_websocket())
        self.assertHttpError(409, ascii_console.BUSY, p.create_os_websocket)
        # force-takeover breaks WebSockets of other HMCs only.
        self.assertHttpError(409, ascii_console.BUSY, p.create_os_websocket,
                             force_takeover=True)
        ws.close()
        open_ws(env.session, p.create_os_websocket()).close()

    def test_w4_a_uri_opens_one_websocket(self):
        env = self.env()
        p = env.cpc.partitions.find(name='LINUX01')
        uri = p.create_os_websocket()
        open_ws(env.session, uri).close()
        exc = self.assertRaises(websocket.WebSocketBadStatusException,
                                open_ws, env.session, uri)
        self.assertEqual(404, exc.status_code)
        self.assertRaises(websocket.WebSocketBadStatusException,
                          open_ws, env.session, ascii_console.PREFIX + 'x/1')


class GuestTest(base.TestCase):

    def test_the_vt220_getty_not_the_messages_console(self):
        # HMC rule M4: the ASCII console is the VT220 terminal; the
        # dpm_console_listener (line-mode terminal) never sees its input.
        env = self.env()
        p = env.cpc.partitions.find(name='LINUX01')
        ws = open_ws(env.session, p.create_os_websocket())
        self.addCleanup(ws.close)
        ws.send_text('\n')
        self.assertIn('linux01 login: ', read_until(ws, 'login: '))
        ws.send_text('poweroff\n')
        out = read_until(ws, 'Password: ')
        self.assertIn('poweroff', out)
        ws.send_text('secret\n')
        out = read_until(ws, 'login: ')
        self.assertIn('Login incorrect', out)
        self.assertNotIn('secret', out)
        self.assertEqual([], env.sim.os_messages(p.uri))
        self.assertEqual('active', env.faked(p.uri).properties['status'])

    def test_a_login_and_a_command(self):
        env = self.env()
        self.addCleanup(lambda: env.sim.console_endpoint.stop())
        p = env.cpc.partitions.find(name='LINUX01')
        env.sim.set_guest(p.uri, ascii_login='root:passw0rd')
        ws = open_ws(env.session, p.create_os_websocket())
        self.addCleanup(ws.close)
        ws.send_text('root\n')
        read_until(ws, 'Password: ')
        ws.send_text('passw0rd\n')
        read_until(ws, 'root@linux01:~# ')
        ws.send_text('uname -a\n')
        out = read_until(ws, 'GNU/Linux')
        self.assertIsInstance(out, str)
        self.assertIn(ascii_console.UNAME % 'linux01', out)
        ws.send_text('exit\n')
        read_until(ws, 'linux01 login: ')

    def test_a_stopped_partition_ends_the_websocket(self):
        env = self.env()
        p = env.cpc.partitions.find(name='LINUX01')
        ws = open_ws(env.session, p.create_os_websocket())
        ws.send_text('root\n')
        read_until(ws, 'Password: ')
        env.sim.set_status(p.uri, 'stopped')
        # The OS is gone: the HMC closes the WebSocket.
        self.assertEqual('', ws.recv())
        self.assertFalse(any(s.connected
                             for s in env.sim.ascii_consoles.values()))


class HttpsTest(test_server.ServerTestCase):

    def test_served_on_the_api_port_without_a_session_header(self):
        p = self.cpc().partitions.find(name='LINUX01')
        uri = p.create_os_websocket()
        self.assertIs(self.server, self.sim.console_endpoint)
        ws = websocket.WebSocket(sslopt={'cert_reqs': ssl.CERT_REQUIRED,
                                         'ca_certs': self.server.ca_file})
        ws.connect('wss://%s:%d%s' % (hmc_server.LOOPBACK, self.server.port,
                                      uri), timeout=PATIENCE)
        self.addCleanup(ws.close)
        ws.send_text('root\n')
        self.assertIn('root\r\nPassword: ', read_until(ws, 'Password: '))

    def test_plain_http_get_still_needs_a_session(self):
        resp = self.raw('GET', '/api/cpcs')
        self.assertErrorBody(resp, 403, hmc_server.NO_SESSION)
