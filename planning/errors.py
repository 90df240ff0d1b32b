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
