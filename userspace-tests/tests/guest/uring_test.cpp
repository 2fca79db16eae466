// io_uring, upstream's user of TWA_SIGNAL_NO_IPI: completions reach a task
// spinning in user space on CPU 1 through task_work. Count the IPIs CPU 1
// receives per completion for each ring setup.
#include "guest_util.hpp"
#include "twa/cpu.hpp"

#include <liburing.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

using namespace twa;
using namespace twa::guest;

namespace {

struct Setup {
	const char* name;
	unsigned flags;
};

constexpr Setup kDefault{"default", 0};
constexpr Setup kCoop{"coop_taskrun", IORING_SETUP_COOP_TASKRUN};
constexpr Setup kCoopFlag{"coop_taskrun_flag", IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG};
constexpr Setup kDefer{"defer_taskrun", IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN};

struct UringResult {
	bool supported = false;
	int setup_errno = 0;
	int ops = 0;
	std::uint64_t ipis = 0;
	int saw_taskrun = 0; // ops during which IORING_SQ_TASKRUN was seen set
	double ops_per_s = 0;
	double ipis_per_op() const { return ops ? static_cast<double>(ipis) / ops : 0; }
};

// The reaper on CPU 1 owns the ring: it submits a read on an empty pipe and
// spins in user space until the completion shows up. CPU 0 then writes one
// byte; the pipe wakeup queues io_uring's task_work to the reaper.
UringResult run_ring(const Setup& setup, int ops)
{
	UringResult r;
	int pfd[2];
	if (pipe(pfd))
		throw std::runtime_error("pipe");
	std::atomic<int> state{0}; // 1 ready, -1 setup failed
	std::atomic<int> armed{-1};
	std::thread reaper([&] {
		pin_to_cpu(kTargetCpu);
		io_uring ring;
		io_uring_params p{};
		p.flags = setup.flags;
		int ret = io_uring_queue_init_params(8, &ring, &p);
		if (ret < 0) {
			r.setup_errno = -ret;
			state = -1;
			return;
		}
		state = 1;
		char buf;
		for (int i = 0; i < ops; i++) {
			io_uring_prep_read(io_uring_get_sqe(&ring), pfd[0], &buf, 1, 0);
			io_uring_submit(&ring);
			armed.store(i, std::memory_order_release);
			io_uring_cqe* cqe = nullptr;
			bool saw = false;
			// What io_uring_peek_cqe() does, spelled out so the flag is
			// observed exactly: look at the CQ ring without entering;
			// enter only when IORING_SQ_TASKRUN says work is pending
			// (or always for DEFER_TASKRUN, whose work runs only there).
			for (;;) {
				if (__io_uring_peek_cqe(&ring, &cqe, nullptr) == 0 && cqe)
					break;
				if (IO_URING_READ_ONCE(*ring.sq.kflags) & IORING_SQ_TASKRUN) {
					saw = true;
					io_uring_get_events(&ring);
				} else if (setup.flags & IORING_SETUP_DEFER_TASKRUN) {
					io_uring_get_events(&ring);
				}
			}
			r.saw_taskrun += saw;
			io_uring_cqe_seen(&ring, cqe);
		}
		io_uring_queue_exit(&ring);
	});
	while (state.load() == 0)
		std::this_thread::yield();
	if (state.load() < 0) {
		reaper.join();
		close(pfd[0]);
		close(pfd[1]);
		return r;
	}
	r.supported = true;
	auto before = InterruptTable::read();
	auto t0 = std::chrono::steady_clock::now();
	for (int i = 0; i < ops; i++) {
		while (armed.load(std::memory_order_acquire) != i)
			;
		if (write(pfd[1], "x", 1) != 1)
			throw std::runtime_error("write");
	}
	reaper.join();
	auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
	auto after = InterruptTable::read();
	r.ops = ops;
	r.ipis = delta(before, after, kTargetCpu, {"RES", "CAL"});
	r.ops_per_s = secs > 0 ? ops / secs : 0;
	close(pfd[0]);
	close(pfd[1]);
	std::printf("# uring setup=%s supported=%d errno=%d ops=%d ipis=%llu ipis_per_op=%.3f "
		    "saw_taskrun=%d ops_per_s=%.0f\n",
		    setup.name, r.supported, r.setup_errno, r.ops,
		    static_cast<unsigned long long>(r.ipis), r.ipis_per_op(), r.saw_taskrun,
		    r.ops_per_s);
	std::fflush(stdout);
	return r;
}

void print_unsupported(const Setup& s, int err)
{
	std::printf("# uring setup=%s supported=0 errno=%d ops=0\n", s.name, err);
	std::fflush(stdout);
}

class IoUring : public ::testing::Test {
protected:
	void SetUp() override
	{
		ASSERT_EQ(pin_to_cpu(kQueueCpu), 0);
		// COOP_TASKRUN came with TWA_SIGNAL_NO_IPI (5.19).
		coop_expected = Client().features().native_signal_no_ipi();
	}
	int ops() const { return env_int("TWA_URING_OPS", 100); }
	bool coop_expected = false;
};

} // namespace

TEST_F(IoUring, DefaultRingKicksPerCompletion)
{
	auto d = run_ring(kDefault, ops());
	ASSERT_TRUE(d.supported) << "errno " << d.setup_errno;
	// The completion's task_work is TWA_SIGNAL: about one IPI per op.
	EXPECT_GE(d.ipis_per_op(), 0.5);
}

TEST_F(IoUring, CoopTaskrunSendsFarFewerIpis)
{
	if (!coop_expected) {
		auto r = run_ring(kCoop, 1);
		EXPECT_FALSE(r.supported);
		EXPECT_EQ(r.setup_errno, EINVAL) << "an old kernel rejects unknown setup flags";
		print_unsupported(kCoop, r.setup_errno);
		GTEST_SKIP() << "kernel without COOP_TASKRUN: setup fails with EINVAL, as it should";
	}
	auto d = run_ring(kDefault, ops());
	auto c = run_ring(kCoop, ops());
	ASSERT_TRUE(c.supported) << "errno " << c.setup_errno;
	// "Far fewer": at most 20 % of default's, or 0.05 per op.
	EXPECT_LE(c.ipis_per_op(), std::max(0.05, 0.2 * d.ipis_per_op()));
}

TEST_F(IoUring, TaskrunFlagRaisedWhileWorkPending)
{
	if (!coop_expected) {
		auto r = run_ring(kCoopFlag, 1);
		EXPECT_EQ(r.setup_errno, EINVAL);
		print_unsupported(kCoopFlag, r.setup_errno);
		GTEST_SKIP() << "kernel without COOP_TASKRUN|TASKRUN_FLAG";
	}
	auto d = run_ring(kDefault, ops());
	auto f = run_ring(kCoopFlag, ops());
	ASSERT_TRUE(f.supported) << "errno " << f.setup_errno;
	EXPECT_LE(f.ipis_per_op(), std::max(0.05, 0.2 * d.ipis_per_op()));
	// The reaper saw IORING_SQ_TASKRUN before entering on at least 90 % of ops.
	EXPECT_GE(f.saw_taskrun, f.ops * 9 / 10);
}

TEST_F(IoUring, DeferTaskrunSendsNoIpi)
{
	auto r = run_ring(kDefer, ops());
	if (!r.supported) {
		print_unsupported(kDefer, r.setup_errno);
		EXPECT_EQ(r.setup_errno, EINVAL);
		EXPECT_FALSE(coop_expected && r.setup_errno != EINVAL);
		GTEST_SKIP() << "kernel without DEFER_TASKRUN (6.1+)";
	}
	EXPECT_LE(r.ipis_per_op(), 0.05);
}
