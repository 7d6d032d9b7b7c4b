#!/usr/bin/env bash
# mk-chroot.sh PROFILE KERNEL_ENV
#
# For a kernel profile that builds in a chroot (PROFILE_CHROOT_SUITE, e.g.
# 7.2 = sid: its kbuild wants gcc-16 and a newer glibc than the host's),
# make sure the build chroot exists, with the kernel's headers package and
# PROFILE_CHROOT_PKGS (dkms, sparse) installed by the chroot's own apt, and
# append KCHROOT / KDIR (as seen inside) / KDIR_HOST to KERNEL_ENV.
# Profiles without a chroot: nothing to do.
#
# Cache: $CACHE_DIR/chroots/PROFILE--KVER/ (one per profile and kernel: a
# new kernel gets a fresh chroot and the profile's old ones are removed; two
# profiles on one suite, 7.2 and next on sid, keep one each), made by
#   debootstrap --variant=minbase --include=make,libc6-dev SUITE
# then `apt-get install linux-headers-KVER=VER dkms sparse` from SUITE and
# the profile's PROFILE_CHROOT_EXTRA_SUITES (e.g. trixie-security). Stamps:
#   .drtest-base   debootstrap finished (its options)
#   .drtest-ready  what was installed on top (re-done when that changes)
# No host name stays in the chroot: apt's sources list is written for the
# install and removed again, with the downloaded lists.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
# shellcheck source=scripts/lib/kernel-debs.sh
. "$SCRIPTS_DIR/lib/kernel-debs.sh"

usage="usage: mk-chroot.sh PROFILE KERNEL_ENV"
profile=${1:?$usage}
kernel_env=${2:?$usage}
# shellcheck source=scripts/kernels/7.2.sh
. "$SCRIPTS_DIR/kernels/$profile.sh"
# shellcheck disable=SC1090
. "$kernel_env"

suite=${PROFILE_CHROOT_SUITE:-}
[[ -n $suite ]] || exit 0
ensure_pkgs debootstrap

base_dir="$CACHE_DIR/chroots"
name="$profile--$KVER"
dir="$base_dir/$name"
mkdir -p "$base_dir"
# One writer per chroot; readers (dkms, lint) run after this step.
exec {lock}>"$base_dir/$name.lock"
flock "$lock"

include=make,libc6-dev
base_want="debootstrap --variant=minbase --include=$include $suite"
pkgs=("linux-headers-$KVER=$KDEB_VERSION" "${PROFILE_CHROOT_PKGS[@]}")
# (The extra suites join the stamp only when there are some: chroots made
# before they existed stay valid.)
ready_want="${pkgs[*]}${PROFILE_CHROOT_EXTRA_SUITES[*]:+ from $suite ${PROFILE_CHROOT_EXTRA_SUITES[*]}}"

# shellcheck disable=SC2119 # no argument: the host's release suite
url=$(debian_archive_url)
[[ -n $url ]] || die "no Debian archive URI in /etc/apt/sources*"
sec_url=$(debian_archive_url "$(. /etc/os-release && echo "$VERSION_CODENAME")-security")

# A chroot whose headers tree something emptied (DKMS 2.8 did, before
# dkms-build.sh told it not to) is made again.
khdr="$dir/usr/src/linux-headers-$KVER"
if [[ -f $dir/.drtest-ready ]] && { ! grep -q '^CONFIG_' "$khdr/.config" 2>/dev/null ||
	[[ ! -f $khdr/include/generated/autoconf.h ]]; }; then
	say "chroot $name: its headers tree is damaged; making it again"
	as_root rm -rf "$dir"
fi
if [[ -f $dir/.drtest-ready && $(<"$dir/.drtest-ready") == "$ready_want" &&
	-f $dir/.drtest-base && $(<"$dir/.drtest-base") == "$base_want" ]]; then
	say "chroot $name: cached at $dir"
else
	if [[ ! -f $dir/.drtest-base || $(<"$dir/.drtest-base") != "$base_want" ]]; then
		say "chroot $name: $base_want"
		as_root rm -rf "$dir" "$dir.new"
		t=$(now)
		dpkg_unsafe_io on "$dir.new"
		# In a private mount namespace: debootstrap mounts /proc and /sys in
		# the target, and those must not outlive it if it is interrupted.
		as_root unshare --mount --propagation private -- \
			debootstrap --variant=minbase --include="$include" "$suite" "$dir.new" "$url" >&2 ||
			die "debootstrap of $suite failed (log: $dir.new/debootstrap/debootstrap.log)"
		say "chroot $name: debootstrap took $(since "$t")s"
		# The archive may be a frozen snapshot; no recommends, like the
		# host's ensure_pkgs.
		printf '%s\n' 'Acquire::Check-Valid-Until "false";' \
			'APT::Install-Recommends "false";' >"$dir.new/etc/apt/apt.conf.d/99drtest"
		# debootstrap's sources.list names the mirror: written per use below.
		rm -f "$dir.new/etc/apt/sources.list"
		printf '%s\n' "$base_want" >"$dir.new/.drtest-base"
		mv "$dir.new" "$dir"
	fi

	say "chroot $name: apt-get install ${pkgs[*]}"
	t=$(now)
	rm -f "$dir/.drtest-ready"
	list="$dir/etc/apt/sources.list.d/drtest.list"
	on_exit "rm -f '$list'; rm -rf '$dir'/var/lib/apt/lists/*_*"
	# The chroot's suite, plus the profile's extra ones (a security suite,
	# experimental) from this machine's mirrors.
	for s in "$suite" "${PROFILE_CHROOT_EXTRA_SUITES[@]}"; do
		case $s in
		*-security) u=$sec_url ;;
		*) u=$url ;;
		esac
		[[ -n $u ]] || die "no Debian archive URI for $s in /etc/apt/sources*"
		printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n' "$u" "$s"
	done >"$list"
	cp /etc/resolv.conf "$dir/etc/resolv.conf" 2>/dev/null || true
	dpkg_unsafe_io on "$dir"
	kroot_run "$dir" -- apt-get -q update >&2
	kroot_run "$dir" -- env DEBIAN_FRONTEND=noninteractive \
		apt-get -q -y install "${pkgs[@]}" >&2
	kroot_run "$dir" -- apt-get -q clean >&2
	dpkg_unsafe_io off "$dir"
	rm -f "$list"
	rm -rf "$dir"/var/lib/apt/lists/*_*
	say "chroot $name: install took $(since "$t")s ($(du -sh "$dir" | cut -f1))"
	printf '%s\n' "$ready_want" >"$dir/.drtest-ready"

	# The profile's older chroots (previous kernels) are dead weight, and
	# so are those named SUITE-KVER before chroots were kept per profile;
	# skip any another run still holds.
	for old in "$base_dir/$profile--"* "$base_dir/$suite-"*; do
		[[ -d $old && $old != "$dir" && $old != *.new ]] || continue
		[[ $old == "$base_dir/$profile--"* || $old != *--* ]] || continue
		exec {ol}>"$old.lock"
		if flock -n "$ol"; then
			say "removing old chroot $old"
			as_root rm -rf "$old"
			rm -f "$old.lock"
		fi
		exec {ol}>&-
	done
fi

kdir="/usr/src/linux-headers-$KVER"
[[ -f $dir$kdir/Makefile ]] || die "no headers at $dir$kdir"
{
	printf 'KCHROOT=%q\n' "$dir"
	printf 'KDIR=%q\n' "$kdir"
	printf 'KDIR_HOST=%q\n' "$dir$kdir"
} >>"$kernel_env"
