"""kill -9 in the middle of a load leaves published data exactly as it was, and the next ingest
of the same file works."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import Engine

from tests.ingest.builders import parcels_frame, published_state, rows, scalar, write_gdb

# The backend of a load that is copying features right now.
COPYING = (
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
    "AND pid <> pg_backend_pid() AND state = 'active' AND query LIKE 'COPY planning.parcel%'"
)
ALIVE = "SELECT pid FROM pg_stat_activity WHERE pid = :pid"


def _poll(engine: Engine, sql: str, want: bool, **params: int) -> int | None:
    """Poll a query until it returns a row (want) or none (not want); return the row's pid."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = rows(engine, sql, **params)
        if bool(found) == want:
            return int(found[0].pid) if found else None
        time.sleep(0.02)
    raise AssertionError(f"timed out polling {sql!r}")


def test_kill_9_during_a_load(
    tmp_path: Path, run, engine: Engine, subprocess_env: dict[str, str]
) -> None:
    # Published data first: a plan and the parcels of the commune the big file re-surveys.
    run("ingest", "zoning", str(write_gdb(tmp_path / "QuyHoach.gdb")), "--plan", "QH", "--publish")
    small = tmp_path / "small.gpkg"
    parcels_frame(5).to_file(small, engine="pyogrio")
    run("ingest", "parcels", str(small), "--effective", "2025-01-01", "--publish")
    before = published_state(engine)
    assert before["counts"] == {"zone": 3, "parcel": 25, "red_line": 0}

    big = tmp_path / "big.gpkg"
    side = 200  # 40 000 parcels: the load takes a couple of seconds
    parcels_frame(side, size=2.0).to_file(big, engine="pyogrio")
    proc = subprocess.Popen(
        [sys.executable, "-m", "planning.cli", "ingest", "parcels", str(big), "--publish"],
        env=subprocess_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        backend = _poll(engine, COPYING, True)
        assert proc.poll() is None, "the load ended before it could be killed"
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # The server notices the dead client and rolls its transaction back.
    _poll(engine, ALIVE, False, pid=backend or 0)

    assert published_state(engine) == before
    assert scalar(engine, "SELECT count(*) FROM planning.revision WHERE state = 'staged'") == 0
    assert scalar(engine, "SELECT count(*) FROM planning.parcel") == 25

    # The next ingest of the same file works (no leftover lock, row or sha256 claim).
    run("ingest", "parcels", str(big), "--effective", "2025-06-01", "--publish")
    after = published_state(engine)
    assert after["counts"]["parcel"] == 25 + side * side
    cover = rows(
        engine, "SELECT revision_id, effective_to FROM planning.parcel_coverage ORDER BY 1"
    )
    assert [c.effective_to is None for c in cover] == [False, True]
