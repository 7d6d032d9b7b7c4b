#!/usr/bin/env bash
# build-debug-kernel.sh [ENV_OUT]
#
# Build a debug kernel from Debian's linux-source-6.12 package, once, and
# cache it. The config fragment says which: scripts/debug-kernel.config
# (lane "debug": KASAN, lockdep, kmemleak, fault injection,
# DMABUF_MOVE_NOTIFY) by default, scripts/kcsan-kernel.config for the
# "kcsan" lane (KCSAN excludes KASAN, so it is a kernel of its own):
#
#   $CACHE_DIR/debug-kernel/src/SRCVER/linux-source-X.Y/   unpacked source
#   $CACHE_DIR/debug-kernel/SRCVER-HASH/
#       build/   out-of-tree build dir (O=): the KDIR for external modules
#                (DKMS --kernelsourcedir), with .config, Module.symvers,
#                objtool and scripts/sign-file
#       root/    staging root laid out like an extracted kernel package:
#                boot/vmlinuz-KVER (bzImage), boot/config-KVER,
#                boot/System.map-KVER, lib/modules/KVER/ (modules_install)
#       build.log, kver (written last: the build is complete)
# HASH covers the config fragment, the recipe below and the compiler, so
# changing any of them builds anew in a new directory, and two fragments
# never share one. Both lanes share the unpacked source. A fragment must set
# CONFIG_LOCALVERSION, and each its own ("-drdebug", "-drkcsan"): KVER is
# what keeps the kernels apart everywhere after this script (DKMS trees,
# lib/modules/KVER); it also tells whose build a cached directory is, so
# pruning old builds of one lane never removes another lane's.
#
# Prints the kernel's variables (KVER KROOT KDIR VMLINUZ KMODDIR) as shell
# assignments to ENV_OUT, or to stdout without it. Progress goes to stderr.
#
# Env: DEBUG_KERNEL_SRC_PKG (default linux-source-6.12),
#      DEBUG_KERNEL_SUITE (default bookworm-security),
#      DEBUG_KERNEL_SRC_VER (pin a source version, e.g. 6.12.117-1~deb12u1),
#      DEBUG_KERNEL_CONFIG (fragment, default scripts/debug-kernel.config),
#      DEBUG_KERNEL_JOBS (default: nproc), DMABUF_REVOKE_CACHE.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
# shellcheck source=scripts/lib/kernel-debs.sh
. "$SCRIPTS_DIR/lib/kernel-debs.sh"

env_out=${1:-}
src_pkg=${DEBUG_KERNEL_SRC_PKG:-linux-source-6.12}
suite=${DEBUG_KERNEL_SUITE:-bookworm-security}
fragment=${DEBUG_KERNEL_CONFIG:-$SCRIPTS_DIR/debug-kernel.config}
jobs=${DEBUG_KERNEL_JOBS:-$(nproc)}
[[ -f $fragment ]] || die "no config fragment $fragment"
# The lane's name for messages (debug-kernel.config -> debug).
lane=${fragment##*/}
lane=${lane%.config}
lane=${lane%-kernel}
# The release suffix the fragment promises (LOCALVERSION_AUTO is off).
localver=$(sed -n 's/^CONFIG_LOCALVERSION="\(.*\)"$/\1/p' "$fragment")
[[ -n $localver ]] ||
	die "$fragment sets no CONFIG_LOCALVERSION: each kernel needs its own release suffix"

# What building needs besides the harness's HOST_PKGS: kconfig (bison,
# flex), objtool (libelf-dev), timeconst (bc), sign-file (libssl-dev), and
# kmod's depmod for modules_install. No pahole: BTF is off.
ensure_pkgs make gcc libc6-dev bison flex bc libelf-dev libssl-dev kmod xz-utils gzip

# Bump when the recipe below changes in a way that changes the result.
recipe=1

# --- source ------------------------------------------------------------------
apt_lists_present || apt_update_once
src_ver=${DEBUG_KERNEL_SRC_VER:-}
if [[ -z $src_ver ]]; then
	src_ver=$(kdeb_version_in_suite "$src_pkg" "$suite")
	if [[ -z $src_ver ]]; then
		apt_update_once
		src_ver=$(kdeb_version_in_suite "$src_pkg" "$suite")
	fi
	[[ -n $src_ver ]] || die "$src_pkg has no version in $suite"
fi
say "$lane kernel: $src_pkg $src_ver"

base="$CACHE_DIR/debug-kernel"
deb_dir="$CACHE_DIR/debs"
src_parent="$base/src/$src_ver"
mkdir -p "$base" "$deb_dir" "$base/src"

# Source unpacking is shared by every config of this version: its own lock.
exec {src_lock}>"$base/src/$src_ver.lock"
flock "$src_lock"
if [[ ! -f $src_parent/.unpacked ]]; then
	deb=$(kdeb_download "$src_pkg=$src_ver")
	file=${deb##*/}
	say "unpacking $file"
	rm -rf "$src_parent" "$src_parent.new"
	mkdir -p "$src_parent.new"
	# The package holds /usr/src/linux-source-X.Y.tar.xz (Debian's patches
	# applied); stream it out of the .deb without writing it to disk.
	dpkg-deb --fsys-tarfile "$deb_dir/$file" |
		tar -xO --wildcards './usr/src/linux-source-*.tar.xz' |
		tar -xJ -C "$src_parent.new"
	mv "$src_parent.new" "$src_parent"
	touch "$src_parent/.unpacked"
fi
flock -u "$src_lock"
srcs=("$src_parent"/linux-source-*/Makefile)
[[ -f ${srcs[0]} ]] || die "no linux-source-*/Makefile in $src_parent"
src=$(dirname "${srcs[0]}")

# --- cache key -----------------------------------------------------------------
cc_id=$(gcc --version | sed -n 1p)
key=$({
	echo "recipe $recipe"
	echo "cc $cc_id"
	cat "$fragment"
} | sha256sum | cut -c1-12)
dir="$base/$src_ver-$key"
build="$dir/build"
root="$dir/root"
mkdir -p "$dir"
exec {lock}>"$dir/lock"
flock "$lock"

kmake() { make -C "$src" O="$build" ARCH=x86_64 "$@"; }

write_env() {
	local kver=$1
	local out=${env_out:-/dev/stdout}
	{
		printf 'KVER=%q\n' "$kver"
		printf 'KROOT=%q\n' "$root"
		printf 'KDIR=%q\n' "$build"
		printf 'VMLINUZ=%q\n' "$root/boot/vmlinuz-$kver"
		printf 'KMODDIR=%q\n' "$root/lib/modules/$kver"
	} >"$out"
}

# check_config: every line of the fragment must hold in .config. A
# dependency that is not met makes olddefconfig drop an option silently;
# here that is an error naming each option and what it became.
check_config() {
	local cfg=$build/.config line sym want got bad=()
	while IFS= read -r line; do
		if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
			sym=${BASH_REMATCH[1]} want=${BASH_REMATCH[2]}
		elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
			sym=${BASH_REMATCH[1]} want=
		else
			continue
		fi
		got=$(awk -v s="$sym" 'index($0, s "=") == 1 { print substr($0, length(s) + 2) }' "$cfg")
		if [[ $got != "$want" ]]; then
			bad+=("$sym: wanted ${want:-unset}, got ${got:-unset}")
		fi
	done <"$fragment"
	if ((${#bad[@]})); then
		printf 'error: %d option(s) of %s did not survive olddefconfig (unmet Kconfig dependencies?):\n' \
			"${#bad[@]}" "${fragment#"$REPO_ROOT"/}" >&2
		printf '  %s\n' "${bad[@]}" >&2
		return 1
	fi
	say "config: all $(grep -c -E '^(CONFIG_|# CONFIG_.* is not set)' "$fragment") options of the fragment hold"
}

if [[ -f $dir/kver && -f $root/boot/vmlinuz-$(<"$dir/kver") ]]; then
	kver=$(<"$dir/kver")
	say "$lane kernel $kver: cached at $dir"
	write_env "$kver"
	exit 0
fi

# --- configure -----------------------------------------------------------------
# The build dir is keyed by the config, so a build that was interrupted
# (Ctrl-C, a timeout) resumes where make stopped instead of starting over.
t0=$(now)
if [[ -f $dir/configured && -f $build/.config ]]; then
	say "resuming the build in $build"
else
	say "configuring in $build (tinyconfig + ${fragment#"$REPO_ROOT"/})"
	rm -rf "$build" "$root" "$dir/kver" "$dir/configured"
	mkdir -p "$build"
	{
		kmake tinyconfig
		# -m: merge only; olddefconfig below resolves what the fragment implies.
		"$src/scripts/kconfig/merge_config.sh" -m -O "$build" "$build/.config" "$fragment"
		kmake olddefconfig
	} >"$dir/config.log" 2>&1 || {
		cat "$dir/config.log" >&2
		rm -rf "$build"
		die "configuring the $lane kernel failed"
	}
	# A fragment that does not hold is fixed by editing it, which changes
	# the key: this directory would only be litter.
	check_config || {
		rm -rf "$dir"
		exit 1
	}
	touch "$dir/configured"
fi

# --- build -------------------------------------------------------------------------
say "building with $jobs jobs (log: $dir/build.log)"
t1=$(now)
if ! kmake -j"$jobs" all >"$dir/build.log" 2>&1; then
	tail -n 60 "$dir/build.log" >&2
	die "building the $lane kernel failed (log: $dir/build.log)"
fi
build_s=$(since "$t1")
# The release string is final only after the build ran syncconfig
# (`make kernelrelease` before it lacks CONFIG_LOCALVERSION).
kver=$(<"$build/include/config/kernel.release")
[[ $kver == *"$localver" ]] || die "kernel release $kver does not end in $localver (CONFIG_LOCALVERSION)"

# DKMS signs modules with KDIR/scripts/sign-file as on the stock kernels
# (dkms-build.sh points it there). The kernel builds that tool only with
# module signing on, which this kernel does not need: build it by hand.
gcc -O2 -I"$src/scripts" -I"$src/tools/include" -o "$build/scripts/sign-file" \
	"$src/scripts/sign-file.c" -lcrypto -Wno-deprecated-declarations >>"$dir/build.log" 2>&1 ||
	die "building scripts/sign-file failed (log: $dir/build.log)"

# --- stage ---------------------------------------------------------------------------
rm -rf "$root"
mkdir -p "$root/boot"
if ! kmake INSTALL_MOD_PATH="$root" modules_install >>"$dir/build.log" 2>&1; then
	tail -n 30 "$dir/build.log" >&2
	die "modules_install failed (log: $dir/build.log)"
fi
cp "$build/arch/x86/boot/bzImage" "$root/boot/vmlinuz-$kver"
cp "$build/.config" "$root/boot/config-$kver"
cp "$build/System.map" "$root/boot/System.map-$kver"
# As a kernel package would have it: lib/modules/KVER/build -> the KDIR.
ln -sfn "$build" "$root/lib/modules/$kver/build"
depmod -b "$root" "$kver"
printf '%s\n' "$kver" >"$dir/kver"
say "$lane kernel $kver built in ${build_s}s (configure + build + stage $(since "$t0")s)"
say "  vmlinuz $(du -h "$root/boot/vmlinuz-$kver" | cut -f1), modules: $(find "$root/lib/modules/$kver" -name '*.ko*' | sed 's|.*/||' | sort | tr '\n' ' ')"
# Each config change builds anew (~300 MB per build dir): keep the newest
# few builds of this lane (a kver with this lane's suffix), never one that
# another run holds locked.
keep=3
builds=()
# shellcheck disable=SC2012 # our own directory names, newest first
while IFS= read -r k; do
	if [[ $(<"$k") == *"$localver" ]]; then builds+=("${k%/kver}"); fi
done < <(ls -1dt "$base"/*/kver 2>/dev/null)
for old in "${builds[@]:keep}"; do
	[[ $old != "$dir" ]] || continue
	# Delete while holding its lock, so no other run starts using it.
	(
		exec {l}>"$old/lock"
		flock -n "$l" || exit 0
		say "pruning old $lane-kernel build $old"
		rm -rf "$old"
	)
done
# Unpacked sources (~1.5 GB each) that no build dir uses any more: an
# external-module build against a build dir needs its source tree.
for old in "$base"/src/*/; do
	old=${old%/}
	v=${old##*/}
	[[ $v != "$src_ver" && $v != *.new ]] || continue
	compgen -G "$base/$v-*/build" >/dev/null && continue
	(
		exec {l}>"$old.lock"
		flock -n "$l" || exit 0
		say "pruning unused kernel source $old"
		rm -rf "$old" "$old.lock"
	)
done

write_env "$kver"
