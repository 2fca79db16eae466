// CPU pinning and the two kinds of target task the tests queue work to.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string_view>
#include <thread>

namespace twa {

class NoiseMeter;

// Pin the calling thread to @cpu. Returns 0 or an errno value.
int pin_to_cpu(int cpu);
int current_cpu();
int online_cpus();
pid_t gettid_now();

// SIGUSR1 with a no-op SA_RESTART handler: a signal then only makes a
// target enter the kernel, where get_signal() runs its pending task_work
// (TWA_NONE's too) on every kernel. Returns 0 or an errno value.
int install_poke_signal();
// That signal to thread @tid of this process.
void poke_thread(pid_t tid);
// How many pokes this process's threads have handled so far. Two pokes
// sent close together may arrive as one (a pending standard signal is not
// queued twice): wait for a count to pass, not for it to equal the sent.
unsigned pokes_handled();
// The queueing thread shares its targets' mm: a heap trim or munmap on
// CPU 0 flushes the target CPU's TLB with a function-call IPI, counted as
// background against every measurement. Keep the heap mapped for good.
void keep_heap_mapped();

// Seconds on the monotonic clock, from an arbitrary origin: for durations.
double now_s();
// Poll until @done() holds, calling @poke (if any) between polls; false if
// it still does not after @timeout. Busy: the waits it serves are short,
// and a sleep would hide the moment the condition turns.
bool poll_until(const std::function<bool()>& done, std::chrono::milliseconds timeout,
                const std::function<void()>& poke = {});

// The state letter (R, S, D, ...) of a /proc/PID/stat line; 0 if malformed.
// The comm field may hold spaces and parentheses: the state follows the last ')'.
char parse_stat_state(std::string_view stat);
// State of thread @tid (of any process), from /proc/TID/stat; 0 if it
// cannot be read.
char task_state(pid_t tid);
// Poll until thread @tid of this process is asleep (S); false after
// @timeout. A sleeper that has just run an item is still on its way back
// into read(): an item queued then finds it running, so a signal mode kicks
// instead of waking, and TWA_RESUME work runs on that way back.
bool wait_asleep(pid_t tid, std::chrono::milliseconds timeout);

// A thread pinned to a CPU that spins in user space and makes no syscalls,
// except when asked to make exactly one (to give pending task_work its
// "next kernel entry" on demand).
class Spinner {
public:
	// @syscall is what "make a syscall" does (default: getppid()). With
	// @noise, the loop reads the cycle counter on every turn and feeds it
	// (its own syscalls excepted): what the thread loses to interruptions.
	explicit Spinner(int cpu, std::function<void()> syscall = {}, NoiseMeter* noise = nullptr);
	~Spinner();
	Spinner(const Spinner&) = delete;
	Spinner& operator=(const Spinner&) = delete;

	pid_t tid() const { return tid_.load(); }
	int cpu() const { return cpu_; }
	int pin_error() const { return pin_err_.load(); }
	// Ask for one syscall and wait until it was made. A paused spinner
	// (spin_for()) is woken to make it, then pauses again; its futex
	// wait returning is a kernel exit of its own, before the syscall.
	// Returns at once, the syscall unmade, once stop() was called.
	void make_syscall();
	// Paced spinning: spin for @ms more, then sleep (a futex wait) until
	// the next spin_for() or spin_always(). A spinner that never stops
	// keeps its vCPU busy through every RCU-tasks grace period of an
	// rmmod, which under TCG costs a host CPU for nothing.
	void spin_for(std::chrono::milliseconds ms);
	void spin_always(); // the default
	std::uint64_t syscalls() const { return done_.load(); }
	void stop();

private:
	void run();
	void wake();
	int cpu_;
	std::function<void()> syscall_;
	NoiseMeter* noise_;
	std::atomic<pid_t> tid_{0};
	std::atomic<int> pin_err_{0};
	std::atomic<bool> stop_{false};
	std::atomic<std::uint64_t> requested_{0}, done_{0};
	std::atomic<std::int64_t> until_ns_{0}; // CLOCK_MONOTONIC; 0: for ever
	std::atomic<int> gen_{0};               // bumped to wake a paused spinner
	std::thread thread_;
};

// A thread pinned to a CPU, asleep in read() on a pipe (TASK_INTERRUPTIBLE).
// Notifications restart the read; stop() writes to the pipe to end it.
class Sleeper {
public:
	explicit Sleeper(int cpu);
	~Sleeper();
	Sleeper(const Sleeper&) = delete;
	Sleeper& operator=(const Sleeper&) = delete;

	pid_t tid() const { return tid_.load(); }
	void stop() noexcept;

private:
	void run();
	int cpu_;
	int pipe_[2] = {-1, -1};
	std::atomic<pid_t> tid_{0};
	std::thread thread_;
};

} // namespace twa
