#!/usr/bin/env bash
# lint.sh [KERNELS...]
#
# `make lint`: the static checks of DESIGN §6, as report lines like check.sh's
# ("[LABEL] ok - ..." / "[LABEL] not ok - ...", findings indented below) and
# the closing line "N passed, N failed"; exit 1 on any failure.
#
#   [lint] checkpatch   scripts/checkpatch.pl --strict --no-tree -f, taken
#                       from Debian's linux-source-6.1 package (the script,
#                       spelling.txt and const_structs.checkpatch, extracted
#                       once per package version into the cache), on every
#                       *.c / *.h git knows outside tests/ (tracked or
#                       untracked-but-not-ignored; never generated *.mod.c).
#                       Any ERROR, WARNING or CHECK fails.
#   [lint] README       every code block README marks with a
#                       "<!-- PATH -->" line is PATH to the byte (the heap
#                       example the suite runs is the one README shows).
#   [K] W=1             the modules built with W=1 against kernel K's headers
#                       (every profile of the matrix): any compiler warning
#                       fails.
#   [K] sparse          `make C=2` against K (booted profiles): any sparse
#                       warning or error fails.
# The builds run like DKMS's (the top-level Makefile's probes step, then
# kbuild with M=), on a copy of the package sources, on the host or in the
# profile's build chroot (7.2: sid, where gcc-16 and sid's sparse live).
# Kernels are fetched (and chroots made) as by check.sh, from the same cache.
#
# Env: KERNELS (default: the `make check` matrix), LINT_CHECKPATCH_PKG
#      (default linux-source-6.1), LINT_CHECKPATCH_EXCLUDE (paths checkpatch
#      skips, default "tests tools docs": user-space C, built with -Wall
#      -Werror instead), DMABUF_REVOKE_CACHE, RUN_DIR.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
# shellcheck source=scripts/lib/kernel-debs.sh
. "$SCRIPTS_DIR/lib/kernel-debs.sh"

kernels=("$@")
if ((${#kernels[@]} == 0)); then
	read -r -a kernels <<<"${KERNELS:-$DEFAULT_KERNELS}"
fi
ensure_pkgs "${HOST_PKGS[@]}" "${LINT_PKGS[@]}"

runs="$CACHE_DIR/runs"
run_dir=${RUN_DIR:-$runs/$(date +%Y%m%d-%H%M%S)-lint-$$}
mkdir -p "$run_dir"

passed=0 failed=0
t_all=$(now)
ok() {
	printf '[%s] ok - %s\n' "$1" "$2"
	passed=$((passed + 1))
}
notok() {
	printf '[%s] not ok - %s\n' "$1" "$2"
	failed=$((failed + 1))
}
# indent [N]: findings under a result line (at most N lines, default 200).
indent() {
	local n=${1:-200} total
	total=$(cat)
	sed -n "1,${n}s/^/      /p" <<<"$total"
	local lines
	lines=$(wc -l <<<"$total")
	((lines <= n)) || echo "      ... ($((lines - n)) more lines in the log)"
}

# --- checkpatch ----------------------------------------------------------------
# checkpatch_dir: print the directory holding checkpatch.pl + its data files
# from the candidate version of $LINT_CHECKPATCH_PKG, extracting them once.
checkpatch_dir() {
	local pkg=${LINT_CHECKPATCH_PKG:-linux-source-6.1} ver out file deb dir tmp
	apt_lists_present || apt_update_once
	out=$(apt-cache policy "$pkg" 2>/dev/null)
	ver=$(awk '/Candidate:/ { print $2 }' <<<"$out")
	if [[ -z $ver || $ver == "(none)" ]]; then
		apt_update_once
		out=$(apt-cache policy "$pkg" 2>/dev/null)
		ver=$(awk '/Candidate:/ { print $2 }' <<<"$out")
	fi
	[[ -n $ver && $ver != "(none)" ]] || die "$pkg is not in the archive"
	dir="$CACHE_DIR/checkpatch/$pkg-$ver"
	if [[ -f $dir/checkpatch.pl && -f $dir/spelling.txt && -f $dir/const_structs.checkpatch ]]; then
		printf '%s\n' "$dir"
		return
	fi
	deb=$(kdeb_download "$pkg=$ver")
	file=${deb##*/}
	say "extracting checkpatch.pl from $file"
	tmp=$(mktemp -d "$CACHE_DIR/checkpatch.XXXXXX")
	# The package holds one tarball, usr/src/linux-source-X.Y.tar.xz, holding
	# linux-source-X.Y/scripts/...; tar --occurrence stops reading once it
	# has all three files (the writers then die of SIGPIPE: not an error).
	local top=${pkg#linux-source-} members=()
	members=("linux-source-$top/scripts/checkpatch.pl" "linux-source-$top/scripts/spelling.txt"
		"linux-source-$top/scripts/const_structs.checkpatch")
	(
		set +o pipefail
		dpkg-deb --fsys-tarfile "$deb" | tar -xO "./usr/src/linux-source-$top.tar.xz" |
			xz -dc 2>/dev/null | tar -x --occurrence -C "$tmp" "${members[@]}" || true
	)
	local m
	for m in "${members[@]}"; do
		[[ -f $tmp/$m ]] || die "$m not found in $file"
	done
	mkdir -p "$dir"
	cp "$tmp/linux-source-$top/scripts/"{checkpatch.pl,spelling.txt,const_structs.checkpatch} "$dir/"
	rm -rf "$tmp"
	printf '%s\n' "$dir"
}

echo "# [lint] checkpatch"
t=$(now)
if ! cp_dir=$(checkpatch_dir 2>"$run_dir/checkpatch-fetch.log"); then
	notok lint "checkpatch.pl --strict: get it from Debian's ${LINT_CHECKPATCH_PKG:-linux-source-6.1}"
	indent 40 <"$run_dir/checkpatch-fetch.log"
else
	files=() cp_specs=()
	for x in ${LINT_CHECKPATCH_EXCLUDE-tests tools docs}; do cp_specs+=(":(exclude)$x"); done
	while IFS= read -r -d '' f; do
		[[ -e $REPO_ROOT/$f ]] && files+=("$f")
	done < <(git -C "$REPO_ROOT" ls-files -z --cached --others --exclude-standard -- \
		'*.c' '*.h' "${cp_specs[@]}" ':(exclude)*.mod.c')
	cp_log="$run_dir/checkpatch.log"
	: >"$cp_log"
	bad=0
	for f in "${files[@]}"; do
		# --no-tree: no kernel tree around; -f: a source file, not a patch.
		rc=0
		out=$(cd "$REPO_ROOT" && perl "$cp_dir/checkpatch.pl" --strict --no-tree -f \
			--quiet --no-summary --show-types --color=never "$f" 2>&1) || rc=$?
		if ((rc != 0)) || [[ -n $out ]]; then
			bad=$((bad + 1))
			printf '%s\n' "${out:-$f: checkpatch.pl exit status $rc}" >>"$cp_log"
		fi
	done
	what="checkpatch.pl --strict ($(basename "$cp_dir")) on ${#files[@]} files outside ${LINT_CHECKPATCH_EXCLUDE-tests tools docs}"
	if ((bad)); then
		nerr=$(grep -c '^ERROR:' "$cp_log" || true)
		nwarn=$(grep -c '^WARNING:' "$cp_log" || true)
		nchk=$(grep -c '^CHECK:' "$cp_log" || true)
		notok lint "$what ($bad files: $nerr errors, $nwarn warnings, $nchk checks)"
		indent 300 <"$cp_log"
	else
		ok lint "$what: clean"
	fi
fi
echo "# [lint] checkpatch: $(since "$t")s"

# --- README's examples are the files the tests run ------------------------------
while IFS= read -r path; do
	block=$(awk -v m="<!-- $path -->" '
		$0 == m { want = 1; next }
		want && /^```/ { if (inside) exit; inside = 1; next }
		inside { print }' "$REPO_ROOT/README.md")
	if [[ -f $REPO_ROOT/$path && $block == "$(<"$REPO_ROOT/$path")" ]]; then
		ok lint "README shows $path as it is"
	else
		notok lint "README shows $path as it is (differences: README < > file)"
		diff <(printf '%s\n' "$block") "$REPO_ROOT/$path" | indent 40
	fi
done < <(sed -n 's/^<!-- \(.*\) -->$/\1/p' "$REPO_ROOT/README.md")

# --- per kernel: W=1 and sparse ------------------------------------------------
# kbuild_in SRC LOG MAKEARGS...: the probes step, then kbuild with
# M=SRC, on the host or in the profile's chroot; output into LOG.
# shellcheck disable=SC2153 # KDIR, KCHROOT: from the caller's kernel.env
kbuild_in() {
	local src=$1 log=$2
	shift 2
	{
		kroot_run "${KCHROOT:-}" "$kdir" -- make -C "$src" KDIR="$KDIR" \
			CROSS_COMPILE="${KCROSS:-}" probes &&
			kroot_run "${KCHROOT:-}" "$kdir" -- make -C "$KDIR" M="$src" -j"$(nproc)" \
				CROSS_COMPILE="${KCROSS:-}" "$@" modules
	} >"$log" 2>&1
}

for k in "${kernels[@]}"; do
	kdir="$run_dir/$k"
	mkdir -p "$kdir"
	tk=$(now)
	if [[ ! -f $SCRIPTS_DIR/kernels/$k.sh ]]; then
		notok "$k" "kernel profile scripts/kernels/$k.sh exists"
		continue
	fi
	echo "# [$k] fetch"
	if ! "$SCRIPTS_DIR/fetch-kernel.sh" "$k" "$kdir/kernel.env" >"$kdir/fetch.log" 2>&1 ||
		! "$SCRIPTS_DIR/mk-chroot.sh" "$k" "$kdir/kernel.env" >>"$kdir/fetch.log" 2>&1; then
		notok "$k" "fetch and stage kernel $k (for lint)"
		indent 40 <"$kdir/fetch.log"
		continue
	fi
	(
		# shellcheck disable=SC1091 # written by fetch-kernel.sh
		. "$kdir/kernel.env"
		times=("fetch $(since "$tk")s")

		# W=1: compiler warnings. Every warning line kbuild prints counts
		# (ours or from a kernel header our code pulls in).
		src="$kdir/src-w1"
		stage_package_files "$src" >/dev/null
		t=$(now)
		rc=0
		kbuild_in "$src" "$kdir/w1.log" W=1 || rc=$?
		times+=("W=1 $(since "$t")s")
		warn=$(grep -E '(warning|error):' "$kdir/w1.log" || true)
		nobj=$(grep -c '^ *CC \[M\]' "$kdir/w1.log" || true)
		if ((rc != 0)); then
			echo "[$k] not ok - W=1 build against $KVER (make failed, exit $rc)"
			indent 80 < <(grep -v '^make\[[0-9]*\]: \(Entering\|Leaving\)' "$kdir/w1.log")
		elif [[ -n $warn ]]; then
			echo "[$k] not ok - W=1 build against $KVER is warning-free ($(wc -l <<<"$warn") warnings)"
			indent 80 < <(grep -E -A3 '(warning|error):' "$kdir/w1.log")
		else
			echo "[$k] ok - W=1 build against $KVER is warning-free ($nobj objects)"
		fi

		# sparse: C=2 checks every file; CHECK is a wrapper that also
		# copies sparse's own output into a log of its own, so compiler
		# output cannot be mistaken for sparse's (or the other way round).
		if ((${BUILD_ONLY:-0})); then
			echo "# [$k] sparse: skipped (build-only profile)"
		else
			src="$kdir/src-sparse"
			stage_package_files "$src" >/dev/null
			cat >"$src/.sparse-tee" <<-'EOF'
				#!/bin/sh
				out=$(sparse "$@" 2>&1)
				rc=$?
				if [ -n "$out" ]; then
					printf '%s\n' "$out" >&2
					printf '%s\n' "$out" >>"$(dirname "$0")/.sparse.log"
				fi
				exit $rc
			EOF
			chmod +x "$src/.sparse-tee"
			: >"$src/.sparse.log"
			t=$(now)
			rc=0
			# KBUILD_CHECKSRC=2 too: kbuild >= 6.13 runs scripts/checker-valid.sh
			# and quietly turns C=2 off when it fails, and Debian's 7.2
			# linux-kbuild package does not ship that script. (No CHECK line
			# in the log fails the step, so sparse cannot be skipped unseen.)
			kbuild_in "$src" "$kdir/sparse-build.log" C=2 KBUILD_CHECKSRC=2 \
				CHECK="$src/.sparse-tee" || rc=$?
			times+=("sparse $(since "$t")s")
			cp "$src/.sparse.log" "$kdir/sparse.log"
			nchk=$(grep -c '^ *CHECK ' "$kdir/sparse-build.log" || true)
			sver=$(kroot_run "${KCHROOT:-}" -- sparse --version 2>/dev/null || echo "?")
			if ((rc != 0)); then
				echo "[$k] not ok - sparse (make C=2) against $KVER (make failed, exit $rc)"
				indent 80 < <(grep -v '^make\[[0-9]*\]: \(Entering\|Leaving\)' "$kdir/sparse-build.log")
			elif ((nchk == 0)); then
				echo "[$k] not ok - sparse (make C=2) against $KVER checked any file (no CHECK lines)"
			elif [[ -s $kdir/sparse.log ]]; then
				echo "[$k] not ok - sparse $sver (make C=2) against $KVER is clean ($(grep -c -E '(warning|error):' "$kdir/sparse.log" || true) findings)"
				indent 80 <"$kdir/sparse.log"
			else
				echo "[$k] ok - sparse $sver (make C=2) against $KVER is clean ($nchk files)"
			fi
		fi
		(IFS=,; echo "# [$k] time: ${times[*]}; $(since "$tk")s in all" | sed 's/,/, /g')
	) >"$kdir/report.txt" 2>&1 || true
	# Results were printed in the subshell: count them here.
	while IFS= read -r line; do
		printf '%s\n' "$line"
		case $line in
		"[$k] ok "*) passed=$((passed + 1)) ;;
		"[$k] not ok "*) failed=$((failed + 1)) ;;
		esac
	done <"$kdir/report.txt"
done

echo "# run dir: $run_dir"
echo "# total time: $(since "$t_all")s"
echo "$passed passed, $failed failed"
((failed == 0))
