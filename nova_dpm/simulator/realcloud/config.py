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

"""The configuration files of the cloud's services.

Each function returns the text of one file from the cloud's settings
(``s``: ports, passwords, paths, chosen once by ``nova-dpm-cloud up``).
Everything listens on and talks to 127.0.0.1.
"""

import os

from nova_dpm.simulator import catalog

HOST = '127.0.0.1'
REGION = 'RegionOne'
# The physical networks of the OSA adapter's two ports (z16 definition).
PHYSNETS = (('osa1', catalog.OSA, 0), ('osa2', catalog.OSA, 1))
VLAN_RANGE = '100:199'


def ini(sections):
    """[(section, [(key, value)])] as an ini file; lists repeat the key."""
    out = []
    for section, items in sections:
        out.append('[%s]' % section)
        for key, value in items:
            values = value if isinstance(value, (list, tuple)) else [value]
            for item in values:
                out.append('%s = %s' % (key, item))
        out.append('')
    return '\n'.join(out)


def db_url(s, name):
    return 'mysql+pymysql://openstack:%s@%s:%d/%s?charset=utf8' % (
        s['db_password'], HOST, s['ports']['mariadb'], name)


def rabbit():
    """[oslo_messaging_rabbit]: quorum queues.

    They outlive a restart of RabbitMQ, so that a message sent while a
    service reconnects waits in its queue.
    """
    return ('oslo_messaging_rabbit', [('rabbit_quorum_queue', 'true')])


def transport_url(s):
    return 'rabbit://guest:guest@%s:%d/' % (HOST, s['ports']['rabbitmq'])


def url(s, service, path=''):
    return 'http://%s:%d%s' % (HOST, s['ports'][service], path)


def auth(s, user, authtoken=False):
    """The keystoneauth password options of a service user."""
    items = [('auth_type', 'password'),
             ('auth_url', url(s, 'keystone', '/v3')),
             ('username', user),
             ('password', s['service_password']),
             ('project_name', 'service'),
             ('user_domain_name', 'Default'),
             ('project_domain_name', 'Default')]
    if authtoken:
        items.insert(0, ('www_authenticate_uri', url(s, 'keystone', '/v3')))
        items.append(('service_token_roles_required', 'true'))
    else:
        items.append(('region_name', REGION))
    return items


def keystone_conf(s):
    d = s['dir']
    return ini([
        ('DEFAULT', [('debug', 'false')]),
        ('database', [('connection', db_url(s, 'keystone'))]),
        ('token', [('provider', 'fernet')]),
        ('fernet_tokens', [('key_repository',
                            os.path.join(d, 'lib', 'keystone', 'fernet'))]),
        ('fernet_receipts', [('key_repository',
                              os.path.join(d, 'lib', 'keystone', 'fernet'))]),
        ('credential', [('key_repository',
                         os.path.join(d, 'lib', 'keystone', 'credential'))]),
    ])


def placement_conf(s):
    return ini([
        ('api', [('auth_strategy', 'keystone')]),
        ('placement_database', [('connection', db_url(s, 'placement'))]),
        ('keystone_authtoken', auth(s, 'placement', authtoken=True)),
    ])


def nova_conf(s):
    d = s['dir']
    return ini([
        ('DEFAULT', [('transport_url', transport_url(s)),
                     ('my_ip', HOST),
                     ('compute_driver', 'dpm.DPMDriver'),
                     ('state_path', os.path.join(d, 'lib', 'nova')),
                     ('osapi_compute_workers', '1'),
                     # A resize may stay on its CPC subset (the partition
                     # is sized in place).
                     ('allow_resize_to_same_host', 'true')]),
        ('api', [('auth_strategy', 'keystone')]),
        ('wsgi', [('api_paste_config', s['nova_paste'])]),
        ('conductor', [('workers', '1')]),
        ('scheduler', [('workers', '1'),
                       ('discover_hosts_in_cells_interval', '30')]),
        ('api_database', [('connection', db_url(s, 'nova_api'))]),
        ('database', [('connection', db_url(s, 'nova_cell1'))]),
        ('keystone_authtoken', auth(s, 'nova', authtoken=True)),
        ('placement', auth(s, 'placement')),
        # No Glance runs (nova-dpm boots from volumes only), but nova-compute
        # builds an image URL for its legacy notifications of every build
        # and fails without an image endpoint: a port nothing listens on.
        ('glance', [('api_servers', url(s, 'glance'))]),
        ('neutron', auth(s, 'neutron')),
        ('cinder', [('os_region_name', REGION),
                    ('catalog_info', 'volumev3::publicURL')]
         + auth(s, 'nova')),
        ('service_user', [('send_service_user_token', 'true')]
         + auth(s, 'nova')),
        ('oslo_concurrency', [('lock_path',
                               os.path.join(d, 'lib', 'nova', 'lock'))]),
        ('oslo_messaging_notifications', [('driver', 'noop')]),
        # Flavors with hw:cpu_policy=dedicated ask placement for PCPU
        # only (the subsets report dedicated IFLs as PCPU).
        ('workarounds', [('disable_fallback_pcpu_query', 'true')]),
        rabbit(),
    ])


# The volume back end of cinder-volume: the simulated SAN's storage system.
CINDER_BACKEND = 'simulated-san'
CINDER_DRIVER = 'nova_dpm.simulator.cinder_driver.SimulatedSanFCDriver'


def cinder_conf(s):
    d = s['dir']
    return ini([
        ('DEFAULT', [('transport_url', transport_url(s)),
                     ('auth_strategy', 'keystone'),
                     ('my_ip', HOST),
                     ('host', 'cinder-host'),
                     ('osapi_volume_listen', HOST),
                     ('osapi_volume_workers', '1'),
                     ('state_path', os.path.join(d, 'lib', 'cinder')),
                     ('api_paste_config', s['cinder_paste']),
                     ('resource_query_filters_file',
                      s['cinder_filters']),
                     ('enabled_backends', CINDER_BACKEND),
                     ('default_volume_type', '__DEFAULT__')]),
        ('database', [('connection', db_url(s, 'cinder'))]),
        ('keystone_authtoken', auth(s, 'cinder', authtoken=True)),
        ('nova', auth(s, 'nova')),
        ('oslo_concurrency', [('lock_path',
                               os.path.join(d, 'lib', 'cinder', 'lock'))]),
        ('oslo_messaging_notifications', [('driver', 'noop')]),
        rabbit(),
        (CINDER_BACKEND, [
            ('volume_driver', CINDER_DRIVER),
            ('volume_backend_name', CINDER_BACKEND),
            ('simulated_san_url', 'https://%s:%d' % (HOST,
                                                     s['ports']['hmc'])),
            ('simulated_san_username', s['hmc_userid']),
            ('simulated_san_password', s['hmc_password']),
            ('simulated_san_ca_file', os.path.join(d, 'hmc', 'ca.pem'))]),
    ])


def hmc_items(s):
    """The [dpm] HMC options of nova-compute and the agent (one CPC)."""
    return [('hmc', HOST),
            ('hmc_port', str(s['ports']['hmc'])),
            ('hmc_username', s['hmc_userid']),
            ('hmc_password', s['hmc_password']),
            ('hmc_ca_bundle', os.path.join(s['dir'], 'hmc', 'ca.pem')),
            ('hmc_notification_port', str(s['ports']['stomp'])),
            ('cpc_object_id', catalog.CPC_ID)]


# The memory (MiB) of each subset: the second is smaller, so that a flavor
# the first can hold finds no room on the second (the cloud test's full
# destination).
SUBSET_MEMORY = (65536, 16384)
# Dedicated IFLs of each subset, beside its shared ones (max_processors).
DEDICATED_IFLS = 2


def compute_conf(s, subset, state_path):
    """A subset's nova-compute.conf, as etc/nova/dpm/<subset> lays out.

    Each subset offers shared and dedicated IFLs and may give partitions
    crypto domains of both crypto adapters of the simulated CPC.
    """
    index = s['subsets'].index(subset)
    memory = SUBSET_MEMORY[min(index, len(SUBSET_MEMORY) - 1)]
    header = ('# nova-compute of CPC subset %s, read after nova.conf '
              '(etc/nova/dpm/%s of nova-dpm, with the values of the '
              'simulated CPC).\n' % (subset, subset))
    return header + ini([
        ('DEFAULT', [('host', subset), ('state_path', state_path)]),
        ('oslo_concurrency', [('lock_path',
                               os.path.join(state_path, 'lock'))]),
        ('dpm', hmc_items(s) + [
            ('max_processors', '8'),
            ('max_dedicated_processors', str(DEDICATED_IFLS)),
            ('max_memory', str(memory)),
            ('max_instances', '10'),
            ('physical_storage_adapter_mappings',
             list(catalog.ADAPTER_MAPPINGS)),
            ('physical_crypto_adapters',
             ','.join(catalog.CRYPTO_ADAPTERS))]),
    ])


def neutron_conf(s):
    d = s['dir']
    return ini([
        ('DEFAULT', [('core_plugin', 'ml2'),
                     ('api_paste_config', s['neutron_paste']),
                     ('service_plugins', ''),
                     ('auth_strategy', 'keystone'),
                     ('transport_url', transport_url(s)),
                     ('bind_host', HOST),
                     ('api_workers', '1'),
                     ('rpc_workers', '1'),
                     ('rpc_state_report_workers', '1'),
                     ('state_path', os.path.join(d, 'lib', 'neutron')),
                     ('notify_nova_on_port_status_changes', 'true'),
                     ('notify_nova_on_port_data_changes', 'true')]),
        ('database', [('connection', db_url(s, 'neutron'))]),
        ('keystone_authtoken', auth(s, 'neutron', authtoken=True)),
        ('nova', auth(s, 'nova')),
        ('oslo_concurrency', [('lock_path',
                               os.path.join(d, 'lib', 'neutron', 'lock'))]),
        rabbit(),
    ])


def ml2_conf(s):
    ranges = ','.join('%s:%s' % (p[0], VLAN_RANGE) for p in PHYSNETS)
    return ini([
        ('ml2', [('type_drivers', 'flat,vlan'),
                 ('tenant_network_types', ''),
                 ('mechanism_drivers', 'dpm')]),
        ('ml2_type_flat', [('flat_networks', '*')]),
        ('ml2_type_vlan', [('network_vlan_ranges', ranges)]),
    ])


def agent_conf(s, subset):
    mappings = ['%s:%s:%d' % p for p in PHYSNETS]
    return ini([
        ('DEFAULT', [('host', subset)]),
        ('AGENT', [('polling_interval', '2')]),
        ('dpm', hmc_items(s) + [
            ('physical_network_adapter_mappings', mappings)]),
    ])


def clouds_yaml(s):
    return '\n'.join([
        'clouds:',
        '  nova-dpm:',
        '    auth:',
        '      auth_url: %s' % url(s, 'keystone', '/v3'),
        '      username: admin',
        '      password: %s' % s['admin_password'],
        '      project_name: admin',
        '      user_domain_name: Default',
        '      project_domain_name: Default',
        '    region_name: %s' % REGION,
        '    identity_api_version: 3',
        ''])


def env_file(s):
    return '\n'.join([
        'export OS_AUTH_URL=%s' % url(s, 'keystone', '/v3'),
        'export OS_USERNAME=admin',
        'export OS_PASSWORD=%s' % s['admin_password'],
        'export OS_PROJECT_NAME=admin',
        'export OS_USER_DOMAIN_NAME=Default',
        'export OS_PROJECT_DOMAIN_NAME=Default',
        'export OS_REGION_NAME=%s' % REGION,
        'export OS_IDENTITY_API_VERSION=3',
        ''])
