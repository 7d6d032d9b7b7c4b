#!/usr/bin/env bash
# check.sh [--demo|--bench] [KERNELS...]
#
# The project's test runner (`make check`, `make demo`). For each kernel
# profile (scripts/kernels/NAME.sh; default: $KERNELS, else for check the
# matrix DEFAULT_KERNELS of lib/common.sh, for demo/bench "6.1"):
#   fetch      resolve the kernel from the archive, get image + headers
#              (fetch-kernel.sh; cached per kernel version)
#   chroot     profiles that build in a chroot (7.2: sid): make or reuse it
#              (mk-chroot.sh; cached per kernel version)
#   dkms       build + install our DKMS package for it (dkms-build.sh), then
#              check-build.sh: the compile probes' answers in DKMS's
#              make.log against compat/expected/PROFILE, and modinfo of each
#              module (name, version, vermagic, depends)
#              Build-only profiles (PROFILE_BUILD_ONLY=1: rt/cloud) stop here.
#   heap selftest  the kernel's dma-heap selftest, built from its series'
#              linux-source package (heap-selftest.sh; check mode only)
#   initramfs  busybox + modules + guest suite (mk-initramfs.sh)
#   boot       run the suite in QEMU/TCG (boot-vm.sh) and read back its TAP
#              results and dmesg (report.sh)
# Every result line is "[KERNEL] ok ..." / "[KERNEL] not ok ..."; the last
# line is "N passed, N failed[, N skipped]"; exit 1 on any failure. Phase
# times are printed per kernel, and a total at the end.
# --demo: same VMs running tests/guest/demo.sh, output streamed live, no
# counting. --bench: the same for tests/guest/bench.sh (scripts/bench.sh).
#
# Env: KERNELS, VM_TIMEOUT (s, default 900), VM_MEM, VM_SMP, GUEST_MODULES
#      (default "vgem"), SPLAT_IGNORE, KVER_<profile> pins (e.g. KVER_6_1),
#      DMABUF_REVOKE_CACHE (default ~/.cache/dmabuf-revoke), RUN_DIR,
#      GUEST_ENV ("NAME=VALUE ..." for the suite: STRESS_SEED, STRESS_OPS,
#      FUZZ_SEED, FUZZ_CALLS, SUITE_GROUPS - e.g. "SUITE_GROUPS=adversary";
#      several groups: "SUITE_GROUPS=contract,adversary", no spaces).
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

mode=check
kernels=()
for arg in "$@"; do
	case $arg in
	--demo) mode=demo ;;
	--bench) mode=bench ;;
	-h | --help)
		sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"
		exit 0
		;;
	-*) die "unknown option $arg (try --help)" ;;
	*) kernels+=("$arg") ;;
	esac
done
if ((${#kernels[@]} == 0)); then
	# check: the whole matrix (lib/common.sh); demo and bench: one kernel.
	if [[ $mode == check ]]; then
		read -r -a kernels <<<"${KERNELS:-$DEFAULT_KERNELS}"
	else
		read -r -a kernels <<<"${KERNELS:-6.1}"
	fi
fi

# GUEST_ENV words become kernel arguments (boot-vm.sh): NAME=VALUE each.
for kv in ${GUEST_ENV:-}; do
	[[ $kv == [A-Za-z_]*=* ]] ||
		die "GUEST_ENV word '$kv' is not NAME=VALUE (values cannot hold spaces; separate suite groups with commas)"
done

ensure_pkgs "${HOST_PKGS[@]}"

# Per-run scratch and logs, kept in the cache (outside the checkout); only
# the newest runs are kept.
runs="$CACHE_DIR/runs"
run_dir=${RUN_DIR:-$runs/$(date +%Y%m%d-%H%M%S)-$$}
mkdir -p "$run_dir"
if [[ -z ${RUN_DIR:-} ]]; then
	ln -sfn "$run_dir" "$runs/latest"
	mapfile -t old < <(find "$runs" -mindepth 1 -maxdepth 1 -type d | sort | head -n -10)
	((${#old[@]} == 0)) || rm -rf "${old[@]}"
fi

passed=0 failed=0 skipped=0 broken=0
declare -A tests_built=()
t_all=$(now)
k_names=() k_starts=()

# emit: print report lines from stdin, counting the results among them.
emit() {
	local line
	while IFS= read -r line; do
		printf '%s\n' "$line"
		[[ $line =~ ^\[[^]]*\]\ (not\ )?ok([^[:alnum:]]|$) ]] || continue
		shopt -s nocasematch
		if [[ $line =~ \#\ *(skip|todo) ]]; then
			skipped=$((skipped + 1))
		elif [[ $line =~ ^\[[^]]*\]\ not\ ok ]]; then
			failed=$((failed + 1))
		else
			passed=$((passed + 1))
		fi
		shopt -u nocasematch
	done
}
# Did the guest kernel crash before its init began the suite? Then none of
# our code had run: the modules load inside the suite. QEMU's TCG has shown
# such crashes (7.2, seen once in a bench run: "Oops: int3" in timekeeping
# code two seconds in, where a jump-label patch had just been made), and
# they say nothing about the product: the boot is tried once more, and a
# second crash is reported like any other.
splat_re=$(cat "$SCRIPTS_DIR/lib/splat.re")
boot_crashed() {
	! grep -q '@@SUITE-BEGIN' "$1" && grep -Eq -- "$splat_re" "$1"
}

# result LABEL "ok|not ok - text": one harness-level result line.
result() {
	if [[ $mode != check ]]; then
		# No counting in demo mode, but a broken step is still an error.
		printf '[%s] %s\n' "$1" "$2"
		[[ $2 == "not ok"* ]] && broken=$((broken + 1))
		return 0
	fi
	emit <<<"[$1] $2"
}
join_times() {
	local IFS=,
	printf '%s; %s\n' "${times[*]}" "$(since "$t_k")s in all" | sed 's/,/, /g'
}
# show LOG [LINES]: a step's log, indented, on failure (all, or the tail).
show() {
	if [[ -n ${2:-} ]]; then tail -n "$2" "$1"; else cat "$1"; fi | sed 's/^/    /'
}

# --- user-space tests, once for all kernels ---------------------------------
t=$(now)
rc=0
"$SCRIPTS_DIR/build-tests.sh" >"$run_dir/tests-build.log" 2>&1 || rc=$?
case $rc in
0) echo "# tests: built in $(since "$t")s" ;;
3) echo "# tests: no tests/Makefile yet, guest gets tests/guest/ only" ;;
*)
	result tests "not ok - build user-space tests (make -C tests)"
	show "$run_dir/tests-build.log" 80
	;;
esac

# --- kernels built from source, in the background --------------------------
# The debug and kcsan lanes build their kernels from source: 8-9 minutes
# each on 2 cores, once per source version and config. A profile names
# such a build in PROFILE_PREBUILD (lib/kernel-debs.sh); on a cold cache
# starting it now, at the lowest priority and one after the other, gives it
# the CPU the stock lanes leave idle (downloads, debootstrap, a guest that
# keeps one vCPU busy), and the lane's own call later finds the kernel
# built or waits on the build's lock. A build that fails here is made again,
# and reported, by its lane; on a warm cache each finds its kernel at once.
# The packages are installed here, in the foreground: apt takes one caller
# at a time, and the stock lanes' fetches install their own.
prebuild=
if [[ $mode == check ]]; then
	for k in "${kernels[@]}"; do
		[[ -f $SCRIPTS_DIR/kernels/$k.sh ]] || continue
		# shellcheck disable=SC1090,SC1091 # the profile, in a subshell
		cmd=$(
			. "$SCRIPTS_DIR/lib/kernel-debs.sh"
			. "$SCRIPTS_DIR/kernels/$k.sh"
			((${#PROFILE_PREBUILD[@]})) || exit 0
			ensure_pkgs "${PROFILE_HOST_PKGS[@]}" >&2
			printf '%q ' "${PROFILE_PREBUILD[@]}"
		) 2>>"$run_dir/prebuild.log" || continue
		[[ -z $cmd ]] || prebuild+="echo '# $k'; $cmd >/dev/null; "
	done
fi
if [[ -n $prebuild ]]; then
	# Its own session, so that it can be stopped as a whole when we end.
	setsid nice -n 19 bash -c "$prebuild" </dev/null >>"$run_dir/prebuild.log" 2>&1 &
	prebuild_pid=$!
	on_exit "kill -- -$prebuild_pid 2>/dev/null"
	echo "# kernels built from source: started in the background (log: $run_dir/prebuild.log)"
fi

for k in "${kernels[@]}"; do
	kdir="$run_dir/$k"
	mkdir -p "$kdir"
	if [[ ! -f $SCRIPTS_DIR/kernels/$k.sh ]]; then
		result "$k" "not ok - kernel profile scripts/kernels/$k.sh exists"
		continue
	fi
	times=()
	t_k=$(now)
	k_names+=("$k")
	k_starts+=("$t_k")

	echo "# [$k] fetch"
	t=$(now)
	if ! "$SCRIPTS_DIR/fetch-kernel.sh" "$k" "$kdir/kernel.env" >"$kdir/fetch.log" 2>&1; then
		result "$k" "not ok - fetch and stage kernel $k"
		show "$kdir/fetch.log" 60
		continue
	fi
	times+=("fetch $(since "$t")s")
	# A profile that builds in a chroot (7.2: sid) gets it made or checked
	# here (mk-chroot.sh; cached per kernel), which completes kernel.env.
	# shellcheck disable=SC1091 # written by fetch-kernel.sh
	if [[ -n $(. "$kdir/kernel.env" && echo "${CHROOT_SUITE:-}") ]]; then
		echo "# [$k] chroot"
		t=$(now)
		if ! "$SCRIPTS_DIR/mk-chroot.sh" "$k" "$kdir/kernel.env" >"$kdir/chroot.log" 2>&1; then
			result "$k" "not ok - make the build chroot for $k"
			show "$kdir/chroot.log" 60
			echo "# [$k] time: $(join_times)"
			continue
		fi
		times+=("chroot $(since "$t")s")
	fi
	# shellcheck disable=SC1091 # written by fetch-kernel.sh
	KVER=$(. "$kdir/kernel.env" && echo "$KVER")
	# shellcheck disable=SC1091
	build_only=$(. "$kdir/kernel.env" && echo "${BUILD_ONLY:-0}")
	# The kernel's env may raise the default timeout (debug: KASAN is slow).
	# shellcheck disable=SC1091 # written by fetch-kernel.sh
	vm_timeout=$(. "$kdir/kernel.env" && echo "${VM_TIMEOUT:-900}")

	echo "# [$k] dkms ($KVER)"
	t=$(now)
	rc=0
	"$SCRIPTS_DIR/dkms-build.sh" "$k" "$kdir/kernel.env" "$kdir/dkms" "$kdir/modules" \
		>"$kdir/dkms.log" 2>&1 || rc=$?
	times+=("dkms $(since "$t")s")
	case $rc in
	0)
		read -r pkg ver <"$kdir/modules/.package"
		result "$k" "ok - dkms build + install of $pkg $ver for $KVER"
		# Probe answers vs compat/expected/$k, modinfo sanity.
		"$SCRIPTS_DIR/check-build.sh" "$k" "$kdir/kernel.env" "$kdir/dkms" "$kdir/modules" \
			>"$kdir/check-build.txt" 2>&1 || true
		emit <"$kdir/check-build.txt"
		;;
	3)
		result "$k" "ok - dkms build # SKIP no dkms.conf in the repo yet"
		mkdir -p "$kdir/modules"
		;;
	*)
		result "$k" "not ok - dkms build + install for $KVER (DKMS output and make.log below)"
		show "$kdir/dkms.log"
		# The probes ran before the compile failed: still check them.
		"$SCRIPTS_DIR/check-build.sh" --probes-only "$k" "$kdir/kernel.env" "$kdir/dkms" \
			"$kdir/modules" >"$kdir/check-build.txt" 2>&1 || true
		emit <"$kdir/check-build.txt"
		echo "# [$k] time: $(join_times)"
		continue
		;;
	esac
	if ((build_only)); then
		echo "# [$k] time: $(join_times) (build-only profile: not booted)"
		echo "# [$k] logs: $kdir (dkms.log, check-build.txt, dkms/tree/.../make.log)"
		continue
	fi

	# Another architecture's kernel gets the user-space tests built for it
	# (cross, static), once per run and architecture: tests/build-ARCH.
	# shellcheck disable=SC1091 # written by fetch-kernel.sh
	karch=$(. "$kdir/kernel.env" && echo "${KARCH:-amd64}")
	if [[ $karch != amd64 && -z ${tests_built[$karch]:-} ]]; then
		t=$(now)
		# shellcheck disable=SC1091
		if make -C "$REPO_ROOT/tests" CC="$(. "$kdir/kernel.env" && echo "$KCC")" \
			BUILD="build-$karch" >"$run_dir/tests-build-$karch.log" 2>&1; then
			tests_built[$karch]=1
			echo "# tests: built for $karch in $(since "$t")s"
		else
			result "$k" "not ok - build the user-space tests for $karch"
			show "$run_dir/tests-build-$karch.log" 40
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
			result "$k" "not ok - build the kernel's dma-heap selftest from its linux-source"
			show "$kdir/heap-selftest.log" 30
		fi
		times+=("heap-selftest $(since "$t")s")
	fi

	echo "# [$k] initramfs"
	t=$(now)
	if ! "$SCRIPTS_DIR/mk-initramfs.sh" "$kdir/kernel.env" "$kdir/modules" "$kdir/initramfs" \
		"$kdir/initramfs.cpio.gz" "$kdir/extra-bin" >"$kdir/initramfs.log" 2>&1; then
		result "$k" "not ok - pack the initramfs"
		show "$kdir/initramfs.log" 40
		continue
	fi
	times+=("initramfs $(since "$t")s")

	echo "# [$k] boot ($mode, timeout ${vm_timeout}s)"
	t=$(now)
	for attempt in 1 2; do
		rc=0
		"$SCRIPTS_DIR/boot-vm.sh" "$kdir/kernel.env" "$kdir/initramfs.cpio.gz" "$mode" \
			"$kdir/serial.log" || rc=$?
		if ((rc == 130 || attempt == 2)) || ! boot_crashed "$kdir/serial.log"; then
			break
		fi
		mv "$kdir/serial.log" "$kdir/serial.log.boot1"
		echo "# [$k] the kernel crashed while booting, before the suite began" \
			"(serial.log.boot1: $(grep -m 1 -E -- "$splat_re" "$kdir/serial.log.boot1" | cut -c 1-120)); booting once more"
	done
	times+=("boot $(since "$t")s")
	if ((rc == 130)); then
		echo "error: interrupted" >&2
		exit 130
	fi
	# report.sh also writes the cleaned console.txt used below.
	"$SCRIPTS_DIR/report.sh" "$k" "$kdir/serial.log" "$kdir" "$mode" >"$kdir/report.txt"
	if ((rc == 124)); then
		result "$k" "not ok - VM finished within ${vm_timeout}s (timed out; last 30 console lines below)"
		show "$kdir/console.txt" 30
	elif ((rc != 0)); then
		result "$k" "not ok - QEMU ran the VM (exit status $rc)"
		show "$kdir/serial.log.qemu" 20
	fi
	if [[ $mode != check ]]; then
		# No counting, but a demo whose guest failed must say so.
		while IFS= read -r line; do
			case $line in
			"[$k] not ok - "*) result "$k" "${line#"[$k] "}" ;;
			esac
		done <"$kdir/report.txt"
	else
		emit <"$kdir/report.txt"
	fi
	echo "# [$k] time: $(join_times)"
	echo "# [$k] logs: $kdir (serial.log, console.txt, dmesg.txt, *.log)"
done

if [[ $mode != check ]]; then
	((broken == 0)) || exit 1
	exit 0
fi
echo "# run dir: $run_dir"
# Wall time per kernel (fetch .. boot) and for the whole run.
k_starts+=("$(now)")
per=()
for i in "${!k_names[@]}"; do
	per+=("${k_names[i]} $(awk -v a="${k_starts[i]}" -v b="${k_starts[i + 1]}" 'BEGIN { printf "%.1f", b - a }')s")
done
line="# total time: $(since "$t_all")s"
if ((${#per[@]})); then
	line+=" ($(IFS=,; printf '%s' "${per[*]}" | sed 's/,/, /g'))"
fi
echo "$line"
summary="$passed passed, $failed failed"
((skipped == 0)) || summary+=", $skipped skipped"
echo "$summary"
((failed == 0))
