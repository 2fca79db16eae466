#include "twa/cpu.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <thread>

using namespace twa;

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
