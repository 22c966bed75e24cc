"""Benchmark ``labelsense check`` on generated datasets (JSONL and Parquet copies of the same rows).

    python benchmarks/run.py [--rows 100000,1000000] [--out benchmarks/results/check.json] [--repeat 3]

For each size: generate (cached in ``benchmarks/.data/``), run
``python -m labelsense check DIR --format json --exit-zero`` ``--repeat`` times
per format (labelsense's bytecode compiled first: see ``compile_bytecode``), and
record the median wall time, the child's peak RSS (from ``os.wait4`` in a small
spawner process), the findings per code, how they match what was planted,
whether the JSONL and Parquet findings are the same, and pass/fail per target.
A missing or failing CLI is recorded as an error, not raised.
"""

from __future__ import annotations

import argparse
import collections
import compileall
import datetime as dt
import hashlib
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
import generate  # noqa: E402

FORMATS = ("jsonl", "parquet")
MiB = 1024 * 1024
TARGETS: list[dict[str, Any]] = [
    {"name": "jsonl-1m-wall", "rows": 1_000_000, "format": "jsonl", "metric": "wall_s", "limit": 3.0},
    {"name": "jsonl-1m-rss", "rows": 1_000_000, "format": "jsonl", "metric": "rss_mib", "limit": 1536.0},
    {"name": "parquet-1m-wall", "rows": 1_000_000, "format": "parquet", "metric": "wall_s", "limit": 1.5},
]
Finding = tuple[int, str, str]


def dataset_dirs(rows: int, seed: int, data_dir: Path) -> tuple[dict[str, Path], float]:
    """The cached dataset dirs per format (generated if missing) and the seconds spent generating."""
    stamp = hashlib.sha256((HERE / "generate.py").read_bytes()).hexdigest()[:10]
    root = data_dir / f"{rows}-s{seed}-{stamp}"
    dirs = {f: root / f for f in FORMATS}
    if all((d / "expected.json").exists() for d in dirs.values()):
        return dirs, 0.0
    t0 = time.perf_counter()
    generate.generate(rows, root, seed, "both")
    return dirs, time.perf_counter() - t0


def child_env() -> dict[str, str]:
    """The environment for the CLI: ``server/`` on PYTHONPATH when labelsense is not installed."""
    env = dict(os.environ)
    if importlib.util.find_spec("labelsense") is None:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO / "server"), env.get("PYTHONPATH")) if p)
    return env


def compile_bytecode() -> dict[str, Any]:
    """Compile labelsense's modules to bytecode before timing, as `pip install` does for a
    regular install and Python itself does on a first run. An editable install under
    PYTHONDONTWRITEBYTECODE=1 (set on the machines these numbers come from) would otherwise
    compile every module from source at every start: about 0.05 s of each run."""
    where = subprocess.run([sys.executable, "-c", "import labelsense, os; print(os.path.dirname(labelsense.__file__))"],
                           env=child_env(), capture_output=True, text=True, check=False)
    package = where.stdout.strip()
    ok = bool(package) and compileall.compile_dir(package, quiet=1)
    return {"package": package or None, "compiled": bool(ok), "PYTHONDONTWRITEBYTECODE": os.environ.get("PYTHONDONTWRITEBYTECODE")}


# A fresh, small process starts and reaps each check: a child's ru_maxrss includes the high-water
# mark of the process that forked it, so spawning from this (large) harness would inflate it.
SPAWNER = r"""
import json, os, signal, sys, time
out, err, timeout, cmd = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4:]
fds = [os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC) for p in (out, err)]
acts = [(os.POSIX_SPAWN_DUP2, fds[0], 1), (os.POSIX_SPAWN_DUP2, fds[1], 2)]
t0 = time.perf_counter()
pid = os.posix_spawn(cmd[0], cmd, os.environ, file_actions=acts)
signal.signal(signal.SIGALRM, lambda *_: os.kill(pid, signal.SIGKILL))
signal.setitimer(signal.ITIMER_REAL, timeout)
_, status, ru = os.wait4(pid, 0)
wall = time.perf_counter() - t0
signal.setitimer(signal.ITIMER_REAL, 0)
print(json.dumps({"wall_s": wall, "maxrss_kib": ru.ru_maxrss, "exit_code": os.waitstatus_to_exitcode(status)}))
"""


def run_once(dataset: Path, timeout: float) -> dict[str, Any]:
    """One timed ``labelsense check``: wall seconds, peak RSS of the child, exit code, parsed findings."""
    cmd = [sys.executable, "-m", "labelsense", "check", str(dataset), "--format", "json", "--exit-zero"]
    with tempfile.TemporaryDirectory() as tmp:
        out, err = Path(tmp, "stdout"), Path(tmp, "stderr")
        spawn = subprocess.run([sys.executable, "-c", SPAWNER, str(out), str(err), str(timeout), *cmd],
                               cwd=dataset, env=child_env(), capture_output=True, text=True, check=True)
        m = json.loads(spawn.stdout)
        code = m["exit_code"]
        res: dict[str, Any] = {"wall_s": m["wall_s"], "rss_mib": m["maxrss_kib"] / 1024, "exit_code": code}
        tail = err.read_bytes()[-2000:].decode("utf-8", "replace")
        if code == -9 and m["wall_s"] >= timeout:
            return res | {"error": f"timed out after {timeout:.0f} s", "stderr": tail}
        if code != 0:
            return res | {"error": f"exit code {code}", "stderr": tail}
        try:
            findings = json.loads(out.read_bytes())
        except ValueError as e:
            return res | {"error": f"stdout is not JSON: {e}", "stderr": tail}
        if not isinstance(findings, list):
            return res | {"error": f"stdout is a JSON {type(findings).__name__}, not a list", "stderr": tail}
        return res | {"findings": findings}


def finding_keys(findings: list[dict[str, Any]], fmt: str) -> collections.Counter[Finding]:
    """Multiset of (line, code, message), with the manifest's file name normalised across formats."""
    name = f"train.{fmt}"
    return collections.Counter(
        (int(f.get("line", 0)), str(f.get("code")), str(f.get("message")).replace(name, "train.<manifest>"))
        for f in findings
    )


def against_expected(findings: list[dict[str, Any]], expected: dict[str, Any]) -> dict[str, Any]:
    """Per planted code: planted rows found and missed, rows that another kind also plants for that
    code (e.g. split leakage is also LS402) found, and other rows flagged with it."""
    lines: dict[str, set[int]] = collections.defaultdict(set)
    for f in findings:
        lines[str(f.get("code"))].add(int(f.get("line", 0)))
    also: dict[str, set[int]] = collections.defaultdict(set)  # rows another kind also plants for a code
    for p in expected["planted"].values():
        for code in p.get("also", []):
            also[code].update(p["lines"])
    out: dict[str, Any] = {}
    for kind, p in expected["planted"].items():
        want, got = set(p["lines"]), lines[p["code"]]
        out[p["code"]] = {"kind": kind, "planted_rows": len(want), "groups": p["groups"],
                          "found_rows": len(got & want), "missed": len(want - got),
                          "also_planted": len(got & (also[p["code"]] - want)),
                          "unexpected": len(got - want - also[p["code"]])}
    return out


def measure(rows: int, fmt: str, dataset: Path, repeat: int, timeout: float) -> dict[str, Any]:
    """``repeat`` runs on one dataset, summarised; stops at the first error."""
    runs: list[dict[str, Any]] = []
    for _ in range(repeat):
        runs.append(run_once(dataset, timeout))
        if "error" in runs[-1]:
            break
    last = runs[-1]
    res: dict[str, Any] = {
        "rows": rows, "format": fmt, "dataset": str(dataset),
        "manifest_mib": round((dataset / "data" / f"train.{fmt}").stat().st_size / MiB, 1),
        "wall_s": round(statistics.median(r["wall_s"] for r in runs), 3),
        "wall_all_s": [round(r["wall_s"], 3) for r in runs],
        "rss_mib": round(max(r["rss_mib"] for r in runs), 1),
        "exit_code": last["exit_code"],
    }
    if "error" in last:
        return res | {"error": last["error"], "stderr": last["stderr"]}
    findings = last["findings"]
    expected = json.loads((dataset / "expected.json").read_text())
    by_code = collections.Counter(str(f.get("code")) for f in findings)
    return res | {
        "findings": len(findings),
        "by_code": dict(sorted(by_code.items())),
        "vs_planted": against_expected(findings, expected),
        "_keys": finding_keys(findings, fmt),
    }


def parity(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Whether two runs' findings are the same multiset of (line, code, message)."""
    if "_keys" not in a or "_keys" not in b:
        return {"rows": a["rows"], "identical": None, "note": "a run failed"}
    ka, kb = a["_keys"], b["_keys"]
    only_a, only_b = ka - kb, kb - ka
    return {"rows": a["rows"], "identical": not only_a and not only_b,
            "only_jsonl": sum(only_a.values()), "only_parquet": sum(only_b.values()),
            "examples_only_jsonl": [list(k) for k in list(only_a)[:5]],
            "examples_only_parquet": [list(k) for k in list(only_b)[:5]]}


def judge(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pass/fail per target: None when that size was not run, False when its run failed."""
    out = []
    for t in TARGETS:
        r = next((r for r in results if r["rows"] == t["rows"] and r["format"] == t["format"]), None)
        value = None if r is None or "error" in r else r[t["metric"]]
        ok = None if r is None else (value is not None and value <= t["limit"])
        out.append(t | {"value": value, "pass": ok})
    return out


FRESH_PROBE = "import time; t = time.perf_counter(); b = b\"\\x01\" * (1 << 30); print(time.perf_counter() - t)"


def fresh_memory(times: int = 3) -> list[float | None]:
    """Seconds to write 1 GiB of memory a fresh process gets from the system, `times` times.
    On this VM it swings from 0.2 s to several seconds within minutes (the host backs the
    guest's free memory again on first touch), and every run here starts on fresh memory:
    read the timings beside it."""
    out: list[float | None] = []
    for _ in range(times):
        probe = subprocess.run([sys.executable, "-c", FRESH_PROBE], capture_output=True, text=True, check=False, timeout=120)
        try:
            out.append(round(float(probe.stdout), 3))
        except ValueError:
            out.append(None)
    return out


def machine() -> dict[str, Any]:
    """Where the numbers were taken."""
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), None) if Path("/proc/cpuinfo").exists() else None
    rev = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)
    dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain"], capture_output=True, text=True, check=False)
    return {"nproc": os.cpu_count(), "usable_cpus": len(os.sched_getaffinity(0)), "cpu": cpu,
            "python": platform.python_version(), "executable": sys.executable, "platform": platform.platform(),
            "git_rev": rev.stdout.strip() or None, "git_dirty": bool(dirty.stdout.strip())}


def table(results: list[dict[str, Any]], par: list[dict[str, Any]], targets: list[dict[str, Any]]) -> str:
    """A short human-readable summary."""
    lines = [f"{'rows':>9} {'format':7} {'wall_s':>7} {'rss_MiB':>8} {'findings':>9}  result"]
    for r in results:
        status = r.get("error") or "planted rows found " + " ".join(
            f"{c}:{v['found_rows']}/{v['planted_rows']}" + (f"(+{v['unexpected']})" if v["unexpected"] else "")
            for c, v in r["vs_planted"].items())
        other = {c: n for c, n in r.get("by_code", {}).items() if c not in r.get("vs_planted", {})}
        if other:
            status += "; other codes " + " ".join(f"{c}:{n}" for c, n in other.items())
        lines.append(f"{r['rows']:>9} {r['format']:7} {r['wall_s']:>7.2f} {r['rss_mib']:>8.0f} "
                     f"{r.get('findings', '-'):>9}  {status}")
    for p in par:
        lines.append(f"jsonl/parquet findings identical at {p['rows']} rows: {p['identical']}")
    for t in targets:
        mark = {True: "PASS", False: "FAIL", None: "not run"}[t["pass"]]
        lines.append(f"target {t['name']}: {t['metric']} {t['value']} <= {t['limit']}: {mark}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", default="100000,1000000", help="comma-separated sizes (100k, 1m accepted)")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "check.json")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per check run")
    ap.add_argument("--data-dir", type=Path, default=HERE / ".data")
    a = ap.parse_args(argv)
    sizes = [generate.parse_rows(s) for s in a.rows.split(",") if s.strip()]
    results: list[dict[str, Any]] = []
    par: list[dict[str, Any]] = []
    bytecode = compile_bytecode()
    fresh_before = fresh_memory()
    for rows in sizes:
        dirs, gen_s = dataset_dirs(rows, a.seed, a.data_dir)
        if gen_s:
            print(f"generated {rows} rows in {gen_s:.1f} s", file=sys.stderr)
        pair = [measure(rows, f, dirs[f], a.repeat, a.timeout) | {"generate_s": round(gen_s, 2)} for f in FORMATS]
        results += pair
        par.append(parity(*pair))
    targets = judge(results)
    report = {"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "machine": machine(), "bytecode": bytecode,
              "fresh_memory_s_per_gib": {"before": fresh_before, "after": fresh_memory()},
              "command": "python -m labelsense check DIR --format json --exit-zero", "repeat": a.repeat,
              "seed": a.seed, "runs": [{k: v for k, v in r.items() if k != "_keys"} for r in results],
              "parity": par, "targets": targets}
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(report, indent=2) + "\n")
    print(table(results, par, targets))
    print(f"results: {a.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
