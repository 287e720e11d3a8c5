"""The benchmark harness: vardkedja vs PostGraphile 5 vs raw asyncpg (see bench/README.md)."""
