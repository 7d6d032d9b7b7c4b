// SPDX-License-Identifier: GPL-2.0
/* The revoke contract, R1-R11 (DESIGN.md section 3), one rule at a time. */
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include <linux/dma-buf.h>

#include "suite.h"

struct fixture {
	int dev, buf, ioas;
};

static bool setup(struct fixture *f, unsigned int flags)
{
	f->ioas = -1;
	f->buf = vre_buffer(&f->dev, SZ, flags);
	if (f->buf < 0)
		return false;
	f->ioas = iit_open();
	return f->ioas >= 0;
}

static void teardown(struct fixture *f)
{
	if (f->ioas >= 0)
		close(f->ioas);
	if (f->buf >= 0) {
		close(f->buf);
		close(f->dev);
	}
}

static int do_revoke(int fd, struct dmabuf_revoke_report *r)
{
	return drs_revoke(fd, 1000, r, NULL, 0);
}

static void t_r1_permanent(void)
{
	struct dmabuf_revoke_report r1, r2;
	struct dmabuf_revoke_query q, q2;
	struct fixture f;
	int buf2;

	if (!tap_ok(setup(&f, 0), "R1 setup"))
		goto out;
	tap_ok(!do_revoke(f.buf, &r1) && !(r1.flags & DMABUF_REVOKE_REPORT_ALREADY),
	       "R1 first revoke succeeds and is not 'already revoked'");
	tap_ok(!do_revoke(f.buf, &r2) && (r2.flags & DMABUF_REVOKE_REPORT_ALREADY),
	       "R1 second revoke is a no-op that succeeds and says already revoked");
	tap_ok(!drs_query(f.buf, &q) &&
	       (q.state & DMABUF_REVOKE_STATE_REVOKED) &&
	       (q.state & DMABUF_REVOKE_STATE_COMPLETE),
	       "R1 QUERY reports revoked and complete");

	/* A device reset neither un-revokes the old buffer nor blocks new ones. */
	tap_ok(vre_reset(f.dev) >= 0, "R1 device reset after revoke works");
	buf2 = vre_export(f.dev, 0, 0, SZ, 0);
	tap_ok(buf2 >= 0 && !drs_query(buf2, &q2) &&
	       !(q2.state & DMABUF_REVOKE_STATE_REVOKED) &&
	       !drs_query(f.buf, &q) && (q.state & DMABUF_REVOKE_STATE_REVOKED) &&
	       !map_buf(f.buf, SZ),
	       "R1 after reset the old buffer stays revoked, a new export is live");
	if (buf2 >= 0)
		close(buf2);
out:
	teardown(&f);
}

/*
 * A refused attach must not reach the exporter: each importer here would
 * also be refused later on its way in (pin, or the map op), so the
 * exporter's callback count is what shows the attach trampoline refused.
 */
static void t_r2_attach(void)
{
	struct vre_stats s0 = { 0 }, s1 = { 0 };
	struct fixture f;
	uint32_t id, h;
	int vgem;
	bool ok;

	if (!tap_ok(setup(&f, 0), "R2 setup"))
		goto out;
	do_revoke(f.buf, NULL);
	vre_stats(f.dev, false, &s0);
	tap_ok(iit_map(f.ioas, f.buf, IOVA, IIT_MAP_NO_PIN | IIT_MAP_DIRECT,
		       &id) == -ENODEV,
	       "R2 dynamic attach after revoke fails with ENODEV (unpinned)");
	tap_ok(iit_map(f.ioas, f.buf, IOVA, 0, &id) == -ENODEV,
	       "R2 dynamic attach after revoke fails with ENODEV");
	tap_ok(iit_map(f.ioas, f.buf, IOVA, IIT_MAP_STATIC, &id) == -ENODEV,
	       "R2 static attach after revoke fails with ENODEV");
	vgem = vgem_open();
	if (vgem < 0) {
		tap_skip("no vgem", "R2 vgem PRIME import after revoke fails");
	} else {
		tap_ok(vgem_import(vgem, f.buf, &h) == -ENODEV,
		       "R2 vgem PRIME import after revoke fails with ENODEV");
		close(vgem);
	}
	/* Not inside tap_ok(): its arguments print s1. */
	ok = !vre_stats(f.dev, false, &s1);
	tap_ok(ok && s1.callbacks == s0.callbacks,
	       "R2 no refused attach reached the exporter (callbacks %llu -> %llu)",
	       (unsigned long long)s0.callbacks,
	       (unsigned long long)s1.callbacks);
out:
	teardown(&f);
}

/*
 * A dynamic importer that dropped its mapping on invalidation maps again.
 * Which trampoline refuses depends on the core: with pin-on-map (6.x without
 * CONFIG_DMABUF_MOVE_NOTIFY, Debian's 6.1 and 6.12) dma_buf_map_attachment()
 * calls ops->pin first and the shim's pin refuses (R4); 7.x calls only the
 * map op for a dynamic importer. IIT_MAP_DIRECT maps through the map op
 * alone, as 7.x and CONFIG_DMABUF_MOVE_NOTIFY=y cores do, so the map
 * trampoline's own check is proven on every kernel.
 */
static void r3_mode(unsigned int flags, const char *how)
{
	uint8_t data[256], got[256], byte;
	struct dmabuf_revoke_query q;
	struct vre_stats s = { 0 };
	struct iit_query iq;
	struct fixture f;
	uint32_t id;
	bool ok;

	fill_pattern(data, sizeof(data), 3);
	if (!tap_ok(setup(&f, 0) &&
		    !vre_bar_rw(f.dev, 0, 0, data, sizeof(data), true) &&
		    !iit_map(f.ioas, f.buf, IOVA, IIT_MAP_KEEP_ALIVE | flags,
			     &id) &&
		    !iit_dma(f.ioas, IOVA, got, sizeof(got), false) &&
		    !memcmp(got, data, sizeof(got)),
		    "R3 setup: a re-mapping dynamic importer reads the buffer (%s)",
		    how))
		goto out;
	do_revoke(f.buf, NULL);
	tap_ok(!iit_query(f.ioas, id, &iq) && iq.state == IIT_STATE_INVALIDATED,
	       "R3 the importer dropped its mapping on invalidation (%s)", how);
	tap_ok(iit_id_op(f.ioas, IIT_IOC_REMAP, id) == -ENODEV,
	       "R3 re-map after invalidation fails with ENODEV (%s)", how);
	tap_ok(!drs_query(f.buf, &q) && q.mappings == 0,
	       "R3 no device mapping of the buffer is left (%s)", how);
	tap_ok(iit_dma(f.ioas, IOVA, &byte, 1, false) == -ENODEV,
	       "R3 device DMA through the dropped mapping fails (%s)", how);
	/* Not inside tap_ok(): its arguments print s. */
	ok = !vre_stats(f.dev, false, &s);
	tap_ok(ok && s.late_callbacks == 0,
	       "R3 the refused re-map never reached the exporter (%s; late callbacks %llu)",
	       how, (unsigned long long)s.late_callbacks);
out:
	teardown(&f);
}

static void t_r3_map(void)
{
	r3_mode(0, "pinned, through the core");
	r3_mode(IIT_MAP_NO_PIN, "unpinned, through the core");
	r3_mode(IIT_MAP_NO_PIN | IIT_MAP_DIRECT,
		"unpinned, through the map op alone");
}

static void t_r4_pin(void)
{
	struct fixture f;
	uint32_t id;

	if (!tap_ok(setup(&f, 0) &&
		    !iit_map(f.ioas, f.buf, IOVA,
			     IIT_MAP_KEEP_ALIVE | IIT_MAP_NO_PIN, &id),
		    "R4 setup: an attachment that is not pinned"))
		goto out;
	tap_ok(!iit_id_op(f.ioas, IIT_IOC_PIN, id) &&
	       !iit_id_op(f.ioas, IIT_IOC_UNPIN, id),
	       "R4 pin and unpin work before revoke");
	do_revoke(f.buf, NULL);
	tap_ok(iit_id_op(f.ioas, IIT_IOC_PIN, id) == -ENODEV,
	       "R4 pin after revoke fails with ENODEV");
out:
	teardown(&f);
}

static void t_r5_vmap(void)
{
	struct dmabuf_revoke_version v;
	struct dmabuf_revoke_report r;
	uint8_t data[256], got[256];
	uint32_t ids[3], late;
	struct fixture f;
	unsigned int i;
	int ret;

	if (!tap_ok(setup(&f, 0) && !drs_version(&v), "R5 setup"))
		goto out;
	fill_pattern(data, sizeof(data), 5);
	vre_bar_rw(f.dev, 0, 0, data, sizeof(data), true);
	for (i = 0, ret = 0; i < 3 && !ret; i++)
		ret = iit_vmap(f.ioas, f.buf, &ids[i]);
	tap_ok(!ret && !iit_vmap_read(f.ioas, ids[0], got, sizeof(got)) &&
	       !memcmp(got, data, sizeof(got)),
	       "R5 three kernel vmaps before revoke read the buffer");
	ret = do_revoke(f.buf, &r);
	tap_ok(!ret && r.vmaps == 3,
	       "R5 REVOKE reports the 3 vmaps it cannot tear down (got %u)",
	       r.vmaps);
	for (i = 0, ret = 0; i < 3; i++)
		ret |= iit_vunmap(f.ioas, ids[i]);
	tap_ok(!ret, "R10 vunmap of vmaps held across revoke works");

	ret = iit_vmap(f.ioas, f.buf, &late);
	if (v.features & DMABUF_REVOKE_FEAT_VMAP_FAILS) {
		tap_ok(ret == -EINVAL, "R5 vmap after revoke fails with EINVAL");
	} else {
		/* 6.1: no clean failure exists; never the exporter's memory. */
		tap_ok(!ret && !iit_vmap_read(f.ioas, late, got, sizeof(got)) &&
		       all_bytes(got, sizeof(got), 0),
		       "R5 vmap after revoke gets zeroed private memory, not the buffer (6.1 core)");
		if (!ret)
			iit_vunmap(f.ioas, late);
	}
out:
	teardown(&f);
}

static void r6_mode(unsigned int flags, const char *how)
{
	struct dmabuf_revoke_report r;
	struct fixture f;
	uint8_t *p = NULL, *p2;
	int status, go[2];
	pid_t child;
	char c = 0;

	if (!tap_ok(setup(&f, flags) && (p = map_buf(f.buf, SZ)) && !pipe(go),
		    "R6 setup (%s)", how))
		goto out;
	/* Populate only the first half: the rest was never faulted in. */
	fill_pattern(p, SZ / 2, 6);
	child = fork();
	if (child == 0) {
		/* The child's copy of the mapping, revoked under its feet. */
		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(2);
		_exit(sigbus_pages(p, SZ, false) == SZ / PAGE ? 0 : 1);
	}
	close(go[0]);
	status = do_revoke(f.buf, &r);
	tap_ok(!status && r.user_mappings == 2,
	       "R6 REVOKE zaps both user mappings, parent's and child's (%s, got %u)",
	       how, r.user_mappings);
	tap_ok(sigbus_pages(p, SZ / 2, false) == SZ / 2 / PAGE,
	       "R6 read of a zapped, populated page raises SIGBUS (%s)", how);
	tap_ok(sigbus_pages(p + SZ / 2, SZ / 2, false) == SZ / 2 / PAGE,
	       "R6 read of a never-faulted page raises SIGBUS (%s)", how);
	tap_ok(sigbus_pages(p, SZ, true) == SZ / PAGE,
	       "R6 write to the zapped mapping raises SIGBUS (%s)", how);
	if (write(go[1], &c, 1) != 1)
		kill(child, SIGKILL);
	close(go[1]);
	tap_ok(waitpid(child, &status, 0) == child && WIFSIGNALED(status) == 0 &&
	       WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "R6 a forked child's copy of the mapping raises SIGBUS too (%s)",
	       how);
	p2 = map_buf(f.buf, SZ);
	tap_ok(!p2 && errno == ENODEV, "R6 mmap after revoke fails with ENODEV (%s)",
	       how);
	if (p2)
		munmap(p2, SZ);
	tap_ok(!munmap(p, SZ), "R10 munmap of a zapped mapping works (%s)", how);
out:
	teardown(&f);
}

static void t_r6_user_mappings(void)
{
	struct fixture f;
	uint8_t *p;
	uint32_t id;

	r6_mode(0, "pre-populated");
	r6_mode(VRE_EXPORT_MMAP_FAULT, "exporter fault handler");

	if (!tap_ok(setup(&f, 0), "R6 setup (private, dma_buf_mmap)"))
		goto out;
	p = mmap(NULL, SZ, PROT_READ | PROT_WRITE, MAP_PRIVATE, f.buf, 0);
	tap_ok(p == MAP_FAILED && errno == EINVAL,
	       "R6 MAP_PRIVATE of a managed buffer is refused with EINVAL");

	/* dma_buf_mmap() from another driver: the importer's own fd. */
	p = MAP_FAILED;
	if (!iit_map(f.ioas, f.buf, IOVA, 0, &id))
		p = mmap(NULL, SZ, PROT_READ | PROT_WRITE, MAP_SHARED, f.ioas,
			 IIT_MMAP_OFFSET(id));
	if (tap_ok(p != MAP_FAILED && !touch_write(p, 7),
		   "R6 mapping through dma_buf_mmap() of another driver works")) {
		do_revoke(f.buf, NULL);
		tap_ok(sigbus_pages(p, SZ, false) == SZ / PAGE,
		       "R6 a mapping made through dma_buf_mmap() raises SIGBUS after revoke");
		munmap(p, SZ);
	}
out:
	teardown(&f);
}

static void t_r7_cpu_access(void)
{
	struct fixture f;

	if (!tap_ok(setup(&f, 0), "R7 setup"))
		goto out;
	tap_ok(!dmabuf_sync(f.buf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW) &&
	       !iit_cpu(f.ioas, f.buf, false, true),
	       "R7 CPU access begins before revoke (ioctl and in-kernel)");
	do_revoke(f.buf, NULL);
	tap_ok(dmabuf_sync(f.buf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ) == -ENODEV,
	       "R7 DMA_BUF_IOCTL_SYNC start after revoke fails with ENODEV");
	tap_ok(!dmabuf_sync(f.buf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW),
	       "R7 DMA_BUF_IOCTL_SYNC end after revoke succeeds");
	tap_ok(iit_cpu(f.ioas, f.buf, false, false) == -ENODEV,
	       "R7 dma_buf_begin_cpu_access() after revoke fails with ENODEV");
	tap_ok(!iit_cpu(f.ioas, f.buf, true, true),
	       "R7 dma_buf_end_cpu_access() after revoke succeeds");
out:
	teardown(&f);
}

static void t_r8_notify(void)
{
	struct dmabuf_revoke_report r;
	struct iit_query q1, q2;
	struct fixture f;
	uint32_t a, b, c;

	if (!tap_ok(setup(&f, 0) &&
		    !iit_map(f.ioas, f.buf, IOVA, 0, &a) &&
		    !iit_map(f.ioas, f.buf, 2 * IOVA, IIT_MAP_KEEP_ALIVE, &b) &&
		    !iit_map(f.ioas, f.buf, 3 * IOVA, IIT_MAP_STATIC, &c),
		    "R8 setup: two dynamic and one static attachment"))
		goto out;
	tap_ok(!do_revoke(f.buf, &r) && r.attachments == 3 && r.notified == 2 &&
	       r.static_attachments == 1,
	       "R8 REVOKE tells the 2 dynamic importers, counts the static one");
	do_revoke(f.buf, NULL);
	tap_ok(!iit_query(f.ioas, a, &q1) && !iit_query(f.ioas, b, &q2) &&
	       q1.invalidations == 1 && q2.invalidations == 1 &&
	       q1.state == IIT_STATE_REVOKED,
	       "R8 each dynamic attachment got exactly one notification");
out:
	teardown(&f);
}

static void t_r9_fences(void)
{
	struct dmabuf_revoke_report r;
	struct dmabuf_revoke_query q;
	struct vre_stats s;
	struct fixture f;
	uint32_t fence;

	if (!tap_ok(setup(&f, 0) && !vre_fence_add(f.dev, f.buf, &fence),
		    "R9 setup: an unsignalled BOOKKEEP fence"))
		goto out;
	tap_ok(!drs_revoke(f.buf, 200, &r, NULL, 0) &&
	       (r.flags & DMABUF_REVOKE_REPORT_FENCES),
	       "R9 revoke reports fences that did not signal in time");
	tap_ok(!vre_stats(f.dev, false, &s) && s.revokes == 0 &&
	       !drs_query(f.buf, &q) && !(q.state & DMABUF_REVOKE_STATE_COMPLETE),
	       "R9/R11 not complete, exporter not told, while a fence is pending");
	vre_fence_signal(f.dev, fence);
	tap_ok(!drs_revoke(f.buf, 1000, &r, NULL, 0) &&
	       !(r.flags & DMABUF_REVOKE_REPORT_FENCES) &&
	       (r.flags & DMABUF_REVOKE_REPORT_ALREADY) &&
	       !vre_stats(f.dev, false, &s) && s.revokes == 1,
	       "R9 once the fence signalled, revoke completes and the exporter is told");
out:
	teardown(&f);
}

static void t_r9_importers(void)
{
	struct dmabuf_revoke_entry e[4];
	struct dmabuf_revoke_report r;
	struct dmabuf_revoke_query q;
	struct fixture f;
	uint32_t ign, st, dyn;
	double t0, dt;
	int vgem, ret;
	uint32_t h;

	if (!tap_ok(setup(&f, 0) &&
		    !iit_map(f.ioas, f.buf, IOVA, IIT_MAP_IGNORE, &ign) &&
		    !iit_map(f.ioas, f.buf, 2 * IOVA, IIT_MAP_STATIC, &st) &&
		    !iit_map(f.ioas, f.buf, 3 * IOVA, 0, &dyn),
		    "R9 setup: ignoring, static and well-behaved importers"))
		goto out;
	/* The hot paths count per attachment; QUERY sums them. */
	ret = drs_query(f.buf, &q);	/* not inside tap_ok(): it prints q */
	tap_ok(!ret && q.mappings == 3,
	       "R9 QUERY counts the 3 device mappings before revoke (got %u)",
	       q.mappings);
	t0 = now_ms();
	memset(e, 0, sizeof(e));
	tap_ok(!drs_revoke(f.buf, 300, &r, e, 4), "R9 revoke with 300 ms timeout");
	dt = now_ms() - t0;
	tap_ok(dt >= 250, "R9 revoke waited for the ignoring importer (%.0f ms)", dt);
	tap_ok((r.flags & DMABUF_REVOKE_REPORT_INCOMPLETE) && r.nr_entries == 2 &&
	       r.mappings_remaining == 2,
	       "R9 report lists exactly the 2 attachments still mapped (got %u)",
	       r.nr_entries);
	tap_ok((e[0].reason == DMABUF_REVOKE_REMAIN_TIMEOUT &&
		e[1].reason == DMABUF_REVOKE_REMAIN_STATIC) ||
	       (e[1].reason == DMABUF_REVOKE_REMAIN_TIMEOUT &&
		e[0].reason == DMABUF_REVOKE_REMAIN_STATIC),
	       "R9 report says why: one ignored the notification, one is static");
	ret = drs_query(f.buf, &q);
	tap_ok(!ret && q.mappings == 2,
	       "R9 QUERY after revoke counts the 2 mappings left (got %u)",
	       q.mappings);
	tap_ok(!iit_id_op(f.ioas, IIT_IOC_UNMAP, ign) &&
	       !iit_id_op(f.ioas, IIT_IOC_UNMAP, st) &&
	       !iit_id_op(f.ioas, IIT_IOC_UNMAP, dyn),
	       "R10 importers unmap and detach after revoke");
	tap_ok(!drs_revoke(f.buf, 300, &r, NULL, 0) &&
	       !(r.flags & DMABUF_REVOKE_REPORT_INCOMPLETE) && !r.nr_entries,
	       "R9 once they unmapped, nothing is left to report");
	ret = drs_query(f.buf, &q);
	tap_ok(!ret && q.mappings == 0,
	       "R9 QUERY counts no mapping once they unmapped (got %u)",
	       q.mappings);
	teardown(&f);

	/* vgem: a real in-kernel static importer. */
	vgem = vgem_open();
	if (vgem < 0) {
		tap_skip("no vgem", "R9 vgem static import is listed in the report");
		return;
	}
	if (setup(&f, 0) && !vgem_import(vgem, f.buf, &h) &&
	    !drs_query(f.buf, &q)) {
		/*
		 * 6.x maps a static importer at attach; 7.x vgem imports
		 * without mapping. Only a mapping held is left to report.
		 */
		unsigned int want = q.mappings ? 1 : 0;

		memset(e, 0, sizeof(e));
		ret = drs_revoke(f.buf, 300, &r, e, 4);
		tap_ok(!ret && r.static_attachments == 1 && r.nr_entries == want &&
		       !!(r.flags & DMABUF_REVOKE_REPORT_INCOMPLETE) == !!want &&
		       (!want || (e[0].reason == DMABUF_REVOKE_REMAIN_STATIC &&
				  !strcmp(e[0].device, "vgem"))),
		       "R9 vgem's static PRIME import is counted, and listed while it maps the buffer (%u mapping)",
		       want);
		vgem_close_handle(vgem, h);
	} else {
		tap_ok(false, "R9 vgem PRIME import of a managed buffer");
	}
	close(vgem);
out:
	teardown(&f);
}

/*
 * An importer that detaches with a mapping live (its bug: the core unmaps
 * at detach only what it cached) leaves that mapping with the exporter for
 * good. No one can tell it or unmap it any more, so a revoke must not wait
 * for it - and must not call the buffer done either: the exporter would
 * reuse memory a device still reaches.
 */
static void t_r9_orphan(void)
{
	struct dmabuf_revoke_report r;
	struct dmabuf_revoke_query q;
	struct vre_stats s0, s1, s2;
	struct fixture f;
	double t0, dt;
	uint32_t id;
	bool ok;
	int ret;

	if (!tap_ok(setup(&f, 0) &&
		    !iit_map(f.ioas, f.buf, IOVA, 0, &id) &&
		    !vre_stats(f.dev, false, &s0) && !iit_leak(f.ioas, id),
		    "R9 setup: a dynamic importer detaches with its mapping live"))
		goto out;
	ret = drs_query(f.buf, &q);
	tap_ok(!ret && q.mappings == 1 && q.attachments == 0,
	       "R9 QUERY still counts the detached importer's mapping (%u mappings, %u attachments)",
	       q.mappings, q.attachments);
	memset(&r, 0, sizeof(r));
	t0 = now_ms();
	ret = drs_revoke(f.buf, 10000, &r, NULL, 0);
	dt = now_ms() - t0;
	tap_ok(!ret && dt < 5000,
	       "R9 revoke does not wait for a mapping no one can tell (%.0f ms of a 10000 ms timeout)",
	       dt);
	tap_ok((r.flags & DMABUF_REVOKE_REPORT_INCOMPLETE) &&
	       r.mappings_remaining == 1 && !r.nr_entries,
	       "R9 report: incomplete, 1 mapping remains, no attachment to list (flags %#x, %u, %u)",
	       r.flags, r.mappings_remaining, r.nr_entries);
	tap_ok(!vre_stats(f.dev, false, &s1) &&
	       s1.quarantined == s0.quarantined + 1 &&
	       s1.scrubbed_bytes == s0.scrubbed_bytes,
	       "R11 the exporter hears the revoke is incomplete: memory quarantined, not scrubbed");
	ret = drs_query(f.buf, &q);
	tap_ok(!ret && q.mappings == 1,
	       "R9 QUERY after revoke still counts it (got %u)", q.mappings);
	/*
	 * Released, its pages stay quarantined: a device may reach them. A
	 * later buffer over them is released and revoked in full, and its
	 * revoked() runs - yet scrubs none of them.
	 */
	vre_stats(f.dev, false, &s0);
	close(f.buf);
	f.buf = vre_export(f.dev, 0, 0, SZ, 0);
	if (f.buf < 0)
		close(f.dev);
	ok = f.buf >= 0 && !vre_stats(f.dev, false, &s1) &&
	     s1.releases == s0.releases + 1 && !do_revoke(f.buf, &r) &&
	     !r.flags && !vre_stats(f.dev, false, &s2) &&
	     s2.revokes == s1.revokes + 1;
	tap_ok(ok && s2.scrubbed_bytes == s1.scrubbed_bytes,
	       "R11 a later buffer over those pages, revoked complete, scrubs none of them (%llu bytes)",
	       ok ? (unsigned long long)(s2.scrubbed_bytes - s1.scrubbed_bytes) : 0ULL);
out:
	teardown(&f);
}

/* The same while a revoke waits for that importer: it stops waiting. */
static void t_r9_orphan_waiting(void)
{
	struct dmabuf_revoke_report r;
	int ret, status, n;
	struct fixture f;
	double t0, dt;
	pid_t child;
	uint32_t id;

	if (!tap_ok(setup(&f, 0) &&
		    !iit_map(f.ioas, f.buf, IOVA, IIT_MAP_IGNORE, &id),
		    "R9 setup: an importer that ignores the revoke"))
		goto out;
	child = fork();
	if (child == 0) {
		/* Once flipped, and well into the wait (TCG is slow). */
		for (n = 0; n < 1000 && !drs_is_revoked(f.buf); n++)
			usleep(10 * 1000);
		usleep(200 * 1000);
		_exit(iit_leak(f.ioas, id) ? 1 : 0);
	}
	memset(&r, 0, sizeof(r));
	t0 = now_ms();
	ret = drs_revoke(f.buf, 10000, &r, NULL, 0);
	dt = now_ms() - t0;
	tap_ok(child > 0 && waitpid(child, &status, 0) == child &&
	       WIFEXITED(status) && !WEXITSTATUS(status),
	       "R9 it detaches, its mapping live, during the revoke's wait");
	tap_ok(!ret && dt >= 150 && dt < 5000 &&
	       (r.flags & DMABUF_REVOKE_REPORT_INCOMPLETE) &&
	       r.mappings_remaining == 1 && !r.nr_entries,
	       "R9 the waiting revoke ends at that detach, incomplete (%.0f ms, flags %#x, %u, %u)",
	       dt, r.flags, r.mappings_remaining, r.nr_entries);
out:
	teardown(&f);
}

static void on_alarm(int sig)
{
	(void)sig;
}

static void t_r9_interruptible(void)
{
	struct sigaction sa = { .sa_handler = on_alarm };	/* no SA_RESTART */
	struct fixture f;
	uint32_t id;
	double t0, dt;
	int ret;

	if (!tap_ok(setup(&f, 0) &&
		    !iit_map(f.ioas, f.buf, IOVA, IIT_MAP_IGNORE, &id),
		    "R9 setup: an importer that never unmaps"))
		goto out;
	sigaction(SIGALRM, &sa, NULL);
	alarm(1);
	t0 = now_ms();
	ret = drs_revoke(f.buf, 60000, NULL, NULL, 0);
	dt = now_ms() - t0;
	alarm(0);
	tap_ok(ret == -EINTR && dt < 30000,
	       "R9 a user's revoke wait ends with EINTR on a signal (%.0f ms)", dt);
	tap_ok(drs_is_revoked(f.buf),
	       "R9 the interrupted revoke still revoked the buffer");
out:
	teardown(&f);
}

/*
 * A revoke whose waits were all interrupted reports at release (R11): if an
 * importer left a mapping at its detach meanwhile, that report must say the
 * memory is not safe.
 */
static void t_r9_orphan_release(void)
{
	struct sigaction sa = { .sa_handler = on_alarm };	/* no SA_RESTART */
	struct vre_stats s0, s1;
	struct fixture f;
	uint32_t id;
	int ret;

	if (!tap_ok(setup(&f, 0) &&
		    !iit_map(f.ioas, f.buf, IOVA, IIT_MAP_IGNORE, &id) &&
		    !vre_stats(f.dev, false, &s0),
		    "R11 setup: an importer that ignores the revoke"))
		goto out;
	sigaction(SIGALRM, &sa, NULL);
	alarm(1);
	ret = drs_revoke(f.buf, 60000, NULL, NULL, 0);
	alarm(0);
	tap_ok(ret == -EINTR && !iit_leak(f.ioas, id),
	       "R11 the revoke is interrupted, then the importer detaches with its mapping live");
	close(f.buf);
	f.buf = -1;
	tap_ok(!vre_stats(f.dev, false, &s1) && s1.revokes == s0.revokes + 1 &&
	       s1.quarantined == s0.quarantined + 1 &&
	       s1.scrubbed_bytes == s0.scrubbed_bytes,
	       "R11 at release the exporter hears it incomplete: quarantined, not scrubbed");
	close(f.dev);
out:
	teardown(&f);
}

static void t_r10_release(void)
{
	struct vre_stats s0, s1;
	struct fixture f;
	uint32_t id, v;
	uint8_t *p;
	bool ok;

	if (!tap_ok(setup(&f, 0) && !vre_stats(f.dev, true, &s0), "R10 setup"))
		goto out;
	p = map_buf(f.buf, SZ);
	ok = p && !iit_map(f.ioas, f.buf, IOVA, IIT_MAP_IGNORE, &id) &&
	     !iit_vmap(f.ioas, f.buf, &v) &&
	     !dmabuf_sync(f.buf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW);
	do_revoke(f.buf, NULL);
	ok = ok && !dmabuf_sync(f.buf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW) &&
	     !munmap(p, SZ) && !iit_vunmap(f.ioas, v) &&
	     !iit_id_op(f.ioas, IIT_IOC_UNMAP, id);
	tap_ok(ok, "R10 every teardown path works after revoke");
	close(f.buf);
	f.buf = -1;
	tap_ok(!vre_stats(f.dev, true, &s1) && s1.releases == s0.releases + 1 &&
	       s1.live == s0.live - 1 && s1.late_callbacks == 0,
	       "R10 the exporter's release ran exactly once, no late callback");
	close(f.dev);
out:
	teardown(&f);
}

static void t_r11_callback(void)
{
	uint8_t *data = malloc(3 * SZ), *got = malloc(3 * SZ);
	uint64_t bar = 3 * SZ;
	struct vre_stats s;
	int dev, buf = -1;

	dev = vre_device(1, &bar);
	fill_pattern(data, 3 * SZ, 11);
	if (!tap_ok(dev >= 0 && !vre_bar_rw(dev, 0, 0, data, 3 * SZ, true) &&
		    (buf = vre_export(dev, 0, SZ, SZ, 0)) >= 0,
		    "R11 setup: a buffer over the middle of a BAR"))
		goto out;
	do_revoke(buf, NULL);
	do_revoke(buf, NULL);
	tap_ok(!vre_stats(dev, false, &s) && s.revokes == 1 &&
	       s.scrubbed_bytes == SZ,
	       "R11 the revoke-complete callback ran exactly once");
	vre_bar_rw(dev, 0, 0, got, 3 * SZ, false);
	tap_ok(all_bytes(got + SZ, SZ, VRE_SCRUB_BYTE) &&
	       !memcmp(got, data, SZ) && !memcmp(got + 2 * SZ, data + 2 * SZ, SZ),
	       "R11 the exporter scrubbed exactly the revoked range");
out:
	if (buf >= 0)
		close(buf);
	if (dev >= 0)
		close(dev);
	free(data);
	free(got);
}

const struct suite_case contract_cases[] = {
	{ "contract", t_r1_permanent },
	{ "contract", t_r2_attach },
	{ "contract", t_r3_map },
	{ "contract", t_r4_pin },
	{ "contract", t_r5_vmap },
	{ "contract", t_r6_user_mappings },
	{ "contract", t_r7_cpu_access },
	{ "contract", t_r8_notify },
	{ "contract", t_r9_fences },
	{ "contract", t_r9_importers },
	{ "contract", t_r9_orphan },
	{ "contract", t_r9_orphan_waiting },
	{ "contract", t_r9_interruptible },
	{ "contract", t_r9_orphan_release },
	{ "contract", t_r10_release },
	{ "contract", t_r11_callback },
	{ NULL, NULL },
};
