// SPDX-License-Identifier: GPL-2.0
/* MODULE_IMPORT_NS() takes a string literal since v6.13,
 * cdd30ebb1b9f ("module: Convert symbol namespace to string literal").
 * The old macro stringified a bare token, so the string form still compiled
 * (with a wrong value); probe with the new-only EXPORT_SYMBOL_NS spelling.
 */
#include "probe.h"

int dmabuf_revoke_probe_sym;
EXPORT_SYMBOL_NS_GPL(dmabuf_revoke_probe_sym, "PROBE_NS");
