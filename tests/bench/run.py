"""Every benchmark of issue 7, one table plus one JSON line (`learnstream bench [--quick]`).

Each figure stands beside a baseline measured in the same run on the same machine (these
machines are noisy: compare ratios, not absolute numbers across runs). Never asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from typing import Any

from consumer.ops.broker import EmbeddedBroker
from tests.bench import consumer, decode, end_to_end, receiver

SIZES = {  # (receiver requests, consumer events, end-to-end requests, view rows); the consumer
    # runs on a fresh store and on one holding as many learning events as the views bench
    "quick": (20_000, 100_000, 20_000, 1_000_000),
    "full": (100_000, 1_000_000, 200_000, 10_000_000),
}


def _views(rows: int) -> dict[str, Any]:
    from tests.bench import views  # the slowest: generates `rows` learning_events first
    result: dict[str, Any] = views.run(rows)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller runs (a few minutes)")
    parser.add_argument("--only", choices=("decode", "receiver", "consumer", "end_to_end",
                                           "views"), action="append")
    parser.add_argument("--baseline", default=consumer.BASELINE,
                        help="git ref whose consumer (and, end to end, receiver and consumer) "
                        "is the same-run baseline")
    parser.add_argument("--large-store", help="a store file the consumer's large-store run "
                        "copies (default: one built in SQL with the view rows)")
    args = parser.parse_args()
    n_recv, n_cons, n_e2e, n_views = SIZES["quick" if args.quick else "full"]
    wanted = set(args.only or ("decode", "receiver", "consumer", "end_to_end", "views"))
    out: dict[str, Any] = {"machine": {"cores": os.cpu_count(), "python": platform.python_version(),
                                       "system": platform.platform()}}
    started = time.perf_counter()
    if "decode" in wanted:
        out["decode"] = decode.measure(200_000 if args.quick else 1_000_000)
    broker = EmbeddedBroker().start()
    try:
        if "receiver" in wanted:
            out["receiver"] = receiver.run(broker, n_recv)
        if "consumer" in wanted:
            out["consumer"] = consumer.run(broker, n_cons, large=n_views,
                                           baseline=args.baseline,
                                           large_store=args.large_store)
        if "end_to_end" in wanted:  # against the same baseline's receiver and consumer
            out["end_to_end"] = end_to_end.compare(broker, n_e2e, args.baseline, rounds=1)
    finally:
        broker.stop()
    if "views" in wanted:
        out["views"] = _views(n_views)
    out["seconds"] = round(time.perf_counter() - started, 1)
    print(table(out))
    print(json.dumps(out, default=str))


def table(out: dict[str, Any]) -> str:
    """The headline figures, each with its baseline, ratio and target."""
    rows = [("measure", "ours", "baseline (same run)", "ratio", "target")]
    if "decode" in out:
        d = out["decode"]
        rows.append(("decode+map events/s (1 core)", d["decode_and_map_per_s"],
                     f"typed decode only {d['typed_decode_only_per_s']}",
                     d["ratio_to_typed_decode"], ">= 500k/s"))
    if "receiver" in out:
        r = out["receiver"]
        rows.append(("receiver req/s, ack awaited", r["receiver"]["rps"],
                     f"bare aiohttp + Kafka send {r['bare_aiohttp_kafka']['rps']}",
                     r["ratio_to_bare_kafka"], "ratio >= 0.85"))
        rows.append(("receiver req/s vs no Kafka", r["receiver"]["rps"],
                     f"bare aiohttp {r['bare_aiohttp']['rps']}", r["ratio_to_bare"], "reported"))
        rows.append(("receiver CPU us/request (its process)",
                     r["receiver"]["server_cpu_us_per_request"],
                     "bare aiohttp + Kafka send "
                     f"{r['bare_aiohttp_kafka']['server_cpu_us_per_request']}",
                     r["server_cpu_ratio_to_bare_kafka"], ""))
        rows.append(("receiver p50 / p99 ms", f"{r['receiver']['p50_ms']} / "
                     f"{r['receiver']['p99_ms']}", f"{r['bare_aiohttp']['p50_ms']} / "
                     f"{r['bare_aiohttp']['p99_ms']}", "", ""))
        rows.append(("receiver peak RSS MB", r["receiver"]["peak_rss_mb"],
                     r["bare_aiohttp"]["peak_rss_mb"], "", ""))
        st = r["stalled_unsigned_1mb_bodies"]
        rows.append((f"receiver peak RSS MB, {st['budget']['bodies']} stalled 1 MB bodies",
                     st["budget"]["peak_rss_mb"],
                     f"no byte budget {st['unbounded']['peak_rss_mb']}",
                     round(st["budget"]["peak_rss_mb"] / st["unbounded"]["peak_rss_mb"], 2),
                     "bounded"))
    if "consumer" in out:
        rows += consumer.table(out["consumer"])
    if "end_to_end" in out:
        cmp = out["end_to_end"]
        e, b = cmp["rounds"]["ours"][0], cmp["rounds"]["baseline"][0]
        rows.append(("HTTP -> rows events/s, sustained", e["sustained_events_per_s"],
                     f"code at {cmp['baseline_ref']} {b['sustained_events_per_s']}",
                     cmp["ratio_to_baseline_rounds"][0], ">= 1.5x"))
        rows.append(("  HTTP alone in that pass, req/s", e["http_rps"], b["http_rps"], "", ""))
        rows.append((f"p99 ms at half rate ({e['half_rate']}/s; baseline {b['half_rate']}/s)",
                     e["half_rate_p99_ms"], b["half_rate_p99_ms"], "", "< 25 ms"))
        rows.append(("CPU us an event, all four processes", e["cpu_us_per_event"]["all"],
                     b["cpu_us_per_event"]["all"], "", "lower"))
        rows.append(("peak RSS MB receiver / consumer",
                     f"{e['receiver_rss_mb']} / {e['consumer_rss_mb']}",
                     f"{b['receiver_rss_mb']} / {b['consumer_rss_mb']}", "", ""))
    for name, v in out.get("views", {}).get("views", {}).items():
        rows.append((f"view {name} s", v["seconds"], "", "", f"< {v['target']} s"))
    widths = [max(len(str(r[i])) for r in rows) for i in range(5)]
    lines = [" | ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


if __name__ == "__main__":
    main()
