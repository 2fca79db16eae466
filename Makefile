# twa-noipi: out-of-tree module build plus the QEMU test/bench front door.
#   make                     build the module for KDIR (default: running kernel)
#   make install             kbuild modules_install (honours INSTALL_MOD_PATH)
#   make run [KERNEL=NAME|SUITE:PACKAGE|all] [ITEMS=100] [OPS=100] [ROUNDS=5] [BOOTS=4]
#                            boot a Debian kernel in QEMU, load, IPI report
#                            (SUITE:PACKAGE: any Debian kernel, e.g.
#                            bookworm:linux-image-rt-amd64)
#   make test [KERNELS="A B"]  every test on every kernel (or those named)
#   make check               the static gates (checkpatch, kernel-doc, sparse,
#                            shellcheck, clang-format, clang-tidy, pyflakes)
#   make kunit               KUnit suites on kernels built from Debian sources
#   make soak [KERNELS="A B"] [MINUTES=10] [FUZZ_WRITES=N]
#                            fuzz, races and faults in a loop, one boot each
#   make bench [ITEMS=N] [OPS=N] [ROUNDS=R] [QUEUE_CPU=N TARGET_CPU=N] [SHORT=1]
#                            the bench on the running kernel (root; hardware
#                            figures), report in results/host/
#   make deb                 the Debian packages (twa-noipi-dkms, twa-noipi-tools)
#                            in build/deb/, lintian-checked
#   make list-kernels        the kernel matrix (kernels/*.conf), what each offers
#                            (FETCH=1: fetch the missing; MARKDOWN=1: a table)
#   make clean

KDIR ?= /lib/modules/$(shell uname -r)/build
KERNEL ?= 6.1
KERNELS ?=
ITEMS ?= 100
OPS ?= 100
# Unset: each command's own default (make run 5 a boot in 4 boots, make
# bench 10 in its one run).
ROUNDS ?=
BOOTS ?= 4
MINUTES ?= 10

# Debian's headers name the compiler the kernel was built with (5.10:
# gcc-10, which bookworm lacks). Where it is missing, the machine's gcc
# builds a module that loads and runs: say so and use it. This guess serves
# a plain make (and DKMS) only: make test and make run build with the
# compiler each kernel's manifest names (scripts/prepare-kernel.sh), in a
# root of the kernel's own suite where it is another (scripts/build-root.sh).
TWA_KCC := $(shell sed -n 's/^CC = .*(CROSS_COMPILE)\(gcc-[0-9]*\)$$/\1/p' \
	     $(KDIR)/.kernelvariables 2>/dev/null)
ifneq ($(TWA_KCC),)
ifeq ($(shell command -v $(TWA_KCC) 2>/dev/null),)
TWA_CC := CC=gcc
$(info twa-noipi: $(TWA_KCC), the kernel's compiler, is missing: building with gcc)
endif
endif

.PHONY: all modules install clean run test kunit soak check dkms-test deb bench help list-kernels

all: modules

modules:
	$(MAKE) -C $(KDIR) M=$(CURDIR) $(TWA_CC) modules

install: modules
	$(MAKE) -C $(KDIR) M=$(CURDIR) $(TWA_CC) modules_install

dkms-test:
	scripts/dkms-test.sh

deb:
	scripts/build-deb.sh

bench:
	scripts/bench.sh --items $(ITEMS) --ops $(OPS) $(if $(ROUNDS),--rounds $(ROUNDS)) $(if $(SHORT),--short) \
		$(if $(QUEUE_CPU),--queue-cpu $(QUEUE_CPU)) $(if $(TARGET_CPU),--target-cpu $(TARGET_CPU))

run:
	scripts/run.sh --items $(ITEMS) --ops $(OPS) $(if $(ROUNDS),--rounds $(ROUNDS)) --boots $(BOOTS) $(KERNEL)

test:
	scripts/test.sh $(KERNELS)

# The static gates alone (make test runs them first).
check:
	scripts/check.sh

list-kernels:
	scripts/list-kernels.sh $(if $(FETCH),--fetch) $(if $(MARKDOWN),--markdown)

kunit:
	scripts/kunit.sh

soak:
	scripts/soak.sh --minutes $(MINUTES) $(if $(FUZZ_WRITES),--fuzz-writes $(FUZZ_WRITES)) $(KERNELS)

help:
	@sed -n '2,/^$$/{/^#/p}' Makefile

clean:
	@if [ -d "$(KDIR)" ]; then $(MAKE) -C $(KDIR) M=$(CURDIR) $(TWA_CC) clean; fi
	rm -rf build
