"""Typed domain errors; the HTTP layer maps them to status codes in one table."""

from __future__ import annotations


class PlanningError(Exception):
    """Base of every error the domain reports to a user."""


class NotFound(PlanningError):
    """A plan, revision, parcel or zone does not exist."""


class BadRequest(PlanningError):
    """The request is malformed in a way no parameter check catches (HTTP 400)."""


class InvalidInput(PlanningError):
    """The caller's input is malformed or out of range."""


class OutsideServiceArea(InvalidInput):
    """Coordinates fall outside the configured service area."""


class PayloadTooLarge(InvalidInput):
    """A request body or file exceeds its size limit."""


class Conflict(PlanningError):
    """The request conflicts with the current state (e.g. the same file loaded twice)."""


class DatabaseUnavailable(PlanningError):
    """The database cannot be reached."""


class LocalClusterError(PlanningError):
    """The local PostgreSQL cluster could not be created, started or stopped."""


class MultipleMatches(PlanningError):
    """A key names several things (a sheet and parcel number given twice in the cadastral
    data, or found in several former communes): the caller picks one (HTTP 300)."""

    def __init__(self, message: str, matches: list[dict[str, object]]) -> None:
        super().__init__(message)
        self.matches = matches


class QueryTooLong(PlanningError):
    """A statement ran past its time limit (the statement timeout or a batch's budget)."""


class QueryFailed(PlanningError):
    """The database could not answer one item (a geometry it cannot process, say)."""


class NotReached(PlanningError):
    """A batch item left unanswered when the batch's time budget ran out."""
