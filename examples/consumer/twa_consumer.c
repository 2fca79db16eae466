// SPDX-License-Identifier: GPL-2.0
/*
 * Example consumer of the twa-noipi API: queue task_work to a task with
 * TWA_SIGNAL_NO_IPI semantics on any supported kernel (native on 5.19+,
 * the backport before), through include/twa_noipi.h alone.
 *
 * Write a TID to /sys/kernel/debug/twa_consumer/queue; read "run" for the
 * number of items that ran.
 */
#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/pid.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/task_work.h>
#include <linux/uaccess.h>

#include <twa_noipi.h>

static struct dentry *consumer_dir;
static atomic_t consumer_pending;
static atomic_t consumer_run;

struct consumer_item {
	struct callback_head cb;
};

static void consumer_item_func(struct callback_head *cb)
{
	kfree(container_of(cb, struct consumer_item, cb));
	atomic_inc(&consumer_run);
	atomic_dec(&consumer_pending);
	module_put(THIS_MODULE);
}

static int consumer_queue(pid_t tid)
{
	struct task_struct *task;
	struct consumer_item *it;
	int ret;

	rcu_read_lock();
	task = get_pid_task(find_vpid(tid), PIDTYPE_PID);
	rcu_read_unlock();
	if (!task)
		return -ESRCH;
	it = kmalloc(sizeof(*it), GFP_KERNEL_ACCOUNT);
	ret = it ? 0 : -ENOMEM;
	if (it) {
		__module_get(THIS_MODULE);
		atomic_inc(&consumer_pending);
		init_task_work(&it->cb, consumer_item_func);
		/* The whole point: no IPI, on every kernel, one call. */
		ret = twa_task_work_add(task, &it->cb, TWA_MODE_SIGNAL_NO_IPI, TWA_IMPL_AUTO);
		if (ret) {
			atomic_dec(&consumer_pending);
			module_put(THIS_MODULE);
			kfree(it);
		}
	}
	put_task_struct(task);
	return ret;
}

static ssize_t consumer_queue_write(struct file *file, const char __user *ubuf,
				    size_t len, loff_t *ppos)
{
	int tid, ret;

	ret = kstrtoint_from_user(ubuf, len, 10, &tid);
	if (ret || tid <= 0)
		return -EINVAL;
	ret = consumer_queue(tid);
	return ret ? ret : len;
}

static const struct file_operations consumer_queue_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = consumer_queue_write,
	.llseek = noop_llseek,
};

static int __init consumer_init(void)
{
	consumer_dir = debugfs_create_dir("twa_consumer", NULL);
	if (IS_ERR_OR_NULL(consumer_dir))
		return consumer_dir ? PTR_ERR(consumer_dir) : -ENODEV;
	debugfs_create_file("queue", 0200, consumer_dir, NULL, &consumer_queue_fops);
	debugfs_create_atomic_t("run", 0400, consumer_dir, &consumer_run);
	debugfs_create_atomic_t("pending", 0400, consumer_dir, &consumer_pending);
	return 0;
}
module_init(consumer_init);

/*
 * Pending items hold module references, so rmmod is refused while any is
 * pending; twa_synchronize_callbacks() then waits for callbacks that have
 * dropped theirs but not yet returned from this module's text.
 */
static void __exit consumer_exit(void)
{
	debugfs_remove_recursive(consumer_dir);
	twa_synchronize_callbacks();
}
module_exit(consumer_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Example consumer of the twa-noipi TWA_SIGNAL_NO_IPI API");
