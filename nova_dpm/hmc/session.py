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

"""The HMC session: logon, TLS, and the serialized re-logon.

A real HMC's session is a :class:`SerializedLogonSession`: zhmcclient's
``Session`` with its logon serialized and a final refusal remembered
(HMC rules A5, A9, A11; Z1). It overrides zhmcclient internals that are
not part of zhmcclient's public API (``_do_logon``, ``_do_logoff``,
``_base_url``, ``_determine_actual_host``, ``_new_session``, ``_headers``,
``_session``, ``_session_id``, ``_actual_host``); requirements.txt pins
zhmcclient for that reason. The simulated HMC of ``[dpm] hmc_mock_file``
is found through an entry point (:func:`simulated_session`).
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
DEFAULT_NOTIFICATION_PORT = zhmcclient.DEFAULT_STOMP_PORT
SESSION_HEADER = 'X-API-Session'

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
        verify_cert=verify, notification_port=s.hmc_notification_port)


def simulated_session(settings):
    """A session to the simulated HMC of [dpm] hmc_mock_file.

    Raises InvalidConfiguration, saying what to install, when the
    simulator's extra is not installed.
    """
    factory = _simulator_factory()
    # Its notification service accepts the [dpm] user, if one is set.
    session = factory(settings.hmc_mock_file, userid=settings.hmc_username,
                      password=settings.hmc_password)
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


def describe_error(exc):
    """A one-line description of a zhmcclient error, never with secrets."""
    if isinstance(exc, zhmcclient.HTTPError):
        return 'HTTP %s reason %s: %s' % (exc.http_status, exc.reason,
                                          exc.message)
    return '%s: %s' % (type(exc).__name__, exc)


def untrusted_certificate(exc):
    """The TLS error inside a zhmcclient.ConnectionError, or None.

    zhmcclient wraps the requests SSLError; a certificate that the CA
    bundle does not verify, or a failed TLS handshake, is not transient.
    """
    details = getattr(exc, 'details', None)
    if isinstance(details, (requests.exceptions.SSLError, ssl.SSLError)):
        return details
    return None


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

    def __init__(self, *args, notification_port=DEFAULT_NOTIFICATION_PORT,
                 **kwargs):
        # Where the HMC's notification service (STOMP) listens, on the
        # actual host; zhmcclient's sessions have no such property.
        self.notification_port = notification_port
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


def logon(session, settings, attempts=3, delay=5.0):
    """Log a real HMC's session on now, with bounded retries.

    Only an HMC that does not answer, or answers with a server error
    (HTTP 5xx, as while its console restarts) or with a body that is not
    JSON, is tried again. A refused logon (HMCLogonRefused) and a
    certificate that the CA bundle does not verify
    (HMCCertificateUntrusted) fail at once: neither goes away by itself,
    and repeated failed logons can disable the HMC user (HMC rule A9). Any
    other error of zhmcclient fails at once as HMCUnavailable.
    """
    hosts = ', '.join(settings.hmc)
    for attempt in range(1, attempts + 1):
        try:
            session.logon()
            LOG.info('Logged on to HMC %s as %s.', session.actual_host,
                     settings.hmc_username)
            return
        except LogonRefused as exc:
            raise refusal_error(exc, hosts)
        except zhmcclient.ConnectionError as exc:
            if untrusted_certificate(exc) is not None:
                raise exception.HMCCertificateUntrusted(
                    host=hosts, reason=describe_error(exc))
            failure = exc
        except zhmcclient.HTTPError as exc:
            if exc.http_status < 500:
                raise _logon_failed(settings, hosts, exc)
            failure = exc
        except zhmcclient.ParseError as exc:
            failure = exc
        except zhmcclient.Error as exc:
            raise _logon_failed(settings, hosts, exc)
        if attempt == attempts:
            raise exception.HMCUnavailable(
                reason='no HMC of [dpm] hmc = %s answered after %d '
                       'attempts; last error: %s' %
                       (hosts, attempts, describe_error(failure)))
        LOG.warning('HMC %s not available (attempt %d of %d): %s',
                    hosts, attempt, attempts, describe_error(failure))
        time.sleep(delay)


def _logon_failed(settings, hosts, exc):
    return exception.HMCUnavailable(
        reason='logon to %s as [dpm] hmc_username %s failed: %s' % (
            hosts, settings.hmc_username, describe_error(exc)))
