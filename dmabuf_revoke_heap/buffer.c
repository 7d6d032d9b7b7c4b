// SPDX-License-Identifier: GPL-2.0
/*
 * The revocable heap's buffers: zeroed pages charged to the allocating
 * process's memory cgroup, exported through the shim, so that every rule of
 * the revoke contract holds for them. Apart from that, a plain system-heap
 * exporter: each attachment gets its own scatterlist, CPU access syncs the
 * attachments that are mapped, user mappings are filled by a fault handler
 * (the shim maps the pages as PFNs, R16), vmap maps all pages.
 *
 * Nothing here knows about revoke: the shim refuses every access path of a
 * revoked buffer before it gets here. The pages are freed when the last
 * reference goes, as on any heap.
 */
#include <linux/atomic.h>
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/dmabuf_revoke.h>
#include <linux/highmem.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "dmabuf_revoke_compat.h"
#include "drh.h"

static unsigned int max_buffer_mb = 256;
module_param(max_buffer_mb, uint, 0644);
MODULE_PARM_DESC(max_buffer_mb,
		 "Largest buffer one allocation may ask for, in MiB (default 256)");

static unsigned int max_total_mb;
module_param(max_total_mb, uint, 0644);
MODULE_PARM_DESC(max_total_mb,
		 "Memory all buffers of the heap may hold together, in MiB (default 0: a quarter of RAM)");

static bool strict;
module_param(strict, bool, 0644);
MODULE_PARM_DESC(strict,
		 "Export new buffers in strict mode: refuse importers that cannot be revoked (default N)");

/* Pages held by all live buffers, against max_total_mb. */
static atomic_long_t drh_pages = ATOMIC_LONG_INIT(0);

struct drh_buf {
	pgoff_t npages;
	struct page **pages;
	struct mutex lock;		/* attachments, vaddr */
	struct list_head attachments;	/* struct drh_attach */
	void *vaddr;			/* the one vmap the core asks for */
};

struct drh_attach {
	struct list_head node;
	struct device *dev;
	struct sg_table table;
	enum dma_data_direction dir;
	bool mapped;
};

static int drh_attach(struct dma_buf *dmabuf, struct dma_buf_attachment *attach)
{
	struct drh_buf *buf = dmabuf->priv;
	struct drh_attach *a;
	int ret;

	a = kzalloc(sizeof(*a), GFP_KERNEL);
	if (!a)
		return -ENOMEM;
	ret = sg_alloc_table_from_pages(&a->table, buf->pages, buf->npages, 0,
					(size_t)buf->npages << PAGE_SHIFT,
					GFP_KERNEL);
	if (ret) {
		kfree(a);
		return ret;
	}
	a->dev = attach->dev;
	attach->priv = a;
	mutex_lock(&buf->lock);
	list_add(&a->node, &buf->attachments);
	mutex_unlock(&buf->lock);
	return 0;
}

static void drh_detach(struct dma_buf *dmabuf,
		       struct dma_buf_attachment *attach)
{
	struct drh_buf *buf = dmabuf->priv;
	struct drh_attach *a = attach->priv;

	mutex_lock(&buf->lock);
	list_del(&a->node);
	mutex_unlock(&buf->lock);
	sg_free_table(&a->table);
	kfree(a);
}

/*
 * Called with dmabuf->resv held (the shim makes every managed buffer
 * dynamic): takes only our own lock, which nests inside it.
 */
static struct sg_table *drh_map(struct dma_buf_attachment *attach,
				enum dma_data_direction dir)
{
	struct drh_buf *buf = attach->dmabuf->priv;
	struct drh_attach *a = attach->priv;
	int ret;

	/* One mapping per attachment: its scatterlist holds the addresses. */
	if (a->mapped)
		return ERR_PTR(-EBUSY);
	ret = dma_map_sgtable(attach->dev, &a->table, dir, 0);
	if (ret)
		return ERR_PTR(ret);
	mutex_lock(&buf->lock);
	a->dir = dir;
	a->mapped = true;
	mutex_unlock(&buf->lock);
	return &a->table;
}

static void drh_unmap(struct dma_buf_attachment *attach, struct sg_table *sgt,
		      enum dma_data_direction dir)
{
	struct drh_buf *buf = attach->dmabuf->priv;
	struct drh_attach *a = attach->priv;

	mutex_lock(&buf->lock);
	a->mapped = false;
	mutex_unlock(&buf->lock);
	dma_unmap_sgtable(attach->dev, sgt, dir, 0);
}

static int drh_begin_cpu_access(struct dma_buf *dmabuf,
				enum dma_data_direction dir)
{
	struct drh_buf *buf = dmabuf->priv;
	struct drh_attach *a;

	mutex_lock(&buf->lock);
	if (buf->vaddr)
		invalidate_kernel_vmap_range(buf->vaddr, dmabuf->size);
	list_for_each_entry(a, &buf->attachments, node)
		if (a->mapped)
			dma_sync_sgtable_for_cpu(a->dev, &a->table, dir);
	mutex_unlock(&buf->lock);
	return 0;
}

static int drh_end_cpu_access(struct dma_buf *dmabuf,
			      enum dma_data_direction dir)
{
	struct drh_buf *buf = dmabuf->priv;
	struct drh_attach *a;

	mutex_lock(&buf->lock);
	if (buf->vaddr)
		flush_kernel_vmap_range(buf->vaddr, dmabuf->size);
	list_for_each_entry(a, &buf->attachments, node)
		if (a->mapped)
			dma_sync_sgtable_for_device(a->dev, &a->table, dir);
	mutex_unlock(&buf->lock);
	return 0;
}

/* udmabuf-style: hand out the page; the shim maps it as a PFN. */
static vm_fault_t drh_fault(struct vm_fault *vmf)
{
	struct drh_buf *buf = vmf->vma->vm_private_data;
	struct page *page;

	if (vmf->pgoff >= buf->npages)
		return VM_FAULT_SIGBUS;
	page = buf->pages[vmf->pgoff];
	get_page(page);
	vmf->page = page;
	return 0;
}

static const struct vm_operations_struct drh_vm_ops = {
	.fault = drh_fault,
};

static int drh_mmap(struct dma_buf *dmabuf, struct vm_area_struct *vma)
{
	vma->vm_ops = &drh_vm_ops;
	vma->vm_private_data = dmabuf->priv;
	drs_vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP);
	return 0;
}

/*
 * The core keeps one underlying vmap per buffer (vmapping_counter) and
 * calls us under its lock, so there is at most one vaddr.
 */
static int drh_vmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct drh_buf *buf = dmabuf->priv;
	void *vaddr;

	vaddr = vmap(buf->pages, buf->npages, VM_MAP, PAGE_KERNEL);
	if (!vaddr)
		return -ENOMEM;
	mutex_lock(&buf->lock);
	buf->vaddr = vaddr;
	mutex_unlock(&buf->lock);
	iosys_map_set_vaddr(map, vaddr);
	return 0;
}

static void drh_vunmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct drh_buf *buf = dmabuf->priv;

	mutex_lock(&buf->lock);
	buf->vaddr = NULL;
	mutex_unlock(&buf->lock);
	vunmap(map->vaddr);
}

DRS_DEFINE_VMAP_OPS(drh_vmap, drh_vunmap)

static void drh_free(struct drh_buf *buf, pgoff_t allocated)
{
	pgoff_t i;

	for (i = 0; i < allocated; i++)
		__free_page(buf->pages[i]);
	atomic_long_sub(buf->npages, &drh_pages);
	kvfree(buf->pages);
	mutex_destroy(&buf->lock);
	kfree(buf);
}

static void drh_release(struct dma_buf *dmabuf)
{
	struct drh_buf *buf = dmabuf->priv;

	drh_free(buf, buf->npages);
}

static const struct dma_buf_ops drh_ops = {
	.attach = drh_attach,
	.detach = drh_detach,
	.map_dma_buf = drh_map,
	.unmap_dma_buf = drh_unmap,
	.begin_cpu_access = drh_begin_cpu_access,
	.end_cpu_access = drh_end_cpu_access,
	.mmap = drh_mmap,
	.vmap = DRS_VMAP_FN(drh_vmap),
	.vunmap = DRS_VUNMAP_FN(drh_vunmap),
	.release = drh_release,
};

static unsigned long drh_total_limit(void)
{
	unsigned int mb = READ_ONCE(max_total_mb);

	if (mb)
		return (unsigned long)mb << (20 - PAGE_SHIFT);
	return totalram_pages() / 4;
}

/**
 * drh_alloc - allocate a revocable buffer of zeroed pages
 * @name: the exporter name its dma-buf gets (the heap's name); must
 *	outlive the buffer.
 * @len: bytes, rounded up to whole pages.
 * @fd_flags: O_CLOEXEC and the access mode of the dma-buf's file.
 * @heap_flags: none are defined.
 *
 * The calling process becomes the buffer's owner: it may revoke it without
 * privilege (dmabuf_revoke_is_owner()). Its memory is charged to the
 * caller's memory cgroup.
 *
 * Return: the dma-buf, or an ERR_PTR: -EINVAL for a length of 0, over
 * max_buffer_mb, or unknown flags; -ENOMEM when memory or max_total_mb
 * runs out; -EINTR if a fatal signal came during the allocation.
 */
struct dma_buf *drh_alloc(const char *name, unsigned long len, u32 fd_flags,
			  u64 heap_flags)
{
	struct dmabuf_revoke_config cfg = { };
	DEFINE_DMA_BUF_EXPORT_INFO(exp_info);
	struct dma_buf *dmabuf;
	struct drh_buf *buf;
	pgoff_t i, npages;
	int ret;

	if ((fd_flags & ~DRH_VALID_FD_FLAGS) ||
	    (heap_flags & ~DRH_VALID_HEAP_FLAGS))
		return ERR_PTR(-EINVAL);
	if (!len || len > ((unsigned long)READ_ONCE(max_buffer_mb) << 20))
		return ERR_PTR(-EINVAL);
	npages = PAGE_ALIGN(len) >> PAGE_SHIFT;

	buf = kzalloc(sizeof(*buf), GFP_KERNEL);
	if (!buf)
		return ERR_PTR(-ENOMEM);
	mutex_init(&buf->lock);
	INIT_LIST_HEAD(&buf->attachments);
	buf->npages = npages;
	/* Reserve against the total first, so racing allocations cannot overshoot. */
	if (atomic_long_add_return(npages, &drh_pages) > drh_total_limit()) {
		i = 0;
		ret = -ENOMEM;
		goto err;
	}
	buf->pages = kvmalloc_array(npages, sizeof(*buf->pages), GFP_KERNEL);
	if (!buf->pages) {
		i = 0;
		ret = -ENOMEM;
		goto err;
	}
	for (i = 0; i < npages; i++) {
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			goto err;
		}
		/* Zeroed: a new owner never sees a previous one's data. */
		buf->pages[i] = alloc_page(GFP_HIGHUSER | __GFP_ZERO |
					   __GFP_ACCOUNT | __GFP_NOWARN);
		if (!buf->pages[i]) {
			ret = -ENOMEM;
			goto err;
		}
	}

	exp_info.exp_name = name;
	exp_info.ops = &drh_ops;
	exp_info.size = (size_t)npages << PAGE_SHIFT;
	exp_info.flags = fd_flags;
	exp_info.priv = buf;
	cfg.flags = READ_ONCE(strict) ? DMABUF_REVOKE_EXPORT_STRICT : 0;
	cfg.owner = task_tgid(current);
	dmabuf = dmabuf_revoke_export(&exp_info, &cfg);
	if (IS_ERR(dmabuf)) {
		ret = PTR_ERR(dmabuf);
		goto err;
	}
	return dmabuf;

err:
	drh_free(buf, i);
	return ERR_PTR(ret);
}
