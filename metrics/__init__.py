"""The metrics layer: catalog metrics computed from the warehouse, importable without a server."""

from metrics.query import Filters, QueryError, query, rank_units
from metrics.targets import status, target_for

__all__ = ["Filters", "QueryError", "query", "rank_units", "status", "target_for"]
