/* SPDX-License-Identifier: GPL-2.0 */
/* vfio_revoke_exporter internals: the device and its exported buffers. */
#ifndef _VRE_H
#define _VRE_H

#include <linux/atomic.h>
#include <linux/dma-buf.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <uapi/linux/vfio_revoke_exporter.h>

struct vre_counters {
	atomic64_t exports;
	atomic64_t live;
	atomic64_t revokes;
	atomic64_t callbacks;
	atomic64_t late_callbacks;
	atomic64_t releases;
	atomic64_t scrubbed_bytes;
	atomic64_t vm_opens;
	atomic64_t user_vmas;
	atomic64_t quarantined;
};

struct vre_bar {
	struct page **pages;
	unsigned long npages;
	/*
	 * Per page: buffers over it that are not safe yet (plain ones never
	 * are), so that a scrub asks about a page in O(1), not by walking
	 * every buffer of the device. Under the device's lock.
	 */
	unsigned int *unsafe;
};

/* One open of /dev/vfio_revoke_exporter. */
struct vre_device {
	struct kref ref;		/* the device fd and each buffer */
	struct mutex lock;		/* bars, buffers, fences */
	struct rw_semaphore memory_lock; /* memory_enabled vs device faults */
	bool memory_enabled;
	bool closed;
	unsigned int nr_bars;
	struct vre_bar bars[VRE_MAX_BARS];
	struct list_head buffers;	/* struct vre_buf, managed and plain */
	atomic_t dev_vmas;		/* mappings of the device fd itself */
	struct list_head fences;	/* struct vre_fence_obj, unsignalled */
	u32 next_fence_id;
	struct inode *inode;		/* own address space for device mmaps */
	struct vre_counters stats;
};

/* One exported dma-buf: a range of one BAR. */
struct vre_buf {
	struct vre_device *vdev;
	struct list_head node;		/* vdev->buffers, under vdev->lock */
	struct list_head revoke_node;	/* a revoke started, not finished */
	struct dma_buf *dmabuf;
	struct page **pages;		/* into the BAR's page array */
	unsigned long npages;
	unsigned int bar;
	unsigned long first;		/* first page within the BAR */
	struct file *dev_file;		/* VRE_EXPORT_MMAP_VMFILE: held */
	u32 flags;			/* VRE_EXPORT_* */
	atomic_t hold_ms;		/* VRE_HOLD_CALLBACK */
	atomic_t release_hold_ms;	/* VRE_HOLD_RELEASE */
	bool revoke_done;		/* R11 callback ran */
	bool safe;			/* nothing maps it: scrubbed, under lock */
	bool counted;			/* in its BAR's unsafe counts, under lock */
};

extern struct vre_counters vre_global;

/* Count an event on the device and module-wide. */
static inline void vre_count(struct vre_device *vdev, size_t field, s64 n)
{
	atomic64_add(n, (atomic64_t *)((char *)&vdev->stats + field));
	atomic64_add(n, (atomic64_t *)((char *)&vre_global + field));
}

#define vre_add(vdev, field, n) \
	vre_count(vdev, offsetof(struct vre_counters, field), n)
#define vre_inc(vdev, field)	vre_add(vdev, field, 1)

/*
 * memory.c: the device, its BARs and the mappings of its memory. It calls
 * nothing in the other files.
 */
struct vre_device *vre_device_new(void);
void vre_device_put(struct vre_device *vdev);
int vre_setup(struct vre_device *vdev, struct vre_setup *args);
int vre_bar_rw(struct vre_device *vdev, struct vre_bar_rw *args);
int vre_bar_mmap(struct vre_device *vdev, struct vm_area_struct *vma);
int vre_dev_mmap(struct file *file, struct vm_area_struct *vma);
void vre_zap_device(struct vre_device *vdev);

/* dmabuf.c: the exported buffers; calls into memory.c only. */
int vre_export(struct vre_device *vdev, struct file *dev_file,
	       struct vre_export *args);
int vre_self_import(struct vre_device *vdev, struct vre_import *args);
unsigned int vre_revoke_start_all(struct vre_device *vdev,
				  struct list_head *todo);
void vre_revoke_finish_all(struct list_head *todo);

/* device.c: the uAPI - ioctls, open and close - on top of both. */

#endif /* _VRE_H */
