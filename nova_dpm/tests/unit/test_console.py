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

"""The serial console bridge against the simulated HMC's ASCII console."""

import socket
import time

import fixtures

from nova.console import type as console_type
from nova import exception as nova_exception
import testscenarios

from nova_dpm import console
from nova_dpm.tests.unit import base

load_tests = testscenarios.load_tests_apply_scenarios

GET_URI = ('/api/partitions/{id}/operations/get-ascii-console-websocket-uri')
# Bound of every wait for the other side (never asserted on).
PATIENCE = 20.0
PORT_RANGE = '10000:20000'


def eventually(condition, what):
    """Wait until condition() is true (bounded); fail naming ``what``."""
    deadline = time.monotonic() + PATIENCE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError('Still not the case: %s' % what)
        time.sleep(0.05)


class SerialConsoleTest(base.DriverTestCase):

    definition = 'z16'
    scenarios = [('in-process', {'transport': 'in-process'}),
                 ('https', {'transport': 'https'})]

    def setUp(self):
        super().setUp()
        self.conf.config(group='serial_console', enabled=True,
                         proxyclient_address='127.0.0.1',
                         port_range=PORT_RANGE)
        self.inst, _c = self.build()
        self.part = self.faked_partition(self.inst)
        self.addCleanup(self.driver.consoles.close_all)

    def open(self):
        cons = self.driver.get_serial_console(self.context, self.inst)
        self.assertIsInstance(cons, console_type.ConsoleSerial)
        return cons

    def connect(self, cons):
        sock = socket.create_connection((cons.host, cons.port), timeout=5)
        sock.settimeout(PATIENCE)
        self.addCleanup(sock.close)
        return sock

    def read_until(self, sock, text):
        """What the console sent up to and including ``text``."""
        data = b''
        while text.encode() not in data:
            chunk = sock.recv(4096)
            if not chunk:
                self.fail('The console closed before %r; it sent %r'
                          % (text, data))
            data += chunk
        return data.decode()

    def closed(self, sock):
        try:
            return sock.recv(4096) == b''
        except OSError:
            return True

    def test_a_login_and_a_command(self):
        self.sim.set_guest(self.part.uri, ascii_login='root:passw0rd')
        cons = self.open()
        self.assertEqual('127.0.0.1', cons.host)
        self.assertTrue(10000 <= cons.port < 20000)
        sock = self.connect(cons)
        # A terminal sends a carriage return for Enter.
        sock.sendall(b'root\r')
        self.read_until(sock, 'Password: ')
        sock.sendall(b'passw0rd\r\n')
        self.read_until(sock, 'root@')
        sock.sendall(b'uname -a\r')
        out = self.read_until(sock, 'GNU/Linux')
        self.assertIn('uname -a\r\nLinux ', out)
        self.assertEqual(1, self.sim.count('POST', GET_URI))
        # The messages console (and its listener) saw none of it.
        self.assertFalse(any('uname' in m for m in
                             self.sim.os_messages(self.part.uri)))

    def test_utf8_and_a_stop_ends_it(self):
        sock = self.connect(self.open())
        sock.sendall('j\u00fcrgen\n'.encode('utf-8'))
        out = self.read_until(sock, 'Password: ')
        self.assertIn('j\u00fcrgen', out)
        self.sim.set_status(self.part.uri, 'stopped')
        eventually(lambda: self.closed(sock), 'the client side closed')
        eventually(lambda: self.driver.consoles.count() == 0,
                   'the bridge is gone')

    def test_one_connection_only_and_only_on_the_address(self):
        cons = self.open()
        self.assertRaises(ConnectionRefusedError, socket.create_connection,
                          ('127.0.0.2', cons.port), 5)
        sock = self.connect(cons)
        sock.sendall(b'x\n')
        self.read_until(sock, 'Password: ')
        self.assertRaises(ConnectionRefusedError, socket.create_connection,
                          (cons.host, cons.port), 5)

    def test_client_close_closes_the_hmc_websocket(self):
        sock = self.connect(self.open())
        sock.sendall(b'ls\n')
        self.read_until(sock, 'Password: ')
        sock.close()
        eventually(lambda: not any(s.connected for s in
                                   self.sim.ascii_consoles.values()),
                   'the HMC WebSocket closed')
        eventually(lambda: self.driver.consoles.count() == 0,
                   'the bridge is gone')
        # The HMC now hands out a new console WebSocket (HMC rule W3).
        self.connect(self.open())

    def test_asking_again_while_waiting_answers_the_same_bridge(self):
        # nova-serialproxy checks the port of a token by asking again.
        first = self.open()
        self.sim.reset_counts()
        again = self.open()
        self.assertEqual((first.host, first.port), (again.host, again.port))
        self.assertEqual(0, self.sim.count('POST', GET_URI))
        sock = self.connect(again)
        sock.sendall(b'pwd\n')
        self.read_until(sock, 'Password: ')

    def test_in_use_while_connected(self):
        sock = self.connect(self.open())
        sock.sendall(b'ls\n')
        self.read_until(sock, 'Password: ')
        self.assertRaises(nova_exception.ConsoleTypeUnavailable, self.open)
        self.assertIn('is in use', self.logger.output)
        # The session goes on.
        sock.sendall(b'pwd\n')
        self.read_until(sock, 'Login incorrect')
        self.assertEqual(1, self.driver.consoles.count())

    def test_destroy_closes_the_console(self):
        sock = self.connect(self.open())
        sock.sendall(b'ls\n')
        self.read_until(sock, 'Password: ')
        self.driver.destroy(self.context, self.inst, None)
        eventually(lambda: self.closed(sock), 'the client side closed')
        self.assertEqual(0, self.driver.consoles.count())

    def test_nobody_connects_within_the_token_ttl(self):
        self.conf.config(group='consoleauth', token_ttl=1)
        cons = self.open()
        eventually(lambda: self.driver.consoles.count() == 0,
                   'the waiting bridge closed')
        self.assertRaises(ConnectionRefusedError, socket.create_connection,
                          (cons.host, cons.port), 5)
        self.assertIn('nobody connected within 1 s', self.logger.output)

    def test_secrets_stay_in_the_bridge(self):
        # What nova-dpm and the WebSocket client log (the simulated HMC's
        # own log is the HMC's).
        logged = self.useFixture(fixtures.FakeLogger(name='nova_dpm',
                                                     level='DEBUG'))
        client_log = self.useFixture(fixtures.FakeLogger(name='websocket',
                                                         level='DEBUG'))
        sock = self.connect(self.open())
        sock.sendall(b'ls\n')
        out = self.read_until(sock, 'Password: ')
        [uri] = self.sim.ascii_consoles
        token = uri.split('/')[3]
        self.assertNotIn(token, out)
        self.assertIn('connected', logged.output)
        self.assertNotIn(token, logged.output)
        self.assertNotIn(token, client_log.output)
        session_id = self.driver.hmc.session.session_id
        if session_id:
            self.assertNotIn(session_id, out)

    def test_partition_not_active(self):
        self.sim.set_status(self.part.uri, 'stopped')
        self.assertRaises(nova_exception.ConsoleTypeUnavailable, self.open)
        self.assertEqual(0, self.driver.consoles.count())
        self.assertIn('not active', self.logger.output)

    def test_an_hmc_too_old(self):
        self.driver.hmc.capabilities.api_version = (2, 21)
        self.sim.reset_counts()
        self.assertRaises(nova_exception.ConsoleTypeUnavailable, self.open)
        self.assertEqual(0, self.sim.count('POST', GET_URI))
        self.assertIn('the HMC has Web Services API 2.21; the ASCII console '
                      'needs HMC 2.14.0 with API 2.22 or later',
                      self.logger.output)

    def test_unknown_instance(self):
        self.assertRaises(nova_exception.InstanceNotFound,
                          self.driver.get_serial_console, self.context,
                          self.instance())


class SslOptTest(base.DriverTestCase):

    start_driver = False

    def test_verify_cert_settings(self):
        self.assertEqual({'cert_reqs': 0}, console._sslopt(False))
        self.assertEqual(2, console._sslopt(True)['cert_reqs'])
        self.assertIn('ca_certs', console._sslopt(True))
        self.assertEqual('/nonexistent/ca.pem',
                         console._sslopt('/nonexistent/ca.pem')['ca_certs'])
        self.assertEqual('/', console._sslopt('/')['ca_cert_path'])
