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

"""Waits woken by the HMC's notifications instead of polling.

While the service's notification connection (:mod:`nova_dpm.hmc.listener`)
is up, :class:`Told` keeps what it was told: the jobs whose completion was
notified (HMC rule P6: ``job-completion`` with the ``job-uri``, on the job
topic of the session that started the job) and the last status notified
for each partition (``status-change``, HMC rules P3-P5). A wait
(:class:`nova_dpm.hmc.waits.Wait`) whose ``told`` attribute is set is then
driven by :func:`wait_told` instead of by polling: it sleeps until a
notification arrives and asks the wait what it was told (``Wait.told()``,
no request, or the one Query Job Status that reads the outcome of a job
whose completion was notified). A status notified since the wait for the
job the wait follows began (or, without a job, since the wait began) ends
the wait as a status read would; a status wait after a job that is told
nothing within :data:`STATUS_GRACE` reads once.

The safety net: a wait that has heard nothing for :data:`SAFETY_POLL`
seconds reads once (a poll, counted in the operation's poll budget), so a
lost notification delays it by at most that much. When the connection
drops, every wait under way goes back to polling at once (its first poll
at once, so nothing that happened meanwhile is missed); so does a wait
that begins while notifications are not up (an HMC without them, a refused
subscription, notifications switched off).
"""

import collections
import threading
import time

from oslo_log import log as logging

LOG = logging.getLogger(__name__)

# Seconds a wait woken by notifications goes without reading the HMC.
# The HMC's notifications are not acknowledged or replayed: one lost on the
# way (a broker restart between two reconnections, a message dropped by the
# network) would otherwise leave a start or stop waiting until its time
# limit ([dpm] hmc_operation_timeout, 900 s). Ten seconds bounds that delay
# to about the time a partition start takes anyway, at 6 reads a minute per
# waiting operation instead of the polling's 120 (one every 0.5 s).
SAFETY_POLL = 10.0

# Seconds a status wait that follows an ended job waits for a status
# notification before it reads the status once. The sources leave open
# whether the HMC sends a job's completion before or after the status
# change that the job made: a status notified while the job ran counts
# (see Told.told_status), and this bounds the cost when it came before
# the job's wait began.
STATUS_GRACE = 1.0

# Job completions remembered (a completion may be notified before the
# client has read the 202 answer that names the job).
KEEP_JOBS = 1000

# What wait_told returns when the wait has to go back to polling.
FALL_BACK = object()


class Told(object):
    """What the notifications told, for the waits (thread-safe)."""

    def __init__(self, current_topic=None, stale=None):
        # callable() -> the job topic of the session that starts the jobs
        # now (a re-logon makes new topics, see live()); stale() is called
        # once when it differs from the topic subscribed to.
        self._current_topic = current_topic
        self._stale = stale
        self._told_stale = None
        self._topic = None
        self._cond = threading.Condition()
        self._serial = 0
        self._jobs = collections.OrderedDict()   # job uri -> serial
        # job uri -> the serial when its wait began (see told_status).
        self._waited = collections.OrderedDict()
        self._statuses = {}                      # uri -> (status, serial)
        # Incremented each time notifications come up; 0: never up.
        self._generation = 0
        self._up = False
        # Safety reads made (for tests and the bench).
        self.safety_reads = 0

    # -- fed by the listener ---------------------------------------------

    def up(self, job_topic=None):
        """The connection is made (and reconciled): waits may listen.

        ``job_topic``: the job topic subscribed to.
        """
        with self._cond:
            self._topic = job_topic
            self._generation += 1
            self._up = True
            self._cond.notify_all()

    def down(self):
        """No notifications any more: the waits go back to polling."""
        with self._cond:
            self._up = False
            self._cond.notify_all()

    def notified(self, headers, body):
        """Note a job completion or a partition's status change."""
        kind = headers.get('notification-type')
        if kind == 'job-completion' and headers.get('job-uri'):
            self._note(self._jobs, headers['job-uri'], None)
        elif kind == 'status-change' and \
                headers.get('class') == 'partition' and \
                'element-uri' not in headers:
            reports = (body or {}).get('change-reports') or []
            if reports and 'new-status' in reports[-1]:
                self._note(self._statuses, headers.get('object-uri'),
                           reports[-1]['new-status'])

    def _note(self, table, key, status):
        with self._cond:
            self._serial += 1
            if status is None:
                table.pop(key, None)
                table[key] = self._serial
                while len(table) > KEEP_JOBS:
                    table.popitem(last=False)
            else:
                table[key] = (status, self._serial)
            self._cond.notify_all()

    # -- read by the waits -----------------------------------------------

    def live(self, generation=None):
        """Whether the waits can rely on notifications now.

        They are up, have not dropped since ``generation`` (if given),
        and the job topic subscribed to is the session's (after a re-logon
        the jobs are told on the new session's topic).
        """
        with self._cond:
            up = self._up and generation in (None, self._generation)
            topic, now = self._topic, self._generation
        if not up or self._current_topic is None:
            return up
        if topic == self._current_topic():
            return True
        if self._stale is not None and self._told_stale != now:
            self._told_stale = now
            self._stale()
        return False

    def mark(self):
        """(generation, serial) now."""
        with self._cond:
            return self._generation, self._serial

    def job_ended(self, job_uri):
        """The serial of the job's completion notification, or None."""
        with self._cond:
            return self._jobs.get(job_uri)

    def job_waited(self, job_uri, serial):
        """Note when the wait for a job began (its first serial)."""
        with self._cond:
            self._waited.setdefault(job_uri, serial)
            while len(self._waited) > KEEP_JOBS:
                self._waited.popitem(last=False)

    def _since(self, wait):
        """The serial after which a status tells a wait something."""
        with self._cond:
            if wait.job_uri:
                for table in (self._waited, self._jobs):
                    if wait.job_uri in table:
                        return table[wait.job_uri]
        return wait.told_since

    def status(self, uri, after):
        """The status last notified for ``uri`` after serial ``after``."""
        with self._cond:
            status, serial = self._statuses.get(uri, (None, 0))
        return status if serial > after else None

    def told_status(self, wait, partition, hmc):
        """What a status wait was told (no request), or None.

        The status notified for ``partition`` since the wait for the job it
        follows (``wait.job_uri``) began, or since its completion was
        notified, or else since this wait began. It is noted in the
        partition's local properties, and the ended job's status that
        ``wait.discard`` names is deleted, as the status read would have
        done.
        """
        status = self.status(partition.uri, self._since(wait))
        if status is None:
            return None
        partition.update_properties_local({'status': status})
        if wait.discard is not None:
            hmc.discard_job(wait.discard)
            wait.discard = None
        return status

    def sleep(self, serial, timeout):
        """Wait up to ``timeout`` s for a notification after ``serial``."""
        with self._cond:
            self._cond.wait_for(
                lambda: self._serial > serial or not self._up, timeout)
            return self._serial


def wait_told(wait, deadline, transient):
    """Drive ``wait`` by notifications; its value, or FALL_BACK.

    ``wait.told()`` says what the notifications told (None: nothing yet);
    ``wait.read()`` is the safety read, made when nothing was told for
    SAFETY_POLL seconds. ``transient(exc)``: an error of the safety read
    that may go away by itself sends the wait back to polling, which
    knows how to wait through it.
    """
    told = wait.told
    generation, serial = told.mark()
    wait.told_since = serial
    began = last_read = time.monotonic()
    # The first read is due after the wait's grace (a status wait after a
    # job), or after SAFETY_POLL.
    pause = getattr(wait, 'told_grace', None) or SAFETY_POLL
    if getattr(wait, 'read_first', False):
        value = _safety_read(wait, deadline, transient)
        if value is FALL_BACK or wait.done(value):
            return value
    while True:
        if not told.live(generation):
            return FALL_BACK
        value = _guarded(wait.told_value, transient)
        if value is FALL_BACK or (value is not None and wait.done(value)):
            LOG.debug('%s: done, told by notification after %.2f s.',
                      wait.what, time.monotonic() - began)
            return value
        now = time.monotonic()
        if now - last_read >= pause:
            LOG.debug('%s: nothing notified for %.0f s; reading once.',
                      wait.what, pause)
            told.safety_reads += 1
            last_read, pause = now, SAFETY_POLL
            value = _safety_read(wait, deadline, transient)
            if value is FALL_BACK or wait.done(value):
                return value
            continue
        left = deadline.remaining()
        if left <= 0:
            deadline.expire(wait.what, wait.wanted,
                            'nothing notified (notifications up)')
        serial = told.sleep(serial, min(pause - (now - last_read), left))


def _safety_read(wait, deadline, transient):
    deadline.budget.take()
    return _guarded(wait.read, transient)


def _guarded(read, transient):
    try:
        return read()
    except Exception as exc:
        if not transient(exc):
            raise
        return FALL_BACK
