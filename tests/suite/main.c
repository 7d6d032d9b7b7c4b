// SPDX-License-Identifier: GPL-2.0
/*
 * revoke_suite: the conformance suite, run inside the test VM (or on a host
 * by the field test). usage: revoke_suite [GROUP...]; no argument runs all
 * groups but those run on request (heap).
 */
#include "suite.h"

static const struct suite_case *const tables[] = {
	skeleton_cases, contract_cases, conformance_cases, uapi_cases,
	samples_cases, adversary_cases, cli_cases, stress_cases, race_cases,
	fuzz_cases,
	failnth_cases, leak_cases, heap_cases,
};

/*
 * Groups that need more than the default modules run only when named: the
 * heap's once tests/guest/run.sh has loaded dmabuf_revoke_heap.
 */
static const char *const on_request[] = { "heap" };

static int selected(const char *group, int argc, char **argv)
{
	size_t j;
	int i;

	if (argc < 2) {
		for (j = 0; j < sizeof(on_request) / sizeof(on_request[0]); j++)
			if (!strcmp(group, on_request[j]))
				return 0;
		return 1;
	}
	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], group))
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	const struct suite_case *c;
	size_t t;

	tap_begin();
	if (drs_fd() < 0)
		tap_diag("cannot open %s: %s", DEV_REVOKE, strerror(-drs_fd()));
	for (t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
		for (c = tables[t]; c->fn; c++)
			if (selected(c->group, argc, argv))
				c->fn();
	return tap_end();
}
