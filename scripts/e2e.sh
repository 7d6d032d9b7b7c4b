#!/usr/bin/env bash
# e2e.sh [DIST...] - the end-to-end lane (`make check-e2e`): the user's
# install path, from the Debian packages, on full Debian machines.
#
#   debs     the packages as `make deb` builds them (dpkg-buildpackage in a
#            copy of the tree: tracked + untracked-not-ignored files), once
#            at VERSION and once at VERSION+e2e1 for the upgrade step
#   image    per DIST, a root file system (debootstrap + systemd, udev,
#            dkms, build-essential, the stock kernel image and headers from
#            the release's security suite) in an ext4 disk image
#            (e2e/mk-image.sh; cached under $DMABUF_REVOKE_CACHE/e2e/images,
#            rebuilt only when the archive's package versions change)
#   boot     qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m 2048, the
#            image's own kernel and initrd, root=/dev/vda on a copy-on-write
#            overlay (the cached image stays clean), the lane's directory
#            shared over 9p; no network
#   guest    e2e/guest.sh, as a user following README: apt install
#            ./dmabuf-revoke-*.deb, dkms status, modinfo, modprobe, udev,
#            dmabuf-revoke-selftest (the full suite), the CLI, ... apt purge
#            and a comparison of the machine's file lists before and after
# DISTs (default: both):
#   bookworm  Debian 12, the full walk: also a package upgrade (DKMS
#             rebuilds, the new modules load) and a second kernel (DKMS
#             AUTOINSTALL builds for it) before the purge
#   trixie    Debian 13 on its own 6.12 kernel: install, field test, purge
# One "[e2e-DIST] ok N - ..." / "[e2e-DIST] not ok N - ..." line per step or
# check, "# e2e-DIST: STEP SECONDSs" per step, the closing line
# "N passed, N failed" over all; exit 1 on any failure. Logs:
# $DMABUF_REVOKE_CACHE/e2e/runs/latest/ (debs/, and per DIST: serial.log,
# image.log, share/out/: apt, dkms, selftest, dmesg, journal, file lists).
#
# Env: E2E_TIMEOUT (s, one VM run, default 2400), DMABUF_REVOKE_CACHE.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

dists=()
for a in "$@"; do
	case $a in
	-h | --help)
		sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"
		exit 0
		;;
	bookworm | trixie) dists+=("$a") ;;
	*) die "unknown argument $a (try --help)" ;;
	esac
done
((${#dists[@]})) || dists=(bookworm trixie)

ensure_pkgs qemu-system-x86 debootstrap e2fsprogs debhelper dh-dkms dkms build-essential git
t_total=$(now)

runs="$CACHE_DIR/e2e/runs"
run_dir="$runs/$(date +%Y%m%d-%H%M%S)-$$"
mkdir -p "$run_dir"
ln -sfn "$run_dir" "$runs/latest"
mapfile -t old < <(find "$runs" -mindepth 1 -maxdepth 1 -type d | sort | head -n -5)
((${#old[@]} == 0)) || rm -rf "${old[@]}"

passed=0 failed=0 n=0 lane=e2e
result() {	# result "ok|not ok" TEXT
	n=$((n + 1))
	printf '[%s] %s %d - %s\n' "$lane" "$1" "$n" "$2"
	if [[ $1 == ok ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
}
finish() {
	echo "# e2e: total $(since "$t_total")s"
	echo "# e2e: logs in $run_dir"
	echo "$passed passed, $failed failed"
	((failed == 0))
	exit
}

# --- the packages ------------------------------------------------------------------
# build_debs VERSION OUT: dpkg-buildpackage -us -uc -b of the tree, as `make
# deb` does, with VERSION and debian/changelog set to VERSION when it is
# not the tree's own (an upgrade's newer package).
version=$(<"$REPO_ROOT/VERSION")
version2=$version+e2e1
build_debs() {
	local v=$1 out=$2 work=$run_dir/debs/build-$1 src
	src=$work/dmabuf-revoke-$v
	rm -rf "$work"
	mkdir -p "$out"
	DKMS_EXCLUDE_PATHS=.ci stage_package_files "$src" >/dev/null
	if [[ $v != "$version" ]]; then
		printf '%s\n' "$v" >"$src/VERSION"
		{
			printf 'dmabuf-revoke (%s) unstable; urgency=medium\n\n' "$v"
			printf '  * Test build for the e2e lane'"'"'s package upgrade.\n\n'
			printf ' -- dmabuf-revoke developers <dev@dmabuf-revoke.invalid>  %s\n\n' "$(date -R)"
			cat "$REPO_ROOT/debian/changelog"
		} >"$src/debian/changelog"
	fi
	(cd "$src" && dpkg-buildpackage -us -uc -b) >"$run_dir/debs/build-$v.log" 2>&1 || return 1
	mv "$work"/*.deb "$out"/
	rm -rf "$work"
}
lane=e2e
t=$(now)
debs=$run_dir/debs/out
for v in "$version" "$version2"; do
	if build_debs "$v" "$debs"; then
		result ok "packages: dpkg-buildpackage of dmabuf-revoke $v ($(find "$debs" -name "*_${v}_*.deb" -printf '%f ' | sed 's/ $//'))"
	else
		result "not ok" "packages: dpkg-buildpackage of dmabuf-revoke $v (log: $run_dir/debs/build-$v.log)"
		show_log "$run_dir/debs/build-$v.log" 30
		finish
	fi
done
echo "# e2e: packages $(since "$t")s"

# --- one machine ---------------------------------------------------------------------
# e2e_machine DIST MODE: image, boot, follow the guest's results.
e2e_machine() {
	local dist=$1 mode=$2 dir=$run_dir/$1 t rc
	lane=e2e-$dist
	mkdir -p "$dir/share/out" "$dir/share/debs"
	echo "# $lane: image (log: $dir/image.log)"
	t=$(now)
	if ! "$SCRIPTS_DIR/e2e/mk-image.sh" "$dist" "$dir/image.env" 2>"$dir/image.log"; then
		result "not ok" "$dist e2e image (debootstrap + packages + ext4)"
		show_log "$dir/image.log" 40
		return 0
	fi
	# IMAGE VMLINUZ INITRD KVER KVER2 DEBS2 IMAGE_STATE KDEB_VERSION...
	# shellcheck disable=SC1091
	. "$dir/image.env"
	echo "# $lane: image $(since "$t")s ($IMAGE_STATE)"
	result ok "$dist image with $KVER ($KDEB_VERSION), dkms, build-essential${KVER2:+; second kernel $KVER2 preloaded} ($IMAGE_STATE)"

	cp "$debs"/*.deb "$dir/share/debs/"
	install -m 0755 "$SCRIPTS_DIR/e2e/guest.sh" "$dir/share/guest.sh"
	{
		printf 'E2E_MODE=%s\n' "$mode"
		printf 'VERSION=%s\nVERSION2=%s\n' "$version" "$version2"
		printf 'KVER=%s\nKVER2=%s\n' "$KVER" "$KVER2"
		printf "DEBS2='%s'\n" "$DEBS2"
	} >"$dir/share/e2e.env"

	local serial=$dir/serial.log res=$dir/share/out/results
	: >"$serial"
	# shellcheck disable=SC2054 # QEMU's option values contain commas
	local qemu=(
		qemu-system-x86_64
		-accel tcg -cpu max -smp 2 -m 2048
		-nodefaults -nographic -no-user-config -no-reboot
		-serial "file:$serial"
		-kernel "$VMLINUZ" -initrd "$INITRD"
		-append "root=/dev/vda rw console=ttyS0 quiet loglevel=3 panic=-1 dmabuf_revoke_e2e=1"
		# snapshot=on: writes go to a temporary overlay (in TMPDIR, here
		# the lane's directory) that vanishes with QEMU; the cached image
		# stays clean.
		-drive "file=$IMAGE,format=raw,if=virtio,snapshot=on"
		-fsdev "local,id=e2e,path=$dir/share,security_model=none"
		-device virtio-9p-pci,fsdev=e2e,mount_tag=e2e
	)
	local timeout_s=${E2E_TIMEOUT:-2400}
	echo "# $lane: boot (timeout ${timeout_s}s, console: $serial)"
	t=$(now)
	TMPDIR=$dir timeout -k 10 "$timeout_s" "${qemu[@]}" </dev/null >"$dir/qemu.log" 2>&1 &
	vm=$!
	trap 'interrupted=1; kill -TERM "$vm" 2>/dev/null || true' INT TERM HUP

	# Follow the guest's results file as it grows (complete lines only).
	seen=0 done_=0
	follow() {
		local l
		[[ -f $res ]] || return 0
		while IFS= read -r l; do
			seen=$((seen + 1))
			case $l in
			"ok - "*) result ok "${l#ok - }" ;;
			"not ok - "*) result "not ok" "${l#not ok - }" ;;
			"# e2e: guest-done") done_=1 ;;
			"# e2e: "*) printf '# %s: %s\n' "$lane" "${l#\# e2e: }" ;;
			*) printf '%s\n' "$l" ;;
			esac
		done < <(tail -n "+$((seen + 1))" "$res")
	}
	while kill -0 "$vm" 2>/dev/null; do
		follow
		sleep 2
	done
	rc=0
	wait "$vm" || rc=$?
	while kill -0 "$vm" 2>/dev/null; do wait "$vm" || rc=$?; done
	follow
	((interrupted)) && die "interrupted"
	echo "# $lane: vm $(since "$t")s"
	# The kernel's last word on a clean power-off (printed even with "quiet").
	local powered_off=0
	grep -q 'reboot: Power down' "$serial" && powered_off=1
	if ((done_ && powered_off && rc == 0)); then
		result ok "VM: the machine booted, ran every guest step and powered off"
	elif ((rc == 124)); then
		result "not ok" "VM: finished within ${timeout_s}s (timed out; last console lines below)"
		sed 's/\r$//' "$serial" | tail -n 30 | sed 's/^/    /'
	else
		result "not ok" "VM: ran every guest step and powered off (QEMU exit $rc, guest done: $done_, powered off: $powered_off)"
		show_log "$dir/qemu.log" 20
		sed 's/\r$//' "$serial" | tail -n 30 | sed 's/^/    /'
	fi
}

interrupted=0
for d in "${dists[@]}"; do
	case $d in
	bookworm) e2e_machine bookworm full ;;
	trixie) e2e_machine trixie field ;;
	esac
done
finish
