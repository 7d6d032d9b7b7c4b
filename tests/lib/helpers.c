// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>

#include "helpers.h"

/* A syscall's result as 0/positive or -errno; evaluates @ret once. */
static inline int RET(int ret)
{
	return ret < 0 ? -errno : ret;
}

int drs_fd(void)
{
	static int fd = -1;

	if (fd < 0)
		fd = open(DEV_REVOKE, O_RDWR | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int drs_version(struct dmabuf_revoke_version *v)
{
	memset(v, 0, sizeof(*v));
	v->size = sizeof(*v);
	return RET(ioctl(drs_fd(), DMABUF_REVOKE_IOC_VERSION, v));
}

int drs_revoke(int fd, unsigned int timeout_ms, struct dmabuf_revoke_report *r,
	       struct dmabuf_revoke_entry *e, unsigned int max)
{
	struct dmabuf_revoke_revoke rv = {
		.size = sizeof(rv), .fd = fd, .timeout_ms = timeout_ms,
		.entries = (uintptr_t)e, .max_entries = max,
	};
	int ret = RET(ioctl(drs_fd(), DMABUF_REVOKE_IOC_REVOKE, &rv));

	if (!ret && r)
		*r = rv.report;
	return ret;
}

int drs_query(int fd, struct dmabuf_revoke_query *q)
{
	memset(q, 0, sizeof(*q));
	q->size = sizeof(*q);
	q->fd = fd;
	return RET(ioctl(drs_fd(), DMABUF_REVOKE_IOC_QUERY, q));
}

bool drs_is_revoked(int fd)
{
	struct dmabuf_revoke_query q;

	return !drs_query(fd, &q) && (q.state & DMABUF_REVOKE_STATE_REVOKED);
}

int vre_device(unsigned int nr_bars, const uint64_t *sizes)
{
	struct vre_setup s = { .size = sizeof(s), .nr_bars = nr_bars };
	int dev, ret;

	dev = open(DEV_VRE, O_RDWR | O_CLOEXEC);
	if (dev < 0)
		return -errno;
	memcpy(s.bar_size, sizes, nr_bars * sizeof(*sizes));
	ret = RET(ioctl(dev, VRE_IOC_SETUP, &s));
	if (ret) {
		close(dev);
		return ret;
	}
	return dev;
}

int vre_export(int dev, unsigned int bar, uint64_t off, uint64_t len,
	       unsigned int flags)
{
	struct vre_export e = {
		.size = sizeof(e), .flags = flags, .bar = bar,
		.offset = off, .length = len,
	};
	int ret = RET(ioctl(dev, VRE_IOC_EXPORT, &e));

	return ret ? ret : e.fd;
}

int vre_buffer(int *dev, size_t size, unsigned int flags)
{
	uint64_t sz = size;
	int fd;

	*dev = vre_device(1, &sz);
	if (*dev < 0)
		return *dev;
	fd = vre_export(*dev, 0, 0, size, flags);
	if (fd < 0) {
		close(*dev);
		*dev = -1;
	}
	return fd;
}

void vre_buffer_close(int buf, int dev)
{
	if (buf < 0)
		return;
	close(buf);
	close(dev);
}

int vre_stats(int dev, bool global, struct vre_stats *s)
{
	memset(s, 0, sizeof(*s));
	s->size = sizeof(*s);
	s->flags = global ? VRE_STATS_GLOBAL : 0;
	return RET(ioctl(dev, VRE_IOC_STATS, s));
}

int vre_bar_rw(int dev, unsigned int bar, uint64_t off, void *data,
	       size_t len, bool write)
{
	struct vre_bar_rw rw = {
		.size = sizeof(rw), .flags = write ? VRE_RW_WRITE : 0,
		.bar = bar, .offset = off, .length = len,
		.data = (uintptr_t)data,
	};

	return RET(ioctl(dev, VRE_IOC_BAR_RW, &rw));
}

int vre_reset(int dev)
{
	struct vre_reset r = { .size = sizeof(r) };
	int ret = RET(ioctl(dev, VRE_IOC_RESET, &r));

	return ret ? ret : (int)r.revoked;
}

int vre_memory(int dev, bool enable)
{
	struct vre_memory m = { .size = sizeof(m), .enable = enable };
	int ret = RET(ioctl(dev, VRE_IOC_MEMORY, &m));

	return ret ? ret : (int)m.revoked;
}

int vre_fence_add(int dev, int buf, uint32_t *id)
{
	struct vre_fence f = { .size = sizeof(f), .op = VRE_FENCE_ADD, .fd = buf };
	int ret = RET(ioctl(dev, VRE_IOC_FENCE, &f));

	if (!ret)
		*id = f.id;
	return ret;
}

int vre_hold(int dev, int buf, unsigned int what, unsigned int ms)
{
	struct vre_hold h = {
		.size = sizeof(h), .fd = buf, .what = what, .ms = ms,
	};

	return RET(ioctl(dev, VRE_IOC_HOLD, &h));
}

static void *resv_hostage_thread(void *arg)
{
	struct resv_hostage *h = arg;

	h->ret = vre_hold(h->dev, h->fd, VRE_HOLD_RESV, h->ms);
	return NULL;
}

bool resv_hostage_start(struct resv_hostage *h)
{
	h->ret = -1;
	return !pthread_create(&h->thread, NULL, resv_hostage_thread, h);
}

int resv_hostage_end(struct resv_hostage *h)
{
	pthread_join(h->thread, NULL);
	return h->ret;
}

int vre_fence_signal(int dev, uint32_t id)
{
	struct vre_fence f = { .size = sizeof(f), .op = VRE_FENCE_SIGNAL, .id = id };

	return RET(ioctl(dev, VRE_IOC_FENCE, &f));
}

int iit_open(void)
{
	int fd = open(DEV_IIT, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int iit_map(int ioas, int fd, uint64_t iova, unsigned int flags,
	    uint32_t *id)
{
	struct iit_map m = { .size = sizeof(m), .flags = flags, .fd = fd,
			     .iova = iova };
	int ret = RET(ioctl(ioas, IIT_IOC_MAP, &m));

	if (!ret && id)
		*id = m.id;
	return ret;
}

int iit_id_op(int ioas, unsigned long cmd, uint32_t id)
{
	struct iit_id a = { .size = sizeof(a), .id = id };

	return RET(ioctl(ioas, cmd, &a));
}

int iit_leak(int ioas, uint32_t id)
{
	struct iit_id a = { .size = sizeof(a), .flags = IIT_UNMAP_LEAK, .id = id };

	return RET(ioctl(ioas, IIT_IOC_UNMAP, &a));
}

int iit_dma(int ioas, uint64_t iova, void *buf, size_t len, bool write)
{
	struct iit_dma d = { .size = sizeof(d), .flags = write ? IIT_DMA_WRITE : 0,
			     .iova = iova, .length = len, .data = (uintptr_t)buf };

	return RET(ioctl(ioas, IIT_IOC_DMA, &d));
}

int iit_query(int ioas, uint32_t id, struct iit_query *q)
{
	memset(q, 0, sizeof(*q));
	q->size = sizeof(*q);
	q->id = id;
	return RET(ioctl(ioas, IIT_IOC_QUERY, q));
}

int iit_vmap(int ioas, int fd, uint32_t *id)
{
	struct iit_vmap v = { .size = sizeof(v), .fd = fd };
	int ret = RET(ioctl(ioas, IIT_IOC_VMAP, &v));

	if (!ret)
		*id = v.id;
	return ret;
}

int iit_vunmap(int ioas, uint32_t id)
{
	struct iit_vmap v = { .size = sizeof(v), .id = id };

	return RET(ioctl(ioas, IIT_IOC_VUNMAP, &v));
}

int iit_vmap_read(int ioas, uint32_t id, void *buf, size_t len)
{
	struct iit_vmap v = { .size = sizeof(v), .id = id,
			      .data = (uintptr_t)buf, .length = len };

	return RET(ioctl(ioas, IIT_IOC_VMAP_READ, &v));
}

int iit_cpu(int ioas, int fd, bool end, bool write)
{
	struct iit_cpu c = { .size = sizeof(c), .flags = end ? IIT_CPU_END : 0,
			     .fd = fd, .write = write };

	return RET(ioctl(ioas, IIT_IOC_CPU, &c));
}

int heap_open(void)
{
	static int fd = -1;

	if (fd < 0)
		fd = open(DEV_HEAP, O_RDWR | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int heap_alloc_on(int heap, size_t len, unsigned int fd_flags,
		  unsigned long long heap_flags)
{
	struct dma_heap_allocation_data d = {
		.len = len, .fd_flags = fd_flags, .heap_flags = heap_flags,
	};

	if (ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &d))
		return -errno;
	return (int)d.fd;
}

int heap_alloc(size_t len, unsigned int fd_flags, unsigned long long heap_flags)
{
	int heap = heap_open();

	return heap < 0 ? heap : heap_alloc_on(heap, len, fd_flags, heap_flags);
}

int dmabuf_sync(int fd, uint64_t flags)
{
	struct dma_buf_sync s = { .flags = flags };

	return RET(ioctl(fd, DMA_BUF_IOCTL_SYNC, &s));
}

static __thread sigjmp_buf touch_env;
static __thread volatile int touch_armed;

static void touch_handler(int sig)
{
	if (touch_armed) {
		touch_armed = 0;
		siglongjmp(touch_env, sig);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void touch_install(void)
{
	static int done;
	struct sigaction sa;

	if (done)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = touch_handler;
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	done = 1;
}

int touch_read(const volatile uint8_t *p, uint8_t *out)
{
	int sig;

	touch_install();
	sig = sigsetjmp(touch_env, 1);
	if (sig)
		return sig == SIGBUS ? TOUCH_SIGBUS : TOUCH_SIGSEGV;
	touch_armed = 1;
	*out = *p;
	touch_armed = 0;
	return TOUCH_OK;
}

int touch_write(volatile uint8_t *p, uint8_t v)
{
	int sig;

	touch_install();
	sig = sigsetjmp(touch_env, 1);
	if (sig)
		return sig == SIGBUS ? TOUCH_SIGBUS : TOUCH_SIGSEGV;
	touch_armed = 1;
	*p = v;
	touch_armed = 0;
	return TOUCH_OK;
}

unsigned int sigbus_pages(uint8_t *p, size_t len, bool write)
{
	unsigned int n = 0;
	uint8_t v;
	size_t i;

	for (i = 0; i < len; i += PAGE)
		n += (write ? touch_write(p + i, 1) : touch_read(p + i, &v)) ==
		     TOUCH_SIGBUS;
	return n;
}

double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int become_nobody(void)
{
	if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
	    setresuid(65534, 65534, 65534))
		return -errno;
	return 0;
}

int drop_cap_sys_admin(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];
	int i = CAP_SYS_ADMIN / 32;
	unsigned int bit = 1U << (CAP_SYS_ADMIN % 32);

	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	data[i].effective &= ~bit;
	data[i].permitted &= ~bit;
	data[i].inheritable &= ~bit;
	return RET((int)syscall(SYS_capset, &hdr, data));
}

long module_refcnt(const char *name)
{
	char path[128];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/module/%s/refcnt", name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

void fill_pattern(void *buf, size_t len, unsigned int seed)
{
	uint8_t *b = buf;
	size_t i;

	for (i = 0; i < len; i++)
		b[i] = pattern(seed, i);
}

bool check_pattern(const void *buf, size_t len, unsigned int seed)
{
	const uint8_t *b = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i] != pattern(seed, i))
			return false;
	return true;
}

bool all_bytes(const void *buf, size_t len, uint8_t v)
{
	const uint8_t *b = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i] != v)
			return false;
	return true;
}
