"""The change log and what reads it: delta sync (feed.py), subscriptions (notify.py),
retention (retention.py). The log itself is written by database triggers (migration
0010_changes), never by application code, so no write can skip it."""
