/* SPDX-License-Identifier: GPL-2.0 */
/* dmabuf_revoke_heap internals shared by its files. */
#ifndef _DMABUF_REVOKE_HEAP_H
#define _DMABUF_REVOKE_HEAP_H

#include <linux/fcntl.h>
#include <linux/types.h>

struct dma_buf;

/* What the dma-heap uapi accepts (drivers/dma-buf/dma-heap.c). */
#define DRH_VALID_FD_FLAGS	(O_CLOEXEC | O_ACCMODE)
#define DRH_VALID_HEAP_FLAGS	0ULL

/* buffer.c: the buffers, whichever way they were asked for. */
struct dma_buf *drh_alloc(const char *name, unsigned long len, u32 fd_flags,
			  u64 heap_flags);

#endif /* _DMABUF_REVOKE_HEAP_H */
