// twa-bench: what NO_IPI saves and what it costs, on the running kernel.
// Runs in the test guest with the module loaded. Reports figures as JSON
// lines in $TWA_OUT/bench.jsonl (stdout without TWA_OUT), which the guest's
// init carries to the host for the report; progress goes to the console.
// Asserts nothing.
#include "twa/client.hpp"
#include "twa/cpu.hpp"
#include "twa/measure.hpp"
#include "twa/uring.hpp"

#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
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
};

void usage(std::FILE* f)
{
	std::fprintf(f, "usage: twa-bench [--items N] [--ops N] [--targets spinner,sleeper,nohz]"
	                " [--no-uring]\n");
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
		else
			return false;
	}
	return o.items > 0 && o.ops > 0 && !o.targets.empty();
}

std::FILE* console()
{
	static std::FILE* f = [] {
		std::FILE* c = std::fopen("/dev/console", "w");
		return c ? c : stderr;
	}();
	return f;
}

void progress(const std::string& msg)
{
	std::fprintf(console(), "twa-bench: %s\n", msg.c_str());
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

void on_usr1(int) {}

// How a scenario waits for its items and what counts as the target's
// "next syscall".
struct Target {
	std::string name;
	pid_t tid = 0;
	std::function<void()> poke;  // make the target enter the kernel
	std::function<void()> flush; // make it run even TWA_NONE work
	const char* poke_how = "";
	const char* flush_how = "";
	bool marks = false; // poke writes "mark": ran_before_syscall is meaningful
	std::atomic<bool> self_signal{false}; // spinner: next syscall is raise(SIGUSR1)
	std::unique_ptr<Spinner> spinner;
	std::unique_ptr<Sleeper> sleeper;
	int control_fd = -1;
};

std::unique_ptr<Target> make_target(const std::string& name, const Client& c)
{
	auto t = std::make_unique<Target>();
	t->name = name;
	if (name == "sleeper") {
		t->sleeper = std::make_unique<Sleeper>(kTargetCpu);
		t->tid = t->sleeper->tid();
	} else {
		// The mark is one write() on an open fd: the kernel exit that runs
		// flagged work comes right after the mark (an open() would
		// already be one).
		t->control_fd = ::open((c.dir() + "/control").c_str(), O_WRONLY | O_CLOEXEC);
		int fd = t->control_fd;
		Target* tp = t.get();
		// A signal to itself sends no IPI and runs task_work in
		// get_signal(): the spinner's way to run TWA_NONE work.
		t->spinner = std::make_unique<Spinner>(kTargetCpu, [fd, tp, &c] {
			if (tp->self_signal.load())
				syscall(SYS_tgkill, getpid(), gettid_now(), SIGUSR1);
			else if (::write(fd, "mark", 4) < 0)
				c.mark();
		});
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
		t->poke = t->flush = [tid] { syscall(SYS_tgkill, getpid(), tid, SIGUSR1); };
		t->poke_how = t->flush_how = "SIGUSR1 from CPU 0 (wakes it)";
	}
	std::this_thread::sleep_for(20ms);
	if (name == "nohz")
		std::this_thread::sleep_for(200ms); // let the tick stop
	return t;
}

std::string scenario_json(const std::string& target, Mode mode, Impl impl, bool supported,
                          const Sample& s, int before_syscall, const char* poke, long poke_after_ms)
{
	std::ostringstream j;
	j << "{\"kind\":\"scenario\",\"target\":" << json_str(target)
	  << ",\"mode\":" << json_str(std::string(to_string(mode)))
	  << ",\"impl\":" << json_str(std::string(to_string(impl)))
	  << ",\"supported\":" << (supported ? "true" : "false");
	if (supported) {
		j << ",\"items\":" << s.items << ",\"ran\":" << s.ran << ",\"ipis\":" << s.ipis()
		  << ",\"res\":" << s.res << ",\"cal\":" << s.cal
		  << ",\"ipis_per_item\":" << s.per_item(static_cast<double>(s.ipis()))
		  << ",\"kicks\":" << s.kicks << ",\"wakeups\":" << s.wakeups
		  << ",\"sender_side\":" << (s.sender_side ? "true" : "false")
		  << ",\"sent\":{\"kick\":" << s.sent.kick << ",\"wake\":" << s.sent.wake()
		  << ",\"other\":" << s.sent.other() << "}"
		  << ",\"kick_calls\":" << s.kick_calls
		  << ",\"kick_ipis_per_item\":" << s.per_item(static_cast<double>(s.sent.kick))
		  << ",\"senders\":[";
		for (std::size_t i = 0; i < s.senders.size(); i++)
			j << (i ? "," : "") << "{\"count\":" << s.senders[i].count
			  << ",\"class\":" << json_str(s.senders[i].cls)
			  << ",\"kind\":" << json_str(s.senders[i].kind)
			  << ",\"caller\":" << json_str(s.senders[i].caller) << "}";
		j << "],\"ran_before_syscall\":";
		if (before_syscall < 0)
			j << "null";
		else
			j << before_syscall;
		j << ",\"latency_ns\":{\"p50\":" << s.latency_pct(50)
		  << ",\"p90\":" << s.latency_pct(90) << ",\"p99\":" << s.latency_pct(99)
		  << ",\"max\":" << s.latency_pct(100) << "}"
		  << ",\"queue_ns_per_item\":" << s.per_item(static_cast<double>(s.queue_ns))
		  << ",\"poke\":" << json_str(poke) << ",\"poke_after_ms\":" << poke_after_ms
		  << ",\"error\":" << (s.ok() ? "null" : json_str(s.error));
	}
	j << "}";
	return j.str();
}

void run_target(const Client& c, const Features& f, const Options& o, const std::string& name)
{
	auto t = make_target(name, c);
	const Mode modes[] = {Mode::None, Mode::Resume, Mode::Signal, Mode::SignalNoIpi};
	for (auto mode : modes) {
		for (auto impl : {Impl::Native, Impl::Backport}) {
			bool supported = impl == Impl::Backport || mode != Mode::SignalNoIpi ||
			                 f.native_signal_no_ipi();
			if (!supported) {
				emit(scenario_json(name, mode, impl, false, {}, -1, "", 0));
				continue;
			}
			RunOptions opt;
			// TWA_NONE sets no flag: a bare syscall does not run it,
			// a signal does (get_signal() runs task_work) everywhere.
			bool none = mode == Mode::None;
			opt.poke = none ? t->flush : t->poke;
			// Modes that should run by themselves get time to do so
			// before the target is made to enter the kernel.
			bool self_runs = mode == Mode::Signal || mode == Mode::SignalNoIpi ||
			                 (mode == Mode::Resume && name != "sleeper");
			opt.poke_after = self_runs ? (name == "nohz" ? 100ms : 500ms) : 0ms;
			int n = o.items;
			// On a nohz_full CPU NO_IPI waits 100 ms for the poke: fewer.
			if (name == "nohz" && mode == Mode::SignalNoIpi)
				n = std::min(n, 50);
			progress(name + " " + std::string(to_string(mode)) + "/" +
			         std::string(to_string(impl)) + ": " + std::to_string(n) +
			         " items");
			auto s = run_items(c, t->tid, mode, impl, n, opt);
			int before = -1;
			if (t->marks && !none)
				before = static_cast<int>(
				    std::count(s.after_mark.begin(), s.after_mark.end(), false));
			auto how = none ? t->flush_how : t->poke_how;
			emit(scenario_json(name, mode, impl, true, s, before, how,
			                   opt.poke_after.count()));
		}
	}
	if (t->spinner)
		t->spinner->stop();
	if (t->sleeper)
		t->sleeper->stop();
	if (t->control_fd >= 0)
		::close(t->control_fd);
}

void run_uring(const Options& o)
{
	for (const auto& setup : kUringSetups) {
		progress(std::string("io_uring ") + setup.name + ": " + std::to_string(o.ops) +
		         " ops");
		auto r = run_ring(setup, o.ops, kTargetCpu);
		std::ostringstream j;
		j << "{\"kind\":\"io_uring\",\"setup\":" << json_str(r.setup)
		  << ",\"supported\":" << (r.supported ? "true" : "false")
		  << ",\"errno\":" << r.setup_errno << ",\"ops\":" << r.ops
		  << ",\"ipis\":" << r.ipis << ",\"ipis_per_op\":" << r.ipis_per_op()
		  << ",\"sender_side\":" << (r.sender_side ? "true" : "false")
		  << ",\"kick_ipis\":" << r.kick_ipis << ",\"kicks_per_op\":" << r.kicks_per_op()
		  << ",\"ops_per_s\":" << r.ops_per_s << ",\"saw_taskrun\":" << r.saw_taskrun
		  << "}";
		emit(j.str());
	}
}

} // namespace

int main(int argc, char** argv)
{
	Options o;
	if (!parse_args(argc, argv, o)) {
		usage(stderr);
		return 2;
	}
	// The queueing thread shares the targets' mm: keep the heap mapped so
	// no trim or munmap sends CPU 1 a TLB-flush IPI.
	mallopt(M_TRIM_THRESHOLD, 1 << 30);
	mallopt(M_MMAP_THRESHOLD, 1 << 30);
	struct sigaction sa {};
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, nullptr);
	if (pin_to_cpu(kQueueCpu) || online_cpus() < 2) {
		std::fprintf(stderr, "twa-bench: needs CPUs 0 and 1\n");
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
	env << "{\"kind\":\"env\",\"kernel\":" << json_str(f.release())
	    << ",\"native_signal_no_ipi\":" << (f.native_signal_no_ipi() ? "true" : "false")
	    << ",\"cpus\":" << online_cpus() << ",\"hz\":" << f.hz()
	    << ",\"nohz_full\":" << json_str(nohz) << ",\"wake_up_state\":"
	    << json_str(f.raw.count("wake_up_state") ? f.raw.at("wake_up_state") : "")
	    << ",\"items\":" << o.items << ",\"ops\":" << o.ops << "}";
	emit(env.str());
	for (const auto& t : o.targets) {
		if (t == "nohz") {
			auto cpus = f.nohz_full();
			if (std::find(cpus.begin(), cpus.end(), kTargetCpu) == cpus.end()) {
				progress("skipping nohz: CPU 1 is not nohz_full");
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
	progress("done");
	return 0;
}
