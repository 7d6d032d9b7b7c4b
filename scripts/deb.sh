#!/usr/bin/env bash
# deb.sh [--srpm-only]
#
# `make deb`: the Debian packages and the source RPM, built the way a
# distribution builds them, as report lines like lint.sh's ("[deb] ok - ...",
# "[rpm] not ok - ...", findings indented below) and the closing line
# "N passed, N failed"; exit 1 on any failure. `make srpm` (--srpm-only)
# runs the [rpm] part alone.
#
#   [deb] version    debian/changelog's version is the VERSION file's
#   [deb] build      dpkg-buildpackage -us -uc -b in a copy of the tree (the
#                    repo as git sees it: tracked + untracked-not-ignored
#                    files, so uncommitted work is what gets packaged)
#   [deb] PACKAGE    dpkg-deb -c/-I of each .deb: dmabuf-revoke-dkms has
#                    dkms.conf (its version written out), Kbuild, Makefile,
#                    VERSION, compat/, include/ and every source file of the
#                    three module directories, and dh_dkms's maintainer
#                    scripts; dmabuf-revoke-tools the CLI, the field test
#                    (pointing at the installed suite) with its binaries and
#                    data, both man pages, the udev rule, the examples;
#                    dmabuf-revoke-dev the uapi header; only the -dkms
#                    package has /usr/src or DKMS scripts
#   [deb] lintian    lintian on the .changes (every .deb): no error and no
#                    warning; overrides only in debian/*.lintian-overrides,
#                    each with its reason
#   [rpm] version    dmabuf-revoke.spec's Version is the VERSION file's
#   [rpm] srpm       rpmbuild -bs with a tarball of the same copy
#   [rpm] files      rpmbuild -bb --nodeps: the spec's %install (the
#                    Makefile's install targets) and %files agree - rpm
#                    fails on a file installed but not listed or listed but
#                    missing (these binary RPMs are built on Debian and not
#                    kept)
#
# Build dependencies (debhelper, dh-dkms, dkms, lintian, build-essential,
# rpm) are installed with apt when missing. The copy is built in
# $DMABUF_REVOKE_CACHE/deb/build/ (wiped at the start of each run, kept
# after it for inspection). Results:
#   $DEB_OUT (default ~/.cache/dmabuf-revoke/deb/out/): the .debs, .changes,
#            .buildinfo, build.log, lintian.log - only this run's: emptied
#            first, so `apt install $DEB_OUT/dmabuf-revoke-dkms_*.deb` never
#            picks up an older build
#   $RPM_OUT (default ~/.cache/dmabuf-revoke/rpm/out/): the .src.rpm and
#            the rpmbuild logs
# Env: DMABUF_REVOKE_CACHE, DEB_OUT, RPM_OUT.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

do_deb=1
case ${1:-} in
--srpm-only) do_deb=0 ;;
-h | --help)
	sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"
	exit 0
	;;
"") ;;
*) die "unknown argument $1 (try --help)" ;;
esac

DEB_OUT=${DEB_OUT:-$CACHE_DIR/deb/out}
RPM_OUT=${RPM_OUT:-$CACHE_DIR/rpm/out}
work=$CACHE_DIR/deb/build

passed=0 failed=0
t_all=$(now)
ok() {
	printf '[%s] ok - %s\n' "$1" "$2"
	passed=$((passed + 1))
}
notok() {
	printf '[%s] not ok - %s\n' "$1" "$2"
	failed=$((failed + 1))
}
# indent [N]: findings under a result line (at most N lines, default 60).
indent() {
	local n=${1:-60} total lines
	total=$(cat)
	[[ -n $total ]] || return 0
	sed -n "1,${n}s/^/      /p" <<<"$total"
	lines=$(wc -l <<<"$total")
	((lines <= n)) || echo "      ... ($((lines - n)) more lines in the log)"
}
finish() {
	echo "# deb.sh time: $(since "$t_all")s"
	echo "$passed passed, $failed failed"
	((failed == 0)) && exit 0
	exit 1
}

pkgs=(rpm)
((do_deb)) && pkgs+=(debhelper dh-dkms dkms lintian build-essential)
ensure_pkgs git "${pkgs[@]}"

# One run at a time per cache: the build tree and the output dirs are shared.
mkdir -p "$CACHE_DIR/deb"
exec 9>"$CACHE_DIR/deb/.lock"
flock 9

version=$(<"$REPO_ROOT/VERSION")
name=dmabuf-revoke
rm -rf "$work"
mkdir -p "$work"
t=$(now)
# The packages need what check.sh's DKMS copy leaves out (tests/, scripts/
# for the field test); only CI's own files stay behind.
n=$(DKMS_EXCLUDE_PATHS=.ci stage_package_files "$work/$name-$version") ||
	die "could not copy the tree to $work"
say "copied $n files of $name-$version to $work in $(since "$t")s"
src=$work/$name-$version
# The RPM's tarball, made now: dpkg-buildpackage leaves its build in $src.
top=$work/rpmbuild
mkdir -p "$top/SOURCES"
tar -C "$work" --owner=0 --group=0 -czf "$top/SOURCES/$name-$version.tar.gz" "$name-$version"

# --- Debian packages -------------------------------------------------------------
deb_contents() { dpkg-deb -c "$1" | awk '{ print $6 }' | sed 's|^\./|/|; s|/$||'; }

# missing_in DEB PATH...: prints the PATHs DEB does not contain.
missing_in() {
	local deb=$1 want
	shift
	local have
	have=$(deb_contents "$deb")
	for want in "$@"; do
		grep -qxF -- "$want" <<<"$have" || echo "missing: $want"
	done
}

check_dkms_deb() {
	local deb=$1 dir=/usr/src/$name-$version want=() f m problems n_src
	want=("$dir/dkms.conf" "$dir/Kbuild" "$dir/Makefile" "$dir/VERSION"
		"$dir/compat/run-probes.sh")
	# Everything DKMS compiles: the sources git has in these directories.
	for m in compat/probes include dmabuf_revoke_shim dmabuf_revoke_heap vfio_revoke_exporter iommufd_importer_test; do
		while IFS= read -r f; do
			want+=("$dir/$f")
		done < <(cd "$src" && find "$m" -type f \( -name '*.[ch]' -o -name Kbuild \) | sort)
	done
	n_src=${#want[@]}
	problems=$(missing_in "$deb" "${want[@]}")
	# dh_dkms needs (and installs) a dkms.conf with the version written out.
	local conf
	conf=$(dpkg-deb --fsys-tarfile "$deb" | tar -xOf - ".$dir/dkms.conf" 2>/dev/null || true)
	grep -qx "PACKAGE_VERSION=\"$version\"" <<<"$conf" ||
		problems+=$'\n'"dkms.conf does not say PACKAGE_VERSION=\"$version\""
	local ctl
	ctl=$(mktemp -d)
	dpkg-deb -e "$deb" "$ctl"
	grep -qs 'Automatically added by dh_dkms' "$ctl/postinst" &&
		grep -qs '/usr/lib/dkms/common.postinst' "$ctl/postinst" ||
		problems+=$'\n'"postinst is not dh_dkms's (dkms add/build/install through common.postinst)"
	grep -qs "dkms remove -m \$DKMS_NAME -v \$DKMS_VERSION --all" "$ctl/prerm" ||
		problems+=$'\n'"prerm does not run dh_dkms's dkms remove --all"
	grep -qs "^DKMS_VERSION=$version$" "$ctl/postinst" ||
		problems+=$'\n'"postinst is not for version $version"
	rm -rf "$ctl"
	problems=$(sed '/^$/d' <<<"$problems")
	if [[ -z $problems ]]; then
		ok deb "$(basename "$deb"): dkms.conf (version $version), Kbuild, Makefile, VERSION, compat/, include/, the sources of dmabuf_revoke_shim, dmabuf_revoke_heap, vfio_revoke_exporter, iommufd_importer_test ($n_src files in $dir), dh_dkms's postinst/prerm"
	else
		notok deb "$(basename "$deb"): the DKMS tree in $dir and dh_dkms's maintainer scripts"
		indent <<<"$problems"
	fi
}

check_tools_deb() {
	local deb=$1 problems script
	problems=$(missing_in "$deb" /usr/sbin/dmabuf-revoke /usr/sbin/dmabuf-revoke-selftest \
		/usr/share/man/man8/dmabuf-revoke.8.gz /usr/share/man/man8/dmabuf-revoke-selftest.8.gz \
		/usr/libexec/dmabuf-revoke/revoke_suite /usr/libexec/dmabuf-revoke/dmabuf-revoke \
		/usr/share/dmabuf-revoke/splat.re /lib/udev/rules.d/60-dmabuf-revoke.rules \
		/usr/share/doc/dmabuf-revoke-tools/examples/modules-load.d/dmabuf-revoke.conf \
		/usr/share/doc/dmabuf-revoke-tools/examples/modprobe.d/dmabuf-revoke.conf)
	# make install rewrites the field test's two path lines for the
	# installed layout.
	script=$(dpkg-deb --fsys-tarfile "$deb" | tar -xOf - ./usr/sbin/dmabuf-revoke-selftest 2>/dev/null || true)
	# shellcheck disable=SC2016 # literal shell text
	grep -qxF 'BIN_DIR=${BIN_DIR:-/usr/libexec/dmabuf-revoke}' <<<"$script" ||
		problems+=$'\n'"dmabuf-revoke-selftest does not default BIN_DIR to /usr/libexec/dmabuf-revoke"
	# shellcheck disable=SC2016
	grep -qxF 'DATA_DIR=${DATA_DIR:-/usr/share/dmabuf-revoke}' <<<"$script" ||
		problems+=$'\n'"dmabuf-revoke-selftest does not default DATA_DIR to /usr/share/dmabuf-revoke"
	problems=$(sed '/^$/d' <<<"$problems")
	if [[ -z $problems ]]; then
		ok deb "$(basename "$deb"): /usr/sbin/dmabuf-revoke, dmabuf-revoke-selftest (suite in /usr/libexec/dmabuf-revoke, splat.re in /usr/share/dmabuf-revoke), both man pages, /lib/udev/rules.d/60-dmabuf-revoke.rules, the examples"
	else
		notok deb "$(basename "$deb"): the CLI, the field test, man pages, the udev rule, the examples"
		indent <<<"$problems"
	fi
}

check_dev_deb() {
	local deb=$1 problems
	problems=$(missing_in "$deb" /usr/include/linux/dmabuf_revoke.h)
	if [[ -z $problems ]]; then
		ok deb "$(basename "$deb"): /usr/include/linux/dmabuf_revoke.h"
	else
		notok deb "$(basename "$deb"): the uapi header"
		indent <<<"$problems"
	fi
}

if ((do_deb)); then
	mkdir -p "$DEB_OUT"
	rm -f "$DEB_OUT"/*.deb "$DEB_OUT"/*.ddeb "$DEB_OUT"/*.changes "$DEB_OUT"/*.buildinfo \
		"$DEB_OUT"/build.log "$DEB_OUT"/lintian.log
	deb_version=$(cd "$src" && dpkg-parsechangelog -S Version)
	if [[ $deb_version == "$version" ]]; then
		ok deb "debian/changelog's version $deb_version is the VERSION file's"
		t=$(now)
		if (cd "$src" && dpkg-buildpackage -us -uc -b) >"$DEB_OUT/build.log" 2>&1; then
			ok deb "dpkg-buildpackage -us -uc -b ($(since "$t")s; log: $DEB_OUT/build.log)"
			built=1
		else
			notok deb "dpkg-buildpackage -us -uc -b (last lines of $DEB_OUT/build.log below)"
			tail -n 30 "$DEB_OUT/build.log" | indent 30
			built=0
		fi
	else
		notok deb "debian/changelog's version ($deb_version) is the VERSION file's ($version): bump both (dch -v $version)"
		built=0
	fi
	if ((built)); then
		arch=$(dpkg --print-architecture)
		mv "$work"/*.deb "$work"/*.changes "$work"/*.buildinfo "$DEB_OUT"/
		shopt -s nullglob
		extra=("$work"/*.ddeb)
		shopt -u nullglob
		((${#extra[@]} == 0)) || mv "${extra[@]}" "$DEB_OUT"/
		dkms_deb=$DEB_OUT/${name}-dkms_${version}_all.deb
		tools_deb=$DEB_OUT/${name}-tools_${version}_${arch}.deb
		dev_deb=$DEB_OUT/${name}-dev_${version}_all.deb
		for d in "$dkms_deb" "$tools_deb" "$dev_deb"; do
			[[ -f $d ]] || notok deb "$(basename "$d") was built"
		done
		[[ -f $dkms_deb ]] && check_dkms_deb "$dkms_deb"
		[[ -f $tools_deb ]] && check_tools_deb "$tools_deb"
		[[ -f $dev_deb ]] && check_dev_deb "$dev_deb"
		# Only the -dkms package may carry module sources and DKMS scripts
		# (dh_dkms without -p acts on every package).
		stray=
		for d in "$DEB_OUT"/*.deb; do
			[[ $d == "$dkms_deb" ]] && continue
			if deb_contents "$d" | grep -q '^/usr/src'; then
				stray+="$(basename "$d") has /usr/src"$'\n'
			fi
			if dpkg-deb -f "$d" Depends | grep -Eq '(^|, )dkms( |,|$)'; then
				stray+="$(basename "$d") depends on dkms"$'\n'
			fi
			ctl=$(mktemp -d)
			dpkg-deb -e "$d" "$ctl"
			if grep -qs dkms "$ctl/postinst" "$ctl/prerm" "$ctl/postrm"; then
				stray+="$(basename "$d") runs dkms in its maintainer scripts"$'\n'
			fi
			rm -rf "$ctl"
		done
		if [[ -z $stray ]]; then
			ok deb "only dmabuf-revoke-dkms has /usr/src and DKMS in its control data"
		else
			notok deb "only dmabuf-revoke-dkms has /usr/src and DKMS in its control data"
			indent <<<"$stray"
		fi

		changes=$DEB_OUT/${name}_${version}_${arch}.changes
		t=$(now)
		rc=0
		lintian --fail-on error,warning --display-info --tag-display-limit 0 "$changes" \
			>"$DEB_OUT/lintian.log" 2>&1 || rc=$?
		sed -i '/^running with root privileges is not recommended!$/d' "$DEB_OUT/lintian.log"
		nerr=$(grep -c '^[EW]: ' "$DEB_OUT/lintian.log" || true)
		ninfo=$(grep -c '^I: ' "$DEB_OUT/lintian.log" || true)
		if ((rc == 0 && nerr == 0)); then
			ok deb "lintian $(basename "$changes"): no error, no warning ($ninfo info tags$( ((ninfo == 0)) || echo ', below'); $(since "$t")s)"
			indent <"$DEB_OUT/lintian.log"
		else
			notok deb "lintian $(basename "$changes"): no error, no warning (exit status $rc; $nerr errors and warnings)"
			indent <"$DEB_OUT/lintian.log"
		fi
	fi
	echo "# deb: packages in $DEB_OUT"
fi

# --- source RPM --------------------------------------------------------------------
spec=$src/$name.spec
spec_version=$(awk '$1 == "Version:" { print $2; exit }' "$spec" 2>/dev/null || true)
mkdir -p "$RPM_OUT"
rm -f "$RPM_OUT"/*.src.rpm "$RPM_OUT"/rpmbuild-*.log
if [[ $spec_version == "$version" ]]; then
	ok rpm "$name.spec's Version $spec_version is the VERSION file's"
	t=$(now)
	if rpmbuild -bs --define "_topdir $top" "$spec" >"$RPM_OUT/rpmbuild-bs.log" 2>&1; then
		srpms=("$top"/SRPMS/*.src.rpm)
		cp "${srpms[@]}" "$RPM_OUT"/
		ok rpm "rpmbuild -bs: $(basename "${srpms[0]}") ($(since "$t")s)"
	else
		notok rpm "rpmbuild -bs (log: $RPM_OUT/rpmbuild-bs.log)"
		tail -n 20 "$RPM_OUT/rpmbuild-bs.log" | indent 20
	fi
	t=$(now)
	if rpmbuild -bb --nodeps --define "_topdir $top" "$spec" >"$RPM_OUT/rpmbuild-bb.log" 2>&1; then
		ok rpm "rpmbuild -bb --nodeps: the spec's %install and %files agree ($(since "$t")s)"
	else
		notok rpm "rpmbuild -bb --nodeps: the spec's %install and %files agree (last lines of $RPM_OUT/rpmbuild-bb.log below)"
		tail -n 20 "$RPM_OUT/rpmbuild-bb.log" | indent 20
	fi
else
	notok rpm "$name.spec's Version (${spec_version:-none}) is the VERSION file's ($version)"
fi
echo "# rpm: source RPM in $RPM_OUT"

finish
