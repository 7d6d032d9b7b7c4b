// SPDX-License-Identifier: GPL-2.0
/* R13-R15 and the ioctl conventions: bad input gets an errno, never a crash. */
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "suite.h"

/* R13: strict mode admits exactly what upstream's dma_buf_attach_revocable() does. */
static void t_r13_strict(void)
{
	static const struct {
		unsigned int flags;
		const char *kind;
		unsigned int state;	/* after the revoke */
	} admitted[] = {
		{ 0, "pinned importer that accepts a permanent revoke (iommufd)",
		  IIT_STATE_REVOKED },
		{ IIT_MAP_NO_PIN, "dynamic importer without a pin", IIT_STATE_REVOKED },
		{ IIT_MAP_KEEP_ALIVE, "dynamic importer that re-maps",
		  IIT_STATE_INVALIDATED },
		{ IIT_MAP_IGNORE, "dynamic importer that ignores the callback",
		  IIT_STATE_IGNORED },
	};
	struct dmabuf_revoke_report r;
	struct iit_query q = { 0 };
	uint32_t id[4], h;
	int dev, buf, ioas = iit_open(), vgem;
	unsigned int i;

	buf = vre_buffer(&dev, SZ, VRE_EXPORT_STRICT);
	if (!tap_ok(buf >= 0 && ioas >= 0, "R13 strict export"))
		goto out;
	tap_ok(iit_map(ioas, buf, IOVA, IIT_MAP_STATIC, &id[0]) == -EOPNOTSUPP,
	       "R13 strict mode refuses a static importer with EOPNOTSUPP");
	vgem = vgem_open();
	if (vgem < 0) {
		tap_skip("no vgem", "R13 strict mode refuses vgem's PRIME import");
	} else {
		tap_ok(vgem_import(vgem, buf, &h) == -EOPNOTSUPP,
		       "R13 strict mode refuses vgem's PRIME import with EOPNOTSUPP");
		close(vgem);
	}
	/* Every importer with an invalidation callback is revocable. */
	for (i = 0; i < 4; i++)
		tap_ok(!iit_map(ioas, buf, IOVA * (i + 1), admitted[i].flags, &id[i]),
		       "R13 strict mode admits a %s", admitted[i].kind);
	drs_revoke(buf, 300, &r, NULL, 0);
	for (i = 0; i < 4; i++) {
		bool got = !iit_query(ioas, id[i], &q);

		tap_ok(got && q.invalidations == 1 &&
		       q.state == admitted[i].state &&
		       (i == 3 || !q.pinned),
		       "R13 the revoke told the %s once, and it let go as it should (state %u, pinned %u)",
		       admitted[i].kind, q.state, q.pinned);
	}
	tap_ok(r.notified == 4 && r.static_attachments == 0,
	       "R13 all four were notified (%u), none is static", r.notified);
out:
	if (ioas >= 0)
		close(ioas);
	vre_buffer_close(buf, dev);
}

static void t_r14_module(void)
{
	long before = module_refcnt("dmabuf_revoke_shim"), during, plain_rc;
	int dev, buf, pdev, pbuf, err;

	buf = vre_buffer(&dev, SZ, 0);
	during = module_refcnt("dmabuf_revoke_shim");
	pbuf = vre_buffer(&pdev, SZ, VRE_EXPORT_PLAIN);
	plain_rc = module_refcnt("dmabuf_revoke_shim");
	tap_ok(buf >= 0 && pbuf >= 0 && before >= 0 && during == before + 1 &&
	       plain_rc == during,
	       "R14 each managed buffer holds the shim module (refcnt %ld -> %ld)",
	       before, during);
	/* The kernel answers "in use" with EWOULDBLOCK (rmmod: "in use"). */
	err = syscall(SYS_delete_module, "dmabuf_revoke_shim", O_NONBLOCK) ?
	      errno : 0;
	tap_ok(err == EWOULDBLOCK || err == EBUSY,
	       "R14 the shim cannot be unloaded while a managed buffer lives (%s)",
	       strerror(err));
	vre_buffer_close(buf, dev);
	vre_buffer_close(pbuf, pdev);
	tap_ok(module_refcnt("dmabuf_revoke_shim") == before,
	       "R14 the reference goes with the last buffer");
}

static void t_r15_foreign(void)
{
	struct dmabuf_revoke_query q;
	int vgem, fbuf, pdev, pbuf, ioas, pfd[2];
	uint8_t w[64], r[64];
	uint32_t h, id;

	pbuf = vre_buffer(&pdev, SZ, VRE_EXPORT_PLAIN);
	tap_ok(drs_query(pbuf, &q) == -ENOENT &&
	       drs_revoke(pbuf, 100, NULL, NULL, 0) == -ENOENT,
	       "R15 QUERY/REVOKE of an unmanaged (plain) buffer fail with ENOENT");
	ioas = iit_open();
	fill_pattern(w, sizeof(w), 15);
	tap_ok(!iit_map(ioas, pbuf, IOVA, 0, &id) &&
	       !iit_dma(ioas, IOVA, w, sizeof(w), true) &&
	       !iit_dma(ioas, IOVA, r, sizeof(r), false) && !memcmp(w, r, sizeof(r)),
	       "R15 the unmanaged buffer is untouched by the refused revoke");
	close(ioas);
	close(pbuf);
	close(pdev);

	vgem = vgem_open();
	if (vgem < 0) {
		tap_skip("no vgem", "R15 a vgem-exported dma-buf is refused");
	} else {
		fbuf = vgem_export(vgem, SZ, &h);
		tap_ok(fbuf >= 0 && drs_query(fbuf, &q) == -ENOENT &&
		       drs_revoke(fbuf, 100, NULL, NULL, 0) == -ENOENT,
		       "R15 QUERY/REVOKE of a vgem-exported dma-buf fail with ENOENT");
		if (fbuf >= 0)
			close(fbuf);
		close(vgem);
	}
	tap_ok(!pipe(pfd) && drs_query(pfd[0], &q) == -EINVAL &&
	       drs_revoke(pfd[0], 100, NULL, NULL, 0) == -EINVAL,
	       "R15 a pipe fd is not a dma-buf: EINVAL");
	close(pfd[0]);
	close(pfd[1]);
	tap_ok(drs_query(9999, &q) == -EBADF &&
	       drs_revoke(-1, 100, NULL, NULL, 0) == -EBADF,
	       "R15 a closed or negative fd: EBADF");
}

/* Run on @cpu only (a bit mask, as the syscall takes it); false if absent. */
static bool on_cpu(unsigned int cpu)
{
	unsigned long mask = 1UL << cpu;

	return !syscall(SYS_sched_setaffinity, 0, sizeof(mask), &mask);
}

static bool counts(int buf, unsigned int all, unsigned int dyn,
		   struct dmabuf_revoke_query *q)
{
	return !drs_query(buf, q) && q->attachments == all &&
	       q->dynamic_attachments == dyn &&
	       q->static_attachments == all - dyn;
}

/*
 * QUERY's attachment counts are per-CPU sums (the shim's struct drs_buf):
 * attach on one CPU, detach on the other, and the sums must still be exact
 * - one CPU's counts go below zero.
 */
static void t_query_counts(void)
{
	struct dmabuf_revoke_query q = { 0 };
	unsigned long old = 0;
	int dev, buf, ioas;
	bool pin, two, ok, good;
	uint32_t id[3];

	buf = vre_buffer(&dev, SZ, 0);
	ioas = iit_open();
	/* Unpinned if the mask is too small to restore (> 64 CPUs). */
	pin = syscall(SYS_sched_getaffinity, 0, sizeof(old), &old) > 0;
	ok = buf >= 0 && ioas >= 0 && (!pin || on_cpu(0)) &&
	     !iit_map(ioas, buf, IOVA, 0, &id[0]) &&
	     !iit_map(ioas, buf, 2 * IOVA, 0, &id[1]) &&
	     !iit_map(ioas, buf, 3 * IOVA, IIT_MAP_STATIC, &id[2]);
	/* Queried before tap_ok(): its message prints what QUERY said. */
	good = ok && counts(buf, 3, 2, &q);
	tap_ok(good,
	       "QUERY counts 2 dynamic and 1 static attachment (got %u, %u dynamic, %u static)",
	       q.attachments, q.dynamic_attachments, q.static_attachments);
	two = pin && on_cpu(1);
	good = ok && !iit_id_op(ioas, IIT_IOC_UNMAP, id[0]) &&
	       !iit_id_op(ioas, IIT_IOC_UNMAP, id[2]) && counts(buf, 1, 1, &q);
	tap_ok(good, "QUERY counts detaches made on %s CPU (got %u, %u dynamic, %u static)",
	       two ? "another" : "the same", q.attachments,
	       q.dynamic_attachments, q.static_attachments);
	good = ok && !iit_id_op(ioas, IIT_IOC_UNMAP, id[1]) &&
	       counts(buf, 0, 0, &q);
	tap_ok(good, "QUERY counts no attachment once all are gone (got %u)",
	       q.attachments);
	if (pin)
		syscall(SYS_sched_setaffinity, 0, sizeof(old), &old);
	if (ioas >= 0)
		close(ioas);
	vre_buffer_close(buf, dev);
}

/* Raw REVOKE with a hand-made struct of @size bytes. */
static int raw(unsigned long cmd, void *arg)
{
	return ioctl(drs_fd(), cmd, arg) ? -errno : 0;
}

static void t_uapi_structs(void)
{
	struct dmabuf_revoke_revoke rv;
	struct dmabuf_revoke_version v;
	int dev, buf = vre_buffer(&dev, SZ, 0);

	memset(&v, 0, sizeof(v));
	v.size = 4;
	tap_ok(raw(DMABUF_REVOKE_IOC_VERSION, &v) == -EINVAL,
	       "uapi a struct shorter than its size and flags: EINVAL");
	memset(&v, 0, sizeof(v));
	v.size = sizeof(v);
	v.flags = 1;
	tap_ok(raw(DMABUF_REVOKE_IOC_VERSION, &v) == -EINVAL,
	       "uapi unknown flags: EINVAL");
	memset(&rv, 0, sizeof(rv));
	rv.size = sizeof(rv);
	rv.fd = buf;
	rv.reserved = 1;
	tap_ok(raw(DMABUF_REVOKE_IOC_REVOKE, &rv) == -EINVAL,
	       "uapi non-zero reserved field: EINVAL");
	rv.reserved = 0;
	rv.timeout_ms = DMABUF_REVOKE_MAX_TIMEOUT_MS + 1;
	tap_ok(raw(DMABUF_REVOKE_IOC_REVOKE, &rv) == -EINVAL,
	       "uapi a timeout above the maximum: EINVAL");
	rv.timeout_ms = 0;
	rv.max_entries = 1;
	tap_ok(raw(DMABUF_REVOKE_IOC_REVOKE, &rv) == -EINVAL,
	       "uapi an entry count without an entry array: EINVAL");
	tap_ok(raw(_IOWR(DMABUF_REVOKE_IOC_MAGIC, 0x7f, struct dmabuf_revoke_version),
		   &v) == -ENOTTY &&
	       raw(_IO('x', 1), &v) == -ENOTTY,
	       "uapi unknown commands: ENOTTY");
	tap_ok(raw(DMABUF_REVOKE_IOC_QUERY, (void *)16) == -EFAULT,
	       "uapi a bad pointer: EFAULT");
	tap_ok(!drs_is_revoked(buf), "uapi none of the bad calls revoked the buffer");
	vre_buffer_close(buf, dev);
}

/*
 * Struct sizes a binary may pass, per ioctl (t_uapi_sizes): the buffer the
 * calls act on, and what each call must have done.
 */
#define SZ_TAIL		64	/* a later binary's struct: 64 more bytes */
#define SZ_LIST_MAX	64
static int sz_buf = -1;
static unsigned long long sz_ino;
static bool sz_revoked;
static struct dmabuf_revoke_entry sz_rentries[4];
static uint8_t sz_list[SZ_LIST_MAX * sizeof(struct dmabuf_revoke_query)];

struct sized {
	const char *name;
	unsigned long cmd;
	size_t ver0;		/* DMABUF_REVOKE_*_SIZE_VER0 */
	size_t ksize;		/* today's sizeof */
	void (*prep)(void *arg);	/* fill the v1.0 fields */
	bool (*done)(const void *arg);	/* the call did its job */
	bool (*untouched)(void);	/* a refused call changed nothing */
};

static void prep_version(void *arg)
{
	(void)arg;
}

static bool done_version(const void *arg)
{
	const struct dmabuf_revoke_version *v = arg;

	return v->size == sizeof(*v) && v->major == DMABUF_REVOKE_ABI_MAJOR &&
	       v->minor == DMABUF_REVOKE_ABI_MINOR &&
	       (v->features & DMABUF_REVOKE_FEAT_REVOKE);
}

static void prep_revoke(void *arg)
{
	struct dmabuf_revoke_revoke *rv = arg;

	rv->fd = sz_buf;
	rv->timeout_ms = 1000;
	rv->entries = (uintptr_t)sz_rentries;
	rv->max_entries = 4;
}

/* The first call revokes; the second says it was already revoked. */
static bool done_revoke(const void *arg)
{
	const struct dmabuf_revoke_revoke *rv = arg;
	bool already = rv->report.flags & DMABUF_REVOKE_REPORT_ALREADY;
	bool ok = drs_is_revoked(sz_buf) && already == sz_revoked &&
		  !(rv->report.flags & DMABUF_REVOKE_REPORT_INCOMPLETE) &&
		  rv->report.nr_entries == 0;

	sz_revoked = true;
	return ok;
}

static bool live(void)
{
	return !drs_is_revoked(sz_buf);
}

static void prep_query(void *arg)
{
	struct dmabuf_revoke_query *q = arg;

	q->fd = sz_buf;
}

static bool done_query(const void *arg)
{
	const struct dmabuf_revoke_query *q = arg;

	return q->size == sizeof(*q) && q->fd == sz_buf && q->buf_size == SZ &&
	       q->inode == sz_ino && !strcmp(q->exp_name, "vfio_revoke_exporter");
}

static void prep_list(void *arg)
{
	struct dmabuf_revoke_list *l = arg;

	memset(sz_list, 0, sizeof(sz_list));
	l->count = SZ_LIST_MAX;
	l->entries = (uintptr_t)sz_list;
}

/* Our buffer is in the array, whose elements are v1.0 queries. */
static bool done_list(const void *arg)
{
	const struct dmabuf_revoke_list *l = arg;
	const struct dmabuf_revoke_query *e;
	uint32_t i;

	for (i = 0; i < l->count && i < SZ_LIST_MAX; i++) {
		e = (const void *)(sz_list + i * DMABUF_REVOKE_QUERY_SIZE_VER0);
		if (e->inode == sz_ino)
			return e->size == DMABUF_REVOKE_QUERY_SIZE_VER0 &&
			       e->fd == -1 && e->buf_size == SZ;
	}
	return false;
}

/*
 * @n bytes the caller may write, followed by read-only zeros: the kernel
 * may read past @n (it checks the tail is zero) but any write there fails
 * the call with EFAULT. @map is the two-page mapping to munmap().
 */
static uint8_t *ro_tail(size_t n, uint8_t **map)
{
	uint8_t *p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	*map = NULL;
	if (p == MAP_FAILED)
		return NULL;
	if (mprotect(p + PAGE, PAGE, PROT_READ)) {
		munmap(p, 2 * PAGE);
		return NULL;
	}
	*map = p;
	return p + PAGE - n;
}

/* One ioctl at the sizes a binary may pass (every struct starts "u32 size"). */
static void uapi_sizes(const struct sized *c)
{
	size_t big = c->ksize + SZ_TAIL;
	uint8_t *arg = calloc(1, big), *copy = malloc(big), *map, *u;
	bool ok;

	if (!tap_ok(arg && copy, "uapi %s sizes: setup", c->name))
		goto out;

	/* A newer binary setting a field this kernel does not know. */
	c->prep(arg);
	*(uint32_t *)arg = big;
	arg[big - 1] = 1;
	memcpy(copy, arg, big);
	tap_ok(raw(c->cmd, arg) == -E2BIG && !memcmp(arg, copy, big) &&
	       (!c->untouched || c->untouched()),
	       "uapi %s: a larger struct (%zu bytes) with a non-zero tail fails with E2BIG and changes nothing",
	       c->name, big);

	memset(arg, 0, big);
	c->prep(arg);
	*(uint32_t *)arg = c->ver0 - 1;
	memcpy(copy, arg, big);
	tap_ok(raw(c->cmd, arg) == -EINVAL && !memcmp(arg, copy, big) &&
	       (!c->untouched || c->untouched()),
	       "uapi %s: one byte less than the first released size (%zu) fails with EINVAL",
	       c->name, c->ver0 - 1);

	/* A binary built against the first release: nothing written past it. */
	memset(arg, 0, big);
	c->prep(arg);
	*(uint32_t *)arg = c->ver0;
	u = ro_tail(c->ver0, &map);
	if (u)
		memcpy(u, arg, c->ver0);
	ok = u && !raw(c->cmd, u) && c->done(u);
	tap_ok(ok, "uapi %s: the first released size (%zu bytes) works, nothing written past it",
	       c->name, c->ver0);
	if (map)
		munmap(map, 2 * PAGE);

	/* A newer binary: zero tail accepted, left as it was (read-only). */
	memset(arg, 0, big);
	c->prep(arg);
	*(uint32_t *)arg = big;
	u = ro_tail(c->ksize, &map);
	if (u)
		memcpy(u, arg, c->ksize);
	ok = u && !raw(c->cmd, u) && c->done(u) &&
	     all_bytes(u + c->ksize, SZ_TAIL, 0);
	tap_ok(ok, "uapi %s: a larger struct (%zu bytes) with a zero tail works; only %zu bytes are written back",
	       c->name, big, c->ksize);
	if (map)
		munmap(map, 2 * PAGE);
out:
	free(arg);
	free(copy);
}

static void t_uapi_sizes(void)
{
	static const struct sized cases[] = {
		{ "VERSION", DMABUF_REVOKE_IOC_VERSION,
		  DMABUF_REVOKE_VERSION_SIZE_VER0,
		  sizeof(struct dmabuf_revoke_version), prep_version,
		  done_version, NULL },
		{ "QUERY", DMABUF_REVOKE_IOC_QUERY,
		  DMABUF_REVOKE_QUERY_SIZE_VER0,
		  sizeof(struct dmabuf_revoke_query), prep_query, done_query,
		  NULL },
		{ "LIST", DMABUF_REVOKE_IOC_LIST, DMABUF_REVOKE_LIST_SIZE_VER0,
		  sizeof(struct dmabuf_revoke_list), prep_list, done_list,
		  NULL },
		/* Last: it revokes the buffer. */
		{ "REVOKE", DMABUF_REVOKE_IOC_REVOKE,
		  DMABUF_REVOKE_REVOKE_SIZE_VER0,
		  sizeof(struct dmabuf_revoke_revoke), prep_revoke,
		  done_revoke, live },
	};
	struct dmabuf_revoke_query q;
	unsigned int i;
	int dev;

	sz_buf = vre_buffer(&dev, SZ, 0);
	sz_revoked = false;
	if (!tap_ok(sz_buf >= 0 && !drs_query(sz_buf, &q),
		    "uapi struct sizes: a managed buffer"))
		goto out;
	sz_ino = q.inode;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		uapi_sizes(&cases[i]);
out:
	vre_buffer_close(sz_buf, dev);
	sz_buf = -1;
}

static void t_uapi_privilege(void)
{
	int dev, buf = vre_buffer(&dev, SZ, 0), status;
	pid_t pid;

	pid = fork();
	if (pid == 0) {
		struct dmabuf_revoke_query q;
		int ret;

		struct dmabuf_revoke_list l = { .size = sizeof(l) };

		if (drop_cap_sys_admin())
			_exit(10);
		ret = drs_revoke(buf, 100, NULL, NULL, 0);
		if (ret != -EPERM)
			_exit(11);
		if (drs_query(buf, &q) || (q.state & DMABUF_REVOKE_STATE_OWNER))
			_exit(12);
		/* LIST names every buffer of every user: the admin's. */
		if (!ioctl(drs_fd(), DMABUF_REVOKE_IOC_LIST, &l) || errno != EPERM)
			_exit(13);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid)
		status = -1;
	tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "uapi REVOKE and LIST without CAP_SYS_ADMIN fail with EPERM, QUERY works and says not the owner (child exit %d)",
	       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	tap_ok(!drs_is_revoked(buf), "uapi the unprivileged attempt changed nothing");
	vre_buffer_close(buf, dev);
}

/* ---- REVOKE_BATCH ------------------------------------------------------ */

#define EXP_NAME	"vfio_revoke_exporter"

/* REVOKE_BATCH over @n fds; 0 or -errno; *@bt holds what came back. */
static int batch_fds(const int *fds, unsigned int n, unsigned int timeout_ms,
		     struct dmabuf_revoke_report *reports,
		     struct dmabuf_revoke_batch *bt)
{
	memset(bt, 0, sizeof(*bt));
	bt->size = sizeof(*bt);
	bt->fds = (uintptr_t)fds;
	bt->count = n;
	bt->timeout_ms = timeout_ms;
	bt->reports = (uintptr_t)reports;
	bt->error_index = -2;
	return raw(DMABUF_REVOKE_IOC_REVOKE_BATCH, bt);
}

/* REVOKE_BATCH of every managed buffer of exporter @name. */
static int batch_exporter(const char *name, unsigned int timeout_ms,
			  struct dmabuf_revoke_batch *bt)
{
	memset(bt, 0, sizeof(*bt));
	bt->size = sizeof(*bt);
	bt->flags = DMABUF_REVOKE_BATCH_EXPORTER;
	bt->timeout_ms = timeout_ms;
	snprintf(bt->exp_name, sizeof(bt->exp_name), "%s", name);
	return raw(DMABUF_REVOKE_IOC_REVOKE_BATCH, bt);
}

/* Managed buffers of exporter @name in LIST: *live not revoked, *dead revoked. */
static void count_exporter(const char *name, unsigned int *live,
			   unsigned int *dead)
{
	static struct dmabuf_revoke_query q[DMABUF_REVOKE_LIST_MAX];
	struct dmabuf_revoke_list l = {
		.size = sizeof(l), .count = DMABUF_REVOKE_LIST_MAX,
		.entries = (uintptr_t)q,
	};
	uint32_t i;

	*live = *dead = 0;
	if (raw(DMABUF_REVOKE_IOC_LIST, &l))
		return;
	for (i = 0; i < l.count && i < DMABUF_REVOKE_LIST_MAX; i++) {
		if (strcmp(q[i].exp_name, name))
			continue;
		if (q[i].state & DMABUF_REVOKE_STATE_REVOKED)
			(*dead)++;
		else
			(*live)++;
	}
}

static bool none_revoked(const int *fds, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (drs_is_revoked(fds[i]))
			return false;
	return true;
}

/*
 * R17 fd mode: three buffers of two devices, one with a dynamic importer,
 * one mapped by this process, revoked in one call; a report per fd.
 */
static void t_batch_fds(void)
{
	uint64_t two = 2 * SZ, one = SZ;
	struct dmabuf_revoke_report rep[4];
	struct dmabuf_revoke_batch bt;
	struct dmabuf_revoke_query q;
	struct iit_query iq = { 0 };
	int a = vre_device(1, &two), b = vre_device(1, &one);
	int fd[4] = { -1, -1, -1, -1 }, ioas = iit_open(), ret, i;
	bool all = true;
	uint8_t *p = NULL, v;
	uint32_t id;

	if (a >= 0 && b >= 0) {
		fd[0] = vre_export(a, 0, 0, SZ, 0);
		fd[1] = vre_export(a, 0, SZ, SZ, 0);
		fd[2] = vre_export(b, 0, 0, SZ, 0);
	}
	if (fd[2] >= 0)
		p = map_buf(fd[2], SZ);
	if (!tap_ok(fd[0] >= 0 && fd[1] >= 0 && fd[2] >= 0 && ioas >= 0 &&
		    !iit_map(ioas, fd[1], IOVA, 0, &id) && p && !touch_write(p, 7),
		    "R17 batch setup: 3 buffers of 2 devices, an importer, a mapping"))
		goto out;

	memset(rep, 0xff, sizeof(rep));
	ret = batch_fds(fd, 3, 2000, rep, &bt);
	tap_ok(!ret && bt.revoked == 3 && bt.already == 0 &&
	       bt.incomplete == 0 && bt.not_started == 0 && bt.error_index == -1,
	       "R17 REVOKE_BATCH of 3 fds revokes all 3 in one call (ret %d, revoked %u, already %u, incomplete %u, not started %u)",
	       ret, bt.revoked, bt.already, bt.incomplete, bt.not_started);
	for (i = 0; i < 3; i++)
		all = all && !drs_query(fd[i], &q) &&
		      (q.state & DMABUF_REVOKE_STATE_REVOKED) &&
		      (q.state & DMABUF_REVOKE_STATE_COMPLETE);
	tap_ok(all, "R17 every buffer of the batch is revoked and complete");
	tap_ok(!ret && rep[0].flags == 0 && rep[0].attachments == 0 &&
	       rep[0].user_mappings == 0 &&
	       rep[1].flags == 0 && rep[1].attachments == 1 &&
	       rep[1].notified == 1 && rep[1].mappings_remaining == 0 &&
	       rep[2].flags == 0 && rep[2].attachments == 0 &&
	       rep[2].user_mappings == 1,
	       "R17 one report per fd, in the array's order: the importer told on fd 1, the mapping zapped on fd 2");
	tap_ok(all_bytes(&rep[3], sizeof(rep[3]), 0xff),
	       "R17 nothing is written past the last report");
	ret = iit_query(ioas, id, &iq);
	tap_ok(!ret && iq.invalidations == 1 && iq.state == IIT_STATE_REVOKED,
	       "R17 the importer was told once and let go (state %u)", iq.state);
	tap_ok(touch_read(p, &v) == TOUCH_SIGBUS,
	       "R17 the batch zapped the user mapping: a touch raises SIGBUS");
	ret = batch_fds(fd, 3, 1000, rep, &bt);
	tap_ok(!ret && bt.revoked == 0 && bt.already == 3 &&
	       rep[0].flags == DMABUF_REVOKE_REPORT_ALREADY &&
	       rep[2].flags == DMABUF_REVOKE_REPORT_ALREADY,
	       "R17 a second batch: all 3 already revoked, said per fd (ret %d, already %u)",
	       ret, bt.already);

	/* The same buffer twice (the same fd, and a dup): counted once. */
	close(fd[0]);
	fd[0] = vre_export(a, 0, 0, SZ, 0);
	fd[3] = fd[0] >= 0 ? dup(fd[0]) : -1;
	{
		int same[4] = { fd[0], fd[0], fd[3], fd[2] };

		ret = batch_fds(same, 4, 1000, rep, &bt);
		tap_ok(!ret && bt.revoked == 1 && bt.already == 1 &&
		       drs_is_revoked(fd[0]) && rep[0].flags == 0 &&
		       !memcmp(&rep[0], &rep[1], sizeof(rep[0])) &&
		       !memcmp(&rep[0], &rep[2], sizeof(rep[0])) &&
		       rep[3].flags == DMABUF_REVOKE_REPORT_ALREADY,
		       "R17 a buffer given three times (two fds) is revoked and counted once; each fd gets its report (revoked %u, already %u)",
		       bt.revoked, bt.already);
	}
out:
	if (p)
		munmap(p, SZ);
	if (ioas >= 0)
		close(ioas);
	for (i = 0; i < 4; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	if (a >= 0)
		close(a);
	if (b >= 0)
		close(b);
}

/* Every fd is checked first: one bad fd fails the call, nothing revoked. */
static void t_batch_bad_fd(void)
{
	int da, db, dp, pfd[2] = { -1, -1 }, ret, closed;
	int b0 = vre_buffer(&da, SZ, 0), b2 = vre_buffer(&db, SZ, 0);
	int plain = vre_buffer(&dp, SZ, VRE_EXPORT_PLAIN);
	static const struct {
		const char *what;
		int err;
	} bad[] = {
		{ "a closed fd", -EBADF },
		{ "a pipe (not a dma-buf)", -EINVAL },
		{ "a plain export (not managed)", -ENOENT },
	};
	struct dmabuf_revoke_report rep[3];
	struct dmabuf_revoke_batch bt;
	unsigned int i;

	/* Beyond the fd limit: never open. */
	closed = 9999;
	if (!tap_ok(b0 >= 0 && b2 >= 0 && plain >= 0 && !pipe(pfd),
		    "R17 batch bad fd setup"))
		goto out;
	for (i = 0; i < 3; i++) {
		int fds[3] = { b0, i == 0 ? closed : i == 1 ? pfd[0] : plain,
			       b2 };

		memset(rep, 0xff, sizeof(rep));
		ret = batch_fds(fds, 3, 1000, rep, &bt);
		tap_ok(ret == bad[i].err && bt.error_index == 1 &&
		       none_revoked(fds, 3) && bt.revoked == 0 &&
		       all_bytes(rep, sizeof(rep), 0xff),
		       "R17 batch with %s in the middle: %s, its index (%d) reported, nothing revoked",
		       bad[i].what, strerror(-bad[i].err), bt.error_index);
	}
	{
		int fds[3] = { b0, b2, -1 };

		ret = batch_fds(fds, 3, 1000, NULL, &bt);
		tap_ok(ret == -EBADF && bt.error_index == 2 &&
		       none_revoked(fds, 2),
		       "R17 batch with a negative fd last: EBADF, index 2, nothing revoked");
	}
out:
	if (pfd[0] >= 0) {
		close(pfd[0]);
		close(pfd[1]);
	}
	vre_buffer_close(b0, da);
	vre_buffer_close(b2, db);
	vre_buffer_close(plain, dp);
}

/*
 * Exporter mode: exactly that exporter's managed buffers; a plain export of
 * the same exporter, and other exporters' buffers, stay as they were.
 */
static void t_batch_exporter(void)
{
	uint64_t three = 3 * SZ, one = SZ;
	int a = vre_device(1, &three), b = vre_device(1, &one);
	int m[3] = { -1, -1, -1 }, plain = -1, ioas = iit_open(), vg, vbuf = -1;
	unsigned int live, dead, live2, dead2, i;
	struct dmabuf_revoke_batch bt;
	struct dmabuf_revoke_query q;
	uint8_t w[64], r[64];
	uint32_t h, id;
	int ret;

	if (a >= 0 && b >= 0) {
		m[0] = vre_export(a, 0, 0, SZ, 0);
		m[1] = vre_export(a, 0, SZ, SZ, VRE_EXPORT_STRICT);
		plain = vre_export(a, 0, 2 * SZ, SZ, VRE_EXPORT_PLAIN);
		m[2] = vre_export(b, 0, 0, SZ, 0);
	}
	vg = vgem_open();
	if (vg >= 0)
		vbuf = vgem_export(vg, SZ, &h);
	if (!tap_ok(m[0] >= 0 && m[1] >= 0 && m[2] >= 0 && plain >= 0 &&
		    ioas >= 0, "R17 batch by exporter setup"))
		goto out;
	count_exporter(EXP_NAME, &live, &dead);

	/* Other names: nothing of ours, not even a prefix of our name. */
	ret = batch_exporter("iommufd_importer_test", 1000, &bt);
	tap_ok(!ret && bt.revoked == 0 && bt.already == 0 &&
	       bt.not_started == 0 && none_revoked(m, 3),
	       "R17 batch by exporter: another exporter's name revokes none of ours");
	ret = batch_exporter("vfio_revoke", 1000, &bt);
	tap_ok(!ret && bt.revoked == 0 && none_revoked(m, 3),
	       "R17 batch by exporter: the name must match whole, a prefix revokes nothing");
	if (vbuf < 0) {
		tap_skip("no vgem", "R17 batch by exporter 'vgem' leaves vgem's buffers alone");
	} else {
		ret = batch_exporter("vgem", 1000, &bt);
		tap_ok(!ret && bt.revoked == 0 && bt.already == 0 &&
		       none_revoked(m, 3) && drs_query(vbuf, &q) == -ENOENT,
		       "R17 batch by exporter 'vgem': vgem's buffers are not managed, nothing revoked");
	}

	ret = batch_exporter(EXP_NAME, 2000, &bt);
	tap_ok(!ret && bt.revoked == live && bt.already == dead &&
	       bt.incomplete == 0 && bt.not_started == 0 && live >= 3 &&
	       bt.error_index == -1,
	       "R17 batch by exporter revokes every live managed buffer of %s (%u revoked, %u already; LIST had %u live, %u revoked)",
	       EXP_NAME, bt.revoked, bt.already, live, dead);
	for (i = 0; i < 3; i++)
		tap_ok(!drs_query(m[i], &q) &&
		       (q.state & DMABUF_REVOKE_STATE_REVOKED) &&
		       (q.state & DMABUF_REVOKE_STATE_COMPLETE),
		       "R17 batch by exporter: our managed buffer %u (of 2 devices, strict or not) is revoked", i);
	count_exporter(EXP_NAME, &live2, &dead2);
	tap_ok(live2 == 0 && dead2 == live + dead,
	       "R17 batch by exporter: no managed buffer of %s is left live (%u)",
	       EXP_NAME, live2);
	fill_pattern(w, sizeof(w), 17);
	tap_ok(drs_query(plain, &q) == -ENOENT &&
	       !iit_map(ioas, plain, IOVA, 0, &id) &&
	       !iit_dma(ioas, IOVA, w, sizeof(w), true) &&
	       !iit_dma(ioas, IOVA, r, sizeof(r), false) &&
	       !memcmp(w, r, sizeof(r)),
	       "R17 batch by exporter: the same exporter's plain export is untouched (imported, DMA works)");
	ret = batch_exporter(EXP_NAME, 1000, &bt);
	tap_ok(!ret && bt.revoked == 0 && bt.already == live + dead,
	       "R17 batch by exporter again: all already revoked (%u)", bt.already);
out:
	if (vbuf >= 0)
		close(vbuf);
	if (vg >= 0)
		close(vg);
	if (ioas >= 0)
		close(ioas);
	for (i = 0; i < 3; i++)
		if (m[i] >= 0)
			close(m[i]);
	if (plain >= 0)
		close(plain);
	if (a >= 0)
		close(a);
	if (b >= 0)
		close(b);
}

/* Flags, reserved fields, both modes' field rules: EINVAL, nothing revoked. */
static void t_batch_conventions(void)
{
	struct dmabuf_revoke_version v;
	struct dmabuf_revoke_batch bt;
	int dev, buf = vre_buffer(&dev, SZ, 0), fds[1] = { buf };
	static const char *const what[] = {
		"unknown flags", "a non-zero reserved field",
		"a timeout above the maximum", "fd mode with an exporter name",
		"a count above DMABUF_REVOKE_BATCH_MAX", "a count without an array",
		"exporter mode with fds", "exporter mode with a count",
		"exporter mode with a report array", "an empty exporter name",
		"an exporter name without its NUL", "bytes after the name's NUL",
	};
	unsigned int i;
	int ret;

	tap_ok(!drs_version(&v) && (v.features & DMABUF_REVOKE_FEAT_BATCH),
	       "uapi VERSION reports DMABUF_REVOKE_FEAT_BATCH");
	for (i = 0; i < sizeof(what) / sizeof(what[0]); i++) {
		memset(&bt, 0, sizeof(bt));
		bt.size = sizeof(bt);
		if (i < 6) {
			bt.fds = (uintptr_t)fds;
			bt.count = 1;
		} else {
			bt.flags = DMABUF_REVOKE_BATCH_EXPORTER;
			strcpy(bt.exp_name, EXP_NAME);
		}
		switch (i) {
		case 0:
			bt.flags = 1U << 7;
			break;
		case 1:
			bt.reserved = 1;
			break;
		case 2:
			bt.timeout_ms = DMABUF_REVOKE_MAX_TIMEOUT_MS + 1;
			break;
		case 3:
			strcpy(bt.exp_name, "x");
			break;
		case 4:
			bt.count = DMABUF_REVOKE_BATCH_MAX + 1;
			break;
		case 5:
			bt.fds = 0;
			break;
		case 6:
			bt.fds = (uintptr_t)fds;
			break;
		case 7:
			bt.count = 1;
			break;
		case 8:
			bt.reports = (uintptr_t)&v;
			break;
		case 9:
			memset(bt.exp_name, 0, sizeof(bt.exp_name));
			break;
		case 10:
			memset(bt.exp_name, 'a', sizeof(bt.exp_name));
			break;
		case 11:
			bt.exp_name[sizeof(bt.exp_name) - 1] = 'x';
			break;
		}
		ret = raw(DMABUF_REVOKE_IOC_REVOKE_BATCH, &bt);
		tap_ok(ret == -EINVAL && !drs_is_revoked(buf),
		       "uapi REVOKE_BATCH with %s: EINVAL, nothing revoked (%d)",
		       what[i], ret);
	}
	memset(&bt, 0, sizeof(bt));
	bt.size = sizeof(bt);
	bt.fds = 16;
	bt.count = 1;
	tap_ok(raw(DMABUF_REVOKE_IOC_REVOKE_BATCH, &bt) == -EFAULT,
	       "uapi REVOKE_BATCH with a bad fd array pointer: EFAULT");
	ret = batch_fds(NULL, 0, 0, NULL, &bt);
	tap_ok(!ret && bt.revoked == 0 && bt.already == 0 &&
	       bt.not_started == 0 && bt.error_index == -1,
	       "uapi REVOKE_BATCH of no fds does nothing and succeeds (%d)", ret);
	vre_buffer_close(buf, dev);
}

/*
 * R9/R17: one timeout for the whole batch. A buffer whose reservation lock
 * is held hostage is left untouched when it runs out; the others are
 * revoked all the same, and the call returns about on time.
 */
static void t_batch_hostage(void)
{
	uint64_t two = 2 * SZ;
	struct dmabuf_revoke_report rep[2];
	struct dmabuf_revoke_batch bt;
	struct resv_hostage h = { .dev = vre_device(1, &two), .fd = -1,
				  .ms = 1500 };
	int other = -1, ret;
	double t0, ms;

	if (h.dev >= 0) {
		h.fd = vre_export(h.dev, 0, 0, SZ, 0);
		other = vre_export(h.dev, 0, SZ, SZ, 0);
	}
	if (!tap_ok(h.fd >= 0 && other >= 0 &&
		    resv_hostage_start(&h),
		    "R17 batch hostage setup"))
		goto out;
	usleep(200000);
	{
		int fds[2] = { h.fd, other };

		t0 = now_ms();
		ret = batch_fds(fds, 2, 300, rep, &bt);
		ms = now_ms() - t0;
	}
	tap_ok(!ret && bt.revoked == 1 && bt.not_started == 1 &&
	       rep[0].flags == DMABUF_REVOKE_REPORT_NOT_STARTED &&
	       !(rep[1].flags & DMABUF_REVOKE_REPORT_NOT_STARTED) &&
	       !drs_is_revoked(h.fd) && drs_is_revoked(other),
	       "R17 a buffer whose reservation lock is held hostage is left untouched (NOT_STARTED), the other is revoked (ret %d, revoked %u, not started %u)",
	       ret, bt.revoked, bt.not_started);
	tap_ok(ms < 1000,
	       "R9 the batch returned within its one timeout (300 ms) despite the hostage: %.0f ms",
	       ms);
	resv_hostage_end(&h);
	tap_ok(!batch_fds(&h.fd, 1, 1000, NULL, &bt) && bt.revoked == 1 &&
	       drs_is_revoked(h.fd),
	       "R17 once the lock is free, the untouched buffer is revoked by the next batch");
out:
	if (other >= 0)
		close(other);
	if (h.fd >= 0)
		close(h.fd);
	if (h.dev >= 0)
		close(h.dev);
}

static void t_batch_privilege(void)
{
	int dev, buf = vre_buffer(&dev, SZ, 0), status;
	pid_t pid;

	pid = fork();
	if (pid == 0) {
		struct dmabuf_revoke_batch bt;

		if (drop_cap_sys_admin())
			_exit(10);
		if (batch_fds(&buf, 1, 100, NULL, &bt) != -EPERM)
			_exit(11);
		if (batch_exporter(EXP_NAME, 100, &bt) != -EPERM)
			_exit(12);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid)
		status = -1;
	tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "uapi REVOKE_BATCH without CAP_SYS_ADMIN fails with EPERM, in both modes (child exit %d)",
	       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	tap_ok(!drs_is_revoked(buf),
	       "uapi the unprivileged batch changed nothing");
	vre_buffer_close(buf, dev);
}

static int sz_bfds[1];
static struct dmabuf_revoke_report sz_breports[1];

static void prep_batch(void *arg)
{
	struct dmabuf_revoke_batch *bt = arg;

	sz_bfds[0] = sz_buf;
	bt->fds = (uintptr_t)sz_bfds;
	bt->count = 1;
	bt->timeout_ms = 1000;
	bt->reports = (uintptr_t)sz_breports;
}

/* As REVOKE: the first call revokes, the next say it was already revoked. */
static bool done_batch(const void *arg)
{
	const struct dmabuf_revoke_batch *bt = arg;
	bool ok = drs_is_revoked(sz_buf) && bt->error_index == -1 &&
		  bt->revoked == !sz_revoked && bt->already == sz_revoked &&
		  bt->incomplete == 0 && bt->not_started == 0 &&
		  !!(sz_breports[0].flags & DMABUF_REVOKE_REPORT_ALREADY) ==
		  sz_revoked;

	sz_revoked = true;
	return ok;
}

static void t_batch_sizes(void)
{
	static const struct sized c = {
		"REVOKE_BATCH", DMABUF_REVOKE_IOC_REVOKE_BATCH,
		DMABUF_REVOKE_BATCH_SIZE_VER0,
		sizeof(struct dmabuf_revoke_batch), prep_batch, done_batch,
		live,
	};
	int dev;

	sz_buf = vre_buffer(&dev, SZ, 0);
	sz_revoked = false;
	if (tap_ok(sz_buf >= 0, "uapi REVOKE_BATCH sizes: a managed buffer"))
		uapi_sizes(&c);
	vre_buffer_close(sz_buf, dev);
	sz_buf = -1;
}

const struct suite_case uapi_cases[] = {
	{ "uapi", t_r13_strict },
	{ "uapi", t_r14_module },
	{ "uapi", t_r15_foreign },
	{ "uapi", t_query_counts },
	{ "uapi", t_uapi_structs },
	{ "uapi", t_uapi_sizes },
	{ "uapi", t_uapi_privilege },
	{ "uapi", t_batch_conventions },
	{ "uapi", t_batch_sizes },
	{ "uapi", t_batch_privilege },
	{ "uapi", t_batch_fds },
	{ "uapi", t_batch_bad_fd },
	{ "uapi", t_batch_hostage },
	{ "uapi", t_batch_exporter },
	{ NULL, NULL },
};
