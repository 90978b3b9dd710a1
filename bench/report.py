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


# --- targets ----------------------------------------------------------------------------------


def _extra_cost(ours: dict[str, Any], skeleton: dict[str, Any], top: int = 3) -> str:
    """The components where ours' event loop spends most beyond the skeleton's (profiled)."""
    mine = ours.get("event_loop_profile", {}).get("by_component_ms", {})
    theirs = skeleton.get("event_loop_profile", {}).get("by_component_ms", {})
    extra = sorted(((mine[k] - theirs.get(k, 0), k) for k in mine), reverse=True)[:top]
    return ", ".join(f"{name} +{ms:.0f} ms" for ms, name in extra if ms > 0)


def memory_projection(w: dict[str, Any]) -> dict[str, float]:
    """RSS with `MEMORY_TARGET_AT` waiting: the worker holds at most its cache's worth of
    workflows, so growth is taken per cached workflow and stops at the cache size."""
    cache = w["worker_max_cached_workflows"]
    per = w["rss_delta_mib"] / max(1, min(w["waiting"], cache))
    projected = max(w["rss_after_mib"], w["rss_baseline_mib"] + per * min(MEMORY_TARGET_AT, cache))
    return {"mib_per_cached_workflow": round(per, 3), "projected_rss_mib": round(projected, 1)}


LIMIT_MIB = 400 * 1_000_000 / 2**20  # 400 MB


def _per_registration(side: dict[str, Any]) -> dict[str, float]:
    done = max(side["completed"], 1)
    return {k: v * 1000 / done for k, v in side.get("worker_process_cpu_by_thread_s", {}).items()}


def _throughput_note(r: dict[str, Any]) -> str:
    ours, skeleton = r["throughput"]["ours"], r["throughput"]["skeleton"]
    cpu_o, cpu_s = ours["cpu_ms_per_registration"], skeleton["cpu_ms_per_registration"]
    h = r["history"]
    bytes_ratio = h["happy_path"]["payload_bytes"] / max(h["skeleton"]["payload_bytes"], 1)
    threads_o, threads_s = _per_registration(ours), _per_registration(skeleton)
    by_thread = sorted(((threads_o[g] - threads_s.get(g, 0), g) for g in threads_o), reverse=True)
    photo = r.get("photo_check_cpu_ms", 0)
    profiled = ours.get("event_loop_profile", {}).get("by_component_ms", {})
    where = ""
    if profiled:
        on_loop = profiled.get("photo checks (Pillow)", 0) >= photo / 2
        where = " on the event loop" if on_loop else " in a thread, off the event loop"
    parts = [
        "CPU-bound on 2 cores shared by the worker, the driver and the dev server (and whatever "
        "else runs here). Per registration the worker process uses "
        f"{cpu_o['worker_process']:.0f} ms CPU (skeleton {cpu_s['worker_process']:.0f}) and the "
        f"dev server {cpu_o['dev_server']:.0f} ms (skeleton {cpu_s['dev_server']:.0f}: "
        f"{h['happy_path']['events']} events instead of {h['skeleton']['events']}, 6 "
        f"search-attribute upserts to index, {bytes_ratio:.0f}× the payload bytes). The worker's "
        "extra by thread: "
        + ", ".join(f"{g} +{ms:.0f} ms" for ms, g in by_thread[:2] if ms > 0)
        + (f"; on the event loop (profiled): {_extra_cost(ours, skeleton)}" if profiled else "")
        + f". The photo checks take {photo:.0f} ms per verification{where}.",
        "Fixes, largest first: fewer and leaner database transactions per activity (each "
        "activity opens one or two SQLAlchemy ORM sessions on SQLite; Core statements, one "
        "transaction per activity, PostgreSQL as in docker compose); verify a photo once (refs "
        "are content addresses: remember the refs that passed instead of decoding both JPEGs "
        "in every verification); more worker processes or cores, which is how Temporal scales.",
        "The skeleton costs almost nothing besides Temporal itself, so 0.8 leaves ours ~25% on "
        "top of pure orchestration: tens of ms of CPU per registration on this machine.",
    ]
    return " ".join(parts)


def targets(r: dict[str, Any]) -> list[dict[str, Any]]:
    ours, skeleton = r["throughput"]["ours"], r["throughput"]["skeleton"]
    ratio = r["throughput"]["ratio"]
    happy = r["history"]["happy_path"]["events"]
    half = r["half_load"]
    waiting = r.get("waiting") or {}
    out = []

    out.append(
        {
            "target": "throughput ours/skeleton >= 0.8",
            "measured": f"{ratio:.2f} ({ours['throughput_per_s']}/s vs "
            f"{skeleton['throughput_per_s']}/s)",
            "met": ratio >= 0.8,
            "note": "" if ratio >= 0.8 else _throughput_note(r),
        }
    )
    out.append(
        {
            "target": "happy path < 100 history events",
            "measured": f"{happy} events",
            "met": happy < 100,
            "note": "",
        }
    )
    if waiting:
        n = waiting["registrations"]
        projection = memory_projection(waiting)
        measured_at_target = n >= MEMORY_TARGET_AT
        rss = waiting["rss_after_mib"] if measured_at_target else projection["projected_rss_mib"]
        met = rss < LIMIT_MIB and waiting["error_count"] == 0
        cache = waiting["worker_max_cached_workflows"]
        note = []
        if not measured_at_target:
            note.append(
                f"measured with {waiting['waiting']:,} waiting, not {MEMORY_TARGET_AT:,} (time, "
                f"see below), and projected: the worker keeps at most {cache} workflows in its "
                f"cache (~{projection['mib_per_cached_workflow']:.2f} MiB each here), evicting "
                "the rest until their next event, so RSS stops growing at that many (curve below)"
            )
        if not met:
            room = LIMIT_MIB - waiting["rss_baseline_mib"]
            fits = int(room / projection["mib_per_cached_workflow"]) if room > 0 else 0
            note.append(
                f"fix: a `max_cached_workflows` of at most ~{fits} for the worker (now {cache}); "
                "a registration waiting for review wakes once a working day at most, so an "
                "evicted one costs one replay of its "
                f"{waiting.get('history_events_while_waiting', '~40')} events then"
                if fits > 0
                else f"the process is at {waiting['rss_baseline_mib']:.0f} MiB before any "
                "registration waits (driver and skeleton worker included): measure the worker "
                "alone"
            )
        out.append(
            {
                "target": f"worker memory < 400 MB ({LIMIT_MIB:.0f} MiB) with "
                f"{MEMORY_TARGET_AT:,} waiting",
                "measured": (
                    f"{waiting['rss_after_mib']:.0f} MiB RSS "
                    f"({waiting['rss_delta_mib']:+.0f} MiB over the baseline) with "
                    f"{waiting['waiting']:,} waiting"
                    + ("" if measured_at_target else f"; projected {rss:.0f} MiB")
                ),
                "met": met,
                "note": "; ".join(note),
            }
        )
    p99 = half["decide_to_account"].get("p99_ms", float("inf"))
    out.append(
        {
            "target": "p99 decision → account < 1 s at half the maximum load",
            "measured": f"p99 {p99:.0f} ms at {half['rate_per_s']}/s "
            f"(n={half['decide_to_account'].get('n', 0)})",
            "met": p99 < 1000,
            "note": ""
            if p99 < 1000
            else (
                "decision → account is two activities (authorize, assign role) and about five "
                "workflow tasks; on a busy 2-core machine they wait behind the other "
                "registrations' work on the worker's one event loop (see the time breakdown); "
                "the fixes for throughput shorten it too"
            ),
        }
    )
    return out


# --- Markdown -------------------------------------------------------------------------------------


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
        f"Dev server with {p['temporal_db']} SQLite (WAL, synchronous=normal), the real worker "
        f"in-process (`build_worker`), payloads AES-GCM encrypted; {p['in_flight']} in flight, "
        f"{p['total']} measured registrations per side after {p['warmup']} warm-up, in "
        f"{p.get('rounds', 1)} rounds with the sides alternating (ABBA); the driver "
        f"reads each SMS from the outbox once delivered, polling every {p['poll_ms']} ms. Other "
        "jobs may share this machine: read the load average. With the SDK's default of 100 "
        "concurrent activities, from about 40 registrations in flight the activities overran "
        "their 10 s start-to-close timeout on this machine and were retried; the worker now "
        "runs 8 at once (`JSHR_WORKER_MAX_CONCURRENT_ACTIVITIES`), and "
        "`--max-concurrent-activities 100` shows the old behaviour.",
        "",
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
        f"| CPU per registration: worker process / dev server (ms) | "
        f"{ours['cpu_ms_per_registration']['worker_process']:.0f} / "
        f"{ours['cpu_ms_per_registration']['dev_server']:.0f} | "
        f"{skel['cpu_ms_per_registration']['worker_process']:.0f} / "
        f"{skel['cpu_ms_per_registration']['dev_server']:.0f} | |",
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
    w = r.get("waiting")
    if w:
        once = w["new_application_notice"]
        lines += [
            "",
            "## Waiting for review",
            "",
            f"{w['waiting']:,} of {w['registrations']:,} registrations waiting for review "
            f"({w['error_count']} errors), reached in {w['seconds_to_reach_review']:.0f} s "
            f"({w['rate_per_s']}/s, {w['in_flight']} in flight)."
            + (
                ""
                if w["registrations"] >= MEMORY_TARGET_AT
                else f" The default is {w['registrations']:,}, not {MEMORY_TARGET_AT:,}: at this "
                f"rate {MEMORY_TARGET_AT:,} would take about "
                f"{MEMORY_TARGET_AT / max(w['rate_per_s'], 0.01) / 60:.0f} minutes on this "
                f"machine (`--waiting {MEMORY_TARGET_AT}` runs it)."
            ),
            "",
            "| measure | value |",
            "|---|---:|",
            f"| process RSS before → after (MiB) | {w['rss_baseline_mib']:.0f} → "
            f"{w['rss_after_mib']:.0f} ({w['rss_delta_mib']:+.0f}) |",
            f"| process peak RSS, VmHWM (MiB) | {w['rss_peak_mib']:.0f} |",
            f"| dev server RSS after (MiB) | {w.get('dev_server_rss_mib', 0):.0f} |",
            f"| worker workflow cache (max_cached_workflows) | "
            f"{w['worker_max_cached_workflows']} |",
            f"| `list_workflows` of admin_hospital's inbox (s, rows) | "
            f"{w['list_workflows_seconds']} ({w['list_workflows_count']:,}) |",
            f"| `reviewer_inbox`, first page of 20 (s, rows waiting) | "
            f"{w.get('reviewer_inbox_first_page_seconds', w.get('reviewer_inbox_seconds'))} "
            f"({w['reviewer_inbox_count']:,}) |",
            f'| "new application" audit rows per registration | '
            f"{_counts(once['audit_rows_per_registration'])} |",
            f"| its outbox rows per registration (SMS + e-mail to 1 reviewer) | "
            f"{_counts(once['outbox_rows_per_registration'])} |",
            f"| exactly once for every registration | {'yes' if once['exactly_once'] else 'NO'} |",
        ]
        if w.get("rss_curve"):
            lines += [
                "",
                "RSS while they piled up (waiting after seconds → MiB): "
                + ", ".join(f"{n:,} after {t:.0f} s → {mib:.0f}" for n, t, mib in w["rss_curve"])
                + ".",
            ]
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


def _cpu_sections(r: dict[str, Any]) -> list[str]:
    ours, skel = r["throughput"]["ours"], r["throughput"]["skeleton"]
    threads_ours = ours.get("worker_process_cpu_by_thread_s", {})
    threads_skel = skel.get("worker_process_cpu_by_thread_s", {})
    if not threads_ours:
        return []
    lines = [
        "",
        "## Where the worker process's CPU goes (measured pass, ms per registration)",
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
            "Event-loop thread by component (cProfile on that thread's CPU clock, separate untimed "
            f"pass of {prof_ours['registrations']} registrations per side; ms per registration, "
            "inflated by the profiler's own overhead on Python calls):",
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
        "(measured on their own, in this process).",
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
