// SPDX-License-Identifier: GPL-2.0
/*
 * The exported buffers: a range of a BAR's pages behind a dma-buf. This is
 * the part a driver author adapts. Nothing here knows about revoke except
 * vre_revoked(): the shim stops every access path before it reaches these
 * callbacks, and tells us once it is safe to reuse the memory.
 */
#include <linux/delay.h>
#include <linux/dma-buf.h>
#include <linux/file.h>
#include <linux/dma-mapping.h>
#include <linux/dma-resv.h>
#include <linux/dmabuf_revoke.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "dmabuf_revoke_compat.h"
#include "vre.h"

/*
 * Every non-teardown callback counts itself; one that arrives after the
 * shim said the revoke was complete is a broken guarantee (R9), which the
 * tests read back as late_callbacks.
 */
static void vre_note_callback(struct vre_buf *buf)
{
	unsigned int ms = atomic_xchg(&buf->hold_ms, 0);

	vre_inc(buf->vdev, callbacks);
	if (READ_ONCE(buf->revoke_done))
		vre_inc(buf->vdev, late_callbacks);
	if (!ms)
		return;
	/* VRE_HOLD_CALLBACK: a slow callback, still running if revoked. */
	msleep(ms);
	if (READ_ONCE(buf->revoke_done))
		vre_inc(buf->vdev, late_callbacks);
}

static int vre_attach(struct dma_buf *dmabuf,
		      struct dma_buf_attachment *attach)
{
	vre_note_callback(dmabuf->priv);
	return 0;
}

/*
 * Called with dmabuf->resv held for managed buffers (the shim makes them
 * dynamic), so it must not take that lock; it takes none.
 */
static struct sg_table *vre_map(struct dma_buf_attachment *attach,
				enum dma_data_direction dir)
{
	struct vre_buf *buf = attach->dmabuf->priv;
	struct sg_table *sgt;
	int ret;

	vre_note_callback(buf);
	sgt = kzalloc(sizeof(*sgt), GFP_KERNEL);
	if (!sgt)
		return ERR_PTR(-ENOMEM);
	ret = sg_alloc_table_from_pages(sgt, buf->pages, buf->npages, 0,
					buf->npages << PAGE_SHIFT, GFP_KERNEL);
	if (ret)
		goto err_free;
	ret = dma_map_sgtable(attach->dev, sgt, dir, 0);
	if (ret)
		goto err_table;
	return sgt;

err_table:
	sg_free_table(sgt);
err_free:
	kfree(sgt);
	return ERR_PTR(ret);
}

static void vre_unmap(struct dma_buf_attachment *attach, struct sg_table *sgt,
		      enum dma_data_direction dir)
{
	dma_unmap_sgtable(attach->dev, sgt, dir, 0);
	sg_free_table(sgt);
	kfree(sgt);
}

/*
 * @buf covers its pages (@delta 1) or no longer does (-1) as a buffer that
 * is not safe. Caller holds vdev->lock.
 */
static void vre_count_unsafe(struct vre_buf *buf, int delta)
{
	unsigned int *unsafe = buf->vdev->bars[buf->bar].unsafe;
	unsigned long i;

	lockdep_assert_held(&buf->vdev->lock);
	for (i = 0; i < buf->npages; i++)
		unsafe[buf->first + i] += delta;
	buf->counted = delta > 0;
}

static void vre_release(struct dma_buf *dmabuf)
{
	struct vre_buf *buf = dmabuf->priv;
	struct vre_device *vdev = buf->vdev;
	unsigned int ms = atomic_read(&buf->release_hold_ms);

	/* VRE_HOLD_RELEASE: a release slow to take the device lock. */
	if (ms)
		msleep(ms);
	mutex_lock(&vdev->lock);
	list_del(&buf->node);
	/*
	 * Revoked, quarantined, and never told its last mapping went: an
	 * importer detached with one live (the report counts it, unlisted).
	 * A device may still reach these pages, so they stay unsafe for good.
	 */
	if (buf->counted && !buf->revoke_done)
		vre_count_unsafe(buf, -1);
	mutex_unlock(&vdev->lock);
	vre_inc(vdev, releases);
	vre_add(vdev, live, -1);
	if (buf->dev_file)
		fput(buf->dev_file);
	kfree(buf);
	vre_device_put(vdev);
}

/* udmabuf-style: hand out the page, the core maps it. */
static vm_fault_t vre_fault(struct vm_fault *vmf)
{
	struct vre_buf *buf = vmf->vma->vm_private_data;
	struct page *page;

	vre_note_callback(buf);
	if (vmf->pgoff >= buf->npages)
		return VM_FAULT_SIGBUS;
	page = buf->pages[vmf->pgoff];
	get_page(page);
	vmf->page = page;
	return 0;
}

/*
 * Per-VMA bookkeeping, as drivers that count their mappings do: every VMA
 * we hear of opening (mmap, split, fork) we must hear of closing. A VMA the
 * shim made after the revoke must never reach us (a late callback).
 */
static void vre_vm_open(struct vm_area_struct *vma)
{
	struct vre_buf *buf = vma->vm_private_data;

	vre_inc(buf->vdev, vm_opens);
	vre_inc(buf->vdev, user_vmas);
	if (dmabuf_revoke_is_revoked(buf->dmabuf))
		vre_inc(buf->vdev, late_callbacks);
}

static void vre_vm_close(struct vm_area_struct *vma)
{
	struct vre_buf *buf = vma->vm_private_data;

	vre_add(buf->vdev, user_vmas, -1);
}

/*
 * The first write to a page mapped read-only for write notification, as
 * drivers that track dirty pages do. Counted like every callback.
 */
static vm_fault_t vre_pfn_mkwrite(struct vm_fault *vmf)
{
	vre_note_callback(vmf->vma->vm_private_data);
	return 0;
}

/*
 * ptrace and /proc/PID/mem: get_user_pages() refuses a PFN map, so the core
 * asks the VMA. generic_access_phys() would ioremap RAM, which x86 refuses.
 */
static int vre_access(struct vm_area_struct *vma, unsigned long addr,
		      void *data, int len, int write)
{
	struct vre_buf *buf = vma->vm_private_data;
	unsigned long pg = vma->vm_pgoff + ((addr - vma->vm_start) >> PAGE_SHIFT);
	unsigned long off = offset_in_page(addr);
	void *va;

	vre_note_callback(buf);
	if (pg >= buf->npages)
		return -EINVAL;
	len = min_t(int, len, PAGE_SIZE - off);
	va = drs_kmap(buf->pages[pg]);
	if (write)
		memcpy(va + off, data, len);
	else
		memcpy(data, va + off, len);
	drs_kunmap(buf->pages[pg], va);
	return len;
}

static const struct vm_operations_struct vre_buf_vm_ops = {
	.open = vre_vm_open,
	.close = vre_vm_close,
	.fault = vre_fault,
	.pfn_mkwrite = vre_pfn_mkwrite,
	.access = vre_access,
};

static int vre_mmap(struct dma_buf *dmabuf, struct vm_area_struct *vma)
{
	struct vre_buf *buf = dmabuf->priv;
	unsigned long addr = vma->vm_start, i;
	int ret;

	vre_note_callback(buf);
	if (buf->flags & VRE_EXPORT_MMAP_FAULT) {
		vma->vm_ops = &vre_buf_vm_ops;
		vma->vm_private_data = buf;
		vre_inc(buf->vdev, user_vmas);
		return 0;
	}
	if (buf->flags & VRE_EXPORT_MMAP_VMFILE) {
		/* The device's own mapping of the same BAR pages. */
		vma->vm_pgoff += (VRE_BAR_OFFSET(buf->bar) >> PAGE_SHIFT) +
				 buf->first;
		drs_vma_set_file(vma, buf->dev_file);
		return vre_bar_mmap(buf->vdev, vma);
	}
	/*
	 * Pre-populated PFN map, as system_heap_mmap() does: no fault handler
	 * at all, and special PTEs that user space cannot pin.
	 */
	for (i = vma->vm_pgoff; addr < vma->vm_end; i++, addr += PAGE_SIZE) {
		ret = remap_pfn_range(vma, addr, page_to_pfn(buf->pages[i]),
				      PAGE_SIZE, vma->vm_page_prot);
		if (ret)
			return ret;
	}
	return 0;
}

static int vre_vmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct vre_buf *buf = dmabuf->priv;
	void *vaddr;

	vre_note_callback(buf);
	vaddr = vmap(buf->pages, buf->npages, VM_MAP, PAGE_KERNEL);
	if (!vaddr)
		return -ENOMEM;
	iosys_map_set_vaddr(map, vaddr);
	return 0;
}

static void vre_vunmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	vunmap(map->vaddr);
}

DRS_DEFINE_VMAP_OPS(vre_vmap, vre_vunmap)

static int vre_begin_cpu_access(struct dma_buf *dmabuf,
				enum dma_data_direction dir)
{
	vre_note_callback(dmabuf->priv);
	return 0;
}

static int vre_end_cpu_access(struct dma_buf *dmabuf,
			      enum dma_data_direction dir)
{
	return 0;
}

/* Ops variants: what an exporter without mmap or vmap looks like. */
#define VRE_BASE_OPS					\
	.attach = vre_attach,				\
	.map_dma_buf = vre_map,				\
	.unmap_dma_buf = vre_unmap,			\
	.release = vre_release,				\
	.begin_cpu_access = vre_begin_cpu_access,	\
	.end_cpu_access = vre_end_cpu_access

static const struct dma_buf_ops vre_ops[4] = {
	{ VRE_BASE_OPS, .mmap = vre_mmap, .vmap = DRS_VMAP_FN(vre_vmap),
	  .vunmap = DRS_VUNMAP_FN(vre_vunmap) },
	{ VRE_BASE_OPS, .vmap = DRS_VMAP_FN(vre_vmap),			/* NO_MMAP */
	  .vunmap = DRS_VUNMAP_FN(vre_vunmap) },
	{ VRE_BASE_OPS, .mmap = vre_mmap },				/* NO_VMAP */
	{ VRE_BASE_OPS },						/* both */
};

/*
 * Self-import: recognise our own dma-bufs, managed or plain, by our ops -
 * through the shim's helper, because a managed buffer's dmabuf->ops is the
 * shim's copy - and answer with the BAR range, never for a revoked buffer.
 */
int vre_self_import(struct vre_device *vdev, struct vre_import *args)
{
	struct dma_buf *dmabuf;
	struct vre_buf *buf = NULL;
	unsigned int i;
	int ret = 0;

	if (args->flags)
		return -EINVAL;
	dmabuf = dma_buf_get(args->fd);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	for (i = 0; i < ARRAY_SIZE(vre_ops) && !buf; i++)
		buf = dmabuf_revoke_exporter_priv(dmabuf, &vre_ops[i]);
	if (!buf) {
		ret = -EINVAL;
	} else if (dmabuf_revoke_is_revoked(dmabuf)) {
		ret = -ENODEV;
	} else {
		args->bar = buf->bar;
		args->offset = (u64)buf->first << PAGE_SHIFT;
		args->length = (u64)buf->npages << PAGE_SHIFT;
		args->same_device = buf->vdev == vdev;
		args->managed = dmabuf_revoke_is_managed(dmabuf);
	}
	dma_buf_put(dmabuf);
	return ret;
}

/*
 * Can page @pg of a BAR still be reached another way: through a buffer over
 * it that is not safe yet (a plain export never is), or through the
 * device's own mapping of its memory? Caller holds vdev->lock, under which
 * buffers come and go, and has taken the buffer it asks for out of the
 * counts.
 */
static bool vre_page_in_use(struct vre_device *vdev, struct vre_buf *buf,
			    unsigned long pg)
{
	if (vdev->memory_enabled && atomic_read(&vdev->dev_vmas))
		return true;
	return vdev->bars[buf->bar].unsafe[pg];
}

/*
 * Nothing can reach @buf's memory through it any more: a real device would
 * now be reset; we scrub, so that a stale path would read the scrub
 * pattern, not the data - only the pages nothing else reaches. Caller holds
 * vdev->lock.
 */
static void vre_scrub(struct vre_buf *buf)
{
	struct vre_device *vdev = buf->vdev;
	unsigned long i;
	void *va;

	lockdep_assert_held(&vdev->lock);
	buf->safe = true;
	if (buf->counted)
		vre_count_unsafe(buf, -1);
	for (i = 0; i < buf->npages; i++) {
		if (vre_page_in_use(vdev, buf, buf->first + i))
			continue;
		va = drs_kmap(buf->pages[i]);
		memset(va, VRE_SCRUB_BYTE, PAGE_SIZE);
		drs_kunmap(buf->pages[i], va);
		vre_add(vdev, scrubbed_bytes, PAGE_SIZE);
	}
}

/*
 * R11, under the device's own lock. While an importer that could not be
 * told, or did not let go, still maps the buffer, the memory is quarantined:
 * neither scrubbed nor reused, until vre_unmapped().
 */
static void vre_revoked(struct dma_buf *dmabuf, void *data,
			const struct dmabuf_revoke_report *report)
{
	struct vre_buf *buf = data;
	struct vre_device *vdev = buf->vdev;

	mutex_lock(&vdev->lock);
	WRITE_ONCE(buf->revoke_done, true);
	vre_inc(vdev, revokes);
	if (report->flags & DMABUF_REVOKE_REPORT_INCOMPLETE)
		vre_inc(vdev, quarantined);
	else
		vre_scrub(buf);
	mutex_unlock(&vdev->lock);
}

/* The last device mapping left at the revoke is gone: now it is safe. */
static void vre_unmapped(struct dma_buf *dmabuf, void *data)
{
	struct vre_buf *buf = data;

	mutex_lock(&buf->vdev->lock);
	vre_scrub(buf);
	mutex_unlock(&buf->vdev->lock);
}

#define VRE_EXPORT_ALL (VRE_EXPORT_STRICT | VRE_EXPORT_PLAIN | \
			VRE_EXPORT_MMAP_FAULT | VRE_EXPORT_NO_MMAP | \
			VRE_EXPORT_NO_VMAP | VRE_EXPORT_MMAP_VMFILE)

/* Export a BAR range; the device must be open with memory enabled. */
int vre_export(struct vre_device *vdev, struct file *dev_file,
	       struct vre_export *args)
{
	DEFINE_DMA_BUF_EXPORT_INFO(exp_info);
	struct dmabuf_revoke_config cfg = { };
	struct vre_bar *bar;
	struct vre_buf *buf;
	struct dma_buf *dmabuf;
	unsigned int variant;
	int fd;

	if (args->flags & ~VRE_EXPORT_ALL)
		return -EINVAL;
	if ((args->flags & VRE_EXPORT_PLAIN) &&
	    (args->flags & VRE_EXPORT_STRICT))
		return -EINVAL;
	if ((args->flags & VRE_EXPORT_MMAP_FAULT) &&
	    (args->flags & VRE_EXPORT_MMAP_VMFILE))
		return -EINVAL;
	/* The BARs are set once, before any export, and never change. */
	/* Pairs with vre_setup(): the BARs are filled before nr_bars. */
	if (args->bar >= smp_load_acquire(&vdev->nr_bars))
		return -EINVAL;
	bar = &vdev->bars[args->bar];
	if (!args->length || !PAGE_ALIGNED(args->offset) ||
	    !PAGE_ALIGNED(args->length) ||
	    args->offset >= (u64)bar->npages << PAGE_SHIFT ||
	    args->length > ((u64)bar->npages << PAGE_SHIFT) - args->offset)
		return -EINVAL;

	buf = kzalloc(sizeof(*buf), GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	buf->vdev = vdev;
	buf->flags = args->flags;
	buf->bar = args->bar;
	buf->first = args->offset >> PAGE_SHIFT;
	buf->pages = bar->pages + buf->first;
	buf->npages = args->length >> PAGE_SHIFT;
	if (args->flags & VRE_EXPORT_MMAP_VMFILE)
		buf->dev_file = get_file(dev_file);

	variant = (args->flags & VRE_EXPORT_NO_MMAP ? 1 : 0) |
		  (args->flags & VRE_EXPORT_NO_VMAP ? 2 : 0);
	exp_info.ops = &vre_ops[variant];
	exp_info.size = args->length;
	exp_info.flags = O_RDWR | O_CLOEXEC;
	exp_info.priv = buf;

	if (args->flags & VRE_EXPORT_PLAIN) {
		dmabuf = dma_buf_export(&exp_info);
	} else {
		cfg.flags = args->flags & VRE_EXPORT_STRICT ?
			    DMABUF_REVOKE_EXPORT_STRICT : 0;
		cfg.revoked = vre_revoked;
		cfg.unmapped = vre_unmapped;
		cfg.data = buf;
		dmabuf = dmabuf_revoke_export(&exp_info, &cfg);
	}
	if (IS_ERR(dmabuf)) {
		if (buf->dev_file)
			fput(buf->dev_file);
		kfree(buf);
		return PTR_ERR(dmabuf);
	}
	buf->dmabuf = dmabuf;
	kref_get(&vdev->ref);
	vre_inc(vdev, exports);
	vre_inc(vdev, live);

	mutex_lock(&vdev->lock);
	/* Checked under the lock that reset, disable and close hold. */
	if (vdev->closed || !vdev->memory_enabled) {
		mutex_unlock(&vdev->lock);
		INIT_LIST_HEAD(&buf->node);	/* vre_release() unlinks it */
		dma_buf_put(dmabuf);
		return -EIO;
	}
	list_add_tail(&buf->node, &vdev->buffers);
	vre_count_unsafe(buf, 1);
	mutex_unlock(&vdev->lock);

	fd = dma_buf_fd(dmabuf, O_CLOEXEC);
	if (fd < 0) {
		dma_buf_put(dmabuf);
		return fd;
	}
	args->fd = fd;
	return 0;
}

/*
 * Revoke every managed buffer of the device, as VFIO does on reset, memory
 * disable and close, in vfio_pci_dma_buf_move()'s order: the device lock
 * (held by the caller), then each buffer's reservation lock, under which the
 * shim flips the state and tells the importers. The waits come after the
 * device lock is dropped, in vre_revoke_finish_all(): the shim keeps every
 * started buffer alive until then, even if its last reference goes.
 */
unsigned int vre_revoke_start_all(struct vre_device *vdev,
				  struct list_head *todo)
{
	struct vre_buf *buf;
	unsigned int n = 0;
	bool started;

	lockdep_assert_held(&vdev->lock);
	list_for_each_entry(buf, &vdev->buffers, node) {
		if (!dmabuf_revoke_is_managed(buf->dmabuf) ||
		    dmabuf_revoke_is_revoked(buf->dmabuf))
			continue;
		dma_resv_lock(buf->dmabuf->resv, NULL);	/* inside vdev->lock */
		/*
		 * -ENOENT: its release has begun and waits for vdev->lock;
		 * nothing reaches it, and it is freed once we drop the lock.
		 */
		started = !dmabuf_revoke_start_deferred(buf->dmabuf, NULL);
		dma_resv_unlock(buf->dmabuf->resv);
		if (!started)
			continue;
		list_add_tail(&buf->revoke_node, todo);
		n++;
	}
	/* One barrier for all of them, still under our lock. */
	if (n)
		dmabuf_revoke_sync();
	return n;
}

/* With no lock held: each buffer's waits, then vre_revoked(). */
void vre_revoke_finish_all(struct list_head *todo)
{
	struct vre_buf *buf, *next;

	list_for_each_entry_safe(buf, next, todo, revoke_node) {
		list_del(&buf->revoke_node);
		/* After this returns, @buf may be released at any time. */
		dmabuf_revoke_finish(buf->dmabuf,
				     msecs_to_jiffies(DMABUF_REVOKE_DEFAULT_TIMEOUT_MS),
				     0, NULL);
	}
}
