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
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/module.h>

#include "dmabuf_revoke_config.h"

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

/* Importer-side kernel mapping without the resv lock held by the caller. */
static inline int drs_dma_buf_vmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
#ifdef DMABUF_REVOKE_HAVE_VMAP_UNLOCKED
	return dma_buf_vmap_unlocked(dmabuf, map);
#else
	return dma_buf_vmap(dmabuf, map);
#endif
}

static inline void drs_dma_buf_vunmap(struct dma_buf *dmabuf,
				      struct iosys_map *map)
{
#ifdef DMABUF_REVOKE_HAVE_VMAP_UNLOCKED
	dma_buf_vunmap_unlocked(dmabuf, map);
#else
	dma_buf_vunmap(dmabuf, map);
#endif
}

#endif /* _DMABUF_REVOKE_COMPAT_H */
