#!/usr/bin/env bash
# mk-initramfs.sh KERNEL_ENV MODULES_DIR WORKDIR OUT [EXTRA_BIN_DIR]
#
# Pack the test VM's initramfs (newc cpio, gzip) for one kernel:
#   /init                  scripts/guest/init
#   busybox + applet links (static, from busybox-static; cached)
#   /lib/modules/KVER/     MODULES_DIR (our DKMS-installed tree, updates/dkms)
#                          + GUEST_MODULES (default: vgem) from the kernel
#                          image, with the dependency closure of both,
#                          decompressed, and a depmod run so modprobe works
#   /suite/                tests/guest/*
#   /suite/bin/            tests/build/* executables (static test binaries;
#                          tests/build-ARCH/ for another architecture)
#                          and what EXTRA_BIN_DIR holds, for this kernel
#                          (the kernel's dma-heap selftest)
# MODULES_DIR may be empty (no DKMS package yet). WORKDIR is scratch space.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

usage="usage: mk-initramfs.sh KERNEL_ENV MODULES_DIR WORKDIR OUT [EXTRA_BIN_DIR]"
kernel_env=${1:?$usage}
mods=${2:?$usage}
work=${3:?$usage}
out=${4:?$usage}
extra_bin=${5:-}
# KVER, KROOT, KMODDIR
# shellcheck disable=SC1090
. "$kernel_env"
read -r -a guest_modules <<<"${GUEST_MODULES-vgem}"

# The busybox tree depends only on the busybox binary: build it once per
# binary (keyed by its hash) and copy it afterwards. Another architecture's
# kernel brings its own busybox (KBUSYBOX, the same Debian version as this
# machine's, whose applet list is used: the guest's cannot run here).
busybox_tree() {
	local bb=${KBUSYBOX:-/bin/busybox} sum dir
	sum=$(sha256sum "$bb")
	dir="$CACHE_DIR/busybox/${sum:0:16}"
	if [[ ! -x $dir/bin/busybox ]]; then
		rm -rf "$dir.new"
		mkdir -p "$dir.new/bin"
		cp "$bb" "$dir.new/bin/busybox"
		local applet
		# --list-full names each applet's usual place (bin/sh, sbin/modprobe..)
		while read -r applet; do
			[[ $applet == */* ]] || continue # linuxrc: not wanted at /
			mkdir -p "$dir.new/$(dirname "$applet")"
			[[ -e $dir.new/$applet ]] || ln -s /bin/busybox "$dir.new/$applet"
		done < <(/bin/busybox --list-full)
		rm -rf "$dir"
		mv "$dir.new" "$dir"
	fi
	printf '%s\n' "$dir"
}

# ko_copy SRC DEST_WITHOUT_SUFFIX: copy a module, decompressing .ko.xz/.zst/.gz
# (busybox modprobe/insmod in the guest may not read compressed modules).
ko_copy() {
	local src=$1 dst=$2
	mkdir -p "$(dirname "$dst")"
	case $src in
	*.ko) cp "$src" "$dst.ko" ;;
	*.ko.xz) xz -dc "$src" >"$dst.ko" ;;
	*.ko.zst) zstd -q -dc "$src" >"$dst.ko" ;;
	*.ko.gz) gzip -dc "$src" >"$dst.ko" ;;
	*) die "not a kernel module: $src" ;;
	esac
}

modname() {
	local b=${1##*/}
	b=${b%%.ko*}
	printf '%s\n' "${b//-/_}"
}

root="$work/root"
rm -rf "$work"
mkdir -p "$work"
cp -a "$(busybox_tree)" "$root"
mkdir -p "$root"/{dev,proc,sys,tmp,run,root,etc,suite/bin}
# The kernel opens /dev/console for init before /init can mount devtmpfs.
# (Creating the node needs root; without it we rely on the kernel's own
# built-in initramfs, which has one.)
mknod -m 600 "$root/dev/console" c 5 1 2>/dev/null || true
install -m 755 "$SCRIPTS_DIR/guest/init" "$root/init"
# Names for root and the unprivileged user the demo runs as (busybox su).
printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/:/bin/sh' >"$root/etc/passwd"
printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' >"$root/etc/group"

# --- modules ---------------------------------------------------------------
mdir="$root/lib/modules/$KVER"
mkdir -p "$mdir"
declare -A ours=()
wanted=("${guest_modules[@]}")
while IFS= read -r -d '' ko; do
	rel=${ko#"$mods"/}
	ko_copy "$ko" "$mdir/${rel%%.ko*}"
	ours[$(modname "$ko")]=1
done < <(find "$mods" -name '*.ko*' -print0 2>/dev/null)
for ko in "$mdir"/updates/dkms/*.ko; do
	[[ -e $ko ]] || continue
	IFS=, read -r -a deps <<<"$(modinfo -F depends "$ko")"
	wanted+=("${deps[@]}")
done

# Dependency closure from the image's own modules.dep (made by
# fetch-kernel.sh): modprobe --show-depends prints one "insmod PATH" per
# module to load, dependencies first, "builtin NAME" for built-in ones.
declare -A copied=()
for name in "${wanted[@]}"; do
	[[ -n $name && -z ${ours[${name//-/_}]:-} ]] || continue
	deps_out=$(modprobe -d "$KROOT" -S "$KVER" --show-depends "$name" 2>&1) ||
		die "module $name (wanted in the guest) not found for $KVER: $deps_out"
	while read -r verb path _; do
		[[ $verb == insmod && -z ${copied[$path]:-} ]] || continue
		rel=${path#"$KMODDIR"/}
		ko_copy "$path" "$mdir/${rel%%.ko*}"
		copied[$path]=1
	done <<<"$deps_out"
done
for f in modules.order modules.builtin modules.builtin.modinfo; do
	[[ -f $KMODDIR/$f ]] && cp "$KMODDIR/$f" "$mdir/"
done
depmod -b "$root" "$KVER"
say "guest modules: $(cd "$mdir" && find . -name '*.ko' | sed 's|.*/||' | sort | tr '\n' ' ')"

# --- suite -----------------------------------------------------------------
if [[ -d $REPO_ROOT/tests/guest ]]; then
	cp -a "$REPO_ROOT/tests/guest/." "$root/suite/"
fi
# Only executables: tests/build may also hold objects and dependency files.
# Another architecture's tests are built into tests/build-ARCH (check.sh).
tests_build=$REPO_ROOT/tests/build
[[ ${KARCH:-amd64} == amd64 ]] || tests_build+=-$KARCH
if [[ -d $tests_build ]]; then
	find "$tests_build" -maxdepth 1 -type f -perm -u+x \
		-exec cp -a {} "$root/suite/bin/" \;
fi

if [[ -n $extra_bin && -d $extra_bin ]]; then
	cp -a "$extra_bin/." "$root/suite/bin/"
fi

# --- pack ------------------------------------------------------------------
# Sorted names and root ownership: same inputs, same archive.
mkdir -p "$(dirname "$out")"
(cd "$root" && find . -print0 | LC_ALL=C sort -z |
	cpio --null --create --format=newc --owner=0:0 --quiet) | gzip -1 >"$out.tmp"
mv "$out.tmp" "$out"
say "initramfs: $out ($(du -h "$out" | cut -f1))"
