#!/usr/bin/env bash
# dkms-build.sh PROFILE KERNEL_ENV WORKDIR OUTDIR
#
# Build and install the repo's DKMS package for one kernel the way a user's
# machine does (dkms add / build / install), but with DKMS's source, build
# and install trees under WORKDIR so the host's /usr/src, /var/lib/dkms and
# /lib/modules are never touched. Copies the installed module tree
# (updates/dkms/*.ko, relative to lib/modules/KVER) to OUTDIR.
#
# Exit status: 0 built, 3 the repo has no dkms.conf yet (nothing to build),
# anything else: failure (DKMS's make.log has been printed).
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
# shellcheck source=scripts/lib/kernel-debs.sh
. "$SCRIPTS_DIR/lib/kernel-debs.sh"

usage="usage: dkms-build.sh PROFILE KERNEL_ENV WORKDIR OUTDIR"
profile=${1:?$usage}
kernel_env=${2:?$usage}
work=${3:?$usage}
out=${4:?$usage}
# shellcheck source=scripts/kernels/6.1.sh
. "$SCRIPTS_DIR/kernels/$profile.sh"
# KVER, KDIR, ... written by fetch-kernel.sh
# shellcheck disable=SC1090
. "$kernel_env"

# What belongs to the DKMS package: package_files (lib/common.sh), i.e. the
# repo as git sees it minus tests/, scripts/, .ci/ ... ($DKMS_EXCLUDE_PATHS).

if [[ ! -f $REPO_ROOT/dkms.conf ]]; then
	say "no dkms.conf in $REPO_ROOT: no modules to build yet"
	exit 3
fi

# Name and version exactly as DKMS will see them: source dkms.conf the way
# dkms does (bash, with $kernelver set), in a subshell.
read_conf() {
	(
		set +eu
		# shellcheck disable=SC2034 # dkms.conf may use it, as under dkms
		kernelver=$KVER
		# shellcheck disable=SC1091
		. "$REPO_ROOT/dkms.conf" >/dev/null 2>&1
		printf '%s\n%s\n' "${PACKAGE_NAME:-}" "${PACKAGE_VERSION:-}"
	)
}
{
	read -r name
	read -r version
} < <(read_conf)
[[ -n $name ]] || die "dkms.conf sets no PACKAGE_NAME"
[[ -n $version ]] || die "dkms.conf sets no PACKAGE_VERSION"
if [[ -f $REPO_ROOT/VERSION && $(<"$REPO_ROOT/VERSION") != "$version" ]]; then
	say "warning: dkms.conf says version $version, VERSION says $(<"$REPO_ROOT/VERSION")"
fi

profile_prepare

srctree="$work/source"
dkmstree="$work/tree"
insttree="$work/install"
rm -rf "$work"
mkdir -p "$srctree/$name-$version" "$dkmstree" "$insttree/$KVER"

# Stage the package sources (what `dkms add` would find under /usr/src).
nfiles=$(stage_package_files "$srctree/$name-$version")
say "staged $nfiles files of $name-$version into $srctree"

trees=(--dkmstree "$dkmstree" --sourcetree "$srctree" --installtree "$insttree")
# What a profile whose DKMS runs in a build chroot (7.2: sid) must see
# there, at the same paths: our trees and the signing key.
DKMS_BINDS=("$work" "$CACHE_DIR/dkms-mok")

# DKMS signs modules like on a user's machine, but its default key lives in
# /var/lib/dkms and its default sign-file in the host's kbuild: point both
# at our own (dkms reads these variables from the environment when
# /etc/dkms/framework.conf does not set them). The key is generated once by
# dkms itself and kept in the cache. An unenrolled key changes nothing at
# load time (same taint as unsigned) but exercises the signing step.
mkdir -p "$CACHE_DIR/dkms-mok"
export sign_file="$KDIR/scripts/sign-file"
export mok_signing_key="$CACHE_DIR/dkms-mok/mok.key"
export mok_certificate="$CACHE_DIR/dkms-mok/mok.pub"

# DKMS before 3.0 (Debian 11's 2.8) "prepares" a kernel tree named on the
# command line (make mrproper, oldconfig, prepare) and "cleans" it after
# the build (make mrproper, and an empty .config), wiping a headers-only
# tree: tell it not to. DKMS 3 does neither (and calls the options
# deprecated).
# (After the directories above exist: a chroot's DKMS gets them bound.)
prep=()
dkms_version=$(profile_dkms --version 2>&1) || die "dkms --version failed: $dkms_version"
case $dkms_version in
*:2.* | *-2.*) prep=(--no-prepare-kernel --no-clean-kernel) ;;
esac

profile_dkms add -m "$name" -v "$version" "${trees[@]}" >&2

if ! profile_dkms build -m "$name" -v "$version" -k "$KVER" \
	--kernelsourcedir "$KDIR" "${prep[@]}" "${trees[@]}" >&2; then
	# On failure the log stays in the build dir; on success it is moved.
	log=$(find "$dkmstree/$name/$version" -name make.log -print 2>/dev/null | sed -n 1p)
	if [[ -n $log ]]; then
		echo "---- DKMS make.log ($log) ----" >&2
		cat "$log" >&2
		echo "---- end of make.log ----" >&2
	fi
	die "dkms build of $name-$version failed for $KVER"
fi

# --no-depmod: dkms would run the host's `depmod -a KVER` against
# /lib/modules; the initramfs step runs depmod -b on its own root instead.
profile_dkms install -m "$name" -v "$version" -k "$KVER" \
	--kernelsourcedir "$KDIR" --no-depmod "${prep[@]}" "${trees[@]}" >&2

rm -rf "$out"
mkdir -p "$out"
cp -a "$insttree/$KVER/." "$out/"
mapfile -t kos < <(cd "$out" && find . -name '*.ko*' | sort)
((${#kos[@]})) || die "dkms install produced no .ko under $insttree/$KVER"
say "installed: ${kos[*]}"
printf '%s %s\n' "$name" "$version" >"$out/.package"
