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


class TopLevelRefused(ValueError):
    pass


def check_top_level(parent_id: str | None, *, whole_tree: bool) -> None:
    """Only a caller for the whole tree may put a unit at the top level (create it there or
    move it there). A token limited to some units holds subtrees of the tree, never its
    root: a unit of its own at the top would be a subtree outside its units. The scope rule
    on ``parent_id`` (cadrekit.scope) checks a parent that is named; a missing parent names
    no unit, so this rule says what it means."""
    if parent_id is None and not whole_tree:
        raise TopLevelRefused("only a caller for the whole tree may put a unit at the top level")
