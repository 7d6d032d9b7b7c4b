#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# e2e/guest.sh: the end-to-end lane inside the Debian machine (scripts/e2e.sh
# boots it; the image's dmabuf-revoke-e2e.service runs this from the run's
# 9p share at /mnt/e2e). Walks README's "Install on a real host" as a user
# would, with no network, from the packages `make deb` builds:
#   apt install ./dmabuf-revoke-{dkms,tools,dev}_VERSION*.deb, dkms status,
#   modinfo, modprobe, the udev rule, the field test, the CLI;
# then, with E2E_MODE=full (Debian 12):
#   an upgrade to a newer package version (DKMS rebuilds; the new modules
#   load), a second kernel's .debs (DKMS AUTOINSTALL builds for it);
# and always, last:
#   apt purge: no module, DKMS tree, udev rule or other file of the
#   packages is left (the machine's file list before the install and after
#   the purge are compared).
#
# Writes to /mnt/e2e/out/results, one line each, as it goes (the host
# follows the file):
#   ok - TEXT / not ok - TEXT      one per step/check
#   # e2e: STEP SECONDSs           time of a step
#   # TEXT                         diagnostics
#   # e2e: guest-done              the last line of a finished run
# and logs beside it (selftest.txt, apt-*.log, dmesg.txt, journal.txt).
set -u
E2E=/mnt/e2e
OUT=$E2E/out
mkdir -p "$OUT"
RES=$OUT/results
: >"$RES"
# E2E_MODE KVER KVER2 DEBS2 VERSION VERSION2 (written by scripts/e2e.sh)
# shellcheck disable=SC1091 # written per run
. "$E2E/e2e.env"
: "${E2E_MODE:=field}" "${VERSION:?}" "${VERSION2:=}" "${KVER:?}" "${KVER2:=}" "${DEBS2:=}"
export HOME=/root LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive
ARCH=$(dpkg --print-architecture)

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
loaded() { grep -q "^$1 " /proc/modules; }
# installed_for V K: dkms status lists dmabuf-revoke/V installed for K.
# (Fixed strings: a version like 0.1.0+e2e1 is no regular expression.)
installed_for() {
	dkms status 2>&1 | grep -F "dmabuf-revoke/$1, $2, " | grep -q -F ": installed"
}
# The machine's files, minus what changes on its own (logs, caches, apt
# and dpkg state, runtime dirs, this lane's share): what an install may add
# and a purge must take away again.
snapshot() {
	find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /run \
		-o -path /tmp -o -path /var/tmp -o -path /mnt -o -path /root \
		-o -path /var/log -o -path /var/cache -o -path /var/lib/apt \
		-o -path /var/lib/dpkg -o -path /var/lib/systemd \) -prune -o -print |
		LC_ALL=C sort
}

emit "# e2e: guest-boot $(cut -d' ' -f1 /proc/uptime)s"
t_all=$(clock)

# --- the machine -------------------------------------------------------------
# a subshell: os-release sets VERSION, which here is the package's version
# shellcheck disable=SC1091 # the guest's own file
PRETTY_NAME=$(. /etc/os-release && printf '%s' "$PRETTY_NAME")
[ "$(uname -r)" = "$KVER" ]
tap $? "machine: $PRETTY_NAME booted the image's own kernel $KVER (uname -r: $(uname -r))"
state=$(systemctl is-system-running 2>/dev/null)
udevd=$(systemctl is-active systemd-udevd.service 2>/dev/null)
[ "$udevd" = active ] && [ "$(cat /proc/1/comm)" = systemd ]
tap $? "machine: systemd is PID 1 and systemd-udevd is $udevd (system state: $state)"
ok=0
for p in dkms make; do
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ] || {
		ok=1
		echo "$p is not installed" | diag
	}
done
tap $ok "machine: dkms and make are installed"
snapshot >"$OUT/files-before.txt"

# --- README: install the packages ------------------------------------------------
# The .debs as `make deb` left them, in a directory apt's sandbox user can
# read (as ~/.cache/dmabuf-revoke/deb/out/ is for root on a real host).
debs=/var/tmp/dmabuf-revoke-debs
rm -rf "$debs"
mkdir -p "$debs"
cp "$E2E"/debs/*.deb "$debs"/
chmod -R a+rX "$debs"
# README: "apt install linux-headers-$(uname -r)" - already there, offline.
run apt-headers.log apt-get -y install "linux-headers-$(uname -r)"
tap $? "install: apt install linux-headers-$(uname -r) (already installed here)" ||
	tail -n 20 "$OUT/apt-headers.log" | diag
t=$(clock)
(cd "$debs" && apt-get -y install "./dmabuf-revoke-dkms_${VERSION}_all.deb" \
	"./dmabuf-revoke-tools_${VERSION}_$ARCH.deb" "./dmabuf-revoke-dev_${VERSION}_all.deb") \
	>"$OUT/apt-install.log" 2>&1
rc=$?
timed apt-install "$t"
if ! tap $rc "install: apt install ./dmabuf-revoke-{dkms,tools,dev}_$VERSION*.deb (DKMS builds in the postinst)"; then
	tail -n 40 "$OUT/apt-install.log" | diag
	f=/var/lib/dkms/dmabuf-revoke/$VERSION/build/make.log
	[ -f "$f" ] && tail -n 60 "$f" | diag
fi
cp "/var/lib/dkms/dmabuf-revoke/$VERSION/$KVER/$(uname -m)/log/make.log" \
	"$OUT/dkms-make-$KVER.log" 2>/dev/null
dkms status 2>&1 | tee "$OUT/dkms-status-1.txt" | diag
installed_for "$VERSION" "$KVER"
tap $? "dkms: dkms status says dmabuf-revoke/$VERSION is installed for $KVER"

mi=$(modinfo dmabuf_revoke_shim 2>&1)
echo "$mi" | grep -E '^(filename|version|vermagic|signer|sig_key):' | diag
[ "$(modinfo -F version dmabuf_revoke_shim 2>/dev/null)" = "$VERSION" ]
tap $? "modinfo: dmabuf_revoke_shim has version $VERSION"
vm=$(modinfo -F vermagic dmabuf_revoke_shim 2>/dev/null | cut -d' ' -f1)
fn=$(modinfo -F filename dmabuf_revoke_shim 2>/dev/null)
[ "$vm" = "$KVER" ] && case $fn in /lib/modules/$KVER/updates/dkms/* | /usr/lib/modules/$KVER/updates/dkms/*) true ;; *) false ;; esac
tap $? "modinfo: vermagic $vm, installed by DKMS under /lib/modules/$KVER/updates/dkms"

# --- modprobe and udev --------------------------------------------------------------
out=$(modprobe vfio_revoke_exporter 2>&1)
rc=$?
[ -n "$out" ] && echo "$out" | diag
[ $rc -eq 0 ] && loaded vfio_revoke_exporter && loaded dmabuf_revoke_shim
tap $? "modprobe: vfio_revoke_exporter loads, with the shim it depends on"
[ "$(cat /sys/module/dmabuf_revoke_shim/version 2>/dev/null)" = "$VERSION" ]
tap $? "modprobe: the loaded shim reports version $VERSION in /sys/module"
echo "kernel taint after loading: $(cat /proc/sys/kernel/tainted)" | diag
udevadm settle
[ -f /lib/udev/rules.d/60-dmabuf-revoke.rules ] || [ -f /usr/lib/udev/rules.d/60-dmabuf-revoke.rules ]
tap $? "install: dmabuf-revoke-tools put the udev rule in /lib/udev/rules.d"
modprobe dmabuf_revoke_heap 2>&1 | diag
loaded dmabuf_revoke_heap && [ -c /dev/dma_heap/revocable ]
tap $? "modprobe: dmabuf_revoke_heap makes /dev/dma_heap/revocable"
# Turn the modes around first, so only the installed rule can set them
# right (without a rule, udev leaves a node's mode alone).
chmod 0600 /dev/dmabuf_revoke /dev/dma_heap/revocable
chmod 0666 /dev/vfio_revoke_exporter
udevadm trigger && udevadm settle
tap $? "udev: udevadm trigger"
ok=0
for n in dmabuf_revoke:666 dma_heap/revocable:666 vfio_revoke_exporter:600; do
	p=$(stat -c '%a %U:%G' "/dev/${n%:*}" 2>&1)
	echo "/dev/${n%:*}: $p" | diag
	[ "$p" = "${n#*:} root:root" ] || ok=1
done
tap $ok "udev: the rule makes /dev/dmabuf_revoke and /dev/dma_heap/revocable 0666, /dev/vfio_revoke_exporter 0600, all root:root"
modprobe -r dmabuf_revoke_heap 2>&1 | diag
! loaded dmabuf_revoke_heap
tap $? "modprobe: -r dmabuf_revoke_heap unloads it"

# --- the field test and the CLI ------------------------------------------------------
t=$(clock)
dmabuf-revoke-selftest >"$OUT/selftest.txt" 2>&1
rc=$?
timed field-test "$t"
summary=$(tail -n 1 "$OUT/selftest.txt")
case $summary in
*" passed, 0 failed"*) [ $rc -eq 0 ] ;;
*) false ;;
esac
if ! tap $? "field test: dmabuf-revoke-selftest passes the full suite on $KVER ($summary, exit $rc)"; then
	grep -E '^not ok|^# ' "$OUT/selftest.txt" | head -n 60 | diag
	tail -n 5 "$OUT/selftest.txt" | diag
fi
loaded vfio_revoke_exporter && loaded dmabuf_revoke_shim && ! loaded iommufd_importer_test
tap $? "field test: left the modules as they were (exporter and shim still loaded, the importer it loaded unloaded)"
out=$(dmabuf-revoke version 2>&1)
rc=$?
echo "$out" | diag
[ $rc -eq 0 ] && case $out in "dmabuf-revoke ABI "*) true ;; *) false ;; esac
tap $? "cli: dmabuf-revoke version (exit $rc)"

if [ "$E2E_MODE" = full ]; then
	# --- a package upgrade: DKMS rebuilds ------------------------------------------
	# The old package's prerm removes its modules from every kernel, the
	# new one's postinst builds and installs the new version; the running
	# modules stay until they are reloaded.
	t=$(clock)
	(cd "$debs" && apt-get -y install "./dmabuf-revoke-dkms_${VERSION2}_all.deb" \
		"./dmabuf-revoke-tools_${VERSION2}_$ARCH.deb" "./dmabuf-revoke-dev_${VERSION2}_all.deb") \
		>"$OUT/apt-upgrade.log" 2>&1
	rc=$?
	timed package-upgrade "$t"
	tap $rc "package upgrade: apt install ./dmabuf-revoke-*_$VERSION2*.deb over $VERSION" ||
		tail -n 40 "$OUT/apt-upgrade.log" | diag
	grep -E 'Unpacking|Setting up|dkms|Deleting|Building' "$OUT/apt-upgrade.log" | head -n 20 | diag
	dkms status 2>&1 | tee "$OUT/dkms-status-upgrade.txt" | diag
	installed_for "$VERSION2" "$KVER" && ! dkms status 2>&1 | grep -q -F "dmabuf-revoke/$VERSION,"
	tap $? "package upgrade: dkms status lists dmabuf-revoke/$VERSION2 installed for $KVER and no $VERSION any more"
	[ "$(modinfo -F version dmabuf_revoke_shim 2>/dev/null)" = "$VERSION2" ]
	tap $? "package upgrade: the installed dmabuf_revoke_shim.ko is version $VERSION2"
	out=$(modprobe -r vfio_revoke_exporter dmabuf_revoke_shim 2>&1 && modprobe vfio_revoke_exporter 2>&1)
	rc=$?
	[ -n "$out" ] && echo "$out" | diag
	[ $rc -eq 0 ] && [ "$(cat /sys/module/dmabuf_revoke_shim/version 2>/dev/null)" = "$VERSION2" ]
	tap $? "package upgrade: after a reload the running shim is version $VERSION2"
	out=$(dmabuf-revoke version 2>&1)
	rc=$?
	echo "$out" | diag
	[ $rc -eq 0 ] && case $out in "dmabuf-revoke ABI "*) true ;; *) false ;; esac
	tap $? "package upgrade: the new CLI talks to the new shim (exit $rc)"
	VERSION=$VERSION2

	# --- a second kernel: DKMS AUTOINSTALL -----------------------------------------
	# The .debs are preloaded in the image (no network); dpkg runs the
	# kernel's postinst hooks, among them DKMS's, as an apt upgrade would.
	t=$(clock)
	# Each output line stamped with the uptime, to time the hooks apart.
	{
		# shellcheck disable=SC2086 # a list of paths
		dpkg -i $DEBS2 2>&1
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
	cp "/var/lib/dkms/dmabuf-revoke/$VERSION/$KVER2/$(uname -m)/log/make.log" \
		"$OUT/dkms-make-$KVER2.log" 2>/dev/null
	dkms status 2>&1 | tee "$OUT/dkms-status-2.txt" | diag
	installed_for "$VERSION" "$KVER2"
	tap $? "kernel upgrade: DKMS AUTOINSTALL built and installed dmabuf-revoke/$VERSION for $KVER2"
	installed_for "$VERSION" "$KVER"
	tap $? "kernel upgrade: dkms status still lists it installed for $KVER too"
	vm=$(modinfo -k "$KVER2" -F vermagic dmabuf_revoke_shim 2>/dev/null | cut -d' ' -f1)
	v=$(modinfo -k "$KVER2" -F version dmabuf_revoke_shim 2>/dev/null)
	[ "$vm" = "$KVER2" ] && [ "$v" = "$VERSION" ]
	tap $? "kernel upgrade: modinfo -k $KVER2 dmabuf_revoke_shim: version $v, vermagic $vm"
	[ -f "/boot/initrd.img-$KVER2" ]
	tap $? "kernel upgrade: the new kernel's initrd was generated"
fi

# --- apt purge: nothing left ------------------------------------------------------------
modprobe -r iommufd_importer_test vfio_revoke_exporter dmabuf_revoke_shim 2>&1 | diag
t=$(clock)
run apt-purge.log apt-get -y purge dmabuf-revoke-dkms dmabuf-revoke-tools dmabuf-revoke-dev
rc=$?
timed apt-purge "$t"
tap $rc "purge: apt purge dmabuf-revoke-dkms dmabuf-revoke-tools dmabuf-revoke-dev" ||
	tail -n 30 "$OUT/apt-purge.log" | diag
left=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' 'dmabuf-revoke*' 2>/dev/null | grep -v ' un *$')
[ -z "$left" ]
tap $? "purge: dpkg knows no dmabuf-revoke package any more (not even its configuration files)" ||
	echo "$left" | diag
left=$(find / -xdev \( -path /proc -o -path /sys -o -path /mnt \) -prune -o \
	\( -name 'dmabuf_revoke_shim.ko*' -o -name 'dmabuf_revoke_heap.ko*' \
	-o -name 'vfio_revoke_exporter.ko*' \
	-o -name 'iommufd_importer_test.ko*' -o -name '60-dmabuf-revoke.rules' \
	-o -path '/var/lib/dkms/dmabuf-revoke' -o -path '/usr/src/dmabuf-revoke-*' \) -print)
[ -z "$left" ]
tap $? "purge: no module, DKMS tree, source tree or udev rule of ours is left on any kernel" ||
	echo "$left" | diag
! modinfo -k "$KVER" dmabuf_revoke_shim >/dev/null 2>&1
tap $? "purge: modinfo no longer finds dmabuf_revoke_shim for $KVER (depmod ran)"
snapshot >"$OUT/files-after.txt"
# What the second kernel brought (every path naming its ABI, e.g.
# /boot/*-6.1.0-50-amd64, /usr/src/linux-headers-6.1.0-50-common) is not
# ours; DKMS keeps its own signing key, made on its first build, for every
# DKMS module.
abi=${KVER2%-*}
added=$(LC_ALL=C comm -13 "$OUT/files-before.txt" "$OUT/files-after.txt" |
	grep -v -e "^/var/lib/dkms/mok\." ${abi:+-e "$abi"})
removed=$(LC_ALL=C comm -23 "$OUT/files-before.txt" "$OUT/files-after.txt")
kept=$(LC_ALL=C comm -13 "$OUT/files-before.txt" "$OUT/files-after.txt" | grep -c -e "^/var/lib/dkms/mok\.")
[ -z "$added" ] && [ -z "$removed" ]
tap $? "purge: the machine's files are those before the install ($(wc -l <"$OUT/files-after.txt") paths compared; DKMS's signing key kept: $kept files)" || {
	[ -n "$added" ] && echo "$added" | sed 's/^/left behind: /' | head -n 40 | diag
	[ -n "$removed" ] && echo "$removed" | sed 's/^/gone: /' | head -n 40 | diag
}

# --- logs --------------------------------------------------------------------------
dmesg >"$OUT/dmesg.txt" 2>&1
journalctl -b --no-pager >"$OUT/journal.txt" 2>&1
timed guest-total "$t_all"
emit "# e2e: guest-done"
sync
