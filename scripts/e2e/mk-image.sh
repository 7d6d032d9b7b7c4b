#!/usr/bin/env bash
# e2e/mk-image.sh DIST ENV_OUT
#
# The end-to-end lane's machine (scripts/e2e.sh): a Debian root file system
# as a user has it - systemd, udev, the stock kernel image and headers from
# the release's security suite (users who follow security updates run that
# kernel), dkms, build-essential, make, kmod - in an ext4 disk image, plus
# the image's own vmlinuz and initrd for a direct kernel boot. DIST:
#   bookworm  Debian 12 with gcc-12, plus the .debs of a second kernel
#             (plain bookworm's linux-image-amd64 ABI, headers included)
#             preloaded under /var/cache/dmabuf-revoke-e2e/ so the guest
#             needs no network to show DKMS AUTOINSTALL
#   trixie    Debian 13 with its own 6.12 kernel (gcc-14 and pahole come
#             with its headers); no second kernel
# Suites the host's apt does not follow (trixie) are read through private
# lists (private_apt_init, lib/kernel-debs.sh).
#
# Cache: $CACHE_DIR/e2e/images/DIST-KVER-KEY/ (rootfs.img, vmlinuz,
# initrd.img, manifest = every installed package=version, image.env), KEY =
# hash of this recipe and the versions of the packages it asks for. The
# image is reused while the archive's candidates for everything in the
# manifest stay the same; any change rebuilds it (and the older images of
# that DIST are removed). The image is never written by a run: boots use a
# copy-on-write overlay.
#
# stdout: "# e2e: <step> <seconds>s" timing lines; the rest goes to stderr.
# Writes IMAGE, VMLINUZ, INITRD, KVER, KVER2, KDEB_VERSION, KDEB_VERSION2,
# DEBS2 (paths inside the image; KVER2/DEBS2 empty without a second
# kernel), IMAGE_STATE (cached|built) to ENV_OUT.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source=scripts/lib/kernel-debs.sh
. "$SCRIPTS_DIR/lib/kernel-debs.sh"

usage="usage: e2e/mk-image.sh bookworm|trixie ENV_OUT"
dist=${1:?$usage}
env_out=${2:?$usage}

# What the machine gets. BOOT_SUITE: the suite whose linux-image-amd64 is
# booted; SECOND_SUITE: where a second kernel of another ABI comes from
# (cheapest: the same series, no BTF, same kbuild), or none.
# debootstrap's minbase plus what makes it a booting system with udev.
BASE_INCLUDE=systemd-sysv,udev,kmod
# The README's "Install on a real host" prerequisites (a C compiler with
# static libc: libc6-dev via build-essential). openssl: DKMS signs modules
# with it, as on a real host. zstd: initramfs-tools' default compressor (a
# Recommends, so listed here).
PKGS=(dkms build-essential make kmod udev systemd-sysv openssl procps zstd)
case $dist in
bookworm)
	BOOT_SUITE=bookworm-security
	SECOND_SUITE=bookworm
	APT_SUITES=(bookworm bookworm-updates bookworm-security)
	# The kernel's compiler (its headers do not depend on it in 12).
	PKGS+=(gcc-12)
	;;
trixie)
	BOOT_SUITE=trixie-security
	SECOND_SUITE=
	APT_SUITES=(trixie trixie-security)
	private_apt_init trixie "${APT_SUITES[@]}"
	;;
*) die "$usage" ;;
esac
DEB_DIR=/var/cache/dmabuf-revoke-e2e/debs
IMAGE_SIZE_MB=${E2E_IMAGE_SIZE_MB:-6144}

step_time() { printf '# e2e: %s %ss\n' "$1" "$(since "$2")"; }

ensure_pkgs debootstrap e2fsprogs
# The apt lists are what the key is computed from; a fresh machine has
# none.
lists_present() {
	if ((${#APT_OPTS[@]})); then private_apt_lists_present; else apt_lists_present; fi
}
lists_update() {
	if ((${#APT_OPTS[@]})); then private_apt_update; else apt_update_once; fi
}
lists_present || lists_update

t=$(now)
kver_of() {	# kver_of META_VERSION -> linux-image-KVER's KVER
	local img
	img=$(kdeb_depends "linux-image-amd64=$1" | awk '/^linux-image-/ && !n++')
	[[ -n $img ]] || die "linux-image-amd64=$1 depends on no linux-image-*"
	printf '%s\n' "${img#linux-image-}"
}
resolve() {
	V1=$(kdeb_version_in_suite linux-image-amd64 "$BOOT_SUITE")
	[[ -n $V1 ]] || return 1
	KVER=$(kver_of "$V1") || return 1
	SECOND=() V2='' KVER2=''
	if [[ -n $SECOND_SUITE ]]; then
		V2=$(kdeb_version_in_suite linux-image-amd64 "$SECOND_SUITE")
		[[ -n $V2 ]] || return 1
		KVER2=$(kver_of "$V2") || return 1
		if [[ $KVER == "$KVER2" ]]; then
			say "error: $BOOT_SUITE and $SECOND_SUITE point at the same kernel $KVER: no second ABI to install"
			return 1
		fi
		# The second kernel's packages: image, headers and the headers'
		# -common (the booted kernel's linux-kbuild is newer and
		# satisfies it).
		SECOND=("linux-image-$KVER2=$V2" "linux-headers-$KVER2=$V2")
		local dep
		while read -r dep; do
			case $dep in linux-headers-*-common) SECOND+=("$dep=$V2") ;; esac
		done < <(kdeb_depends "linux-headers-$KVER2=$V2")
	fi
	# Candidate versions of everything asked for, one "name=version" a line.
	WANT=$(printf '%s\n' "linux-image-amd64=$V1" "linux-headers-amd64=$V1" \
		"linux-image-$KVER=$V1" "linux-headers-$KVER=$V1" "${SECOND[@]}"
	candidates "${PKGS[@]}" "${BASE_INCLUDE//,/ }")
}
# candidates PKG... -> "name=candidate-version" lines (one apt-cache call).
candidates() {
	local out
	# shellcheck disable=SC2048,SC2086
	out=$(kdeb_apt_cache show --no-all-versions $* 2>/dev/null) || true
	awk '/^Package:/ { p = $2 } /^Version:/ && p { print p "=" $2; p = "" }' <<<"$out" | sort -u
}
if ! resolve 2>/dev/null; then
	lists_update
	resolve
fi
recipe=$(cat "$0" "$SCRIPTS_DIR/e2e/dmabuf-revoke-e2e.service" | sha256sum | cut -c1-16)
key=$(printf '%s\n%s\n%s\n' "$recipe" "$(dpkg-query -W -f='${Version}' debootstrap)" "$WANT" |
	sha256sum | cut -c1-12)
step_time resolve "$t"

base="$CACHE_DIR/e2e/images"
dir="$base/$dist-$KVER-$key"
mkdir -p "$base"
exec {lock}>"$base/.lock"
flock "$lock"

# Still current? Every package of the image against the archive's candidate.
stale=
if [[ -f $dir/image.env && -f $dir/manifest ]]; then
	mapfile -t names < <(sed 's/=.*//' "$dir/manifest")
	now_c=$(candidates "${names[@]}")
	# Packages the host's apt does not know (none, normally) are not held
	# against the image.
	stale=$(printf '%s\n' "$now_c" | awk -F= 'NR == FNR { m[$1] = $2; next }
		($1 in m) && m[$1] != $2 { print $1 " " m[$1] " -> " $2 }' "$dir/manifest" -)
	if [[ -z $stale ]]; then
		say "e2e image: cached at $dir"
		{ cat "$dir/image.env"; echo "IMAGE_STATE=cached"; } >"$env_out"
		exit 0
	fi
	say "e2e image: newer packages in the archive, rebuilding:"
	printf '%s\n' "$stale" | sed 's/^/#   /' >&2
fi

# The mirrors this machine's apt uses for Debian and its security archive
# (they serve every release).
url=$(debian_archive_url bookworm)
sec_url=$(debian_archive_url bookworm-security)
[[ -n $url && -n $sec_url ]] ||
	die "no Debian archive URI (bookworm / bookworm-security) in /etc/apt/sources*"
work="$dir.new"
root="$work/root"
as_root rm -rf "$work" "$dir"
mkdir -p "$work"
# The build root holds mounts only inside kroot_run's private namespace;
# an interrupted build leaves plain files, removed by the next attempt.
on_exit "[[ -d '$work' ]] && rm -rf '$work'"

say "e2e image: debootstrap $dist ($KVER${KVER2:+, second kernel $KVER2})"
t=$(now)
dpkg_unsafe_io on "$root"
as_root unshare --mount --propagation private -- \
	debootstrap --variant=minbase --include="$BASE_INCLUDE" "$dist" "$root" "$url" >&2 || {
	tail -n 40 "$root/debootstrap/debootstrap.log" >&2
	die "debootstrap failed (its log's end above)"
}
step_time image-debootstrap "$t"

# apt sources naming the mirror exist only while packages are installed,
# and are removed with the lists and debootstrap's log afterwards (no host
# name in the cache).
t=$(now)
printf '%s\n' 'Acquire::Check-Valid-Until "false";' 'APT::Install-Recommends "false";' \
	>"$root/etc/apt/apt.conf.d/99dmabuf-revoke-e2e"
rm -f "$root/etc/apt/sources.list"
src="$root/etc/apt/sources.list.d/e2e.sources"
for suite in "${APT_SUITES[@]}"; do
	case $suite in *-security) u=$sec_url ;; *) u=$url ;; esac
	printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\n\n' "$u" "$suite"
done >"$src"
in_root() { kroot_run "$root" -- env DEBIAN_FRONTEND=noninteractive "$@"; }
in_root apt-get -q update >&2
# debootstrap took the release's packages; a user's machine follows the
# point releases and security updates (and the manifest then matches the
# archive's candidates).
in_root apt-get -q -y dist-upgrade >&2
# The kernel postinst builds the initrd (initramfs-tools) as on any install.
in_root apt-get -q -y install "linux-image-amd64=$V1" "linux-headers-amd64=$V1" "${PKGS[@]}" >&2
step_time image-packages "$t"

t=$(now)
mkdir -p "$root$DEB_DIR"
# `apt-get download` writes into the current directory.
((${#SECOND[@]} == 0)) ||
	kroot_run "$root" -- sh -c "cd '$DEB_DIR' && apt-get -q -o APT::Sandbox::User=root download ${SECOND[*]}" >&2
in_root apt-get clean
dpkg_unsafe_io off "$root"
rm -f "$src" "$root/var/log/bootstrap.log"
rm -rf "$root/var/lib/apt/lists/"*
mkdir -p "$root/var/lib/apt/lists/partial"
step_time image-second-kernel-debs "$t"

# Make it a machine: root file system, identity, the lane's unit.
t=$(now)
# The one departure from Debian's defaults: initrds built on the machine
# (the second kernel's) hold only the modules this machine needs
# (MODULES=dep) instead of most of them: under TCG the default took 15
# minutes with gzip and over 8 with zstd, dep takes under one. The booted
# kernel's initrd, built above in the chroot (where dep cannot see the
# machine), keeps MODULES=most.
printf '# scripts/e2e/mk-image.sh: see there\nMODULES=dep\n' \
	>"$root/etc/initramfs-tools/conf.d/dmabuf-revoke-e2e"
printf '/dev/vda / ext4 errors=remount-ro 0 1\n' >"$root/etc/fstab"
echo dmabuf-revoke-e2e >"$root/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 dmabuf-revoke-e2e\n' >"$root/etc/hosts"
# A machine id now: an empty one makes the first boot run systemd-firstboot.
rm -f "$root/etc/machine-id"
in_root systemd-machine-id-setup >&2
# No network: the apt timers would only try and fail (and hold apt's lock).
for u in apt-daily.timer apt-daily-upgrade.timer; do
	ln -sf /dev/null "$root/etc/systemd/system/$u"
done
install -m 0644 "$SCRIPTS_DIR/e2e/dmabuf-revoke-e2e.service" \
	"$root/etc/systemd/system/dmabuf-revoke-e2e.service"
mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
ln -sf ../dmabuf-revoke-e2e.service \
	"$root/etc/systemd/system/multi-user.target.wants/dmabuf-revoke-e2e.service"
# shellcheck disable=SC2016 # dpkg-query's format, not the shell's
kroot_run "$root" -- dpkg-query -W -f='${Package}=${Version}\n' | sort >"$work/manifest"
cp "$root/boot/vmlinuz-$KVER" "$work/vmlinuz"
cp "$root/boot/initrd.img-$KVER" "$work/initrd.img"
debs2=()
for pv in "${SECOND[@]}"; do
	f=$(cd "$root$DEB_DIR" && ls "${pv%%=*}"_*.deb)
	debs2+=("$DEB_DIR/$f")
done
# ext4 straight from the directory (no loop mount); sparse file.
mkfs.ext4 -q -F -L e2e-root -d "$root" "$work/rootfs.img" "${IMAGE_SIZE_MB}M" >&2
chmod 0444 "$work/rootfs.img"
rm -rf "$root"
{
	printf 'IMAGE=%q\n' "$dir/rootfs.img"
	printf 'VMLINUZ=%q\n' "$dir/vmlinuz"
	printf 'INITRD=%q\n' "$dir/initrd.img"
	printf 'KVER=%q\nKVER2=%q\n' "$KVER" "$KVER2"
	printf 'KDEB_VERSION=%q\nKDEB_VERSION2=%q\n' "$V1" "$V2"
	printf 'DEBS2=%q\n' "${debs2[*]}"
} >"$work/image.env"
mv "$work" "$dir"
step_time image-mkfs "$t"
# One image per DIST: the older ones are 1-2 GB each.
find "$base" -mindepth 1 -maxdepth 1 -type d -name "$dist-*" ! -path "$dir" -exec rm -rf {} +
# (Images of the layout before DIST was part of the name.)
find "$base" -mindepth 1 -maxdepth 1 -type d -name '[0-9]*' -exec rm -rf {} +
say "e2e image: built at $dir ($(du -sh --apparent-size "$dir/rootfs.img" | cut -f1) apparent, $(du -sh "$dir/rootfs.img" | cut -f1) used)"
{ cat "$dir/image.env"; echo "IMAGE_STATE=built"; } >"$env_out"
