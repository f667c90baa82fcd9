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

"""The guest image pieces: clean-up, console listener, packages, fragments.

The shell scripts run for real with bash, against fake installation trees
(one per distribution family) and with stub commands in PATH, as the
network tool tests do. The packages are built with the tools found on the
machine (dpkg-deb, rpmbuild); a test whose tool is missing is skipped.
"""

import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ElementTree

import fixtures
import testtools
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.abspath(os.path.join(HERE, '..', '..', '..', '..'))
TOOLS = os.path.join(REPO_ROOT, 'dpm_guest_tools')
CLEANUP = os.path.join(TOOLS, 'usr', 'sbin', 'dpm-image-cleanup')
LISTENER = os.path.join(TOOLS, 'usr', 'bin', 'dpm_console_listener.sh')
INSTALL = os.path.join(TOOLS, 'install.sh')
BUILD_DEB = os.path.join(TOOLS, 'packaging', 'build-deb.sh')
SPEC = os.path.join(TOOLS, 'packaging', 'rpm', 'dpm-guest-tools.spec')
IMAGE = os.path.join(TOOLS, 'image')
BASH = shutil.which('bash') or '/bin/bash'

# What install.sh (and so both packages) must install, with modes.
LAYOUT = {
    'usr/bin/autoconfigure_networking.sh': 0o755,
    'usr/bin/setmac.sh': 0o755,
    'usr/bin/dpm_console_listener.sh': 0o755,
    'usr/sbin/dpm-image-cleanup': 0o755,
    'usr/lib/dpm-guest-tools/dpm_guest_image_tools_common': 0o644,
    'usr/lib/systemd/system/autoconfigure_networking.service': 0o644,
    'usr/lib/systemd/system/dpm_console_listener.service': 0o644,
    'usr/lib/udev/rules.d/80-setmac.rules': 0o644,
    'usr/lib/udev/rules.d/41-dpm-fcp-online.rules': 0o644,
    'usr/lib/dracut/dracut.conf.d/90-dpm-guest-tools.conf': 0o644,
    'usr/share/initramfs-tools/hooks/dpm-guest-tools': 0o755,
    'etc/cloud/cloud.cfg.d/90-nova-dpm.cfg': 0o644,
    'usr/share/doc/dpm-guest-tools/README.rst': 0o644,
}

# The kernel parameters of a RHEL installation onto an FCP volume, with
# the installer's device parameters.
INSTALLER_ARGS = ('rd.znet=qeth,0.0.f500,0.0.f501,0.0.f502,layer2=1,'
                  'portno=0 cio_ignore=all,!condev '
                  'rd.zfcp=0.0.1900,0x500507680b21bac6,0x0000000000000000 '
                  'ip=10.1.2.3::10.1.2.1:24:build:enc1900:none')


def write(root, path, text=''):
    full = os.path.join(root, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, 'w') as f:
        f.write(text)
    return full


def read(root, path):
    with open(os.path.join(root, path)) as f:
        return f.read()


def files(root):
    result = {}
    for base, _dirs, names in os.walk(root):
        for name in names:
            full = os.path.join(base, name)
            result[os.path.relpath(full, root)] = stat.S_IMODE(
                os.stat(full).st_mode)
    return result


class CleanupTestCase(testtools.TestCase):
    """dpm-image-cleanup on fake installations of each family."""

    def setUp(self):
        super().setUp()
        self.root = self.useFixture(fixtures.TempDir()).path
        # Common to all: chzdev's rules for the installer's devices, the
        # machine's identity and state.
        for name in ('41-qeth-0.0.f500.rules', '41-zfcp-host-0.0.1900.rules',
                     '41-zfcp-lun-0.0.1900:0x500507680b21bac6:'
                     '0x0000000000000000.rules', '60-keep-me.rules'):
            write(self.root, 'etc/udev/rules.d/' + name, '# rule\n')
        write(self.root, 'etc/machine-id', '0123456789abcdef\n')
        write(self.root, 'etc/ssh/ssh_host_ed25519_key', 'key')
        write(self.root, 'etc/ssh/ssh_host_ed25519_key.pub', 'key')
        write(self.root, 'etc/ssh/sshd_config', 'config')
        write(self.root, 'etc/multipath/wwids', '/3600507680c80800000/\n')
        write(self.root, 'etc/multipath/bindings', 'mpatha 3600507680c8\n')
        write(self.root, 'var/lib/cloud/instance/obj.pkl', 'state')

    def run_cleanup(self, *args):
        proc = subprocess.run([BASH, CLEANUP] + list(args),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, timeout=60,
                              env={'PATH': os.environ.get('PATH', '')})
        return proc.returncode, proc.stdout, proc.stderr

    def assertCommonCleaned(self, out):
        rules = os.listdir(os.path.join(self.root, 'etc/udev/rules.d'))
        self.assertEqual(['60-keep-me.rules'], rules)
        self.assertEqual('', read(self.root, 'etc/machine-id'))
        self.assertEqual(['sshd_config'],
                         os.listdir(os.path.join(self.root, 'etc/ssh')))
        self.assertEqual([], os.listdir(
            os.path.join(self.root, 'etc/multipath')))
        self.assertEqual([], os.listdir(
            os.path.join(self.root, 'var/lib/cloud')))
        self.assertIn('removed /etc/udev/rules.d/41-qeth-0.0.f500.rules',
                      out)
        self.assertNotIn(self.root, out)

    def test_rhel(self):
        nm = 'etc/NetworkManager/system-connections/'
        write(self.root, nm + 'enc1900.nmconnection',
              '[connection]\nid=enc1900\n[ethernet]\n'
              's390-nettype=qeth\ns390-subchannels=0.0.f500;0.0.f501;'
              '0.0.f502;\n')
        write(self.root, nm + 'vpn.nmconnection', '[connection]\nid=vpn\n')
        write(self.root, 'etc/sysconfig/network-scripts/ifcfg-enc1900',
              'NETTYPE=qeth\nSUBCHANNELS=0.0.f500,0.0.f501,0.0.f502\n')
        write(self.root, 'etc/sysconfig/network-scripts/ifcfg-lo', 'lo\n')
        write(self.root, 'etc/zfcp.conf', '0.0.1900 0x5005 0x0000\n')
        entry = 'boot/loader/entries/abc-5.14.0-427.el9.s390x.conf'
        write(self.root, entry,
              'title Red Hat Enterprise Linux\n'
              'options root=UUID=1234 crashkernel=1G-4G:192M %s rd.lvm=0\n'
              % INSTALLER_ARGS)
        write(self.root, 'etc/kernel/cmdline',
              '%s root=UUID=1234 crashkernel=1G-4G:192M\n' % INSTALLER_ARGS)
        write(self.root, 'boot/initramfs-5.14.0-427.el9.s390xkdump.img', 'x')
        write(self.root, 'boot/initramfs-5.14.0-427.el9.s390x.img', 'x')
        rc, out, err = self.run_cleanup(self.root)
        self.assertEqual(0, rc, err)
        self.assertEqual(['vpn.nmconnection'],
                         os.listdir(os.path.join(self.root, nm)))
        self.assertEqual(['ifcfg-lo'], os.listdir(os.path.join(
            self.root, 'etc/sysconfig/network-scripts')))
        self.assertFalse(os.path.exists(
            os.path.join(self.root, 'etc/zfcp.conf')))
        self.assertEqual('title Red Hat Enterprise Linux\n'
                         'options root=UUID=1234 crashkernel=1G-4G:192M '
                         'rd.lvm=0\n', read(self.root, entry))
        self.assertEqual('root=UUID=1234 crashkernel=1G-4G:192M\n',
                         read(self.root, 'etc/kernel/cmdline'))
        self.assertEqual(['initramfs-5.14.0-427.el9.s390x.img', 'loader'],
                         sorted(os.listdir(os.path.join(self.root, 'boot'))))
        self.assertIn('changed /%s' % entry, out)
        self.assertCommonCleaned(out)

    def test_sles(self):
        write(self.root, 'etc/sysconfig/network/ifcfg-eth0',
              "BOOTPROTO='static'\n")
        write(self.root, 'etc/sysconfig/network/ifcfg-lo', 'lo\n')
        write(self.root, 'etc/default/grub',
              'GRUB_TIMEOUT=8\nGRUB_CMDLINE_LINUX_DEFAULT="%s '
              'crashkernel=200M,high"\nGRUB_CMDLINE_LINUX=""\n'
              % INSTALLER_ARGS)
        write(self.root, 'boot/initrd-6.4.0-150600.21-default-kdump', 'x')
        rc, out, err = self.run_cleanup(self.root)
        self.assertEqual(0, rc, err)
        self.assertEqual(['ifcfg-lo'], os.listdir(
            os.path.join(self.root, 'etc/sysconfig/network')))
        self.assertEqual('GRUB_TIMEOUT=8\nGRUB_CMDLINE_LINUX_DEFAULT='
                         '"crashkernel=200M,high"\nGRUB_CMDLINE_LINUX=""\n',
                         read(self.root, 'etc/default/grub'))
        self.assertEqual([], os.listdir(os.path.join(self.root, 'boot')))
        self.assertCommonCleaned(out)

    def test_ubuntu(self):
        write(self.root, 'etc/netplan/50-cloud-init.yaml', 'network: {}\n')
        write(self.root, 'etc/netplan/00-installer-config.yaml',
              'network: {}\n')
        write(self.root, 'etc/netplan/60-mine.yaml', 'network: {}\n')
        ccd = 'etc/cloud/cloud.cfg.d/'
        write(self.root,
              ccd + 'subiquity-disable-cloudinit-networking.cfg',
              'network: {config: disabled}\n')
        write(self.root, ccd + '90-installer-network.cfg', 'x: 1\n')
        write(self.root, ccd + '90-nova-dpm.cfg', 'datasource_list: []\n')
        write(self.root, 'etc/zipl.conf',
              '[defaultboot]\ndefault=ubuntu\n[ubuntu]\n'
              'target = /boot\nimage = /boot/vmlinuz\n'
              'parameters = root=UUID=1234 %s quiet\n' % INSTALLER_ARGS)
        rc, out, err = self.run_cleanup(self.root)
        self.assertEqual(0, rc, err)
        self.assertEqual(['60-mine.yaml'], os.listdir(
            os.path.join(self.root, 'etc/netplan')))
        self.assertEqual(['90-nova-dpm.cfg'], os.listdir(
            os.path.join(self.root, ccd)))
        self.assertIn('parameters = root=UUID=1234 quiet\n',
                      read(self.root, 'etc/zipl.conf'))
        self.assertCommonCleaned(out)

    # RHEL 9's lvm.conf: the setting commented out (compiled default 1).
    LVM_CONF = ('config {\n\tchecks = 1\n}\n'
                'devices {\n\tdir = "/dev"\n'
                '\t# use_devicesfile = 1\n'
                '\t# devicesfile = "system.devices"\n}\n'
                'global {\n\tumask = 077\n}\n')

    def test_lvm_devices_file_removed_and_disabled(self):
        # Anaconda's LVM layout on RHEL 9/10: the devices file names the
        # physical volume by the WWID of the installation's LUN.
        write(self.root, 'etc/lvm/devices/system.devices',
              '# LVM uses devices listed in this file.\n'
              'VERSION=1.1.2\n'
              'IDTYPE=sys_wwid IDNAME=naa.600507680c8080000000000000000a1b '
              'DEVNAME=/dev/mapper/mpatha2 PVID=abc PART=2\n')
        write(self.root, 'etc/lvm/devices/backup/system.devices-20260101.1',
              'VERSION=1.1.1\n')
        write(self.root, 'etc/lvm/lvm.conf', self.LVM_CONF)
        rc, out, err = self.run_cleanup(self.root)
        self.assertEqual(0, rc, err)
        self.assertEqual(['backup'], os.listdir(
            os.path.join(self.root, 'etc/lvm/devices')))
        self.assertEqual([], os.listdir(
            os.path.join(self.root, 'etc/lvm/devices/backup')))
        self.assertIn('removed /etc/lvm/devices/system.devices', out)
        self.assertIn('changed /etc/lvm/lvm.conf', out)
        self.assertEqual(
            self.LVM_CONF.replace('devices {\n',
                                  'devices {\n\tuse_devicesfile = 0\n'),
            read(self.root, 'etc/lvm/lvm.conf'))
        self.assertCommonCleaned(out)

    def test_lvm_devices_file_setting_changed_in_place(self):
        conf = self.LVM_CONF.replace('# use_devicesfile = 1',
                                     'use_devicesfile = 1')
        write(self.root, 'etc/lvm/lvm.conf', conf)
        rc, out, err = self.run_cleanup(self.root)
        self.assertEqual(0, rc, err)
        text = read(self.root, 'etc/lvm/lvm.conf')
        self.assertEqual(conf.replace('use_devicesfile = 1',
                                      'use_devicesfile = 0'), text)
        self.assertEqual(1, text.count('use_devicesfile'))

    def test_lvm_conf_without_devices_section(self):
        write(self.root, 'etc/lvm/lvm.conf', 'global {\n\tumask = 077\n}\n')
        rc, out, err = self.run_cleanup(self.root)
        self.assertEqual(0, rc, err)
        self.assertEqual('global {\n\tumask = 077\n}\n'
                         'devices {\n\tuse_devicesfile = 0\n}\n',
                         read(self.root, 'etc/lvm/lvm.conf'))

    def test_no_lvm_no_lvm_conf(self):
        rc, out, err = self.run_cleanup(self.root)
        self.assertEqual(0, rc, err)
        self.assertFalse(os.path.exists(os.path.join(self.root, 'etc/lvm')))
        self.assertNotIn('lvm', out)

    def test_ubuntu_kdump_tools_initrd(self):
        # kdump-tools keeps its initrd, built for the installation's
        # devices, under /var/lib/kdump with a version-free symlink.
        kdump = os.path.join(self.root, 'var/lib/kdump')
        write(self.root, 'var/lib/kdump/initrd.img-6.8.0-31-generic', 'x')
        write(self.root, 'var/lib/kdump/vmlinuz-6.8.0-31-generic', 'x')
        os.symlink('initrd.img-6.8.0-31-generic',
                   os.path.join(kdump, 'initrd.img'))
        os.symlink('vmlinuz-6.8.0-31-generic', os.path.join(kdump, 'vmlinuz'))
        rc, out, err = self.run_cleanup(self.root)
        self.assertEqual(0, rc, err)
        self.assertEqual(['vmlinuz', 'vmlinuz-6.8.0-31-generic'],
                         sorted(os.listdir(kdump)))
        self.assertIn('removed /var/lib/kdump/initrd.img-6.8.0-31-generic',
                      out)
        self.assertIn('removed /var/lib/kdump/initrd.img\n', out)

    def test_rebuild_makes_a_generic_initramfs(self):
        # --rebuild runs only on the running system, so the command is
        # checked in the script: no host-only initramfs, where s390-tools'
        # zdev module would record the installation's FCP device.
        with open(CLEANUP) as f:
            script = f.read()
        self.assertRegex(script, r'(?m)^\s*run dracut --force '
                         r'--regenerate-all --no-hostonly '
                         r'--no-hostonly-cmdline$')

    def test_second_run_changes_nothing(self):
        write(self.root, 'etc/lvm/lvm.conf', self.LVM_CONF)
        write(self.root, 'etc/kernel/cmdline', 'root=UUID=1 quiet\n')
        self.run_cleanup(self.root)
        rc, out, _err = self.run_cleanup(self.root)
        self.assertEqual(0, rc)
        self.assertEqual('', out)
        self.assertEqual('root=UUID=1 quiet\n',
                         read(self.root, 'etc/kernel/cmdline'))

    def test_rebuild_only_on_the_running_system(self):
        rc, _out, err = self.run_cleanup('--rebuild', self.root)
        self.assertEqual(2, rc)
        self.assertIn('--rebuild only works on the running system', err)
        self.assertTrue(os.path.exists(
            os.path.join(self.root, 'etc/machine-id')))

    def test_usage(self):
        rc, _out, err = self.run_cleanup('--bogus')
        self.assertEqual(2, rc)
        self.assertIn('usage:', err)


class ConsoleListenerTestCase(testtools.TestCase):
    """dpm_console_listener.sh with stub shutdown commands."""

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.log = os.path.join(self.dir, 'calls.log')
        stubs = os.path.join(self.dir, 'stubs')
        os.makedirs(stubs)
        for name in ('shutdown', 'poweroff', 'reboot', 'systemctl', 'halt',
                     'init', 'ls', 'logger'):
            path = write(stubs, name,
                         '#!%s\necho "%s${*:+ $*}" >> %s\n'
                         % (BASH, name, self.log))
            os.chmod(path, 0o755)
        self.path = stubs

    def listen(self, text):
        proc = subprocess.run([BASH, LISTENER], input=text,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, timeout=60,
                              env={'PATH': self.path})
        self.assertEqual(0, proc.returncode, proc.stderr)
        calls = []
        if os.path.exists(self.log):
            with open(self.log) as f:
                calls = f.read().splitlines()
        return proc.stdout.splitlines(), calls

    def test_shutdown_acknowledged_and_run(self):
        out, calls = self.listen('shutdown  -h now\n')
        self.assertEqual(
            ['dpm_console_listener: waiting for commands on sclp_line0',
             'dpm_console_listener: running: shutdown -h now'], out)
        self.assertEqual(
            ['logger -t dpm_console_listener -p user.notice -- running '
             "'shutdown -h now' sent through the HMC console",
             'shutdown -h now'], calls)

    def test_other_commands_are_refused(self):
        out, calls = self.listen('ls /; shutdown -h now\nrm -rf /\n\n')
        self.assertEqual([], calls)
        self.assertEqual(
            'dpm_console_listener: ignored: ls /; shutdown -h now (not a '
            'shutdown or reboot command)', out[1])
        self.assertEqual(3, len(out))

    def test_every_accepted_command(self):
        commands = ['shutdown -h now', 'shutdown -P now', 'poweroff',
                    'systemctl poweroff', 'init 0', 'halt',
                    'shutdown -r now', 'reboot', 'systemctl reboot']
        out, calls = self.listen('\r\n'.join(commands) + '\r\n')
        self.assertEqual(commands,
                         [c for c in calls if not c.startswith('logger')])
        self.assertEqual(len(commands) + 1, len(out))

    def test_failure_reported(self):
        os.remove(os.path.join(self.path, 'poweroff'))
        out, _calls = self.listen('poweroff')
        self.assertEqual('dpm_console_listener: failed: poweroff', out[-1])

    def test_unit_replaces_the_getty_on_the_hmc_console(self):
        unit = read(TOOLS, 'usr/lib/systemd/system/'
                    'dpm_console_listener.service')
        self.assertIn('ExecStart=/usr/bin/dpm_console_listener.sh', unit)
        self.assertIn('TTYPath=/dev/sclp_line0', unit)
        self.assertRegex(unit, r'(?m)^Conflicts=.*serial-getty@ttyS0\.service'
                         r'.*serial-getty@sclp_line0\.service')
        self.assertIn('StandardOutput=tty', unit)


class PackageTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path

    def install(self):
        dest = os.path.join(self.dir, 'root')
        subprocess.run([BASH, INSTALL, dest], check=True, timeout=60)
        return dest

    def test_install_layout(self):
        dest = self.install()
        self.assertEqual(LAYOUT, files(dest))

    def test_installed_scripts_find_their_library(self):
        dest = self.install()
        # setmac.sh without an argument: usage (2), after loading the
        # library from <prefix>/lib/dpm-guest-tools.
        proc = subprocess.run(
            [BASH, os.path.join(dest, 'usr/bin/setmac.sh')],
            stderr=subprocess.PIPE, universal_newlines=True, timeout=60,
            env={'PATH': '/nonexistent'})
        self.assertEqual(2, proc.returncode, proc.stderr)
        self.assertNotIn('cannot load', proc.stderr)

    def test_library_is_not_a_command(self):
        self.assertFalse(os.path.exists(
            os.path.join(TOOLS, 'usr', 'bin', 'dpm_guest_image_tools_common')))

    def test_dracut_and_initramfs_hook_carry_the_fcp_rule(self):
        rule = '/usr/lib/udev/rules.d/41-dpm-fcp-online.rules'
        self.assertIn(rule.lstrip('/'), LAYOUT)
        conf = read(TOOLS, 'usr/lib/dracut/dracut.conf.d/'
                    '90-dpm-guest-tools.conf')
        self.assertIn('install_items+=" %s "' % rule, conf)
        # A generic initramfs: s390-tools' zdev module writes rd.zfcp= of
        # the build system's root device only in host-only mode.
        self.assertRegex(conf, r'(?m)^hostonly="no"$')
        self.assertRegex(conf, r'(?m)^hostonly_cmdline="no"$')
        hook = read(TOOLS, 'usr/share/initramfs-tools/hooks/dpm-guest-tools')
        self.assertIn('copy_file rule %s' % rule, hook)
        rules = [line for line in read(TOOLS, rule.replace('/usr/', 'usr/'))
                 .splitlines() if line and not line.startswith('#')]
        self.assertIn('DRIVER=="zfcp", ATTR{online}!="1", ATTR{online}="1"',
                      rules)
        self.assertNotIn('KERNEL==', ' '.join(rules))

    def version(self):
        with open(SPEC) as f:
            return re.search(r'(?m)^Version:\s*(\S+)', f.read()).group(1)

    def test_deb_builds(self):
        if not shutil.which('dpkg-deb'):
            self.skipTest('dpkg-deb is not installed')
        out = subprocess.run([BASH, BUILD_DEB, self.dir], check=True,
                             stdout=subprocess.PIPE, universal_newlines=True,
                             timeout=120).stdout.strip()
        self.assertEqual(os.path.join(
            self.dir, 'dpm-guest-tools_%s_all.deb' % self.version()), out)
        fields = subprocess.run(
            ['dpkg-deb', '-f', out, 'Package', 'Version', 'Architecture'],
            check=True, stdout=subprocess.PIPE,
            universal_newlines=True).stdout
        self.assertEqual('Package: dpm-guest-tools\nVersion: %s\n'
                         'Architecture: all\n' % self.version(), fields)
        unpacked = os.path.join(self.dir, 'unpacked')
        subprocess.run(['dpkg-deb', '-x', out, unpacked], check=True)
        self.assertEqual(LAYOUT, files(unpacked))
        control = os.path.join(self.dir, 'control')
        subprocess.run(['dpkg-deb', '-e', out, control], check=True)
        self.assertEqual('/etc/cloud/cloud.cfg.d/90-nova-dpm.cfg\n',
                         read(control, 'conffiles'))

    def test_rpm_builds(self):
        if not shutil.which('rpmbuild'):
            self.skipTest('rpmbuild is not installed')
        top = os.path.join(self.dir, 'rpm')
        proc = subprocess.run(
            ['rpmbuild', '-bb', '--define', '_topdir %s' % top,
             '--define', '_sourcedir %s' % TOOLS, SPEC],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            universal_newlines=True, timeout=300)
        self.assertEqual(0, proc.returncode, proc.stdout)
        rpm = os.path.join(top, 'RPMS', 'noarch',
                           'dpm-guest-tools-%s-1.noarch.rpm' % self.version())
        listed = subprocess.run(
            ['rpm', '-qlp', '--nosignature', rpm], check=True,
            stdout=subprocess.PIPE, universal_newlines=True).stdout.split()
        self.assertEqual(sorted('/' + p for p in LAYOUT),
                         sorted(p for p in listed
                                if p != '/usr/lib/dpm-guest-tools'))


class FragmentTestCase(testtools.TestCase):
    """The kickstart, AutoYaST and autoinstall fragments."""

    def scripts(self):
        """(name, shell script) of every fragment."""
        with open(os.path.join(IMAGE, 'rhel.ks')) as f:
            ks = f.read()
        post = re.search(r'(?ms)^%post[^\n]*\n(.*?)^%end', ks).group(1)
        tree = ElementTree.parse(os.path.join(IMAGE, 'sles.xml'))
        ns = {'y': 'http://www.suse.com/1.0/yast2ns'}
        source = tree.find('.//y:chroot-scripts/y:script/y:source', ns).text
        with open(os.path.join(IMAGE, 'ubuntu.yaml')) as f:
            data = yaml.safe_load(f)
        late = data['autoinstall']['late-commands']
        self.assertEqual(1, len(late))
        words = shlex.split(late[0])
        self.assertEqual(['curtin', 'in-target', '--', 'bash', '-euxc'],
                         words[:5])
        return [('rhel.ks', post), ('sles.xml', source),
                ('ubuntu.yaml', words[5])]

    def test_scripts_parse(self):
        for name, script in self.scripts():
            proc = subprocess.run([BASH, '-n'], input=script,
                                  stderr=subprocess.PIPE,
                                  universal_newlines=True)
            self.assertEqual(0, proc.returncode, '%s: %s'
                             % (name, proc.stderr))

    def test_scripts_set_up_what_the_guide_says(self):
        for name, script in self.scripts():
            text = ' '.join(script.split())
            for needed in (
                    'systemctl mask serial-getty@ttyS0.service '
                    'serial-getty@sclp_line0.service',
                    'systemctl enable dpm_console_listener.service '
                    'autoconfigure_networking.service',
                    'find_multipaths greedy'):
                self.assertIn(needed, text, name)
            self.assertRegex(text, r'kdump', name)
            # The clean-up comes last.
            self.assertTrue(text.rstrip('; ').endswith(
                'dpm-image-cleanup --rebuild'), name)

    def test_commands_they_use_are_shipped(self):
        for name, script in self.scripts():
            for unit in re.findall(r'(dpm\w*\.service|autoconfigure_'
                                   r'networking\.service)', script):
                self.assertIn('usr/lib/systemd/system/' + unit, LAYOUT, name)
            self.assertIn('usr/sbin/dpm-image-cleanup', LAYOUT)

    def test_cloud_init_uses_the_metadata_service(self):
        with open(os.path.join(TOOLS, 'etc', 'cloud', 'cloud.cfg.d',
                               '90-nova-dpm.cfg')) as f:
            cfg = yaml.safe_load(f)
        self.assertEqual(['OpenStack', 'None'], cfg['datasource_list'])
        self.assertEqual(['http://169.254.169.254'],
                         cfg['datasource']['OpenStack']['metadata_urls'])
        self.assertNotIn('ConfigDrive', cfg['datasource_list'])

    def test_plain_partitions(self):
        # No LVM physical volume recorded by the WWID of the
        # installation's LUN (RHEL's devices file).
        with open(os.path.join(IMAGE, 'rhel.ks')) as f:
            ks = f.read()
        commands = [line.split() for line in
                    ks.split('%packages')[0].splitlines()
                    if line and not line.startswith('#')]
        self.assertEqual([['autopart', '--type=plain', '--nohome']],
                         commands)
        with open(os.path.join(IMAGE, 'ubuntu.yaml')) as f:
            storage = yaml.safe_load(f)['autoinstall']['storage']
        self.assertEqual({'layout': {'name': 'direct'}}, storage)

    def test_packages_listed(self):
        with open(os.path.join(IMAGE, 'rhel.ks')) as f:
            ks = f.read()
        for pkg in ('cloud-init', 'device-mapper-multipath', 'kexec-tools',
                    'kdump-utils'):
            self.assertRegex(ks, r'(?m)^%s$' % re.escape(pkg))
        with open(os.path.join(IMAGE, 'ubuntu.yaml')) as f:
            pkgs = yaml.safe_load(f)['autoinstall']['packages']
        self.assertIn('multipath-tools-boot', pkgs)
        self.assertIn('linux-crashdump', pkgs)


class LintTestCase(testtools.TestCase):

    SCRIPTS = (CLEANUP, LISTENER, INSTALL, BUILD_DEB)

    def test_scripts_parse(self):
        hook = os.path.join(TOOLS, 'usr', 'share', 'initramfs-tools',
                            'hooks', 'dpm-guest-tools')
        for script in self.SCRIPTS + (hook,):
            proc = subprocess.run([BASH, '-n', script],
                                  stderr=subprocess.PIPE,
                                  universal_newlines=True)
            self.assertEqual(0, proc.returncode, proc.stderr)

    def test_bashate(self):
        try:
            import bashate  # noqa: F401
        except ImportError:
            self.skipTest('bashate is not installed')
        runner = textwrap.dedent('''\
            import sys
            from bashate import bashate
            sys.exit(bashate.main(sys.argv[1:]))
            ''')
        proc = subprocess.run(
            [sys.executable, '-c', runner, '--error', 'E*']
            + list(self.SCRIPTS),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            universal_newlines=True, timeout=120)
        self.assertEqual(0, proc.returncode, proc.stdout)
