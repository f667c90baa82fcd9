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

"""The HMC connection: session, TLS, retries, waiting, error translation.

Everything that knows how to talk to an HMC lives here; the other modules
only use zhmcclient resource objects obtained through :class:`HMC`.

Waiting: zhmcclient's own ``wait_for_completion`` polls a job every 10 s.
nova-dpm never uses it. It starts asynchronous operations with
``wait_for_completion=False`` and polls the job itself, starting at 0.1 s and
backing off to at most 0.5 s, so a start or stop costs well under a second
beyond the partition's own transition time.
"""

import contextlib
import threading
import time

from oslo_log import log as logging
import zhmcclient

from nova_dpm import exception

LOG = logging.getLogger(__name__)

POLL_FIRST = 0.1
POLL_MAX = 0.5
POLL_FACTOR = 1.5


def poll_intervals():
    """Yield the sleep times between two polls of a job or a status."""
    interval = POLL_FIRST
    while True:
        yield interval
        interval = min(POLL_MAX, interval * POLL_FACTOR)


def describe_error(exc):
    """A one-line description of a zhmcclient error, never with secrets."""
    if isinstance(exc, zhmcclient.HTTPError):
        return 'HTTP %s reason %s: %s' % (exc.http_status, exc.reason,
                                          exc.message)
    return '%s: %s' % (type(exc).__name__, exc)


def pull(resource, properties=None):
    """Refresh properties of a resource; False if the HMC says it is gone.

    zhmcclient reports a missing object as CeasedExistence when it pulls
    properties, and as HTTPError 404 elsewhere; both mean "gone" here.
    """
    try:
        if properties is None:
            resource.pull_full_properties()
        else:
            resource.pull_properties(properties)
    except zhmcclient.CeasedExistence:
        return False
    except zhmcclient.HTTPError as exc:
        if exc.http_status == 404:
            return False
        raise
    return True


@contextlib.contextmanager
def translated(operation, target):
    """Turn zhmcclient errors into nova-dpm errors naming what failed."""
    try:
        yield
    except (zhmcclient.ConnectionError, zhmcclient.AuthError) as exc:
        raise exception.HMCUnavailable(
            reason='%s on %s: %s' % (operation, target, describe_error(exc)))
    except zhmcclient.Error as exc:
        raise exception.HMCOperationFailed(
            operation=operation, target=target, reason=describe_error(exc),
            http_status=getattr(exc, 'http_status', None))


class HMC(object):
    """One connection to the HMC (or to the simulated HMC) per service.

    The zhmcclient session is thread-safe for requests; creating it is
    guarded by a lock so that concurrent first calls share one logon.
    """

    def __init__(self, settings):
        self.settings = settings
        self.simulated = bool(settings.hmc_mock_file)
        self._lock = threading.Lock()
        self._session = None
        self._client = None

    # -- connection -------------------------------------------------------

    @property
    def session(self):
        if self._session is None:
            with self._lock:
                if self._session is None:
                    self._session = self._make_session()
                    self._client = zhmcclient.Client(self._session)
        return self._session

    @property
    def client(self):
        self.session  # noqa: B018 (creates the client on first use)
        return self._client

    def _make_session(self):
        s = self.settings
        if self.simulated:
            # Imported here: production never needs the simulator.
            from nova_dpm import simulator
            session = simulator.load_session(s.hmc_mock_file)
            LOG.warning(
                '*** [dpm] hmc_mock_file is set: nova-dpm talks to a '
                'SIMULATED HMC built from %s. No real CPC is managed; '
                'unset hmc_mock_file to manage a real one. ***',
                s.hmc_mock_file)
            return session
        if not s.hmc_verify_cert:
            LOG.warning('[dpm] hmc_verify_cert is false: the certificate of '
                        'HMC %s is not verified, so the connection (and the '
                        'HMC password) is not protected against '
                        'interception.', ', '.join(s.hmc))
            verify = False
        else:
            verify = s.hmc_ca_bundle or True
        rt_config = zhmcclient.RetryTimeoutConfig(
            connect_timeout=s.hmc_connect_timeout,
            connect_retries=s.hmc_connect_retries,
            read_timeout=s.hmc_read_timeout,
            # GETs are idempotent: urllib3 retries them on a dropped
            # connection (zhmcclient's default of 3); POSTs never are.
            operation_timeout=s.hmc_operation_timeout,
            status_timeout=s.hmc_operation_timeout)
        # zhmcclient puts a host into a URL as it is: an IPv6 address
        # needs brackets there.
        hosts = ['[%s]' % h if ':' in h and not h.startswith('[') else h
                 for h in s.hmc]
        return zhmcclient.Session(
            hosts if len(hosts) > 1 else hosts[0],
            userid=s.hmc_username, password=s.hmc_password,
            retry_timeout_config=rt_config, port=s.hmc_port,
            verify_cert=verify)

    def logon(self, attempts=3, delay=5.0):
        """Log on now, with bounded retries; raise HMCUnavailable."""
        if self.simulated:
            return
        hosts = ', '.join(self.settings.hmc)
        for attempt in range(1, attempts + 1):
            try:
                self.session.logon()
                LOG.info('Logged on to HMC %s as %s.',
                         self.session.actual_host,
                         self.settings.hmc_username)
                return
            except zhmcclient.ClientAuthError as exc:
                raise exception.HMCUnavailable(
                    reason='logon to %s as [dpm] hmc_username %s was '
                           'refused: %s' % (hosts, self.settings.hmc_username,
                                            describe_error(exc)))
            except (zhmcclient.ConnectionError,
                    zhmcclient.ServerAuthError) as exc:
                if attempt == attempts:
                    raise exception.HMCUnavailable(
                        reason='no HMC of [dpm] hmc = %s answered after %d '
                               'attempts; last error: %s' %
                               (hosts, attempts, describe_error(exc)))
                LOG.warning('HMC %s not reachable (attempt %d of %d): %s',
                            hosts, attempt, attempts, describe_error(exc))
                time.sleep(delay)

    def logoff(self):
        if self._session is not None and not self.simulated:
            with contextlib.suppress(zhmcclient.Error):
                self._session.logoff()

    def api_version(self):
        """(major, minor) of the HMC's Web Services API (1 request)."""
        with translated('query API version', 'HMC'):
            info = self.client.query_api_version()
        return (int(info['api-major-version']),
                int(info['api-minor-version']))

    # -- objects ----------------------------------------------------------

    def cpc(self, object_id):
        """The CPC with this object-id, its properties pulled (1 request).

        Returns None when the HMC does not know it.
        """
        cpc = zhmcclient.Cpc(self.client.cpcs, '/api/cpcs/%s' % object_id)
        return cpc if pull(cpc) else None

    # -- waiting ----------------------------------------------------------

    def wait_for_job(self, job, what, deadline):
        """Poll an asynchronous job until it ends; raise if it failed."""
        for interval in poll_intervals():
            status, _result = job.check_for_completion()
            if status == 'complete':
                return
            deadline.check(what, 'job completion', status)
            time.sleep(min(interval, deadline.remaining()))

    def wait_for_status(self, partition, wanted, deadline, what):
        """Poll a partition's status until it is in ``wanted``.

        Returns the status reached.
        """
        for interval in poll_intervals():
            partition.pull_properties(['status'])
            status = partition.get_property('status')
            if status in wanted:
                return status
            deadline.check(what, ' or '.join(sorted(wanted)), status)
            time.sleep(min(interval, deadline.remaining()))


class Deadline(object):
    """The time limit of one driver operation, over all its waits.

    A start that first waits out a transition, then stops a paused
    partition and starts it, gets [dpm] hmc_operation_timeout in all, not
    per step.
    """

    def __init__(self, seconds):
        self.seconds = seconds
        self._at = time.monotonic() + seconds

    def remaining(self):
        return max(0.0, self._at - time.monotonic())

    def check(self, what, wanted, status):
        """Raise HMCTimeout once the time is up."""
        if time.monotonic() >= self._at:
            raise exception.HMCTimeout(timeout=self.seconds, target=what,
                                       wanted=wanted, status=status)
