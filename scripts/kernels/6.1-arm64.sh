# shellcheck shell=bash disable=SC2034
# Kernel profile "6.1-arm64": Debian 12's stock arm64 kernel
# (bookworm-security's linux-image-arm64), where dma-buf is everywhere
# (cameras, V4L2, embedded GPUs) and memory is weakly ordered: a missing
# barrier in the revoke state shows here first.
#
# - The arm64 packages are read through private apt lists that know arm64
#   and amd64 (private_apt_init with PROFILE_ARCH, under
#   $CACHE_DIR/apt-bookworm-arm64).
# - Cross-built: the arm64 headers (their .config, Module.symvers and
#   .kernelvariables, which set ARCH=arm64 and CC=$(CROSS_COMPILE)gcc-12)
#   with the amd64 build of the same linux-kbuild-6.1 (host tools:
#   fixdep, modpost, sign-file), and Debian's gcc-12-aarch64-linux-gnu -
#   the compiler Debian builds these kernels with. DKMS runs on the host
#   with CROSS_COMPILE set, so the modules carry the kernel's own vermagic
#   ("... aarch64") and symbol CRCs.
# - Booted with qemu-system-aarch64 -M virt -cpu max (TCG); the guest's
#   busybox is busybox-static:arm64, the suite is cross-compiled static.
# Pin it with KVER_6_1_ARM64=6.1.0-NN-arm64.

PROFILE_ARCH=arm64
PROFILE_CROSS=aarch64-linux-gnu-
# The user-space tests' compiler (the kernel's comes from .kernelvariables).
PROFILE_CC=aarch64-linux-gnu-gcc-12
PROFILE_META=linux-image-arm64
PROFILE_SUITE=bookworm-security
PROFILE_PIN=${KVER_6_1_ARM64:-}
PROFILE_HOST_PKGS=(gcc-12-aarch64-linux-gnu libc6-dev-arm64-cross qemu-system-arm)

profile_apt_lists_present() {
	private_apt_init bookworm-arm64 bookworm bookworm-security
	private_apt_lists_present
}
profile_apt_update() {
	private_apt_init bookworm-arm64 bookworm bookworm-security
	private_apt_update
}

# The default resolver's packages, but the kbuild tools for this machine
# (amd64), and the guest's busybox for arm64.
eval "default_$(declare -f profile_resolve)"
profile_resolve() {
	local i bb
	default_profile_resolve
	for i in "${!KPKGS[@]}"; do
		case ${KPKGS[i]} in
		linux-kbuild-*) KPKGS[i]=${KPKGS[i]/=/:amd64=} ;;
		esac
	done
	bb=$(kdeb_version_in_suite busybox-static bookworm)
	[[ -n $bb ]] || die "busybox-static has no version in bookworm"
	KPKGS+=("busybox-static=$bb")
}

profile_dkms() {
	CROSS_COMPILE=$PROFILE_CROSS dkms "$@"
}
