/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one place where kernel API differences live. Every DMABUF_REVOKE_HAVE_*
 * macro comes from a compile probe (compat/probes/), run by the build against
 * the target kernel: features are detected, never guessed from
 * the kernel version number, because distributions backport.
 */
#ifndef _DMABUF_REVOKE_COMPAT_H
#define _DMABUF_REVOKE_COMPAT_H

#include <linux/dma-buf.h>
#include <linux/dma-resv.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/module.h>

#include "dmabuf_revoke_config.h"

/*
 * Kernel mappings of a buffer: struct iosys_map since v5.18, struct
 * dma_buf_map (the same, by its first name) from v5.11, and a bare address
 * before, where the vmap op returned it. Code here uses the iosys_map
 * names throughout; on cores before v5.11 this is a struct of our own that
 * only the shim and its exporters see (DRS_VMAP_FN() below).
 */
#if defined(DMABUF_REVOKE_HAVE_IOSYS_MAP)
#include <linux/iosys-map.h>
#elif defined(DMABUF_REVOKE_HAVE_VMAP_MAP_ARG)
#include <linux/dma-buf-map.h>
#define iosys_map		dma_buf_map
#define iosys_map_set_vaddr	dma_buf_map_set_vaddr
#else
struct iosys_map {
	void *vaddr;
	bool is_iomem;
};

static inline void iosys_map_set_vaddr(struct iosys_map *map, void *vaddr)
{
	map->vaddr = vaddr;
	map->is_iomem = false;
}
#endif

/* iosys_map_memcpy_from() (v5.18) for a system-memory or I/O mapping. */
static inline void drs_map_memcpy_from(void *dst, const struct iosys_map *map,
				       size_t offset, size_t len)
{
	if (map->is_iomem)
		memcpy_fromio(dst, (const void __iomem *)map->vaddr + offset,
			      len);
	else
		memcpy(dst, map->vaddr + offset, len);
}

/*
 * Symbol namespaces: a bare token up to v6.12 (the macros stringify it, after
 * expansion), a string literal since. Use as EXPORT_SYMBOL_NS_GPL(sym,
 * DRS_NS) and MODULE_IMPORT_NS(DRS_NS_DMA_BUF).
 */
#ifdef DMABUF_REVOKE_HAVE_IMPORT_NS_STRING
#define DRS_NS			"DMABUF_REVOKE"
#define DRS_NS_DMA_BUF		"DMA_BUF"
#else
#define DRS_NS			DMABUF_REVOKE
#define DRS_NS_DMA_BUF		DMA_BUF
#endif

/*
 * dma_heap_add() for modules (an export probe, compat/probes/exports):
 * where it is exported, it is in this namespace.
 */
#ifdef DMABUF_REVOKE_HAVE_IMPORT_NS_STRING
#define DRS_NS_DMA_BUF_HEAP	"DMA_BUF_HEAP"
#else
#define DRS_NS_DMA_BUF_HEAP	DMA_BUF_HEAP
#endif

/* vma->vm_flags is written through accessors since v6.3. */
static inline void drs_vm_flags_set(struct vm_area_struct *vma,
				    unsigned long flags)
{
#ifdef DMABUF_REVOKE_HAVE_VM_FLAGS_SET
	vm_flags_set(vma, flags);
#else
	vma->vm_flags |= flags;
#endif
}

/*
 * Importer notification: move_notify (mandatory for dynamic importers) up to
 * v7.0, invalidate_mappings (optional) since v7.1.
 */
#ifdef DMABUF_REVOKE_HAVE_INVALIDATE_MAPPINGS
#define DRS_ATTACH_OPS_NOTIFY		invalidate_mappings
static inline void drs_notify_importers(struct dma_buf *dmabuf)
{
	dma_buf_invalidate_mappings(dmabuf);
}

/*
 * R13: what strict mode admits is what upstream calls revocable - the core's
 * own answer where it has one (v7.1), the same definition before.
 */
static inline bool drs_attach_can_notify(const struct dma_buf_attachment *a)
{
#ifdef DMABUF_REVOKE_HAVE_ATTACH_REVOCABLE
	return dma_buf_attach_revocable((struct dma_buf_attachment *)a);
#else
	return a->importer_ops && a->importer_ops->invalidate_mappings;
#endif
}
#else
#define DRS_ATTACH_OPS_NOTIFY		move_notify
static inline void drs_notify_importers(struct dma_buf *dmabuf)
{
	dma_buf_move_notify(dmabuf);
}

/*
 * Before v7.1: the same definition as dma_buf_attach_revocable() - a dynamic
 * importer with an invalidation callback, which dma_buf_dynamic_attach()
 * makes mandatory for dynamic importers there; pinned importers with one
 * (iommufd, RDMA's pinned-revocable umem) drop their mapping when told.
 */
static inline bool drs_attach_can_notify(const struct dma_buf_attachment *a)
{
	return a->importer_ops && a->importer_ops->move_notify;
}
#endif

/* A wrapped exporter must never have its mappings cached (pitfall P1). */
static inline void drs_ops_no_cache(struct dma_buf_ops *ops)
{
#ifdef DMABUF_REVOKE_HAVE_CACHE_SGT_MAPPING
	ops->cache_sgt_mapping = false;
#endif
}

/*
 * Since v6.2 dma_buf_vmap() tests ops->vmap and calls it with dmabuf->resv
 * held, so revoke can clear the op under resv and every later vmap fails
 * with a clean -EINVAL. On 6.1 the test is unlocked and the call re-reads the
 * pointer under dmabuf->lock: clearing it could make a racing caller jump to
 * NULL, and failing the op trips WARN_ON_ONCE. The same change added
 * dma_buf_vmap_unlocked(), which is what the probe detects.
 */
#ifdef DMABUF_REVOKE_HAVE_VMAP_UNLOCKED
#define DRS_VMAP_CAN_FAIL	1
#else
#define DRS_VMAP_CAN_FAIL	0
#endif

/*
 * Before v5.11 the vmap op returned the address, and dma_buf_vmap() takes
 * NULL for a clean failure (only an ERR_PTR trips its WARN_ON_ONCE), so the
 * shim's vmap may simply fail after a revoke there.
 */
#ifdef DMABUF_REVOKE_HAVE_VMAP_MAP_ARG
#define DRS_VMAP_OP_MAY_FAIL	0
#else
#define DRS_VMAP_OP_MAY_FAIL	1
#endif

/*
 * Exporters write their vmap and vunmap ops in today's form,
 *	int vmap(struct dma_buf *, struct iosys_map *);
 *	void vunmap(struct dma_buf *, struct iosys_map *);
 * declare them with DRS_DEFINE_VMAP_OPS(vmap, vunmap) and put
 * DRS_VMAP_FN(vmap) and DRS_VUNMAP_FN(vunmap) in their dma_buf_ops: before
 * v5.11 these are adapters to the address-returning ops. drs_call_vmap()
 * and drs_call_vunmap() call an exporter's ops the same way.
 */
#ifdef DMABUF_REVOKE_HAVE_VMAP_MAP_ARG
#define DRS_DEFINE_VMAP_OPS(vmap, vunmap)
#define DRS_VMAP_FN(vmap)	vmap
#define DRS_VUNMAP_FN(vunmap)	vunmap

static inline int drs_call_vmap(const struct dma_buf_ops *ops,
				struct dma_buf *dmabuf, struct iosys_map *map)
{
	return ops->vmap(dmabuf, map);
}

static inline void drs_call_vunmap(const struct dma_buf_ops *ops,
				   struct dma_buf *dmabuf,
				   struct iosys_map *map)
{
	ops->vunmap(dmabuf, map);
}
#else
#define DRS_DEFINE_VMAP_OPS(vmap, vunmap)				\
static void *vmap##_addr(struct dma_buf *dmabuf)			\
{									\
	struct iosys_map map = { };					\
									\
	return vmap(dmabuf, &map) ? NULL : map.vaddr;			\
}									\
static void vunmap##_addr(struct dma_buf *dmabuf, void *vaddr)		\
{									\
	struct iosys_map map = { .vaddr = vaddr };			\
									\
	vunmap(dmabuf, &map);						\
}

#define DRS_VMAP_FN(vmap)	vmap##_addr
#define DRS_VUNMAP_FN(vunmap)	vunmap##_addr

static inline int drs_call_vmap(const struct dma_buf_ops *ops,
				struct dma_buf *dmabuf, struct iosys_map *map)
{
	void *vaddr = ops->vmap(dmabuf);

	if (IS_ERR_OR_NULL(vaddr))
		return vaddr ? PTR_ERR(vaddr) : -ENOMEM;
	iosys_map_set_vaddr(map, vaddr);
	return 0;
}

static inline void drs_call_vunmap(const struct dma_buf_ops *ops,
				   struct dma_buf *dmabuf,
				   struct iosys_map *map)
{
	ops->vunmap(dmabuf, map->vaddr);
}
#endif

/*
 * Importer-side kernel mapping without the resv lock held by the caller. A
 * core that answers with NULL (before v5.11) refused: -EINVAL, what later
 * cores say for a buffer whose vmap op is gone.
 */
static inline int drs_dma_buf_vmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
#if defined(DMABUF_REVOKE_HAVE_VMAP_UNLOCKED)
	return dma_buf_vmap_unlocked(dmabuf, map);
#elif defined(DMABUF_REVOKE_HAVE_VMAP_MAP_ARG)
	return dma_buf_vmap(dmabuf, map);
#else
	void *vaddr = dma_buf_vmap(dmabuf);

	if (!vaddr)
		return -EINVAL;
	iosys_map_set_vaddr(map, vaddr);
	return 0;
#endif
}

static inline void drs_dma_buf_vunmap(struct dma_buf *dmabuf,
				      struct iosys_map *map)
{
#if defined(DMABUF_REVOKE_HAVE_VMAP_UNLOCKED)
	dma_buf_vunmap_unlocked(dmabuf, map);
#elif defined(DMABUF_REVOKE_HAVE_VMAP_MAP_ARG)
	dma_buf_vunmap(dmabuf, map);
#else
	dma_buf_vunmap(dmabuf, map->vaddr);
#endif
}

/*
 * Wait for every fence of a reservation object: DMA_RESV_USAGE_BOOKKEEP
 * since v5.19; before, the shared and exclusive fences (wait_all), with the
 * _rcu name up to v5.13.
 */
static inline long drs_resv_wait_all(struct dma_resv *resv, bool intr,
				     long timeout)
{
#if defined(DMABUF_REVOKE_HAVE_RESV_USAGE)
	return dma_resv_wait_timeout(resv, DMA_RESV_USAGE_BOOKKEEP, intr,
				     timeout);
#elif defined(DMABUF_REVOKE_HAVE_RESV_WAIT_TIMEOUT)
	return dma_resv_wait_timeout(resv, true, intr, timeout);
#else
	return dma_resv_wait_timeout_rcu(resv, true, intr, timeout);
#endif
}

/*
 * Add a fence that only bookkeeping waits for (BOOKKEEP usage; a shared
 * fence before v5.19). Caller holds @resv.
 */
static inline int drs_resv_add_bookkeep_fence(struct dma_resv *resv,
					      struct dma_fence *fence)
{
	int ret;

#ifdef DMABUF_REVOKE_HAVE_RESV_USAGE
	ret = dma_resv_reserve_fences(resv, 1);
	if (!ret)
		dma_resv_add_fence(resv, fence, DMA_RESV_USAGE_BOOKKEEP);
#else
	ret = dma_resv_reserve_shared(resv, 1);
	if (!ret)
		dma_resv_add_shared_fence(resv, fence);
#endif
	return ret;
}

/*
 * A short-lived kernel mapping of one page, in which user copies may fault:
 * kmap_local_page() since v5.11. Before, on the 64-bit kernels supported
 * there, every page is in the direct map (kmap_atomic() would disable page
 * faults, so a copy to or from user memory could fail).
 */
#ifdef DMABUF_REVOKE_HAVE_KMAP_LOCAL
#define drs_kmap(page)		kmap_local_page(page)
#define drs_kunmap(page, va)	kunmap_local(va)
#else
#ifdef CONFIG_HIGHMEM
#error "dmabuf-revoke needs kmap_local_page() (Linux 5.11) on a kernel with highmem"
#endif
#define drs_kmap(page)		page_address(page)
#define drs_kunmap(page, va)	do { } while (0)
#endif

/* vma_set_file() since v5.11: replace the VMA's file, references moved. */
static inline void drs_vma_set_file(struct vm_area_struct *vma,
				    struct file *file)
{
#ifdef DMABUF_REVOKE_HAVE_VMA_SET_FILE
	vma_set_file(vma, file);
#else
	get_file(file);
	swap(vma->vm_file, file);
	fput(file);
#endif
}

#endif /* _DMABUF_REVOKE_COMPAT_H */
