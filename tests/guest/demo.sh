#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest side of "make demo": load the modules and tell a buffer's story.
echo "Loading the modules: modprobe vfio_revoke_exporter iommufd_importer_test"
modprobe vfio_revoke_exporter && modprobe iommufd_importer_test || exit 1
grep -E '^(dmabuf_revoke_shim|vfio_revoke_exporter|iommufd_importer_test) ' \
	/proc/modules | cut -d' ' -f1,3,4 | sed 's/^/   /'
/suite/bin/demo
