"""nova-dpm's mutation operators for cosmic-ray; see tools/mutation.py."""
