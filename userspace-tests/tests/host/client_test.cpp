#include "twa/client.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <unistd.h>

namespace fs = std::filesystem;
using namespace twa;

namespace {
std::string debugfs(const std::string& kernel)
{
	return std::string(TWA_FIXTURES) + "/debugfs/" + kernel;
}
} // namespace

class Captured : public ::testing::TestWithParam<std::string> {};

// features/stats/items captured from the module in Debian guests.
TEST_P(Captured, ParsesEveryFile)
{
	Client c(debugfs(GetParam()));
	auto f = c.features();
	EXPECT_NE(f.release().find(GetParam()), std::string::npos);
	EXPECT_EQ(f.native_signal_no_ipi(), GetParam() != "5.10");
	EXPECT_EQ(f.hz(), 250);
	EXPECT_TRUE(f.nohz_full().empty());
	auto s = c.stats();
	EXPECT_EQ(s.queued(), 4);
	EXPECT_EQ(s.run(), 4);
	EXPECT_EQ(s.outstanding(), 0);
	EXPECT_EQ(s.failed(), 0);
	EXPECT_EQ(s.get("marks"), 1);
	EXPECT_EQ(s.backport_kick_process_calls(), 0) << "new key, or deprecated \"kicks\"";
	EXPECT_EQ(s.get("no_such_key"), -1);
	auto items = c.items();
	ASSERT_EQ(items.size(), 4u);
	EXPECT_EQ(items.back().mode, Mode::SignalNoIpi);
	EXPECT_EQ(items.back().impl, Impl::Backport);
	for (const auto& it : items) {
		EXPECT_GT(it.tid, 0);
		EXPECT_FALSE(it.after_mark);
		EXPECT_FALSE(it.exiting);
	}
}

INSTANTIATE_TEST_SUITE_P(Debian, Captured, ::testing::Values("5.10", "6.1", "6.12", "7.2"));

// The 7.2 capture predates the renames (docs/module.md#names): its keys are
// the deprecated ones, still read under the new names until the next
// release. The 6.1 capture has the new ones.
TEST(Client, ReadsDeprecatedStatsKeysOfOldCaptures)
{
	auto old = Client(debugfs("7.2")).stats();
	ASSERT_TRUE(old.raw.count("kick_calls") && old.raw.count("kicks_due") &&
	            old.raw.count("kicks"))
	    << "the 7.2 fixture is the old-key capture: keep it";
	EXPECT_EQ(old.kick_process_calls(), 1);
	EXPECT_EQ(old.kick_ipis_owed(), 0);
	EXPECT_EQ(old.backport_kick_process_calls(), 0);
	auto now = Client(debugfs("6.1")).stats();
	for (const auto& r : kStatsRenamed) {
		EXPECT_TRUE(now.raw.count(r.key)) << r.key;
		EXPECT_FALSE(now.raw.count(r.deprecated)) << r.deprecated;
		EXPECT_GE(now.get(r.key), 0) << r.key;
	}
	// Both present (no module prints both): the new name wins.
	auto both = parse_stats("kick_process_calls 3\nkick_calls 9\n");
	EXPECT_EQ(both.kick_process_calls(), 3);
	EXPECT_EQ(parse_stats("kicks_due 4\n").kick_ipis_owed(), 4);
	EXPECT_EQ(parse_stats("kicks 5\n").backport_kick_process_calls(), 5);
	EXPECT_EQ(parse_stats("kicks 5\n").get("kicks"), 5) << "the raw key stays readable";
	EXPECT_EQ(parse_stats("").kick_ipis_owed(), -1);
}

// The module prints its protocol's names (7.2 capture, scripts/
// capture-fixtures.sh); in the guest, smoke checks the running module.
TEST(Client, ModuleNamesAreTheClients)
{
	auto f = Client(debugfs("7.2")).features();
	EXPECT_EQ(f.raw.at("modes"), mode_names());
	EXPECT_EQ(f.raw.at("impls"), impl_names());
	EXPECT_EQ(mode_names(), "none resume signal signal_no_ipi");
	EXPECT_EQ(f.raw.at("wake_up_state"), "default_wake_function");
}

TEST(Client, IbtKernelFellBackFromSealedEndbr)
{
	auto f = Client(debugfs("6.12")).features();
	EXPECT_EQ(f.raw.at("ibt"), "yes");
	EXPECT_EQ(f.raw.at("wake_up_state"), "default_wake_function");
	EXPECT_EQ(f.raw.at("wake_up_state_kprobe").substr(0, 8), "no-endbr");
}

// The typed readers the suites use instead of raw lookups.
TEST(Client, FeaturesTypedReaders)
{
	auto f12 = Client(debugfs("6.12")).features();
	EXPECT_TRUE(f12.guarded_indirect_calls()); // ibt yes
	EXPECT_EQ(f12.wake_up_state_via(), "default_wake_function");
	auto f72 = Client(debugfs("7.2")).features();
	EXPECT_EQ(f72.task_work_add_via(), "export");
	EXPECT_FALSE(f72.tick_mm_cid()); // tick_task_work none
	EXPECT_FALSE(f72.notify_cleared_after_work());
	EXPECT_EQ(f72.get("no_such_key"), "");
	auto f510 = Client(debugfs("5.10")).features();
	EXPECT_FALSE(f510.guarded_indirect_calls()); // ibt no
	EXPECT_EQ(f510.wake_up_state_via(), "kprobe");
	auto synth = parse_features("notify_cleared after_work\ntick_task_work mm_cid\nbti yes\n");
	EXPECT_TRUE(synth.notify_cleared_after_work());
	EXPECT_TRUE(synth.tick_mm_cid());
	EXPECT_TRUE(synth.guarded_indirect_calls());
}

TEST(Client, ModeAndImplNamesRoundTrip)
{
	for (auto m : {Mode::None, Mode::Resume, Mode::Signal, Mode::SignalNoIpi})
		EXPECT_EQ(mode_from_string(to_string(m)), m);
	for (auto i : {Impl::Auto, Impl::Native, Impl::Backport})
		EXPECT_EQ(impl_from_string(to_string(i)), i);
	EXPECT_FALSE(mode_from_string("signal_noipi"));
	EXPECT_FALSE(impl_from_string(""));
}

TEST(Client, Cpulist)
{
	EXPECT_EQ(parse_cpulist("1"), (std::vector<int>{1}));
	EXPECT_EQ(parse_cpulist("0-2,5"), (std::vector<int>{0, 1, 2, 5}));
	EXPECT_THROW(parse_cpulist("3-1"), std::runtime_error);
	EXPECT_THROW(parse_cpulist("a"), std::runtime_error);
	EXPECT_THROW(parse_cpulist("1,"), std::runtime_error);
	Features f{parse_key_values("nohz_full 1-3\n")};
	EXPECT_EQ(f.nohz_full(), (std::vector<int>{1, 2, 3}));
	EXPECT_TRUE(Features{parse_key_values("nohz_full unsupported\n")}.nohz_full().empty());
}

TEST(Client, KeyValuesSkipCommentsAndBlankLines)
{
	auto kv = parse_key_values("# comment\n\nqueued 3\r\nwake_up_state_kprobe ok 1f44\n");
	EXPECT_EQ(kv.size(), 2u);
	EXPECT_EQ(kv["queued"], "3");
	EXPECT_EQ(kv["wake_up_state_kprobe"], "ok 1f44");
	EXPECT_EQ(parse_stats("queued x\n").queued(), -1);
}

TEST(Client, MalformedItemsThrow)
{
	EXPECT_THROW(parse_items("1 2 signal auto 1 5 before\n"), std::runtime_error);
	EXPECT_THROW(parse_items("1 2 sig auto 1 5 before 0\n"), std::runtime_error);
	EXPECT_THROW(parse_items("1 2 signal auto 1 5 during 0\n"), std::runtime_error);
	EXPECT_THROW(parse_items("x 2 signal auto 1 5 after 0\n"), std::runtime_error);
	auto ok = parse_items("# header\n7 9 resume native 0 42 after 1\n");
	ASSERT_EQ(ok.size(), 1u);
	EXPECT_TRUE(ok[0].after_mark);
	EXPECT_TRUE(ok[0].exiting);
	EXPECT_EQ(ok[0].latency_ns, 42u);
}

class ClientDir : public ::testing::Test {
protected:
	void SetUp() override
	{
		char tmpl[] = "/tmp/twa-client-XXXXXX";
		ASSERT_NE(mkdtemp(tmpl), nullptr);
		dir = tmpl;
		std::ofstream(dir / "control").flush();
		std::ofstream(dir / "stats") << "run 5\n";
	}
	void TearDown() override { fs::remove_all(dir); }
	fs::path dir;
};

TEST_F(ClientDir, WritesOneCommandPerWrite)
{
	Client c(dir);
	EXPECT_EQ(c.queue(42, Mode::SignalNoIpi, Impl::Backport, 3), 0);
	std::ifstream in(dir / "control");
	std::string line;
	std::getline(in, line);
	EXPECT_EQ(line, "queue tid=42 mode=signal_no_ipi impl=backport count=3");
}

TEST_F(ClientDir, ErrorsAreErrnoValues)
{
	EXPECT_EQ(Client(dir / "missing").mark(), ENOENT);
	EXPECT_THROW(Client(dir / "missing").stats(), std::runtime_error);
	fs::permissions(dir / "control", fs::perms::none);
	if (geteuid() != 0) { // root ignores file modes
		EXPECT_EQ(Client(dir).reset(), EACCES);
	}
}

TEST_F(ClientDir, WaitRunSeesCountOrTimesOut)
{
	Client c(dir);
	EXPECT_TRUE(c.wait_run(5, std::chrono::milliseconds(10)));
	int pokes = 0;
	EXPECT_FALSE(c.wait_run(6, std::chrono::milliseconds(20), [&] { pokes++; }));
	EXPECT_GT(pokes, 0);
}

// "ipis" and "ipi_senders" captured from the module in Debian guests: 6.1
// with today's names, 7.2 with the deprecated ones ("# cpu kick ..." and
// "# count class kind ..." headers, origin "kick").
class CapturedIpis : public ::testing::TestWithParam<std::string> {};

TEST_P(CapturedIpis, ParsesCapturedIpiFiles)
{
	Client c(debugfs(GetParam()));
	auto all = c.ipis();
	ASSERT_EQ(all.size(), 2u);
	auto cpu1 = ipis_for(all, 1);
	EXPECT_EQ(cpu1.cpu, 1);
	EXPECT_GT(cpu1.other(), 0u);
	EXPECT_EQ(cpu1.total(), cpu1.res() + cpu1.cal());
	EXPECT_EQ(ipis_for(all, 7).total(), 0u) << "a CPU without a line counts 0";
	auto senders = c.ipi_senders();
	ASSERT_FALSE(senders.empty());
	std::uint64_t to_cpu1 = 0;
	for (const auto& s : senders) {
		EXPECT_TRUE(s.origin == "kick_ipi" || s.origin == "wake" || s.origin == "other")
		    << s.origin;
		EXPECT_TRUE(s.vector == "res" || s.vector == "cal") << s.vector;
		EXPECT_NE(s.caller.find('+'), std::string::npos) << s.caller;
		if (s.cpu == 1)
			to_cpu1 += s.count;
	}
	// ipi_senders was read after ipis: it has every IPI counted there, and
	// those sent in between (this capture: the read of ipis itself).
	EXPECT_GE(to_cpu1, cpu1.total()) << "every IPI to CPU 1 has its sender";
}

INSTANTIATE_TEST_SUITE_P(Debian, CapturedIpis, ::testing::Values("6.1", "7.2"));

TEST(Client, IpiCountsSubtractAndRejectMalformedLines)
{
	auto a = parse_ipis("1 10 2 3 4 5\n")[0], b = parse_ipis("1 4 1 1 1 1\n")[0];
	auto d = a - b;
	EXPECT_EQ(d.kick_ipi, 6u);
	EXPECT_EQ(d.wake(), 3u);
	EXPECT_EQ(d.other(), 7u);
	EXPECT_THROW(parse_ipis("1 2 3 4 5\n"), std::runtime_error);
	EXPECT_THROW(parse_ipis("1 2 3 4 5 x\n"), std::runtime_error);
	EXPECT_THROW(parse_ipi_senders("x other res 1 f+0x1/0x2\n"), std::runtime_error);
	auto s = parse_ipi_senders("3 kick_ipi res 1 kick_process+0x5e/0x80\n"
	                           "2 other cal 1 f+0x1/0x10 [some_mod]\n"
	                           "1 kick res 1 kick_process+0x5e/0x80\n");
	ASSERT_EQ(s.size(), 3u);
	EXPECT_EQ(s[0].origin, "kick_ipi");
	EXPECT_EQ(s[1].caller, "f+0x1/0x10 [some_mod]");
	EXPECT_EQ(s[2].origin, "kick_ipi") << "the deprecated name, read as today's";
	auto k = parse_ipi_senders("3 kick_ipi res 1 kick_process+0x5e/0x80\n"
	                           "4 other res 1 kick_process+0x5e/0x80\n"
	                           "5 other res 0 kick_process+0x5e/0x80\n"
	                           "6 other res 1 check_preempt_wakeup+0x17b/0x2c0\n");
	EXPECT_EQ(kick_ipis_any_caller(k, 1), 7u) << "kick IPIs to CPU 1 from any caller";
	EXPECT_TRUE(
	    Features{parse_key_values("ipi_count kprobe a b c kick_process\n")}.ipi_count());
	EXPECT_FALSE(Features{parse_key_values("ipi_count unavailable (x)\n")}.ipi_count());
	EXPECT_FALSE(Features{}.ipi_count());
}

// The deadline mode's columns (0.3.0), and the files before them still read.
TEST(Client, DeadlineColumnsAndCommand)
{
	auto items = parse_items("# seq tid mode impl cpu latency_ns mark exiting deadline\n"
	                         "1 9 signal_no_ipi native 1 42 before 0 kicked\n"
	                         "2 9 signal native 1 43 before 0 -\n"
	                         "3 9 signal native 1 44 before 0\n");
	ASSERT_EQ(items.size(), 3u);
	EXPECT_EQ(items[0].deadline, "kicked");
	EXPECT_EQ(items[1].deadline, "-");
	EXPECT_EQ(items[2].deadline, "-");
	EXPECT_THROW(parse_items("1 9 signal native 1 42 before 0 kicked x\n"), std::runtime_error);
	auto a = parse_ipis("1 10 2 3 4 5 7\n")[0], b = parse_ipis("1 4 1 1 1 1\n")[0];
	EXPECT_EQ(a.deadline_kick, 7u);
	EXPECT_EQ((a - b).deadline_kick, 7u);
	EXPECT_EQ(a.ours(), 10u + 5u + 7u);
	EXPECT_EQ(a.res(), 10u + 2u + 4u + 7u);
	EXPECT_THROW(parse_ipis("1 2 3 4 5 6 x\n"), std::runtime_error);
	EXPECT_EQ(queue_command(5, Mode::SignalNoIpi, Impl::Auto, 1, 1000),
	          "queue tid=5 mode=signal_no_ipi impl=auto deadline_us=1000");
	EXPECT_EQ(queue_command(5, Mode::SignalNoIpi, Impl::Native, 3, 0),
	          "queue tid=5 mode=signal_no_ipi impl=native count=3 deadline_us=0");
	auto st = parse_stats("deadline_queued 4\ndeadline_met 1\ndeadline_kicks 2\n"
	                      "deadline_covered 1\ndeadline_kick_ipis_owed 2\n");
	EXPECT_EQ(st.deadline_queued(), 4);
	EXPECT_EQ(st.deadline_met() + st.deadline_kicks() + st.deadline_covered(), 4);
	EXPECT_EQ(st.deadline_kick_ipis_owed(), 2);
}
