#!/usr/bin/env python3
"""Turn twa-bench output into the IPI report: JSON, a Markdown table, SVG plots.

  report.py [--out DIR] [--accel tcg|kvm] BENCH.jsonl [BENCH.jsonl...]
      one kernel: the JSON-lines files of twa-bench runs (a normal boot and,
      optionally, a nohz_full boot); writes
      DIR/<kernel-release>/report.{json,md}, ipis.svg, latency.svg (CDF),
      sweep.svg and prints the tables.
  report.py --combine [--out DIR] REPORT.json [REPORT.json...]
      several kernels: writes DIR/comparison.{json,md} and prints the table.
  report.py --check [--out DIR] BENCH.jsonl...
      as the first form, then exit 1 unless the run is complete: every
      supported scenario ran all its items without an error, the spinner's
      scenarios have the target's lost time (and the osnoise tracer's
      attribution where it ran), every sweep point queued and
      ran its items, and the headline could be computed (make test's
      check of the benchmark's plumbing; it judges no figure).
"""

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile

import frontier

MODES = ["none", "resume", "signal", "signal_no_ipi"]
NOTE = ("Counts and ratios are the result. Under emulation (TCG) absolute "
        "times are not hardware figures: IPIs are emulated and the tick on a "
        "busy vCPU is irregular.")


# Keys renamed so that "kick" alone names nothing (docs/report.md#renamed-keys):
# a kick_process() call is a call, the reschedule IPI it sends a kick IPI.
# The old names are deprecated and still read, until the next release:
# upgrade() renames them in a record of twa-bench, or of a report.json.
RENAMED = {
    "scenario": {"kicks": "backport_kick_process_calls", "kick_calls": "kick_process_calls",
                 "kicks_due": "kick_ipis_owed"},
    "sweep": {"kick_calls": "kick_process_calls"},
    "io_uring": {"kicks_per_op": "kick_ipis_per_op"},
}
RENAMED_SENT = {"kick": "kick_ipi"}                    # scenario "sent" {origin: IPIs}
RENAMED_SENDER = {"class": "origin", "kind": "vector"}  # scenario "senders" [{...}]


def upgrade(kind, rec):
    """Rename @rec's deprecated keys (a record of @kind) in place; return it."""
    for old, new in RENAMED.get(kind, {}).items():
        if old in rec:
            rec.setdefault(new, rec.pop(old))
    if kind == "scenario":
        sent = rec.get("sent")
        if isinstance(sent, dict):
            for old, new in RENAMED_SENT.items():
                if old in sent:
                    sent.setdefault(new, sent.pop(old))
        for snd in rec.get("senders") or []:
            for old, new in RENAMED_SENDER.items():
                if old in snd:
                    snd.setdefault(new, snd.pop(old))
            if snd.get("origin") in RENAMED_SENT:
                snd["origin"] = RENAMED_SENT[snd["origin"]]
    return rec


def upgrade_report(rep):
    """A report.json written before the renames, read as today's."""
    for kind, key in (("scenario", "scenarios"), ("sweep", "sweep"), ("io_uring", "io_uring")):
        for rec in rep.get(key) or []:
            upgrade(kind, rec)
    return rep


def read_bench(paths):
    env, scenarios, uring, baselines, sweep, tracers = None, [], [], [], [], []
    for path in paths:
        with open(path, errors="replace") as f:
            for line in f:
                line = line.strip()
                if not line.startswith("{"):
                    continue
                rec = json.loads(line)
                kind = rec.pop("kind")
                upgrade(kind, rec)
                if kind == "env":
                    env = env or rec
                elif kind == "scenario":
                    scenarios.append(rec)
                elif kind == "io_uring":
                    uring.append(rec)
                elif kind == "noise_baseline":
                    baselines.append(rec)
                elif kind == "sweep":
                    sweep.append(rec)
                elif kind == "osnoise":
                    tracers.append(rec)
    if env is None:
        sys.exit("report.py: no twa-bench output (env record) in %s" % ", ".join(paths))
    return env, scenarios, uring, baselines, sweep, tracers


def fill_scenario(s, none_cost):
    """Give every scenario the same keys; add the cost ratio against none."""
    if not s.get("supported", True):
        s.update(items=0, ran=0, ipis=0, ipis_per_item=None, res=0, cal=0,
                 backport_kick_process_calls=0, wakeups=0, sender_side=False, sent=None,
                 kick_process_calls=None, kick_ipis_owed=None, kick_ipis_per_item=None, senders=[], ran_before_syscall=None, latency_ns=None,
                 queue_ns_per_item=None, queue_cost_vs_none=None, error=None,
                 poke=None, poke_after_ms=None, latency_quantiles_ns=None, target_lost=None,
                 osnoise=None)
        return s
    base = none_cost.get((s["target"], s["impl"]))
    q = s.get("queue_ns_per_item")
    s["queue_cost_vs_none"] = round(q / base, 3) if base and q is not None else None
    s.setdefault("kick_ipis_owed", None)  # before 0.2.0 the bench did not write it
    s.setdefault("latency_quantiles_ns", None)
    s.setdefault("target_lost", None)
    s.setdefault("osnoise", None)
    return s


def find(scenarios, target, mode, impl):
    return next((s for s in scenarios if (s["target"], s["mode"], s["impl"]) == (target, mode, impl)
                 and s.get("supported")), None)


def ratio(a, b):
    return round(a / b, 1) if a is not None and b else None


def sweep_saving(sweep, impl):
    """Target time per item SIGNAL loses beyond NO_IPI at one offered rate
    (10000/s if swept, else the highest both have): equal windows, so the
    baseline's uncertainty weighs the same on both, and at 10000/s the
    difference stands well above it (about 1 us per item under TCG, where
    1000/s leaves 10) while every item still gets its own kick."""
    pts = {(p["mode"], p["offered_per_s"]): p for p in sweep
           if p["impl"] == impl and p["target"] == "spinner" and not p.get("error")}
    rates = sorted(r for (m, r) in pts if m == "signal" and r and ("signal_no_ipi", r) in pts)
    if not rates:
        return None, None
    rate = 10000 if 10000 in rates else rates[-1]
    return pts[("signal", rate)]["lost_ns_per_item"] - pts[("signal_no_ipi", rate)]["lost_ns_per_item"], rate


def headline(env, scenarios, sweep=()):
    """What NO_IPI saves and costs against SIGNAL, for a spinning target."""
    impl = "native" if env["native_signal_no_ipi"] else "backport"
    sig = find(scenarios, "spinner", "signal", impl)
    nip = find(scenarios, "spinner", "signal_no_ipi", impl)
    if not sig or not nip:
        return None

    def ipis(s):
        return s["kick_ipis_per_item"] if s.get("sender_side") else s["ipis_per_item"]

    def lost(s):
        return (s.get("target_lost") or {}).get("lost_ns_per_item")

    lat = lambda s, p: (s.get("latency_ns") or {}).get(p)
    saved, rate = sweep_saving(sweep, impl)
    if saved is None and lost(sig) is not None and lost(nip) is not None:
        saved = lost(sig) - lost(nip)
    h = {
        "target": "spinner", "impl": impl,
        "ipis_saved_per_item": round(ipis(sig) - ipis(nip), 3),
        "target_ns_saved_per_item": saved,
        "target_saving_rate_per_s": rate,
        "latency_p50_ns": {"signal": lat(sig, "p50"), "signal_no_ipi": lat(nip, "p50"),
                           "ratio": ratio(lat(nip, "p50"), lat(sig, "p50"))},
        "latency_p99_ns": {"signal": lat(sig, "p99"), "signal_no_ipi": lat(nip, "p99"),
                           "ratio": ratio(lat(nip, "p99"), lat(sig, "p99"))},
    }
    h["text"] = ("%s: TWA_SIGNAL_NO_IPI instead of TWA_SIGNAL (%s, to a task spinning in user "
                 "space) saves %.2f IPIs per item and %s of the target's time per item%s; it pays "
                 "latency p50 %s instead of %s (x%s), p99 %s instead of %s (x%s)." % (
                     env["kernel"], impl, h["ipis_saved_per_item"],
                     "-" if saved is None else "%.1f us" % (saved / 1000.0),
                     " (at %d items/s)" % rate if rate else " (one item at a time)",
                     dur(lat(nip, "p50")), dur(lat(sig, "p50")), fmt(h["latency_p50_ns"]["ratio"], 1),
                     dur(lat(nip, "p99")), dur(lat(sig, "p99")), fmt(h["latency_p99_ns"]["ratio"], 1)))
    return h


def dur(ns):
    if ns is None:
        return "-"
    if ns >= 1e6:
        return "%.2f ms" % (ns / 1e6)
    return "%.1f us" % (ns / 1e3)


def build_report(env, scenarios, uring, accel, baselines=(), sweep=(), tracers=()):
    none_cost = {(s["target"], s["impl"]): s["queue_ns_per_item"]
                 for s in scenarios if s["mode"] == "none" and s.get("supported")}
    scenarios = [fill_scenario(s, none_cost) for s in scenarios]
    for u in uring:
        u.setdefault("stimulus", "pipe")
        u.setdefault("stimulus_supported", True)
    for u in uring:
        default = next((d for d in uring if d["setup"] == "default" and d["supported"]
                        and d["stimulus"] == u["stimulus"] and d["stimulus_supported"]), None)
        ok = u["supported"] and u["stimulus_supported"] and default and default["ops_per_s"]
        u["ops_per_s_vs_default"] = round(u["ops_per_s"] / default["ops_per_s"], 3) if ok else None
        if not u["supported"] or not u["stimulus_supported"]:
            u["ipis_per_op"] = None
            u["kick_ipis_per_op"] = None
            u["ops_per_s"] = None
    return {
        "kernel": env["kernel"],
        "arch": env.get("arch"),
        "native_signal_no_ipi": env["native_signal_no_ipi"],
        "cpus": env["cpus"],
        "hz": env["hz"],
        "accel": accel,
        "nohz_full": env.get("nohz_full"),
        "wake_up_state": env.get("wake_up_state"),
        "generated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "note": NOTE,
        "headline": headline(env, scenarios, sweep),
        "noise_baselines": list(baselines),
        "osnoise": list(tracers),
        "scenarios": scenarios,
        "sweep": list(sweep),
        "io_uring": uring,
    }


def fmt(v, digits=3):
    if v is None:
        return "-"
    if isinstance(v, float):
        return ("%." + str(digits) + "f") % v
    return str(v)


def us(ns):
    return "-" if ns is None else ("%.1f" % (ns / 1000.0))


def scenario_table(rep):
    head = ("| target | mode | impl | items | ran | kick IPIs/item (sent) | kick_process() calls | "
            "wake IPIs (sent) | other IPIs (sent) | IPIs/item (received) | RES | CAL | "
            "ran before syscall | p50 us | p90 us | p99 us | max us | queue ns/item | cost vs none | "
            "target interruptions/item | target lost us/item | if not run: after |")
    rows = [head, "|" + "---|" * 22]
    for s in rep["scenarios"]:
        if not s["supported"]:
            rows.append("| %s | %s | %s | unsupported (EOPNOTSUPP) |%s" %
                        (s["target"], s["mode"], s["impl"], " |" * 18))
            continue
        lat = s["latency_ns"] or {}
        sent = s.get("sent") or {}
        tl = s.get("target_lost") or {}
        rows.append("| %s | %s | %s | %d | %d | %s | %s | %s | %s | %s | %d | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            s["target"], s["mode"], s["impl"], s["items"], s["ran"],
            fmt(s.get("kick_ipis_per_item")), fmt(s.get("kick_process_calls")),
            fmt(sent.get("wake")), fmt(sent.get("other")), fmt(s["ipis_per_item"]),
            s["res"], s["cal"], fmt(s["ran_before_syscall"]),
            us(lat.get("p50")), us(lat.get("p90")), us(lat.get("p99")), us(lat.get("max")),
            fmt(s["queue_ns_per_item"], 0), fmt(s["queue_cost_vs_none"], 2),
            fmt(tl.get("interruptions_per_item"), 3), us(tl.get("lost_ns_per_item")),
            "%d ms: %s" % (s.get("poke_after_ms") or 0, s.get("poke") or "-")))
    return rows


def sweep_table(rep):
    rows = ["| mode | impl | offered/s | achieved/s | items | refused | kick IPIs/s | kick IPIs/item | "
            "target interruptions/s | target lost us/s | target lost us/item | p50 us | p99 us | "
            "CPU 1 received /s |",
            "|" + "---|" * 14]
    for p in rep["sweep"]:
        lat = p.get("latency_ns") or {}
        recv = sorted((p.get("received") or {}).items(), key=lambda kv: -kv[1])[:3]
        recv = ", ".join("%s %.0f" % (k, v / p["window_s"]) for k, v in recv) or "-"
        rows.append("| %s | %s | %s | %.0f | %d | %d | %.0f | %s | %.0f | %s | %s | %s | %s | %s |%s" % (
            p["mode"], p["impl"], "back to back" if p["offered_per_s"] is None else "%.0f" % p["offered_per_s"],
            p["achieved_per_s"], p["queued"], p["refused"], p["kick_ipis_per_s"],
            fmt(p["kick_ipis_per_item"]), p["interruptions_per_s"], us(p["lost_ns_per_s"]),
            us(p["lost_ns_per_item"]), us(lat.get("p50")), us(lat.get("p99")), recv,
            "" if not p.get("error") else " error: %s" % p["error"]))
    return rows


def top_sources(o, n=4):
    """The sources that cost the target most: "reschedule 50x 0.2 us, ..."."""
    srcs = sorted(o.get("sources") or [], key=lambda x: -x["ns"])[:n]
    return ", ".join("%s %dx %s us" % (x["name"], x["count"], us(x["ns"] / x["count"]))
                     for x in srcs) or "-"


def osnoise_lines(rep):
    """The kernel's own attribution of the target's interruptions."""
    status = [t for t in rep.get("osnoise") or [] if t["target"] != "sleeper"]
    if not status:
        return []
    if not any(t["available"] for t in status):
        return ["", "osnoise tracer not used: %s." % status[0]["why"]]
    rows = ["", "## The kernel's attribution: osnoise tracer on CPU 1", "",
            "The osnoise tracer (no workload thread of its own: the spinner is the workload) "
            "sums every NMI, IRQ, softirq and other thread that ran on CPU 1 by its source. "
            "It names what interrupted the target and how long the handler ran; the kernel "
            "time the target then spends on its own behalf (entry, exit, task_work_run, "
            "signal delivery) is the target's, so it counts in our lost time and not here. "
            "Per item: beyond the tracer's own baseline.", "",
            "| target | mode | impl | items | osnoise interruptions/item | osnoise us/item | "
            "our lost us/item | top sources (count, mean) |", "|" + "---|" * 8]
    for s in rep["scenarios"]:
        o = s.get("osnoise")
        if not s.get("supported") or not o:
            continue
        rows.append("| %s | %s | %s | %d | %s | %s | %s | %s |" % (
            s["target"], s["mode"], s["impl"], s["items"], fmt(o["count_per_item"]),
            us(o["ns_per_item"]), us((s.get("target_lost") or {}).get("lost_ns_per_item")),
            top_sources(o)))
    pts = [p for p in rep["sweep"] if p.get("osnoise")]
    if pts:
        rows += ["", "| sweep mode | impl | offered/s | achieved/s | osnoise reschedule/s | "
                 "osnoise us/item | our lost us/item | top sources (count, mean) |",
                 "|" + "---|" * 8]
        for p in pts:
            o = p["osnoise"]
            res = sum(x["count"] for x in o["sources"] if (x["class"], x["name"]) == ("irq", "reschedule"))
            rows.append("| %s | %s | %s | %.0f | %.0f | %s | %s | %s |" % (
                p["mode"], p["impl"], "back to back" if p["offered_per_s"] is None
                else "%.0f" % p["offered_per_s"], p["achieved_per_s"], res / p["window_s"],
                us(o["ns_per_item"]), us(p["lost_ns_per_item"]), top_sources(o)))
    return rows


def baseline_lines(rep):
    by_target = {}
    for b in rep["noise_baselines"]:
        by_target.setdefault(b["target"], []).append(b)
    parts = []
    for target, bs in by_target.items():
        lost = sorted(b["lost_ns_per_s"] for b in bs)
        count = sorted(b["interruptions_per_s"] for b in bs)
        parts.append("%s: median %.0f interruptions/s and %s lost/s (%s to %s) over %d windows, "
                     "threshold %s" % (target, count[len(count) // 2], dur(lost[len(lost) // 2]),
                                       dur(lost[0]), dur(lost[-1]), len(bs), dur(bs[0]["threshold_ns"])))
    if not parts:
        return []
    return ["Target noise with nothing queued, measured right before each scenario and sweep "
            "series and subtracted from its windows: " + "; ".join(parts) + "."]


def uring_table(rep, stimulus="pipe"):
    rows = ["| ring setup | supported | ops | kick IPIs/op (sent) | IPIs/op (received) | ops/s | "
            "ops/s vs default | saw IORING_SQ_TASKRUN |",
            "|---|---|---|---|---|---|---|---|"]
    for u in rep["io_uring"]:
        if u.get("stimulus", "pipe") != stimulus:
            continue
        if not u["stimulus_supported"]:
            return ["IORING_NOP_TW: not in this kernel (6.17+)."]
        if not u["supported"]:
            rows.append("| %s | no (errno %d) | | | | | | |" % (u["setup"], u["errno"]))
            continue
        rows.append("| %s | yes | %d | %s | %s | %.0f | %s | %d |" % (
            u["setup"], u["ops"],
            fmt(u.get("kick_ipis_per_op")) if u.get("sender_side") else "-",
            fmt(u["ipis_per_op"]), u["ops_per_s"],
            fmt(u["ops_per_s_vs_default"], 2), u["saw_taskrun"]))
    return rows


def markdown(rep):
    lines = [
        "# twa-noipi IPI report: %s" % rep["kernel"],
        "",
        "%s, %s, %d vCPUs, HZ=%d, native TWA_SIGNAL_NO_IPI: %s, nohz_full: %s, "
        "wake_up_state via %s." % (rep["generated"], rep["accel"].upper(), rep["cpus"], rep["hz"],
                                   "yes" if rep["native_signal_no_ipi"] else "no",
                                   rep["nohz_full"], rep["wake_up_state"]),
        "Items queued one at a time from CPU 0 to a target on CPU 1. Sent: IPIs to CPU 1 "
        "counted at the sender by the module's kprobes (kick IPI: sent by kick_process() "
        "from our queueing; wake: any other IPI from our queueing; other: everyone else). Received: "
        "RES + CAL on CPU 1 from /proc/interrupts, which includes the others and any IPI "
        "the poke itself causes (last column: what made the target enter the kernel if the "
        "item had not run by then). " + NOTE,
        "",
        "## task_work notification",
        "",
    ] + baseline_lines(rep) + [""] + scenario_table(rep)
    lines += osnoise_lines(rep)
    if rep["sweep"]:
        lines += ["", "## Rate sweep: items offered to the spinner at fixed rates (open loop)", "",
                  "One producer on CPU 0 queues items for a fixed time at each offered rate and "
                  "never waits for them to run: a TIF_NOTIFY_SIGNAL still set merges kicks. "
                  "Latency from the module's log (its last 4096 items).", ""] + sweep_table(rep)
    if rep.get("frontier"):
        lines += frontier.markdown(rep["frontier"])
    lines += ["", "## io_uring completions to a task spinning on CPU 1", "",
              "A read on a pipe that CPU 0 writes: io_uring queues the completion's task_work "
              "to the reaper from CPU 0.", ""] + uring_table(rep)
    if any(u["stimulus"] == "nop_tw" for u in rep["io_uring"]):
        lines += ["", "### Completions that are pure task_work (IORING_NOP_TW)", "",
                  "The reaper submits NOPs that complete through task_work queued to itself: "
                  "no IPI in any setup; the setups differ only in how that task_work runs.", ""] \
            + uring_table(rep, "nop_tw")
    lines += [""]
    if rep.get("headline"):
        lines[1:1] = ["", "**%s**" % rep["headline"]["text"]]
    return "\n".join(lines)


def bar_chart(out, size, title, ylabel, settings, plot):
    """A clustered bar chart as SVG, drawn by gnuplot."""
    if not shutil.which("gnuplot"):
        print("report.py: gnuplot not found (package gnuplot-nox): no %s" % out, file=sys.stderr)
        return
    script = """
set terminal svg size %s dynamic noenhanced font 'sans,11' background rgb 'white'
set output '%s'
set title '%s'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel '%s'
set key top left
%s
plot %s
""" % (size, out, title, ylabel, settings, plot)
    subprocess.run(["gnuplot"], input=script, text=True, check=True)


def plots(rep, outdir):
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "ipis.dat")
        with open(data, "w") as f:
            f.write("label native backport\n")
            order = ["spinner", "sleeper", "nohz"]
            targets = {s["target"] for s in rep["scenarios"]}
            for target in sorted(targets, key=lambda t: (order.index(t) if t in order else 9, t)):
                for mode in MODES:
                    vals = {}
                    for s in rep["scenarios"]:
                        if s["target"] == target and s["mode"] == mode:
                            vals[s["impl"]] = (s["kick_ipis_per_item"] if s.get("sender_side")
                                               else s["ipis_per_item"])
                    if vals:
                        f.write('"%s\\n%s" %s %s\n' % (target, mode,
                                                      fmt(vals.get("native"), 4).replace("-", "NaN"),
                                                      fmt(vals.get("backport"), 4).replace("-", "NaN")))
        bar_chart(os.path.join(outdir, "ipis.svg"), "1000,450",
                  "Kick IPIs sent to the target CPU per item: %s (%s)"
                  % (rep["kernel"], rep["accel"].upper()),
                  "kick IPIs per item (sender side)", "set yrange [0:*]\nset xtics font 'sans,9'",
                  "'%s' using 2:xtic(1) title 'native', '' using 3 title 'backport'" % data)

        latency_cdf(rep, tmp, os.path.join(outdir, "latency.svg"))
        if rep["sweep"]:
            sweep_plot(rep, tmp, os.path.join(outdir, "sweep.svg"))
        if rep.get("frontier"):
            frontier.plot(rep["frontier"], tmp, os.path.join(outdir, "frontier.svg"), gnuplot,
                          "Deadline frontier to a spinning target: %s (%s)"
                          % (rep["kernel"], rep["accel"].upper()))


def gnuplot(script):
    if not shutil.which("gnuplot"):
        print("report.py: gnuplot not found (package gnuplot-nox): no plots", file=sys.stderr)
        return
    subprocess.run(["gnuplot"], input=script, text=True, check=True)


MODE_COLOR = {"none": "#777777", "resume": "#1f77b4", "signal": "#d62728",
              "signal_no_ipi": "#2ca02c"}


def latency_cdf(rep, tmp, out):
    """Queue-to-run latency as a CDF per scenario: log time axis, one colour
    per mode, native solid and backport dashed; spinner and nohz targets."""
    plots = []
    for i, s in enumerate(rep["scenarios"]):
        q = s.get("latency_quantiles_ns")
        if not s.get("supported") or not q or s["target"] not in ("spinner", "nohz"):
            continue
        path = os.path.join(tmp, "cdf%d.dat" % i)
        with open(path, "w") as f:
            for quant, ns in q:
                f.write("%.3f %.4f\n" % (max(ns, 1) / 1000.0, quant / 100.0))
        plots.append("'%s' using 1:2 with lines lw 2 lc rgb '%s' dt %d title '%s %s %s'" % (
            path, MODE_COLOR.get(s["mode"], "black"), 1 if s["impl"] == "native" else 2,
            s["target"], s["mode"], s["impl"]))
    if not plots:
        return
    gnuplot("""
set terminal svg size 1100,550 dynamic noenhanced font 'sans,11' background rgb 'white'
set output '%s'
set title 'Queue-to-run latency CDF: %s (%s; emulated, compare modes)'
set logscale x
set xlabel 'latency (us, log scale)'
set ylabel 'fraction of items'
set yrange [0:1.02]
set key outside right top font 'sans,9'
set grid
plot %s
""" % (out, rep["kernel"], rep["accel"].upper(), ", ".join(plots)))


def sweep_plot(rep, tmp, out):
    """Kick IPIs/s and target time lost/s against the rate of work, log-log."""
    series = {}
    for p in rep["sweep"]:
        series.setdefault((p["mode"], p["impl"]), []).append(p)
    ipis, lost = [], []
    for (mode, impl), pts in series.items():
        path = os.path.join(tmp, "sweep-%s-%s.dat" % (mode, impl))
        with open(path, "w") as f:
            for p in sorted(pts, key=lambda p: p["achieved_per_s"]):
                # Log axes have no zero: 0 is drawn at 0.1.
                f.write("%.1f %.3f %.3f\n" % (p["achieved_per_s"], max(p["kick_ipis_per_s"], 0.1),
                                               max(p["lost_ns_per_s"] / 1000.0, 0.1)))
        style = "with linespoints lw 2 lc rgb '%s' dt %d title '%s %s'" % (
            MODE_COLOR.get(mode, "black"), 1 if impl == "native" else 2, mode, impl)
        ipis.append("'%s' using 1:2 %s" % (path, style))
        lost.append("'%s' using 1:3 %s" % (path, style))
    gnuplot("""
set terminal svg size 1200,500 dynamic noenhanced font 'sans,11' background rgb 'white'
set output '%s'
set multiplot layout 1,2 title 'Rate sweep to a spinning target: %s (%s; 0 drawn at 0.1)'
set logscale xy
set grid
set key top left font 'sans,9'
set xlabel 'items per second (achieved)'
set ylabel 'kick IPIs per second (sender side)'
plot %s
set ylabel 'target time lost (us per second, beyond baseline)'
plot %s
unset multiplot
""" % (out, rep["kernel"], rep["accel"].upper(), ", ".join(ipis), ", ".join(lost)))


def single(args):
    env, scenarios, uring, baselines, sweep, tracers = read_bench(args.results)
    rep = build_report(env, scenarios, uring, args.accel, baselines, sweep, tracers)
    frontier_points = frontier.read(args.results)
    if frontier_points:
        rep["frontier"] = frontier.summary(frontier_points)
        if rep.get("headline"):
            rep["headline"]["deadline_frontier"] = frontier.headline_text(rep["frontier"])
    outdir = os.path.join(args.out, rep["kernel"])
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "report.json"), "w") as f:
        json.dump(rep, f, indent=2)
        f.write("\n")
    md = markdown(rep)
    with open(os.path.join(outdir, "report.md"), "w") as f:
        f.write(md)
    plots(rep, outdir)
    print(md)
    print("report: %s/{report.json,report.md,ipis.svg,latency.svg,sweep.svg%s}"
          % (outdir, ",frontier.svg" if rep.get("frontier") else ""))
    if args.check:
        problems = check(rep)
        for p in problems:
            print("report.py: check: %s" % p, file=sys.stderr)
        print("report.py: check: %s" % ("%d problems" % len(problems) if problems else "complete"))
        sys.exit(1 if problems else 0)


def check(rep):
    """What makes a benchmark run incomplete (not: what makes it slow)."""
    problems = []
    for s in rep["scenarios"]:
        name = "%s %s/%s" % (s["target"], s["mode"], s["impl"])
        if not s.get("supported"):
            continue
        if s.get("error"):
            problems.append("%s: %s" % (name, s["error"]))
        if s["ran"] != s["items"]:
            problems.append("%s: %d of %d items ran" % (name, s["ran"], s["items"]))
        if s["target"] != "sleeper" and not s.get("target_lost"):
            problems.append("%s: no target_lost" % name)
        if not s.get("latency_quantiles_ns"):
            problems.append("%s: no latency_quantiles_ns" % name)
    if not rep["sweep"]:
        problems.append("no sweep points")
    for p in rep["sweep"]:
        name = "sweep %s/%s at %s" % (p["mode"], p["impl"], p["offered_per_s"] or "back to back")
        if p.get("error"):
            problems.append("%s: %s" % (name, p["error"]))
        if p["queued"] == 0 or p["ran"] != p["queued"]:
            problems.append("%s: %d queued, %d ran" % (name, p["queued"], p["ran"]))
    if not rep["noise_baselines"]:
        problems.append("no noise baseline")
    traced = {t["target"] for t in rep.get("osnoise") or [] if t["available"]}
    for s in rep["scenarios"]:
        if s["target"] in traced and s.get("supported") and not s.get("osnoise"):
            problems.append("%s %s/%s: osnoise tracer on, no attribution" % (s["target"], s["mode"], s["impl"]))
    if not rep.get("headline"):
        problems.append("no headline (spinner signal and signal_no_ipi missing)")
    if rep.get("frontier"):
        problems += frontier.check(rep["frontier"])
    return problems


def combine(args):
    reps = []
    for path in args.results:
        with open(path) as f:
            reps.append(upgrade_report(json.load(f)))
    kernels = [r["kernel"] for r in reps]
    keys = []
    for r in reps:
        for s in r["scenarios"]:
            k = (s["target"], s["mode"], s["impl"])
            if k not in keys:
                keys.append(k)
    # One row per kernel and scenario, the kernels of a scenario together:
    # nineteen kernels side by side would be a table no one can read.
    arch = {r["kernel"]: r.get("arch") or "?" for r in reps}
    rows = ["| target | mode | impl | kernel | arch | kick IPIs/item (sent) | IPIs/item (received) | p50 us |",
            "|---|---|---|---|---|---|---|---|"]
    table = []
    for k in keys:
        entry = {"target": k[0], "mode": k[1], "impl": k[2], "kernels": {}}
        for r in reps:
            s = next((x for x in r["scenarios"] if (x["target"], x["mode"], x["impl"]) == k), None)
            if not s or not s["supported"]:
                cells = ["n/a", "n/a", "n/a"]
                entry["kernels"][r["kernel"]] = None
            else:
                p50 = (s["latency_ns"] or {}).get("p50")
                cells = [fmt(s.get("kick_ipis_per_item")), fmt(s["ipis_per_item"]), us(p50)]
                entry["kernels"][r["kernel"]] = {"kick_ipis_per_item": s.get("kick_ipis_per_item"),
                                                 "ipis_per_item": s["ipis_per_item"], "latency_p50_ns": p50,
                                                 "queue_ns_per_item": s["queue_ns_per_item"]}
            rows.append("| %s | %s | %s | %s | %s | %s |" % (k[0], k[1], k[2], r["kernel"], arch[r["kernel"]],
                                                         " | ".join(cells)))
        table.append(entry)
    urows = ["| ring setup | kernel | arch | kick IPIs/op (sent) | IPIs/op (received) | ops/s vs default |",
             "|---|---|---|---|---|---|"]
    setups = []
    for r in reps:
        for u in r["io_uring"]:
            if u["setup"] not in setups:
                setups.append(u["setup"])
    for name in setups:
        for r in reps:
            u = next((x for x in r["io_uring"] if x["setup"] == name
                      and x.get("stimulus", "pipe") == "pipe"), None)
            if not u or not u["supported"]:
                cells = ["unsupported", "-", "-"]
            else:
                cells = [fmt(u.get("kick_ipis_per_op")), fmt(u["ipis_per_op"]), fmt(u["ops_per_s_vs_default"], 2)]
            urows.append("| %s | %s | %s | %s |" % (name, r["kernel"], arch[r["kernel"]], " | ".join(cells)))
    heads = ["- " + r["headline"]["text"] for r in reps if r.get("headline")]
    md = "\n".join(["# twa-noipi: kernels compared", "",
                    "Accel: %s. %s" % (", ".join(sorted({r["accel"].upper() for r in reps})), NOTE), ""]
                   + heads + ([""] if heads else []) + rows + ["", "## io_uring", ""] + urows + [""])
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "comparison.md"), "w") as f:
        f.write(md)
    with open(os.path.join(args.out, "comparison.json"), "w") as f:
        json.dump({"kernels": kernels, "arch": arch, "headlines": {r["kernel"]: r.get("headline") for r in reps},
                   "scenarios": table,
                   "io_uring": {r["kernel"]: r["io_uring"] for r in reps}}, f, indent=2)
        f.write("\n")
    print(md)
    print("comparison: %s/{comparison.md,comparison.json}" % args.out)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="results")
    p.add_argument("--accel", default="tcg")
    p.add_argument("--combine", action="store_true")
    p.add_argument("--check", action="store_true")
    p.add_argument("results", nargs="+")
    args = p.parse_args()
    combine(args) if args.combine else single(args)


if __name__ == "__main__":
    main()
