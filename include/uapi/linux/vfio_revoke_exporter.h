/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * /dev/vfio_revoke_exporter: a sample VFIO-style exporter built on the
 * dmabuf-revoke shim. One open file is one "device" with page-backed BARs.
 * Argument structs start with "__u32 size; __u32 flags;" as in
 * dmabuf_revoke.h.
 */
#ifndef _UAPI_LINUX_VFIO_REVOKE_EXPORTER_H
#define _UAPI_LINUX_VFIO_REVOKE_EXPORTER_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define VRE_MAX_BARS		6
#define VRE_MAX_BAR_SIZE	(64ULL << 20)

/* mmap offset of a BAR on the device fd, as VFIO_PCI_INDEX_TO_OFFSET. */
#define VRE_BAR_OFFSET_SHIFT	40
#define VRE_BAR_OFFSET(bar)	((__u64)(bar) << VRE_BAR_OFFSET_SHIFT)

/* Byte every page of a buffer is filled with once its revoke completed. */
#define VRE_SCRUB_BYTE		0x5a

struct vre_setup {
	__u32 size;
	__u32 flags;		/* must be 0 */
	__u32 nr_bars;		/* 1..VRE_MAX_BARS */
	__u32 reserved;
	__aligned_u64 bar_size[VRE_MAX_BARS]; /* page multiples, <= MAX */
};

/* vre_export.flags */
#define VRE_EXPORT_STRICT	(1U << 0) /* refuse unrevocable importers */
#define VRE_EXPORT_PLAIN	(1U << 1) /* bypass the shim (baseline) */
#define VRE_EXPORT_MMAP_FAULT	(1U << 2) /* mmap through a fault handler */
#define VRE_EXPORT_NO_MMAP	(1U << 3) /* exporter has no mmap */
#define VRE_EXPORT_NO_VMAP	(1U << 4) /* exporter has no vmap */
/*
 * mmap moves the VMA to the device file (vma_set_file(), as i915 moves its
 * dma-buf mappings to the object's shmem file), at the BAR offset of the
 * buffer, with the device's own fault handler.
 */
#define VRE_EXPORT_MMAP_VMFILE	(1U << 5)

struct vre_export {
	__u32 size;
	__u32 flags;		/* VRE_EXPORT_* */
	__u32 bar;
	__s32 fd;		/* out: dma-buf fd (O_CLOEXEC | O_RDWR) */
	__aligned_u64 offset;	/* page aligned, within the BAR */
	__aligned_u64 length;	/* page multiple, non-zero */
};

/* Reset, memory disable/enable: revoke every buffer this device exported. */
struct vre_reset {
	__u32 size;
	__u32 flags;		/* must be 0 */
	__u32 revoked;		/* out: buffers revoked by this call */
	__u32 reserved;
};

struct vre_memory {
	__u32 size;
	__u32 flags;		/* must be 0 */
	__u32 enable;		/* 0: clear the memory bit, 1: set it */
	__u32 revoked;		/* out: buffers revoked by this call */
};

/* Device-side access to BAR memory (what the hardware would see). */
#define VRE_RW_WRITE		(1U << 0)
struct vre_bar_rw {
	__u32 size;
	__u32 flags;		/* VRE_RW_WRITE or 0 for read */
	__u32 bar;
	__u32 reserved;
	__aligned_u64 offset;
	__aligned_u64 length;
	__aligned_u64 data;	/* user pointer */
};

/* Fences on a buffer's reservation object, to test revoke's wait. */
#define VRE_FENCE_ADD		1
#define VRE_FENCE_SIGNAL	2
struct vre_fence {
	__u32 size;
	__u32 flags;		/* must be 0 */
	__u32 op;		/* VRE_FENCE_* */
	__s32 fd;		/* ADD: dma-buf fd of this device */
	__u32 id;		/* ADD: out; SIGNAL: in */
	__u32 reserved;
};

#define VRE_STATS_GLOBAL	(1U << 0) /* module-wide, not this device's */
struct vre_stats {
	__u32 size;
	__u32 flags;		/* VRE_STATS_GLOBAL or 0 */
	__aligned_u64 exports;
	__aligned_u64 live;		/* buffers not yet released */
	__aligned_u64 revokes;		/* revoke-complete callbacks */
	__aligned_u64 callbacks;	/* non-teardown exporter callbacks */
	__aligned_u64 late_callbacks;	/* ... after a revoke completed: 0 */
	__aligned_u64 releases;
	__aligned_u64 scrubbed_bytes;
	__aligned_u64 vm_opens;		/* vm_ops->open calls (split, fork) */
	__aligned_u64 user_vmas;	/* VMAs we were told of, not closed */
	__aligned_u64 quarantined;	/* revokes that left memory mapped */
};

/*
 * Test knobs that make the exporter hold something for a while, to show
 * what a revoke waits for and that it does not wait beyond its timeout.
 */
/* The buffer's next non-teardown callback sleeps @ms inside the exporter. */
#define VRE_HOLD_CALLBACK	1
/* This call holds the buffer's reservation lock for @ms (interruptible). */
#define VRE_HOLD_RESV		2
/* The buffer's release sleeps @ms before it takes the device lock. */
#define VRE_HOLD_RELEASE	3
#define VRE_HOLD_MAX_MS		10000
struct vre_hold {
	__u32 size;
	__u32 flags;		/* must be 0 */
	__s32 fd;		/* dma-buf fd of this device */
	__u32 what;		/* VRE_HOLD_* */
	__u32 ms;		/* 1..VRE_HOLD_MAX_MS */
	__u32 reserved;
};

/*
 * Self-import: is @fd a dma-buf this module exported, and of which BAR
 * range? The private shortcut a VFIO-to-iommufd link or a DRM PRIME
 * self-import takes; refused with ENODEV once the buffer is revoked, EINVAL
 * for anyone else's dma-buf.
 */
struct vre_import {
	__u32 size;
	__u32 flags;		/* must be 0 */
	__s32 fd;		/* in: a dma-buf fd */
	__u32 bar;		/* out */
	__aligned_u64 offset;	/* out */
	__aligned_u64 length;	/* out */
	__u32 same_device;	/* out: 1 if this device exported it */
	__u32 managed;		/* out: 1 if exported through the shim */
};

#define VRE_IOC_MAGIC		0xDC
#define VRE_IOC_SETUP		_IOWR(VRE_IOC_MAGIC, 0x00, struct vre_setup)
#define VRE_IOC_EXPORT		_IOWR(VRE_IOC_MAGIC, 0x01, struct vre_export)
#define VRE_IOC_RESET		_IOWR(VRE_IOC_MAGIC, 0x02, struct vre_reset)
#define VRE_IOC_MEMORY		_IOWR(VRE_IOC_MAGIC, 0x03, struct vre_memory)
#define VRE_IOC_BAR_RW		_IOWR(VRE_IOC_MAGIC, 0x04, struct vre_bar_rw)
#define VRE_IOC_FENCE		_IOWR(VRE_IOC_MAGIC, 0x05, struct vre_fence)
#define VRE_IOC_STATS		_IOWR(VRE_IOC_MAGIC, 0x06, struct vre_stats)
#define VRE_IOC_HOLD		_IOWR(VRE_IOC_MAGIC, 0x07, struct vre_hold)
#define VRE_IOC_IMPORT		_IOWR(VRE_IOC_MAGIC, 0x08, struct vre_import)

#endif /* _UAPI_LINUX_VFIO_REVOKE_EXPORTER_H */
