"""Mutation inputs, payloads and fields, one module per domain; schema/mutation.py joins them."""
