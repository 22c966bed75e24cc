"""Benchmark label blame against `git blame --porcelain` on the same files, in one run.

    python benchmarks/blame.py [--out benchmarks/results/blame.json] [--repeat 1] [--skip-1m]

Two repositories are built once (cached in ``benchmarks/.data/``) from rows of
``generate.py``:

- ``1m``: a 1,000,000-row JSONL manifest; the import commit, then 21 commits:
  first one that only reformats (separators get spaces; the rows stay the
  same), then 20 that each change 1,000 labels. `git blame` has to walk all
  of them, as in the reference timing (~27 s).
- ``1m-mid``: the same with the reformat in the middle (11th). `git blame`
  stops there, because every older line is attributed to the reformat (so it
  cannot say who set half of the labels); label blame still reads every
  version. Only git blame and the full index are timed; no target.
- ``10k``: a 10,000-row manifest with 200 commits (import, then 199 that each
  change 20 labels; every 50th also re-sorts the rows).

Measured (each step in a fresh Python process; "cold" = no labelsense cache):

- ``git_blame_s``: ``git blame --porcelain`` on the manifest (output discarded).
- ``full_index_s``: cold: the whole per-sample history index (`full_history`).
- ``first_answer_s``: cold: the latest change of a row changed in HEAD, HEAD~1
  and HEAD~2 (the last three commits), each in its own cold process; and
  whether that answer came before the index was complete.
- ``lookup_ms``: after a restart (index on disk): p50/p95/max of `history()`
  for 500 keys (changed ones, unchanged ones, ones that are gone).
- ``new_commit_s`` (1m): one more commit of 1,000 label changes on top, then a
  fresh process: the time until the index covers it and answers.
- correctness: answers are checked against what the generator changed.

Targets (pass/fail recorded): 1m full index < git blame; first answer <= 3 s
(and before the full index is done); lookup p95 <= 5 ms; new commit <= 2 s;
10k first answer <= 2 s.
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import importlib.util
import inspect
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DATA = HERE / ".data"
sys.path.insert(0, str(HERE))
import generate  # noqa: E402

AUTHORS = [("Alice Smith", "alice@example.com"), ("Bob Jones", "bob@example.org"), ("Chen Wei", "chen@example.net"), ("Dana Ruiz", "dana@example.com")]
SIZES = {
    "1m": {"rows": 1_000_000, "commits": 21, "changes": 1000, "reformat_at": 1, "resort_every": 0},
    "1m-mid": {"rows": 1_000_000, "commits": 21, "changes": 1000, "reformat_at": 11, "resort_every": 0},
    "10k": {"rows": 10_000, "commits": 199, "changes": 20, "reformat_at": 0, "resort_every": 50},
}
TARGETS = {"full_index_vs_git_blame": None, "first_answer_1m_s": 3.0, "lookup_p95_ms": 5.0, "new_commit_s": 2.0, "first_answer_10k_s": 2.0}
LABEL = re.compile(rb'("label": ?")([^"]*)(")')
ID = re.compile(rb'"id": ?"([^"]*)"')


def git_env(day: int | None = None, who: tuple[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ, GIT_CONFIG_GLOBAL="/dev/null", GIT_CONFIG_NOSYSTEM="1")
    if importlib.util.find_spec("labelsense") is None:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO / "server"), env.get("PYTHONPATH")) if p)
    if day is not None and who is not None:
        date = (dt.datetime(2024, 1, 1, 9, 0, tzinfo=dt.timezone.utc) + dt.timedelta(days=day)).isoformat()
        env.update(GIT_AUTHOR_NAME=who[0], GIT_AUTHOR_EMAIL=who[1], GIT_AUTHOR_DATE=date,
                   GIT_COMMITTER_NAME=who[0], GIT_COMMITTER_EMAIL=who[1], GIT_COMMITTER_DATE=date)
    return env


def git(root: Path, *args: str, day: int | None = None, who: tuple[str, str] | None = None) -> str:
    return subprocess.run(["git", *args], cwd=root, env=git_env(day, who), check=True, capture_output=True, text=True).stdout


# -- building the repositories (in a child process: the harness stays small) ----
def make_repo(size: str, root: Path, seed: int) -> None:
    """Write the repository for `size` at `root` and `truth.json` (what each commit changed)."""
    spec = SIZES[size]
    if root.exists():
        shutil.rmtree(root)
    generate.generate(spec["rows"], root, seed, "jsonl")
    manifest = root / "data" / "train.jsonl"
    (root / ".gitignore").write_text("expected.json\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "import the dataset", day=0, who=AUTHORS[0])
    leaves = generate.make_taxonomy().leaves
    rng = random.Random(seed + 1)
    lines = manifest.read_bytes().split(b"\n")
    lines.pop()
    commits = []
    for n in range(1, spec["commits"] + 1):
        who = AUTHORS[n % len(AUTHORS)]
        changed: dict[str, list[str]] = {}
        if n == spec["reformat_at"]:
            lines = [line.replace(b'","', b'", "').replace(b'":', b'": ').replace(b",[", b", [") for line in lines]
            message = "reformat: spaces after separators (no label changes)"
        else:
            resort = spec["resort_every"] and n % spec["resort_every"] == 0
            for i in rng.sample(range(len(lines)), spec["changes"]):
                m = LABEL.search(lines[i])
                old = m.group(2).decode()
                new = rng.choice([x for x in rng.sample(leaves, 3) if x != old])
                lines[i] = lines[i][: m.start(2)] + new.encode() + lines[i][m.end(2) :]
                key = ID.search(lines[i]).group(1).decode()
                changed.setdefault(key, []).append(f"{old}>{new}")
            if resort:
                lines.sort()
            message = f"relabel batch {n}: {len(changed)} samples" + (" (rows re-sorted)" if resort else "")
        manifest.write_bytes(b"\n".join(lines) + b"\n")
        git(root, "add", "data/train.jsonl")
        git(root, "commit", "-q", "-m", message, day=n, who=who)
        commits.append({"sha": git(root, "rev-parse", "HEAD").strip(), "message": message, "changed": changed})
    (root / ".git" / "bench-truth.json").write_text(json.dumps({"size": size, "seed": seed, "commits": commits}))


def repo_for(size: str, seed: int) -> Path:
    source = (inspect.getsource(make_repo) + repr(SIZES) + repr(AUTHORS)).encode() + (HERE / "generate.py").read_bytes()
    stamp = hashlib.sha256(source).hexdigest()[:10]
    root = DATA / f"blame-{size}-s{seed}-{stamp}"
    if not (root / ".git" / "bench-truth.json").is_file():
        print(f"building the {size} repository in {root} (once) ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--make-repo", size, "--seed", str(seed), "--root", str(root)], check=True, env=git_env())
        print(f"  built in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    return root


# -- measurements, each in a fresh process ------------------------------------
CHILD = r"""
import json, resource, sys, time
t_import = time.perf_counter()
from pathlib import Path
from labelsense.core.blame import LabelBlame
mode, path, args = sys.argv[1], Path(sys.argv[2]), json.loads(sys.argv[3])
out = {"import_s": time.perf_counter() - t_import}
t0 = time.perf_counter()
blame = LabelBlame(path)
if mode == "first":
    change = blame.last_change(args["key"])
    out["first_answer_s"] = time.perf_counter() - t0
    out["answer"] = change.commit if change else None
    snap = blame.snapshot()
    out["indexed_commits_at_answer"] = snap.done
    out["commits"] = len(snap.commits)
    out["complete_at_answer"] = snap.complete
    if args.get("full"):
        history = blame.full_history(args["key"])
        out["full_index_s"] = time.perf_counter() - t0
        out["complete"] = history.complete
elif mode == "lookups":
    out["open_s"] = time.perf_counter() - t0
    times, answers = [], {}
    for key in args["keys"]:
        s = time.perf_counter()
        history = blame.history(key)
        times.append(time.perf_counter() - s)
        answers[key] = [c.commit for c in history.changes]
        assert history.complete
    out["times"] = times
    out["answers"] = answers
elif mode == "update":
    history = blame.history(args["key"])
    history = blame.full_history(args["key"])
    out["update_s"] = time.perf_counter() - t0
    out["answer"] = [c.commit for c in history.changes]
out["rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def child(mode: str, path: Path, timeout: float = 900, **args: Any) -> dict[str, Any]:
    t0 = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", CHILD, mode, str(path), json.dumps(args)], cwd=path.parent, env=git_env(),
                            capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        return {"error": (result.stderr or result.stdout)[-2000:], "wall_s": time.perf_counter() - t0}
    out = json.loads(result.stdout.strip().splitlines()[-1])
    out["wall_s"] = time.perf_counter() - t0
    return out


def drop_cache(root: Path) -> None:
    shutil.rmtree(root / ".git" / "labelsense", ignore_errors=True)


def git_blame(root: Path, rel: str) -> float:
    t0 = time.perf_counter()
    with open(os.devnull, "wb") as null:
        subprocess.run(["git", "blame", "--porcelain", "--", rel], cwd=root, env=git_env(), stdout=null, check=True)
    return time.perf_counter() - t0


def truth_of(root: Path) -> dict[str, Any]:
    return json.loads((root / ".git" / "bench-truth.json").read_text())


def expected_history(truth: dict[str, Any], key: str, import_sha: str) -> list[str]:
    shas = [c["sha"] for c in reversed(truth["commits"]) if key in c["changed"]]
    return shas + [import_sha]


def bench_brief(size: str, seed: int) -> dict[str, Any]:
    """git blame and the cold full index only (for the reformat-in-the-middle variant)."""
    root = repo_for(size, seed)
    manifest = root / "data" / "train.jsonl"
    truth = truth_of(root)
    key = random.Random(seed).choice(sorted(truth["commits"][-1]["changed"]))
    res: dict[str, Any] = {"rows": SIZES[size]["rows"], "commits": len(truth["commits"]) + 1, "reformat_at": SIZES[size]["reformat_at"], "repo": str(root)}
    res["git_blame_s"] = round(git_blame(root, "data/train.jsonl"), 2)
    drop_cache(root)
    got = child("first", manifest, key=key, full=True)
    res["full_index_s"] = round(got["full_index_s"], 2) if "full_index_s" in got else None
    if "error" in got:
        res["error"] = got["error"]
    return res


def bench_size(size: str, seed: int, repeat: int) -> dict[str, Any]:
    root = repo_for(size, seed)
    manifest = root / "data" / "train.jsonl"
    truth = truth_of(root)
    import_sha = git(root, "rev-list", "--max-parents=0", "HEAD").strip()
    commits = truth["commits"]
    res: dict[str, Any] = {"rows": SIZES[size]["rows"], "commits": len(commits) + 1, "reformat_at": SIZES[size]["reformat_at"], "repo": str(root),
                           "manifest_mib": round(manifest.stat().st_size / 2**20, 1)}
    rng = random.Random(seed)
    recent = []  # a key whose latest change is in HEAD, HEAD~1, HEAD~2
    for back in range(3):
        c = commits[-1 - back]
        later = {k for n in commits[len(commits) - back :] for k in n["changed"]}
        recent.append((back, c["sha"], rng.choice(sorted(set(c["changed"]) - later))))
    # git blame and our full index, alternately
    res["git_blame_s"] = []
    res["full_index_s"] = []
    res["first_answer"] = []
    for r in range(repeat):
        res["git_blame_s"].append(round(git_blame(root, "data/train.jsonl"), 2))
        drop_cache(root)
        back, sha, key = recent[2]
        got = child("first", manifest, key=key, full=True)
        if "error" in got:
            res.setdefault("errors", []).append(got["error"])
            continue
        res["full_index_s"].append(round(got["full_index_s"], 2))
        res["first_answer"].append({"head_minus": back, "key": key, "seconds": round(got["first_answer_s"], 3), "correct": got["answer"] == sha,
                                    "before_full_index": not got["complete_at_answer"], "indexed_commits": got["indexed_commits_at_answer"],
                                    "rss_mib": round(got["rss_mib"])})
    for back, sha, key in recent[:2]:
        drop_cache(root)
        got = child("first", manifest, key=key)
        res["first_answer"].append({"head_minus": back, "key": key, "seconds": round(got.get("first_answer_s", float("nan")), 3),
                                    "correct": got.get("answer") == sha, "before_full_index": not got.get("complete_at_answer", True),
                                    "indexed_commits": got.get("indexed_commits_at_answer"), **({"error": got["error"]} if "error" in got else {})})
    # the full index once more, so lookups run against a complete cache
    drop_cache(root)
    full = child("first", manifest, key=recent[0][2], full=True)
    if "error" in full:
        res.setdefault("errors", []).append(full["error"])
    changed_keys = sorted({k for c in commits for k in c["changed"]})
    all_ids = [m.group(1).decode() for m in ID.finditer(manifest.read_bytes()[: 200 * 5000])]
    keys = rng.sample(changed_keys, min(300, len(changed_keys))) + rng.sample(all_ids, min(190, len(all_ids))) + [f"gone-{i}" for i in range(10)]
    got = child("lookups", manifest, keys=keys)
    if "error" in got:
        res.setdefault("errors", []).append(got["error"])
    else:
        times = sorted(got["times"])
        res["lookup_ms"] = {"n": len(times), "p50": round(1000 * statistics.median(times), 3), "p95": round(1000 * times[int(0.95 * len(times))], 3),
                            "max": round(1000 * times[-1], 3), "open_after_restart_s": round(got["open_s"], 3)}
        wrong = [k for k in keys if not k.startswith("gone-") and got["answers"][k] != expected_history(truth, k, import_sha)]
        wrong += [k for k in keys if k.startswith("gone-") and got["answers"][k]]
        res["lookup_correct"] = not wrong
        if wrong:
            res["lookup_wrong_examples"] = {k: got["answers"][k] for k in wrong[:3]}
        reformat = [c["sha"] for c in commits if c["message"].startswith("reformat")]
        res["reformat_never_blamed"] = not any(s in v for v in got["answers"].values() for s in reformat)
    if size == "1m":
        res["new_commit"] = new_commit(root, manifest, seed)
    res["git_blame_s_median"] = statistics.median(res["git_blame_s"]) if res["git_blame_s"] else None
    res["full_index_s_median"] = statistics.median(res["full_index_s"]) if res["full_index_s"] else None
    return res


def new_commit(root: Path, manifest: Path, seed: int) -> dict[str, Any]:
    """One more commit of 1,000 label changes on top of an indexed history; then revert it."""
    rng = random.Random(seed + 99)
    data = manifest.read_bytes()
    lines = data.split(b"\n")
    lines.pop()
    leaves = generate.make_taxonomy().leaves
    keys = []
    for i in rng.sample(range(len(lines)), 1000):
        m = LABEL.search(lines[i])
        new = rng.choice([x for x in leaves[:5] if x.encode() != m.group(2)])
        lines[i] = lines[i][: m.start(2)] + new.encode() + lines[i][m.end(2) :]
        keys.append(ID.search(lines[i]).group(1).decode())
    manifest.write_bytes(b"\n".join(lines) + b"\n")
    git(root, "commit", "-q", "-am", "one more relabel batch", day=400, who=AUTHORS[1])
    sha = git(root, "rev-parse", "HEAD").strip()
    try:
        got = child("update", manifest, key=keys[0])
    finally:
        git(root, "reset", "-q", "--hard", "HEAD~1")
    if "error" in got:
        return {"error": got["error"]}
    return {"seconds": round(got["update_s"], 3), "correct": bool(got["answer"]) and got["answer"][0] == sha}


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), "")
    except OSError:
        pass
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    dirty = bool(subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True).stdout.strip())
    return {"nproc": os.cpu_count(), "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
            "cpu": cpu, "python": platform.python_version(), "platform": platform.platform(),
            "git": subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip(),
            "revision": rev, "dirty": dirty, "loadavg_start": os.getloadavg()}


def targets(results: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    big, small = results.get("1m"), results.get("10k")
    if big and big.get("full_index_s_median") is not None:
        out["full_index_1m_faster_than_git_blame"] = {"full_index_s": big["full_index_s_median"], "git_blame_s": big["git_blame_s_median"],
                                                       "pass": big["full_index_s_median"] < big["git_blame_s_median"]}
        worst = max(a["seconds"] for a in big["first_answer"])
        out["first_answer_1m_within_3s_before_full_index"] = {"worst_s": worst, "limit_s": 3.0,
                                                               "pass": worst <= 3.0 and all(a["before_full_index"] and a["correct"] for a in big["first_answer"])}
        out["lookup_p95_1m_within_5ms"] = {"p95_ms": big.get("lookup_ms", {}).get("p95"), "limit_ms": 5.0,
                                           "pass": big.get("lookup_ms", {}).get("p95", 1e9) <= 5.0 and big.get("lookup_correct", False)}
        nc = big.get("new_commit", {})
        out["new_commit_1m_within_2s"] = {"seconds": nc.get("seconds"), "limit_s": 2.0, "pass": nc.get("seconds", 1e9) <= 2.0 and nc.get("correct", False)}
    if small and small.get("first_answer"):
        worst = max(a["seconds"] for a in small["first_answer"])
        out["first_answer_10k_within_2s"] = {"worst_s": worst, "limit_s": 2.0, "pass": worst <= 2.0 and all(a["correct"] for a in small["first_answer"])}
        out["lookup_p95_10k_within_5ms"] = {"p95_ms": small.get("lookup_ms", {}).get("p95"), "limit_ms": 5.0,
                                            "pass": small.get("lookup_ms", {}).get("p95", 1e9) <= 5.0 and small.get("lookup_correct", False)}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=HERE / "results" / "blame.json")
    ap.add_argument("--repeat", type=int, default=1, help="rounds of git blame + full index on the 1m repo")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-1m", action="store_true")
    ap.add_argument("--skip-mid", action="store_true", help="skip the reformat-in-the-middle variant")
    ap.add_argument("--make-repo", choices=tuple(SIZES), help=argparse.SUPPRESS)
    ap.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.make_repo:
        make_repo(a.make_repo, a.root, a.seed)
        return 0
    results: dict[str, Any] = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "machine": machine()}
    for size in ("10k",) + (() if a.skip_1m else ("1m",)):
        print(f"benchmarking {size} ...", file=sys.stderr, flush=True)
        results[size] = bench_size(size, a.seed, a.repeat if size == "1m" else 1)
    if not (a.skip_1m or a.skip_mid):
        print("benchmarking 1m-mid (git blame and full index only) ...", file=sys.stderr, flush=True)
        results["1m-mid"] = bench_brief("1m-mid", a.seed)
    results["machine"]["loadavg_end"] = os.getloadavg()
    results["targets"] = targets(results)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(results, indent=2) + "\n")
    for name, t in results["targets"].items():
        print(f"{'PASS' if t['pass'] else 'FAIL'}  {name}: {json.dumps({k: v for k, v in t.items() if k != 'pass'})}")
    if "1m-mid" in results:
        mid = results["1m-mid"]
        print(f"info  reformat in the middle: git blame {mid['git_blame_s']} s (stops at the reformat), full label index {mid['full_index_s']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
