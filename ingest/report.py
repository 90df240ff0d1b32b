"""The validation report of an ingest: problems graded error/warning/info, shown and saved."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from rich.console import Console
from rich.table import Table

Level = Literal["error", "warning", "info"]
MAX_EXAMPLES = 10


@dataclass
class Problem:
    """One finding: what, how serious, how many features, a few examples."""

    level: Level
    code: str
    message: str
    count: int = 1
    examples: list[str] = field(default_factory=list)


@dataclass
class Report:
    """Everything an ingest found out about a file, whether or not it was loaded."""

    source: str
    kind: str
    layer: str = ""
    driver: str = ""
    sha256: str = ""
    plan: str | None = None
    features_read: int = 0
    features_loaded: int = 0
    features_dropped: int = 0
    crs_read: str | None = None
    crs_resolved: str | None = None
    plane: str | None = None  # the metric plane areas and distances are measured in
    encodings: dict[str, dict[str, Any]] = field(default_factory=dict)
    mapping: dict[str, dict[str, str]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    # Parcels: every (commune, sheet, parcel) key given more than once, with its features.
    duplicates: list[dict[str, Any]] = field(default_factory=list)
    # Fields left out as personal data, and why (names or content); kept with --keep-field.
    personal: list[dict[str, str]] = field(default_factory=list)
    revision_id: int | None = None
    published: bool = False
    dry_run: bool = False

    def add(
        self,
        level: Level,
        code: str,
        message: str,
        count: int = 1,
        examples: list[str] | None = None,
    ) -> None:
        """Record a problem (examples are capped)."""
        self.problems.append(
            Problem(level, code, message, count, list(examples or [])[:MAX_EXAMPLES])
        )

    def error(
        self, code: str, message: str, count: int = 1, examples: list[str] | None = None
    ) -> None:
        """Record a problem that blocks publishing."""
        self.add("error", code, message, count, examples)

    def warning(
        self, code: str, message: str, count: int = 1, examples: list[str] | None = None
    ) -> None:
        """Record a problem that does not block publishing."""
        self.add("warning", code, message, count, examples)

    def info(
        self, code: str, message: str, count: int = 1, examples: list[str] | None = None
    ) -> None:
        """Record a decision worth knowing (not a problem)."""
        self.add("info", code, message, count, examples)

    @property
    def has_errors(self) -> bool:
        """Tell whether anything blocks publishing."""
        return any(p.level == "error" for p in self.problems)

    def count(self, level: Level) -> int:
        """Count problems of a level."""
        return sum(1 for p in self.problems if p.level == level)

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data."""
        data = asdict(self)
        data["has_errors"] = self.has_errors
        data["summary"] = {lvl: self.count(lvl) for lvl in ("error", "warning", "info")}
        return data

    def save(self, path: Path) -> None:
        """Write the report as JSON."""
        path.write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8")

    def render(self, console: Console) -> None:
        """Print the report as tables."""
        head = Table(title=f"{self.kind} — {self.source}", show_header=False, box=None)
        head.add_row("layer", f"{self.layer} ({self.driver})")
        if self.plan:
            head.add_row("plan", self.plan)
        head.add_row("CRS", f"{self.crs_read or 'none'} → {self.crs_resolved or '?'}")
        if self.plane:
            head.add_row("measured in", self.plane)
        head.add_row(
            "features",
            f"{self.features_read} read, {self.features_loaded} kept, "
            f"{self.features_dropped} dropped",
        )
        console.print(head)
        if self.mapping:
            t = Table(title="field mapping")
            t.add_column("attribute")
            t.add_column("field")
            t.add_column("how")
            for target, m in self.mapping.items():
                t.add_row(target, m["field"], m["how"])
            console.print(t)
        if self.encodings:
            t = Table(title="text encoding per column")
            t.add_column("column")
            t.add_column("encoding")
            t.add_column("decision")
            for col, e in self.encodings.items():
                t.add_row(col, str(e.get("encoding") or "ascii"), str(e.get("reason", "")))
            console.print(t)
        if self.personal:
            t = Table(title="personal data left out (keep a field with --keep-field NAME)")
            t.add_column("field")
            t.add_column("why")
            for f in self.personal:
                t.add_row(f["field"], f["why"])
            console.print(t)
        if self.duplicates:
            t = Table(title=f"repeated parcel keys ({len(self.duplicates)})")
            t.add_column("commune")
            t.add_column("sheet")
            t.add_column("parcel")
            t.add_column("features")
            for d in self.duplicates:
                t.add_row(d["commune"], d["sheet"], d["parcel"], ", ".join(map(str, d["features"])))
            console.print(t)
        if self.problems:
            t = Table(title="problems")
            t.add_column("level")
            t.add_column("count", justify="right")
            t.add_column("message")
            style = {"error": "bold red", "warning": "yellow", "info": "cyan"}
            for p in sorted(
                self.problems, key=lambda p: ("error", "warning", "info").index(p.level)
            ):
                ex = f" (e.g. {', '.join(p.examples[:3])})" if p.examples else ""
                t.add_row(f"[{style[p.level]}]{p.level}[/]", str(p.count), p.message + ex)
            console.print(t)
        verdict = "errors block publishing" if self.has_errors else "no errors"
        if self.dry_run:
            outcome = "dry run: nothing written"
        elif self.revision_id is None:
            outcome = "nothing written"
        else:
            state = "published" if self.published else "staged"
            outcome = f"revision {self.revision_id} {state}"
        console.print(
            f"{self.count('error')} errors, {self.count('warning')} warnings — {verdict}; {outcome}"
        )
