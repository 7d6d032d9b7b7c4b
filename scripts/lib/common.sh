# shellcheck shell=bash disable=SC2034
# Shared helpers for the VM test harness. Sourced, never executed.
#
# Every harness script sources this first; it defines where things live
# (repo, cache), how to talk (say/die), how to install missing host tools
# from Debian's archive, and a clock for the per-phase timings.

# The repository root, derived from this file's location so the scripts work
# from any current directory and from any clone (CI uses a fresh one).
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SCRIPTS_DIR="$REPO_ROOT/scripts"

# Slow, run-independent things (kernel .debs, extracted kernels, busybox
# tree, DKMS signing key) live outside the checkout so a fresh clone reuses
# them and `git clean` cannot wipe them.
CACHE_DIR=${DMABUF_REVOKE_CACHE:-$HOME/.cache/dmabuf-revoke}

# Host tools every kernel needs (kernel profiles add their own, e.g. the
# kernel's compiler). One list, used by check.sh and by .ci/run.
HOST_PKGS=(qemu-system-x86 busybox-static cpio dkms kmod gzip xz-utils zstd
	make gcc libc6-dev openssl)
# What `make lint` needs on top (checkpatch.pl is perl; sparse for C=2).
LINT_PKGS=(perl sparse git)

# The default matrix of `make check` / `make lint` (scripts/kernels/NAME.sh):
# the stock kernels of Debian 11 (5.10), 12 (6.1, and its security 6.12),
# 13 (6.12-trixie) and sid (7.2), the newest Debian has (next:
# experimental's), Debian 12's arm64 kernel (cross-built, booted under
# qemu-system-aarch64), one PREEMPT_RT kernel booted, the rt/cloud flavours
# build-only (profiles with PROFILE_BUILD_ONLY=1), the debug kernel (KASAN,
# lockdep, kmemleak, fault injection) and the KCSAN kernel (data races;
# KCSAN and KASAN exclude each other), both built once from
# linux-source-6.12 and cached. $KERNELS overrides it.
DEFAULT_KERNELS="5.10 6.1 6.12 6.12-trixie 7.2 next 6.1-arm64 6.1-rt 6.1-cloud 6.12-rt 6.12-cloud debug kcsan"

# Progress and diagnostics go to stderr so stdout stays the report.
say() { printf '# %s\n' "$*" >&2; }
die() {
	printf 'error: %s\n' "$*" >&2
	exit 1
}

# Wall clock in seconds with sub-second precision (bash >= 5 has
# EPOCHREALTIME; no `date` fork per measurement).
now() { printf '%s\n' "${EPOCHREALTIME/,/.}"; }
# since START -> "12.3" (seconds elapsed, one decimal).
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f\n", b - a }'; }

# niced_session NICE SCRIPT: run the bash SCRIPT in the background, in a
# session of its own (so that `kill -- -$!` stops all it started), at nice
# NICE. A new session is also a new scheduling autogroup (enabled in
# Debian's kernels: /proc/sys/kernel/sched_autogroup_enabled), which the
# scheduler weighs as an equal of the caller's whatever the nice values of
# the tasks inside; what ranks it is the group's own nice value, set
# through /proc/self/autogroup (sched(7), "The autogroup feature"). Without
# that, a "nice 19" build took a guest's CPU as if it were not niced.
niced_session() {
	# shellcheck disable=SC2016 # expanded by the inner shell
	setsid nice -n "$1" bash -c '
		echo "$1" >/proc/self/autogroup 2>/dev/null || true
		eval "$2"
	' niced_session "$1" "$2" &
}

# show_log LOG [LINES]: a step's log, indented, under its failed result
# line (all of it, or the last LINES).
show_log() {
	if [[ -n ${2:-} ]]; then tail -n "$2" "$1"; else cat "$1"; fi | sed 's/^/    /'
}

# Run a command as root: CI and this machine are root; a developer may not be.
as_root() {
	if ((EUID == 0)); then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		die "need root for: $*"
	fi
}

# `apt-get update` at most once per harness run: the flag is exported so the
# child scripts see it too.
apt_update_once() {
	[[ ${DRTEST_APT_UPDATED:-} == 1 ]] && return 0
	say "apt-get update"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get -q update >&2
	export DRTEST_APT_UPDATED=1
}

# True when the apt lists are present at all. A fresh container has none,
# and then every apt-cache query answers "nothing" instead of failing.
apt_lists_present() {
	compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null
}

pkg_installed() {
	# No pipe into grep -q here: with pipefail a writer killed by SIGPIPE
	# would turn a match into a failure.
	[[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) == installed ]]
}

# ensure_pkgs PKG... : install the Debian packages that are missing, without
# recommends. Idempotent and silent when everything is there, so calling it on
# every run costs only a few dpkg-query calls.
ensure_pkgs() {
	local p missing=()
	for p in "$@"; do
		pkg_installed "$p" || missing+=("$p")
	done
	((${#missing[@]})) || return 0
	say "installing missing host packages: ${missing[*]}"
	apt_lists_present || apt_update_once
	local install=(env DEBIAN_FRONTEND=noninteractive apt-get -q -y
		--no-install-recommends install "${missing[@]}")
	# Stale lists make apt ask for files the mirror no longer has: refresh
	# once and retry before giving up.
	if ! as_root "${install[@]}" >&2; then
		apt_update_once
		as_root "${install[@]}" >&2
	fi
}

# The Debian archive this machine's apt uses, read at run time from its
# sources (deb822 *.sources or one-line *.list), never hard-coded: the CI
# machine and a developer's may use different mirrors. Prints the first URI
# that serves SUITE (default: the release suite, e.g. "bookworm"); needed by
# profiles that bootstrap a chroot (7.2/sid).
debian_archive_url() {
	local want=${1:-$(. /etc/os-release && echo "$VERSION_CODENAME")}
	local f
	for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list /etc/apt/sources.list; do
		[[ -r $f ]] || continue
		awk -v want="$want" '
			# deb822 stanzas: collect URIs and Suites, check at the blank line.
			/^[Uu][Rr][Ii][Ss]:/ { uris = $2 }
			/^[Ss]uites:/ { for (i = 2; i <= NF; i++) if ($i == want) hit = 1 }
			/^[[:space:]]*$/ { if (hit && uris) { print uris; found = 1; exit } uris = ""; hit = 0 }
			# one-line format: deb [opts] URI SUITE COMPONENTS...
			/^deb[[:space:]]/ {
				i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
				if ($(i + 1) == want) { print $i; found = 1; exit }
			}
			END { if (!found && hit && uris) print uris }
		' "$f" | sed -n 1p
	done | sed -n 1p
}

# on_exit CMD...: run CMD (one shell word list, eval'd) when the script
# exits, after the ones registered before it. For temp files that must not
# outlive a step (e.g. an apt sources list naming the mirror).
_on_exit=()
_run_on_exit() {
	local c
	for c in "${_on_exit[@]}"; do eval "$c" || true; done
}
on_exit() {
	_on_exit+=("$*")
	trap _run_on_exit EXIT
}

# Files of the DKMS package / of what lint checks: the repo as git sees it
# (tracked + untracked-but-not-ignored, so uncommitted work is what gets
# tested and build litter is not), minus the directories that are not
# kernel sources. NUL-separated, relative to REPO_ROOT. An exclusion list,
# so a new top-level source directory cannot be silently left out.
package_files() {
	local x specs=() prunes=() excludes
	read -r -a excludes <<<"${DKMS_EXCLUDE_PATHS:-tests scripts .ci .github docs}"
	for x in "${excludes[@]}"; do
		specs+=(":(exclude)$x")
		prunes+=(-path "./$x" -prune -o)
	done
	if git -C "$REPO_ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git -C "$REPO_ROOT" ls-files -z --cached --others --exclude-standard -- . "${specs[@]}"
	else
		# A tarball without .git: every file, minus the excluded dirs.
		(cd "$REPO_ROOT" && find . "${prunes[@]}" -type f -printf '%P\0')
	fi
}

# stage_package_files DEST: copy package_files into DEST; prints the count.
stage_package_files() {
	local dest=$1 f n=0
	mkdir -p "$dest"
	while IFS= read -r -d '' f; do
		[[ -e $REPO_ROOT/$f ]] || continue # tracked but deleted in the work tree
		mkdir -p "$dest/$(dirname "$f")"
		cp -a "$REPO_ROOT/$f" "$dest/$f"
		n=$((n + 1))
	done < <(package_files)
	printf '%s\n' "$n"
}

# dpkg_unsafe_io on|off ROOT: while a build root (a kernel profile's
# chroot, an e2e image) is being made, its dpkg does not fsync every file
# it unpacks (force-unsafe-io, as mmdebstrap does while it bootstraps):
# 4-5% of an e2e image's build. What it risks, a power loss mid-build,
# costs one cache entry: a root is stamped complete only after its build.
# Turned off again at the end, so the root is left as Debian makes it.
dpkg_unsafe_io() {
	local cfg=$2/etc/dpkg/dpkg.cfg.d/99dmabuf-revoke-unsafe-io
	if [[ $1 == on ]]; then
		mkdir -p "${cfg%/*}"
		echo force-unsafe-io >"$cfg"
	else
		rm -f "$cfg"
	fi
}

# kroot_run ROOT [DIR...] -- CMD...: run CMD chrooted into ROOT (a kernel
# profile's build chroot, e.g. sid for 7.2), with each DIR bind-mounted at
# the same path inside, plus /dev and /proc. Everything happens in a private
# mount namespace: the mounts vanish with the command, even when it is
# killed, so no stale mount is ever left in the cache; and in a private PID
# namespace, so nothing started inside (e.g. dkms's progress-dot `sleep`)
# outlives the command. The mount points created for DIRs are removed
# again afterwards (when empty).
# Without ROOT (empty string): run CMD on the host.
kroot_run() {
	local root=$1 binds=()
	shift
	while (($#)) && [[ $1 != -- ]]; do
		binds+=("$1")
		shift
	done
	[[ ${1:-} == -- ]] && shift
	if [[ -z $root ]]; then
		"$@"
		return
	fi
	# TMPDIR etc. of the host mean nothing inside.
	# shellcheck disable=SC2016 # the script runs in the inner bash
	as_root env -u TMPDIR -u TMP -u TEMP LC_ALL=C.UTF-8 \
		unshare --mount --propagation private --pid --fork --kill-child -- bash -c '
		set -e
		root=$1 n=$2
		shift 2
		binds=("${@:1:n}")
		shift "$n"
		mount --rbind /dev "$root/dev"
		mount -t proc proc "$root/proc"
		tops=()
		for d in "${binds[@]}"; do
			# Remember the topmost directory we create, to remove exactly
			# what we made (and never e.g. the chroot'"'"'s own /root).
			p=$d top=
			while [[ ! -d $root$p ]]; do top=$p p=$(dirname "$p"); done
			mkdir -p "$root$d"
			tops+=("$top")
			mount --bind "$d" "$root$d"
		done
		set +e
		chroot "$root" "$@"
		rc=$?
		i=0
		for d in "${binds[@]}"; do
			umount "$root$d" 2>/dev/null || umount -l "$root$d"
			top=${tops[i]}
			i=$((i + 1))
			[[ -n $top ]] || continue
			# rmdir only: it fails on anything non-empty or still mounted.
			while :; do
				rmdir "$root$d" 2>/dev/null || break
				[[ $d != "$top" ]] || break
				d=$(dirname "$d")
			done
		done
		exit "$rc"
	' kroot_run "$root" "${#binds[@]}" "${binds[@]}" "$@"
}
