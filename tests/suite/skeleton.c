// SPDX-License-Identifier: GPL-2.0
/* The walking skeleton: devices, VERSION, data through all three modules. */
#include <sys/stat.h>

#include "suite.h"

static void t_device_nodes(void)
{
	/*
	 * Every user may open the shim's node (each ioctl checks its own
	 * right: README "Privilege policy"); the test devices are root's.
	 */
	const char *nodes[] = { DEV_REVOKE, DEV_VRE, DEV_IIT };
	const unsigned int modes[] = { 0666, 0600, 0600 };
	struct stat st;
	unsigned int i;

	for (i = 0; i < 3; i++)
		tap_ok(!stat(nodes[i], &st) && S_ISCHR(st.st_mode) &&
		       (st.st_mode & 0777) == modes[i],
		       "device node %s is a character device, mode 0%o",
		       nodes[i], modes[i]);
}

static void t_version(void)
{
	struct dmabuf_revoke_version v;
	int ret = drs_version(&v);

	tap_ok(!ret && v.major == DMABUF_REVOKE_ABI_MAJOR &&
	       v.size == sizeof(v) &&
	       (v.features & DMABUF_REVOKE_FEAT_REVOKE) &&
	       (v.features & DMABUF_REVOKE_FEAT_QUERY),
	       "VERSION ioctl reports ABI %u.%u and the REVOKE/QUERY features",
	       v.major, v.minor);
}

/* export -> import -> device write -> user mmap reads; and the reverse */
static void roundtrip(unsigned int flags, const char *how)
{
	uint8_t *w = malloc(SZ), *r = malloc(SZ), *p;
	int dev, buf, ioas;
	uint32_t id;

	buf = vre_buffer(&dev, SZ, flags);
	ioas = iit_open();
	if (buf < 0)
		tap_diag("vre_buffer: %s", strerror(-buf));
	if (!tap_ok(buf >= 0 && ioas >= 0 && !iit_map(ioas, buf, IOVA, 0, &id),
		    "export and dynamic import of a %lu KiB buffer (%s)",
		    SZ / 1024, how))
		goto out;
	fill_pattern(w, SZ, 1);
	p = map_buf(buf, SZ);
	tap_ok(!iit_dma(ioas, IOVA, w, SZ, true) && p && !memcmp(p, w, SZ),
	       "device write through the IOAS, user mmap reads the same bytes (%s)",
	       how);
	if (p) {
		fill_pattern(p, SZ, 2);
		tap_ok(!iit_dma(ioas, IOVA, r, SZ, false) &&
		       check_pattern(r, SZ, 2),
		       "user mmap write, device read returns the same bytes (%s)",
		       how);
		munmap(p, SZ);
	}
	tap_ok(!iit_id_op(ioas, IIT_IOC_UNMAP, id), "importer unmap (%s)", how);
out:
	if (ioas >= 0)
		close(ioas);
	vre_buffer_close(buf, dev);
	free(w);
	free(r);
}

static void t_roundtrip(void)
{
	roundtrip(0, "pre-populated mmap");
	roundtrip(VRE_EXPORT_MMAP_FAULT, "fault-handler mmap");
}

const struct suite_case skeleton_cases[] = {
	{ "skeleton", t_device_nodes },
	{ "skeleton", t_version },
	{ "skeleton", t_roundtrip },
	{ NULL, NULL },
};
