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


"""Storage: FCP volumes, the volume connector and boot from volume.

=============  ==========================================================
module         owns
=============  ==========================================================
``base``       the backend interface and the volume path every backend
               shares: connector, WWPN memory, boot plan and boot target
``fc``         Cinder's Fibre Channel connection info, FCP LUNs, the
               choice of the boot path's target
``hba``        the HBA backend (``dpm-storage-management`` off)
``groups``     the storage-group backend (``dpm-storage-management`` on)
``discovery``  FCP storage discovery of a storage group and its waits
``registry``   the backends in the order they are asked
=============  ==========================================================

The names the driver and the tools use are imported here.
"""

from nova_dpm.storage.base import boot_plan  # noqa: F401
from nova_dpm.storage.base import BootPlan  # noqa: F401
from nova_dpm.storage.base import BootVolume  # noqa: F401
from nova_dpm.storage.base import check_volume_boot  # noqa: F401
from nova_dpm.storage.base import NO_STORAGE_PATH  # noqa: F401
from nova_dpm.storage.base import root_volume  # noqa: F401
from nova_dpm.storage.base import StorageBackend  # noqa: F401
from nova_dpm.storage.base import volume_size  # noqa: F401
from nova_dpm.storage.base import WWPN_METADATA  # noqa: F401
from nova_dpm.storage.discovery import can_discover  # noqa: F401
from nova_dpm.storage.discovery import describe_report  # noqa: F401
from nova_dpm.storage.discovery import DISCOVERY_API  # noqa: F401
from nova_dpm.storage.discovery import DISCOVERY_SE  # noqa: F401
from nova_dpm.storage.fc import BootTarget  # noqa: F401
from nova_dpm.storage.fc import check_maps_partition  # noqa: F401
from nova_dpm.storage.fc import choose_boot_target  # noqa: F401
from nova_dpm.storage.fc import fcp_lun  # noqa: F401
from nova_dpm.storage.fc import FcTarget  # noqa: F401
from nova_dpm.storage.fc import parse_fc  # noqa: F401
from nova_dpm.storage.fc import refuse_encrypted  # noqa: F401
from nova_dpm.storage.groups import PLACEHOLDER_SIZE  # noqa: F401
from nova_dpm.storage.groups import StorageGroupBackend  # noqa: F401
from nova_dpm.storage.hba import HbaBackend  # noqa: F401
from nova_dpm.storage.registry import backend_for  # noqa: F401
from nova_dpm.storage.registry import BACKENDS  # noqa: F401
