#!/usr/bin/env bash
# e2e.sh - the end-to-end lane (`make check-e2e`): the user's install path
# on a full Debian 12 machine.
#
#   image    a Debian 12 root file system (debootstrap bookworm + systemd,
#            udev, dkms, build-essential/gcc-12, the stock kernel image and
#            headers from bookworm-security) in an ext4 disk image, with a
#            second kernel's .debs preloaded (e2e/mk-image.sh; cached under
#            $DMABUF_REVOKE_CACHE/e2e/images, rebuilt only when the
#            archive's package versions change)
#   source   the source package: a tarball of the repo as git sees it
#            (tracked + untracked-not-ignored files)
#   boot     qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m 2048, the
#            image's own kernel and initrd, root=/dev/vda on a copy-on-write
#            overlay (the cached image stays clean), the run directory
#            shared over 9p; no network
#   guest    e2e/guest.sh, as a user following README: cp -r to /usr/src,
#            dkms install, dkms status, modinfo, modprobe, make install +
#            udev rule, dmabuf-revoke-selftest (the full suite), the CLI,
#            then dpkg -i a second kernel: DKMS AUTOINSTALL builds for it
# One "[e2e] ok N - ..." / "[e2e] not ok N - ..." line per step or check,
# "# e2e: STEP SECONDSs" per step, the closing line "N passed, N failed";
# exit 1 on any failure. Logs: $DMABUF_REVOKE_CACHE/e2e/runs/latest/
# (serial.log, image.log, share/out/: dkms, make, selftest, dmesg, journal).
#
# Env: E2E_TIMEOUT (s, the whole VM run, default 2400), DMABUF_REVOKE_CACHE.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

case ${1:-} in
-h | --help)
	sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"
	exit 0
	;;
"") ;;
*) die "unknown argument $1 (try --help)" ;;
esac

ensure_pkgs qemu-system-x86 debootstrap e2fsprogs
t_total=$(now)

runs="$CACHE_DIR/e2e/runs"
run_dir="$runs/$(date +%Y%m%d-%H%M%S)-$$"
mkdir -p "$run_dir/share/out"
ln -sfn "$run_dir" "$runs/latest"
mapfile -t old < <(find "$runs" -mindepth 1 -maxdepth 1 -type d | sort | head -n -5)
((${#old[@]} == 0)) || rm -rf "${old[@]}"

passed=0 failed=0 n=0
result() {	# result "ok|not ok" TEXT
	n=$((n + 1))
	printf '[e2e] %s %d - %s\n' "$1" "$n" "$2"
	if [[ $1 == ok ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
}
show() { if [[ -n ${2:-} ]]; then tail -n "$2" "$1"; else cat "$1"; fi | sed 's/^/    /'; }
finish() {
	echo "# e2e: total $(since "$t_total")s"
	echo "# e2e: logs in $run_dir"
	echo "$passed passed, $failed failed"
	((failed == 0))
	exit
}

# --- image ---------------------------------------------------------------------
echo "# e2e: image (log: $run_dir/image.log)"
t=$(now)
if ! "$SCRIPTS_DIR/e2e/mk-image.sh" "$run_dir/image.env" 2>"$run_dir/image.log"; then
	result "not ok" "Debian 12 e2e image (debootstrap + packages + ext4)"
	show "$run_dir/image.log" 40
	finish
fi
# IMAGE VMLINUZ INITRD KVER KVER2 DEBS2 IMAGE_STATE KDEB_VERSION...
# shellcheck disable=SC1091
. "$run_dir/image.env"
echo "# e2e: image $(since "$t")s ($IMAGE_STATE)"
result ok "Debian 12 image with $KVER ($KDEB_VERSION), dkms, gcc-12; second kernel $KVER2 preloaded ($IMAGE_STATE)"

# --- the source package -----------------------------------------------------------
t=$(now)
version=$(<"$REPO_ROOT/VERSION")
tarball="$run_dir/share/dmabuf-revoke-src.tar.gz"
src_files() {
	if git -C "$REPO_ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git -C "$REPO_ROOT" ls-files -z --cached --others --exclude-standard
	else
		(cd "$REPO_ROOT" && find . -type f -printf '%P\0')
	fi
}
# Tracked files deleted in the work tree are not part of it.
if (cd "$REPO_ROOT" && src_files | while IFS= read -r -d '' f; do
	[[ -e $f ]] && printf '%s\0' "$f"
done | tar -c --null -T - --owner=0 --group=0 \
	--transform "s|^|dmabuf-revoke-$version/|" -z -f "$tarball"); then
	result ok "source package dmabuf-revoke-$version ($(tar -tzf "$tarball" | grep -cv '/$') files, git ls-files + untracked)"
else
	result "not ok" "source package tarball"
	finish
fi
echo "# e2e: source-tarball $(since "$t")s"
install -m 0755 "$SCRIPTS_DIR/e2e/guest.sh" "$run_dir/share/guest.sh"
{
	printf 'VERSION=%s\n' "$version"
	printf 'KVER=%s\nKVER2=%s\n' "$KVER" "$KVER2"
	printf "DEBS2='%s'\n" "$DEBS2"
} >"$run_dir/share/e2e.env"

# --- boot and run the guest -----------------------------------------------------------
serial="$run_dir/serial.log"
res="$run_dir/share/out/results"
: >"$serial"
# shellcheck disable=SC2054 # QEMU's option values contain commas
qemu=(
	qemu-system-x86_64
	-accel tcg -cpu max -smp 2 -m 2048
	-nodefaults -nographic -no-user-config -no-reboot
	-serial "file:$serial"
	-kernel "$VMLINUZ" -initrd "$INITRD"
	-append "root=/dev/vda rw console=ttyS0 quiet loglevel=3 panic=-1 dmabuf_revoke_e2e=1"
	# snapshot=on: writes go to a temporary overlay (in TMPDIR, here the
	# run directory) that vanishes with QEMU; the cached image stays clean.
	-drive "file=$IMAGE,format=raw,if=virtio,snapshot=on"
	-fsdev "local,id=e2e,path=$run_dir/share,security_model=none"
	-device virtio-9p-pci,fsdev=e2e,mount_tag=e2e
)
timeout_s=${E2E_TIMEOUT:-2400}
echo "# e2e: boot (timeout ${timeout_s}s, console: $serial)"
t=$(now)
TMPDIR=$run_dir timeout -k 10 "$timeout_s" "${qemu[@]}" </dev/null >"$run_dir/qemu.log" 2>&1 &
vm=$!
interrupted=0
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
echo "# e2e: vm $(since "$t")s"
# The kernel's last word on a clean power-off (printed even with "quiet").
powered_off=0
grep -q 'reboot: Power down' "$serial" && powered_off=1
if ((done_ && powered_off && rc == 0)); then
	result ok "VM: the machine booted, ran every guest step and powered off"
elif ((rc == 124)); then
	result "not ok" "VM: finished within ${timeout_s}s (timed out; last console lines below)"
	sed 's/\r$//' "$serial" | tail -n 30 | sed 's/^/    /'
else
	result "not ok" "VM: ran every guest step and powered off (QEMU exit $rc, guest done: $done_, powered off: $powered_off)"
	show "$run_dir/qemu.log" 20
	sed 's/\r$//' "$serial" | tail -n 30 | sed 's/^/    /'
fi
finish
