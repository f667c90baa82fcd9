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

"""A VirtAPI that plays Neutron's part in waiting for instance events.

It keeps nova's contract for ``wait_for_instance_event``: the events are
planned, the body runs, then the wait happens; a missing event ends the
wait with InstanceEventTimeout, a failed one goes to ``error_callback``.
What Neutron answers is set per test:

* ``outcome = 'plugged'`` (default): every event arrives, but only for a
  port whose NIC exists on the HMC when the wait begins (``nics``, a
  callable giving the NIC names now on the HMC), as the agent reports a
  port only once it sees its NIC;
* ``'timeout'``: no event arrives;
* ``'failed'``: every event arrives with status ``failed``.

``calls`` records (event names, timeout, NIC names seen at the wait) per
wait.
"""

import contextlib

from nova import exception as nova_exception


class FakeVirtAPI(object):

    def __init__(self, nics=None):
        self.nics = nics or (lambda: set())
        self.outcome = 'plugged'
        self.calls = []

    @contextlib.contextmanager
    def wait_for_instance_event(self, instance, event_names, timeout=300,
                                error_callback=None):
        names = list(event_names)
        yield
        seen = set(self.nics())
        self.calls.append((names, timeout, seen))
        missing = [n for n in names
                   if self.outcome == 'timeout' or
                   'OpenStack_Port_%s' % n[1] not in seen]
        if missing:
            raise nova_exception.InstanceEventTimeout()
        if self.outcome == 'failed':
            for name, tag in names:
                if error_callback is None:
                    raise nova_exception.NovaException(
                        'event %s-%s failed' % (name, tag))
                if error_callback('%s-%s' % (name, tag), instance) is False:
                    return

    def exit_wait_early(self, events):
        pass
