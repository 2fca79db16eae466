// io_uring completions to a task spinning in user space: how many IPIs
// does each ring setup cost the reaper's CPU?
#pragma once

#include <cstdint>
#include <string>

namespace twa {

struct UringSetup {
	const char* name;
	unsigned flags;
};

// default, coop_taskrun, coop_taskrun_flag, defer_taskrun.
extern const UringSetup kUringSetups[4];
const UringSetup& uring_setup(const std::string& name);

struct UringResult {
	std::string setup;
	std::string stimulus = "pipe";  // pipe: a read another CPU completes; nop_tw
	bool stimulus_supported = true; // nop_tw: false where the kernel lacks it
	bool supported = false;
	int setup_errno = 0;
	int ops = 0;
	std::uint64_t ipis = 0; // receiver side: RES + CAL on the reaper's CPU
	// Sender side, where twa_noipi counts IPIs: kick IPIs, the reschedule
	// IPIs kick_process() sent to the reaper's CPU (io_uring's TWA_SIGNAL).
	bool sender_side = false;
	std::uint64_t kick_ipis = 0;
	int saw_taskrun = 0; // ops during which IORING_SQ_TASKRUN was seen set
	double ops_per_s = 0;
	double ipis_per_op() const { return ops ? static_cast<double>(ipis) / ops : 0; }
	double kick_ipis_per_op() const { return ops ? static_cast<double>(kick_ipis) / ops : 0; }
};

// The reaper, pinned to @reaper_cpu, owns the ring: it submits a read on an
// empty pipe and spins in user space until the completion shows up; the
// caller (pinned elsewhere) then writes one byte, and the pipe wakeup queues
// io_uring's completion task_work to the reaper. IPIs are RES + CAL on
// @reaper_cpu. A setup the kernel rejects returns supported == false.
UringResult run_ring(const UringSetup& setup, int ops, int reaper_cpu);

// The same setups on completions that are pure task_work: a NOP with
// IORING_NOP_TW (6.17+), which io_uring completes through task_work queued
// to the submitter itself, so it costs no IPI and the setups differ only in
// how their task_work runs. The reaper submits one and reaps it as above.
// Where the kernel lacks IORING_NOP_TW, stimulus_supported is false
// (detected by the result a NOP_TW | INJECT_RESULT returns: older kernels
// ignore NOP flags or reject the unknown one).
UringResult run_ring_nop_tw(const UringSetup& setup, int ops, int reaper_cpu);

// "# uring setup=... ipis_per_op=..." for logs.
std::string uring_line(const UringResult& r);

} // namespace twa
