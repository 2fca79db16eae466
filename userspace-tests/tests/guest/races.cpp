// races: races the module must survive, each repeated a bounded number of
// times:
//  - unload while items are pending and while callbacks are running, reload;
//  - targets that exit or exec with items pending;
//  - both CPUs queueing to one target at once;
//  - odd targets: another user namespace, a zombie, PID 1, a kernel
//    thread, the writer itself;
//  - the wake_method parameter: kprobe wakes through wake_up_state()'s
//    entry, an unknown value is refused (EINVAL) and loads nothing;
//  - the task_work_add_method parameter: kprobe queues through
//    task_work_add()'s entry, export or not, an unknown value is refused
//    (EINVAL) and loads nothing.
// Counters must balance: every attempt is queued or failed, every queued
// item runs. The kernel's own checks (panic_on_warn, KASAN, lockdep,
// kmemleak on the debug kernel) catch the rest.
//
// Usage: races [UNLOAD_CYCLES [EXIT_CYCLES [CONCURRENT_ITEMS]]]
#include "twa/client.hpp"
#include "twa/cpu.hpp"
#include "twa/tap.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <thread>

using namespace twa;
using namespace std::chrono_literals;

namespace {

constexpr const char* kModulePath = "/twa/twa_noipi.ko";

Tap tap("races");
const Client c;
std::unique_ptr<Spinner> spinner;
std::unique_ptr<Sleeper> sleeper;

long long stat(const char* key) { return c.stats().get(key); }

// Wait for every queued item to run, signalling the sleeper (whose none
// items need it) now and then. Debug kernels under TCG are slow: 120 s.
bool settle()
{
	for (int i = 0; i < 480; i++) {
		for (auto end = std::chrono::steady_clock::now() + 250ms;
		     std::chrono::steady_clock::now() < end;) {
			auto s = c.stats();
			if (s.outstanding() == 0 && s.run() >= s.queued())
				return true;
			std::this_thread::sleep_for(5ms);
		}
		poke_thread(sleeper->tid());
	}
	return false;
}

// Counters from zero; refused (EBUSY) while anything is pending.
void fresh_counters(const char* what)
{
	settle();
	int ret = c.reset();
	tap.check(ret == 0, strf("%s: counters reset (%d)", what, ret));
}

int load_module(const char* params)
{
	int fd = ::open(kModulePath, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	int ret = static_cast<int>(syscall(SYS_finit_module, fd, params, 0)) ? errno : 0;
	::close(fd);
	return ret;
}

int unload_module() { return syscall(SYS_delete_module, "twa_noipi", O_NONBLOCK) ? errno : 0; }

bool refused(int err) { return err == EWOULDBLOCK || err == EBUSY; }

// Unload with items pending (refused), then while the spinner's callbacks
// are still running (refused or not, never a crash), then reload. Arming
// and disarming the IPI-counting kprobes (module/ipi.c) costs about 0.4 s a
// cycle under TCG, so every tenth load arms them (the cycle that unloads it
// exercises their removal) and the others load count_ipis=0; the last
// cycle arms them, leaving the module as it is normally loaded.
constexpr int kProbedEvery = 10;

void unload_cycles(int cycles)
{
	int i = 0, nrefused = 0, early_ok = 0, failures = 0, retries = 0, probed = 0;
	double t0 = now_s();
	for (; i < cycles && !failures; i++) {
		// the spinner runs its items, then sleeps through the grace period
		spinner->spin_for(50ms);
		// none to the sleeper: pending until it is signalled
		int ret = c.queue(sleeper->tid(), Mode::None, Impl::Auto, 4);
		if (!ret)
			ret = c.queue(spinner->tid(), Mode::Signal, Impl::Auto, 64);
		// deadline timers armed as rmmod is tried: refused while they are
		if (!ret)
			ret = c.queue(spinner->tid(), Mode::SignalNoIpi, Impl::Auto, 16, 2000);
		if (ret) {
			failures++;
			tap.check(false, strf("cycle %d: queue failed %d", i, ret));
			break;
		}
		ret = unload_module();
		nrefused += refused(ret);
		if (ret == 0) {
			early_ok++; // impossible with a pending item
			failures++;
			break;
		}
		poke_thread(sleeper->tid());
		// Callbacks may still be running: retry for up to 5 s.
		for (int tries = 0; tries < 5000 && (ret = unload_module()) != 0; tries++) {
			if (!refused(ret))
				break;
			retries++;
			if (tries % 100 == 99)
				poke_thread(sleeper->tid());
			std::this_thread::sleep_for(1ms);
		}
		if (ret) {
			failures++;
			tap.check(false, strf("cycle %d: rmmod failed: %d", i, ret));
			break;
		}
		if (i % kProbedEvery == kProbedEvery - 1 || i == cycles - 1) {
			ret = load_module("");
			probed++;
		} else {
			ret = load_module("count_ipis=0");
		}
		if (ret) {
			failures++;
			tap.check(false, strf("cycle %d: insmod failed: %d", i, ret));
			break;
		}
	}
	spinner->spin_always();
	tap.note(strf("unload: %d cycles in %.1f s (%d loads with IPI probes), %d refused while "
	              "pending, %d rmmod retries",
	              i, now_s() - t0, probed, nrefused, retries));
	tap.check(!failures && i == cycles,
	          strf("unload/reload %d cycles with items pending and running", cycles));
	tap.check(early_ok == 0 && nrefused == i,
	          strf("rmmod refused every time an item was pending (%d/%d)", nrefused, i));
}

// Children that exit (or exec) with items pending.
void exit_cycles(int cycles)
{
	long long attempts = 0;
	int i = 0, bad_errno = 0;
	double t0 = now_s();
	fresh_counters("exit");
	for (; i < cycles; i++) {
		int go[2];
		if (pipe(go))
			break;
		pid_t pid = fork();
		if (pid == 0) {
			char ch;
			// Sleep until told, then exit or exec with work pending.
			while (read(go[0], &ch, 1) < 0 && errno == EINTR)
				;
			if (i % 3 == 1)
				execl("/bin/busybox", "true", static_cast<char*>(nullptr));
			_exit(i % 3 == 2 ? 7 : 0);
		}
		for (auto mode : kAllModes) {
			int ret = c.queue(pid, mode, Impl::Auto, 2);
			attempts += 2;
			if (ret && ret != ESRCH)
				bad_errno++;
		}
		// And with a deadline (timers armed, 1 ms and 1 s): each runs in
		// the exit path, its timer cancelled before the item is freed.
		for (std::uint64_t us : {1000u, 1000000u}) {
			int ret = c.queue(pid, Mode::SignalNoIpi, Impl::Auto, 2, us);
			attempts += 2;
			if (ret && ret != ESRCH)
				bad_errno++;
		}
		if (i % 5 == 4)
			kill(pid, SIGKILL); // the other way out
		if (write(go[1], "x", 1) != 1)
			bad_errno++;
		close(go[0]);
		close(go[1]);
		waitpid(pid, nullptr, 0);
	}
	tap.check(settle(), "items of exited children all ran");
	tap.note(strf("exit: %d children (1/3 exec, 1/5 SIGKILL) in %.1f s: %lld attempts, %lld "
	              "queued, %lld run, %lld failed",
	              i, now_s() - t0, attempts, stat("queued"), stat("run"), stat("failed")));
	tap.check(i == cycles && bad_errno == 0,
	          strf("%d exit/exec cycles, only ESRCH as error", i));
	tap.check(stat("queued") + stat("failed") == attempts,
	          strf("every attempt is queued or failed (%lld + %lld == %lld)", stat("queued"),
	               stat("failed"), attempts));
	tap.check(stat("queued") == stat("run"), "every queued item ran");
	tap.check(stat("deadline_queued") ==
	              stat("deadline_met") + stat("deadline_kicks") + stat("deadline_covered"),
	          strf("deadline items: %lld queued = %lld met + %lld kicked + %lld covered",
	               stat("deadline_queued"), stat("deadline_met"), stat("deadline_kicks"),
	               stat("deadline_covered")));
}

struct Queuer {
	int cpu, items, errors = 0;
	long long attempts = 0;
	void run()
	{
		const Mode modes[] = {Mode::Signal, Mode::SignalNoIpi, Mode::Signal, Mode::None};
		pin_to_cpu(cpu);
		for (int done = 0, n = 0; done < items; n++) {
			int batch = std::min(items - done, 500);
			if (c.queue(sleeper->tid(), modes[n % 4], Impl::Backport, batch))
				errors++;
			attempts += batch;
			done += batch;
		}
	}
};

// Both CPUs queue to one target at once: nothing may be lost.
void concurrent(int items)
{
	Queuer q[2] = {{0, items / 2}, {1, items - items / 2}};
	double t0 = now_s();
	fresh_counters("concurrent");
	{
		std::thread a([&] { q[0].run(); }), b([&] { q[1].run(); });
		a.join();
		b.join();
	}
	settle(); // the "none" batches need the sleeper signalled
	tap.note(strf("concurrent: %lld items from 2 CPUs in %.1f s: queued %lld, run %lld, "
	              "failed %lld",
	              q[0].attempts + q[1].attempts, now_s() - t0, stat("queued"), stat("run"),
	              stat("failed")));
	tap.check(q[0].errors + q[1].errors == 0, "no queue error from either CPU");
	tap.check(stat("queued") == q[0].attempts + q[1].attempts && stat("run") == stat("queued"),
	          strf("nothing lost: %lld queued, %lld run", stat("queued"), stat("run")));
}

void odd_targets()
{
	fresh_counters("odd targets");
	// the writer itself: runs on the way back from write()
	auto run = stat("run");
	int ret = c.queue(gettid_now(), Mode::SignalNoIpi);
	tap.check(ret == 0 && stat("run") == run + 1,
	          "queue to the writer: ran before write() returned");
	// a kernel thread
	tap.check(c.queue(2, Mode::Signal) == EINVAL, "kernel thread (kthreadd): EINVAL");
	// PID 1 (our init, waiting for us): woken, runs, goes back to waiting
	ret = c.queue(1, Mode::Signal);
	tap.check(ret == 0 && settle(), strf("PID 1: queued and ran (%d)", ret));
	// a zombie
	pid_t zombie = fork();
	if (zombie == 0)
		_exit(0);
	std::this_thread::sleep_for(50ms);
	ret = c.queue(zombie, Mode::Signal);
	tap.check(ret == ESRCH, strf("zombie: ESRCH (%d)", ret));
	waitpid(zombie, nullptr, 0);
	ret = c.queue(zombie, Mode::Signal);
	tap.check(ret == ESRCH, strf("reaped: ESRCH (%d)", ret));
	// a task in another user namespace
	int go[2], ok[2];
	if (pipe(go) || pipe(ok))
		return;
	pid_t userns = fork();
	if (userns == 0) {
		char r = unshare(CLONE_NEWUSER) ? 'n' : 'y';
		if (write(ok[1], &r, 1) != 1 || r != 'y')
			_exit(2);
		while (read(go[0], &r, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	char ch = 0;
	if (read(ok[0], &ch, 1) != 1 || ch != 'y') {
		tap.check(false,
		          "unshare(CLONE_NEWUSER) failed in the child: kernel without USER_NS?");
	} else {
		ret = c.queue(userns, Mode::Signal);
		tap.check(ret == 0 && settle(),
		          strf("task in another user namespace: queued and ran (%d)", ret));
	}
	if (write(go[1], "x", 1) != 1)
		tap.check(false, "cannot release the userns child");
	waitpid(userns, nullptr, 0);
	for (int fd : {ok[0], ok[1], go[0], go[1]})
		close(fd);
	tap.check(stat("queued") == stat("run"), "odd targets: counters balance");
}

// Unload once nothing holds the module: a callback that has run its item
// may still be returning. 0 or the errno of the last try (5 s at most).
int unload_when_idle()
{
	int ret = 0;
	poll_until(
	    [&] {
		    ret = unload_module();
		    if (refused(ret))
			    std::this_thread::sleep_for(1ms);
		    return !refused(ret);
	    },
	    5000ms);
	return ret;
}

constexpr int kMethodItems = 10;

// A load parameter PARAM=auto|kprobe that makes the module reach a kernel
// function through its kprobe lookup and entry check: PARAM=bogus is
// refused with EINVAL and leaves nothing loaded; PARAM=kprobe loads and
// WITH_KPROBE checks what it changed, or is refused (EOPNOTSUPP) only where
// indirect calls land on guarded entries (IBT, BTI: a sealed entry); the
// module is loaded as usual afterwards.
void kprobe_param(const char* param, const std::function<void()>& with_kprobe)
{
	fresh_counters(param);
	bool guarded = c.features().guarded_indirect_calls();
	int ret = unload_when_idle();
	tap.check(ret == 0, strf("%s: unloaded (%d)", param, ret));
	if (ret)
		return;
	ret = load_module(strf("%s=bogus count_ipis=0", param).c_str());
	tap.check(ret == EINVAL && access("/sys/module/twa_noipi", F_OK) != 0,
	          strf("%s=bogus: EINVAL, nothing loaded (%d)", param, ret));
	ret = load_module(strf("%s=kprobe count_ipis=0", param).c_str());
	if (ret == EOPNOTSUPP) {
		tap.check(guarded, strf("%s=kprobe refused (EOPNOTSUPP): only where indirect "
		                        "calls are guarded (IBT, BTI)",
		                        param));
	} else if (ret != 0) {
		tap.check(false, strf("%s=kprobe: insmod failed: %d", param, ret));
	} else {
		with_kprobe();
		settle();
		ret = unload_when_idle();
		tap.check(ret == 0, strf("%s=kprobe: unloaded (%d)", param, ret));
	}
	ret = load_module("");
	tap.check(ret == 0, strf("%s: loaded as usual again (%d)", param, ret));
}

// Queues kItems items to the sleeper, each once it sleeps; QUEUE(i) queues
// item i. Returns how many ran, and adds the wakeups they made to *woken.
int sleeper_items(const std::function<int(int)>& queue, int* woken)
{
	int ran = 0;
	for (int i = 0; i < kMethodItems && wait_asleep(sleeper->tid(), 3000ms); i++) {
		auto before = c.stats();
		if (queue(i) != 0 || !c.wait_run(before.run() + 1, 3000ms))
			break;
		ran++;
		*woken += static_cast<int>(c.stats().wakeups() - before.wakeups());
	}
	return ran;
}

// wake_method=kprobe: the backport wakes a sleeper through wake_up_state()'s
// own entry, found by a kprobe lookup, instead of default_wake_function().
void wake_methods()
{
	kprobe_param("wake_method", [] {
		auto method = c.features().wake_up_state_via();
		tap.check(method == "kprobe",
		          strf("wake_method=kprobe: features says '%s'", method.c_str()));
		int woken = 0;
		sleeper_items(
		    [](int) { return c.queue(sleeper->tid(), Mode::SignalNoIpi, Impl::Backport); },
		    &woken);
		tap.check(woken == kMethodItems,
		          strf("wake_method=kprobe: %d/%d backport items woke the sleeper", woken,
		               kMethodItems));
	});
}

// task_work_add_method=kprobe: task_work_add() is reached through the kprobe
// lookup and its entry check even where the kernel exports it (Debian's
// kernels), and items queued through it, native and backport, run. The
// export keeps the entry's ENDBR64 (it takes its address): measured on
// Debian's IBT kernels, it loads there too.
void task_work_add_methods()
{
	kprobe_param("task_work_add_method", [] {
		auto via = c.features().task_work_add_via();
		tap.check(via == "kprobe",
		          strf("task_work_add_method=kprobe: features says '%s'", via.c_str()));
		// Native items call task_work_add() with their mode, backport
		// ones with TWA_NONE: both reach it through the lookup.
		int woken = 0;
		int ran = sleeper_items(
		    [](int i) {
			    return i % 2
			               ? c.queue(sleeper->tid(), Mode::SignalNoIpi, Impl::Backport)
			               : c.queue(sleeper->tid(), Mode::Signal, Impl::Native);
		    },
		    &woken);
		tap.check(ran == kMethodItems,
		          strf("task_work_add_method=kprobe: %d/%d items queued through it ran",
		               ran, kMethodItems));
	});
}

} // namespace

int main(int argc, char** argv)
{
	int unloads = argc > 1 ? std::atoi(argv[1]) : 200;
	int exits = argc > 2 ? std::atoi(argv[2]) : 1000;
	int items = argc > 3 ? std::atoi(argv[3]) : 100000;
	if (online_cpus() < 2) {
		tap.check(false, "races need 2 CPUs, the guest has 1");
		return tap.finish();
	}
	install_poke_signal();
	pin_to_cpu(0);
	spinner = std::make_unique<Spinner>(1);
	sleeper = std::make_unique<Sleeper>(1);

	odd_targets();
	concurrent(items);
	exit_cycles(exits);
	unload_cycles(unloads);
	wake_methods();
	task_work_add_methods();

	spinner.reset();
	sleeper.reset();
	return tap.finish();
}
