# SPDX-License-Identifier: GPL-2.0
# dmabuf-revoke: out-of-tree modules, user-space tools and the test harness.
#
#   make [KDIR=...]       build the modules against KDIR (default: running kernel)
#   make check            build through DKMS and run the suite in QEMU (README)
#   make lint             checkpatch --strict, sparse (C=2) and W=1 on every kernel
#   make check-e2e        the user's install path in full Debian 12/13 VMs (README)
#   make demo             narrate a buffer's life in a VM
#   make bench            measure what the shim costs, in a VM (README "Performance")
#   make install          the CLI, its man page, the uapi header, the udev rule
#   make install-dkms-src the DKMS source tree (/usr/src/dmabuf-revoke-VERSION)
#   make deb              Debian packages + lintian, and the source RPM (README)
#   make srpm             only the source RPM (dmabuf-revoke.spec)
#   make clean

KDIR ?= /lib/modules/$(shell uname -r)/build
KERNELS ?=
PREFIX ?= /usr/local
UDEVDIR ?= /etc/udev/rules.d
DOCDIR ?= $(PREFIX)/share/doc/dmabuf-revoke
LIBEXECDIR ?= $(PREFIX)/libexec/dmabuf-revoke
DATADIR ?= $(PREFIX)/share/dmabuf-revoke
DKMS_SRCDIR ?= /usr/src/dmabuf-revoke-$(shell cat $(CURDIR)/VERSION)
CONFIG_H := compat/generated/dmabuf_revoke_config.h

.PHONY: all modules probes tools tests check check-e2e lint deb srpm demo bench field-test install install-dkms-src uninstall clean

all: modules tools

tools:
	$(MAKE) -C tools

# The compile probes answer which kernel APIs KDIR has (include/
# dmabuf_revoke_compat.h); their results are printed so the DKMS build log
# records them.
probes:
	@mkdir -p compat/generated
	@sh compat/run-probes.sh $(KDIR) $(CONFIG_H)
	@sed -n 's/^#define \(DMABUF_REVOKE_HAVE_[A-Z_]*\).*/probe: \1=y/p; s/^\/\* #undef \(DMABUF_REVOKE_HAVE_[A-Z_]*\).*/probe: \1=n/p' $(CONFIG_H)

modules: probes
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

tests:
	$(MAKE) -C tests

check:
	scripts/check.sh $(KERNELS)

# Static checks on the kernel matrix of check (KERNELS= picks others).
lint:
	scripts/lint.sh $(KERNELS)

# The packages installed, upgraded and purged in full Debian 12 and 13
# machines booted under QEMU (scripts/e2e.sh; E2E_DISTS= picks one).
check-e2e:
	scripts/e2e.sh $(E2E_DISTS)

# dmabuf-revoke-{dkms,tools,dev} .debs built with dpkg-buildpackage from a
# copy of the tree, checked with lintian, plus the source RPM; packages land
# in ~/.cache/dmabuf-revoke/{deb,rpm}/out/ (scripts/deb.sh).
deb:
	scripts/deb.sh

srpm:
	scripts/deb.sh --srpm-only

demo:
	scripts/check.sh --demo $(KERNELS)

# Not part of check: default kernel 6.1 (KERNELS= picks others).
bench:
	scripts/bench.sh $(KERNELS)

# The suite against this machine's running kernel, with the modules just
# built here (as root; see README "Testing on your own machine").
field-test: modules tests
	scripts/field-test.sh --build-tree $(CURDIR)

# User-space parts; the modules themselves are installed by DKMS (README).
install: tools tests
	install -D -m 0755 tools/dmabuf-revoke $(DESTDIR)$(PREFIX)/sbin/dmabuf-revoke
	install -D -m 0644 man/dmabuf-revoke.8 $(DESTDIR)$(PREFIX)/share/man/man8/dmabuf-revoke.8
	install -D -m 0644 man/dmabuf-revoke-selftest.8 $(DESTDIR)$(PREFIX)/share/man/man8/dmabuf-revoke-selftest.8
	install -D -m 0644 include/uapi/linux/dmabuf_revoke.h $(DESTDIR)$(PREFIX)/include/linux/dmabuf_revoke.h
	install -D -m 0644 udev/60-dmabuf-revoke.rules $(DESTDIR)$(UDEVDIR)/60-dmabuf-revoke.rules
	install -D -m 0644 etc/modules-load.d/dmabuf-revoke.conf $(DESTDIR)$(DOCDIR)/examples/modules-load.d/dmabuf-revoke.conf
	install -D -m 0644 etc/modprobe.d/dmabuf-revoke.conf $(DESTDIR)$(DOCDIR)/examples/modprobe.d/dmabuf-revoke.conf
	install -D -m 0755 -t $(DESTDIR)$(LIBEXECDIR) tests/build/revoke_suite tests/build/dmabuf-revoke
	install -D -m 0644 scripts/lib/splat.re $(DESTDIR)$(DATADIR)/splat.re
	sed -e 's|^BIN_DIR=$${BIN_DIR:-}$$|BIN_DIR=$${BIN_DIR:-$(LIBEXECDIR)}|' \
	    -e 's|^DATA_DIR=$${DATA_DIR:-}$$|DATA_DIR=$${DATA_DIR:-$(DATADIR)}|' \
	    scripts/field-test.sh >$(DESTDIR)$(PREFIX)/sbin/dmabuf-revoke-selftest
	chmod 0755 $(DESTDIR)$(PREFIX)/sbin/dmabuf-revoke-selftest

# What DKMS needs to build the modules, and nothing else (no build litter,
# no tests): the Debian and RPM packages install it with this target.
DKMS_SRC = dkms.conf Kbuild Makefile VERSION compat/run-probes.sh \
	$(filter-out %.mod.c,$(wildcard compat/probes/Kbuild compat/probes/exports compat/probes/*.[ch] \
	  include/*.h include/linux/*.h include/uapi/linux/*.h \
	  $(foreach m,dmabuf_revoke_shim dmabuf_revoke_heap vfio_revoke_exporter iommufd_importer_test,$(m)/Kbuild $(m)/*.[ch])))

install-dkms-src:
	@set -e; for f in $(DKMS_SRC); do \
		mode=0644; [ ! -x $$f ] || mode=0755; \
		install -D -m $$mode $$f $(DESTDIR)$(DKMS_SRCDIR)/$$f; \
	done

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/sbin/dmabuf-revoke \
	      $(DESTDIR)$(PREFIX)/sbin/dmabuf-revoke-selftest \
	      $(DESTDIR)$(PREFIX)/share/man/man8/dmabuf-revoke.8 \
	      $(DESTDIR)$(PREFIX)/share/man/man8/dmabuf-revoke-selftest.8 \
	      $(DESTDIR)$(PREFIX)/include/linux/dmabuf_revoke.h \
	      $(DESTDIR)$(UDEVDIR)/60-dmabuf-revoke.rules
	rm -rf $(DESTDIR)$(DOCDIR) $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(DATADIR)

clean:
	@if [ -d $(KDIR) ]; then $(MAKE) -C $(KDIR) M=$(CURDIR) clean; fi
	rm -rf compat/generated
	@# The DKMS copy of the package ships neither tests/ nor tools/.
	@for d in tests tools; do if [ -f $$d/Makefile ]; then $(MAKE) -C $$d clean; fi; done
