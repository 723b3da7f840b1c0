"""A module with only a docstring and a future import before its code."""
from __future__ import annotations


def handler(event: dict) -> list[str]:
    import infrar.storage
    return infrar.storage.list_objects(event['bucket'])
