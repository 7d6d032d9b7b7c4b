# shellcheck shell=bash disable=SC2034
# Default kernel-profile behaviour: take a Debian kernel (image + headers)
# from the archive apt already knows, without installing it on the host.
# Sourced by the step scripts BEFORE scripts/kernels/<name>.sh, so a profile
# only sets its variables and overrides the functions that differ for it.
#
# Profile contract (scripts/kernels/<name>.sh):
#   PROFILE_META      metapackage whose candidate names the kernel ABI
#                     (e.g. linux-image-amd64, linux-image-6.12-amd64)
#   PROFILE_SUITE     archive suite to read that candidate from
#                     (e.g. bookworm-security; not the default candidate:
#                     two suites can point at different ABIs)
#   PROFILE_PIN       optional KVER (e.g. 6.1.0-56-amd64) to use instead
#   PROFILE_HOST_PKGS array of host packages the module build needs
#   APT_OPTS          optional array of extra apt options (e.g. a sid
#                     sources list and lists dir for the 7.2 profile)
#   PROFILE_BUILD_ONLY 1: build lane only (DKMS build + modinfo + probe
#                     check, no boot): only the headers are fetched
#   PROFILE_CHROOT_SUITE  build in a debootstrapped chroot of this suite
#                     (mk-chroot.sh) instead of on the host; the headers
#                     are then apt-installed there, not extracted here
#   PROFILE_CHROOT_PKGS   what the chroot gets besides the headers
#   PROFILE_CHROOT_EXTRA_SUITES  suites the chroot's apt reads besides
#                     PROFILE_CHROOT_SUITE (trixie-security, experimental)
#   PROFILE_ARCH      Debian architecture of the kernel (default amd64, the
#                     host's); another one is cross-built and booted with
#                     its own QEMU (6.1-arm64)
#   PROFILE_CROSS     CROSS_COMPILE prefix for such a kernel's modules
#   PROFILE_CC        C compiler for that architecture's user-space tests
#   PROFILE_PREBUILD  a command (array) that builds the kernel and that
#                     check.sh may start in the background, at the lowest
#                     priority, when `make check` begins: on a cold cache a
#                     kernel built from source (debug, kcsan) then overlaps
#                     the stock lanes. It must be safe to run twice at once
#                     (profile_fetch runs it again and must wait for it or
#                     find its result); its stdout is discarded. Its
#                     PROFILE_HOST_PKGS are installed before it starts.
# Functions a profile may override:
#   profile_resolve        sets KVER, KPKGS (array of name=version, what to
#                          extract on the host) and KDEB_VERSION
#   profile_apt_update     refresh the apt lists the profile resolves from
#   profile_apt_lists_present  true when those lists exist
#   profile_fixup_kroot R  make the extracted headers under R usable in place
#   profile_dkms ARGS...   run dkms (default: the host's; 7.2: in a chroot)
#   profile_prepare        anything else needed before the DKMS build
#   profile_fetch ENV_OUT  optional (no default): replaces fetch-kernel.sh's
#                          archive step for a kernel that is built, not
#                          downloaded (debug); writes ENV_OUT itself (KVER
#                          KROOT KDIR VMLINUZ KMODDIR, and optionally
#                          `: "${VM_MEM:=N}"`, `: "${VM_TIMEOUT:=S}"` and
#                          KCMDLINE_EXTRA, which boot-vm.sh/check.sh honour)

APT_OPTS=()
PROFILE_ARCH=amd64
PROFILE_CROSS=
PROFILE_CC=gcc
PROFILE_BUILD_ONLY=0
PROFILE_CHROOT_SUITE=
PROFILE_CHROOT_PKGS=()
PROFILE_CHROOT_EXTRA_SUITES=()
PROFILE_PREBUILD=()

# private_apt_init NAME SUITE...: point APT_OPTS at Debian suites the host's
# apt does not follow (sid, trixie, bullseye-security, ...) without changing
# the system's sources: lists and apt's cache under $CACHE_DIR/apt-NAME, the
# sources list a temp file (removed on exit) naming the mirrors this
# machine's own apt uses - the archive for SUITE, the security archive for
# SUITE-security - read from its sources at run time, so no host name is
# stored anywhere. The archive may be a frozen snapshot, hence
# Check-Valid-Until=false. Once per process.
private_apt_init() {
	local name=$1 suite url sec list
	shift
	((${#APT_OPTS[@]} == 0)) || return 0
	PRIVATE_APT_DIR="$CACHE_DIR/apt-$name"
	PRIVATE_APT_SUITES=("$@")
	# shellcheck disable=SC2119 # the mirror serving the host's release
	url=$(debian_archive_url)
	sec=$(debian_archive_url "$(. /etc/os-release && echo "$VERSION_CODENAME")-security")
	[[ -n $url ]] || die "no Debian archive URI in /etc/apt/sources*"
	mkdir -p "$PRIVATE_APT_DIR/lists/partial" "$PRIVATE_APT_DIR/cache/archives/partial"
	list=$(mktemp "${TMPDIR:-/tmp}/drtest-$name.XXXXXX.list")
	on_exit "rm -f '$list'"
	for suite in "$@"; do
		case $suite in
		*-security)
			[[ -n $sec ]] || die "no Debian security archive URI in /etc/apt/sources*"
			printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n' "$sec" "$suite"
			;;
		*) printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n' "$url" "$suite" ;;
		esac
	done >"$list"
	APT_OPTS=(-o "Dir::Etc::sourcelist=$list" -o Dir::Etc::sourceparts=-
		-o "Dir::State::Lists=$PRIVATE_APT_DIR/lists" -o "Dir::Cache=$PRIVATE_APT_DIR/cache"
		-o Acquire::Check-Valid-Until=false)
	# Another architecture's packages by default, this machine's as
	# PKG:amd64 (the host tools a cross build needs).
	if [[ $PROFILE_ARCH != amd64 ]]; then
		APT_OPTS+=(-o "APT::Architecture=$PROFILE_ARCH"
			-o "APT::Architectures::=$PROFILE_ARCH" -o APT::Architectures::=amd64)
	fi
}

# Private lists older than this (seconds) are refreshed first.
PRIVATE_APT_MAX_AGE=${PRIVATE_APT_MAX_AGE:-86400}

# True when every suite of private_apt_init has fresh lists.
private_apt_lists_present() {
	local suite f
	for suite in "${PRIVATE_APT_SUITES[@]}"; do
		f=$(find "$PRIVATE_APT_DIR/lists" -maxdepth 1 -name "*_${suite}_InRelease" \
			-newermt "-$PRIVATE_APT_MAX_AGE seconds" -print -quit)
		[[ -n $f ]] || return 1
		compgen -G "$PRIVATE_APT_DIR/lists/*_${suite}_main_binary-${PROFILE_ARCH}_Packages*" >/dev/null || return 1
	done
}

private_apt_update() {
	local lock
	# One update of these lists at a time: apt fails at once, not waits,
	# when another holds their lock (CI runs two harness steps side by side).
	exec {lock}>"$PRIVATE_APT_DIR/update.lock"
	flock "$lock"
	say "apt-get update (private lists for ${PRIVATE_APT_SUITES[*]} in $PRIVATE_APT_DIR)"
	# Sandbox user root: the lists live in root's cache, which _apt may
	# not be able to reach.
	apt-get -q "${APT_OPTS[@]}" -o APT::Sandbox::User=root update >&2
	# apt keeps the InRelease's old date when nothing changed.
	touch "$PRIVATE_APT_DIR"/lists/*_InRelease 2>/dev/null || true
	exec {lock}>&-
}

# apt-cache/apt-get with the profile's extra options.
kdeb_apt_cache() { apt-cache "${APT_OPTS[@]}" "$@"; }

# The version of PKG that SUITE offers, from `apt-cache madison`
# ("pkg | version | URI suite/component arch Packages").
kdeb_version_in_suite() {
	local pkg=$1 suite=$2
	kdeb_apt_cache madison "$pkg" 2>/dev/null |
		awk -F' *[|] *' -v s="$suite" '$3 ~ (" " s "/") && !v { v = $2 } END { if (v) print v }'
}

# One field of PKG=VER's first stanza (several suites can carry the same
# version). Output is captured first and parsed after: awk exiting early on
# a pipe would SIGPIPE apt-cache and, under pipefail, fail the pipeline.
kdeb_field() {
	local pkgver=$1 field=$2 out
	out=$(kdeb_apt_cache show "$pkgver" 2>/dev/null) || return 1
	awk -v f="$field:" '$1 == f && !done { sub(/^[^:]*: */, ""); print; done = 1 }' <<<"$out"
}

# Depends of PKG=VER as one name per line (alternatives and versions dropped).
kdeb_depends() {
	kdeb_field "$1" Depends | tr ',' '\n' | sed -E 's/^ *//; s/[ |(].*//' | sed '/^$/d'
}

kdeb_exists() { [[ -n $(kdeb_field "$1" Package) ]]; }

# kdeb_download PKG=VER: print the path of PKG=VER's .deb in the shared
# pool $CACHE_DIR/debs, downloading it first (with APT_OPTS) if it is not
# there. `apt-get download` writes into the current directory under the
# pool's file name: fetch into a scratch dir and move complete files only,
# so an interrupted download never looks cached. Running as root, apt would
# try to drop to _apt and warn that it cannot write there; the scratch dir
# is ours anyway.
kdeb_download() {
	local pv=$1 deb_dir="$CACHE_DIR/debs" file tmp
	file=$(kdeb_field "$pv" Filename)
	[[ -n $file ]] || die "no Filename for $pv (apt lists too old or too new?)"
	file=${file##*/}
	mkdir -p "$deb_dir"
	if [[ ! -s $deb_dir/$file ]]; then
		say "downloading $pv"
		tmp=$(mktemp -d "$deb_dir/.dl.XXXXXX")
		(cd "$tmp" && apt-get -q "${APT_OPTS[@]}" -o APT::Sandbox::User=root download "$pv" >&2)
		# (apt names it with the version's epoch, 1%3a1.35..., the pool not)
		mv "$tmp"/*.deb "$deb_dir/$file"
		rm -rf "$tmp"
	fi
	printf '%s\n' "$deb_dir/$file"
}

# Default resolver: the metapackage's candidate in PROFILE_SUITE depends on
# linux-image-<KVER>; take that image plus linux-headers-<KVER> and the
# headers' own linux-headers-*-common and linux-kbuild-* dependencies, all
# at the same source version (KDEB_VERSION). The image part:
#   - the -unsigned twin when the archive has one (same modules, no
#     signature to carry around);
#   - sid's split packaging (7.x: linux-image-KVER is an empty package
#     depending on linux-binary-KVER = vmlinuz, linux-modules-KVER and
#     linux-base-KVER = config, modules.builtin*, modules.order): binary +
#     base, and the ~110 MB modules package only when the guest wants
#     in-kernel modules (GUEST_MODULES, default vgem) - nothing smaller in
#     the archive carries vgem.ko and drm.ko;
#   - nothing for a build-only profile.
# The headers are left out when the profile builds in a chroot (apt
# installs them there).
profile_resolve() {
	local ver img
	if [[ -n ${PROFILE_PIN:-} ]]; then
		KVER=$PROFILE_PIN
		ver=$(kdeb_field "linux-headers-$KVER" Version) ||
			die "pinned kernel $KVER: linux-headers-$KVER is not in the archive"
		[[ -n $ver ]] || die "pinned kernel $KVER: linux-headers-$KVER is not in the archive"
	else
		ver=$(kdeb_version_in_suite "$PROFILE_META" "$PROFILE_SUITE")
		[[ -n $ver ]] || die "$PROFILE_META has no version in $PROFILE_SUITE"
		img=$(kdeb_depends "$PROFILE_META=$ver" | awk '/^linux-image-/ && !n++')
		[[ -n $img ]] || die "$PROFILE_META=$ver depends on no linux-image-*"
		KVER=${img#linux-image-}
		KVER=${KVER%-unsigned}
	fi
	KDEB_VERSION=$ver
	KPKGS=()
	if ((PROFILE_BUILD_ONLY)); then
		:
	elif kdeb_exists "linux-image-$KVER-unsigned=$ver"; then
		KPKGS+=("linux-image-$KVER-unsigned=$ver")
	elif kdeb_exists "linux-binary-$KVER=$ver"; then
		KPKGS+=("linux-binary-$KVER=$ver")
		if kdeb_exists "linux-base-$KVER=$ver"; then
			KPKGS+=("linux-base-$KVER=$ver")
		fi
		if [[ -n ${GUEST_MODULES-vgem} ]]; then
			KPKGS+=("linux-modules-$KVER=$ver")
		fi
	else
		KPKGS+=("linux-image-$KVER=$ver")
	fi
	kdeb_exists "linux-headers-$KVER=$ver" ||
		die "linux-headers-$KVER=$ver is not in the archive"
	[[ -z $PROFILE_CHROOT_SUITE ]] || return 0
	KPKGS+=("linux-headers-$KVER=$ver")
	local dep
	while read -r dep; do
		case $dep in
		linux-headers-* | linux-kbuild-*)
			kdeb_exists "$dep=$ver" || die "$dep=$ver (needed by linux-headers-$KVER) is not in the archive"
			KPKGS+=("$dep=$ver")
			;;
		esac
	done < <(kdeb_depends "linux-headers-$KVER=$ver")
}

# Refresh the lists profile_resolve reads (the system's, by default).
profile_apt_update() { apt_update_once; }
# True when those lists exist at all.
profile_apt_lists_present() { apt_lists_present; }

# Debian's headers are relocatable except for absolute paths in the
# per-flavour Makefile ("include /usr/src/linux-headers-X-common/Makefile"):
# point those into the staging root. The modules/KVER/build link is absolute
# too; make it relative so it also resolves inside the staging root.
profile_fixup_kroot() {
	local root=$1
	local mk="$root/usr/src/linux-headers-$KVER/Makefile"
	[[ -f $mk ]] && sed -i -E "s#(^|[[:space:]=])/usr/src/#\\1$root/usr/src/#g" "$mk"
	# Packages built for merged /usr (sid) ship usr/lib/modules; a lib ->
	# usr/lib link in the staging root keeps one layout for depmod -b,
	# modprobe -d and the initramfs step.
	if [[ ! -e $root/lib && -d $root/usr/lib ]]; then
		ln -s usr/lib "$root/lib"
	fi
	local moddir="$root/lib/modules/$KVER"
	if [[ -L $moddir/build ]]; then
		ln -sfn "../../../usr/src/linux-headers-$KVER" "$moddir/build"
	fi
}

profile_prepare() { :; }

# DKMS with every tree redirected by the caller's options: on the host, or
# in the profile's build chroot (KCHROOT, from mk-chroot.sh) with the
# caller's DKMS_BINDS directories visible at the same paths.
profile_dkms() {
	if [[ -n ${KCHROOT:-} ]]; then
		kroot_run "$KCHROOT" "${DKMS_BINDS[@]}" -- dkms "$@"
	else
		dkms "$@"
	fi
}
