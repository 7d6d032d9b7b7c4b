// SPDX-License-Identifier: GPL-2.0
/*
 * Fault-injection sweep, in the style of iommufd's fail_nth selftest: for
 * each ioctl and the export/attach/mmap/revoke paths, fail the 1st, 2nd, ...
 * allocation the call makes (/proc/thread-self/fail-nth) until the call no
 * longer reaches the next one. Each run must end in success or a clean
 * errno; the harness then checks the kernel log (and kmemleak on the debug
 * kernel) and the last case checks that every buffer was released. Needs
 * CONFIG_FAULT_INJECTION, FAILSLAB and debugfs: a debug-kernel test.
 */
#include <sys/ioctl.h>

#include <linux/dma-buf.h>

#include "suite.h"

#define MAX_POINTS	400

static int nth_fd = -1;

static bool write_str(const char *path, const char *v)
{
	int fd = open(path, O_WRONLY);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, v, strlen(v)) == (ssize_t)strlen(v);
	close(fd);
	return ok;
}

/* Let GFP_KERNEL allocations fail too, quietly. */
static bool failnth_setup(void)
{
	static const char *const dirs[] = { "failslab", "fail_page_alloc" };
	char path[128];
	unsigned int i;

	nth_fd = open("/proc/thread-self/fail-nth", O_RDWR);
	if (nth_fd < 0)
		return false;
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "/sys/kernel/debug/%s/ignore-gfp-wait",
			 dirs[i]);
		write_str(path, "N");
		snprintf(path, sizeof(path), "/sys/kernel/debug/%s/verbose", dirs[i]);
		write_str(path, "0");
	}
	return true;
}

static void arm(unsigned int n)
{
	char v[16];
	int len = snprintf(v, sizeof(v), "%u", n);

	if (pwrite(nth_fd, v, len, 0) != len)
		tap_diag("fail-nth: cannot arm %u", n);
}

/* true once the call no longer reached the armed allocation */
static bool disarm(void)
{
	char v[16] = "";
	bool done;

	done = pread(nth_fd, v, sizeof(v) - 1, 0) > 0 && atoi(v) > 0;
	arm(0);
	return done;
}

struct ctx {
	int dev, buf, ioas;
	uint32_t id;
	uint8_t *map;
};

static void ctx_put(struct ctx *c)
{
	if (c->map)
		munmap(c->map, SZ);
	if (c->ioas >= 0)
		close(c->ioas);
	if (c->buf >= 0)
		close(c->buf);
	if (c->dev >= 0)
		close(c->dev);
	memset(c, 0xff, sizeof(*c));
	c->map = NULL;
}

/* Each path: set up, then one call under fault injection. */
static int op_export(struct ctx *c, bool run)
{
	if (!run) {
		uint64_t bar = SZ;

		c->dev = vre_device(1, &bar);
		return c->dev < 0;
	}
	c->buf = vre_export(c->dev, 0, 0, SZ, 0);
	return c->buf < 0 ? c->buf : 0;
}

static int op_attach_map(struct ctx *c, bool run)
{
	if (!run) {
		c->buf = vre_buffer(&c->dev, SZ, 0);
		c->ioas = iit_open();
		return c->buf < 0 || c->ioas < 0;
	}
	return iit_map(c->ioas, c->buf, IOVA, 0, &c->id);
}

static int op_static_map(struct ctx *c, bool run)
{
	if (!run)
		return op_attach_map(c, false);
	return iit_map(c->ioas, c->buf, IOVA, IIT_MAP_STATIC, &c->id);
}

static int op_mmap(struct ctx *c, bool run)
{
	if (!run) {
		c->buf = vre_buffer(&c->dev, SZ, VRE_EXPORT_MMAP_FAULT);
		return c->buf < 0;
	}
	c->map = map_buf(c->buf, SZ);
	return c->map ? 0 : -errno;
}

static int op_revoke(struct ctx *c, bool run)
{
	struct dmabuf_revoke_entry e[4];

	if (!run) {
		if (op_attach_map(c, false) ||
		    iit_map(c->ioas, c->buf, IOVA, IIT_MAP_STATIC, &c->id))
			return 1;
		c->map = map_buf(c->buf, SZ);
		return !c->map;
	}
	return drs_revoke(c->buf, 200, NULL, e, 4);
}

static int op_query_list(struct ctx *c, bool run)
{
	struct dmabuf_revoke_query q[4];
	struct dmabuf_revoke_list l = { .size = sizeof(l), .count = 4,
					.entries = (uintptr_t)q };

	if (!run) {
		c->buf = vre_buffer(&c->dev, SZ, 0);
		return c->buf < 0;
	}
	if (ioctl(drs_fd(), DMABUF_REVOKE_IOC_LIST, &l))
		return -errno;
	return drs_query(c->buf, &q[0]);
}

static int op_vmap_revoked(struct ctx *c, bool run)
{
	if (!run)
		return op_attach_map(c, false) ||
		       drs_revoke(c->buf, 200, NULL, NULL, 0);
	return iit_vmap(c->ioas, c->buf, &c->id);
}

static int op_cli_reset(struct ctx *c, bool run)
{
	if (!run)
		return op_revoke(c, false);
	return vre_reset(c->dev) < 0 ? -1 : 0;
}

static const struct {
	const char *name;
	int (*op)(struct ctx *c, bool run);
} paths[] = {
	{ "export", op_export },
	{ "dynamic attach+map", op_attach_map },
	{ "static attach", op_static_map },
	{ "mmap", op_mmap },
	{ "revoke", op_revoke },
	{ "query+list", op_query_list },
	/*
	 * Not "vmap" of a live buffer: dma_buf_vmap() WARNs on any failure of
	 * the exporter's vmap (1540 in 6.12), so an allocation failure inside
	 * vmap() there is a core warning, not something the shim can make
	 * clean. After revoke no exporter code runs, and that path is swept.
	 */
	{ "vmap after revoke", op_vmap_revoked },
	{ "device reset", op_cli_reset },
};

static void t_failnth(void)
{
	unsigned int p, n, total = 0;

	if (!failnth_setup()) {
		tap_skip("no fault injection in this kernel",
			 "failnth: allocation failures on every path end cleanly");
		return;
	}
	for (p = 0; p < sizeof(paths) / sizeof(paths[0]); p++) {
		unsigned int odd = 0;
		bool done = false;

		for (n = 1; n <= MAX_POINTS && !done; n++) {
			struct ctx c;
			int ret;

			memset(&c, 0xff, sizeof(c));
			c.map = NULL;
			if (paths[p].op(&c, false)) {
				odd++;
				ctx_put(&c);
				break;
			}
			arm(n);
			ret = paths[p].op(&c, true);
			done = disarm();
			/* A failure must be an errno, never anything else. */
			if (ret > 0 || ret < -4095)
				odd++;
			ctx_put(&c);
		}
		total += n - 1;
		tap_ok(done && !odd,
		       "failnth: %s: %u allocation points, each failure ended cleanly",
		       paths[p].name, n - 1);
	}
	tap_diag("failnth: %u fault points in all", total);
}

const struct suite_case failnth_cases[] = {
	{ "failnth", t_failnth },
	{ NULL, NULL },
};
