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

"""nova-dpm-hmc-simulator, the command that serves the simulated HMC."""

import contextlib
import io
import os
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading

from unittest import mock

import testtools
import zhmcclient

import nova_dpm
from nova_dpm.cmd import hmc_simulator
from nova_dpm import simulator
from nova_dpm.tests.unit.simulator import base
from nova_dpm.tests.unit.simulator import test_server

REPO = os.path.dirname(os.path.dirname(os.path.abspath(nova_dpm.__file__)))
# Bound for every read of the child's output (seconds): imports included.
LINE_TIMEOUT = 120


class TestArguments(testtools.TestCase):

    def fails(self, *argv):
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            exc = self.assertRaises(SystemExit, hmc_simulator.main,
                                    list(argv))
        self.assertEqual(2, exc.code)
        return err.getvalue()

    def test_only_loopback(self):
        for address in ('0.0.0.0', '::', '192.0.2.1', 'localhost'):
            self.assertIn('--bind %s refused' % address,
                          self.fails('--bind', address))

    def test_unknown_definition(self):
        self.assertIn("HMC definition 'no-such-hmc' not found",
                      self.fails('--definition', 'no-such-hmc'))

    def test_bad_numbers(self):
        self.assertIn('--port', self.fails('--port', '70000'))
        self.assertIn('--stomp-port', self.fails('--stomp-port', '-1'))
        self.assertIn('must not be negative',
                      self.fails('--transition-time', '-1'))


class TestStompPort(testtools.TestCase):
    """Where the notification service listens (--stomp-port)."""

    def busy_port(self):
        """A port on 127.0.0.1 that something else listens on."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # Kept for the test's length: under eventlet, the bound close()
        # is the inner socket's, and the green socket would be collected
        # (and closed) on return.
        self.busy = sock
        self.addCleanup(sock.close)
        sock.bind(('127.0.0.1', 0))
        sock.listen(1)
        return sock.getsockname()[1]

    def start(self, *argv):
        args = hmc_simulator._checked_args(hmc_simulator._parser(),
                                           ['--port', '0'] + list(argv))
        session = simulator.load_session('z16')
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            srv = hmc_simulator._start(session, args, 'pw')
        if srv is not None:
            self.addCleanup(srv.stop)
        return srv, out.getvalue(), err.getvalue()

    def test_a_given_port_that_is_taken_is_an_error(self):
        port = self.busy_port()
        srv, _out, err = self.start('--stomp-port', str(port))
        self.assertIsNone(srv)
        self.assertIn('cannot listen on 127.0.0.1: port %d (notifications)'
                      % port, err)

    def test_default_is_the_hmc_port_or_a_free_one(self):
        port = self.busy_port()
        # The HMC's port taken: a free one, and the command says so.
        with mock.patch.object(hmc_simulator, 'DEFAULT_STOMP_PORT', port):
            srv, out, _err = self.start()
        self.assertNotEqual(port, srv.stomp.port)
        self.assertIn('Port %d (notifications) is taken' % port, out)
        # The HMC's port free (the one just taken by the first server).
        free = srv.stomp.port
        srv.stop()
        with mock.patch.object(hmc_simulator, 'DEFAULT_STOMP_PORT', free):
            srv, out, _err = self.start()
        self.assertEqual(free, srv.stomp.port)
        self.assertNotIn('is taken', out)


class TestCommand(testtools.TestCase):
    """The command in a child process, stopped by a signal."""

    def run_simulator(self, *argv):
        env = dict(os.environ)
        env['PYTHONPATH'] = os.pathsep.join(
            [REPO] + [p for p in [env.get('PYTHONPATH')] if p])
        proc = subprocess.Popen(
            [sys.executable, '-m', 'nova_dpm.cmd.hmc_simulator'] +
            list(argv),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env=env, cwd=REPO)
        self.addCleanup(self._reap, proc)
        lines = queue.Queue()

        def reader():
            for line in proc.stdout:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=reader, daemon=True).start()
        return proc, lines

    @staticmethod
    def _reap(proc):
        if proc.poll() is None:
            proc.kill()
        proc.wait(LINE_TIMEOUT)
        proc.stdout.close()

    def read_until(self, lines, marker):
        seen = []
        while True:
            try:
                line = lines.get(timeout=LINE_TIMEOUT)
            except queue.Empty:
                self.fail('No %r within %s s; output so far:\n%s'
                          % (marker, LINE_TIMEOUT, ''.join(seen)))
            if line is None:
                self.fail('The command ended before %r:\n%s'
                          % (marker, ''.join(seen)))
            seen.append(line)
            if marker in line:
                return seen

    @staticmethod
    def settings(output):
        values = {}
        for line in output:
            if ' = ' in line and not line.startswith('#'):
                key, value = line.strip().split(' = ', 1)
                values[key] = value
        return values

    def check_serves_and_stops(self, sig):
        cert_dir = tempfile.mkdtemp(prefix='nova-dpm-test-cli-')
        self.addCleanup(self._rmtree, cert_dir)
        proc, lines = self.run_simulator(
            '--port', '0', '--cert-dir', cert_dir, '--userid', 'admin',
            '--password', 'pw-1', '--transition-time', '0')
        values = self.settings(self.read_until(lines, 'Stop with'))
        self.assertEqual('127.0.0.1', values['hmc'])
        self.assertEqual('admin', values['hmc_username'])
        self.assertEqual('pw-1', values['hmc_password'])
        self.assertEqual(os.path.join(cert_dir, 'ca.pem'),
                         values['hmc_ca_bundle'])
        self.assertEqual(base.CPC_ID, values['cpc_object_id'])

        # The printed settings work with a real zhmcclient session.
        session = zhmcclient.Session(
            values['hmc'], values['hmc_username'], values['hmc_password'],
            port=int(values['hmc_port']),
            verify_cert=values['hmc_ca_bundle'],
            retry_timeout_config=test_server.retry_config())
        self.addCleanup(test_server.ServerTestCase._close, session)
        cpc = zhmcclient.Client(session).cpcs.find(name='CPC1')
        self.assertEqual(base.CPC_ID, cpc.get_property('object-id'))
        session.logoff()

        proc.send_signal(sig)
        self.read_until(lines, 'Simulated HMC stopped.')
        self.assertEqual(0, proc.wait(LINE_TIMEOUT))
        # --cert-dir is kept for the next run.
        self.assertTrue(os.path.isfile(values['hmc_ca_bundle']))
        # The notification service (STOMP) listens on 61612, or on a free
        # port where that is taken.
        self.assertGreater(int(values['hmc_notification_port']), 0)

    @staticmethod
    def _rmtree(path):
        for name in os.listdir(path):
            os.unlink(os.path.join(path, name))
        os.rmdir(path)

    def test_sigterm(self):
        self.check_serves_and_stops(signal.SIGTERM)

    def test_sigint(self):
        self.check_serves_and_stops(signal.SIGINT)
