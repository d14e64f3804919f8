"""Bulk import: ``pipeline`` (parse, validate, plan) and ``writer`` (table rows, COPY)."""
