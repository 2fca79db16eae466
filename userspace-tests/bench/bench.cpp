// twa-bench: what NO_IPI saves and what it costs, on the running kernel.
// Runs in the test guest with the module loaded. Reports figures as JSON
// lines in $TWA_OUT/bench.jsonl (stdout without TWA_OUT), which the guest's
// init carries to the host for the report; progress goes to the console.
// Asserts nothing.
#include "twa/client.hpp"
#include "twa/cpu.hpp"
#include "twa/interrupts.hpp"
#include "twa/ipitrace.hpp"
#include "twa/measure.hpp"
#include "twa/noise.hpp"
#include "twa/osnoise.hpp"
#include "twa/uring.hpp"

#include <fcntl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace twa;
using namespace std::chrono_literals;

namespace {

struct Options {
	int items = 1000;
	int ops = 1000;
	std::vector<std::string> targets{"spinner", "sleeper"};
	bool uring = true;
	// Offered rates of the sweep, items per second; 0: back to back.
	std::vector<double> rates{100, 1000, 10000, 100000, 0};
	double sweep_seconds = 1.0;
	bool sweep = true;
	// Under TCG a kick's whole round trip (entry, IPI, task_work, exit)
	// often takes under 5 us of the guest's clock: at 1 us each kick to a
	// spinner is one interruption.
	double noise_threshold_us = 1.0;
	// The producer's CPU and the target's (make bench picks two cores).
	int queue_cpu = 0;
	int target_cpu = 1;
	double baseline_seconds = 0.5;
	// Every scenario, sweep point and ring setup is measured once per
	// round, modes and impls interleaved inside a round; round 0, the
	// warm-up (fewer items, shorter windows), is reported and dropped.
	int rounds = 10;
	bool warmup = true;
	int warmup_items = 20;
	// The deadline frontier: signal_no_ipi with each deadline (us; -1: none,
	// plain signal_no_ipi; 0: as signal) at each offered rate (0: back to
	// back), for frontier_seconds each, in the first frontier_rounds rounds
	// (not the warm-up): 18 points a round cost about 10 s under TCG.
	std::vector<double> deadlines_us{0, 50, 500, 2000, 10000, -1};
	std::vector<double> frontier_rates{1000, 10000, 0};
	double frontier_seconds = 0.25;
	int frontier_rounds = 5;
	bool frontier = true;
};

// Which round a measurement belongs to: 0 is the warm-up.
struct Round {
	int n = 1;
	int of = 1;
	bool warmup() const { return n == 0; }
	std::string json() const
	{
		return ",\"round\":" + std::to_string(n) +
		       ",\"warmup\":" + (warmup() ? "true" : "false");
	}
	std::string name() const
	{
		return warmup() ? std::string("warm-up")
		                : "round " + std::to_string(n) + "/" + std::to_string(of);
	}
};

void usage(std::FILE* f)
{
	std::fprintf(f,
	             "usage: twa-bench [--items N] [--ops N] [--targets spinner,sleeper,nohz]"
	             " [--no-uring] [--no-sweep] [--rates R,R,...] [--sweep-seconds S]"
	             " [--noise-threshold-us U] [--baseline-seconds S] [--rounds R] [--no-warmup]"
	             " [--warmup-items N] [--no-frontier] [--deadlines D,D,...|none]"
	             " [--frontier-rates R,R,...] [--frontier-seconds S] [--frontier-rounds R]"
	             " [--queue-cpu N] [--target-cpu N]\n");
}

std::vector<std::string> split(const std::string& s, char sep)
{
	std::vector<std::string> out;
	std::stringstream ss(s);
	for (std::string part; std::getline(ss, part, sep);)
		if (!part.empty())
			out.push_back(part);
	return out;
}

bool parse_args(int argc, char** argv, Options& o)
{
	for (int i = 1; i < argc; i++) {
		std::string a = argv[i];
		auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
		const char* v = nullptr;
		if (a == "--items" && (v = next()))
			o.items = std::atoi(v);
		else if (a == "--ops" && (v = next()))
			o.ops = std::atoi(v);
		else if (a == "--targets" && (v = next()))
			o.targets = split(v, ',');
		else if (a == "--no-uring")
			o.uring = false;
		else if (a == "--no-sweep")
			o.sweep = false;
		else if (a == "--no-frontier")
			o.frontier = false;
		else if (a == "--deadlines" && (v = next())) {
			o.deadlines_us.clear();
			for (const auto& d : split(v, ','))
				o.deadlines_us.push_back(d == "none" ? -1 : std::atof(d.c_str()));
		} else if (a == "--frontier-rates" && (v = next())) {
			o.frontier_rates.clear();
			for (const auto& r : split(v, ','))
				o.frontier_rates.push_back(std::atof(r.c_str()));
		} else if (a == "--frontier-seconds" && (v = next()))
			o.frontier_seconds = std::atof(v);
		else if (a == "--frontier-rounds" && (v = next()))
			o.frontier_rounds = std::atoi(v);
		else if (a == "--rates" && (v = next())) {
			o.rates.clear();
			for (const auto& r : split(v, ','))
				o.rates.push_back(std::atof(r.c_str()));
		} else if (a == "--sweep-seconds" && (v = next()))
			o.sweep_seconds = std::atof(v);
		else if (a == "--noise-threshold-us" && (v = next()))
			o.noise_threshold_us = std::atof(v);
		else if (a == "--baseline-seconds" && (v = next()))
			o.baseline_seconds = std::atof(v);
		else if (a == "--rounds" && (v = next()))
			o.rounds = std::atoi(v);
		else if (a == "--no-warmup")
			o.warmup = false;
		else if (a == "--warmup-items" && (v = next()))
			o.warmup_items = std::atoi(v);
		else if (a == "--queue-cpu" && (v = next()))
			o.queue_cpu = std::atoi(v);
		else if (a == "--target-cpu" && (v = next()))
			o.target_cpu = std::atoi(v);
		else
			return false;
	}
	bool rates_ok =
	    std::all_of(o.rates.begin(), o.rates.end(), [](double r) { return r >= 0; });
	rates_ok = rates_ok && std::all_of(o.frontier_rates.begin(), o.frontier_rates.end(),
	                                   [](double r) { return r >= 0; });
	// A deadline is whole us up to the module's 10 s, or none (-1).
	bool deadlines_ok = std::all_of(o.deadlines_us.begin(), o.deadlines_us.end(), [](double d) {
		return d == -1 || (d >= 0 && d <= 10e6 && d == std::floor(d));
	});
	return o.items > 0 && o.ops > 0 && !o.targets.empty() && rates_ok && o.sweep_seconds > 0 &&
	       o.noise_threshold_us > 0 && o.rounds > 0 && o.warmup_items > 0 &&
	       o.baseline_seconds > 0 && deadlines_ok && o.frontier_seconds > 0 &&
	       o.frontier_rounds > 0;
}

std::FILE* console()
{
	static std::FILE* f = [] {
		std::FILE* c = std::fopen("/dev/console", "w");
		return c ? c : stderr;
	}();
	return f;
}

// Each line says how long the bench has run: what each part costs.
void progress(const std::string& msg)
{
	static const auto t0 = std::chrono::steady_clock::now();
	double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
	std::fprintf(console(), "twa-bench: [%.1fs] %s\n", s, msg.c_str());
	std::fflush(console());
}

std::string json_str(const std::string& s)
{
	std::string out = "\"";
	for (char c : s) {
		if (c == '"' || c == '\\')
			out += '\\';
		if (static_cast<unsigned char>(c) >= 0x20)
			out += c;
	}
	return out + "\"";
}

// The guest harness collects files left in $TWA_OUT.
FILE* results()
{
	static FILE* f = [] {
		const char* dir = std::getenv("TWA_OUT");
		FILE* r =
		    dir ? std::fopen((std::string(dir) + "/bench.jsonl").c_str(), "w") : nullptr;
		return r ? r : stdout;
	}();
	return f;
}

void emit(const std::string& json)
{
	std::fprintf(results(), "%s\n", json.c_str());
	std::fflush(results());
}

// How a scenario waits for its items and what counts as the target's
// "next syscall".
struct Target {
	std::string name;
	pid_t tid = 0;
	std::function<void()> poke;  // make the target enter the kernel
	std::function<void()> flush; // make it run even TWA_NONE work
	std::string poke_how;
	std::string flush_how;
	bool marks = false; // poke writes "mark": ran_before_syscall is meaningful
	std::atomic<bool> self_signal{false};   // spinner: next syscall is raise(SIGUSR1)
	std::unique_ptr<NoiseMeter> noise;      // spinners: what the target loses
	std::unique_ptr<OsnoiseTracer> osnoise; // spinners, where the kernel has it
	std::unique_ptr<Spinner> spinner;
	std::unique_ptr<Sleeper> sleeper;
	std::unique_ptr<ControlFile> control; // spinners: the mark's fd
	// Noise with nothing queued, per second of wall time.
	double base_count_per_s = 0, base_ns_per_s = 0;
	double base_osn_count_per_s = 0, base_osn_ns_per_s = 0;
	// The tracer's noise so far; the target's own run time and the idle
	// task's are not noise to it.
	OsnoiseTotals osn_totals() const
	{
		return osnoise ? osnoise->totals({0, tid}) : OsnoiseTotals{};
	}
};

double ns_of(std::uint64_t cyc) { return static_cast<double>(cyc) / cycles_per_ns(); }
double seconds_since(std::chrono::steady_clock::time_point t0)
{
	return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// What the target lost over a window of @seconds beyond its baseline:
// interruptions and nanoseconds (never below zero).
struct Lost {
	double count = 0, ns = 0;
	std::uint64_t raw_count = 0;
	double raw_ns = 0;
};
Lost lost_beyond_baseline(const Target& t, const NoiseTotals& d, double seconds)
{
	Lost l;
	l.raw_count = d.count;
	l.raw_ns = ns_of(d.cycles);
	l.count = std::max(0.0, static_cast<double>(d.count) - t.base_count_per_s * seconds);
	l.ns = std::max(0.0, l.raw_ns - t.base_ns_per_s * seconds);
	return l;
}

// The target's noise with nothing queued: the tick, the host's own
// interruptions of the vCPU, anything else. Measured right before each
// scenario and sweep series (@before names it), as the host's share of
// the vCPU drifts; subtracted from that scenario's windows.
void measure_baseline(Target& t, const std::string& before, const Options& o, const Round& rd)
{
	auto n0 = t.noise->totals();
	auto osn0 = t.osn_totals();
	auto t0 = std::chrono::steady_clock::now();
	std::this_thread::sleep_for(std::chrono::duration<double>(o.baseline_seconds));
	double sec = seconds_since(t0);
	auto d = t.noise->totals() - n0;
	auto osn = t.osn_totals() - osn0;
	t.base_count_per_s = static_cast<double>(d.count) / sec;
	t.base_ns_per_s = ns_of(d.cycles) / sec;
	t.base_osn_count_per_s = static_cast<double>(osn.count()) / sec;
	t.base_osn_ns_per_s = static_cast<double>(osn.ns()) / sec;
	std::ostringstream j;
	j << "{\"kind\":\"noise_baseline\",\"target\":" << json_str(t.name)
	  << ",\"before\":" << json_str(before) << rd.json() << ",\"seconds\":" << sec
	  << ",\"threshold_ns\":" << o.noise_threshold_us * 1000.0
	  << ",\"cycles_per_ns\":" << cycles_per_ns()
	  << ",\"interruptions_per_s\":" << t.base_count_per_s
	  << ",\"lost_ns_per_s\":" << t.base_ns_per_s;
	if (t.osnoise)
		j << ",\"osnoise_per_s\":{\"count\":" << t.base_osn_count_per_s
		  << ",\"ns\":" << t.base_osn_ns_per_s << "}";
	j << "}";
	emit(j.str());
	progress(t.name + " baseline, " + rd.name() + ", before " + before + ": " +
	         std::to_string(std::lround(t.base_count_per_s)) + " interruptions/s, " +
	         std::to_string(std::lround(t.base_ns_per_s / 1000.0)) + " us lost/s");
}

// The kernel's attribution beside ours, where it has the osnoise tracer.
void start_osnoise(Target& t)
{
	std::string why;
	t.osnoise = OsnoiseTracer::start(target_cpu(), why);
	std::ostringstream j;
	j << "{\"kind\":\"osnoise\",\"target\":" << json_str(t.name)
	  << ",\"available\":" << (t.osnoise ? "true" : "false")
	  << ",\"why\":" << (t.osnoise ? "null" : json_str(why)) << "}";
	emit(j.str());
	progress(t.name + ": osnoise tracer " +
	         (t.osnoise ? "on CPU " + std::to_string(target_cpu()) : "not used: " + why));
}

// The tracer's account of a window of @seconds: raw sums by source, and per
// item beyond its baseline.
std::string osnoise_json(const Target& t, const OsnoiseTotals& d, double seconds, double items)
{
	if (!t.osnoise)
		return "null";
	double n = items > 0 ? items : 1;
	double count =
	    std::max(0.0, static_cast<double>(d.count()) - t.base_osn_count_per_s * seconds);
	double ns = std::max(0.0, static_cast<double>(d.ns()) - t.base_osn_ns_per_s * seconds);
	std::ostringstream j;
	j << "{\"count\":" << d.count() << ",\"ns\":" << d.ns()
	  << ",\"count_per_item\":" << count / n << ",\"ns_per_item\":" << std::lround(ns / n)
	  << ",\"sources\":[";
	for (std::size_t i = 0; i < d.sources.size(); i++)
		j << (i ? "," : "") << "{\"class\":" << json_str(d.sources[i].cls)
		  << ",\"name\":" << json_str(d.sources[i].name)
		  << ",\"count\":" << d.sources[i].count << ",\"ns\":" << d.sources[i].ns << "}";
	return j.str() + "]}";
}

// The kernel's IPI tracepoints (6.4+), set once before any target runs on
// CPU 1 (their text is patched then, never under a spinner) and kept until
// the end: a third count beside the kprobes and /proc/interrupts.
std::unique_ptr<IpiTracer>& ipi_tracer()
{
	static std::unique_ptr<IpiTracer> t;
	return t;
}
IpiTraceTotals ipitrace_totals()
{
	return ipi_tracer() ? ipi_tracer()->totals() : IpiTraceTotals{};
}

// What the tracepoints counted over a window: IPIs to CPU 1, by vector, the
// kick IPIs (reschedule IPIs from the caller of kick_process(): the native
// task_work_add() or the module), and by call site.
std::string ipitrace_json(const IpiTraceTotals& d)
{
	if (!ipi_tracer())
		return "null";
	std::ostringstream j;
	j << "{\"total\":" << d.total() << ",\"res\":" << d.res() << ",\"cal\":" << d.cal()
	  << ",\"kick_ipi\":" << d.kick_ipis() << ",\"sites\":[";
	for (std::size_t i = 0; i < d.sites.size(); i++)
		j << (i ? "," : "") << "{\"event\":" << json_str(d.sites[i].event)
		  << ",\"callsite\":" << json_str(d.sites[i].callsite)
		  << ",\"callback\":" << json_str(d.sites[i].callback)
		  << ",\"count\":" << d.sites[i].count << "}";
	return j.str() + "]}";
}

// The CPU the guest sees ("model name" in /proc/cpuinfo; under QEMU's
// -cpu max, QEMU's name for it).
std::string cpu_model()
{
	std::FILE* f = std::fopen("/proc/cpuinfo", "r");
	if (!f)
		return "";
	char line[512];
	std::string model;
	while (model.empty() && std::fgets(line, sizeof(line), f)) {
		std::string l = line;
		if (l.rfind("model name", 0) == 0 || l.rfind("CPU part", 0) == 0) {
			auto colon = l.find(':');
			if (colon != std::string::npos)
				model = l.substr(colon + 1);
		}
	}
	std::fclose(f);
	auto b = model.find_first_not_of(" \t");
	auto e = model.find_last_not_of(" \t\n");
	return b == std::string::npos ? "" : model.substr(b, e - b + 1);
}

std::unique_ptr<Target> make_target(const std::string& name, const Client& c, const Options& o)
{
	auto t = std::make_unique<Target>();
	t->name = name;
	if (name == "sleeper") {
		t->sleeper = std::make_unique<Sleeper>(target_cpu());
		t->tid = t->sleeper->tid();
	} else {
		// The mark is one write() on an open fd: the kernel exit that runs
		// flagged work comes right after the mark (an open() would
		// already be one).
		t->control = std::make_unique<ControlFile>(c);
		const ControlFile* control = t->control.get();
		Target* tp = t.get();
		// The tracer patches kernel text (its tracepoints' jump labels,
		// the hist triggers): before the spinner runs on the target CPU,
		// never under it. Under multi-threaded TCG a vCPU can run a
		// stale int3 that another vCPU's text_poke_bp() has already
		// removed: "Oops: int3" at ttwu_do_activate+0x8c on rt-7.x.
		start_osnoise(*t);
		t->noise = std::make_unique<NoiseMeter>(
		    static_cast<std::uint64_t>(o.noise_threshold_us * 1000.0 * cycles_per_ns()));
		// A signal to itself sends no IPI and runs task_work in
		// get_signal(): the spinner's way to run TWA_NONE work.
		t->spinner = std::make_unique<Spinner>(
		    target_cpu(),
		    [control, tp, &c] {
			    if (tp->self_signal.load())
				    poke_thread(gettid_now());
			    else if (control->write("mark") != 0)
				    c.mark();
		    },
		    t->noise.get());
		t->tid = t->spinner->tid();
		Spinner* sp = t->spinner.get();
		t->poke = [tp, sp] {
			tp->self_signal = false;
			sp->make_syscall();
		};
		t->flush = [tp, sp] {
			tp->self_signal = true;
			sp->make_syscall();
		};
		t->poke_how = "target's write() syscall";
		t->flush_how = "target signals itself";
		t->marks = true;
	}
	if (!t->poke) {
		// The sleeper enters the kernel when woken: a signal from CPU 0,
		// whose wake IPI is counted with the item's.
		pid_t tid = t->tid;
		t->poke = t->flush = [tid] { poke_thread(tid); };
		t->poke_how = t->flush_how =
		    "SIGUSR1 from CPU " + std::to_string(queue_cpu()) + " (wakes it)";
	}
	std::this_thread::sleep_for(20ms);
	if (name == "nohz")
		std::this_thread::sleep_for(200ms); // let the tick stop
	return t;
}

// Quantiles of the queue-to-run latency, for a CDF: [[q, ns], ...].
const double kQuantiles[] = {0,  1,  2,  5,  10, 15, 20, 25, 30, 35, 40, 45,   50,   55,
                             60, 65, 70, 75, 80, 85, 90, 95, 97, 98, 99, 99.5, 99.9, 100};
std::string quantiles_json(const std::vector<std::uint64_t>& v)
{
	std::ostringstream j;
	j << "[";
	bool first = true;
	for (double q : kQuantiles) {
		j << (first ? "" : ",") << "[" << q << "," << percentile(v, q) << "]";
		first = false;
	}
	return j.str() + "]";
}

std::string lost_json(const Lost* l, int items)
{
	if (!l)
		return "null";
	std::ostringstream j;
	double n = items > 0 ? items : 1;
	j << "{\"interruptions\":" << l->raw_count << ",\"lost_ns\":" << std::lround(l->raw_ns)
	  << ",\"interruptions_per_item\":" << l->count / n
	  << ",\"lost_ns_per_item\":" << std::lround(l->ns / n) << "}";
	return j.str();
}

std::string scenario_json(const std::string& target, Mode mode, Impl impl, bool supported,
                          const Round& rd, const Sample& s, int before_syscall, const char* poke,
                          long poke_after_ms, const Lost* lost = nullptr,
                          const std::string& osnoise = "null",
                          const std::string& tracepoints = "null")
{
	std::ostringstream j;
	j << "{\"kind\":\"scenario\",\"target\":" << json_str(target)
	  << ",\"mode\":" << json_str(std::string(to_string(mode)))
	  << ",\"impl\":" << json_str(std::string(to_string(impl))) << rd.json()
	  << ",\"supported\":" << (supported ? "true" : "false");
	if (supported) {
		j << ",\"items\":" << s.items << ",\"ran\":" << s.ran << ",\"ipis\":" << s.ipis()
		  << ",\"res\":" << s.res << ",\"cal\":" << s.cal
		  << ",\"ipis_per_item\":" << s.per_item(static_cast<double>(s.ipis()))
		  << ",\"backport_kick_process_calls\":" << s.backport_kick_process_calls
		  << ",\"wakeups\":" << s.wakeups
		  << ",\"sender_side\":" << (s.sender_side ? "true" : "false")
		  << ",\"sent\":{\"kick_ipi\":" << s.sent.kick_ipi << ",\"wake\":" << s.sent.wake()
		  << ",\"other\":" << s.sent.other() << "}"
		  << ",\"kick_process_calls\":" << s.kick_process_calls
		  << ",\"kick_ipis_owed\":" << s.kick_ipis_owed
		  << ",\"kick_ipis_per_item\":" << s.per_item(static_cast<double>(s.sent.kick_ipi))
		  << ",\"senders\":[";
		for (std::size_t i = 0; i < s.senders.size(); i++)
			j << (i ? "," : "") << "{\"count\":" << s.senders[i].count
			  << ",\"origin\":" << json_str(s.senders[i].origin)
			  << ",\"vector\":" << json_str(s.senders[i].vector)
			  << ",\"caller\":" << json_str(s.senders[i].caller) << "}";
		j << "],\"ran_before_syscall\":";
		if (before_syscall < 0)
			j << "null";
		else
			j << before_syscall;
		j << ",\"latency_ns\":{\"p50\":" << s.latency_pct(50)
		  << ",\"p90\":" << s.latency_pct(90) << ",\"p99\":" << s.latency_pct(99)
		  << ",\"max\":" << s.latency_pct(100) << "}"
		  << ",\"latency_quantiles_ns\":" << quantiles_json(s.latencies_ns)
		  << ",\"target_lost\":" << lost_json(lost, s.items) << ",\"osnoise\":" << osnoise
		  << ",\"tracepoints\":" << tracepoints
		  << ",\"queue_ns_per_item\":" << s.per_item(static_cast<double>(s.queue_ns))
		  << ",\"poke\":" << json_str(poke) << ",\"poke_after_ms\":" << poke_after_ms
		  << ",\"error\":" << (s.ok() ? "null" : json_str(s.error));
	}
	j << "}";
	return j.str();
}

// What the target CPU received over a window, by /proc/interrupts line
// (LOC, RES, CAL, ...): the receiver's side of the interruptions.
std::string received_json(const InterruptTable& before, const InterruptTable& after)
{
	std::ostringstream j;
	j << "{";
	bool first = true;
	for (const auto& name : after.names()) {
		auto d = delta(before, after, target_cpu(), {name});
		if (d == 0)
			continue;
		j << (first ? "" : ",") << json_str(name) << ":" << d;
		first = false;
	}
	return j.str() + "}";
}

// One point of the rate sweep: items offered to the spinner at @rate per
// second (0: back to back) for o.sweep_seconds, open loop: the producer
// never waits for an item to run, so a flag still set merges kicks.
// With @deadline_us (the frontier, kind "frontier"): signal_no_ipi items
// with that deadline, for @seconds.
void sweep_point(const Client& c, const Options& o, Target& t, Mode mode, Impl impl, double rate,
                 const Round& rd, std::optional<std::uint64_t> deadline_us = {},
                 const char* kind = "sweep", double seconds = 0)
{
	const std::string line = queue_command(t.tid, mode, impl, 1, deadline_us);
	std::string error;
	if (int err = c.reset(); err != 0)
		error = "reset failed: errno " + std::to_string(err);
	auto control = std::make_unique<ControlFile>(c);
	if (int err = control->open_error(); err != 0 && error.empty())
		error = "cannot open control: errno " + std::to_string(err);
	auto irq0 = InterruptTable::read();
	auto osn0 = t.osn_totals();
	auto tp0 = ipitrace_totals();
	auto n0 = t.noise->totals();
	auto t0 = std::chrono::steady_clock::now();
	// The warm-up's windows are a quarter as long.
	auto window = std::chrono::duration<double>((seconds > 0 ? seconds : o.sweep_seconds) *
	                                            (rd.warmup() ? 0.25 : 1.0));
	std::int64_t queued = 0, refused = 0, attempts = 0;
	while (error.empty() && std::chrono::steady_clock::now() - t0 < window) {
		if (rate > 0)
			std::this_thread::sleep_until(
			    t0 + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
				     std::chrono::duration<double>(static_cast<double>(attempts) /
			                                           rate)));
		attempts++;
		int err = control->write(line);
		if (err == 0)
			queued++;
		else if (err == EAGAIN || err == EBUSY)
			refused++; // too many outstanding: the offered rate is not met
		else
			error = "queue failed: errno " + std::to_string(err);
	}
	double produce_s = seconds_since(t0);
	control.reset();
	// Drain: NO_IPI items run at the target's next kernel entry (its tick);
	// after a second, make it enter the kernel.
	if (!c.wait_run(queued, 1000ms) && !c.wait_run(queued, 3000ms, t.poke) && error.empty())
		error = "items did not run";
	double window_s = seconds_since(t0);
	auto lost = lost_beyond_baseline(t, t.noise->totals() - n0, window_s);
	auto osn = t.osn_totals() - osn0;
	auto tp = ipitrace_totals() - tp0;
	auto irq1 = InterruptTable::read();
	auto st = c.stats();
	auto sent = ipis_for(c.ipis(), target_cpu());
	std::vector<std::uint64_t> lat;
	for (const auto& r : c.items())
		if (r.tid == t.tid)
			lat.push_back(r.latency_ns);
	double per = queued > 0 ? static_cast<double>(queued) : 1.0;
	std::ostringstream j;
	j << "{\"kind\":" << json_str(kind) << ",\"target\":" << json_str(t.name)
	  << ",\"mode\":" << json_str(std::string(to_string(mode)))
	  << ",\"impl\":" << json_str(std::string(to_string(impl))) << rd.json()
	  << ",\"offered_per_s\":";
	if (rate > 0)
		j << rate;
	else
		j << "null";
	j << ",\"seconds\":" << produce_s << ",\"window_s\":" << window_s
	  << ",\"queued\":" << queued << ",\"refused\":" << refused << ",\"ran\":" << st.run()
	  << ",\"achieved_per_s\":" << static_cast<double>(queued) / produce_s
	  << ",\"kick_process_calls\":" << st.kick_process_calls()
	  << ",\"kick_ipis_owed\":" << st.kick_ipis_owed() << ",\"kick_ipis\":" << sent.kick_ipi
	  << ",\"wake_ipis\":" << sent.wake() << ",\"other_ipis\":" << sent.other()
	  << ",\"kick_ipis_per_s\":" << static_cast<double>(sent.kick_ipi) / window_s
	  << ",\"kick_ipis_per_item\":" << static_cast<double>(sent.kick_ipi) / per
	  << ",\"interruptions_per_s\":" << lost.count / window_s
	  << ",\"lost_ns_per_s\":" << std::lround(lost.ns / window_s)
	  << ",\"lost_ns_per_item\":" << std::lround(lost.ns / per)
	  << ",\"osnoise\":" << osnoise_json(t, osn, window_s, per)
	  << ",\"tracepoints\":" << ipitrace_json(tp)
	  << ",\"received\":" << received_json(irq0, irq1) << ",\"latency_items\":" << lat.size()
	  << ",\"latency_ns\":{\"p50\":" << percentile(lat, 50)
	  << ",\"p90\":" << percentile(lat, 90) << ",\"p99\":" << percentile(lat, 99) << "}"
	  << ",\"queue_ns_per_item\":" << std::lround(static_cast<double>(st.queue_ns()) / per);
	if (deadline_us) {
		// Every kick the target got for these items: the queueing's (a
		// deadline of 0 is signal) and the deadline timers'.
		j << ",\"deadline_us\":" << *deadline_us
		  << ",\"deadline_met\":" << st.deadline_met()
		  << ",\"deadline_kicks\":" << st.deadline_kicks()
		  << ",\"deadline_covered\":" << st.deadline_covered()
		  << ",\"deadline_kick_ipis\":" << sent.deadline_kick
		  << ",\"all_kick_ipis_per_item\":"
		  << static_cast<double>(sent.kick_ipi + sent.deadline_kick) / per;
	} else if (std::string_view(kind) == "frontier") {
		j << ",\"deadline_us\":null,\"all_kick_ipis_per_item\":"
		  << static_cast<double>(sent.kick_ipi) / per;
	}
	j << ",\"error\":" << (error.empty() ? "null" : json_str(error)) << "}";
	emit(j.str());
}

// One round of the sweep: a baseline, then every rate, the modes and impls
// interleaved at each rate so that the points compared are measured side
// by side in time.
void run_sweep(const Client& c, const Features& f, const Options& o, Target& t, const Round& rd)
{
	measure_baseline(t, "sweep", o, rd);
	for (double rate : o.rates) {
		for (auto mode : {Mode::Signal, Mode::SignalNoIpi}) {
			for (auto impl : {Impl::Native, Impl::Backport}) {
				if (impl == Impl::Native && mode == Mode::SignalNoIpi &&
				    !f.native_signal_no_ipi())
					continue;
				progress("sweep " + rd.name() + " " + std::string(to_string(mode)) +
				         "/" + std::string(to_string(impl)) + " at " +
				         (rate > 0 ? std::to_string(std::lround(rate)) + "/s"
				                   : std::string("back to back")));
				sweep_point(c, o, t, mode, impl, rate, rd);
			}
		}
	}
}

void run_scenario(const Client& c, const Features& f, const Options& o, Target& t, Mode mode,
                  Impl impl, const Round& rd)
{
	const std::string& name = t.name;
	bool supported =
	    impl == Impl::Backport || mode != Mode::SignalNoIpi || f.native_signal_no_ipi();
	if (!supported) {
		if (rd.n == 1) // once: the same in every round
			emit(scenario_json(name, mode, impl, false, rd, {}, -1, "", 0));
		return;
	}
	RunOptions opt;
	// TWA_NONE sets no flag: a bare syscall does not run it, a signal
	// does (get_signal() runs task_work) everywhere.
	bool none = mode == Mode::None;
	opt.poke = none ? t.flush : t.poke;
	// Modes that should run by themselves get time to do so before the
	// target is made to enter the kernel.
	bool self_runs = mode == Mode::Signal || mode == Mode::SignalNoIpi ||
	                 (mode == Mode::Resume && name != "sleeper");
	opt.poke_after = self_runs ? (name == "nohz" ? 100ms : 500ms) : 0ms;
	int n = rd.warmup() ? std::min(o.items, o.warmup_items) : o.items;
	// On a nohz_full CPU NO_IPI waits 100 ms for the poke: at most 50
	// items over all rounds (at least 5 a round).
	if (name == "nohz" && mode == Mode::SignalNoIpi)
		n = std::min(n, std::max(5, 50 / o.rounds));
	progress(name + " " + rd.name() + " " + std::string(to_string(mode)) + "/" +
	         std::string(to_string(impl)) + ": " + std::to_string(n) + " items");
	NoiseTotals n0 = t.noise ? t.noise->totals() : NoiseTotals{};
	auto osn0 = t.osn_totals();
	auto tp0 = ipitrace_totals();
	auto s = run_items(c, t.tid, mode, impl, n, opt);
	auto tp = ipitrace_json(ipitrace_totals() - tp0);
	double window_s = std::chrono::duration<double>(s.elapsed).count();
	std::optional<Lost> lost;
	if (t.noise)
		lost = lost_beyond_baseline(t, t.noise->totals() - n0, window_s);
	auto osn = osnoise_json(t, t.osn_totals() - osn0, window_s, s.items);
	int before = -1;
	if (t.marks && !none)
		before =
		    static_cast<int>(std::count(s.after_mark.begin(), s.after_mark.end(), false));
	const auto& how = none ? t.flush_how : t.poke_how;
	emit(scenario_json(name, mode, impl, true, rd, s, before, how.c_str(),
	                   opt.poke_after.count(), lost ? &*lost : nullptr, osn, tp));
}

// Round 1: A B C D, round 2: A B C D, ...: never all of A before B. Each
// round has its own baseline window, subtracted from that round's windows.
// The IPI/latency frontier between TWA_SIGNAL and TWA_SIGNAL_NO_IPI, one
// round of it: the deadline mode at each deadline and offered rate (auto:
// native NO_IPI beneath it where the kernel has it). Its ends: a deadline of
// 0 (queued as signal) and none (plain signal_no_ipi).
void run_frontier(const Client& c, const Options& o, Target& t, const Round& rd)
{
	measure_baseline(t, "frontier", o, rd);
	for (double rate : o.frontier_rates) {
		for (double d : o.deadlines_us) {
			std::optional<std::uint64_t> dl;
			if (d >= 0)
				dl = static_cast<std::uint64_t>(d);
			progress("frontier " + rd.name() + " deadline " +
			         (dl ? std::to_string(*dl) + " us" : "none") + " at " +
			         (rate > 0 ? std::to_string(std::lround(rate)) + "/s"
			                   : std::string("back to back")));
			sweep_point(c, o, t, Mode::SignalNoIpi, Impl::Auto, rate, rd, dl,
			            "frontier", o.frontier_seconds);
		}
	}
}

void run_target(const Client& c, const Features& f, const Options& o, const std::string& name)
{
	auto t = make_target(name, c, o);
	const Mode modes[] = {Mode::None, Mode::Resume, Mode::Signal, Mode::SignalNoIpi};
	for (int r = o.warmup ? 0 : 1; r <= o.rounds; r++) {
		Round rd{r, o.rounds};
		if (t->noise)
			measure_baseline(*t, "scenarios", o, rd);
		for (auto mode : modes)
			for (auto impl : {Impl::Native, Impl::Backport})
				run_scenario(c, f, o, *t, mode, impl, rd);
		if (o.sweep && name == "spinner")
			run_sweep(c, f, o, *t, rd);
		if (o.frontier && name == "spinner" && !rd.warmup() && r <= o.frontier_rounds)
			run_frontier(c, o, *t, rd);
	}
	// The target CPU idle first, then the tracer's text patched back.
	if (t->spinner)
		t->spinner->stop();
	if (t->sleeper)
		t->sleeper->stop();
	t->osnoise.reset();
	t->control.reset();
}

std::string uring_json(const UringResult& r, const Round& rd, const std::string& tracepoints)
{
	std::ostringstream j;
	j << "{\"kind\":\"io_uring\",\"setup\":" << json_str(r.setup) << rd.json()
	  << ",\"stimulus\":" << json_str(r.stimulus)
	  << ",\"stimulus_supported\":" << (r.stimulus_supported ? "true" : "false")
	  << ",\"supported\":" << (r.supported ? "true" : "false") << ",\"errno\":" << r.setup_errno
	  << ",\"ops\":" << r.ops << ",\"ipis\":" << r.ipis
	  << ",\"ipis_per_op\":" << r.ipis_per_op()
	  << ",\"sender_side\":" << (r.sender_side ? "true" : "false")
	  << ",\"kick_ipis\":" << r.kick_ipis << ",\"kick_ipis_per_op\":" << r.kick_ipis_per_op()
	  << ",\"ops_per_s\":" << r.ops_per_s << ",\"saw_taskrun\":" << r.saw_taskrun
	  << ",\"tracepoints\":" << tracepoints << "}";
	return j.str();
}

// Every ring setup once a round, the setups interleaved.
void run_uring(const Options& o)
{
	bool nop_tw = true;
	for (int r = o.warmup ? 0 : 1; r <= o.rounds; r++) {
		Round rd{r, o.rounds};
		int ops = rd.warmup() ? std::max(1, std::min(o.ops, o.warmup_items)) : o.ops;
		for (const auto& setup : kUringSetups) {
			progress(std::string("io_uring ") + rd.name() + " " + setup.name + ": " +
			         std::to_string(ops) + " ops");
			auto tp0 = ipitrace_totals();
			auto res = run_ring(setup, ops, target_cpu());
			emit(uring_json(res, rd, ipitrace_json(ipitrace_totals() - tp0)));
		}
		// Completions that are pure task_work, where the kernel has NOP_TW.
		for (const auto& setup : kUringSetups) {
			if (!nop_tw)
				break;
			auto tp0 = ipitrace_totals();
			auto res = run_ring_nop_tw(setup, ops, target_cpu());
			auto tp = ipitrace_json(ipitrace_totals() - tp0);
			if (res.supported && !res.stimulus_supported) {
				progress("io_uring NOP_TW: not in this kernel (6.17+)");
				emit(uring_json(res, rd, tp));
				nop_tw = false;
				break;
			}
			progress(std::string("io_uring ") + rd.name() + " " + setup.name +
			         " NOP_TW: " + std::to_string(ops) + " ops");
			emit(uring_json(res, rd, tp));
		}
	}
}

} // namespace

int main(int argc, char** argv)
{
	Options o;
	for (int i = 1; i < argc; i++)
		if (std::string(argv[i]) == "--help" || std::string(argv[i]) == "-h") {
			usage(stdout);
			return 0;
		}
	if (!parse_args(argc, argv, o)) {
		usage(stderr);
		return 2;
	}
	keep_heap_mapped();
	install_poke_signal();
	set_cpus(o.queue_cpu, o.target_cpu);
	if (o.queue_cpu == o.target_cpu || pin_to_cpu(queue_cpu()) || online_cpus() < 2) {
		std::fprintf(stderr,
		             "twa-bench: needs two online CPUs, %d (queue) and %d (target)\n",
		             o.queue_cpu, o.target_cpu);
		return 1;
	}
	Client c;
	Features f;
	try {
		f = c.features();
	} catch (const std::exception& e) {
		std::fprintf(stderr, "twa-bench: %s (module loaded?)\n", e.what());
		return 1;
	}
	std::ostringstream env;
	auto nohz = f.raw.count("nohz_full") ? f.raw.at("nohz_full") : "unknown";
	struct utsname u {};
	uname(&u); // the machine, as the kernel names it: x86_64, aarch64
	env << "{\"kind\":\"env\",\"kernel\":" << json_str(f.release())
	    << ",\"arch\":" << json_str(u.machine)
	    << ",\"native_signal_no_ipi\":" << (f.native_signal_no_ipi() ? "true" : "false")
	    << ",\"cpus\":" << online_cpus() << ",\"queue_cpu\":" << queue_cpu()
	    << ",\"target_cpu\":" << target_cpu() << ",\"hz\":" << f.hz()
	    << ",\"nohz_full\":" << json_str(nohz) << ",\"wake_up_state\":"
	    << json_str(f.raw.count("wake_up_state") ? f.raw.at("wake_up_state") : "")
	    << ",\"items\":" << o.items << ",\"ops\":" << o.ops << ",\"rounds\":" << o.rounds
	    << ",\"warmup\":" << (o.warmup ? "true" : "false")
	    << ",\"warmup_items\":" << o.warmup_items << ",\"sweep_seconds\":" << o.sweep_seconds
	    << ",\"cpu_model\":" << json_str(cpu_model()) << ",\"argv\":[";
	for (int i = 0; i < argc; i++)
		env << (i ? "," : "") << json_str(argv[i]);
	env << "]}";
	emit(env.str());
	// Before any target runs on CPU 1: the triggers patch kernel text.
	std::string why;
	ipi_tracer() = IpiTracer::start(target_cpu(), why);
	std::string triggers = "[";
	for (const auto& spec :
	     ipi_tracer() ? ipi_tracer()->triggers() : std::vector<std::string>{})
		triggers += (triggers.size() > 1 ? "," : "") + json_str(spec);
	emit(std::string("{\"kind\":\"ipi_tracepoints\",\"available\":") +
	     (ipi_tracer() ? "true" : "false") + ",\"why\":" +
	     (ipi_tracer() ? "null" : json_str(why)) + ",\"triggers\":" + triggers + "]}");
	progress(ipi_tracer()
	             ? "IPI tracepoints: counting IPIs to CPU " + std::to_string(target_cpu())
	             : "IPI tracepoints not used: " + why);
	for (const auto& t : o.targets) {
		if (t == "nohz") {
			auto cpus = f.nohz_full();
			if (std::find(cpus.begin(), cpus.end(), target_cpu()) == cpus.end()) {
				progress("skipping nohz: CPU " + std::to_string(target_cpu()) +
				         " is not nohz_full");
				continue;
			}
		} else if (t != "spinner" && t != "sleeper") {
			usage(stderr);
			return 2;
		}
		run_target(c, f, o, t);
	}
	if (o.uring)
		run_uring(o);
	ipi_tracer().reset();
	progress("done");
	return 0;
}
