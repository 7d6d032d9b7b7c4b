# shellcheck shell=bash disable=SC2034
# Kernel profile "7.2": Debian sid's stock kernel (linux-image-amd64 /
# linux-headers-amd64), the newest dma-buf core (invalidate_mappings,
# dma_buf_attach_revocable, string MODULE_IMPORT_NS).
#
# - Sid is read through a private apt setup: lists and apt's cache under
#   $CACHE_DIR/apt-sid, the sources list a temp file built at run time from
#   this machine's own mirror (no host name is stored anywhere), removed on
#   exit. The system's apt sources are never changed. The archive may be a
#   frozen snapshot, hence Check-Valid-Until=false.
# - Its kbuild hard-codes x86_64-linux-gnu-gcc-16 and its tools need a newer
#   glibc than Debian 12's: modules are built in a debootstrapped sid chroot
#   (mk-chroot.sh; cached per kernel) where apt installs the headers (which
#   pull gcc-16 and pahole) and dkms, and DKMS runs inside it - the path a
#   sid user takes.
# - Booting needs only linux-binary-KVER (the vmlinuz) and linux-base-KVER
#   (modules.builtin, config); linux-modules-KVER (~110 MB) is fetched only
#   for vgem and the drm modules it needs (GUEST_MODULES="" skips it, and
#   the suite skips its vgem cases).
# Pin it with KVER_7_2=7.2.NN+debNN-amd64.

PROFILE_META=linux-image-amd64
PROFILE_SUITE=sid
PROFILE_PIN=${KVER_7_2:-}
PROFILE_HOST_PKGS=(debootstrap)
PROFILE_CHROOT_SUITE=sid
# sparse: for `make lint` (C=2 runs in the chroot too).
PROFILE_CHROOT_PKGS=(dkms sparse)

# Private sid lists older than this (seconds) are refreshed first.
SID_LISTS_MAX_AGE=${SID_LISTS_MAX_AGE:-86400}
sid_apt_dir="$CACHE_DIR/apt-sid"

# Set APT_OPTS once per process: a temp sources list naming the mirror that
# this machine's apt uses for Debian (read from its sources at run time).
sid_apt_init() {
	((${#APT_OPTS[@]} == 0)) || return 0
	local url list
	# shellcheck disable=SC2119 # the mirror serving the host's release
	url=$(debian_archive_url)
	[[ -n $url ]] || die "no Debian archive URI in /etc/apt/sources*"
	mkdir -p "$sid_apt_dir/lists/partial" "$sid_apt_dir/cache/archives/partial"
	list=$(mktemp "${TMPDIR:-/tmp}/drtest-sid.XXXXXX.list")
	on_exit "rm -f '$list'"
	printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s sid main\n' \
		"$url" >"$list"
	APT_OPTS=(-o "Dir::Etc::sourcelist=$list" -o Dir::Etc::sourceparts=-
		-o "Dir::State::Lists=$sid_apt_dir/lists" -o "Dir::Cache=$sid_apt_dir/cache"
		-o Acquire::Check-Valid-Until=false)
}

profile_apt_lists_present() {
	sid_apt_init
	local f
	f=$(find "$sid_apt_dir/lists" -maxdepth 1 -name '*_sid_InRelease' \
		-newermt "-$SID_LISTS_MAX_AGE seconds" -print -quit)
	[[ -n $f ]] && compgen -G "$sid_apt_dir/lists/*_sid_main_binary-amd64_Packages*" >/dev/null
}

profile_apt_update() {
	sid_apt_init
	say "apt-get update (private sid lists in $sid_apt_dir)"
	# Sandbox user root: the lists live in root's cache, which _apt may
	# not be able to reach.
	apt-get -q "${APT_OPTS[@]}" -o APT::Sandbox::User=root update >&2
	# apt keeps the InRelease's old date when nothing changed.
	touch "$sid_apt_dir"/lists/*_sid_InRelease 2>/dev/null || true
}
