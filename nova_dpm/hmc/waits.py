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

"""Waiting for the HMC: nova-dpm's one way to wait.

zhmcclient's own ``wait_for_completion`` polls a job every 10 s. nova-dpm
never uses it. It starts asynchronous operations with
``wait_for_completion=False`` and waits with one primitive,
:func:`wait_until`, for jobs and partition statuses alike: it polls at
0.1 s, backing off to at most 0.5 s, so a start or stop costs well under a
second beyond the partition's own transition time, and it keeps every
operation within a poll-rate cap (:class:`PollBudget`), whatever waits the
operation strings together.

What is waited for is a wait object (:class:`Wait`): ``read()`` makes one
poll, ``done(value)`` says whether the value read ends the wait, ``what``
and ``wanted`` name the wait in the log and in a timeout error.

A wait that can learn its value from the HMC's notifications (its
``told`` is the service's :class:`nova_dpm.hmc.pushed.Told`) is woken by
them instead, while they are up, with a slow safety read
(:func:`nova_dpm.hmc.pushed.wait_told`); it polls as above otherwise, and
from the moment they drop.
"""

import time

from oslo_log import log as logging
import zhmcclient

from nova_dpm import exception
from nova_dpm.hmc import pushed
from nova_dpm.hmc import session

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


class Wait(object):
    """What one wait polls for; :func:`wait_until` drives it.

    A subclass sets ``what`` (what is waited for, for the log and the
    timeout error, e.g. ``'start of OpenStack-...'``) and ``wanted`` (what
    ``done`` waits for, e.g. ``'active or degraded'``), and defines:

    * ``read()``: one poll (one HMC request, or one Submit Requests round
      trip); returns what it read;
    * ``done(value)``: True ends the wait; it may keep state between calls
      and may raise to end the wait with an error (a failed job, a status
      that is an outcome);
    * ``state(value)``: the status a timeout error names (here: the value
      itself).

    A wait that notifications can end sets ``told`` (the service's
    :class:`~nova_dpm.hmc.pushed.Told`) and defines ``told_value()``: what
    the notifications told since ``told_since`` (the serial at which the
    wait began), without a poll, or None; ``read_first``: read once at
    the start even then.
    """

    what = 'the HMC'
    wanted = 'completion'
    told = None
    told_since = 0
    read_first = False

    def read(self):
        raise NotImplementedError()

    def told_value(self):
        return None

    def done(self, value):
        raise NotImplementedError()

    def state(self, value):
        return value


class CallableWait(Wait):
    """A wait made of callables: ``read``, ``done`` and ``state`` as above.

    For a wait with no state of its own (the tests use it too).
    """

    def __init__(self, read, done, what, wanted='completion', state=None):
        self.read, self.done, self.what, self.wanted = read, done, what, wanted
        self.state = state or super().state


def wait_until(wait, deadline):
    """Poll the HMC until ``wait`` is done; return the value that ended it.

    :param wait: a :class:`Wait`.
    :param deadline: the operation's :class:`Deadline`. Its time limit
        ends the wait with :class:`~nova_dpm.exception.HMCTimeout`; its
        :class:`PollBudget` caps the poll rate over all the waits of the
        operation.

    The first poll is made at once; then the pauses back off from
    POLL_FIRST to POLL_MAX seconds, lengthened where the operation's poll
    budget requires it. A poll that fails with an error that may go away
    by itself (:func:`transient`: the HMC restarts) does not end the
    wait: it polls on at the same pace until ``wait.done`` or the time
    limit, whose error then names that failure as the last status.

    While ``wait.told`` says notifications are up, they wake the wait
    instead (see :mod:`nova_dpm.hmc.pushed`).
    """
    if wait.told is not None and wait.told.live():
        value = pushed.wait_told(wait, deadline, transient)
        if value is not pushed.FALL_BACK:
            return value
        LOG.info('%s: no HMC notifications any more; polling.', wait.what)
    budget = deadline.budget
    intervals = poll_intervals()
    began = time.monotonic()
    outage = _Outage(wait.what, deadline)
    _pause(wait, deadline, budget.delay(), 'not read', first=True)
    while True:
        budget.take()
        value, failure = outage.poll(wait.read)
        if failure is not None:
            last = outage.failed(failure)
        else:
            outage.answered()
            if wait.done(value):
                LOG.debug('%s: done after %d poll(s) in %.2f s.', wait.what,
                          outage.polls, time.monotonic() - began)
                return value
            last = wait.state(value)
        deadline.check(wait.what, wait.wanted, last)
        _pause(wait, deadline, max(next(intervals), budget.delay()), last)


def _pause(wait, deadline, pause, last, first=False):
    """Sleep ``pause`` s before the next poll of ``wait``.

    Raises HMCTimeout (naming ``last``, the last status read) after
    sleeping out the time left when no poll fits before the time limit
    any more: before the first poll, the operation's earlier waits used up
    its budget; later, the last poll read is the last word.
    """
    if not pause:
        return
    left = deadline.remaining()
    if pause > left or (pause == left and not first):
        time.sleep(left)
        deadline.expire(wait.what, wait.wanted, last)
    time.sleep(pause)


def transient(exc):
    """Whether an error of one poll may go away by itself.

    An HMC that restarts (a firmware update, a switch to the alternate
    HMC) refuses connections, drops them, or answers with a server error
    (HTTP 5xx) or with a body that is not JSON, for a while. A refused
    logon, an untrusted certificate and any other answer of the HMC are
    no such thing.
    """
    if isinstance(exc, zhmcclient.ConnectionError):
        return session.untrusted_certificate(exc) is None
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
        try:
            return read(), None
        except Exception as exc:
            if not transient(exc):
                raise
            return None, exc

    def failed(self, exc):
        """Note a poll the HMC did not answer; the status for the log."""
        if self.since is None:
            self.since = time.monotonic()
            LOG.warning('%s: the HMC did not answer (%s); reading again '
                        'for up to %.0f s, until the operation\'s time '
                        'limit.', self.what, session.describe_error(exc),
                        self.deadline.remaining())
        return 'not read, the HMC does not answer (%s)' % (
            session.describe_error(exc))

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


class _WhileBusy(Wait):
    """A synchronous request, made again while the HMC answers busy."""

    wanted = 'the HMC to accept it (no longer busy)'

    def __init__(self, call, what):
        self.call = call
        self.what = what
        self.answer = None

    def read(self):
        try:
            self.answer = self.call()
        except zhmcclient.HTTPError as exc:
            if not busy(exc):
                raise
            return 'busy'
        return 'accepted'

    def done(self, value):
        return value == 'accepted'


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
                  session.describe_error(exc))
    wait = _WhileBusy(call, what)
    wait_until(wait, deadline)
    return wait.answer
