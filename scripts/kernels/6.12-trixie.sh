# shellcheck shell=bash disable=SC2034
# Kernel profile "6.12-trixie": Debian 13's own 6.12 kernel, as trixie users
# run it with security updates (trixie-security's linux-image-amd64; the
# point releases are in trixie). Not the +deb12 build of the "6.12"
# profile: built with trixie's gcc-14 and glibc 2.41, so its kbuild tools
# do not run on Debian 12 - modules are built in a debootstrapped trixie
# chroot (mk-chroot.sh), where apt installs the headers (pulling gcc-14 and
# pahole) and dkms, the path a trixie user takes.
# Trixie is read through private apt lists (private_apt_init in
# lib/kernel-debs.sh, under $CACHE_DIR/apt-trixie).
# Pin it with KVER_6_12_TRIXIE=6.12.NN+deb13-amd64.

PROFILE_META=linux-image-amd64
PROFILE_SUITE=trixie-security
PROFILE_PIN=${KVER_6_12_TRIXIE:-}
PROFILE_HOST_PKGS=(debootstrap)
PROFILE_CHROOT_SUITE=trixie
PROFILE_CHROOT_EXTRA_SUITES=(trixie-security)
# sparse: for `make lint` (C=2 runs in the chroot too).
PROFILE_CHROOT_PKGS=(dkms sparse)

profile_apt_lists_present() {
	private_apt_init trixie trixie trixie-security
	private_apt_lists_present
}
profile_apt_update() {
	private_apt_init trixie trixie trixie-security
	private_apt_update
}
