"""The original spelling: ``compute_driver = dpm.driver.DPMDriver``."""

from nova_dpm.driver import DPMDriver

__all__ = ['DPMDriver']
