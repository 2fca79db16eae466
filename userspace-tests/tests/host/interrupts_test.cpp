#include "twa/interrupts.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

using twa::InterruptTable;

namespace {
std::string fixture(const std::string& name)
{
	return std::string(TWA_FIXTURES) + "/interrupts/" + name;
}
} // namespace

class GuestCapture : public ::testing::TestWithParam<std::string> {};

// Captured from Debian guests under QEMU (scripts/capture-fixtures.sh).
TEST_P(GuestCapture, HasTwoCpusAndIpiLines)
{
	auto t = InterruptTable::read(fixture(GetParam()));
	ASSERT_EQ(t.cpus(), (std::vector<int>{0, 1}));
	EXPECT_TRUE(t.has("RES"));
	EXPECT_TRUE(t.has("CAL"));
	EXPECT_TRUE(t.has("LOC"));
	EXPECT_GT(t.total("RES"), 0u);
	EXPECT_GT(t.total("LOC"), 0u);
	// Numbers in descriptions ("2-edge", "IO-APIC") are not counts.
	EXPECT_EQ(t.count("0", 0) + t.count("0", 1), t.total("0"));
	// The IPI lines, found by what they count.
	EXPECT_EQ(t.line(twa::Irq::Reschedule), "RES");
	EXPECT_EQ(t.line(twa::Irq::FunctionCall), "CAL");
	EXPECT_EQ(t.line(twa::Irq::LocalTimer), "LOC");
	EXPECT_EQ(t.description("RES"), "Rescheduling interrupts");
}

INSTANTIATE_TEST_SUITE_P(Debian, GuestCapture,
                         ::testing::Values("5.10-2cpu.txt", "6.1-2cpu.txt", "6.12-2cpu.txt",
                                           "7.2-2cpu.txt", "host-6.18-2cpu.txt"));

class ArmCapture : public ::testing::TestWithParam<std::string> {};

// Captured from Debian's arm64 kernels (bullseye 5.10.0-32, bookworm
// 6.1.0-57, sid 7.2.13+deb14) under qemu-system-aarch64 -M virt -cpu max
// -smp 2 (TCG), by a busybox init that printed /proc/interrupts. arm64 has
// no RES/CAL/LOC: its IPIs are IPI0..IPIn and its tick an arch_timer IRQ.
TEST_P(ArmCapture, FindsTheIpiLinesByWhatTheyCount)
{
	auto t = InterruptTable::read(fixture(GetParam()));
	ASSERT_EQ(t.cpus(), (std::vector<int>{0, 1}));
	EXPECT_FALSE(t.has("RES"));
	EXPECT_EQ(t.line(twa::Irq::Reschedule), "IPI0");
	EXPECT_EQ(t.line(twa::Irq::FunctionCall), "IPI1");
	EXPECT_EQ(t.line(twa::Irq::LocalTimer), "11");
	EXPECT_GT(t.total("IPI0"), 0u);
	EXPECT_GT(t.total("11"), 0u);
	EXPECT_EQ(t.count("Err", 1), 0u); // a single total
}

INSTANTIATE_TEST_SUITE_P(DebianArm64, ArmCapture,
                         ::testing::Values("arm64-5.10-2cpu.txt", "arm64-6.1-2cpu.txt",
                                           "arm64-7.2-2cpu.txt"));

// The rows after IPI1 moved between 5.10 and 7.2: a position says nothing.
TEST(Interrupts, Arm64RowsAreRenumberedAcrossVersions)
{
	auto old = InterruptTable::read(fixture("arm64-5.10-2cpu.txt"));
	auto now = InterruptTable::read(fixture("arm64-7.2-2cpu.txt"));
	EXPECT_EQ(old.description("IPI6"), "CPU wake-up interrupts");
	EXPECT_EQ(now.description("IPI6"), "CPU backtrace interrupts");
	EXPECT_FALSE(old.has("IPI7"));
	EXPECT_EQ(now.description("IPI7"), "KGDB roundup interrupts");
	auto t = InterruptTable::read(fixture("arm64-6.1-2cpu.txt"));
	EXPECT_EQ(t.count("IPI0", 0), 5u);
	EXPECT_EQ(t.count("IPI0", 1), 41u);
	EXPECT_EQ(t.count("IPI1", 1), 287u);
}

TEST(Interrupts, Debian510ExactValues)
{
	auto t = InterruptTable::read(fixture("5.10-2cpu.txt"));
	EXPECT_EQ(t.count("RES", 0), 230u);
	EXPECT_EQ(t.count("RES", 1), 236u);
	EXPECT_EQ(t.count("CAL", 0), 62u);
	EXPECT_EQ(t.count("CAL", 1), 35u);
	EXPECT_EQ(t.count("ERR", 0), 0u);
}

TEST(Interrupts, EightCpus)
{
	auto t = InterruptTable::read(fixture("6.1-8cpu.txt"));
	ASSERT_EQ(t.cpus().size(), 8u);
	EXPECT_EQ(t.cpus().back(), 7);
	EXPECT_EQ(t.count("1", 3), 9u); // i8042 fired on CPU3 in the capture
	EXPECT_EQ(t.count("1", 0), 0u);
	EXPECT_TRUE(t.has("RES"));
}

TEST(Interrupts, OfflineCpuColumnsAndOddLines)
{
	auto t = InterruptTable::read(fixture("synthetic-offline-cpu1.txt"));
	EXPECT_EQ(t.cpus(), (std::vector<int>{0, 2, 3}));
	EXPECT_EQ(t.count("RES", 2), 200u);
	EXPECT_EQ(t.count("RES", 1), 0u); // offline: no column
	EXPECT_EQ(t.count("CAL", 3), 30u);
	EXPECT_EQ(t.count("11", 3), 9u);
	EXPECT_EQ(t.count("ERR", 2), 4u); // single total
	EXPECT_FALSE(t.has("this line has no colon and is ignored"));
}

TEST(Interrupts, DeltaSumsLinesAndNeverGoesNegative)
{
	auto a = InterruptTable::parse("  CPU0 CPU1\nRES: 1 10 x\nCAL: 2 20 y\n");
	auto b = InterruptTable::parse("  CPU0 CPU1\nRES: 1 15 x\nCAL: 2 19 y\n");
	EXPECT_EQ(twa::delta(a, b, 1, {"RES"}), 5u);
	EXPECT_EQ(twa::delta(a, b, 1, {"RES", "CAL"}), 5u); // CAL went down: 0
	EXPECT_EQ(twa::delta(a, b, 0, {"RES", "CAL", "NOPE"}), 0u);
}

TEST(Interrupts, ShortRowsAndCrlf)
{
	auto t = InterruptTable::parse(
	    "           CPU0       CPU1\r\nRES:   7\r\nCAL: 1 2 Function\r\n");
	EXPECT_EQ(t.count("CAL", 1), 2u);
	EXPECT_EQ(t.count("RES", 1), 7u); // one value: treated as a total
}

// A kernel that renames a line must fail the count, not read as 0.
TEST(Interrupts, RenamedOrDoubledIpiLineThrows)
{
	auto renamed = InterruptTable::parse("  CPU0 CPU1\nRES: 1 2 Reschedule IPIs\n"
	                                     "CAL: 3 4 Function call interrupts\n");
	EXPECT_THROW((void)renamed.line(twa::Irq::Reschedule), std::runtime_error);
	EXPECT_EQ(renamed.line(twa::Irq::FunctionCall), "CAL");
	EXPECT_THROW(twa::ipi_delta(renamed, renamed, 1), std::runtime_error);
	auto doubled = InterruptTable::parse("  CPU0 CPU1\nRES: 1 2 Rescheduling interrupts\n"
	                                     "IPI0: 3 4 Rescheduling interrupts\n");
	EXPECT_THROW((void)doubled.line(twa::Irq::Reschedule), std::runtime_error);
	EXPECT_THROW((void)doubled.line(twa::Irq::LocalTimer), std::runtime_error);
}

TEST(Interrupts, IpiDeltaSumsBothIpiLines)
{
	auto a = InterruptTable::parse("  CPU0 CPU1\nRES: 1 10 Rescheduling interrupts\n"
	                               "CAL: 2 20 Function call interrupts\n"
	                               "TLB: 0 0 TLB shootdowns\n");
	auto b = InterruptTable::parse("  CPU0 CPU1\nRES: 1 15 Rescheduling interrupts\n"
	                               "CAL: 2 23 Function call interrupts\n"
	                               "TLB: 0 9 TLB shootdowns\n");
	EXPECT_EQ(twa::ipi_delta(a, b, 1), 8u);
}

TEST(Interrupts, MalformedInputThrows)
{
	EXPECT_THROW(InterruptTable::parse(""), std::runtime_error);
	EXPECT_THROW(InterruptTable::parse("\n\n"), std::runtime_error);
	EXPECT_THROW(InterruptTable::parse("CPU0 GPU1\nRES: 1 2\n"), std::runtime_error);
	EXPECT_THROW(InterruptTable::parse("CPUx\n"), std::runtime_error);
	EXPECT_THROW(InterruptTable::read("/nonexistent/interrupts"), std::runtime_error);
}

TEST(Interrupts, ReadsThisMachine)
{
	auto t = InterruptTable::read();
	EXPECT_FALSE(t.cpus().empty());
	EXPECT_FALSE(t.names().empty());
}
