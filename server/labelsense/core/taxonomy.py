"""Class taxonomies: the declarations that labels refer to.

Reads the native format (`taxonomy.yaml` / `.json`: classes with parents, a DAG,
aliases and `exclusive` groups), `classes.txt` / `labels.txt`, and COCO
`categories`. Loading never raises on user data: problems (LS105, LS310,
LS311) come back with exact spans.
"""
from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Iterable

import numpy as np
import yaml
from rapidfuzz import fuzz, process

from .config import nearest
from .gcpause import paused_gc
from .types import Problem, Span

try:
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # PyYAML without libyaml
    _Loader = yaml.SafeLoader

TAXONOMY_NAMES = ("taxonomy.yaml", "taxonomy.yml", "taxonomy.json", "classes.txt", "labels.txt")


@dataclass(frozen=True, slots=True)
class ClassDef:
    """One declared class; `span` is where its name is declared."""

    name: str
    span: Span
    parents: tuple[str, ...] = ()
    parent_spans: tuple[Span, ...] = ()
    description: str = ""
    aliases: tuple[str, ...] = ()
    alias_spans: tuple[Span, ...] = ()
    deprecated: bool = False


@dataclass
class Taxonomy:
    """Classes by name, aliases, exclusive groups, and what could not be read."""

    path: str
    classes: dict[str, ClassDef] = field(default_factory=dict)
    exclusive: tuple[tuple[str, ...], ...] = ()
    exclusive_spans: tuple[Span, ...] = ()
    exclusive_member_spans: tuple[tuple[Span, ...], ...] = ()
    problems: list[Problem] = field(default_factory=list)

    @cached_property
    def occurrences(self) -> dict[int, list[tuple[Span, str, str]]]:
        """Every place a class name is written, by line: (span, kind, name) with kind
        `class` (its declaration), `parent`, `alias` or `exclusive`."""
        out: dict[int, list[tuple[Span, str, str]]] = {}

        def add(span: Span, kind: str, name: str) -> None:
            out.setdefault(span.line, []).append((span, kind, name))

        for c in self.classes.values():
            add(c.span, "class", c.name)
            for parent, span in zip(c.parents, c.parent_spans):
                add(span, "parent", parent)
            for alias, span in zip(c.aliases, c.alias_spans):
                add(span, "alias", alias)
        for group, spans in zip(self.exclusive, self.exclusive_member_spans):
            for name, span in zip(group, spans):
                add(span, "exclusive", name)
        return out

    def name_at(self, line: int, col: int) -> tuple[Span, str, str] | None:
        """The class name written at a position (see `occurrences`)."""
        for span, kind, name in self.occurrences.get(line, ()):
            if span.col <= col <= span.end_col:
                return span, kind, name
        return None

    def usages_of(self, name: str) -> list[tuple[Span, str]]:
        """Where the taxonomy writes `name` (declaration, parents, exclusive groups)."""
        return [(span, kind) for spans in self.occurrences.values() for span, kind, n in spans if n == name and kind != "alias"]

    @cached_property
    def aliases(self) -> dict[str, str]:
        """Alias → canonical class name."""
        return {alias: c.name for c in self.classes.values() for alias in c.aliases if alias not in self.classes}

    @cached_property
    def children(self) -> dict[str, tuple[str, ...]]:
        kids: dict[str, list[str]] = {}
        for c in self.classes.values():
            for p in c.parents:
                if p in self.classes and p != c.name:
                    kids.setdefault(p, []).append(c.name)
        return {k: tuple(v) for k, v in kids.items()}

    @cached_property
    def exclusive_of(self) -> dict[str, frozenset[int]]:
        """Class → indices of the exclusive groups it belongs to."""
        groups: dict[str, set[int]] = {}
        for i, group in enumerate(self.exclusive):
            for name in group:
                groups.setdefault(name, set()).add(i)
        return {k: frozenset(v) for k, v in groups.items()}

    @cached_property
    def folded_names(self) -> dict[str, str]:
        """Case/space/separator-folded name → class or alias name, for suggestions."""
        folded: dict[str, str] = {}
        for name in (*self.classes, *self.aliases):
            folded.setdefault(_folded(name), name)
        return folded

    def is_leaf(self, name: str) -> bool:
        return name not in self.children

    def ancestors(self, names: Iterable[str]) -> set[str]:
        """Every class above any of `names` (not the names themselves); safe on cycles."""
        seen: set[str] = set()
        queue = deque(names)
        while queue:
            for parent in self.classes[n].parents if (n := queue.popleft()) in self.classes else ():
                if parent not in seen:
                    seen.add(parent)
                    queue.append(parent)
        return seen

    def path_to_root(self, name: str) -> list[str]:
        """One path from a root down to `name` (the first parent at each step)."""
        path, seen = [name], {name}
        while (c := self.classes.get(path[0])) and c.parents and c.parents[0] not in seen:
            seen.add(c.parents[0])
            path.insert(0, c.parents[0])
        return path

    def resolve(self, label: str) -> str | None:
        """The class a label names: itself, or the canonical class of an alias."""
        return label if label in self.classes else self.aliases.get(label)


def find_taxonomy(root: Path) -> Path | None:
    """The nearest taxonomy file at or below `root`, shallowest first."""
    for depth_glob in ("", "*/", "*/*/"):
        for name in TAXONOMY_NAMES:
            found = sorted(root.glob(depth_glob + name))
            if found:
                return found[0]
    return None


def load_taxonomy(path: Path, text: str | None = None) -> Taxonomy:
    """Read a taxonomy file (or `text`, an unsaved buffer) of any supported format."""
    tax = Taxonomy(path=str(path))
    if text is None:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            tax.problems.append(Problem("LS105", Span(0, 0, 0, 0), f"cannot read taxonomy: {exc.strerror or exc}"))
            return tax
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            tax.problems.append(Problem("LS104", Span(0, 0, 0, 0), f"taxonomy is not UTF-8 ({exc.reason} at byte {exc.start})"))
            text = raw.decode("utf-8", errors="replace")
    with paused_gc():
        if path.suffix.lower() == ".txt":
            _read_lines(tax, text)
        else:
            _read_structured(tax, text)
        _check_parents(tax)
    return tax


def _read_lines(tax: Taxonomy, text: str) -> None:
    for lineno, raw in enumerate(text.split("\n")):
        name = raw.split("#", 1)[0].strip()
        if not name:
            continue
        col = raw.index(name)
        span = Span(lineno, col, lineno, col + len(name))
        if name in tax.classes:
            first = tax.classes[name].span
            tax.problems.append(Problem("LS310", span, f"class '{name}' is defined twice (first on line {first.line + 1})", extra={"first": first}))
        else:
            tax.classes[name] = ClassDef(name, span)


def _span(node: yaml.Node) -> Span:
    return Span(node.start_mark.line, node.start_mark.column, node.end_mark.line, node.end_mark.column)


def _read_structured(tax: Taxonomy, text: str) -> None:
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line, mark.column) if mark else (0, 0)
        try:  # JSON that YAML rejects (tabs, say): read it without positions
            data = json.loads(text)
        except ValueError:
            tax.problems.append(Problem("LS105", Span(line, col, line, col + 1), f"cannot parse taxonomy: {exc.problem or exc}"))
            return
        root = yaml.compose(json.dumps(data, indent=1), Loader=_Loader)
    except yaml.YAMLError as exc:
        tax.problems.append(Problem("LS105", Span(0, 0, 0, 0), f"cannot parse taxonomy: {exc}"))
        return
    if root is None:
        tax.problems.append(Problem("LS105", Span(0, 0, 0, 0), "taxonomy file is empty"))
        return
    if not isinstance(root, yaml.MappingNode):
        tax.problems.append(Problem("LS105", _span(root), "taxonomy must be a mapping with 'classes' (or a COCO file with 'categories')"))
        return
    top = {k.value: v for k, v in root.value if isinstance(k, yaml.ScalarNode)}
    if "categories" in top and "classes" not in top:
        _read_coco(tax, top["categories"])
        return
    for key, value in root.value:
        if key.value not in ("version", "classes", "exclusive"):
            tax.problems.append(Problem("LS105", _span(key), f"unknown taxonomy key '{key.value}'{nearest(str(key.value), ['version', 'classes', 'exclusive'])}"))
    classes = top.get("classes")
    if not isinstance(classes, yaml.MappingNode):
        tax.problems.append(Problem("LS105", _span(classes or root), "taxonomy needs a 'classes' mapping of class name → {parent, description, aliases}"))
        return
    for key, value in classes.value:
        _read_class(tax, key, value)
    _read_exclusive(tax, top.get("exclusive"))


def _scalar_list(node: yaml.Node | None) -> list[yaml.ScalarNode] | None:
    """A scalar or a flat list of scalars as nodes; None when it is neither."""
    if node is None:
        return []
    if isinstance(node, yaml.ScalarNode):
        return [] if node.tag.endswith(":null") else [node]
    if isinstance(node, yaml.SequenceNode) and all(isinstance(n, yaml.ScalarNode) for n in node.value):
        return list(node.value)
    return None


def _read_class(tax: Taxonomy, key: yaml.Node, value: yaml.Node) -> None:
    if not isinstance(key, yaml.ScalarNode):
        tax.problems.append(Problem("LS105", _span(key), "a class name must be a string"))
        return
    name, span = str(key.value), _span(key)
    fields: dict[str, yaml.Node] = {}
    if isinstance(value, yaml.MappingNode):
        for k, v in value.value:
            if k.value not in ("parent", "description", "aliases", "deprecated"):
                tax.problems.append(Problem("LS105", _span(k), f"unknown class key '{k.value}' in '{name}'{nearest(str(k.value), ['parent', 'description', 'aliases', 'deprecated'])}"))
            fields[k.value] = v
    elif not (isinstance(value, yaml.ScalarNode) and value.tag.endswith(":null")):
        tax.problems.append(Problem("LS105", _span(value), f"class '{name}' must be a mapping (parent, description, aliases) or empty"))
    parents = _scalar_list(fields.get("parent"))
    aliases = _scalar_list(fields.get("aliases"))
    for what, nodes in (("parent", parents), ("aliases", aliases)):
        if nodes is None:
            tax.problems.append(Problem("LS105", _span(fields[what]), f"'{what}' of '{name}' must be a name or a list of names"))
    description = fields.get("description")
    deprecated = fields.get("deprecated")
    definition = ClassDef(
        name=name,
        span=span,
        parents=tuple(str(n.value) for n in parents or ()),
        parent_spans=tuple(_span(n) for n in parents or ()),
        description=str(description.value) if isinstance(description, yaml.ScalarNode) else "",
        aliases=tuple(str(n.value) for n in aliases or ()),
        alias_spans=tuple(_span(n) for n in aliases or ()),
        deprecated=isinstance(deprecated, yaml.ScalarNode) and deprecated.value.lower() == "true",
    )
    if name in tax.classes:
        first = tax.classes[name].span
        tax.problems.append(Problem("LS310", span, f"class '{name}' is defined twice (first on line {first.line + 1})", extra={"first": first}))
        return
    tax.classes[name] = definition


def _read_exclusive(tax: Taxonomy, node: yaml.Node | None) -> None:
    if node is None:
        return
    if not isinstance(node, yaml.SequenceNode):
        tax.problems.append(Problem("LS105", _span(node), "'exclusive' must be a list of lists of class names"))
        return
    groups, spans, member_spans = [], [], []
    for group in node.value:
        names = _scalar_list(group) if isinstance(group, yaml.SequenceNode) else None
        if names is None:
            tax.problems.append(Problem("LS105", _span(group), "an exclusive group must be a list of class names"))
            continue
        for n in names:
            if n.value not in tax.classes:
                tax.problems.append(Problem("LS311", _span(n), f"exclusive group names unknown class '{n.value}'{nearest(str(n.value), list(tax.classes))}"))
        groups.append(tuple(str(n.value) for n in names))
        spans.append(_span(group))
        member_spans.append(tuple(_span(n) for n in names))
    tax.exclusive, tax.exclusive_spans, tax.exclusive_member_spans = tuple(groups), tuple(spans), tuple(member_spans)


def _read_coco(tax: Taxonomy, node: yaml.Node) -> None:
    if not isinstance(node, yaml.SequenceNode):
        tax.problems.append(Problem("LS105", _span(node), "'categories' must be a list"))
        return
    supers: dict[str, Span] = {}
    for item in node.value:
        fields = {k.value: v for k, v in item.value} if isinstance(item, yaml.MappingNode) else {}
        name_node = fields.get("name")
        if not isinstance(name_node, yaml.ScalarNode):
            tax.problems.append(Problem("LS105", _span(item), "a COCO category needs a 'name'"))
            continue
        name, span = str(name_node.value), _span(name_node)
        sup = fields.get("supercategory")
        parents = (str(sup.value),) if isinstance(sup, yaml.ScalarNode) and sup.value and sup.value != name else ()
        if parents:
            supers.setdefault(parents[0], _span(sup))
        if name in tax.classes:
            first = tax.classes[name].span
            tax.problems.append(Problem("LS310", span, f"class '{name}' is defined twice (first on line {first.line + 1})", extra={"first": first}))
            continue
        tax.classes[name] = ClassDef(name, span, parents=parents, parent_spans=(_span(sup),) if parents else ())
    for sup_name, span in supers.items():  # supercategories are the inner nodes
        tax.classes.setdefault(sup_name, ClassDef(sup_name, span, description="COCO supercategory"))


def _check_parents(tax: Taxonomy) -> None:
    """LS311: unknown parents and cycles (each cycle reported once, at one of its edges)."""
    names = list(tax.classes)
    for c in tax.classes.values():
        for parent, span in zip(c.parents, c.parent_spans):
            if parent not in tax.classes:
                tax.problems.append(Problem("LS311", span, f"class '{c.name}' has unknown parent '{parent}'{nearest(parent, names)}"))
    for component in _cycles(tax):
        members = set(component)
        for name in component:  # every class that is its own ancestor, at its edge into the cycle
            c = tax.classes[name]
            i = next(i for i, p in enumerate(c.parents) if p in members)
            loop = _loop(tax, name, members)
            tax.problems.append(Problem("LS311", c.parent_spans[i], f"cycle in the hierarchy: {' → '.join(loop)}"))


def _cycles(tax: Taxonomy) -> list[list[str]]:
    """Strongly connected components of the parent graph that contain a cycle (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    for root in tax.classes:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            parents = [p for p in tax.classes[node].parents if p in tax.classes]
            if i < len(parents):
                work.append((node, i + 1))
                p = parents[i]
                if p not in index:
                    work.append((p, 0))
                elif p in on_stack:
                    low[node] = min(low[node], index[p])
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    n = stack.pop()
                    on_stack.discard(n)
                    component.append(n)
                    if n == node:
                        break
                if len(component) > 1 or node in tax.classes[node].parents:
                    out.append(component[::-1])
            if work:
                parent_node = work[-1][0]
                low[parent_node] = min(low[parent_node], low[node])
    return out


def _loop(tax: Taxonomy, start: str, members: set[str]) -> list[str]:
    """A shortest path start → … → start through parents inside one cycle component."""
    previous: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for p in tax.classes[node].parents:
            if p == start:
                path = [node]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return [start, *reversed(path[:-1]), start] if node != start else [start, start]
            if p in members and p not in previous:
                previous[p] = node
                queue.append(p)
    return [start]

def _folded(name: str) -> str:
    return " ".join(name.replace("_", " ").replace("-", " ").split()).casefold()


def suggest(tax: Taxonomy, label: str) -> str | None:
    """The class a mistyped label most likely meant: same name up to case, spacing or
    separators, else the closest by edit distance (rapidfuzz); None when nothing is close."""
    return suggest_all(tax, [label])[label]


SCORES_AT_ONCE = 4_000_000  # label × class scores computed in one call (16 MB)


def suggest_all(tax: Taxonomy, labels: Iterable[str]) -> dict[str, str | None]:
    """`suggest` for each of `labels`, the edit distances scored many at a time."""
    folded = tax.folded_names
    out: dict[str, str | None] = {}
    fuzzy: list[str] = []
    for label in labels:
        target = _folded(label)
        if target in folded:
            out[label] = tax.resolve(folded[target])
        else:
            fuzzy.append(label)
    names = list(folded)
    step = max(1, SCORES_AT_ONCE // max(1, len(names)))
    for at in range(0, len(fuzzy) if names else 0, step):
        part = fuzzy[at : at + step]
        scores = process.cdist([_folded(x) for x in part], names, scorer=fuzz.ratio, score_cutoff=75, dtype=np.float32)
        best = scores.argmax(axis=1)  # the first of the best, as extractOne picks
        for label, i, row in zip(part, best.tolist(), scores):
            out[label] = tax.resolve(folded[names[i]]) if row[i] >= 75 else None
    for label in fuzzy:
        out.setdefault(label, None)
    return out
