// SPDX-License-Identifier: GPL-2.0
/*
 * twa-noipi: backport of TWA_SIGNAL_NO_IPI (Linux 5.19) and a bench for
 * comparing it with the native task_work notification modes.
 */
#include <linux/init.h>
#include <linux/module.h>

#include "compat.h"
#include "internal.h"

static int __init twa_init(void)
{
	int ret;

	/*
	 * IPI probes first: while they are armed, the kprobe lookup in
	 * twa_compat_init() arms and disarms no ftrace ops of its own, which
	 * would cost an RCU-tasks grace period per load.
	 */
	ret = twa_ipi_init();
	if (ret)
		return ret;
	ret = twa_compat_init();
	if (!ret)
		ret = twa_debugfs_init();
	if (ret) {
		twa_ipi_exit();
		return ret;
	}
	pr_info("twa_noipi: loaded (native TWA_SIGNAL_NO_IPI: %s, task_work_add via %s, wake_up_state via %s, unload sync: %s)\n",
		TWA_COMPAT_NATIVE_SIGNAL_NO_IPI ? "yes" : "no",
		twa_compat_task_work_add_via(), twa_compat_wake_method(),
		twa_compat_unload_sync_name());
	return 0;
}
module_init(twa_init);

#ifdef TWA_COMPAT_CAN_UNLOAD
/*
 * Every pending item holds a module reference, so rmmod fails while any is
 * pending. What is left is a callback that dropped its reference and is
 * returning: twa_compat_synchronize_rcu_tasks() waits that out.
 */
static void __exit twa_exit(void)
{
	twa_debugfs_exit();
	twa_ipi_exit();
	twa_compat_synchronize_rcu_tasks();
}
module_exit(twa_exit);
#endif

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Backport of TWA_SIGNAL_NO_IPI task_work notification, with a debugfs bench");
MODULE_AUTHOR("twa-noipi developers");
