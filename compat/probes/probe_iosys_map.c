// SPDX-License-Identifier: GPL-2.0
/* struct iosys_map (v5.18, "dma-buf-map: Rename to iosys-map"). */
#include "probe.h"
#include <linux/iosys-map.h>

static void __maybe_unused probe(struct iosys_map *map, void *vaddr)
{
	iosys_map_set_vaddr(map, vaddr);
}
