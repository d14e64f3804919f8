"""One world per app for the scope matrix (tests/access/world.py)."""
