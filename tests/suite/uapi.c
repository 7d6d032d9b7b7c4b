// SPDX-License-Identifier: GPL-2.0
/* R13-R15 and the ioctl conventions: bad input gets an errno, never a crash. */
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
	if (buf >= 0) {
		close(buf);
		close(dev);
	}
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
	if (buf >= 0) {
		close(buf);
		close(dev);
	}
	if (pbuf >= 0) {
		close(pbuf);
		close(pdev);
	}
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
	if (buf >= 0) {
		close(buf);
		close(dev);
	}
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
	if (sz_buf >= 0) {
		close(sz_buf);
		close(dev);
	}
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

		if (drop_cap_sys_admin())
			_exit(10);
		ret = drs_revoke(buf, 100, NULL, NULL, 0);
		if (ret != -EPERM)
			_exit(11);
		_exit(drs_query(buf, &q) ? 12 : 0);
	}
	if (waitpid(pid, &status, 0) != pid)
		status = -1;
	tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "uapi REVOKE without CAP_SYS_ADMIN fails with EPERM, QUERY works (child exit %d)",
	       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	tap_ok(!drs_is_revoked(buf), "uapi the unprivileged attempt changed nothing");
	if (buf >= 0) {
		close(buf);
		close(dev);
	}
}

const struct suite_case uapi_cases[] = {
	{ "uapi", t_r13_strict },
	{ "uapi", t_r14_module },
	{ "uapi", t_r15_foreign },
	{ "uapi", t_uapi_structs },
	{ "uapi", t_uapi_sizes },
	{ "uapi", t_uapi_privilege },
	{ NULL, NULL },
};
