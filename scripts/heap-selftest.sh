#!/usr/bin/env bash
# heap-selftest.sh PROFILE KERNEL_ENV OUT_DIR
#
# Build the kernel's own dma-heap selftest
# (tools/testing/selftests/dmabuf-heaps/dmabuf-heap.c) from Debian's
# linux-source package of the same series as the profile's kernel, static,
# into OUT_DIR/dmabuf-heap-selftest, and name its source in
# OUT_DIR/dmabuf-heap-selftest.source. The guest runs it against the
# revocable heap (tests/guest/run.sh). The test is never copied into this
# repository.
#
# Source: a kernel built from source (debug, kcsan) brings its own tree
# (KDIR/source); otherwise linux-source-X.Y at the kernel's own package
# version where the archive has it, else the profile suite's. Only the
# selftest's files are unpacked from the package's tarball, once per
# version, under $CACHE_DIR/selftests/.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
# shellcheck source=scripts/lib/kernel-debs.sh
. "$SCRIPTS_DIR/lib/kernel-debs.sh"

usage="usage: heap-selftest.sh PROFILE KERNEL_ENV OUT_DIR"
profile=${1:?$usage}
kernel_env=${2:?$usage}
out=${3:?$usage}
# shellcheck source=scripts/kernels/6.1.sh
. "$SCRIPTS_DIR/kernels/$profile.sh"
# shellcheck disable=SC1090
. "$kernel_env"
mkdir -p "$out"
rel=tools/testing/selftests/dmabuf-heaps/dmabuf-heap.c

# compile SRC_TREE LABEL: the selftest as its own Makefile builds it. The
# uapi headers are this machine's (linux-libc-dev: linux/dma-heap.h,
# linux/dma-buf.h), then, for what it lacks (drm/drm.h is libdrm-dev's),
# the tree's own include/uapi; the kselftest harness is the tree's (its
# Makefile's -I, or the test's relative include in older trees). -D__user= does what headers_install would to the raw headers.
compile() {
	local src=$1 label=$2
	[[ -f $src/$rel ]] || die "$label has no $rel"
	"${KCC:-gcc}" -static -O2 -Wall -Wl,-no-as-needed -D__user= -I "$src/tools/testing/selftests" \
		-idirafter "$src/include/uapi" \
		-o "$out/dmabuf-heap-selftest" "$src/$rel"
	printf '%s\n' "$label" >"$out/dmabuf-heap-selftest.source"
	say "dma-heap selftest built from $label"
}

if [[ -d ${KDIR:-}/source/tools ]]; then
	compile "$(readlink -f "$KDIR/source")" "the kernel's own source tree ($(basename "$(readlink -f "$KDIR/source")"))"
	exit 0
fi

# linux-source-X.Y for KVER X.Y.*
series=$(sed -E 's/^([0-9]+\.[0-9]+).*/\1/' <<<"$KVER")
pkg=linux-source-$series
profile_apt_lists_present || profile_apt_update
ver=
if [[ -n ${KDEB_VERSION:-} ]] && kdeb_exists "$pkg=$KDEB_VERSION"; then
	ver=$KDEB_VERSION
else
	ver=$(kdeb_version_in_suite "$pkg" "$PROFILE_SUITE")
fi
[[ -n $ver ]] || die "$pkg is in neither $KDEB_VERSION nor $PROFILE_SUITE"

dir="$CACHE_DIR/selftests/${pkg}_$ver"
members=('*/tools/testing/selftests/dmabuf-heaps/*'
	'*/tools/testing/selftests/kselftest*' '*/include/uapi/*')
mkdir -p "$CACHE_DIR/selftests"
exec {lock}>"$dir.lock"
flock "$lock"
if [[ ! -f $dir/.unpacked || $(<"$dir/.unpacked") != "${members[*]}" ]]; then
	deb=$(kdeb_download "$pkg=$ver")
	say "unpacking the selftest from ${deb##*/}"
	rm -rf "$dir" "$dir.new"
	mkdir -p "$dir.new"
	# The package holds /usr/src/linux-source-X.Y.tar.xz; stream it.
	dpkg-deb --fsys-tarfile "$deb" |
		tar -xO --wildcards './usr/src/linux-source-*.tar.xz' |
		tar -xJ -C "$dir.new" --wildcards "${members[@]}"
	mv "$dir.new" "$dir"
	printf '%s\n' "${members[*]}" >"$dir/.unpacked"
fi
flock -u "$lock"
srcs=("$dir"/linux-source-*)
compile "${srcs[0]}" "$pkg $ver"
