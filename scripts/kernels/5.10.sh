# shellcheck shell=bash disable=SC2034
# Kernel profile "5.10": Debian 11's stock kernel (bullseye-security's
# linux-image-amd64), the oldest the package supports - the long-term
# kernels (Debian 11, Android GKI 5.10) that upstream will never give a
# revoke.
#
# Its headers want bullseye's gcc-10 and its kbuild tools bullseye's glibc:
# modules are built in a debootstrapped bullseye chroot (mk-chroot.sh) where
# apt installs the headers and bullseye's dkms, the path a Debian 11 user
# takes. Bullseye is read through private apt lists (private_apt_init in
# lib/kernel-debs.sh, under $CACHE_DIR/apt-bullseye).
# Pin it with KVER_5_10=5.10.0-NN-amd64.

PROFILE_META=linux-image-amd64
PROFILE_SUITE=bullseye-security
PROFILE_PIN=${KVER_5_10:-}
PROFILE_HOST_PKGS=(debootstrap)
PROFILE_CHROOT_SUITE=bullseye
PROFILE_CHROOT_EXTRA_SUITES=(bullseye-security)
# sparse: for `make lint` (C=2 runs in the chroot too).
PROFILE_CHROOT_PKGS=(dkms sparse)

profile_apt_lists_present() {
	private_apt_init bullseye bullseye bullseye-security
	private_apt_lists_present
}
profile_apt_update() {
	private_apt_init bullseye bullseye bullseye-security
	private_apt_update
}
