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

"""Command-line tools of nova-dpm (console scripts in setup.cfg)."""

import os
import sys

# nova reads this variable to choose its concurrency mode (nova.monkey_patch).
_NOVA_THREADING_VARIABLE = 'OS_NOVA_DISABLE_EVENTLET_PATCHING'


def _choose_threading():
    """Run the commands on native threads, as nova-compute 34 does.

    Importing nova loads futurist, which imports eventlet when it can, and
    eventlet warns that it is deprecated. nova's own choice of mode
    (``nova.monkey_patch.patch``) must come before that import: in
    threading mode it makes eventlet impossible to import. The commands
    are not nova services, so they take threading whatever the environment
    or a ``concurrency_backend`` in nova.conf says. The variable stays set
    for the process, so that nova code that decides again later (the
    demo's in-process services) decides the same.

    A process that has decided already (a nova service or a test runner
    that imported nova.monkey_patch or eventlet first) is left as it is.
    """
    if 'nova.monkey_patch' in sys.modules or 'eventlet' in sys.modules:
        return
    os.environ[_NOVA_THREADING_VARIABLE] = 'true'
    from nova import monkey_patch
    monkey_patch.patch(backend='threading')


_choose_threading()
