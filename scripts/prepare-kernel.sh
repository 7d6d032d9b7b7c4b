#!/usr/bin/env bash
# prepare-kernel.sh MODE PROFILE KDIR - get one kernel of check.sh's run
# ready to boot: check.sh's phases before "boot", for profile PROFILE
# (scripts/kernels/PROFILE.sh) in its directory KDIR of the run.
#   fetch      fetch-kernel.sh -> KDIR/kernel.env
#   chroot     mk-chroot.sh, for profiles that build in one
#   dkms       dkms-build.sh, then check-build.sh (probe answers, modinfo);
#              build-only profiles (rt, cloud) stop here
#   tests      the user-space tests for another architecture, once per run
#   heap selftest  heap-selftest.sh (MODE check only)
#   initramfs  mk-initramfs.sh -> KDIR/initramfs.cpio.gz
# MODE is check.sh's: check, demo or bench.
#
# Prints the phases' report lines ("[PROFILE] ok - ...", "[PROFILE] not ok
# - ..." with the failing step's log indented below, "# ..." comments) on
# stdout, for check.sh to count as it prints them. Writes at its end:
#   KDIR/times     one "PHASE SECONDSs" per line
#   KDIR/prepared  last: "boot" (ready: kernel.env and initramfs.cpio.gz),
#                  "built" (a build-only profile, done) or "failed" (a
#                  step failed and said so: nothing to boot)
# Exit status 0 in each case; without KDIR/prepared, it did not finish.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

(($# == 3)) || die "usage: prepare-kernel.sh MODE PROFILE KDIR"
mode=$1 k=$2 kdir=$3
run_dir=$(dirname "$kdir")
mkdir -p "$kdir"
rm -f "$kdir/prepared" "$kdir/times"

times=()
# finish STATE: the lane's times, then the marker check.sh waits for.
finish() {
	: >"$kdir/times"
	((${#times[@]} == 0)) || printf '%s\n' "${times[@]}" >"$kdir/times"
	echo "$1" >"$kdir/prepared"
	exit 0
}
result() { printf '[%s] %s\n' "$k" "$1"; }
# step NAME LOG WHAT CMD...: one phase, CMD's output to LOG. Its time, or
# "not ok - WHAT" with the end of LOG, and the lane ends there.
step() {
	local name=$1 log=$2 what=$3 t
	shift 3
	echo "# [$k] $name"
	t=$(now)
	if ! "$@" >"$log" 2>&1; then
		result "not ok - $what"
		show_log "$log" 60
		finish failed
	fi
	times+=("$name $(since "$t")s")
}

if [[ ! -f $SCRIPTS_DIR/kernels/$k.sh ]]; then
	result "not ok - kernel profile scripts/kernels/$k.sh exists"
	finish failed
fi

step fetch "$kdir/fetch.log" "fetch and stage kernel $k" \
	"$SCRIPTS_DIR/fetch-kernel.sh" "$k" "$kdir/kernel.env"
# A profile that builds in a chroot (7.2: sid) gets it made or checked
# here (mk-chroot.sh; cached per kernel), which completes kernel.env.
# shellcheck disable=SC1091 # written by fetch-kernel.sh
if [[ -n $(. "$kdir/kernel.env" && echo "${CHROOT_SUITE:-}") ]]; then
	step chroot "$kdir/chroot.log" "make the build chroot for $k" \
		"$SCRIPTS_DIR/mk-chroot.sh" "$k" "$kdir/kernel.env"
fi
# shellcheck disable=SC1091 # written by fetch-kernel.sh
KVER=$(. "$kdir/kernel.env" && echo "$KVER")
# shellcheck disable=SC1091
build_only=$(. "$kdir/kernel.env" && echo "${BUILD_ONLY:-0}")

echo "# [$k] dkms ($KVER)"
t=$(now)
rc=0
"$SCRIPTS_DIR/dkms-build.sh" "$k" "$kdir/kernel.env" "$kdir/dkms" "$kdir/modules" \
	>"$kdir/dkms.log" 2>&1 || rc=$?
times+=("dkms $(since "$t")s")
case $rc in
0)
	read -r pkg ver <"$kdir/modules/.package"
	result "ok - dkms build + install of $pkg $ver for $KVER"
	# Probe answers vs compat/expected/$k, modinfo sanity.
	"$SCRIPTS_DIR/check-build.sh" "$k" "$kdir/kernel.env" "$kdir/dkms" "$kdir/modules" \
		>"$kdir/check-build.txt" 2>&1 || true
	cat "$kdir/check-build.txt"
	;;
3)
	result "ok - dkms build # SKIP no dkms.conf in the repo yet"
	mkdir -p "$kdir/modules"
	;;
*)
	result "not ok - dkms build + install for $KVER (DKMS output and make.log below)"
	show_log "$kdir/dkms.log"
	# The probes ran before the compile failed: still check them.
	"$SCRIPTS_DIR/check-build.sh" --probes-only "$k" "$kdir/kernel.env" "$kdir/dkms" \
		"$kdir/modules" >"$kdir/check-build.txt" 2>&1 || true
	cat "$kdir/check-build.txt"
	finish failed
	;;
esac
((!build_only)) || finish built

# Another architecture's kernel gets the user-space tests built for it
# (cross, static), once per run and architecture: tests/build-ARCH. Lanes
# are prepared one at a time, so a marker in the run's directory will do.
# shellcheck disable=SC1091 # written by fetch-kernel.sh
karch=$(. "$kdir/kernel.env" && echo "${KARCH:-amd64}")
if [[ $karch != amd64 && ! -f $run_dir/tests-built-$karch ]]; then
	t=$(now)
	# shellcheck disable=SC1091
	if make -C "$REPO_ROOT/tests" CC="$(. "$kdir/kernel.env" && echo "$KCC")" \
		BUILD="build-$karch" >"$run_dir/tests-build-$karch.log" 2>&1; then
		touch "$run_dir/tests-built-$karch"
		echo "# tests: built for $karch in $(since "$t")s"
	else
		result "not ok - build the user-space tests for $karch"
		show_log "$run_dir/tests-build-$karch.log" 40
	fi
fi

# The kernel's own dma-heap selftest, from its series' linux-source
# (heap-selftest.sh; cached per version), for the heap checks in the
# guest. Without it the guest reports the check as failed.
if [[ $mode == check ]]; then
	echo "# [$k] heap selftest"
	t=$(now)
	if ! "$SCRIPTS_DIR/heap-selftest.sh" "$k" "$kdir/kernel.env" "$kdir/extra-bin" \
		>"$kdir/heap-selftest.log" 2>&1; then
		result "not ok - build the kernel's dma-heap selftest from its linux-source"
		show_log "$kdir/heap-selftest.log" 30
	fi
	times+=("heap-selftest $(since "$t")s")
fi

step initramfs "$kdir/initramfs.log" "pack the initramfs" \
	"$SCRIPTS_DIR/mk-initramfs.sh" "$kdir/kernel.env" "$kdir/modules" "$kdir/initramfs" \
	"$kdir/initramfs.cpio.gz" "$kdir/extra-bin"
finish boot
