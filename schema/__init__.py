"""The public GraphQL schema: one Query and Mutation over the whole care chain."""

from __future__ import annotations

from schema.root import schema

__all__ = ["schema"]
