"""Keep pandas and geopandas out of a `planning ingest` process.

The ingest reads through pyogrio's Arrow interface and never uses pandas, but pyogrio imports
geopandas (and so pandas) when it is imported, and pyarrow imports pandas the first time it
turns Python values into an array: together a third of a second of every ingest's start-up.
While ``refused()`` is active those imports fail as if the packages were not installed, which
both libraries expect and handle. It changes nothing in a process that already imported either
package (the demo generator, the tests): it then steps aside.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from types import ModuleType

REFUSED = ("pandas", "geopandas")


class _Refuse(MetaPathFinder):
    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        if fullname.partition(".")[0] in REFUSED:
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None


@contextmanager
def refused() -> Iterator[None]:
    """Make ``import pandas`` and ``import geopandas`` fail inside the block, unless one of
    them is imported already. Meant for a command's whole run: libraries imported inside it
    remember that pandas was missing."""
    if any(name in sys.modules for name in REFUSED):
        yield
        return
    finder = _Refuse()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
