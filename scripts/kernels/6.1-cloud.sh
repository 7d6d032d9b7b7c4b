# shellcheck shell=bash disable=SC2034
# Kernel profile "6.1-cloud": Debian 12's -cloud-amd64 flavour (a trimmed
# config for VMs: no DRM drivers, hence no vgem). Build-only: DKMS build,
# modinfo and compile-probe checks against its headers; nothing is booted.
# Pin it with KVER_6_1_CLOUD=6.1.0-NN-cloud-amd64.

PROFILE_META=linux-image-cloud-amd64
PROFILE_SUITE=bookworm-security
PROFILE_PIN=${KVER_6_1_CLOUD:-}
PROFILE_BUILD_ONLY=1
PROFILE_HOST_PKGS=(gcc-12 libelf1)
