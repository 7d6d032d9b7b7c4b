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
echo "1..$n"
exit $((fails != 0))
