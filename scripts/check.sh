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
# The phases before the boot are prepare-kernel.sh's; in check mode they run
# ahead of the boots, in the background (see "each kernel" below).
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

# Each kernel once: a lane's directory is its name.
if ((${#kernels[@]})); then
	mapfile -t kernels < <(printf '%s\n' "${kernels[@]}" | awk '!seen[$0]++')
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
# join_times: the lane's phase times, then its time in all - or, prepared
# ahead (so its phases overlap other lanes'), what it added to the run's.
join_times() {
	local IFS=, total
	total="$(since "$t_k")s in all"
	((!ahead)) || total="prepared ahead: $(since "$t_k")s of the run's time"
	((${#times[@]} == 0)) || printf '%s; ' "${times[*]}" | sed 's/,/, /g'
	printf '%s\n' "$total"
}
# replay: print a prepared lane's lines (prepare-kernel.sh), counting them.
replay() {
	local line
	if [[ $mode == check ]]; then
		emit
		return
	fi
	while IFS= read -r line; do
		printf '%s\n' "$line"
		[[ $line =~ ^\[[^]]*\]\ not\ ok ]] && broken=$((broken + 1))
	done
	return 0
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
	show_log "$run_dir/tests-build.log" 80
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
	niced_session 19 "$prebuild" </dev/null >>"$run_dir/prebuild.log" 2>&1
	prebuild_pid=$!
	on_exit "kill -- -$prebuild_pid 2>/dev/null"
	echo "# kernels built from source: started in the background (log: $run_dir/prebuild.log)"
fi

# --- each kernel: prepared, then booted --------------------------------------
# prepare-kernel.sh does everything before the boot: fetch, chroot, DKMS,
# heap selftest, initramfs. In check mode it runs ahead of the boots, in
# the background: lanes are prepared one after the other, in order, while
# the lanes before them boot, and each lane's lines wait in its directory
# until its turn, so the report reads as a run in sequence. A TCG guest of
# the suite does not keep both cores busy all the time; the preparing (DKMS
# compiles, downloads, debootstrap) takes what it leaves, at nice 10 so that
# the guest keeps what it uses (niced_session: the nice value of a
# session's scheduling group). Measured warm on 2 cores: the matrix in 837 s
# instead of 1140 s, its boots 1-24 s longer than alone. Demo and bench
# prepare each lane just before its boot: a benchmark's guest must have the
# machine to itself.
ahead=0
[[ $mode != check ]] || ahead=1
if ((ahead)); then
	cmd=
	for k in "${kernels[@]}"; do
		mkdir -p "$run_dir/$k"
		cmd+="$(printf '%q ' "$SCRIPTS_DIR/prepare-kernel.sh" "$mode" "$k" "$run_dir/$k")"
		cmd+=">$(printf '%q' "$run_dir/$k/prepare.out") 2>&1; "
		# Whatever became of it: the next lane is under way.
		cmd+="touch $(printf '%q' "$run_dir/$k/ended"); "
		rm -f "$run_dir/$k"/{ended,prepared,times}
	done
	niced_session 10 "$cmd" </dev/null >/dev/null 2>&1
	prepare_pid=$!
	on_exit "kill -- -$prepare_pid 2>/dev/null"
fi

for k in "${kernels[@]}"; do
	kdir="$run_dir/$k"
	mkdir -p "$kdir"
	t_k=$(now)
	k_names+=("$k")
	k_starts+=("$t_k")

	if ((ahead)); then
		while [[ ! -f $kdir/ended ]] && kill -0 "$prepare_pid" 2>/dev/null; do
			sleep 1
		done
		[[ ! -f $kdir/prepare.out ]] || replay <"$kdir/prepare.out"
	else
		# Not a pipe: replay counts in this shell.
		replay < <("$SCRIPTS_DIR/prepare-kernel.sh" "$mode" "$k" "$kdir")
	fi
	if [[ ! -f $kdir/prepared ]]; then
		result "$k" "not ok - prepare kernel $k for its boot (prepare-kernel.sh ended early)"
		continue
	fi
	mapfile -t times <"$kdir/times"
	case $(<"$kdir/prepared") in
	built)
		echo "# [$k] time: $(join_times) (build-only profile: not booted)"
		echo "# [$k] logs: $kdir (dkms.log, check-build.txt, dkms/tree/.../make.log)"
		continue
		;;
	failed)
		echo "# [$k] time: $(join_times)"
		echo "# [$k] logs: $kdir (*.log)"
		continue
		;;
	esac
	# shellcheck disable=SC1091 # written by fetch-kernel.sh
	vm_timeout=$(. "$kdir/kernel.env" && echo "${VM_TIMEOUT:-900}")

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
		show_log "$kdir/console.txt" 30
	elif ((rc != 0)); then
		result "$k" "not ok - QEMU ran the VM (exit status $rc)"
		show_log "$kdir/serial.log.qemu" 20
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
