"""The Markdown report of a run (also what the README's Performance section shows)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any


def _num(value: Any, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def _ms(summary: dict[str, Any] | None) -> str:
    if not summary or not summary.get("samples"):
        return "–"
    return f"{_num(summary['p50_ms'])} / {_num(summary['p99_ms'])}"


def _s(summary: dict[str, Any] | None) -> str:
    if not summary or not summary.get("samples"):
        return "–"
    return f"{summary['p50_ms'] / 1000:.2f} / {summary['p99_ms'] / 1000:.2f}"


def _rate(summary: dict[str, Any] | None) -> str:
    if not summary or not (summary.get("samples") or summary.get("windows")):
        return "–"
    return f"{_num(summary['median'], 0)} / {_num(summary['p99_low'], 0)}"


def machine_line(results: dict[str, Any]) -> str:
    m = results["machine"]
    parts = [f"{m['cores']} cores ({m['cpu']})", f"{_num(m.get('memory_gib'))} GiB", m["os"],
             f"Python {m['python']}", f"SQLite {m['sqlite']}"]
    if m.get("postgres"):
        parts.append(f"PostgreSQL {m['postgres']}")
    if m.get("docker"):
        parts.append(f"Docker {m['docker']}")
    load = results.get("load_average")
    if load:
        parts.append(f"load average {load['before']} before, {load['after']} after")
    return ", ".join(parts)


def read_section(section: dict[str, Any]) -> list[str]:
    rows = []
    for r in section["results"]:
        sql = r["sql_statements_per_request"]
        rows.append([
            r["database"], _num(r["deployments"]),
            _rate(r["berth"]["requests_per_s"]), _rate(r["ceiling"]["requests_per_s"]),
            f"**{_num(r['ratio_rps'], 2)}×**",
            _ms(r["berth"]["latency"]), _ms(r["ceiling"]["latency"]),
            f"{_num(sql['first_5'], 0)} / {_num(sql['first_50'], 0)}",
        ])  # fmt: skip
    return [
        "**Read** — `deployments(first: 50)` with service, server, steps and actor; runner stopped. "
        f"Requests/s with {section['results'][0]['concurrency'] if section['results'] else '?'} connections "
        "(median / slow-side p99 over the rounds), latency with one connection.",
        "",
        *_table(["database", "deployments", "Berth req/s", "ceiling req/s", "ratio", "Berth ms p50 / p99",
                 "ceiling ms p50 / p99", "SQL per request (first 5 / 50)"], rows),
        *_read_profile(section["results"]),
    ]


def _read_profile(results: list[dict[str, Any]]) -> list[str]:
    """The largest read's profile: where Berth's time per read still goes."""
    profiled = [r for r in results if r.get("profile", {}).get("top_own_time")]
    if not profiled:
        return []
    r = max(profiled, key=lambda item: item["deployments"])
    rows = [[f["function"], _num(f["calls"] / max(1, r["profile"]["requests"]), 1),
             f"{f['own_share'] * 100:.1f} %", f"{f['cumulative_share'] * 100:.1f} %"]
            for f in r["profile"]["top_own_time"]]
    return ["", f"Profile of Berth's read ({r['database']}, {r['deployments']:,} deployments, cProfile, "
            f"{r['profile']['requests']} requests): the functions with the most own time.", "",
            *_table(["function", "calls per read", "own time", "cumulative"], rows)]


def enqueue_section(section: dict[str, Any]) -> list[str]:
    rows = []
    for r in section["results"]:
        audit = r.get("audit") or {}
        rows.append([r["database"], _ms(r["first_in_queue"]), _ms(r["supersedes_one"]),
                     f"with {_ms(audit.get('with'))}; without {_ms(audit.get('without'))}" if audit else "-",
                     _num(r["sql_statements_per_request"], 0)])
    return [
        "**Enqueue** — `startDeployment`, runner stopped, one request at a time "
        "(10,000 deployments in the database).",
        "",
        *_table(["database", "first in queue ms p50 / p99", "supersedes one ms p50 / p99",
                 "superseding with / without audit ms p50 / p99", "SQL per request"], rows),
    ]


def webhooks_section(section: dict[str, Any]) -> list[str]:
    rows = []
    for r in section["results"]:
        sustained = r["sustained"]
        ledger = sustained["ledger"]
        rows.append([r["database"], _ms(r["received_to_queued"]),
                     f"{_num(sustained['achieved_per_s'])} of {_num(sustained['target_per_s'], 0)}/s",
                     _ms(sustained["latency"]),
                     f"{ledger['stored']} of {ledger['sent']} stored, {ledger['lost']} lost, "
                     f"{ledger['doubled']} doubled, {ledger['distinct_deployments']} deployments"])
    return [
        "**Webhooks** — signed GitHub push → deployment QUEUED (the 202 answer), runner stopped "
        "(10,000 deployments in the database).",
        "",
        *_table(["database", "received → QUEUED ms p50 / p99", "sustained rate", "sustained ms p50 / p99",
                 "ledger"], rows),
    ]


def dashboard_section(section: dict[str, Any]) -> list[str]:
    rows = [[r["database"], f"{_num(r['deployments'])}", _ms(r["first_rows"]), _ms(r["first_log_line"]),
             _num(r["first_rows"].get("samples"))] for r in section["results"]]
    return [
        "**Dashboard** — a fresh browser context (chromium, headless) from navigation to the first "
        "page of deployments in the DOM, and to a deployment's first log line (1,000 stored), runner stopped.",
        "",
        *_table(["database", "deployments", "first rows ms p50 / p99", "first log line ms p50 / p99",
                 "samples"], rows),
    ]


def notifications_section(section: dict[str, Any]) -> list[str]:
    rows = [[r["database"], _ms(r["conclusion_to_receiver"]),
             f"{r['delivered']} delivered, {r['requests']} requests, {r['doubled']} doubled, "
             f"{r['bad_signatures']} bad signatures"] for r in section["results"]]
    return [
        "**Notifications** — a deployment's conclusion committed → its signed WEBHOOK delivery read by a "
        "loopback receiver (sender in the same process, as beside `berth serve`'s runner).",
        "",
        *_table(["database", "conclusion → receiver ms p50 / p99", "deliveries"], rows),
    ]


def retention_section(section: dict[str, Any]) -> list[str]:
    rows = [[r["database"], _num(r["log_lines"]), f"{_num(r['prune_seconds'], 1)} s",
             _num(r["lines_per_s"], 0), _ms(r["read_before"]), _ms(r["read_during"]), _num(r["read_errors"])]
            for r in section["results"]]
    return [
        "**Retention** — `berth prune` removing every log line of concluded deployments (batches of 1,000, "
        "one transaction each) while one client reads `deployments(first: 50)` and a recent deployment's "
        "`logs(first: 100)` (lines that stay) alternately, back to back.",
        "",
        *_table(["database", "lines", "pass", "lines/s", "read ms p50 / p99 before", "during", "read errors"],
                rows),
    ]


def events_section(section: dict[str, Any]) -> list[str]:
    rows = []
    for r in section["results"]:
        if "error" in r:
            rows.append([r["database"], r["topology"], "–", "–", "–", r["error"]])
            continue
        for cell in r["cells"]:
            note = cell.get("error") or "; ".join(cell.get("errors") or []) or ""
            rows.append([r["database"], r["topology"], cell["subscribers"], _ms(cell.get("latency")),
                         _num((cell.get("latency") or {}).get("samples")), note])
    return [
        "**Event delivery** — step change committed → `deploymentEvents` subscriber has it "
        "(one WebSocket per subscriber).",
        "",
        *_table(["database", "topology", "subscribers", "ms p50 / p99", "samples", "note"], rows),
    ]


def logs_section(section: dict[str, Any]) -> list[str]:
    rows = []
    for r in section["results"]:
        for run in r["runs"]:
            delivered = "–"
            if run.get("subscriber"):
                delivered = f"{_num(run['delivered_lines_per_s'], 0)} ({_rate(run['delivered_windows'])})"
            rows.append([
                r["database"], (f"{run.get('subscribers', 1)} × {run.get('subscription') or 'yes'}"
                                if run.get("subscriber") else "no"),
                _num(run["lines_printed"]),
                _num(run["stdout_lines_stored"]),
                f"{_num(run['persisted_lines_per_s'], 0)} ({_rate(run['persisted_windows'])})", delivered,
                f"{_num(run['peak_rss_before_mib'])} → {_num(run['peak_rss_mib'])}",
            ])  # fmt: skip
    return [
        "**Logs** — a container printing lines through the embedded runner; lines/s overall "
        "(0.25 s windows: median / slow-side p99). Stored: the container's lines in the record.",
        "",
        *_table(["database", "subscriber", "lines printed", "stored", "persisted lines/s", "delivered lines/s",
                 "server peak RSS MiB"], rows),
    ]


def runner_section(section: dict[str, Any]) -> list[str]:
    rows = []
    for r in section["results"]:
        for c in r["comparisons"]:
            steps = ", ".join(f"{k} {v:.0f}" for k, v in c["berth_step_p50_ms"].items())
            rows.append([r["database"], c["kind"], _s(c["berth"]), _s(c["by_hand"]),
                         f"**{_num(c['ratio_p50'], 2)}×** ({_num(c['ratio_p99'], 2)}×)", steps])
    return [
        f"**Runner overhead** — a deployment against the same steps by hand, {section.get('pairs')} "
        f"alternating pairs (compose: `{section.get('compose_command')}`).",
        "",
        *_table(["database", "kind", "Berth s p50 / p99", "by hand s p50 / p99", "ratio p50 (p99)",
                 "Berth step p50 ms"], rows),
    ]


def traffic_section(section: dict[str, Any]) -> list[str]:
    rows = [[r["source"], "route (proxy)" if r["routed"] else "no route (fixed port)", r["deployments"],
             f"{r['requests']} at {_num(r['rate'], 0)}/s", f"**{r['failed']}**", _num(r["longest_gap_ms"], 0)]
            for r in section["results"]]
    latency = section.get("latency") or {}
    lines = [
        f"**Traffic** — GETs at {_num(section.get('rate'), 0)}/s to 127.0.0.1 through consecutive deployments "
        f"(drain {section.get('drain_seconds')} s with a route; without one IMAGE/DOCKERFILE stop first on a "
        "fixed port and COMPOSE replaces in place with `up -d`).",
        "",
        *_table(["source", "path", "deployments", "requests", "failed", "longest gap ms"], rows),
    ]
    if latency:
        lines += ["", f"Proxy latency, {latency['requests']} sequential GETs each: through the proxy "
                      f"{_ms(latency['proxy'])} ms p50 / p99, straight to the container {_ms(latency['direct'])} ms."]
    return lines


def soak_section(section: dict[str, Any]) -> list[str]:
    rows = [[m["minute"], _num(m["reads"]), _num(m["read_p99_ms"]), _num(m["events"]), _num(m["event_p99_ms"]),
             _num(m["rss_mib"]), _num(m["fds"]), _num(m.get("server_cpu_pct"), 0), _num(m.get("driver_cpu_pct"), 0),
             m["started"], m["concluded"], m["failed"]] for m in section["per_minute"]]
    deployments, ledger, flat = section["deployments"], section["ledger"], section["flat"]
    reads = section["reads"]
    return [
        f"**Soak** — {section['minutes']} min on {section['database']}, one process (API and runner): "
        f"{_num(section['deployments_per_minute'], 0)} deployments/min over {len(section['servers'])} daemons "
        f"({section['services']} services), {section['subscribers']} `deploymentEvents` subscribers on every "
        f"deployment, reads paced at {_num(section['read_rate'], 0)}/s "
        f"({_num(reads['achieved_per_s'])}/s kept, {reads['errors']} errors). "
        f"Deployments: {deployments['started']} started, {deployments['concluded']} concluded, "
        f"{deployments['failed']} failed"
        + (f" ({', '.join(f'{n} {c}' for c, n in sorted(deployments['by_conclusion'].items()))})"
           if deployments.get("by_conclusion") else "")
        + f". Events: {_num(ledger['events_received'])} received, "
        f"**{ledger['lost']} lost, {ledger['doubled']} doubled** ({ledger['deployments_compared']} deployments "
        f"compared with their replay, {ledger['unfinished']} unfinished). "
        f"RSS {_num(flat.get('rss_growth_pct'))} %, fds {_num(flat.get('fd_growth'))} from minute "
        f"{flat.get('reference_minute')} to the last: {_flat(flat.get('flat'))}.",
        "",
        *_table(["minute", "reads", "read p99 ms", "live events", "event p99 ms", "RSS MiB", "fds", "server CPU %",
                 "driver CPU %", "started", "concluded", "failed"], rows),
    ]


def _flat(flag: bool | None) -> str:
    return "–" if flag is None else ("flat" if flag else "**growing**")


def targets(results: dict[str, Any]) -> list[str]:
    sections = results["sections"]
    rows: list[list[str]] = []

    def ok(flag: bool | None) -> str:
        return "–" if flag is None else ("met" if flag else "**missed**")

    read = sections.get("read", {}).get("results")
    if read:
        worst = min(r["ratio_rps"] for r in read)
        constant = all(r["sql_statements_per_request"]["first_5"] == r["sql_statements_per_request"]["first_50"]
                       for r in read)
        rows.append(["read ≥ 1.0× ceiling, constant SQL count",
                     f"worst {worst:.2f}×; SQL {'constant' if constant else 'grows with the page'}",
                     ok(worst >= 1.0 and constant)])
    enqueue = [r for r in sections.get("enqueue", {}).get("results", []) if r["database"] == "SQLite"]
    if enqueue:
        p99 = max(max(r["first_in_queue"]["p99_ms"], r["supersedes_one"]["p99_ms"]) for r in enqueue)
        rows.append(["enqueue p99 ≤ 50 ms on SQLite", f"{p99:.1f} ms", ok(p99 <= 50)])
    for r in sections.get("events", {}).get("results", []):
        cell = max(r.get("cells", []), key=lambda c: c["subscribers"], default=None)
        if cell is None:
            continue
        p99 = (cell.get("latency") or {}).get("p99_ms")
        delivered = cell.get("latency", {}).get("samples") and not cell.get("missed") and not cell.get("error")
        measured = f"{p99:.1f} ms" if delivered and p99 is not None else "not delivered"
        rows.append([f"event p99 ≤ 100 ms at {cell['subscribers']} subscribers ({r['database']}, {r['topology']})",
                     measured, ok(bool(delivered) and p99 is not None and p99 <= 100)])
    for r in sections.get("logs", {}).get("results", []):
        # The target is the batched stream's: per-line messages are kept for comparison.
        counted = [run for run in r["runs"] if run.get("subscription") in (None, "deploymentLogBatches")]
        complete = all(run["stdout_lines_stored"] >= run["lines_printed"] for run in r["runs"])
        growth = max(run["peak_rss_mib"] - run["peak_rss_before_mib"] for run in r["runs"])
        stored = min(run["persisted_lines_per_s"] or 0 for run in counted)
        delivered_rates: dict[int, float] = {}
        for run in counted:
            if run.get("subscriber"):
                count = run.get("subscribers", 1)
                slowest = min(delivered_rates.get(count, float("inf")), run["delivered_lines_per_s"] or 0)
                delivered_rates[count] = slowest
        parts = [f"{stored:,.0f} lines/s stored"]
        parts += [f"{rate:,.0f} delivered to each of {count}" for count, rate in sorted(delivered_rates.items())]
        parts.append(f"{'all' if complete else 'NOT all'} lines stored; peak RSS +{growth:.0f} MiB")
        met = min([stored, *delivered_rates.values()]) >= 50_000 and {1, 10} <= set(delivered_rates) and complete
        rows.append([f"logs ≥ 50,000 lines/s stored and delivered to 1 and to 10, bounded memory ({r['database']})",
                     "; ".join(parts), ok(met)])
    for r in sections.get("webhooks", {}).get("results", []):
        if r["database"] == "SQLite":
            p99 = r["received_to_queued"]["p99_ms"]
            rows.append(["webhook → QUEUED p99 ≤ 50 ms on SQLite", f"{p99:.1f} ms", ok(p99 <= 50)])
        sustained = r["sustained"]
        ledger = sustained["ledger"]
        whole = ledger["lost"] == 0 and ledger["doubled"] == 0 and ledger["distinct_deployments"] == ledger["sent"]
        rows.append([f"100 signed deliveries/s, none lost or doubled ({r['database']})",
                     f"{sustained['achieved_per_s']:.1f}/s; {ledger['lost']} lost, {ledger['doubled']} doubled",
                     ok(sustained["achieved_per_s"] >= 0.98 * sustained["target_per_s"] and whole
                        and not sustained["errors"])])
    for r in sections.get("traffic", {}).get("results", []):
        if r["routed"]:
            rows.append([f"0 failed requests through deployments with a route ({r['source']})",
                         f"{r['failed']} of {r['requests']}", ok(r["failed"] == 0)])
    soak = sections.get("soak", {})
    if "ledger" in soak:
        ledger, flat = soak["ledger"], soak["flat"]
        rows.append([f"soak: 0 events lost, 0 doubled ({soak['database']}, {soak['minutes']} min)",
                     f"{ledger['lost']} lost, {ledger['doubled']} doubled of {ledger['events_received']:,}",
                     ok(ledger["lost"] == 0 and ledger["doubled"] == 0 and not ledger["unfinished"])])
        rows.append([f"soak: RSS within +{flat.get('rss_bound_pct', 10):g} %, fds within "
                     f"+{flat.get('fd_bound', 20)}, last minute vs minute {flat.get('reference_minute')}",
                     f"RSS {_num(flat.get('rss_growth_pct'))} %, fds {_num(flat.get('fd_growth'))}",
                     ok(flat.get("flat"))])
        reads = soak["reads"]
        rows.append([f"soak: reads kept at {soak['read_rate']:g}/s",
                     f"{reads['achieved_per_s']:.1f}/s, p99 {_num(reads['latency'].get('p99_ms'))} ms",
                     ok(reads["achieved_per_s"] >= 0.98 * soak["read_rate"] and not reads["errors"])])
    for r in sections.get("runner", {}).get("results", []):
        for c in r["comparisons"]:
            rows.append([f"runner ≤ 1.3× by hand ({c['kind']}, {r['database']})", f"{c['ratio_p50']:.2f}×",
                         ok(c["ratio_p50"] <= 1.3)])
    return _table(["target", "measured", ""], rows) if rows else []


def _by_db(items: Iterable[dict[str, Any]], key: str = "database") -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        grouped.setdefault(item[key], []).append(item)
    return grouped


def summary_table(results: dict[str, Any]) -> list[str]:
    """One row per figure, one column per database: the short table of the README."""
    sections = results["sections"]
    databases = ["SQLite", "PostgreSQL"]
    rows: list[list[str]] = []

    def row(label: str, cells: dict[str, str], target: str) -> None:
        if any(cells.values()):
            rows.append([label, *(cells.get(db) or "–" for db in databases), target])

    read = _by_db(sections.get("read", {}).get("results", []))
    sizes = sorted({r["deployments"] for rs in read.values() for r in rs})
    for size in sizes:
        cells = {}
        for db, rs in read.items():
            for r in rs:
                if r["deployments"] == size:
                    cells[db] = (f"{_num(r['berth']['requests_per_s']['median'], 0)} req/s "
                                 f"(**{_num(r['ratio_rps'], 2)}×** ceiling); {_ms(r['berth']['latency'])} ms")
        row(f"read `deployments(first: 50)`, {size:,} deployments", cells, "≥ 1.0× ceiling")
    cells = {db: "; ".join(f"{_num(r['sql_statements_per_request']['first_5'])} → "
                           f"{_num(r['sql_statements_per_request']['first_50'])} at {r['deployments']:,}" for r in rs)
             for db, rs in read.items()}
    row("SQL statements per read (page of 5 → 50)", cells, "constant")
    enqueue = _by_db(sections.get("enqueue", {}).get("results", []))
    row("enqueue `startDeployment` ms p50 / p99",
        {db: f"{_ms(rs[0]['first_in_queue'])} (superseding: {_ms(rs[0]['supersedes_one'])})"
         for db, rs in enqueue.items()}, "p99 ≤ 50 ms (SQLite)")
    audited = {db: rs[0]["audit"] for db, rs in enqueue.items() if rs[0].get("audit")}
    if audited:
        row("auditing `startDeployment` (superseding) ms p50 / p99",
            {db: f"with {_ms(a['with'])}; without {_ms(a['without'])}" for db, a in audited.items()},
            "–")
    for topology in ("one process", "two API processes"):
        cells = {}
        for r in sections.get("events", {}).get("results", []):
            if r.get("topology") != topology or "cells" not in r:
                continue
            cells[r["database"]] = " · ".join(
                f"{c['subscribers']}: {_ms(c.get('latency'))}" for c in r["cells"])
        row(f"event delivery ms p50 / p99 by subscribers, {topology}", cells, "p99 ≤ 100 ms at 500")
    logs = _by_db(sections.get("logs", {}).get("results", []))
    cells_alone, cells_watched, cells_kept = {}, {}, {}
    for db, rs in logs.items():
        runs = rs[0]["runs"]
        alone = [r for r in runs if not r.get("subscriber")]
        watched = [r for r in runs if r.get("subscriber")]
        if alone:
            cells_alone[db] = " / ".join(_num(r["persisted_lines_per_s"], 0) for r in alone)
        if watched:
            cells_watched[db] = " / ".join(
                f"{_num(r['persisted_lines_per_s'], 0)} stored, {_num(r['delivered_lines_per_s'], 0)} delivered"
                f" ({r.get('subscribers', 1)} × {'batches' if r.get('subscription') == 'deploymentLogBatches' else 'lines'})"
                for r in watched)
        cells_kept[db] = (" / ".join(_num(r["stdout_lines_stored"]) for r in runs)
                          + f" of {_num(runs[0]['lines_printed'])}; peak RSS "
                          + f"{_num(runs[0]['peak_rss_before_mib'], 0)}→{_num(max(r['peak_rss_mib'] for r in runs), 0)} MiB")
    row("logs lines/s stored, no subscriber", cells_alone, "≥ 50,000")
    row("logs lines/s with subscribers (1 × lines, 1 × and 10 × batches; delivered: the slowest)", cells_watched,
        "≥ 50,000 stored and delivered (batches, 1 and 10)")
    row("logs: container lines kept in the record; server memory", cells_kept, "all; bounded")
    runner = _by_db(sections.get("runner", {}).get("results", []))
    for kind in ("IMAGE", "COMPOSE"):
        cells = {}
        for db, rs in runner.items():
            for c in rs[0]["comparisons"]:
                if c["kind"] == kind:
                    cells[db] = (f"{c['berth']['p50_ms'] / 1000:.2f} s vs {c['by_hand']['p50_ms'] / 1000:.2f} s "
                                 f"by hand (**{_num(c['ratio_p50'], 2)}×**)")
        row(f"{kind} deployment vs the same steps by hand (p50)", cells, "≤ 1.3×")
    webhooks = _by_db(sections.get("webhooks", {}).get("results", []))
    row("webhook received → QUEUED ms p50 / p99", {db: _ms(rs[0]["received_to_queued"]) for db, rs in webhooks.items()},
        "p99 ≤ 50 ms (SQLite)")
    row("signed deliveries/s sustained (none lost or doubled)",
        {db: f"{_num(rs[0]['sustained']['achieved_per_s'])}/s, {rs[0]['sustained']['ledger']['lost']} lost, "
             f"{rs[0]['sustained']['ledger']['doubled']} doubled" for db, rs in webhooks.items()}, "100/s")
    dashboard = _by_db(sections.get("dashboard", {}).get("results", []))
    row("dashboard: navigation → first 50 rows, → first log line (ms p50 / p99), 10,000 deployments",
        {db: f"{_ms(rs[0]['first_rows'])}; {_ms(rs[0]['first_log_line'])}" for db, rs in dashboard.items()}, "–")
    notified = _by_db(sections.get("notifications", {}).get("results", []))
    row("notification conclusion → receiver ms p50 / p99",
        {db: _ms(rs[0]["conclusion_to_receiver"]) for db, rs in notified.items()}, "–")
    pruned = _by_db(sections.get("retention", {}).get("results", []))
    row("pruning log lines: lines/s; read ms p50 / p99 before → during",
        {db: f"{_num(rs[0]['log_lines'])} at {_num(rs[0]['lines_per_s'], 0)}/s; {_ms(rs[0]['read_before'])} → "
             f"{_ms(rs[0]['read_during'])}" for db, rs in pruned.items()}, "–")
    soak = sections.get("soak", {})
    if "ledger" in soak:
        ledger, flat, reads = soak["ledger"], soak["flat"], soak["reads"]
        row(f"soak {soak['minutes']} min: events lost / doubled; RSS, fds last vs minute "
            f"{flat.get('reference_minute')}; reads/s, read and event ms p99",
            {soak["database"]: f"{ledger['lost']} / {ledger['doubled']}; RSS {_num(flat.get('rss_growth_pct'))} %, "
                               f"fds {_num(flat.get('fd_growth'))}; {_num(reads['achieved_per_s'])} of "
                               f"{_num(soak['read_rate'], 0)}/s, {_num(reads['latency'].get('p99_ms'))}, "
                               f"{_num(soak['events'].get('p99_ms'))}"},
            f"0 / 0; ≤ +{flat.get('rss_bound_pct', 10):g} %, ≤ +{flat.get('fd_bound', 20)}; "
            f"{_num(soak['read_rate'], 0)}/s")
    return _table(["figure", *databases, "target"], rows) if rows else []


RENDERERS = {
    "read": read_section,
    "enqueue": enqueue_section,
    "events": events_section,
    "logs": logs_section,
    "runner": runner_section,
    "webhooks": webhooks_section,
    "dashboard": dashboard_section,
    "notifications": notifications_section,
    "traffic": traffic_section,
    "retention": retention_section,
    "soak": soak_section,
}


def markdown(results: dict[str, Any]) -> str:
    lines = [
        f"### Berth benchmarks ({results['command']})",
        "",
        f"Machine: {machine_line(results)}. Databases: {', '.join(results['databases'])}. "
        f"Run {results['started_at']}, {results['seconds']:.0f} s.",
        "",
    ]
    summary = summary_table(results)
    if summary:
        lines += ["**Summary**", "", *summary, ""]
    for name, section in results["sections"].items():
        if "error" in section:
            lines += [f"**{name}** — could not run: `{section['error']}`", ""]
            continue
        try:
            lines += RENDERERS[name](section)
        except (KeyError, TypeError, ValueError) as exc:  # a partial section still shows the rest
            lines += [f"**{name}** — incomplete results ({type(exc).__name__}: {exc})"]
        lines.append("")
    target_rows = targets(results)
    if target_rows:
        lines += ["**Targets**", "", *target_rows, ""]
    return "\n".join(lines)


if __name__ == "__main__":  # re-render a results file: python -m bench.report [bench/results.json]
    import json
    import sys
    from pathlib import Path

    from bench.config import RESULTS_PATH

    print(markdown(json.loads(Path(sys.argv[1] if len(sys.argv) > 1 else RESULTS_PATH).read_text())))
