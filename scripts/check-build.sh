#!/usr/bin/env bash
# check-build.sh [--probes-only] LABEL KERNEL_ENV DKMS_WORKDIR MODULES_DIR
#
# Checks of one kernel's DKMS build, as report lines "[LABEL] ok|not ok - ..."
# on stdout (counted by check.sh), details indented below a failure:
#
#   compile probes  the "probe: DMABUF_REVOKE_HAVE_X=y|n" lines the modules'
#                   Makefile printed into DKMS's make.log must equal
#                   compat/expected/LABEL (one such line per probe, any
#                   order). A probe that silently answers wrong for a kernel,
#                   or a new probe without an expectation, fails here.
#   modinfo         per installed module: name = file name, version = the
#                   package's, vermagic = the kernel's (release KVER; SMP /
#                   preempt / preempt_rt / mod_unload / modversions as its
#                   .config says; and, when the image's own modules are at
#                   hand, exactly theirs), and every "depends" entry is one
#                   of ours or a module of that kernel.
# --probes-only: just the probe check (after a failed build the make.log
# still has the probe lines).
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

probes_only=0
if [[ ${1:-} == --probes-only ]]; then
	probes_only=1
	shift
fi
usage="usage: check-build.sh [--probes-only] LABEL KERNEL_ENV DKMS_WORKDIR MODULES_DIR"
label=${1:?$usage}
kernel_env=${2:?$usage}
work=${3:?$usage}
mods=${4:?$usage}
# shellcheck disable=SC1090
. "$kernel_env"
kdir_host=${KDIR_HOST:-$KDIR}

ok() { printf '[%s] ok - %s\n' "$label" "$*"; }
notok() { printf '[%s] not ok - %s\n' "$label" "$*"; }
indent() { sed 's/^/      /'; }
# words STRING: its words, single-spaced.
words() {
	local w
	read -r -a w <<<"$*"
	printf '%s' "${w[*]}"
}

# --- compile probes ----------------------------------------------------------
expected="$REPO_ROOT/compat/expected/$label"
what="compile probes match compat/expected/$label"
# DKMS moves make.log under tree/NAME/VER/KVER/ARCH/log after a good build
# and leaves it in tree/NAME/VER/build after a failed one.
mapfile -t logs < <(find "$work/tree" -name make.log 2>/dev/null | sort)
actual=
if ((${#logs[@]})); then
	actual=$(grep -h -o '^probe: DMABUF_REVOKE_HAVE_[A-Z0-9_]*=[yn]' "${logs[@]}" |
		sed 's/^probe: //' | LC_ALL=C sort -u || true)
fi
if [[ -z $actual ]]; then
	notok "$what (no \"probe:\" lines in DKMS's make.log${logs:+ ${logs[0]}})"
elif [[ ! -f $expected ]]; then
	notok "$what (no such file; this build's answers, to check against the kernel's sources before adding them:)"
	indent <<<"$actual"
else
	want=$(grep -E '^[A-Z]' "$expected" | LC_ALL=C sort -u)
	if [[ $want == "$actual" ]]; then
		ok "$what ($(wc -l <<<"$actual") probes)"
	else
		notok "$what (- expected, + this build)"
		diff -U0 <(printf '%s\n' "$want") <(printf '%s\n' "$actual") |
			sed -n '/^[-+]DMABUF/p' | indent
	fi
fi
((probes_only)) && exit 0

# --- modinfo -------------------------------------------------------------------
version=
[[ -f $mods/.package ]] && read -r _ version <"$mods/.package"

# The vermagic this kernel's modules carry, from its .config and the rules
# of its own include/linux/vermagic.h: "KVER SMP preempt mod_unload
# modversions ". (The preempt word's rule changed: 6.1 and 6.12 test
# PREEMPT_BUILD before PREEMPT_RT - their -rt kernels say "preempt" - and
# 7.x tests PREEMPT_RT first; so read the order, do not assume it.)
config=
for c in "$kdir_host/.config" "$KMODDIR/config" "$KROOT/boot/config-$KVER"; do
	[[ -f $c ]] && config=$c && break
done
cfg() { [[ -n $config ]] && grep -q "^CONFIG_$1=y" "$config"; }
# The source tree the headers' Makefile includes (Debian: ...-common[-rt]).
srcdir=$(sed -n 's|^include \(/.*\)/Makefile$|\1|p' "$kdir_host/Makefile" | sed -n 1p)
if [[ -n $srcdir && -n ${KCHROOT:-} && $srcdir != "$KCHROOT"/* ]]; then
	srcdir=$KCHROOT$srcdir
fi
vermagic_h=
for d in "$kdir_host" "$srcdir"; do
	[[ -n $d && -f $d/include/linux/vermagic.h ]] && vermagic_h=$d/include/linux/vermagic.h && break
done
expect_magic="$KVER "
cfg SMP && expect_magic+="SMP "
preempt_rules=$([[ -z $vermagic_h ]] || awk '
	/^#(ifdef|if|elif)/ && match($0, /CONFIG_[A-Z0-9_]+/) { c = substr($0, RSTART + 7, RLENGTH - 7); next }
	/^#define MODULE_VERMAGIC_PREEMPT "[a-z_]+ *"/ && c != "" {
		w = $0; sub(/^[^"]*"/, "", w); sub(/ *".*/, "", w); print c, w; c = ""
	}' "$vermagic_h")
if [[ -z $preempt_rules ]]; then
	preempt_rules=$'PREEMPT_BUILD preempt\nPREEMPT_RT preempt_rt'
fi
while read -r c w; do
	if cfg "$c"; then
		expect_magic+="$w "
		break
	fi
done <<<"$preempt_rules"
cfg MODULE_UNLOAD && expect_magic+="mod_unload "
cfg MODVERSIONS && expect_magic+="modversions "
# MODULE_ARCH_VERMAGIC: x86-64 has none, arm64 says its name.
[[ ${KARCH:-amd64} == arm64 ]] && expect_magic+="aarch64 "
# Exactly what the kernel's own modules say, where we have them.
image_magic='' image_mod=''
if [[ -f $KMODDIR/modules.order ]]; then
	while read -r m; do
		for f in "$KMODDIR/$m" "$KMODDIR/$m".{xz,zst,gz}; do
			[[ -f $f ]] && image_mod=$f && break 2
		done
	done <"$KMODDIR/modules.order"
	[[ -n $image_mod ]] && image_magic=$(modinfo -F vermagic "$image_mod")
fi
# The flavour named in the release must be what the config built: an -rt
# kernel really is PREEMPT_RT.
flavour_err=
if [[ $KVER == *-rt-* ]] && ! cfg PREEMPT_RT; then
	flavour_err="$KVER is an -rt flavour but ${config:-its config} has no CONFIG_PREEMPT_RT=y"
fi

# Module names this kernel provides: its modules (image), else the headers'
# Module.symvers (exported symbols' owners: enough for `depends`).
declare -A kmods=()
if [[ -f $KMODDIR/modules.dep ]]; then
	while IFS=: read -r path _; do
		b=${path##*/}
		b=${b%%.ko*}
		kmods[${b//-/_}]=1
	done <"$KMODDIR/modules.dep"
elif [[ -f $kdir_host/Module.symvers ]]; then
	while IFS=$'\t' read -r _ _ path _; do
		b=${path##*/}
		kmods[${b//-/_}]=1
	done <"$kdir_host/Module.symvers"
fi

mapfile -t kos < <(find "$mods" -name '*.ko*' | sort)
declare -A ours=()
for ko in "${kos[@]}"; do
	b=${ko##*/}
	b=${b%%.ko*}
	ours[${b//-/_}]=1
done
if ((${#kos[@]} == 0)); then
	notok "modinfo: DKMS installed at least one module"
	exit 0
fi
for ko in "${kos[@]}"; do
	file=${ko##*/}
	base=${file%%.ko*}
	errs=()
	mname=$(modinfo -F name "$ko")
	mver=$(modinfo -F version "$ko")
	magic=$(modinfo -F vermagic "$ko")
	# modinfo prints the field even when empty; its absence is an error.
	if ! modinfo "$ko" | grep -q '^depends:'; then
		errs+=("no depends field")
	fi
	deps=$(modinfo -F depends "$ko")
	[[ $mname == "${base//-/_}" ]] || errs+=("name '$mname' is not the file's '$base'")
	[[ -z $version || $mver == "$version" ]] || errs+=("version '$mver', the package is '$version'")
	[[ -n $mver ]] || errs+=("no version field")
	# vermagic fields are space-separated with a trailing space; compare
	# word lists.
	magic_w=$(words "$magic")
	if [[ $magic_w != "$(words "$expect_magic")" ]]; then
		errs+=("vermagic '$magic_w', expected '$(words "$expect_magic")' (release + ${config:-no config found})")
	fi
	if [[ -n $image_magic && $magic_w != "$(words "$image_magic")" ]]; then
		errs+=("vermagic '$magic_w' differs from the kernel's own '${image_mod##*/}': '$(words "$image_magic")'")
	fi
	[[ -z $flavour_err ]] || errs+=("$flavour_err")
	IFS=, read -r -a dl <<<"$deps"
	for d in "${dl[@]}"; do
		[[ -n $d ]] || continue
		if [[ -z ${ours[${d//-/_}]:-} && ${#kmods[@]} -gt 0 && -z ${kmods[${d//-/_}]:-} ]]; then
			errs+=("depends on '$d', which is neither ours nor a module of $KVER")
		fi
	done
	summary="name $mname, version $mver, vermagic '$magic_w', depends '${deps}'"
	if ((${#errs[@]})); then
		notok "modinfo $file: $summary"
		printf '%s\n' "${errs[@]}" | indent
	else
		ok "modinfo $file: $summary"
	fi
done
