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

"""Pins on zhmcclient, whose private mock API the simulator uses.

The simulator drives ``zhmcclient.mock._urihandler`` (private): a new
zhmcclient may change it without notice.  These tests fail first, with a
clear message, when the installed zhmcclient leaves the range that
requirements.txt allows or when a private name the simulator uses is gone.
"""

import glob
import importlib
import importlib.metadata
import inspect
import os
import re

import testtools
import zhmcclient
from zhmcclient.mock import FakedSession

import nova_dpm
from nova_dpm import simulator

REPO = os.path.dirname(os.path.dirname(os.path.abspath(nova_dpm.__file__)))
REQUIREMENTS = os.path.join(REPO, 'requirements.txt')
SIMULATOR_DIR = os.path.dirname(os.path.abspath(simulator.__file__))

_OPS = {
    '>=': lambda v, b: v >= b, '>': lambda v, b: v > b,
    '<=': lambda v, b: v <= b, '<': lambda v, b: v < b,
    '==': lambda v, b: v == b, '!=': lambda v, b: v != b,
}


def _version(text):
    """'1.26.0' -> (1, 26, 0); pre/post/dev suffixes are dropped."""
    parts = []
    for piece in text.split('.'):
        m = re.match(r'\d+', piece)
        if not m:
            break
        parts.append(int(m.group()))
    return tuple(parts)


def _pad(a, b):
    n = max(len(a), len(b))
    return a + (0,) * (n - len(a)), b + (0,) * (n - len(b))


def requirement(name):
    """The list of (operator, version) of ``name`` in requirements.txt."""
    with open(REQUIREMENTS) as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            m = re.match(r'^([A-Za-z0-9_.\-]+)\s*(.*)$', line)
            if m and m.group(1).lower() == name:
                specs = []
                for spec in m.group(2).split(','):
                    sm = re.match(r'^\s*(>=|<=|==|!=|<|>)\s*([0-9][^\s]*)\s*$',
                                  spec)
                    if not sm:
                        raise ValueError('Cannot parse %r of %s in %s'
                                         % (spec, name, REQUIREMENTS))
                    specs.append((sm.group(1), sm.group(2)))
                return specs
    return None


class TestZhmcclientPin(testtools.TestCase):

    def test_version_within_requirements(self):
        if not os.path.isfile(REQUIREMENTS):
            self.skipTest('requirements.txt is not installed with nova_dpm')
        specs = requirement('zhmcclient')
        self.assertTrue(specs, 'zhmcclient has no version range in %s'
                        % REQUIREMENTS)
        ops = {op for op, _ in specs}
        self.assertTrue(ops & {'<', '<=', '=='},
                        'zhmcclient needs an upper bound in requirements.txt: '
                        'the simulator uses its private mock API')
        installed = zhmcclient.__version__
        self.assertEqual(importlib.metadata.version('zhmcclient'), installed)
        for op, bound in specs:
            v, b = _pad(_version(installed), _version(bound))
            self.assertTrue(
                _OPS[op](v, b),
                'zhmcclient %s is installed, requirements.txt asks for %s; '
                'check the private names of zhmcclient.mock the simulator '
                'uses (this module) before widening the range'
                % (installed, ','.join(o + x for o, x in specs)))

    def test_private_imports_of_the_simulator_resolve(self):
        # Every "from zhmcclient.<...>._module import Name" in the simulator.
        found = []
        for path in glob.glob(os.path.join(SIMULATOR_DIR, '*.py')):
            with open(path) as f:
                text = f.read()
            for mod, names in re.findall(
                    r'^from (zhmcclient(?:\.\w+)*\._\w+(?:\.\w+)*) import '
                    r'([\w, ]+)$', text, re.M):
                for name in names.split(','):
                    found.append((os.path.basename(path), mod, name.strip()))
        self.assertIn(('hmc.py', 'zhmcclient.mock._urihandler', 'UriHandler'),
                      found)
        for filename, mod, name in found:
            module = importlib.import_module(mod)
            self.assertTrue(hasattr(module, name),
                            '%s imports %s from %s, which zhmcclient %s no '
                            'longer has' % (filename, name, mod,
                                            zhmcclient.__version__))

    def test_uri_handler_signatures(self):
        from zhmcclient.mock import _urihandler
        handler = _urihandler.UriHandler
        self.assertEqual(['uris'],
                         list(inspect.signature(handler).parameters))
        expected = {
            'get': ['self', 'hmc', 'uri', 'logon_required'],
            'post': ['self', 'hmc', 'uri', 'body', 'logon_required',
                     'wait_for_completion'],
            'delete': ['self', 'hmc', 'uri', 'logon_required'],
        }
        for method, params in expected.items():
            self.assertEqual(
                params,
                list(inspect.signature(getattr(handler, method)).parameters),
                'UriHandler.%s' % method)
        self.assertTrue(_urihandler.URIS)

    def test_faked_errors(self):
        from zhmcclient.mock import _urihandler
        body = _urihandler.FakedHTTPError('GET', '/api/x', 404, 1,
                                          'gone').response()
        self.assertEqual({'request-method': 'GET', 'request-uri': '/api/x',
                          'http-status': 404, 'reason': 1,
                          'message': 'gone'}, body)
        self.assertEqual('down',
                         _urihandler.FakedConnectionError('down').message)

    def test_faked_session_and_hmc(self):
        for method in ('from_hmc_yaml_file', 'from_hmc_yaml'):
            params = list(inspect.signature(
                getattr(FakedSession, method)).parameters)
            self.assertIn('userid', params)
            self.assertIn('password', params)
        session = simulator.load_session('z16')
        faked = session.hmc
        self.assertIs(faked, session.simulator.faked)
        # What the simulator and its HTTPS front end read.
        self.assertEqual('4.10', faked.api_version)
        self.assertEqual('2.16.0', faked.hmc_version)
        self.assertEqual('HMC1', faked.hmc_name)
        cpc = faked.cpcs.list()[0]
        self.assertIs(cpc, faked.lookup_by_uri(cpc.uri))
        self.assertIs(cpc, faked.cpcs.lookup_by_oid(cpc.oid))
        self.assertEqual('cpc', cpc.manager.class_value)
        self.assertIsNotNone(faked.consoles.console)
        # The mock's own GET /api/version, used through the simulator.
        from zhmcclient.mock import _urihandler
        version = _urihandler.UriHandler(_urihandler.URIS).get(
            faked, '/api/version', True)
        self.assertEqual(4, version['api-major-version'])
