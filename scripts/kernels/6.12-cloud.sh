# shellcheck shell=bash disable=SC2034
# Kernel profile "6.12-cloud": the -cloud-amd64 flavour of Debian 12's 6.12
# kernel (bookworm-security). Build-only: DKMS build, modinfo and
# compile-probe checks against its headers.
# Pin it with KVER_6_12_CLOUD=6.12.NN+deb12-cloud-amd64.

PROFILE_META=linux-image-6.12-cloud-amd64
PROFILE_SUITE=bookworm-security
PROFILE_PIN=${KVER_6_12_CLOUD:-}
PROFILE_BUILD_ONLY=1
PROFILE_HOST_PKGS=(gcc-12 libelf1 dwarves)
