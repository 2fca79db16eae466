// In-guest IPI tests: does each notification mode send the IPIs it should
// to a target on CPU 1, and does the work run? Tolerances are stated next
// to each assertion; figures are printed as "# ipi" lines.
#include "twa/cpu.hpp"
#include "twa/measure.hpp"

#include <fcntl.h>
#include <malloc.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

using namespace twa;
using namespace std::chrono_literals;

namespace {

// Items per measurement; TWA_ITEMS overrides (the benchmark uses 1000).
int items_fast() { return env_int("TWA_ITEMS", 200); }
// NO_IPI items to a spinner wait for a tick (5-40 ms under TCG): fewer.
int items_slow() { return std::max(20, items_fast() / 2); }

// Work is noise: a handful of IPIs land on CPU 1 from elsewhere.
constexpr double kNoiseFrac = 0.02;
constexpr std::uint64_t kNoiseAbs = 3;

class Ipi : public ::testing::Test {
protected:
	void SetUp() override
	{
		ASSERT_EQ(pin_to_cpu(kQueueCpu), 0);
		ASSERT_GE(online_cpus(), 2) << "the IPI tests need CPU 1";
		features = client.features();
		ASSERT_FALSE(features.release().empty()) << "module not loaded?";
	}
	bool native(Mode m) const
	{
		return m != Mode::SignalNoIpi || features.native_signal_no_ipi();
	}
	std::vector<Impl> impls(Mode m) const
	{
		if (native(m))
			return {Impl::Native, Impl::Backport};
		return {Impl::Backport};
	}
	static std::uint64_t noise(int n)
	{
		return static_cast<std::uint64_t>(kNoiseFrac * n) + kNoiseAbs;
	}

	// What a quiet mode may show: CPU 1's own background over an equally
	// long window right after (twice it, for a background that comes in
	// bursts), plus the fixed noise allowance. On an idle host the
	// background is 0-1; on a loaded one it was seen at 60 per second.
	std::uint64_t quiet_bound(const Sample& s)
	{
		auto bg = background_ipis(client, s.elapsed);
		std::printf("# background ipis=%llu over %lld ms\n",
		            static_cast<unsigned long long>(bg),
		            static_cast<long long>(s.elapsed.count()));
		return 2 * bg + noise(s.items);
	}

	// Measure, print the figures, and fail the test on a measurement error.
	Sample measure(const std::string& target, pid_t tid, Mode mode, Impl impl, int n,
	               const RunOptions& opt = {})
	{
		auto s = run_items(client, tid, mode, impl, n, opt);
		std::printf("%s\n", ipi_line(target, mode, impl, s).c_str());
		std::fflush(stdout);
		EXPECT_TRUE(s.ok()) << s.error;
		RecordProperty(target + "_" + std::string(to_string(mode)) + "_" +
		                   std::string(to_string(impl)) + "_ipis",
		               static_cast<int>(s.ipis()));
		return s;
	}

	Client client;
	Features features;
};

// The queueing thread shares the target's mm: a heap trim or munmap on
// CPU 0 would flush CPU 1's TLB with a function-call IPI (seen with the
// ipi tracepoints on 6.12). Keep the heap mapped for the whole run.
class NoTlbNoise : public ::testing::Environment {
	void SetUp() override
	{
		mallopt(M_TRIM_THRESHOLD, 1 << 30);
		mallopt(M_MMAP_THRESHOLD, 1 << 30);
	}
};
const auto* const kNoTlbNoise = ::testing::AddGlobalTestEnvironment(new NoTlbNoise);

} // namespace

// signal to a task spinning in user space: a kick (RES) per item.
TEST_F(Ipi, SignalToSpinnerSendsOneIpiPerItem)
{
	Spinner spin(kTargetCpu);
	int n = items_fast();
	std::vector<Sample> samples;
	for (auto impl : impls(Mode::Signal)) {
		auto s = measure("spinner", spin.tid(), Mode::Signal, impl, n);
		EXPECT_EQ(s.ran, n);
		// 90 % .. 110 % + noise: a kick can merge with one already in flight.
		EXPECT_GE(s.res, static_cast<std::uint64_t>(0.9 * n)) << to_string(impl);
		EXPECT_LE(s.res, static_cast<std::uint64_t>(1.1 * n) + noise(n)) << to_string(impl);
		if (impl == Impl::Backport) {
			EXPECT_GE(s.kicks, n - 1);
		}
		samples.push_back(s);
	}
	// Native and backport agree within 10 % of the items (+ noise).
	if (samples.size() == 2) {
		auto a = samples[0].ipis(), b = samples[1].ipis();
		EXPECT_LE(a > b ? a - b : b - a, static_cast<std::uint64_t>(0.1 * n) + noise(n));
	}
}

// signal_no_ipi to a spinner: no IPI, and the work still runs (at the tick).
TEST_F(Ipi, SignalNoIpiToSpinnerSendsNoIpi)
{
	Spinner spin(kTargetCpu);
	int n = items_slow();
	for (auto impl : impls(Mode::SignalNoIpi)) {
		auto s = measure("spinner", spin.tid(), Mode::SignalNoIpi, impl, n);
		EXPECT_EQ(s.ran, n);
		EXPECT_EQ(s.kicks, 0);
		EXPECT_LE(s.ipis(), quiet_bound(s))
		    << to_string(impl) << ": RES " << s.res << " CAL " << s.cal;
	}
}

// An interruptible sleeper is woken in every signal mode and never kicked;
// the wake costs the same IPIs with or without NO_IPI.
TEST_F(Ipi, SleeperIsWokenNotKicked)
{
	Sleeper sleeper(kTargetCpu);
	std::this_thread::sleep_for(20ms);
	int n = items_fast() / 2;
	std::uint64_t wake_ipis[2] = {0, 0};
	for (auto mode : {Mode::Signal, Mode::SignalNoIpi}) {
		for (auto impl : impls(mode)) {
			auto s = measure("sleeper", sleeper.tid(), mode, impl, n);
			EXPECT_EQ(s.ran, n);
			if (impl == Impl::Backport) {
				EXPECT_EQ(s.kicks, 0);
				EXPECT_GE(s.wakeups, n - 1); // tolerance 1: a spurious wake
			}
			wake_ipis[mode == Mode::SignalNoIpi] += s.ipis();
		}
	}
	// Per impl, |signal - signal_no_ipi| wake IPIs within 15 % of items + noise.
	auto per_mode = static_cast<std::uint64_t>(impls(Mode::SignalNoIpi).size());
	auto a = wake_ipis[0] / impls(Mode::Signal).size(), b = wake_ipis[1] / per_mode;
	EXPECT_LE(a > b ? a - b : b - a, static_cast<std::uint64_t>(0.15 * n) + noise(n))
	    << "signal " << a << " vs signal_no_ipi " << b;
}

// resume kicks a running task (set_notify_resume), so one IPI per item.
TEST_F(Ipi, ResumeToSpinnerKicks)
{
	Spinner spin(kTargetCpu);
	int n = items_fast() / 2;
	for (auto impl : {Impl::Native, Impl::Backport}) {
		auto s = measure("spinner", spin.tid(), Mode::Resume, impl, n);
		EXPECT_EQ(s.ran, n);
		EXPECT_GE(s.res, static_cast<std::uint64_t>(0.9 * n));
		EXPECT_LE(s.res, static_cast<std::uint64_t>(1.1 * n) + noise(n));
	}
}

// none sets no flag: no IPI, and the work waits until something runs the
// target's task_work. A bare syscall does not; Client::mark() does, because
// its close() -> fput() queues a TWA_RESUME task_work of its own, which runs
// ours too, after the mark.
// Since 6.4 the tick's mm_cid scan (TWA_RESUME, ~every 100 ms) also runs
// pending work, so at least half must still be pending after 30 ms.
TEST_F(Ipi, NoneWaitsForNextKernelEntry)
{
	Spinner spin(kTargetCpu, [this] { client.mark(); });
	int n = 40;
	for (auto impl : {Impl::Native, Impl::Backport}) {
		RunOptions opt;
		opt.hold = 30ms;
		opt.poke = [&] { spin.make_syscall(); };
		auto s = measure("spinner", spin.tid(), Mode::None, impl, n, opt);
		EXPECT_EQ(s.ran, n);
		EXPECT_GE(s.held, n / 2);
		EXPECT_LE(s.ipis(), quiet_bound(s));
		auto after = std::count(s.after_mark.begin(), s.after_mark.end(), true);
		EXPECT_EQ(after, s.held) << "held items run right after the target's syscall";
	}
}

// A task spinning on a nohz_full CPU gets no tick: NO_IPI work waits for its
// next kernel entry, TWA_SIGNAL work runs at once. Needs nohz_full=1 on the
// kernel command line (6.1 and 6.12; 5.10 has no NO_HZ_FULL). nohz_full is
// not total isolation: under TCG the ipi tracepoints on 6.12 show a few
// stray IPIs a second reaching CPU 1 (irq_work_queue_on, nohz_full_kick_func,
// wakeups), and each runs the pending work. With a tick (every 4-40 ms) no
// item would still be pending after 100 ms, so "at least 5 of 10 pending"
// tells the two apart with room for that noise.
TEST_F(Ipi, NohzFullNoIpiWaitsForSyscall)
{
	auto nohz = features.nohz_full();
	if (std::find(nohz.begin(), nohz.end(), kTargetCpu) == nohz.end())
		GTEST_SKIP() << "CPU 1 is not nohz_full (boot with nohz_full=1)";
	// One syscall, the write itself: an open() would already be a kernel
	// exit that runs the flagged work before the mark.
	int fd = ::open((client.dir() + "/control").c_str(), O_WRONLY | O_CLOEXEC);
	ASSERT_GE(fd, 0);
	Spinner spin(kTargetCpu, [fd] { (void)!::write(fd, "mark", 4); });
	std::this_thread::sleep_for(200ms); // let the tick stop
	constexpr int n = 10;
	for (auto impl : impls(Mode::SignalNoIpi)) {
		RunOptions opt;
		opt.hold = 100ms;
		opt.poke = [&] { spin.make_syscall(); };
		auto s = measure("nohz_spinner", spin.tid(), Mode::SignalNoIpi, impl, n, opt);
		EXPECT_EQ(s.ran, n);
		EXPECT_GE(s.held, n / 2) << "NO_IPI work ran on a nohz_full CPU before a syscall";
		auto after = std::count(s.after_mark.begin(), s.after_mark.end(), true);
		EXPECT_EQ(after, s.held) << "held items run right after the target's syscall";
		EXPECT_EQ(s.kicks, 0);
	}
	for (auto impl : impls(Mode::Signal)) {
		RunOptions opt;
		opt.timeout = 100ms;
		auto s = measure("nohz_spinner", spin.tid(), Mode::Signal, impl, 20, opt);
		EXPECT_EQ(s.ran, 20);
		EXPECT_GE(s.res, 18u);
	}
	spin.stop();
	::close(fd);
}

TEST_F(Ipi, ErrorCodes)
{
	EXPECT_EQ(client.queue(999999, Mode::Signal), ESRCH); // above pid_max
	EXPECT_EQ(client.queue(2, Mode::Signal), EINVAL);     // kthreadd
	EXPECT_EQ(client.command("queue tid=1 mode=loud"), EINVAL);
	EXPECT_EQ(client.command("queue tid=1 mode=signal count=65537"), EINVAL);
	EXPECT_EQ(client.command("dance"), EINVAL);
	Sleeper sleeper(kTargetCpu);
	int err = client.queue(sleeper.tid(), Mode::SignalNoIpi, Impl::Native);
	if (features.native_signal_no_ipi()) {
		EXPECT_EQ(err, 0);
	} else {
		EXPECT_EQ(err, EOPNOTSUPP);
		EXPECT_EQ(client.queue(sleeper.tid(), Mode::SignalNoIpi, Impl::Auto), 0)
		    << "auto falls back to the backport";
	}
	EXPECT_EQ(client.command("queue tid=" + std::to_string(sleeper.tid()) +
	                         " mode=signal_no_ipi impl=backport"),
	          0);
	auto queued = client.stats().queued();
	EXPECT_TRUE(client.wait_run(queued, 3000ms));
}

// The example consumer (examples/consumer) queues through include/twa_noipi.h
// alone with TWA_MODE_SIGNAL_NO_IPI + TWA_IMPL_AUTO: native on 6.1/6.12, the
// backport on 5.10. Its items must run and send the spinner no IPI.
TEST(Consumer, NoIpiItemsRunWithoutIpi)
{
	const std::string dir = "/sys/kernel/debug/twa_consumer";
	if (access(dir.c_str(), F_OK) != 0)
		GTEST_SKIP() << "twa_consumer.ko not loaded";
	ASSERT_EQ(pin_to_cpu(kQueueCpu), 0);
	auto read_count = [&](const char* name) {
		std::ifstream in(dir + "/" + name);
		long v = -1;
		in >> v;
		return v;
	};
	Spinner spin(kTargetCpu);
	std::this_thread::sleep_for(300ms); // let a fresh process settle
	constexpr int n = 100;
	long run0 = read_count("run");
	auto before = InterruptTable::read();
	for (int i = 0; i < n; i++) {
		int fd = ::open((dir + "/queue").c_str(), O_WRONLY | O_CLOEXEC);
		ASSERT_GE(fd, 0);
		auto tid = std::to_string(spin.tid());
		ASSERT_EQ(::write(fd, tid.data(), tid.size()), static_cast<ssize_t>(tid.size()));
		::close(fd);
		auto end = std::chrono::steady_clock::now() + 3s;
		while (read_count("run") < run0 + i + 1 && std::chrono::steady_clock::now() < end)
			;
		ASSERT_EQ(read_count("run"), run0 + i + 1) << "item " << i << " did not run";
	}
	auto after = InterruptTable::read();
	auto ipis = delta(before, after, kTargetCpu, {"RES", "CAL"});
	std::printf("# consumer items=%d ipis=%llu res=%llu cal=%llu tlb=%llu\n", n,
	            static_cast<unsigned long long>(ipis),
	            static_cast<unsigned long long>(delta(before, after, kTargetCpu, {"RES"})),
	            static_cast<unsigned long long>(delta(before, after, kTargetCpu, {"CAL"})),
	            static_cast<unsigned long long>(delta(before, after, kTargetCpu, {"TLB"})));
	// Each NO_IPI item waits for a tick (~5 ms under TCG), so 100 items hold
	// the window open ~0.5 s, and on 6.1 background RES to CPU 1 arrive at
	// a varying rate: 0-12 per window were seen, for this consumer and for
	// the module's own NO_IPI path alike (same-boot A/B). 10 % + 3 stays far
	// below signal's one IPI per item.
	EXPECT_LE(ipis, static_cast<std::uint64_t>(0.1 * n) + kNoiseAbs);
	EXPECT_EQ(read_count("pending"), 0);
}
