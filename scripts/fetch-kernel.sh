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
apt_lists_present || apt_update_once

# Resolve in a subshell (profile_resolve dies on failure) and import its
# result. An archive that moved on since the last `apt-get update` can make
# the resolution fail: refresh once and retry before giving up.
resolve() { (profile_resolve && declare -p KVER KPKGS); }
if ! resolved=$(resolve 2>/dev/null); then
	apt_update_once
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
		file=$(kdeb_field "$pv" Filename)
		[[ -n $file ]] || die "no Filename for $pv"
		file=${file##*/}
		if [[ ! -s $deb_dir/$file ]]; then
			say "downloading $pv"
			tmp=$(mktemp -d "$deb_dir/.dl.XXXXXX")
			# Running as root, apt would try to drop to _apt and warn that it
			# cannot write here; the scratch dir is ours anyway.
			(cd "$tmp" && apt-get -q "${APT_OPTS[@]}" -o APT::Sandbox::User=root download "$pv" >&2)
			mv "$tmp/$file" "$deb_dir/$file"
			rm -rf "$tmp"
		fi
		debs+=("$deb_dir/$file")
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
	depmod -b "$root" "$KVER"
	printf '%s\n' "$want" >"$stage/packages"
fi

kdir="$root/usr/src/linux-headers-$KVER"
[[ -f $kdir/Makefile ]] || die "no headers at $kdir"
[[ -f $root/boot/vmlinuz-$KVER ]] || die "no vmlinuz in $root/boot"
{
	printf 'KVER=%q\n' "$KVER"
	printf 'KROOT=%q\n' "$root"
	printf 'KDIR=%q\n' "$kdir"
	printf 'VMLINUZ=%q\n' "$root/boot/vmlinuz-$KVER"
	printf 'KMODDIR=%q\n' "$root/lib/modules/$KVER"
} >"$env_out"
