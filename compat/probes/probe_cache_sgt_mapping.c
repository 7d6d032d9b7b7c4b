// SPDX-License-Identifier: GPL-2.0
/* dma_buf_ops.cache_sgt_mapping was removed when the
 * core stopped caching sg_tables at attach time (after v6.12).
 */
#include "probe.h"
#include <linux/dma-buf.h>

static const struct dma_buf_ops probe_ops __maybe_unused = { .cache_sgt_mapping = true };
