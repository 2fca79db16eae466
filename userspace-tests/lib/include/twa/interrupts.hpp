// /proc/interrupts parser: per-CPU counts for every line (RES, CAL, ...).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace twa {

class InterruptTable {
public:
	// CPU numbers of the columns, from the header ("CPU0 CPU2" if CPU1 is
	// offline).
	const std::vector<int>& cpus() const { return cpus_; }
	bool has(const std::string& name) const { return rows_.count(name) != 0; }
	// Count of line @name on CPU @cpu; 0 if the line or the CPU is absent
	// (lines such as ERR and MIS carry a single total, reported for any CPU).
	std::uint64_t count(const std::string& name, int cpu) const;
	// Sum over all CPUs of line @name.
	std::uint64_t total(const std::string& name) const;
	std::vector<std::string> names() const;

	static InterruptTable parse(std::string_view text);
	static InterruptTable read(const std::string& path = "/proc/interrupts");

private:
	std::vector<int> cpus_;
	std::map<std::string, std::vector<std::uint64_t>> rows_;
};

// Interrupts of the given lines that CPU @cpu received between two reads.
std::uint64_t delta(const InterruptTable& before, const InterruptTable& after, int cpu,
                    const std::vector<std::string>& names);

} // namespace twa
