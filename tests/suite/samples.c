// SPDX-License-Identifier: GPL-2.0
/*
 * The samples behave like the drivers they model: the VFIO-style exporter
 * revokes on reset, memory disable and close, one device at a time; the
 * IOMMUFD-style importer follows iommufd's revoke sequence.
 */
#include <linux/dma-buf.h>

#include <sys/ioctl.h>

#include "suite.h"

/* iommufd's selftest "dmabuf_revoke", without the un-revoke step. */
static void t_iommufd_sequence(void)
{
	uint8_t w[256], r[256];
	struct iit_query q;
	int dev, buf, ioas = iit_open();
	uint32_t id, id2;

	buf = vre_buffer(&dev, SZ, 0);
	fill_pattern(w, sizeof(w), 40);
	if (!tap_ok(buf >= 0 && ioas >= 0 && !iit_map(ioas, buf, IOVA, 0, &id) &&
		    !iit_dma(ioas, IOVA, w, sizeof(w), true) &&
		    !iit_dma(ioas, IOVA, r, sizeof(r), false) &&
		    !memcmp(w, r, sizeof(r)),
		    "samples: iommufd sequence: map the dma-buf into the IOAS, DMA works"))
		goto out;
	tap_ok(!drs_revoke(buf, 1000, NULL, NULL, 0) &&
	       !iit_query(ioas, id, &q) && q.state == IIT_STATE_REVOKED &&
	       q.invalidations == 1,
	       "samples: iommufd sequence: revoke reaches the IOAS, mapping revoked for good");
	tap_ok(iit_dma(ioas, IOVA, r, sizeof(r), false) == -ENODEV,
	       "samples: iommufd sequence: DMA to the revoked range fails with ENODEV");
	tap_ok(iit_id_op(ioas, IIT_IOC_REMAP, id) == -ENODEV &&
	       iit_map(ioas, buf, 2 * IOVA, 0, &id2) == -ENODEV,
	       "samples: iommufd sequence: re-mapping fails with ENODEV");
	tap_ok(!iit_id_op(ioas, IIT_IOC_UNMAP, id) &&
	       iit_query(ioas, id, &q) == -ENOENT,
	       "samples: iommufd sequence: unmapping the old IOVA works");
out:
	if (ioas >= 0)
		close(ioas);
	vre_buffer_close(buf, dev);
}

/* Two devices; device A exports two overlapping buffers, B one. */
struct pair {
	int a, b;
	int a1, a2, b1;
};

static bool pair_setup(struct pair *p)
{
	uint64_t bar = 2 * SZ;

	p->a = vre_device(1, &bar);
	p->b = vre_device(1, &bar);
	p->a1 = p->a >= 0 ? vre_export(p->a, 0, 0, 2 * SZ, 0) : -1;
	p->a2 = p->a >= 0 ? vre_export(p->a, 0, SZ, SZ, 0) : -1;
	p->b1 = p->b >= 0 ? vre_export(p->b, 0, 0, SZ, 0) : -1;
	return p->a >= 0 && p->b >= 0 && p->a1 >= 0 && p->a2 >= 0 &&
	       p->b1 >= 0;
}

static void pair_teardown(struct pair *p)
{
	int *fds[] = { &p->a1, &p->a2, &p->b1, &p->a, &p->b };
	unsigned int i;

	for (i = 0; i < 5; i++)
		if (*fds[i] >= 0)
			close(*fds[i]);
}

/* B's buffer is live and usable by an importer. */
static bool b_untouched(struct pair *p)
{
	int ioas = iit_open();
	uint8_t byte = 0;
	uint32_t id;
	bool ok;

	ok = ioas >= 0 && !drs_is_revoked(p->b1) &&
	     !iit_map(ioas, p->b1, IOVA, 0, &id) &&
	     !iit_dma(ioas, IOVA, &byte, 1, false);
	if (ioas >= 0)
		close(ioas);
	return ok;
}

static void t_reset(void)
{
	struct pair p;
	int a3;

	if (!tap_ok(pair_setup(&p), "samples: two devices, three buffers"))
		goto out;
	tap_ok(vre_reset(p.a) == 2 && drs_is_revoked(p.a1) &&
	       drs_is_revoked(p.a2),
	       "samples: reset revokes both buffers of the device");
	tap_ok(b_untouched(&p),
	       "samples: reset leaves the other device's buffer alone");
	a3 = vre_export(p.a, 0, 0, SZ, 0);
	tap_ok(a3 >= 0 && !drs_is_revoked(a3) && drs_is_revoked(p.a1),
	       "samples: new exports after reset are live, old ones stay revoked");
	if (a3 >= 0)
		close(a3);
out:
	pair_teardown(&p);
}

static void t_memory_disable(void)
{
	struct pair p;
	uint8_t *m = MAP_FAILED, v = 0;
	int ret;

	if (!tap_ok(pair_setup(&p), "samples: memory-disable setup"))
		goto out;
	/* The device fd maps BAR 0 directly, as a VFIO region mmap. */
	m = mmap(NULL, SZ, PROT_READ | PROT_WRITE, MAP_SHARED, p.a,
		 VRE_BAR_OFFSET(0));
	tap_ok(m != MAP_FAILED && !touch_write(m, 0x42),
	       "samples: BAR mmap through the device fd works");
	tap_ok(vre_memory(p.a, false) == 2 && drs_is_revoked(p.a1) &&
	       drs_is_revoked(p.a2),
	       "samples: clearing the memory bit revokes every buffer of the device");
	tap_ok(b_untouched(&p),
	       "samples: memory disable leaves the other device's buffer alone");
	tap_ok(m != MAP_FAILED && touch_read(m, &v) == TOUCH_SIGBUS,
	       "samples: the device-fd BAR mapping is torn down and faults SIGBUS");
	ret = vre_export(p.a, 0, 0, SZ, 0);
	tap_ok(ret == -EIO, "samples: exports fail with EIO while memory is disabled");
	if (ret >= 0)
		close(ret);
	ret = vre_memory(p.a, true);
	/* The revoked buffers covered the page, so it was scrubbed. */
	tap_ok(!ret && m != MAP_FAILED && touch_read(m, &v) == TOUCH_OK &&
	       v == VRE_SCRUB_BYTE,
	       "samples: setting the memory bit again restores the device mapping (scrubbed)");
out:
	if (m != MAP_FAILED)
		munmap(m, SZ);
	pair_teardown(&p);
}

static void t_close(void)
{
	struct pair p;

	if (!tap_ok(pair_setup(&p), "samples: close setup"))
		goto out;
	close(p.a);
	p.a = -1;
	tap_ok(drs_is_revoked(p.a1) && drs_is_revoked(p.a2),
	       "samples: closing the device revokes every buffer it exported");
	tap_ok(b_untouched(&p),
	       "samples: closing one device leaves the other's buffer alone");
out:
	pair_teardown(&p);
}

static int self_import(int dev, int fd, struct vre_import *im)
{
	memset(im, 0, sizeof(*im));
	im->size = sizeof(*im);
	im->fd = fd;
	return ioctl(dev, VRE_IOC_IMPORT, im) ? -errno : 0;
}

/* An exporter recognises its own buffers through the shim (issue 13). */
static void t_self_import(void)
{
	uint64_t bar = 4 * PAGE;
	struct vre_import im;
	int dev, other, a = -1, p = -1, v = -1, vg = vgem_open();
	uint32_t h;

	dev = vre_device(1, &bar);
	other = vre_device(1, &bar);
	if (!tap_ok(dev >= 0 && other >= 0 &&
		    (a = vre_export(dev, 0, PAGE, 2 * PAGE, 0)) >= 0 &&
		    (p = vre_export(dev, 0, 0, PAGE, VRE_EXPORT_PLAIN)) >= 0,
		    "samples: self-import setup"))
		goto out;
	tap_ok(!self_import(dev, a, &im) && im.same_device && im.managed &&
	       im.offset == PAGE && im.length == 2 * PAGE,
	       "samples: the exporter recognises its own managed buffer behind the shim's ops");
	tap_ok(!self_import(other, a, &im) && !im.same_device,
	       "samples: another device of the same exporter recognises it too");
	tap_ok(!self_import(dev, p, &im) && !im.managed && im.length == PAGE,
	       "samples: and its plain buffers, as before");
	if (vg >= 0 && (v = vgem_export(vg, PAGE, &h)) >= 0)
		tap_ok(self_import(dev, v, &im) == -EINVAL,
		       "samples: another exporter's dma-buf is not taken for ours");
	drs_revoke(a, 1000, NULL, NULL, 0);
	tap_ok(self_import(dev, a, &im) == -ENODEV,
	       "samples: the private path refuses a revoked buffer (ENODEV)");
out:
	if (v >= 0)
		close(v);
	if (vg >= 0)
		close(vg);
	if (p >= 0)
		close(p);
	if (a >= 0)
		close(a);
	if (other >= 0)
		close(other);
	if (dev >= 0)
		close(dev);
}

/*
 * The R11 scrub touches only memory nothing else can reach: not pages of an
 * overlapping buffer that is still live, not memory the device fd maps.
 */
static void t_scrub_scope(void)
{
	uint8_t *data = malloc(6 * PAGE), *got = malloc(6 * PAGE), *m;
	uint64_t bar = 6 * PAGE;
	struct dmabuf_revoke_report r;
	int dev, a = -1, b = -1;

	dev = vre_device(1, &bar);
	fill_pattern(data, 6 * PAGE, 51);
	if (!tap_ok(dev >= 0 && !vre_bar_rw(dev, 0, 0, data, 6 * PAGE, true) &&
		    (a = vre_export(dev, 0, 0, 4 * PAGE, 0)) >= 0 &&
		    (b = vre_export(dev, 0, 2 * PAGE, 4 * PAGE, 0)) >= 0,
		    "samples: scrub scope setup (A = pages 0-3, B = pages 2-5)"))
		goto out;
	drs_revoke(a, 1000, &r, NULL, 0);
	vre_bar_rw(dev, 0, 0, got, 6 * PAGE, false);
	tap_ok(all_bytes(got, 2 * PAGE, VRE_SCRUB_BYTE) &&
	       !memcmp(got + 2 * PAGE, data + 2 * PAGE, 4 * PAGE),
	       "samples: revoking A scrubs only the pages live buffer B does not cover");
	/* The device maps its BAR itself now: nothing of it may be scrubbed. */
	m = mmap(NULL, 6 * PAGE, PROT_READ, MAP_SHARED, dev, VRE_BAR_OFFSET(0));
	drs_revoke(b, 1000, &r, NULL, 0);
	vre_bar_rw(dev, 0, 0, got, 6 * PAGE, false);
	tap_ok(m != MAP_FAILED && !memcmp(got + 2 * PAGE, data + 2 * PAGE, 4 * PAGE),
	       "samples: nothing the device fd maps is scrubbed");
	if (m != MAP_FAILED)
		munmap(m, 6 * PAGE);
out:
	if (a >= 0)
		close(a);
	if (b >= 0)
		close(b);
	if (dev >= 0)
		close(dev);
	free(data);
	free(got);
}

/* After revoke and scrub, no path returns the old bytes. */
static void t_scrub(void)
{
	uint8_t w[256], r[256], *m = NULL;
	int dev, buf, ioas = iit_open();
	struct dmabuf_revoke_query q;
	struct vre_stats st;
	uint32_t ign, v;
	bool zeroed;
	double t0;
	int ret;

	buf = vre_buffer(&dev, SZ, 0);
	fill_pattern(w, sizeof(w), 41);
	if (!tap_ok(buf >= 0 && ioas >= 0 &&
		    !iit_map(ioas, buf, IOVA, IIT_MAP_IGNORE, &ign) &&
		    !iit_dma(ioas, IOVA, w, sizeof(w), true) &&
		    (m = map_buf(buf, SZ)) && !memcmp(m, w, sizeof(w)),
		    "samples: data written by the device is read through the exporter's mmap"))
		goto out;
	vre_reset(dev);
	tap_ok(!iit_dma(ioas, IOVA, r, sizeof(r), false) && !memcmp(r, w, sizeof(r)) &&
	       !vre_stats(dev, false, &st) && st.quarantined == 1 &&
	       st.scrubbed_bytes == 0 && !drs_query(buf, &q) &&
	       !(q.state & DMABUF_REVOKE_STATE_COMPLETE),
	       "samples: memory an ignoring importer still maps is quarantined - neither scrubbed nor reused - and QUERY says not complete");
	tap_ok(touch_read(m, &r[0]) == TOUCH_SIGBUS,
	       "samples: the exporter's mmap faults SIGBUS after reset");
	ret = iit_vmap(ioas, buf, &v);
	zeroed = !ret && !iit_vmap_read(ioas, v, r, sizeof(r)) &&
		 all_bytes(r, sizeof(r), 0);
	tap_ok(ret == -EINVAL || zeroed,
	       "samples: a kernel vmap after reset never sees the buffer's bytes");
	if (!ret)
		iit_vunmap(ioas, v);
	/* The importer lets go at last: the exporter hears it and scrubs. */
	iit_id_op(ioas, IIT_IOC_UNMAP, ign);
	t0 = now_ms();
	while (!vre_stats(dev, false, &st) && st.scrubbed_bytes < SZ &&
	       now_ms() - t0 < 3000)
		usleep(10000);
	vre_bar_rw(dev, 0, 0, r, sizeof(r), false);
	tap_ok(st.scrubbed_bytes == SZ && all_bytes(r, sizeof(r), VRE_SCRUB_BYTE) &&
	       !drs_query(buf, &q) && (q.state & DMABUF_REVOKE_STATE_COMPLETE),
	       "samples: when the last mapping goes the exporter is told, scrubs, and QUERY says complete");
out:
	if (m)
		munmap(m, SZ);
	if (ioas >= 0)
		close(ioas);
	vre_buffer_close(buf, dev);
}

const struct suite_case samples_cases[] = {
	{ "samples", t_iommufd_sequence },
	{ "samples", t_reset },
	{ "samples", t_memory_disable },
	{ "samples", t_close },
	{ "samples", t_scrub },
	{ "samples", t_scrub_scope },
	{ "samples", t_self_import },
	{ NULL, NULL },
};
