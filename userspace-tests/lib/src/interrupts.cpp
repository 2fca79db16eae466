#include "twa/interrupts.hpp"

#include <charconv>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace twa {
namespace {

std::string_view trim(std::string_view s)
{
	while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
		s.remove_prefix(1);
	while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
		s.remove_suffix(1);
	return s;
}

// Next whitespace-separated token of @s, consumed.
std::string_view next_token(std::string_view& s)
{
	s = trim(s);
	auto end = s.find_first_of(" \t");
	auto tok = s.substr(0, end);
	s = end == std::string_view::npos ? std::string_view{} : s.substr(end);
	return tok;
}

bool to_u64(std::string_view tok, std::uint64_t& v)
{
	if (tok.empty())
		return false;
	auto [p, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), v);
	return ec == std::errc{} && p == tok.data() + tok.size();
}

std::vector<int> parse_header(std::string_view line)
{
	std::vector<int> cpus;
	for (auto tok = next_token(line); !tok.empty(); tok = next_token(line)) {
		std::uint64_t n;
		if (tok.substr(0, 3) != "CPU" || !to_u64(tok.substr(3), n))
			throw std::runtime_error("interrupts: bad header token '" +
			                         std::string(tok) + "'");
		cpus.push_back(static_cast<int>(n));
	}
	if (cpus.empty())
		throw std::runtime_error("interrupts: header lists no CPU");
	return cpus;
}

} // namespace

InterruptTable InterruptTable::parse(std::string_view text)
{
	InterruptTable t;
	bool header = false;
	while (!text.empty()) {
		auto nl = text.find('\n');
		auto line = text.substr(0, nl);
		text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
		if (trim(line).empty())
			continue;
		if (!header) {
			t.cpus_ = parse_header(line);
			header = true;
			continue;
		}
		auto colon = line.find(':');
		if (colon == std::string_view::npos)
			continue; // not a counter line: ignore, as the kernel may add some
		std::string name(trim(line.substr(0, colon)));
		auto rest = line.substr(colon + 1);
		std::vector<std::uint64_t> counts;
		while (counts.size() < t.cpus_.size()) {
			auto save = rest;
			std::uint64_t v;
			if (!to_u64(next_token(rest), v)) {
				rest = save;
				break; // description starts here
			}
			counts.push_back(v);
		}
		if (!name.empty() && !counts.empty()) {
			t.rows_[name] = std::move(counts);
			t.descriptions_[name] = std::string(trim(rest));
		}
	}
	if (!header)
		throw std::runtime_error("interrupts: empty input");
	return t;
}

InterruptTable InterruptTable::read(const std::string& path)
{
	std::ifstream in(path);
	if (!in)
		throw std::runtime_error("cannot read " + path);
	std::stringstream ss;
	ss << in.rdbuf();
	return parse(ss.str());
}

std::uint64_t InterruptTable::count(const std::string& name, int cpu) const
{
	auto it = rows_.find(name);
	if (it == rows_.end())
		return 0;
	const auto& v = it->second;
	if (v.size() == 1 && cpus_.size() > 1)
		return v[0]; // a single total (ERR, MIS)
	for (std::size_t i = 0; i < cpus_.size() && i < v.size(); i++)
		if (cpus_[i] == cpu)
			return v[i];
	return 0;
}

std::uint64_t InterruptTable::total(const std::string& name) const
{
	auto it = rows_.find(name);
	std::uint64_t sum = 0;
	if (it != rows_.end())
		for (auto v : it->second)
			sum += v;
	return sum;
}

std::vector<std::string> InterruptTable::names() const
{
	std::vector<std::string> n;
	for (const auto& [k, v] : rows_)
		n.push_back(k);
	return n;
}

std::string InterruptTable::description(const std::string& name) const
{
	auto it = descriptions_.find(name);
	return it == descriptions_.end() ? std::string{} : it->second;
}

namespace {

// Does @desc describe @what? x86 and arm64 (5.10 to 7.x) share the IPI
// lines' texts; the local timer is x86's "Local timer interrupts" and
// arm64's per-CPU "GICv3 27 Level arch_timer" line (its chip and hwirq vary:
// the handler's name at the end is what is constant).
bool describes(std::string_view desc, Irq what)
{
	auto ends_with = [&](std::string_view tail) {
		return desc.size() >= tail.size() && desc.substr(desc.size() - tail.size()) == tail;
	};
	switch (what) {
	case Irq::Reschedule:
		return desc == "Rescheduling interrupts";
	case Irq::FunctionCall:
		return desc == "Function call interrupts";
	case Irq::LocalTimer:
		return desc == "Local timer interrupts" || ends_with(" arch_timer");
	}
	return false;
}

} // namespace

const char* to_string(Irq what)
{
	switch (what) {
	case Irq::Reschedule:
		return "rescheduling IPIs";
	case Irq::FunctionCall:
		return "function call IPIs";
	case Irq::LocalTimer:
		return "local timer interrupts";
	}
	return "?";
}

const std::string& InterruptTable::line(Irq what) const
{
	const std::string* found = nullptr;
	for (const auto& [name, desc] : descriptions_) {
		if (!describes(desc, what))
			continue;
		if (found != nullptr)
			throw std::runtime_error(std::string("interrupts: two lines count ") +
			                         to_string(what) + ": " + *found + " and " + name);
		found = &name;
	}
	if (found == nullptr)
		throw std::runtime_error(std::string("interrupts: no line counts ") +
		                         to_string(what) + " (a kernel that renamed it?)");
	return *found;
}

std::uint64_t delta(const InterruptTable& before, const InterruptTable& after, int cpu,
                    const std::vector<std::string>& names)
{
	std::uint64_t d = 0;
	for (const auto& n : names) {
		auto a = after.count(n, cpu), b = before.count(n, cpu);
		d += a >= b ? a - b : 0;
	}
	return d;
}

std::uint64_t ipi_delta(const InterruptTable& before, const InterruptTable& after, int cpu)
{
	return delta(before, after, cpu,
	             {after.line(Irq::Reschedule), after.line(Irq::FunctionCall)});
}

} // namespace twa
