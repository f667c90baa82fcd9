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
real HMC sends (HMC rule A1): ``http-status``, ``reason``, ``message``,
``request-method`` and ``request-uri``.

Reason codes used here, with how sure we are about them (HMC rules A2, A3,
A4).  The common 400 reason codes are [DOC] IBM, "Common request
validation reason codes" (HMC Web Services API book):

* 400,1  unrecognized or unsupported query parameter [DOC]
* 400,5  missing required field                    [DOC]
* 400,6  unrecognized field (not listed as required or optional input,
         which includes read-only properties)      [DOC]
* 400,7  wrong type, out of range, too long        [DOC] [REAL]
* 400,8  not a unique value (name, device number)  [DOC]
* 400,9  the request body is not well-formed JSON  [DOC]
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
QUERY_PARAMETER = 1
MISSING_FIELD = 5
# IBM: "The request body contains an unrecognized field (i.e. one that is
# not listed as either required or optional ...)": unknown fields and
# read-only ones alike.
UNKNOWN_FIELD = 6
READ_ONLY = UNKNOWN_FIELD
INVALID_VALUE = 7
# IBM: "The value of a field does not provide a unique value for the
# corresponding data model property as required."
DUPLICATE = 8
MALFORMED_JSON = 9
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
