// SPDX-License-Identifier: GPL-2.0
/*
 * The hostile user and the awkward exporter: each case names the attack in
 * its title and fails with what it saw. Where the threat is a user, the
 * attacking side runs as uid 65534 without capabilities, holding only what
 * an importer or a receiver of the fd would hold; root plays the exporter and
 * the administrator.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <sys/ioctl.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <linux/dma-buf.h>

#include "suite.h"

/* Slack for TCG: a bounded wait may overrun its timeout by this much. */
#define MARGIN_MS	1000

static int report_revoke(int fd, unsigned int timeout_ms,
			 struct dmabuf_revoke_report *r, double *ms)
{
	double t0 = now_ms();
	int ret = drs_revoke(fd, timeout_ms, r, NULL, 0);

	*ms = now_ms() - t0;
	return ret;
}

static bool query_state(int fd, unsigned int bit)
{
	struct dmabuf_revoke_query q;

	return !drs_query(fd, &q) && (q.state & bit);
}

static long stat_of(int dev, size_t off)
{
	struct vre_stats s;

	if (vre_stats(dev, false, &s))
		return -1;
	return (long)*(uint64_t *)((char *)&s + off);
}

#define STAT(dev, field) stat_of(dev, offsetof(struct vre_stats, field))

/* Wait until the exporter counted a callback beyond @before (max 5 s). */
static bool callback_entered(int dev, long before)
{
	double t0 = now_ms();

	while (STAT(dev, callbacks) <= before)
		if (now_ms() - t0 > 5000 || usleep(10000))
			return false;
	return true;
}

/* Child side of a fork: wait for one byte, or give up. */
static void wait_byte(int fd)
{
	char c;

	if (read(fd, &c, 1) != 1)
		_exit(90);
}

/* ---- the dma-buf outlives its file (R18) ---- */

/*
 * An O_PATH open of /proc/self/fd/N keeps the dentry, and so the dma-buf,
 * after the last real close of N; the struct file is gone and its slot is
 * reused by the next file. A device reset then revokes the buffer: the
 * revoke must not take the stale file for its own, nor zap what now lives
 * in its slot (here: the next buffer's mapping, which SIGBUSes if zapped).
 */
static void t_opath(void)
{
	unsigned int round, rounds = 60, bad = 0, zapped = 0, left = 0;
	uint64_t sz = SZ;

	for (round = 0; round < rounds; round++) {
		int da = -1, db, a, b = -1, sync[2], back[2], status;
		uint8_t *pb = NULL, v;
		char path[64];
		pid_t child;

		/* B's device first: its file must not take A's old slot. */
		db = vre_device(1, &sz);
		a = vre_buffer(&da, SZ, 0);
		if (db < 0 || a < 0 || pipe(sync) || pipe(back)) {
			bad++;
			break;
		}
		child = fork();
		if (child == 0) {
			/* The holder: any user who received the fd. */
			int o;

			close(sync[0]);
			close(back[1]);
			if (become_nobody())
				_exit(91);
			snprintf(path, sizeof(path), "/proc/self/fd/%d", a);
			o = open(path, O_PATH | O_CLOEXEC);
			close(a);
			if (o < 0 || write(sync[1], "x", 1) != 1)
				_exit(92);
			wait_byte(back[0]);
			close(o);
			_exit(0);
		}
		close(sync[1]);
		close(back[0]);
		close(a);	/* now only the child's O_PATH holds it */
		if (read(sync[0], path, 1) != 1) {
			bad++;
		} else {
			/*
			 * Let RCU free A's file; B's dma-buf file, the next
			 * file allocated, then often takes its slot.
			 */
			usleep(50000);
			b = vre_export(db, 0, 0, SZ, 0);
			pb = b >= 0 ? map_buf(b, SZ) : NULL;
			if (!pb || touch_read(pb, &v) != TOUCH_OK ||
			    vre_reset(da) != 1)
				bad++;
			else if (touch_read(pb, &v) != TOUCH_OK)
				zapped++;
		}
		if (write(back[1], "y", 1) != 1)
			kill(child, SIGKILL);
		waitpid(child, &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			bad++;
		close(sync[0]);
		close(back[1]);
		if (pb)
			munmap(pb, SZ);
		if (b >= 0)
			close(b);
		close(db);
		/* The O_PATH is gone: the buffer must be released now. */
		if (STAT(da, live) != 0)
			left++;
		close(da);
	}
	tap_ok(!bad, "adversary: O_PATH setup, and each device reset revoked the buffer whose file is gone (%u of %u rounds failed)",
	       bad, rounds);
	tap_ok(!zapped, "adversary: revoking a dma-buf kept alive only by O_PATH never zaps another buffer's mapping (%u of %u rounds did)",
	       zapped, rounds);
	tap_ok(!left, "adversary: the buffer is released when the O_PATH closes (%u of %u rounds left it)",
	       left, rounds);
}

/* ---- page references through a mapping (R16) ---- */

/*
 * vmsplice() takes references to the pages of a mapping into a pipe. If it
 * worked on a managed mapping, the pipe would keep the exporter's page past
 * the revoke, the device reset and the export to a new owner, and the
 * attacker would read the new owner's data out of it.
 */
static void vmsplice_mode(unsigned int flags, const char *how)
{
	uint8_t data[PAGE], got[PAGE];
	uint64_t sz = 2 * PAGE;
	int dev, a, b = -1, pf[2], status;
	uint8_t *p = NULL, v;
	struct dmabuf_revoke_report r;
	ssize_t n;
	pid_t child;

	dev = vre_device(1, &sz);
	a = dev >= 0 ? vre_export(dev, 0, 0, sz, flags) : -1;
	fill_pattern(data, sizeof(data), 21);
	if (a >= 0)
		vre_bar_rw(dev, 0, 0, data, sizeof(data), true);
	p = a >= 0 ? map_buf(a, sz) : NULL;
	if (!tap_ok(p && touch_read(p, &v) == TOUCH_OK && v == data[0] &&
		    !pipe2(pf, O_NONBLOCK),
		    "adversary: vmsplice setup (%s)", how))
		goto out;

	child = fork();
	if (child == 0) {
		struct iovec iov = { .iov_base = p, .iov_len = PAGE };

		if (become_nobody())
			_exit(91);
		n = vmsplice(pf[1], &iov, 1, 0);
		_exit(n == (ssize_t)PAGE ? 0 : errno == EFAULT ? 10 : 11);
	}
	waitpid(child, &status, 0);
	tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 10,
	       "adversary: vmsplice of a managed mapping into a pipe is refused with EFAULT (%s; child exit %d)",
	       how, WIFEXITED(status) ? WEXITSTATUS(status) : -1);

	/* Revoke, reset, and hand the same memory to a new owner. */
	drs_revoke(a, 1000, &r, NULL, 0);
	vre_reset(dev);
	munmap(p, sz);
	close(a);
	b = vre_export(dev, 0, 0, sz, 0);
	fill_pattern(data, sizeof(data), 22);
	vre_bar_rw(dev, 0, 0, data, sizeof(data), true);
	n = read(pf[0], got, sizeof(got));
	tap_ok(b >= 0 && (n <= 0 || memcmp(got, data, sizeof(got))),
	       "adversary: the pipe never shows the next owner's data after revoke and reset (%s; pipe held %zd bytes)",
	       how, n);
	close(pf[0]);
	close(pf[1]);
	if (b >= 0)
		close(b);
out:
	if (dev >= 0)
		close(dev);
}

static void t_vmsplice(void)
{
	vmsplice_mode(0, "pre-populated PFN map");
	vmsplice_mode(VRE_EXPORT_MMAP_FAULT, "fault handler returning pages");
	vmsplice_mode(VRE_EXPORT_MMAP_VMFILE, "VMA moved to the device file");
}

/* ---- bounded waits (R9) ---- */

struct held_sync {
	int fd;
	int ret;
};

static void *held_sync_thread(void *arg)
{
	struct held_sync *h = arg;

	h->ret = dmabuf_sync(h->fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
	if (!h->ret)
		dmabuf_sync(h->fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
	return NULL;
}

/*
 * Start a begin_cpu_access of @fd that the exporter holds for @ms, and
 * return once it is inside the exporter. SIGALRM stays with the caller.
 */
static bool hold_callback(int dev, int fd, unsigned int ms, pthread_t *t,
			  struct held_sync *h)
{
	sigset_t set, old;
	long before = STAT(dev, callbacks);
	bool ok;

	h->fd = fd;
	h->ret = -1;
	if (vre_hold(dev, fd, VRE_HOLD_CALLBACK, ms))
		return false;
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	ok = !pthread_create(t, NULL, held_sync_thread, h);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ok && callback_entered(dev, before);
}

/* R9a, deterministically: revoke does not return while a callback runs. */
static void t_callback_wait(void)
{
	struct dmabuf_revoke_report r;
	struct held_sync h;
	pthread_t t;
	int dev, a, ret;
	double ms;

	a = vre_buffer(&dev, SZ, 0);
	if (!tap_ok(a >= 0 && hold_callback(dev, a, 1500, &t, &h),
		    "adversary: R9a setup (a callback held 1500 ms in the exporter)"))
		goto out;
	ret = report_revoke(a, 5000, &r, &ms);
	pthread_join(t, NULL);
	tap_ok(!ret && ms >= 700 && !(r.flags & DMABUF_REVOKE_REPORT_CALLBACKS),
	       "R9a REVOKE returns only after a callback that entered before it left (%.0f ms)",
	       ms);
	/* The leaving callback wakes it; else it would sleep to 5000 ms. */
	tap_ok(!ret && ms < 3500,
	       "R9a the callback's exit wakes the waiting REVOKE, well before its 5000 ms timeout (%.0f ms)",
	       ms);
	tap_ok(h.ret == 0 && STAT(dev, late_callbacks) == 0,
	       "R9a the held callback, begun before the revoke, finished before the revoke completed (late callbacks %ld)",
	       STAT(dev, late_callbacks));
	close(a);
out:
	if (dev >= 0)
		close(dev);
}

/* R17/R9: one buffer's slow callback does not delay another's revoke. */
static void t_callback_isolation(void)
{
	struct dmabuf_revoke_report r;
	struct held_sync h;
	double ms_b, ms_a;
	pthread_t t;
	int dev, a, b = -1, ret_b, ret_a;

	a = vre_buffer(&dev, SZ, 0);
	b = a >= 0 ? vre_export(dev, 0, 0, PAGE, 0) : -1;
	if (!tap_ok(b >= 0 && hold_callback(dev, a, 2000, &t, &h),
		    "adversary: isolation setup (buffer A's callback held 2000 ms)"))
		goto out;
	ret_b = report_revoke(b, 5000, &r, &ms_b);
	ret_a = report_revoke(a, 5000, &r, &ms_a);
	pthread_join(t, NULL);
	tap_ok(!ret_b && ms_b < 500,
	       "adversary: revoking buffer B does not wait for buffer A's held callback (B %.0f ms, then A %.0f ms)",
	       ms_b, ms_a);
	tap_ok(!ret_a && ms_a >= 700, "adversary: revoking A waits for its own callback (%.0f ms)",
	       ms_a);
out:
	if (b >= 0)
		close(b);
	if (a >= 0)
		close(a);
	if (dev >= 0)
		close(dev);
}

/* A callback held past the timeout: bounded, reported, not "complete". */
static void t_callback_timeout(void)
{
	struct dmabuf_revoke_report r;
	struct held_sync h;
	pthread_t t;
	int dev, a, ret;
	double ms;

	a = vre_buffer(&dev, SZ, 0);
	if (!tap_ok(a >= 0 && hold_callback(dev, a, 3000, &t, &h),
		    "adversary: timeout setup (a callback held 3000 ms)"))
		goto out;
	ret = report_revoke(a, 300, &r, &ms);
	tap_ok(!ret && ms < 300 + MARGIN_MS &&
	       (r.flags & DMABUF_REVOKE_REPORT_CALLBACKS),
	       "R9 a callback held past the timeout does not hold REVOKE (%.0f ms for 300 ms) and is reported (flags %#x)",
	       ms, r.flags);
	tap_ok(query_state(a, DMABUF_REVOKE_STATE_REVOKED) &&
	       !query_state(a, DMABUF_REVOKE_STATE_COMPLETE) &&
	       STAT(dev, revokes) == 0,
	       "R11 while a callback still runs QUERY says revoked but not complete, and the exporter is not told it is safe");
	pthread_join(t, NULL);
	ret = drs_revoke(a, 1000, &r, NULL, 0);
	tap_ok(!ret && !(r.flags & DMABUF_REVOKE_REPORT_CALLBACKS) &&
	       query_state(a, DMABUF_REVOKE_STATE_COMPLETE) &&
	       STAT(dev, revokes) == 1 && STAT(dev, late_callbacks) == 0,
	       "R9 a second REVOKE after the callback left completes, and the exporter hears it once");
	close(a);
out:
	if (dev >= 0)
		close(dev);
}

static void on_alarm(int sig)
{
	(void)sig;
}

static void *window_revoker(void *arg)
{
	struct dmabuf_revoke_report r;

	drs_revoke(*(int *)arg, 5000, &r, NULL, 0);
	return NULL;
}

/* A signal ends a user's REVOKE at once; the buffer stays revoked. */
static void t_signal(void)
{
	struct itimerval it = { .it_value = { .tv_usec = 300000 } };
	struct sigaction sa = { .sa_handler = on_alarm }, old;
	struct dmabuf_revoke_report r;
	struct held_sync h;
	pthread_t t;
	int dev, a, ret;
	double ms;

	a = vre_buffer(&dev, SZ, 0);
	if (!tap_ok(a >= 0 && hold_callback(dev, a, 3000, &t, &h),
		    "adversary: signal setup (a callback held 3000 ms)"))
		goto out;
	sigaction(SIGALRM, &sa, &old);	/* no SA_RESTART */
	setitimer(ITIMER_REAL, &it, NULL);
	ret = report_revoke(a, 5000, &r, &ms);
	sigaction(SIGALRM, &old, NULL);
	tap_ok(ret == -EINTR && ms < 300 + MARGIN_MS,
	       "R9 a signal interrupts REVOKE with EINTR (%d after %.0f ms)", ret,
	       ms);
	tap_ok(query_state(a, DMABUF_REVOKE_STATE_REVOKED) &&
	       !query_state(a, DMABUF_REVOKE_STATE_COMPLETE) && !map_buf(a, SZ),
	       "R1 the interrupted REVOKE left the buffer revoked, not complete");
	pthread_join(t, NULL);
	tap_ok(!drs_revoke(a, 1000, &r, NULL, 0) &&
	       query_state(a, DMABUF_REVOKE_STATE_COMPLETE),
	       "R9 REVOKE again completes it");
	close(a);
out:
	if (dev >= 0)
		close(dev);
}

/* The reservation lock held by someone else for longer than the timeout. */
static void t_resv_hostage(void)
{
	struct dmabuf_revoke_report r;
	struct resv_hostage h = { .ms = 3000 };
	int dev, a, ret;
	double ms;

	a = vre_buffer(&dev, SZ, 0);
	h.dev = dev;
	h.fd = a;
	if (!tap_ok(a >= 0 && resv_hostage_start(&h),
		    "adversary: resv hostage setup"))
		goto out;
	usleep(300000);
	ret = report_revoke(a, 300, &r, &ms);
	tap_ok(ret == -ETIMEDOUT && ms < 300 + MARGIN_MS &&
	       !query_state(a, DMABUF_REVOKE_STATE_REVOKED),
	       "R9 a reservation lock held past the timeout ends REVOKE with ETIMEDOUT, nothing changed (%d after %.0f ms)",
	       ret, ms);
	tap_ok(resv_hostage_end(&h) == 0 && !drs_revoke(a, 1000, &r, NULL, 0) &&
	       query_state(a, DMABUF_REVOKE_STATE_COMPLETE),
	       "R9 once the lock is free REVOKE works");
	close(a);
out:
	if (dev >= 0)
		close(dev);
}

/*
 * A process holds its own mmap_lock hostage: one of its threads sits in an
 * mmap (an exporter that takes its time) holding the lock for writing. The
 * revoke of another buffer that process maps must still end by its timeout.
 */
static void t_mmap_lock_hostage(void)
{
	struct dmabuf_revoke_report r;
	int dev, a, c = -1, ready[2], status, ret;
	pid_t child;
	double ms;
	char x;

	a = vre_buffer(&dev, SZ, 0);
	c = a >= 0 ? vre_export(dev, 0, 0, PAGE, VRE_EXPORT_MMAP_FAULT) : -1;
	if (!tap_ok(c >= 0 && !vre_hold(dev, c, VRE_HOLD_CALLBACK, 4000) &&
		    !pipe(ready), "adversary: mmap_lock hostage setup"))
		goto out;
	child = fork();
	if (child == 0) {
		uint8_t *pa, *pc, v;

		close(ready[0]);
		if (become_nobody())
			_exit(91);
		pa = map_buf(a, SZ);
		if (!pa || touch_read(pa, &v) != TOUCH_OK ||
		    write(ready[1], "x", 1) != 1)
			_exit(92);
		pc = map_buf(c, PAGE);	/* 4 s inside the exporter's mmap */
		if (!pc)
			_exit(93);
		/* Revoked meanwhile: the old mapping must be gone. */
		_exit(touch_read(pa, &v) == TOUCH_SIGBUS ? 0 : 94);
	}
	close(ready[1]);
	if (read(ready[0], &x, 1) != 1)
		x = 0;
	close(ready[0]);
	usleep(500000);		/* the child is inside its mmap now */
	ret = report_revoke(a, 500, &r, &ms);
	tap_ok(x == 'x' && !ret && ms < 500 + MARGIN_MS,
	       "R9 a process holding its mmap_lock hostage does not hold REVOKE past its timeout (%.0f ms for 500 ms)",
	       ms);
	tap_ok(r.flags & DMABUF_REVOKE_REPORT_USER_MAPPINGS &&
	       !query_state(a, DMABUF_REVOKE_STATE_COMPLETE),
	       "R9 REVOKE reports the mapping it could not confirm (flags %#x) and is not complete",
	       r.flags);
	waitpid(child, &status, 0);
	tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "R6 the hostage's mapping was zapped all the same (child exit %d)",
	       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	tap_ok(!drs_revoke(a, 1000, &r, NULL, 0) &&
	       !(r.flags & DMABUF_REVOKE_REPORT_USER_MAPPINGS) &&
	       query_state(a, DMABUF_REVOKE_STATE_COMPLETE),
	       "R9 REVOKE again, with the lock free, completes");
out:
	if (c >= 0)
		close(c);
	if (a >= 0)
		close(a);
	if (dev >= 0)
		close(dev);
}

/*
 * Between the flip and the zap (a callback of the buffer held in the
 * exporter keeps the revoke there), the paths that reach the exporter
 * through a PTE still present must refuse on their own: the write-notify
 * upgrade (pfn_mkwrite) and /proc/PID/mem (vm_ops->access).
 */
static void t_flip_to_zap_window(void)
{
	uint8_t *p = NULL, v = 0, got[16];
	struct held_sync h;
	pthread_t t, rt;
	int dev, a, mem, ret;
	long before;
	double t0;

	a = vre_buffer(&dev, SZ, VRE_EXPORT_MMAP_FAULT);
	p = a >= 0 ? map_buf(a, SZ) : NULL;
	mem = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
	if (!tap_ok(p && mem >= 0 && touch_read(p, &v) == TOUCH_OK &&
		    pread(mem, got, sizeof(got), (uintptr_t)p) == sizeof(got),
		    "adversary: window setup (a read-only PTE present, /proc/self/mem reads the mapping)"))
		goto out;
	if (!tap_ok(hold_callback(dev, a, 2500, &t, &h),
		    "adversary: window setup (a callback held 2500 ms)"))
		goto out;
	ret = pthread_create(&rt, NULL, window_revoker, &a);
	t0 = now_ms();
	while (!ret && !query_state(a, DMABUF_REVOKE_STATE_REVOKED) &&
	       now_ms() - t0 < 2000)
		usleep(5000);
	before = STAT(dev, callbacks);
	tap_ok(!ret && query_state(a, DMABUF_REVOKE_STATE_REVOKED) &&
	       pread(mem, got, sizeof(got), (uintptr_t)p) < 0 && errno == EIO,
	       "R9 /proc/PID/mem of a mapping whose revoke has begun fails (EIO) without reaching the exporter");
	tap_ok(touch_write(p, 1) == TOUCH_SIGBUS,
	       "R6 a write upgrading a present read-only PTE after the flip raises SIGBUS (pfn_mkwrite refused)");
	tap_ok(STAT(dev, callbacks) == before,
	       "R9 neither reached the exporter (callbacks %ld -> %ld)",
	       before, STAT(dev, callbacks));
	pthread_join(t, NULL);
	if (!ret)
		pthread_join(rt, NULL);
out:
	if (mem >= 0)
		close(mem);
	if (p)
		munmap(p, SZ);
	if (a >= 0)
		close(a);
	if (dev >= 0)
		close(dev);
}

/* ---- the exporter moves the VMA to another file (R18) ---- */

static void t_vm_file_moved(void)
{
	uint8_t data[4 * PAGE], v = 0;
	uint64_t sz = sizeof(data);
	struct dmabuf_revoke_report r;
	uint8_t *p = NULL, *d = NULL;
	int dev, a = -1, status;
	long live;
	pid_t child;

	dev = vre_device(1, &sz);
	if (dev >= 0)
		a = vre_export(dev, 0, 0, sz, VRE_EXPORT_MMAP_VMFILE);
	fill_pattern(data, sizeof(data), 31);
	if (a >= 0)
		vre_bar_rw(dev, 0, 0, data, sizeof(data), true);
	p = a >= 0 ? map_buf(a, sz) : NULL;
	if (!tap_ok(p && touch_read(p + 2 * PAGE, &v) == TOUCH_OK &&
		    v == data[2 * PAGE],
		    "adversary: an exporter that moves vm_file maps the buffer (read %#x)",
		    v))
		goto out;
	live = STAT(dev, live);
	/* Split it, and fork a copy: the VMAs the core makes from ours. */
	munmap(p + PAGE, PAGE);
	child = fork();
	if (child == 0)
		_exit(touch_read(p, &v) == TOUCH_OK ? 0 : 1);
	waitpid(child, &status, 0);
	tap_ok(WIFEXITED(status) && !WEXITSTATUS(status),
	       "adversary: split and forked copies of a moved mapping work");
	d = mmap(NULL, sz, PROT_READ, MAP_SHARED, dev, VRE_BAR_OFFSET(0));
	/*
	 * Every page present before the revoke, so that only the zap of the
	 * file the VMAs moved to can take them: a page faulted in after the
	 * revoke gets SIGBUS from the shim's fault handler anyway.
	 */
	tap_ok(touch_read(p, &v) == TOUCH_OK && v == data[0] &&
	       touch_read(p + 3 * PAGE, &v) == TOUCH_OK && v == data[3 * PAGE],
	       "adversary: the moved mapping's pages are present before the revoke");
	tap_ok(!drs_revoke(a, 1000, &r, NULL, 0) && r.user_mappings == 2 &&
	       !(r.flags & ~DMABUF_REVOKE_REPORT_INCOMPLETE),
	       "R6 REVOKE of a buffer whose VMAs moved counts them (%u)",
	       r.user_mappings);
	tap_ok(touch_read(p, &v) == TOUCH_SIGBUS &&
	       touch_read(p + 2 * PAGE, &v) == TOUCH_SIGBUS &&
	       touch_read(p + 3 * PAGE, &v) == TOUCH_SIGBUS,
	       "R6 the moved mapping is zapped: its present pages raise SIGBUS");
	tap_ok(d != MAP_FAILED && touch_read(d, &v) == TOUCH_OK,
	       "adversary: the device's own mapping of the same pages still works");
	munmap(p, PAGE);
	munmap(p + 2 * PAGE, 2 * PAGE);
	close(a);
	a = -1;
	tap_ok(STAT(dev, live) == live - 1,
	       "R10 the moved mappings held the buffer exactly until munmap (live %ld -> %ld)",
	       live, STAT(dev, live));
	if (d != MAP_FAILED)
		munmap(d, sz);
out:
	if (a >= 0)
		close(a);
	if (dev >= 0)
		close(dev);
}

/* The exporter never hears of a VMA made after the revoke (split, fork). */
static void t_vm_open_after_revoke(void)
{
	struct dmabuf_revoke_report r;
	uint8_t *p = NULL, v;
	long opens;
	int dev, a, status;
	pid_t child;

	a = vre_buffer(&dev, SZ, VRE_EXPORT_MMAP_FAULT);
	p = a >= 0 ? map_buf(a, SZ) : NULL;
	if (!tap_ok(p && touch_read(p, &v) == TOUCH_OK,
		    "adversary: vm_ops->open setup"))
		goto out;
	munmap(p + PAGE, PAGE);		/* split before: forwarded */
	opens = STAT(dev, vm_opens);
	tap_ok(opens >= 1, "R12 a split before the revoke reaches the exporter's open (%ld)",
	       opens);
	drs_revoke(a, 1000, &r, NULL, 0);
	munmap(p + 3 * PAGE, PAGE);	/* split after */
	child = fork();			/* copies after */
	if (child == 0)
		_exit(touch_read(p, &v) == TOUCH_SIGBUS ? 0 : 1);
	waitpid(child, &status, 0);
	tap_ok(WIFEXITED(status) && !WEXITSTATUS(status) &&
	       STAT(dev, vm_opens) == opens && STAT(dev, late_callbacks) == 0,
	       "R9 VMAs made after the revoke never reach the exporter's open (opens %ld -> %ld)",
	       opens, STAT(dev, vm_opens));
	munmap(p, SZ);
	tap_ok(STAT(dev, user_vmas) == 0,
	       "R10 the exporter heard exactly one close per VMA it knew of (%ld left)",
	       STAT(dev, user_vmas));
out:
	if (a >= 0)
		close(a);
	if (dev >= 0)
		close(dev);
}

/* ---- kernel vmaps held across the revoke (R5, pitfall P3) ---- */

static void t_vmap_held(void)
{
	struct dmabuf_revoke_version ver;
	struct dmabuf_revoke_report r;
	uint8_t data[PAGE], got[PAGE];
	uint32_t held, late;
	int dev, a, ioas = -1, ret;

	a = vre_buffer(&dev, SZ, 0);
	ioas = iit_open();
	if (!tap_ok(a >= 0 && ioas >= 0 && !drs_version(&ver) &&
		    !iit_vmap(ioas, a, &held), "adversary: held vmap setup"))
		goto out;
	drs_revoke(a, 1000, &r, NULL, 0);
	/* The exporter reuses the memory after it was told it is safe. */
	fill_pattern(data, sizeof(data), 41);
	vre_bar_rw(dev, 0, 0, data, sizeof(data), true);
	ret = iit_vmap(ioas, a, &late);
	if (ver.features & DMABUF_REVOKE_FEAT_VMAP_SEALED) {
		tap_ok(ret == -EINVAL,
		       "R5 a vmap after revoke fails while an older one is held (%d)",
		       ret);
	} else {
		/* What VERSION says without VMAP_SEALED (6.1): test it. */
		tap_ok(!ret && !iit_vmap_read(ioas, late, got, sizeof(got)) &&
		       !memcmp(got, data, sizeof(got)),
		       "R5 without FEAT_VMAP_SEALED a vmap after revoke shares the held one, as VERSION and README say (6.1 core)");
		if (!ret)
			iit_vunmap(ioas, late);
	}
	tap_ok(r.vmaps == 1, "R5 REVOKE reported the held vmap (%u)", r.vmaps);
	iit_vunmap(ioas, held);
	ret = iit_vmap(ioas, a, &late);
	if (ver.features & DMABUF_REVOKE_FEAT_VMAP_FAILS) {
		tap_ok(ret == -EINVAL, "R5 vmap after the held one went fails (%d)",
		       ret);
	} else {
		tap_ok(!ret && !iit_vmap_read(ioas, late, got, sizeof(got)) &&
		       all_bytes(got, sizeof(got), 0),
		       "R5 once the held vmap went, a vmap gets zeroed scratch memory (6.1 core)");
		if (!ret)
			iit_vunmap(ioas, late);
	}
out:
	if (ioas >= 0)
		close(ioas);
	if (a >= 0)
		close(a);
	if (dev >= 0)
		close(dev);
}

/* ---- the last close racing the revoke ---- */

struct closer {
	int fd;
	uint8_t *p;
};

static void *closer_thread(void *arg)
{
	struct closer *c = arg;

	munmap(c->p, SZ);
	close(c->fd);
	return NULL;
}

/* LIST reads every buffer's exporter name while buffers are released. */
static void *lister_thread(void *arg)
{
	struct dmabuf_revoke_query q[8];
	struct dmabuf_revoke_list l;
	atomic_bool *stop = arg;
	long n = 0;

	while (!atomic_load(stop)) {
		memset(&l, 0, sizeof(l));
		l.size = sizeof(l);
		l.count = 8;
		l.entries = (uintptr_t)q;
		n += !ioctl(drs_fd(), DMABUF_REVOKE_IOC_LIST, &l);
	}
	return (void *)n;
}

static void t_close_races_revoke(void)
{
	unsigned int round, rounds = 200, bad = 0;
	struct vre_stats s0, s1;
	uint64_t sz = PAGE;
	atomic_bool stop = false;
	struct closer c;
	pthread_t t, lt;
	void *lists = NULL;
	int dev, any = vre_device(1, &sz);
	bool lister;

	vre_stats(any, true, &s0);
	lister = !pthread_create(&lt, NULL, lister_thread, &stop);
	for (round = 0; round < rounds; round++) {
		c.fd = vre_buffer(&dev, SZ, round & 1 ? VRE_EXPORT_MMAP_FAULT : 0);
		c.p = c.fd >= 0 ? map_buf(c.fd, SZ) : NULL;
		if (!c.p || pthread_create(&t, NULL, closer_thread, &c)) {
			bad++;
			break;
		}
		if (vre_reset(dev) < 0)
			bad++;
		pthread_join(t, NULL);
		close(dev);
	}
	atomic_store(&stop, true);
	if (lister)
		pthread_join(lt, &lists);
	vre_stats(any, true, &s1);
	close(any);
	tap_ok(!bad && lister && s1.live == s0.live &&
	       s1.late_callbacks == s0.late_callbacks,
	       "adversary: the last close and munmap racing a device reset and LIST, %u rounds: all released, no late callback (live %llu -> %llu, %ld LISTs)",
	       rounds, (unsigned long long)s0.live,
	       (unsigned long long)s1.live, (long)lists);
}

/*
 * The release's window: the shim's release has passed its wait for started
 * revokes, the exporter's release still waits for its device lock, and a
 * reset under that lock finds the buffer on the device's list. A revoke
 * started there would be finished after the lock is dropped, on a buffer
 * the release frees meanwhile (an unsignalled fence keeps the finish
 * waiting): the start must be refused. Seen as a NULL dereference in the
 * exporter's revoked callback under the reset race above (KCSAN kernel).
 */
static void *release_thread(void *arg)
{
	close(*(int *)arg);
	return NULL;
}

static void t_release_races_start(void)
{
	struct vre_stats s0, s1;
	uint32_t fence = 0;
	bool fenced, setup;
	int dev = -1, fd, n;
	pthread_t t;

	fd = vre_buffer(&dev, SZ, 0);
	vre_stats(dev, false, &s0);
	fenced = fd >= 0 && !vre_fence_add(dev, fd, &fence);
	setup = fenced && !vre_hold(dev, fd, VRE_HOLD_RELEASE, 800) &&
		!pthread_create(&t, NULL, release_thread, &fd);
	if (!tap_ok(setup, "adversary: release window setup (an unsignalled fence, the exporter's release held 800 ms)")) {
		if (fd >= 0)
			close(fd);
		goto out;
	}
	usleep(200 * 1000);
	n = vre_reset(dev);
	pthread_join(t, NULL);
	vre_stats(dev, false, &s1);
	tap_ok(n == 0,
	       "R16 a reset while the buffer's release runs does not start a revoke the release would not wait for (%d revoked)",
	       n);
	tap_ok(s1.live + 1 == s0.live && s1.releases == s0.releases + 1 &&
	       s1.late_callbacks == s0.late_callbacks,
	       "R10 the buffer was released once and nothing of it ran after (live %llu -> %llu)",
	       (unsigned long long)s0.live, (unsigned long long)s1.live);
out:
	if (fenced)
		vre_fence_signal(dev, fence);
	if (dev >= 0)
		close(dev);
}

const struct suite_case adversary_cases[] = {
	{ "adversary", t_opath },
	{ "adversary", t_vmsplice },
	{ "adversary", t_callback_wait },
	{ "adversary", t_callback_isolation },
	{ "adversary", t_callback_timeout },
	{ "adversary", t_signal },
	{ "adversary", t_resv_hostage },
	{ "adversary", t_mmap_lock_hostage },
	{ "adversary", t_flip_to_zap_window },
	{ "adversary", t_vm_file_moved },
	{ "adversary", t_vm_open_after_revoke },
	{ "adversary", t_vmap_held },
	{ "adversary", t_close_races_revoke },
	{ "adversary", t_release_races_start },
	{ NULL, NULL },
};
