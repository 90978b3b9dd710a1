"""The results as JSON and as a Markdown table: `python -m bench.report` re-renders the Markdown
from `bench/results/latest.json`."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from bench.driver import Pass

RESULTS = Path(__file__).parent / "results"
MEMORY_TARGET_AT = 10_000


def percentiles(values: list[float]) -> dict[str, float]:
    """Milliseconds: p50, p90, p99 (nearest rank), max, mean; n."""
    if not values:
        return {"n": 0}
    ordered = sorted(values)

    def rank(p: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, int(round(p * len(ordered) + 0.5)) - 1))]

    return {
        "n": len(ordered),
        "p50_ms": round(rank(0.50) * 1000, 1),
        "p90_ms": round(rank(0.90) * 1000, 1),
        "p99_ms": round(rank(0.99) * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 1),
    }


def summarize(run: Pass, cpu: dict[str, float]) -> dict[str, Any]:
    ok = run.ok
    done = len(ok)
    return {
        "registrations": len(run.traces),
        "completed": done,
        "errors": len(run.errors),
        "error_samples": sorted(set(run.errors))[:5],
        "wall_s": round(run.wall, 2),
        "throughput_per_s": round(done / run.wall, 2) if run.wall else 0.0,
        "latency_total": percentiles([t.total for t in ok]),
        "latency_decide_to_account": percentiles([t.decision_to_account for t in ok]),
        "latency_start_to_sms": percentiles([t.code_seen - t.started for t in ok]),
        "latency_sms_to_code_accepted": percentiles([t.code_accepted - t.code_seen for t in ok]),
        "latency_code_to_review_notice": percentiles([t.review_seen - t.code_accepted for t in ok]),
        "update_not_ready_retries": sum(t.not_ready_retries for t in run.traces),
        "cpu_ms_per_registration": {
            where: round(seconds * 1000 / max(done, 1), 1) for where, seconds in cpu.items()
        },
        "cpu_utilisation": {
            where: round(seconds / max(run.wall, 1e-9), 2) for where, seconds in cpu.items()
        },
    }


# --- targets ---------------------------------------------------------------------------------

RATIO_TARGET = 0.9
CPU_RATIO_TARGET = 1.3
EVENTS_TARGET = 70
HALF_LOAD_N = 200
EDGE_P99_MS = 300
INBOX_MS = 300
LONG_PASS = RESULTS / f"waiting-{MEMORY_TARGET_AT}"  # `make bench-long` writes it


def _extra_cost(ours: dict[str, Any], skeleton: dict[str, Any], top: int = 3) -> str:
    """The components where ours' event loop spends most beyond the skeleton's (profiled)."""
    mine = ours.get("event_loop_profile", {}).get("by_component_ms", {})
    theirs = skeleton.get("event_loop_profile", {}).get("by_component_ms", {})
    extra = sorted(((mine[k] - theirs.get(k, 0), k) for k in mine), reverse=True)[:top]
    return ", ".join(f"{name} +{ms:.0f} ms" for ms, name in extra if ms > 0)


def memory_projection(w: dict[str, Any]) -> dict[str, float]:
    """RSS with `MEMORY_TARGET_AT` waiting. A worker holds at most its cache's worth of
    workflows, evicting the rest until their next event: below the cache size growth is taken
    per cached workflow up to it; past it, from the curve's slope once the caches were full."""
    cache = w["worker_max_cached_workflows"] * w.get("worker_processes", 1)
    if w["waiting"] < cache:
        per = w["rss_delta_mib"] / max(1, w["waiting"])
        projected = w["rss_baseline_mib"] + per * min(MEMORY_TARGET_AT, cache)
    else:
        full = [(n, mib) for n, _, mib in w.get("rss_curve", []) if n >= cache]
        per = (full[-1][1] - full[0][1]) / (full[-1][0] - full[0][0]) if len(full) > 1 else 0.0
        projected = w["rss_after_mib"] + max(0.0, per) * (MEMORY_TARGET_AT - w["waiting"])
    projected = max(w["rss_after_mib"], projected)
    return {"mib_per_cached_workflow": round(per, 3), "projected_rss_mib": round(projected, 1)}


LIMIT_MIB = 400 * 1_000_000 / 2**20  # 400 MB


def _per_registration(side: dict[str, Any]) -> dict[str, float]:
    done = max(side["completed"], 1)
    return {k: v * 1000 / done for k, v in side.get("worker_cpu_by_thread_s", {}).items()}


def cpu_ratio(r: dict[str, Any]) -> float:
    ours = r["throughput"]["ours"]["cpu_ms_per_registration"]["worker_processes"]
    skeleton = r["throughput"]["skeleton"]["cpu_ms_per_registration"]["worker_processes"]
    return ours / skeleton if skeleton else float("inf")


def _cost_note(r: dict[str, Any]) -> str:
    """Why ours costs more than the skeleton, from the CPU meters and the profile."""
    ours, skeleton = r["throughput"]["ours"], r["throughput"]["skeleton"]
    cpu_o, cpu_s = ours["cpu_ms_per_registration"], skeleton["cpu_ms_per_registration"]
    h = r["history"]
    bytes_ratio = h["happy_path"]["payload_bytes"] / max(h["skeleton"]["payload_bytes"], 1)
    threads_o, threads_s = _per_registration(ours), _per_registration(skeleton)
    by_thread = sorted(((threads_o[g] - threads_s.get(g, 0), g) for g in threads_o), reverse=True)
    photo = r.get("photo_check_cpu_ms", 0)
    profiled = ours.get("event_loop_profile", {}).get("by_component_ms", {})
    parts = [
        "CPU-bound on 2 cores shared by the worker processes, the dev server and the driver (and "
        "whatever else runs here). Per registration ours' worker processes use "
        f"{cpu_o['worker_processes']:.0f} ms CPU (skeleton {cpu_s['worker_processes']:.0f}), the "
        f"dev server {cpu_o['dev_server']:.0f} ms (skeleton {cpu_s['dev_server']:.0f}: "
        f"{h['happy_path']['events']} events instead of {h['skeleton']['events']}, search-"
        f"attribute upserts to index, {bytes_ratio:.0f}× the payload bytes), the driver "
        f"{cpu_o['driver']:.0f} ms (skeleton {cpu_s['driver']:.0f}). The workers' extra by "
        "thread: "
        + ", ".join(f"{g} +{ms:.0f} ms" for ms, g in by_thread[:2] if ms > 0)
        + (f"; on the event loop (profiled): {_extra_cost(ours, skeleton)}" if profiled else "")
        + f". The photo checks take {photo:.0f} ms per verification.",
        "Already done (#17): one transaction per activity in Core statements, photos checked "
        "once by content address, workflow modules passed through the sandbox, search "
        "attributes upserted only when they change. What is left, largest first: aiosqlite "
        "hands every statement to its own thread and back (the database and asyncio rows; "
        "PostgreSQL on asyncpg, as docker compose runs it, has no such hop, or each activity's "
        "transaction could run whole in one thread); the SDK enters the sandbox once per "
        "payload for its serialization context (`_importer.applied`, `_run_code`: fewer "
        "payloads, or an SDK that asks outside the sandbox); the activities' own work, which "
        "the skeleton does not do. Throughput scales out with worker processes on more cores "
        "(`--workers`).",
    ]
    return " ".join(parts)


def _long_pass(r: dict[str, Any]) -> dict[str, Any]:
    """The waiting figures at `MEMORY_TARGET_AT`: this run's, or the long pass's on file."""
    waiting = r.get("waiting") or {}
    if waiting.get("registrations", 0) >= MEMORY_TARGET_AT:
        return waiting
    if LONG_PASS.with_suffix(".json").exists():
        saved = json.loads(LONG_PASS.with_suffix(".json").read_text())
        found = dict(saved.get("waiting") or {})
        if found.get("registrations", 0) >= MEMORY_TARGET_AT:
            found["from_file"] = f"{LONG_PASS.name}.md"
            found["date"] = saved["machine"]["date"]
            return found
    return {}


def _edge_row(r: dict[str, Any]) -> dict[str, Any]:
    """The edge load test's figures, when its pass ran (`results["edge_load"]`: "inbox" and
    "decision" percentiles in ms as `percentiles` gives them, and "errors")."""
    load = r.get("edge_load")
    target = f"edge: p99 of inbox page and decision under load < {EDGE_P99_MS} ms, 0 errors"
    if not load:
        return {
            "target": target,
            "measured": "not measured in this run",
            "met": False,
            "note": "the edge load test (bench/edge_load.py) did not run: `--edge-applicants 0`",
        }
    inbox = load.get("inbox", {}).get("p99_ms", float("inf"))
    decision = load.get("decision", {}).get("p99_ms", float("inf"))
    errors = load.get("errors", 0)
    met = inbox < EDGE_P99_MS and decision < EDGE_P99_MS and errors == 0
    return {
        "target": target,
        "measured": f"inbox p99 {inbox:.0f} ms, decision p99 {decision:.0f} ms, {errors} errors",
        "met": met,
        "note": "" if met else load.get("note", "see the edge load section"),
    }


def _events_note(happy: dict[str, Any]) -> str:
    types = happy["event_types"]
    tasks = types.get("WORKFLOW_TASK_COMPLETED", 0)
    activities = types.get("ACTIVITY_TASK_SCHEDULED", 0)
    upserts = types.get("UPSERT_WORKFLOW_SEARCH_ATTRIBUTES", 0)
    return (
        f"{tasks} workflow tasks (3 events each), {activities} activities (3 each), {upserts} "
        "search-attribute upserts: fewer workflow tasks (an Update's activity and the stage "
        "change in one) and one upsert per stage change are where to cut"
    )


def targets(r: dict[str, Any]) -> list[dict[str, Any]]:
    ours, skeleton = r["throughput"]["ours"], r["throughput"]["skeleton"]
    ratio = r["throughput"]["ratio"]
    cpu = cpu_ratio(r)
    happy = r["history"]["happy_path"]["events"]
    half = r["half_load"]
    out = []

    out.append(
        {
            "target": f"throughput ours/skeleton >= {RATIO_TARGET}",
            "measured": f"{ratio:.2f} ({ours['throughput_per_s']}/s vs "
            f"{skeleton['throughput_per_s']}/s)",
            "met": ratio >= RATIO_TARGET,
            "note": "" if ratio >= RATIO_TARGET else _cost_note(r),
        }
    )
    o_ms = ours["cpu_ms_per_registration"]["worker_processes"]
    s_ms = skeleton["cpu_ms_per_registration"]["worker_processes"]
    out.append(
        {
            "target": f"worker CPU per registration ours/skeleton <= {CPU_RATIO_TARGET}",
            "measured": f"{cpu:.2f} ({o_ms:.0f} ms vs {s_ms:.0f} ms)",
            "met": cpu <= CPU_RATIO_TARGET,
            "note": "" if cpu <= CPU_RATIO_TARGET else "see the throughput row: the same causes",
        }
    )
    out.append(
        {
            "target": f"happy path <= {EVENTS_TARGET} history events",
            "measured": f"{happy} events",
            "met": happy <= EVENTS_TARGET,
            "note": "" if happy <= EVENTS_TARGET else _events_note(r["history"]["happy_path"]),
        }
    )
    p99 = half["decide_to_account"].get("p99_ms", float("inf"))
    n = half["decide_to_account"].get("n", 0)
    met = p99 < 1000 and n >= HALF_LOAD_N
    out.append(
        {
            "target": f"p99 decision → account < 1 s at half the maximum load, n >= {HALF_LOAD_N}",
            "measured": f"p99 {p99:.0f} ms at {half['rate_per_s']}/s (n={n})",
            "met": met,
            "note": ""
            if met
            else (
                f"only {n} registrations (`--half-load-total {HALF_LOAD_N}`)"
                if p99 < 1000
                else "decision → account is two activities (authorize, assign role) and about "
                "five workflow tasks; on a busy 2-core machine they wait behind the other "
                "registrations' work (see the time breakdown); the fixes for throughput "
                "shorten it too"
            ),
        }
    )
    out.append(_edge_row(r))
    out += _waiting_targets(r)
    first = r.get("first_reminder")
    if first:
        once = first.get("first_reminder", {})
        met = bool(once.get("exactly_once")) and first.get("moved_on") == first["waiting"] > 0
        out.append(
            {
                "target": "first reminder fires exactly once after skipped time",
                "measured": f"{first.get('moved_on', 0):,} of {first['registrations']:,} "
                f"reminded, exactly once: {'yes' if once.get('exactly_once') else 'no'} "
                f"({first['waiting']:,} waiting, worker killed and restarted)",
                "met": met,
                "note": ""
                if met
                else "see the first-reminder section: rows per registration"
                + (f"; errors: {first['error_samples']}" if first.get("error_samples") else ""),
            }
        )
    return out


def _waiting_targets(r: dict[str, Any]) -> list[dict[str, Any]]:
    long = _long_pass(r)
    waiting = long or r.get("waiting") or {}
    if not waiting:
        return []
    at_target = bool(long)
    load = " / ".join(map(str, waiting.get("load_average_after_fill", [])))
    source = f" ([long pass]({long['from_file']}), {long['date']})" if "from_file" in long else ""
    source += f"; load average {load} after the fill" if load else ""
    count = f"{waiting['waiting']:,} waiting"
    out = []
    projection = memory_projection(waiting)
    rss = waiting["rss_after_mib"] if at_target else projection["projected_rss_mib"]
    met = at_target and rss < LIMIT_MIB and waiting["error_count"] == 0
    cache = waiting["worker_max_cached_workflows"]
    note = []
    below_cache = waiting["waiting"] < cache * waiting.get("worker_processes", 1)
    if not at_target:
        note.append(
            f"measured with {count}, not {MEMORY_TARGET_AT:,} (`make bench-long` runs it), "
            f"and projected: a worker keeps at most {cache} workflows in its cache; "
            + (
                f"+{projection['mib_per_cached_workflow']:.2f} MiB per cached one here"
                if below_cache
                else f"past the cache RSS still grew {projection['mib_per_cached_workflow']:.3f} "
                "MiB per waiting registration (the curve's slope, noisy: see the curve)"
            )
        )
    if rss >= LIMIT_MIB and below_cache:
        room = LIMIT_MIB - waiting["rss_baseline_mib"]
        fits = int(room / max(projection["mib_per_cached_workflow"], 1e-6)) if room > 0 else 0
        note.append(
            f"fix: a `max_cached_workflows` of at most ~{fits} (now {cache}); a registration "
            "waiting for review wakes once a working day at most, so an evicted one costs one "
            f"replay of its {waiting.get('history_events_while_waiting', '~40')} events then"
        )
    elif rss >= LIMIT_MIB:
        note.append(
            "growth past the cache is not the cache's, and its cause is not measured yet: the "
            "long pass shows whether it goes on"
        )
    out.append(
        {
            "target": f"{MEMORY_TARGET_AT:,} waiting: worker RSS < 400 MB ({LIMIT_MIB:.0f} MiB)",
            "measured": f"{waiting['rss_after_mib']:.0f} MiB with {count} "
            f"({waiting.get('worker_processes', 1)} process(es)){source}"
            + ("" if at_target else f"; projected {rss:.0f} MiB"),
            "met": met,
            "note": "; ".join(note),
        }
    )
    page = waiting.get("edge", {}).get("api_first_page", {})
    median = page.get("median_ms", float("inf"))
    met = at_target and median < INBOX_MS
    out.append(
        {
            "target": f"{MEMORY_TARGET_AT:,} waiting: first inbox page (50 rows, by deadline) "
            f"through the edge < {INBOX_MS} ms",
            "measured": f"median {median:.0f} ms, max {page.get('max_ms', 0):.0f} ms of "
            f"{page.get('runs', 0)} with {count}{source}",
            "met": met,
            "note": ""
            if met
            else (
                f"measured with {count} only (`make bench-long` runs {MEMORY_TARGET_AT:,})"
                if median < INBOX_MS
                else "the dev server's SQLite visibility cannot sort, so the edge finds a "
                "page by counting (edge/inbox.py): a first look costs about 18 count_workflows "
                "probes of the entry instants and one list_workflows, a reload 3 counts (the "
                "cut is remembered and checked); each count over 10,000 rows takes tens of ms "
                "here. PostgreSQL or Elasticsearch visibility sorts: one list_workflows"
            ),
        }
    )
    return out


# --- Markdown -------------------------------------------------------------------------------------


def _cpu(side: dict[str, Any], where: str) -> str:
    value = side["cpu_ms_per_registration"].get(where)
    return "-" if value is None else f"{value:.0f}"


def _p(stats: dict[str, float], key: str = "p50_ms") -> str:
    return f"{stats[key]:.0f}" if key in stats else "-"


def markdown(r: dict[str, Any]) -> str:
    m, p = r["machine"], r["parameters"]
    ours, skel = r["throughput"]["ours"], r["throughput"]["skeleton"]
    lines = [
        "# Benchmark: registrations on the Temporal dev server",
        "",
        f"{m['date']} · {m['nproc']} cores ({m['cpu']}), {m['memory_gib']} GiB · load average "
        f"{' / '.join(map(str, r['load_average']['start']))} at start, "
        f"{' / '.join(map(str, r['load_average']['end']))} at end (1/5/15 min) · "
        f"Python {m['python']}, temporalio {m['temporalio']}, {m['temporal_cli']} · "
        f"commit {m['git_commit']}{' (uncommitted changes)' if m['git_dirty'] else ''} · "
        f"`{r['command']}` took {r['duration_s']:.0f} s",
        "",
        f"Dev server with {p['temporal_db']} SQLite (WAL, synchronous=normal); every part its "
        f"own process: ours is {p.get('workers', 1)} `worker.py` process(es), the skeleton as "
        f"many `python -m bench.skeleton` (same sandboxed runner, data converter and codec, "
        f"cache and activity slots), this driver (`python -m bench.run`) an integrator reaching "
        f"them only through Temporal's typed client and the SMS outbox (read from the SQLite "
        f"file once delivered, polling every {p['poll_ms']} ms; the skeleton's notices from a "
        f"file of its own, the same way). Payloads AES-GCM encrypted; {p['in_flight']} in "
        f"flight, {p['total']} measured registrations per side after {p['warmup']} warm-up, in "
        f"{p.get('rounds', 1)} rounds with the sides alternating (ABBA). CPU per registration "
        "(from /proc/PID/stat) is steadier than throughput on this shared machine: other jobs "
        "run here, read the load average.",
        "",
        *_long_pass_link(r),
        "| measure | ours | skeleton | ours/skeleton |",
        "|---|---:|---:|---:|",
        f"| **throughput** (complete registrations/s) | **{ours['throughput_per_s']}** | "
        f"{skel['throughput_per_s']} | **{r['throughput']['ratio']:.2f}** |",
        f"| latency start → account p50 / p99 (ms) | {_p(ours['latency_total'])} / "
        f"{_p(ours['latency_total'], 'p99_ms')} | {_p(skel['latency_total'])} / "
        f"{_p(skel['latency_total'], 'p99_ms')} | |",
        f"| latency decide → account p50 / p99 (ms) | {_p(ours['latency_decide_to_account'])} / "
        f"{_p(ours['latency_decide_to_account'], 'p99_ms')} | "
        f"{_p(skel['latency_decide_to_account'])} / "
        f"{_p(skel['latency_decide_to_account'], 'p99_ms')} | |",
        f"| **CPU per registration: worker process(es)** (ms) | "
        f"**{_cpu(ours, 'worker_processes')}** | {_cpu(skel, 'worker_processes')} | "
        f"**{cpu_ratio(r):.2f}** |",
        f"| CPU per registration: dev server (ms) | {_cpu(ours, 'dev_server')} | "
        f"{_cpu(skel, 'dev_server')} | |",
        f"| CPU per registration: driver (ms) | {_cpu(ours, 'driver')} | "
        f"{_cpu(skel, 'driver')} | |",
        f"| history events per registration (happy path) | "
        f"{r['history']['happy_path']['events']} | {r['history']['skeleton']['events']} | |",
        f"| payload bytes per registration (happy path) | "
        f"{r['history']['happy_path']['payload_bytes']:,} | "
        f"{r['history']['skeleton']['payload_bytes']:,} | |",
        f"| errors | {ours['errors']} | {skel['errors']} | |",
        "",
        "Per round, in the order run (registrations/s): "
        + _rounds(ours, skel)
        + ". Ratio = completed ÷ summed wall time, per side.",
        "",
        "## Targets",
        "",
        "| target | measured | met | why, and what would fix it |",
        "|---|---|:-:|---|",
    ]
    for t in r["targets"]:
        lines.append(
            f"| {t['target']} | {t['measured']} | {'yes' if t['met'] else '**no**'} | {t['note']} |"
        )
    h = r["history"]
    rej = h["rejection_round"]
    lines += [
        "",
        "## History per registration",
        "",
        "| path | runs | events | payloads | payload bytes | of which encrypted | history bytes |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, s in (
        ("happy path", h["happy_path"]),
        ("one rejection round, resubmitted, approved", rej),
        ("skeleton", h["skeleton"]),
    ):
        lines.append(
            f"| {label} | {s['runs']} | {s['events']} ({' + '.join(map(str, s['events_per_run']))})"
            f" | {s['payloads']} | {s['payload_bytes']:,} | {s['encrypted_payload_bytes']:,} | "
            f"{s['history_bytes']:,} |"
        )
    types = h["happy_path"]["event_types"]
    lines += [
        "",
        "Happy-path events by type: " + ", ".join(f"{k} {v}" for k, v in types.items()) + ".",
    ]
    half = r["half_load"]
    lines += [
        "",
        "## Half load",
        "",
        f"{half['registrations']} registrations arriving at {half['rate_per_s']}/s (Poisson; half "
        f"of ours' {ours['throughput_per_s']}/s), {half['errors']} errors: decide → account "
        f"p50 {_p(half['decide_to_account'])} ms, p90 "
        f"{_p(half['decide_to_account'], 'p90_ms')} ms, p99 "
        f"{_p(half['decide_to_account'], 'p99_ms')} ms, max "
        f"{_p(half['decide_to_account'], 'max_ms')} ms; start → account p50 "
        f"{_p(half['total'])} ms, p99 {_p(half['total'], 'p99_ms')} ms.",
    ]
    lines += _waiting_section(r.get("waiting"))
    lines += _reminder_section(r.get("first_reminder"))
    lines += _edge_load_section(r.get("edge_load"))
    lines += _errors(r)
    lines += ["", "## Where the time goes (mean ms, from history timestamps)", ""]
    lines += [
        "| step | ours queued | ours running | skeleton queued | skeleton running |",
        "|---|---:|---:|---:|---:|",
    ]
    b_ours, b_skel = r["breakdown"]["ours"], r["breakdown"]["skeleton"]
    skeleton_names = {
        "verify_application": "skeleton_verify",
        "send_phone_code": "skeleton_send_code",
        "check_phone_code": "skeleton_check_code",
        "plan_review": "skeleton_plan_review",
        "send_reminder": "skeleton_send_reminder",
        "authorize_decision": "skeleton_authorize",
        "assign_role": "skeleton_assign_role",
        "(workflow task)": "(workflow task)",
    }
    for name, twin in skeleton_names.items():
        o, s = b_ours.get(name, {}), b_skel.get(twin, {})
        lines.append(
            f"| {name} | {_mean(o, 'queued')} | {_mean(o, 'running')} | {_mean(s, 'queued')} | "
            f"{_mean(s, 'running')} |"
        )
    lines += [
        "",
        f'(over {r["breakdown"]["sampled"]} registrations of each side\'s measured pass; "queued" '
        "is scheduled → last attempt started, so it includes retries after a timeout; a workflow "
        'task\'s "running" includes the round trip to the worker.)',
    ]
    lines += _cpu_sections(r)
    return "\n".join(lines) + "\n"


def _long_pass_link(r: dict[str, Any]) -> list[str]:
    long = _long_pass(r)
    if "from_file" not in long:
        return []
    return [
        f"The {MEMORY_TARGET_AT:,}-waiting figures are the long pass's (`make bench-long`, "
        f"{long['date']}): [{long['from_file']}]({long['from_file']}).",
        "",
    ]


def _waiting_section(w: dict[str, Any] | None) -> list[str]:
    if not w:
        return []
    once = w["new_application_notice"]
    edge = w.get("edge", {})
    api, html = edge.get("api_first_page", {}), edge.get("html_first_page", {})
    lines = [
        "",
        "## Waiting for review",
        "",
        f"{w['waiting']:,} of {w['registrations']:,} registrations waiting for review "
        f"({w['error_count']} errors), reached in {w['seconds_to_reach_review']:.0f} s "
        f"({w['rate_per_s']}/s, {w['in_flight']} in flight) by {w.get('worker_processes', 1)} "
        "freshly started worker process(es); load average after the fill "
        f"{' / '.join(map(str, w.get('load_average_after_fill', [])))}."
        + (
            ""
            if w["registrations"] >= MEMORY_TARGET_AT
            else f" The default is {w['registrations']:,}, not {MEMORY_TARGET_AT:,}: at this "
            f"rate {MEMORY_TARGET_AT:,} take about "
            f"{MEMORY_TARGET_AT / max(w['rate_per_s'], 0.01) / 60:.0f} minutes on this "
            f"machine (`make bench-long`)."
        ),
        "",
        "| measure | value |",
        "|---|---:|",
        f"| worker RSS, sum over processes, before → after (MiB) | "
        f"{w['rss_baseline_mib']:.0f} → {w['rss_after_mib']:.0f} ({w['rss_delta_mib']:+.0f}) |",
        f"| worker peak RSS, VmHWM (MiB) | {w['rss_peak_mib']:.0f} |",
        f"| dev server RSS after (MiB) | {w.get('dev_server_rss_mib', 0):.0f} |",
        f"| worker workflow cache (max_cached_workflows, per process) | "
        f"{w['worker_max_cached_workflows']} |",
        f"| listed by the inbox's visibility query | {w.get('visible_in_inbox_query', 0):,} |",
        f"| edge (`python -m edge`): `GET {api.get('path', '-')}`, median / max of "
        f"{api.get('runs', 0)} (ms; rows, total) | {_p(api, 'median_ms')} / {_p(api, 'max_ms')} "
        f"({api.get('rows', 0)}, {api.get('total', 0):,}) |",
        f"| edge: `GET {html.get('path', '-')}` (the HTML page), median / max (ms; rows) | "
        f"{_p(html, 'median_ms')} / {_p(html, 'max_ms')} ({html.get('rows', 0)}) |",
        f"| history events of a registration while it waits | "
        f"{w.get('history_events_while_waiting', '-')} |",
        f'| "new application" audit rows per registration | '
        f"{_counts(once['audit_rows_per_registration'])} |",
        f"| its outbox rows per registration (SMS + e-mail to 1 reviewer) | "
        f"{_counts(once['outbox_rows_per_registration'])} |",
        f"| exactly once for every registration | {'yes' if once['exactly_once'] else 'NO'} |",
    ]
    if w.get("rss_curve"):
        lines += [
            "",
            "Worker RSS while they piled up (waiting after seconds → MiB): "
            + ", ".join(f"{n:,} after {t:.0f} s → {mib:.0f}" for n, t, mib in w["rss_curve"])
            + ".",
        ]
    return lines


def _reminder_section(f: dict[str, Any] | None) -> list[str]:
    lines = ["", "## The first reminder, after skipped time", ""]
    if not f:
        return lines + [
            "Not run (`--reminders 0`). The dev server cannot skip time, and the first reminder "
            "is at 09:00 on the next working day: `--reminders N` checks it on the time-skipping "
            "test server."
        ]
    once = f.get("first_reminder", {})
    lines += [
        f"{f['waiting']:,} of {f['registrations']:,} registrations brought to review on the Java "
        "time-skipping test server by the real worker in its own process (`bench.ts_worker`: "
        "`worker.main` without the purge Schedule, which that server does not implement), on "
        "this run's database, with its workflow cache off (no sticky task queue: that server "
        "never hands a dead worker's sticky tasks back), so that every timer fired in a "
        "workflow replayed from its history; the worker killed (SIGKILL) and started again "
        "before the skip; time skipped "
        f"{f.get('skipped_s', 0) / 3600:.1f} h, to a minute past the latest first reminder; "
        f"{f.get('moved_on', 0):,} planned their next reminder within {f.get('settled_s', 0)} s.",
        "",
        "| measure | value |",
        "|---|---:|",
        f'| "{once.get("label", "-")}" audit rows per registration | '
        f"{_counts(once.get('audit_rows_per_registration', {}))} |",
        f"| its outbox rows per registration (SMS + e-mail to 1 reviewer) | "
        f"{_counts(once.get('outbox_rows_per_registration', {}))} |",
        f"| exactly once for every registration | {'yes' if once.get('exactly_once') else 'NO'} |",
    ]
    return lines


def _edge_load_section(load: dict[str, Any] | None) -> list[str]:
    """The edge load test's slot (bench/edge_load.py fills `results["edge_load"]`)."""
    if not load:
        return []
    lines = ["", "## Through the edge, under load", ""]
    if load.get("summary"):
        lines += [load["summary"], ""]
    lines += ["| request | n | p50 (ms) | p99 (ms) | max (ms) |", "|---|---:|---:|---:|---:|"]
    for name, stats in load.items():
        if isinstance(stats, dict) and "p99_ms" in stats:
            lines.append(
                f"| {name} | {stats.get('n', 0)} | {_p(stats)} | {_p(stats, 'p99_ms')} | "
                f"{_p(stats, 'max_ms')} |"
            )
    lines += ["", f"Errors: {load.get('errors', 0)}."]
    return lines


def _cpu_sections(r: dict[str, Any]) -> list[str]:
    ours, skel = r["throughput"]["ours"], r["throughput"]["skeleton"]
    threads_ours = ours.get("worker_cpu_by_thread_s", {})
    threads_skel = skel.get("worker_cpu_by_thread_s", {})
    if not threads_ours:
        return []
    lines = [
        "",
        "## Where the worker processes' CPU goes (measured pass, ms per registration)",
        "",
        "By thread, from /proc/PID/task (Python 3.11 leaves its own threads unnamed, so the "
        "workflow activations and aiosqlite's connections share a group):",
        "",
        "| thread | ours | skeleton |",
        "|---|---:|---:|",
    ]
    groups = sorted(set(threads_ours) | set(threads_skel), key=lambda g: -threads_ours.get(g, 0))
    for group in groups:
        lines.append(
            f"| {group} | {threads_ours.get(group, 0) * 1000 / max(ours['completed'], 1):.0f} | "
            f"{threads_skel.get(group, 0) * 1000 / max(skel['completed'], 1):.0f} |"
        )
    prof_ours, prof_skel = ours.get("event_loop_profile"), skel.get("event_loop_profile")
    if prof_ours and prof_skel:
        lines += [
            "",
            "Event-loop thread of the worker process(es) by component (`bench.profiled_worker`: "
            "cProfile on that thread's CPU clock, a separate untimed pass of "
            f"{prof_ours['registrations']} registrations per side after "
            f"{prof_ours.get('warmup', 0)} of warm-up; ms per registration, inflated by the "
            "profiler's own overhead on Python calls):",
            "",
            "| component | ours | skeleton |",
            "|---|---:|---:|",
        ]
        names = list(prof_ours["by_component_ms"])
        names += [n for n in prof_skel["by_component_ms"] if n not in names]
        for name in names:
            lines.append(
                f"| {name} | {prof_ours['by_component_ms'].get(name, 0):.0f} | "
                f"{prof_skel['by_component_ms'].get(name, 0):.0f} |"
            )
        heaviest = list(prof_ours["top_functions_ms"].items())[:8]
        lines += [
            "",
            "Heaviest (ours, ms per registration): "
            + ", ".join(f"`{name}` {ms:.0f}" for name, ms in heaviest)
            + ".",
        ]
    lines += [
        "",
        f"One verification's photo checks take {r.get('photo_check_cpu_ms', 0):.0f} ms of CPU "
        "(measured on their own, in the driver's process).",
    ]
    return lines


def _rounds(ours: dict[str, Any], skel: dict[str, Any]) -> str:
    pairs = list(zip(skel.get("rounds", []), ours.get("rounds", []), strict=False))
    shown = []
    for i, (s, o) in enumerate(pairs):
        first, second = (
            (("skeleton", s), ("ours", o)) if i % 2 == 0 else (("ours", o), ("skeleton", s))
        )
        shown += [f"{name} {data['throughput_per_s']}" for name, data in (first, second)]
    return ", ".join(shown) or "-"


def _errors(r: dict[str, Any]) -> list[str]:
    """Distinct failures of the driver's registrations, per phase."""
    phases = {
        "throughput, ours": r["throughput"]["ours"],
        "throughput, skeleton": r["throughput"]["skeleton"],
        "profile pass, ours": r["throughput"]["ours"].get("event_loop_profile", {}),
        "profile pass, skeleton": r["throughput"]["skeleton"].get("event_loop_profile", {}),
        "half load": r["half_load"],
        "waiting": r.get("waiting") or {},
        "first reminder": r.get("first_reminder") or {},
    }
    found = [
        (
            phase,
            data.get("error_count", data.get("errors", len(data.get("error_samples", [])))),
            data.get("error_samples", []),
        )
        for phase, data in phases.items()
        if data.get("error_samples")
    ]
    if not found:
        return []
    lines = ["", "## Errors", ""]
    for phase, count, samples in found:
        lines.append(f"- {phase}: {count} — " + "; ".join(f"`{s}`" for s in samples))
    return lines


def _mean(stats: dict[str, Any], kind: str) -> str:
    value = stats.get(kind, {}).get("mean_ms")
    return "-" if value is None else f"{value:.0f}"


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} row(s): {v:,}" for k, v in counts.items()) or "-"


def write(results: dict[str, Any], base: Path = RESULTS / "latest") -> str:
    """`<base>.json` and `<base>.md`; returns the Markdown."""
    base.parent.mkdir(parents=True, exist_ok=True)
    base.with_suffix(".json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    text = markdown(results)
    base.with_suffix(".md").write_text(text)
    return text


if __name__ == "__main__":
    import sys

    base = Path(sys.argv[1]).with_suffix("") if len(sys.argv) > 1 else RESULTS / "latest"
    saved = json.loads(base.with_suffix(".json").read_text())
    saved["targets"] = targets(saved)
    print(write(saved, base))
