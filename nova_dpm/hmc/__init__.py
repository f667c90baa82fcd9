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

"""The HMC connection: everything that knows how to talk to an HMC.

The other modules only use zhmcclient resource objects obtained through
:class:`HMC`. Five parts:

* :mod:`nova_dpm.hmc.session`: logon, TLS and the serialized re-logon
  (:class:`SerializedLogonSession`);
* :mod:`nova_dpm.hmc.waits`: :class:`Deadline`, :class:`PollBudget` and
  :func:`wait_until`, nova-dpm's one way to wait, which drives a
  :class:`Wait`;
* :mod:`nova_dpm.hmc.client`: :class:`HMC`, :func:`translated`,
  :meth:`HMC.get_many` and the waits for jobs and statuses.
* :mod:`nova_dpm.hmc.listener`: the connection to the HMC's notification
  service (no Nova, no Neutron), for nova-compute and the DPM agent;
* :mod:`nova_dpm.hmc.pushed`: what the notifications told, which wakes
  the waits instead of polling while they are up.

The names below are those the rest of nova-dpm uses.
"""

from nova_dpm import capabilities as _capabilities
from nova_dpm.hmc.client import AGGREGATION_URI  # noqa: F401
from nova_dpm.hmc.client import HMC  # noqa: F401
from nova_dpm.hmc.client import JOB_ENDS  # noqa: F401
from nova_dpm.hmc.client import JOB_GONE  # noqa: F401
from nova_dpm.hmc.client import JobWait  # noqa: F401
from nova_dpm.hmc.client import NO_PERMISSION  # noqa: F401
from nova_dpm.hmc.client import pull  # noqa: F401
from nova_dpm.hmc.client import StatusWait  # noqa: F401
from nova_dpm.hmc.client import translated  # noqa: F401
from nova_dpm.hmc.pushed import STATUS_GRACE  # noqa: F401
from nova_dpm.hmc.session import describe_error  # noqa: F401
from nova_dpm.hmc.session import logon_refusal  # noqa: F401
from nova_dpm.hmc.session import LOGON_REFUSALS  # noqa: F401
from nova_dpm.hmc.session import LogonRefused  # noqa: F401
from nova_dpm.hmc.session import PASSWORD_EXPIRED  # noqa: F401
from nova_dpm.hmc.session import real_session  # noqa: F401
from nova_dpm.hmc.session import refusal_error  # noqa: F401
from nova_dpm.hmc.session import REFUSED  # noqa: F401
from nova_dpm.hmc.session import SerializedLogonSession  # noqa: F401
from nova_dpm.hmc.session import session_factory_for  # noqa: F401
from nova_dpm.hmc.session import simulated_session  # noqa: F401
from nova_dpm.hmc.session import SIMULATOR_ENTRY_POINT  # noqa: F401
from nova_dpm.hmc.session import SIMULATOR_ENTRY_POINTS  # noqa: F401
from nova_dpm.hmc.session import TOO_MANY_SESSIONS  # noqa: F401
from nova_dpm.hmc.session import untrusted_certificate  # noqa: F401
from nova_dpm.hmc.waits import busy  # noqa: F401
from nova_dpm.hmc.waits import Deadline  # noqa: F401
from nova_dpm.hmc.waits import POLL_BURST  # noqa: F401
from nova_dpm.hmc.waits import POLL_FIRST  # noqa: F401
from nova_dpm.hmc.waits import POLL_MAX  # noqa: F401
from nova_dpm.hmc.waits import POLL_RATE  # noqa: F401
from nova_dpm.hmc.waits import PollBudget  # noqa: F401
from nova_dpm.hmc.waits import retry_while_busy  # noqa: F401
from nova_dpm.hmc.waits import transient  # noqa: F401
from nova_dpm.hmc.waits import Wait  # noqa: F401
from nova_dpm.hmc.waits import wait_until  # noqa: F401

# The version gates by their former names (see nova_dpm.capabilities).
_GATES = _capabilities.GATES
ADDITIONAL_PROPERTIES_API = _GATES[_capabilities.ADDITIONAL_PROPERTIES].api
PROPERTIES_FILTER_API = _GATES[_capabilities.PROPERTIES_FILTER].api
AGGREGATION_API = _GATES[_capabilities.AGGREGATION].api
OS_MESSAGES_API = _GATES[_capabilities.OS_MESSAGES].api
OS_MESSAGES_SE = _capabilities.version_text(
    _GATES[_capabilities.OS_MESSAGES].se)
