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

"""The simulated HMC's metrics service (HMC rules Q1-Q4).

Each rule is checked against the plain zhmcclient mock too, which does
not enforce it.
"""

import zhmcclient

from nova_dpm.simulator import metrics
from nova_dpm.tests.unit.simulator import base
from nova_dpm.tests.unit.simulator import test_versions

GROUPS = [metrics.PARTITION_USAGE, metrics.NIC_GROUP]


def context(env, frequency=15, groups=GROUPS):
    return env.client.metrics_contexts.create(
        {'anticipated-frequency-seconds': frequency,
         'metric-groups': list(groups)})


def figures(env, ctx):
    """{(group, resource URI): metrics} of one Get Metrics."""
    response = zhmcclient.MetricsResponse(ctx, ctx.get_metrics())
    return {(group.name, obj.resource_uri): obj.metrics
            for group in response.metric_group_values
            for obj in group.object_values}


class FrequencyTest(base.TestCase):
    """HMC rule Q1."""

    def test_below_15_seconds_is_refused(self):
        env, exc = self.assertLenientButStrict(
            lambda env: context(env, frequency=5), 400, 7)
        self.assertIn('anticipated-frequency-seconds', exc.message)

    def test_15_seconds_is_accepted(self):
        ctx = context(self.env())
        self.assertEqual(GROUPS, [i['group-name'] for i in
                                  ctx.properties['metric-group-infos']])


class GroupsTest(base.TestCase):
    """HMC rule Q2."""

    def test_unknown_group_is_refused(self):
        self.assertLenientButStrict(
            lambda env: context(env, groups=['no-such-group']), 400, 7)

    def test_hmc_before_2_13_1_has_no_dpm_groups(self):
        def edit(hmc):
            hmc['consoles'][0]['properties']['version'] = '2.13.0'
        path = test_versions.edited(self, edit)
        # The mock offers them whatever its version.
        plain = self.env(False, path)
        self.assertEqual(2, len(context(plain).properties[
            'metric-group-infos']))
        strict = self.env(True, path)
        self.assertHttpError(400, 7, context, strict)
        ctx = strict.client.metrics_contexts.create(
            {'anticipated-frequency-seconds': 15})
        names = {i['group-name'] for i in
                 ctx.properties['metric-group-infos']}
        self.assertNotIn(metrics.PARTITION_USAGE, names)
        self.assertNotIn(metrics.NIC_GROUP, names)


class RestartTest(base.TestCase):
    """HMC rule Q3."""

    def test_restart_forgets_contexts(self):
        env = self.env()
        ctx = context(env)
        figures(env, ctx)
        env.sim.restart()
        self.assertHttpError(404, 1, ctx.get_metrics)
        self.assertHttpError(404, 1, ctx.delete)

    def test_deleted_context_is_gone(self):
        env = self.env()
        ctx = context(env)
        uri = ctx.uri
        ctx.delete()
        self.assertHttpError(404, 1, env.session.get, uri)


class ValuesTest(base.TestCase):
    """HMC rule Q4: the values move while a partition runs."""

    def clock(self, env):
        """From now on the simulated HMC's time moves only by the test."""
        self.now = env.sim.now()
        env.sim.now = lambda: self.now

    def test_plain_mock_has_no_values(self):
        env = self.env(False)
        env.partition()
        self.assertEqual({}, figures(env, context(env)))

    def test_counters_move_while_active_and_stop_when_stopped(self):
        env = self.env()
        part = env.partition()
        nic = env.nic(part)
        ctx = context(env)
        usage = (metrics.PARTITION_USAGE, part.uri)
        counters = (metrics.NIC_GROUP, nic.uri)
        stopped = figures(env, ctx)
        self.assertEqual(0, stopped[usage]['processor-usage'])
        self.assertEqual(0, stopped[counters]['bytes-received'])
        self.assertEqual(part.get_property('object-id'),
                         stopped[counters]['partition-id'])
        self.clock(env)
        env.set_status(part.uri, 'active')
        first = figures(env, ctx)
        self.assertGreater(first[usage]['processor-usage'], 0)
        self.now += 10
        second = figures(env, ctx)
        for name, rate in (('bytes-received', metrics.RX_RATE),
                           ('bytes-sent', metrics.TX_RATE)):
            self.assertAlmostEqual(
                10 * rate, second[counters][name] - first[counters][name],
                delta=1)
        self.assertGreater(second[counters]['packets-sent'],
                           first[counters]['packets-sent'])
        env.set_status(part.uri, 'stopped')
        self.now += 30
        third = figures(env, ctx)
        self.assertEqual(0, third[usage]['processor-usage'])
        self.assertEqual(second[counters]['bytes-received'],
                         third[counters]['bytes-received'])
        # What was answered is what the simulator says it served.
        self.assertEqual(third[counters],
                         env.sim.metrics_served[counters])

    def test_every_partition_of_the_hmc(self):
        env = self.env()
        ctx = context(env, groups=[metrics.PARTITION_USAGE])
        uris = {p.uri for p in env.cpc.partitions.list()}
        got = figures(env, ctx)
        self.assertEqual(uris, {uri for _g, uri in got})
