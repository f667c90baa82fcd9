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

"""What every HMC console has from the factory.

zhmcclient's mock starts a console with what its definition lists and
nothing else: no task and no system-defined user role. A real HMC always
has both (HMC rule O1): the tasks are the HMC's own (List Tasks is never
empty), and the system-defined user roles exist from the start; Create
User Role without ``associated-system-defined-user-role-uri`` takes
``hmc-operator-tasks`` (the mock answers 500,99 "Mock setup error" when
that role is missing). :func:`complete` adds those that the definition
does not list.
"""

# System-defined user roles (HMC rule O1): name, description. The names
# are those that zhmcclient's mock and its end-to-end HMC definitions use.
SYSTEM_USER_ROLES = [
    ('hmc-operator-tasks', 'Operator Tasks'),
    ('hmc-advanced-operator-tasks', 'Advanced Operator Tasks'),
    ('hmc-system-programmer-tasks', 'System Programmer Tasks'),
    ('hmc-access-administrator-tasks', 'Access Administrator Tasks'),
    ('hmc-service-representative-tasks', 'Service Representative Tasks'),
    ('hmc-all-system-managed-objects', 'All system managed objects'),
    ('hmc-defined-system-managed-objects',
     'Defined system managed objects'),
]

# A few of the HMC's tasks (HMC rule O1): the tasks that IBM's book names
# as the permissions the operations nova-dpm uses need.
TASKS = [
    ('New Partition', 'Create a partition'),
    ('Delete Partition', 'Delete a partition'),
    ('Partition Details', 'Show and change the properties of a partition'),
    ('Start', 'Start a partition'),
    ('Stop', 'Stop a partition'),
    ('Operating System Messages',
     'Show and send operating system messages of a partition'),
    ('Configure Storage - System Programmer',
     'Define storage groups and their volumes'),
    ('Manage User Roles', 'Define and change user roles'),
    ('Manage Users', 'Define and change users'),
]


def complete(faked_hmc):
    """Add the factory tasks and user roles each console lacks."""
    for console in faked_hmc.consoles.list():
        roles = {r.properties.get('name')
                 for r in console.user_roles.list()}
        for name, description in SYSTEM_USER_ROLES:
            if name in roles:
                continue
            console.user_roles.add({
                'object-id': name,
                'name': name,
                'description': description,
                'type': 'system-defined',
                'associated-system-defined-user-role-uri': None,
                'is-inheritance-enabled': False,
                'is-locked': False,
                'replication-overwrite-possible': False,
                'permissions': [],
            })
        if console.tasks.list():
            continue
        for name, description in TASKS:
            console.tasks.add({
                'name': name,
                'description': description,
                'view-only-mode-supported': False,
            })
