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

"""The HMC client: one connection per service, its requests and waits.

:class:`HMC` holds the session (:mod:`nova_dpm.hmc.session`) and the
zhmcclient client, knows what this HMC can do
(:class:`~nova_dpm.capabilities.Capabilities`), reads statuses and
several objects in one round trip, and waits for jobs and statuses
through :func:`nova_dpm.hmc.waits.wait_until`. The ended job's status is
deleted with the first status read that follows it: in the same round
trip where the HMC offers Submit Requests, as a separate DELETE otherwise
(:meth:`HMC.read_status`). :func:`translated` turns zhmcclient errors into
nova-dpm errors naming what failed.
"""

import contextlib
import threading

from oslo_log import log as logging
import zhmcclient

from nova_dpm import capabilities
from nova_dpm import exception
from nova_dpm.hmc import pushed
from nova_dpm.hmc import session as session_module
from nova_dpm.hmc import waits

LOG = logging.getLogger(__name__)

# 403 reason 1 (HMC rule A5): a missing object or task permission.
NO_PERMISSION = 1

# The HMC's Submit Requests operation (aggregation service).
AGGREGATION_URI = '/api/services/aggregation/submit'

# How a job ends (Query Job Status), and what HMC.wait_for_job makes of a
# job the HMC no longer knows (404: it has restarted since).
JOB_GONE = 'gone'
JOB_ENDS = ('complete', 'canceled', JOB_GONE)


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


@contextlib.contextmanager
def translated(operation, target):
    """Turn zhmcclient errors into nova-dpm errors naming what failed."""
    try:
        yield
    except session_module.LogonRefused as exc:
        raise session_module.refusal_error(exc)
    except (zhmcclient.ConnectionError, zhmcclient.AuthError) as exc:
        raise exception.HMCUnavailable(
            reason='%s on %s: %s' % (
                operation, target, session_module.describe_error(exc)),
            transient=waits.transient(exc))
    except zhmcclient.HTTPError as exc:
        if exc.http_status == 403 and exc.reason == NO_PERMISSION:
            raise exception.HMCPermissionDenied(
                operation=operation, target=target,
                object=getattr(exc, 'request_uri', None) or target,
                reason=exc.message, http_status=exc.http_status)
        raise exception.HMCOperationFailed(
            operation=operation, target=target,
            reason=session_module.describe_error(exc),
            http_status=exc.http_status, transient=waits.transient(exc))
    except zhmcclient.Error as exc:
        raise exception.HMCOperationFailed(
            operation=operation, target=target,
            reason=session_module.describe_error(exc),
            http_status=getattr(exc, 'http_status', None),
            transient=waits.transient(exc))


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
        self._session_factory = (
            session_factory or session_module.session_factory_for(settings))
        self._lock = threading.Lock()
        self._session = None
        self._client = None
        # What this HMC (and, after adopt_cpc, the CPC) can do; nothing
        # is known before api_version.
        self.capabilities = capabilities.Capabilities()
        # Until the API version says otherwise (adopt) or an HMC refuses
        # Submit Requests (see read_status).
        self._aggregation = True
        # Whether Get Partition Properties takes the properties filter.
        self._properties_filter = True
        # What the HMC's notifications told (nova_dpm.hmc.pushed.Told),
        # set by the service that receives them; the waits poll without.
        self.told = None

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
        """Log on now, with bounded retries (see session.logon)."""
        if not self.simulated:
            session_module.logon(self.session, self.settings, attempts,
                                 delay)

    def logoff(self):
        if self._session is not None and not self.simulated:
            with contextlib.suppress(zhmcclient.Error):
                self._session.logoff()

    def query_version(self):
        """The HMC's answer to Query API Version (1 request).

        From then on, requests that this API version does not offer are
        not made (see :meth:`adopt`).
        """
        with translated('query API version', 'HMC'):
            info = self.client.query_api_version()
        self.adopt(capabilities.Capabilities(
            (int(info['api-major-version']),
             int(info['api-minor-version']))))
        return info

    def api_version(self):
        """(major, minor) of the HMC's Web Services API (1 request)."""
        self.query_version()
        return self.capabilities.api_version

    def adopt_cpc(self, cpc):
        """Know what the managed CPC can do too (no request).

        After :meth:`api_version`: its SE version and firmware features
        from its properties as pulled; its API features when first asked.
        """
        self.adopt(capabilities.Capabilities.of_cpc(
            self.capabilities.api_version, cpc))

    def adopt(self, known):
        """Make only the requests that these Capabilities offer."""
        self.capabilities = known
        if not known.can(capabilities.AGGREGATION):
            self._aggregation = False
        self._properties_filter = known.can(capabilities.PROPERTIES_FILTER)

    def aggregates(self):
        """Whether requests are aggregated with Submit Requests."""
        return self._aggregation

    def pull_partition(self, partition, properties):
        """Pull some properties of a partition; False if it is gone.

        One request: with the properties filter where the HMC has it
        (capabilities.PROPERTIES_FILTER), all properties otherwise.
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
        wait = JobWait(self.session, job, what)
        wait.told = self.told
        result = waits.wait_until(wait, deadline)
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
                      session_module.describe_error(exc))

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
                      partition.name, session_module.describe_error(exc))
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
                     session_module.describe_error(exc))
            self._aggregation = False
            return None

    def wait_for_status(self, partition, wanted, deadline, what,
                        discard=None):
        """Poll a partition's status until it is in ``wanted``.

        ``discard``: an ended job to delete with the first query (see
        :meth:`read_status`). Returns the status reached, or None if the
        partition is gone.
        """
        return waits.wait_until(
            StatusWait(self, partition, wanted, what, discard), deadline)


class JobWait(waits.Wait):
    """An asynchronous job until it ends (Query Job Status).

    A job the HMC no longer knows (404: it has restarted since) reads as
    ended with status JOB_GONE. Where notifications are up (``told``),
    the job's completion notification is waited for, and the job's
    outcome read once then.
    """

    wanted = 'job completion'

    def __init__(self, session, job, what):
        self.session = session
        self.job = job
        self.what = what
        self._outcome = None

    def told_value(self):
        self.told.job_waited(self.job.uri, self.told_since)
        if self._outcome is None and \
                self.told.job_ended(self.job.uri) is not None:
            self._outcome = self.read()
        return self._outcome

    def read(self):
        try:
            return self.session.get(self.job.uri)
        except zhmcclient.HTTPError as exc:
            if exc.http_status != 404:
                raise
            return {'status': JOB_GONE}

    def done(self, result):
        return result.get('status') in JOB_ENDS

    def state(self, result):
        return result.get('status')


class StatusWait(waits.Wait):
    """A partition's status until it is one of ``statuses``; None: gone.

    ``discard``: an ended job, deleted with the first read that is
    answered (see :meth:`HMC.read_status`). Where notifications are up,
    a status notified after that job's completion (or after the wait
    began) counts as read.
    """

    def __init__(self, hmc, partition, statuses, what, discard=None):
        self.hmc = hmc
        self.partition = partition
        self.statuses = statuses
        self.what = what
        self.wanted = ' or '.join(sorted(statuses))
        self.discard = self.job_uri = discard
        self.told = hmc.told
        # After a job: a status read if none is notified soon.
        self.told_grace = pushed.STATUS_GRACE if discard else None

    def told_value(self):
        return self.told.told_status(self, self.partition, self.hmc)

    def read(self):
        found = self.hmc.read_status(self.partition, self.discard)
        self.discard = None
        return self.partition.get_property('status') if found else None

    def done(self, status):
        return status is None or status in self.statuses
