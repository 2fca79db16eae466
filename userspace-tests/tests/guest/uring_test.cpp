// io_uring, upstream's user of TWA_SIGNAL_NO_IPI: completions reach a task
// spinning in user space on CPU 1 through task_work. Count the IPIs CPU 1
// receives per completion for each ring setup (twa/uring.hpp).
#include "twa/cpu.hpp"
#include "twa/measure.hpp"
#include "twa/uring.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

using namespace twa;

namespace {

UringResult ring(const char* name, int ops)
{
	auto r = run_ring(uring_setup(name), ops, kTargetCpu);
	std::printf("%s\n", uring_line(r).c_str());
	std::fflush(stdout);
	return r;
}

class IoUring : public ::testing::Test {
protected:
	void SetUp() override
	{
		ASSERT_EQ(pin_to_cpu(kQueueCpu), 0);
		// COOP_TASKRUN came with TWA_SIGNAL_NO_IPI (5.19).
		coop_expected = Client().features().native_signal_no_ipi();
	}
	static int ops() { return env_int("TWA_URING_OPS", 100); }
	bool coop_expected = false;
};

} // namespace

TEST_F(IoUring, DefaultRingKicksPerCompletion)
{
	auto d = ring("default", ops());
	ASSERT_TRUE(d.supported) << "errno " << d.setup_errno;
	// The completion's task_work is TWA_SIGNAL: about one IPI per op.
	EXPECT_GE(d.ipis_per_op(), 0.5);
}

TEST_F(IoUring, CoopTaskrunSendsFarFewerIpis)
{
	if (!coop_expected) {
		auto r = ring("coop_taskrun", 1);
		EXPECT_FALSE(r.supported);
		EXPECT_EQ(r.setup_errno, EINVAL) << "an old kernel rejects unknown setup flags";
		GTEST_SKIP()
		    << "kernel without COOP_TASKRUN: setup fails with EINVAL, as it should";
	}
	auto d = ring("default", ops());
	auto c = ring("coop_taskrun", ops());
	ASSERT_TRUE(c.supported) << "errno " << c.setup_errno;
	// "Far fewer": at most 20 % of default's, or 0.05 per op.
	EXPECT_LE(c.ipis_per_op(), std::max(0.05, 0.2 * d.ipis_per_op()));
}

TEST_F(IoUring, TaskrunFlagRaisedWhileWorkPending)
{
	if (!coop_expected) {
		auto r = ring("coop_taskrun_flag", 1);
		EXPECT_EQ(r.setup_errno, EINVAL);
		GTEST_SKIP() << "kernel without COOP_TASKRUN|TASKRUN_FLAG";
	}
	auto d = ring("default", ops());
	auto f = ring("coop_taskrun_flag", ops());
	ASSERT_TRUE(f.supported) << "errno " << f.setup_errno;
	EXPECT_LE(f.ipis_per_op(), std::max(0.05, 0.2 * d.ipis_per_op()));
	// The reaper saw IORING_SQ_TASKRUN before entering on at least 90 % of ops.
	EXPECT_GE(f.saw_taskrun, f.ops * 9 / 10);
}

TEST_F(IoUring, DeferTaskrunSendsNoIpi)
{
	auto r = ring("defer_taskrun", ops());
	if (!r.supported) {
		EXPECT_EQ(r.setup_errno, EINVAL);
		EXPECT_FALSE(coop_expected && r.setup_errno != EINVAL);
		GTEST_SKIP() << "kernel without DEFER_TASKRUN (6.1+)";
	}
	EXPECT_LE(r.ipis_per_op(), 0.05);
}
