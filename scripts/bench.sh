#!/usr/bin/env bash
# bench.sh [KERNELS...]
#
# `make bench`: what the shim costs, measured side by side in one VM run
# per kernel (README "Performance"; default kernel: $KERNELS, else 6.1),
# and that BENCH_BOOTS times (default 3): under TCG each boot of the same
# build moves the shim's costs by more than the spread inside one boot
# (where things land in memory; KASLR alone does not explain it:
# docs/performance.md, "One build, many boots"), so the verdict is on the
# median over the boots.
# Each boot runs `check.sh --bench`: the same fetch / DKMS / initramfs /
# boot steps as `make check`, but the guest runs tests/guest/bench.sh
# (revoke_bench, from tests/bench/) instead of the suite, its output
# streamed live. Then, per kernel and boot, it extracts the files the guest
# printed between "@@BENCH-FILE NAME@@" and "@@BENCH-FILE-END@@" on the
# console into the run's directory (RUN_DIR[/boot-B]/KERNEL/bench/) and into
#   $CACHE_DIR/bench-results/STAMP/KERNEL/[boot-B/]  (boot-B/: BENCH_BOOTS > 1)
#     table.txt      the terminal table (printed again at the end)
#     summary.csv    metric,param,median,min,max,unit,target,verdict
#     samples.csv    every sample: section,case,variant,param,repeat,value,unit
#     results.json   the summary with the run's metadata
#     targets.tsv    the Targets table: what,op,limit,unit,measured,verdict
#     revoke-latency.png  revoke latency vs attachments (dynamic, with the
#                    fits, and the static control), drawn with gnuplot from
#                    summary.csv via revoke-attachments.dat, revoke-static.dat
#     revoke-mappings.png  revoke latency vs user mappings (0 to 1000), with
#                    its fit, via revoke-mappings.dat
#     console.txt    the guest's console
# and, with more than one boot, in KERNEL/ itself:
#     boots.txt      every target's measurement in each boot, their median
#                    and the verdict on it, then each boot's control row and
#                    the ratios whose repeats spread by more than 20% (a
#                    disturbed boot; printed at the end)
#     boots.tsv      the table: what,op,limit,unit,boot 1..B,median,verdict
# ($CACHE_DIR/bench-results/latest points at the newest run with results;
# the 20 newest are kept). gnuplot-nox is installed from the archive if
# missing.
#
# Env: KERNELS, BENCH_BOOTS (boots per kernel, default 3; 1: one boot, the
#      verdict of its own table; odd: the median of two is their mean),
#      BENCH_REPEATS (samples per point, default 9, at least 5),
#      BENCH_SAMPLE_MS (wall time per sample, default 100), BENCH_QUICK=1
#      (a short smoke run), BENCH_SECTIONS (only these sections of
#      revoke_bench, comma-separated: hot,revoke,memory,scaling,batch),
#      VM_TIMEOUT (default 1800), VM_SMP (keep 2: the scaling case needs
#      two vCPUs), and whatever check.sh reads.
# Exit: non-zero when a kernel's benchmark did not run to its end.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

kernels=()
for arg in "$@"; do
	case $arg in
	-h | --help)
		sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"
		exit 0
		;;
	-*) die "unknown option $arg (try --help)" ;;
	*) kernels+=("$arg") ;;
	esac
done
if ((${#kernels[@]} == 0)); then
	read -r -a kernels <<<"${KERNELS:-6.1}"
fi

boots=${BENCH_BOOTS:-3}
[[ $boots =~ ^[1-9][0-9]?$ ]] ||
	die "BENCH_BOOTS must be a number from 1 to 99 (got '$boots')"

ensure_pkgs gnuplot-nox

# The knobs reach the guest's environment through the kernel command line.
guest_env=${GUEST_ENV:-}
[[ -z ${BENCH_QUICK:-} ]] || guest_env+=" BENCH_QUICK=$BENCH_QUICK"
[[ -z ${BENCH_REPEATS:-} ]] || guest_env+=" BENCH_REPEATS=$BENCH_REPEATS"
[[ -z ${BENCH_SAMPLE_MS:-} ]] || guest_env+=" BENCH_SAMPLE_MS=$BENCH_SAMPLE_MS"
[[ -z ${BENCH_SECTIONS:-} ]] || guest_env+=" BENCH_SECTIONS=$BENCH_SECTIONS"
export GUEST_ENV=$guest_env
# The memory section attributes slab objects to caches by name: without
# merging, the shim's caches show under their own names, not as another
# cache of the same object size. Merging changes where an object lives,
# not how much memory it takes, for plain and managed alike.
export KCMDLINE_EXTRA="${KCMDLINE_EXTRA:-} slab_nomerge"
# A full run takes a few minutes of guest time under TCG; leave headroom
# for a busy host.
export VM_TIMEOUT=${VM_TIMEOUT:-1800}

stamp=$(date +%Y%m%d-%H%M%S)
# Named like check.sh's own runs, so its pruning keeps the runs dir small.
run_dir=$CACHE_DIR/runs/$stamp-$$
results_root=$CACHE_DIR/bench-results
results=$results_root/$stamp
mkdir -p "$run_dir" "$results"

# boot_dir ROOT B: where boot B's files go under ROOT.
boot_dir() {
	if ((boots == 1)); then echo "$1"; else echo "$1/boot-$2"; fi
}

# The boots take turns over the kernels (6.1, 7.2, 6.1, 7.2, ...), so a
# host that slows down for a while hits every kernel, not one.
rc=0
for ((b = 1; b <= boots; b++)); do
	((boots == 1)) || echo "# bench: boot $b of $boots"
	brc=0
	RUN_DIR=$(boot_dir "$run_dir" "$b") "$SCRIPTS_DIR/check.sh" --bench \
		"${kernels[@]}" || brc=$?
	if ((brc == 130)); then
		rmdir "$results" 2>/dev/null || true
		exit 130
	fi
	((brc == 0)) || rc=$brc
done

# extract CONSOLE DIR: the @@BENCH-FILE blocks into DIR/NAME.
extract() {
	mkdir -p "$2"
	awk -v dir="$2" '
		/^@@BENCH-FILE [A-Za-z0-9._-]+@@$/ {
			name = $2; sub(/@@$/, "", name); out = dir "/" name
			printf "" >out; next
		}
		/^@@BENCH-FILE-END@@$/ { if (out != "") close(out); out = ""; next }
		out != "" { print >out }
	' "$1"
}

# summary_value FILE METRIC [PARAM]: the median column of one summary row.
summary_value() {
	awk -F, -v m="$2" -v p="${3:-}" \
		'$1 == m && (p == "" || $2 == p) { print $3; exit }' "$1"
}

# series DIR METRIC FILE: a revoke series' points (n > 0, for log axes)
# as "n median min max" lines.
series() {
	awk -F, -v m="$2" '$1 == m && $2 > 0 { print $2, $3, $4, $5 }' \
		"$1/summary.csv" >"$1/$3"
}

# gp_axes PNG TITLE XLABEL DAT: what both plots share - log axes from 0.7
# to 1500, and a y range that starts below DAT's smallest minimum (a fit
# that goes negative must not set the scale).
gp_axes() {
	local ymin
	ymin=$(awk 'NR == 1 || $3 < m { m = $3 } END { print m / 2 }' "$4")
	cat <<-EOF
		set terminal pngcairo size 960,640 font ",11"
		set output "$1"
		set title "dmabuf-revoke: $2"
		set xlabel "$3"
		set ylabel "DMABUF\\\\_REVOKE\\\\_IOC\\\\_REVOKE latency (us)"
		set logscale xy
		set grid
		set key top left box opaque
		set xrange [0.7:1500]
		set yrange [$ymin:*]
		set samples 400
	EOF
}

# plot DIR KERNEL: revoke latency vs attachments, with the linear fit, and
# the static-attachment control (nothing unmaps during those revokes).
plot() {
	local dir=$1 k=$2 a b qa qb qc
	series "$dir" revoke.attachments revoke-attachments.dat
	series "$dir" revoke.static_attachments revoke-static.dat
	[[ -s $dir/revoke-attachments.dat ]] || return 1
	a=$(summary_value "$dir/summary.csv" revoke.attachments.fit_fixed)
	b=$(summary_value "$dir/summary.csv" revoke.attachments.fit_per_item)
	qa=$(summary_value "$dir/summary.csv" revoke.attachments.quad_a)
	qb=$(summary_value "$dir/summary.csv" revoke.attachments.quad_b)
	qc=$(summary_value "$dir/summary.csv" revoke.attachments.quad_c)
	{
		gp_axes "$dir/revoke-latency.png" \
			"revoke latency vs attachments (kernel $k, QEMU TCG)" \
			"attachments of the buffer" "$dir/revoke-attachments.dat"
		cat <<-EOF
			a = $a; b = $b; qa = $qa; qb = $qb; qc = $qc
			lin(x) = a + b * x
			quad(x) = qa + qb * x + qc * x * x
			plot "$dir/revoke-attachments.dat" using 1:2:3:4 with yerrorbars \\
				pt 7 ps 1.2 lc rgb "#1f4e9c" \\
				title "dynamic attachments, unmapping in move\\\\_notify: median, min-max", \\
				lin(x) lw 2 lc rgb "#c0392b" \\
				title sprintf("least squares: %.0f us + %.2f us x n", a, b), \\
				quad(x) lw 1 dt 2 lc rgb "#555555" \\
				title sprintf("with n^2 term: %.4f us x n^2", qc), \\
				"$dir/revoke-static.dat" using 1:2:3:4 with yerrorbars \\
				pt 6 ps 1.2 lc rgb "#2e8b57" \\
				title "control: static attachments (nothing unmaps)"
		EOF
	} | gnuplot
}

# plot_mappings DIR KERNEL: revoke latency vs user mappings, with its fit.
plot_mappings() {
	local dir=$1 k=$2 a b
	series "$dir" revoke.mappings revoke-mappings.dat
	[[ -s $dir/revoke-mappings.dat ]] || return 1
	a=$(summary_value "$dir/summary.csv" revoke.mappings.fit_fixed)
	b=$(summary_value "$dir/summary.csv" revoke.mappings.fit_per_item)
	{
		gp_axes "$dir/revoke-mappings.png" \
			"revoke latency vs user mappings (kernel $k, QEMU TCG)" \
			"user mappings of the buffer (MAP\\\\_SHARED, each touched)" \
			"$dir/revoke-mappings.dat"
		cat <<-EOF
			a = $a; b = $b
			lin(x) = a + b * x
			plot "$dir/revoke-mappings.dat" using 1:2:3:4 with yerrorbars \\
				pt 7 ps 1.2 lc rgb "#1f4e9c" \\
				title "user mappings, zapped by the revoke: median, min-max", \\
				lin(x) lw 2 lc rgb "#c0392b" \\
				title sprintf("least squares: %.0f us + %.2f us x n", a, b)
		EOF
	} | gnuplot
}

# across_boots KERNEL_DIR: boots.txt and boots.tsv from each boot's
# targets.tsv - every target's measurement per boot, their median (the
# mean of the middle two for an even count) and the verdict on it.
across_boots() {
	local dir=$1 f b n=0
	for ((b = 1; b <= boots; b++)); do
		[[ -s $dir/boot-$b/targets.tsv ]] && n=$((n + 1))
	done
	((n)) || return 1
	# One stream, each row led by its boot (a boot without results keeps
	# its column, empty).
	for ((b = 1; b <= boots; b++)); do
		f=$dir/boot-$b/targets.tsv
		if [[ -s $f ]]; then
			awk -v b="$b" 'NR > 1 { print b "\t" $0 }' "$f"
		fi
	done | awk -F'\t' -v boots="$boots" -v tsv="$dir/boots.tsv" '
		{
			nb = $1; $0 = substr($0, index($0, "\t") + 1)
			if (!($1 in seen)) {
				seen[$1] = ++n; name[n] = $1
				op[n] = $2; lim[n] = $3; unit[n] = $4
			}
			v[seen[$1], nb] = $5
		}
		function fmt(i, x) {
			return sprintf(unit[i] == "x" ? "%.3f" : "%.0f", x)
		}
		END {
			printf "what\top\tlimit\tunit" >tsv
			for (b = 1; b <= boots; b++) printf "\tboot %d", b >tsv
			printf "\tmedian\tverdict\n" >tsv
			printf "  %-36s %-10s", "what", "target"
			for (b = 1; b <= boots; b++) printf " %7s", "boot " b
			printf "  %-8s %s\n", "median", "verdict"
			for (i = 1; i <= n; i++) {
				k = 0
				printf "%s\t%s\t%s\t%s", name[i], op[i], lim[i], \
					unit[i] >tsv
				line = sprintf("  %-36s %-10s", name[i], op[i] " " \
					(unit[i] == "x" ? sprintf("%.2f", lim[i]) : \
					 lim[i] " ") unit[i])
				for (b = 1; b <= boots; b++) {
					x = v[i, b]
					printf "\t%s", x >tsv
					line = line sprintf(" %7s", x == "" ? "-" : fmt(i, x))
					if (x == "") continue
					# insertion sort: a handful of boots
					for (j = ++k; j > 1 && s[j - 1] > x + 0; j--)
						s[j] = s[j - 1]
					s[j] = x + 0
				}
				if (k == 0 || (op[i] != "<=" && op[i] != ">=")) {
					printf "\t\tn/a\n" >tsv
					print line "  -        not measured"
					continue
				}
				med = k % 2 ? s[(k + 1) / 2] : (s[k / 2] + s[k / 2 + 1]) / 2
				met = op[i] == "<=" ? med <= lim[i] : med >= lim[i]
				printf "\t%.6g\t%s\n", med, (met ? "met" : "missed") >tsv
				verdict = met ? "met" : sprintf("MISSED by %+.1f%%", \
					100 * (med / lim[i] - 1))
				printf "%s  %-8s %s\n", line, fmt(i, med) \
					(unit[i] == "x" ? "" : " ") unit[i], verdict
			}
		}' >"$dir/boots.txt"
	# How quiet each boot was: the control row (hot section), measured
	# first, and the ratios whose repeats spread by more than 20% (the
	# host took a vCPU away for a while; a quiet boot spreads 0-5%).
	{
		printf '  quiet boots read the control (resv lock+unlock) 1.00 and spread their ratios by <= 20%%:\n'
		for ((b = 1; b <= boots; b++)); do
			f=$dir/boot-$b/summary.csv
			[[ -s $f ]] || continue
			awk -F, -v b="$b" '
				$1 == "hot.lock.ratio" {
					c = sprintf("%.2f [%.2f-%.2f]", $3, $4, $5)
				}
				$6 == "x" && $1 ~ /\.ratio$/ && $4 > 0 && $5 / $4 > 1.2 {
					w = w sprintf("%s %s", n++ ? "," : "", $1)
				}
				END {
					printf "    boot %d: control %s; ", b, c == "" ? "-" : c
					if (n) printf "%d ratio(s) spread by > 20%% - disturbed:%s\n", n, w
					else print "no ratio spread by > 20%"
				}' "$f"
		done
	} >>"$dir/boots.txt"
}

failed=0 have=0
for k in "${kernels[@]}"; do
	kept=0
	for ((b = 1; b <= boots; b++)); do
		kb=$k
		((boots == 1)) || kb="$k, boot $b"
		console=$(boot_dir "$run_dir" "$b")/$k/console.txt
		bench=$(boot_dir "$run_dir" "$b")/$k/bench
		out=$(boot_dir "$results/$k" "$b")
		if [[ ! -s $console ]]; then
			echo "[$kb] not ok - benchmark ran (no console log; see above)"
			failed=$((failed + 1))
			continue
		fi
		extract "$console" "$bench"
		if [[ ! -s $bench/summary.csv ]]; then
			echo "[$kb] not ok - benchmark printed its results (see $console)"
			failed=$((failed + 1))
			continue
		fi
		mkdir -p "$out"
		kept=$((kept + 1))
		cp -a "$bench/." "$out/"
		cp -a "$console" "$out/console.txt"
		if ! grep -q '^revoke\.attachments,' "$out/summary.csv"; then
			: # BENCH_SECTIONS left the revoke section out: nothing to plot
		elif plot "$out" "$k" >"$out/gnuplot.log" 2>&1 &&
			plot_mappings "$out" "$k" >>"$out/gnuplot.log" 2>&1; then
			cp -a "$out/revoke-latency.png" "$out/revoke-mappings.png" \
				"$bench/"
		else
			echo "[$kb] not ok - revoke latency plot (gnuplot: $out/gnuplot.log)"
			failed=$((failed + 1))
		fi
		echo
		echo "==== [$kb] results ($out) ===="
		cat "$out/table.txt"
	done
	((kept)) || continue
	have=$((have + 1))
	((boots > 1)) || continue
	if ! across_boots "$results/$k"; then
		echo "[$k] not ok - the boots printed their targets (targets.tsv)"
		failed=$((failed + 1))
	fi
done
# With several boots, their verdicts come last, one kernel after another.
for k in "${kernels[@]}"; do
	[[ -s $results/$k/boots.txt ]] || continue
	echo
	echo "==== [$k] across $boots boots: each boot's median, the verdict on their median ($results/$k/boots.txt) ===="
	cat "$results/$k/boots.txt"
done

if ((have)); then
	ln -sfn "$results" "$results_root/latest"
else
	rmdir "$results" 2>/dev/null || true
fi
mapfile -t old < <(find "$results_root" -mindepth 1 -maxdepth 1 -type d | sort | head -n -20)
((${#old[@]} == 0)) || rm -rf "${old[@]}"

echo
echo "# bench results: $results (latest: $results_root/latest)"
echo "# run dir: $run_dir"
if ((rc != 0 || failed != 0)); then
	echo "# bench: did not complete (check.sh exit $rc, $failed kernel(s) without results)"
	exit 1
fi
