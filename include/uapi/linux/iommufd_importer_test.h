/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * /dev/iommufd_importer_test: an IOMMUFD-style dma-buf importer for testing
 * exporters against revoke. One open file is one IO address space (IOAS)
 * with a fake IO page table; "DMA" walks that table as a device would.
 * Argument structs start with "__u32 size; __u32 flags;".
 *
 * Errors of the DMA and re-map paths: ENOENT no mapping at that IOVA or id;
 * ENODEV the mapping was invalidated (iommufd-style: for good) or the
 * exporter refused (revoked buffer).
 */
#ifndef _UAPI_LINUX_IOMMUFD_IMPORTER_TEST_H
#define _UAPI_LINUX_IOMMUFD_IMPORTER_TEST_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* iit_map.flags: importer behaviour for this mapping */
#define IIT_MAP_STATIC		(1U << 0) /* dma_buf_attach(): no callback */
#define IIT_MAP_IGNORE		(1U << 1) /* dynamic, ignores invalidation */
#define IIT_MAP_KEEP_ALIVE	(1U << 2) /* drop on invalidation, REMAP later */
#define IIT_MAP_NO_PIN		(1U << 3) /* dynamic without dma_buf_pin() */
/*
 * Dynamic; map and unmap through the exporter's map_dma_buf/unmap_dma_buf
 * ops, as a core without pin-on-map does (6.x CONFIG_DMABUF_MOVE_NOTIFY=y,
 * 7.x): no ops->pin before a map. Dynamic exporters only, else EINVAL.
 */
#define IIT_MAP_DIRECT		(1U << 4)

struct iit_map {
	__u32 size;
	__u32 flags;		/* IIT_MAP_* */
	__s32 fd;		/* dma-buf fd */
	__u32 id;		/* out: mapping id */
	__aligned_u64 iova;	/* page aligned */
	__aligned_u64 length;	/* out: bytes mapped (the buffer size) */
};

/*
 * IIT_IOC_UNMAP: detach without unmapping, as a buggy importer does. The
 * mapping can never be unmapped after (the core frees the attachment): it
 * stays with the exporter for good, which a revoke must report.
 */
#define IIT_UNMAP_LEAK		(1U << 0)

struct iit_id {
	__u32 size;
	__u32 flags;		/* IIT_UNMAP_LEAK for UNMAP, else 0 */
	__u32 id;
	__u32 reserved;
};

#define IIT_DMA_WRITE		(1U << 0)
#define IIT_DMA_MAX		(1U << 20)
struct iit_dma {
	__u32 size;
	__u32 flags;		/* IIT_DMA_WRITE or 0 for a read */
	__aligned_u64 iova;
	__aligned_u64 length;	/* <= IIT_DMA_MAX */
	__aligned_u64 data;	/* user pointer */
};

/* iit_query.state */
#define IIT_STATE_MAPPED	1
#define IIT_STATE_INVALIDATED	2 /* KEEP_ALIVE: dropped, may re-map */
#define IIT_STATE_REVOKED	3 /* dropped for good, as iommufd does */
#define IIT_STATE_IGNORED	4 /* IGNORE: told, still mapped */

struct iit_query {
	__u32 size;
	__u32 flags;		/* must be 0 */
	__u32 id;
	__u32 state;		/* out */
	__u32 invalidations;	/* out: notifications received */
	__u32 pinned;		/* out */
	__u32 map_flags;	/* out: IIT_MAP_* */
	__u32 reserved;
};

/* Kernel CPU access through the dma-buf core, on a dma-buf fd. */
#define IIT_VMAP_READ_MAX	4096
struct iit_vmap {
	__u32 size;
	__u32 flags;		/* must be 0 */
	__s32 fd;		/* VMAP: in */
	__u32 id;		/* VMAP: out; VUNMAP, VMAP_READ: in */
	__aligned_u64 data;	/* VMAP_READ: user buffer */
	__aligned_u64 length;	/* VMAP_READ: <= IIT_VMAP_READ_MAX */
};

#define IIT_CPU_END		(1U << 0) /* end_cpu_access, else begin */
struct iit_cpu {
	__u32 size;
	__u32 flags;		/* IIT_CPU_END or 0 */
	__s32 fd;
	__u32 write;		/* 0: DMA_FROM_DEVICE, 1: DMA_BIDIRECTIONAL */
};

/*
 * Benchmark (make bench): repeat one importer operation @iters times on the
 * dma-buf @fd inside the kernel and return the ktime it took, so the cost of
 * the operation is not drowned by the syscall around it. Setup (dma_buf_get,
 * the one attachment MAP and PIN use) is outside the timed loop.
 */
/* iit_bench.op; "lock" is dma_resv_lock() of the buffer's resv */
#define IIT_BENCH_LOCK		1 /* lock, unlock: the loop's own cost */
#define IIT_BENCH_MAP		2 /* attach once; lock, map, unmap, unlock */
#define IIT_BENCH_ATTACH	3 /* attach, detach */
#define IIT_BENCH_PIN		4 /* attach once; lock, pin, unpin, unlock */
#define IIT_BENCH_VMAP		5 /* vmap, vunmap */
#define IIT_BENCH_CPU		6 /* begin_cpu_access, end_cpu_access */

/* iit_bench.flags */
#define IIT_BENCH_STATIC	(1U << 0) /* MAP, ATTACH: static importer */
#define IIT_BENCH_MAX_ITERS	(1U << 24)
#define IIT_BENCH_MAX_SPREAD	4096

struct iit_bench {
	__u32 size;
	__u32 flags;		/* IIT_BENCH_STATIC or 0 */
	__s32 fd;		/* dma-buf fd */
	__u32 op;		/* IIT_BENCH_* */
	__u32 iters;		/* 1..IIT_BENCH_MAX_ITERS */
	/*
	 * MAP only: attach this many (0 counts as 1, at most
	 * IIT_BENCH_MAX_SPREAD) and map them in turn, oldest first - an
	 * importer's lookup of its attachment must not walk the others.
	 */
	__u32 spread;
	__aligned_u64 ns;	/* out: nanoseconds for all @iters */
};

#define IIT_IOC_MAGIC		0xDD
#define IIT_IOC_MAP		_IOWR(IIT_IOC_MAGIC, 0x00, struct iit_map)
#define IIT_IOC_UNMAP		_IOWR(IIT_IOC_MAGIC, 0x01, struct iit_id)
#define IIT_IOC_DMA		_IOWR(IIT_IOC_MAGIC, 0x02, struct iit_dma)
#define IIT_IOC_REMAP		_IOWR(IIT_IOC_MAGIC, 0x03, struct iit_id)
#define IIT_IOC_PIN		_IOWR(IIT_IOC_MAGIC, 0x04, struct iit_id)
#define IIT_IOC_UNPIN		_IOWR(IIT_IOC_MAGIC, 0x05, struct iit_id)
#define IIT_IOC_QUERY		_IOWR(IIT_IOC_MAGIC, 0x06, struct iit_query)
#define IIT_IOC_VMAP		_IOWR(IIT_IOC_MAGIC, 0x07, struct iit_vmap)
#define IIT_IOC_VUNMAP		_IOWR(IIT_IOC_MAGIC, 0x08, struct iit_vmap)
#define IIT_IOC_VMAP_READ	_IOWR(IIT_IOC_MAGIC, 0x09, struct iit_vmap)
#define IIT_IOC_CPU		_IOWR(IIT_IOC_MAGIC, 0x0a, struct iit_cpu)
#define IIT_IOC_BENCH		_IOWR(IIT_IOC_MAGIC, 0x0b, struct iit_bench)

/* mmap of the IOAS fd at offset (id << 12): dma_buf_mmap() of that buffer. */
#define IIT_MMAP_OFFSET(id)	((__u64)(id) << 12)

#endif /* _UAPI_LINUX_IOMMUFD_IMPORTER_TEST_H */
