"""The unit tree: kinds, bodies, and subtree paths (``/root/…/self/``)."""

from __future__ import annotations

UNIT_KINDS = ("city", "district", "city_organ", "district_organ", "town", "village", "enterprise", "institution")
GRASSROOTS_KINDS = ("town", "village")
BODIES = ("party_committee", "people_congress", "government", "cppcc")


class TreeError(ValueError):
    pass


def child_path(parent_path: str | None, unit_id: str) -> str:
    return f"{parent_path or '/'}{unit_id}/"


def path_ids(path: str) -> list[str]:
    """The unit ids from the root down to the unit itself."""
    return [p for p in path.split("/") if p]


def check_move(unit_path: str, new_parent_path: str | None) -> None:
    """A unit cannot become its own descendant."""
    if new_parent_path is not None and new_parent_path.startswith(unit_path):
        raise TreeError("a unit cannot be moved under itself or one of its descendants")


def rebase(path: str, old_prefix: str, new_prefix: str) -> str:
    assert path.startswith(old_prefix)
    return new_prefix + path[len(old_prefix) :]


def in_scope(path: str, scope_paths: list[str] | None) -> bool:
    return scope_paths is None or any(path.startswith(p) for p in scope_paths)
