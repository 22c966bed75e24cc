"""Generate a synthetic labelsense benchmark dataset with planted, counted problems.

    python benchmarks/generate.py --rows 1000000 --out DIR [--seed 0] [--format jsonl|parquet|both]

``--format jsonl`` writes ``DIR/data/train.jsonl``; ``--format parquet`` writes
``DIR/data/train.parquet`` (the same rows for the same seed); ``--format both``
writes two complete dataset dirs, ``DIR/jsonl`` and ``DIR/parquet``, so each is
checked on its own. Every dataset dir holds ``labelsense.toml``,
``taxonomy.yaml``, ``schemas/row.schema.json`` and ``expected.json`` (what was
planted, per rule code, with the 1-based line / row numbers involved).

Each planted problem uses its own base rows, so one planted kind maps to one
rule code. Schema-breaking rows use only kinds that Parquet can hold (a split
outside the enum, a bbox of 3 numbers, an upper-case sha256), so the JSONL and
Parquet copies are the same logical rows and should give the same findings.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

GENERATOR_VERSION = 1
GROUPS = (
    "animal vehicle plant food furniture tool clothing instrument building sport "
    "electronics container weather landscape person toy kitchenware signage medical material"
).split()
MIDS_PER_GROUP = 4
LEAVES = 900  # 20 groups + 80 mid-level classes + 900 leaves = 1000 classes
N_ALIASES = 50
N_MULTI_PARENT = 10
SPLITS = ("train", "val", "test")
SPLIT_P = (0.8, 0.1, 0.1)
N_ANNOTATORS = 20

# Planted problems, as a fraction of all rows.
RATES = {
    "conflicting_labels": 0.02,  # LS401: extra row, same id/annotator/split, other label, other image+hash
    "duplicate_row": 0.01,  # LS402: extra row, byte-identical copy
    "split_leakage": 0.005,  # LS404: extra row, same id/label/hash/image, another split
    "same_content": 0.005,  # LS403: a row takes another row's sha256 (same split) with another label
    "schema": 0.002,  # LS201
    "unknown_class": 0.003,  # LS301: typo of a real class (case, whitespace, swap, drop)
    "alias": 0.005,  # LS302: a deprecated alias of a class
}
CODES = {
    "conflicting_labels": "LS401",
    "duplicate_row": "LS402",
    "same_content": "LS403",
    "split_leakage": "LS404",
    "schema": "LS201",
    "unknown_class": "LS301",
    "alias": "LS302",
}
# Other codes that a planted kind also satisfies by DESIGN §3's wording: a key repeated with the
# same label in two splits is also "one key, same labels, repeated".
ALSO = {"split_leakage": ["LS402"]}
SCHEMA_KINDS = ("split-not-in-enum", "bbox-3-items", "sha256-uppercase")
TYPO_KINDS = ("capitalized", "upper", "trailing-space", "swap", "drop")


@dataclass
class Taxonomy:
    """The class hierarchy: leaves (used by rows), their top-level group, aliases."""

    classes: dict[str, dict[str, object]] = field(default_factory=dict)
    leaves: list[str] = field(default_factory=list)
    group_of: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)  # alias -> canonical
    exclusive: list[list[str]] = field(default_factory=list)

    def names(self) -> set[str]:
        """Every class name and alias."""
        return set(self.classes) | set(self.aliases)


def _words(rng: random.Random, n: int, taken: set[str]) -> list[str]:
    """``n`` unique pronounceable pseudo-words, none in ``taken`` (which is updated)."""
    cons, vows = "bdfgklmnprstvz", "aeiou"
    out: list[str] = []
    while len(out) < n:
        w = "".join(rng.choice(cons) + rng.choice(vows) for _ in range(rng.choice((3, 3, 4))))
        if w not in taken:
            taken.add(w)
            out.append(w)
    return out


def make_taxonomy() -> Taxonomy:
    """A fixed (seed-independent) 1000-class DAG with aliases and two exclusive groups."""
    rng = random.Random(1000)
    tax = Taxonomy()
    taken: set[str] = set(GROUPS)
    for g in GROUPS:
        tax.classes[g] = {"description": f"Top-level group {g}."}
    mids: list[tuple[str, str]] = []
    for g in GROUPS:
        for w in _words(rng, MIDS_PER_GROUP, taken):
            name = f"{g}_{w}"
            tax.classes[name] = {"parent": g, "description": f"A kind of {g}."}
            mids.append((name, g))
    for i, w in enumerate(_words(rng, LEAVES, taken)):
        mid, g = mids[i % len(mids)]
        tax.classes[w] = {"parent": mid}
        tax.leaves.append(w)
        tax.group_of[w] = g
    for w in rng.sample(tax.leaves, N_MULTI_PARENT):  # DAG: a second parent in another group
        other = next(m for m, g in rng.sample(mids, len(mids)) if g != tax.group_of[w])
        tax.classes[w]["parent"] = [tax.classes[w]["parent"], other]
    single = [w for w in tax.leaves if isinstance(tax.classes[w]["parent"], str)]
    for w, a in zip(rng.sample(single, N_ALIASES), _words(rng, N_ALIASES, taken)):
        alias = f"old_{a}"
        tax.classes[w]["aliases"] = [alias]
        tax.aliases[alias] = w
    by_mid: dict[str, list[str]] = {}
    for w in single:
        by_mid.setdefault(str(tax.classes[w]["parent"]), []).append(w)
    groups = [v for v in by_mid.values() if len(v) >= 3]
    tax.exclusive = [groups[0][:3], groups[len(groups) // 2][:2]]
    return tax


def _typo(rng: random.Random, label: str, kind_idx: int, names: set[str]) -> tuple[str, str]:
    """A misspelling of ``label`` that is no class or alias; returns (typo, kind)."""
    for k in range(len(TYPO_KINDS)):
        kind = TYPO_KINDS[(kind_idx + k) % len(TYPO_KINDS)]
        if kind == "capitalized":
            t = label[:1].upper() + label[1:]
        elif kind == "upper":
            t = label.upper()
        elif kind == "trailing-space":
            t = label + " "
        else:
            i = rng.randrange(1, len(label) - 1)
            t = label[:i] + label[i + 1] + label[i] + label[i + 2 :] if kind == "swap" else label[:i] + label[i + 1 :]
        if t != label and t not in names:
            return t, kind
    raise AssertionError(label)


@dataclass
class Rows:
    """The dataset as columns, in file order, plus the planted lines per kind."""

    id: list[str]
    image: list[str]
    label: list[str]
    annotator: list[str]
    split: list[str]
    bbox: list[list[int]]
    sha256: list[str]
    planted: dict[str, dict[str, object]]


def make_rows(n: int, seed: int, tax: Taxonomy) -> Rows:
    """``n`` rows with the problems of :data:`RATES` planted deterministically from ``seed``."""
    rng, nrng = random.Random(seed), np.random.default_rng(seed)
    cnt = {k: round(r * n) for k, r in RATES.items()}
    extra = cnt["conflicting_labels"] + cnt["duplicate_row"] + cnt["split_leakage"]
    base = n - extra
    need = extra + 2 * cnt["same_content"] + cnt["schema"] + cnt["unknown_class"] + cnt["alias"]
    if base < need:
        raise SystemExit(f"--rows {n} is too small to plant the problems")
    width = max(7, len(str(n)))
    ids = [f"{i:0{width}d}" for i in range(base)]
    image = [f"images/{i}.jpg" for i in ids]
    leaves = tax.leaves
    label = [leaves[i] for i in nrng.integers(0, len(leaves), base).tolist()]
    ann_names = [f"ann{i + 1:02d}" for i in range(N_ANNOTATORS)]
    annotator = [ann_names[i] for i in nrng.integers(0, N_ANNOTATORS, base).tolist()]
    split = [SPLITS[i] for i in nrng.choice(3, base, p=SPLIT_P).tolist()]
    xy = nrng.integers(0, 600, (base, 2))
    wh = nrng.integers(1, 400, (base, 2))
    bbox = np.concatenate([xy, wh], axis=1).tolist()
    hexes = nrng.bytes(32 * (base + extra)).hex()
    sha = [hexes[i * 64 : i * 64 + 64] for i in range(base)]
    fresh_sha = iter(hexes[i * 64 : i * 64 + 64] for i in range(base, base + extra))

    picks = iter(nrng.permutation(base)[:need].tolist())

    def take(k: int) -> list[int]:
        return [next(picks) for _ in range(k)]

    groups: dict[str, list[list[int]]] = {k: [] for k in RATES}
    details: dict[str, dict[str, int]] = {"schema": {}, "unknown_class": {}}

    def other_group_leaf(lab: str) -> str:
        g = tax.group_of[tax.aliases.get(lab, lab)]
        while True:
            w = leaves[rng.randrange(len(leaves))]
            if tax.group_of[w] != g:
                return w

    cols: dict[str, list] = {"id": ids, "image": image, "label": label, "annotator": annotator,  # type: ignore[type-arg]
                             "split": split, "bbox": bbox, "sha256": sha}

    def append(src: int, **over: str) -> int:
        """Append a copy of row ``src`` with some fields replaced; return its index."""
        for name, col in cols.items():
            col.append(over.get(name, list(col[src]) if name == "bbox" else col[src]))
        return len(ids) - 1

    for s in take(cnt["conflicting_labels"]):
        j = append(s, label=other_group_leaf(label[s]), image=f"images/{ids[s]}-b.jpg", sha256=next(fresh_sha))
        groups["conflicting_labels"].append([s, j])
    for s in take(cnt["duplicate_row"]):
        groups["duplicate_row"].append([s, append(s)])
    for s in take(cnt["split_leakage"]):
        j = append(s, split=rng.choice([x for x in SPLITS if x != split[s]]))
        groups["split_leakage"].append([s, j])
    for _ in range(cnt["same_content"]):
        s, r = take(2)
        sha[r], split[r], label[r] = sha[s], split[s], other_group_leaf(label[s])
        groups["same_content"].append([s, r])
    for i, r in enumerate(take(cnt["schema"])):
        kind = SCHEMA_KINDS[i % len(SCHEMA_KINDS)]
        if kind == "split-not-in-enum":
            split[r] = "training"
        elif kind == "bbox-3-items":
            bbox[r] = bbox[r][:3]
        else:
            sha[r] = sha[r].upper()
        details["schema"][kind] = details["schema"].get(kind, 0) + 1
        groups["schema"].append([r])
    names = tax.names()
    for i, r in enumerate(take(cnt["unknown_class"])):
        label[r], kind = _typo(rng, label[r], i, names)
        details["unknown_class"][kind] = details["unknown_class"].get(kind, 0) + 1
        groups["unknown_class"].append([r])
    alias_names = sorted(tax.aliases)
    for r in take(cnt["alias"]):
        label[r] = alias_names[rng.randrange(len(alias_names))]
        groups["alias"].append([r])
    assert len(ids) == n

    order = nrng.permutation(n)  # file position -> row
    line_of = np.empty(n, dtype=np.int64)
    line_of[order] = np.arange(1, n + 1)
    planted: dict[str, dict[str, object]] = {}
    for kind, gs in groups.items():
        lines = sorted(int(line_of[i]) for g in gs for i in g)
        planted[kind] = {"code": CODES[kind], "groups": len(gs), "rows": len(lines), "lines": lines}
        if kind in details:
            planted[kind]["kinds"] = details[kind]
        if kind in ALSO:
            planted[kind]["also"] = ALSO[kind]
    o = order.tolist()
    c = {k: [col[i] for i in o] for k, col in cols.items()}
    return Rows(c["id"], c["image"], c["label"], c["annotator"], c["split"], c["bbox"], c["sha256"], planted)


def row_schema() -> dict[str, object]:
    """JSON Schema (draft 2020-12) for one manifest row."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "labelsense benchmark row",
        "type": "object",
        "required": ["id", "label"],
        "properties": {
            "id": {"type": "string", "minLength": 1},
            "image": {"type": "string"},
            "label": {"type": "string"},
            "annotator": {"type": "string"},
            "split": {"enum": list(SPLITS)},
            "bbox": {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4},
            "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        },
    }


def taxonomy_yaml(tax: Taxonomy) -> str:
    """The taxonomy in labelsense's native YAML format (all names are plain YAML scalars)."""
    out = ["version: 1", "classes:"]
    for name, spec in tax.classes.items():
        if not spec:
            out.append(f"  {name}: {{}}")
            continue
        out.append(f"  {name}:")
        parent = spec.get("parent")
        if isinstance(parent, list):
            out.append(f"    parent: [{', '.join(parent)}]")
        elif parent:
            out.append(f"    parent: {parent}")
        if "description" in spec:
            out.append(f"    description: {spec['description']}")
        if "aliases" in spec:
            out.append(f"    aliases: [{', '.join(spec['aliases'])}]")  # type: ignore[arg-type]
    out.append("exclusive:")
    out += [f"  - [{', '.join(g)}]" for g in tax.exclusive]
    return "\n".join(out) + "\n"


def config_toml(manifest_glob: str) -> str:
    """``labelsense.toml`` for one dataset dir (only the glob of the manifests it holds)."""
    return (
        "[[dataset]]\n"
        'name = "bench"\n'
        f'manifests = ["{manifest_glob}"]\n'
        'taxonomy = "taxonomy.yaml"\n'
        'schema = "schemas/row.schema.json"\n'
        'key = "id"\n'
        'label = "label"\n'
        'media = "image"\n'
        "\n[rules]\n"
        'select = ["ALL"]\n'
        'ignore = ["LS5"]  # media rules: the benchmark has no media files\n'
    )


def write_jsonl(rows: Rows, path: Path) -> None:
    """Compact JSONL, one row a line, built as strings (labels and ids need no escaping)."""
    bb = ["[" + ",".join(map(str, b)) + "]" for b in rows.bbox]
    cols = zip(rows.id, rows.image, rows.label, rows.annotator, rows.split, bb, rows.sha256)
    with path.open("w", encoding="utf-8", newline="\n") as f:
        for chunk in iter(lambda: list(itertools.islice(cols, 100_000)), []):
            f.write("".join(
                f'{{"id":"{i}","image":"{im}","label":"{lb}","annotator":"{an}","split":"{sp}","bbox":{b},"sha256":"{h}"}}\n'
                for i, im, lb, an, sp, b, h in chunk
            ))


def write_parquet(rows: Rows, path: Path) -> None:
    """The same rows as Parquet: typed columns, snappy, row groups of 100k."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    s = pa.string()
    schema = pa.schema(
        [("id", s), ("image", s), ("label", s), ("annotator", s), ("split", s), ("bbox", pa.list_(pa.int64())), ("sha256", s)]
    )
    cols = [rows.id, rows.image, rows.label, rows.annotator, rows.split, rows.bbox, rows.sha256]
    table = pa.Table.from_arrays([pa.array(c, type=f.type) for c, f in zip(cols, schema)], schema=schema)
    pq.write_table(table, path, compression="snappy", row_group_size=100_000)


def write_dataset(rows: Rows, tax: Taxonomy, out: Path, fmt: str, seed: int) -> None:
    """One complete dataset dir holding ``data/train.<fmt>``."""
    (out / "data").mkdir(parents=True, exist_ok=True)
    (out / "schemas").mkdir(exist_ok=True)
    for stale in (out / "data").glob("train.*"):
        stale.unlink()
    (out / "labelsense.toml").write_text(config_toml(f"data/*.{fmt}"), encoding="utf-8")
    (out / "taxonomy.yaml").write_text(taxonomy_yaml(tax), encoding="utf-8")
    (out / "schemas" / "row.schema.json").write_text(json.dumps(row_schema(), indent=2) + "\n", encoding="utf-8")
    (write_jsonl if fmt == "jsonl" else write_parquet)(rows, out / "data" / f"train.{fmt}")
    (out / "expected.json").write_text(json.dumps(expected(rows, tax, seed, fmt)) + "\n", encoding="utf-8")


def expected(rows: Rows, tax: Taxonomy, seed: int, fmt: str) -> dict[str, object]:
    """What a correct check should find, per planted kind and per rule code."""
    used: dict[str, int] = {}
    for lb in rows.label:
        c = tax.aliases.get(lb, lb)
        used[c] = used.get(c, 0) + 1
    per_code = {str(p["code"]): int(p["rows"]) for p in rows.planted.values()}  # type: ignore[call-overload]
    for p in rows.planted.values():
        for code in p.get("also", []):  # type: ignore[attr-defined]
            per_code[code] += int(p["rows"])  # type: ignore[call-overload]
    return {
        "generator_version": GENERATOR_VERSION,
        "rows": len(rows.id),
        "seed": seed,
        "format": fmt,
        "manifest": f"data/train.{fmt}",
        "classes": len(tax.classes),
        "leaves": len(tax.leaves),
        "aliases": len(tax.aliases),
        "leaves_used": sum(1 for w in tax.leaves if w in used),
        "min_rows_per_used_leaf": min(used[w] for w in tax.leaves if w in used),
        "expected_findings": per_code,
        "notes": [
            "expected_findings assumes one diagnostic per involved row (planted + 'also' rows); for LS401-LS404 'groups' is the "
            "number of planted pairs and 'rows' = 2 x groups (the engine may flag only the repeat for LS402).",
            "Each planted kind uses its own base rows; nothing else is planted, so every other code should be 0 "
            "(LS312/LS313 depend on leaves_used / min_rows_per_used_leaf and the engine's threshold).",
            "LS404 pairs share id, label, image and sha256 (the key and the content leak): they are also LS402 "
            "(listed in planted.split_leakage.also), so LS402 = duplicate_row rows + split_leakage rows.",
            "LS401 pairs share id, annotator and split but not image or sha256, so they do not overlap LS403/LS404.",
            "LS403 pairs share sha256 and split, not id or image.",
            "Unknown labels are typos of the row's own class (see planted.unknown_class.kinds); alias rows carry a "
            "random alias of one of 50 aliased classes.",
            "line = JSONL line = Parquet row number, 1-based; the JSONL has no blank lines.",
        ],
        "planted": rows.planted,
    }


def parse_rows(text: str) -> int:
    """``--rows`` value: an integer, optionally with a k or m suffix (100k, 1m)."""
    t = text.strip().lower().replace("_", "")
    mult = {"k": 1_000, "m": 1_000_000}.get(t[-1:], 1)
    return int(float(t[:-1] if mult > 1 else t) * mult)


def generate(n: int, out: Path, seed: int = 0, fmt: str = "jsonl") -> dict[str, float]:
    """Write the dataset dir(s) and return the seconds spent per step."""
    t: dict[str, float] = {}
    t0 = time.perf_counter()
    gc.disable()  # millions of small objects, no cycles: the collector only costs time
    tax = make_taxonomy()
    rows = make_rows(n, seed, tax)
    t["rows"] = time.perf_counter() - t0
    fmts = ("jsonl", "parquet") if fmt == "both" else (fmt,)
    for f in fmts:
        t1 = time.perf_counter()
        write_dataset(rows, tax, out / f if fmt == "both" else out, f, seed)
        t[f] = time.perf_counter() - t1
    gc.enable()
    t["total"] = time.perf_counter() - t0
    return t


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=parse_rows, required=True, help="number of rows (e.g. 100000, 100k, 1m)")
    ap.add_argument("--out", type=Path, required=True, help="dataset dir to write")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--format", choices=("jsonl", "parquet", "both"), default="jsonl",
                    help="both writes OUT/jsonl and OUT/parquet")
    a = ap.parse_args(argv)
    t = generate(a.rows, a.out, a.seed, a.format)
    print(" ".join(f"{k}={v:.2f}s" for k, v in t.items()), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
