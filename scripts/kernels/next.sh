# shellcheck shell=bash disable=SC2034
# Kernel profile "next": the newest kernel Debian has, resolved at run time -
# experimental's linux-image-amd64 (7.3 release candidates as of this
# writing) - so that a core change (a rename like 7.1's move_notify ->
# invalidate_mappings) shows up here before users meet it in sid.
# compat/expected/next holds the probe answers of the kernel it last
# resolved to; a new kernel that changes an answer fails the probe check
# until that file (and, where needed, the compat header) is updated.
#
# Experimental is read through private apt lists (private_apt_init in
# lib/kernel-debs.sh, under $CACHE_DIR/apt-next). Its kbuild wants sid's
# toolchain (gcc-16, glibc): modules are built in a debootstrapped sid
# chroot that also reads experimental (mk-chroot.sh), like the 7.2 profile.
# Packaging is sid's split one (linux-binary/-base/-modules), which the
# default resolver handles.
# Pin it with KVER_NEXT=7.3.N-rcN-amd64 (any KVER experimental has).

PROFILE_META=linux-image-amd64
PROFILE_SUITE=experimental
PROFILE_PIN=${KVER_NEXT:-}
PROFILE_HOST_PKGS=(debootstrap)
PROFILE_CHROOT_SUITE=sid
PROFILE_CHROOT_EXTRA_SUITES=(experimental)
PROFILE_CHROOT_PKGS=(dkms sparse)

profile_apt_lists_present() {
	private_apt_init next experimental
	private_apt_lists_present
}
profile_apt_update() {
	private_apt_init next experimental
	private_apt_update
}
