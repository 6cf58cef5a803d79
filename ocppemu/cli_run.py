"""``ocppemu run``: play scenario files against a CSMS and give a verdict (exit 0 passed, 1 failed, 2 bad input).

Every file is loaded and checked before anything runs; a bad one prints its problems (file:line:column: reason)
and exits 2. Runs happen one scenario after another in one in-process workbench; a progress line is drawn on a
terminal (one line per finished step otherwise). Reports are written when asked for (``--junit``, ``--html``,
``--json``).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path
from typing import TextIO

from ocppemu.scenarios.results import RunReport, StepResult


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenarios", nargs="*", metavar="SCENARIO", help="scenario file, or the name of a predefined one")
    p.add_argument("--csms", help="CSMS URL, e.g. ws://127.0.0.1:9000/ocpp (the station id is appended)")
    p.add_argument("--ocpp", help="run every station with this version: 1.6, 2.0.1 or 2.1")
    p.add_argument("--stations", type=int, help="number of copies of each station entry (fan-out)")
    p.add_argument("--response-timeout", type=float, help="seconds the CSMS has to answer (default: the file's)")
    p.add_argument("--seed", type=int, help="seed for everything random (default: the file's, else 0)")
    p.add_argument("--junit", type=Path, metavar="FILE", help="write a JUnit XML report")
    p.add_argument("--html", type=Path, metavar="FILE", help="write a self-contained HTML report")
    p.add_argument("--json", type=Path, metavar="FILE", help="write the JSON report")
    p.add_argument("--store", help="keep runs in this store (sqlite:///file.db or mongodb://...); default: a "
                                   "temporary one")
    p.add_argument("--list", action="store_true", help="list the predefined scenarios and exit")
    p.add_argument("--check", action="store_true", help="only check the files (exit 0 or 2)")
    p.add_argument("--quiet", action="store_true", help="no progress output")


def _list(out: TextIO) -> int:
    from ocppemu.scenarios.library import entries

    rows = entries()
    if not rows:
        print("no predefined scenarios found", file=out)
        return 0
    width = max(len(e.name) for e in rows)
    for e in rows:
        if e.problem:
            print(f"{e.name:<{width}}  (does not load: {e.problem})", file=out)
            continue
        print(f"{e.name:<{width}}  {','.join(e.versions):<16}  {' '.join(e.oca) or '-'}", file=out)
    return 0


class _Progress:
    def __init__(self, out: TextIO, quiet: bool) -> None:
        self.out, self.quiet = out, quiet
        self.tty = out.isatty()

    def __call__(self, report: RunReport, step: StepResult | None) -> None:
        if self.quiet or step is None or step.status in ("pending", "running"):
            return
        done = sum(1 for s in report.steps if s.status not in ("pending", "running"))
        total = max(report.total_steps, done, 1)
        mark = {"passed": "ok", "failed": "FAIL", "skipped": "skip", "stopped": "stop"}.get(step.status, step.status)
        text = f"{step.key} {step.title} @ {step.station_id}: {mark}"
        if self.tty:
            filled = int(30 * done / total)
            bar = "#" * filled + "-" * (30 - filled)
            self.out.write(f"\r\x1b[2K{report.scenario} [{bar}] {done}/{total} {text}"[:200])
            if step.status == "failed":
                self.out.write(f"\n  {step.message}\n")
        else:
            line = f"  {text}" + (f" ({step.message})" if step.status == "failed" and step.message else "")
            print(line, file=self.out)
        self.out.flush()


async def _operator(station_id: str, message: str) -> bool:
    answer = await asyncio.to_thread(input, f"\n[{station_id}] {message}\n  press Enter when done (n to decline): ")
    return answer.strip().lower() not in ("n", "no")


async def _run_all(args: argparse.Namespace, scenarios: list[object], out: TextIO) -> list[RunReport]:
    from ocppemu.config.app import AppConfig
    from ocppemu.scenarios.runner import ScenarioRun
    from ocppemu.workbench import Workbench

    config = AppConfig.model_validate({"application": {"batch_insert_interval": 0.05}})
    reports: list[RunReport] = []
    with tempfile.TemporaryDirectory(prefix="ocppemu-run-") as tmp:
        store = args.store or f"sqlite:///{Path(tmp) / 'runs.db'}"
        async with Workbench(store, config=config) as wb:
            for scenario in scenarios:
                run = ScenarioRun(wb, scenario, seed=args.seed,  # type: ignore[arg-type]
                                  response_timeout=args.response_timeout,
                                  prompter=_operator if sys.stdin.isatty() else None)
                progress = _Progress(out, args.quiet)
                run.listeners.append(progress)
                if not args.quiet:
                    print(f"{run.report.scenario}: {len(run.report.stations)} station(s), "
                          f"{run.report.total_steps} step run(s) against {run.report.csms_url}", file=out)
                task = run.start()
                try:
                    report = await asyncio.shield(task)
                except asyncio.CancelledError:
                    run.stop()
                    report = await task
                    reports.append(report)
                    raise
                reports.append(report)
                if progress.tty and not args.quiet:
                    out.write("\n")
                counts = report.counts()
                summary = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
                errors = sum(1 for f in report.findings if f.severity == "error")
                print(f"{report.scenario}: {str(report.verdict).upper()} ({summary}; {errors} error finding(s); "
                      f"{report.duration_s or 0:.1f} s)" + (f": {report.error}" if report.error else ""), file=out)
    return reports


def run_scenarios(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    if args.list:
        return _list(out)
    if not args.scenarios:
        print("ocppemu run: give at least one SCENARIO (a file or a predefined name; see --list)", file=sys.stderr)
        return 2
    if args.stations is not None and args.stations < 1:
        print("ocppemu run: --stations must be at least 1", file=sys.stderr)
        return 2
    if not args.check and not args.csms:
        print("ocppemu run: --csms URL is required (e.g. ws://127.0.0.1:9000/ocpp)", file=sys.stderr)
        return 2
    if args.csms and not args.csms.startswith(("ws://", "wss://")):
        print(f"ocppemu run: --csms {args.csms}: the URL must start with ws:// or wss://", file=sys.stderr)
        return 2
    from ocppemu.scenarios.library import resolve
    from ocppemu.scenarios.loader import ScenarioError, load

    loaded: list[object] = []
    problems: list[str] = []
    for name in args.scenarios:
        try:
            loaded.append(load(resolve(name), ocpp=args.ocpp, stations=args.stations, csms_url=args.csms))
        except ScenarioError as exc:
            problems += [str(p) for p in exc.problems]
    if problems:
        for line in problems:
            print(line, file=sys.stderr)
        return 2
    if args.check:
        print(f"{len(loaded)} scenario file(s) OK", file=out)
        return 0
    try:
        reports = asyncio.run(_run_all(args, loaded, out))
    except KeyboardInterrupt:
        return 130
    from ocppemu.scenarios.reports import to_html, to_json, to_junit

    for path, render in ((args.junit, to_junit), (args.html, to_html), (args.json, to_json)):
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(render(reports), encoding="utf-8")
            except OSError as exc:
                print(f"ocppemu run: cannot write {path}: {exc.strerror or exc}", file=sys.stderr)
                return 2
    return 0 if all(r.exit_code() == 0 for r in reports) else 1

