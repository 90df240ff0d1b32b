"""Issue 6: the committed corpus of malformed files (tests/data/bad/, table in its README.md)
through the real CLI. Every case gives one clean `error:` line or a repaired load whose report
says what was repaired; never a traceback, never a file written outside its scratch folder, and
published data changes only when a load succeeds.

The cases run as real processes, in parallel, the first time a test asks for a result; they
share one fresh database, so a single published baseline shows what each failure left alone."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.conftest import ROOT, Cli, fresh_database
from tests.ingest.builders import rows, scalar, write_gdb

BAD = ROOT / "tests" / "data" / "bad"
MANIFEST: dict[str, dict[str, Any]] = json.loads((BAD / "manifest.json").read_text("utf-8"))
NOT_CASES = {"make_corpus.py", "README.md", "manifest.json"}
PLAN = "BAD"
# Where zip entries with absolute paths would land if anything extracted them.
ABSOLUTE_TARGETS = sorted(Path("/tmp").glob("planning_bad_corpus_absolute*"))


@pytest.fixture(scope="module")
def db_url(server_url: str, template_db: str) -> Iterator[str]:
    """One fresh database for the module: subprocess_env, engine and run all point at it."""
    with fresh_database(server_url, template_db) as url:
        yield url


Tree = dict[str, tuple[bool, int, int]]


def tree(root: Path) -> Tree:
    """Every path under root with (is a folder, size, mtime): any write changes it."""
    out: Tree = {}
    for p in [root, *root.rglob("*")]:
        st = p.lstat()
        out[str(p.relative_to(root))] = (p.is_dir(), st.st_size, st.st_mtime_ns)
    return out


@dataclass
class Outcome:
    """One case's run: the process result and what its scratch folder looked like."""

    input: Path
    returncode: int | None
    stdout: str
    stderr: str
    before: Tree
    after: Tree


def _scratch(base: Path, name: str) -> tuple[Path, Path, Path]:
    """Lay out sentinel/{cwd, a/b/c/work}: a ../../../ entry from work stays inside sentinel."""
    sentinel = base / name / "sentinel"
    work = sentinel / "a" / "b" / "c" / "work"
    cwd = sentinel / "cwd"
    for d in (work, cwd):
        d.mkdir(parents=True)
    (sentinel / "keep.txt").write_text("the run must not touch this folder\n")
    case = MANIFEST[name]
    for rel in case["files"]:
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(BAD / rel, work / rel)
    return sentinel, cwd, work / case["input"]


def _run_case(name: str, base: Path, env: dict[str, str]) -> Outcome:
    sentinel, cwd, path = _scratch(base, name)
    before = tree(sentinel)
    args = [sys.executable, "-m", "planning.cli", "ingest", "zoning", str(path)]
    args += ["--plan", PLAN, "--publish", "--json"]
    try:
        proc = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
        code, out, err = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as exc:
        code, out, err = None, str(exc.stdout or ""), f"timed out: {exc}"
    return Outcome(path, code, out, err, before, tree(sentinel))


class Corpus:
    """Runs the selected cases once (in parallel threads, one process each) and keeps the
    results for the tests that check them."""

    def __init__(self) -> None:
        self.results: dict[str, Outcome] | None = None
        self.corpus_before: Tree = {}
        self.baseline: int | None = None

    def get(
        self,
        request: pytest.FixtureRequest,
        env: dict[str, str],
        run: Cli,
        engine: Engine,
        base: Path,
    ) -> dict[str, Outcome]:
        if self.results is not None:
            return self.results
        # A published revision of the plan every case is aimed at.
        good = write_gdb(base / "baseline" / "QuyHoach.gdb")
        run("ingest", "zoning", str(good), "--plan", PLAN, "--publish")
        self.baseline = int(scalar(engine, "SELECT id FROM planning.revision"))
        names = _selected(request) or list(MANIFEST)
        self.corpus_before = tree(BAD)
        workers = max(2, min(6, (os.cpu_count() or 2) + 1))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            outcomes = pool.map(lambda n: _run_case(n, base, env), names)
            self.results = dict(zip(names, outcomes, strict=True))
        return self.results


def _selected(request: pytest.FixtureRequest) -> list[str]:
    return [
        item.callspec.params["case"]
        for item in request.session.items
        if isinstance(item, pytest.Function)
        and item.module is request.module
        and item.originalname == "test_bad_file"
        and hasattr(item, "callspec")
    ]


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return Corpus()


@pytest.fixture
def results(
    request: pytest.FixtureRequest,
    corpus: Corpus,
    subprocess_env: dict[str, str],
    run: Cli,
    engine: Engine,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Outcome]:
    """The outcome of every selected case (the first test to ask runs them all)."""
    if corpus.results is None:
        return corpus.get(request, subprocess_env, run, engine, tmp_path_factory.mktemp("bad"))
    return corpus.results


def _revisions(engine: Engine, source_name: str) -> list[Any]:
    return rows(
        engine,
        "SELECT id, state, has_errors, feature_count FROM planning.revision WHERE source_name = :s",
        s=source_name,
    )


@pytest.mark.parametrize("case", list(MANIFEST))
def test_bad_file(case: str, results: dict[str, Outcome], engine: Engine) -> None:
    expect = MANIFEST[case]
    got = results[case]
    where = f"{case}: exit {got.returncode}\nstderr: {got.stderr}\nstdout: {got.stdout[:2000]}"
    assert "Traceback" not in got.stdout + got.stderr, where
    assert got.returncode == expect["exit"], where
    # Nothing written anywhere near the run: not beside the input, not in the cwd, not in the
    # folders a ../ entry would reach; the input itself is unchanged.
    assert got.after == got.before, where
    revisions = _revisions(engine, got.input.name)
    if expect["exit"] == 0:
        assert got.stderr == "", where  # no warnings or GDAL chatter: the report says it all
        report = json.loads(got.stdout)
        codes = {p["code"] for p in report["problems"]}
        assert set(expect["problems"]) <= codes, (where, codes)
        assert not report["has_errors"] and report["features_loaded"] > 0, where
        assert report["published"], where
        assert [(r.state, r.has_errors) for r in revisions] == [("published", False)]
        assert revisions[0].feature_count == report["features_loaded"]
        return
    lines = got.stderr.splitlines()
    assert len(lines) == 1 and got.stderr.endswith("\n"), where
    prefix = f"error: {got.input}: "
    assert lines[0].startswith(prefix), where
    message = lines[0][len(prefix) :]  # the fragments must not match the (scratch) path
    for fragment in expect["fragments"]:
        assert fragment in message, where
    # A domain error speaks for itself; the generic fallback prefixes an exception type.
    assert "Error:" not in message and "Exception" not in message, where
    if expect["exit"] == 1:
        assert got.stdout == "", where
        assert revisions == [], where  # nothing written to the database
    else:  # read and graded, but the report's errors kept it from being published
        report = json.loads(got.stdout)
        assert report["has_errors"] and not report["published"], where
        assert [r.state for r in revisions] == ["staged"], where


def test_failures_published_nothing(
    results: dict[str, Outcome], engine: Engine, corpus: Corpus
) -> None:
    loaded = [n for n, o in results.items() if o.returncode == 0]
    # The baseline, plus one revision per successful load; failures added none.
    published = scalar(engine, "SELECT count(*) FROM planning.revision WHERE state = 'published'")
    assert published == 1 + len(loaded)
    baseline = scalar(
        engine, "SELECT state FROM planning.revision WHERE id = :i", i=corpus.baseline
    )
    assert baseline == "published"
    # Nothing appeared next to the corpus, and no absolute zip entry landed in /tmp.
    assert tree(BAD) == corpus.corpus_before
    assert sorted(Path("/tmp").glob("planning_bad_corpus_absolute*")) == ABSOLUTE_TARGETS


def test_corpus_is_complete_and_small() -> None:
    assert len(MANIFEST) >= 30
    listed = {f for case in MANIFEST.values() for f in case["files"]}
    on_disk = {
        str(p.relative_to(BAD))
        for p in BAD.rglob("*")
        if p.is_file() and p.name not in NOT_CASES and "__pycache__" not in p.parts
    }
    assert on_disk == listed  # every file belongs to a case and every case's files exist
    sizes = {f: (BAD / f).stat().st_size for f in listed}
    assert max(sizes.values()) < 200_000, max(sizes.items(), key=lambda kv: kv[1])
    assert sum(sizes.values()) + sum((BAD / f).stat().st_size for f in NOT_CASES) < 1_000_000
    readme = (BAD / "README.md").read_text("utf-8")
    for case in MANIFEST.values():
        assert f"`{case['input']}`" in readme
        assert case["exit"] in (0, 1, 2)
        assert case.get("fragments") if case["exit"] else "problems" in case


def test_generator_reproduces_the_corpus(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(BAD / "make_corpus.py"), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    fresh = {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()}
    committed = {
        str(p.relative_to(BAD))
        for p in BAD.rglob("*")
        if p.is_file() and p.name != "make_corpus.py" and "__pycache__" not in p.parts
    }
    assert fresh == committed
    for rel in sorted(fresh):
        new, old = tmp_path / rel, BAD / rel
        if rel.endswith(".zip") and new.read_bytes() != old.read_bytes():
            # Deflate output may differ between zlib builds; the entries may not.
            assert _entries(new) == _entries(old), rel
        else:
            assert new.read_bytes() == old.read_bytes(), rel


def _entries(path: Path) -> list[tuple[str, int, int]] | str:
    try:
        with zipfile.ZipFile(path) as zf:
            return [(i.filename, i.CRC, i.file_size) for i in zf.infolist()]
    except zipfile.BadZipFile:
        return "not a zip"
