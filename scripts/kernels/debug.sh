# shellcheck shell=bash disable=SC2034
# Kernel profile "debug": Debian's 6.12 sources (linux-source-6.12 from
# bookworm-security) built by scripts/build-debug-kernel.sh from tinyconfig
# plus scripts/debug-kernel.config: KASAN (generic, inline, vmalloc),
# lockdep + RCU checking, DEBUG_ATOMIC_SLEEP, kmemleak, failslab and
# fail_page_alloc, DMABUF_DEBUG, and CONFIG_DMABUF_MOVE_NOTIFY=y, which no
# stock Debian kernel has. Built once (about 8 minutes on 2 cores) and
# cached per source version and config; the modules are built through DKMS
# against the build tree like on the other kernels.
#
# After the suite the guest scans kmemleak (scripts/guest/init) and
# report.sh fails the run on any leak, KASAN, lockdep, RCU,
# atomic-sleep or WARNING report.
#
# Env: DEBUG_KERNEL_SRC_VER pins the source version (see
# build-debug-kernel.sh for the other knobs).

# kconfig, objtool, sign-file and depmod (build-debug-kernel.sh checks the
# same list; here so fetch-kernel.sh installs it before the build).
PROFILE_HOST_PKGS=(make gcc libc6-dev bison flex bc libelf-dev libssl-dev kmod)

# KASAN's shadow takes 1/8 of the RAM and kmemleak, lockdep and the stack
# depot their own share; the suite runs several times slower than on a
# stock kernel under TCG. kasan_multi_shot: report every KASAN bug, not
# only the first of the boot.
DEBUG_VM_MEM=2048
DEBUG_VM_TIMEOUT=1800
DEBUG_KCMDLINE='kasan_multi_shot'

# check.sh starts this in the background at the lowest priority at the
# beginning of `make check`, so that on a cold cache the build overlaps the
# stock lanes; profile_fetch's own call then finds it built (or waits on
# its lock).
PROFILE_PREBUILD=("$SCRIPTS_DIR/build-debug-kernel.sh")

profile_fetch() {
	local env_out=$1
	"${PROFILE_PREBUILD[@]}" "$env_out"
	# Defaults, not overrides: VM_MEM/VM_TIMEOUT from the caller still win.
	# shellcheck disable=SC2016 # written for the reader of ENV_OUT to expand
	{
		printf ': "${VM_MEM:=%s}"\n' "$DEBUG_VM_MEM"
		printf ': "${VM_TIMEOUT:=%s}"\n' "$DEBUG_VM_TIMEOUT"
		printf 'KCMDLINE_EXTRA=%q\n' "$DEBUG_KCMDLINE"
	} >>"$env_out"
}
