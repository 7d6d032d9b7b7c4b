// SPDX-License-Identifier: GPL-2.0
/* dma_buf_vmap_unlocked(): since v6.2 ("dma-buf: Move dma_buf_vmap() to
 * dynamic locking specification") dma_buf_vmap() wants the resv lock held
 * and importers without it call the _unlocked variant.
 */
#include "probe.h"
#include <linux/dma-buf.h>
#include <linux/iosys-map.h>

static int __maybe_unused probe(struct dma_buf *d, struct iosys_map *m)
{
	return dma_buf_vmap_unlocked(d, m);
}
