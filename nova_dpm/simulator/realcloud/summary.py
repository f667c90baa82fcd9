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

"""The one-screen summary ``nova-dpm-cloud up`` prints at the end."""

from nova_dpm.simulator.realcloud import config


def text(cloud):
    s = cloud.s
    ports = s['ports']
    rss = cloud.procs.rss_kib()
    lines = [
        '',
        'nova-dpm cloud up in %.0f s: %d processes, %d MiB resident'
        % (s['up_seconds'], len(cloud.procs.state['processes']),
           rss // 1024),
        '  Keystone     %s' % config.url(s, 'keystone', '/v3'),
        '  Placement    %s' % config.url(s, 'placement'),
        '  Nova API     %s' % config.url(s, 'nova-api', '/v2.1'),
        '  Neutron API  %s' % config.url(s, 'neutron-api'),
        '  Cinder API   %s (volumes on the simulated SAN; no Glance: '
        'servers boot from volumes)' % config.url(s, 'cinder-api', '/v3'),
        '  RabbitMQ     amqp://127.0.0.1:%d   MariaDB 127.0.0.1:%d'
        % (ports['rabbitmq'], ports['mariadb']),
        '  HMC          https://127.0.0.1:%d (simulated, CPC1)'
        % ports['hmc'],
        '  CPC subsets  %s (nova-compute and neutron-dpm-agent each)'
        % ', '.join(s['subsets']),
        '  Logs         %s' % cloud.path('log'),
        '',
        'Use it:  . %s   then e.g.  openstack hypervisor list'
        % cloud.path('env'),
        'Stop it: nova-dpm-cloud down --dir %s' % cloud.dir,
    ]
    return '\n'.join(lines)
