"""The deadline frontier of a twa-bench run: report.py's part for it.

twa-bench's "frontier" records are signal_no_ipi items queued open loop to a
spinning target with a deadline (deadline_us; 0 queues as signal, null is
plain signal_no_ipi) at a few offered rates. Each point gives kick IPIs per
item (the queueing's and the deadline timers', counted at the sender) and
queue-to-run latency p50/p90/p99 from the module's item log. This module
reads them, states the frontier (table, plot, headline), and says what
makes them incomplete. Documented in docs/report.md ("The deadline
frontier").
"""

import json
import os

# The latency the headline holds the frontier to: the smallest kick cost
# whose p99 stays under it, per offered rate.
TARGET_P99_NS = 1_000_000


def read(paths):
    """The frontier records of @paths (bench.jsonl files), in order."""
    pts = []
    for path in paths:
        with open(path, errors="replace") as f:
            for line in f:
                line = line.strip()
                if line.startswith("{") and '"frontier"' in line:
                    rec = json.loads(line)
                    if rec.get("kind") == "frontier":
                        rec.pop("kind")
                        pts.append(rec)
    return pts


def deadline_key(p):
    """Order within a rate: deadline 0 (as signal) first, none last."""
    d = p.get("deadline_us")
    return float("inf") if d is None else d


def rate_name(rate):
    return "back to back" if not rate else "%d/s" % rate


def deadline_name(d):
    if d is None:
        return "none (signal_no_ipi)"
    if d == 0:
        return "0 (as signal)"
    return "%g ms" % (d / 1000.0) if d >= 1000 else "%d us" % d


def by_rate(pts):
    rates = []
    for p in pts:
        if p["offered_per_s"] not in rates:
            rates.append(p["offered_per_s"])
    return [(r, sorted([p for p in pts if p["offered_per_s"] == r], key=deadline_key))
            for r in rates]


def cheapest_under(pts, target_ns=TARGET_P99_NS):
    """Per rate: the point of least kick IPIs per item whose p99 < @target_ns."""
    out = []
    for rate, row in by_rate(pts):
        ok = [p for p in row if not p.get("error") and p["latency_items"]
              and p["latency_ns"]["p99"] < target_ns]
        best = min(ok, key=lambda p: (p["all_kick_ipis_per_item"], deadline_key(p))) if ok else None
        out.append({"offered_per_s": rate,
                    "deadline_us": best["deadline_us"] if best else None,
                    "found": best is not None,
                    "all_kick_ipis_per_item": best["all_kick_ipis_per_item"] if best else None,
                    "latency_p99_ns": best["latency_ns"]["p99"] if best else None})
    return out


def summary(pts):
    """What report.json carries: the points and the headline's cheapest."""
    return {"target_p99_ns": TARGET_P99_NS, "points": pts, "cheapest_under_target": cheapest_under(pts)}


def headline_text(fr):
    parts = []
    for c in fr["cheapest_under_target"]:
        if c["found"]:
            parts.append("%s: %.3f kick IPIs per item (deadline %s, p99 %.0f us)" % (
                rate_name(c["offered_per_s"]), c["all_kick_ipis_per_item"],
                deadline_name(c["deadline_us"]), c["latency_p99_ns"] / 1000.0))
        else:
            parts.append("%s: no deadline measured keeps it" % rate_name(c["offered_per_s"]))
    return ("Deadline frontier, the least kick cost with p99 under %g ms: " %
            (fr["target_p99_ns"] / 1e6)) + "; ".join(parts) + "."


def us(ns):
    return "%.0f" % (ns / 1000.0)


def table(fr):
    lines = ["| offered | deadline | queued | kick IPIs/item | deadline kicks | covered | met | "
             "p50 us | p90 us | p99 us (items) | queue ns/item |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for rate, row in by_rate(fr["points"]):
        for p in row:
            lat = p["latency_ns"]
            lines.append("| %s | %s | %d | %.3f | %s | %s | %s | %s | %s | %s (%d) | %d |" % (
                rate_name(rate), deadline_name(p.get("deadline_us")), p["queued"],
                p["all_kick_ipis_per_item"], p.get("deadline_kicks", "-"),
                p.get("deadline_covered", "-"), p.get("deadline_met", "-"), us(lat["p50"]),
                us(lat.get("p90", 0)), us(lat["p99"]), p["latency_items"],
                p.get("queue_ns_per_item", 0)))
    return lines


def markdown(fr):
    return ["", "## Deadline frontier: between TWA_SIGNAL and TWA_SIGNAL_NO_IPI", "",
            "signal_no_ipi items with a deadline (`deadline_us`), offered open loop to the "
            "spinner: an item still pending its deadline after it was queued gets one "
            "kick_process() from its timer, and one such kick serves every item pending "
            "(covered). Deadline 0 queues as signal; none is plain signal_no_ipi: the two "
            "ends. Kick IPIs counted at the sender (the queueing's and the timers'); "
            "latency from the module's log (its last 4096 items), with the items behind "
            "p99. The queue cost includes the timer each item arms.", "",
            "**%s**" % headline_text(fr), ""] + table(fr)


def plot(fr, tmp, out, gnuplot, title):
    """p99 latency against kick IPIs per item, a curve per offered rate."""
    curves = []
    for i, (rate, row) in enumerate(by_rate(fr["points"])):
        path = os.path.join(tmp, "frontier-%d.dat" % i)
        with open(path, "w") as f:
            for p in row:
                if p.get("error") or not p["latency_items"]:
                    continue
                # Log axes have no zero: 0 IPIs per item is drawn at 0.001.
                f.write("%.4f %.1f \"%s\"\n" % (max(p["all_kick_ipis_per_item"], 0.001),
                                                max(p["latency_ns"]["p99"] / 1000.0, 0.1),
                                                deadline_name(p.get("deadline_us")).split(" (")[0]))
        curves.append("'%s' using 1:2 with linespoints lw 2 title '%s', "
                      "'' using 1:2:3 with labels offset 1,0.6 font 'sans,8' notitle"
                      % (path, rate_name(rate)))
    if not curves:
        return
    gnuplot("""
set terminal svg size 800,550 dynamic noenhanced font 'sans,11' background rgb 'white'
set output '%s'
set title '%s'
set logscale xy
set grid
set key top right
set xlabel 'kick IPIs per item (sender side; 0 drawn at 0.001)'
set ylabel 'latency p99 (us)'
set arrow from graph 0, first %g to graph 1, first %g nohead dt 2 lc rgb '#888888'
plot %s
""" % (out, title, TARGET_P99_NS / 1000.0, TARGET_P99_NS / 1000.0, ", ".join(curves)))


def check(fr):
    """Problems that make the frontier incomplete (never: slow)."""
    problems = []
    for p in fr["points"]:
        name = "frontier deadline %s at %s" % (deadline_name(p.get("deadline_us")),
                                                rate_name(p["offered_per_s"]))
        if p.get("error"):
            problems.append("%s: %s" % (name, p["error"]))
        if p["queued"] == 0 or p["ran"] != p["queued"]:
            problems.append("%s: %d queued, %d ran" % (name, p["queued"], p["ran"]))
        if p.get("deadline_us") is not None and p["deadline_us"] > 0:
            ended = p["deadline_met"] + p["deadline_kicks"] + p["deadline_covered"]
            if ended != p["queued"]:
                problems.append("%s: %d queued, %d met + kicked + covered" % (name, p["queued"], ended))
    return problems
