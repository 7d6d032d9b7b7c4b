# SPDX-License-Identifier: GPL-2.0
# dmabuf-revoke: out-of-tree modules, user-space tools and the test harness.
#
#   make [KDIR=...]       build the modules against KDIR (default: running kernel)
#   make check            build through DKMS and run the suite in QEMU (README)
#   make demo             narrate a buffer's life in a VM
#   make clean

KDIR ?= /lib/modules/$(shell uname -r)/build
KERNELS ?=
CONFIG_H := compat/generated/dmabuf_revoke_config.h

.PHONY: all modules probes tests check demo clean

all: modules

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

demo:
	scripts/check.sh --demo $(KERNELS)

clean:
	@if [ -d $(KDIR) ]; then $(MAKE) -C $(KDIR) M=$(CURDIR) clean; fi
	rm -rf compat/generated
	@if [ -f tests/Makefile ]; then $(MAKE) -C tests clean; fi
