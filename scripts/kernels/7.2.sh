# shellcheck shell=bash disable=SC2034
# Kernel profile "7.2": Debian sid's stock kernel (linux-image-amd64 /
# linux-headers-amd64), the newest dma-buf core (invalidate_mappings,
# dma_buf_attach_revocable, string MODULE_IMPORT_NS).
#
# - Sid is read through a private apt setup: lists and apt's cache under
#   $CACHE_DIR/apt-sid, the sources list a temp file built at run time from
#   this machine's own mirror (no host name is stored anywhere), removed on
#   exit. The system's apt sources are never changed. The archive may be a
#   frozen snapshot, hence Check-Valid-Until=false.
# - Its kbuild hard-codes x86_64-linux-gnu-gcc-16 and its tools need a newer
#   glibc than Debian 12's: modules are built in a debootstrapped sid chroot
#   (mk-chroot.sh; cached per kernel) where apt installs the headers (which
#   pull gcc-16 and pahole) and dkms, and DKMS runs inside it - the path a
#   sid user takes.
# - Booting needs only linux-binary-KVER (the vmlinuz) and linux-base-KVER
#   (modules.builtin, config); linux-modules-KVER (~110 MB) is fetched only
#   for vgem and the drm modules it needs (GUEST_MODULES="" skips it, and
#   the suite skips its vgem cases).
# Pin it with KVER_7_2=7.2.NN+debNN-amd64.

PROFILE_META=linux-image-amd64
PROFILE_SUITE=sid
PROFILE_PIN=${KVER_7_2:-}
PROFILE_HOST_PKGS=(debootstrap)
PROFILE_CHROOT_SUITE=sid
# sparse: for `make lint` (C=2 runs in the chroot too).
PROFILE_CHROOT_PKGS=(dkms sparse)

# Sid's lists: private_apt_init (lib/kernel-debs.sh), under $CACHE_DIR/apt-sid.
profile_apt_lists_present() {
	private_apt_init sid sid
	private_apt_lists_present
}
profile_apt_update() {
	private_apt_init sid sid
	private_apt_update
}
