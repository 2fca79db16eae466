"""The deadline frontier of a twa-bench run: report.py's part for it.

twa-bench's "frontier" records are signal_no_ipi items queued open loop to a
spinning target with a deadline (deadline_us; 0 queues as signal, null is
plain signal_no_ipi) at a few offered rates. Each point gives kick IPIs per
item (the queueing's and the deadline timers', counted at the sender) and
queue-to-run latency p50/p90/p99 from the module's item log. This module
reads them, states the frontier (table, plot, headline), and says what
makes them incomplete. With rounds (the bench measures the frontier in
its first rounds, the warm-up left out) a point's figures are the median
of its rounds, with their interval, through report.py's aggregate().
Documented in docs/report.md (report.json's `frontier`).
"""

import json
import os

# The latency the headline holds the frontier to: the smallest kick cost
# whose p99 stays under it, per offered rate.
TARGET_P99_NS = 1_000_000


# Summed over a point's rounds, and the figures whose median and interval
# it reports (report.py's aggregate()).
SUMS = ["seconds", "window_s", "queued", "refused", "ran", "deadline_met", "deadline_kicks",
        "deadline_covered", "deadline_kick_ipis", "latency_items"]
FIGS = ["all_kick_ipis_per_item", "latency_ns.p50", "latency_ns.p90", "latency_ns.p99",
        "queue_ns_per_item", "achieved_per_s"]


def read(paths, offsets=None):
    """The frontier records of @paths (bench.jsonl files), in order; the
    warm-up's left out, a record before rounds read as round 1, each file's
    rounds shifted by its @offsets entry (the boots of one bench)."""
    pts = []
    for path, offset in zip(paths, offsets or [0] * len(paths)):
        with open(path, errors="replace") as f:
            for line in f:
                line = line.strip()
                if line.startswith("{") and '"frontier"' in line:
                    rec = json.loads(line)
                    if rec.get("kind") == "frontier" and not rec.get("warmup"):
                        rec.pop("kind")
                        rec["round"] = rec.get("round", 1) + offset
                        pts.append(rec)
    return pts


def aggregate_points(pts, aggregate):
    """One point per offered rate and deadline: its rounds aggregated."""
    groups = {}
    for p in pts:
        groups.setdefault((p["offered_per_s"], p.get("deadline_us")), []).append(
            dict(p, round=p.get("round", 1)))
    out = []
    for recs in groups.values():
        a = aggregate(recs, SUMS, FIGS)
        a["error"] = next((r["error"] for r in recs if r.get("error")), None)
        a.pop("tracepoints", None)
        out.append(a)
    return out


def interval(p, path):
    """(lo, hi) of a figure over the rounds; (v, v) for a single round."""
    sp = (p.get("spread") or {}).get(path)
    if sp:
        return sp["lo"], sp["hi"]
    v = p
    for part in path.split("."):
        v = v.get(part, 0) if isinstance(v, dict) else 0
    return v, v


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
                    "all_kick_ipis_per_item_interval":
                        list(interval(best, "all_kick_ipis_per_item")) if best else None,
                    "latency_p99_ns": best["latency_ns"]["p99"] if best else None,
                    "latency_p99_ns_interval":
                        list(interval(best, "latency_ns.p99")) if best else None})
    return out


def summary(pts, aggregate):
    """What report.json carries: the points (their rounds aggregated by
    @aggregate, report.py's) and the headline's cheapest."""
    agg = aggregate_points(pts, aggregate)
    return {"target_p99_ns": TARGET_P99_NS, "rounds": max((p["rounds"] for p in agg), default=0),
            "points": agg, "cheapest_under_target": cheapest_under(agg)}


def headline_text(fr):
    parts = []
    for c in fr["cheapest_under_target"]:
        if c["found"]:
            (ilo, ihi), (plo, phi) = (c["all_kick_ipis_per_item_interval"],
                                      c["latency_p99_ns_interval"])
            parts.append("%s: %.3f [%.3f-%.3f] kick IPIs per item (deadline %s, p99 %.0f us "
                         "[%.0f-%.0f])" % (
                             rate_name(c["offered_per_s"]), c["all_kick_ipis_per_item"], ilo, ihi,
                             deadline_name(c["deadline_us"]), c["latency_p99_ns"] / 1000.0,
                             plo / 1000.0, phi / 1000.0))
        else:
            parts.append("%s: no deadline measured keeps it" % rate_name(c["offered_per_s"]))
    return ("Deadline frontier, the least kick cost whose p99 (median of %d rounds) is under "
            "%g ms: " % (fr.get("rounds", 1), fr["target_p99_ns"] / 1e6)) + "; ".join(parts) + "."


def us(ns):
    return "%.0f" % (ns / 1000.0)


def table(fr):
    """Figures: median [interval] of the rounds; counts: summed over them."""
    lines = ["| offered | deadline | queued | kick IPIs/item | deadline kicks | covered | met | "
             "p50 us | p99 us | items behind p99 | queue ns/item |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for rate, row in by_rate(fr["points"]):
        for p in row:
            lat = p["latency_ns"]
            ilo, ihi = interval(p, "all_kick_ipis_per_item")
            plo, phi = interval(p, "latency_ns.p99")
            qlo, qhi = interval(p, "queue_ns_per_item")
            beyond = p["latency_items"] // 100
            lines.append("| %s | %s | %d | %.3f [%.3f-%.3f] | %s | %s | %s | %s | %s [%s-%s] | "
                         "%d%s | %d [%d-%d] |" % (
                             rate_name(rate), deadline_name(p.get("deadline_us")), p["queued"],
                             p["all_kick_ipis_per_item"], ilo, ihi, p.get("deadline_kicks", "-"),
                             p.get("deadline_covered", "-"), p.get("deadline_met", "-"),
                             us(lat["p50"]), us(lat["p99"]), us(plo), us(phi), beyond,
                             " (few)" if beyond < 100 else "",
                             p.get("queue_ns_per_item", 0), qlo, qhi))
    return lines


def markdown(fr):
    return ["", "## Deadline frontier: between TWA_SIGNAL and TWA_SIGNAL_NO_IPI", "",
            "signal_no_ipi items with a deadline (`deadline_us`), offered open loop to the "
            "spinner: an item still pending its deadline after it was queued gets one "
            "kick_process() from its timer, and one such kick serves every item pending "
            "(covered). Deadline 0 queues as signal; none is plain signal_no_ipi: the two "
            "ends. Kick IPIs counted at the sender (the queueing's and the timers'); "
            "latency from the module's log (its last 4096 items a point and round), with "
            "the samples beyond p99 over all rounds ('few': under 100). The queue cost "
            "includes the timer each item arms. Figures: median [interval] of %d rounds; "
            "counts: summed over them." % fr.get("rounds", 1), "",
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
                ilo, ihi = interval(p, "all_kick_ipis_per_item")
                plo, phi = interval(p, "latency_ns.p99")
                f.write("%.4f %.1f %.4f %.4f %.1f %.1f \"%s\"\n" % (
                    max(p["all_kick_ipis_per_item"], 0.001), max(p["latency_ns"]["p99"] / 1000.0, 0.1),
                    max(ilo, 0.001), max(ihi, 0.001), max(plo / 1000.0, 0.1),
                    max(phi / 1000.0, 0.1), deadline_name(p.get("deadline_us")).split(" (")[0]))
        curves.append("'%s' using 1:2 with linespoints lw 2 lc %d title '%s', "
                      "'' using 1:2:3:4:5:6 with xyerrorbars lc %d notitle, "
                      "'' using 1:2:7 with labels offset 1,0.6 font 'sans,8' notitle"
                      % (path, i + 1, rate_name(rate), i + 1))
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
