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

"""nova-dpm-hmc-simulator: the simulated HMC over HTTPS on 127.0.0.1.

Serves the HMC Web Services API of a simulated HMC (a shipped definition
or a YAML file) on ``https://127.0.0.1:<port>`` and prints the ``[dpm]``
settings that point nova-compute (or any zhmcclient program) to it, so the
driver runs unchanged, with real logon, TLS verification, retries and job
polling.  Stops on SIGINT (Ctrl-C) or SIGTERM.  It listens on the loopback
address only: it is a test tool with a known password, never a service.
"""

import argparse
import os
import secrets
import signal
import sys
import threading

from nova_dpm import simulator
from nova_dpm.simulator import server as hmc_server
from nova_dpm.simulator import session as sim_session

DEFAULT_PORT = 6794            # the HMC's WS API port (and [dpm] hmc_port)
# The HMC's notification port (STOMP over TLS; [dpm] hmc_notification_port,
# and the port zhmcclient's auto-update always connects to).
DEFAULT_STOMP_PORT = 61612
DEFAULT_USERID = 'nova'


def _parser():
    parser = argparse.ArgumentParser(
        prog='nova-dpm-hmc-simulator',
        description='Serve a simulated HMC (DPM mode) over HTTPS on '
                    '127.0.0.1 for nova-dpm or any zhmcclient program.')
    parser.add_argument(
        '--definition', default='z16', metavar='z16|z13|PATH',
        help='HMC definition: a shipped name (%s) or the path of a YAML '
             'file (default: %%(default)s)'
             % ', '.join(sim_session.shipped_definitions()))
    parser.add_argument(
        '--port', type=int, default=DEFAULT_PORT,
        help='TCP port; 0 picks a free one (default: %(default)s)')
    parser.add_argument(
        '--stomp-port', type=int, metavar='N',
        help='TCP port of the notification service (STOMP over TLS); 0 '
             'picks a free one (default: %d, the HMC\'s, where zhmcclient\'s '
             'auto-update connects; a free one if %d is taken)'
             % (DEFAULT_STOMP_PORT, DEFAULT_STOMP_PORT))
    parser.add_argument(
        '--bind', default=hmc_server.LOOPBACK,
        help='Address to listen on; only %s is accepted'
             % hmc_server.LOOPBACK)
    parser.add_argument(
        '--cert-dir', metavar='DIR',
        help='Directory with ca.pem, server.pem and server.key; generated '
             'there if missing and kept, so hmc_ca_bundle stays valid '
             'across restarts (default: a temporary directory, removed on '
             'exit)')
    parser.add_argument(
        '--userid', default=DEFAULT_USERID,
        help='HMC userid that may log on (default: %(default)s)')
    parser.add_argument(
        '--password',
        help='Its password (default: a random one, printed)')
    parser.add_argument(
        '--transition-time', type=float, default=2.0, metavar='S',
        help='Seconds a partition start or stop takes (default: '
             '%(default)s)')
    parser.add_argument(
        '--latency', type=float, default=0.0, metavar='S',
        help='Seconds added to every request (default: %(default)s)')
    parser.add_argument(
        '--open-san', action='store_true',
        help='Let every storage-group WWPN see every volume (for a Cinder '
             'that cannot map volumes in the simulated SAN)')
    return parser


def _settings(srv, userid, password, cpcs):
    lines = ['[dpm]',
             'hmc = %s' % hmc_server.LOOPBACK,
             'hmc_port = %d' % srv.port,
             'hmc_username = %s' % userid,
             'hmc_password = %s' % password,
             'hmc_ca_bundle = %s' % srv.ca_file]
    if srv.stomp is not None:
        lines.append('hmc_notification_port = %d' % srv.stomp.port)
    for i, cpc in enumerate(cpcs):
        props = cpc.properties
        prefix = '' if i == 0 else '# '
        lines.append('%scpc_object_id = %s' % (prefix, props['object-id']))
        lines.append('# %s: %s IFLs, %s MiB (max_processors and '
                     'max_memory must not exceed them)'
                     % (props.get('name'), props.get('processor-count-ifl'),
                        props.get('storage-customer')))
    return '\n'.join(lines)


def _checked_args(parser, argv):
    """The parsed arguments; a wrong one ends the command with its error."""
    args = parser.parse_args(argv)
    if args.bind != hmc_server.LOOPBACK:
        parser.error('--bind %s refused: the simulated HMC listens on %s '
                     'only' % (args.bind, hmc_server.LOOPBACK))
    if not 0 <= args.port <= 65535:
        parser.error('--port must be from 0 to 65535')
    if args.stomp_port is not None and not 0 <= args.stomp_port <= 65535:
        parser.error('--stomp-port must be from 0 to 65535')
    if args.transition_time < 0 or args.latency < 0:
        parser.error('--transition-time and --latency must not be negative')
    return args


def _serve_until_signalled(srv, args, password, path, session):
    """Print the settings, then serve until SIGINT or SIGTERM."""
    stop = threading.Event()

    def _on_signal(signum, frame):
        stop.set()

    previous = {sig: signal.signal(sig, _on_signal)
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        print('Simulated HMC (%s) serving on %s' % (path, srv.url))
        if not args.cert_dir:
            print('The certificates are in a temporary directory, removed '
                  'on exit; use --cert-dir to keep them.')
        print('Settings for nova.conf:\n')
        print(_settings(srv, args.userid, password,
                        session.simulator.cpcs()))
        print('\nStop with Ctrl-C or SIGTERM.', flush=True)
        # A bounded wait, so that a signal is seen promptly everywhere.
        while not stop.wait(0.5):
            pass
    finally:
        srv.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _start(session, args, password):
    """The started HmcServer, or None (the reason printed).

    Without --stomp-port, the notification service takes the HMC's port
    61612 if it is free and a free port otherwise.
    """
    stomp_ports = [args.stomp_port] if args.stomp_port is not None \
        else [DEFAULT_STOMP_PORT, 0]
    for stomp_port in stomp_ports:
        srv = hmc_server.HmcServer(
            session.simulator, args.userid, password,
            cert_dir=os.path.abspath(args.cert_dir) if args.cert_dir
            else None, port=args.port, stomp_port=stomp_port)
        try:
            return srv.start()
        except hmc_server.StompPortBusy as exc:
            if stomp_port != DEFAULT_STOMP_PORT or len(stomp_ports) == 1:
                failure = exc
                break
            print('Port %d (notifications) is taken: the notification '
                  'service listens on a free port; zhmcclient\'s auto-update '
                  'will not reach it.' % DEFAULT_STOMP_PORT, flush=True)
        except OSError as exc:
            failure = exc
            break
    print('nova-dpm-hmc-simulator: cannot listen on %s: %s'
          % (hmc_server.LOOPBACK, failure), file=sys.stderr)
    return None


def main(argv=None):
    parser = _parser()
    args = _checked_args(parser, argv)
    try:
        path = simulator.definition_path(args.definition)
    except ValueError as exc:
        parser.error(str(exc))
    password = args.password or secrets.token_urlsafe(12)
    session = simulator.load_session(
        path, latency=args.latency, transition_time=args.transition_time)
    if args.open_san:
        session.simulator.san.open = True
    srv = _start(session, args, password)
    if srv is None:
        return 1
    _serve_until_signalled(srv, args, password, path, session)
    print('Simulated HMC stopped.', flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
