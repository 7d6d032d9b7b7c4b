#!/usr/bin/env bash
# fetch-kernel.sh PROFILE ENV_OUT
#
# Resolve the kernel of profile PROFILE (scripts/kernels/PROFILE.sh) from the
# archive, download its image and headers .debs (never installed on the
# host) and extract them into a staging root in the cache. Writes
# shell-sourceable KVER/KROOT/KDIR/VMLINUZ/KMODDIR to ENV_OUT.
#
# Cache: $CACHE_DIR/debs/*.deb (shared pool) and $CACHE_DIR/kernels/KVER/
# (root/ = extracted tree, packages = what root/ was built from). A second
# run with the same resolved packages only re-reads apt's local lists.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
# shellcheck source=scripts/lib/kernel-debs.sh
. "$SCRIPTS_DIR/lib/kernel-debs.sh"

profile=${1:?usage: fetch-kernel.sh PROFILE ENV_OUT}
env_out=${2:?usage: fetch-kernel.sh PROFILE ENV_OUT}
profile_file="$SCRIPTS_DIR/kernels/$profile.sh"
[[ -f $profile_file ]] || die "no kernel profile $profile_file"
# shellcheck source=scripts/kernels/6.1.sh
. "$profile_file"

ensure_pkgs "${PROFILE_HOST_PKGS[@]}"
# A profile that builds its kernel instead of taking Debian's (debug) does
# the whole step itself and writes ENV_OUT the same way.
if declare -F profile_fetch >/dev/null; then
	profile_fetch "$env_out"
	exit
fi
profile_apt_lists_present || profile_apt_update

# Resolve in a subshell (profile_resolve dies on failure) and import its
# result. An archive that moved on since the last `apt-get update` can make
# the resolution fail: refresh once and retry before giving up.
resolve() { (profile_resolve && declare -p KVER KPKGS KDEB_VERSION); }
if ! resolved=$(resolve 2>/dev/null); then
	profile_apt_update
	resolved=$(resolve)
fi
eval "$resolved"
say "kernel $profile: $KVER (${KPKGS[*]})"

deb_dir="$CACHE_DIR/debs"
stage="$CACHE_DIR/kernels/$KVER"
root="$stage/root"
mkdir -p "$deb_dir" "$stage"

# Two runs sharing a cache (e.g. a developer and a CI run) must not extract
# into the same root at once.
exec {lock}>"$stage/lock"
flock "$lock"

want=$(printf '%s\n' "${KPKGS[@]}")
if [[ -d $root && -f $stage/packages && $(<"$stage/packages") == "$want" ]]; then
	say "kernel $KVER: staged root cached at $root"
else
	# Download the missing .debs. `apt-get download` writes into the current
	# directory under the pool's file name; fetch into a scratch dir and move
	# complete files only, so an interrupted download never looks cached.
	debs=()
	for pv in "${KPKGS[@]}"; do
		debs+=("$(kdeb_download "$pv")")
	done

	# Extract with tar, not `dpkg-deb -x`: --keep-directory-symlink keeps any
	# symlinked directory in the target instead of replacing it (the thing
	# that breaks a merged-/usr system when done in /). The target is always
	# a fresh staging dir, never /.
	say "extracting ${#debs[@]} packages into $root"
	rm -rf "$root" "$stage/packages" "$root.new"
	mkdir -p "$root.new"
	for deb in "${debs[@]}"; do
		dpkg-deb --fsys-tarfile "$deb" | tar -x --keep-directory-symlink -C "$root.new"
	done
	mv "$root.new" "$root"
	profile_fixup_kroot "$root"
	# The image ships no modules.dep (its postinst runs depmod); make one so
	# the initramfs step can ask modprobe for dependency closures.
	if [[ -d $root/lib/modules/$KVER/kernel ]]; then
		depmod -b "$root" "$KVER"
	fi
	printf '%s\n' "$want" >"$stage/packages"
fi

# Headers: extracted here, or installed in the build chroot by
# mk-chroot.sh (which then sets KDIR and KCHROOT).
kdir="$root/usr/src/linux-headers-$KVER"
if [[ -z $PROFILE_CHROOT_SUITE ]]; then
	[[ -f $kdir/Makefile ]] || die "no headers at $kdir"
fi
# The kernel: boot/vmlinuz-KVER, or (sid's linux-binary-*) in the modules
# directory; none for a build-only profile.
vmlinuz=
if ((!PROFILE_BUILD_ONLY)); then
	for f in "$root/boot/vmlinuz-$KVER" "$root/lib/modules/$KVER/vmlinuz"; do
		[[ -f $f ]] && vmlinuz=$f && break
	done
	[[ -n $vmlinuz ]] || die "no vmlinuz in $root/boot or $root/lib/modules/$KVER"
fi
{
	printf 'KVER=%q\n' "$KVER"
	printf 'KDEB_VERSION=%q\n' "$KDEB_VERSION"
	printf 'KROOT=%q\n' "$root"
	# KDIR: the headers as the build sees them (in the chroot, if any);
	# KDIR_HOST: the same directory seen from the host.
	printf 'KDIR=%q\n' "$kdir"
	printf 'KDIR_HOST=%q\n' "$kdir"
	printf 'KCHROOT=\n'
	printf 'CHROOT_SUITE=%q\n' "$PROFILE_CHROOT_SUITE"
	printf 'BUILD_ONLY=%q\n' "$PROFILE_BUILD_ONLY"
	printf 'VMLINUZ=%q\n' "$vmlinuz"
	printf 'KMODDIR=%q\n' "$root/lib/modules/$KVER"
	# The kernel's architecture; for another one than this machine's, the
	# cross prefix, the tests' compiler and the guest's own busybox.
	printf 'KARCH=%q\n' "$PROFILE_ARCH"
	printf 'KCROSS=%q\n' "$PROFILE_CROSS"
	printf 'KCC=%q\n' "$PROFILE_CC"
	if [[ $PROFILE_ARCH != amd64 ]]; then
		printf 'KBUSYBOX=%q\n' "$root/bin/busybox"
	fi
} >"$env_out"
