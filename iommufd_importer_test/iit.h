/* SPDX-License-Identifier: GPL-2.0 */
/* iommufd_importer_test internals. */
#ifndef _IIT_H
#define _IIT_H

#include <linux/dma-buf.h>
#include <linux/mutex.h>
#include <linux/xarray.h>
#include <uapi/linux/iommufd_importer_test.h>

#include "dmabuf_revoke_compat.h"	/* struct iosys_map on every core */

/* One IO address space: an open of /dev/iommufd_importer_test. */
struct iit_ioas {
	/* Serialises mapping lifetime (ioctls); outside resv. */
	struct mutex ops_lock;
	/*
	 * Nests inside dmabuf->resv, as iommufd's locks do: invalidation
	 * callbacks arrive with resv held and take it.
	 */
	struct mutex lock;
	struct xarray mappings;		/* id -> struct iit_mapping */
	struct xarray pt;		/* iova pfn -> xa_mk_value(dma pfn) */
	struct xarray vmaps;		/* id -> struct iit_vmap_obj */
};

struct iit_mapping {
	struct iit_ioas *ioas;
	u32 id;
	u32 flags;			/* IIT_MAP_* */
	struct dma_buf *dmabuf;
	struct dma_buf_attachment *attach;
	struct sg_table *sgt;		/* under resv */
	u64 iova;
	u64 length;
	bool pinned;			/* under resv */
	u32 state;			/* IIT_STATE_*, under ioas->lock */
	u32 invalidations;
};

struct iit_vmap_obj {
	struct dma_buf *dmabuf;
	struct iosys_map map;
};

extern struct device *iit_dev;

long iit_map(struct iit_ioas *ioas, struct iit_map *args);
long iit_unmap(struct iit_ioas *ioas, u32 id, bool leak);
long iit_remap(struct iit_ioas *ioas, u32 id);
long iit_pin(struct iit_ioas *ioas, u32 id, bool pin);
long iit_dma(struct iit_ioas *ioas, struct iit_dma *args);
long iit_query(struct iit_ioas *ioas, struct iit_query *args);
void iit_ioas_destroy(struct iit_ioas *ioas);

/* bench.c: IIT_IOC_BENCH */
long iit_bench(void __user *uarg);

#endif /* _IIT_H */
