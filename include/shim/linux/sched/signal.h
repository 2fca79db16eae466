/* SPDX-License-Identifier: GPL-2.0 */
/*
 * twa-noipi's <linux/sched/signal.h>: the kernel's, with Linux 5.19's
 * __set_notify_signal() and set_notify_signal() from twa_noipi.ko wherever
 * a module cannot have the kernel's (see ../../../twa_noipi_shim.h): they
 * set TIF_NOTIFY_SIGNAL and wake an interruptible sleeper, and the second
 * kicks a task running elsewhere, as the seed patch defines them. Calling
 * either makes a module depend on twa_noipi.
 */
#ifndef _TWA_SHIM_LINUX_SCHED_SIGNAL_H
#define _TWA_SHIM_LINUX_SCHED_SIGNAL_H

#include_next <linux/sched/signal.h>

#ifndef TWA_SHIM
/* Its flags say what this kernel has: without them nothing can be decided. */
#error "twa-noipi shim: include/shim/ is on the include path without its Kbuild.include"
#endif

#include "../../../twa_noipi_shim.h"

#ifdef TWA_SHIM_NOTIFY
#define __set_notify_signal	TWA_SHIM___SET_NOTIFY_SIGNAL
/* While <linux/tracehook.h> is read, its own set_notify_signal() is. */
#ifndef TWA_SHIM_IN_TRACEHOOK
#define set_notify_signal	TWA_SHIM_SET_NOTIFY_SIGNAL
#endif
#endif

#endif /* _TWA_SHIM_LINUX_SCHED_SIGNAL_H */
