// SPDX-License-Identifier: GPL-2.0
/*
 * Race stress: worker threads run a random mix of every access path on a
 * pool of buffers while a revoker thread revokes buffers and replaces them.
 * A buffer whose revoke had returned before an access began must refuse
 * that access; the exporter must never see a callback after a revoke
 * completed; everything is released at the end.
 *
 * STRESS_SEED (default 1) makes a run replayable; STRESS_OPS (default
 * 1000000) bounds the operations (syscalls and memory touches) across all
 * workers; STRESS_THREADS (default 4).
 */
#include <pthread.h>
#include <sys/ioctl.h>
#include <stdatomic.h>

#include <linux/dma-buf.h>

#include "suite.h"

#define SLOTS		8
#define MAX_THREADS	16

struct slot {
	pthread_mutex_t lock;
	int dev, buf;
	unsigned int gen;	/* bumped with each new buffer */
	bool revoked;		/* its revoke has returned */
};

/* The sample's three ways to map: PFNs at mmap, a fault handler, vm_file moved. */
static const unsigned int mmap_modes[] = {
	0, VRE_EXPORT_MMAP_FAULT, VRE_EXPORT_MMAP_VMFILE,
};

struct race {
	struct slot slot[SLOTS];
	atomic_ulong ops, violations, revokes;
	atomic_bool stop;
	unsigned long budget;
	bool vmap_fails;
	uint64_t seed;
};

struct race_worker {
	struct race *r;
	unsigned int idx;
};

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static bool slot_new(struct slot *sl, unsigned int flags)
{
	sl->buf = vre_buffer(&sl->dev, 4 * PAGE, flags);
	sl->revoked = false;
	sl->gen++;
	return sl->buf >= 0;
}

/* A private reference to a slot's current buffer and its state. */
static int slot_get(struct slot *sl, bool *revoked, unsigned int *gen)
{
	int fd;

	pthread_mutex_lock(&sl->lock);
	fd = dup(sl->buf);
	*revoked = sl->revoked;
	*gen = sl->gen;
	pthread_mutex_unlock(&sl->lock);
	return fd;
}

/* Has the revoke of the buffer of generation @gen returned by now? */
static bool slot_revoked_since(struct slot *sl, unsigned int gen)
{
	bool ret;

	pthread_mutex_lock(&sl->lock);
	ret = sl->gen != gen || sl->revoked;
	pthread_mutex_unlock(&sl->lock);
	return ret;
}

static void bad(struct race *r, const char *what, int ret)
{
	if (atomic_fetch_add(&r->violations, 1) < 5)
		tap_diag("race: %s succeeded (%d) on a buffer revoked before it began",
			 what, ret);
}

/* One random operation; returns how many operations it made. */
static unsigned int race_op(struct race *r, int ioas, uint64_t *seed)
{
	unsigned int op = rnd(seed) % 8, n = 1;
	struct slot *sl = &r->slot[rnd(seed) % SLOTS];
	struct dmabuf_revoke_query q;
	unsigned int gen;
	bool gone;
	uint8_t *p, v, page[64];
	uint32_t id;
	int fd, ret;

	fd = slot_get(sl, &gone, &gen);
	if (fd < 0)
		return 0;
	switch (op) {
	case 0:		/* dynamic import, device read, unmap */
		ret = iit_map(ioas, fd, IOVA, 0, &id);
		if (!ret) {
			n += 2;
			iit_dma(ioas, IOVA, page, sizeof(page), false);
			iit_id_op(ioas, IIT_IOC_UNMAP, id);
			if (gone)
				bad(r, "dynamic map", ret);
		}
		break;
	case 1:		/* static import */
		ret = iit_map(ioas, fd, 2 * IOVA, IIT_MAP_STATIC, &id);
		if (!ret) {
			n++;
			iit_id_op(ioas, IIT_IOC_UNMAP, id);
			if (gone)
				bad(r, "static map", ret);
		}
		break;
	case 2:		/* CPU access bracket */
		ret = dmabuf_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW);
		if (!ret) {
			n++;
			dmabuf_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
			if (gone)
				bad(r, "sync start", ret);
		}
		break;
	case 3:		/* user mapping and touches */
		p = map_buf(fd, 4 * PAGE);
		if (p) {
			unsigned int i;
			bool after;

			if (gone)
				bad(r, "mmap", 0);
			/*
			 * The mmap may have raced the revoke (issue 12 item
			 * 5): once the revoke returned, a touch must fault.
			 */
			for (i = 0; i < 4; i++, n++) {
				after = slot_revoked_since(sl, gen);
				ret = touch_read(p + i * PAGE, &v);
				if (ret == TOUCH_OK && after)
					bad(r, "mmap touch", ret);
			}
			munmap(p, 4 * PAGE);
			n++;
		}
		break;
	case 4:		/* kernel vmap */
		ret = iit_vmap(ioas, fd, &id);
		if (!ret) {
			n += 2;
			iit_vmap_read(ioas, id, page, sizeof(page));
			iit_vunmap(ioas, id);
			if (gone && r->vmap_fails)
				bad(r, "vmap", ret);
		}
		break;
	case 5:		/* re-mapping importer */
		ret = iit_map(ioas, fd, 3 * IOVA, IIT_MAP_KEEP_ALIVE, &id);
		if (!ret) {
			n += 2;
			ret = iit_id_op(ioas, IIT_IOC_REMAP, id);
			if (!ret && gone)
				bad(r, "re-map", ret);
			iit_id_op(ioas, IIT_IOC_UNMAP, id);
			if (gone)
				bad(r, "keep-alive map", 0);
		}
		break;
	case 6:		/* pin of an unpinned attachment */
		ret = iit_map(ioas, fd, 4 * IOVA, IIT_MAP_NO_PIN | IIT_MAP_KEEP_ALIVE,
			      &id);
		if (!ret) {
			n += 3;
			if (!iit_id_op(ioas, IIT_IOC_PIN, id)) {
				iit_id_op(ioas, IIT_IOC_UNPIN, id);
				if (gone)
					bad(r, "pin", 0);
			}
			iit_id_op(ioas, IIT_IOC_UNMAP, id);
		}
		break;
	default:	/* query never fails on a live fd */
		if (drs_query(fd, &q))
			bad(r, "query failing", -1);
		break;
	}
	close(fd);
	return n;
}

static void *race_worker(void *arg)
{
	struct race_worker *w = arg;
	struct race *r = w->r;
	uint64_t seed = r->seed * 7919 + w->idx + 1;
	int ioas = iit_open();

	while (!atomic_load(&r->stop)) {
		unsigned long done = atomic_fetch_add(&r->ops,
						      race_op(r, ioas, &seed));

		if (done >= r->budget)
			atomic_store(&r->stop, true);
	}
	close(ioas);
	return NULL;
}

/* Revoke a random slot, mark it, and later replace it by a fresh buffer. */
static void *race_revoker(void *arg)
{
	struct race *r = arg;
	uint64_t seed = r->seed * 104729 + 17;

	while (!atomic_load(&r->stop)) {
		struct slot *sl = &r->slot[rnd(&seed) % SLOTS];
		unsigned int gen;
		bool revoked;
		int fd;

		usleep(rnd(&seed) % 3000);
		fd = slot_get(sl, &revoked, &gen);
		if (fd < 0)
			continue;
		if (!revoked) {
			if (!drs_revoke(fd, 2000, NULL, NULL, 0)) {
				pthread_mutex_lock(&sl->lock);
				sl->revoked = true;
				pthread_mutex_unlock(&sl->lock);
				atomic_fetch_add(&r->revokes, 1);
			}
		} else {
			/* Replace it: the old one goes when its last user does. */
			pthread_mutex_lock(&sl->lock);
			close(sl->buf);
			close(sl->dev);
			if (!slot_new(sl, mmap_modes[rnd(&seed) % 3]))
				atomic_store(&r->stop, true);
			pthread_mutex_unlock(&sl->lock);
		}
		close(fd);
	}
	return NULL;
}

static unsigned long env_num(const char *name, unsigned long def)
{
	const char *v = getenv(name);

	return v && *v ? strtoul(v, NULL, 0) : def;
}

static void t_race(void)
{
	struct race_worker w[MAX_THREADS];
	struct dmabuf_revoke_version ver;
	struct dmabuf_revoke_list l = { .size = sizeof(l) };
	unsigned int threads = env_num("STRESS_THREADS", 4), t, i;
	pthread_t th[MAX_THREADS], rv;
	struct vre_stats s0, s1;
	struct race *r = calloc(1, sizeof(*r));
	bool ok = true;
	int probe;

	if (threads > MAX_THREADS)
		threads = MAX_THREADS;
	r->seed = env_num("STRESS_SEED", 1);
	r->budget = env_num("STRESS_OPS", 1000000);
	/* Threads vmap at once: without VMAP_SEALED a held vmap is shared. */
	r->vmap_fails = !drs_version(&ver) &&
			(ver.features & DMABUF_REVOKE_FEAT_VMAP_SEALED);
	probe = open(DEV_VRE, O_RDWR | O_CLOEXEC);
	ok = probe >= 0 && !vre_stats(probe, true, &s0);
	for (i = 0; ok && i < SLOTS; i++) {
		pthread_mutex_init(&r->slot[i].lock, NULL);
		ok = slot_new(&r->slot[i], mmap_modes[i % 3]);
	}
	if (!tap_ok(ok, "race setup: %u threads, %u buffers, seed %llu, %lu operations",
		    threads, SLOTS, (unsigned long long)r->seed, r->budget))
		goto out;

	pthread_create(&rv, NULL, race_revoker, r);
	for (t = 0; t < threads; t++) {
		w[t] = (struct race_worker){ .r = r, .idx = t };
		pthread_create(&th[t], NULL, race_worker, &w[t]);
	}
	for (t = 0; t < threads; t++)
		pthread_join(th[t], NULL);
	atomic_store(&r->stop, true);
	pthread_join(rv, NULL);
	for (i = 0; i < SLOTS; i++) {
		close(r->slot[i].buf);
		close(r->slot[i].dev);
	}

	tap_diag("race: seed %llu, %lu operations, %lu revokes",
		 (unsigned long long)r->seed, atomic_load(&r->ops),
		 atomic_load(&r->revokes));
	tap_ok(atomic_load(&r->ops) >= r->budget && atomic_load(&r->revokes) > 0,
	       "race: %lu operations against %lu revokes ran to the end",
	       atomic_load(&r->ops), atomic_load(&r->revokes));
	tap_ok(atomic_load(&r->violations) == 0,
	       "race: no access succeeded on a buffer revoked before it began, no touch of a mapping after its revoke returned");
	ok = !vre_stats(probe, true, &s1);
	tap_ok(ok && s1.late_callbacks == s0.late_callbacks,
	       "race: the exporter saw no callback after a revoke completed");
	tap_ok(ok && s1.live == s0.live && s1.exports - s0.exports ==
	       s1.releases - s0.releases,
	       "race: every buffer was released (%llu exported)",
	       (unsigned long long)(s1.exports - s0.exports));
	tap_ok(!ioctl(drs_fd(), DMABUF_REVOKE_IOC_LIST, &l) && l.count == 0,
	       "race: the shim manages no buffer any more");
out:
	if (probe >= 0)
		close(probe);
	free(r);
}

const struct suite_case race_cases[] = {
	{ "race", t_race },
	{ NULL, NULL },
};
