"""Roster's use cases: each opens a unit of work, applies the rules, records events, commits."""
