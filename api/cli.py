"""The `planning serve` subcommand."""

from __future__ import annotations

import click


def register(root: click.Group) -> None:
    """Attach the serving subcommands to the root command."""
