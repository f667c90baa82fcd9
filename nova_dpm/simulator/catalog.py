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

"""The ids and names of the shipped HMC definitions, in one place.

The definitions in ``nova_dpm/simulator/definitions`` (z13, z16, z17)
describe the same CPC with the same adapters, so that one nova.conf
``[dpm]`` section fits all of them. Whatever configures nova-dpm for that
CPC (the demo's in-process cloud, the functional tests, the bench, the
unit tests) takes the values from here, never from a copy. A unit test
compares every value with the YAML files, so the two cannot drift apart.

Part of the simulator extra: the driver never imports this module.
"""

# The shipped definitions, by name (``simulator.definition_path(name)``).
DEFINITIONS = ('z13', 'z16', 'z17')
# Those with storage management (storage groups); the others attach
# storage through HBAs.
STORAGE_GROUP_DEFINITIONS = ('z16', 'z17')
# Those whose CPC has no virtual switches (network-express-support): NICs
# go on adapter ports.
NETWORK_EXPRESS_DEFINITIONS = ('z17',)

# The CPC in DPM mode, in every definition.
CPC_ID = 'c1a2b3c4-d5e6-4f70-8a91-b2c3d4e5f607'
CPC_NAME = 'CPC1'
CPC_URI = '/api/cpcs/' + CPC_ID

# The two FCP adapters, one port each (port 0): the storage paths of
# ``[dpm] physical_storage_adapter_mappings``.
FCP_A = 'fc000001-0000-4000-8000-000000000001'
FCP_B = 'fc000002-0000-4000-8000-000000000002'
FCP_ADAPTERS = (FCP_A, FCP_B)
FCP_PORT = 0
STORAGE_PORTS = tuple('/api/adapters/%s/storage-ports/%d' % (a, FCP_PORT)
                      for a in FCP_ADAPTERS)
ADAPTER_MAPPINGS = tuple('%s:%d' % (a, FCP_PORT) for a in FCP_ADAPTERS)

# The OSA adapter (ports 0 and 1) and, where the CPC has them (z13, z16),
# the virtual switch of each of its ports.
OSA = '05a00001-0000-4000-8000-000000000001'
VSWITCH_0 = '5e000000-0000-4000-8000-000000000000'   # OSA-1 port 0
VSWITCH_1 = '5e000001-0000-4000-8000-000000000001'   # OSA-1 port 1
VSWITCHES = (VSWITCH_0, VSWITCH_1)

# The Network Express adapters of the z17 definition (one port each).
NETX_1 = '0e000001-0000-4000-8000-000000000001'
NETX_2 = '0e000002-0000-4000-8000-000000000002'
NETWORK_EXPRESS = (NETX_1, NETX_2)

# The target ports of the storage system on the simulated SAN of the z16
# definition, and of the fake Cinder's storage elsewhere.
# Crypto Express adapters: an EP11 and a CCA coprocessor. LINUX01 uses
# domain 0 of CRYPTO_1 for usage (and domain 1 for control).
CRYPTO_1 = 'c0000001-0000-4000-8000-000000000001'
CRYPTO_2 = 'c0000002-0000-4000-8000-000000000002'
CRYPTO_ADAPTERS = (CRYPTO_1, CRYPTO_2)
CRYPTO_TYPES = ('ep11-coprocessor', 'cca-coprocessor')

TARGET_WWPNS = ('500507680b214ac1', '500507680b224ac1')

# The partitions OpenStack does not own, with their status, in every
# definition.
FOREIGN_PARTITIONS = {'LINUX01': 'active', 'ZVM-PROD': 'active',
                      'TEST-LPAR': 'stopped'}
