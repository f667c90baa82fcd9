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

"""The HMC layer's session factories: the driver never needs the simulator.

The simulated HMC is the extra ``nova-dpm[simulator]``; the driver finds
it through an entry point when ``[dpm] hmc_mock_file`` is set, and says
what to install when it is missing. Each case that needs a Python without
the extra runs in a child interpreter whose zhmcclient is a release the
simulator was not written for (the driver takes any zhmcclient 1.x from
1.26 on; the simulator, built on zhmcclient.mock, only 1.26).
"""

import json
import os
import subprocess
import sys
import textwrap
from unittest import mock

import testtools

from nova_dpm import exception
from nova_dpm import hmc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))

# Run first in every child: a Python on which the simulator's extra is not
# installed (a newer zhmcclient than the simulator's), then the given code;
# the child prints one JSON document.
_CHILD_PRELUDE = textwrap.dedent('''
    import json, os, sys
    os.environ['OS_NOVA_DISABLE_EVENTLET_PATCHING'] = '1'
    import zhmcclient
    zhmcclient.__version__ = '1.30.0'
    from nova_dpm import conf as dpm_conf
    values = {opt.dest: opt.default for opt in dpm_conf.dpm_opts}
    values.update(hmc_username='nova', hmc_password='secret',
                  cpc_object_id='c1a2b3c4-d5e6-4f70-8a91-b2c3d4e5f607',
                  max_processors=2, max_memory=4096)
''')


def _settings(**kw):
    from nova_dpm import conf as dpm_conf
    values = {opt.dest: opt.default for opt in dpm_conf.dpm_opts}
    values.update(hmc_username='nova', hmc_password='secret', **kw)
    return dpm_conf.Settings(**values)


class WithoutSimulatorTest(testtools.TestCase):
    """A production install: nova-dpm without nova-dpm[simulator]."""

    def child(self, code):
        env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep +
                   os.environ.get('PYTHONPATH', ''))
        done = subprocess.run(
            [sys.executable, '-c', _CHILD_PRELUDE + textwrap.dedent(code)],
            capture_output=True, text=True, env=env, timeout=120, cwd=ROOT)
        self.assertEqual(0, done.returncode, done.stderr)
        return json.loads(done.stdout.strip().splitlines()[-1])

    def test_driver_imports_no_simulator_module(self):
        out = self.child('''
            from nova_dpm import driver, hmc
            from nova_dpm.cmd import check
            session = hmc.HMC(dpm_conf.Settings(
                **dict(values, hmc=['hmc.example']))).session
            print(json.dumps({
                'session': type(session).__mro__[1].__name__,
                'simulator': sorted(m for m in sys.modules
                                    if m.startswith('nova_dpm.simulator'))}))
        ''')
        # The driver's own session class, built on zhmcclient's.
        self.assertEqual({'session': 'Session', 'simulator': []}, out)

    def test_mock_file_without_the_extra_says_what_to_install(self):
        out = self.child('''
            from nova_dpm import exception, hmc
            try:
                hmc.HMC(dpm_conf.Settings(
                    **dict(values, hmc_mock_file='z16'))).session
            except exception.InvalidConfiguration as exc:
                print(json.dumps({'error': str(exc)}))
            else:
                print(json.dumps({'error': None}))
        ''')
        error = out['error']
        self.assertIsNotNone(error)
        self.assertIn('[dpm] hmc_mock_file', error)
        self.assertIn("pip install 'nova-dpm[simulator]'", error)
        self.assertIn('zhmcclient 1.30.0 is installed', error)

    def test_init_host_stops_with_the_message(self):
        out = self.child('''
            from unittest import mock
            from nova import exception as nova_exception
            from nova_dpm import driver
            driver.CONF.set_override('hmc_mock_file', 'z16', group='dpm')
            driver.CONF.set_override('cpc_object_id', values['cpc_object_id'],
                                     group='dpm')
            driver.CONF.set_override('max_processors', 2, group='dpm')
            driver.CONF.set_override('max_memory', 4096, group='dpm')
            try:
                driver.DPMDriver(mock.Mock()).init_host('subset1')
            except nova_exception.NovaException as exc:
                print(json.dumps({'error': type(exc).__name__,
                                  'message': str(exc)}))
            else:
                print(json.dumps({'error': None}))
        ''')
        self.assertEqual('InvalidConfiguration', out['error'])
        self.assertIn("pip install 'nova-dpm[simulator]'", out['message'])


class SessionFactoryTest(testtools.TestCase):
    """Which factory the settings choose, and a missing entry point."""

    def test_real_hmc_gets_a_zhmcclient_session(self):
        settings = _settings(hmc=['hmc.example'])
        self.assertIs(hmc.real_session, hmc.session_factory_for(settings))
        self.assertIsInstance(hmc.HMC(settings).session,
                              hmc.SerializedLogonSession)

    def test_mock_file_gets_the_simulated_session(self):
        settings = _settings(hmc_mock_file='z13')
        self.assertIs(hmc.simulated_session,
                      hmc.session_factory_for(settings))
        session = hmc.HMC(settings).session
        self.assertEqual('SimulatedSession', type(session).__name__)

    def test_given_factory_is_used(self):
        made = []

        def factory(settings):
            made.append(hmc.real_session(settings))
            return made[-1]

        settings = _settings(hmc=['hmc.example'])
        connection = hmc.HMC(settings, session_factory=factory)
        session = connection.session
        self.assertIs(made[0], session)
        self.assertIs(session, connection.client.session)
        self.assertEqual(1, len(made))

    def test_missing_entry_point_is_reported(self):
        settings = _settings(hmc_mock_file='z16')
        with mock.patch.object(hmc.metadata, 'entry_points',
                               return_value=[]):
            exc = self.assertRaises(exception.InvalidConfiguration,
                                    getattr, hmc.HMC(settings), 'session')
        self.assertIn('nova_dpm.hmc_sessions:simulated', str(exc))
        self.assertIn("pip install 'nova-dpm[simulator]'", str(exc))
