// SPDX-License-Identifier: GPL-2.0
/* Compiles on every kernel: if it does not, the probe build itself is
 * broken and no probe answer can be trusted.
 */
#include "probe.h"
#include <linux/dma-buf.h>
