# shellcheck shell=bash disable=SC2034
# Kernel profile "6.1-rt": Debian 12's PREEMPT_RT kernel (6.1 with the RT
# patch set), booted with the full suite: on RT, spinlocks become sleeping
# locks and most of the kernel is preemptible, which is where a lock taken
# in the wrong context shows (DEBUG_ATOMIC_SLEEP is off on stock kernels,
# but a sleeping lock in atomic context still splats as "BUG: scheduling
# while atomic").
# Pin it with KVER_6_1_RT=6.1.0-NN-rt-amd64.

PROFILE_META=linux-image-rt-amd64
PROFILE_SUITE=bookworm-security
PROFILE_PIN=${KVER_6_1_RT:-}
PROFILE_HOST_PKGS=(gcc-12 libelf1)
