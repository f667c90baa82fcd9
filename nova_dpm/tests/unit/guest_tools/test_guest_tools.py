#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

"""Run the DPM guest image tools against a fake guest.

The shell scripts under dpm_guest_tools/ are executed for real with bash.
Their inputs are redirected to a temporary directory: a file standing in
for /proc/cmdline and a small fake sysfs tree.  PATH holds nothing but stub
commands (ip, logger, udevadm and optionally chzdev) that log their
arguments, so the tests also prove that the scripts need no other external
programs.  The udevadm and chzdev stubs play the kernel's part: they create
the qeth group device directories the scripts expect to appear.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap

import fixtures
import testtools

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.abspath(os.path.join(HERE, '..', '..', '..', '..'))
TOOLS_DIR = os.path.join(REPO_ROOT, 'dpm_guest_tools')
BIN_DIR = os.path.join(TOOLS_DIR, 'usr', 'bin')
AUTOCONFIG = os.path.join(BIN_DIR, 'autoconfigure_networking.sh')
SETMAC = os.path.join(BIN_DIR, 'setmac.sh')
COMMON = os.path.join(TOOLS_DIR, 'usr', 'lib', 'dpm-guest-tools',
                      'dpm_guest_image_tools_common')
SHELL_SCRIPTS = (AUTOCONFIG, SETMAC, COMMON)
UDEV_RULE = os.path.join(TOOLS_DIR, 'etc', 'udev', 'rules.d',
                         '80-setmac.rules')
UNIT_FILE = os.path.join(TOOLS_DIR, 'usr', 'lib', 'systemd', 'system',
                         'autoconfigure_networking.service')
VECTORS = os.path.join(HERE, 'vectors.json')

BASH = shutil.which('bash') or '/bin/bash'

# The contract between the driver and the guest tools.
CMDLINE_VALUE_RE = re.compile(r'^([0-9a-f]{4},[0-3],[0-9a-f]{12};)+$')

# Stub command: append its name and arguments, as one JSON list per call,
# to $STUB_LOG_DIR/<name>.log.  The udevadm and chzdev stubs then imitate
# what the kernel would do.
_STUB_TEMPLATE = '''\
#!{python}
import json
import os
import sys

name = os.path.basename(sys.argv[0])
with open(os.path.join(os.environ['STUB_LOG_DIR'], name + '.log'),
          'a') as log:
    log.write(json.dumps(sys.argv[1:]) + '\\n')

qeth = os.path.join(os.environ['DPM_SYSFS_ROOT'], 'bus', 'ccwgroup',
                    'drivers', 'qeth')


def make_group_device(busid, online, attrs):
    dev = os.path.join(qeth, busid)
    os.makedirs(dev, exist_ok=True)
    for attr, value in attrs.items():
        with open(os.path.join(dev, attr), 'w') as f:
            f.write(value + '\\n')
    with open(os.path.join(dev, 'online'), 'w') as f:
        f.write(online + '\\n')


if name == 'udevadm' and sys.argv[1:2] == ['settle']:
    group = os.path.join(qeth, 'group')
    with open(group) as f:
        written = f.read().strip()
    if written:
        with open(os.path.join(os.environ['STUB_LOG_DIR'], 'group.log'),
                  'a') as log:
            log.write(written + '\\n')
        make_group_device(written.split(',')[0], '0',
                          {{'layer2': '0', 'portno': '0'}})
        open(group, 'w').close()
elif name == 'chzdev':
    args = sys.argv[1:]
    if os.environ.get('STUB_CHZDEV_FAIL'):
        sys.exit(3)
    busid = args[args.index('qeth') + 1].split(':')[0]
    attrs = dict(a.split('=', 1) for a in args if '=' in a)
    # Like chzdev: layer2 and portno change only while the device is
    # offline; on an online device a different value is a conflict.
    dev = os.path.join(qeth, busid)
    if os.path.exists(os.path.join(dev, 'online')):
        with open(os.path.join(dev, 'online')) as f:
            online = f.read().strip() == '1'
        for attr in ('layer2', 'portno'):
            with open(os.path.join(dev, attr)) as f:
                if online and attr in attrs and (
                        f.read().strip() != attrs[attr]):
                    sys.exit(4)
    make_group_device(busid, '1', attrs)
elif name == 'ip' and os.environ.get('STUB_IP_FAIL'):
    sys.exit(2)
'''


def load_vectors():
    with open(VECTORS) as f:
        return json.load(f)


class FakeGuest(fixtures.Fixture):
    """A temporary stand-in for the parts of a guest the tools touch."""

    def __init__(self, with_chzdev=False):
        super().__init__()
        self.with_chzdev = with_chzdev

    def _setUp(self):
        self.root = self.useFixture(fixtures.TempDir()).path
        self.sysfs = os.path.join(self.root, 'sys')
        self.qeth = os.path.join(self.sysfs, 'bus', 'ccwgroup', 'drivers',
                                 'qeth')
        os.makedirs(self.qeth)
        open(os.path.join(self.qeth, 'group'), 'w').close()
        os.makedirs(os.path.join(self.sysfs, 'class', 'net'))
        self.cmdline_file = os.path.join(self.root, 'cmdline')
        self.logs = os.path.join(self.root, 'logs')
        os.makedirs(self.logs)
        self.stubs = os.path.join(self.root, 'stubs')
        os.makedirs(self.stubs)
        stub = _STUB_TEMPLATE.format(python=sys.executable)
        names = ['ip', 'logger', 'udevadm']
        if self.with_chzdev:
            names.append('chzdev')
        for name in names:
            path = os.path.join(self.stubs, name)
            with open(path, 'w') as f:
                f.write(stub)
            os.chmod(path, 0o755)
        # The scripts may sleep while waiting for a group device.
        os.symlink(shutil.which('sleep'), os.path.join(self.stubs, 'sleep'))

    def set_cmdline(self, text):
        with open(self.cmdline_file, 'w') as f:
            f.write(text + '\n')

    def add_group_device(self, devno, online=False, port=0):
        dev = os.path.join(self.qeth, '0.0.' + devno)
        os.makedirs(dev)
        for attr, value in (('layer2', '1' if online else '0'),
                            ('portno', str(port)),
                            ('online', '1' if online else '0')):
            with open(os.path.join(dev, attr), 'w') as f:
                f.write(value + '\n')

    def add_interface(self, ifname, busid):
        """Create class/net/<ifname>/device pointing at a ccwgroup dev."""
        dev = os.path.join(self.sysfs, 'devices', 'qeth', busid)
        os.makedirs(dev, exist_ok=True)
        netdir = os.path.join(self.sysfs, 'class', 'net', ifname)
        os.makedirs(netdir)
        os.symlink(os.path.relpath(dev, netdir),
                   os.path.join(netdir, 'device'))

    def run(self, script, *args, **env_extra):
        env = {
            'PATH': self.stubs,
            'DPM_PROC_CMDLINE': self.cmdline_file,
            'DPM_SYSFS_ROOT': self.sysfs,
            'DPM_GROUP_TIMEOUT': '3',
            'STUB_LOG_DIR': self.logs,
        }
        env.update(env_extra)
        proc = subprocess.run([BASH, script] + list(args), env=env,
                              cwd=self.root,
                              stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE,
                              universal_newlines=True, timeout=60)
        return proc.returncode, proc.stdout, proc.stderr

    def calls(self, name):
        path = os.path.join(self.logs, name + '.log')
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [json.loads(line) for line in f]

    def group_writes(self):
        path = os.path.join(self.logs, 'group.log')
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return f.read().split()

    def attr(self, devno, name):
        with open(os.path.join(self.qeth, '0.0.' + devno, name)) as f:
            return f.read().strip()

    def configured(self):
        """Map devno -> port of every online layer-2 group device."""
        result = {}
        for busid in sorted(os.listdir(self.qeth)):
            if busid == 'group':
                continue
            devno = busid.split('.')[-1]
            if self.attr(devno, 'online') == '1':
                self.assertLayer2(devno)
                result[devno] = int(self.attr(devno, 'portno'))
        return result

    def assertLayer2(self, devno):
        if self.attr(devno, 'layer2') != '1':
            raise AssertionError('0.0.%s is online but not in layer 2 mode'
                                 % devno)

    def ip_calls(self):
        return self.calls('ip')


class CommonParserTestCase(testtools.TestCase):
    """dpm_parse_cmdline, called through a tiny bash wrapper."""

    def setUp(self):
        super().setUp()
        self.guest = self.useFixture(FakeGuest())

    def parse(self, cmdline):
        self.guest.set_cmdline(cmdline)
        script = os.path.join(self.guest.root, 'parse.sh')
        with open(script, 'w') as f:
            f.write('source %s\ndpm_parse_cmdline\n' % COMMON)
        rc, out, err = self.guest.run(script)
        entries = [tuple(line.split()) for line in out.splitlines()]
        return rc, entries, err

    def test_entries_with_mac(self):
        rc, entries, err = self.parse(
            '0001,1,fa163e000011;0004,0,fa163e000012;')
        self.assertEqual(0, rc, err)
        self.assertEqual([('0001', '1', 'fa163e000011'),
                          ('0004', '0', 'fa163e000012')], entries)

    def test_entries_without_mac(self):
        rc, entries, err = self.parse('0001,1;1f00,3;')
        self.assertEqual(0, rc, err)
        self.assertEqual([('0001', '1', '-'), ('1f00', '3', '-')], entries)

    def test_other_parameters_are_ignored(self):
        rc, entries, err = self.parse(
            'BOOT_IMAGE=/boot/vmlinuz root=/dev/mapper/root ro '
            'console=ttysclp0,115200 rd.znet=qeth,0.0.0600,layer2=1 '
            '0001,2,fa163e000011; quiet crashkernel=196M')
        self.assertEqual(0, rc, err)
        self.assertEqual([('0001', '2', 'fa163e000011')], entries)

    def test_upper_case_is_normalised(self):
        rc, entries, err = self.parse('1F00,0,FA163E0000AB;')
        self.assertEqual(0, rc, err)
        self.assertEqual([('1f00', '0', 'fa163e0000ab')], entries)

    def test_no_entries(self):
        rc, entries, err = self.parse('root=/dev/sda1 ro quiet')
        self.assertEqual(0, rc, err)
        self.assertEqual([], entries)

    def test_malformed_entries_reported_good_ones_kept(self):
        bad = ['001,1,fa163e000011;',      # 3-digit devno
               '0002,4,fa163e000012;',     # port out of range
               '0003,1,fa163e00001;',      # 11-digit mac
               '0004,1,fa163e0000zz;',     # not hex
               'fffe,0,fa163e000013;',     # devno + 2 overflows
               '0005,1,fa:16:3e:00:00:14;']  # mac with colons
        good = '0010,1,fa163e000020;'
        rc, entries, err = self.parse(good + ''.join(bad))
        self.assertEqual(1, rc)
        self.assertEqual([('0010', '1', 'fa163e000020')], entries)
        self.assertEqual(len(bad), err.count('malformed NIC entry'), err)

    def test_unterminated_entry(self):
        rc, entries, err = self.parse('0001,1,fa163e000011;0004,0')
        self.assertEqual(1, rc)
        self.assertEqual([('0001', '1', 'fa163e000011')], entries)
        self.assertIn("'0004,0'", err)
        self.assertIn("must end with ';'", err)

    def test_duplicate_devno(self):
        rc, entries, err = self.parse(
            '0001,1,fa163e000011;0001,0,fa163e000012;')
        self.assertEqual(1, rc)
        self.assertEqual([('0001', '1', 'fa163e000011')], entries)
        self.assertIn('duplicate', err)

    def test_glob_characters_are_not_expanded(self):
        open(os.path.join(self.guest.root, '0009,1;'), 'w').close()
        rc, entries, err = self.parse('*')
        self.assertEqual(0, rc, err)
        self.assertEqual([], entries)


class AutoconfigureTestCase(testtools.TestCase):
    """autoconfigure_networking.sh through the qeth sysfs interface."""

    with_chzdev = False

    def setUp(self):
        super().setUp()
        self.guest = self.useFixture(FakeGuest(with_chzdev=self.with_chzdev))

    def autoconfigure(self, cmdline):
        self.guest.set_cmdline(cmdline)
        return self.guest.run(AUTOCONFIG)

    def assertGrouped(self, devnos):
        if self.with_chzdev:
            groups = [c[c.index('qeth') + 1] for c in
                      self.guest.calls('chzdev')]
            sep = ':'
        else:
            groups = self.guest.group_writes()
            sep = ','
        expected = []
        for devno in devnos:
            first = int(devno, 16)
            expected.append(sep.join('0.0.%04x' % (first + i)
                                     for i in range(3)))
        self.assertEqual(expected, groups)

    def test_single_flat_nic(self):
        rc, out, err = self.autoconfigure('0001,0,fa163e000011;')
        self.assertEqual(0, rc, err)
        self.assertEqual({'0001': 0}, self.guest.configured())
        self.assertGrouped(['0001'])

    def test_several_nics_including_port_1(self):
        rc, out, err = self.autoconfigure(
            '0001,1,fa163e000011;0004,0,fa163e000012;1f00,3,fa163e000013;')
        self.assertEqual(0, rc, err)
        self.assertEqual({'0001': 1, '0004': 0, '1f00': 3},
                         self.guest.configured())
        self.assertGrouped(['0001', '0004', '1f00'])

    def test_entries_without_mac(self):
        rc, out, err = self.autoconfigure('0001,1;0004,2;')
        self.assertEqual(0, rc, err)
        self.assertEqual({'0001': 1, '0004': 2}, self.guest.configured())

    def test_other_kernel_parameters_around(self):
        rc, out, err = self.autoconfigure(
            'BOOT_IMAGE=(hd0)/vmlinuz root=UUID=1234-abcd ro '
            'cio_ignore=all,!condev 0001,1,fa163e000011; quiet')
        self.assertEqual(0, rc, err)
        self.assertEqual({'0001': 1}, self.guest.configured())

    def test_malformed_entry_fails_but_good_ones_configured(self):
        rc, out, err = self.autoconfigure(
            '0001,1,fa163e000011;00x4,0,fa163e000012;0007,5;0010,2;')
        self.assertEqual(1, rc)
        self.assertIn("malformed NIC entry '00x4,0,fa163e000012;'", err)
        self.assertIn("malformed NIC entry '0007,5;'", err)
        self.assertEqual({'0001': 1, '0010': 2}, self.guest.configured())
        self.assertGrouped(['0001', '0010'])

    def test_online_device_on_the_right_port_left_alone(self):
        self.guest.add_group_device('0001', online=True, port=1)
        rc, out, err = self.autoconfigure(
            '0001,1,fa163e000011;0004,0,fa163e000012;')
        self.assertEqual(0, rc, err)
        self.assertIn('0.0.0001 is already online in layer 2 mode on port 1',
                      err)
        self.assertEqual({'0001': 1, '0004': 0}, self.guest.configured())
        self.assertGrouped(['0004'])

    def test_online_device_on_another_port_is_configured_again(self):
        # An image captured from an instance: a persistent rule (or
        # another tool) brought 0001 up with the old instance's port 0.
        self.guest.add_group_device('0001', online=True, port=0)
        rc, out, err = self.autoconfigure('0001,1,fa163e000011;')
        self.assertEqual(0, rc, err)
        self.assertIn('0.0.0001 is online with layer2=1 portno=0; setting '
                      'it offline to configure port 1', err)
        self.assertEqual({'0001': 1}, self.guest.configured())
        if self.with_chzdev:
            # The group device exists already; chzdev configures it.
            self.assertGrouped(['0001'])
        else:
            # Reconfigured in place, never grouped again.
            self.assertGrouped([])

    def test_online_device_in_layer_3_is_configured_again(self):
        self.guest.add_group_device('0004', online=True, port=2)
        with open(os.path.join(self.guest.qeth, '0.0.0004', 'layer2'),
                  'w') as f:
            f.write('0\n')
        rc, out, err = self.autoconfigure('0004,2,fa163e000011;')
        self.assertEqual(0, rc, err)
        self.assertIn('online with layer2=0 portno=2', err)
        self.assertEqual({'0004': 2}, self.guest.configured())

    def test_no_entries_is_a_no_op(self):
        rc, out, err = self.autoconfigure('root=/dev/sda1 quiet')
        self.assertEqual(0, rc, err)
        self.assertEqual({}, self.guest.configured())
        self.assertEqual([], self.guest.calls('chzdev'))
        self.assertEqual([], self.guest.group_writes())

    def test_messages_go_to_logger(self):
        rc, out, err = self.autoconfigure('0001,1,fa163e000011;zz;')
        self.assertEqual(1, rc)
        messages = ' '.join(c[-1] for c in self.guest.calls('logger'))
        self.assertIn('malformed NIC entry', messages)
        self.assertIn('configured qeth device 0.0.0001', messages)


class AutoconfigureChzdevTestCase(AutoconfigureTestCase):
    """The same cases again, with chzdev available on PATH."""

    with_chzdev = True

    def test_chzdev_arguments(self):
        rc, out, err = self.autoconfigure('1f00,3,fa163e000011;')
        self.assertEqual(0, rc, err)
        # The active configuration only: chzdev writes no udev rule
        # (41-qeth-*.rules) that a captured image would carry along.
        self.assertEqual(
            [['--enable', '--active', '--yes', 'qeth',
              '0.0.1f00:0.0.1f01:0.0.1f02', 'layer2=1', 'portno=3']],
            self.guest.calls('chzdev'))
        for call in self.guest.calls('chzdev'):
            self.assertNotIn('--persistent', call)
        # chzdev does the whole job; the sysfs group file stays untouched.
        self.assertEqual([], self.guest.group_writes())

    def test_chzdev_failure_reported(self):
        self.guest.set_cmdline('0001,1,fa163e000011;')
        rc, out, err = self.guest.run(AUTOCONFIG, STUB_CHZDEV_FAIL='1')
        self.assertEqual(1, rc)
        self.assertIn('chzdev failed to configure qeth device 0.0.0001',
                      err)


class AutoconfigureSysfsFailureTestCase(testtools.TestCase):

    def test_group_device_never_appears(self):
        guest = self.useFixture(FakeGuest())
        # Without the udevadm stub nothing creates the group device.
        os.unlink(os.path.join(guest.stubs, 'udevadm'))
        guest.set_cmdline('0001,1,fa163e000011;')
        rc, out, err = guest.run(AUTOCONFIG)
        self.assertEqual(1, rc)
        self.assertIn('qeth group device 0.0.0001 did not appear', err)


class SetmacTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.guest = self.useFixture(FakeGuest())
        self.guest.add_interface('enc1', '0.0.0001')
        self.guest.add_interface('enc4', '0.0.0004')

    def setmac(self, cmdline, ifname='enc1', **env):
        self.guest.set_cmdline(cmdline)
        return self.guest.run(SETMAC, ifname, **env)

    def test_sets_mac_of_matching_entry(self):
        rc, out, err = self.setmac(
            'ro 0001,1,fa163e000011;0004,0,fa163e000012; quiet', 'enc4')
        self.assertEqual(0, rc, err)
        self.assertEqual(
            [['link', 'set', 'dev', 'enc4', 'address', 'fa:16:3e:00:00:12']],
            self.guest.ip_calls())

    def test_upper_case_bus_id(self):
        self.guest.add_interface('encab', '0.0.00AB')
        rc, out, err = self.setmac('00ab,0,02000000abcd;', 'encab')
        self.assertEqual(0, rc, err)
        self.assertEqual(
            [['link', 'set', 'dev', 'encab', 'address', '02:00:00:00:ab:cd']],
            self.guest.ip_calls())

    def test_no_entry_for_device(self):
        rc, out, err = self.setmac('0004,0,fa163e000012;', 'enc1')
        self.assertEqual(0, rc, err)
        self.assertEqual([], self.guest.ip_calls())

    def test_no_entries_at_all(self):
        rc, out, err = self.setmac('root=/dev/sda1')
        self.assertEqual(0, rc, err)
        self.assertEqual([], self.guest.ip_calls())

    def test_entry_without_mac_leaves_mac_alone(self):
        rc, out, err = self.setmac('0001,1;')
        self.assertEqual(0, rc, err)
        self.assertEqual([], self.guest.ip_calls())
        self.assertIn('has no MAC address', err)

    def test_global_unicast_mac_refused(self):
        # 0x00: the locally administered bit is clear.
        rc, out, err = self.setmac('0001,1,001122334455;')
        self.assertEqual(1, rc)
        self.assertEqual([], self.guest.ip_calls())
        self.assertIn('refusing MAC address 00:11:22:33:44:55', err)
        logged = [c for c in self.guest.calls('logger')
                  if 'refusing' in c[-1]]
        self.assertEqual(1, len(logged))
        self.assertIn('user.err', logged[0])

    def test_multicast_mac_refused(self):
        # 0xfb: locally administered, but the group bit is set.
        rc, out, err = self.setmac('0001,1,fb163e000011;')
        self.assertEqual(1, rc)
        self.assertEqual([], self.guest.ip_calls())
        self.assertIn('refusing MAC address fb:16:3e:00:00:11', err)

    def test_broadcast_mac_refused(self):
        rc, out, err = self.setmac('0001,1,ffffffffffff;')
        self.assertEqual(1, rc)
        self.assertEqual([], self.guest.ip_calls())

    def test_malformed_other_entry_does_not_block(self):
        rc, out, err = self.setmac('0004,9,zz;0001,1,fa163e000011;')
        self.assertEqual(0, rc, err)
        self.assertEqual(
            [['link', 'set', 'dev', 'enc1', 'address', 'fa:16:3e:00:00:11']],
            self.guest.ip_calls())

    def test_ip_failure(self):
        rc, out, err = self.setmac('0001,1,fa163e000011;', STUB_IP_FAIL='1')
        self.assertEqual(1, rc)
        self.assertIn('failed to set MAC address', err)

    def test_interface_without_device(self):
        os.makedirs(os.path.join(self.guest.sysfs, 'class', 'net', 'lo'))
        rc, out, err = self.setmac('0001,1,fa163e000011;', 'lo')
        self.assertEqual(1, rc)
        self.assertIn('cannot determine the device number', err)
        self.assertEqual([], self.guest.ip_calls())

    def test_usage(self):
        self.guest.set_cmdline('')
        rc, out, err = self.guest.run(SETMAC)
        self.assertEqual(2, rc)
        self.assertIn('usage', err)


class SharedVectorTestCase(testtools.TestCase):
    """The cmdline strings the driver is required to produce."""

    def test_vector_format(self):
        vectors = load_vectors()
        self.assertGreater(len(vectors), 0)
        for case in vectors:
            self.assertEqual({'nics', 'cmdline'}, set(case))
            cmdline = case['cmdline']
            self.assertRegex(cmdline, CMDLINE_VALUE_RE)
            self.assertLessEqual(len(cmdline), 256)
            expected = ''.join(
                '%s,%d,%s;' % (nic['devno'], nic['port'],
                               nic['mac'].replace(':', ''))
                for nic in case['nics'])
            self.assertEqual(expected, cmdline)
            for nic in case['nics']:
                self.assertEqual({'devno', 'port', 'mac'}, set(nic))
                self.assertRegex(nic['mac'], '^([0-9a-f]{2}:){5}[0-9a-f]{2}$')
                self.assertIsInstance(nic['port'], int)

    def _check_case(self, case, with_chzdev):
        guest = self.useFixture(FakeGuest(with_chzdev=with_chzdev))
        guest.set_cmdline('BOOT_IMAGE=0 root=/dev/sda1 ' + case['cmdline'])
        rc, out, err = guest.run(AUTOCONFIG)
        self.assertEqual(0, rc, err)
        self.assertEqual({nic['devno']: nic['port'] for nic in case['nics']},
                         guest.configured())
        for i, nic in enumerate(case['nics']):
            ifname = 'enc%d' % i
            guest.add_interface(ifname, '0.0.' + nic['devno'])
            rc, out, err = guest.run(SETMAC, ifname)
            self.assertEqual(0, rc, err)
        self.assertEqual(
            [['link', 'set', 'dev', 'enc%d' % i, 'address', nic['mac']]
             for i, nic in enumerate(case['nics'])],
            guest.ip_calls())

    def test_vectors_sysfs(self):
        for case in load_vectors():
            self._check_case(case, with_chzdev=False)

    def test_vectors_chzdev(self):
        for case in load_vectors():
            self._check_case(case, with_chzdev=True)


class PackagingTestCase(testtools.TestCase):

    def test_scripts_are_executable(self):
        for script in (AUTOCONFIG, SETMAC):
            self.assertTrue(os.access(script, os.X_OK), script)

    def test_scripts_parse(self):
        for script in SHELL_SCRIPTS:
            proc = subprocess.run([BASH, '-n', script],
                                  stderr=subprocess.PIPE,
                                  universal_newlines=True)
            self.assertEqual(0, proc.returncode, proc.stderr)

    def test_udev_rule_runs_setmac_for_qeth(self):
        with open(UDEV_RULE) as f:
            rules = [line for line in f
                     if line.strip() and not line.startswith('#')]
        self.assertEqual(1, len(rules))
        rule = rules[0]
        for part in ('ACTION=="add"', 'SUBSYSTEM=="net"', 'DRIVERS=="qeth"',
                     'RUN+="/usr/bin/setmac.sh $name"'):
            self.assertIn(part, rule)

    def test_unit_ordering(self):
        with open(UNIT_FILE) as f:
            unit = f.read()
        self.assertIn('ExecStart=/usr/bin/autoconfigure_networking.sh', unit)
        self.assertIn('Type=oneshot', unit)
        self.assertRegex(unit, r'(?m)^Before=.*\bcloud-init-local\.service')
        self.assertRegex(unit, r'(?m)^Before=.*\bnetwork-pre\.target')
        self.assertRegex(unit, r'(?m)^After=.*\bsystemd-udev-settle\.service')


class BashateTestCase(testtools.TestCase):

    def test_bashate(self):
        try:
            import bashate  # noqa: F401
        except ImportError:
            self.skipTest('bashate is not installed; install it (see '
                          'test-requirements.txt) to lint the guest tools')
        runner = textwrap.dedent('''\
            import sys
            from bashate import bashate
            sys.exit(bashate.main(sys.argv[1:]))
            ''')
        proc = subprocess.run(
            [sys.executable, '-c', runner, '--error', 'E*', '--verbose']
            + list(SHELL_SCRIPTS),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            universal_newlines=True, timeout=120)
        self.assertEqual(0, proc.returncode, proc.stdout)
