# nova must be monkey patched (or told not to be) before anything else of
# nova is imported. OS_NOVA_DISABLE_EVENTLET_PATCHING=1 selects the native
# threading mode nova-compute 34 runs in; tox runs the suites in both modes.
from nova import monkey_patch; monkey_patch.patch()  # noqa
