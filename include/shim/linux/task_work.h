/* SPDX-License-Identifier: GPL-2.0 */
/*
 * twa-noipi's <linux/task_work.h>: the kernel's, and where it lacks what
 * Linux 5.19 has, twa_noipi.ko's. Found ahead of the kernel's through
 * include/shim/Kbuild.include, whose flags say what this kernel has (read
 * from its headers and Module.symvers, never from its version).
 *
 * - The kernel has TWA_SIGNAL_NO_IPI and exports task_work_add() (Debian's
 *   6.1 and later): nothing is added; a module built through the shim
 *   depends on no module of ours.
 * - It lacks TWA_SIGNAL_NO_IPI (Debian's 5.10): the value is Linux 5.19's,
 *   and task_work_add() is twa_shim_task_work_add(): 5.10's task_work_add()
 *   queues the work and silently ignores a mode it does not know, so the
 *   value alone would lose the notification.
 * - It does not export task_work_add() (mainline never does; Debian does):
 *   task_work_add() is twa_shim_task_work_add(), which calls the function
 *   twa_noipi found by its kprobe lookup.
 * In the last two the module depends on twa_noipi.
 */
#ifndef _TWA_SHIM_LINUX_TASK_WORK_H
#define _TWA_SHIM_LINUX_TASK_WORK_H

#include_next <linux/task_work.h>

#ifndef TWA_SHIM
/* Its flags say what this kernel has: without them nothing can be decided. */
#error "twa-noipi shim: include/shim/ is on the include path without its Kbuild.include"
#endif

#include "../../twa_noipi_shim.h"

/* Case (a), the mode native and task_work_add() exported: nothing here. */
#if !defined(TWA_SHIM_KERNEL_TWA_SIGNAL_NO_IPI) || !defined(TWA_SHIM_EXPORT_TASK_WORK_ADD)
#if defined(TWA_SHIM_BACKPORT) && \
	(defined(TWA_SHIM_EXPORT_TASK_WORK_ADD) || defined(TWA_SHIM_EXPORT_REGISTER_KPROBE))
/* Cases (b) and (c): twa_noipi loads here, and reaches task_work_add(). */
#ifndef TWA_SHIM_KERNEL_TWA_SIGNAL_NO_IPI
#define TWA_SIGNAL_NO_IPI	TWA_SHIM_SIGNAL_NO_IPI
#endif
#define task_work_add		twa_shim_task_work_add
#elif defined(TWA_SHIM_EXPORT_TASK_WORK_ADD)
/* No backport possible: the kernel's serves every mode but this one. */
#define TWA_SIGNAL_NO_IPI	twa_shim_no_signal_no_ipi(TWA_SIGNAL)
#else
/* Neither exported nor reachable by twa_noipi: the error says so. */
#define task_work_add		twa_shim_no_task_work_add
#ifndef TWA_SHIM_KERNEL_TWA_SIGNAL_NO_IPI
#define TWA_SIGNAL_NO_IPI	twa_shim_no_signal_no_ipi(TWA_SIGNAL)
#endif
#endif
#endif

#endif /* _TWA_SHIM_LINUX_TASK_WORK_H */
