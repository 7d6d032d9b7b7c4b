# shellcheck shell=bash disable=SC2034
# Kernel profile "6.12": the 6.12 kernel Debian builds for Debian 12
# (6.12.*+deb12, bookworm-security's linux-image-6.12-amd64; gcc-12 and
# glibc 2.36, so it builds natively here). bookworm-backports has an older
# 6.12: resolve from bookworm-security.
# Pin it with KVER_6_12=6.12.NN+deb12-amd64.

PROFILE_META=linux-image-6.12-amd64
PROFILE_SUITE=bookworm-security
PROFILE_PIN=${KVER_6_12:-}
# gcc-12: the kernel's own compiler. libelf1: the prebuilt objtool.
# dwarves (pahole): 6.12's headers ship vmlinux, so kbuild generates BTF for
# every module (without pahole it stops with "pahole: not found").
PROFILE_HOST_PKGS=(gcc-12 libelf1 dwarves)
