"""The query planner: a query's patient answered with one SQL statement (issue 18).

`run.run_planned` answers a query document, or raises `run.Decline` for GraphQL execution to
answer it; `declare` holds the declarations the schema's fields carry (how each is read in
SQL); `build` turns a selection into the statement. See docs/performance.md.

Nothing is imported here: schema modules import `declare` while the schema is being built.
"""
