# shellcheck shell=bash disable=SC2034
# Kernel profile "6.12-rt": the PREEMPT_RT flavour of Debian 12's 6.12
# kernel (bookworm-security, 6.12.*+deb12-rt-amd64; RT is in mainline
# since 6.12). Build-only: DKMS build, modinfo (vermagic says preempt_rt)
# and compile-probe checks; the booted RT kernel is 6.1-rt.
# Pin it with KVER_6_12_RT=6.12.NN+deb12-rt-amd64.

PROFILE_META=linux-image-6.12-rt-amd64
PROFILE_SUITE=bookworm-security
PROFILE_PIN=${KVER_6_12_RT:-}
PROFILE_BUILD_ONLY=1
PROFILE_HOST_PKGS=(gcc-12 libelf1 dwarves)
