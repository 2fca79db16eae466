#!/usr/bin/env python3
"""Turn twa-bench output into the IPI report: JSON, a Markdown table, SVG plots.

  report.py [--out DIR] [--accel tcg|kvm] BENCH.jsonl [BENCH.jsonl...]
      one kernel: the JSON-lines files of twa-bench runs (a normal boot and,
      optionally, a nohz_full boot); writes
      DIR/<kernel-release>/report.{json,md}, ipis.svg, latency.svg and prints
      the table.
  report.py --combine [--out DIR] REPORT.json [REPORT.json...]
      several kernels: writes DIR/comparison.{json,md} and prints the table.
"""

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile

MODES = ["none", "resume", "signal", "signal_no_ipi"]
NOTE = ("Counts and ratios are the result. Under emulation (TCG) absolute "
        "times are not hardware figures: IPIs are emulated and the tick on a "
        "busy vCPU is irregular.")


def read_bench(paths):
    env, scenarios, uring = None, [], []
    for path in paths:
        with open(path, errors="replace") as f:
            for line in f:
                line = line.strip()
                if not line.startswith("{"):
                    continue
                rec = json.loads(line)
                kind = rec.pop("kind")
                if kind == "env":
                    env = env or rec
                elif kind == "scenario":
                    scenarios.append(rec)
                elif kind == "io_uring":
                    uring.append(rec)
    if env is None:
        sys.exit("report.py: no twa-bench output (env record) in %s" % ", ".join(paths))
    return env, scenarios, uring


def fill_scenario(s, none_cost):
    """Give every scenario the same keys; add the cost ratio against none."""
    if not s.get("supported", True):
        s.update(items=0, ran=0, ipis=0, ipis_per_item=None, res=0, cal=0, kicks=0,
                 wakeups=0, sender_side=False, sent=None, kick_calls=None,
                 kick_ipis_per_item=None, senders=[], ran_before_syscall=None, latency_ns=None,
                 queue_ns_per_item=None, queue_cost_vs_none=None, error=None,
                 poke=None, poke_after_ms=None)
        return s
    base = none_cost.get((s["target"], s["impl"]))
    q = s.get("queue_ns_per_item")
    s["queue_cost_vs_none"] = round(q / base, 3) if base and q is not None else None
    return s


def build_report(env, scenarios, uring, accel):
    none_cost = {(s["target"], s["impl"]): s["queue_ns_per_item"]
                 for s in scenarios if s["mode"] == "none" and s.get("supported")}
    scenarios = [fill_scenario(s, none_cost) for s in scenarios]
    default = next((u for u in uring if u["setup"] == "default" and u["supported"]), None)
    for u in uring:
        ok = u["supported"] and default and default["ops_per_s"]
        u["ops_per_s_vs_default"] = round(u["ops_per_s"] / default["ops_per_s"], 3) if ok else None
        if not u["supported"]:
            u["ipis_per_op"] = None
            u["kicks_per_op"] = None
            u["ops_per_s"] = None
    return {
        "kernel": env["kernel"],
        "native_signal_no_ipi": env["native_signal_no_ipi"],
        "cpus": env["cpus"],
        "hz": env["hz"],
        "accel": accel,
        "nohz_full": env.get("nohz_full"),
        "wake_up_state": env.get("wake_up_state"),
        "generated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "note": NOTE,
        "scenarios": scenarios,
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
    head = ("| target | mode | impl | items | ran | kick IPIs/item (sent) | kick calls | "
            "wake IPIs (sent) | other IPIs (sent) | IPIs/item (received) | RES | CAL | "
            "ran before syscall | p50 us | p90 us | p99 us | max us | queue ns/item | cost vs none | "
            "if not run: after |")
    rows = [head, "|" + "---|" * 20]
    for s in rep["scenarios"]:
        if not s["supported"]:
            rows.append("| %s | %s | %s | unsupported (EOPNOTSUPP) |%s" %
                        (s["target"], s["mode"], s["impl"], " |" * 16))
            continue
        lat = s["latency_ns"] or {}
        sent = s.get("sent") or {}
        rows.append("| %s | %s | %s | %d | %d | %s | %s | %s | %s | %s | %d | %d | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            s["target"], s["mode"], s["impl"], s["items"], s["ran"],
            fmt(s.get("kick_ipis_per_item")), fmt(s.get("kick_calls")),
            fmt(sent.get("wake")), fmt(sent.get("other")), fmt(s["ipis_per_item"]),
            s["res"], s["cal"], fmt(s["ran_before_syscall"]),
            us(lat.get("p50")), us(lat.get("p90")), us(lat.get("p99")), us(lat.get("max")),
            fmt(s["queue_ns_per_item"], 0), fmt(s["queue_cost_vs_none"], 2),
            "%d ms: %s" % (s.get("poke_after_ms") or 0, s.get("poke") or "-")))
    return rows


def uring_table(rep):
    rows = ["| ring setup | supported | ops | kick IPIs/op (sent) | IPIs/op (received) | ops/s | "
            "ops/s vs default | saw IORING_SQ_TASKRUN |",
            "|---|---|---|---|---|---|---|---|"]
    for u in rep["io_uring"]:
        if not u["supported"]:
            rows.append("| %s | no (errno %d) | | | | | | |" % (u["setup"], u["errno"]))
            continue
        rows.append("| %s | yes | %d | %s | %s | %.0f | %s | %d |" % (
            u["setup"], u["ops"],
            fmt(u.get("kicks_per_op")) if u.get("sender_side") else "-",
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
        "counted at the sender by the module's kprobes (kick: kick_process() from our "
        "queueing; wake: any other IPI from our queueing; other: everyone else). Received: "
        "RES + CAL on CPU 1 from /proc/interrupts, which includes the others and any IPI "
        "the poke itself causes (last column: what made the target enter the kernel if the "
        "item had not run by then). " + NOTE,
        "",
        "## task_work notification",
        "",
    ] + scenario_table(rep) + ["", "## io_uring completions to a task spinning on CPU 1", ""] \
        + uring_table(rep) + [""]
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

        lat = os.path.join(tmp, "latency.dat")
        with open(lat, "w") as f:
            f.write("label p50 p90 p99 max\n")
            for s in rep["scenarios"]:
                if not s["supported"] or not s["latency_ns"]:
                    continue
                l = s["latency_ns"]
                vals = [max(l[k], 1) / 1000.0 for k in ("p50", "p90", "p99", "max")]
                f.write('"%s %s\\n%s" %s\n' % (s["target"], s["mode"], s["impl"],
                                               " ".join("%.3f" % v for v in vals)))
        bar_chart(os.path.join(outdir, "latency.svg"), "1400,500",
                  "Queue-to-run latency per scenario: %s (%s; emulated, compare ratios)"
                  % (rep["kernel"], rep["accel"].upper()),
                  "latency (us, log scale)", "set logscale y\nset xtics rotate by -60 font 'sans,8'",
                  "'%s' using 2:xtic(1) title 'p50', '' using 3 title 'p90', "
                  "'' using 4 title 'p99', '' using 5 title 'max'" % lat)


def single(args):
    env, scenarios, uring = read_bench(args.results)
    rep = build_report(env, scenarios, uring, args.accel)
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
    print("report: %s/{report.json,report.md,ipis.svg,latency.svg}" % outdir)


def combine(args):
    reps = []
    for path in args.results:
        with open(path) as f:
            reps.append(json.load(f))
    kernels = [r["kernel"] for r in reps]
    keys = []
    for r in reps:
        for s in r["scenarios"]:
            k = (s["target"], s["mode"], s["impl"])
            if k not in keys:
                keys.append(k)
    rows = ["| target | mode | impl | " + " | ".join("%s kick IPIs/item (sent) | %s IPIs/item (received) | %s p50 us"
                                                   % (k, k, k) for k in kernels) + " |",
            "|---|---|---|" + "---|---|---|" * len(kernels)]
    table = []
    for k in keys:
        cells, entry = [], {"target": k[0], "mode": k[1], "impl": k[2], "kernels": {}}
        for r in reps:
            s = next((x for x in r["scenarios"] if (x["target"], x["mode"], x["impl"]) == k), None)
            if not s or not s["supported"]:
                cells += ["n/a", "n/a", "n/a"]
                entry["kernels"][r["kernel"]] = None
                continue
            p50 = (s["latency_ns"] or {}).get("p50")
            cells += [fmt(s.get("kick_ipis_per_item")), fmt(s["ipis_per_item"]), us(p50)]
            entry["kernels"][r["kernel"]] = {"kick_ipis_per_item": s.get("kick_ipis_per_item"),
                                             "ipis_per_item": s["ipis_per_item"], "latency_p50_ns": p50,
                                             "queue_ns_per_item": s["queue_ns_per_item"]}
        rows.append("| %s | %s | %s | %s |" % (k[0], k[1], k[2], " | ".join(cells)))
        table.append(entry)
    urows = ["| ring setup | " + " | ".join("%s kick IPIs/op (sent) | %s IPIs/op (received) | %s ops/s vs default"
                                           % (k, k, k) for k in kernels) + " |",
             "|---|" + "---|---|---|" * len(kernels)]
    setups = []
    for r in reps:
        for u in r["io_uring"]:
            if u["setup"] not in setups:
                setups.append(u["setup"])
    for name in setups:
        cells = []
        for r in reps:
            u = next((x for x in r["io_uring"] if x["setup"] == name), None)
            if not u or not u["supported"]:
                cells += ["unsupported", "-", "-"]
            else:
                cells += [fmt(u.get("kicks_per_op")), fmt(u["ipis_per_op"]),
                          fmt(u["ops_per_s_vs_default"], 2)]
        urows.append("| %s | %s |" % (name, " | ".join(cells)))
    md = "\n".join(["# twa-noipi: kernels compared", "",
                    "Accel: %s. %s" % (", ".join(sorted({r["accel"].upper() for r in reps})), NOTE), ""]
                   + rows + ["", "## io_uring", ""] + urows + [""])
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "comparison.md"), "w") as f:
        f.write(md)
    with open(os.path.join(args.out, "comparison.json"), "w") as f:
        json.dump({"kernels": kernels, "scenarios": table,
                   "io_uring": {r["kernel"]: r["io_uring"] for r in reps}}, f, indent=2)
        f.write("\n")
    print(md)
    print("comparison: %s/{comparison.md,comparison.json}" % args.out)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="results")
    p.add_argument("--accel", default="tcg")
    p.add_argument("--combine", action="store_true")
    p.add_argument("results", nargs="+")
    args = p.parse_args()
    combine(args) if args.combine else single(args)


if __name__ == "__main__":
    main()
