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

"""nova_dpm/cmd/demo.py: the demo stands on the simulator extra alone.

The demo and its in-process cloud (nova_dpm.simulator.cloud) ship with the
simulator extra; the test package does not ship, so they must not import
it. A fresh Python process imports both and lists what got loaded.
"""

import json
import os
import subprocess
import sys

import testtools

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))))))
CHILD = '''
import json, os, sys
os.environ['OS_NOVA_DISABLE_EVENTLET_PATCHING'] = '1'
import nova_dpm.cmd.demo
import nova_dpm.simulator.cloud.nova_cloud
print(json.dumps(sorted(sys.modules)))
'''


class DemoImportTest(testtools.TestCase):

    def test_demo_does_not_import_the_test_package(self):
        env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep +
                   os.environ.get('PYTHONPATH', ''))
        proc = subprocess.run([sys.executable, '-c', CHILD],
                              capture_output=True, text=True, env=env,
                              timeout=300, cwd=ROOT)
        self.assertEqual(0, proc.returncode, proc.stderr)
        modules = json.loads(proc.stdout.strip().splitlines()[-1])
        # The import did happen: the check below is not vacuous.
        self.assertIn('nova_dpm.cmd.demo', modules)
        self.assertIn('nova_dpm.simulator.cloud.nova_cloud', modules)
        self.assertEqual([], [m for m in modules
                              if m == 'nova_dpm.tests' or
                              m.startswith('nova_dpm.tests.')])
