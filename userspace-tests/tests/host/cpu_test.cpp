#include "twa/cpu.hpp"
#include "twa/noise.hpp"

#include <gtest/gtest.h>

#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <functional>
#include <random>
#include <thread>

using namespace twa;
using namespace std::chrono_literals;

namespace {

// Hang guards, not performance bounds: a regression fails the test after
// this long instead of hanging it, and no load takes it this long.
constexpr std::chrono::milliseconds kHangGuard = 30s;
// A deadline no test outlives: spinning until the next call.
constexpr std::chrono::milliseconds kForLong = 1h;

// Polls @done, sleeping a little between polls (the CPU may be the
// spinner's); false if it still does not hold after kHangGuard.
bool eventually(const std::function<bool()>& done)
{
	return poll_until(done, kHangGuard, [] { std::this_thread::sleep_for(10us); });
}

// A noise meter whose threshold is 0 counts every gap: its count is the
// spinner's loop turns, which a spinning spinner advances and a paused one
// does not.
std::uint64_t turns(const NoiseMeter& m) { return m.totals().count; }

// Whether the spinner turns after this call: one turn read after it is
// enough, as a spinner that slept through a wake-up makes none.
bool turns_again(const NoiseMeter& m)
{
	auto before = turns(m);
	return eventually([&] { return turns(m) > before; });
}

// @s.make_syscall() from a thread of its own; false if it has not returned
// after kHangGuard. stop() then ends it (it gives up on a stopped spinner).
bool make_syscall_returns(Spinner& s)
{
	std::atomic<bool> returned{false};
	std::thread t([&] {
		s.make_syscall();
		returned = true;
	});
	bool ok = eventually([&] { return returned.load(); });
	if (!ok)
		s.stop();
	t.join();
	return ok;
}

// The spinner on the last CPU, the test on CPU 0: apart where there are two.
int spinner_cpu()
{
	EXPECT_EQ(pin_to_cpu(0), 0);
	return online_cpus() - 1;
}

} // namespace

TEST(Cpu, PinsToEachOnlineCpu)
{
	for (int cpu = 0; cpu < online_cpus(); cpu++) {
		ASSERT_EQ(pin_to_cpu(cpu), 0);
		EXPECT_EQ(current_cpu(), cpu);
	}
	EXPECT_EQ(pin_to_cpu(0), 0);
}

TEST(Cpu, RejectsImpossibleCpu) { EXPECT_EQ(pin_to_cpu(1000), EINVAL); }

TEST(Spinner, RunsOnItsCpuAndSyscallsOnlyWhenAsked)
{
	int cpu = online_cpus() - 1;
	Spinner s(cpu);
	EXPECT_EQ(s.pin_error(), 0);
	EXPECT_NE(s.tid(), gettid_now());
	EXPECT_EQ(s.syscalls(), 0u);
	s.make_syscall();
	s.make_syscall();
	EXPECT_EQ(s.syscalls(), 2u);
	s.stop();
}

TEST(Spinner, CustomSyscallRuns)
{
	int calls = 0;
	Spinner s(0, [&] { calls++; });
	s.make_syscall();
	s.stop();
	EXPECT_EQ(calls, 1);
}

TEST(Spinner, SpinForSpinsThenPauses)
{
	NoiseMeter m(0);
	Spinner s(spinner_cpu(), {}, &m);
	double t0 = now_s();
	s.spin_for(50ms);
	ASSERT_TRUE(wait_asleep(s.tid(), kHangGuard));
	// Not before its deadline: a lower bound, which no load can break.
	EXPECT_GE(now_s() - t0, 0.050);
	EXPECT_GT(turns(m), 0u);
	// Asleep in its futex wait: no turns, however long.
	auto asleep = turns(m);
	std::this_thread::sleep_for(20ms);
	EXPECT_EQ(turns(m), asleep);
	EXPECT_EQ(s.syscalls(), 0u);
	s.stop(); // a paused spinner stops too
}

TEST(Spinner, SpinForAfterAPauseResumesIt)
{
	NoiseMeter m(0);
	Spinner s(spinner_cpu(), {}, &m);
	for (int round = 0; round < 3; round++) {
		s.spin_for(0ms);
		ASSERT_TRUE(wait_asleep(s.tid(), kHangGuard)) << "round " << round;
		s.spin_for(kForLong);
		ASSERT_TRUE(turns_again(m)) << "round " << round;
		// It saw the new deadline: it does not pause again.
		EXPECT_NE(task_state(s.tid()), 'S') << "round " << round;
	}
	s.spin_for(0ms);
	ASSERT_TRUE(wait_asleep(s.tid(), kHangGuard));
	s.spin_always();
	ASSERT_TRUE(turns_again(m));
	EXPECT_NE(task_state(s.tid()), 'S');
}

TEST(Spinner, MakeSyscallReturnsFromARunningSpinner)
{
	Spinner s(spinner_cpu());
	ASSERT_TRUE(make_syscall_returns(s));
	EXPECT_EQ(s.syscalls(), 1u);
	s.spin_for(kForLong); // paced, but not paused yet
	ASSERT_TRUE(make_syscall_returns(s));
	EXPECT_EQ(s.syscalls(), 2u);
}

TEST(Spinner, MakeSyscallWakesAPausedSpinnerWhichPausesAgain)
{
	std::atomic<int> calls{0};
	Spinner s(spinner_cpu(), [&] { calls++; });
	s.spin_for(0ms);
	for (int i = 1; i <= 3; i++) {
		ASSERT_TRUE(wait_asleep(s.tid(), kHangGuard)) << "syscall " << i;
		ASSERT_TRUE(make_syscall_returns(s)) << "syscall " << i << " from a paused spinner";
		EXPECT_EQ(calls.load(), i);
		EXPECT_EQ(s.syscalls(), static_cast<std::uint64_t>(i));
	}
	EXPECT_TRUE(wait_asleep(s.tid(), kHangGuard)) << "paused again";
}

TEST(Spinner, MakeSyscallAfterStopReturnsWithoutOne)
{
	Spinner s(spinner_cpu());
	s.stop();
	ASSERT_TRUE(make_syscall_returns(s));
	EXPECT_EQ(s.syscalls(), 0u);
}

// The race of a spin_for() with the spinner going to sleep, which must
// wake it whenever it lands: before the spinner reads its deadline, between
// its reads of gen_ and until_ns_, or as it enters or sleeps in its wait.
// The test thread shares the spinner's CPU, the spinner at the lowest
// priority (SCHED_IDLE): each time the test thread wakes it takes the CPU
// at once, stopping the spinner wherever it was in its loop. A round sets
// a deadline 1 ms away, sleeps up to 1.1 ms (waking before the deadline,
// mostly, or after it), keeps the CPU until the deadline has passed, then
// calls spin_for(): the spinner must turn again. With until_ns_ read before
// gen_, one round in a few hundred left it asleep here.
TEST(Spinner, SpinForWhileItPausesAlwaysResumesIt)
{
	constexpr int kRounds = 2500;
	NoiseMeter m(0);
	int cpu = online_cpus() - 1;
	Spinner s(cpu, {}, &m);
	ASSERT_EQ(pin_to_cpu(cpu), 0);
	// Best effort: without it a round only takes longer (the end of a
	// time slice, not each wake-up, hands the CPU over) and stops the
	// spinner in fewer places.
	sched_param idle{};
	(void)sched_setscheduler(s.tid(), SCHED_IDLE, &idle);
	std::minstd_rand rng(42); // the same rounds every run
	for (int round = 0; round < kRounds; round++) {
		s.spin_for(1ms);
		auto passed = std::chrono::steady_clock::now() + 1ms + 20us;
		std::this_thread::sleep_for(std::chrono::microseconds(rng() % 1100));
		while (std::chrono::steady_clock::now() < passed)
			;
		s.spin_for(kForLong);
		ASSERT_TRUE(turns_again(m)) << "round " << round << ": asleep through spin_for()";
	}
}

TEST(Sleeper, StartsAndStops)
{
	Sleeper s(0);
	EXPECT_GT(s.tid(), 0);
	EXPECT_NE(s.tid(), gettid_now());
	s.stop();
	s.stop(); // idempotent
}

TEST(TaskState, ParsesStatLines)
{
	EXPECT_EQ(parse_stat_state("42 (twa-ipi-tests) S 1 42 42 0 -1"), 'S');
	EXPECT_EQ(parse_stat_state("7 (a) b) (c) R 1 7"), 'R'); // comm with ") ("
	EXPECT_EQ(parse_stat_state("7 (a"), 0);
	EXPECT_EQ(parse_stat_state("7 (a)"), 0);
	EXPECT_EQ(parse_stat_state(""), 0);
}

TEST(TaskState, SeesASleeperAsleep)
{
	Sleeper s(0);
	char st = 0;
	for (int i = 0; i < 1000 && st != 'S'; i++) {
		st = task_state(s.tid());
		std::this_thread::sleep_for(std::chrono::milliseconds(1));
	}
	EXPECT_EQ(st, 'S');
	EXPECT_EQ(task_state(gettid_now()), 'R');
	EXPECT_EQ(task_state(999999), 0);
}

TEST(PollUntil, StopsWhenTrueAndPokesBetweenPolls)
{
	int polls = 0, pokes = 0;
	EXPECT_TRUE(
	    poll_until([&] { return ++polls == 3; }, std::chrono::seconds(60), [&] { pokes++; }));
	EXPECT_EQ(polls, 3);
	EXPECT_EQ(pokes, 2);
}

TEST(PollUntil, FalseOnlyAfterTheTimeout)
{
	double t0 = now_s();
	EXPECT_FALSE(poll_until([] { return false; }, std::chrono::milliseconds(20)));
	EXPECT_GE(now_s() - t0, 0.020);
}

// A poke is counted when its handler ran, in the thread it was sent to: a
// sleeper blocked in read() takes it and goes back to sleep (SA_RESTART).
TEST(Poke, CountedWhenHandledByASleeper)
{
	ASSERT_EQ(install_poke_signal(), 0);
	Sleeper sleeper(current_cpu());
	ASSERT_TRUE(wait_asleep(sleeper.tid(), kHangGuard));
	unsigned before = pokes_handled();
	poke_thread(sleeper.tid());
	EXPECT_TRUE(eventually([&] { return pokes_handled() == before + 1; }));
	EXPECT_TRUE(wait_asleep(sleeper.tid(), kHangGuard));
	EXPECT_EQ(pokes_handled(), before + 1);
	sleeper.stop();
}

// Another process's thread reads too: the fault test watches its stopped,
// traced and frozen children by their state.
TEST(TaskState, ReadsAChildProcessStopped)
{
	pid_t pid = fork();
	if (pid == 0) {
		for (;;)
			pause();
	}
	ASSERT_GT(pid, 0);
	int st = 0;
	ASSERT_EQ(kill(pid, SIGSTOP), 0);
	ASSERT_EQ(waitpid(pid, &st, WUNTRACED), pid);
	EXPECT_TRUE(WIFSTOPPED(st));
	EXPECT_EQ(task_state(pid), 'T');
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
}
