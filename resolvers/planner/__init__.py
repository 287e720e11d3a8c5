"""The query planner: a query's patients answered with one SQL statement each (issue 18).

- `run`: the request's path (find, decide, plan, one statement, audit); `Decline` hands the
  request to GraphQL execution.
- `build` (objects, scalars, references) and `lists` (connections, the timeline): the
  selection turned into one statement; `sqltext`: its JSON, cursor and disclosure pieces.
- `declare`: the declarations the schema's fields carry (how each is read in SQL).
- `fallback`: what is left to GraphQL execution; `population`: the `patients` search;
  `serialize`: Python values (a `Decided` field) as GraphQL writes them.

See docs/planner.md. Nothing is imported here: schema modules import `declare` while the
schema is being built.
"""
