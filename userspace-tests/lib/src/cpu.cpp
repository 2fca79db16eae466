#include "twa/cpu.hpp"

#include "twa/noise.hpp"

#include <malloc.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <stdexcept>
#include <string>

namespace twa {

namespace {

std::int64_t monotonic_ns()
{
	return std::chrono::duration_cast<std::chrono::nanoseconds>(
		   std::chrono::steady_clock::now().time_since_epoch())
	    .count();
}

} // namespace

int pin_to_cpu(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? errno : 0;
}

int current_cpu() { return sched_getcpu(); }

int online_cpus() { return static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)); }

pid_t gettid_now() { return static_cast<pid_t>(syscall(SYS_gettid)); }

namespace {
// Pokes handled by any thread, so a waiter can see its poke arrive: one
// still pending when the next item is queued would run that item early.
// A lock-free atomic is async-signal-safe.
std::atomic<unsigned> handled{0};
static_assert(std::atomic<unsigned>::is_always_lock_free);
void on_poke(int) { handled.fetch_add(1, std::memory_order_relaxed); }
} // namespace

int install_poke_signal()
{
	struct sigaction sa {};
	sa.sa_handler = on_poke;
	sa.sa_flags = SA_RESTART;
	return sigaction(SIGUSR1, &sa, nullptr) ? errno : 0;
}

void poke_thread(pid_t tid) { syscall(SYS_tgkill, getpid(), tid, SIGUSR1); }

unsigned pokes_handled() { return handled.load(std::memory_order_relaxed); }

void keep_heap_mapped()
{
	mallopt(M_TRIM_THRESHOLD, 1 << 30);
	mallopt(M_MMAP_THRESHOLD, 1 << 30);
}

char parse_stat_state(std::string_view stat)
{
	auto paren = stat.rfind(')');
	if (paren == std::string_view::npos || paren + 2 >= stat.size() || stat[paren + 1] != ' ')
		return 0;
	return stat[paren + 2];
}

char task_state(pid_t tid)
{
	// /proc/TID answers for any thread, of this process or another (a
	// child stopped or traced), though only leaders are listed there.
	std::ifstream in("/proc/" + std::to_string(tid) + "/stat");
	std::string line;
	if (!std::getline(in, line))
		return 0;
	return parse_stat_state(line);
}

double now_s()
{
	return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
	    .count();
}

bool poll_until(const std::function<bool()>& done, std::chrono::milliseconds timeout,
                const std::function<void()>& poke)
{
	auto end = std::chrono::steady_clock::now() + timeout;
	while (std::chrono::steady_clock::now() < end) {
		if (done())
			return true;
		if (poke)
			poke();
	}
	return done();
}

bool wait_asleep(pid_t tid, std::chrono::milliseconds timeout)
{
	return poll_until([tid] { return task_state(tid) == 'S'; }, timeout);
}

Spinner::Spinner(int cpu, std::function<void()> syscall, NoiseMeter* noise)
    : cpu_(cpu), syscall_(std::move(syscall)), noise_(noise), thread_([this] { run(); })
{
	while (!tid_.load())
		std::this_thread::yield();
}

Spinner::~Spinner() { stop(); }

void Spinner::run()
{
	pin_err_ = pin_to_cpu(cpu_);
	tid_ = gettid_now();
	// No syscalls from here on unless asked: the loop only reads memory
	// (and, measuring noise, the cycle counter: no syscall either).
	while (!stop_.load(std::memory_order_relaxed)) {
		// gen_ first, then until_ns_ (and the request and stop flags):
		// spin_for(), spin_always(), make_syscall() and stop() store
		// theirs first, then bump gen_. Read the other way round, a
		// spin_for() between the two loads left the old, past deadline
		// with the new gen_, and the wait slept on a gen_ nobody bumps
		// again: asleep through the new deadline. Read this way, an old
		// gen_ is bumped after the loads (the wait returns or is woken)
		// and a new one comes with its deadline (acquire).
		int gen = gen_.load(std::memory_order_acquire);
		if (auto until = until_ns_.load(std::memory_order_relaxed); until != 0) {
			// Past it, nothing asked: sleep until spin_for(),
			// spin_always(), make_syscall() or stop().
			if (monotonic_ns() > until && !stop_.load(std::memory_order_relaxed) &&
			    requested_.load(std::memory_order_relaxed) ==
			        done_.load(std::memory_order_relaxed))
				gen_.wait(gen);
			if (noise_)
				noise_->restart(cycles());
		}
		if (noise_)
			noise_->observe(cycles());
		auto req = requested_.load(std::memory_order_acquire);
		if (req != done_.load(std::memory_order_relaxed)) {
			if (syscall_)
				syscall_();
			else
				(void)getppid();
			if (noise_)
				noise_->restart(cycles());
			done_.store(req, std::memory_order_release);
		}
	}
}

// Wakes a paused spinner: after the caller's stores to until_ns_,
// requested_ or stop_ (release: see run()).
void Spinner::wake()
{
	gen_.fetch_add(1, std::memory_order_release);
	gen_.notify_all();
}

void Spinner::make_syscall()
{
	auto want = requested_.fetch_add(1) + 1;
	// A paused spinner makes it too: woken, it serves the request and,
	// its deadline still past, pauses again. A running one is no waiter:
	// notify_all() then makes no futex call (libstdc++ counts waiters).
	wake();
	// stop_, not thread_.joinable(): stop() may be joining meanwhile.
	while (done_.load(std::memory_order_acquire) < want &&
	       !stop_.load(std::memory_order_relaxed))
		;
}

void Spinner::spin_for(std::chrono::milliseconds ms)
{
	until_ns_ = monotonic_ns() + std::chrono::nanoseconds(ms).count();
	wake(); // after until_ns_: see run()
}

void Spinner::spin_always()
{
	until_ns_ = 0;
	wake();
}

void Spinner::stop()
{
	stop_ = true;
	wake();
	if (thread_.joinable())
		thread_.join();
}

Sleeper::Sleeper(int cpu) : cpu_(cpu)
{
	if (pipe(pipe_))
		throw std::runtime_error("pipe failed");
	thread_ = std::thread([this] { run(); });
	while (!tid_.load())
		std::this_thread::yield();
}

Sleeper::~Sleeper()
{
	stop();
	for (int fd : pipe_)
		if (fd >= 0)
			close(fd);
}

void Sleeper::run()
{
	char c;
	pin_to_cpu(cpu_);
	tid_ = gettid_now();
	while (read(pipe_[0], &c, 1) < 0 && errno == EINTR)
		;
}

void Sleeper::stop() noexcept
{
	if (!thread_.joinable())
		return;
	// A pipe with room for one byte cannot refuse it; retry on EINTR. If
	// it still failed, join() would hang: detach rather than block.
	ssize_t n;
	do
		n = write(pipe_[1], "x", 1);
	while (n < 0 && errno == EINTR);
	if (n == 1)
		thread_.join();
	else
		thread_.detach();
}

} // namespace twa
