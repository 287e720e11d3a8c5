"""Mutations: validate, check the write policy, write in a savepoint, audit, read back.

Every mutation goes through `runner.run_mutation`, which gives it one savepoint of the request
transaction (a failure writes nothing), idempotency keys, and the audit of written rows; and
through `policy.ensure_may_write`, the one place that decides who may write.
"""
