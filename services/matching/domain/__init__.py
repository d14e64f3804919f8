"""Matching rules: fit score, assignment algorithms, quotas, balance-table shortlists. Pure, no I/O."""
