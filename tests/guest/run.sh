#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest side of "make check": load the modules as a user would (modprobe
# resolves the exporter's dependency on the shim), run the suite, then prove
# the modules unload in dependency order. Prints TAP.
# Also usable on a host by the field test (MODPROBE/BIN overridable).
BIN=${BIN:-/suite/bin}
n=0
fails=0
tap() {	# tap STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		fails=$((fails + 1))
	fi
}
loaded() { grep -q "^$1 " /proc/modules; }

echo "TAP version 13"
modprobe vfio_revoke_exporter
loaded dmabuf_revoke_shim && loaded vfio_revoke_exporter
tap $? "modules: modprobe vfio_revoke_exporter loads the shim it depends on"
modprobe iommufd_importer_test
loaded iommufd_importer_test
tap $? "modules: modprobe iommufd_importer_test"
# vgem is the real in-kernel importer/exporter some cases use.
modprobe vgem 2>/dev/null || echo "# vgem not available: those cases skip"

# Stress and fuzz sizes: >= 10^6 race operations across the stock-kernel
# matrix and 10^5 fuzz calls per kernel; a debug kernel (kmemleak present)
# is several times slower, so it races less.
if [ -e /sys/kernel/debug/kmemleak ]; then
	export STRESS_OPS=${STRESS_OPS:-30000}
else
	export STRESS_OPS=${STRESS_OPS:-300000}
fi
export FUZZ_CALLS=${FUZZ_CALLS:-100000}

# SUITE_GROUPS (GUEST_ENV) runs only those groups, e.g. "adversary", or
# "contract,adversary": a kernel argument has no spaces, so commas separate
# them (spaces still work for a caller that sets the environment itself).
# shellcheck disable=SC2086 # a list of group names
"$BIN/revoke_suite" $(echo "${SUITE_GROUPS:-}" | tr ',' ' ')
tap $? "suite: revoke_suite exited 0"

# On a kmemleak kernel, scan while our modules are still loaded, so a leak
# report names their functions (init scans again after the unload).
if [ -w /sys/kernel/debug/kmemleak ]; then
	echo scan >/sys/kernel/debug/kmemleak
	sleep 3
	echo scan >/sys/kernel/debug/kmemleak
	leaks=$(cat /sys/kernel/debug/kmemleak)
	[ -n "$leaks" ] && echo "$leaks" | head -n 60 | sed 's/^/# /'
	[ -z "$leaks" ]
	tap $? "kmemleak: nothing leaked while the modules were loaded"
fi

rmmod dmabuf_revoke_shim 2>/dev/null
[ $? -ne 0 ] && loaded dmabuf_revoke_shim
tap $? "modules: the shim refuses to unload while the exporter uses it"
rmmod iommufd_importer_test && rmmod vfio_revoke_exporter &&
	rmmod dmabuf_revoke_shim
rc=$?
[ $rc -ne 0 ] && grep -E '^(dmabuf_revoke_shim|vfio_revoke_exporter|iommufd_importer_test) ' \
	/proc/modules | sed 's/^/# still loaded: /'
tap $rc "modules: unload in dependency order"
[ ! -e /dev/dmabuf_revoke ] && [ ! -e /dev/vfio_revoke_exporter ] &&
	[ ! -e /dev/iommufd_importer_test ]
tap $? "modules: device nodes are gone after unload"

# --- the revocable heap ----------------------------------------------------
# Last: where it registers with the kernel's dma-heap framework it can
# never be unloaded again (the core cannot remove a heap).
heap=/dev/dma_heap/revocable
modprobe dmabuf_revoke_heap && modprobe iommufd_importer_test
loaded dmabuf_revoke_heap && loaded dmabuf_revoke_shim && [ -c $heap ]
tap $? "heap: modprobe dmabuf_revoke_heap loads the shim and makes $heap"
# What the udev rule does on a real system (a dma-heap node is 0600).
chmod 0666 $heap 2>/dev/null
# The kernel's own dma-heap selftest, from this kernel's linux-source,
# against the revocable heap alone: a private mount namespace whose
# /dev/dma_heap holds only its node (a kernel's other heaps are not ours).
if [ -x "$BIN/dmabuf-heap-selftest" ]; then
	src=$(cat "$BIN/dmabuf-heap-selftest.source" 2>/dev/null)
	majmin=$(stat -c '%t %T' $heap)
	out=$(unshare -m sh -c "mount -t tmpfs none /dev/dma_heap &&
		mknod -m 0666 /dev/dma_heap/revocable c \$((0x${majmin% *})) \$((0x${majmin#* })) &&
		exec $BIN/dmabuf-heap-selftest" 2>&1)
	rc=$?
	echo "$out" | sed 's/^/# /'
	tap $rc "heap: the kernel's dma-heap selftest ($src) passes against $heap"
else
	tap 1 "heap: the kernel's dma-heap selftest is in the initramfs (/suite/bin)"
fi
"$BIN/revoke_suite" heap
tap $? "heap: revoke_suite heap exited 0"
rmmod iommufd_importer_test
if [ -e /sys/class/dma_heap/revocable ]; then
	rmmod dmabuf_revoke_heap 2>/dev/null
	[ $? -ne 0 ] && loaded dmabuf_revoke_heap && [ -c $heap ]
	tap $? "heap: a heap registered with the kernel's framework stays loaded (there is no dma_heap_remove())"
else
	rmmod dmabuf_revoke_heap && rmmod dmabuf_revoke_shim && [ ! -e $heap ]
	tap $? "heap: the heap and the shim unload once no buffer is left, and $heap is gone"
fi
echo "1..$n"
exit $((fails != 0))
