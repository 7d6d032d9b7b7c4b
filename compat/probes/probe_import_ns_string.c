// SPDX-License-Identifier: GPL-2.0
/* MODULE_IMPORT_NS() takes a string literal since v6.13 ("module: Convert
 * symbol namespace to string literal"). Both spellings compile on both
 * sides of that change (old kernels stringify the argument, and 6.12's
 * EXPORT_SYMBOL_NS accepts a string too), so look at the value instead:
 * capture what MODULE_IMPORT_NS() hands to MODULE_INFO().
 */
#include "probe.h"
#include <linux/build_bug.h>

#undef MODULE_INFO
#define MODULE_INFO(tag, info) \
	static const char probe_info[] __maybe_unused = info
MODULE_IMPORT_NS("PROBE_NS");
static_assert(sizeof(probe_info) == sizeof("PROBE_NS"),
	      "MODULE_IMPORT_NS() stringifies its argument");
