#!/usr/bin/env python3
"""Turn twa-bench output into the IPI report: JSON, a Markdown table, SVG plots.

  report.py [--out DIR] [--accel tcg|kvm] BENCH.jsonl [BENCH.jsonl...]
      one kernel: the JSON-lines files of twa-bench runs (a normal boot and,
      optionally, a nohz_full boot); writes
      DIR/<kernel-release>/report.{json,md}, ipis.svg, latency.svg (CDF),
      sweep.svg and prints the tables.
  report.py --combine [--out DIR] REPORT.json [REPORT.json...]
      several kernels: writes DIR/comparison.{json,md} and prints the table.
  report.py --compare REPORT.json REPORT.json
      two runs on one kernel: does every headline interval of the first
      overlap the second's, and are the intervals of the IPIs saved and of
      the latencies p50 narrower than +-25 % of their value? (exit 1 if not)
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
import random
import re
import shutil
import subprocess
import sys
import tempfile

import frontier

MODES = ["none", "resume", "signal", "signal_no_ipi"]
NOTE = ("Counts and ratios are the result. Under emulation (TCG) absolute "
        "times are not hardware figures: IPIs are emulated and the tick on a "
        "busy vCPU is irregular.")
HOST_NOTE = ("Counts and ratios are the result. Times are the running kernel's on "
             "this machine (make bench): hardware figures on bare metal, that "
             "virtual machine's under a hypervisor, emulated ones under QEMU TCG.")


def note_for(accel):
    return HOST_NOTE if accel == "host" else NOTE


# Spread over rounds (docs/report.md, "Rounds and intervals"). Every figure
# is the median of its per-round values with a 95 % interval for that
# median: below BOOTSTRAP_MIN rounds the min-max of the rounds (an interval
# for the median of coverage 1 - 2^(1-R): 93.8 % at 5 rounds, 96.9 % at 6,
# the best a distribution-free interval gets from so few), from
# BOOTSTRAP_MIN on a percentile bootstrap over the rounds (seeded: the same
# input gives the same report). Rounds pooled from several boots (make run
# --boots) are not independent: a boot under TCG has its own level (on 7.x
# signal_no_ipi's p99 sat near 4.5 ms in every round of one boot and near
# 7 ms in every round of the next). Their bootstrap is a cluster bootstrap:
# each resample draws the boots with replacement, then rounds with
# replacement within each boot drawn, so that the interval carries what
# differs between boots, not only between rounds.
BOOTSTRAP_MIN = 10
BOOTSTRAP_RESAMPLES = 2000
# The boot each round came from, where the rounds of several boots are
# pooled: {round: boot}, set by read_bench(); empty for one boot.
BOOT_OF_ROUND = {}
FEW_SAMPLES = 100  # a percentile with fewer samples beyond it is flagged


def median(vals):
    v = sorted(vals)
    n = len(v)
    if not n:
        return None
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2.0


def interval_method(rounds, boots=1):
    if rounds >= BOOTSTRAP_MIN:
        return "bootstrap over boots and rounds" if boots > 1 else "bootstrap"
    return "min-max"


def interval_coverage(rounds):
    """The coverage of the interval for the median at @rounds rounds."""
    if rounds >= BOOTSTRAP_MIN:
        return 0.95
    return round(1 - 2.0 ** (1 - rounds), 3) if rounds > 1 else 0.0


def clusters(values):
    """@values ({round: value} or a list) as lists of values, one per boot
    (BOOT_OF_ROUND; a list, or rounds of one boot: one cluster). None left
    out, empty clusters dropped."""
    if not isinstance(values, dict):
        return [[v for v in values if v is not None]]
    out = {}
    for r in sorted(values):
        if values[r] is not None:
            out.setdefault(BOOT_OF_ROUND.get(r, 0), []).append(values[r])
    return [c for _, c in sorted(out.items()) if c] or [[]]


def resample(cl, rng):
    """One cluster-bootstrap resample of the clusters @cl: boots drawn with
    replacement, then rounds with replacement within each (one cluster: the
    plain bootstrap over rounds)."""
    out = []
    for _ in cl:
        c = cl[rng.randrange(len(cl))] if len(cl) > 1 else cl[0]
        out.extend(rng.choice(c) for _ in c)
    return out


def spread(values, seed=24):
    """{median, lo, hi, rounds, boots, method, values} of per-round @values
    ({round: value}, or a list of rounds of one boot; None left out); None
    if there is none."""
    cl = clusters(values)
    vals = [v for c in cl for v in c]
    if not vals:
        return None
    med = median(vals)
    n = len(vals)
    if n >= BOOTSTRAP_MIN:
        rng = random.Random(seed)
        meds = sorted(median(resample(cl, rng)) for _ in range(BOOTSTRAP_RESAMPLES))
        lo, hi = meds[int(0.025 * len(meds))], meds[int(0.975 * len(meds)) - 1]
    else:
        lo, hi = min(vals), max(vals)
    return {"median": med, "lo": lo, "hi": hi, "rounds": n, "boots": len(cl),
            "method": interval_method(n, len(cl)), "values": vals}


def overlap(a, b):
    """Do the intervals of spreads @a and @b overlap (or is one missing)?"""
    if not a or not b:
        return True
    return a["lo"] <= b["hi"] and b["lo"] <= a["hi"]


def paired(a, b, fn):
    """Per round, fn(a's value, b's value) of two {round: value} maps, as
    {round: value}: a derived figure's rounds (its interval comes from them,
    not from the medians)."""
    out = {}
    for r in sorted(set(a) & set(b)):
        if a[r] is None or b[r] is None:
            continue
        try:
            out[r] = fn(a[r], b[r])
        except ZeroDivisionError:
            pass
    return out


def dig(rec, path):
    """rec["a"]["b"] for path "a.b"; None where any part is missing."""
    for part in path.split("."):
        if not isinstance(rec, dict):
            return None
        rec = rec.get(part)
    return rec


def put_path(rec, path, value):
    parts = path.split(".")
    for part in parts[:-1]:
        if not isinstance(rec.get(part), dict):
            return
        rec = rec[part]
    rec[parts[-1]] = value


def by_round(recs, path):
    return {r["round"]: dig(r, path) for r in recs}


def samples_above(n, q):
    """Items of @n beyond the @q-th percentile as twa-bench takes it
    (measure.cpp's percentile(): index lround(q/100 (n-1)) of the sorted)."""
    if not n:
        return 0
    idx = min(int(q / 100.0 * (n - 1) + 0.5), n - 1)
    return n - 1 - idx


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


def bench_env(path):
    """The env record of a bench.jsonl ({} if none) and the highest round
    number of its records."""
    env, last = {}, 1
    with open(path, errors="replace") as f:
        for line in f:
            if not line.startswith("{"):
                continue
            rec = json.loads(line)
            if rec.get("kind") == "env":
                env = env or rec
            else:
                last = max(last, rec.get("round") or 1)
    return env, last


def targets_key(env):
    """The targets a bench run measured (its --targets), as a key."""
    argv = env.get("argv") or []
    for i, a in enumerate(argv[:-1]):
        if a == "--targets":
            return argv[i + 1]
    return "default"


def round_offsets(paths):
    """Per file, the number its rounds are shifted by; per file, which boot
    of its targets it is (0, 1, ...); and the number of boots behind the
    first file's targets. Files of the same targets are boots of one bench
    (make run --boots): their rounds are numbered on, the second boot's
    round 1 being the first's R + 1, so that every figure is the median over
    the rounds of all boots and its interval spans what differs between
    boots (a cluster bootstrap: spread()). Under TCG that is more than what
    differs between rounds: signal_no_ipi's p99 on 6.1 was 7.2 ms in every
    round of one boot and 4.6 ms in every round of the next."""
    offsets, seen = [], {}
    keys, boot = [], []
    for path in paths:
        env, last = bench_env(path)
        key = targets_key(env)
        boot.append(keys.count(key))
        keys.append(key)
        offsets.append(seen.get(key, 0))
        seen[key] = seen.get(key, 0) + last
    return offsets, boot, (keys.count(keys[0]) if keys else 1)


def read_bench(paths):
    """The records of twa-bench runs; the warm-up round's are dropped (their
    number is in env["warmup_records_dropped"]). A run before rounds has
    every record in round 1."""
    env, scenarios, uring, baselines, sweep, tracers = None, [], [], [], [], []
    dropped, ipitrace = 0, []
    offsets, boot_of_file, boots = round_offsets(paths)
    BOOT_OF_ROUND.clear()
    for path, offset, boot in zip(paths, offsets, boot_of_file):
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
                    continue
                if rec.get("warmup"):
                    dropped += 1
                    continue
                rec["round"] = rec.get("round", 1) + offset
                if boots > 1:
                    BOOT_OF_ROUND[rec["round"]] = boot
                rec.pop("warmup", None)
                if kind == "env":
                    env = env or rec
                elif kind == "ipi_tracepoints":
                    ipitrace.append(rec)
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
    env["warmup_records_dropped"] = dropped
    env["boots"] = boots
    env["ipi_tracepoints"] = ipitrace[0] if ipitrace else None
    return env, scenarios, uring, baselines, sweep, tracers


# What is summed over rounds (counts) and what is the median of the rounds
# (rates, per-item figures, times), for each record kind.
SCEN_SUMS = ["items", "ran", "ipis", "res", "cal", "backport_kick_process_calls", "wakeups",
             "kick_process_calls", "kick_ipis_owed", "sent.kick_ipi", "sent.wake", "sent.other",
             "ran_before_syscall", "target_lost.interruptions", "target_lost.lost_ns",
             "osnoise.count", "osnoise.ns"]
SCEN_FIGS = ["kick_ipis_per_item", "ipis_per_item", "queue_ns_per_item", "latency_ns.p50",
             "latency_ns.p90", "latency_ns.p99", "latency_ns.max",
             "target_lost.interruptions_per_item", "target_lost.lost_ns_per_item",
             "osnoise.count_per_item", "osnoise.ns_per_item"]
SWEEP_SUMS = ["seconds", "window_s", "queued", "refused", "ran", "kick_process_calls",
              "kick_ipis_owed", "kick_ipis", "wake_ipis", "other_ipis", "latency_items",
              "osnoise.count", "osnoise.ns"]
SWEEP_FIGS = ["achieved_per_s", "kick_ipis_per_s", "kick_ipis_per_item", "interruptions_per_s",
              "lost_ns_per_s", "lost_ns_per_item", "latency_ns.p50", "latency_ns.p99",
              "osnoise.count_per_item", "osnoise.ns_per_item"]
URING_SUMS = ["ops", "ipis", "kick_ipis", "saw_taskrun"]
URING_FIGS = ["ipis_per_op", "kick_ipis_per_op", "ops_per_s"]
BASE_FIGS = ["interruptions_per_s", "lost_ns_per_s", "osnoise_per_s.count", "osnoise_per_s.ns"]
PCTS = {"p50": 50, "p90": 90, "p99": 99, "max": 100}


def group(recs, keyfn):
    groups = {}
    for r in recs:
        groups.setdefault(keyfn(r), []).append(r)
    return groups


def merge_counts(lists, keys):
    """[{...keys, count}] lists of the rounds summed by @keys."""
    out = {}
    for lst in lists:
        for x in lst or []:
            k = tuple(x.get(key) for key in keys)
            if k not in out:
                out[k] = dict(x, count=0)
                out[k].pop("ns", None)
            out[k]["count"] += x.get("count", 0)
            if "ns" in x:
                out[k]["ns"] = out[k].get("ns", 0) + x["ns"]
    return sorted(out.values(), key=lambda x: -x["count"])


def merge_tracepoints(recs):
    """The IPI tracepoints' counts of the rounds, summed; None if none."""
    tps = [r.get("tracepoints") for r in recs if r.get("tracepoints")]
    if not tps:
        return None
    out = {k: sum(t.get(k, 0) for t in tps) for k in ("total", "res", "cal", "kick_ipi")}
    out["sites"] = merge_counts([t.get("sites") for t in tps], ("event", "callsite", "callback"))
    return out


def aggregate(recs, sums, figs):
    """One record from the rounds of one measurement: the first round's
    record, counts summed, figures the median of the rounds; "spread"
    {figure: spread()} and "rounds" added."""
    recs = sorted(recs, key=lambda r: r["round"])
    out = json.loads(json.dumps(recs[0]))
    out.pop("round", None)
    out["rounds"] = len(recs)
    for path in sums:
        vals = [dig(r, path) for r in recs]
        if any(v is not None for v in vals):
            put_path(out, path, sum(v for v in vals if v is not None))
    out["spread"] = {}
    for path in figs:
        sp = spread({r["round"]: dig(r, path) for r in recs})
        if sp is None:
            continue
        out["spread"][path] = sp
        put_path(out, path, sp["median"])
    return out


def merge_sources(a, recs):
    """A measurement's per-source counts over its rounds, summed: the osnoise
    tracer's sources and the IPI tracepoints' call sites."""
    if isinstance(a.get("osnoise"), dict):
        a["osnoise"]["sources"] = merge_counts([dig(r, "osnoise.sources") for r in recs],
                                               ("class", "name"))
    a["tracepoints"] = merge_tracepoints(recs)


def aggregate_scenarios(scenarios):
    out = []
    for key, recs in group(scenarios, lambda s: (s["target"], s["mode"], s["impl"])).items():
        if not recs[0].get("supported", True):
            out.append(dict(recs[0], rounds=len(recs)))
            continue
        a = aggregate(recs, SCEN_SUMS, SCEN_FIGS)
        a["per_round"] = {"round": [r["round"] for r in sorted(recs, key=lambda r: r["round"])]}
        for path in SCEN_FIGS:
            a["per_round"][path] = by_round(recs, path)
        n = [r.get("items", 0) for r in recs]
        a["items_per_round"] = median(n)
        # The samples behind each latency percentile: every round's items,
        # and how many of them lie beyond it in each round.
        per = int(median(n)) if n else 0
        a["latency_samples"] = {"per_round": per, "rounds": len(recs), "total": sum(n),
                                "beyond_per_round": {p: samples_above(per, q) for p, q in PCTS.items()},
                                "few": [p for p, q in PCTS.items()
                                        if q < 100 and samples_above(per, q) < FEW_SAMPLES]}
        qs = [r.get("latency_quantiles_ns") for r in recs if r.get("latency_quantiles_ns")]
        if qs:
            band = []
            for i, (q, _) in enumerate(qs[0]):
                vals = [x[i][1] for x in qs if i < len(x)]
                band.append([q, median(vals), min(vals), max(vals)])
            a["latency_quantiles_ns"] = [[q, m] for q, m, _, _ in band]
            a["latency_quantiles_band_ns"] = [[q, lo, hi] for q, _, lo, hi in band]
        a["senders"] = merge_counts([r.get("senders") for r in recs], ("origin", "vector", "caller"))
        merge_sources(a, recs)
        out.append(a)
    return out


def aggregate_sweep(sweep):
    out = []
    for key, recs in group(sweep, lambda p: (p["target"], p["mode"], p["impl"],
                                             p["offered_per_s"])).items():
        a = aggregate(recs, SWEEP_SUMS, SWEEP_FIGS)
        a["per_round"] = {path: by_round(recs, path) for path in SWEEP_FIGS}
        recv = {}
        for r in recs:
            for k, v in (r.get("received") or {}).items():
                recv[k] = recv.get(k, 0) + v
        a["received"] = recv
        a["error"] = next((r["error"] for r in recs if r.get("error")), None)
        merge_sources(a, recs)
        out.append(a)
    return out


def aggregate_uring(uring):
    out = []
    for key, recs in group(uring, lambda u: (u["setup"], u.get("stimulus", "pipe"))).items():
        a = aggregate(recs, URING_SUMS, URING_FIGS)
        a["per_round"] = {path: by_round(recs, path) for path in URING_FIGS}
        a["tracepoints"] = merge_tracepoints(recs)
        out.append(a)
    return out


def baseline_summary(baselines):
    """Per target: the baseline windows' figures, median and interval."""
    out = []
    for target, bs in group(baselines, lambda b: b["target"]).items():
        # A round's windows (one before the scenarios, one before the
        # sweep): their mean is the round's value.
        rounds = group(bs, lambda b: b.get("round", 1))
        entry = {"target": target, "windows": len(bs), "rounds": len(rounds),
                 "threshold_ns": bs[0].get("threshold_ns"), "spread": {}}
        for path in BASE_FIGS:
            vals = {}
            for r, rb in sorted(rounds.items()):
                v = [dig(b, path) for b in rb if dig(b, path) is not None]
                if v:
                    vals[r] = sum(v) / len(v)
            sp = spread(vals)
            if sp:
                entry["spread"][path] = sp
                put_path(entry, path.replace(".", "_"), sp["median"])
        windows = [b["lost_ns_per_s"] for b in bs]
        entry["lost_ns_per_s_windows"] = {"min": min(windows), "max": max(windows)}
        out.append(entry)
    return out


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


def kick_path(s):
    """Sent (the module's count) where the kernel's IPIs are counted at the
    sender, else received."""
    return "kick_ipis_per_item" if s.get("sender_side") else "ipis_per_item"


def rounds_of(rec, path):
    """{round: value} of an aggregated record's figure (a run before rounds:
    its one value in round 1)."""
    pr = (rec.get("per_round") or {}).get(path)
    if pr is not None:
        return {int(k): v for k, v in pr.items()}
    return {1: dig(rec, path)}


def sp_of(rec, path):
    return (rec.get("spread") or {}).get(path) or spread([dig(rec, path)])


def sweep_saving(sweep, impl):
    """Target time per item SIGNAL loses beyond NO_IPI at one offered rate
    (10000/s if swept, else the highest both have): equal windows, so the
    baseline's uncertainty weighs the same on both, and at 10000/s the
    difference stands well above it (about 1 us per item under TCG, where
    1000/s leaves 10) while every item still gets its own kick. Returns the
    per-round savings, the rate and the two points."""
    pts = {(p["mode"], p["offered_per_s"]): p for p in sweep
           if p["impl"] == impl and p["target"] == "spinner" and not p.get("error")}
    rates = sorted(r for (m, r) in pts if m == "signal" and r and ("signal_no_ipi", r) in pts)
    if not rates:
        return None, None, None, None
    rate = 10000 if 10000 in rates else rates[-1]
    sig, nip = pts[("signal", rate)], pts[("signal_no_ipi", rate)]
    saved = paired(rounds_of(sig, "lost_ns_per_item"), rounds_of(nip, "lost_ns_per_item"),
                   lambda a, b: a - b)
    return saved, rate, sig, nip


def iv(sp, f):
    """"median [lo, hi]" of a spread, each through @f."""
    if not sp:
        return "-"
    if sp["rounds"] < 2 or sp["lo"] == sp["hi"] == sp["median"]:
        return f(sp["median"])
    return "%s [%s, %s]" % (f(sp["median"]), f(sp["lo"]), f(sp["hi"]))


def headline(env, scenarios, sweep=()):
    """What NO_IPI saves and costs against SIGNAL, for a spinning target,
    each figure with its interval over the rounds."""
    impl = "native" if env["native_signal_no_ipi"] else "backport"
    sig = find(scenarios, "spinner", "signal", impl)
    nip = find(scenarios, "spinner", "signal_no_ipi", impl)
    if not sig or not nip:
        return None
    sp = {}
    sp["ipis_saved_per_item"] = spread(paired(rounds_of(sig, kick_path(sig)),
                                              rounds_of(nip, kick_path(nip)), lambda a, b: a - b))
    saved, rate, ssig, snip = sweep_saving(sweep, impl)
    if saved is None:
        path = "target_lost.lost_ns_per_item"
        ssig, snip = sig, nip
        saved = paired(rounds_of(sig, path), rounds_of(nip, path), lambda a, b: a - b)
        lost_path = path
    else:
        lost_path = "lost_ns_per_item"
    sp["target_ns_saved_per_item"] = spread(saved)
    for p in ("p50", "p99"):
        path = "latency_ns." + p
        sp["latency_%s_ns.signal" % p] = sp_of(sig, path)
        sp["latency_%s_ns.signal_no_ipi" % p] = sp_of(nip, path)
        sp["latency_%s_ns.ratio" % p] = spread(paired(rounds_of(nip, path), rounds_of(sig, path),
                                                      lambda a, b: a / b))
    med = lambda k: (sp.get(k) or {}).get("median")
    within = {
        "ipis_saved_per_item": overlap(sp_of(sig, kick_path(sig)), sp_of(nip, kick_path(nip))),
        "target_ns_saved_per_item": overlap(sp_of(ssig, lost_path), sp_of(snip, lost_path)),
        "latency_p50_ns": overlap(sp["latency_p50_ns.signal"], sp["latency_p50_ns.signal_no_ipi"]),
        "latency_p99_ns": overlap(sp["latency_p99_ns.signal"], sp["latency_p99_ns.signal_no_ipi"]),
    }
    rnd = lambda v, d: None if v is None else round(v, d)
    h = {
        "target": "spinner", "impl": impl,
        "ipis_saved_per_item": rnd(med("ipis_saved_per_item"), 3),
        "target_ns_saved_per_item": rnd(med("target_ns_saved_per_item"), 0),
        "target_saving_rate_per_s": rate,
        "latency_p50_ns": {"signal": med("latency_p50_ns.signal"),
                           "signal_no_ipi": med("latency_p50_ns.signal_no_ipi"),
                           "ratio": rnd(med("latency_p50_ns.ratio"), 1)},
        "latency_p99_ns": {"signal": med("latency_p99_ns.signal"),
                           "signal_no_ipi": med("latency_p99_ns.signal_no_ipi"),
                           "ratio": rnd(med("latency_p99_ns.ratio"), 1)},
        "spread": sp, "within_noise": within,
        "rounds": sig.get("rounds", 1),
        "interval": interval_name(sig.get("rounds", 1), env.get("boots", 1)),
        "latency_samples": sig.get("latency_samples"),
    }
    usf = lambda v: "%.1f us" % (v / 1000.0)
    x = lambda v: "x%.0f" % v if v >= 10 else "x%.1f" % v
    tsave = sp["target_ns_saved_per_item"]
    where = "at %d items/s" % rate if rate else "one item at a time"
    if tsave is None:
        target_text = "- of the target's time per item"
    elif within["target_ns_saved_per_item"]:
        target_text = "target time per item within noise (%s, %s)" % (iv(tsave, usf), where)
    else:
        target_text = "%s of the target's time per item (%s)" % (iv(tsave, usf), where)
    ipi_text = ("%s IPIs per item" % iv(sp["ipis_saved_per_item"], lambda v: "%.2f" % v)
                if not within["ipis_saved_per_item"] else
                "IPIs per item within noise (%s)" % iv(sp["ipis_saved_per_item"], lambda v: "%.2f" % v))
    same = lambda k: "; no difference measured" if within[k] else ""
    few = (sig.get("latency_samples") or {}).get("few") or []
    p99note = " (p99 on %d items a round: %s)" % (
        (sig.get("latency_samples") or {}).get("per_round", 0),
        "fewer than %d beyond it" % FEW_SAMPLES) if "p99" in few else ""
    h["text"] = ("%s: TWA_SIGNAL_NO_IPI instead of TWA_SIGNAL (%s, to a task spinning in user "
                 "space; median of %d rounds%s, %s) saves %s and %s; it pays latency p50 %s "
                 "instead of %s (%s), p99 %s instead of %s (%s)%s." % (
                     env["kernel"], impl, h["rounds"], boots_text(env), h["interval"], ipi_text,
                     target_text,
                     iv(sp["latency_p50_ns.signal_no_ipi"], dur), iv(sp["latency_p50_ns.signal"], dur),
                     iv(sp["latency_p50_ns.ratio"], x) + same("latency_p50_ns"),
                     iv(sp["latency_p99_ns.signal_no_ipi"], dur), iv(sp["latency_p99_ns.signal"], dur),
                     iv(sp["latency_p99_ns.ratio"], x) + same("latency_p99_ns"), p99note))
    return h


def interval_name(rounds, boots=1):
    if rounds >= BOOTSTRAP_MIN and boots > 1:
        return ("95%% bootstrap interval over %d rounds of %d boots (boots resampled, "
                "then rounds within them)" % (rounds, boots))
    if rounds >= BOOTSTRAP_MIN:
        return "95%% bootstrap interval over %d rounds" % rounds
    if rounds < 2:
        return "one round: no interval"
    return "interval: min-max of %d rounds, %.1f%% for the median" % (
        rounds, 100 * interval_coverage(rounds))


DIFF_FIGS = [("kick IPIs/item", None), ("latency p50", "latency_ns.p50"),
             ("latency p99", "latency_ns.p99"), ("target lost/item", "target_lost.lost_ns_per_item")]


def differences(scenarios):
    """Native against backport (per target and mode) and signal_no_ipi
    against signal (per target and impl): each figure's change (b - a, per
    round) with its interval, "no difference measured" where the two
    figures' intervals overlap."""
    out = []
    pairs = []
    targets = []
    for s in scenarios:
        if s["target"] not in targets:
            targets.append(s["target"])
    for t in targets:
        for impl in ("native", "backport"):
            pairs.append((t, ("signal", impl), ("signal_no_ipi", impl)))
        for mode in MODES:
            pairs.append((t, (mode, "native"), (mode, "backport")))
    for t, (ma, ia), (mb, ib) in pairs:
        a, b = find(scenarios, t, ma, ia), find(scenarios, t, mb, ib)
        if not a or not b:
            continue
        for label, path in DIFF_FIGS:
            pa = path or kick_path(a)
            pb = path or kick_path(b)
            sa, sb = sp_of(a, pa), sp_of(b, pb)
            if not sa or not sb:
                continue
            change = spread(paired(rounds_of(a, pa), rounds_of(b, pb), lambda x, y: y - x))
            same = overlap(sa, sb)
            out.append({"target": t, "figure": label, "key": pa,
                        "a": {"mode": ma, "impl": ia}, "b": {"mode": mb, "impl": ib},
                        "a_value": sa, "b_value": sb, "change": change,
                        "change_pct": (round(100.0 * change["median"] / sa["median"], 1)
                                       if change and sa["median"] else None),
                        "verdict": "no difference measured" if same else "differs"})
    return out


def dur(ns):
    if ns is None:
        return "-"
    if abs(ns) >= 1e6:
        return "%.2f ms" % (ns / 1e6)
    return "%.1f us" % (ns / 1e3)


def ipi_agreement(rep):
    """Per scenario and sweep point: the IPI tracepoints' count against the
    module's kprobes (summed over the rounds), where both counted. Agree:
    within 2 IPIs a round or 2 %. The tracer's window is a little wider
    than the module's (it spans the module's reset and its reads): on 7.2
    the kick IPIs agreed exactly, all IPIs by up to 8 in 10 rounds (the
    nohz target: 16 against 8)."""
    out = []

    def agrees(a, b, rounds):
        return abs(a - b) <= max(2 * rounds, 0.02 * max(a, b))

    for s in rep["scenarios"]:
        tp, sent = s.get("tracepoints"), s.get("sent")
        if not s.get("supported") or not tp or not s.get("sender_side") or not sent:
            continue
        kp_total = sum(sent.get(k) or 0 for k in ("kick_ipi", "wake", "other"))
        out.append({"what": "scenario", "target": s["target"], "mode": s["mode"], "impl": s["impl"],
                    "kprobe_total": kp_total, "tracepoint_total": tp["total"],
                    "kprobe_kick_ipi": sent.get("kick_ipi"), "tracepoint_kick_ipi": tp["kick_ipi"],
                    "agree": (agrees(kp_total, tp["total"], s.get("rounds", 1)) and
                              agrees(sent.get("kick_ipi") or 0, tp["kick_ipi"], s.get("rounds", 1)))})
    for p in rep["sweep"]:
        tp = p.get("tracepoints")
        if not tp or p.get("wake_ipis") is None:
            continue
        kp_total = (p.get("kick_ipis") or 0) + (p.get("wake_ipis") or 0) + (p.get("other_ipis") or 0)
        out.append({"what": "sweep", "target": p["target"], "mode": p["mode"], "impl": p["impl"],
                    "offered_per_s": p["offered_per_s"],
                    "kprobe_total": kp_total, "tracepoint_total": tp["total"],
                    "kprobe_kick_ipi": p.get("kick_ipis"), "tracepoint_kick_ipi": tp["kick_ipi"],
                    "agree": (agrees(kp_total, tp["total"], p.get("rounds", 1)) and
                              agrees(p.get("kick_ipis") or 0, tp["kick_ipi"], p.get("rounds", 1)))})
    return out


def build_report(env, scenarios, uring, accel, baselines=(), sweep=(), tracers=(), machine=None):
    rounds = max([r.get("round", 1) for r in list(scenarios) + list(sweep)] or [1])
    scenarios = aggregate_scenarios(scenarios)
    sweep = aggregate_sweep(sweep)
    uring = aggregate_uring(uring)
    # The cost against none, per round (same target, impl, round).
    nones = {(s["target"], s["impl"]): s for s in scenarios
             if s["mode"] == "none" and s.get("supported")}
    for s in scenarios:
        if not s.get("supported", True):
            continue
        base = nones.get((s["target"], s["impl"]))
        if base:
            vals = paired(rounds_of(s, "queue_ns_per_item"), rounds_of(base, "queue_ns_per_item"),
                          lambda q, b: q / b)
            sp = spread(vals)
            if sp:
                s["spread"]["queue_cost_vs_none"] = sp
    none_cost = {k: v["queue_ns_per_item"] for k, v in nones.items()}
    scenarios = [fill_scenario(s, none_cost) for s in scenarios]
    for s in scenarios:
        sp = (s.get("spread") or {}).get("queue_cost_vs_none")
        if sp:
            s["queue_cost_vs_none"] = round(sp["median"], 3)
    for u in uring:
        u.setdefault("stimulus", "pipe")
        u.setdefault("stimulus_supported", True)
    for u in uring:
        default = next((d for d in uring if d["setup"] == "default" and d["supported"]
                        and d["stimulus"] == u["stimulus"] and d["stimulus_supported"]), None)
        ok = u["supported"] and u["stimulus_supported"] and default and default["ops_per_s"]
        u["ops_per_s_vs_default"] = None
        if ok:
            sp = spread(paired(rounds_of(u, "ops_per_s"), rounds_of(default, "ops_per_s"),
                               lambda a, b: a / b))
            u.setdefault("spread", {})["ops_per_s_vs_default"] = sp
            u["ops_per_s_vs_default"] = round(sp["median"], 3) if sp else None
        if not u["supported"] or not u["stimulus_supported"]:
            u["ipis_per_op"] = None
            u["kick_ipis_per_op"] = None
            u["ops_per_s"] = None
    mach = dict(machine or {})
    mach.setdefault("accel", accel)
    mach.setdefault("vcpus", env["cpus"])
    mach["guest_cpu_model"] = env.get("cpu_model")
    rep = {
        "kernel": env["kernel"],
        "arch": env.get("arch"),
        "native_signal_no_ipi": env["native_signal_no_ipi"],
        "cpus": env["cpus"],
        "queue_cpu": env.get("queue_cpu", 0),
        "target_cpu": env.get("target_cpu", 1),
        "hz": env["hz"],
        "accel": accel,
        "nohz_full": env.get("nohz_full"),
        "wake_up_state": env.get("wake_up_state"),
        "generated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "note": note_for(accel),
        "machine": mach,
        "rounds": rounds,
        "boots": env.get("boots", 1),
        "items_per_round": env.get("items"),
        "warmup": {"run": bool(env.get("warmup")), "items": env.get("warmup_items"),
                   "records_dropped": env.get("warmup_records_dropped", 0)},
        "intervals": {"method": interval_method(rounds, env.get("boots", 1)), "rounds": rounds,
                      "boots": env.get("boots", 1), "coverage": interval_coverage(rounds),
                      "text": interval_name(rounds, env.get("boots", 1)),
                      "few_samples": FEW_SAMPLES},
        "bench_argv": env.get("argv"),
        "headline": headline(env, scenarios, sweep),
        "noise_baselines": list(baselines),
        "noise_baseline_summary": baseline_summary(baselines),
        "osnoise": list(tracers),
        "ipi_tracepoints": env.get("ipi_tracepoints"),
        "scenarios": scenarios,
        "differences": differences(scenarios),
        "sweep": sweep,
        "io_uring": uring,
    }
    rep["ipi_count_agreement"] = ipi_agreement(rep)
    return rep


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
        sent = s.get("sent") or {}
        c = lambda path, f: iv(sp_of(s, path), f) if dig(s, path) is not None else "-"
        ls = s.get("latency_samples") or {}
        few = ls.get("few") or []
        pct = lambda p: c("latency_ns." + p, us) + (" *" if p in few else "")
        rows.append("| %s | %s | %s | %d | %d | %s | %s | %s | %s | %s | %d | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            s["target"], s["mode"], s["impl"], s["items"], s["ran"],
            c("kick_ipis_per_item", f3), fmt(s.get("kick_process_calls")),
            fmt(sent.get("wake")), fmt(sent.get("other")), c("ipis_per_item", f3),
            s["res"], s["cal"], fmt(s["ran_before_syscall"]),
            pct("p50"), pct("p90"), pct("p99"), c("latency_ns.max", us),
            c("queue_ns_per_item", lambda v: "%.0f" % v), c("queue_cost_vs_none", lambda v: "%.2f" % v),
            c("target_lost.interruptions_per_item", f3), c("target_lost.lost_ns_per_item", us),
            "%d ms: %s" % (s.get("poke_after_ms") or 0, s.get("poke") or "-")))
    if any((s.get("latency_samples") or {}).get("few") for s in rep["scenarios"]):
        rows += ["", "Items and counts: summed over the rounds; figures: median [interval] of the "
                 "rounds. \\* a percentile with fewer than %d samples beyond it in its round."
                 % FEW_SAMPLES]
    return rows


def sweep_table(rep):
    rows = ["| mode | impl | offered/s | achieved/s | items | refused | kick IPIs/s | kick IPIs/item | "
            "target interruptions/s | target lost us/s | target lost us/item | p50 us | p99 us | "
            "CPU 1 received /s |",
            "|" + "---|" * 14]
    for p in rep["sweep"]:
        recv = sorted((p.get("received") or {}).items(), key=lambda kv: -kv[1])[:3]
        recv = ", ".join("%s %.0f" % (k, v / p["window_s"]) for k, v in recv) or "-"
        c = lambda path, f: iv(sp_of(p, path), f) if dig(p, path) is not None else "-"
        f0 = lambda v: "%.0f" % v
        rows.append("| %s | %s | %s | %s | %d | %d | %s | %s | %s | %s | %s | %s | %s | %s |%s" % (
            p["mode"], p["impl"], "back to back" if p["offered_per_s"] is None else "%.0f" % p["offered_per_s"],
            c("achieved_per_s", f0), p["queued"], p["refused"], c("kick_ipis_per_s", f0),
            c("kick_ipis_per_item", f3), c("interruptions_per_s", f0), c("lost_ns_per_s", us),
            c("lost_ns_per_item", us), c("latency_ns.p50", us), c("latency_ns.p99", us), recv,
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
    parts = []
    for e in rep.get("noise_baseline_summary") or []:
        sp = e.get("spread") or {}
        w = e.get("lost_ns_per_s_windows") or {}
        parts.append("%s: %s interruptions/s and %s lost/s (windows from %s to %s; %d windows in "
                     "%d rounds), threshold %s" % (
                         e["target"], iv(sp.get("interruptions_per_s"), lambda v: "%.0f" % v),
                         iv(sp.get("lost_ns_per_s"), dur), dur(w.get("min")), dur(w.get("max")),
                         e["windows"], e["rounds"], dur(e.get("threshold_ns"))))
    if not parts:
        return []
    return ["Target noise with nothing queued, a window in every round (before its scenarios "
            "and before its sweep) subtracted from that round's windows: " + "; ".join(parts) + "."]


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
        c = lambda path, f: iv(sp_of(u, path), f) if dig(u, path) is not None else "-"
        rows.append("| %s | yes | %d | %s | %s | %s | %s | %d |" % (
            u["setup"], u["ops"],
            c("kick_ipis_per_op", f3) if u.get("sender_side") else "-",
            c("ipis_per_op", f3), c("ops_per_s", lambda v: "%.0f" % v),
            c("ops_per_s_vs_default", lambda v: "%.2f" % v), u["saw_taskrun"]))
    return rows


TARGET_ORDER = ["spinner", "sleeper", "nohz"]


def targets_of(rep):
    ts = {s["target"] for s in rep["scenarios"]}
    return sorted(ts, key=lambda t: (TARGET_ORDER.index(t) if t in TARGET_ORDER else 9, t))


def f3(v):
    return "%.3f" % v


def usn(v):
    return "%.1f us" % (v / 1000.0)


def summary_table(rep, target):
    """Mode x impl for one target: kick IPIs per item, latency p50 and p99,
    target time lost per item, each the median of the rounds [interval]."""
    rows = ["| mode | impl | items (rounds x per round) | kick IPIs/item | latency p50 | latency p99 | "
            "target lost/item |", "|---|---|---|---|---|---|---|"]
    flagged = False
    for s in rep["scenarios"]:
        if s["target"] != target:
            continue
        if not s.get("supported"):
            rows.append("| %s | %s | unsupported (EOPNOTSUPP) | | | | |" % (s["mode"], s["impl"]))
            continue
        ls = s.get("latency_samples") or {}
        few = "p99" in (ls.get("few") or [])
        flagged = flagged or few
        lost = sp_of(s, "target_lost.lost_ns_per_item")
        rows.append("| %s | %s | %d x %d | %s | %s | %s%s | %s |" % (
            s["mode"], s["impl"], s.get("rounds", 1), ls.get("per_round", s["items"]),
            iv(sp_of(s, kick_path(s)), f3), iv(sp_of(s, "latency_ns.p50"), dur),
            iv(sp_of(s, "latency_ns.p99"), dur), " *" if few else "",
            iv(lost, usn) if lost else "-"))
    if flagged:
        per = next((s.get("latency_samples") or {}).get("per_round") for s in rep["scenarios"]
                   if s["target"] == target and s.get("supported"))
        rows += ["", "\\* p99 on fewer than %d samples beyond it: each round's p99 of %s items "
                 "rests on %d." % (FEW_SAMPLES, per, samples_above(per or 0, 99))]
    return rows


def differences_lines(rep):
    diffs = rep.get("differences") or []
    if not diffs:
        return []
    rows = ["", "## Differences", "",
            "b against a, per round (b - a) with its interval; where the two figures' intervals "
            "overlap: no difference measured.", "",
            "| target | figure | a | b | a | b | change (b - a) |", "|---|---|---|---|---|---|---|"]
    for d in diffs:
        f = f3 if d["figure"].startswith("kick") else (usn if "lost" in d["figure"] else dur)
        if d["verdict"] == "no difference measured":
            change = "no difference measured"
        else:
            change = "%s%s" % (iv(d["change"], f),
                               "" if d["change_pct"] is None else " (%+.0f%%)" % d["change_pct"])
        rows.append("| %s | %s | %s/%s | %s/%s | %s | %s | %s |" % (
            d["target"], d["figure"], d["a"]["mode"], d["a"]["impl"], d["b"]["mode"], d["b"]["impl"],
            iv(d["a_value"], f), iv(d["b_value"], f), change))
    return rows


def host_machine_line(m):
    """make bench's machine: the running kernel's, no QEMU between."""
    hyp = m.get("hypervisor")
    if hyp in (None, "", "none"):
        where = "this machine's running kernel, bare metal: hardware figures"
    elif "QEMU" in (m.get("cpu_model") or "") and "TCG" in (m.get("cpu_model") or ""):
        where = "this machine's running kernel, an emulated CPU (QEMU TCG): not hardware figures"
    else:
        where = "this machine's running kernel, under %s: that VM's figures" % hyp
    parts = [where,
             "CPU %s" % m.get("cpu_model", "?"), "%s CPUs online" % m.get("cpus_online", "?"),
             "SMT %s" % m.get("smt", "?"), "cpufreq governor %s" % m.get("governor", "?"),
             "nohz_full %s" % (m.get("nohz_full") if m.get("nohz_full") not in (None, "", "(null)")
                               else "none"),
             "isolcpus %s" % (m.get("isolcpus") or "none"),
             "queue CPU %s and target CPU %s (%s)" % (m.get("queue_cpu"), m.get("target_cpu"),
                                                       m.get("cpu_pick", "?"))]
    if m.get("mitigations"):
        parts.append("mitigations: %s" % m["mitigations"])
    if m.get("cmdline"):
        parts.append("kernel command line `%s`" % m["cmdline"])
    if m.get("command"):
        parts.append("command `%s`" % m["command"])
    return "Machine: " + ", ".join(parts) + "."


def machine_line(rep):
    m = rep.get("machine") or {}
    if m.get("kind") == "host":
        return host_machine_line(m)
    parts = ["%s" % (m.get("qemu") or "QEMU ?"), "accel %s" % (m.get("accel") or rep["accel"]),
             "%s vCPUs" % m.get("vcpus", rep["cpus"])]
    if m.get("host_cpu_model"):
        parts.append("host CPU %s (%s cores)" % (m["host_cpu_model"], m.get("host_cpus", "?")))
    if m.get("host_load_before"):
        parts.append("host load average %s before, %s after" % (m["host_load_before"],
                                                                m.get("host_load_after", "?")))
    if m.get("guest_cpu_model"):
        parts.append("guest CPU %s" % m["guest_cpu_model"])
    if m.get("command"):
        parts.append("command `%s`" % m["command"])
    return "Machine: " + ", ".join(parts) + "."


def agreement_lines(rep):
    tp = rep.get("ipi_tracepoints")
    if not tp:
        return []
    if not tp.get("available"):
        return ["", "IPI tracepoints not used: %s." % tp.get("why")]
    agr = rep.get("ipi_count_agreement") or []
    bad = [a for a in agr if not a["agree"]]
    rows = ["", "## IPIs counted three ways", "",
            "The kernel's ipi:ipi_send_cpu/ipi_send_cpumask tracepoints (hist triggers filtered "
            "on CPU 1, summed over the rounds) beside the module's kprobes (sent) and "
            "/proc/interrupts (received): %d of %d measurements agree (within 2 IPIs a round or 2%%)."
            % (len(agr) - len(bad), len(agr)), "",
            "| target | mode | impl | kick IPIs: kprobes | kick IPIs: tracepoints | all IPIs: kprobes | "
            "all IPIs: tracepoints | IPIs received (RES+CAL) | agree |", "|---|---|---|---|---|---|---|---|---|"]
    for s in rep["scenarios"]:
        tpc = s.get("tracepoints")
        if not s.get("supported") or not tpc:
            continue
        a = next((x for x in agr if x["what"] == "scenario" and
                  (x["target"], x["mode"], x["impl"]) == (s["target"], s["mode"], s["impl"])), None)
        rows.append("| %s | %s | %s | %s | %d | %s | %d | %d | %s |" % (
            s["target"], s["mode"], s["impl"], fmt(a["kprobe_kick_ipi"]) if a else "-", tpc["kick_ipi"],
            fmt(a["kprobe_total"]) if a else "-", tpc["total"], s["ipis"],
            "-" if not a else ("yes" if a["agree"] else "NO")))
    return rows


def on_cpus(text, rep):
    """The report's prose names the test guests' CPUs, 0 (the producer) and 1
    (the target); a run on other CPUs (make bench on a real machine) gets
    its own, in one pass so that a swap stays right."""
    cpus = {"0": rep.get("queue_cpu", 0), "1": rep.get("target_cpu", 1)}
    if (cpus["0"], cpus["1"]) == (0, 1):
        return text
    return re.sub(r"\bCPU ([01])\b", lambda m: "CPU %d" % cpus[m.group(1)], text)


def boots_text(rep):
    """", in N boots" where the rounds come from more than one boot."""
    boots = rep.get("boots") or 1
    return " in %d boots" % boots if boots > 1 else ""


def markdown(rep):
    lines = ["# twa-noipi IPI report: %s" % rep["kernel"], ""]
    if rep.get("headline"):
        lines += ["**%s**" % rep["headline"]["text"], ""]
    lines += [
        "%s, %s, %d vCPUs, HZ=%d, native TWA_SIGNAL_NO_IPI: %s, nohz_full: %s, "
        "wake_up_state via %s." % (rep["generated"], rep["accel"].upper(), rep["cpus"], rep["hz"],
                                   "yes" if rep["native_signal_no_ipi"] else "no",
                                   rep["nohz_full"], rep["wake_up_state"]),
        machine_line(rep),
        "Every figure: the median of %d rounds%s (modes and impls interleaved in each; a "
        "warm-up round dropped: %s) [%s]. " % (rep.get("rounds", 1), boots_text(rep),
                                       "yes" if (rep.get("warmup") or {}).get("run") else "no",
                                       (rep.get("intervals") or {}).get("text", "-")) + rep["note"],
        ""]
    for t in targets_of(rep):
        lines += ["## %s" % t, ""] + summary_table(rep, t) + [""]
    lines += differences_lines(rep)
    lines += ["", "## Details", "",
              "Items queued one at a time from CPU 0 to a target on CPU 1. Sent: IPIs to CPU 1 "
              "counted at the sender by the module's kprobes (kick IPI: sent by kick_process() "
              "from our queueing; wake: any other IPI from our queueing; other: everyone else). "
              "Received: RES + CAL on CPU 1 from /proc/interrupts, which includes the others and "
              "any IPI the poke itself causes (last column: what made the target enter the kernel "
              "if the item had not run by then). Counts are summed over the rounds, figures are "
              "the medians of the rounds.", ""] + baseline_lines(rep) + [""] + scenario_table(rep)
    lines += agreement_lines(rep)
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
    return on_cpus("\n".join(lines), rep)


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
            # No header line: with errorbars gnuplot would draw the whiskers
            # one cluster to the left of their bars.
            order = ["spinner", "sleeper", "nohz"]
            targets = {s["target"] for s in rep["scenarios"]}
            for target in sorted(targets, key=lambda t: (order.index(t) if t in order else 9, t)):
                for mode in MODES:
                    vals = {}
                    for s in rep["scenarios"]:
                        if s["target"] == target and s["mode"] == mode and s.get("supported"):
                            vals[s["impl"]] = sp_of(s, kick_path(s))
                    if vals:
                        cells = []
                        for impl in ("native", "backport"):
                            sp = vals.get(impl)
                            cells += (["%.4f" % sp[k] for k in ("median", "lo", "hi")] if sp
                                      else ["NaN"] * 3)
                        f.write('"%s\\n%s" %s\n' % (target, mode, " ".join(cells)))
        bar_chart(os.path.join(outdir, "ipis.svg"), "1000,450",
                  "Kick IPIs sent to the target CPU per item: %s (%s; bars: median of %d rounds, "
                  "whiskers: interval)" % (rep["kernel"], rep["accel"].upper(), rep.get("rounds", 1)),
                  "kick IPIs per item (sender side)",
                  "set yrange [0:*]\nset offsets 0,0,0.1,0\nset xtics font 'sans,9'\n"
                  "set style histogram errorbars gap 1 lw 1",
                  "'%s' using 2:3:4:xtic(1) title 'native', '' using 5:6:7 title 'backport'" % data)

        latency_cdf(rep, tmp, os.path.join(outdir, "latency.svg"))
        if rep["sweep"]:
            sweep_plot(rep, tmp, os.path.join(outdir, "sweep.svg"))
        if rep.get("frontier"):
            frontier.plot(rep["frontier"], tmp, os.path.join(outdir, "frontier.svg"), gnuplot,
                          "Deadline frontier to a spinning target: %s (%s; %d rounds, bars: "
                          "interval)" % (rep["kernel"], rep["accel"].upper(),
                                         rep["frontier"]["rounds"]))


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
        band = s.get("latency_quantiles_band_ns")
        if band and s.get("rounds", 1) > 1:
            # The rounds' spread: a polygon from each quantile's lowest
            # latency up, then back down along the highest.
            bpath = os.path.join(tmp, "band%d.dat" % i)
            with open(bpath, "w") as f:
                for quant, lo, hi in band:
                    f.write("%.3f %.4f\n" % (max(lo, 1) / 1000.0, quant / 100.0))
                for quant, lo, hi in reversed(band):
                    f.write("%.3f %.4f\n" % (max(hi, 1) / 1000.0, quant / 100.0))
            plots.append("'%s' using 1:2 with filledcurves closed fs transparent solid 0.15 "
                         "noborder lc rgb '%s' notitle" % (bpath, MODE_COLOR.get(s["mode"], "black")))
        plots.append("'%s' using 1:2 with lines lw 2 lc rgb '%s' dt %d title '%s %s %s'" % (
            path, MODE_COLOR.get(s["mode"], "black"), 1 if s["impl"] == "native" else 2,
            s["target"], s["mode"], s["impl"]))
    if not plots:
        return
    gnuplot("""
set terminal svg size 1100,550 dynamic noenhanced font 'sans,11' background rgb 'white'
set output '%s'
set title 'Queue-to-run latency CDF: %s (%s; emulated, compare modes; bands: range of the rounds)'
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
                k, lo = sp_of(p, "kick_ipis_per_s"), sp_of(p, "lost_ns_per_s")
                f.write("%.1f %s %s\n" % (p["achieved_per_s"], " ".join(
                    "%.3f" % max(k[x], 0.1) for x in ("median", "lo", "hi")), " ".join(
                    "%.3f" % max(lo[x] / 1000.0, 0.1) for x in ("median", "lo", "hi"))))
        style = "with yerrorlines lw 2 lc rgb '%s' dt %d title '%s %s'" % (
            MODE_COLOR.get(mode, "black"), 1 if impl == "native" else 2, mode, impl)
        ipis.append("'%s' using 1:2:3:4 %s" % (path, style))
        lost.append("'%s' using 1:5:6:7 %s" % (path, style))
    gnuplot("""
set terminal svg size 1200,500 dynamic noenhanced font 'sans,11' background rgb 'white'
set output '%s'
set multiplot layout 1,2 title 'Rate sweep to a spinning target: %s (%s; 0 drawn at 0.1; bars: the interval over the rounds)'
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
    machine = None
    if args.machine:
        with open(args.machine) as f:
            machine = json.load(f)
    rep = build_report(env, scenarios, uring, args.accel, baselines, sweep, tracers, machine)
    frontier_points = frontier.read(args.results, round_offsets(args.results)[0])
    if frontier_points:
        rep["frontier"] = frontier.summary(frontier_points, aggregate)
        if rep.get("headline"):
            rep["headline"]["deadline_frontier"] = frontier.headline_text(rep["frontier"])
    outdir = os.path.join(args.out, rep["kernel"])
    os.makedirs(outdir, exist_ok=True)
    # The raw bench output beside the report, with the command lines that
    # made it (the bench's own argv is in its env record).
    rep["raw"] = []
    for i, path in enumerate(args.results):
        name = "bench.jsonl" if i == 0 else "bench-%d.jsonl" % (i + 1)
        if os.path.abspath(path) != os.path.abspath(os.path.join(outdir, name)):
            shutil.copyfile(path, os.path.join(outdir, name))
        rep["raw"].append({"file": name, "from": path, "bench_argv": bench_argv(path)})
    if machine is not None:
        with open(os.path.join(outdir, "machine.json"), "w") as f:
            json.dump(machine, f, indent=2)
            f.write("\n")
    with open(os.path.join(outdir, "report.json"), "w") as f:
        json.dump(rep, f, indent=2)
        f.write("\n")
    md = markdown(rep)
    with open(os.path.join(outdir, "report.md"), "w") as f:
        f.write(md)
    plots(rep, outdir)
    print(md)
    print("report: %s/{report.json,report.md,ipis.svg,latency.svg,sweep.svg,%s}" % (
        outdir, ",".join(r["file"] for r in rep["raw"]) +
        (",frontier.svg" if rep.get("frontier") else "")))
    if args.check:
        problems = check(rep)
        for p in problems:
            print("report.py: check: %s" % p, file=sys.stderr)
        print("report.py: check: %s" % ("%d problems" % len(problems) if problems else "complete"))
        sys.exit(1 if problems else 0)


def bench_argv(path):
    """The twa-bench command line of a bench.jsonl (its env record)."""
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith('{"kind":"env"'):
                return json.loads(line).get("argv")
    return None


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
    elif rep.get("rounds", 1) > 1:
        for k, v in rep["headline"]["spread"].items():
            if v is None or v["rounds"] < 2:
                problems.append("headline %s: no interval over the rounds" % k)
    # The third count of IPIs must agree with the kprobes, where both count.
    for a in rep.get("ipi_count_agreement") or []:
        if not a["agree"]:
            problems.append("%s %s %s/%s%s: IPI tracepoints counted %d (kick IPIs %d), the kprobes %d (%d)"
                            % (a["what"], a["target"], a["mode"], a["impl"],
                               " at %s" % a.get("offered_per_s") if a["what"] == "sweep" else "",
                               a["tracepoint_total"], a["tracepoint_kick_ipi"], a["kprobe_total"],
                               a["kprobe_kick_ipi"] or 0))
    tp = rep.get("ipi_tracepoints")
    if tp and tp.get("available"):
        for s in rep["scenarios"]:
            if s.get("supported") and not s.get("tracepoints"):
                problems.append("%s %s/%s: IPI tracepoints on, no count" % (s["target"], s["mode"], s["impl"]))
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
                c = lambda path, f: iv(sp_of(s, path), f) if dig(s, path) is not None else "-"
                cells = [c("kick_ipis_per_item", f3), c("ipis_per_item", f3), c("latency_ns.p50", us)]
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
                c = lambda path, f: iv(sp_of(u, path), f) if dig(u, path) is not None else "-"
                cells = [c("kick_ipis_per_op", f3), c("ipis_per_op", f3),
                         c("ops_per_s_vs_default", lambda v: "%.2f" % v)]
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


def compare(args):
    """The issue-24 reproducibility check of two runs on one kernel: every
    headline interval of the first overlaps the second's, and the
    intervals of the IPIs saved and of the two latencies p50 are narrower
    than +-25 % of their value. Exit 1 if not."""
    reps = []
    for path in args.results:
        with open(path) as f:
            reps.append(json.load(f))
    if len(reps) != 2 or not all(r.get("headline") for r in reps):
        sys.exit("report.py: --compare takes two report.json with a headline")
    a, b = (r["headline"]["spread"] for r in reps)
    tight = ("ipis_saved_per_item", "latency_p50_ns.signal", "latency_p50_ns.signal_no_ipi")
    bad = 0
    print("| headline figure | run 1 | run 2 | overlap | half-width run 1 | run 2 |")
    print("|---|---|---|---|---|---|")
    for k in sorted(set(a) | set(b)):
        x, y = a.get(k), b.get(k)
        ok = overlap(x, y) and x is not None and y is not None

        def width(sp):
            if not sp or not sp["median"]:
                return None
            return 100.0 * max(sp["hi"] - sp["median"], sp["median"] - sp["lo"]) / abs(sp["median"])
        wx, wy = width(x), width(y)
        narrow = k not in tight or (wx is not None and wy is not None and wx < 25 and wy < 25)
        bad += (not ok) + (not narrow)
        g = (lambda v: "%.3g" % v)
        print("| %s | %s | %s | %s | %s | %s |" % (
            k, iv(x, g), iv(y, g), "yes" if ok else "NO",
            "-" if wx is None else "%.0f%%%s" % (wx, "" if narrow or k not in tight else " (>25%)"),
            "-" if wy is None else "%.0f%%" % wy))
    print("compare: %s" % ("holds" if not bad else "%d problems" % bad))
    sys.exit(1 if bad else 0)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="results")
    p.add_argument("--accel", default="tcg")
    p.add_argument("--combine", action="store_true")
    p.add_argument("--check", action="store_true")
    p.add_argument("--compare", action="store_true",
                   help="two report.json of one kernel: do the headline intervals hold?")
    p.add_argument("--machine", help="machine.json (run.sh): QEMU, accelerator, vCPUs, host CPU")
    p.add_argument("results", nargs="+")
    args = p.parse_args()
    if args.compare:
        compare(args)
    combine(args) if args.combine else single(args)


if __name__ == "__main__":
    main()
