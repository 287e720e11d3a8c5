"""Synthetic Swedish population (placeholder until the seed module lands)."""

from __future__ import annotations


async def seed_population(url: str, *, patients: int, seed: int) -> str:
    raise NotImplementedError


async def seed_if_empty(url: str, *, patients: int, seed: int) -> None:
    return None
