"""nova-dpm: the Nova virt driver for IBM Z and LinuxONE in DPM mode."""
