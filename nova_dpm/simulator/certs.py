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

"""TLS certificates for the HTTPS front end of the simulated HMC.

:func:`write_cert_dir` writes three PEM files into a directory:

* ``ca.pem``: the certificate of a private CA (what ``[dpm] hmc_ca_bundle``
  points to);
* ``server.pem``: the server certificate;
* ``server.key``: its private key (mode 0600).

``kind`` chooses the server certificate:

* ``'valid'``: signed by the CA, for IP address 127.0.0.1 and DNS name
  localhost (the only addresses the simulator serves on);
* ``'wrong-name'``: signed by the CA, but for another name
  (``wrong.example.com`` and 192.0.2.1): a client that verifies against
  ``ca.pem`` fails on the name;
* ``'self-signed'``: self-signed for 127.0.0.1/localhost and not signed
  by the CA: a client fails to verify it (against ``ca.pem`` or the
  system bundle).

Keys are ECDSA P-256 (fast to generate); certificates are SHA-256 signed
and carry the extensions strict verifiers ask for (critical basic
constraints, key usage, SKI/AKI).
"""

import collections
import datetime
import ipaddress
import os

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.oid import NameOID

CA_FILE = 'ca.pem'
CERT_FILE = 'server.pem'
KEY_FILE = 'server.key'

KINDS = ('valid', 'wrong-name', 'self-signed')

LOOPBACK_IP = '127.0.0.1'
LOOPBACK_NAME = 'localhost'
WRONG_IP = '192.0.2.1'           # TEST-NET-1 (RFC 5737), never routed
WRONG_NAME = 'wrong.example.com'

VALID_DAYS = 365

CertPaths = collections.namedtuple('CertPaths',
                                   ['ca_file', 'cert_file', 'key_file'])


def _new_key():
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name):
    return x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, 'nova-dpm simulator'),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def _builder(subject, issuer, public_key, days):
    now = datetime.datetime.now(datetime.timezone.utc)
    return (x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(public_key),
                critical=False))


def _key_usage(ca):
    """A CA signs certificates and CRLs; a server signs its handshakes."""
    return x509.KeyUsage(
        digital_signature=not ca, content_commitment=False,
        key_encipherment=False, data_encipherment=False, key_agreement=False,
        key_cert_sign=ca, crl_sign=ca, encipher_only=False,
        decipher_only=False)


def create_ca(common_name='nova-dpm simulated HMC CA', days=VALID_DAYS):
    """Return (key, certificate) of a new self-signed CA."""
    key = _new_key()
    name = _name(common_name)
    cert = (_builder(name, name, key.public_key(), days)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0),
                           critical=True)
            .add_extension(_key_usage(ca=True), critical=True)
            .sign(key, hashes.SHA256()))
    return key, cert


def create_server_cert(ca_key=None, ca_cert=None, ips=(LOOPBACK_IP,),
                       dns_names=(LOOPBACK_NAME,), days=VALID_DAYS):
    """Return (key, certificate) of a server certificate.

    Signed by ``ca_key``/``ca_cert``, or self-signed if they are None.  The
    subject alternative names are the given IP addresses and DNS names.
    """
    key = _new_key()
    common_name = (list(dns_names) + list(ips))[0]
    subject = _name(common_name)
    if ca_key is None:
        issuer, signer, issuer_pub = subject, key, key.public_key()
    else:
        issuer, signer = ca_cert.subject, ca_key
        issuer_pub = ca_cert.public_key()
    san = [x509.DNSName(n) for n in dns_names] + \
        [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    cert = (_builder(subject, issuer, key.public_key(), days)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None),
                           critical=True)
            .add_extension(_key_usage(ca=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName(san), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    issuer_pub), critical=False)
            .sign(signer, hashes.SHA256()))
    return key, cert


def cert_paths(cert_dir):
    """The CertPaths of the three files in ``cert_dir``."""
    return CertPaths(os.path.join(cert_dir, CA_FILE),
                     os.path.join(cert_dir, CERT_FILE),
                     os.path.join(cert_dir, KEY_FILE))


def has_certs(cert_dir):
    """True if ``cert_dir`` already holds all three files."""
    return all(os.path.isfile(p) for p in cert_paths(cert_dir))


def _write(path, data, mode):
    # Create with the final mode: the key is never readable by others,
    # not even for a moment.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, 'wb') as f:
        f.write(data)
    os.chmod(path, mode)


def _pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def write_cert_dir(cert_dir, kind='valid'):
    """Generate a CA and a server certificate into ``cert_dir``.

    The directory is created if needed; existing files are replaced.
    Returns the :data:`CertPaths`.
    """
    if kind not in KINDS:
        raise ValueError("Unknown certificate kind %r; valid kinds: %s"
                         % (kind, ', '.join(KINDS)))
    os.makedirs(cert_dir, mode=0o700, exist_ok=True)
    ca_key, ca_cert = create_ca()
    if kind == 'valid':
        key, cert = create_server_cert(ca_key, ca_cert)
    elif kind == 'wrong-name':
        key, cert = create_server_cert(ca_key, ca_cert, ips=(WRONG_IP,),
                                       dns_names=(WRONG_NAME,))
    else:
        key, cert = create_server_cert()
    paths = cert_paths(cert_dir)
    _write(paths.ca_file, _pem(ca_cert), 0o644)
    _write(paths.cert_file, _pem(cert), 0o644)
    _write(paths.key_file, key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()), 0o600)
    return paths


def ensure_cert_dir(cert_dir):
    """Reuse the certificates in ``cert_dir``, or generate valid ones.

    Reusing keeps the CA stable across restarts of the simulator, so a
    nova.conf that points to ``ca.pem`` stays valid.
    """
    if has_certs(cert_dir):
        return cert_paths(cert_dir)
    return write_cert_dir(cert_dir, 'valid')
