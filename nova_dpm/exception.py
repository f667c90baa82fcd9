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

"""Errors nova-dpm raises. Each message names the option or HMC object and
says what was expected; the troubleshooting guide lists them all."""

try:
    from nova import exception as nova_exception
except ImportError:
    # The Neutron DPM agent (nova_dpm.neutron) runs where nova may not be
    # installed; it needs these errors (from conf.py and hmc.py) only for
    # their messages.
    nova_exception = None


class _Error(Exception):
    """The part of NovaException's interface that nova-dpm uses."""

    msg_fmt = 'An unknown exception occurred.'

    def __init__(self, message=None, **kwargs):
        self.kwargs = kwargs
        if not message:
            message = self.msg_fmt % kwargs
        self.message = message
        super().__init__(message)

    def format_message(self):
        return self.args[0]


_Base = nova_exception.NovaException if nova_exception else _Error


class DPMError(_Base):
    msg_fmt = 'DPM error: %(reason)s'


class InvalidConfiguration(DPMError):
    msg_fmt = 'Invalid configuration [dpm] %(option)s: %(reason)s'


class CpcSubsetInvalid(DPMError):
    """The CPC named by [dpm] cpc_object_id cannot host this subset."""
    msg_fmt = ('CPC subset %(host)s cannot be served: [dpm] %(option)s: '
               '%(reason)s')


class HMCUnavailable(DPMError):
    msg_fmt = 'The HMC is not available: %(reason)s'


class HMCOperationFailed(DPMError):
    msg_fmt = ('HMC operation %(operation)s on %(target)s failed: '
               '%(reason)s')

    @property
    def refused(self):
        """The HMC refused the request itself (HTTP 4xx other than 409).

        Repeating it elsewhere would meet the same refusal; a 409 (wrong
        state, busy), a 5xx or a lost connection may not recur.
        """
        status = self.kwargs.get('http_status') or 0
        return 400 <= status < 500 and status != 409


class HMCLogonRefused(HMCUnavailable):
    """The HMC answered, and refused the logon for good (HMC rule A11).

    Here: any 403 at logon (a wrong userid or password, a disabled user).
    Never retried: HMC password rules can disable a user after a number of
    failed logons, which would lock out every other client of that user.
    nova-compute and the DPM agent stop with exit status EX_CONFIG.
    """
    msg_fmt = ('HMC logon failed: the HMC refused the logon of user '
               '%(user)s (HMC %(host)s, %(answer)s): check [dpm] '
               'hmc_username and hmc_password, and that the user is not '
               'disabled on the HMC (repeated failed logons disable it); '
               'nova-dpm does not log on again until it is restarted')


class HMCPasswordExpired(HMCLogonRefused):
    """The password of the HMC user has expired (409,50, 409,51 or 201)."""
    msg_fmt = ('HMC logon failed: the password of HMC user %(user)s has '
               'expired (HMC %(host)s, %(answer)s): change it on the HMC '
               '(log on to the HMC as %(user)s, or have an HMC '
               'administrator set a new one) and set [dpm] hmc_password '
               'to the new password; nova-dpm does not log on again until '
               'it is restarted')


class HMCTooManySessions(HMCLogonRefused):
    """The HMC user has its maximum number of sessions (400,13)."""
    msg_fmt = ('HMC logon failed: HMC user %(user)s already has the '
               'maximum number of sessions the HMC allows it (HMC '
               '%(host)s, %(answer)s): end sessions of %(user)s on the HMC '
               'or raise its limit there; nova-dpm does not log on again '
               'until it is restarted')


# The exit status of nova-compute and of the DPM agent after a refused
# logon: EX_CONFIG of sysexits.h, which the systemd units name in
# RestartPreventExitStatus so that a wrong password is not retried.
EX_CONFIG = 78


class RefusedToStart(SystemExit):
    """The service stops with EX_CONFIG: the HMC refused its logon.

    ``error`` is the HMCLogonRefused (or subclass) that says why.
    """

    def __init__(self, error):
        super().__init__(EX_CONFIG)
        self.error = error

    def __str__(self):
        return self.error.format_message()


class HMCCertificateUntrusted(HMCUnavailable):
    """The HMC's TLS certificate failed verification: not transient."""
    msg_fmt = ('HMC connection failed: the certificate of HMC %(host)s is '
               'not trusted: %(reason)s. Set [dpm] hmc_ca_bundle to the CA '
               'certificate that signed the HMC certificate (it is not '
               'retried)')


class HMCPermissionDenied(HMCOperationFailed):
    """HTTP 403 reason 1: the HMC user lacks the task permission.

    The logon is fine; the HMC administrator has to grant the permission.
    An object the user has no object-access permission for is answered
    404, as a missing one (HMC rule A10).
    """
    msg_fmt = ('HMC operation %(operation)s on %(target)s was refused: the '
               'HMC user lacks the task permission for it on %(object)s '
               '(HTTP 403 reason 1). Give the user that task permission, '
               'and object-access permission for the objects nova-dpm '
               'manages (HMC message: %(reason)s)')


class CPCResourcesShort(HMCOperationFailed):
    """A start failed because the CPC lacks processors or memory.

    Another host may have them: a build that meets this is rescheduled.
    """
    msg_fmt = ('HMC operation %(operation)s on %(target)s failed: the CPC '
               'lacks the resources to start it: %(reason)s')


class HMCTimeout(DPMError):
    msg_fmt = ('Timed out after %(timeout)s s waiting for %(target)s to '
               'reach %(wanted)s (last status: %(status)s)')


class InvalidVolume(DPMError):
    msg_fmt = 'Volume %(volume)s cannot be used: %(reason)s'


class InvalidNetwork(DPMError):
    msg_fmt = 'Port %(port)s cannot be used: %(reason)s'
