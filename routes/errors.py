"""The exceptions Routes raises.

Each subclasses :class:`RoutesError` and a built-in, so callers can catch either.
Messages show the bad value with ``!r`` and say what to do. They become user
messages only at the edge (CLI, page).
"""

from __future__ import annotations


class RoutesError(Exception):
    """Base of every error Routes raises on purpose."""


class ConfigError(RoutesError, ValueError):
    """A setting or configuration file is wrong."""


class ReferenceDataError(RoutesError, ValueError):
    """Shipped reference data is missing or invalid."""


class WarehouseMissingError(RoutesError, FileNotFoundError):
    """The warehouse file does not exist yet."""


class TablesNotBuilt(RoutesError, LookupError):
    """The warehouse lacks a derived table a reader needs (built by an older Routes, or the build stopped).

    Query-layer reads raise it in place of DuckDB's catalog error
    (:func:`routes.warehouse.reading`), naming the table and the command that builds it.
    """


class UnknownIdentifier(RoutesError, ValueError):
    """SQL was to name a table or column the warehouse contract does not declare (:func:`routes.contract.sql.ident`)."""


class WarehouseBusyError(RoutesError, RuntimeError):
    """Another pipeline is writing the warehouse."""


class UnknownSourceError(RoutesError, KeyError):
    """A source id is not in the registry."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class IngestError(RoutesError, ValueError):
    """A file could not be read at all."""


class ProfileError(RoutesError, ValueError):
    """A mapping profile is invalid."""


class OperationError(RoutesError, ValueError):
    """A planned operation is incomplete or impossible (bad time, place, radius …)."""


class AccessDenied(RoutesError, PermissionError):
    """The viewer's role may not see what was asked."""


class AuthError(RoutesError, PermissionError):
    """Login failed, the account is locked or disabled, or the session expired."""


class AuditChainError(RoutesError, ValueError):
    """The audit log's hash chain does not verify."""
