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

"""The guest operating system of each partition (a Linux).

``zhmcclient.mock`` has no operating system in its partitions: it answers
404 to Send OS Command and List OS Messages, and performs PSW Restart
synchronously without any effect.  This module adds a small model of the
guest, enough for a driver's graceful shutdown, console log and crash
dump:

* ``POST /api/partitions/{id}/operations/send-os-cmd`` (synchronous,
  204): the command is echoed into the partition's OS message log.  A
  guest that honours shutdown commands shuts down after its
  ``shutdown_delay`` and its partition ends in ``shutdown_outcome``.
* ``GET /api/partitions/{id}/operations/list-os-messages``: the message
  log, at most :data:`MAX_MESSAGES` messages per partition.
* ``POST /api/partitions/{id}/operations/psw-restart`` (asynchronous, 202
  + job): the guest's kdump runs; without kdump the partition ends in
  ``terminated``.

Like the start/stop transitions (jobs.py), nothing runs in the background:
a shutdown or PSW restart whose time is up is finished by :func:`advance`
at the start of the next request.  Every guest has the settings of
:data:`DEFAULTS` (``SimulatedHmc.guest_defaults``) unless a test changed
them with ``SimulatedHmc.set_guest``.
"""

import collections
import re
import urllib.parse

from nova_dpm.simulator import errors
from nova_dpm.simulator import jobs
from nova_dpm.simulator import partitions
from nova_dpm.simulator import validation as v

# The settings of a guest (see SimulatedHmc.set_guest).
DEFAULTS = {
    # Does the guest act on a shutdown command?
    'honours_shutdown': True,
    # [UNCERTAIN] A Linux that halts or powers off in a DPM partition stops
    # its CPUs; we assume the HMC shows that as 'paused' (a partition whose
    # CPUs are all stopped), not 'stopped'.
    'shutdown_outcome': 'paused',
    # Seconds (simulated, advanced lazily) between the command and the
    # end of the shutdown.
    'shutdown_delay': 0.0,
    # Is a crash kernel loaded (kdump) for a PSW restart?
    'kdump': True,
    # What reads the HMC's operating-system messages console, the SCLP
    # line-mode terminal (Linux device sclp_line0, console name ttyS0; IBM
    # "Device Drivers, Features, and Commands", terminal device nodes):
    # 'listener': a command listener as the guest image guide sets up (the
    # guest tool dpm_console_listener.sh), which acknowledges a shutdown
    # command on the console and runs it; 'login': a getty, as a stock
    # distribution runs on its console, which takes the command for a user
    # name and asks for a password; 'none': nothing reads the console.
    'console': 'listener',
    # The account ('user:password') that the getty of the Integrated ASCII
    # Console (the SCLP VT220 terminal, HMC rule M4; ascii_console.py)
    # lets in; None: every login is refused.
    'ascii_login': None,
}
SHUTDOWN_OUTCOMES = ('paused', 'stopped', 'terminated')
CONSOLES = ('listener', 'login', 'none')
LISTENER_READY = 'dpm_console_listener: waiting for commands on sclp_line0'
LISTENER_RUNS = 'dpm_console_listener: running: %s'
# What the listener says of any other line (dpm_console_listener.sh).
LISTENER_IGNORES = ('dpm_console_listener: ignored: %s (not a shutdown or '
                    'reboot command)')

# zhmcclient Partition.list_os_messages: "Only a certain amount of OS
# message data from each partition is preserved by the HMC ... the oldest
# non-held, non-priority OS messages are no longer available.  A gap in the
# sequence numbers indicates a loss of messages."  The amount is not
# documented; we keep the newest 1000 messages [UNCERTAIN].
MAX_MESSAGES = 1000

# Send OS Command body fields (zhmcclient Partition.send_os_command).
TEXT = 'operating-system-command-text'
PRIORITY = 'is-priority'
# [UNCERTAIN] The maximum length of the command text is not documented in
# anything we could read; 200 is our choice.
COMMAND_MAX = 200

# [INFER] An OS command needs a running OS: the ansible modules
# zhmc_partition_command/_messages require "The targeted partition must be
# active (i.e. running an operating system)".  We accept 'degraded' as
# well (the OS runs, some adapters are missing); the 409,1 is [INFER].
OS_RUNNING = ('active', 'degraded')

# PSW Restart: MOCK PartitionPswRestartHandler accepts 'active', 'paused'
# and 'terminated' [CLIENT]; 'degraded' is added by us like for Stop
# (HMC rule E4) [INFER].  Anything else gives 409,1.
RESTART_FROM = ('active', 'degraded', 'paused', 'terminated')

# The shutdown commands a Linux guest understands, with the last message
# its kernel writes (systemd: 'shutdown -h' means power off unless --halt).
POWER_DOWN = 'reboot: Power down'
HALTED = 'reboot: System halted'
SHUTDOWN_COMMANDS = {
    'shutdown -h now': POWER_DOWN,
    'shutdown -P now': POWER_DOWN,
    'poweroff': POWER_DOWN,
    'systemctl poweroff': POWER_DOWN,
    'init 0': POWER_DOWN,
    'halt': HALTED,
}
# The listener also accepts these (dpm_console_listener.sh); the model
# does not reboot.
REBOOT_COMMANDS = ('shutdown -r now', 'reboot', 'systemctl reboot')
SHUTDOWN_PROGRESS = (
    '         Stopping session-1.scope - Session 1 of User root...',
    '[  OK  ] Stopped target multi-user.target - Multi-User System.',
    '[  OK  ] Reached target shutdown.target - System Shutdown.',
)

# List OS Messages query parameters.  zhmcclient sends only the sequence
# number bounds for a partition; for an LPAR it also sends is-held,
# is-priority and max-messages (ZC _lpar.py list_os_messages).  We accept
# those for partitions too [UNCERTAIN]; anything else gives 400,1
# (HMC rule A2).
QUERY_INT = ('begin-sequence-number', 'end-sequence-number', 'max-messages')
QUERY_BOOL = ('is-held', 'is-priority')


class Guest:
    """The OS of one partition: settings, message log, pending events."""

    def __init__(self):
        # Settings given by tests; the rest come from sim.guest_defaults.
        self.settings = {}
        self.messages = collections.deque(maxlen=MAX_MESSAGES)
        self.next_seq = 0
        # A shutdown in progress: dict(end, final).
        self.shutdown = None
        # A PSW restart in progress: dict(end, job).
        self.restart = None
        # console 'login': the getty has a user name and wants a password.
        self.password_prompt = False
        # The Integrated ASCII Console's terminal: its getty's state
        # ('login', 'password' or 'shell') and user (ascii_console.py).
        self.vt_state = 'login'
        self.vt_user = None


def get(sim, uri):
    """The Guest of the partition URI (created on first use)."""
    guest = sim.guests.get(uri)
    if guest is None:
        guest = sim.guests[uri] = Guest()
    return guest


def setting(sim, guest, name):
    if name in guest.settings:
        return guest.settings[name]
    return sim.guest_defaults[name]


def check_settings(settings):
    """Validate guest settings given by a test (ValueError)."""
    for name, value in settings.items():
        if name not in DEFAULTS:
            raise ValueError("Unknown guest setting %r; valid: %s"
                             % (name, ', '.join(sorted(DEFAULTS))))
        if name == 'shutdown_outcome' and value not in SHUTDOWN_OUTCOMES:
            raise ValueError("shutdown_outcome must be one of %s, not %r"
                             % (', '.join(SHUTDOWN_OUTCOMES), value))
        if name == 'console' and value not in CONSOLES:
            raise ValueError("console must be one of %s, not %r"
                             % (', '.join(CONSOLES), value))
        if name == 'ascii_login' and value is not None and not (
                isinstance(value, str) and ':' in value):
            raise ValueError("ascii_login must be None or 'user:password', "
                             "not %r" % (value,))
        if name == 'shutdown_delay' and not (
                isinstance(value, (int, float)) and value >= 0):
            raise ValueError("shutdown_delay must be a number >= 0")


def log(sim, guest, text, priority=False):
    """Append one message to the guest's OS message log.

    The fields are those of the HMC's "os-message-info" (zhmcclient
    Partition.list_os_messages refers to the HMC WS API book for it).  We
    could not read the book; the fields and their values follow the
    documented RETURN and sample of ANS ``zhmc_partition_messages.py``
    (Linux boot messages on a real HMC): sequence numbers from 0;
    ``message-text`` ending in a newline (zhmc-os-forwarder and ANS
    ``zhmc_partition_command.py`` strip it); an integer ``message-id``
    (documented as a string, an integer in the sample); ``timestamp`` -1
    when the OS gives none (ANS turns -1 into null; the Linux sample has
    null); ``os-name`` null and ``prompt-text`` '' in the sample;
    ``sound-alarm``, ``is-priority`` and ``is-held`` booleans.
    """
    guest.messages.append({
        'sequence-number': guest.next_seq,
        'message-text': text + '\n',
        'message-id': sim.serial(),
        'timestamp': -1,
        'sound-alarm': False,
        'is-priority': bool(priority),
        'is-held': False,
        'prompt-text': '',
        'os-name': None,
    })
    guest.next_seq += 1


def texts(guest):
    """The message texts, oldest first, without the trailing newline."""
    return [m['message-text'].rstrip('\n') for m in guest.messages]


# ---------------------------------------------------------------------------
# What the guest writes
# ---------------------------------------------------------------------------

def hostname(partition):
    name = (partition.properties.get('name') or '').lower()
    return re.sub(r'[^a-z0-9-]+', '-', name).strip('-') or 'localhost'


def _fcp_lines(sim, partition):
    """zfcp/SCSI messages for the partition's FCP devices and boot LUN."""
    props = partition.properties
    lines = []
    devnos = []
    boot = []  # (devno, wwpn, lun)
    for hba in partition.hbas.list():
        devno = hba.properties.get('device-number')
        devnos.append(devno)
        if props.get('boot-device') == 'storage-adapter' and \
                props.get('boot-storage-device') == hba.uri:
            boot.append((devno, props.get('boot-world-wide-port-name'),
                         props.get('boot-logical-unit-number')))
    for sg in sim.storage_groups():
        for vsr in sg.virtual_storage_resources.list():
            if vsr.properties.get('partition-uri') == partition.uri:
                devnos.append(vsr.properties.get('device-number'))
    if props.get('boot-device') == 'storage-volume':
        sv = sim.lookup(props.get('boot-storage-volume') or '')
        for path in (sv.properties.get('paths') or []) if sv else []:
            if path.get('partition-uri') == partition.uri:
                boot.append((path.get('device-number'),
                             path.get('target-world-wide-port-name'),
                             path.get('logical-unit-number')))
    for devno in devnos:
        lines.append('zfcp 0.0.%s: FCP device online, link up'
                     % (devno or '0000').lower())
    for n, (devno, wwpn, lun) in enumerate(boot):
        lines.append('scsi %d:0:0:0: Direct-Access     IBM      2145        '
                     '     0000 PQ: 0 ANSI: 6' % n)
        lines.append('zfcp 0.0.%s: LUN 0x%s at port 0x%s is ready'
                     % ((devno or '0000').lower(), (lun or '0').lower(),
                        (wwpn or '0').lower()))
    return lines


def _nic_lines(partition):
    lines = []
    # NIC type -> (card, link type)
    kinds = {'osd': ('OSD Express', 'OSD_10GIG'),
             'iqd': ('HiperSockets', 'HiperSockets')}
    for nic in partition.nics.list():
        nic_type = nic.properties.get('type') or 'osd'
        if nic_type not in kinds:
            continue  # RoCE/CNA NICs are PCI functions, not qeth devices
        devno = (nic.properties.get('device-number') or '0001').lower()
        lines.append('qeth 0.0.%s: Device is a %s card (level: 0199) with '
                     'link type %s.' % ((devno,) + kinds[nic_type]))
        mac = nic.properties.get('mac-address')
        if mac:
            lines.append('qeth 0.0.%s: MAC address %s successfully '
                         'registered on device enc%s' % (devno, mac, devno))
    return lines


def boot_messages(sim, partition, console='login'):
    """What a Linux writes to the console while it boots."""
    props = partition.properties
    host = hostname(partition)
    cpus = (props.get('ifl-processors') or 0) + \
        (props.get('cp-processors') or 0)
    lines = [
        'Linux version 6.8.0-45-generic (buildd@bos03-s390x-012) '
        '(s390x-linux-gnu-gcc-13 (Ubuntu 13.2.0-23ubuntu4) 13.2.0) '
        '#45-Ubuntu SMP Fri Aug 30 10:49:23 UTC 2024',
        'setup: Linux is running natively in 64-bit mode',
        'setup: The maximum memory size is %dMB'
        % (props.get('initial-memory') or 0),
        'smp: Brought up 1 node, %d CPUs' % max(cpus, 1),
    ]
    lines.extend(_fcp_lines(sim, partition))
    lines.extend(_nic_lines(partition))
    lines.append(
        '[  OK  ] Reached target multi-user.target - Multi-User System.')
    if console == 'login':
        lines.extend(['', 'Ubuntu 24.04.1 LTS %s ttyS0' % host, '',
                      '%s login: ' % host])
    elif console == 'listener':
        lines.append(LISTENER_READY)
    return lines


# ---------------------------------------------------------------------------
# Hooks called by the simulator
# ---------------------------------------------------------------------------

def transition_ended(sim, partition, kind, status):
    """A start or stop has ended with ``status`` (called by jobs.advance).

    A start that brings the OS up logs the boot messages.  A stop logs
    nothing: the OS was stopped from outside.  Either way a guest shutdown
    in progress is over.
    """
    guest = get(sim, partition.uri)
    guest.shutdown = None
    guest.password_prompt = False
    guest.vt_state, guest.vt_user = 'login', None
    if kind == 'start' and status in OS_RUNNING:
        for line in boot_messages(sim, partition,
                                  setting(sim, guest, 'console')):
            log(sim, guest, line)


def interrupted(sim, partition_uri):
    """The status was changed from outside: a shutdown in progress ends."""
    guest = sim.guests.get(partition_uri)
    if guest is not None:
        guest.shutdown = None


def advance(sim, now):
    """Finish the guest shutdowns and PSW restarts that are due by now."""
    due = []
    for uri, guest in list(sim.guests.items()):
        if sim.lookup(uri) is None:
            # The partition was deleted: its OS and messages are gone.
            del sim.guests[uri]
            if guest.restart is not None:
                job = sim.jobs.get(guest.restart['job'])
                if job is not None and job['status'] == 'running':
                    jobs.finish(job, 404, errors.NOT_FOUND,
                                "The partition no longer exists")
            continue
        if guest.shutdown is not None and guest.shutdown['end'] <= now:
            due.append((guest.shutdown['end'], 0, uri))
        if guest.restart is not None and guest.restart['end'] <= now:
            due.append((guest.restart['end'], 1, uri))
    # In the order in which they happened.
    for _end, what, uri in sorted(due):
        guest = sim.guests[uri]
        partition = sim.lookup(uri)
        if what == 0:
            _end_shutdown(sim, guest, partition)
        else:
            _end_restart(sim, guest, partition)


def complete_all(sim):
    """Make all guest shutdowns and PSW restarts due now (for tests)."""
    now = sim.now()
    for guest in sim.guests.values():
        for pending in (guest.shutdown, guest.restart):
            if pending is not None:
                pending['end'] = now


def _end_shutdown(sim, guest, partition):
    pending, guest.shutdown = guest.shutdown, None
    if pending is None or \
            partition.properties.get('status') not in OS_RUNNING:
        # Stopped or changed from outside meanwhile.
        return
    log(sim, guest, pending['final'])
    partition.properties['status'] = setting(sim, guest, 'shutdown_outcome')


def _end_restart(sim, guest, partition):
    pending, guest.restart = guest.restart, None
    job = sim.jobs.get(pending['job'])
    status = partition.properties.get('status')
    if status not in RESTART_FROM:
        if job is not None and job['status'] == 'running':
            jobs.finish(job, 409, errors.WRONG_STATE,
                        "The partition status changed to %s while the PSW "
                        "restart was in progress" % status)
        return
    if status in OS_RUNNING:
        # The restart interrupt makes Linux start its crash kernel, if one
        # is loaded (kdump); a shutdown in progress is over.
        guest.shutdown = None
        log(sim, guest, 'Starting crash kernel...')
        if setting(sim, guest, 'kdump'):
            log(sim, guest, 'kdump: saving vmcore to /var/crash/vmcore')
            log(sim, guest, 'kdump: saving vmcore complete')
            log(sim, guest, 'kdump: rebooting')
            # The crash kernel reboots the system: the partition stays
            # active and the OS comes up again.
            guest.password_prompt = False
            guest.vt_state, guest.vt_user = 'login', None
            for line in boot_messages(sim, partition,
                                      setting(sim, guest, 'console')):
                log(sim, guest, line)
        else:
            # [UNCERTAIN] Without a crash kernel the restart ends the OS;
            # we show the partition as 'terminated'.
            log(sim, guest, 'No crash kernel loaded: the system is stopped')
            partition.properties['status'] = 'terminated'
    # [UNCERTAIN] In 'paused' or 'terminated' no OS runs: the restart has
    # no visible effect.
    if job is not None and job['status'] == 'running':
        # Like Start/Stop Partition: no response body, so the job ends
        # with 204 [UNCERTAIN]; zhmcclient's wait then returns None.
        jobs.finish(job, 204)


# ---------------------------------------------------------------------------
# Operations
# ---------------------------------------------------------------------------

def not_running(req, partition):
    props = partition.properties
    return req.err.conflict(
        errors.WRONG_STATE,
        "The operation cannot be performed because partition %s has "
        "status %s" % (props.get('name'), props.get('status')))


def send_os_cmd(sim, req):
    """Send OS Command (synchronous, 204)."""
    partition = partitions.get_partition(sim, req)
    body = req.body if req.body is not None else {}
    v.check_body_is_object(req.err, body)
    v.check_fields(req.err, body, (TEXT, PRIORITY))
    v.check_required(req.err, body, (TEXT,))
    text = body[TEXT]
    v.check_string(req.err, TEXT, text, max_len=COMMAND_MAX, min_len=1)
    priority = body.get(PRIORITY, False)
    v.check_bool(req.err, PRIORITY, priority)
    if partition.properties.get('status') not in OS_RUNNING:
        raise not_running(req, partition)
    typed(sim, partition, text, priority)
    return None


def typed(sim, partition, text, priority=False):
    """A line reaches the guest's console (Send OS Command, ASCII console).

    What reads the console (the guest's ``console`` setting) answers in
    the message log: a getty asks for a password and refuses the login;
    the dpm_console_listener runs a shutdown command and, as its script
    does, says that it ignores any other line.
    """
    guest = get(sim, partition.uri)
    console = setting(sim, guest, 'console')
    if console == 'none':
        # [INFER] Nothing reads the line-mode terminal: the input is not
        # echoed and nothing happens.  (Whether the HMC itself shows a sent
        # command is not documented; the harsher reading is that it does
        # not.)
        return
    # The console echoes the command (ANS zhmc_partition_command.py looks
    # for the command text in the messages that follow it).
    log(sim, guest, text, priority)
    if console == 'login':
        _getty(sim, guest, partition, text)
        return
    command = ' '.join(text.split())
    if not command:
        return
    final = SHUTDOWN_COMMANDS.get(command)
    if final is None:
        if command not in REBOOT_COMMANDS:
            log(sim, guest, LISTENER_IGNORES % text)
        # A reboot command is accepted by the listener; the model has no
        # reboot, so nothing follows.
        return
    if guest.shutdown is None and setting(sim, guest, 'honours_shutdown'):
        log(sim, guest, LISTENER_RUNS % command)
        for line in SHUTDOWN_PROGRESS:
            log(sim, guest, line)
        guest.shutdown = {
            'end': sim.now() + setting(sim, guest, 'shutdown_delay'),
            'final': final}


def _getty(sim, guest, partition, text):
    """A getty: the first line is a user name, the next a password."""
    host = hostname(partition)
    if not text.strip() and not guest.password_prompt:
        # An empty line: the getty asks again.
        log(sim, guest, '%s login: ' % host)
    elif guest.password_prompt:
        guest.password_prompt = False
        for line in ('', 'Login incorrect', '%s login: ' % host):
            log(sim, guest, line)
    else:
        guest.password_prompt = True
        log(sim, guest, 'Password: ')


def _query(req):
    query = req.uri.split('?', 1)[1] if '?' in req.uri else ''
    result = {}
    for name, value in urllib.parse.parse_qsl(query,
                                              keep_blank_values=True):
        if name in QUERY_INT:
            try:
                number = int(value)
            except ValueError:
                number = -1
            if number < 0:
                raise req.err.bad_request(
                    1, "Query parameter '%s': %r is not a valid value"
                    % (name, value))
            result[name] = number
        elif name in QUERY_BOOL:
            if value not in ('true', 'false'):
                raise req.err.bad_request(
                    1, "Query parameter '%s': %r is not true or false"
                    % (name, value))
            result[name] = value == 'true'
        else:
            raise req.err.bad_request(
                1, "Query parameter '%s' is not supported" % name)
    return result


def list_os_messages(sim, req):
    """List OS Messages (synchronous, 200).

    [UNCERTAIN] Accepted in any partition status: the messages stay
    available after the OS stopped.  (The ansible module
    zhmc_partition_messages states that the partition "must be active",
    which may only mean that there is nothing new to read otherwise.)
    """
    partition = partitions.get_partition(sim, req)
    query = _query(req)
    guest = sim.guests.get(partition.uri)
    result = []
    begin = query.get('begin-sequence-number')
    end = query.get('end-sequence-number')
    for msg in guest.messages if guest is not None else ():
        seq = msg['sequence-number']
        if begin is not None and seq < begin:
            continue
        if end is not None and seq > end:
            continue
        if 'is-held' in query and msg['is-held'] != query['is-held']:
            continue
        if 'is-priority' in query and \
                msg['is-priority'] != query['is-priority']:
            continue
        result.append(msg)
    if query.get('max-messages'):
        result = result[:query['max-messages']]
    return {'os-messages': result}


def psw_restart(sim, req):
    """Perform PSW Restart (asynchronous: 202 + job, HMC rule F1)."""
    partition = partitions.get_partition(sim, req)
    if req.body:
        # zhmcclient sends no body.
        v.check_body_is_object(req.err, req.body)
        v.check_fields(req.err, req.body, ())
    if partition.properties.get('status') not in RESTART_FROM:
        raise not_running(req, partition)
    guest = get(sim, partition.uri)
    if guest.restart is not None:
        # [UNCERTAIN] reason: busy with the previous PSW restart.
        raise req.err.conflict(
            errors.BUSY, "A PSW restart of partition %s is in progress"
            % partition.properties.get('name'))
    restart_time = sim.restart_time
    if restart_time is None:
        restart_time = sim.transition_time
    end = sim.now() + restart_time
    # zhmcclient: "This job does not support cancellation."
    job = jobs.new_job(sim, req, end, cancelable=False)
    guest.restart = {'end': end, 'job': job['id']}
    return {'job-uri': job['uri']}
