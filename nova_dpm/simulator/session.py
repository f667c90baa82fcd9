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

"""zhmcclient transport for the simulated HMC.

:class:`SimulatedSession` is a ``zhmcclient.mock.FakedSession`` whose
``get``/``post``/``delete`` go to :meth:`SimulatedHmc.request`.  What a
real ``zhmcclient.Session`` does on top of HTTP lives here, not in the
simulator: turning a 202 into a :class:`zhmcclient.Job` and retrying on
409,1/409,2 when ``busy_retries`` is given.
"""

import os
import time

import yaml
import zhmcclient
from zhmcclient.mock import FakedSession
from zhmcclient.mock import HmcDefinitionYamlError

from nova_dpm.simulator import console
from nova_dpm.simulator.hmc import SimulatedHmc
from nova_dpm.simulator import local
from nova_dpm.simulator import network
from nova_dpm.simulator import san as san_module

# Top-level key of an HMC definition that describes the simulated SAN
# (san.py); not part of zhmcclient's format, so it is taken out before
# zhmcclient validates the definition.
SAN_KEY = 'simulated_san'

DEFINITIONS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                               'definitions')


def shipped_definitions():
    """Names of the HMC definitions shipped with the simulator."""
    return sorted(f[:-len('.yaml')] for f in os.listdir(DEFINITIONS_DIR)
                  if f.endswith('.yaml'))


def definition_path(name):
    """Path of a shipped HMC definition ('z16', 'z13') or of a file.

    Raises ValueError naming the file and listing the shipped names if the
    file does not exist.
    """
    shipped = os.path.join(DEFINITIONS_DIR, '%s.yaml' % name)
    if os.path.isfile(shipped):
        return shipped
    if os.path.isfile(name):
        return name
    raise ValueError(
        "HMC definition %r not found: it is neither a shipped definition "
        "(%s) nor an existing file" % (name, ', '.join(shipped_definitions())))


class SimulatedSession(FakedSession):
    """A FakedSession whose requests go through a strict SimulatedHmc.

    Build one with :func:`load_session` or :meth:`from_hmc_yaml_file`.
    ``session.simulator`` is the :class:`SimulatedHmc`; ``session.hmc`` is
    still the mock's FakedHmc with the resources.
    """

    simulator = None

    @classmethod
    def _promote(cls, faked, latency, transition_time, san=None):
        # FakedSession.from_hmc_dict() always builds a FakedSession; we
        # promote that object to this subclass (a plain __class__ change,
        # both classes have the same instance layout) and add the
        # simulator.
        faked.__class__ = cls
        faked.simulator = SimulatedHmc(faked.hmc, latency=latency,
                                       transition_time=transition_time,
                                       san=san_module.San(san))
        faked.simulator.session = faked
        return faked

    @classmethod
    def from_hmc_yaml_file(cls, filepath, userid=None, password=None,
                           latency=0.0, transition_time=0.0):
        with open(filepath, encoding='utf-8') as f:
            return cls.from_hmc_yaml(f.read(), filepath, userid, password,
                                     latency, transition_time)

    @classmethod
    def from_hmc_yaml(cls, hmc_yaml, filepath=None, userid=None,
                      password=None, latency=0.0, transition_time=0.0):
        """Build the session from an HMC definition (zhmcclient's format).

        What zhmcclient's mock cannot load is taken out first and applied
        after: API features and the ports of CNA and Network Express
        adapters (network.py), the simulated SAN (top-level
        ``simulated_san``, san.py) and the simulator's real-HMC behaviour
        switches (top-level ``simulator``, see SimulatedHmc.configure).
        """
        try:
            hmc_dict = yaml.safe_load(hmc_yaml)
        except yaml.YAMLError as exc:
            raise HmcDefinitionYamlError(
                'Invalid YAML syntax in HMC definition %s: %s' %
                (filepath or '(string)', exc)) from None
        san = settings = None
        if isinstance(hmc_dict, dict):
            san = hmc_dict.pop(SAN_KEY, None)
            settings = hmc_dict.pop('simulator', None)
        settings = settings or {}
        if not isinstance(settings, dict):
            raise ValueError("The 'simulator' section of HMC definition %s "
                             "must be a mapping of settings"
                             % (filepath or '(string)'))
        taken = network.split_definition(hmc_dict)
        faked = FakedSession.from_hmc_dict(hmc_dict, filepath, userid,
                                           password)
        network.complete(faked.hmc, taken)
        network.complete_adapters(faked.hmc)
        console.complete(faked.hmc)
        session = cls._promote(faked, latency, transition_time, san)
        try:
            session.simulator.configure(**settings)
        except ValueError as exc:
            raise ValueError("HMC definition %s: %s"
                             % (filepath or '(string)', exc))
        return session

    # A client of the HMC's console WebSocket (zhmcclient.OSConsole, the
    # driver) connects to wss://<actual_host>:<port><websocket-uri>, a
    # client of its notifications to <actual_host>:<notification_port>,
    # and both verify the certificate with verify_cert: in-process, those
    # of the LocalServer (local.py), started when first asked for.

    def _local_server(self):
        endpoint = self.simulator.serve_locally()
        if isinstance(endpoint, local.LocalServer):
            return endpoint
        return None

    @property
    def actual_host(self):
        server = self._local_server()
        return server.host if server else super().actual_host

    @property
    def port(self):
        server = self._local_server()
        return server.port if server else super().port

    @property
    def verify_cert(self):
        server = self._local_server()
        return server.ca_file if server else super().verify_cert

    @property
    def notification_port(self):
        """The TCP port of the HMC's notification service (STOMP)."""
        server = self._local_server()
        return server.notification_port if server \
            else zhmcclient.DEFAULT_STOMP_PORT

    def stop_serving(self):
        """Stop the in-process HMC's network side (if it was started)."""
        endpoint = self.simulator.console_endpoint
        if isinstance(endpoint, local.LocalServer):
            endpoint.stop()

    def get(self, uri, resource=None, logon_required=True,
            renew_session=True):
        return self.simulator.request('GET', uri)

    def post(self, uri, resource=None, body=None, logon_required=True,
             wait_for_completion=True, operation_timeout=None,
             renew_session=True, busy_retries=0, busy_wait=0):
        while True:
            try:
                result = self.simulator.request(
                    'POST', uri, body=body,
                    wait_for_completion=wait_for_completion,
                    operation_timeout=operation_timeout,
                    origin=local.ORIGIN)
            except zhmcclient.HTTPError as exc:
                if not self._retry_busy(exc, busy_retries, busy_wait):
                    raise
                busy_retries -= 1
                continue
            if not wait_for_completion and isinstance(result, dict) and \
                    'job-uri' in result:
                # What zhmcclient.Session.post() does with a 202.
                return zhmcclient.Job(self, result['job-uri'], 'POST', uri)
            return result

    def delete(self, uri, resource=None, logon_required=True,
               renew_session=True, busy_retries=0, busy_wait=0):
        while True:
            try:
                self.simulator.request('DELETE', uri)
                return None
            except zhmcclient.HTTPError as exc:
                if not self._retry_busy(exc, busy_retries, busy_wait):
                    raise
                busy_retries -= 1

    @staticmethod
    def _retry_busy(exc, busy_retries, busy_wait):
        # zhmcclient.Session retries 409,1 and 409,2 busy_retries times.
        if exc.http_status == 409 and exc.reason in (1, 2) and \
                busy_retries > 0:
            if busy_wait > 0:
                time.sleep(busy_wait)
            return True
        return False


def load_session(name_or_path, latency=0.0, transition_time=0.0,
                 userid=None, password=None):
    """A SimulatedSession for a shipped definition name or a YAML file."""
    return SimulatedSession.from_hmc_yaml_file(
        definition_path(name_or_path), userid=userid, password=password,
        latency=latency, transition_time=transition_time)
