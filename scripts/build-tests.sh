#!/usr/bin/env bash
# build-tests.sh
#
# Build the user-space test programs (static binaries in tests/build/) that
# the initramfs carries to /suite/bin. They depend only on the uapi header,
# not on a kernel, so one build serves every kernel of the matrix.
# Exit: 0 built, 3 there is no tests/Makefile yet, else make's failure.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

if [[ ! -f $REPO_ROOT/tests/Makefile ]]; then
	say "no tests/Makefile yet: the guest gets only tests/guest/"
	exit 3
fi
make -C "$REPO_ROOT/tests"
