#include "twa/uring.hpp"

#include "twa/client.hpp"
#include "twa/cpu.hpp"
#include "twa/interrupts.hpp"

#include <liburing.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <thread>

namespace twa {

const UringSetup kUringSetups[4] = {
    {"default", 0},
    {"coop_taskrun", IORING_SETUP_COOP_TASKRUN},
    {"coop_taskrun_flag", IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG},
    {"defer_taskrun", IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN},
};

const UringSetup& uring_setup(const std::string& name)
{
	for (const auto& s : kUringSetups)
		if (name == s.name)
			return s;
	throw std::invalid_argument("unknown ring setup " + name);
}

namespace {

// Wait for one completion. What io_uring_peek_cqe() does, spelled out so
// the flag is observed exactly: look at the CQ ring without entering; enter
// only when IORING_SQ_TASKRUN says work is pending (or always for
// DEFER_TASKRUN, whose work runs only there).
io_uring_cqe* reap(io_uring* ring, unsigned flags, int& saw_taskrun)
{
	io_uring_cqe* cqe = nullptr;
	bool saw = false;
	for (;;) {
		if (__io_uring_peek_cqe(ring, &cqe, nullptr) == 0 && cqe)
			break;
		if (IO_URING_READ_ONCE(*ring->sq.kflags) & IORING_SQ_TASKRUN) {
			saw = true;
			io_uring_get_events(ring);
		} else if (flags & IORING_SETUP_DEFER_TASKRUN) {
			io_uring_get_events(ring);
		}
	}
	saw_taskrun += saw;
	return cqe;
}

} // namespace

UringResult run_ring(const UringSetup& setup, int ops, int reaper_cpu)
{
	UringResult r;
	r.setup = setup.name;
	int pfd[2];
	if (pipe(pfd))
		throw std::runtime_error("pipe");
	std::atomic<int> state{0}; // 1 ready, -1 setup failed
	std::atomic<int> armed{-1};
	std::atomic<bool> reaped{false}, counted{false};
	std::thread reaper([&] {
		pin_to_cpu(reaper_cpu);
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
			io_uring_cqe* cqe = reap(&ring, setup.flags, r.saw_taskrun);
			io_uring_cqe_seen(&ring, cqe);
		}
		// The counts end here, before the ring's teardown: on exit
		// io_uring may hand leftover local work to task_work_add().
		reaped.store(true, std::memory_order_release);
		while (!counted.load(std::memory_order_acquire))
			std::this_thread::yield();
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
	Client twa;
	r.sender_side = twa.features().ipi_count();
	auto kick_ipis0 = r.sender_side ? kick_ipis_any_caller(twa.ipi_senders(), reaper_cpu) : 0;
	auto before = InterruptTable::read();
	auto t0 = std::chrono::steady_clock::now();
	for (int i = 0; i < ops; i++) {
		while (armed.load(std::memory_order_acquire) != i)
			;
		if (write(pfd[1], "x", 1) != 1)
			throw std::runtime_error("write");
	}
	while (!reaped.load(std::memory_order_acquire))
		std::this_thread::yield();
	auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
	auto after = InterruptTable::read();
	r.ops = ops;
	r.ipis = ipi_delta(before, after, reaper_cpu);
	if (r.sender_side)
		r.kick_ipis = kick_ipis_any_caller(twa.ipi_senders(), reaper_cpu) - kick_ipis0;
	counted.store(true, std::memory_order_release);
	reaper.join();
	r.ops_per_s = secs > 0 ? ops / secs : 0;
	close(pfd[0]);
	close(pfd[1]);
	return r;
}

namespace {

// From the 6.17 uapi header, for older liburing headers: nop_flags shares
// the sqe's op-flags union with rw_flags.
constexpr unsigned kNopInjectResult = 1U << 0;
constexpr unsigned kNopTw = 1U << 4;
constexpr int kNopProbeResult = 42;

void prep_nop_tw(io_uring* ring, bool probe)
{
	io_uring_sqe* sqe = io_uring_get_sqe(ring);
	io_uring_prep_nop(sqe);
	sqe->rw_flags = kNopTw | (probe ? kNopInjectResult : 0);
	if (probe)
		sqe->len = kNopProbeResult;
}

} // namespace

UringResult run_ring_nop_tw(const UringSetup& setup, int ops, int reaper_cpu)
{
	UringResult r;
	r.setup = setup.name;
	r.stimulus = "nop_tw";
	std::thread reaper([&] {
		pin_to_cpu(reaper_cpu);
		io_uring ring;
		io_uring_params p{};
		p.flags = setup.flags;
		if (int ret = io_uring_queue_init_params(8, &ring, &p); ret < 0) {
			r.setup_errno = -ret;
			return;
		}
		r.supported = true;
		int ignored = 0;
		prep_nop_tw(&ring, true);
		io_uring_submit(&ring);
		io_uring_cqe* cqe = reap(&ring, setup.flags, ignored);
		r.stimulus_supported = cqe->res == kNopProbeResult;
		io_uring_cqe_seen(&ring, cqe);
		if (r.stimulus_supported) {
			Client twa;
			r.sender_side = twa.features().ipi_count();
			auto kick_ipis0 =
			    r.sender_side ? kick_ipis_any_caller(twa.ipi_senders(), reaper_cpu) : 0;
			auto before = InterruptTable::read();
			auto t0 = std::chrono::steady_clock::now();
			for (int i = 0; i < ops; i++) {
				prep_nop_tw(&ring, false);
				io_uring_submit(&ring);
				io_uring_cqe_seen(&ring, reap(&ring, setup.flags, r.saw_taskrun));
			}
			auto secs =
			    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
				.count();
			auto after = InterruptTable::read();
			r.ops = ops;
			r.ipis = ipi_delta(before, after, reaper_cpu);
			if (r.sender_side)
				r.kick_ipis = kick_ipis_any_caller(twa.ipi_senders(), reaper_cpu) -
				              kick_ipis0;
			r.ops_per_s = secs > 0 ? ops / secs : 0;
		}
		io_uring_queue_exit(&ring);
	});
	reaper.join();
	return r;
}

std::string uring_line(const UringResult& r)
{
	char buf[320];
	std::snprintf(buf, sizeof(buf),
	              "# uring setup=%s supported=%d errno=%d ops=%d ipis=%llu ipis_per_op=%.3f "
	              "kick_ipis=%llu kick_ipis_per_op=%.3f saw_taskrun=%d ops_per_s=%.0f",
	              r.setup.c_str(), r.supported, r.setup_errno, r.ops,
	              static_cast<unsigned long long>(r.ipis), r.ipis_per_op(),
	              static_cast<unsigned long long>(r.kick_ipis), r.kick_ipis_per_op(),
	              r.saw_taskrun, r.ops_per_s);
	return buf;
}

} // namespace twa
