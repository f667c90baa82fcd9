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

"""TLS of the simulated HMC's front end, as zhmcclient reports it."""

import ipaddress
import os
import stat
import tempfile
import warnings

from cryptography import x509
import testtools
import urllib3
import zhmcclient

from nova_dpm import simulator
from nova_dpm.simulator import certs
from nova_dpm.simulator import server as hmc_server
from nova_dpm.tests.unit.simulator import test_server


def _tmpdir(test):
    path = tempfile.mkdtemp(prefix='nova-dpm-test-certs-')
    test.addCleanup(_rmtree, path)
    return path


def _rmtree(path):
    for name in os.listdir(path):
        os.unlink(os.path.join(path, name))
    os.rmdir(path)


class TestServerTls(testtools.TestCase):

    def serve(self, kind='valid'):
        cert_dir = _tmpdir(self)
        certs.write_cert_dir(cert_dir, kind)
        sim = simulator.load_session('z16').simulator
        server = hmc_server.HmcServer(sim, test_server.USERID,
                                      test_server.PASSWORD, cert_dir=cert_dir)
        server.start()
        self.addCleanup(server.stop)
        return server

    def connect(self, server, verify_cert):
        """query_api_version() (no logon) with the given verification."""
        session = zhmcclient.Session(
            '127.0.0.1', test_server.USERID, test_server.PASSWORD,
            port=server.port, verify_cert=verify_cert,
            retry_timeout_config=test_server.retry_config(connect_retries=0))
        self.addCleanup(test_server.ServerTestCase._close, session)
        return zhmcclient.Client(session).query_api_version()

    def test_valid_certificate(self):
        server = self.serve()
        self.assertEqual('2.16.0',
                         self.connect(server, server.ca_file)['hmc-version'])

    def test_self_signed_not_in_system_bundle(self):
        server = self.serve('self-signed')
        exc = self.assertRaises(zhmcclient.ConnectionError, self.connect,
                                server, True)
        self.assertIn('certificate verify failed', str(exc))
        self.assertIn('self-signed certificate', str(exc))

    def test_self_signed_not_signed_by_the_ca_file(self):
        server = self.serve('self-signed')
        exc = self.assertRaises(zhmcclient.ConnectionError, self.connect,
                                server, server.ca_file)
        self.assertIn('certificate verify failed', str(exc))

    def test_valid_certificate_checked_against_another_ca(self):
        server = self.serve()
        other = certs.write_cert_dir(_tmpdir(self))
        exc = self.assertRaises(zhmcclient.ConnectionError, self.connect,
                                server, other.ca_file)
        self.assertIn('certificate verify failed', str(exc))
        self.assertIn('unable to get local issuer certificate', str(exc))
        # The server is fine for a client with the right CA.
        self.assertEqual(4, self.connect(server, server.ca_file)[
            'api-major-version'])

    def test_certificate_for_another_name(self):
        server = self.serve('wrong-name')
        exc = self.assertRaises(zhmcclient.ConnectionError, self.connect,
                                server, server.ca_file)
        self.assertIn('certificate verify failed', str(exc))
        self.assertIn("IP address mismatch, certificate is not valid for "
                      "'127.0.0.1'", str(exc))

    def test_missing_ca_file(self):
        server = self.serve()
        missing = os.path.join(_tmpdir(self), 'no-such-ca.pem')
        exc = self.assertRaises(zhmcclient.ConnectionError, self.connect,
                                server, missing)
        self.assertIn('Could not find a suitable TLS CA certificate bundle, '
                      'invalid path: %s' % missing, str(exc))

    def test_no_verification(self):
        server = self.serve('self-signed')
        with warnings.catch_warnings():
            warnings.simplefilter('ignore',
                                  urllib3.exceptions.InsecureRequestWarning)
            self.assertEqual(10, self.connect(server, False)[
                'api-minor-version'])


class TestCerts(testtools.TestCase):

    @staticmethod
    def load(path):
        with open(path, 'rb') as f:
            return x509.load_pem_x509_certificate(f.read())

    @staticmethod
    def names(cert):
        san = cert.extensions.get_extension_for_class(
            x509.SubjectAlternativeName).value
        return (san.get_values_for_type(x509.DNSName),
                san.get_values_for_type(x509.IPAddress))

    def test_valid(self):
        paths = certs.write_cert_dir(_tmpdir(self))
        ca = self.load(paths.ca_file)
        cert = self.load(paths.cert_file)
        self.assertEqual(ca.subject, cert.issuer)
        self.assertEqual((['localhost'],
                          [ipaddress.ip_address('127.0.0.1')]),
                         self.names(cert))
        self.assertTrue(ca.extensions.get_extension_for_class(
            x509.BasicConstraints).value.ca)
        self.assertFalse(cert.extensions.get_extension_for_class(
            x509.BasicConstraints).value.ca)
        self.assertEqual(0o600,
                         stat.S_IMODE(os.stat(paths.key_file).st_mode))

    def test_wrong_name(self):
        paths = certs.write_cert_dir(_tmpdir(self), 'wrong-name')
        cert = self.load(paths.cert_file)
        self.assertEqual(self.load(paths.ca_file).subject, cert.issuer)
        dns, ips = self.names(cert)
        self.assertNotIn('localhost', dns)
        self.assertNotIn(ipaddress.ip_address('127.0.0.1'), ips)

    def test_self_signed(self):
        paths = certs.write_cert_dir(_tmpdir(self), 'self-signed')
        cert = self.load(paths.cert_file)
        self.assertEqual(cert.subject, cert.issuer)
        self.assertNotEqual(self.load(paths.ca_file).subject, cert.issuer)

    def test_unknown_kind(self):
        self.assertRaises(ValueError, certs.write_cert_dir, _tmpdir(self),
                          'expired')

    def test_ensure_reuses_existing_files(self):
        cert_dir = _tmpdir(self)
        first = certs.ensure_cert_dir(cert_dir)
        with open(first.ca_file, 'rb') as f:
            ca = f.read()
        second = certs.ensure_cert_dir(cert_dir)
        self.assertEqual(first, second)
        with open(second.ca_file, 'rb') as f:
            self.assertEqual(ca, f.read())
