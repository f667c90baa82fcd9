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

"""nova-dpm-cloud: a cloud of real OpenStack services on this machine.

``nova-dpm-cloud up --dir DIR [--subsets N]`` starts the services of
:mod:`nova_dpm.simulator.realcloud` on 127.0.0.1 and returns when all
answer; ``nova-dpm-cloud down --dir DIR`` stops every process ``up``
started; ``nova-dpm-cloud restart --dir DIR [--kill] NAME`` stops (or
kills) one of them and starts it again as before. Part of the simulator
extra.
"""

import argparse
import os
import shutil
import sys

MAX_SUBSETS = 8
# What up creates in DIR and removes before a new cloud (pkg/, the
# packages fetched by apt-get download, is kept).
GENERATED = ('etc', 'lib', 'log', 'run', 'mysql', 'rabbitmq', 'hmc',
             'clouds.yaml', 'env', 'state.json')


def _parser():
    parser = argparse.ArgumentParser(
        prog='nova-dpm-cloud',
        description='Run OpenStack (Keystone, Placement, Nova, Neutron, '
                    'Cinder) '
                    'with nova-dpm on the simulated HMC, as separate '
                    'processes on 127.0.0.1.')
    sub = parser.add_subparsers(dest='command', required=True)
    up = sub.add_parser('up', help='start the cloud')
    up.add_argument('--dir', required=True,
                    help='directory of the cloud: configuration, data, '
                         'logs, clouds.yaml')
    up.add_argument('--subsets', type=int, default=2,
                    help='CPC subsets, each with its nova-compute and '
                         'neutron-dpm-agent (default: %(default)s)')
    down = sub.add_parser('down', help='stop the cloud')
    down.add_argument('--dir', required=True)
    restart = sub.add_parser(
        'restart', help='stop one service of the cloud and start it again')
    restart.add_argument('--dir', required=True)
    restart.add_argument('--kill', action='store_true',
                         help='kill it (SIGKILL) instead of stopping it')
    restart.add_argument('service', help='its name, as in DIR/log/NAME.log')
    return parser


def _clean(directory):
    """Make directory ready for a new cloud; an error text or None."""
    if not os.path.isdir(directory):
        os.makedirs(directory)
        return None
    entries = set(os.listdir(directory))
    if entries - set(GENERATED) - {'pkg'}:
        return ('%s holds files nova-dpm-cloud did not make: give an empty '
                'or new directory' % directory)
    for name in entries & set(GENERATED):
        path = os.path.join(directory, name)
        if os.path.isdir(path):
            shutil.rmtree(path)
        else:
            os.remove(path)
    return None


def up(args):
    from nova_dpm.simulator.realcloud import procs
    from nova_dpm.simulator.realcloud import services
    from nova_dpm.simulator.realcloud import summary
    directory = os.path.abspath(args.dir)
    if not 1 <= args.subsets <= MAX_SUBSETS:
        print('nova-dpm-cloud: --subsets must be from 1 to %d'
              % MAX_SUBSETS, file=sys.stderr)
        return 2
    existing = procs.Processes(directory)
    if any(existing.alive(e) for e in existing.state['processes']):
        print('nova-dpm-cloud: a cloud is running in %s; stop it first: '
              'nova-dpm-cloud down --dir %s' % (directory, directory),
              file=sys.stderr)
        return 1
    problem = _clean(directory)
    if problem:
        print('nova-dpm-cloud: %s' % problem, file=sys.stderr)
        return 1
    cloud = services.Cloud(directory)
    cloud.procs.state['settings'] = services.new_settings(
        directory, args.subsets)
    cloud.s = cloud.procs.settings
    cloud.procs.save()
    print('nova-dpm-cloud: starting in %s (%d CPC subsets)'
          % (directory, args.subsets))
    try:
        cloud.up()
    except procs.StartError as exc:
        print('FAILED\n\n%s did not start: %s\nLast lines of %s:\n%s'
              % (exc.service, exc.reason,
                 cloud.procs.log_path(exc.service.split()[0]),
                 exc.log_tail), file=sys.stderr)
        cloud.procs.stop_all(report=lambda m: None)
        print('Stopped the services started so far.', file=sys.stderr)
        return 1
    except BaseException:
        print('interrupted: stopping the services started so far',
              file=sys.stderr)
        cloud.procs.stop_all(report=lambda m: None)
        raise
    print(summary.text(cloud))
    return 0


def down(args):
    from nova_dpm.simulator.realcloud import procs
    directory = os.path.abspath(args.dir)
    processes = procs.Processes(directory)
    if not processes.state['processes']:
        print('nova-dpm-cloud: nothing running in %s' % directory)
        return 0
    processes.stop_all()
    print('nova-dpm-cloud: stopped the cloud in %s' % directory)
    return 0


def restart(args):
    from nova_dpm.simulator.realcloud import procs
    from nova_dpm.simulator.realcloud import services
    directory = os.path.abspath(args.dir)
    cloud = services.Cloud(directory)
    try:
        found = cloud.restart(args.service, kill=args.kill)
    except procs.StartError as exc:
        print('nova-dpm-cloud: %s did not start again: %s\n%s'
              % (args.service, exc.reason, exc.log_tail), file=sys.stderr)
        return 1
    if not found:
        names = ', '.join(e['name'] for e in cloud.procs.state['processes'])
        print('nova-dpm-cloud: no service %r in %s; the services: %s'
              % (args.service, directory, names or 'none'), file=sys.stderr)
        return 1
    print('nova-dpm-cloud: %s %s' % (
        'killed and started again' if args.kill else 'restarted',
        args.service))
    return 0


def main(argv=None):
    args = _parser().parse_args(argv)
    return {'up': up, 'down': down, 'restart': restart}[args.command](args)


if __name__ == '__main__':
    sys.exit(main())
