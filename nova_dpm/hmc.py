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
``wait_for_completion=False`` and waits with one primitive,
:func:`wait_until`, for jobs and partition statuses alike: it polls at
0.1 s, backing off to at most 0.5 s, so a start or stop costs well under a
second beyond the partition's own transition time, and it keeps every
operation within a poll-rate cap (:class:`PollBudget`), whatever waits the
operation strings together. The ended job's status is deleted with the
first status read that follows it: in the same round trip where the HMC
offers Submit Requests, as a separate DELETE otherwise
(:meth:`HMC.read_status`).
"""

import contextlib
from importlib import metadata
import ssl
import threading
import time

from oslo_log import log as logging
import requests
import zhmcclient

from nova_dpm import exception

LOG = logging.getLogger(__name__)

POLL_FIRST = 0.1
POLL_MAX = 0.5
POLL_FACTOR = 1.5
# The poll-rate cap of one operation (see PollBudget): POLL_RATE polls a
# second in the long run, with a burst allowance of POLL_BURST; in any
# window of T seconds an operation polls at most POLL_BURST + POLL_RATE * T
# times, so at most 5 times in any second, however many waits it strings
# together (each wait starts its back-off anew at POLL_FIRST). In one
# wait alone the cap lengthens the second and third pause (0.15 and 0.225
# s) to a third of a second, which moves the later polls by less than 0.2
# s; the steady back-off (1 / POLL_MAX = 2 polls a second) stays under
# POLL_RATE, so a token is there when a job has ended and the status must
# be read (see doc/source/performance.rst).
POLL_RATE = 3.0
POLL_BURST = 2.0
# The HMC's Submit Requests operation (aggregation service).
AGGREGATION_URI = '/api/services/aggregation/submit'
# 403 reason codes (HMC rule A5): 0 logon refused, 1 missing object or
# task permission, 4 no session id, 5 invalid or expired session id.
LOGON_REFUSED = 0
NO_PERMISSION = 1
# Why the HMC refuses a logon for good (HMC rule A11): the answer to Logon
# (HTTP status, reason code; None: any) and the cause it means. 201 is a
# partially-authenticated session of a user whose password has expired,
# as are 409,50 and 409,51 (IBM "Change Logon Password"); 400,13: the user
# has the maximum number of sessions (IBM "Common request validation
# reason codes"); any 403: refused.
REFUSED = 'refused'
PASSWORD_EXPIRED = 'password-expired'
TOO_MANY_SESSIONS = 'too-many-sessions'
LOGON_REFUSALS = {
    (403, None): REFUSED,
    (409, 50): PASSWORD_EXPIRED,
    (409, 51): PASSWORD_EXPIRED,
    (201, None): PASSWORD_EXPIRED,
    (400, 13): TOO_MANY_SESSIONS,
}
LOGON_URI = '/api/sessions'
SESSION_HEADER = 'X-API-Session'
# How a job ends (Query Job Status), and what HMC.wait_for_job makes of a
# job the HMC no longer knows (404: it has restarted since).
JOB_GONE = 'gone'
JOB_ENDS = ('complete', 'canceled', JOB_GONE)

# What came with which HMC Web Services API version. HMC 2.13.1 has API 1.7
# (and 2.1-2.2 with updates), 2.14.0 has 2.20-2.25, 2.15.0 3.1-3.4, 2.16.0
# 4.1 and later (zhmcclient documentation, "HMC version" table).
#
# Listings of partitions and of virtual switches return further properties
# on request from API 4.1 (HMC 2.16.0) on; older HMCs refuse the query
# parameter with 400,1 (zhmc-prometheus-exporter issue #823; HMC rule A2).
ADDITIONAL_PROPERTIES_API = (4, 1)
# Get Partition Properties takes the "properties" filter from HMC 2.16.0
# (API 4.1) on (python-zhmcclient issue #862); before, zhmcclient's
# pull_properties() costs a refused request and a full one.
PROPERTIES_FILTER_API = (4, 1)
# Submit Requests: no source names the version that brought it (zhmcclient
# uses it since 2023, when HMC 2.16 was current). Assumed from API 4.1 on;
# an HMC that refuses it anyway is still detected (see _aggregate).
AGGREGATION_API = (4, 1)
# List OS Messages needs SE 2.14.0 (zhmcclient Partition.list_os_messages),
# hence an HMC 2.14.0 or later: API 2.20.
OS_MESSAGES_API = (2, 20)
OS_MESSAGES_SE = '2.14.0'


# [dpm] hmc_mock_file: the simulated HMC is found through this entry point,
# which the nova-dpm[simulator] extra makes usable. The driver never imports
# the simulator by name, so a production install needs none of its
# requirements.
SIMULATOR_ENTRY_POINTS = 'nova_dpm.hmc_sessions'
SIMULATOR_ENTRY_POINT = 'simulated'
SIMULATOR_INSTALL_HINT = "pip install 'nova-dpm[simulator]'"


def real_session(settings):
    """A zhmcclient session to the real HMC(s) of [dpm] hmc."""
    s = settings
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
    # zhmcclient puts a host into a URL as it is: an IPv6 address needs
    # brackets there.
    hosts = ['[%s]' % h if ':' in h and not h.startswith('[') else h
             for h in s.hmc]
    return SerializedLogonSession(
        hosts if len(hosts) > 1 else hosts[0],
        userid=s.hmc_username, password=s.hmc_password,
        retry_timeout_config=rt_config, port=s.hmc_port,
        verify_cert=verify)


def simulated_session(settings):
    """A session to the simulated HMC of [dpm] hmc_mock_file.

    Raises InvalidConfiguration, saying what to install, when the
    simulator's extra is not installed.
    """
    factory = _simulator_factory()
    session = factory(settings.hmc_mock_file)
    LOG.warning(
        '*** [dpm] hmc_mock_file is set: nova-dpm talks to a SIMULATED HMC '
        'built from %s. No real CPC is managed; unset hmc_mock_file to '
        'manage a real one. ***', settings.hmc_mock_file)
    return session


def _simulator_factory():
    found = [ep for ep in metadata.entry_points(group=SIMULATOR_ENTRY_POINTS)
             if ep.name == SIMULATOR_ENTRY_POINT]
    problem = 'its entry point %s:%s is not registered' % (
        SIMULATOR_ENTRY_POINTS, SIMULATOR_ENTRY_POINT)
    if found:
        try:
            return found[0].load()
        except ImportError as exc:
            problem = str(exc)
    raise exception.InvalidConfiguration(
        option='hmc_mock_file',
        reason='it asks for the simulated HMC, which is not installed (%s). '
               'Install it with: %s, or unset hmc_mock_file to manage a '
               'real HMC.' % (problem, SIMULATOR_INSTALL_HINT))


def session_factory_for(settings):
    """The session factory for these settings: simulated or real."""
    return simulated_session if settings.hmc_mock_file else real_session


def poll_intervals():
    """Yield the sleep times between two polls of a job or a status."""
    interval = POLL_FIRST
    while True:
        yield interval
        interval = min(POLL_MAX, interval * POLL_FACTOR)


class PollBudget(object):
    """The poll-rate cap of one operation: a token bucket.

    Every poll of the operation (one call of the ``read`` of
    :func:`wait_until`: a job query or a status read made while waiting)
    takes a token; tokens come back at ``rate`` a second, up to ``burst``.
    A poll without a token waits for one. The budget belongs to the
    operation's :class:`Deadline`, so the waits one operation strings
    together (a transition waited out, a stop, a start, a second stop)
    share it: however many there are, the operation never polls more than
    ``burst + rate * T`` times in T seconds.

    It caps polls, not HMC requests: a poll is usually one request (or one
    Submit Requests round trip), but some polls send more (during a
    graceful stop, a List OS Messages read and a re-sent shutdown command;
    a new FCP storage discovery; the resource check of a start that meets
    ``reservation-error``). Many
    concurrent operations put at most ``rate`` polls a second each on the
    HMC, plus those requests.

    One operation runs in one thread; the budget is not shared.
    """

    def __init__(self, rate=POLL_RATE, burst=POLL_BURST):
        self.rate = float(rate)
        self.burst = float(burst)
        self._tokens = self.burst
        self._at = time.monotonic()
        # Polls made so far, for the log.
        self.polls = 0

    def _refill(self):
        now = time.monotonic()
        self._tokens = min(self.burst,
                           self._tokens + (now - self._at) * self.rate)
        self._at = now

    def delay(self):
        """Seconds until the next poll is within the cap (0: now)."""
        self._refill()
        if self._tokens >= 1.0:
            return 0.0
        return (1.0 - self._tokens) / self.rate

    def take(self):
        """Count one poll (made now)."""
        self._refill()
        self._tokens -= 1.0
        self.polls += 1


# Observers of the waits (see add_wait_observer).
_observers = []


def add_wait_observer(observer):
    """Let an object watch every wait of :func:`wait_until`.

    The public seam for measuring the driver's polling (tools/bench.py,
    tests). ``observer`` has three methods, all called in the waiting
    thread; ``deadline`` is the operation's :class:`Deadline` (all the
    polls of one operation share it):

    * ``poll_begins(what, deadline)`` and ``poll_ends(what, deadline)``
      around each poll's HMC request(s);
    * ``wait_ends(what, deadline, polls, seconds)`` when a wait ends,
      whether done, failed or timed out.
    """
    _observers.append(observer)


def remove_wait_observer(observer):
    """Stop an observer added with :func:`add_wait_observer`."""
    if observer in _observers:
        _observers.remove(observer)


def _notify(event, *args):
    for observer in list(_observers):
        getattr(observer, event)(*args)


def wait_until(read, done, deadline, what, wanted='completion',
               state=None):
    """Poll the HMC until a condition holds: nova-dpm's one way to wait.

    ``wait_until(read, done, deadline, what, wanted='completion',
    state=None)``

    :param read: callable without arguments; makes one poll (one HMC
        request, or one Submit Requests round trip) and returns what it
        read.
    :param done: callable taking that value; True ends the wait. It may
        keep state between calls and may raise to end the wait with an
        error (a failed job, a status that is an outcome).
    :param deadline: the operation's :class:`Deadline`. Its time limit
        ends the wait with :class:`~nova_dpm.exception.HMCTimeout`; its
        :class:`PollBudget` caps the poll rate over all the waits of the
        operation.
    :param what: what is waited for, for the log and the timeout error
        (e.g. ``'start of OpenStack-...'``).
    :param wanted: what ``done`` waits for, for the timeout error (e.g.
        ``'active or degraded'``).
    :param state: callable turning a value read into the status named by
        the timeout error (default: the value itself).
    :returns: the value for which ``done`` returned True.

    The first poll is made at once; then the pauses back off from
    POLL_FIRST to POLL_MAX seconds, lengthened where the operation's poll
    budget requires it. A poll that fails with an error that may go away
    by itself (:func:`transient`: the HMC restarts) does not end the
    wait: it polls on at the same pace until ``done`` or the time limit,
    whose error then names that failure as the last status.
    """
    state = state or (lambda value: value)
    budget = deadline.budget
    intervals = poll_intervals()
    began = time.monotonic()
    outage = _Outage(what, deadline)
    try:
        pause = budget.delay()
        if pause:
            left = deadline.remaining()
            if pause > left:
                # The operation's earlier waits used up the budget and no
                # poll fits before the time limit.
                time.sleep(left)
                deadline.expire(what, wanted, 'not read')
            time.sleep(pause)
        while True:
            budget.take()
            value, failure = outage.poll(read)
            if failure is not None:
                last = outage.failed(failure)
            else:
                outage.answered()
                if done(value):
                    LOG.debug('%s: done after %d poll(s) in %.2f s.', what,
                              outage.polls, time.monotonic() - began)
                    return value
                last = state(value)
            deadline.check(what, wanted, last)
            pause = max(next(intervals), budget.delay())
            left = deadline.remaining()
            if pause >= left:
                # No poll fits before the time limit: the last one read
                # is the last word.
                time.sleep(left)
                deadline.expire(what, wanted, last)
            time.sleep(pause)
    finally:
        _notify('wait_ends', what, deadline, outage.polls,
                time.monotonic() - began)


def transient(exc):
    """Whether an error of one poll may go away by itself.

    An HMC that restarts (a firmware update, a switch to the alternate
    HMC) refuses connections, drops them, or answers with a server error
    (HTTP 5xx) or with a body that is not JSON, for a while. A refused
    logon, an untrusted certificate and any other answer of the HMC are
    no such thing.
    """
    if isinstance(exc, zhmcclient.ConnectionError):
        return untrusted_certificate(exc) is None
    if isinstance(exc, zhmcclient.HTTPError):
        return exc.http_status >= 500
    if isinstance(exc, zhmcclient.ParseError):
        return True
    if isinstance(exc, exception.DPMError):
        return bool(exc.kwargs.get('transient'))
    return False


class _Outage(object):
    """The polls of one wait, and the time the HMC has not answered them.

    A wait keeps polling through errors that may go away by itself (see
    :func:`transient`) until its time limit: once the HMC answers again,
    zhmcclient logs on again (one logon for all threads, see
    :class:`SerializedLogonSession`) and the wait goes on.
    """

    def __init__(self, what, deadline):
        self.what = what
        self.deadline = deadline
        self.polls = 0
        self.since = None

    def poll(self, read):
        """(value read, None), or (None, the error) if it may go away."""
        self.polls += 1
        _notify('poll_begins', self.what, self.deadline)
        try:
            return read(), None
        except Exception as exc:
            if not transient(exc):
                raise
            return None, exc
        finally:
            _notify('poll_ends', self.what, self.deadline)

    def failed(self, exc):
        """Note a poll the HMC did not answer; the status for the log."""
        if self.since is None:
            self.since = time.monotonic()
            LOG.warning('%s: the HMC did not answer (%s); reading again '
                        'for up to %.0f s, until the operation\'s time '
                        'limit.', self.what, describe_error(exc),
                        self.deadline.remaining())
        return 'not read, the HMC does not answer (%s)' % (
            describe_error(exc))

    def answered(self):
        if self.since is not None:
            LOG.info('%s: the HMC answers again after %.1f s.', self.what,
                     time.monotonic() - self.since)
            self.since = None


# HMC rule A3: 409 with reason 2, the target is busy with another
# operation and the request may be repeated.
BUSY = 2


def busy(exc):
    """Whether a zhmcclient error is the HMC's "busy, try again" (409,2)."""
    return (isinstance(exc, zhmcclient.HTTPError) and
            exc.http_status == 409 and exc.reason == BUSY)


def retry_while_busy(call, deadline, what):
    """Make a synchronous request; repeat it while the HMC says busy.

    A storage group answers 409,2 while a discovery runs (IBM: Accept
    Mismatched Storage Volumes), a partition while it is busy with
    another operation (HMC rule A3). The request is repeated within the
    operation's :class:`Deadline`, at its poll budget's rate (each try
    after the first counts as a poll of :func:`wait_until`); any other
    error ends it at once. Returns what ``call`` returns.
    """
    try:
        return call()
    except zhmcclient.HTTPError as exc:
        if not busy(exc):
            raise
        LOG.debug('%s: the HMC is busy (%s); trying again.', what,
                  describe_error(exc))
    answer = {}

    def read():
        try:
            answer['value'] = call()
        except zhmcclient.HTTPError as exc:
            if not busy(exc):
                raise
            return exc
        return None

    wait_until(read, lambda error: error is None, deadline, what,
               'the HMC to accept it (no longer busy)',
               state=lambda error: 'busy' if error else 'accepted')
    return answer['value']


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


def _answer(response, uri):
    """The body of one answer of Submit Requests; None if 404 (gone).

    Any other error status raises HTTPError, as the request on its own
    would have.
    """
    code = response.get('status')
    if code == 404:
        return None
    if code is not None and code < 300:
        return response.get('body') or {}
    raise zhmcclient.HTTPError(dict(
        {'http-status': code or 500, 'reason': 0,
         'message': 'no answer for %s' % uri},
        **(response.get('body') or {})))


def untrusted_certificate(exc):
    """The TLS error inside a zhmcclient.ConnectionError, or None.

    zhmcclient wraps the requests SSLError; a certificate that the CA
    bundle does not verify, or a failed TLS handshake, is not transient.
    """
    details = getattr(exc, 'details', None)
    if isinstance(details, (requests.exceptions.SSLError, ssl.SSLError)):
        return details
    return None


@contextlib.contextmanager
def translated(operation, target):
    """Turn zhmcclient errors into nova-dpm errors naming what failed."""
    try:
        yield
    except LogonRefused as exc:
        raise refusal_error(exc)
    except (zhmcclient.ConnectionError, zhmcclient.AuthError) as exc:
        raise exception.HMCUnavailable(
            reason='%s on %s: %s' % (operation, target, describe_error(exc)),
            transient=transient(exc))
    except zhmcclient.HTTPError as exc:
        if exc.http_status == 403 and exc.reason == NO_PERMISSION:
            raise exception.HMCPermissionDenied(
                operation=operation, target=target,
                object=getattr(exc, 'request_uri', None) or target,
                reason=exc.message, http_status=exc.http_status)
        raise exception.HMCOperationFailed(
            operation=operation, target=target, reason=describe_error(exc),
            http_status=exc.http_status, transient=transient(exc))
    except zhmcclient.Error as exc:
        raise exception.HMCOperationFailed(
            operation=operation, target=target, reason=describe_error(exc),
            http_status=getattr(exc, 'http_status', None),
            transient=transient(exc))


def logon_refusal(status, reason):
    """The cause of a final logon refusal (LOGON_REFUSALS), or None."""
    return LOGON_REFUSALS.get((status, reason),
                              LOGON_REFUSALS.get((status, None)))


def refusal_error(exc, hosts=None):
    """The nova-dpm error for a LogonRefused: one class per cause."""
    kind = {PASSWORD_EXPIRED: exception.HMCPasswordExpired,
            TOO_MANY_SESSIONS: exception.HMCTooManySessions}.get(
                exc.cause, exception.HMCLogonRefused)
    return kind(user=exc.userid, host=exc.host or hosts,
                answer=exc.answer)


class LogonRefused(zhmcclient.ServerAuthError):
    """The HMC refused the logon for good (HMC rule A11).

    A wrong userid or password, a disabled user (403), an expired
    password (409,50, 409,51 or a partial session, 201), the user's
    maximum number of sessions (400,13). Carries the userid, the host,
    the cause (REFUSED, PASSWORD_EXPIRED or TOO_MANY_SESSIONS) and the
    HMC's answer, never the password.
    """

    def __init__(self, details, userid, host, cause=REFUSED):
        super().__init__('the HMC refused the logon of user %s (%s)' % (
            userid, cause), details)
        self.userid = userid
        self.host = host
        self.cause = cause
        reason = getattr(details, 'reason', None)
        self.answer = 'HTTP %s%s' % (
            getattr(details, 'http_status', None),
            '' if reason is None else ' reason %s' % reason)


class SerializedLogonSession(zhmcclient.Session):
    """A zhmcclient.Session: one logon at a time, none after a refusal.

    zhmcclient logs on again when a request meets 403,4 or 403,5 (HMC rule
    A5), without a lock: the new logon replaces the X-API-Session header
    and the requests session that other threads are using, so with many
    threads on an expired session each logs on for itself, and some send
    requests without any session id in the meantime. Here:

    * one logon at a time: a thread that finds a logon under way waits
      for it; the headers of a request are read under the same lock, so
      no request leaves while a logon is under way (none without a
      session id);
    * each thread remembers the session id its last request carried; a
      thread whose request failed with an id that is no longer current
      does not log on again, it repeats the request with the new id
      (zhmcclient repeats it once after a re-logon);
    * a logon that fails (the HMC does not answer, or answers with an
      error) leaves the session logged off: the next request logs on
      again;
    * a refused logon (any 403; an expired password: 409,50, 409,51 or
      a partial session, 201, which is logged off; the user's maximum of
      sessions: 400,13; HMC rule A11) is remembered and raised again (a
      new exception each time, threads share none) without asking the
      HMC: HMC password rules disable a user after a number of
      consecutive failed logons (the User object's ``max-failed-logins``,
      zhmcclient.mock's Create User default 3), which would lock out every
      other client of that user too;
    * with several HMCs, zhmcclient tries each in turn at logon by setting
      the session's base URL to it: the base URL is read under the logon
      lock, so other threads never build a URL for an HMC being tried;
    * the requests session that a re-logon replaces is closed: its idle
      connections are closed at once, connections still in use when they
      are given back (urllib3 HTTPConnectionPool.close).
    """

    def __init__(self, *args, **kwargs):
        self._logon_lock = threading.RLock()
        self._sent = threading.local()
        # (HTTPError details, userid, host) of a refused logon.
        self._refusal = None
        self._url = None
        super().__init__(*args, **kwargs)

    @property
    def _base_url(self):
        # zhmcclient reads and sets this attribute directly.
        with self._logon_lock:
            return self._url

    @_base_url.setter
    def _base_url(self, value):
        with self._logon_lock:
            self._url = value

    def _determine_actual_host(self):
        # zhmcclient also calls it, for a request without logon, outside
        # _do_logon: the HMCs are tried one at a time, under the lock.
        with self._logon_lock:
            return super()._determine_actual_host()

    def _raise_refusal(self):
        if self._refusal is not None:
            # A new exception each time: raising one instance from many
            # threads would grow and share its traceback.
            raise LogonRefused(*self._refusal)

    @property
    def headers(self):
        """A copy of the headers; waits while a logon is under way.

        After a refused logon, no request leaves: the refusal is raised.
        """
        with self._logon_lock:
            self._raise_refusal()
            headers = dict(self._headers)
        self._sent.session_id = headers.get(SESSION_HEADER)
        return headers

    def __repr__(self):
        # zhmcclient's repr shows the headers (its API log at DEBUG prints
        # it); it must not raise the refusal.
        try:
            return super().__repr__()
        except LogonRefused as exc:
            return '%s(%r, refused logon of user %s)' % (
                type(self).__name__, exc.host, exc.userid)

    def _do_logon(self):
        sent = getattr(self._sent, 'session_id', None)
        with self._logon_lock:
            self._raise_refusal()
            current = self._headers.get(SESSION_HEADER)
            if current is not None and current != sent:
                # Another thread has logged on since this thread's request
                # left: the caller repeats it with the new session id.
                return
            replaced = self._session
            self._sent.logon_status = None
            try:
                super()._do_logon()
            except (zhmcclient.ServerAuthError, zhmcclient.HTTPError) as exc:
                self._logged_off()
                details = getattr(exc, 'details', None) or exc
                self._refuse(details, logon_refusal(
                    getattr(details, 'http_status', None),
                    getattr(details, 'reason', None)))
                raise
            except Exception:
                # zhmcclient has removed the session id from the headers
                # but still has it: without this, every request would leave
                # without one and no thread would log on again.
                self._logged_off()
                raise
            finally:
                if replaced is not None and replaced is not self._session:
                    replaced.close()
            if self._sent.logon_status == 201:
                self._partial_session()

    def _refuse(self, details, cause):
        """Remember a final refusal (if ``cause``) and raise it."""
        if cause is None:
            return
        # Later calls raise the refusal before sending anything.
        self._refusal = (details, self.userid, self._actual_host, cause)
        self._raise_refusal()

    def _partial_session(self):
        # zhmcclient takes 201 for a logon; the HMC answers it with a
        # partially-authenticated session for a user whose password has
        # expired, which only Change Logon Password completes. Log it
        # off, then refuse.
        host = self._actual_host
        with contextlib.suppress(zhmcclient.Error):
            super()._do_logoff()
        self._logged_off()
        self._actual_host = host
        self._refuse(zhmcclient.HTTPError({
            'http-status': 201, 'reason': None,
            'message': 'a partially-authenticated session: the password '
                       'has expired'}), PASSWORD_EXPIRED)

    def _new_session(self, retry_timeout_config):
        # The logon's HTTP status, which zhmcclient does not return.
        session = super()._new_session(retry_timeout_config)
        session.hooks['response'].append(self._note_logon)
        return session

    def _note_logon(self, response, *args, **kwargs):
        request = response.request
        if request.method == 'POST' and request.path_url == LOGON_URI:
            self._sent.logon_status = response.status_code

    def _logged_off(self):
        self._session_id = None
        self._headers.pop(SESSION_HEADER, None)

    def _do_logoff(self):
        with self._logon_lock:
            super()._do_logoff()


class HMC(object):
    """One connection to the HMC (or to the simulated HMC) per service.

    zhmcclient does not promise that a session may be shared by threads;
    the real HMC's session is a :class:`SerializedLogonSession`, which
    serializes what zhmcclient does unguarded (logon, host selection).
    Creating the session is guarded by a lock so that concurrent first
    calls share one session.
    """

    def __init__(self, settings, session_factory=None):
        self.settings = settings
        self.simulated = bool(settings.hmc_mock_file)
        # A callable(settings) -> zhmcclient session; see session_factory().
        self._session_factory = session_factory or session_factory_for(
            settings)
        self._lock = threading.Lock()
        self._session = None
        self._client = None
        # Until the API version says otherwise (api_version) or an HMC
        # refuses Submit Requests (see read_status).
        self._aggregation = True
        # Whether Get Partition Properties takes the properties filter.
        self._properties_filter = True

    # -- connection -------------------------------------------------------

    @property
    def session(self):
        if self._session is None:
            with self._lock:
                if self._session is None:
                    session = self._make_session()
                    # The client first: a thread that finds the session
                    # set (without the lock) reads the client next.
                    self._client = zhmcclient.Client(session)
                    self._session = session
        return self._session

    @property
    def client(self):
        self.session  # noqa: B018 (creates the client on first use)
        return self._client

    def _make_session(self):
        return self._session_factory(self.settings)

    def logon(self, attempts=3, delay=5.0):
        """Log on now, with bounded retries; raise HMCUnavailable.

        Only an HMC that does not answer, or answers with a server error
        (HTTP 5xx, as while its console restarts) or with a body that is
        not JSON, is tried again. A refused logon (HMCLogonRefused) and a
        certificate that the CA bundle does not verify
        (HMCCertificateUntrusted) fail at once: neither goes away by
        itself, and repeated failed logons can disable the HMC user. Any
        other error of zhmcclient fails at once as HMCUnavailable.
        """
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
            except LogonRefused as exc:
                raise refusal_error(exc, hosts)
            except zhmcclient.AuthError as exc:
                raise self._logon_failed(hosts, exc)
            except zhmcclient.ConnectionError as exc:
                if untrusted_certificate(exc) is not None:
                    raise exception.HMCCertificateUntrusted(
                        host=hosts, reason=describe_error(exc))
                failure = exc
            except zhmcclient.HTTPError as exc:
                if exc.http_status < 500:
                    raise self._logon_failed(hosts, exc)
                failure = exc
            except zhmcclient.ParseError as exc:
                failure = exc
            except zhmcclient.Error as exc:
                raise self._logon_failed(hosts, exc)
            if attempt == attempts:
                raise exception.HMCUnavailable(
                    reason='no HMC of [dpm] hmc = %s answered after %d '
                           'attempts; last error: %s' %
                           (hosts, attempts, describe_error(failure)))
            LOG.warning('HMC %s not available (attempt %d of %d): %s',
                        hosts, attempt, attempts, describe_error(failure))
            time.sleep(delay)

    def _logon_failed(self, hosts, exc):
        return exception.HMCUnavailable(
            reason='logon to %s as [dpm] hmc_username %s failed: %s' % (
                hosts, self.settings.hmc_username, describe_error(exc)))

    def logoff(self):
        if self._session is not None and not self.simulated:
            with contextlib.suppress(zhmcclient.Error):
                self._session.logoff()

    def api_version(self):
        """(major, minor) of the HMC's Web Services API (1 request).

        From then on, requests that this API version does not offer are
        not made (see the *_API constants).
        """
        with translated('query API version', 'HMC'):
            info = self.client.query_api_version()
        version = (int(info['api-major-version']),
                   int(info['api-minor-version']))
        self.adopt_api_version(version)
        return version

    def adopt_api_version(self, version):
        """Make only the requests that this HMC API version offers."""
        if tuple(version) < AGGREGATION_API:
            self._aggregation = False
        self._properties_filter = tuple(version) >= PROPERTIES_FILTER_API

    def aggregates(self):
        """Whether requests are aggregated with Submit Requests."""
        return self._aggregation

    def pull_partition(self, partition, properties):
        """Pull some properties of a partition; False if it is gone.

        One request: with the properties filter where the HMC has it
        (PROPERTIES_FILTER_API), all properties otherwise.
        """
        return pull(partition,
                    properties if self._properties_filter else None)

    # -- objects ----------------------------------------------------------

    def cpc(self, object_id):
        """The CPC with this object-id, its properties pulled (1 request).

        Returns None when the HMC does not know it.
        """
        cpc = zhmcclient.Cpc(self.client.cpcs, '/api/cpcs/%s' % object_id)
        return cpc if pull(cpc) else None

    # -- waiting ----------------------------------------------------------

    def wait_for_job(self, job, what, deadline):
        """Poll an asynchronous job until it ends; raise if it failed.

        Returns the URI of the ended job. The HMC keeps an ended job's
        status until the client deletes it (or until its retention interval
        expires): pass the URI to :meth:`read_status` or
        :meth:`wait_for_status`, which delete it with their first status
        query (in the same round trip where the HMC offers Submit
        Requests). A failed job is deleted here.

        Returns None when the HMC no longer knows the job (404): a
        restarted HMC has forgotten its jobs, whether they ended or not.
        The caller then reads the status of the job's object instead.
        """
        def read():
            try:
                return self.session.get(job.uri)
            except zhmcclient.HTTPError as exc:
                if exc.http_status != 404:
                    raise
                return {'status': JOB_GONE}

        result = wait_until(
            read, lambda r: r.get('status') in JOB_ENDS,
            deadline, what, 'job completion',
            state=lambda r: r.get('status'))
        status = result.get('status')
        if status == JOB_GONE:
            LOG.warning('%s: the HMC no longer knows job %s (it has '
                        'restarted); reading the status of the object '
                        'instead.', what, job.uri)
            return None
        code = result.get('job-status-code')
        if status == 'complete' and code in (200, 201, 204):
            return job.uri
        self.discard_job(job.uri)
        details = result.get('job-results') or {}
        if status == 'canceled' or not code:
            code = 409
        raise zhmcclient.HTTPError({
            'http-status': code,
            'reason': result.get('job-reason-code') or 0,
            'message': (details.get('message') or details.get('error') or
                        'the job ended with status %s' % status),
            'request-method': job.op_method,
            'request-uri': job.op_uri,
        })

    def discard_job(self, job_uri):
        """Delete an ended job's status (best effort: it also expires).

        None (a job the HMC no longer knows) is nothing to delete.
        """
        if job_uri is None:
            return
        try:
            self.session.delete(job_uri)
        except zhmcclient.Error as exc:
            LOG.debug('Could not delete the status of job %s: %s', job_uri,
                      describe_error(exc))

    def read_status(self, partition, discard=None):
        """Pull the partition's status (1 request); False if it is gone.

        ``discard``: the URI of an ended job (see :meth:`wait_for_job`).
        Its status is deleted in the same round trip, through the HMC's
        Submit Requests operation (the aggregation service). An HMC
        that does not offer it gets the two requests one after the other,
        from then on. A dropped connection or a read timeout is retried
        once as the two requests (repeating the deletion does no harm).
        """
        if discard is None or not self._aggregation:
            return self._read_status_apart(partition, discard)
        try:
            responses = self._aggregate([
                {'id': 'status', 'method': 'GET',
                 'uri': partition.uri + '?properties=status'},
                {'id': 'discard', 'method': 'DELETE', 'uri': discard},
            ])
        except zhmcclient.ConnectionError as exc:
            LOG.debug('Status read of %s failed (%s); reading it again.',
                      partition.name, describe_error(exc))
            responses = None
        if responses is None:
            return self._read_status_apart(partition, discard)
        by_id = {r.get('id'): r for r in responses}
        deleted = by_id.get('discard') or {}
        if deleted.get('status', 200) >= 300:
            LOG.debug('Could not delete the status of job %s: %s', discard,
                      deleted.get('body'))
        try:
            body = _answer(by_id.get('status') or {}, partition.uri)
        except zhmcclient.HTTPError as exc:
            if exc.http_status != 400:
                raise
            body = {}
        if body is None:
            return False
        if not body.get('status'):
            # No status in the answer, or an HMC that does not take the
            # properties filter for partitions (400): zhmcclient's pull
            # knows what to do.
            return pull(partition, ['status'])
        partition.update_properties_local({'status': body['status']})
        return True

    def _read_status_apart(self, partition, discard):
        try:
            return self.pull_partition(partition, ['status'])
        finally:
            if discard is not None:
                self.discard_job(discard)

    def get_many(self, uris, discard=None):
        """GET several objects in one round trip (Submit Requests).

        Returns {uri: properties, or None for an object that is gone}. An
        HMC that refuses Submit Requests gets one GET per URI, from then
        on. ``discard``: the URI of an ended job whose status is deleted
        too (in the same round trip where the HMC offers Submit Requests;
        see :meth:`read_status`).
        """
        uris = list(uris)
        result = {}
        responses = None
        if (len(uris) > 1 or discard) and self._aggregation:
            requests = [{'id': str(i), 'method': 'GET', 'uri': uri}
                        for i, uri in enumerate(uris)]
            if discard:
                requests.append({'id': 'discard', 'method': 'DELETE',
                                 'uri': discard})
            responses = self._aggregate(requests)
        if responses is not None:
            for response in responses:
                if response.get('id') == 'discard':
                    continue
                uri = uris[int(response['id'])]
                result[uri] = _answer(response, uri)
            return result
        if discard:
            self.discard_job(discard)
        for uri in uris:
            try:
                result[uri] = self.session.get(uri)
            except zhmcclient.HTTPError as exc:
                if exc.http_status != 404:
                    raise
                result[uri] = None
        return result

    def _aggregate(self, requests):
        """Submit Requests; None if this HMC does not offer the operation.

        The answer is the list of responses, one per request, each with
        its ``id``, ``status`` and ``body``. The first refusal (HTTP 400,
        404 or 405 for the operation itself) is remembered.
        """
        try:
            return self.session.post(AGGREGATION_URI,
                                     body={'requests': requests}) or []
        except zhmcclient.HTTPError as exc:
            if exc.http_status not in (400, 404, 405):
                raise
            LOG.info('The HMC does not aggregate requests (%s); nova-dpm '
                     'sends them one by one from now on.',
                     describe_error(exc))
            self._aggregation = False
            return None

    def wait_for_status(self, partition, wanted, deadline, what,
                        discard=None):
        """Poll a partition's status until it is in ``wanted``.

        ``discard``: an ended job to delete with the first query (see
        :meth:`read_status`). Returns the status reached, or None if the
        partition is gone.
        """
        pending = [discard]

        def read():
            # The ended job goes with the first read that is answered.
            found = self.read_status(partition, pending[0] if pending
                                     else None)
            del pending[:]
            return partition.get_property('status') if found else None

        return wait_until(read, lambda s: s is None or s in wanted,
                          deadline, what, ' or '.join(sorted(wanted)))


class Deadline(object):
    """The time limit and the poll budget of one driver operation.

    A start that first waits out a transition, then stops a paused
    partition and starts it, gets [dpm] hmc_operation_timeout in all, not
    per step, and one :class:`PollBudget` for all its waits. ``budget``:
    share the budget of another Deadline of the same operation (a graceful
    shutdown's own time limit, then the hard stop's).
    """

    def __init__(self, seconds, budget=None):
        self.seconds = seconds
        self._at = time.monotonic() + seconds
        self.budget = budget if budget is not None else PollBudget()

    def remaining(self):
        return max(0.0, self._at - time.monotonic())

    def check(self, what, wanted, status):
        """Raise HMCTimeout once the time is up."""
        if time.monotonic() >= self._at:
            self.expire(what, wanted, status)

    def expire(self, what, wanted, status):
        """Raise HMCTimeout (the time is up, or no poll fits any more)."""
        raise exception.HMCTimeout(timeout=self.seconds, target=what,
                                   wanted=wanted, status=status)
