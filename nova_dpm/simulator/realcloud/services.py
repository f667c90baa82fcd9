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

"""The steps of ``nova-dpm-cloud up``, in order.

Each step starts one service (or runs one manage command) and returns when
it answers. The Python services are the console scripts and WSGI
applications of the environment nova-dpm-cloud runs in; RabbitMQ and
MariaDB are the distribution's (packages.py).
"""

import os
import secrets
import shlex
import string
import sys
import time

import requests

from nova_dpm.simulator.realcloud import config
from nova_dpm.simulator.realcloud import packages
from nova_dpm.simulator.realcloud import procs

DATABASES = ('keystone', 'placement', 'nova_api', 'nova_cell0',
             'nova_cell1', 'neutron', 'cinder')
HTTP_SERVICES = ('keystone', 'placement', 'nova-api', 'neutron-api',
                 'cinder-api')
PORTS = ('rabbitmq', 'rabbitmq-dist', 'epmd', 'mariadb', 'hmc',
         'keystone', 'placement', 'nova-api', 'neutron-api', 'cinder-api',
         'glance')
UNIT = 'nova-compute-dpm@.service'
AGENT_UNIT = 'neutron-dpm-agent@.service'
CINDER_PATH = '/v3/%(project_id)s'
START_TIMEOUT = 180


def subset_names(count):
    return ['cpc1-subset-%s' % string.ascii_lowercase[i]
            for i in range(count)]


def bin_path(name):
    """A console script of this environment."""
    return os.path.join(os.path.dirname(sys.executable), name)


def _data_file(*parts):
    """A data file of nova-dpm: installed (share/nova-dpm) or source."""
    here = os.path.dirname(os.path.abspath(__file__))
    source = os.path.abspath(os.path.join(here, '..', '..', '..'))
    for base in (os.path.join(sys.prefix, 'share', 'nova-dpm'), source):
        path = os.path.join(base, *parts)
        if os.path.exists(path):
            return path
    raise RuntimeError('%s not found in %s/share/nova-dpm nor in %s'
                       % (os.path.join(*parts), sys.prefix, source))


def unit_command(unit_name, etc, subset):
    """A subset's command line, from the systemd unit's ExecStart.

    /etc becomes the cloud's etc, and the program this environment's.
    """
    with open(_data_file('etc', 'systemd', unit_name)) as unit:
        line = [x for x in unit if x.startswith('ExecStart=')][0]
    argv = shlex.split(line.split('=', 1)[1].replace('%i', subset))
    argv[0] = bin_path(os.path.basename(argv[0]))
    return [etc + a[len('/etc'):] if a.startswith('/etc/') else a
            for a in argv]


def compute_command(etc, subset):
    """nova-compute's command line (etc/systemd/nova-compute-dpm@)."""
    return unit_command(UNIT, etc, subset)


def agent_command(etc, subset):
    """neutron-dpm-agent's command line (etc/systemd/neutron-dpm-agent@)."""
    return unit_command(AGENT_UNIT, etc, subset)


def paste_file(project, name='api-paste.ini'):
    """A file (api-paste.ini) the project installs into this environment."""
    path = os.path.join(sys.prefix, 'etc', project, name)
    if not os.path.isfile(path):
        raise RuntimeError('%s %s not found at %s' % (project, name, path))
    return path


def new_settings(directory, subsets):
    return {
        'dir': directory,
        'subsets': subset_names(subsets),
        'ports': {name: procs.free_port() for name in PORTS},
        'db_password': secrets.token_hex(12),
        'service_password': secrets.token_hex(12),
        'admin_password': secrets.token_hex(12),
        'hmc_userid': 'nova',
        'hmc_password': secrets.token_urlsafe(12),
        'nova_paste': os.path.join(directory, 'etc', 'nova',
                                   'api-paste.ini'),
        'neutron_paste': os.path.join(directory, 'etc', 'neutron',
                                      'api-paste.ini'),
        'cinder_paste': os.path.join(directory, 'etc', 'cinder',
                                     'api-paste.ini'),
        'cinder_filters': os.path.join(directory, 'etc', 'cinder',
                                       'resource_filters.json'),
    }


def write(path, text, mode=0o600):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode),
              'w') as f:
        f.write(text)


def http_ready(port):
    def ready():
        return requests.get('http://127.0.0.1:%d/' % port,
                            timeout=5).status_code < 500
    return ready


class Cloud(object):
    """The services of one cloud in one directory."""

    def __init__(self, directory, report=print):
        self.dir = os.path.abspath(directory)
        self.procs = procs.Processes(self.dir)
        self.s = self.procs.settings
        self.report = report
        self.etc = os.path.join(self.dir, 'etc')

    # -- helpers -------------------------------------------------------------

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def env(self, **extra):
        env = dict(os.environ)
        env['PATH'] = '%s:%s' % (os.path.dirname(sys.executable),
                                 env.get('PATH', '/usr/bin:/bin'))
        env.update(extra)
        return env

    def uwsgi(self, name, module, env, pyargv=None):
        argv = [bin_path('uwsgi'), '--http-socket',
                '127.0.0.1:%d' % self.s['ports'][name], '--module', module,
                '--master', '--processes', '1', '--threads', '2',
                '--die-on-term', '--need-app', '--lazy-apps',
                '--buffer-size', '65535',
                # One request per connection: uWSGI's HTTP socket does not
                # keep connections alive reliably for the clients.
                '--add-header', 'Connection: close',
                '--hook-master-start',
                'unix_signal:15 gracefully_kill_them_all']
        if pyargv:
            # The application's sys.argv[1:] (its oslo.config options).
            argv += ['--pyargv', ' '.join(pyargv)]
        self.procs.start(name, argv, env=self.env(**env))
        self.procs.wait(name, http_ready(self.s['ports'][name]),
                        START_TIMEOUT)

    def sql(self, statement, database=None):
        import pymysql  # the cloud's environment has it (tox -e cloud)
        conn = pymysql.connect(unix_socket=self.path('run', 'mysqld.sock'),
                               user='root', database=database)
        try:
            with conn.cursor() as cur:
                cur.execute(statement)
                rows = cur.fetchall()
            conn.commit()
            return rows
        finally:
            conn.close()

    def manage(self, name, *argv):
        self.procs.run(name, [bin_path(argv[0])] + list(argv[1:]),
                       env=self.env())

    # -- the steps -----------------------------------------------------------

    def steps(self):
        subsets = self.s['subsets']
        steps = [
            ('packages', self.distribution_packages),
            ('rabbitmq', self.rabbitmq),
            ('mariadb', self.mariadb),
            ('hmc', self.hmc),
            ('keystone', self.keystone),
            ('placement', self.placement),
            ('nova schema', self.nova_schema),
            ('nova-api', self.nova_api),
            ('nova-conductor', self.nova_conductor),
            ('nova-scheduler', self.nova_scheduler),
            ('neutron schema', self.neutron_schema),
            ('neutron-api', self.neutron_api),
            ('neutron-rpc-server', self.neutron_rpc),
            ('cinder schema', self.cinder_schema),
            ('cinder-api', self.cinder_api),
            ('cinder-scheduler', self.cinder_scheduler),
            ('cinder-volume', self.cinder_volume),
        ]
        for subset in subsets:
            steps.append(('nova-compute %s' % subset,
                          lambda x=subset: self.nova_compute(x)))
            steps.append(('neutron-dpm-agent %s' % subset,
                          lambda x=subset: self.dpm_agent(x)))
        steps.append(('cell host mappings', self.discover_hosts))
        return steps

    def distribution_packages(self):
        os.makedirs(self.path('log'), exist_ok=True)
        with open(self.procs.log_path('packages'), 'a') as log:
            try:
                self.s['pkg_roots'] = packages.ensure(self.dir, log)
            except packages.Missing as exc:
                raise procs.StartError('packages', str(exc))

    def rabbitmq(self):
        root = self.s['pkg_roots']['rabbitmq-server']
        ports = self.s['ports']
        base = self.path('rabbitmq')
        os.makedirs(base, exist_ok=True)
        write(self.path('rabbitmq', 'rabbitmq.conf'),
              'listeners.tcp.1 = 127.0.0.1:%d\n'
              'distribution.listener.interface = 127.0.0.1\n'
              'loopback_users.guest = true\n' % ports['rabbitmq'])
        write(self.path('rabbitmq', 'enabled_plugins'), '[].\n')
        erl_env = {'ERL_EPMD_PORT': str(ports['epmd']),
                   'ERL_EPMD_ADDRESS': '127.0.0.1', 'HOME': base}
        if root:
            erl_env['PATH'] = '%s/usr/bin:%s' % (root, os.environ['PATH'])
        self.procs.start('epmd', [root + '/usr/bin/epmd', '-port',
                                  str(ports['epmd'])],
                         env=self.env(**erl_env))
        self.procs.wait('epmd', lambda: procs.port_open(ports['epmd']), 30)
        env = self.env(
            RABBITMQ_NODENAME='nova-dpm-cloud@localhost',
            RABBITMQ_NODE_IP_ADDRESS='127.0.0.1',
            RABBITMQ_NODE_PORT=str(ports['rabbitmq']),
            RABBITMQ_DIST_PORT=str(ports['rabbitmq-dist']),
            RABBITMQ_CONFIG_FILE=self.path('rabbitmq', 'rabbitmq.conf'),
            RABBITMQ_ENABLED_PLUGINS_FILE=self.path('rabbitmq',
                                                    'enabled_plugins'),
            RABBITMQ_MNESIA_BASE=self.path('rabbitmq', 'mnesia'),
            RABBITMQ_LOG_BASE=self.path('log'),
            RABBITMQ_LOGS='-',
            RABBITMQ_PID_FILE=self.path('run', 'rabbitmq.pid'),
            **erl_env)
        self.procs.start('rabbitmq', [
            root + packages.PROGRAMS['rabbitmq-server'][0]], env=env)
        self.procs.wait('rabbitmq',
                        lambda: procs.port_open(ports['rabbitmq']),
                        START_TIMEOUT)

    def mariadb(self):
        root = self.s['pkg_roots']['mariadb-server']
        data = self.path('mysql')
        user = ['--user=root'] if os.geteuid() == 0 else []
        basedir = ['--basedir=%s/usr' % root] if root else []
        if not os.path.isdir(os.path.join(data, 'mysql')):
            self.procs.run('mariadb', [
                root + '/usr/bin/mariadb-install-db', '--no-defaults',
                '--datadir=%s' % data, '--skip-test-db',
                '--auth-root-authentication-method=socket'] + basedir + user,
                env=self.env())
        os.makedirs(self.path('run'), exist_ok=True)
        self.procs.start('mariadb', [
            root + '/usr/sbin/mariadbd', '--no-defaults',
            '--datadir=%s' % data, '--bind-address=127.0.0.1',
            '--port=%d' % self.s['ports']['mariadb'],
            '--socket=%s' % self.path('run', 'mysqld.sock'),
            '--pid-file=%s' % self.path('run', 'mariadb.pid'),
            '--skip-name-resolve', '--max-connections=500',
            '--innodb-buffer-pool-size=64M', '--skip-log-bin',
            '--character-set-server=utf8mb4'] + basedir + user,
            env=self.env())
        self.procs.wait('mariadb', lambda: self.sql('SELECT 1'),
                        START_TIMEOUT)
        password = self.s['db_password']
        self.sql("CREATE USER IF NOT EXISTS 'openstack'@'127.0.0.1' "
                 "IDENTIFIED BY '%s'" % password)
        for name in DATABASES:
            self.sql('CREATE DATABASE IF NOT EXISTS %s' % name)
            self.sql("GRANT ALL ON %s.* TO 'openstack'@'127.0.0.1'" % name)

    def hmc(self):
        port = self.s['ports']['hmc']
        self.procs.start('hmc', [
            bin_path('nova-dpm-hmc-simulator'),
            '--definition', 'z16', '--port', str(port),
            '--cert-dir', self.path('hmc'),
            '--userid', self.s['hmc_userid'],
            '--password', self.s['hmc_password']], env=self.env())
        ca = self.path('hmc', 'ca.pem')
        self.procs.wait('hmc', lambda: requests.get(
            'https://127.0.0.1:%d/api/version' % port, verify=ca,
            timeout=5).ok, START_TIMEOUT)
        # Its STOMP port (notifications), which it picks and prints as the
        # [dpm] option the services need.
        self.procs.wait('hmc', self._stomp_port, START_TIMEOUT)

    def _stomp_port(self):
        with open(self.procs.log_path('hmc'), errors='replace') as log:
            for line in log:
                if line.startswith('hmc_notification_port = '):
                    self.s['ports']['stomp'] = int(line.split('=')[1])
                    return True
        return False

    def keystone(self):
        conf = self.path('etc', 'keystone', 'keystone.conf')
        write(conf, config.keystone_conf(self.s))
        for key in ('fernet', 'credential'):
            os.makedirs(self.path('lib', 'keystone', key), mode=0o700,
                        exist_ok=True)
        cf = ['--config-file', conf]
        self.manage('keystone-manage', 'keystone-manage', *cf, 'db_sync')
        ids = self._owner()
        self.manage('keystone-manage', 'keystone-manage', *cf,
                    'fernet_setup', *ids)
        self.manage('keystone-manage', 'keystone-manage', *cf,
                    'credential_setup', *ids)
        public = config.url(self.s, 'keystone', '/v3')
        self.manage('keystone-manage', 'keystone-manage', *cf, 'bootstrap',
                    '--bootstrap-password', self.s['admin_password'],
                    '--bootstrap-region-id', config.REGION,
                    '--bootstrap-admin-url', public,
                    '--bootstrap-internal-url', public,
                    '--bootstrap-public-url', public)
        self.uwsgi('keystone', 'keystone.wsgi.api:application', {
            'OS_KEYSTONE_CONFIG_DIR': os.path.dirname(conf),
            'OS_KEYSTONE_CONFIG_FILES': 'keystone.conf'})
        self._catalogue()

    @staticmethod
    def _owner():
        import grp
        import pwd
        return ['--keystone-user', pwd.getpwuid(os.geteuid()).pw_name,
                '--keystone-group', grp.getgrgid(os.getegid()).gr_name]

    def _catalogue(self):
        """Service users (admin in project service), services, endpoints."""
        from keystoneauth1.identity import v3
        from keystoneauth1 import session
        from keystoneclient.v3 import client
        auth = v3.Password(
            auth_url=config.url(self.s, 'keystone', '/v3'), username='admin',
            password=self.s['admin_password'], project_name='admin',
            user_domain_name='Default', project_domain_name='Default')
        ks = client.Client(session=session.Session(auth=auth))
        project = ks.projects.create('service', 'default')
        # admin, and service: the role a service token needs where the
        # receiving service has service_token_roles_required.
        roles = [ks.roles.find(name=name) for name in ('admin', 'service')]
        for user in ('nova', 'placement', 'neutron', 'cinder'):
            created = ks.users.create(user, domain='default',
                                      password=self.s['service_password'])
            for role in roles:
                ks.roles.grant(role, user=created, project=project)
        for name, kind, service, path in (
                ('nova', 'compute', 'nova-api', '/v2.1'),
                ('placement', 'placement', 'placement', ''),
                ('neutron', 'network', 'neutron-api', ''),
                ('cinderv3', 'volumev3', 'cinder-api', CINDER_PATH),
                ('cinder', 'block-storage', 'cinder-api', CINDER_PATH)):
            svc = ks.services.create(name, type=kind)
            for interface in ('public', 'internal', 'admin'):
                ks.endpoints.create(svc, config.url(self.s, service, path),
                                    interface=interface,
                                    region=config.REGION)

    def placement(self):
        conf = self.path('etc', 'placement', 'placement.conf')
        write(conf, config.placement_conf(self.s))
        self.manage('placement-manage', 'placement-manage',
                    '--config-file', conf, 'db', 'sync')
        self.uwsgi('placement', 'placement.wsgi.api:application', {
            'OS_PLACEMENT_CONFIG_DIR': os.path.dirname(conf)})

    def nova_schema(self):
        conf = self.path('etc', 'nova', 'nova.conf')
        write(conf, config.nova_conf(self.s))
        with open(paste_file('nova')) as paste:
            write(self.s['nova_paste'], paste.read())
        cf = ['nova-manage', '--config-file', conf]
        self.manage('nova-manage', *cf, 'api_db', 'sync')
        self.manage('nova-manage', *cf, 'cell_v2', 'map_cell0',
                    '--database_connection',
                    config.db_url(self.s, 'nova_cell0'))
        self.manage('nova-manage', *cf, 'cell_v2', 'create_cell',
                    '--name', 'cell1', '--verbose')
        self.manage('nova-manage', *cf, 'db', 'sync')

    def nova_api(self):
        # nova's WSGI application reads the paste file first, then
        # nova.conf, from OS_NOVA_CONFIG_DIR.
        self.uwsgi('nova-api', 'nova.wsgi.osapi_compute:application', {
            'OS_NOVA_CONFIG_DIR': self.path('etc', 'nova'),
            'OS_NOVA_CONFIG_FILES': 'api-paste.ini;nova.conf'})

    def _nova_service(self, binary):
        self.procs.start(binary, [
            bin_path(binary), '--config-file',
            self.path('etc', 'nova', 'nova.conf')], env=self.env())
        self.procs.wait(binary, lambda: self.sql(
            "SELECT id FROM services WHERE `binary` = '%s' AND deleted = 0"
            % binary, 'nova_cell1'), START_TIMEOUT)

    def nova_conductor(self):
        self._nova_service('nova-conductor')

    def nova_scheduler(self):
        self._nova_service('nova-scheduler')

    def nova_compute(self, subset):
        state = self.path('lib', 'nova', 'dpm', subset)
        os.makedirs(os.path.join(state, 'lock'), exist_ok=True)
        write(self.path('etc', 'nova', 'dpm', subset, 'nova-compute.conf'),
              config.compute_conf(self.s, subset, state))
        name = 'nova-compute-%s' % subset
        self.procs.start(name, compute_command(self.etc, subset),
                         env=self.env())
        self.procs.wait(name, lambda: self.sql(
            "SELECT id FROM compute_nodes WHERE host = '%s' AND deleted = 0"
            % subset, 'nova_cell1'), START_TIMEOUT)

    def _neutron_files(self):
        return [self.path('etc', 'neutron', 'neutron.conf'),
                self.path('etc', 'neutron', 'plugins', 'ml2',
                          'ml2_conf.ini')]

    def neutron_schema(self):
        conf, ml2 = self._neutron_files()
        write(conf, config.neutron_conf(self.s))
        write(ml2, config.ml2_conf(self.s))
        with open(paste_file('neutron')) as paste:
            write(self.s['neutron_paste'], paste.read())
        self.manage('neutron-db-manage', 'neutron-db-manage',
                    '--config-file', conf, '--config-file', ml2,
                    'upgrade', 'heads')

    def neutron_api(self):
        conf, ml2 = self._neutron_files()
        self.uwsgi('neutron-api', 'neutron.wsgi.api:application', {
            'OS_NEUTRON_CONFIG_DIR': os.path.dirname(conf),
            'OS_NEUTRON_CONFIG_FILES': '%s;%s' % (
                'neutron.conf', os.path.relpath(ml2, os.path.dirname(conf)))})

    def neutron_rpc(self):
        conf, ml2 = self._neutron_files()
        self.procs.start('neutron-rpc-server', [
            bin_path('neutron-rpc-server'), '--config-file', conf,
            '--config-file', ml2], env=self.env())
        # It answers the agents: the DPM agents' state reports (over
        # RabbitMQ, into its database) are its readiness check.

    def cinder_schema(self):
        conf = self.path('etc', 'cinder', 'cinder.conf')
        write(conf, config.cinder_conf(self.s))
        os.makedirs(self.path('lib', 'cinder', 'lock'), exist_ok=True)
        for key, name in (('cinder_paste', 'api-paste.ini'),
                          ('cinder_filters', 'resource_filters.json')):
            with open(paste_file('cinder', name)) as installed:
                write(self.s[key], installed.read())
        self.manage('cinder-manage', 'cinder-manage', '--config-file', conf,
                    'db', 'sync')

    def cinder_api(self):
        # cinder's WSGI application parses its sys.argv for oslo.config.
        self.uwsgi('cinder-api', 'cinder.wsgi.api:application', {},
                   pyargv=['--config-file',
                           self.path('etc', 'cinder', 'cinder.conf')])

    def _cinder_service(self, binary, ready):
        self.procs.start(binary, [
            bin_path(binary), '--config-file',
            self.path('etc', 'cinder', 'cinder.conf')], env=self.env())
        self.procs.wait(binary, ready, START_TIMEOUT)

    def cinder_scheduler(self):
        self._cinder_service('cinder-scheduler', lambda: self.sql(
            "SELECT id FROM services WHERE `binary` = 'cinder-scheduler' "
            "AND deleted = 0", 'cinder'))

    def cinder_volume(self):
        # Its service row comes before the driver's setup (which asks the
        # simulated SAN for its volumes); a driver that fails leaves the
        # service running without the back end: its log tells.
        log = self.procs.log_path('cinder-volume')

        def ready():
            with open(log, errors='replace') as f:
                text = f.read()
            if 'Failed to initialize driver' in text:
                raise procs.StartError('cinder-volume', 'the volume driver '
                                       'failed', procs.tail(log, 30))
            return 'Driver initialization completed successfully' in text
        self._cinder_service('cinder-volume', ready)

    def dpm_agent(self, subset):
        # The file the unit names (etc/neutron/dpm/<subset> of nova-dpm).
        conf = self.path('etc', 'neutron', 'dpm', subset,
                         'neutron-dpm-agent.ini')
        write(conf, config.agent_conf(self.s, subset))
        name = 'neutron-dpm-agent-%s' % subset
        argv = agent_command(self.etc, subset)
        missing = [a for a in argv[2::2] if not os.path.isfile(a)]
        if missing:
            raise RuntimeError('%s names %s, which the cloud does not write'
                               % (AGENT_UNIT, ', '.join(missing)))
        self.procs.start(name, argv, env=self.env())
        self.procs.wait(name, lambda: self.sql(
            "SELECT id FROM agents WHERE host = '%s' AND agent_type = "
            "'DPM agent'" % subset, 'neutron'), START_TIMEOUT,
            also=('neutron-rpc-server',))

    def discover_hosts(self):
        self.manage('nova-manage', 'nova-manage', '--config-file',
                    self.path('etc', 'nova', 'nova.conf'), 'cell_v2',
                    'discover_hosts', '--verbose')

    # -- up, restart and down ------------------------------------------------

    def restart(self, name, kill=False):
        """Restart (or kill and start) a service; wait until it answers.

        RabbitMQ and the HTTP services are waited for; False if there is
        no such service.
        """
        if not self.procs.restart(name, kill=kill):
            return False
        ports = self.s['ports']
        if name == 'rabbitmq':
            ready = lambda: procs.port_open(ports['rabbitmq'])  # noqa: E731
        elif name in HTTP_SERVICES:
            ready = http_ready(ports[name])
        else:
            return True
        self.procs.wait(name, ready, START_TIMEOUT)
        return True

    def write_client_files(self):
        write(self.path('clouds.yaml'), config.clouds_yaml(self.s))
        write(self.path('env'), config.env_file(self.s) + (
            'export OS_CLOUD=nova-dpm\n'
            'export OS_CLIENT_CONFIG_FILE=%s\n' % self.path('clouds.yaml')))

    def up(self):
        started = time.monotonic()
        steps = self.steps()
        for index, (label, step) in enumerate(steps, 1):
            t0 = time.monotonic()
            self.report('[%2d/%d] %-36s' % (index, len(steps), label),
                        end='', flush=True)
            try:
                step()
            except procs.StartError:
                raise
            except Exception as exc:
                name = label.split()[0]
                raise procs.StartError(
                    label, '%s: %s' % (type(exc).__name__, exc),
                    procs.tail(self.procs.log_path(name)))
            self.procs.save()
            self.report('ok %5.1fs' % (time.monotonic() - t0), flush=True)
        self.write_client_files()
        self.s['up_seconds'] = round(time.monotonic() - started, 1)
        self.procs.save()
