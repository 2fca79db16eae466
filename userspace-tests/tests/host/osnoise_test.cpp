#include "twa/osnoise.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

using namespace twa;

namespace {

std::string fixture(const std::string& name)
{
	std::ifstream f(std::string(TWA_FIXTURES) + "/osnoise/" + name);
	std::stringstream ss;
	ss << f.rdbuf();
	EXPECT_FALSE(ss.str().empty()) << name;
	return ss.str();
}

const OsnoiseSource* find(const OsnoiseTotals& t, const std::string& cls, const std::string& name)
{
	for (const auto& s : t.sources)
		if (s.cls == cls && s.name == name)
			return &s;
	return nullptr;
}

} // namespace

// Captured from 7.2.13+deb14-rt-amd64 in the test guest.
TEST(ParseHist, ReadsKeysHitcountsAndSums)
{
	auto e = parse_hist(fixture("rt-7.2-irq_noise.hist"));
	ASSERT_EQ(e.size(), 3u);
	ASSERT_NE(e[0].key("desc"), nullptr);
	EXPECT_EQ(*e[0].key("desc"), "reschedule");
	EXPECT_EQ(e[0].hitcount, 6u);
	EXPECT_EQ(e[0].duration, 39799u);
	EXPECT_EQ(e[0].key("comm"), nullptr);
	auto t = parse_hist(fixture("rt-7.2-thread_noise.hist"));
	ASSERT_EQ(t.size(), 12u);
	EXPECT_EQ(*t[1].key("comm"), "kworker/1:1");
	EXPECT_EQ(*t[1].key("pid"), "41");
	EXPECT_TRUE(parse_hist(fixture("rt-7.2-softirq_noise-empty.hist")).empty());
}

TEST(AddHist, NamesSourcesAndSkipsTheTargetAndIdle)
{
	OsnoiseTotals t;
	add_hist(t, "irq", fixture("rt-7.2-irq_noise.hist"), {});
	add_hist(t, "thread", fixture("rt-7.2-thread_noise.hist"), {0, 145});
	ASSERT_NE(find(t, "irq", "local_timer"), nullptr);
	EXPECT_EQ(find(t, "irq", "local_timer")->count, 109u);
	EXPECT_EQ(find(t, "thread", "swapper/1"), nullptr); // pid 0
	EXPECT_EQ(find(t, "thread", "sh"), nullptr);        // pid 145
	// Two pids under one comm ("exe" 144 and 145): 145 is skipped.
	ASSERT_NE(find(t, "thread", "exe"), nullptr);
	EXPECT_EQ(find(t, "thread", "exe")->ns, 4394906u);
	EXPECT_EQ(t.count(), 124u + 61u - 5u - 18u - 1u);
}

TEST(AddHist, NamesSoftirqVectors)
{
	OsnoiseTotals t;
	add_hist(t, "softirq",
	         "{ vector:          7 } hitcount:          2  duration:       900\n"
	         "{ vector:         42 } hitcount:          1  duration:       100\n",
	         {});
	ASSERT_NE(find(t, "softirq", "SCHED"), nullptr);
	EXPECT_EQ(find(t, "softirq", "SCHED")->ns, 900u);
	EXPECT_NE(find(t, "softirq", "42"), nullptr);
}

TEST(OsnoiseTotals, DifferenceKeepsOnlyWhatHappenedInTheWindow)
{
	OsnoiseTotals before{{{"irq", "local_timer", 10, 1000}, {"irq", "reschedule", 5, 50}}};
	OsnoiseTotals after{{{"irq", "local_timer", 12, 1300},
	                     {"irq", "reschedule", 5, 50},
	                     {"thread", "ktimers/1", 1, 70}}};
	auto d = after - before;
	ASSERT_EQ(d.sources.size(), 2u);
	EXPECT_EQ(find(d, "irq", "local_timer")->count, 2u);
	EXPECT_EQ(find(d, "irq", "local_timer")->ns, 300u);
	EXPECT_EQ(find(d, "thread", "ktimers/1")->ns, 70u);
	EXPECT_EQ(d.count(), 3u);
	EXPECT_EQ(d.ns(), 370u);
}
