"""Matching use cases: each opens a unit of work, applies the rules, records events, commits.

``context.py`` holds the runtime every use case gets as ``ctx``; ``service/<resource>.py``
holds the use cases of ``api/<resource>.py`` (campaigns, pool, runs, confirmation, training,
cadres); ``queries.py`` the reads several of them share.
"""
