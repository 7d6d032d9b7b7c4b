// SPDX-License-Identifier: GPL-2.0
/*
 * The importer proper: dma-buf mappings in an IO address space, the fake IO
 * page table, and "device" DMA through it. It uses only the dma-buf core
 * API, as IOMMUFD does, so it imports from any exporter.
 */
#include <linux/dma-buf.h>
#include <linux/dma-resv.h>
#include <linux/highmem.h>
#include <linux/kmemleak.h>
#include <linux/mm.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "dmabuf_revoke_compat.h"
#include "iit.h"

/* Caller holds ioas->lock. Clear the page-table entries of @m. */
static void iit_pt_clear(struct iit_mapping *m)
{
	unsigned long first = m->iova >> PAGE_SHIFT;
	unsigned long n = m->length >> PAGE_SHIFT, i;

	for (i = 0; i < n; i++)
		xa_erase(&m->ioas->pt, first + i);
}

/* Caller holds ioas->lock. Program the page table from the DMA addresses. */
static int iit_pt_fill(struct iit_mapping *m)
{
	unsigned long pfn = m->iova >> PAGE_SHIFT;
	struct scatterlist *sg;
	unsigned int i;
	int ret;

	for_each_sgtable_dma_sg(m->sgt, sg, i) {
		dma_addr_t addr = sg_dma_address(sg);
		dma_addr_t end = addr + sg_dma_len(sg);

		for (; addr < end; addr += PAGE_SIZE, pfn++) {
			ret = xa_err(xa_store(&m->ioas->pt, pfn,
					      xa_mk_value(addr >> PAGE_SHIFT),
					      GFP_KERNEL));
			if (ret) {
				iit_pt_clear(m);
				return ret;
			}
		}
	}
	return 0;
}

/*
 * IIT_MAP_DIRECT: map and unmap through the exporter's ops, the way a core
 * that does not pin on map calls them for a dynamic importer - 6.x built
 * with CONFIG_DMABUF_MOVE_NOTIFY=y, and 7.x always (there only static
 * importers are pinned: dma_buf_pin_on_map()). Debian builds 6.1 and 6.12
 * with it off, and then dma_buf_map_attachment() calls ops->pin right before
 * ops->map_dma_buf under the same resv hold (drivers/dma-buf/dma-buf.c), so
 * an exporter's pin refusing always hides whether its map would have
 * refused too. This path reaches the map op alone on every kernel. Only for
 * dynamic exporters, whose map ops every core calls with resv held, as
 * here; the core's debug mangling of the table is left out on both sides.
 */
static struct sg_table *iit_map_sgt(struct iit_mapping *m)
{
	struct sg_table *sgt;

	if (!(m->flags & IIT_MAP_DIRECT))
		return dma_buf_map_attachment(m->attach, DMA_BIDIRECTIONAL);
	sgt = m->dmabuf->ops->map_dma_buf(m->attach, DMA_BIDIRECTIONAL);
	return sgt ?: ERR_PTR(-ENOMEM);
}

static void iit_unmap_sgt(struct iit_mapping *m)
{
	if (m->flags & IIT_MAP_DIRECT)
		m->dmabuf->ops->unmap_dma_buf(m->attach, m->sgt,
					      DMA_BIDIRECTIONAL);
	else
		dma_buf_unmap_attachment(m->attach, m->sgt, DMA_BIDIRECTIONAL);
}

/* Caller holds resv. Drop the device mapping and any pin. */
static void iit_drop_mapping(struct iit_mapping *m)
{
	dma_resv_assert_held(m->dmabuf->resv);
	if (m->sgt) {
		iit_unmap_sgt(m);
		m->sgt = NULL;
	}
	if (m->pinned) {
		dma_buf_unpin(m->attach);
		m->pinned = false;
	}
}

/*
 * The exporter wants the mapping gone (move, or revoke). As iommufd's
 * revoke notifier: under resv, clear the IO page table so the device can no
 * longer reach the memory, then unmap; unless this mapping keeps itself
 * alive for a later REMAP, it is revoked for good.
 */
static void iit_invalidate(struct dma_buf_attachment *attach)
{
	struct iit_mapping *m = attach->importer_priv;

	dma_resv_assert_held(attach->dmabuf->resv);
	mutex_lock(&m->ioas->lock);
	m->invalidations++;
	if (m->state == IIT_STATE_MAPPED) {
		iit_pt_clear(m);
		m->state = m->flags & IIT_MAP_KEEP_ALIVE ?
			   IIT_STATE_INVALIDATED : IIT_STATE_REVOKED;
	}
	mutex_unlock(&m->ioas->lock);
	iit_drop_mapping(m);
}

/* An importer that is told and does nothing (R9's timeout/report path). */
static void iit_ignore(struct dma_buf_attachment *attach)
{
	struct iit_mapping *m = attach->importer_priv;

	mutex_lock(&m->ioas->lock);
	m->invalidations++;
	if (m->state == IIT_STATE_MAPPED)
		m->state = IIT_STATE_IGNORED;
	mutex_unlock(&m->ioas->lock);
}

static const struct dma_buf_attach_ops iit_attach_ops = {
	.allow_peer2peer = false,
	.DRS_ATTACH_OPS_NOTIFY = iit_invalidate,
};

static const struct dma_buf_attach_ops iit_ignore_ops = {
	.allow_peer2peer = false,
	.DRS_ATTACH_OPS_NOTIFY = iit_ignore,
};

/* Caller holds resv. Pin (unless asked not to) and map. */
static int iit_do_map(struct iit_mapping *m)
{
	struct sg_table *sgt;
	int ret;

	if (!(m->flags & (IIT_MAP_STATIC | IIT_MAP_NO_PIN))) {
		ret = dma_buf_pin(m->attach);
		if (ret)
			return ret;
		m->pinned = true;
	}
	sgt = iit_map_sgt(m);
	if (IS_ERR(sgt)) {
		if (m->pinned) {
			dma_buf_unpin(m->attach);
			m->pinned = false;
		}
		return PTR_ERR(sgt);
	}
	m->sgt = sgt;
	return 0;
}

/* Caller holds ioas->lock. */
static bool iit_iova_busy(struct iit_ioas *ioas, u64 iova, u64 len)
{
	struct iit_mapping *m;
	unsigned long id;

	xa_for_each(&ioas->mappings, id, m)
		if (iova < m->iova + m->length && m->iova < iova + len)
			return true;
	return false;
}

#define IIT_MAP_ALL (IIT_MAP_STATIC | IIT_MAP_IGNORE | IIT_MAP_KEEP_ALIVE | \
		     IIT_MAP_NO_PIN | IIT_MAP_DIRECT)

long iit_map(struct iit_ioas *ioas, struct iit_map *args)
{
	struct iit_mapping *m;
	struct dma_buf *dmabuf;
	u32 id;
	int ret;

	if (args->flags & ~IIT_MAP_ALL || !PAGE_ALIGNED(args->iova))
		return -EINVAL;
	if ((args->flags & IIT_MAP_STATIC) &&
	    (args->flags & ~IIT_MAP_STATIC))
		return -EINVAL;

	dmabuf = dma_buf_get(args->fd);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	/* iit_map_sgt(): only dynamic exporters are mapped under resv. */
	if (args->iova + dmabuf->size < args->iova ||
	    ((args->flags & IIT_MAP_DIRECT) && !dma_buf_is_dynamic(dmabuf))) {
		ret = -EINVAL;
		goto err_put;
	}
	m = kzalloc(sizeof(*m), GFP_KERNEL);
	if (!m) {
		ret = -ENOMEM;
		goto err_put;
	}
	m->ioas = ioas;
	m->flags = args->flags;
	m->dmabuf = dmabuf;
	m->iova = args->iova;
	m->length = dmabuf->size;

	if (args->flags & IIT_MAP_STATIC)
		m->attach = dma_buf_attach(dmabuf, iit_dev);
	else
		m->attach = dma_buf_dynamic_attach(dmabuf, iit_dev,
						   args->flags & IIT_MAP_IGNORE ?
						   &iit_ignore_ops :
						   &iit_attach_ops, m);
	if (IS_ERR(m->attach)) {
		ret = PTR_ERR(m->attach);
		goto err_free;
	}

	dma_resv_lock(dmabuf->resv, NULL);
	ret = iit_do_map(m);
	if (ret)
		goto err_unlock;

	mutex_lock(&ioas->lock);
	if (iit_iova_busy(ioas, m->iova, m->length)) {
		ret = -EEXIST;
		goto err_ioas;
	}
	ret = iit_pt_fill(m);
	if (ret)
		goto err_ioas;
	ret = xa_alloc(&ioas->mappings, &id, m, xa_limit_31b, GFP_KERNEL);
	if (ret) {
		iit_pt_clear(m);
		goto err_ioas;
	}
	m->id = id;
	m->state = IIT_STATE_MAPPED;
	mutex_unlock(&ioas->lock);
	dma_resv_unlock(dmabuf->resv);

	args->id = id;
	args->length = m->length;
	return 0;

err_ioas:
	mutex_unlock(&ioas->lock);
	iit_drop_mapping(m);
err_unlock:
	dma_resv_unlock(dmabuf->resv);
	dma_buf_detach(dmabuf, m->attach);
err_free:
	kfree(m);
err_put:
	dma_buf_put(dmabuf);
	return ret;
}

/* @leak: IIT_UNMAP_LEAK, detach with the device mapping left live. */
static void iit_mapping_free(struct iit_mapping *m, bool leak)
{
	struct dma_buf *dmabuf = m->dmabuf;

	dma_resv_lock(dmabuf->resv, NULL);
	mutex_lock(&m->ioas->lock);
	if (m->state == IIT_STATE_MAPPED || m->state == IIT_STATE_IGNORED)
		iit_pt_clear(m);
	mutex_unlock(&m->ioas->lock);
	if (leak && m->sgt) {
		/* Lost on purpose; kmemleak would report it (debug lane). */
		kmemleak_not_leak(m->sgt);
		m->sgt = NULL;
	}
	iit_drop_mapping(m);
	dma_resv_unlock(dmabuf->resv);
	dma_buf_detach(dmabuf, m->attach);
	dma_buf_put(dmabuf);
	kfree(m);
}

long iit_unmap(struct iit_ioas *ioas, u32 id, bool leak)
{
	struct iit_mapping *m;

	mutex_lock(&ioas->lock);
	m = xa_erase(&ioas->mappings, id);
	mutex_unlock(&ioas->lock);
	if (!m)
		return -ENOENT;
	iit_mapping_free(m, leak);
	return 0;
}

/* Caller holds ops_lock, which keeps the mapping alive. */
static struct iit_mapping *iit_get(struct iit_ioas *ioas, u32 id)
{
	struct iit_mapping *m;

	lockdep_assert_held(&ioas->ops_lock);
	mutex_lock(&ioas->lock);
	m = xa_load(&ioas->mappings, id);
	mutex_unlock(&ioas->lock);
	return m;
}

/*
 * Re-map after an invalidation, as a GPU driver does on next use. A
 * revoked buffer must refuse (R3).
 */
long iit_remap(struct iit_ioas *ioas, u32 id)
{
	struct iit_mapping *m = iit_get(ioas, id);
	struct dma_buf *dmabuf;
	int ret;

	if (!m)
		return -ENOENT;
	dmabuf = m->dmabuf;
	dma_resv_lock(dmabuf->resv, NULL);
	mutex_lock(&ioas->lock);
	ret = m->state == IIT_STATE_INVALIDATED ? 0 :
	      m->state == IIT_STATE_REVOKED ? -ENODEV : -EBUSY;
	mutex_unlock(&ioas->lock);
	if (!ret)
		ret = iit_do_map(m);
	if (!ret) {
		mutex_lock(&ioas->lock);
		ret = iit_pt_fill(m);
		if (!ret)
			m->state = IIT_STATE_MAPPED;
		mutex_unlock(&ioas->lock);
		if (ret)
			iit_drop_mapping(m);
	}
	dma_resv_unlock(dmabuf->resv);
	return ret;
}

long iit_pin(struct iit_ioas *ioas, u32 id, bool pin)
{
	struct iit_mapping *m = iit_get(ioas, id);
	struct dma_buf *dmabuf;
	int ret = 0;

	if (!m)
		return -ENOENT;
	dmabuf = m->dmabuf;
	if (m->flags & IIT_MAP_STATIC)
		return -EINVAL;		/* only dynamic importers pin */
	dma_resv_lock(dmabuf->resv, NULL);
	if (pin && m->pinned)
		ret = -EBUSY;
	else if (!pin && !m->pinned)
		ret = -EINVAL;
	else if (pin)
		ret = dma_buf_pin(m->attach);
	else
		dma_buf_unpin(m->attach);
	if (!ret)
		m->pinned = pin;
	dma_resv_unlock(dmabuf->resv);
	return ret;
}

/*
 * "Device" DMA: walk the IO page table. The fake device reaches memory at
 * its DMA addresses, which the direct mapping (no IOMMU) makes physical.
 * Data goes through a bounce buffer so no user fault happens under
 * ioas->lock (the mmap path takes it inside mmap_lock).
 */
long iit_dma(struct iit_ioas *ioas, struct iit_dma *args)
{
	void __user *ubuf = u64_to_user_ptr(args->data);
	bool write = args->flags & IIT_DMA_WRITE;
	u64 pos, end = args->iova + args->length;
	struct iit_mapping *m;
	unsigned long id;
	void *bounce;
	size_t done = 0;
	int ret = 0;

	if ((args->flags & ~IIT_DMA_WRITE) || !args->length ||
	    args->length > IIT_DMA_MAX || end < args->iova)
		return -EINVAL;
	bounce = kvmalloc(args->length, GFP_KERNEL);
	if (!bounce)
		return -ENOMEM;
	if (write && copy_from_user(bounce, ubuf, args->length)) {
		ret = -EFAULT;
		goto out;
	}

	mutex_lock(&ioas->lock);
	for (pos = args->iova; pos < end && !ret;) {
		size_t off = offset_in_page(pos);
		size_t n = min_t(u64, PAGE_SIZE - off, end - pos);
		void *entry = xa_load(&ioas->pt, pos >> PAGE_SHIFT);
		unsigned long pfn;
		void *va;

		if (!entry) {
			ret = -ENOENT;
			xa_for_each(&ioas->mappings, id, m)
				if (pos >= m->iova && pos < m->iova + m->length)
					ret = -ENODEV;	/* invalidated */
			break;
		}
		pfn = xa_to_value(entry);
		if (!pfn_valid(pfn)) {
			ret = -EFAULT;
			break;
		}
		va = drs_kmap(pfn_to_page(pfn));
		if (write)
			memcpy(va + off, bounce + done, n);
		else
			memcpy(bounce + done, va + off, n);
		drs_kunmap(pfn_to_page(pfn), va);
		done += n;
		pos += n;
	}
	mutex_unlock(&ioas->lock);
	if (!ret && !write && copy_to_user(ubuf, bounce, args->length))
		ret = -EFAULT;
out:
	kvfree(bounce);
	return ret;
}

long iit_query(struct iit_ioas *ioas, struct iit_query *args)
{
	struct iit_mapping *m;
	int ret = -ENOENT;

	if (args->flags || args->reserved)
		return -EINVAL;
	mutex_lock(&ioas->lock);
	m = xa_load(&ioas->mappings, args->id);
	if (m) {
		args->state = m->state;
		args->invalidations = m->invalidations;
		args->pinned = m->pinned;
		args->map_flags = m->flags;
		ret = 0;
	}
	mutex_unlock(&ioas->lock);
	return ret;
}

void iit_ioas_destroy(struct iit_ioas *ioas)
{
	struct iit_mapping *m;
	unsigned long id;

	xa_for_each(&ioas->mappings, id, m) {
		xa_erase(&ioas->mappings, id);
		iit_mapping_free(m, false);
	}
}
