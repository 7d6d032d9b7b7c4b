#!/usr/bin/env bash
# report.sh LABEL SERIAL_LOG OUTDIR [MODE]
#
# Turn one VM's serial console log into report lines on stdout, each
# prefixed with "[LABEL] ":
#   - every top-level TAP result of the guest suite ("ok N ..." /
#     "not ok N ...", with "# SKIP"/"# TODO" kept), a failing result
#     preceded by the guest's "#" diagnostics that led to it (indented);
#   - "not ok - ..." when the suite's exit marker is missing, its exit
#     status is non-zero, or fewer/more results came than its plan(s) said;
#   - "ok|not ok - dmesg has no kernel splat", the offending lines shown;
#   - on a KCSAN kernel (kcsan), "ok|not ok - KCSAN reports no data race
#     involving our modules", those reports shown, and the count and titles
#     of the other (core-kernel) KCSAN reports as "# " diagnostics
#     (OUTDIR/kcsan.txt has them all), and KCSAN's own counters after the
#     suite as a "# " line;
#   - on a kernel with kmemleak (debug), "ok|not ok - kmemleak reports no
#     leak after the suite", the report shown (OUTDIR/kmemleak.txt).
# MODE demo (or bench): the guest ran demo.sh (bench.sh), which prints a
# story (a table), not TAP: only
# the exit marker/status and the splat check apply.
# Writes OUTDIR/console.txt (cleaned log) and OUTDIR/dmesg.txt. Counting is
# the caller's job (lines starting "[LABEL] ok" / "[LABEL] not ok").
set -euo pipefail

usage="usage: report.sh LABEL SERIAL_LOG OUTDIR [MODE]"
label=${1:?$usage}
log=${2:?$usage}
outdir=${3:?$usage}
mode=${4:-check}
mkdir -p "$outdir"
console="$outdir/console.txt"
dmesg_txt="$outdir/dmesg.txt"

# Kernel splats worth failing a run for: one ERE, shared with the field test
# (case-sensitive on purpose: boot banners say "kasan:", "MAX_LOCKDEP_KEYS",
# "kmemleak: ... initialized"; reports say "BUG: KASAN:", "unreferenced
# object"). Not the bare word "lockdep": a lockdep kernel's banner says
# "RCU lockdep checking is enabled"; lockdep's reports are WARNINGs, or say
# "trying to register non-static key" / "turning off the locking ...".
splat_re=$(cat "$(dirname "$0")/lib/splat.re")
# Known-harmless lines to ignore, as an ERE (empty: none). Keep it narrow.
ignore_re=${SPLAT_IGNORE:-}

# Serial output has CR LF line ends and the firmware's/kernel's terminal
# escapes (reset, clear screen) glued to the first guest line.
tr -d '\r' <"$log" |
	sed -E 's/\x1b\[[0-9;?]*[A-Za-z]//g; s/\x1b[c78=>]//g; s/\x1b[()][0-9A-Za-z]//g' >"$console"

# Guest part: from "@@SUITE-BEGIN" (or the start, if an init without that
# marker ran) to "@@SUITE-EXIT".
has_begin=0
if grep -q '@@SUITE-BEGIN' "$console"; then has_begin=1; fi
awk -v L="[$label]" -v has_begin="$has_begin" -v tap="$([[ $mode != check ]] || echo 1)" '
	BEGIN { in_suite = !has_begin; nres = 0; plan = 0; ndiag = 0 }
	/@@SUITE-BEGIN/ { in_suite = 1; nres = 0; plan = 0; ndiag = 0; next }
	/^@@SUITE-EXIT [0-9-]+@@/ { exit_seen = 1; rc = $2; sub(/@@$/, "", rc); in_suite = 0; next }
	# The guest watchdog'"'"'s dump (kernel log lines, "[ time] ...") may
	# interleave with results of a suite that is slow, not stuck.
	/^@@WATCHDOG(-END)?[ @]/ { watchdog = 1; next }
	!in_suite || !tap { next }
	/^1\.\.[0-9]+/ { p = $0; sub(/^1\.\./, "", p); plan += p + 0; planned = 1; next }
	/^#/ { diag[ndiag++ % 20] = $0; next }
	/^(not )?ok [0-9]+/ {
		nres++
		if ($0 ~ /^not ok/ && $0 !~ /# *(SKIP|TODO)/) {
			first = ndiag > 20 ? ndiag - 20 : 0
			for (i = first; i < ndiag; i++) print "      " diag[i % 20]
		}
		ndiag = 0
		print L " " $0
		next
	}
	END {
		if (!exit_seen)
			print L " not ok - guest suite finished (no @@SUITE-EXIT marker: hang, crash or panic; see console log" \
				(watchdog ? ", where the guest watchdog dumped its tasks" : "") ")"
		else if (rc != 0)
			print L " not ok - guest suite exit status is 0 (got " rc ")"
		if (tap && exit_seen && planned && nres != plan)
			print L " not ok - guest suite ran its " plan " planned tests (got " nres " results)"
		if (tap && exit_seen && !planned && nres == 0)
			print L " not ok - guest suite reported at least one TAP result"
	}
' "$console"

# dmesg: the dump between the markers; without one (guest died), the
# console itself, where panics and BUG/Oops still show at loglevel 3.
awk '/^@@DMESG-BEGIN@@/ { on = 1; next } /^@@DMESG-END@@/ { on = 0 } on' "$console" >"$dmesg_txt"
if [[ -s $dmesg_txt ]]; then
	scan=$dmesg_txt
	what="dmesg has no kernel splat"
else
	scan=$console
	what="no kernel splat on the console (guest gave no dmesg dump)"
fi

# KCSAN. Every report is one block, "BUG: KCSAN: <kind> in f / g" up to the
# "=====" line that closes it, so splat.re's "BUG:" catches each one; but a
# KCSAN kernel reports races everywhere in the kernel, most of them in code
# that is not ours (and strict mode, which kcsan-kernel.config uses, finds
# more of them). Those must not fail our run, and must not be dropped
# unseen either. So the blocks are cut out of the splat scan and judged
# here: a report is ours when one of its stack traces has a frame in one
# of our modules, which %pS prints as "func+0x1/0x2 [module]" (for a race
# inside the core kernel that our module's call led to, too); ours fail the
# run, the others are counted and their titles shown as TAP diagnostics.
# An access made "by interrupt" has the interrupted task's frames below the
# interrupt's entry (asm_sysvec_*, asm_common_interrupt, asm_exc_* on
# x86-64; el1h_64_irq and the like on arm64): those frames did not lead to
# the access - a timer interrupt that lands in our vmap is not our race -
# so a stack is read only down to that entry.
# Matched by module name, not symbol prefixes: the module names are fixed
# by the build, symbols come and go. On a kernel without KCSAN nothing
# matches and the splat scan below sees the whole log, as before.
our_mods='dmabuf_revoke_shim|dmabuf_revoke_heap|vfio_revoke_exporter|iommufd_importer_test'
kcsan_txt="$outdir/kcsan.txt"
scan_rest="$outdir/splat-scan.txt"
awk -v mods="$our_mods" -v all="$kcsan_txt" -v rest="$scan_rest" '
	function flush() {
		if (!n) return
		print (mine ? "ours" : "other") "\t" title >meta
		print "@@KCSAN-REPORT " (mine ? "ours" : "other") "@@" >all
		for (i = 0; i < n; i++) print blk[i] >all
		n = 0; mine = 0
	}
	BEGIN {
		ours = "\\[(" mods ")\\]"
		meta = all ".idx"; printf "" >meta; printf "" >all; printf "" >rest
	}
	/BUG: KCSAN: / {
		flush()
		title = $0; sub(/^.*BUG: KCSAN: /, "", title)
		blk[n++] = $0; mine = 0; below_irq = 0; inblk = 1; next
	}
	inblk {
		blk[n++] = $0
		# Each access opens a stack: "<type> to 0x... of N bytes by ...",
		# whatever KCSAN says of its type ("read-write (marked)",
		# "(reordered)" with CONFIG_KCSAN_WEAK_MEMORY, "race at unknown
		# origin, with read ...").
		if ($0 ~ / to 0x[0-9a-f]+ of [0-9]+ bytes by /)
			below_irq = 0
		if (!below_irq && $0 ~ ours) mine = 1
		if ($0 ~ / (asm_(sysvec|common_interrupt|exc)_|el1h_64_(irq|fiq)|el0t_64_(irq|fiq))/)
			below_irq = 1
		# The closing rule; a block without one (log cut short) ends at EOF.
		if ($0 ~ /==========================/) { flush(); inblk = 0 }
		next
	}
	{ print >rest }
	END { flush() }
' "$scan"
kcsan_kernel=0
if grep -qE 'kcsan: (enabled early|strict mode configured|non-strict mode configured)' "$scan" ||
	[[ -s $kcsan_txt.idx ]]; then
	kcsan_kernel=1
fi

# grep's exit status 1 (no match) is the good case, not an error.
hits=$(grep -E -- "$splat_re" "$scan_rest" || true)
if [[ -n $ignore_re && -n $hits ]]; then
	hits=$(grep -Ev -- "$ignore_re" <<<"$hits" || true)
fi
if [[ -n $hits ]]; then
	echo "[$label] not ok - $what ($(wc -l <<<"$hits") matching lines)"
	# The first lines of each splat say what and where; cap the noise.
	sed -n '1,40s/^/      /p' <<<"$hits"
else
	echo "[$label] ok - $what"
fi

if ((kcsan_kernel)); then
	what="KCSAN reports no data race involving our modules"
	nours=$(grep -c '^ours' "$kcsan_txt.idx" || true)
	nother=$(grep -c '^other' "$kcsan_txt.idx" || true)
	if ((nours > 0)); then
		echo "[$label] not ok - $what ($nours reports; all in $kcsan_txt)"
		# Whole reports (both stacks say where), the first few.
		awk '/^@@KCSAN-REPORT / { on = ($2 == "ours@@"); if (on) k++; next }
			on && k <= 4' "$kcsan_txt" | sed -n '1,160s/^/      /p'
	else
		echo "[$label] ok - $what"
	fi
	if ((nother > 0)); then
		echo "# [$label] KCSAN: $nother data-race reports outside our modules (core kernel; shown, not failing; all in $kcsan_txt):"
		# Titles with how often each came (one per race per
		# KCSAN_REPORT_ONCE_IN_MS), most frequent first.
		awk -F '\t' '$1 == "other" { print $2 }' "$kcsan_txt.idx" | sort | uniq -c |
			sort -rn | sed -n '1,30s/^ *\([0-9]*\) \(.*\)/#   BUG: KCSAN: \2 (x\1)/p'
	fi
fi
rm -f "$kcsan_txt.idx" "$scan_rest"
# KCSAN's counters (scripts/guest/init): proof it was watching at all, and
# data_races also counts the races rate-limiting kept out of the log.
if grep -q '^@@KCSAN-STATS-BEGIN@@' "$console"; then
	stats=$(awk '/^@@KCSAN-STATS-BEGIN@@/ { on = 1; next } /^@@KCSAN-STATS-END@@/ { on = 0 }
		on && /^(enabled|setup_watchpoints|data_races|assert_failures|races_unknown_origin|no_capacity): / {
			printf "%s%s %s", sep, $1, $2; sep = ", " }' "$console" | tr -d ':')
	echo "# [$label] KCSAN counters after the suite: ${stats:-none (reading them failed)}"
fi
if [[ ! -s $kcsan_txt ]]; then rm -f "$kcsan_txt"; fi

# kmemleak: the guest's report after the suite (scripts/guest/init), only
# on kernels that have kmemleak. Its reports go to debugfs, not to dmesg.
if grep -q '^@@KMEMLEAK-BEGIN@@' "$console"; then
	kml="$outdir/kmemleak.txt"
	awk '/^@@KMEMLEAK-BEGIN@@/ { on = 1; next } /^@@KMEMLEAK-END@@/ { on = 0 } on' "$console" >"$kml"
	nleak=$(grep -c 'unreferenced object' "$kml" || true)
	what="kmemleak reports no leak after the suite"
	if ((nleak > 0)); then
		echo "[$label] not ok - $what ($nleak unreferenced objects; all in $kml)"
		sed -n '1,200s/^/      /p' "$kml"
	elif grep -q '^kmemleak-error:' "$kml"; then
		echo "[$label] not ok - $what (the scan failed)"
		sed 's/^/      /' "$kml"
	elif ! grep -q '^@@KMEMLEAK-END@@' "$console"; then
		echo "[$label] not ok - $what (the scan never finished: hang or crash)"
	else
		echo "[$label] ok - $what"
	fi
fi
