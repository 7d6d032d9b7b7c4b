#!/usr/bin/env bash
# boot-vm.sh KERNEL_ENV INITRD MODE SERIAL_LOG
#
# Boot the kernel with the initramfs under QEMU (TCG: there is no KVM here),
# serial console into SERIAL_LOG, and wait for the guest to power off.
# MODE is check, demo or bench; in demo and bench mode the console is also
# streamed to stdout live, up to the suite's exit marker (the dmesg dump is
# left to the log; so are bench's @@BENCH-FILE blocks, see tests/guest/bench.sh).
#
# Env: VM_TIMEOUT (seconds, default 900), VM_MEM (MiB, default 1024),
#      VM_SMP (default 2). KERNEL_ENV may set other defaults for these
#      (`: "${VM_MEM:=2048}"`, the debug kernel) and KCMDLINE_EXTRA, kernel
#      arguments of that kernel.
# Exit: QEMU's status (0 when the guest rebooted/powered off), 124 on
#       timeout, 130 when interrupted. On timeout SERIAL_LOG ends with
#       "@@QEMU-CPUS ...@@", where each vCPU was (SERIAL_LOG.cpus: QEMU's
#       own words).
set -euo pipefail
# GUEST_ENV="NAME=VALUE ..." reaches the suite's environment (seeds, sizes),
# as drtest.env.NAME=VALUE kernel arguments that the guest init exports.
# A word without "=" would be dropped by the guest without a word: refuse it
# (several suite groups: SUITE_GROUPS=contract,adversary).
guest_env=
for kv in ${GUEST_ENV:-}; do
	if [[ $kv != [A-Za-z_]*=* ]]; then
		echo "boot-vm.sh: GUEST_ENV word '$kv' is not NAME=VALUE (values cannot hold spaces; separate suite groups with commas)" >&2
		exit 2
	fi
	guest_env+=" drtest.env.$kv"
done
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

usage="usage: boot-vm.sh KERNEL_ENV INITRD MODE SERIAL_LOG"
kernel_env=${1:?$usage}
initrd=${2:?$usage}
mode=${3:?$usage}
log=${4:?$usage}
# KVER, VMLINUZ
# shellcheck disable=SC1090
. "$kernel_env"

# The machine: a PC for x86-64 kernels; for arm64 ones QEMU's virt board,
# whose PL011 UART is the kernel's ttyAMA0.
case ${KARCH:-amd64} in
arm64)
	machine=(qemu-system-aarch64 -M virt)
	console=ttyAMA0
	;;
*)
	machine=(qemu-system-x86_64)
	console=ttyS0
	;;
esac
# The guest's own watchdog (scripts/guest/init): a minute before QEMU is
# killed, a suite still running gets its blocked tasks and CPUs dumped to
# the console - at loglevel 3 a hang would otherwise leave no trace.
vm_timeout=${VM_TIMEOUT:-900}
watchdog=
if ((vm_timeout > 120)); then
	watchdog="drtest.watchdog=$((vm_timeout - 60))"
fi
qemu=(
	"${machine[@]}"
	-accel tcg -cpu max -smp "${VM_SMP:-2}" -m "${VM_MEM:-1024}"
	# Only what the guest uses: no NIC, no VGA, no default serial/monitor
	# (-nodefaults); the one serial port is the console, written to the log.
	-nodefaults -nographic -no-user-config -no-reboot
	-serial "file:$log"
	-kernel "$VMLINUZ" -initrd "$initrd"
	# panic=-1: a panicking guest reboots, i.e. QEMU exits at once instead
	# of sitting out the timeout.
	# The kernel's own arguments before GUEST_ENV's: the guest exports
	# drtest.env.* in order, so a profile's default (kcsan: STRESS_OPS)
	# gives way to the caller's.
	-append "console=$console loglevel=3 panic=-1 drtest.mode=$mode $watchdog ${KCMDLINE_EXTRA:-} $guest_env"
)

# Where each vCPU is when the VM times out. With every CPU stuck in the
# kernel no user space runs, not even the watchdog, and a stuck CPU may
# not even report a soft lockup; QEMU still knows each one's program
# counter. Its monitor sits on two FIFOs (no socket tool needed), is asked
# 15 s before the kill, and the answer goes to the log after the guest's
# last word, with kernel symbols where System.map has them (cpu_report).
mon=$log.monitor
rm -f "$mon.in" "$mon.out" "$log.cpus"
mkfifo "$mon.in" "$mon.out"
qemu+=(-monitor "pipe:$mon")

# cpu_report: "CPU#N PC=addr where" per vCPU from QEMU's "info registers
# -a" in $log.cpus. KASLR's shift comes from the guest's "drtest: kallsyms
# ADDR T _stext" line (scripts/guest/init): an address inside the kernel
# image is given as _stext+offset, which any boot of the same kernel
# resolves (/proc/kallsyms), and by name when System.map has symbols (our
# own debug and kcsan builds; Debian's is a stub pointing at the -dbg
# package).
cpu_report() {
	local map=${VMLINUZ%/*}/System.map-$KVER text cpu line pc off near
	text=$(tr -d '\r' <"$log" |
		sed -n 's/^drtest: kallsyms \([0-9a-f][0-9a-f]*\) . _stext$/\1/p' | head -n 1)
	[[ -r $map ]] && grep -q ' _stext$' "$map" || map=
	echo "@@QEMU-CPUS the VM timed out: each vCPU's program counter 15 s before, from QEMU@@"
	while IFS= read -r line; do
		line=${line%$'\r'}
		if [[ $line =~ ^CPU\#([0-9]+) ]]; then
			cpu=${BASH_REMATCH[1]}
		fi
		[[ $line =~ (^|[[:space:]])(RIP|PC)=([0-9a-f]+) ]] || continue
		pc=${BASH_REMATCH[3]}
		near="(where the kernel's text lies is unknown)"
		if [[ -n $text ]]; then
			off=$((0x$pc - 0x$text))
			# Kernel text is well under 64 MiB; past it, module space.
			if ((off < 0 || off >= 64 << 20)); then
				near="(outside the kernel image: a module, or user space)"
			else
				near=$(printf '_stext+0x%x' "$off")
				[[ -n $map ]] && near+=" $(symbol_at "$map" "$off")"
			fi
		fi
		echo "CPU#${cpu:-?} ${BASH_REMATCH[2]}=$pc $near"
	done <"$log.cpus"
	echo "@@QEMU-CPUS-END@@"
}

# symbol_at MAP OFFSET: "name+0xoff" of System.map's text symbol at or
# below _stext+OFFSET (hex strings of one width sort as their values).
symbol_at() {
	local map=$1 base a near
	base=$(awk '$3 == "_stext" { print $1; exit }' "$map")
	a=$(printf '%016x' $((0x$base + $2)))
	near=$( { grep ' [tTwW] ' "$map"; echo "$a t @@PC"; } |
		LC_ALL=C sort | grep -B1 -m1 ' @@PC$' | head -n 1)
	[[ $near == *@@PC ]] && return
	printf '%s+0x%x' "${near##* }" $((0x$a - 0x${near%% *}))
}

: >"$log"
# timeout(1) runs QEMU in its own process group, so a Ctrl-C at the
# terminal would not reach it: forward INT/TERM explicitly (timeout passes
# them on to QEMU), and never leave a VM running behind us.
timeout -k 10 "$vm_timeout" "${qemu[@]}" </dev/null >"$log.qemu" 2>&1 &
vm=$!
cat "$mon.out" >"$log.cpus" 2>/dev/null &
mon_reader=$!
# Killed when QEMU is gone: it takes its sleep along, which would otherwise
# hold our caller's stdout open for the rest of the timeout.
(
	trap 'kill "$s" 2>/dev/null; exit 0' TERM
	sleep $((vm_timeout - 15)) &
	s=$!
	wait "$s" && printf 'info registers -a\n' >"$mon.in"
) </dev/null >/dev/null 2>&1 &
mon_timer=$!
interrupted=0
trap 'interrupted=1; kill -TERM "$vm" 2>/dev/null || true' INT TERM HUP

if [[ $mode != check ]]; then
	# Follow the log until QEMU is gone; show the guest's story, not the
	# markers and dmesg dump after it. sed reads to the end (no early quit,
	# which would SIGPIPE tail).
	tail -n +1 -s 0.2 -f --pid="$vm" "$log" |
		sed -u -n -e 's/\r$//' -e '/^@@BENCH-FILE /,/^@@BENCH-FILE-END@@/d' \
			-e '/@@SUITE-BEGIN/,/^@@SUITE-EXIT/{/^@@/!p}' || true
fi

rc=0
wait "$vm" || rc=$?
# A trapped signal interrupts `wait`; wait again for QEMU to really exit.
while kill -0 "$vm" 2>/dev/null; do
	wait "$vm" || rc=$?
done
# The timer may still sleep; the reader ends with QEMU, or never started.
kill "$mon_timer" "$mon_reader" 2>/dev/null || true
wait "$mon_timer" "$mon_reader" 2>/dev/null || true
rm -f "$mon.in" "$mon.out"
if ((interrupted)); then
	exit 130
fi
if ((rc == 124)) && grep -qE '(^|[[:space:]])(RIP|PC)=' "$log.cpus" 2>/dev/null; then
	# A diagnostic: never the reason this script fails (|| also keeps
	# errexit out of the function's early-ending pipelines).
	cpu_report >>"$log" || true
fi
# QEMU's own complaints (bad option, missing file) are worth seeing.
if ((rc != 0 && rc != 124)) && [[ -s $log.qemu ]]; then
	sed 's/^/qemu: /' "$log.qemu" >&2
fi
exit "$rc"
