#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest side of "make demo": load the modules and tell a buffer's story;
# then the revocable heap's, from user space.
echo "== Part one: a device reset revokes a buffer an IOMMUFD-style IOAS maps"
echo "Loading the modules: modprobe vfio_revoke_exporter iommufd_importer_test"
modprobe vfio_revoke_exporter && modprobe iommufd_importer_test || exit 1
grep -E '^(dmabuf_revoke_shim|vfio_revoke_exporter|iommufd_importer_test) ' \
	/proc/modules | cut -d' ' -f1,3,4 | sed 's/^/   /'
/suite/bin/demo
rc=$?

echo
echo "== Part two: user space takes back what it handed out - the revocable heap"
echo "Loading the heap: modprobe dmabuf_revoke_heap (/dev/dma_heap/revocable)"
modprobe dmabuf_revoke_heap || exit 1
# What the udev rule does on a real system (a dma-heap node is 0600).
chmod 0666 /dev/dma_heap/revocable
echo "README's example, run by an unprivileged user (uid 65534): it allocates a"
echo "buffer from the heap, hands the fd to another process over a UNIX socket,"
echo "and revokes it - no capability needed, as it owns the buffer:"
out=$(su -s /bin/sh nobody -c /suite/bin/revocable-heap-example 2>&1)
heap_rc=$?
echo "$out" | sed 's/^/   /'
[ $rc -ne 0 ] && exit $rc
exit $heap_rc
