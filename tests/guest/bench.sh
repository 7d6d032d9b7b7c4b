#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest side of "make bench" (scripts/bench.sh; the guest init runs it for
# drtest.mode=bench): load the modules, run revoke_bench, print each result
# file between the lines
#   @@BENCH-FILE <name>@@
#   @@BENCH-FILE-END@@
# for the host to extract from the console log, and unload the modules
# (which fails if a benchmark leaked a buffer).
# Knobs, from GUEST_ENV on the host: BENCH_QUICK=1 (smoke run),
# BENCH_REPEATS (samples per point), BENCH_SAMPLE_MS (time per sample),
# BENCH_SECTIONS (only these sections, comma-separated: hot,revoke,memory,
# scaling,batch).
BIN=${BIN:-/suite/bin}
out=/tmp/bench

set --
# -q first: it sets defaults that -r/-t may then override.
[ "${BENCH_QUICK:-0}" = 1 ] && set -- "$@" -q
[ -n "${BENCH_REPEATS:-}" ] && set -- "$@" -r "$BENCH_REPEATS"
[ -n "${BENCH_SAMPLE_MS:-}" ] && set -- "$@" -t "$BENCH_SAMPLE_MS"
[ -n "${BENCH_SECTIONS:-}" ] && set -- "$@" -S "$BENCH_SECTIONS"

echo "Loading the modules: modprobe vfio_revoke_exporter iommufd_importer_test"
modprobe vfio_revoke_exporter && modprobe iommufd_importer_test || exit 1
echo "Running: revoke_bench -o $out $*"
"$BIN/revoke_bench" -o "$out" "$@"
rc=$?

for f in table.txt summary.csv samples.csv results.json targets.tsv; do
	[ -f "$out/$f" ] || continue
	echo "@@BENCH-FILE $f@@"
	cat "$out/$f"
	echo "@@BENCH-FILE-END@@"
done

if ! rmmod iommufd_importer_test vfio_revoke_exporter dmabuf_revoke_shim; then
	echo "bench: the modules did not unload (a buffer leaked?)"
	rc=1
fi
exit $rc
