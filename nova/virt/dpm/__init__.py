"""The module nova loads for ``compute_driver = dpm.DPMDriver``.

nova resolves ``compute_driver`` against the ``nova.virt`` package, so this
shim lives there and only re-exports the driver that is implemented in the
``nova_dpm`` package.
"""

from nova_dpm.driver import DPMDriver

__all__ = ['DPMDriver']
