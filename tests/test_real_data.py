"""Acceptance tests on real third-party label data (../shared/data/real).

Each test builds a throw-away dataset in `tmp_path` from the real files (copied
or converted, never committed to this repository), runs labelsense on it, and
compares the findings with an expectation computed here in plain Python from
the raw data — no labelsense code is used to compute what to expect.

Findings are compared as multisets of (file, line, code); messages and spans
are checked where the data says what they must contain.

Every dataset config selects LS1–LS4 (every implemented rule family that
does not need media files) so that the *whole* result is asserted, not just
the interesting rule: nothing may fire that plain Python does not predict.

The data comes from public repositories (see each folder's PROVENANCE.txt);
the tests skip cleanly when ../shared/data/real is absent.
"""
from __future__ import annotations

import csv
import gc
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Iterable

import pytest

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"

SELECT = 'select = ["LS1", "LS2", "LS3", "LS4"]'


def real(*parts: str) -> Path:
    """A path under the real-data folder, or skip the test when it is not there."""
    path = REAL.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not available: {path}")
    return path


# --------------------------------------------------------------------------
# running labelsense


def run_cli(root: Path) -> list[dict[str, Any]]:
    """`labelsense check ROOT --format json --exit-zero`, run in ROOT (paths come back relative)."""
    proc = subprocess.run(
        [sys.executable, "-m", "labelsense", "check", str(root), "--format", "json", "--exit-zero"],
        cwd=root, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "error" not in proc.stderr, proc.stderr
    return json.loads(proc.stdout)


def run_engine(root: Path) -> list[dict[str, Any]]:
    """The engine in-process; findings as the CLI's json dicts (path relative to ROOT, 1-based)."""
    from labelsense.core import engine

    report = engine.check([root])
    assert report.errors == [], report.errors
    base = root.resolve()
    relative = {p: Path(p).resolve().relative_to(base).as_posix() for p in {f.path for f in report.findings}}
    out = []
    for f in report.findings:
        out.append({
            "path": relative[f.path],
            "line": f.span.line + 1, "column": f.span.col + 1,
            "end_line": f.span.end_line + 1, "end_column": f.span.end_col + 1,
            "code": f.code, "message": f.message,
            "related": [{"path": Path(r.path).name, "line": r.span.line + 1, "message": r.message} for r in f.related],
        })
    return out


def where(findings: Iterable[dict[str, Any]], code: str | None = None) -> Counter:
    """Multiset of (file, line, code), optionally of one code only."""
    return Counter((f["path"], f["line"], f["code"]) for f in findings if code is None or f["code"] == code)


def by_code(findings: Iterable[dict[str, Any]], code: str) -> dict[tuple[str, int], dict[str, Any]]:
    out = {}
    for f in findings:
        if f["code"] == code:
            assert (f["path"], f["line"]) not in out, f"two {code} findings on one line: {f}"
            out[(f["path"], f["line"])] = f
    return out


def span_text(root: Path, f: dict[str, Any]) -> str:
    """The text a finding's span covers in its (JSONL) file."""
    assert f["line"] == f["end_line"]
    line = (root / f["path"]).read_text("utf-8").split("\n")[f["line"] - 1]
    return line[f["column"] - 1 : f["end_column"] - 1]


# --------------------------------------------------------------------------
# independent expectations (plain Python, no labelsense code)


def read_jsonl(path: Path) -> tuple[list[tuple[int, dict[str, Any]]], list[int]]:
    """(1-based line, object) for every line that parses, and the lines that do not."""
    lines = path.read_bytes().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    rows, bad = [], []
    for i, raw in enumerate(lines, 1):
        try:
            rows.append((i, json.loads(raw)))
        except ValueError:
            bad.append(i)
    return rows, bad


def split_of(file_name: str) -> str | None:
    """The split a manifest's file name implies (the files in these tests are named plainly)."""
    for word, split in (("train", "train"), ("dev", "val"), ("val", "val"), ("test", "test")):
        if word in file_name:
            return split
    return None


class Row(dict):
    """A manifest row as the expectation sees it: file, line, key, labels, split, content, votes."""


def make_row(file: str, line: int, obj: dict[str, Any], key: str, label: str, content: str | None = None, votes: str | None = None) -> Row:
    value = obj.get(label)
    labels = None if value is None else tuple(sorted(set(value if isinstance(value, list) else [value])))
    return Row(file=file, line=line, key=obj.get(key), labels=labels, split=split_of(file),
               content=obj.get(content) if content else None, votes=obj.get(votes) if votes else None, label_value=value)


def expect_key_rules(rows: list[Row]) -> Counter:
    """LS401 / LS402 / LS404 (by key) from rows grouped by key across all files."""
    groups: dict[Any, list[Row]] = defaultdict(list)
    for r in rows:
        if r["key"] is not None:
            groups[r["key"]].append(r)
    out: Counter = Counter()
    for group in groups.values():
        if len(group) < 2:
            continue
        for r in group:
            others = [o for o in group if o is not r]
            if any(o["labels"] != r["labels"] for o in others):
                out[(r["file"], r["line"], "LS401")] += 1
            if any(o["labels"] == r["labels"] for o in others):
                out[(r["file"], r["line"], "LS402")] += 1
            if r["split"] and any(o["split"] and o["split"] != r["split"] for o in others):
                out[(r["file"], r["line"], "LS404")] += 1
    return out


def expect_content_rules(rows: list[Row]) -> Counter:
    """LS403 (same content, other key, other labels) and LS404 (same content, other key, other split)."""
    groups: dict[Any, list[Row]] = defaultdict(list)
    for r in rows:
        if r["content"] is not None:
            groups[r["content"]].append(r)
    out: Counter = Counter()
    for group in groups.values():
        for r in group:
            others = [o for o in group if o["key"] != r["key"]]
            if any(o["labels"] != r["labels"] for o in others):
                out[(r["file"], r["line"], "LS403")] += 1
            if r["split"] and any(o["split"] and o["split"] != r["split"] for o in others):
                out[(r["file"], r["line"], "LS404")] += 1
    return out


def vote_share(votes: list[Any]) -> tuple[float, int, int, list[Any]]:
    """(share of the most common vote, its count, total, the leading votes); a list vote is one vote."""
    counted = Counter(tuple(v) if isinstance(v, list) else v for v in votes if v not in (None, [], ""))
    total = sum(counted.values())
    top = max(counted.values())
    return top / total, top, total, [v for v, n in counted.items() if n == top]


def expect_votes(rows: list[Row], least: float = 0.6) -> Counter:
    out: Counter = Counter()
    for r in rows:
        v = r["votes"]
        if isinstance(v, list) and len(v) >= 2 and vote_share(v)[0] < least:
            out[(r["file"], r["line"], "LS405")] += 1
    return out


def ancestors_of(parents: dict[str, list[str]], names: Iterable[str]) -> set[str]:
    seen: set[str] = set()
    todo = list(names)
    while todo:
        for p in parents.get(todo.pop(), ()):
            if p not in seen:
                seen.add(p)
                todo.append(p)
    return seen


def expect_class_rules(rows: list[Row], classes: list[str], parents: dict[str, list[str]], tax_file: str,
                       class_line: dict[str, int] | None = None, min_samples: int = 5) -> tuple[Counter, set[str], set[str]]:
    """LS301 (rows with a label that is not a class), LS312 (classes neither used nor above a used one),
    LS313 (classes with fewer than min_samples rows labelled with them or a subclass).
    Returns (findings, unused, rare)."""
    known = set(classes)
    out: Counter = Counter()
    direct: Counter = Counter()
    for r in rows:
        for label in r["labels"] or ():
            if label in known:
                direct[label] += 1
            else:
                out[(r["file"], r["line"], "LS301")] += 1
    used = set(direct)
    unused = known - used - ancestors_of(parents, used)
    samples: Counter = Counter()  # a class's samples: rows labelled with it or with any class below it
    for label, n in direct.items():
        for c in {label} | ancestors_of(parents, [label]):
            samples[c] += n
    rare = {c for c, n in samples.items() if n < min_samples}
    for c in unused:
        out[(tax_file, class_line[c] if class_line else 0, "LS312")] += 1
    for c in rare:
        out[(tax_file, class_line[c] if class_line else 0, "LS313")] += 1
    return out, unused, rare


def write_native_taxonomy(path: Path, classes: dict[str, dict[str, Any]]) -> dict[str, int]:
    """Native taxonomy JSON, one class per line; returns each class's 1-based line."""
    lines = ["{", '  "version": 1,', '  "classes": {']
    where_ = {}
    names = list(classes)
    for i, name in enumerate(names):
        where_[name] = len(lines) + 1
        comma = "," if i < len(names) - 1 else ""
        lines.append(f"    {json.dumps(name)}: {json.dumps(classes[name], ensure_ascii=False)}{comma}")
    lines += ["  }", "}", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return where_


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def without_taxonomy_lines(c: Counter) -> Counter:
    """LS312/LS313 sit on the taxonomy; compare them by class name, and the rest by line."""
    return Counter({k: n for k, n in c.items() if k[2] not in ("LS312", "LS313")})


# --------------------------------------------------------------------------
# 1. SNLI: votes, a placeholder gold label, split from the file name

SNLI_FILES = ("snli_1.0_dev.partial.jsonl", "snli_1.0_test.partial.jsonl")


def snli_dataset(tmp_path: Path, extra: str = "") -> tuple[Path, list[Row], list[int]]:
    src = real("snli")
    root = tmp_path / "snli"
    root.mkdir()
    for name in SNLI_FILES:
        shutil.copyfile(src / name, root / name)
    (root / "classes.txt").write_text("# SNLI gold labels\nentailment\nneutral\ncontradiction\n")
    (root / "labelsense.toml").write_text(f"""
[[dataset]]
name = "snli"
manifests = ["*.jsonl"]
taxonomy = "classes.txt"
key = "pairID"
label = "gold_label"
votes = "annotator_labels"
{extra}

[rules]
{SELECT}
""")
    rows, bad = [], []
    for name in SNLI_FILES:
        parsed, broken = read_jsonl(root / name)
        rows += [make_row(name, line, obj, "pairID", "gold_label", content="captionID", votes="annotator_labels") for line, obj in parsed]
        bad += [(name, line) for line in broken]
    return root, rows, bad


def snli_expected(rows: list[Row], bad: list[tuple[str, int]]) -> Counter:
    expected: Counter = Counter((f, line, "LS101") for f, line in bad)
    expected += expect_class_rules(rows, ["entailment", "neutral", "contradiction"], {}, "classes.txt", {"entailment": 2, "neutral": 3, "contradiction": 4})[0]
    expected += expect_votes(rows)
    expected += expect_key_rules(rows)
    return expected


def test_snli_cli(tmp_path: Path) -> None:
    root, rows, bad = snli_dataset(tmp_path)
    # What the data README promises, checked on the raw files (not by labelsense).
    for name in SNLI_FILES:
        assert not (root / name).read_bytes().endswith(b"\n"), "last line has no trailing newline"
    assert bad == [], "the truncated files still end on a complete JSON row"
    dashes = Counter(r["file"] for r in rows if r["label_value"] == "-")
    assert dashes == {SNLI_FILES[0]: 16, SNLI_FILES[1]: 23}
    assert len({r["key"] for r in rows}) == len(rows), "pairIDs are unique across dev and test"

    t = time.perf_counter()
    findings = run_cli(root)
    print(f"\nSNLI via CLI: {len(findings)} findings in {time.perf_counter() - t:.2f}s")
    expected = snli_expected(rows, bad)
    assert where(findings) == expected
    counts = Counter(f["code"] for f in findings)
    assert counts == {"LS301": 39, "LS405": 39}  # every '-' row is a no-consensus row, and vice versa

    by_line = {(r["file"], r["line"]): r for r in rows}
    for (path, line), f in by_code(findings, "LS301").items():
        assert f["message"].startswith("unknown class '-'")
        assert span_text(root, f) == '"-"'
        assert f["severity"] == "error"
    for (path, line), f in by_code(findings, "LS405").items():
        r = by_line[(path, line)]
        share, top, total, leaders = vote_share(r["votes"])
        assert json.loads(span_text(root, f)) == r["votes"], "the span covers the votes list"
        assert f"({top} of {total})" in f["message"]
        if len(leaders) == 1:
            assert f"majority '{leaders[0]}'" in f["message"]
        else:
            assert "no majority" in f["message"] and all(f"'{x}'" in f["message"] for x in leaders)


def test_snli_caption_as_content(tmp_path: Path) -> None:
    """captionID as the content: the premises shared by dev and test are content leakage (LS404);
    hypotheses of one premise carry different gold labels by design, which LS403 reports."""
    root, rows, bad = snli_dataset(tmp_path, 'content = "captionID"')
    dev_captions = {r["content"] for r in rows if r["file"] == SNLI_FILES[0]}
    test_captions = {r["content"] for r in rows if r["file"] == SNLI_FILES[1]}
    shared = dev_captions & test_captions
    assert len(shared) == 2  # the README: 2 premises appear in both dev and test

    findings = run_engine(root)
    expected = snli_expected(rows, bad) + expect_content_rules(rows)
    assert where(findings) == expected

    leaks = by_code(findings, "LS404")
    involved = {(r["file"], r["line"]) for r in rows if r["content"] in shared}
    assert set(leaks) == involved and len(involved) == 6
    by_line = {(r["file"], r["line"]): r for r in rows}
    for (path, line), f in leaks.items():
        r = by_line[(path, line)]
        assert span_text(root, f) == json.dumps(r["content"])
        assert f"content of key '{r['key']}'" in f["message"]
        other_split = {(o["file"], o["line"]) for o in rows if o["content"] == r["content"] and o["file"] != path}
        assert {(rel["path"], rel["line"]) for rel in f["related"]} == other_split
    assert sum(1 for f in findings if f["code"] == "LS403") == sum(n for k, n in expected.items() if k[2] == "LS403")


# --------------------------------------------------------------------------
# 2. Open Images boxable hierarchy: a DAG of MIDs


def openimages_graph() -> tuple[dict[str, list[str]], dict[str, str], str]:
    """Subcategory edges only (`Part` is part-of, not is-a: it would put 'Laptop' under 'Building').
    Returns child → parents (first-seen order), MID → display name, and the root MID."""
    tree = json.loads(real("openimages", "bbox_labels_600_hierarchy.json").read_text())
    with real("openimages", "class-descriptions-boxable.csv").open(newline="") as fh:
        names = {row["label"]: row["class"] for row in csv.DictReader(fh)}
    parents: dict[str, list[str]] = {}

    def walk(node: dict[str, Any]) -> None:
        parents.setdefault(node["LabelName"], [])
        for key in ("Subcategory", "Part"):
            for child in node.get(key, []):
                if key == "Subcategory" and node["LabelName"] not in parents.setdefault(child["LabelName"], []):
                    parents[child["LabelName"]].append(node["LabelName"])
                walk(child)

    walk(tree)
    return parents, names, tree["LabelName"]


def test_openimages_hierarchy(tmp_path: Path) -> None:
    from labelsense.core.taxonomy import load_taxonomy

    parents, names, root_mid = openimages_graph()
    mids = list(parents)
    assert len(mids) == 602 and root_mid not in names  # README: 602 nodes, root has no CSV row
    multi = {m for m, ps in parents.items() if len(ps) > 1}
    assert len(multi) == 45
    classes = {m: ({"parent": ps[0] if len(ps) == 1 else ps} if ps else {}) | {"description": names.get(m, "Entity")} for m, ps in parents.items()}
    tax_path = tmp_path / "taxonomy.json"
    class_line = write_native_taxonomy(tax_path, classes)

    t = time.perf_counter()
    tax = load_taxonomy(tax_path)
    print(f"\nOpen Images taxonomy ({len(mids)} classes) loaded in {time.perf_counter() - t:.3f}s")
    assert tax.problems == []  # no LS310 duplicates, no LS311 unknown parents or cycles: it is a DAG
    assert set(tax.classes) == set(mids)
    assert {n for n, c in tax.classes.items() if len(c.parents) > 1} == multi
    assert sum(len(c.parents) for c in tax.classes.values()) == sum(len(ps) for ps in parents.values())
    for m in mids:
        assert tax.ancestors([m]) == ancestors_of(parents, [m]), names.get(m, m)
        assert tax.is_leaf(m) == (not any(m in ps for ps in parents.values()))
        assert tax.classes[m].span.line + 1 == class_line[m]
    mid = {v: k for k, v in names.items()}
    assert {mid["Bear"], mid["Toy"], root_mid} <= tax.ancestors([mid["Teddy bear"]])
    assert {mid["Home appliance"], mid["Kitchen appliance"]} <= set(tax.classes[mid["Oven"]].parents)

    # A small manifest: some leaves (1 to 6 rows each, so some are rare), an inner class, one unknown MID.
    leaves = sorted(m for m in mids if not any(m in ps for ps in parents.values()))
    picked = ["Teddy bear", "Oven", "Tortoise", "Magpie"] + [names[m] for m in leaves[::40]]
    data, n = [], 0
    for i, name in enumerate(dict.fromkeys(picked)):
        for _ in range(1 + i % 6):
            n += 1
            data.append({"id": f"oi-{n}", "label": mid[name]})
    data.insert(7, {"id": "oi-unknown", "label": "/m/0zzzzzz"})
    data.append({"id": "oi-inner", "label": mid["Carnivore"]})
    ds = tmp_path / "ds"
    ds.mkdir()
    shutil.move(tax_path, ds / "taxonomy.json")
    write_jsonl(ds / "boxes.jsonl", data)
    (ds / "labelsense.toml").write_text(f'[[dataset]]\nname = "oi"\nmanifests = ["*.jsonl"]\ntaxonomy = "taxonomy.json"\n\n[rules]\n{SELECT}\n')

    findings = run_engine(ds)
    rows = [make_row("boxes.jsonl", i, obj, "id", "label") for i, obj in enumerate(data, 1)]
    expected, unused, rare = expect_class_rules(rows, mids, parents, "taxonomy.json", class_line)
    assert where(findings) == expected
    assert [(f["path"], f["line"]) for f in findings if f["code"] == "LS301"] == [("boxes.jsonl", 8)]
    unused_named = {f["message"].split("'")[1] for f in findings if f["code"] == "LS312"}
    assert unused_named == unused and len(unused) == sum(1 for f in findings if f["code"] == "LS312")
    assert {mid["Bear"], mid["Toy"], mid["Carnivore"], root_mid}.isdisjoint(unused)
    print(f"Open Images: {len(unused)} unused classes, {len(rare)} rare, of {len(mids)}")


# --------------------------------------------------------------------------
# 3. WordNet (ImageNet BREEDS): a ~75k-edge DAG with the 1000 ImageNet classes


WORDNET = ("imagenet-breeds", "imagenet_class_hierarchy", "wordnet")


@pytest.fixture(scope="module")
def wordnet(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The WordNet is-a graph converted to a native taxonomy, loaded once for the module (a load takes seconds)."""
    from labelsense.core.taxonomy import load_taxonomy

    edges = [line.split() for line in real(*WORDNET, "class_hierarchy.txt").read_text().splitlines() if line.strip()]
    node_names = dict(line.split("\t", 1) for line in real(*WORDNET, "node_names.txt").read_text().splitlines() if "\t" in line)
    info = json.loads(real(*WORDNET, "dataset_class_info.json").read_text())
    parents: dict[str, list[str]] = {}
    for parent, child in edges:
        parents.setdefault(parent, [])
        if parent not in parents.setdefault(child, []):
            parents[child].append(parent)
    classes = {n: ({"parent": ps[0] if len(ps) == 1 else ps} if ps else {}) | ({"description": node_names[n]} if n in node_names else {}) for n, ps in parents.items()}
    root = tmp_path_factory.mktemp("wordnet")
    class_line = write_native_taxonomy(root / "taxonomy.json", classes)
    size = (root / "taxonomy.json").stat().st_size
    # Loaded as `labelsense check` loads it: with the cyclic GC paused (engine.check does that for the
    # whole run). With the GC running, the same call takes several times longer (see the report).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        t = time.perf_counter()
        tax = load_taxonomy(root / "taxonomy.json")
        elapsed = time.perf_counter() - t
    finally:
        if was_enabled:
            gc.enable()
    print(f"\nWordNet taxonomy: {len(classes)} classes, {len(edges)} edges, {size / 1e6:.1f} MB, loaded in {elapsed:.2f}s")
    return {"root": root, "tax": tax, "parents": parents, "edges": edges, "names": node_names,
            "imagenet": [wnid for _, wnid, _ in info], "class_line": class_line, "load_seconds": elapsed}


def test_wordnet_taxonomy(wordnet: dict[str, Any]) -> None:
    tax, parents = wordnet["tax"], wordnet["parents"]
    assert len(wordnet["edges"]) == 75850
    assert tax.problems == []  # no cycle, no unknown parent, no duplicate
    assert len(tax.classes) == len(parents) == 74401
    assert {n for n, c in tax.classes.items() if not c.parents} == {n for n, ps in parents.items() if not ps}
    imagenet = wordnet["imagenet"]
    assert len(set(imagenet)) == 1000
    multi = [w for w in imagenet if len(tax.classes[w].parents) > 1]
    assert len(multi) == sum(1 for w in imagenet if len(parents[w]) > 1) == 38
    for w in imagenet:
        assert tax.ancestors([w]) == ancestors_of(parents, [w])
    by_name = defaultdict(list)
    for wnid, name in wordnet["names"].items():
        by_name[name.split(",")[0]].append(wnid)
    accordion = [w for w in by_name["accordion"] if w in imagenet]
    assert len(accordion) == 1
    assert {wordnet["names"][p].split(",")[0] for p in tax.classes[accordion[0]].parents} == {"keyboard instrument", "free-reed instrument"}


def test_wordnet_imagenet_manifest(wordnet: dict[str, Any]) -> None:
    """All 1000 ImageNet wnids plus two planted unknowns: LS301 exactly on the planted rows;
    with leaves-only, LS303 on every ImageNet class that has WordNet hyponyms.
    Two datasets of one config share the taxonomy file (the engine loads it for each); the
    manifests sit next to it in the module's temporary directory."""
    root = wordnet["root"]
    data = [{"id": f"in-{i}", "label": w} for i, w in enumerate(wordnet["imagenet"])]
    data.insert(10, {"id": "planted-1", "label": "n99999999"})
    data.insert(500, {"id": "planted-2", "label": "n0144O764"})  # letter O for a zero
    for folder in ("all", "leaves"):
        (root / folder).mkdir(exist_ok=True)
        write_jsonl(root / folder / "imagenet.jsonl", data)
    (root / "labelsense.toml").write_text(f"""
[[dataset]]
name = "imagenet"
manifests = ["all/*.jsonl"]
taxonomy = "taxonomy.json"

[[dataset]]
name = "imagenet-leaves"
manifests = ["leaves/*.jsonl"]
taxonomy = "taxonomy.json"
leaves-only = true

[rules]
{SELECT}
""")
    t = time.perf_counter()
    findings = run_engine(root)
    print(f"\nWordNet/ImageNet check of 2 x {len(data)} rows: {len(findings)} findings in {time.perf_counter() - t:.2f}s")

    parents = wordnet["parents"]
    has_children = {p for ps in parents.values() for p in ps}
    expected: Counter = Counter()
    unused_by_dataset, rare_by_dataset = {}, {}
    for name, folder in (("imagenet", "all"), ("imagenet-leaves", "leaves")):
        rows = [make_row(f"{folder}/imagenet.jsonl", i, obj, "id", "label") for i, obj in enumerate(data, 1)]
        found, unused_by_dataset[name], rare_by_dataset[name] = expect_class_rules(rows, list(parents), parents, "taxonomy.json", wordnet["class_line"])
        expected += found
        if folder == "leaves":
            expected += Counter((r["file"], r["line"], "LS303") for r in rows if r["labels"][0] in has_children)
    # Both datasets share the taxonomy and have the same rows; their LS312/LS313 findings sit on
    # the same taxonomy lines, once per dataset (the messages name the dataset).
    assert where(findings) == expected
    assert [f["line"] for f in findings if f["code"] == "LS301" and f["path"].startswith("all/")] == [11, 501]
    assert "did you mean 'n01440764'" in by_code(findings, "LS301")[("all/imagenet.jsonl", 501)]["message"]
    inner = sum(1 for w in wordnet["imagenet"] if w in has_children)
    assert sum(1 for f in findings if f["code"] == "LS303") == inner == 350
    for name in ("imagenet", "imagenet-leaves"):
        unused = [f["message"].split("'")[1] for f in findings if f["code"] == "LS312" and f"dataset '{name}'" in f["message"]]
        assert set(unused) == unused_by_dataset[name] and len(unused) == len(unused_by_dataset[name])
    assert {f["message"].split("'")[1] for f in findings if f["code"] == "LS313"} == rare_by_dataset["imagenet"]
    print(f"WordNet: {len(unused_by_dataset['imagenet'])} of {len(parents)} classes unused by ImageNet-1k")


# --------------------------------------------------------------------------
# 4. COCO: categories with supercategories as the taxonomy


def test_coco_categories(tmp_path: Path) -> None:
    from labelsense.core.taxonomy import load_taxonomy

    src = real("coco-tiny")
    train = json.loads((src / "instances_train2017.json").read_text())
    val = json.loads((src / "instances_val2017.json").read_text())
    assert train["categories"] == val["categories"]
    cats = {c["id"]: c for c in train["categories"]}
    supers: dict[str, set[str]] = defaultdict(set)
    for c in cats.values():
        if c["supercategory"] != c["name"]:
            supers[c["supercategory"]].add(c["name"])
    names = {c["name"] for c in cats.values()}
    all_classes = names | {c["supercategory"] for c in cats.values()}
    assert (len(cats), len({c["supercategory"] for c in cats.values()}), len(all_classes)) == (80, 12, 91)

    root = tmp_path / "coco"
    root.mkdir()
    shutil.copyfile(src / "instances_train2017.json", root / "instances_train2017.json")
    tax = load_taxonomy(root / "instances_train2017.json")
    assert tax.problems == []
    assert set(tax.classes) == all_classes
    for sup, members in supers.items():
        assert not tax.is_leaf(sup) and set(tax.children[sup]) == members
    assert tax.is_leaf("person") and tax.classes["person"].parents == ()  # supercategory 'person' is itself

    manifests = {}
    for split, coco in (("train", train), ("val", val)):
        files = {img["id"]: img["file_name"] for img in coco["images"]}
        manifests[f"{split}.jsonl"] = [{"id": a["id"], "image": files[a["image_id"]], "label": cats[a["category_id"]]["name"]} for a in coco["annotations"]]
    assert len(manifests["train.jsonl"]) == 288 and len(manifests["val.jsonl"]) == 136
    manifests["val.jsonl"].insert(20, {"id": 900000001, "image": "000000999999.jpg", "label": "traffic cone"})
    manifests["val.jsonl"].append({"id": 900000002, "image": "000000999998.jpg", "label": "animal"})
    manifests["val.jsonl"].append({"id": 900000003, "image": "000000999997.jpg", "label": "person"})
    for name, data in manifests.items():
        write_jsonl(root / name, data)
    (root / "labelsense.toml").write_text(f"""
[[dataset]]
name = "coco"
manifests = ["*.jsonl"]
taxonomy = "instances_train2017.json"
leaves-only = true

[rules]
{SELECT}
""")
    findings = run_cli(root)

    rows = [make_row(name, i, obj, "id", "label", content="image") for name, data in manifests.items() for i, obj in enumerate(data, 1)]
    parents = {n: [c["supercategory"]] for c in cats.values() if (n := c["name"]) != c["supercategory"]}
    expected, unused, rare = expect_class_rules(rows, sorted(all_classes), parents, "instances_train2017.json", None)
    expected = without_taxonomy_lines(expected)
    expected += expect_key_rules(rows) + expect_content_rules(rows)  # one image, several objects: LS403
    expected += Counter((r["file"], r["line"], "LS303") for r in rows if r["labels"][0] in supers)
    got = Counter({k: n for k, n in where(findings).items() if k[2] not in ("LS312", "LS313")})
    assert got == expected
    assert [(f["path"], f["line"]) for f in findings if f["code"] == "LS301"] == [("val.jsonl", 21)]
    assert [(f["path"], f["line"]) for f in findings if f["code"] == "LS303"] == [("val.jsonl", 138)]
    # The COCO file is one line: a class is declared at its category's "name" (a supercategory
    # at its first "supercategory" mention), so taxonomy findings are told apart by column.
    text = (root / "instances_train2017.json").read_text("utf-8")
    start = text.index('"categories"')

    def column(key: str, value: str) -> int:
        return text.index(f'"{key}": {json.dumps(value)}', start) + len(f'"{key}": ') + 1

    declared = {n: column("name", n) for n in names} | {s: column("supercategory", s) for s in supers}
    on_taxonomy = Counter((f["code"], f["line"], f["column"]) for f in findings if f["path"] == "instances_train2017.json")
    assert on_taxonomy == Counter([("LS312", 1, declared[c]) for c in unused] + [("LS313", 1, declared[c]) for c in rare])
    assert not any(f["code"] == "LS404" for f in findings)  # train and val share no image and no id
    print(f"\nCOCO: {Counter(f['code'] for f in findings)}")


# --------------------------------------------------------------------------
# 5. Crowd votes: cleanlab's MTurk re-annotation of CIFAR-10 test errors, and CIFAR-10H

CIFAR10 = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def test_cleanlab_cifar10_mturk_votes(tmp_path: Path) -> None:
    items = json.loads(real("cleanlab-label-errors", "mturk", "cifar10_mturk.json").read_text())
    assert len(items) == 275 and sum(1 for it in items if it["mturk"]["guessed"] >= 3) == 18
    data = []
    for it in items:
        given, guessed, m = it["given_original_label_name"], it["our_guessed_label_name"], it["mturk"]
        votes = [given] * m["given"] + [guessed] * m["guessed"] + ["neither"] * m["neither"] + [[given, guessed]] * m["both"]
        data.append({"id": it["id"], "label": given, "votes": votes})
    root = tmp_path / "cifar10"
    root.mkdir()
    (root / "labels.txt").write_text("\n".join(CIFAR10) + "\n")
    write_jsonl(root / "test.jsonl", data)
    (root / "labelsense.toml").write_text(f'[[dataset]]\nname = "cifar10-mturk"\nmanifests = ["*.jsonl"]\ntaxonomy = "labels.txt"\n\n[rules]\nmin-agreement = 0.6\n{SELECT}\n')
    findings = run_engine(root)

    rows = [make_row("test.jsonl", i, obj, "id", "label", votes="votes") for i, obj in enumerate(data, 1)]
    expected, unused, rare = expect_class_rules(rows, CIFAR10, {}, "labels.txt", {c: i for i, c in enumerate(CIFAR10, 1)})
    expected += expect_votes(rows) + expect_key_rules(rows)
    assert where(findings) == expected
    low = by_code(findings, "LS405")
    assert len(low) == sum(1 for it in items if max(it["mturk"].values()) / sum(it["mturk"].values()) < 0.6)
    by_line = {r["line"]: r for r in rows}
    for (_, line), f in low.items():
        share, top, total, leaders = vote_share(by_line[line]["votes"])
        assert f"({top} of {total})" in f["message"]
        if len(leaders) > 1:
            assert "no majority" in f["message"]
        else:
            assert all(f"{x}" in f["message"] for x in (leaders[0] if isinstance(leaders[0], tuple) else [leaders[0]]))
    print(f"\ncleanlab CIFAR-10 MTurk: {len(low)} of {len(items)} candidates below 60% agreement")


def test_cifar10h_votes(tmp_path: Path) -> None:
    """CIFAR-10H: ~50 human votes for each of the 10,000 CIFAR-10 test images."""
    np = pytest.importorskip("numpy")
    counts = np.load(real("cifar-10h", "data", "cifar10h-counts.npy"))
    original = np.load(real("cleanlab-label-errors", "original_test_labels", "cifar10_test_set_original_labels.npy"))
    assert counts.shape == (10000, 10) and original.shape == (10000,)
    data = []
    for i, row in enumerate(counts.astype(int).tolist()):
        votes = [CIFAR10[k] for k, n in enumerate(row) for _ in range(n)]
        data.append({"id": i, "label": CIFAR10[int(original[i])], "votes": votes})
    root = tmp_path / "cifar10h"
    root.mkdir()
    (root / "labels.txt").write_text("\n".join(CIFAR10) + "\n")
    write_jsonl(root / "test.jsonl", data)
    (root / "labelsense.toml").write_text(f'[[dataset]]\nname = "cifar10h"\nmanifests = ["*.jsonl"]\ntaxonomy = "labels.txt"\n\n[rules]\nmin-agreement = 0.8\n{SELECT}\n')
    t = time.perf_counter()
    findings = run_engine(root)
    print(f"\nCIFAR-10H: {len(findings)} findings on 10,000 rows in {time.perf_counter() - t:.2f}s")
    share = counts.max(axis=1) / counts.sum(axis=1)
    expected = {("test.jsonl", i + 1, "LS405") for i in np.flatnonzero(share < 0.8).tolist()}
    assert len(expected) == 603  # the data README: 603 images with < 80% agreement
    assert set(where(findings)) == expected and len(findings) == len(expected)
