// SPDX-License-Identifier: GPL-2.0
/* R13-R15 and the ioctl conventions: bad input gets an errno, never a crash. */
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "suite.h"

static void t_r13_strict(void)
{
	int dev, buf, ioas = iit_open(), vgem;
	uint32_t id, h;

	buf = vre_buffer(&dev, SZ, VRE_EXPORT_STRICT);
	if (!tap_ok(buf >= 0 && ioas >= 0, "R13 strict export"))
		goto out;
	tap_ok(iit_map(ioas, buf, IOVA, IIT_MAP_STATIC, &id) == -EOPNOTSUPP,
	       "R13 strict mode refuses a static importer with EOPNOTSUPP");
	tap_ok(!iit_map(ioas, buf, IOVA, 0, &id),
	       "R13 strict mode accepts a dynamic importer");
	vgem = vgem_open();
	if (vgem < 0) {
		tap_skip("no vgem", "R13 strict mode refuses vgem's PRIME import");
	} else {
		tap_ok(vgem_import(vgem, buf, &h) == -EOPNOTSUPP,
		       "R13 strict mode refuses vgem's PRIME import with EOPNOTSUPP");
		close(vgem);
	}
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
	struct {
		struct dmabuf_revoke_query q;
		uint64_t tail;
	} big;
	struct dmabuf_revoke_revoke rv;
	struct dmabuf_revoke_version v;
	int dev, buf = vre_buffer(&dev, SZ, 0);

	memset(&v, 0, sizeof(v));
	v.size = 4;
	tap_ok(raw(DMABUF_REVOKE_IOC_VERSION, &v) == -EINVAL,
	       "uapi a struct shorter than its first version: EINVAL");
	memset(&big, 0, sizeof(big));
	big.q.size = sizeof(big);
	big.q.fd = buf;
	tap_ok(!raw(DMABUF_REVOKE_IOC_QUERY, &big) && big.q.size == sizeof(big.q),
	       "uapi a longer struct with a zero tail is accepted (newer binary)");
	big.q.size = sizeof(big);
	big.tail = 1;
	tap_ok(raw(DMABUF_REVOKE_IOC_QUERY, &big) == -E2BIG,
	       "uapi a longer struct with a non-zero tail: E2BIG");
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
	{ "uapi", t_uapi_privilege },
	{ NULL, NULL },
};
