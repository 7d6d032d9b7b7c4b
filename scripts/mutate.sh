#!/usr/bin/env bash
# mutate.sh [--list] [--diff] [--no-baseline] [--rev REV] [NAME...]
#
# Mutation check of the revoke rules (issue 12 item 11: "tests that fail
# when the rule goes"). Not part of CI or `make check`: a developer runs it
# after changing the shim or the suite, to see that each revoked-state check
# of a trampoline and each wait of the revoke sequence is caught by a test
# when it is removed.
#
# The tree as git sees it (tracked and untracked files, uncommitted changes
# included; with --rev REV, commit REV instead) is copied to a scratch
# directory once. The table below has one row per mutation: name, file, a
# sed expression, what it removes. For each mutation (default: all, in
# order; NAMEs pick some) a fresh copy gets exactly that change and runs
#   make check KERNELS=<one kernel> GUEST_ENV="SUITE_GROUPS=<groups>"
# under the VM lock, and one line is printed:
#   caught     the run failed (the first failing results are shown)
#   SURVIVED   the run stayed green: no test notices the rule is gone
#   ERROR      the sed did not change exactly one line (the table no
#              longer matches the code: fix the entry), or the mutant does
#              not build
# and a summary at the end. An unmutated baseline run comes first and must
# be green, or no verdict would mean anything (--no-baseline skips it).
#
# --list prints the table; --diff applies each mutation to the scratch copy
# and prints its diff, with no VM run (checks the table in seconds).
#
# Mutations remove a check or a wait, or put a fixed defect back; the
# enter/leave count of callbacks (drs_enter) is kept, so only the refusal
# goes.
#
# Env: KERNELS (default 6.1; one kernel profile), MUTATE_GROUPS (suite
#      groups, comma-separated, default "contract,adversary,samples,uapi"),
#      MUTATE_LOCK (default /tmp/dmabuf-vm.lock: every VM run holds it, so
#      runs of others interleave), MUTATE_DIR (scratch, default a new dir under $TMPDIR;
#      must be outside any git work tree), VM_TIMEOUT (s, default 600).
# Exit: 0 every mutation caught, 1 one survived, 2 an error.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
KERNEL=${KERNELS:-6.1}
GROUPS_=${MUTATE_GROUPS:-contract,adversary,samples,uapi}
LOCK=${MUTATE_LOCK:-/tmp/dmabuf-vm.lock}
export VM_TIMEOUT=${VM_TIMEOUT:-600}

# ---- the table: mut NAME FILE SED-EXPRESSION DESCRIPTION ----------------
names=() files=() exprs=() whats=()
mut() {
	names+=("$1")
	files+=("$2")
	exprs+=("$3")
	whats+=("$4")
}

W=dmabuf_revoke_shim/wrap.c
R=dmabuf_revoke_shim/revoke.c
# drs_enter() without its refusal: count the callback, never say no.
# (A statement expression: this_cpu_inc() is a statement, not a value.)
NOCHECK='({ this_cpu_inc(*b->counts); 1; })'

# Revoked-state checks, one per trampoline (sed ranges: one function each).
mut attach "$W" "/^static int drs_attach(/,/^}/ s/if (!drs_enter(b)) {/if (!$NOCHECK) {/" \
	"drs_attach: revoked check (R2)"
mut pin "$W" '/^static int drs_pin(/,/^}/ s/if (drs_revoked(b)) {/if (0) {/' \
	"drs_pin: revoked check (R4)"
mut map "$W" '/^static struct sg_table \*drs_map(/,/^}/ s/if (drs_revoked(b)) {/if (0) {/' \
	"drs_map: revoked check (R3)"
mut begin_cpu_access "$W" "/^static int drs_begin_cpu_access(/,/^}/ s/if (!drs_enter(b)) {/if (!$NOCHECK) {/" \
	"drs_begin_cpu_access: revoked check (R7)"
mut vmap "$W" "/^static int drs_vmap(/,/^}/ s/if (drs_enter(b)) {/if ($NOCHECK) {/" \
	"drs_vmap: revoked check (R5; 6.1 reaches it, 6.2+ clears the op)"
mut mmap "$W" "/^static int drs_mmap(/,/^}/ s/if (!drs_enter(b)) {/if (!$NOCHECK) {/" \
	"drs_mmap: revoked check (R6)"
mut fault "$W" "/^static vm_fault_t drs_vm_fault(/,/^}/ s/if (!drs_enter(b)) {/if (!$NOCHECK) {/" \
	"drs_vm_fault: revoked check (R6)"
mut pfn_mkwrite "$W" "/^static vm_fault_t drs_vm_pfn_mkwrite(/,/^}/ s/if (!drs_enter(b))\$/if (!$NOCHECK)/" \
	"drs_vm_pfn_mkwrite: revoked check (R6)"
mut access "$W" "/^static int drs_vm_access(/,/^}/ s/if (!drs_enter(b))\$/if (!$NOCHECK)/" \
	"drs_vm_access: revoked check (R6)"
mut vm_open "$W" "/^static void drs_vm_open(/,/^}/ s/if (!drs_enter(b)) {/if (!$NOCHECK) {/" \
	"drs_vm_open: revoked check (R9a: no exporter open after revoke)"

# The waits of the revoke sequence, each skipped as if it had succeeded.
mut callback_drain "$R" 's/done = \(drs_wait_for([^;]*drs_idle)\);/done = 1 ? 1 : \1;/' \
	"revoke: wait for callbacks in flight (R9a)"
mut pending_mmaps "$R" 's/ret = \(drs_settle_pending([^;]*)\);/ret = 0 ? \1 : 0;/' \
	"revoke: wait for mmaps not linked yet (R6)"
mut zap "$R" 's/^\tdrs_zap(b);$/\tif (0)\n\t\tdrs_zap(b);/' \
	"revoke: zap of user mappings (R6)"
mut fences "$R" 's/left = \(drs_resv_wait_all(dmabuf->resv, [^;]*)\);/left = 1 ? 1 : \1;/' \
	"revoke: wait for fences (R9b)"
mut importer_unmaps "$R" 's/done = \(drs_wait_for([^;]*drs_unmapped)\);/done = 1 ? 1 : \1;/' \
	"revoke: wait for importers to unmap (R9c)"

# Issue 12's fixes, each put back the way it was.
mut file_zap "$R" 's/^\tunmap_mapping_range(b->inode->i_mapping, 0, 0, 1);$/\tunmap_mapping_range(b->dmabuf->file->f_mapping, 0, 0, 1);/' \
	"revoke: zap through dmabuf->file, not the inode the shim holds (R16/R18, O_PATH)"
mut alias_zap "$R" 's/^\tlist_for_each_entry(al, &c->aliases, node)$/\tif (0) list_for_each_entry(al, \&c->aliases, node)/' \
	"revoke: zap of the files an exporter moved VMAs to (R18, moved vm_file)"

# Issue 14's shared structures: the hashed wait queue, the one work item,
# the one record index.
H=dmabuf_revoke_shim/shim.h
mut leave_wake "$H" '/^static inline void drs_leave_count(/,/^}/ s/^\t\tdrs_wake(b);$/\t\tif (0) drs_wake(b);/' \
	"drs_leave_count: wake the revoke waiting for the callback (R9a: it would sleep to its timeout)"
mut unmapped_kick "$W" '/^static void drs_unmap(/,/^}/ s/^\t\tdrs_unmapped_kick();$/\t\tif (0) drs_unmapped_kick();/' \
	"drs_unmap: the last unmap after an incomplete revoke tells the exporter (R11 unmapped)"
mut record_unhash "$W" 's/^\t\tdrs_index_del(a);$/\t\tif (0) drs_index_del(a);/' \
	"drs_unrecord (detach): the record leaves the index (issue 14: else a stale entry outlives its attachment)"
mut query_detach "$W" 's/^\tthis_cpu_sub(\*b->counts, drs_attach_count(attach));$/\tif (0) this_cpu_sub(*b->counts, drs_attach_count(attach));/' \
	"drs_detach: the attachment leaves QUERY's per-CPU counts (issue 14: they replaced an atomic)"

# ---- options -----------------------------------------------------------
baseline=1
diff_only=0
rev=
picked=()
while (($#)); do
	arg=$1
	shift
	case $arg in
	--rev)
		rev=${1:?--rev needs a commit}
		shift
		;;
	--list)
		for i in "${!names[@]}"; do
			printf '%-18s %s\n' "${names[i]}" "${whats[i]}"
		done
		exit 0
		;;
	--no-baseline) baseline=0 ;;
	--diff) diff_only=1 ;;
	-h | --help)
		sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"
		exit 0
		;;
	-*)
		echo "mutate.sh: unknown option $arg (try --help)" >&2
		exit 2
		;;
	*) picked+=("$arg") ;;
	esac
done
if ((${#picked[@]} == 0)); then
	picked=("${names[@]}")
fi
index_of() {
	local i
	for i in "${!names[@]}"; do
		[[ ${names[i]} == "$1" ]] && { echo "$i"; return 0; }
	done
	return 1
}
for p in "${picked[@]}"; do
	index_of "$p" >/dev/null || {
		echo "mutate.sh: no mutation named '$p' (--list)" >&2
		exit 2
	}
done
[[ $KERNEL != *" "* ]] || { echo "mutate.sh: one kernel at a time (KERNELS=$KERNEL)" >&2; exit 2; }
# A kernel argument carries the groups to the guest: no spaces.
[[ $GROUPS_ != *" "* ]] || { echo "mutate.sh: MUTATE_GROUPS are comma-separated ($GROUPS_)" >&2; exit 2; }

# ---- scratch tree ------------------------------------------------------
work=${MUTATE_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/dmabuf-mutate.XXXXXX")}
mkdir -p "$work"
work=$(cd "$work" && pwd)
# In a git work tree the harness would list that repo's files, not ours.
if git -C "$work" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	echo "mutate.sh: MUTATE_DIR $work is inside a git work tree; pick one outside" >&2
	exit 2
fi
base=$work/base
rm -rf "$base"
mkdir -p "$base"
if [[ -n $rev ]]; then
	git -C "$REPO" archive "$rev" | tar -x -C "$base"
	what="commit $(git -C "$REPO" rev-parse --short "$rev")"
else
	(cd "$REPO" && git ls-files -z --cached --others --exclude-standard) |
		while IFS= read -r -d '' f; do
			[[ -e $REPO/$f ]] || continue	# tracked, deleted in the work tree
			mkdir -p "$base/$(dirname "$f")"
			cp -a "$REPO/$f" "$base/$f"
		done
	what="the work tree"
fi
echo "# mutate: $what copied to $base; kernel $KERNEL; groups: $GROUPS_"

# run_check DIR LOG: make check there, under the lock; exit status of make.
run_check() {
	local dir=$1 log=$2
	KERNELS=$KERNEL GUEST_ENV="SUITE_GROUPS=$GROUPS_" RUN_DIR="$dir.run" \
		flock "$LOCK" make -C "$dir" check >"$log" 2>&1
}
# summary LOG: the run's closing "N passed, N failed" line.
summary() {
	grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1 || true
}
# failures LOG: the failing result lines of a run, first few.
failures() {
	grep -E '^\[[^]]*\] not ok' "$1" | head -n "${2:-3}" | sed 's/^/    /' || true
}
broken_build() {
	grep -qE '^\[[^]]*\] not ok - (dkms build|build user-space tests)' "$1"
}

t0=$(date +%s)
if ((diff_only)); then
	baseline=0
fi
if ((baseline)); then
	echo "# mutate: baseline (unmutated) ..."
	rm -rf "$work/baseline"
	cp -a "$base" "$work/baseline"
	if ! run_check "$work/baseline" "$work/baseline.log"; then
		echo "ERROR     baseline: the unmutated tree is not green on $KERNEL (log: $work/baseline.log)"
		failures "$work/baseline.log" 10
		exit 2
	fi
	echo "ok        baseline: $(summary "$work/baseline.log")"
fi

caught=0 survived=0 errors=0
lines=()
for p in "${picked[@]}"; do
	i=$(index_of "$p")
	dir=$work/$p
	log=$work/$p.log
	rm -rf "$dir" "$dir.run"
	cp -a "$base" "$dir"
	sed -i -e "${exprs[i]}" "$dir/${files[i]}"
	# Exactly one line of the file may change, or the entry is stale.
	n=$(diff "$base/${files[i]}" "$dir/${files[i]}" | grep -c '^<' || true)
	if ((n != 1)); then
		echo "ERROR     $p: the sed changed $n lines of ${files[i]}, not 1 - the table entry is stale"
		errors=$((errors + 1))
		lines+=("ERROR     $p")
		continue
	fi
	if ((diff_only)); then
		echo "# $p: ${whats[i]}"
		(cd "$work" && diff -u "base/${files[i]}" "$p/${files[i]}") || true
		rm -rf "$dir"
		continue
	fi
	t=$(date +%s)
	rc=0
	run_check "$dir" "$log" || rc=$?
	secs=$(($(date +%s) - t))
	if broken_build "$log"; then
		verdict=ERROR
		errors=$((errors + 1))
		echo "ERROR     $p: the mutant does not build (${secs}s; log: $log)"
	elif ((rc != 0)); then
		verdict=caught
		caught=$((caught + 1))
		echo "caught    $p: ${whats[i]} (${secs}s; $(summary "$log"))"
		failures "$log"
	else
		verdict=SURVIVED
		survived=$((survived + 1))
		echo "SURVIVED  $p: ${whats[i]} (${secs}s; $(summary "$log"))"
	fi
	lines+=("$(printf '%-9s %s' "$verdict" "$p")")
done

((diff_only)) && { ((errors == 0)) || exit 2; exit 0; }
echo "# mutate: kernel $KERNEL, groups \"$GROUPS_\", $(($(date +%s) - t0))s; logs in $work"
printf '%s\n' "${lines[@]}"
echo "$caught caught, $survived survived, $errors errors"
((errors == 0)) || exit 2
((survived == 0)) || exit 1
exit 0
