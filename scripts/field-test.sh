#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# dmabuf-revoke field test: run the conformance suite against the live
# kernel of this machine, with the modules DKMS installed for it (modprobe)
# or with freshly built ones (--build-tree DIR: insmod from a source tree
# after "make"). Scans the kernel log for splats raised during the run,
# unloads what it loaded, and prints TAP and "N passed, N failed".
#
# usage: dmabuf-revoke-selftest [--build-tree DIR] [--bin DIR] [GROUP...]
#   GROUP: suite groups to run (skeleton contract conformance uapi samples
#          cli trace stress race fuzz failnth leaks); default: all.
# Env: STRESS_OPS (default 100000), FUZZ_CALLS (default 20000), STRESS_SEED,
#      FUZZ_SEED.
# Exit: 0 all passed, 1 a test failed, 2 cannot run here (the message says
# why and what to do).
set -u

me=$(basename "$0")
here=$(cd "$(dirname "$0")" && pwd)
# Installed layout (make install rewrites these two lines) or source tree.
BIN_DIR=${BIN_DIR:-}
DATA_DIR=${DATA_DIR:-}
[ -n "$BIN_DIR" ] || BIN_DIR=$here/../tests/build
[ -n "$DATA_DIR" ] || DATA_DIR=$here/lib
build_tree=
groups=

die() { echo "$me: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
	case $1 in
	--build-tree) build_tree=${2:?--build-tree needs a directory}; shift ;;
	--bin) BIN_DIR=${2:?--bin needs a directory}; shift ;;
	-h | --help) sed -n '3,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) die "unknown option $1 (try --help)" ;;
	*) groups="$groups $1" ;;
	esac
	shift
done

[ "$(id -u)" -eq 0 ] || die "must run as root: it loads kernel modules and revokes buffers"
[ -x "$BIN_DIR/revoke_suite" ] ||
	die "no test binaries in $BIN_DIR (build them with 'make -C tests' or pass --bin DIR)"
[ -r "$DATA_DIR/splat.re" ] || die "missing $DATA_DIR/splat.re"
kver=$(uname -r)
mods="dmabuf_revoke_shim vfio_revoke_exporter iommufd_importer_test"

if [ -n "$build_tree" ]; then
	for m in $mods; do
		ko=$(find "$build_tree" -name "$m.ko" | head -n 1)
		[ -n "$ko" ] || die "no $m.ko under $build_tree: run 'make' there first"
		vm=$(modinfo -F vermagic "$ko" | cut -d' ' -f1)
		[ "$vm" = "$kver" ] || die "$ko was built for $vm, this kernel is $kver: rebuild with 'make KDIR=/lib/modules/$kver/build'"
	done
else
	for m in $mods; do
		modinfo "$m" >/dev/null 2>&1 ||
			die "module $m is not installed for $kver: run 'dkms install dmabuf-revoke/VERSION -k $kver' (README, 'Install on a real host')"
	done
fi

# Secure Boot lockdown refuses modules not signed by an enrolled key.
lockdown=$(cat /sys/kernel/security/lockdown 2>/dev/null)
case $lockdown in
*"[integrity]"* | *"[confidentiality]"*)
	if [ -n "$build_tree" ]; then
		die "kernel lockdown ($lockdown) refuses unsigned modules: install through DKMS, which signs with /var/lib/dkms/mok.key, and enroll its key once with 'mokutil --import /var/lib/dkms/mok.pub' (then reboot and confirm in the MOK manager)"
	fi
	;;
esac

loaded() { grep -q "^$1 " /proc/modules; }
we_loaded=
for m in $mods vgem; do
	loaded "$m" && continue
	if [ -n "$build_tree" ] && [ "$m" != vgem ]; then
		out=$(insmod "$(find "$build_tree" -name "$m.ko" | head -n 1)" 2>&1)
	else
		out=$(modprobe "$m" 2>&1)
	fi
	rc=$?
	if [ $rc -ne 0 ]; then
		[ "$m" = vgem ] && continue	# optional: those cases skip
		case $out in
		*"Key was rejected"* | *"Required key not available"*)
			die "loading $m failed: $out - the module's signature is not trusted: enroll DKMS's key with 'mokutil --import /var/lib/dkms/mok.pub' and reboot" ;;
		esac
		die "loading $m failed: $out"
	fi
	we_loaded="$m $we_loaded"
done

# Everything the kernel logs from here on belongs to this run.
marker="dmabuf-revoke field test $$ $(date +%s)"
echo "$marker start" >/dev/kmsg

STRESS_OPS=${STRESS_OPS:-100000}
FUZZ_CALLS=${FUZZ_CALLS:-20000}
export STRESS_OPS FUZZ_CALLS
tmp=$(mktemp)
# The suite's own closing line is dropped: this script prints the total.
# shellcheck disable=SC2086
{
	"$BIN_DIR/revoke_suite" $groups
	echo "$?" >"$tmp.rc"
} | tee "$tmp" | grep -v -E '^[0-9]+ passed, [0-9]+ failed'
suite_rc=$(cat "$tmp.rc")
rm -f "$tmp.rc"
echo "$marker end" >/dev/kmsg

pass=$(grep -c '^ok ' "$tmp")
fail=$(grep -c '^not ok ' "$tmp")
n=$((pass + fail))
rm -f "$tmp"

splats=$(dmesg | sed -n "/$marker start/,/$marker end/p" | grep -E -- "$(cat "$DATA_DIR/splat.re")")
n=$((n + 1))
if [ -z "$splats" ]; then
	echo "ok $n - kernel log has no splat during the run"
	pass=$((pass + 1))
else
	echo "not ok $n - kernel log has no splat during the run"
	echo "$splats" | head -n 40 | sed 's/^/# /'
	fail=$((fail + 1))
fi

# Leave the system as it was: unload only what this run loaded.
for m in $we_loaded; do
	rmmod "$m" 2>/dev/null || echo "# $me: could not unload $m (in use?)"
done
n=$((n + 1))
still=
for m in $we_loaded; do loaded "$m" && still="$still $m"; done
if [ -z "$still" ]; then
	echo "ok $n - modules this run loaded are unloaded again"
	pass=$((pass + 1))
else
	echo "not ok $n - modules this run loaded are unloaded again (still:$still)"
	fail=$((fail + 1))
fi
[ "$suite_rc" -eq 0 ] || [ "$fail" -gt 0 ] || fail=$((fail + 1))
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
