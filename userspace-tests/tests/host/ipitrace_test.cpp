#include "twa/ipitrace.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

using namespace twa;

namespace {

std::string fixture(const std::string& name)
{
	std::ifstream f(std::string(TWA_FIXTURES) + "/ipitrace/" + name);
	std::stringstream ss;
	ss << f.rdbuf();
	EXPECT_FALSE(ss.str().empty()) << name;
	return ss.str();
}

IpiTraceTotals both()
{
	IpiTraceTotals t;
	add_ipi_hist(t, "ipi_send_cpu", fixture("ipi_send_cpu.hist"));
	add_ipi_hist(t, "ipi_send_cpumask", fixture("ipi_send_cpumask.hist"));
	return t;
}

} // namespace

// The hist files' shape: one "{ callsite: [addr] sym , callback: [addr] sym }
// hitcount: N" line per entry, "sym [module]" for a module's symbol.
TEST(IpiHist, ReadsCallSitesAndCallbacks)
{
	auto t = both();
	ASSERT_EQ(t.sites.size(), 5u);
	EXPECT_EQ(t.total(), 1022u);
	const IpiTraceSite* mod = nullptr;
	for (const auto& s : t.sites)
		if (s.callsite == "twa_set_notify_signal [twa_noipi]")
			mod = &s;
	ASSERT_NE(mod, nullptr);
	EXPECT_EQ(mod->callback, "0x0");
	EXPECT_EQ(mod->count, 3u);
	EXPECT_EQ(mod->event, "ipi_send_cpu");
}

// Reschedule: no callback (before 6.10) or scheduler_ipi; kick IPIs: those
// sent from the native task_work_add() or the module (kick_process()'s
// caller), not the scheduler's own.
TEST(IpiHist, ClassifiesVectorsAndKicks)
{
	auto t = both();
	EXPECT_EQ(t.res(), 3u + 998u + 12u);
	EXPECT_EQ(t.cal(), 7u + 2u);
	EXPECT_EQ(t.kick_ipis(), 3u + 998u);
}

TEST(IpiHist, DifferenceKeepsOnlyTheWindow)
{
	IpiTraceTotals before;
	add_ipi_hist(before, "ipi_send_cpu",
	             "{ callsite: [ffffffff9a6a3e31] task_work_add , callback: [0] 0x0 } "
	             "hitcount: 100\n");
	IpiTraceTotals after;
	add_ipi_hist(after, "ipi_send_cpu",
	             "{ callsite: [ffffffff9a6a3e31] task_work_add , callback: [0] 0x0 } "
	             "hitcount: 130\n"
	             "{ callsite: [ffffffff9a6d70b2] resched_curr , callback: [0] 0x0 } "
	             "hitcount: 4\n");
	auto d = after - before;
	EXPECT_EQ(d.total(), 34u);
	EXPECT_EQ(d.kick_ipis(), 30u);
	EXPECT_TRUE((before - before).sites.empty());
	EXPECT_TRUE(IpiTraceTotals{}.sites.empty());
}
