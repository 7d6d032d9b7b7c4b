# shellcheck shell=bash disable=SC2034
# Kernel profile "6.1": Debian 12's stock kernel, built natively with gcc-12.
#
# The ABI is whatever bookworm-security's linux-image-amd64 points at: the
# plain bookworm metapackage points at an older ABI (point-release lag), and
# users who follow security updates run the newer one.
# Pin it with KVER_6_1=6.1.0-NN-amd64.

PROFILE_META=linux-image-amd64
PROFILE_SUITE=bookworm-security
PROFILE_PIN=${KVER_6_1:-}
# gcc-12: the headers' .kernelvariables set CC=gcc-12 (the kernel's own
# compiler). libelf1: the prebuilt objtool in linux-kbuild-6.1 links it.
# 6.1 headers ship no vmlinux, so no BTF and no pahole.
PROFILE_HOST_PKGS=(gcc-12 libelf1)
