"""Stage profiler for bench/intake_profile.py: nested stages timed per request (CPU, wall,
database time and statements, with self times that exclude nested stages), stand-ins that time
a code path without touching the app's code, and the summaries the bench prints."""

from __future__ import annotations

import functools
import inspect
import time
from collections import defaultdict
from typing import Any

from bench.sla import percentile

wall_ns = time.perf_counter_ns
cpu_ns = time.thread_time_ns


class Frame:
    __slots__ = ("child_cpu", "child_wall", "cpu0", "db", "name", "self_db", "self_stmts", "stmts",
                 "wall0")

    def __init__(self, name: str) -> None:
        self.name = name
        self.child_cpu = self.child_wall = self.db = self.stmts = 0
        self.self_db = self.self_stmts = 0
        self.cpu0, self.wall0 = cpu_ns(), wall_ns()


class Profiler:
    """A stack of open stages; each closed stage adds to the current request's totals:
    [calls, cpu, wall, self_cpu, self_wall, db, statements, self_db, self_statements]."""

    def __init__(self) -> None:
        self.stack: list[Frame] = []
        self.acc: dict[str, list[int]] = {}
        self.parents: dict[str, set[str]] = defaultdict(set)
        self.sql_log: list[tuple[str, str]] | None = None  # set to a list to record statements
        self.patches: list[tuple[Any, str, Any, bool]] = []
        self.unattributed = 0  # statements run outside any stage (should stay 0)
        self.gc = [0, 0, 0]  # this request's collections, their wall ns, full (gen 2) ones
        self._gc_t0 = 0

    def on_gc(self, phase: str, info: dict[str, int]) -> None:
        """gc.callbacks hook: a collection's pause lands in whatever stage was running; it is
        counted apart so that an outlier can be told from the code it interrupted."""
        if phase == "start":
            self._gc_t0 = wall_ns()
        else:
            self.gc[0] += 1
            self.gc[1] += wall_ns() - self._gc_t0
            self.gc[2] += info["generation"] == 2

    def enter(self, name: str) -> Frame:
        frame = Frame(name)
        self.stack.append(frame)
        return frame

    def exit(self, frame: Frame) -> None:
        cpu, wall = cpu_ns() - frame.cpu0, wall_ns() - frame.wall0
        self.stack.pop()
        a = self.acc.get(frame.name)
        if a is None:
            a = self.acc[frame.name] = [0] * 9
        a[0] += 1
        a[1] += cpu
        a[2] += wall
        a[3] += cpu - frame.child_cpu
        a[4] += wall - frame.child_wall
        a[5] += frame.db
        a[6] += frame.stmts
        a[7] += frame.self_db
        a[8] += frame.self_stmts
        if self.stack:
            parent = self.stack[-1]
            parent.child_cpu += cpu
            parent.child_wall += wall
            self.parents[frame.name].add(parent.name)

    def timed(self, name: str, fn: Any) -> Any:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            frame = self.enter(name)
            try:
                return fn(*args, **kwargs)
            finally:
                self.exit(frame)

        return wrapper

    def on_execute(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        """connection.execute_wrapper hook: wall time of each cursor.execute, charged to every
        open stage (inclusive) and to the innermost one (self)."""
        t0 = wall_ns()
        try:
            return execute(sql, params, many, context)
        finally:
            dt = wall_ns() - t0
            if not self.stack:
                self.unattributed += 1
            for frame in self.stack:
                frame.db += dt
                frame.stmts += 1
            if self.stack:
                self.stack[-1].self_db += dt
                self.stack[-1].self_stmts += 1
                if self.sql_log is not None:
                    self.sql_log.append((self.stack[-1].name, " ".join(sql.split())[:100]))

    # -- patching: at the name the caller looks up; undone after each instrumented chunk --------

    def patch(self, owner: Any, attr: str, name: str) -> None:
        if inspect.isclass(owner):
            static = inspect.getattr_static(owner, attr)
            own = attr in owner.__dict__
            if isinstance(static, classmethod):
                new: Any = classmethod(self.timed(name, static.__func__))
            elif isinstance(static, staticmethod):
                new = staticmethod(self.timed(name, static.__func__))
            else:
                new = self.timed(name, static)
            self.patches.append((owner, attr, static, own))
        else:  # a module or an instance (the connection): plain attribute
            original = getattr(owner, attr)
            own = attr in getattr(owner, "__dict__", {}) or inspect.ismodule(owner)
            self.patches.append((owner, attr, original, own))
            new = self.timed(name, original)
        setattr(owner, attr, new)

    def unpatch(self) -> None:
        while self.patches:
            owner, attr, original, own = self.patches.pop()
            if own:
                setattr(owner, attr, original)
            else:  # was inherited (class) or a bound method found on the class (instance)
                delattr(owner, attr)


class TimedTransaction:
    """Stands in for `django.db.transaction` in tickets.flows only: its atomic() blocks are the
    "transaction" stage (BEGIN .. COMMIT, the COMMIT itself also timed as "commit")."""

    def __init__(self, real: Any, profiler: Profiler) -> None:
        self._real, self._profiler = real, profiler

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def atomic(self, *args: Any, **kwargs: Any) -> Any:
        return _TimedAtomic(self._real.atomic(*args, **kwargs), self._profiler)


class _TimedAtomic:
    def __init__(self, atomic: Any, profiler: Profiler) -> None:
        self.atomic, self.profiler = atomic, profiler
        self.frame: Frame | None = None

    def __enter__(self) -> Any:
        self.frame = self.profiler.enter("transaction")
        return self.atomic.__enter__()

    def __exit__(self, *exc: Any) -> Any:
        try:
            return self.atomic.__exit__(*exc)
        finally:
            self.profiler.exit(self.frame)  # type: ignore[arg-type]



def stats(values: list[float]) -> dict[str, float]:
    return {"mean": r3(sum(values) / len(values)), "p50": r3(percentile(values, 50))}


def r3(x: float) -> float:
    return round(x, 3)


def summarize(profiler_requests: list[dict[str, list[int]]]) -> dict[str, Any]:
    """Per stage, over the requests in which it ran: inclusive cpu/wall (mean, p50), database
    wall (mean) and statements (mean); self cpu/wall means."""
    ms = 1e-6
    names = sorted({n for acc in profiler_requests for n in acc})
    out = {}
    for name in names:
        rows = [acc[name] for acc in profiler_requests if name in acc]
        out[name] = {
            "calls": sum(r[0] for r in rows),
            "requests": len(rows),
            "cpu_ms": stats([r[1] * ms for r in rows]),
            "wall_ms": {**stats([r[2] * ms for r in rows]),
                        "max": r3(max(r[2] for r in rows) * ms)},
            "db_ms_mean": r3(sum(r[5] for r in rows) * ms / len(rows)),
            "statements_mean": r3(sum(r[6] for r in rows) / len(rows)),
            "self_cpu_ms_mean": r3(sum(r[3] for r in rows) * ms / len(rows)),
            "self_wall_ms_mean": r3(sum(r[4] for r in rows) * ms / len(rows)),
        }
    return out


def breakdown(requests: list[dict[str, list[int]]], containers: tuple[str, ...]) -> dict[str, Any]:
    """Self time per stage averaged over ALL measured requests (a stage that ran in half of
    them counts half): these add up to the whole request."""
    ms, n = 1e-6, len(requests)
    total: dict[str, list[int]] = defaultdict(lambda: [0] * 9)
    for acc in requests:
        for name, row in acc.items():
            for i, v in enumerate(row):
                total[name][i] += v
    rows: list[dict[str, Any]] = [
        {"stage": name, "self_wall_ms": r3(t[4] * ms / n), "self_cpu_ms": r3(t[3] * ms / n),
         "self_db_ms": r3(t[7] * ms / n), "self_statements": r3(t[8] / n)}
        for name, t in total.items()
    ]
    rows.sort(key=lambda r: -r["self_wall_ms"])
    whole = total["request"]
    measured = [r for r in rows if r["stage"] not in containers]
    other = [r for r in rows if r["stage"] in containers]
    return {
        "request_wall_ms_mean": r3(whole[2] * ms / n),
        "request_cpu_ms_mean": r3(whole[1] * ms / n),
        "stages": measured,
        # Whole request minus the self time of every measured stage: the glue between them.
        "other": {
            "wall_ms": r3(sum(r["self_wall_ms"] for r in other)),
            "cpu_ms": r3(sum(r["self_cpu_ms"] for r in other)),
            "db_ms": r3(sum(r["self_db_ms"] for r in other)),
            "statements": r3(sum(r["self_statements"] for r in other)),
            "parts": other,
        },
    }


def request_stats(rows: list[tuple[int, int, int, int, int]]) -> dict[str, Any]:
    """rows: (cpu_ns, wall_ns, db_ns, statements, status) of whole requests."""
    if not rows:
        return {}
    cpu = [r[0] / 1e6 for r in rows]
    wall = [r[1] / 1e6 for r in rows]
    out: dict[str, Any] = {"requests": len(rows)}
    for label, values in (("cpu_ms", cpu), ("wall_ms", wall)):
        out[label] = {"mean": r3(sum(values) / len(values)),
                      **{f"p{p}": r3(percentile(values, p)) for p in (50, 90, 99)},
                      "max": r3(max(values))}
    out["db_ms_mean"] = r3(sum(r[2] for r in rows) / 1e6 / len(rows))
    statements = [r[3] for r in rows]
    out["statements"] = {"mean": r3(sum(statements) / len(statements)), "min": min(statements),
                         "max": max(statements)}
    return out


def wrapper_cost_ns(profiler: Profiler, loops: int = 20_000) -> float:
    """What one timed call adds (enter + exit bookkeeping, two clock reads each)."""
    noop = profiler.timed("calibration", lambda: None)
    outer = profiler.enter("calibration-outer")
    start = wall_ns()
    for _ in range(loops):
        noop()
    per_call = (wall_ns() - start) / loops
    start = wall_ns()
    for _ in range(loops):
        (lambda: None)()
    per_call -= (wall_ns() - start) / loops
    profiler.exit(outer)
    profiler.acc, profiler.parents = {}, defaultdict(set)
    return per_call
