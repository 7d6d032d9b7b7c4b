/* SPDX-License-Identifier: GPL-2.0 */
/* Common boilerplate of the compile probes: each probe_*.c compiles only on
 * kernels that have the feature it is named after.
 */
#include <linux/module.h>
MODULE_LICENSE("GPL");
