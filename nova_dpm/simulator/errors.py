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

"""HMC error responses raised by the simulated HMC.

Every error is a :class:`zhmcclient.HTTPError` whose body has the keys a
real HMC sends (hmc-rules A1): ``http-status``, ``reason``, ``message``,
``request-method`` and ``request-uri``.

Reason codes used here, with how sure we are about them (hmc-rules A2, A3,
A4):

* 400,5  missing required field                    [CLIENT]
* 400,6  read-only / not-an-input field            [CLIENT]
* 400,7  wrong type, too long, out of range,
         unsupported field                         [REAL] for type/length
* 400,8  duplicate name or device number           [UNCERTAIN]
* 400,15 exactly one of several fields expected    [REAL]
* 404,1  the object of the URI does not exist      [CLIENT]
* 404,2  an object named in the body does not exist [UNCERTAIN]
* 409,1  object not in the correct state           [CLIENT]
* 409,2  object busy                                [CLIENT]
* 409,40 job not yet ended (Delete Job)            [CLIENT]
* 409,41 job already ended (Cancel Job)            [CLIENT]
"""

import zhmcclient

# Reason codes, named so the code reads like the rules.
MISSING_FIELD = 5
READ_ONLY = 6
INVALID_VALUE = 7
# [UNCERTAIN] The reason for a duplicate name or device number is not
# documented anywhere we could read; 8 is our choice.
DUPLICATE = 8
EXACTLY_ONE = 15
NOT_FOUND = 1
REF_NOT_FOUND = 2
WRONG_STATE = 1
BUSY = 2
JOB_NOT_ENDED = 40
JOB_ENDED = 41
JOB_NOT_CANCELABLE = 4


def http_error(method, uri, status, reason, message):
    """Return a zhmcclient.HTTPError with a proper HMC error body."""
    return zhmcclient.HTTPError({
        'http-status': status,
        'reason': reason,
        'message': message,
        'request-method': method,
        'request-uri': uri,
    })


class HmcErrorFactory:
    """Builds errors for one request (method and URI are filled in)."""

    def __init__(self, method, uri):
        self.method = method
        self.uri = uri

    def error(self, status, reason, message):
        return http_error(self.method, self.uri, status, reason, message)

    def bad_request(self, reason, message):
        return self.error(400, reason, message)

    def not_found(self, message=None, reason=NOT_FOUND):
        if message is None:
            message = "The object designated by %s does not exist" % self.uri
        return self.error(404, reason, message)

    def conflict(self, reason, message):
        return self.error(409, reason, message)
