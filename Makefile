# twa-noipi: out-of-tree module build plus the QEMU test/bench front door.
#   make                     build the module for KDIR (default: running kernel)
#   make install             kbuild modules_install (honours INSTALL_MOD_PATH)
#   make run [KERNEL=6.1|all] [ITEMS=1000] [OPS=1000]
#                            boot a Debian kernel in QEMU, load, IPI report
#   make test                every test on every kernel
#   make kunit               KUnit suites on kernels built from Debian sources
#   make clean

KDIR ?= /lib/modules/$(shell uname -r)/build
KERNEL ?= 6.1
ITEMS ?= 1000
OPS ?= 1000

.PHONY: all modules install clean run test kunit check help

all: modules

modules:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

install: modules
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules_install

run:
	TWA_ITEMS=$(ITEMS) TWA_OPS=$(OPS) scripts/run.sh $(KERNEL)

test:
	scripts/test.sh

kunit:
	scripts/kunit.sh

help:
	@sed -n '2,10p' Makefile

clean:
	@if [ -d "$(KDIR)" ]; then $(MAKE) -C $(KDIR) M=$(CURDIR) clean; fi
	rm -rf build
