// SPDX-License-Identifier: GPL-2.0
/*
 * R9(a) under fire: threads hammer every access path of two buffers while
 * the main thread revokes them. Once a revoke has returned, every access to
 * that buffer must fail, and the exporter must never see another callback.
 * STRESS_ITERS (environment) sets the iterations per thread.
 */
#include <pthread.h>
#include <stdatomic.h>

#include <linux/dma-buf.h>

#include "suite.h"

#define THREADS	4
#define BUFS	2

struct storm {
	int dev[BUFS], buf[BUFS];
	uint8_t *map[THREADS][BUFS];
	atomic_bool revoked[BUFS];	/* set after the revoke returned */
	atomic_uint progress;
	atomic_ulong ops, violations;
	unsigned int iters;
	bool vmap_fails;
};

struct worker {
	struct storm *s;
	unsigned int idx;
};

static void violation(struct storm *s, const char *what, int b, int ret)
{
	if (atomic_fetch_add(&s->violations, 1) < 5)
		tap_diag("after revoke of buffer %d, %s succeeded (%d)", b, what,
			 ret);
}

static void *worker(void *arg)
{
	struct worker *w = arg;
	struct storm *s = w->s;
	int ioas = iit_open();
	unsigned int i;
	uint8_t page[256];

	for (i = 0; i < s->iters; i++) {
		int b = (i + w->idx) % BUFS, ret;
		bool gone = atomic_load(&s->revoked[b]);
		uint32_t id;
		uint8_t v;

		ret = iit_map(ioas, s->buf[b], IOVA, 0, &id);
		if (!ret) {
			iit_dma(ioas, IOVA, page, sizeof(page), false);
			iit_id_op(ioas, IIT_IOC_UNMAP, id);
			if (gone)
				violation(s, "dynamic map", b, ret);
		}
		ret = iit_map(ioas, s->buf[b], 2 * IOVA, IIT_MAP_STATIC, &id);
		if (!ret) {
			iit_id_op(ioas, IIT_IOC_UNMAP, id);
			if (gone)
				violation(s, "static map", b, ret);
		}
		ret = dmabuf_sync(s->buf[b], DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
		if (!ret) {
			dmabuf_sync(s->buf[b], DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
			if (gone)
				violation(s, "sync start", b, ret);
		}
		ret = touch_read(s->map[w->idx][b] + (i % 16) * PAGE, &v);
		if (ret == TOUCH_OK && gone)
			violation(s, "mmap read", b, ret);
		ret = iit_vmap(ioas, s->buf[b], &id);
		if (!ret) {
			if (gone && s->vmap_fails)
				violation(s, "vmap", b, ret);
			iit_vunmap(ioas, id);
		}
		atomic_fetch_add(&s->ops, 5);
		atomic_fetch_add(&s->progress, 1);
	}
	close(ioas);
	return NULL;
}

static void t_storm(void)
{
	struct dmabuf_revoke_version ver;
	struct worker w[THREADS];
	pthread_t th[THREADS];
	struct storm s = { 0 };
	unsigned long late = 0;
	struct vre_stats st;
	const char *env = getenv("STRESS_ITERS");
	unsigned int t, b, total;
	bool ok = true;

	s.iters = env ? (unsigned int)atoi(env) : 200;
	/* A vmap held across the revoke is shared without VMAP_SEALED. */
	s.vmap_fails = !drs_version(&ver) &&
		       (ver.features & DMABUF_REVOKE_FEAT_VMAP_SEALED);
	for (b = 0; b < BUFS; b++) {
		s.buf[b] = vre_buffer(&s.dev[b], SZ, 0);
		ok &= s.buf[b] >= 0;
		for (t = 0; ok && t < THREADS; t++)
			ok &= !!(s.map[t][b] = map_buf(s.buf[b], SZ));
	}
	if (!tap_ok(ok, "R9 storm setup: %u threads, %u buffers", THREADS, BUFS))
		return;
	for (t = 0; t < THREADS; t++) {
		w[t] = (struct worker){ .s = &s, .idx = t };
		pthread_create(&th[t], NULL, worker, &w[t]);
	}
	/* Revoke each buffer while the workers are at full speed. */
	total = THREADS * s.iters;
	for (b = 0; b < BUFS; b++) {
		while (atomic_load(&s.progress) < total * (b + 1) / (BUFS + 1))
			usleep(1000);
		ok &= !drs_revoke(s.buf[b], 2000, NULL, NULL, 0);
		atomic_store(&s.revoked[b], true);
	}
	for (t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);

	for (b = 0; b < BUFS; b++) {
		if (!vre_stats(s.dev[b], false, &st))
			late += st.late_callbacks;
		for (t = 0; t < THREADS; t++)
			munmap(s.map[t][b], SZ);
		close(s.buf[b]);
		close(s.dev[b]);
	}
	tap_diag("storm: %lu operations", atomic_load(&s.ops));
	tap_ok(ok, "R9 storm: both revokes returned success under load");
	tap_ok(atomic_load(&s.violations) == 0,
	       "R9 storm: every access after a revoke returned failed");
	tap_ok(late == 0,
	       "R9 storm: the exporter saw no callback after revoke completed (%lu)",
	       late);
}

/* Last: everything every case made has been released. */
static void t_no_leaks(void)
{
	long shim = module_refcnt("dmabuf_revoke_shim");
	long exp = module_refcnt("vfio_revoke_exporter");
	int dev = open(DEV_VRE, O_RDWR | O_CLOEXEC);
	struct vre_stats s = { 0 };
	bool got = dev >= 0 && !vre_stats(dev, true, &s);

	tap_ok(got && s.live == 0 &&
	       s.exports == s.releases && s.late_callbacks == 0,
	       "leaks: every exported buffer was released (%llu exports, %llu releases, %llu late callbacks)",
	       (unsigned long long)s.exports, (unsigned long long)s.releases,
	       (unsigned long long)s.late_callbacks);
	tap_ok(shim >= 0 && exp >= 0,
	       "leaks: module references now: shim %ld, exporter %ld", shim, exp);
	if (dev >= 0)
		close(dev);
}

const struct suite_case stress_cases[] = {
	{ "stress", t_storm },
	{ NULL, NULL },
};

/* Runs after every other group. */
const struct suite_case leak_cases[] = {
	{ "leaks", t_no_leaks },
	{ NULL, NULL },
};
