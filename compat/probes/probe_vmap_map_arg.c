// SPDX-License-Identifier: GPL-2.0
/* The vmap op takes a map to fill in (struct dma_buf_map, now iosys_map)
 * instead of returning the address (v5.11, "dma-buf: Use struct dma_buf_map
 * in dma_buf_vmap() interfaces").
 */
#include "probe.h"
#include <linux/dma-buf.h>

static int __maybe_unused probe(struct dma_buf *d)
{
	return d->ops->vmap(d, NULL);
}
