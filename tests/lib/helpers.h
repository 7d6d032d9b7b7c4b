/* SPDX-License-Identifier: GPL-2.0 */
/* Thin wrappers over the three devices; every call returns -errno on error. */
#ifndef TESTS_HELPERS_H
#define TESTS_HELPERS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/dmabuf_revoke.h>
#include <linux/iommufd_importer_test.h>
#include <linux/vfio_revoke_exporter.h>

#define DEV_REVOKE	"/dev/dmabuf_revoke"
#define DEV_VRE		"/dev/vfio_revoke_exporter"
#define DEV_IIT		"/dev/iommufd_importer_test"
#define PAGE		4096UL

/* /dev/dmabuf_revoke, opened once. */
int drs_fd(void);
int drs_version(struct dmabuf_revoke_version *v);
int drs_revoke(int fd, unsigned int timeout_ms, struct dmabuf_revoke_report *r,
	       struct dmabuf_revoke_entry *e, unsigned int max);
int drs_query(int fd, struct dmabuf_revoke_query *q);
bool drs_is_revoked(int fd);

/* The exporter: a device with BARs, buffers over BAR ranges. */
int vre_device(unsigned int nr_bars, const uint64_t *sizes);
int vre_export(int dev, unsigned int bar, uint64_t off, uint64_t len,
	       unsigned int flags);
/* One device with one BAR of @size, exported whole; *dev gets the device. */
int vre_buffer(int *dev, size_t size, unsigned int flags);
/* Undo vre_buffer(): closes @buf and @dev, nothing if it failed. */
void vre_buffer_close(int buf, int dev);
int vre_stats(int dev, bool global, struct vre_stats *s);
int vre_bar_rw(int dev, unsigned int bar, uint64_t off, void *data,
	       size_t len, bool write);
int vre_reset(int dev);
int vre_memory(int dev, bool enable);
int vre_fence_add(int dev, int buf, uint32_t *id);
/* VRE_IOC_HOLD: VRE_HOLD_RESV blocks the caller for @ms. */
int vre_hold(int dev, int buf, unsigned int what, unsigned int ms);
/*
 * Another thread holds buffer @fd's reservation lock for @ms (VRE_HOLD_RESV):
 * the hostage of the bounded-wait tests. _end joins it and returns what
 * vre_hold() returned.
 */
struct resv_hostage {
	int dev, fd;
	unsigned int ms;
	int ret;
	pthread_t thread;
};
bool resv_hostage_start(struct resv_hostage *h);
int resv_hostage_end(struct resv_hostage *h);
int vre_fence_signal(int dev, uint32_t id);

/* The importer: an IOAS, mappings by id. */
int iit_open(void);
int iit_map(int ioas, int fd, uint64_t iova, unsigned int flags,
	    uint32_t *id);
int iit_id_op(int ioas, unsigned long cmd, uint32_t id);
/* IIT_IOC_UNMAP with IIT_UNMAP_LEAK: detach, the mapping left live. */
int iit_leak(int ioas, uint32_t id);
int iit_dma(int ioas, uint64_t iova, void *buf, size_t len, bool write);
int iit_query(int ioas, uint32_t id, struct iit_query *q);
int iit_vmap(int ioas, int fd, uint32_t *id);
int iit_vunmap(int ioas, uint32_t id);
int iit_vmap_read(int ioas, uint32_t id, void *buf, size_t len);
int iit_cpu(int ioas, int fd, bool end, bool write);

/*
 * The revocable heap (dmabuf_revoke_heap): DMA_HEAP_IOCTL_ALLOC on
 * DEV_HEAP, as any dma-heap program does. heap_alloc() returns the dma-buf
 * fd or -errno; heap_open() the heap's fd (opened once) or -errno.
 */
#define DEV_HEAP	"/dev/dma_heap/revocable"
int heap_open(void);
int heap_alloc(size_t len, unsigned int fd_flags, unsigned long long heap_flags);
int heap_alloc_on(int heap, size_t len, unsigned int fd_flags,
		  unsigned long long heap_flags);

/* DMA_BUF_IOCTL_SYNC on a dma-buf fd. */
int dmabuf_sync(int fd, uint64_t flags);

/* Touch memory; report what happened instead of dying. */
enum touch { TOUCH_OK = 0, TOUCH_SIGBUS, TOUCH_SIGSEGV };
int touch_read(const volatile uint8_t *p, uint8_t *out);
int touch_write(volatile uint8_t *p, uint8_t v);
/* Touch one byte of every page of [p, p + len); count the SIGBUSes. */
unsigned int sigbus_pages(uint8_t *p, size_t len, bool write);

/* CLOCK_MONOTONIC in milliseconds. */
double now_ms(void);
/* Become uid/gid 65534 with no capabilities (the attacker of a test). */
int become_nobody(void);
/* Drop CAP_SYS_ADMIN from this process (all sets). */
int drop_cap_sys_admin(void);
/* /sys/module/NAME/refcnt, or -1. */
long module_refcnt(const char *name);
/* A pattern byte for offset @i of test @seed. */
static inline uint8_t pattern(unsigned int seed, size_t i)
{
	return (uint8_t)(seed * 131 + i * 7 + (i >> 12));
}
void fill_pattern(void *buf, size_t len, unsigned int seed);
bool check_pattern(const void *buf, size_t len, unsigned int seed);
bool all_bytes(const void *buf, size_t len, uint8_t v);

#endif
