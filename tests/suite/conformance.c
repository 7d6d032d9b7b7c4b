// SPDX-License-Identifier: GPL-2.0
/*
 * R12: a managed buffer that was never revoked behaves like the same buffer
 * exported without the shim. Every case runs on both exports.
 */
#include <linux/dma-buf.h>

#include "suite.h"

static void conformance(unsigned int flags, const char *kind)
{
	uint8_t *w = malloc(SZ), *r = malloc(SZ), *p;
	struct vre_stats s;
	int dev, buf, ioas, vgem;
	uint32_t id, sid, v, h;

	buf = vre_buffer(&dev, SZ, flags);
	ioas = iit_open();
	if (!tap_ok(buf >= 0 && ioas >= 0, "R12 export (%s)", kind))
		goto out;

	fill_pattern(w, SZ, 12);
	p = map_buf(buf, SZ);
	tap_ok(!iit_map(ioas, buf, IOVA, 0, &id) &&
	       !iit_dma(ioas, IOVA, w, SZ, true) && p && !memcmp(p, w, SZ),
	       "R12 dynamic import, device write, mmap read (%s)", kind);
	tap_ok(!iit_map(ioas, buf, 2 * IOVA, IIT_MAP_STATIC, &sid) &&
	       !iit_dma(ioas, 2 * IOVA, r, SZ, false) && !memcmp(r, w, SZ),
	       "R12 static import and device read (%s)", kind);
	tap_ok(!iit_id_op(ioas, IIT_IOC_UNMAP, sid) &&
	       !iit_id_op(ioas, IIT_IOC_UNMAP, id),
	       "R12 unmap and detach (%s)", kind);
	tap_ok(!dmabuf_sync(buf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW) &&
	       !dmabuf_sync(buf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW),
	       "R12 DMA_BUF_IOCTL_SYNC start and end (%s)", kind);
	tap_ok(!iit_vmap(ioas, buf, &v) && !iit_vmap_read(ioas, v, r, 256) &&
	       !memcmp(r, w, 256) && !iit_vunmap(ioas, v),
	       "R12 kernel vmap reads the buffer (%s)", kind);
	tap_ok(!iit_cpu(ioas, buf, false, true) && !iit_cpu(ioas, buf, true, true),
	       "R12 in-kernel begin/end CPU access (%s)", kind);
	if (p)
		munmap(p, SZ);

	vgem = vgem_open();
	if (vgem < 0) {
		tap_skip("no vgem", "R12 vgem PRIME import (%s)", kind);
	} else {
		tap_ok(!vgem_import(vgem, buf, &h) && !vgem_close_handle(vgem, h),
		       "R12 vgem PRIME import and close (%s)", kind);
		close(vgem);
	}
	tap_ok(!vre_stats(dev, false, &s) && s.late_callbacks == 0 &&
	       s.revokes == 0, "R12 no revoke side effect (%s)", kind);
out:
	if (ioas >= 0)
		close(ioas);
	vre_buffer_close(buf, dev);
	free(w);
	free(r);
}

static void conformance_mmap_fault(unsigned int flags, const char *kind)
{
	int dev, buf;
	uint8_t *p;

	buf = vre_buffer(&dev, SZ, flags | VRE_EXPORT_MMAP_FAULT);
	p = buf >= 0 ? map_buf(buf, SZ) : NULL;
	if (p) {
		fill_pattern(p, SZ, 13);
		munmap(p, SZ);
		p = map_buf(buf, SZ);
	}
	tap_ok(p && check_pattern(p, SZ, 13),
	       "R12 fault-handler mmap keeps data across mappings (%s)", kind);
	if (p)
		munmap(p, SZ);
	vre_buffer_close(buf, dev);
}

static void conformance_no_ops(unsigned int flags, const char *kind)
{
	int dev, buf, ioas = iit_open();
	uint32_t v;
	uint8_t *p;

	buf = vre_buffer(&dev, SZ, flags | VRE_EXPORT_NO_MMAP | VRE_EXPORT_NO_VMAP);
	p = buf >= 0 ? map_buf(buf, SZ) : NULL;
	tap_ok(buf >= 0 && !p && errno == EINVAL &&
	       iit_vmap(ioas, buf, &v) == -EINVAL,
	       "R12 an exporter without mmap/vmap refuses both with EINVAL (%s)",
	       kind);
	if (p)
		munmap(p, SZ);
	vre_buffer_close(buf, dev);
	if (ioas >= 0)
		close(ioas);
}

/*
 * MAP_SHARED of a file opened O_RDONLY: the core keeps VM_MAYSHARE but
 * clears VM_SHARED and VM_MAYWRITE, and refuses PROT_WRITE with EACCES.
 * A dma-buf fd cannot be reopened read-only (its inode has no open():
 * open("/proc/self/fd/N") fails), and this exporter exports O_RDWR, so the
 * read-only file is the importer's: its mmap hands the VMA to
 * dma_buf_mmap(), as DRM drivers do for imported objects.
 */
static void conformance_rdonly_mmap(unsigned int flags, const char *kind)
{
	uint8_t *w = NULL, *p = MAP_FAILED, *q, v;
	int dev, buf, ro = -1, reopen;
	char path[64];
	uint32_t id;

	buf = vre_buffer(&dev, SZ, flags);
	if (buf >= 0) {
		w = map_buf(buf, SZ);
		ro = open(DEV_IIT, O_RDONLY | O_CLOEXEC);
	}
	if (!tap_ok(w && ro >= 0 && !iit_map(ro, buf, IOVA, 0, &id),
		    "R12 a dma-buf imported through an O_RDONLY importer fd (%s)",
		    kind))
		goto out;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", buf);
	reopen = open(path, O_RDONLY | O_CLOEXEC);
	tap_ok(reopen < 0,
	       "R12 a dma-buf cannot be reopened read-only through /proc (%s: %s)",
	       kind, reopen < 0 ? strerror(errno) : "opened");
	if (reopen >= 0)
		close(reopen);

	fill_pattern(w, SZ, 14);
	p = mmap(NULL, SZ, PROT_READ, MAP_SHARED, ro, IIT_MMAP_OFFSET(id));
	tap_ok(p != MAP_FAILED && touch_read(p, &v) == TOUCH_OK &&
	       !memcmp(p, w, SZ),
	       "R12 PROT_READ, MAP_SHARED of an O_RDONLY fd works and reads the buffer (%s: %s)",
	       kind, p == MAP_FAILED ? strerror(errno) : "mapped");
	if (p != MAP_FAILED) {
		fill_pattern(w, SZ, 15);
		tap_ok(touch_read(p, &v) == TOUCH_OK && check_pattern(p, SZ, 15),
		       "R12 the read-only mapping is shared: it sees later writes (%s)",
		       kind);
		tap_ok(mprotect(p, SZ, PROT_READ | PROT_WRITE) && errno == EACCES,
		       "R12 mprotect(PROT_WRITE) of it fails with EACCES (%s)",
		       kind);
	}
	q = mmap(NULL, SZ, PROT_READ | PROT_WRITE, MAP_SHARED, ro,
		 IIT_MMAP_OFFSET(id));
	tap_ok(q == MAP_FAILED && errno == EACCES,
	       "R12 PROT_WRITE, MAP_SHARED of an O_RDONLY fd fails with EACCES (%s)",
	       kind);
	if (q != MAP_FAILED)
		munmap(q, SZ);
out:
	if (p != MAP_FAILED)
		munmap(p, SZ);
	if (w)
		munmap(w, SZ);
	if (ro >= 0)
		close(ro);
	vre_buffer_close(buf, dev);
}

static void t_r12(void)
{
	conformance(VRE_EXPORT_PLAIN, "plain");
	conformance(0, "managed");
	conformance_mmap_fault(VRE_EXPORT_PLAIN, "plain");
	conformance_mmap_fault(0, "managed");
	conformance_no_ops(VRE_EXPORT_PLAIN, "plain");
	conformance_no_ops(0, "managed");
	conformance_rdonly_mmap(VRE_EXPORT_PLAIN, "plain");
	conformance_rdonly_mmap(0, "managed");
}

const struct suite_case conformance_cases[] = {
	{ "conformance", t_r12 },
	{ NULL, NULL },
};
