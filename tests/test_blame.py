"""Label blame: per-sample history from real git repositories built here, with
several authors and dates. Git runs without global or system config."""
from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from labelsense.core import blame as blame_mod, blamecache, gitrepo
from labelsense.core.blame import BlameError, LabelBlame, labels_text
from labelsense.core.linediff import changed_lines

ALICE = ("Alice Smith", "alice@example.com")
BOB = ("Bob Jones", "bob@example.org")
EVE = ("Ève Müller", "eve@example.net")


@pytest.fixture(autouse=True)
def git_isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No global/system git config, a private cache dir, fresh in-process caches."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(blame_mod, "_blamers", {})
    monkeypatch.setattr(blamecache.Store, "_open", {})


class Repo:
    """A git repository for a test: write files, commit as someone at a given day."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.day = 0
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str, who: tuple[str, str] = ALICE, day: int | None = None) -> str:
        date = f"2024-01-{(day if day is not None else self.day) + 1:02d}T10:00:00+01:00"
        env = dict(os.environ, GIT_AUTHOR_NAME=who[0], GIT_AUTHOR_EMAIL=who[1], GIT_AUTHOR_DATE=date,
                   GIT_COMMITTER_NAME=who[0], GIT_COMMITTER_EMAIL=who[1], GIT_COMMITTER_DATE=date)
        return subprocess.run(["git", *args], cwd=self.root, env=env, check=True, capture_output=True, text=True).stdout

    def write(self, name: str, content: Any) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith(".parquet") and isinstance(content, list):
            pq.write_table(pa.Table.from_pylist(content), path)
        elif isinstance(content, list):
            path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in content))
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", newline="")
        return path

    def commit(self, message: str, who: tuple[str, str] = ALICE) -> str:
        self.day += 1
        self.git("add", "-A", who=who)
        self.git("commit", "-q", "--allow-empty", "-m", message, who=who)
        return self.git("rev-parse", "HEAD").strip()


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return Repo(tmp_path / "repo")


def rows(*pairs: tuple[Any, Any], **extra: Any) -> list[dict[str, Any]]:
    return [{"id": k, "image": f"img/{k}.jpg", "label": v, **extra} for k, v in pairs]


def summary(blame: LabelBlame, key: Any, data: bytes | None = None) -> list[tuple[str, str, str, str]]:
    """(summary, author, previous, new) of each change, newest first."""
    history = blame.full_history(key, data)
    assert history.complete
    return [(c.summary, c.author, labels_text(c.previous), labels_text(c.labels)) for c in history.changes]


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "labelsense", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


# -- history semantics ------------------------------------------------------
def test_label_changes_newest_first_with_author_date_and_previous_labels(repo: Repo) -> None:
    f = repo.write("data/train.jsonl", rows(("a", "cat"), ("b", "dog"), ("c", "cow")))
    first = repo.commit("import", ALICE)
    repo.write("data/train.jsonl", rows(("a", "cat"), ("b", "wolf"), ("c", "cow")))
    second = repo.commit("b is a wolf", BOB)
    repo.write("data/train.jsonl", rows(("a", "lion"), ("b", "wolf"), ("c", "cow")))
    third = repo.commit("a is a lion", EVE)
    blame = LabelBlame(f)
    history = blame.full_history("b")
    assert [(c.commit, c.author, c.email, c.summary, c.previous, c.labels, c.kind) for c in history.changes] == [
        (second, "Bob Jones", "bob@example.org", "b is a wolf", (("dog",),), (("wolf",),), "changed"),
        (first, "Alice Smith", "alice@example.com", "import", (), (("dog",),), "added"),
    ]
    assert history.changes[0].date == "2024-01-03T10:00:00+01:00" and history.changes[0].time == 1704272400
    assert blame.last_change("a").commit == third and blame.last_change("a").author == "Ève Müller"
    assert blame.last_change("c").commit == first
    assert blame.last_change("nope") is None


def test_reformat_resort_reordered_keys_and_other_fields_are_not_label_changes(repo: Repo) -> None:
    base = rows(("a", "cat"), ("b", "dog"), ("c", "cow"), ("d", "pig"))
    f = repo.write("m.jsonl", base)
    first = repo.commit("import")
    repo.write("m.jsonl", "".join(json.dumps(r, indent=None, separators=(", ", ": ")) + "\n" for r in base))
    repo.commit("reformat: spaces", BOB)
    repo.write("m.jsonl", "".join(json.dumps(dict(reversed(list(r.items())))) + "\n" for r in base))
    repo.commit("reorder object keys", BOB)
    repo.write("m.jsonl", list(reversed(base)))
    repo.commit("sort rows descending", BOB)
    moved = [dict(r, image=r["image"].replace("img/", "pics/")) for r in base[2:] + base[:2]]
    repo.write("m.jsonl", moved)
    repo.commit("move images and rows", BOB)
    repo.write("m.jsonl", b"".join(orjson.dumps(r) + b"\r\n" for r in moved))
    repo.commit("crlf line ends", BOB)
    blame = LabelBlame(f)
    for key in "abcd":
        assert [c.commit for c in blame.full_history(key).changes] == [first]


def test_label_changed_and_changed_back_shows_both(repo: Repo) -> None:
    f = repo.write("m.jsonl", rows(("a", "cat"), ("b", "dog")))
    repo.commit("import")
    repo.write("m.jsonl", rows(("a", "dog"), ("b", "dog")))
    repo.commit("a: dog", BOB)
    repo.write("m.jsonl", rows(("a", "cat"), ("b", "dog")))
    repo.commit("a: back to cat", EVE)
    assert summary(LabelBlame(f), "a") == [("a: back to cat", "Ève Müller", "dog", "cat"), ("a: dog", "Bob Jones", "cat", "dog"),
                                           ("import", "Alice Smith", "(none)", "cat")]


def test_row_deleted_and_readded(repo: Repo) -> None:
    f = repo.write("m.jsonl", rows(("a", "cat"), ("b", "dog"), ("c", "cow")))
    repo.commit("import")
    repo.write("m.jsonl", rows(("a", "cat"), ("c", "cow")))
    repo.commit("drop b", BOB)
    repo.write("m.jsonl", rows(("a", "cat"), ("c", "cow"), ("b", "dog")))
    repo.commit("b is back", EVE)
    blame = LabelBlame(f)
    history = blame.full_history("b").changes
    assert [(c.summary, c.kind, labels_text(c.previous), labels_text(c.labels)) for c in history] == [
        ("b is back", "added", "(none)", "dog"), ("drop b", "removed", "dog", "(none)"), ("import", "added", "(none)", "dog")]


def test_file_deleted_and_recreated(repo: Repo) -> None:
    f = repo.write("m.jsonl", rows(("a", "cat")))
    repo.commit("import")
    f.unlink()
    repo.commit("remove the manifest", BOB)
    repo.write("m.jsonl", rows(("a", "dog")))
    repo.commit("new manifest", EVE)
    assert summary(LabelBlame(f), "a") == [("new manifest", "Ève Müller", "(none)", "dog"),
                                           ("remove the manifest", "Bob Jones", "cat", "(none)"), ("import", "Alice Smith", "(none)", "cat")]


def test_renames_are_followed(repo: Repo) -> None:
    repo.write("old/labels.jsonl", rows(("a", "cat"), ("b", "dog"), ("c", "cow"), ("d", "pig"), ("e", "hen")))
    repo.commit("import")
    repo.write("old/labels.jsonl", rows(("a", "lynx"), ("b", "dog"), ("c", "cow"), ("d", "pig"), ("e", "hen")))
    repo.commit("a: lynx", BOB)
    repo.git("mv", "old/labels.jsonl", "new name.jsonl")
    repo.commit("rename")
    f = repo.root / "new name.jsonl"
    f.write_text(f.read_text().replace('"pig"', '"boar"'))
    (repo.root / "final").mkdir()
    repo.git("mv", "new name.jsonl", "final/train.jsonl")
    repo.commit("rename and relabel d", EVE)
    f = repo.root / "final/train.jsonl"
    blame = LabelBlame(f)
    assert summary(blame, "a") == [("a: lynx", "Bob Jones", "cat", "lynx"), ("import", "Alice Smith", "(none)", "cat")]
    assert summary(blame, "d")[0] == ("rename and relabel d", "Ève Müller", "pig", "boar")
    history = blame.full_history("a").changes
    assert [c.path for c in history] == ["old/labels.jsonl", "old/labels.jsonl"]


def test_multi_label_lists_duplicate_rows_and_votes(repo: Repo) -> None:
    f = repo.write("m.jsonl", [{"id": "a", "labels": ["cat", "pet"]}, {"id": "v", "labels": ["dog"], "annotator": "x"},
                               {"id": "v", "labels": ["dog"], "annotator": "y"}])
    repo.commit("import")
    repo.write("m.jsonl", [{"id": "a", "labels": ["pet", "cat"]}, {"id": "v", "labels": ["dog"], "annotator": "x"},
                           {"id": "v", "labels": ["dog"], "annotator": "y"}])
    repo.commit("reorder a's labels", BOB)
    repo.write("m.jsonl", [{"id": "a", "labels": ["pet", "cat", "lynx"]}, {"id": "v", "labels": ["dog"], "annotator": "x"},
                           {"id": "v", "labels": ["wolf"], "annotator": "y"}])
    repo.commit("more labels; y says wolf", EVE)
    repo.write("m.jsonl", [{"id": "a", "labels": ["pet", "cat", "lynx"]}, {"id": "v", "labels": ["dog"], "annotator": "x"}])
    repo.commit("drop y's vote", BOB)
    blame = LabelBlame(f)
    assert summary(blame, "a") == [("more labels; y says wolf", "Ève Müller", "cat, pet", "cat, lynx, pet"),
                                   ("import", "Alice Smith", "(none)", "cat, pet")]
    assert summary(blame, "v") == [("drop y's vote", "Bob Jones", "wolf", "(none)"), ("more labels; y says wolf", "Ève Müller", "dog", "wolf"),
                                   ("import", "Alice Smith", "(none)", "dog | dog")]


def test_integer_keys_and_string_keys_are_different_samples(repo: Repo) -> None:
    f = repo.write("m.jsonl", [{"id": 1, "label": "cat"}, {"id": "1", "label": "dog"}])
    repo.commit("import")
    repo.write("m.jsonl", [{"id": 1, "label": "lynx"}, {"id": "1", "label": "dog"}])
    repo.commit("1: lynx", BOB)
    blame = LabelBlame(f)
    assert summary(blame, 1)[0] == ("1: lynx", "Bob Jones", "cat", "lynx")
    assert summary(blame, "1") == [("import", "Alice Smith", "(none)", "dog")]


def test_key_and_label_fields_from_the_dataset_config(repo: Repo) -> None:
    repo.write("labelsense.toml", '[[dataset]]\nname = "d"\nmanifests = ["*.jsonl"]\nkey = "uid"\nlabel = "class"\n')
    f = repo.write("m.jsonl", [{"uid": "u1", "id": "x", "class": "cat", "label": "ignored"}])
    repo.commit("import")
    repo.write("m.jsonl", [{"uid": "u1", "id": "x", "class": "dog", "label": "also ignored"}])
    repo.commit("u1: dog", BOB)
    blame = LabelBlame(f)
    assert summary(blame, "u1")[0] == ("u1: dog", "Bob Jones", "cat", "dog")
    assert blame.full_history("x").changes == ()


def test_merges_blame_the_branch_commit_and_conflict_resolutions_blame_the_merge(repo: Repo) -> None:
    f = repo.write("m.jsonl", rows(("a", "cat"), ("b", "dog"), ("c", "cow"), ("d", "pig"), ("e", "hen"), ("f", "eel"), ("g", "fox")))
    repo.commit("import")
    repo.git("checkout", "-q", "-b", "side")
    repo.write("m.jsonl", rows(("a", "lynx"), ("b", "dog"), ("c", "cow"), ("d", "pig"), ("e", "hen"), ("f", "eel"), ("g", "wolf")))
    side = repo.commit("side: a lynx, g wolf", BOB)
    repo.git("checkout", "-q", "main")
    repo.write("m.jsonl", rows(("a", "cat"), ("b", "dog"), ("c", "cow"), ("d", "pig"), ("e", "hen"), ("f", "eel"), ("g", "dog")))
    main = repo.commit("main: g dog", EVE)
    subprocess.run(["git", "merge", "-q", "--no-edit", "side"], cwd=repo.root, capture_output=True,
                   env=dict(os.environ, GIT_AUTHOR_NAME="M", GIT_AUTHOR_EMAIL="m@x", GIT_COMMITTER_NAME="M", GIT_COMMITTER_EMAIL="m@x"))
    repo.write("m.jsonl", rows(("a", "lynx"), ("b", "dog"), ("c", "cow"), ("d", "pig"), ("e", "hen"), ("f", "eel"), ("g", "coyote")))
    merge = repo.commit("merge side: g is a coyote", ALICE)
    blame = LabelBlame(f)
    assert [c.commit for c in blame.full_history("a").changes][0] == side
    g = blame.full_history("g").changes
    assert g[0].commit == merge and labels_text(g[0].previous) == "dog" and labels_text(g[0].labels) == "coyote"
    assert {c.commit for c in g[1:3]} == {side, main}
    assert [c.summary for c in blame.full_history("b").changes] == ["import"]
    assert [r.commit.sha for r in blame.rows()][:1] == [side] and [r.commit.summary for r in blame.rows()][6] == "merge side: g is a coyote"


def test_clean_merge_without_conflict(repo: Repo) -> None:
    f = repo.write("m.jsonl", rows(*[(f"k{i}", "cat") for i in range(12)]))
    repo.commit("import")
    repo.git("checkout", "-q", "-b", "side")
    repo.write("m.jsonl", rows(*[(f"k{i}", "dog" if i == 0 else "cat") for i in range(12)]))
    side = repo.commit("side: k0 dog", BOB)
    repo.git("checkout", "-q", "main")
    repo.write("m.jsonl", rows(*[(f"k{i}", "cow" if i == 11 else "cat") for i in range(12)]))
    main = repo.commit("main: k11 cow", EVE)
    repo.day += 1
    repo.git("merge", "-q", "--no-edit", "side")
    blame = LabelBlame(f)
    assert [c.commit for c in blame.full_history("k0").changes][0] == side
    assert [c.commit for c in blame.full_history("k11").changes][0] == main
    assert len(blame.full_history("k5").changes) == 1


def _merge_taking_side(repo: Repo, prepare: Any = None) -> tuple[Path, dict[str, str]]:
    """k2: cat (import) -> dog on side, fish on main; the merge resolves the conflict with side's dog."""
    f = repo.write("m.jsonl", rows(*[(f"k{i}", "cat") for i in range(20)]))
    shas = {"import": repo.commit("import")}
    repo.git("checkout", "-q", "-b", "side")
    repo.write("m.jsonl", rows(*[(f"k{i}", "dog" if i == 2 else "cat") for i in range(20)]))
    shas["side"] = repo.commit("side: k2 dog", BOB)
    repo.git("checkout", "-q", "main")
    repo.write("m.jsonl", rows(*[(f"k{i}", "fish" if i in (2, 15) else "cat") for i in range(20)]))
    shas["main"] = repo.commit("main: k2 fish, k15 fish", EVE)
    if prepare is not None:
        prepare(f)
    repo.day += 1
    subprocess.run(["git", "merge", "-q", "--no-edit", "side"], cwd=repo.root, capture_output=True,
                   env=dict(os.environ, GIT_AUTHOR_NAME="M", GIT_AUTHOR_EMAIL="m@x", GIT_COMMITTER_NAME="M", GIT_COMMITTER_EMAIL="m@x"))
    repo.write("m.jsonl", rows(*[(f"k{i}", "dog" if i == 2 else "fish" if i == 15 else "cat") for i in range(20)]))
    shas["merge"] = repo.commit("merge side (took side's k2)", ALICE)
    return f, shas


def test_merge_that_takes_one_parents_label_follows_that_parent_only(repo: Repo) -> None:
    f, shas = _merge_taking_side(repo)
    blame = LabelBlame(f)
    assert [c.commit for c in blame.full_history("k2").changes] == [shas["side"], shas["import"]]
    assert [c.commit for c in blame.full_history("k15").changes] == [shas["main"], shas["import"]]
    assert blame.last_change("k2").commit == shas["side"]
    by_key = {r.key: r.commit.sha for r in blame.rows()}
    assert by_key["k2"] == shas["side"] and by_key["k15"] == shas["main"] and by_key["k0"] == shas["import"]


def test_merge_answers_are_the_same_with_a_cold_and_a_warm_cache(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    warm_answers: dict[str, Any] = {}

    def index_before_the_merge(f: Path) -> None:  # the cached graph of main's HEAD is extended after the merge
        b = LabelBlame(f)
        list(b.rows())
        warm_answers["before"] = {k: b.full_history(k).changes for k in ("k2", "k15")}

    f, shas = _merge_taking_side(repo, index_before_the_merge)
    assert [c.commit for c in warm_answers["before"]["k2"]] == [shas["main"], shas["import"]]
    _restart(monkeypatch)
    warm = LabelBlame(f)
    warm_rows = [(r.key, r.commit.sha) for r in warm.rows()]
    warm_hist = {f"k{i}": warm.full_history(f"k{i}").changes for i in range(20)}
    assert warm.store.db.execute("SELECT COUNT(*) FROM logs WHERE path='m.jsonl'").fetchone()[0] == 2  # extended, not read again
    _restart(monkeypatch)
    shutil.rmtree(repo.root / ".git" / "labelsense")
    cold = LabelBlame(f)
    assert [(r.key, r.commit.sha) for r in cold.rows()] == warm_rows
    assert {f"k{i}": cold.full_history(f"k{i}").changes for i in range(20)} == warm_hist
    assert [c.commit for c in warm_hist["k2"]] == [shas["side"], shas["import"]]


def test_rename_on_a_merged_branch_keeps_both_branches_history(repo: Repo) -> None:
    repo.write("m.jsonl", rows(*[(f"k{i}", "cat") for i in range(40)]))
    first = repo.commit("import")
    repo.write("m.jsonl", rows(*[(f"k{i}", "emu" if i == 1 else "cat") for i in range(40)]))
    emu = repo.commit("k1 emu (before the branch)")
    repo.git("checkout", "-q", "-b", "side")
    repo.git("mv", "m.jsonl", "n.jsonl")
    repo.commit("side: rename to n.jsonl", BOB)
    repo.write("n.jsonl", rows(*[(f"k{i}", "emu" if i == 1 else "yak" if i == 30 else "cat") for i in range(40)]))
    yak = repo.commit("side: k30 yak", BOB)
    repo.git("checkout", "-q", "main")
    repo.write("m.jsonl", rows(*[(f"k{i}", "emu" if i == 1 else "dog" if i == 3 else "cat") for i in range(40)]))
    dog = repo.commit("main: k3 dog", EVE)
    repo.day += 1
    repo.git("merge", "-q", "--no-edit", "side")
    assert not (repo.root / "m.jsonl").exists() and '"k3","image":"img/k3.jpg","label":"dog"' in (repo.root / "n.jsonl").read_text()
    blame = LabelBlame(repo.root / "n.jsonl")
    k3 = blame.full_history("k3").changes
    assert [(c.commit, c.path) for c in k3] == [(dog, "m.jsonl"), (first, "m.jsonl")]
    assert [c.commit for c in blame.full_history("k30").changes] == [yak, first]
    assert [c.commit for c in blame.full_history("k1").changes] == [emu, first]
    assert all(len(blame.full_history(f"k{i}").changes) == 1 for i in (0, 2, 39))  # the rename itself is no change
    assert {r.key: r.commit.sha for r in blame.rows()}["k3"] == dog


def test_rename_and_reformat_in_one_commit_continues_the_history(repo: Repo) -> None:
    base = [(f"k{i}", "dog" if i == 3 else "cat") for i in range(50)]
    repo.write("m.jsonl", b"".join(orjson.dumps(r) + b"\n" for r in rows(*[(k, "cat") for k, _ in base])))
    first = repo.commit("import")
    repo.write("m.jsonl", b"".join(orjson.dumps(r) + b"\n" for r in rows(*base)))
    dog = repo.commit("k3 dog", BOB)
    repo.git("mv", "m.jsonl", "n.jsonl")
    f = repo.write("n.jsonl", "".join(json.dumps(r, indent=None) + "\n" for r in reversed(rows(*base))))  # below git's similarity
    repo.commit("rename + reformat + re-sort", EVE)
    assert "R" not in repo.git("show", "--format=", "--name-status", "-M", "HEAD")  # git sees a delete and an add
    blame = LabelBlame(f)
    assert [(c.commit, c.path) for c in blame.full_history("k3").changes] == [(dog, "m.jsonl"), (first, "m.jsonl")]
    assert [c.commit for c in blame.full_history("k7").changes] == [first]
    assert {r.commit.sha for r in blame.rows()} == {first, dog}
    other = repo.write("other.jsonl", rows(("zz", "cat")))  # an unrelated manifest added beside a deletion is not a rename
    repo.commit("add other")
    repo.git("rm", "-q", "n.jsonl")
    (repo.root / "elsewhere.jsonl").write_text(json.dumps({"id": "q", "label": "x"}) + "\n")
    repo.commit("swap files", BOB)
    assert [c.summary for c in LabelBlame(repo.root / "elsewhere.jsonl").full_history("q").changes] == ["swap files"]
    assert [c.summary for c in LabelBlame(other).full_history("zz").changes] == ["add other"]


def test_uncommitted_working_tree_and_unsaved_buffer(repo: Repo) -> None:
    f = repo.write("m.jsonl", rows(("a", "cat"), ("b", "dog")))
    first = repo.commit("import")
    blame = LabelBlame(f)
    assert blame.last_change("a").commit == first
    repo.write("m.jsonl", rows(("a", "cat"), ("b", "wolf")))
    change = blame.last_change("b")
    assert change.commit is None and not change.committed and change.author == "Not Committed Yet"
    assert labels_text(change.previous) == "dog" and labels_text(change.labels) == "wolf"
    assert "working tree" in change.summary and change.short == "00000000"
    assert [c.committed for c in blame.full_history("b").changes] == [False, True]
    buffer = b"".join(orjson.dumps(r) + b"\n" for r in rows(("a", "lion"), ("b", "dog")))
    assert blame.last_change("a", buffer, stamp="v1").summary == "unsaved changes in the editor"
    assert blame.last_change("b", buffer, stamp="v1").commit == first  # the buffer has b as committed
    f.write_bytes(b"".join(orjson.dumps(r) + b"\r\n" for r in rows(("a", "cat"), ("b", "dog"))))  # only line ends differ from HEAD
    assert blame.last_change("b").commit == first
    f.unlink()
    assert blame.last_change("a").kind == "removed"


def test_staged_new_file_and_empty_repository(repo: Repo) -> None:
    f = repo.write("m.jsonl", rows(("a", "cat")))
    repo.git("add", "m.jsonl")  # no commit at all yet
    blame = LabelBlame(f)
    change = blame.last_change("a")
    assert change.commit is None and change.kind == "added"
    assert [r.uncommitted for r in blame.rows()] == [True]


def test_parquet_history_compares_versions_by_key(repo: Repo) -> None:
    f = repo.write("data/train.parquet", [{"id": "a", "label": "cat"}, {"id": "b", "label": "dog"}, {"id": "c", "label": "cow"}])
    repo.commit("import")
    repo.write("data/train.parquet", [{"id": "c", "label": "cow"}, {"id": "b", "label": "dog"}, {"id": "a", "label": "cat"}])
    repo.commit("re-sort", BOB)
    pq.write_table(pa.Table.from_pylist([{"id": "c", "label": "cow"}, {"id": "b", "label": "wolf"}, {"id": "a", "label": "cat"}]), f,
                   compression="zstd", row_group_size=1)
    repo.commit("b: wolf, recompressed", EVE)
    repo.write("data/train.parquet", [{"id": "c", "label": "cow"}, {"id": "b", "label": "wolf"}])
    repo.commit("drop a", BOB)
    blame = LabelBlame(f)
    assert summary(blame, "b") == [("b: wolf, recompressed", "Ève Müller", "dog", "wolf"), ("import", "Alice Smith", "(none)", "dog")]
    assert summary(blame, "a") == [("drop a", "Bob Jones", "cat", "(none)"), ("import", "Alice Smith", "(none)", "cat")]
    assert summary(blame, "c") == [("import", "Alice Smith", "(none)", "cow")]
    assert blame.key_at(1) == "b"
    assert [(r.key, r.commit.summary) for r in blame.rows()] == [("c", "import"), ("b", "b: wolf, recompressed")]
    repo.write("data/train.parquet", [{"id": "c", "label": "calf"}, {"id": "b", "label": "wolf"}])
    assert blame.last_change("c").committed is False


def test_parquet_hugging_face_class_labels(repo: Repo) -> None:
    meta = {b"huggingface": json.dumps({"info": {"features": {"label": {"_type": "ClassLabel", "names": ["neg", "pos"]}}}}).encode()}
    table = pa.table({"id": ["a", "b"], "label": [0, 1]}).replace_schema_metadata(meta)
    f = repo.root / "reviews.parquet"
    pq.write_table(table, f)
    repo.commit("import")
    pq.write_table(pa.table({"id": ["a", "b"], "label": [1, 1]}).replace_schema_metadata(meta), f)
    repo.commit("a: pos", BOB)
    assert summary(LabelBlame(f), "a")[0] == ("a: pos", "Bob Jones", "neg", "pos")


def test_paths_with_spaces_and_non_ascii(repo: Repo) -> None:
    f = repo.write("données annotées/été 2024 [v2] *.jsonl", rows(("a", "chat"), ("b", "chien")))
    repo.commit("import")
    repo.write("données annotées/été 2024 [v2] *.jsonl", rows(("a", "chat"), ("b", "loup")))
    repo.commit("b: loup", EVE)
    repo.write("données annotées/été 2024 [v2] x.jsonl", rows(("a", "decoy")))  # would match the glob
    repo.commit("decoy")
    blame = LabelBlame(f)
    assert summary(blame, "b") == [("b: loup", "Ève Müller", "chien", "loup"), ("import", "Alice Smith", "(none)", "chien")]
    assert summary(blame, "a") == [("import", "Alice Smith", "(none)", "chat")]
    dash = repo.write("-n1.jsonl", rows(("a", "x")))
    repo.commit("a file whose name looks like an option")
    assert summary(LabelBlame(dash), "a") == [("a file whose name looks like an option", "Alice Smith", "(none)", "x")]


SPECIAL_KEYS = ["--all", "HEAD~1", ":/x", "-n1", "HEAD", "@{-1}", "$(touch pwned)", "; rm -rf /", "x\ny", "--output=/tmp/pwned", "\0weird"]


def test_keys_with_git_special_text_never_reach_git(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    f = repo.write("m.jsonl", rows(*[(k, "cat") for k in SPECIAL_KEYS]))
    repo.commit("import")
    repo.write("m.jsonl", rows(*[(k, "dog") for k in SPECIAL_KEYS]))
    repo.commit("all dogs", BOB)
    calls: list[list[str]] = []
    real_run, real_popen = subprocess.run, subprocess.Popen

    def spy_run(args: Any, *a: Any, **kw: Any) -> Any:
        calls.append(list(args))
        return real_run(args, *a, **kw)

    class SpyPopen(real_popen):  # type: ignore[misc, valid-type]
        def __init__(self, args: Any, *a: Any, **kw: Any) -> None:
            calls.append(list(args))
            super().__init__(args, *a, **kw)

    monkeypatch.setattr(gitrepo.subprocess, "run", spy_run)
    monkeypatch.setattr(gitrepo.subprocess, "Popen", SpyPopen)
    blame = LabelBlame(f)
    for key in SPECIAL_KEYS:
        assert summary(blame, key) == [("all dogs", "Bob Jones", "cat", "dog"), ("import", "Alice Smith", "(none)", "cat")], key
    assert calls and all(c[0] == "git" for c in calls)
    for c in calls:
        assert not any(k in arg for k in SPECIAL_KEYS if k not in ("HEAD", "-n1") for arg in c), c
        if "m.jsonl" in c:
            assert c.index("--") == len(c) - 2, c  # the path comes after `--`
    assert not (repo.root / "pwned").exists() and not Path("/tmp/pwned").exists()


# -- clear messages ---------------------------------------------------------
def test_not_a_repository(tmp_path: Path) -> None:
    f = tmp_path / "plain" / "m.jsonl"
    f.parent.mkdir()
    f.write_text('{"id": "a", "label": "cat"}\n')
    with pytest.raises(BlameError) as err:
        LabelBlame(f)
    assert err.value.kind == "not-a-repo" and "not in a git repository" in str(err.value) and str(f) in str(err.value)


def test_untracked_and_ignored_files(repo: Repo) -> None:
    repo.write("tracked.jsonl", rows(("a", "cat")))
    repo.write(".gitignore", "ignored.jsonl\n")
    repo.commit("import")
    for name in ("new.jsonl", "ignored.jsonl"):
        f = repo.write(name, rows(("a", "cat")))
        with pytest.raises(BlameError) as err:
            LabelBlame(f).last_change("a")
        assert err.value.kind == "untracked" and "not tracked by git" in err.value.message


def test_shallow_clone(repo: Repo, tmp_path: Path) -> None:
    repo.write("m.jsonl", rows(("a", "cat")))
    repo.commit("import")
    repo.write("m.jsonl", rows(("a", "dog")))
    repo.commit("a: dog")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--depth", "1", (repo.root).as_uri(), str(clone)], check=True, capture_output=True)
    with pytest.raises(BlameError) as err:
        LabelBlame(clone / "m.jsonl")
    assert err.value.kind == "shallow" and "shallow clone" in err.value.message and "--unshallow" in err.value.message


def test_no_git_program(repo: Repo, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    f = repo.write("m.jsonl", rows(("a", "cat")))
    repo.commit("import")
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(BlameError) as err:
        LabelBlame(f)
    assert err.value.kind == "no-git" and "git" in err.value.message


def test_git_lfs_pointer_files(repo: Repo) -> None:
    f = repo.write("m.parquet", b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"0" * 64 + b"\nsize 12\n")
    repo.commit("lfs")
    with pytest.raises(BlameError) as err:
        LabelBlame(f).full_history("a")
    assert err.value.kind == "lfs"


# -- cache ----------------------------------------------------------------------
def _restart(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(blame_mod, "_blamers", {})
    monkeypatch.setattr(blamecache.Store, "_open", {})


def test_cache_is_persisted_under_git_and_survives_restarts(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    f = repo.write("m.jsonl", rows(*[(f"k{i}", "cat") for i in range(50)]))
    repo.commit("import")
    for n in range(3):
        repo.write("m.jsonl", rows(*[(f"k{i}", "dog" if i <= n else "cat") for i in range(50)]))
        repo.commit(f"change {n}", BOB)
    expected = summary(LabelBlame(f), "k1")
    assert (repo.root / ".git" / "labelsense" / "blame.sqlite").is_file()
    _restart(monkeypatch)

    def no_blobs(*args: Any, **kw: Any) -> Any:
        raise AssertionError("a cached answer must not read blobs")

    monkeypatch.setattr(gitrepo.Repo, "blobs", no_blobs)
    assert summary(LabelBlame(f), "k1") == expected


def test_index_updated_incrementally_when_head_moves(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    f = repo.write("m.jsonl", rows(*[(f"k{i}", "cat") for i in range(20)]))
    repo.commit("import")
    repo.write("m.jsonl", rows(*[(f"k{i}", "dog" if i == 3 else "cat") for i in range(20)]))
    repo.commit("k3 dog", BOB)
    blame = LabelBlame(f)
    assert summary(blame, "k3")[0][0] == "k3 dog"
    fetched: list[list[str]] = []
    real = gitrepo.Repo.blobs

    def spy(self: gitrepo.Repo, ids: Any, *a: Any, **kw: Any) -> Any:
        ids = list(ids)
        fetched.append(ids)
        return real(self, ids, *a, **kw)

    monkeypatch.setattr(gitrepo.Repo, "blobs", spy)
    repo.write("m.jsonl", rows(*[(f"k{i}", "dog" if i in (3, 7) else "cat") for i in range(20)]))
    repo.commit("k7 dog", EVE)
    assert summary(blame, "k7")[0] == ("k7 dog", "Ève Müller", "cat", "dog")
    assert sum(len(ids) for ids in fetched) <= 2  # only the new version pair (HEAD may come from the file)
    logs = blame.store.db.execute("SELECT COUNT(*) FROM logs WHERE path='m.jsonl'").fetchone()[0]
    assert logs == 2


def test_cache_falls_back_to_the_user_cache_dir(repo: Repo, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    f = repo.write("m.jsonl", rows(("a", "cat")))
    repo.commit("import")
    real = blamecache._writable_dir
    monkeypatch.setattr(blamecache, "_writable_dir", lambda d: False if ".git" in d.parts else real(d))
    blame = LabelBlame(f)
    assert blame.store.path is not None and str(blame.store.path).startswith(str(tmp_path / "xdg-cache"))
    assert summary(blame, "a") == [("import", "Alice Smith", "(none)", "cat")]


def test_corrupt_cache_is_rebuilt(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    f = repo.write("m.jsonl", rows(("a", "cat")))
    repo.commit("import")
    cache = repo.root / ".git" / "labelsense" / "blame.sqlite"
    cache.parent.mkdir(parents=True)
    cache.write_bytes(b"this is not a database" * 100)
    assert summary(LabelBlame(f), "a") == [("import", "Alice Smith", "(none)", "cat")]


def test_corrupt_pages_in_a_working_cache_are_rebuilt(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlite3

    f = repo.write("m.jsonl", rows(("a", "cat")))
    repo.commit("import")
    repo.write("m.jsonl", rows(("a", "dog")))
    repo.commit("a: dog", BOB)
    expected = summary(LabelBlame(f), "a")
    _restart(monkeypatch)
    cache = repo.root / ".git" / "labelsense" / "blame.sqlite"
    db = sqlite3.connect(cache)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    root = dict(db.execute("SELECT name, rootpage FROM sqlite_master").fetchall())["events"]
    page = db.execute("PRAGMA page_size").fetchone()[0]
    db.close()
    data = bytearray(cache.read_bytes())
    data[page * (root - 1) : page * root] = random.Random(4).randbytes(page)  # the events table is garbage now
    cache.write_bytes(bytes(data))
    for _ in range(2):  # the answer is right the first time, and the cache works again afterwards
        assert summary(LabelBlame(f), "a") == expected
        _restart(monkeypatch)
    assert sqlite3.connect(cache).execute("PRAGMA quick_check").fetchone()[0] == "ok"
    result = run_cli("blame", str(f), "--key", "a", cwd=repo.root)
    assert result.returncode == 0 and "Traceback" not in result.stderr


def test_a_locked_cache_is_never_taken_for_a_corrupt_one(repo: Repo, tmp_path: Path) -> None:
    import sqlite3

    assert blamecache.is_busy(sqlite3.OperationalError("database is locked"))
    assert not blamecache.is_corrupt(sqlite3.OperationalError("database is locked"))
    assert not blamecache.is_corrupt(sqlite3.OperationalError("database table is locked"))
    assert blamecache.is_corrupt(sqlite3.DatabaseError("database disk image is malformed"))
    assert blamecache.is_corrupt(sqlite3.DatabaseError("file is not a database"))
    store = blamecache.Store(tmp_path / "live.sqlite")
    store.save_log("m.jsonl", "h", "s", [])
    generation = store.generation

    def locked(db: Any) -> Any:
        raise sqlite3.OperationalError("database is locked")

    with pytest.raises(BlameError) as err:
        store._run(locked)
    assert err.value.kind == "cache" and "locked" in err.value.message
    assert store.generation == generation and store.path == tmp_path / "live.sqlite"
    assert store.load_log("m.jsonl", "h", "s") == []  # the file and its data are still there
    calls = []

    def corrupt_once(db: Any) -> Any:
        calls.append(db)
        if len(calls) == 1:
            raise sqlite3.DatabaseError("database disk image is malformed")
        return "ok"

    assert store._run(corrupt_once) == "ok" and store.generation == generation + 1
    assert store.load_log("m.jsonl", "h", "s") == []  # quick_check said the file is fine: it was kept


def test_first_answer_needs_only_the_newest_versions(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    f = repo.write("m.jsonl", rows(*[(f"k{i}", "cat") for i in range(30)]))
    repo.commit("import")
    for n in range(10):
        repo.write("m.jsonl", rows(*[(f"k{i}", "dog" if i <= n else "cat") for i in range(30)]))
        repo.commit(f"change {n}", BOB)
    blame = LabelBlame(f)
    change = blame.last_change("k9")
    assert change.summary == "change 9"
    assert not blame.snapshot().complete and blame.snapshot().done <= 2
    assert blame.last_change("k0").summary == "change 0"
    assert blame.full_history("k0").complete


def test_head_copy_from_the_work_tree_is_checked_by_blob_id(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    f = repo.write("m.jsonl", rows(("a", "cat"), ("b", "cow")))
    first = repo.commit("import")
    repo.write("m.jsonl", rows(("a", "dog"), ("b", "cow")))
    second = repo.commit("a: dog", BOB)
    repo.write("m.jsonl", rows(("a", "emu"), ("b", "cow")))  # same size as HEAD's version, not HEAD's version
    blame = LabelBlame(f)
    monkeypatch.setattr(blame.repo, "clean", lambda *a: True)  # as if a filter or a racing write fooled git's stat cache
    history = blame.full_history("a").changes
    assert [(c.commit, labels_text(c.previous), labels_text(c.labels)) for c in history] == [
        (second, "cat", "dog"), (first, "(none)", "cat")]


def test_packed_repository_gives_the_same_history(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    f = repo.write("m.jsonl", rows(*[(f"k{i}", "cat") for i in range(40)]))
    repo.commit("import")
    for n in range(4):
        repo.write("m.jsonl", rows(*[(f"k{i}", "dog" if i % 4 == n else "cat") for i in range(40)]))
        repo.commit(f"change {n}", BOB if n % 2 else EVE)
    loose = {k: summary(LabelBlame(f), k) for k in ("k0", "k1", "k5")}
    repo.git("gc", "-q", "--aggressive")  # every version now in a pack, as deltas
    assert not any((repo.root / ".git" / "objects").glob("??/*"))
    _restart(monkeypatch)
    shutil.rmtree(repo.root / ".git" / "labelsense")
    assert {k: summary(LabelBlame(f), k) for k in loose} == loose


def test_loose_objects_read_in_process_match_git(repo: Repo) -> None:
    f = repo.write("m.jsonl", rows(*[(f"k{i}", "cat") for i in range(1000)]))
    repo.commit("import")
    repo.write("m.jsonl", rows(*[(f"k{i}", "dog") for i in range(1000)]))
    repo.commit("all dogs")
    blame = LabelBlame(f)
    ids = [d.new for c in blame.snapshot().commits for d in c.diffs]
    with blame.repo.blobs(ids, f, workers=2) as stream:
        inflated = list(stream)
    stream = blame.repo.blobs(ids, f)
    stream.objects = None  # force `git cat-file --batch`
    with stream:
        from_git = list(stream)
    assert inflated == from_git and all(len(data) > 10_000 for _, data in inflated)


# -- the line diff ------------------------------------------------------------------
def _lines(data: bytes) -> list[bytes]:
    out = data.split(b"\n")
    if out and out[-1] == b"":
        out.pop()
    return [x.rstrip(b"\r") for x in out]


@pytest.mark.parametrize("seed", range(4))
def test_changed_lines_is_an_exact_multiset_difference(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from labelsense.core import linediff

    rng = random.Random(seed)
    if seed % 2:  # tiny windows exercise every resync path
        monkeypatch.setattr(linediff, "PROBE", 8)
        monkeypatch.setattr(linediff, "GALLOP", 2)
        monkeypatch.setattr(linediff, "SEARCH", 64)
        monkeypatch.setattr(linediff, "MAX_STREAK", 3)
    for _ in range(400):
        a = [b"row%d" % rng.randrange(8) for _ in range(rng.randrange(30))]
        b = list(a)
        for _ in range(rng.randrange(6)):
            op = rng.randrange(5)
            if op == 0 and b:
                b[rng.randrange(len(b))] = b"x%d" % rng.randrange(5)
            elif op == 1:
                b.insert(rng.randrange(len(b) + 1), b"n%d" % rng.randrange(5))
            elif op == 2 and b:
                del b[rng.randrange(len(b))]
            elif op == 3 and len(b) > 1:
                i, j = rng.randrange(len(b)), rng.randrange(len(b))
                b[i], b[j] = b[j], b[i]
            elif op == 4:
                b = [x + b" " for x in b]
        end_a, end_b = rng.choice([b"\n", b"\r\n"]), rng.choice([b"\n", b"\r\n"])
        A = end_a.join(a) + (end_a if a and rng.random() < 0.7 else b"")
        B = end_b.join(b) + (end_b if b and rng.random() < 0.7 else b"")
        removed, added = changed_lines(A, B)
        ca, cb = Counter(_lines(A)), Counter(_lines(B))
        assert Counter(removed) == ca - cb and Counter(added) == cb - ca, (A, B)


def test_changed_lines_on_a_big_file_with_scattered_edits() -> None:
    rng = random.Random(7)
    a = [b'{"id":"%07d","label":"c%d"}' % (i, rng.randrange(50)) for i in range(200_000)]
    b = list(a)
    for i in rng.sample(range(len(b)), 300):
        b[i] = b[i].replace(b'"label":"', b'"label":"z')
    b.insert(5000, b'{"id":"new","label":"x"}')
    del b[100_000:100_010]
    removed, added = changed_lines(b"\n".join(a) + b"\n", b"\n".join(b) + b"\n")
    assert len(added) == 301 and len(removed) == 310


# -- command line -----------------------------------------------------------------
def _cli_repo(repo: Repo) -> Path:
    f = repo.write("data/my train.jsonl", rows(("a", "cat"), ("b", "dog"), ("--all", "cow")))
    repo.commit("import", ALICE)
    repo.write("data/my train.jsonl", rows(("a", "cat"), ("b", "wolf"), ("--all", "cow")))
    repo.commit("b: wolf", BOB)
    return f


def test_cli_blame_key_text_and_json(repo: Repo) -> None:
    f = _cli_repo(repo)
    result = run_cli("blame", str(f), "--key", "b", cwd=repo.root)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == 'data/my train.jsonl: key "b" — 2 label changes'
    assert "Bob Jones <bob@example.org>  b: wolf" in lines[1] and lines[2].strip() == "dog → wolf"
    assert "Alice Smith" in lines[3] and "(none) → dog  (row added)" in lines[4]
    result = run_cli("blame", "data/my train.jsonl", "--key=--all", "--format", "json", cwd=repo.root)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["key"] == "--all" and data["complete"] and [c["summary"] for c in data["history"]] == ["import"]
    assert set(data["history"][0]) >= {"commit", "author", "email", "date", "summary", "previous", "labels"}


def test_cli_blame_line_and_whole_file(repo: Repo) -> None:
    f = _cli_repo(repo)
    result = run_cli("blame", str(f), "--line", "2", "--format", "json", cwd=repo.root)
    assert result.returncode == 0 and json.loads(result.stdout)["history"][0]["labels"] == [["wolf"]]
    f.write_text(f.read_text().replace('"cow"', '"calf"'))
    result = run_cli("blame", str(f), cwd=repo.root)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    sha = {s: repo.git("log", "--format=%H", f"--grep={s}").strip()[:8] for s in ("import", "b: wolf")}
    assert lines[0].startswith(sha["import"] + " (Alice Smith") and lines[0].endswith(' 1) "a" cat')
    assert lines[1].startswith(sha["b: wolf"] + " (Bob Jones") and lines[1].endswith('2) "b" wolf')
    assert lines[2].startswith("00000000 (Not Committed Yet") and lines[2].endswith('3) "--all" calf')
    result = run_cli("blame", str(f), "--format", "json", cwd=repo.root)
    objs = [json.loads(x) for x in result.stdout.splitlines()]
    assert [(o["line"], o["key"], o["author"], o["committed"]) for o in objs] == [(1, "a", "Alice Smith", True), (2, "b", "Bob Jones", True),
                                                                                  (3, "--all", "Not Committed Yet", False)]


def test_cli_blame_errors_exit_2_naming_the_file(repo: Repo, tmp_path: Path) -> None:
    f = _cli_repo(repo)
    plain = tmp_path / "plain.jsonl"
    plain.write_text('{"id": "a", "label": "cat"}\n')
    for args, words in [((str(plain), "--key", "a"), ["plain.jsonl", "not in a git repository"]),
                        ((str(f), "--key", "zzz"), ["my train.jsonl", "no sample with key 'zzz'"]),
                        ((str(f), "--line", "99"), ["my train.jsonl", "line 99 is past the end"]),
                        ((str(tmp_path / "missing.jsonl"),), ["missing.jsonl", "no such file"])]:
        result = run_cli("blame", *args, cwd=repo.root)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert all(w in result.stderr for w in words), result.stderr
        assert "Traceback" not in result.stderr
    untracked = repo.write("data/new.jsonl", rows(("a", "cat")))
    result = run_cli("blame", str(untracked), cwd=repo.root)
    assert result.returncode == 2 and "not tracked by git" in result.stderr


def test_cli_numeric_key(repo: Repo) -> None:
    f = repo.write("m.jsonl", [{"id": 7, "label": "cat"}])
    repo.commit("import")
    result = run_cli("blame", str(f), "--key", "7", "--format", "json", cwd=repo.root)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["key"] == 7



def test_keys_beyond_64_bits(repo: Repo) -> None:
    big = 123456789012345678901234567890
    f = repo.write("m.jsonl", f'{{"id":{big},"label":"cat"}}\n{{"id":7,"label":"cat"}}\n')
    first = repo.commit("import")
    repo.write("m.jsonl", f'{{"id":{big},"label":"dog"}}\n{{"id":7,"label":"cat"}}\n')
    second = repo.commit("big: dog", BOB)
    blame = LabelBlame(f)
    assert [c.commit for c in blame.full_history(big).changes] == [second, first]
    assert blame.full_history(float(big)).changes == ()  # an integer key is not a float key
    assert blame.key_at(0) == big and type(blame.key_at(0)) is int
    assert blame_mod.row_key(f'{{"id":{big},"label":"dog"}}', blame.spec) == big
    assert blame_mod.key_text(big) == str(big) and blame_mod.key_json(big) == "\0" + str(big)
    for args in (["--key", str(big)], ["--line", "1"]):
        result = run_cli("blame", str(f), *args, cwd=repo.root)
        assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
        assert result.stdout.splitlines()[0] == f"m.jsonl: key {big} — 2 label changes"
        result = run_cli("blame", str(f), *args, "--format", "json", cwd=repo.root)
        assert result.returncode == 0 and json.loads(result.stdout)["key"] == big
    result = run_cli("blame", str(f), cwd=repo.root)
    assert result.returncode == 0 and result.stdout.splitlines()[0].endswith(f"1) {big} dog"), result.stderr
    result = run_cli("blame", str(f), "--format", "json", cwd=repo.root)
    assert result.returncode == 0 and json.loads(result.stdout.splitlines()[0])["key"] == big


def test_cli_refuses_files_that_are_not_manifests(repo: Repo) -> None:
    _cli_repo(repo)
    for name in ("README.md", "taxonomy.yaml"):
        repo.write(name, "# hi\n")
    repo.commit("docs")
    for name in ("README.md", "taxonomy.yaml"):
        result = run_cli("blame", name, cwd=repo.root)
        assert result.returncode == 2 and "not a JSONL/Parquet manifest" in result.stderr and name in result.stderr, result.stderr


def test_cli_text_output_escapes_control_characters(repo: Repo) -> None:
    evil = ("Mallory \x1b[31mRED\x1b[0m", "m@example.com")
    f = repo.write("m.jsonl", [{"id": "k\x1b]0;title\x07", "label": "cat"}, {"id": "b", "label": "\x1b[2Jwipe\u202e"}])
    repo.commit("import \x1b[1mbold", evil)
    for args in ([], ["--key", "b"], ["--line", "1"]):
        result = run_cli("blame", str(f), *args, cwd=repo.root)
        assert result.returncode == 0, result.stderr
        assert not any(c in result.stdout for c in "\x1b\x07\u202e"), result.stdout
        assert "\\x1b" in result.stdout
    result = run_cli("blame", str(f), "--key", "b", "--format", "json", cwd=repo.root)
    assert json.loads(result.stdout)["history"][0]["labels"] == [["\x1b[2Jwipe\u202e"]]  # JSON keeps the text (escaped by JSON)


def test_key_with_a_lone_surrogate_escape(repo: Repo) -> None:
    f = repo.write("m.jsonl", '{"id":"\\ud800x","label":"cat"}\n{"id":"b","label":"cat"}\n')
    first = repo.commit("import")
    repo.write("m.jsonl", '{"id":"\\ud800x","label":"dog"}\n{"id":"b","label":"cat"}\n')
    second = repo.commit("dog", BOB)
    blame = LabelBlame(f)
    assert blame.key_at(0) == "\ud800x" and blame_mod.row_key('{"id":"\\ud800x","label":"dog"}', blame.spec) == "\ud800x"
    assert [c.commit for c in blame.full_history("\ud800x").changes] == [second, first]
    assert [r.commit.sha for r in blame.rows()] == [second, first]
    for args in (["--line", "1"], [], ["--line", "1", "--format", "json"]):
        result = run_cli("blame", str(f), *args, cwd=repo.root)
        assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
        assert "\\ud800x" in result.stdout


# -- renames: a name renamed away, swapped names, the predecessor of a rename+reformat -------
def _cold(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    _restart(monkeypatch)
    shutil.rmtree(repo.root / ".git" / "labelsense", ignore_errors=True)


def test_new_file_at_a_name_renamed_away_starts_its_own_history(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    many = [(f"k{i}", "cat") for i in range(40)]
    a = repo.write("a.jsonl", rows(*many))
    first = repo.commit("import")
    repo.write("a.jsonl", rows(*[(k, "one" if k == "k1" else v) for k, v in many]))
    one = repo.commit("k1 one in a", BOB)
    repo.git("mv", "a.jsonl", "b.jsonl")
    repo.commit("a -> b")
    repo.write("b.jsonl", rows(*[(k, {"k1": "one", "k2": "two"}.get(k, v)) for k, v in many]))
    two = repo.commit("k2 two in b", BOB)
    repo.git("mv", "b.jsonl", "a.jsonl")
    repo.commit("b -> a", EVE)
    b = repo.write("b.jsonl", rows(*[(k, "BOGUS" if k in ("k1", "k2") else v) for k, v in many]))  # unrelated, same keys
    bogus = repo.commit("a new b.jsonl", EVE)
    repo.git("mv", "a.jsonl", "c.jsonl")  # renamed away to a name the new a.jsonl's log never followed
    c = repo.root / "c.jsonl"
    a = repo.write("a.jsonl", rows(*[(k, "fresh") for k, _ in many[:10]]))
    fresh = repo.commit("c.jsonl from a.jsonl, a new a.jsonl")
    for _ in range(2):  # a cold cache, then the same from a warm one
        assert [(x.commit, x.path) for x in LabelBlame(b).full_history("k1").changes] == [(bogus, "b.jsonl")]
        assert {r.commit.sha for r in LabelBlame(b).rows()} == {bogus}
        assert [x.commit for x in LabelBlame(a).full_history("k1").changes] == [fresh]
        assert {r.commit.sha for r in LabelBlame(a).rows()} == {fresh}
        assert [(x.commit, x.path) for x in LabelBlame(c).full_history("k1").changes] == [(one, "a.jsonl"), (first, "a.jsonl")]
        assert [(x.commit, x.path) for x in LabelBlame(c).full_history("k2").changes] == [(two, "b.jsonl"), (first, "a.jsonl")]
        _restart(monkeypatch)
    _cold(repo, monkeypatch)
    assert [x.commit for x in LabelBlame(c).full_history("k3").changes] == [first]


def test_two_files_swapping_names_keep_their_own_histories(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    a_rows = [(f"a{i}", "cat") for i in range(30)]
    b_rows = [(f"b{i}", "dog") for i in range(30)]
    a = repo.write("a.jsonl", rows(*a_rows))
    b = repo.write("b.jsonl", rows(*b_rows))
    first = repo.commit("import")
    a_rows[1] = ("a1", "A1")
    repo.write("a.jsonl", rows(*a_rows))
    a1 = repo.commit("a1", BOB)
    b_rows[1] = ("b1", "B1")
    repo.write("b.jsonl", rows(*b_rows))
    b1 = repo.commit("b1", BOB)

    def index_before_the_swap(f: Path) -> None:  # the cached graph must not be extended across the swap
        list(LabelBlame(f).rows())

    index_before_the_swap(a)
    index_before_the_swap(b)
    b_rows[5] = ("b5", "B5")  # swapped and one label changed in the same commit
    repo.write("a.jsonl", rows(*b_rows))
    repo.write("b.jsonl", rows(*a_rows))
    swap = repo.commit("swap a and b, b5", EVE)
    assert set(repo.git("show", "--format=", "--name-status", "-M", "HEAD").split()) == {"M", "a.jsonl", "b.jsonl"}
    b_rows[2] = ("b2", "B2")
    repo.write("a.jsonl", rows(*b_rows))
    b2 = repo.commit("b2, now in a.jsonl", BOB)
    for warm in (True, False):
        if not warm:
            _cold(repo, monkeypatch)
        _restart(monkeypatch)
        in_a, in_b = LabelBlame(a), LabelBlame(b)
        assert [(x.commit, x.path) for x in in_a.full_history("b1").changes] == [(b1, "b.jsonl"), (first, "b.jsonl")]
        assert [x.commit for x in in_a.full_history("b2").changes] == [b2, first]
        assert [x.commit for x in in_a.full_history("b5").changes] == [swap, first]
        assert [x.commit for x in in_a.full_history("b9").changes] == [first]
        assert Counter(r.commit.sha for r in in_a.rows()) == Counter({first: 27, b1: 1, b2: 1, swap: 1})
        assert [(x.commit, x.path) for x in in_b.full_history("a1").changes] == [(a1, "a.jsonl"), (first, "a.jsonl")]
        assert Counter(r.commit.sha for r in in_b.rows()) == Counter({first: 29, a1: 1})


def _rewrite_diffs(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Records the `git diff-tree -B` invocations (git reads every version it is given, whole)."""
    calls: list[list[str]] = []
    real = gitrepo.run_git

    def spy(args: list[str], *rest: Any, **kw: Any) -> Any:
        if args[:1] == ["diff-tree"] and "-B" in args:
            calls.append(list(args))
        return real(args, *rest, **kw)

    monkeypatch.setattr(gitrepo, "run_git", spy)
    return calls


@pytest.mark.parametrize("case", ["over-the-limit", "sizes-far-apart"])
def test_manifests_relabelled_together_are_not_compared_whole(repo: Repo, monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    n_val = 40 if case == "over-the-limit" else 13  # far apart: train is 3x val, git could never pair them
    train = [(f"t{i}", "cat") for i in range(40)]
    val = [(f"v{i}", "dog") for i in range(n_val)]
    f = repo.write("data/train.jsonl", rows(*train))
    repo.write("data/val.jsonl", rows(*val))
    first = repo.commit("import")
    relabels = []
    for n in range(3):  # a relabel across splits: both manifests modified in each commit
        train[n] = (f"t{n}", f"T{n}")
        val[n] = (f"v{n}", f"V{n}")
        repo.write("data/train.jsonl", rows(*train))
        repo.write("data/val.jsonl", rows(*val))
        relabels.append(repo.commit(f"relabel {n}", BOB))
    sizes = [len(repo.git("show", f"HEAD:data/{name}.jsonl").encode()) for name in ("train", "val")]
    assert min(sizes) > 200
    calls = _rewrite_diffs(monkeypatch)
    if case == "over-the-limit":
        assert list(LabelBlame(f).rows())  # within the default limit, sizes alike: git is asked to pair rewrites
        assert calls
        calls.clear()
        _cold(repo, monkeypatch)
        monkeypatch.setattr(blame_mod, "REWRITE_MAX", 200)
    for name, blamed in (("train", f), ("val", repo.root / "data" / "val.jsonl")):
        blame = LabelBlame(blamed)
        assert Counter(r.commit.sha for r in blame.rows()) == Counter({first: 37 if name == "train" else n_val - 3, **{c: 1 for c in relabels}})
        assert [c.commit for c in blame.full_history(f"{name[0]}1").changes] == [relabels[1], first]
    assert calls == []


def test_rename_and_reformat_beside_a_deleted_lookalike_picks_the_same_labels(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    keys = [f"k{i}" for i in range(40)]
    train = [(k, "three" if k == "k3" else "cat") for k in keys]
    backup = [(k, {"k3": "bak3", "k7": "bak7"}.get(k, "cat")) for k in keys]
    repo.write("data/backup.jsonl", rows(*backup))
    repo.write("data/train.jsonl", rows(*[(k, "cat") for k in keys]))
    first = repo.commit("import")
    repo.write("data/train.jsonl", rows(*train))
    three = repo.commit("k3 three", BOB)
    backup[7] = ("k7", "bakseven")
    repo.write("data/backup.jsonl", rows(*backup))
    repo.commit("backup: k7", BOB)
    repo.git("rm", "-q", "data/train.jsonl", "data/backup.jsonl")
    f = repo.write("data/v2/train.jsonl", "".join(json.dumps({"label": v, "id": k}, separators=(",", ":")) + "\n" for k, v in train))
    repo.commit("move + reformat train, drop backup", EVE)
    assert "R" not in repo.git("show", "--format=", "--name-status", "-M", "HEAD")  # git sees deletes and an add
    blame = LabelBlame(f)
    assert [(x.commit, x.path) for x in blame.full_history("k3").changes] == [(three, "data/train.jsonl"), (first, "data/train.jsonl")]
    assert [x.commit for x in blame.full_history("k7").changes] == [first]
    assert {r.commit.sha for r in blame.rows()} == {first, three}
    # two deleted files equally like the added one, neither with its name: no guess, the history starts at the add
    same = [(k, "cat") for k in keys]
    repo.write("x.jsonl", rows(*same))
    repo.write("y.jsonl", rows(*same))
    repo.commit("x and y")
    repo.git("rm", "-q", "x.jsonl", "y.jsonl")
    z = repo.write("z.jsonl", "".join(json.dumps({"label": v, "id": k}, indent=1).replace("\n", "") + "\n" for k, v in same))
    z_add = repo.commit("z from x or y?", BOB)
    assert "R" not in repo.git("show", "--format=", "--name-status", "-M", "HEAD")
    _cold(repo, monkeypatch)
    assert [x.commit for x in LabelBlame(z).full_history("k0").changes] == [z_add]
    assert [x.commit for x in LabelBlame(f).full_history("k3").changes] == [three, first]
