// SPDX-License-Identifier: GPL-2.0
/* dma_buf_attach_ops.move_notify was renamed invalidate_mappings (and made
 * optional), with dma_buf_move_notify() becoming
 * dma_buf_invalidate_mappings(), in v7.1.
 */
#include "probe.h"
#include <linux/dma-buf.h>

static void probe_cb(struct dma_buf_attachment *a) { }
static const struct dma_buf_attach_ops probe_ops __maybe_unused = {
	.invalidate_mappings = probe_cb,
};

static void __maybe_unused probe(struct dma_buf *d)
{
	dma_buf_invalidate_mappings(d);
}
