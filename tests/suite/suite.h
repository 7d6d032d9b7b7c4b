/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TESTS_SUITE_H
#define TESTS_SUITE_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <signal.h>
#include <unistd.h>

#include "../lib/helpers.h"
#include "../lib/tap.h"
#include "../lib/vgem.h"

#define SZ	(16 * PAGE)
#define IOVA	0x100000ULL

struct suite_case {
	const char *group;
	void (*fn)(void);
};

/* Each file exports its cases as a NULL-terminated table. */
extern const struct suite_case skeleton_cases[];
extern const struct suite_case contract_cases[];
extern const struct suite_case conformance_cases[];
extern const struct suite_case uapi_cases[];
extern const struct suite_case samples_cases[];
extern const struct suite_case adversary_cases[];
extern const struct suite_case cli_cases[];
extern const struct suite_case race_cases[];
extern const struct suite_case fuzz_cases[];
extern const struct suite_case leak_cases[];
extern const struct suite_case failnth_cases[];
extern const struct suite_case stress_cases[];
extern const struct suite_case heap_cases[];

/* mmap a dma-buf shared read/write, or NULL. */
static inline uint8_t *map_buf(int fd, size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

#endif
