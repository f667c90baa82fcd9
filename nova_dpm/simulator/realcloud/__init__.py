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

"""A cloud of real OpenStack services on one machine (nova-dpm-cloud).

Unlike :mod:`nova_dpm.simulator.cloud` (nova's in-process test cloud), the
services run as separate processes on 127.0.0.1, as a deployment runs
them: RabbitMQ and MariaDB from the distribution's packages, Keystone,
Placement, nova-api and neutron-api under uWSGI, nova-conductor,
nova-scheduler, neutron-rpc-server with ML2 and the dpm mechanism driver,
and per CPC subset one nova-compute and one neutron-dpm-agent, all on the
simulated HMC served over HTTPS by nova-dpm-hmc-simulator. Only the HMC is
simulated.
"""
