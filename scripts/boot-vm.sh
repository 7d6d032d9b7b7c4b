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
#       timeout, 130 when interrupted.
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

: >"$log"
# timeout(1) runs QEMU in its own process group, so a Ctrl-C at the
# terminal would not reach it: forward INT/TERM explicitly (timeout passes
# them on to QEMU), and never leave a VM running behind us.
timeout -k 10 "$vm_timeout" "${qemu[@]}" </dev/null >"$log.qemu" 2>&1 &
vm=$!
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
if ((interrupted)); then
	exit 130
fi
# QEMU's own complaints (bad option, missing file) are worth seeing.
if ((rc != 0 && rc != 124)) && [[ -s $log.qemu ]]; then
	sed 's/^/qemu: /' "$log.qemu" >&2
fi
exit "$rc"
