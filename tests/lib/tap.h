/* SPDX-License-Identifier: GPL-2.0 */
/* Minimal kselftest-style TAP output: one "ok"/"not ok" line per check. */
#ifndef TESTS_TAP_H
#define TESTS_TAP_H

#include <stdbool.h>

void tap_begin(void);
/* Record one check; returns @cond so callers can bail out on failure. */
bool tap_ok(bool cond, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void tap_skip(const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print the plan and the closing "N passed, N failed"; exit status. */
int tap_end(void);

#endif
