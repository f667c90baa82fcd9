# Copyright 2025 nova-dpm developers
#
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

"""Notifications of the simulated HMC over STOMP (HMC rules P1-P6).

A real zhmcclient.NotificationReceiver (stomp.py, TLS verified against the
simulator's CA) subscribes to the object topic of a real
zhmcclient.Session's logon.  Waits are bounded (a threading.Condition with
a timeout); no test asserts on time.
"""

import threading
import time

import zhmcclient
from zhmcclient.mock import FakedSession

from nova_dpm import simulator
from nova_dpm.simulator import server as hmc_server
from nova_dpm.tests.unit.simulator import base

USERID = 'nova'
PASSWORD = 'not-the-real-one'
WAIT = 30.0
POLL = 0.05
# The z16 definition's partitions.
LINUX01 = '/api/partitions/a0000001-0000-4000-8000-000000000001'


class Collector(object):
    """Runs a NotificationReceiver in a thread; keeps what it yields."""

    def __init__(self, receiver):
        self.receiver = receiver
        self.items = []
        self.error = None
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            for headers, body in self.receiver.notifications():
                with self.cond:
                    self.items.append((headers, body))
                    self.cond.notify_all()
        except Exception as exc:
            with self.cond:
                self.error = exc
                self.cond.notify_all()

    def wait(self, predicate, timeout=WAIT):
        """Wait (bounded) until predicate(self) holds; return it.

        Woken by each notification; the predicate is also looked at
        every POLL seconds, for conditions outside the receiver.
        """
        deadline = time.monotonic() + timeout
        with self.cond:
            while not predicate(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(min(left, POLL))
            return True

    def of_type(self, kind, uri=None):
        return [(h, b) for h, b in self.items
                if h['notification-type'] == kind and
                (uri is None or h.get('object-uri') == uri)]


class StompTestCase(base.TestCase):

    transition_time = 0.0

    def setUp(self):
        super().setUp()
        self.sim = simulator.load_session(
            'z16', transition_time=self.transition_time).simulator
        self.server = hmc_server.HmcServer(self.sim, USERID, PASSWORD)
        self.server.start()
        self.addCleanup(self.server.stop)
        self.session = zhmcclient.Session(
            '127.0.0.1', USERID, PASSWORD, port=self.server.port,
            verify_cert=self.server.ca_file)
        self.session.logon()
        self.client = zhmcclient.Client(self.session)
        self.cpc = self.client.cpcs.find(**{'object-id': base.CPC_ID})

    def receive(self, topic=None, password=PASSWORD):
        receiver = zhmcclient.NotificationReceiver(
            [topic or self.session.object_topic], '127.0.0.1', USERID,
            password, port=self.server.stomp.port,
            verify_cert=self.server.ca_file,
            stomp_rt_config=zhmcclient.StompRetryTimeoutConfig(
                connect_timeout=30, connect_retries=3))
        collector = Collector(receiver)
        self.addCleanup(self._close, receiver)
        return collector

    def subscribed(self, collector, count=1):
        self.assertTrue(collector.wait(
            lambda c: len(self.server.stomp.subscriptions) >= count or
            c.error is not None))
        self.assertIsNone(collector.error)

    @staticmethod
    def _close(receiver):
        try:
            receiver.close()
        except Exception:
            pass


class TestStatusChange(StompTestCase):

    def test_out_of_band_status_change_notifies(self):
        rcv = self.receive()
        self.subscribed(rcv)
        # An HMC operator stops the partition (not through this client).
        self.sim.set_status(LINUX01, 'stopped')
        self.assertTrue(rcv.wait(lambda c: c.of_type('status-change')))
        headers, body = rcv.of_type('status-change')[0]
        self.assertEqual(LINUX01, headers['object-uri'])
        self.assertEqual(LINUX01.rsplit('/', 1)[1], headers['object-id'])
        self.assertEqual('partition', headers['class'])
        self.assertEqual('LINUX01', headers['name'])
        self.assertEqual('0', headers['session-sequence-nr'])
        self.assertEqual('/topic/' + self.session.object_topic,
                         headers['destination'])
        self.assertEqual([{'old-status': 'active', 'new-status': 'stopped',
                           'has-unacceptable-status': True}],
                         body['change-reports'])

    def test_api_stop_notifies_each_status_in_order(self):
        rcv = self.receive()
        self.subscribed(rcv)
        part = self.cpc.partitions.resource_object(LINUX01)
        part.stop(wait_for_completion=True)
        self.assertTrue(rcv.wait(lambda c: c.of_type('status-change')))
        statuses = [b['change-reports'][0]['new-status']
                    for h, b in rcv.of_type('status-change', LINUX01)]
        self.assertEqual('stopped', statuses[-1])
        numbers = [int(h['session-sequence-nr']) for h, b in rcv.items]
        self.assertEqual(list(range(len(numbers))), numbers)

    def test_plain_mock_has_no_notifications(self):
        # zhmcclient.mock hands every session the same constant topic and
        # serves no notification port: nothing reaches a receiver.
        mock = FakedSession('fake-host', 'fake-hmc', '2.16', '4.10')
        other = FakedSession('fake-host', 'fake-hmc', '2.16', '4.10')
        self.assertEqual(mock.object_topic, other.object_topic)
        self.assertFalse(hasattr(mock, 'simulator'))
        # The simulated HMC: one topic per session, served over STOMP.
        second = zhmcclient.Session(
            '127.0.0.1', USERID, PASSWORD, port=self.server.port,
            verify_cert=self.server.ca_file)
        second.logon()
        self.addCleanup(second.logoff)
        self.assertNotEqual(self.session.object_topic, second.object_topic)


class TestTimedTransition(StompTestCase):

    transition_time = 0.5

    def test_transition_end_is_pushed_without_a_request(self):
        rcv = self.receive()
        self.subscribed(rcv)
        part = self.cpc.partitions.resource_object(LINUX01)
        part.stop(wait_for_completion=False)
        self.sim.reset_counts()
        self.assertTrue(rcv.wait(lambda c: any(
            b['change-reports'][0]['new-status'] == 'stopped'
            for h, b in c.of_type('status-change', LINUX01))))
        # Nobody asked the HMC: the end of the stop was pushed.
        self.assertEqual(0, len(self.sim.requests))


class TestPropertyAndInventory(StompTestCase):

    def test_property_change(self):
        rcv = self.receive()
        self.subscribed(rcv)
        part = self.cpc.partitions.resource_object(LINUX01)
        part.update_properties({'description': 'changed by an operator'})
        self.assertTrue(rcv.wait(lambda c: c.of_type('property-change')))
        headers, body = rcv.of_type('property-change')[0]
        self.assertEqual(LINUX01, headers['object-uri'])
        reports = {r['property-name']: r for r in body['change-reports']}
        self.assertEqual('changed by an operator',
                         reports['description']['new-value'])
        self.assertEqual(self.sim.properties(LINUX01)['description'],
                         reports['description']['new-value'])
        self.assertNotIn('status', reports)

    def test_partition_and_nic_created_and_deleted(self):
        rcv = self.receive()
        self.subscribed(rcv)
        part = self.cpc.partitions.create({
            'name': 'NOTIFY-1', 'ifl-processors': 1,
            'initial-memory': 1024, 'maximum-memory': 1024})
        self.assertTrue(rcv.wait(lambda c: c.of_type('inventory-change')))
        headers, body = rcv.of_type('inventory-change')[0]
        self.assertEqual(('add', part.uri, 'partition', None),
                         (headers['action'], headers['object-uri'],
                          headers['class'], body))
        part.delete()
        self.assertTrue(rcv.wait(
            lambda c: len(c.of_type('inventory-change')) >= 2))
        headers, body = rcv.of_type('inventory-change')[1]
        self.assertEqual(('remove', part.uri),
                         (headers['action'], headers['object-uri']))


class TestRefusals(StompTestCase):

    def test_unknown_topic_is_refused(self):
        rcv = self.receive(topic='not-a-session-topic')
        self.assertTrue(rcv.wait(lambda c: c.error is not None))
        self.assertIsInstance(rcv.error, zhmcclient.NotificationJMSError)
        self.assertIn('not-a-session-topic', str(rcv.error))

    def test_refused_subscription(self):
        self.server.stomp.refuse = True
        rcv = self.receive()
        self.assertTrue(rcv.wait(lambda c: c.error is not None))
        self.assertIsInstance(rcv.error, zhmcclient.NotificationJMSError)
        self.assertEqual([], self.server.stomp.subscriptions)

    def test_wrong_password_is_refused(self):
        rcv = self.receive(password='wrong')
        self.assertTrue(rcv.wait(lambda c: c.error is not None))
        self.assertIsInstance(rcv.error,
                              zhmcclient.NotificationConnectionError)


class TestDroppedConnection(StompTestCase):

    def test_drop_ends_the_receiver_and_a_new_one_receives(self):
        rcv = self.receive()
        self.subscribed(rcv)
        self.assertEqual(1, self.server.stomp.drop_connections())
        self.assertTrue(rcv.wait(lambda c: c.error is not None))
        self.assertIsInstance(rcv.error,
                              zhmcclient.NotificationConnectionError)
        self.assertEqual([], self.server.stomp.subscriptions)
        again = self.receive()
        self.subscribed(again)
        self.sim.set_status(LINUX01, 'terminated')
        self.assertTrue(again.wait(lambda c: c.of_type('status-change')))
        self.assertEqual([], rcv.items)


class TestJobCompletion(StompTestCase):
    """HMC rule P6: a job's completion, to its own session's job topic."""

    transition_time = 0.5

    def test_completion_reaches_the_starting_session_only(self):
        other = zhmcclient.Session(
            '127.0.0.1', USERID, PASSWORD, port=self.server.port,
            verify_cert=self.server.ca_file)
        other.logon()
        self.addCleanup(other.logoff)
        mine = self.receive(self.session.job_topic)
        theirs = self.receive(other.job_topic)
        objects = self.receive()
        self.subscribed(mine, 3)
        part = self.cpc.partitions.resource_object(LINUX01)
        job = part.stop(wait_for_completion=False)
        self.sim.reset_counts()
        self.assertTrue(mine.wait(lambda c: c.of_type('job-completion')))
        # Pushed at the end of the transition: nobody asked the HMC.
        self.assertEqual(0, len(self.sim.requests))
        [(headers, body)] = mine.of_type('job-completion')
        self.assertEqual(job.uri, headers['job-uri'])
        self.assertIsNone(body)
        self.assertEqual('/topic/' + self.session.job_topic,
                         headers['destination'])
        self.assertEqual('0', headers['session-sequence-nr'])
        # The job has ended when its completion is told.
        self.assertEqual('complete', job.query_status()[0])
        # Neither another session's job topic nor an object topic.
        self.assertTrue(objects.wait(lambda c: any(
            b['change-reports'][0]['new-status'] == 'stopped'
            for h, b in c.of_type('status-change', LINUX01))))
        self.assertEqual([], objects.of_type('job-completion'))
        self.assertEqual([], theirs.items)

    def test_canceled_job_is_told_too(self):
        mine = self.receive(self.session.job_topic)
        self.subscribed(mine)
        part = self.cpc.partitions.resource_object(LINUX01)
        job = part.stop(wait_for_completion=False)
        job.cancel()
        self.assertTrue(mine.wait(lambda c: c.of_type('job-completion')))
        [(headers, _b)] = mine.of_type('job-completion')
        self.assertEqual(job.uri, headers['job-uri'])
        self.assertEqual('canceled', job.query_status()[0])

    def test_plain_mock_has_no_job_topic_of_its_own(self):
        # zhmcclient.mock gives every session one job topic and completes
        # jobs without telling anybody: no session could wait for its
        # own jobs' completion there.
        mock = FakedSession('fake-host', 'fake-hmc', '2.16', '4.10')
        other = FakedSession('fake-host', 'fake-hmc', '2.16', '4.10')
        self.assertEqual(mock.job_topic, other.job_topic)
        self.assertFalse(hasattr(mock, 'simulator'))
        self.assertNotEqual(self.session.job_topic,
                            self.session.object_topic)
