// faults: what the kernel does to a target under the queuer's feet, and
// that no item is lost through it. Run as root in the test guest with the
// module loaded.
//  - held: a target stopped by SIGSTOP, one stopped by ptrace
//    (PTRACE_SEIZE + PTRACE_INTERRUPT) and one in a frozen cgroup v2 get
//    signal, signal_no_ipi (native and backport) and deadline items. A
//    stopped or traced target runs none while held (the TASK_INTERRUPTIBLE
//    wakeup reaches neither TASK_STOPPED nor TASK_TRACED) and rmmod is
//    refused meanwhile; a frozen one sleeps interruptibly in the freezer's
//    trap, so it is woken, runs them and is frozen again (or, on a kernel
//    without the 2024 fix for it, spins frozen and keeps them). Every item
//    has run once the target is released;
//  - blocked: a thread asleep in epoll_wait(), a futex wait and
//    io_uring_enter(GETEVENTS) is woken by signal_no_ipi and runs the
//    item; a vfork() parent, in TASK_KILLABLE ('D'), is not woken and runs
//    it when its child exits;
//  - killed: a sleeper with ITEMS TWA_NONE items pending killed by SIGKILL,
//    and one killed by its memory cgroup's OOM killer: every item runs on
//    the way out (get_signal() and exit_task_work() run task_work);
//  - hotplug: the target's CPU, then the producer's, taken offline and back
//    HOTPLUG times while a producer queues signal and deadline items: every
//    item runs exactly once.
// Counters must balance after each: queued = run, nothing outstanding.
// TAP output; exit status 1 if any check failed.
//
//  - allocation failures: failslab fails the queuer's slab allocations
//    (25 %, its thread only) until FAILS writes failed with ENOMEM; each
//    write queued all its items, or returned ENOMEM with the rest counted.
//
// Usage: faults [ITEMS [HOTPLUG [FAILS]]]   (defaults 65536, 10, 1000)
#include "twa/client.hpp"
#include "twa/cpu.hpp"
#include "twa/tap.hpp"

#include <fcntl.h>
#include <liburing.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace twa;
using namespace std::chrono_literals;

namespace {

Tap tap("faults");
const Client c;

// Debug kernels under TCG are slow: generous, and only a guard.
constexpr auto kSettle = 60s;
// How long a held target is watched for items it should not run: past
// the 1 ms deadline kicks, with room for a slow guest.
constexpr auto kWatch = 200ms;
constexpr const char* kCgroup = "/sys/fs/cgroup";

// Where the program is, on the console as it happens (its stdout reaches
// the host only at its end): a hang then shows its phase.
void phase(const char* what)
{
	int fd = ::open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	auto line = strf("twa: faults: %s", what);
	(void)!::write(fd, line.data(), line.size());
	::close(fd);
}

// What the whole run did, for its last line (the soak sums these, and
// docs/testing.md's figures table is made of them): every balanced()
// scenario's counters, and how many targets were held, killed and CPUs
// cycled, allocations failed.
struct Totals {
	long long queued = 0, run = 0, refused = 0, lost = 0;
	long held = 0, killed = 0, hotplug_cycles = 0, injected = 0;
} totals;

bool settled()
{
	auto s = c.stats();
	return s.outstanding() == 0 && s.run() == s.queued();
}

bool wait_settled() { return poll_until(settled, kSettle); }

// Every scenario starts from zeroed counters.
bool fresh(const char* what)
{
	wait_settled();
	return tap.check(c.reset() == 0, strf("%s: counters reset", what));
}

// Every queued item ran and nothing is pending; and, unless
// @failures_counted (the allocation failures count the items they
// refused), nothing failed.
bool balanced(const char* what, bool failures_counted = false)
{
	bool ok = wait_settled();
	auto s = c.stats();
	totals.queued += s.queued();
	totals.run += s.run();
	totals.refused += s.failed();
	totals.lost += s.queued() - s.run();
	return tap.check(ok && (failures_counted || s.failed() == 0),
	                 strf("%s: counters balance (queued %lld run %lld outstanding %lld "
	                      "failed %lld)",
	                      what, (long long)s.queued(), (long long)s.run(),
	                      (long long)s.outstanding(), (long long)s.failed()));
}

bool unload_refused()
{
	int ret = static_cast<int>(syscall(SYS_delete_module, "twa_noipi", O_NONBLOCK));
	return ret < 0 && (errno == EWOULDBLOCK || errno == EBUSY);
}

// A child process on CPU 1 that spins in user space (@spin) or sleeps in
// read() on a pipe until a byte comes; its own process, so that it can be
// stopped, traced, frozen and killed alone. Only async-signal-safe calls
// after fork().
struct Child {
	pid_t pid = -1;
	int wake_fd = -1; // write a byte: a sleeper wakes, runs @after_wake, exits
	int status = 0;

	explicit Child(bool spin, void (*before)() = nullptr, void (*after_wake)() = nullptr)
	{
		int p[2];
		if (pipe2(p, O_CLOEXEC))
			return;
		pid = fork();
		if (pid == 0) {
			::close(p[1]);
			pin_to_cpu(1);
			if (before)
				before();
			// user space only: a compiler barrier keeps the loop
			if (spin)
				for (;;)
					asm volatile("" ::: "memory");
			char b;
			(void)!::read(p[0], &b, 1);
			if (after_wake)
				after_wake();
			_exit(0);
		}
		::close(p[0]);
		wake_fd = p[1];
	}
	~Child() { reap(true); }
	Child(const Child&) = delete;
	Child& operator=(const Child&) = delete;

	// Wait for the child's end (killing it first if @kill_it); its status.
	int reap(bool kill_it)
	{
		if (pid > 0) {
			if (kill_it)
				::kill(pid, SIGKILL);
			while (waitpid(pid, &status, __WALL) < 0 && errno == EINTR)
				;
			pid = -1;
		}
		if (wake_fd >= 0) {
			::close(wake_fd);
			wake_fd = -1;
		}
		return status;
	}
	void wake() const { (void)!::write(wake_fd, "x", 1); }
};

// utime + stime of @pid, in clock ticks (fields 14 and 15 of its stat,
// after the comm's closing parenthesis); -1 if unreadable.
long long cpu_ticks(pid_t pid)
{
	std::ifstream f(strf("/proc/%d/stat", pid));
	std::string line((std::istreambuf_iterator<char>(f)), {});
	auto paren = line.rfind(')');
	if (paren == std::string::npos)
		return -1;
	std::istringstream in(line.substr(paren + 2));
	std::string field;
	long long utime = 0, stime = 0;
	for (int i = 3; i <= 15 && in >> field; i++) {
		if (i == 14)
			utime = std::atoll(field.c_str());
		if (i == 15)
			stime = std::atoll(field.c_str());
	}
	return utime + stime;
}

bool wait_state(pid_t tid, char want)
{
	return poll_until([&] { return task_state(tid) == want; }, kSettle);
}

// The items a held target gets: every signal-notified path, and a deadline
// kick that finds it not running.
int queue_held_items(pid_t tid, bool native_no_ipi)
{
	int ret = c.queue(tid, Mode::Signal, Impl::Auto, 4);
	if (!ret)
		ret = c.queue(tid, Mode::SignalNoIpi, Impl::Backport, 4);
	if (!ret && native_no_ipi)
		ret = c.queue(tid, Mode::SignalNoIpi, Impl::Native, 4);
	if (!ret)
		ret = c.queue(tid, Mode::SignalNoIpi, Impl::Auto, 4, 1000);
	return ret;
}

// What the kernel does with items queued to a held target.
enum class Held {
	// TASK_STOPPED, TASK_TRACED: the TASK_INTERRUPTIBLE wakeup reaches
	// neither; the items run once the target is released.
	Keeps,
	// The cgroup v2 freezer's trap sleeps TASK_INTERRUPTIBLE (in
	// do_freezer_trap()): woken, the target runs its task_work there and
	// traps again, still frozen (see watch_frozen()).
	RunsAndStaysHeld,
};

// What a frozen target did with its items.
enum class Frozen {
	Ran,    // all of them, and froze again
	Spins,  // none; it spins in the kernel, still frozen
	Neither // anything else: a failure
};

// A frozen target runs its items in the freezer's trap since "kernel:
// rerun task_work while freezing in get_signal()" (6.10, and the stable
// kernels down to 5.10 in July 2024). A kernel without it never runs them
// there: TIF_NOTIFY_SIGNAL stays set, so the trap's schedule() returns at
// once and get_signal() loops back into the trap; the target spins, frozen,
// and runs them when thawed. That is the bug the commit fixes, and the
// kernel shows which it is: the items run, or the target burns CPU (half
// of the time watched, at least 2 s of it) and none ran.
Frozen watch_frozen(pid_t pid, long long queued)
{
	const auto start = std::chrono::steady_clock::now();
	const long long ticks = cpu_ticks(pid);
	const long hz = sysconf(_SC_CLK_TCK);
	Frozen seen = Frozen::Neither;
	poll_until(
	    [&] {
		    auto run = c.stats().run();
		    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
				  std::chrono::steady_clock::now() - start)
		                  .count();
		    if (run == queued)
			    seen = Frozen::Ran;
		    else if (run == 0 && ms >= 2000 && (cpu_ticks(pid) - ticks) * 2000 >= ms * hz)
			    seen = Frozen::Spins;
		    return seen != Frozen::Neither;
	    },
	    kSettle);
	return seen;
}

// A state letter that prints: 0 (unreadable) as '?'.
char shown(char state) { return state ? state : '?'; }

// Hold a spinning child (@hold, then its /proc state is @state), queue
// items, watch, release (@release), and check what ran when.
void held(const char* what, char state, Held expect, const std::function<bool(pid_t)>& hold,
          const std::function<bool(pid_t)>& still_held, const std::function<void(pid_t)>& release,
          bool native_no_ipi)
{
	phase(what);
	if (!fresh(what))
		return;
	Child child(true);
	if (!tap.check(child.pid > 0 && hold(child.pid), strf("%s: target held", what)))
		return;
	totals.held++;
	tap.check(wait_state(child.pid, state), strf("%s: target's state is '%c' (is '%c')", what,
	                                             state, shown(task_state(child.pid))));
	int ret = queue_held_items(child.pid, native_no_ipi);
	auto queued = c.stats().queued();
	tap.check(ret == 0, strf("%s: items queued (%d)", what, ret));
	long long ticks = cpu_ticks(child.pid);
	Frozen seen = Frozen::Neither;
	if (expect == Held::Keeps)
		std::this_thread::sleep_for(kWatch);
	else
		seen = watch_frozen(child.pid, queued);
	ticks = cpu_ticks(child.pid) - ticks;
	auto s = c.stats();
	if (expect == Held::Keeps) {
		tap.check(s.run() == 0 && s.outstanding() == queued,
		          strf("%s: none of %lld items ran while held (run %lld; state '%c')", what,
		               (long long)queued, (long long)s.run(),
		               shown(task_state(child.pid))));
		tap.check(unload_refused(), strf("%s: rmmod refused while it holds items", what));
	} else if (seen == Frozen::Spins) {
		tap.note(strf("%s: this kernel's freezer trap does not run task_work (no \"kernel: "
		              "rerun task_work while freezing in get_signal()\"): the target spins "
		              "frozen, %lld ticks, and keeps its items until thawed",
		              what, ticks));
		tap.check(
		    s.run() == 0 && s.outstanding() == queued,
		    strf("%s: none of %lld items ran while held, the target spinning (run %lld)",
		         what, (long long)queued, (long long)s.run()));
	} else {
		tap.check(seen == Frozen::Ran,
		          strf("%s: all %lld items ran while held (run %lld; %lld ticks of CPU)",
		               what, (long long)queued, (long long)s.run(), ticks));
	}
	tap.check(still_held(child.pid), strf("%s: target still held after the items (state '%c')",
	                                      what, shown(task_state(child.pid))));
	tap.note(strf("%s: while held: deadline items kicked %lld, met %lld; the target used "
	              "%lld clock ticks of CPU",
	              what, (long long)s.deadline_kicks(), (long long)s.deadline_met(), ticks));
	release(child.pid);
	tap.check(poll_until([&] { return c.stats().run() == queued; }, kSettle),
	          strf("%s: all items ran once released (run %lld of %lld)", what,
	               (long long)c.stats().run(), (long long)queued));
	child.reap(true);
	balanced(what);
}

bool write_file(const std::string& path, const std::string& text)
{
	std::ofstream f(path);
	f << text;
	f.flush();
	return static_cast<bool>(f);
}

std::string read_file(const std::string& path)
{
	std::ifstream f(path);
	return {std::istreambuf_iterator<char>(f), {}};
}

// cgroup v2 mounted at kCgroup (the guest's init mounts none), with the
// controllers @want enabled for children; "" if ready, else why not.
std::string cgroup_ready(const std::string& want)
{
	if (read_file(std::string(kCgroup) + "/cgroup.controllers").empty() &&
	    access((std::string(kCgroup) + "/cgroup.procs").c_str(), F_OK) &&
	    mount("cgroup2", kCgroup, "cgroup2", 0, nullptr))
		return strf("cgroup2 not mountable (errno %d)", errno);
	if (want.empty())
		return "";
	auto have = read_file(std::string(kCgroup) + "/cgroup.controllers");
	if (have.find(want) == std::string::npos)
		return "no " + want + " controller";
	write_file(std::string(kCgroup) + "/cgroup.subtree_control", "+" + want);
	return "";
}

// A child cgroup, removed (once empty) when it goes.
struct Cgroup {
	std::string dir;
	explicit Cgroup(const char* name) : dir(std::string(kCgroup) + "/" + name)
	{
		mkdir(dir.c_str(), 0755);
	}
	~Cgroup() { rmdir(dir.c_str()); }
	bool set(const char* file, const std::string& v) const
	{
		return write_file(dir + "/" + file, v);
	}
	std::string get(const char* file) const { return read_file(dir + "/" + file); }
	bool add(pid_t pid) const { return set("cgroup.procs", std::to_string(pid)); }
};

void held_targets(bool native_no_ipi)
{
	auto in_state = [](char want) {
		return [want](pid_t pid) { return task_state(pid) == want; };
	};
	held(
	    "stopped", 'T', Held::Keeps,
	    [](pid_t pid) {
		    int st;
		    return !::kill(pid, SIGSTOP) && waitpid(pid, &st, WUNTRACED) == pid &&
		           WIFSTOPPED(st);
	    },
	    in_state('T'), [](pid_t pid) { ::kill(pid, SIGCONT); }, native_no_ipi);
	held(
	    "traced", 't', Held::Keeps,
	    [](pid_t pid) {
		    int st;
		    return !ptrace(PTRACE_SEIZE, pid, 0, 0) &&
		           !ptrace(PTRACE_INTERRUPT, pid, 0, 0) &&
		           waitpid(pid, &st, __WALL) == pid && WIFSTOPPED(st);
	    },
	    in_state('t'), [](pid_t pid) { ptrace(PTRACE_DETACH, pid, 0, 0); }, native_no_ipi);
	auto why = cgroup_ready("");
	if (!why.empty()) {
		tap.note("frozen: skipped: " + why);
		return;
	}
	Cgroup cg("twa-frozen");
	auto frozen = [&cg] {
		return poll_until(
		    [&] { return cg.get("cgroup.events").find("frozen 1") != std::string::npos; },
		    kSettle);
	};
	held(
	    "frozen", 'S', Held::RunsAndStaysHeld,
	    [&](pid_t pid) { return cg.add(pid) && cg.set("cgroup.freeze", "1") && frozen(); },
	    [&](pid_t) { return frozen(); }, [&cg](pid_t) { cg.set("cgroup.freeze", "0"); },
	    native_no_ipi);
}

// A thread of ours asleep in @sleep on CPU 1 until @stop; the items queued
// to it must wake it (or, @killable, must not) and run.
void blocked(const char* what, char state, const std::function<void(std::atomic<pid_t>&)>& sleep,
             const std::function<void()>& stop)
{
	phase(what);
	if (!fresh(what))
		return;
	std::atomic<pid_t> tid{0};
	std::thread t([&] {
		pin_to_cpu(1);
		sleep(tid);
	});
	bool ok =
	    poll_until([&] { return tid.load() != 0; }, kSettle) && wait_state(tid.load(), state);
	tap.check(ok, strf("%s: thread asleep in state '%c' (is '%c')", what, state,
	                   shown(task_state(tid.load()))));
	int ret = ok ? c.queue(tid, Mode::SignalNoIpi, Impl::Backport) : -1;
	if (!ret)
		ret = c.queue(tid, Mode::SignalNoIpi, Impl::Auto);
	tap.check(ret == 0, strf("%s: items queued (%d)", what, ret));
	if (state == 'D') {
		std::this_thread::sleep_for(kWatch);
		auto s = c.stats();
		tap.check(s.run() == 0 && task_state(tid) == 'D',
		          strf("%s: not woken: none ran while it slept (run %lld, state '%c')",
		               what, (long long)s.run(), shown(task_state(tid))));
	} else {
		tap.check(
		    poll_until([] { return c.stats().run() == 2; }, kSettle),
		    strf("%s: woken, both items ran (run %lld)", what, (long long)c.stats().run()));
	}
	stop();
	t.join();
	balanced(what);
}

void blocked_targets()
{
	int ep = epoll_create1(EPOLL_CLOEXEC), ev = eventfd(0, EFD_CLOEXEC);
	epoll_event e{};
	e.events = EPOLLIN;
	epoll_ctl(ep, EPOLL_CTL_ADD, ev, &e);
	blocked(
	    "epoll_wait", 'S',
	    [&](std::atomic<pid_t>& tid) {
		    tid = gettid_now();
		    epoll_event out{};
		    while (epoll_wait(ep, &out, 1, -1) != 1)
			    ;
	    },
	    [&] { eventfd_write(ev, 1); });
	::close(ep);
	::close(ev);

	static std::atomic<int> word{0};
	word = 0;
	blocked(
	    "futex wait", 'S',
	    [](std::atomic<pid_t>& tid) {
		    tid = gettid_now();
		    while (!word.load())
			    syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, nullptr, nullptr, 0);
	    },
	    [] {
		    word = 1;
		    syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
	    });

	int p[2];
	if (pipe2(p, O_CLOEXEC))
		return;
	blocked(
	    "io_uring_enter", 'S',
	    [&](std::atomic<pid_t>& tid) {
		    io_uring ring;
		    if (io_uring_queue_init(4, &ring, 0)) {
			    tid = gettid_now();
			    return;
		    }
		    char b;
		    io_uring_prep_read(io_uring_get_sqe(&ring), p[0], &b, 1, 0);
		    io_uring_submit(&ring);
		    tid = gettid_now();
		    io_uring_cqe* cqe;
		    while (io_uring_wait_cqe(&ring, &cqe))
			    ;
		    io_uring_queue_exit(&ring);
	    },
	    [&] { (void)!::write(p[1], "x", 1); });
	// The vfork() parent waits for its child killably: 'D', woken by
	// nothing but the child's exit or a fatal signal.
	blocked(
	    "vfork parent (TASK_KILLABLE)", 'D',
	    [&](std::atomic<pid_t>& tid) {
		    tid = gettid_now();
		    // The point: a vfork() parent is the killable sleeper. Its
		    // child only reads and exits, both allowed after vfork().
		    if (vfork() == 0) { // NOLINT(clang-analyzer-security.insecureAPI.vfork)
			    char b;
			    (void)!::read(p[0], &b, 1); // NOLINT(clang-analyzer-unix.Vfork)
			    _exit(0);
		    }
	    },
	    [&] { (void)!::write(p[1], "x", 1); });
	::close(p[0]);
	::close(p[1]);
	while (waitpid(-1, nullptr, __WALL | WNOHANG) > 0)
		;
}

// A sleeper with @items TWA_NONE items pending (none wakes it), ended by
// @kill; every item must run on its way out.
void killed(const char* what, unsigned items, const std::function<bool(Child&)>& kill,
            void (*before)() = nullptr, void (*after_wake)() = nullptr)
{
	phase(what);
	if (!fresh(what))
		return;
	Child child(false, before, after_wake);
	tap.check(child.pid > 0 && wait_state(child.pid, 'S'), strf("%s: target asleep", what));
	int ret = 0;
	for (unsigned left = items; left && !ret; left -= std::min(left, 65536u))
		ret = c.queue(child.pid, Mode::None, Impl::Auto, std::min(left, 65536u));
	tap.check(ret == 0 && c.stats().outstanding() == items,
	          strf("%s: %u items pending (%d)", what, items, ret));
	tap.check(kill(child), strf("%s: target killed", what));
	totals.killed++;
	balanced(what);
}

// The memcg OOM child: joins the cgroup (writing 0 moves the writer), and
// once woken touches more than its memory.max. Raw syscalls: it is a
// fork() of a threaded process.
char oom_procs[128];
void join_oom_cgroup()
{
	int fd = ::open(oom_procs, O_WRONLY);
	(void)!::write(fd, "0", 1);
	::close(fd);
}
void exceed_memory()
{
	constexpr size_t kBytes = 256 << 20;
	auto* p = static_cast<volatile char*>(
	    mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	if (p == MAP_FAILED)
		return;
	for (size_t i = 0; i < kBytes; i += 4096)
		p[i] = 1;
}

void killed_targets(unsigned items)
{
	killed("SIGKILL", items, [](Child& ch) {
		::kill(ch.pid, SIGKILL);
		int st = ch.reap(false);
		return WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
	});
	auto why = cgroup_ready("memory");
	if (!why.empty()) {
		tap.note("memcg OOM: skipped: " + why);
		return;
	}
	Cgroup cg("twa-oom");
	cg.set("memory.max", std::to_string(16 << 20));
	cg.set("memory.swap.max", "0");
	snprintf(oom_procs, sizeof(oom_procs), "%s/cgroup.procs", cg.dir.c_str());
	killed(
	    "memcg OOM", items,
	    [&cg](Child& ch) {
		    ch.wake();
		    int st = ch.reap(false);
		    auto events = cg.get("memory.events");
		    std::replace(events.begin(), events.end(), '\n', ' ');
		    tap.note("memcg OOM: memory.events: " + events);
		    return WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL &&
		           events.find("oom_kill 0") == std::string::npos;
	    },
	    join_oom_cgroup, exceed_memory);
}

bool set_online(int cpu, bool on)
{
	return write_file(strf("/sys/devices/system/cpu/cpu%d/online", cpu), on ? "1" : "0");
}

// A producer on @producer_cpu queues signal and deadline items at about
// 10 000/s to a spinner on the other CPU while @offline_cpu goes offline
// and back @cycles times; every item must run exactly once.
void hotplug(const char* what, int producer_cpu, int offline_cpu, int cycles)
{
	phase(what);
	if (!fresh(what))
		return;
	Spinner target(1 - producer_cpu);
	std::atomic<bool> stop{false};
	std::atomic<int> errors{0};
	std::thread producer([&] {
		pin_to_cpu(producer_cpu);
		for (unsigned i = 0; !stop; i++) {
			int ret =
			    i % 2 ? c.queue(target.tid(), Mode::Signal)
				  : c.queue(target.tid(), Mode::SignalNoIpi, Impl::Auto, 1, 500);
			// EBUSY: the outstanding limit, while the target's CPU is away
			errors += ret != 0 && ret != EBUSY;
			std::this_thread::sleep_for(50us);
		}
	});
	int done = 0;
	for (; done < cycles; done++) {
		std::this_thread::sleep_for(50ms);
		if (!set_online(offline_cpu, false))
			break;
		std::this_thread::sleep_for(50ms);
		if (!set_online(offline_cpu, true))
			break;
	}
	std::this_thread::sleep_for(50ms);
	stop = true;
	producer.join();
	set_online(offline_cpu, true);
	totals.hotplug_cycles += done;
	tap.check(done == cycles, strf("%s: CPU %d offline and back %d of %d times (errno %d)",
	                               what, offline_cpu, done, cycles, errno));
	tap.check(errors == 0, strf("%s: every queue accepted (%d refused)", what, errors.load()));
	auto s = c.stats();
	tap.note(strf("%s: queued %lld; deadline kicks %lld covered %lld met %lld", what,
	              (long long)s.queued(), (long long)s.deadline_kicks(),
	              (long long)s.deadline_covered(), (long long)s.deadline_met()));
	balanced(what);
	target.stop();
}

// Slab allocations failed on purpose (failslab, task-filter: only a thread
// whose make-it-fail is 1) while that thread queues batches of 1 to 65536
// to a spinner. A batch can fail partway: the items queued before the
// failed allocation stay queued (and run), the rest count as
// failed_enomem, and the write returns ENOMEM; a failure before the queue
// (the write's own copy of the line) queues none and counts none. So each
// write checks: 0 with all its items queued, or ENOMEM with queued +
// failed_enomem either the batch or nothing. Until @want writes failed.
void alloc_failures(long want)
{
	const std::string fs = "/sys/kernel/debug/failslab";
	if (access((fs + "/probability").c_str(), W_OK)) {
		tap.note("allocation failures: skipped: no failslab (CONFIG_FAILSLAB)");
		return;
	}
	const char* what = "allocation failures";
	phase(what);
	if (!fresh(what))
		return;
	Spinner target(1);
	bool set = write_file(fs + "/task-filter", "Y") &&
	           write_file(fs + "/ignore-gfp-wait", "N") && write_file(fs + "/verbose", "0") &&
	           write_file(fs + "/interval", "1") && write_file(fs + "/times", "-1") &&
	           write_file(fs + "/probability", "25");
	tap.check(set, strf("%s: failslab set up (25%%, this thread only)", what));
	static const unsigned counts[] = {1, 2, 5, 10, 50, 65536};
	std::vector<std::string> cmds;
	for (unsigned n : counts)
		cmds.push_back(queue_command(target.tid(), Mode::Signal, Impl::Auto, n));
	long writes = 0, failed = 0, partial = 0, before_queue = 0, bad = 0;
	std::thread queuer([&] {
		pin_to_cpu(0);
		ControlFile cf(c);
		int mark = ::open("/proc/thread-self/make-it-fail", O_WRONLY | O_CLOEXEC);
		if (mark < 0 || cf.open_error())
			return;
		auto failing = [mark](bool on) {
			return ::pwrite(mark, on ? "1" : "0", 1, 0) == 1;
		};
		// One stats read a write: each write's after is the next one's
		// before (a debugfs read costs about 20 ms on a debug kernel).
		auto s1 = c.stats();
		for (; failed < want && writes < 20 * want && !bad; writes++) {
			unsigned n = counts[writes % std::size(counts)];
			auto s0 = s1;
			failing(true);
			int ret = cf.write(cmds[writes % cmds.size()]);
			failing(false);
			s1 = c.stats();
			long long dq = s1.queued() - s0.queued();
			long long df = s1.get("failed_enomem") - s0.get("failed_enomem");
			if (ret == 0 && dq == n && df == 0)
				continue;
			if (ret == ENOMEM && (dq + df == n || (dq == 0 && df == 0))) {
				failed++;
				partial += dq > 0;
				before_queue += dq + df == 0;
				continue;
			}
			bad++;
			tap.check(false, strf("%s: write %ld (count %u): ret %d, %lld queued, %lld "
			                      "failed_enomem",
			                      what, writes, n, ret, dq, df));
		}
		::close(mark);
	});
	queuer.join();
	write_file(fs + "/probability", "0");
	totals.injected += failed;
	tap.check(bad == 0 && failed >= want,
	          strf("%s: %ld writes, %ld failed with ENOMEM (%ld partway through a batch, "
	               "%ld before queueing), each queued all or counted the rest",
	               what, writes, failed, partial, before_queue));
	balanced(what, true);
	target.stop();
}

} // namespace

int main(int argc, char** argv)
{
	unsigned items =
	    argc > 1 ? static_cast<unsigned>(std::strtoul(argv[1], nullptr, 0)) : 65536;
	int cycles = argc > 2 ? std::atoi(argv[2]) : 10;
	long alloc_fails = argc > 3 ? std::atol(argv[3]) : 1000;
	Features f;
	try {
		f = c.features();
	} catch (const std::exception& e) {
		tap.check(false, strf("features readable (%s)", e.what()));
		return tap.finish();
	}
	install_poke_signal();
	keep_heap_mapped();
	pin_to_cpu(0);
	try {
		held_targets(f.native_signal_no_ipi());
		blocked_targets();
		killed_targets(items);
		alloc_failures(alloc_fails);
		if (access("/sys/devices/system/cpu/cpu1/online", W_OK)) {
			tap.note("hotplug: skipped: CPU 1 cannot go offline here");
		} else {
			hotplug("hotplug of the target's CPU", 0, 1, cycles);
			hotplug("hotplug of the producer's CPU", 1, 1, cycles);
		}
	} catch (const std::exception& e) {
		// The module gone (an rmmod that should have been refused): the
		// remaining checks cannot run.
		tap.check(false, strf("the module answered to the end (%s)", e.what()));
	}
	tap.note(strf("faults: totals: items queued %lld, run %lld, refused %lld, lost %lld; "
	              "targets held %ld, killed %ld; hotplug cycles %ld; allocation failures "
	              "injected %ld",
	              totals.queued, totals.run, totals.refused, totals.lost, totals.held,
	              totals.killed, totals.hotplug_cycles, totals.injected));
	return tap.finish();
}
