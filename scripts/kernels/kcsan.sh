# shellcheck shell=bash disable=SC2034
# Kernel profile "kcsan": Debian's 6.12 sources (linux-source-6.12 from
# bookworm-security), like "debug", built by scripts/build-debug-kernel.sh
# from tinyconfig plus scripts/kcsan-kernel.config: KCSAN in strict mode
# (the data-race detector; it excludes KASAN, hence a kernel of its own),
# DMABUF_MOVE_NOTIFY=y and DMABUF_DEBUG as in debug, no lockdep or
# kmemleak. Built once and cached per source version and config (its own
# build dir and KVER, -drkcsan, next to the debug kernel's); the modules
# are built through DKMS against the build tree, and KCSAN-instrumented
# by it, like the kernel.
#
# report.sh fails the run on any KCSAN report with one of our modules in
# its stacks, and lists the other (core-kernel) KCSAN reports as "#"
# diagnostics; every other splat fails the run as on the other kernels.
#
# Env: KCSAN_KERNEL_CONFIG (fragment, default scripts/kcsan-kernel.config);
# DEBUG_KERNEL_SRC_VER and the other knobs of build-debug-kernel.sh.

# As for debug (build-debug-kernel.sh checks the same list).
PROFILE_HOST_PKGS=(make gcc libc6-dev bison flex bc libelf-dev libssl-dev kmod)

# Measured 2026-12-02 (2 vCPUs under TCG - MTTCG, one host thread per
# vCPU, which KCSAN needs to catch two CPUs at once - on a 2-core host that
# was building at the same time): boot + full suite with 10^6 race
# operations 240-312 s, with run.sh's default of 3*10^5 for stock kernels
# 72 s.
# KCSAN costs far less than the debug kernel's KASAN + lockdep, and its
# chance to catch a race grows with the operations (it watches one access
# in about 4000), so this lane races the most: 10^6, race.c's own default
# (GUEST_ENV="STRESS_OPS=..." still overrides it). The timeout leaves about 4x.
# No shadow memory or object tracking: the stock kernels' 1 GiB is enough.
KCSAN_VM_MEM=1024
KCSAN_VM_TIMEOUT=1200
KCSAN_KCMDLINE='drtest.env.STRESS_OPS=1000000'

# Started in the background by check.sh, like debug's (debug.sh).
PROFILE_PREBUILD=(env
	"DEBUG_KERNEL_CONFIG=${KCSAN_KERNEL_CONFIG:-$SCRIPTS_DIR/kcsan-kernel.config}"
	"$SCRIPTS_DIR/build-debug-kernel.sh")

profile_fetch() {
	local env_out=$1
	"${PROFILE_PREBUILD[@]}" "$env_out"
	# Defaults, not overrides: VM_MEM/VM_TIMEOUT from the caller still win.
	# shellcheck disable=SC2016 # written for the reader of ENV_OUT to expand
	{
		printf ': "${VM_MEM:=%s}"\n' "$KCSAN_VM_MEM"
		printf ': "${VM_TIMEOUT:=%s}"\n' "$KCSAN_VM_TIMEOUT"
		printf 'KCMDLINE_EXTRA=%q\n' "$KCSAN_KCMDLINE"
	} >>"$env_out"
}
