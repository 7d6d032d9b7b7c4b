// SPDX-License-Identifier: GPL-2.0
/*
 * The revocable heap (dmabuf_revoke_heap): its dma-heap uapi, its memory,
 * the revoke contract on its buffers, and owner-side revoke. Run on request
 * (group "heap"), once the heap module is loaded (tests/guest/run.sh).
 */
#define _GNU_SOURCE
#include <limits.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <linux/dma-buf.h>
#include <linux/dma-heap.h>

#include "suite.h"

#define PARAM(name)	"/sys/module/dmabuf_revoke_heap/parameters/" name
#define HEAP_NAME	"revocable"
#define MB		(1024 * 1024UL)

static int heap_buf(size_t len)
{
	return heap_alloc(len, O_RDWR | O_CLOEXEC, 0);
}

static bool write_param(const char *path, const char *v)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n = -1;

	if (fd >= 0) {
		n = write(fd, v, strlen(v));
		close(fd);
	}
	return n == (ssize_t)strlen(v);
}

static long read_long(const char *path)
{
	char s[32] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, s, sizeof(s) - 1) : -1;

	if (fd >= 0)
		close(fd);
	return n > 0 ? strtol(s, NULL, 10) : -1;
}

/* Write @len bytes of pattern @seed into the buffer through a mapping. */
static bool fill_buf(int fd, size_t len, unsigned int seed)
{
	uint8_t *p = map_buf(fd, len);

	if (!p)
		return false;
	fill_pattern(p, len, seed);
	munmap(p, len);
	return true;
}

/* Managed buffers of the heap in LIST. */
static int heap_buffers_listed(void)
{
	static struct dmabuf_revoke_query q[DMABUF_REVOKE_LIST_MAX];
	struct dmabuf_revoke_list l = {
		.size = sizeof(l), .count = DMABUF_REVOKE_LIST_MAX,
		.entries = (uintptr_t)q,
	};
	unsigned int i;
	int n = 0;

	if (ioctl(drs_fd(), DMABUF_REVOKE_IOC_LIST, &l))
		return -errno;
	for (i = 0; i < l.count && i < DMABUF_REVOKE_LIST_MAX; i++)
		n += !strcmp(q[i].exp_name, HEAP_NAME);
	return n;
}

/* ---- the device and its uapi ---- */

static bool real_heap(void)
{
	return !access("/sys/class/dma_heap/" HEAP_NAME, F_OK);
}

static void t_heap_device(void)
{
	struct dmabuf_revoke_version v;
	bool misc = !access("/sys/class/misc/dmabuf_revoke_heap", F_OK);
	int ret;

	tap_ok(heap_open() >= 0 && (real_heap() != misc),
	       "heap: %s is %s", DEV_HEAP,
	       real_heap() ? "a dma-heap of the kernel's framework" :
	       misc ? "the module's own device with the dma-heap uapi" :
	       "missing");
	if (real_heap())
		/* The core cannot remove a heap: the module holds itself. */
		tap_ok(module_refcnt("dmabuf_revoke_heap") >= 1,
		       "heap: a registered dma-heap keeps its module loaded (refcnt %ld)",
		       module_refcnt("dmabuf_revoke_heap"));
	/* Not inside tap_ok(): its arguments print v. */
	ret = drs_version(&v);
	tap_ok(!ret && (v.features & DMABUF_REVOKE_FEAT_OWNER) && v.minor >= 1,
	       "heap: VERSION says owners may revoke (ABI %u.%u)", v.major,
	       v.minor);
}

/* The core's struct-size handling (drivers/dma-buf/dma-heap.c). */
struct alloc_older {
	__u64 len;
	__u32 fd;
	__u32 fd_flags;
};

struct alloc_newer {
	__u64 len;
	__u32 fd;
	__u32 fd_flags;
	__u64 heap_flags;
	__u64 garbage[3];
};

static void t_heap_uapi(void)
{
	struct alloc_older o = { .len = PAGE, .fd_flags = O_RDWR | O_CLOEXEC };
	struct alloc_newer nw = {
		.len = PAGE, .fd_flags = O_RDWR | O_CLOEXEC,
		.garbage = { 0xffffffff, 0x88888888, 0x11111111 },
	};
	struct dma_heap_allocation_data d = { .len = PAGE, .fd = 3 };
	long max_mb = read_long(PARAM("max_buffer_mb"));
	struct dmabuf_revoke_query q;
	int heap = heap_open(), fd;

	fd = heap_buf(1);
	tap_ok(fd >= 0 && !drs_query(fd, &q) && q.buf_size == PAGE &&
	       !strcmp(q.exp_name, HEAP_NAME) &&
	       (q.state & DMABUF_REVOKE_STATE_OWNER) &&
	       !(q.state & DMABUF_REVOKE_STATE_REVOKED),
	       "heap: a 1-byte allocation is a managed, live page-sized buffer owned by its allocator (%s)",
	       fd >= 0 ? q.exp_name : strerror(-fd));
	if (fd >= 0)
		close(fd);
	tap_ok(heap_buf(0) == -EINVAL, "heap: a length of 0 fails with EINVAL");
	tap_ok(max_mb > 0 && heap_buf(max_mb * MB + 1) == -EINVAL,
	       "heap: a length over max_buffer_mb (%ld) fails with EINVAL",
	       max_mb);
	tap_ok(heap_alloc(PAGE, O_RDWR | O_CLOEXEC, 1) == -EINVAL,
	       "heap: an unknown heap flag fails with EINVAL");
	tap_ok(heap_alloc(PAGE, O_RDWR | O_CLOEXEC | O_NONBLOCK, 0) == -EINVAL,
	       "heap: an fd flag other than O_CLOEXEC and the access mode fails with EINVAL");
	tap_ok(ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &d) && errno == EINVAL,
	       "heap: a non-zero fd field on input fails with EINVAL");
	fd = ioctl(heap, _IOWR(DMA_HEAP_IOC_MAGIC, 0x0, struct alloc_older),
		   &o) ? -1 : (int)o.fd;
	tap_ok(fd > 0, "heap: the older (16-byte) allocation struct works");
	if (fd > 0)
		close(fd);
	fd = ioctl(heap, _IOWR(DMA_HEAP_IOC_MAGIC, 0x0, struct alloc_newer),
		   &nw) ? -1 : (int)nw.fd;
	tap_ok(fd > 0, "heap: a newer, larger allocation struct works");
	if (fd > 0)
		close(fd);

	/* max_total_mb bounds all buffers together. */
	fd = -1;
	if (write_param(PARAM("max_total_mb"), "1")) {
		int a = heap_buf(MB / 2), b = heap_buf(MB);

		fd = b;
		tap_ok(a >= 0 && b == -ENOMEM,
		       "heap: past max_total_mb (1) an allocation fails with ENOMEM (%d)",
		       b);
		if (a >= 0)
			close(a);
		if (b >= 0)
			close(b);
		write_param(PARAM("max_total_mb"), "0");
	} else {
		tap_ok(false, "heap: max_total_mb can be set");
	}
	if (!real_heap())
		tap_ok(ioctl(heap, _IOWR(DMA_HEAP_IOC_MAGIC, 0x7, struct alloc_older), &o) &&
		       errno == ENOTTY,
		       "heap: an unknown command fails with ENOTTY");
}

static void t_heap_zeroed(void)
{
	unsigned int i, dirty = 0;
	int fds[8], fd;
	uint8_t *p;

	for (i = 0; i < 8; i++) {
		fds[i] = heap_buf(MB);
		if (fds[i] >= 0)
			fill_buf(fds[i], MB, 40 + i);
	}
	for (i = 0; i < 8; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	/* The pages just freed are the likeliest to come back. */
	for (i = 0; i < 8; i++) {
		fd = heap_buf(MB);
		p = fd >= 0 ? map_buf(fd, MB) : NULL;
		dirty += !p || !all_bytes(p, MB, 0);
		if (p)
			munmap(p, MB);
		if (fd >= 0)
			close(fd);
	}
	tap_ok(!dirty, "heap: new buffers are zeroed, never a previous owner's data (%u of 8 dirty)",
	       dirty);
}

/*
 * Memory cgroup accounting: a child in its own cgroup allocates; the
 * cgroup's memory.current grows by the buffer, and shrinks when it goes.
 */
static long cg_current(const char *cg)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/memory.current", cg);
	return read_long(path);
}

static void t_heap_memcg(void)
{
	const char *root = "/sys/fs/cgroup", *cg = "/sys/fs/cgroup/drh-test";
	int go[2], done[2], status;
	long before, during, after;
	char c = 0, pid[16], path[128];
	pid_t child;

	mkdir(root, 0755);
	if (access("/sys/fs/cgroup/cgroup.controllers", F_OK))
		mount("cgroup2", root, "cgroup2", 0, NULL);
	if (!write_param("/sys/fs/cgroup/cgroup.subtree_control", "+memory")) {
		tap_skip("no memory cgroup controller in this kernel",
			 "heap: allocations are charged to the allocator's memory cgroup");
		return;
	}
	rmdir(cg);
	if (mkdir(cg, 0755) || pipe(go) || pipe(done)) {
		tap_ok(false, "heap: memcg setup");
		return;
	}
	child = fork();
	if (child == 0) {
		int fd;

		if (read(go[0], &c, 1) != 1)
			_exit(1);
		fd = heap_buf(8 * MB);
		if (fd < 0 || write(done[1], "a", 1) != 1 ||
		    read(go[0], &c, 1) != 1)
			_exit(2);
		close(fd);
		if (write(done[1], "f", 1) != 1)
			_exit(3);
		_exit(0);
	}
	snprintf(pid, sizeof(pid), "%d", child);
	snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
	before = write_param(path, pid) ? cg_current(cg) : -1;
	during = after = -1;
	if (before >= 0 && write(go[1], "g", 1) == 1 &&
	    read(done[0], &c, 1) == 1) {
		during = cg_current(cg);
		if (write(go[1], "g", 1) == 1 && read(done[0], &c, 1) == 1)
			after = cg_current(cg);
	}
	kill(child, SIGKILL);
	waitpid(child, &status, 0);
	rmdir(cg);
	tap_ok(before >= 0 && during - before >= (long)(8 * MB * 9 / 10),
	       "heap: an 8 MiB buffer is charged to the allocator's memory cgroup (+%ld KiB)",
	       (during - before) / 1024);
	tap_ok(after >= 0 && during - after >= (long)(8 * MB * 9 / 10),
	       "heap: and uncharged when the buffer is freed (-%ld KiB)",
	       (during - after) / 1024);
}

/* ---- the revoke contract on heap buffers ---- */

struct hfix {
	int buf, ioas;
};

static bool hsetup(struct hfix *f, size_t len, unsigned int seed)
{
	f->ioas = iit_open();
	f->buf = heap_buf(len);
	return f->ioas >= 0 && f->buf >= 0 && fill_buf(f->buf, len, seed);
}

static void hteardown(struct hfix *f)
{
	if (f->buf >= 0)
		close(f->buf);
	if (f->ioas >= 0)
		close(f->ioas);
}

static void t_heap_contract(void)
{
	struct dmabuf_revoke_entry e[4];
	struct dmabuf_revoke_report r, r2;
	struct dmabuf_revoke_version v;
	struct dmabuf_revoke_query q;
	uint8_t got[256], data[256], *p = NULL, *p2;
	uint32_t dyn, nopin, ign, st, vm, h;
	struct iit_query iq;
	struct hfix f;
	int vgem, ret;

	fill_pattern(data, sizeof(data), 7);
	if (!tap_ok(hsetup(&f, SZ, 7) && !drs_version(&v) &&
		    !iit_map(f.ioas, f.buf, IOVA, IIT_MAP_KEEP_ALIVE, &dyn) &&
		    !iit_map(f.ioas, f.buf, 2 * IOVA,
			     IIT_MAP_KEEP_ALIVE | IIT_MAP_NO_PIN, &nopin) &&
		    !iit_dma(f.ioas, IOVA, got, sizeof(got), false) &&
		    !memcmp(got, data, sizeof(got)) &&
		    !iit_vmap(f.ioas, f.buf, &vm) &&
		    !iit_vmap_read(f.ioas, vm, got, sizeof(got)) &&
		    !memcmp(got, data, sizeof(got)) &&
		    (p = map_buf(f.buf, SZ)) && !touch_write(p, 9),
		    "heap contract setup: two dynamic importers read the buffer by DMA, a vmap and an mmap see it"))
		goto out;

	ret = drs_revoke(f.buf, 1000, &r, NULL, 0);
	tap_ok(!ret && !(r.flags & DMABUF_REVOKE_REPORT_ALREADY) &&
	       r.attachments == 2 && r.notified == 2 && r.user_mappings == 1 &&
	       r.vmaps == 1,
	       "R1/R8 heap: REVOKE tells both importers, zaps the mapping, counts the vmap (%d: %u told, %u vmas, %u vmaps)",
	       ret, r.notified, r.user_mappings, r.vmaps);
	tap_ok(!drs_revoke(f.buf, 1000, &r2, NULL, 0) &&
	       (r2.flags & DMABUF_REVOKE_REPORT_ALREADY) &&
	       !drs_query(f.buf, &q) && (q.state & DMABUF_REVOKE_STATE_REVOKED) &&
	       (q.state & DMABUF_REVOKE_STATE_COMPLETE),
	       "R1 heap: a second revoke says already revoked; QUERY says revoked and complete");
	tap_ok(iit_map(f.ioas, f.buf, 3 * IOVA, 0, &st) == -ENODEV &&
	       iit_map(f.ioas, f.buf, 3 * IOVA, IIT_MAP_STATIC, &st) == -ENODEV,
	       "R2 heap: new dynamic and static attachments fail with ENODEV");
	tap_ok(!iit_query(f.ioas, dyn, &iq) &&
	       iq.state == IIT_STATE_INVALIDATED && iq.invalidations == 1 &&
	       iit_id_op(f.ioas, IIT_IOC_REMAP, dyn) == -ENODEV &&
	       iit_dma(f.ioas, IOVA, got, 1, false) == -ENODEV,
	       "R3 heap: the importer was told once and its re-map fails with ENODEV");
	tap_ok(iit_id_op(f.ioas, IIT_IOC_PIN, nopin) == -ENODEV,
	       "R4 heap: pin after revoke fails with ENODEV");
	tap_ok(!iit_vunmap(f.ioas, vm), "R10 heap: the vmap held across revoke unmaps");
	ret = iit_vmap(f.ioas, f.buf, &vm);
	if (v.features & DMABUF_REVOKE_FEAT_VMAP_FAILS)
		tap_ok(ret == -EINVAL, "R5 heap: vmap after revoke fails with EINVAL");
	else
		tap_ok(!ret && !iit_vmap_read(f.ioas, vm, got, sizeof(got)) &&
		       all_bytes(got, sizeof(got), 0) && !iit_vunmap(f.ioas, vm),
		       "R5 heap: vmap after revoke gets zeroed memory, not the buffer (6.1 core)");
	tap_ok(sigbus_pages(p, SZ, false) == SZ / PAGE &&
	       sigbus_pages(p, SZ, true) == SZ / PAGE,
	       "R6 heap: every page of the zapped mapping raises SIGBUS");
	p2 = map_buf(f.buf, SZ);
	tap_ok(!p2 && errno == ENODEV, "R6 heap: mmap after revoke fails with ENODEV");
	tap_ok(dmabuf_sync(f.buf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW) == -ENODEV &&
	       !dmabuf_sync(f.buf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW),
	       "R7 heap: CPU access start fails with ENODEV, end succeeds");
	tap_ok(!munmap(p, SZ) && !iit_id_op(f.ioas, IIT_IOC_UNMAP, dyn) &&
	       !iit_id_op(f.ioas, IIT_IOC_UNMAP, nopin),
	       "R10 heap: munmap, unmap and detach work after revoke");
	hteardown(&f);

	/* R9: importers that keep their mapping are listed. */
	if (!tap_ok(hsetup(&f, SZ, 8) &&
		    !iit_map(f.ioas, f.buf, IOVA, IIT_MAP_IGNORE, &ign) &&
		    !iit_map(f.ioas, f.buf, 2 * IOVA, IIT_MAP_STATIC, &st),
		    "R9 heap setup: an ignoring and a static importer"))
		goto out;
	memset(e, 0, sizeof(e));
	ret = drs_revoke(f.buf, 300, &r, e, 4);
	tap_ok(!ret && (r.flags & DMABUF_REVOKE_REPORT_INCOMPLETE) &&
	       r.nr_entries == 2 &&
	       !drs_query(f.buf, &q) && !(q.state & DMABUF_REVOKE_STATE_COMPLETE),
	       "R9 heap: the report lists the 2 attachments still mapped, and QUERY is not complete (%u)",
	       r.nr_entries);
	iit_id_op(f.ioas, IIT_IOC_UNMAP, ign);
	iit_id_op(f.ioas, IIT_IOC_UNMAP, st);
	tap_ok(!drs_revoke(f.buf, 300, &r, NULL, 0) &&
	       !(r.flags & DMABUF_REVOKE_REPORT_INCOMPLETE) &&
	       !drs_query(f.buf, &q) && (q.state & DMABUF_REVOKE_STATE_COMPLETE),
	       "R9 heap: once they unmapped, the revoke is complete");
	hteardown(&f);

	/* R13: strict buffers refuse what cannot be revoked. */
	vgem = vgem_open();
	if (!tap_ok(write_param(PARAM("strict"), "1") && hsetup(&f, SZ, 9),
		    "R13 heap setup: strict=1"))
		goto out_strict;
	tap_ok(!drs_query(f.buf, &q) && (q.state & DMABUF_REVOKE_STATE_STRICT) &&
	       iit_map(f.ioas, f.buf, IOVA, IIT_MAP_STATIC, &st) == -EOPNOTSUPP &&
	       iit_map(f.ioas, f.buf, 2 * IOVA, IIT_MAP_IGNORE, &ign) == 0,
	       "R13 heap: a strict buffer refuses a static importer with EOPNOTSUPP, admits a revocable one");
	if (vgem >= 0)
		tap_ok(vgem_import(vgem, f.buf, &h) == -EOPNOTSUPP,
		       "R13 heap: vgem's static import of a strict buffer fails with EOPNOTSUPP");
	hteardown(&f);
out_strict:
	write_param(PARAM("strict"), "0");
	if (vgem >= 0)
		close(vgem);

	/* R16: no page reference through a mapping. */
	if (hsetup(&f, SZ, 10) && (p = map_buf(f.buf, SZ))) {
		struct iovec iov = { .iov_base = p, .iov_len = PAGE };
		int pf[2];

		ret = pipe(pf) ? -1 : (int)vmsplice(pf[1], &iov, 1, 0);
		tap_ok(ret < 0 && errno == EFAULT,
		       "R16 heap: vmsplice of a mapped page into a pipe is refused with EFAULT");
		if (ret != -1 || !pipe(pf)) {
			close(pf[0]);
			close(pf[1]);
		}
		munmap(p, SZ);
	} else {
		tap_ok(false, "R16 heap setup");
	}
	hteardown(&f);

	/* R10/R14: buffers go away whole; while one lives the modules stay. */
	f.buf = heap_buf(SZ);
	ret = (int)syscall(SYS_delete_module, "dmabuf_revoke_heap", O_NONBLOCK);
	tap_ok(f.buf >= 0 && ret && (errno == EWOULDBLOCK || errno == EBUSY),
	       "R14 heap: the heap module refuses to unload while a buffer lives (%s)",
	       strerror(errno));
	if (f.buf >= 0)
		close(f.buf);
	tap_ok(heap_buffers_listed() == 0,
	       "R10 heap: once closed, no heap buffer is left (LIST)");
	return;
out:
	hteardown(&f);
}

/* ---- owner-side revoke ---- */

static int send_fd(int sock, int fd)
{
	char c = 'f', cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	struct msghdr m = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &m, 0) == 1 ? 0 : -errno;
}

static int recv_fd(int sock)
{
	char c, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	struct msghdr m = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(sock, &m, 0) != 1)
		return -1;
	cm = CMSG_FIRSTHDR(&m);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/* Exit codes of the receiver: 0 all as expected, else which step failed. */
static int receiver(int sock)
{
	struct dmabuf_revoke_query q;
	uint8_t *p, v;
	char c;
	int fd;

	if (become_nobody())
		return 20;
	fd = recv_fd(sock);
	if (fd < 0)
		return 21;
	/* A holder of the fd: no ownership, no right to revoke. */
	if (drs_query(fd, &q) || (q.state & DMABUF_REVOKE_STATE_OWNER))
		return 22;
	if (drs_revoke(fd, 1000, NULL, NULL, 0) != -EPERM)
		return 23;
	p = map_buf(fd, SZ);
	if (!p || touch_read(p, &v) != TOUCH_OK || v != 0x5a)
		return 24;
	if (write(sock, "m", 1) != 1 || read(sock, &c, 1) != 1)
		return 25;
	/* The owner revoked it. */
	if (touch_read(p, &v) != TOUCH_SIGBUS)
		return 26;
	if (dmabuf_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ) != -ENODEV)
		return 27;
	return 0;
}

static void *revoke_thread(void *arg)
{
	return (void *)(long)drs_revoke(*(int *)arg, 1000, NULL, NULL, 0);
}

/* The owner: an unprivileged process that allocates and hands out. */
static int owner(int sock)
{
	struct dmabuf_revoke_report r;
	struct dmabuf_revoke_query q;
	int fd, fd2, status;
	pthread_t t;
	void *tret;
	uint8_t *p;
	pid_t kid;
	char c;

	if (become_nobody())
		return 40;
	/* Its own open of the heap, as nobody (the node is 0666). */
	fd = open(DEV_HEAP, O_RDWR | O_CLOEXEC);
	fd = fd >= 0 ? heap_alloc_on(fd, SZ, O_RDWR | O_CLOEXEC, 0) : -1;
	if (fd < 0 || drs_query(fd, &q) || !(q.state & DMABUF_REVOKE_STATE_OWNER))
		return 41;
	p = map_buf(fd, SZ);
	if (!p)
		return 42;
	memset(p, 0x5a, SZ);
	munmap(p, SZ);
	if (send_fd(sock, fd) || read(sock, &c, 1) != 1)
		return 43;
	/* A forked child is another process: not the owner. */
	kid = fork();
	if (kid == 0)
		_exit(drs_revoke(fd, 1000, NULL, NULL, 0) == -EPERM ? 0 : 1);
	if (waitpid(kid, &status, 0) != kid || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		return 44;
	if (drs_revoke(fd, 1000, &r, NULL, 0) || r.user_mappings != 1)
		return 45;
	if (write(sock, "r", 1) != 1)
		return 46;
	/* Any thread of the owning process may revoke. */
	fd2 = heap_buf(SZ);
	if (fd2 < 0 || pthread_create(&t, NULL, revoke_thread, &fd2) ||
	    pthread_join(t, &tret) || tret || !drs_is_revoked(fd2))
		return 47;
	return 0;
}

static void t_heap_owner(void)
{
	int sv[2], so, sr;
	pid_t o, rcv;

	if (!tap_ok(!socketpair(AF_UNIX, SOCK_STREAM, 0, sv),
		    "heap owner setup: a socket between two unprivileged processes"))
		return;
	rcv = fork();
	if (rcv == 0) {
		close(sv[0]);
		_exit(receiver(sv[1]));
	}
	o = fork();
	if (o == 0) {
		close(sv[1]);
		_exit(owner(sv[0]));
	}
	close(sv[0]);
	close(sv[1]);
	waitpid(o, &so, 0);
	waitpid(rcv, &sr, 0);
	so = WIFEXITED(so) ? WEXITSTATUS(so) : -1;
	sr = WIFEXITED(sr) ? WEXITSTATUS(sr) : -1;
	tap_ok(sr == 0 || (sr != 22 && sr != 23),
	       "heap owner: a process that received the fd (SCM_RIGHTS) is not its owner; its REVOKE fails with EPERM (receiver exit %d)",
	       sr);
	tap_ok(so == 0 || (so != 44 && so != 45 && so != 47),
	       "heap owner: the unprivileged allocator revokes what it handed out (any of its threads), its forked child may not (owner exit %d)",
	       so);
	tap_ok(so == 0 && sr == 0,
	       "heap owner: the receiver's mapping then raises SIGBUS and its CPU access fails with ENODEV (owner %d, receiver %d)",
	       so, sr);
}

/* ---- the README example and the CLI ---- */

/* Run @argv[0] from this binary's directory, as nobody if @nobody. */
static int run_bin(char *out, size_t outlen, bool nobody, const char *const *argv)
{
	char path[PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 64), r;
	int pipefd[2], status;
	size_t got = 0;
	pid_t pid;

	if (n <= 0 || pipe(pipefd))
		return -1;
	path[n] = 0;
	slash = strrchr(path, '/');
	snprintf(slash + 1, 64, "%s", argv[0]);
	pid = fork();
	if (pid == 0) {
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		close(pipefd[0]);
		if (nobody && become_nobody())
			_exit(126);
		execv(path, (char *const *)argv);
		_exit(127);
	}
	close(pipefd[1]);
	while (got + 1 < outlen &&
	       (r = read(pipefd[0], out + got, outlen - got - 1)) > 0)
		got += r;
	out[got] = 0;
	close(pipefd[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static void t_heap_example(void)
{
	const char *argv[] = { "revocable-heap-example", NULL };
	char out[4096], *line, *save = NULL;
	int rc = run_bin(out, sizeof(out), true, argv);
	bool ok = rc == 0 &&
		  strstr(out, "consumer: reads \"hello from the owner\"") &&
		  strstr(out, "owner: revoked it (1 user mapping zapped)") &&
		  strstr(out, "consumer: the buffer is gone (SIGBUS)");

	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		tap_diag("example: %s", line);
	tap_ok(ok,
	       "heap: README's example runs as an unprivileged user: it allocates, shares, revokes, and the consumer's mapping dies (exit %d)",
	       rc);
}

/* An administrator revokes a heap buffer another process holds. */
static void t_heap_cli(void)
{
	char out[4096], s_pid[16], s_fd[16];
	int go[2], info[2], status, rc;
	pid_t holder;

	if (pipe(go) || pipe(info))
		return;
	holder = fork();
	if (holder == 0) {
		int fd;
		uint8_t *p, v;
		char c;

		if (become_nobody())
			_exit(10);
		fd = heap_buf(SZ);
		p = fd >= 0 ? map_buf(fd, SZ) : NULL;
		if (!p || touch_write(p, 3) ||
		    write(info[1], &fd, sizeof(fd)) != sizeof(fd) ||
		    read(go[0], &c, 1) != 1)
			_exit(11);
		_exit(touch_read(p, &v) == TOUCH_SIGBUS ? 0 : 12);
	}
	if (read(info[0], &rc, sizeof(rc)) != sizeof(rc)) {
		tap_ok(false, "heap CLI setup: a process holds a mapped heap buffer");
		kill(holder, SIGKILL);
		waitpid(holder, &status, 0);
		return;
	}
	snprintf(s_pid, sizeof(s_pid), "%d", holder);
	snprintf(s_fd, sizeof(s_fd), "%d", rc);
	rc = run_bin(out, sizeof(out), false,
		     (const char *[]){ "dmabuf-revoke", "revoke", "--pid", s_pid,
				       "--fd", s_fd, "--timeout", "1000", NULL });
	tap_ok(rc == 0 && strstr(out, "result: complete"),
	       "heap: dmabuf-revoke revoke --pid --fd revokes a heap buffer another process holds (exit %d)",
	       rc);
	if (write(go[1], "g", 1) != 1)
		kill(holder, SIGKILL);
	waitpid(holder, &status, 0);
	tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "heap: the holder's mapping then raises SIGBUS (holder exit %d)",
	       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	close(go[0]);
	close(go[1]);
	close(info[0]);
	close(info[1]);
}

const struct suite_case heap_cases[] = {
	{ "heap", t_heap_device },
	{ "heap", t_heap_uapi },
	{ "heap", t_heap_zeroed },
	{ "heap", t_heap_memcg },
	{ "heap", t_heap_contract },
	{ "heap", t_heap_owner },
	{ "heap", t_heap_example },
	{ "heap", t_heap_cli },
	{ NULL, NULL },
};
