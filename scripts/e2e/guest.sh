#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# e2e/guest.sh: the end-to-end lane inside the Debian 12 machine
# (scripts/e2e.sh boots it; the image's dmabuf-revoke-e2e.service runs this
# from the run's 9p share at /mnt/e2e). Walks README's "Install on a real
# host" as a user would, with no network: unpack the source package, copy it
# to /usr/src, dkms install, dkms status, modinfo, modprobe, make install +
# udev, the field test, the CLI, then a second kernel's .debs and DKMS
# AUTOINSTALL.
#
# Writes to /mnt/e2e/out/results, one line each, as it goes (the host
# follows the file):
#   ok - TEXT / not ok - TEXT      one per step/check
#   # e2e: STEP SECONDSs           time of a step
#   # TEXT                         diagnostics
#   # e2e: guest-done              the last line of a finished run
# and logs beside it (selftest.txt, dkms-*.log, dmesg.txt, journal.txt).
set -u
E2E=/mnt/e2e
OUT=$E2E/out
mkdir -p "$OUT"
RES=$OUT/results
: >"$RES"
# KVER KVER2 DEBS2 VERSION (written by scripts/e2e.sh)
# shellcheck disable=SC1091 # written per run
. "$E2E/e2e.env"
export HOME=/root LC_ALL=C.UTF-8

emit() {	# every result line also goes to the console (the serial log)
	printf '%s\n' "$*" >>"$RES"
	printf '@@E2E %s\n' "$*"
}
tap() {	# tap STATUS TEXT
	if [ "$1" -eq 0 ]; then emit "ok - $2"; else emit "not ok - $2"; fi
	return "$1"
}
diag() { sed 's/^/# /' | while IFS= read -r l; do emit "$l"; done; }
clock() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(clock)" 'BEGIN { printf "%.1f", b - a }'; }
timed() {	# timed STEP START
	emit "# e2e: $1 $(elapsed "$2")s"
}
# run LOG CMD...: CMD's output to $OUT/LOG; its status returned.
run() {
	log=$OUT/$1
	shift
	"$@" >"$log" 2>&1
}

emit "# e2e: guest-boot $(cut -d' ' -f1 /proc/uptime)s"
t_all=$(clock)

# --- the machine -------------------------------------------------------------
[ "$(uname -r)" = "$KVER" ]
tap $? "machine: booted the image's own kernel $KVER (uname -r: $(uname -r))"
state=$(systemctl is-system-running 2>/dev/null)
udevd=$(systemctl is-active systemd-udevd.service 2>/dev/null)
[ "$udevd" = active ] && [ "$(cat /proc/1/comm)" = systemd ]
tap $? "machine: systemd is PID 1 and systemd-udevd is $udevd (system state: $state)"
ok=0
for p in dkms "linux-headers-$KVER" gcc-12 make; do
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ] || {
		ok=1
		echo "$p is not installed" | diag
	}
done
tap $ok "machine: README's prerequisites are installed (dkms, linux-headers-$KVER, gcc-12, make)"

# --- the source package --------------------------------------------------------
# As a user who downloaded the release tarball: unpack, then the README's
# commands from inside the tree.
t=$(clock)
rm -rf /root/src
mkdir -p /root/src
tar -xzf "$E2E/dmabuf-revoke-src.tar.gz" -C /root/src
rc=$?
src=$(find /root/src -mindepth 1 -maxdepth 1 -type d | head -n 1)
cd "$src" 2>/dev/null || rc=1
[ $rc -eq 0 ] && [ "$(cat VERSION 2>/dev/null)" = "$VERSION" ]
tap $? "source: unpack the source package (version $(cat VERSION 2>/dev/null))"
cp -r . "/usr/src/dmabuf-revoke-$(cat VERSION)"
tap $? "install: cp -r . /usr/src/dmabuf-revoke-$VERSION"
timed unpack-and-copy "$t"

# --- dkms install ----------------------------------------------------------------
t=$(clock)
run dkms-install.log dkms install "dmabuf-revoke/$(cat VERSION)"
rc=$?
timed dkms-install "$t"
if ! tap $rc "dkms: dkms install dmabuf-revoke/$VERSION builds and installs for $KVER"; then
	tail -n 40 "$OUT/dkms-install.log" | diag
	f=/var/lib/dkms/dmabuf-revoke/$VERSION/build/make.log
	[ -f "$f" ] && tail -n 60 "$f" | diag
fi
cp "/var/lib/dkms/dmabuf-revoke/$VERSION/$KVER/x86_64/log/make.log" \
	"$OUT/dkms-make-$KVER.log" 2>/dev/null

status=$(dkms status 2>&1)
echo "$status" >"$OUT/dkms-status-1.txt"
echo "$status" | diag
echo "$status" | grep -q -E "^dmabuf-revoke/$VERSION, $KVER, [^:]*: installed"
tap $? "dkms: dkms status says dmabuf-revoke/$VERSION is installed for $KVER"

# --- modinfo ---------------------------------------------------------------------
mi=$(modinfo dmabuf_revoke_shim 2>&1)
echo "$mi" | grep -E '^(filename|version|vermagic|signer|sig_key):' | diag
[ "$(modinfo -F version dmabuf_revoke_shim 2>/dev/null)" = "$VERSION" ]
tap $? "modinfo: dmabuf_revoke_shim has version $VERSION"
vm=$(modinfo -F vermagic dmabuf_revoke_shim 2>/dev/null | cut -d' ' -f1)
fn=$(modinfo -F filename dmabuf_revoke_shim 2>/dev/null)
[ "$vm" = "$KVER" ] && case $fn in /lib/modules/$KVER/updates/dkms/*) true ;; *) false ;; esac
tap $? "modinfo: vermagic $vm, installed by DKMS under /lib/modules/$KVER/updates/dkms"

# --- modprobe --------------------------------------------------------------------
loaded() { grep -q "^$1 " /proc/modules; }
out=$(modprobe vfio_revoke_exporter 2>&1)
rc=$?
[ -n "$out" ] && echo "$out" | diag
[ $rc -eq 0 ] && loaded vfio_revoke_exporter && loaded dmabuf_revoke_shim
tap $? "modprobe: vfio_revoke_exporter loads, with the shim it depends on"
[ "$(cat /sys/module/dmabuf_revoke_shim/version 2>/dev/null)" = "$VERSION" ]
tap $? "modprobe: the loaded shim reports version $VERSION in /sys/module"
echo "kernel taint after loading: $(cat /proc/sys/kernel/tainted)" | diag
udevadm settle
[ -c /dev/dmabuf_revoke ] && [ -c /dev/vfio_revoke_exporter ]
tap $? "udev: device nodes /dev/dmabuf_revoke and /dev/vfio_revoke_exporter exist"

# --- make install + the udev rule ---------------------------------------------------
# Loosen the nodes first, so only the installed rule can make them 0600
# again (without a rule, udev leaves a node's mode alone).
chmod 0666 /dev/dmabuf_revoke /dev/vfio_revoke_exporter
t=$(clock)
run make-install.log make install
rc=$?
timed make-install "$t"
tap $rc "install: make install (CLI, man page, uapi header, udev rule, dmabuf-revoke-selftest)" ||
	tail -n 30 "$OUT/make-install.log" | diag
[ -f /etc/udev/rules.d/60-dmabuf-revoke.rules ]
tap $? "install: the udev rule is in /etc/udev/rules.d"
udevadm control --reload && udevadm trigger && udevadm settle
tap $? "udev: udevadm control --reload && udevadm trigger"
ok=0
for n in dmabuf_revoke vfio_revoke_exporter; do
	p=$(stat -c '%a %U:%G' "/dev/$n" 2>&1)
	echo "/dev/$n: $p" | diag
	[ "$p" = "600 root:root" ] || ok=1
done
tap $ok "udev: the rule set /dev/dmabuf_revoke and /dev/vfio_revoke_exporter to 0600 root:root"

# --- the field test ----------------------------------------------------------------
t=$(clock)
dmabuf-revoke-selftest >"$OUT/selftest.txt" 2>&1
rc=$?
timed field-test "$t"
summary=$(tail -n 1 "$OUT/selftest.txt")
case $summary in
*" passed, 0 failed") [ $rc -eq 0 ] ;;
*) false ;;
esac
if ! tap $? "field test: dmabuf-revoke-selftest passes the full suite on $KVER ($summary, exit $rc)"; then
	grep -E '^not ok|^# ' "$OUT/selftest.txt" | head -n 60 | diag
	tail -n 5 "$OUT/selftest.txt" | diag
fi
grep -c '^ok ' "$OUT/selftest.txt" | sed 's/^/field test ok lines: /' | diag
loaded vfio_revoke_exporter && loaded dmabuf_revoke_shim && ! loaded iommufd_importer_test
tap $? "field test: left the modules as they were (exporter and shim still loaded, the importer it loaded unloaded)"

# --- the CLI -----------------------------------------------------------------------
out=$(dmabuf-revoke version 2>&1)
rc=$?
echo "$out" | diag
[ $rc -eq 0 ] && case $out in "dmabuf-revoke ABI "*) true ;; *) false ;; esac
tap $? "cli: dmabuf-revoke version (exit $rc)"

# --- a second kernel: DKMS AUTOINSTALL ------------------------------------------------
# The .debs are preloaded in the image (no network); dpkg runs the kernel's
# postinst hooks, among them DKMS's, exactly as an apt upgrade would.
t=$(clock)
# Each output line stamped with the uptime, to time the hooks apart.
{
	# shellcheck disable=SC2086 # a list of paths
	env DEBIAN_FRONTEND=noninteractive dpkg -i $DEBS2 2>&1
	echo $? >"$OUT/dpkg.rc"
} | while IFS= read -r l; do
	read -r up _ </proc/uptime
	printf '%s %s\n' "$up" "$l"
done >"$OUT/dpkg-second-kernel.log"
rc=$(cat "$OUT/dpkg.rc")
timed second-kernel-install "$t"
# stamp PATTERN: uptime of the first log line matching PATTERN.
stamp() { awk -v p="$1" '$0 ~ p { print $1; exit }' "$OUT/dpkg-second-kernel.log"; }
span() {	# span STEP FROM-PATTERN TO-PATTERN
	a=$(stamp "$2") b=$(stamp "$3")
	[ -n "$a" ] && [ -n "$b" ] && emit "# e2e: $1 $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.1f", b - a }')s"
}
span second-kernel-unpack 'Preparing to unpack' 'Setting up linux-image'
span second-kernel-dkms-autoinstall 'running auto installation service' 'dkms: autoinstall for kernel'
span second-kernel-initramfs 'update-initramfs: Generating' 'Setting up linux-headers-'
tap "$rc" "kernel upgrade: dpkg -i linux-image/linux-headers-$KVER2 (kernel postinst hooks ran)" ||
	tail -n 40 "$OUT/dpkg-second-kernel.log" | diag
grep -i -E 'dkms|autoinstall' "$OUT/dpkg-second-kernel.log" | head -n 10 | diag
cp "/var/lib/dkms/dmabuf-revoke/$VERSION/$KVER2/x86_64/log/make.log" \
	"$OUT/dkms-make-$KVER2.log" 2>/dev/null
status=$(dkms status 2>&1)
echo "$status" >"$OUT/dkms-status-2.txt"
echo "$status" | diag
echo "$status" | grep -q -E "^dmabuf-revoke/$VERSION, $KVER2, [^:]*: installed"
tap $? "kernel upgrade: DKMS AUTOINSTALL built and installed dmabuf-revoke/$VERSION for $KVER2"
echo "$status" | grep -q -E "^dmabuf-revoke/$VERSION, $KVER, [^:]*: installed"
tap $? "kernel upgrade: dkms status still lists it installed for $KVER too"
vm=$(modinfo -k "$KVER2" -F vermagic dmabuf_revoke_shim 2>/dev/null | cut -d' ' -f1)
v=$(modinfo -k "$KVER2" -F version dmabuf_revoke_shim 2>/dev/null)
[ "$vm" = "$KVER2" ] && [ "$v" = "$VERSION" ]
tap $? "kernel upgrade: modinfo -k $KVER2 dmabuf_revoke_shim: version $v, vermagic $vm"
[ -f "/boot/initrd.img-$KVER2" ]
tap $? "kernel upgrade: the new kernel's initrd was generated"

# --- logs --------------------------------------------------------------------------
dmesg >"$OUT/dmesg.txt" 2>&1
journalctl -b --no-pager >"$OUT/journal.txt" 2>&1
timed guest-total "$t_all"
emit "# e2e: guest-done"
sync
