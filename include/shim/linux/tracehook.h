/* SPDX-License-Identifier: GPL-2.0 */
/*
 * twa-noipi's <linux/tracehook.h>, for the kernels that have one (up to
 * 5.17): from 5.11 (Debian's 5.10 through its stable backport) it defines
 * set_notify_signal(), inline, calling the unexported wake_up_state(). The
 * shim's rename of set_notify_signal() (see linux/sched/signal.h here) must
 * not reach that definition, or it would define twa_noipi's function as a
 * static one: it is lifted while the kernel's header is read, and made
 * again after.
 */
#ifndef _TWA_SHIM_LINUX_TRACEHOOK_H
#define _TWA_SHIM_LINUX_TRACEHOOK_H

#define TWA_SHIM_IN_TRACEHOOK
#undef set_notify_signal
#include_next <linux/tracehook.h>
#undef TWA_SHIM_IN_TRACEHOOK

#include <linux/sched/signal.h>
#include "../../twa_noipi_shim.h"

#ifdef TWA_SHIM_NOTIFY
#define set_notify_signal	TWA_SHIM_SET_NOTIFY_SIGNAL
#endif

#endif /* _TWA_SHIM_LINUX_TRACEHOOK_H */
