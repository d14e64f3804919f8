"""The one shape every service has (docs/architecture.md explains it).

A service's folder holds the common modules below, the extras it declares here, and nothing
else. Each ``api/<resource>.py`` router has its use cases in ``service/<resource>.py``;
``service/context.py`` holds the service's context object (its runtime and collaborators),
passed to every use case as ``ctx``; the caller is always ``principal``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_LINES = 400

# Every service has these (paths below services/<name>/).
COMMON = frozenset(
    {
        "__init__.py",
        "app.py",  # create_app: the only place that wires the service
        "settings.py",
        "models.py",  # tables
        "events.py",  # what it publishes (built from models, with their schemas) and the handlers of what it consumes
        "api/__init__.py",
        "api/deps.py",  # roles, unit-scope declarations, the context dependency
        "service/__init__.py",
        "service/context.py",
    }
)
# Request bodies and read models (the *Public shapes): ``schemas.py``, or, when that would
# pass the length limit, a package of ``schemas/<resource>.py`` beside ``api/<resource>.py``
# (its ``__init__`` holds the types they share).
SCHEMAS = ("schemas.py", "schemas/__init__.py")
# Optional in every service.
OPTIONAL = frozenset({"service/queries.py", "exporting.py"})


@dataclass(frozen=True)
class Shape:
    extras: frozenset[str] = field(default_factory=frozenset)
    # api/<x>.py routers that are not resources with use cases of their own (none so far)
    routers_without_use_cases: frozenset[str] = field(default_factory=frozenset)


SHAPES: dict[str, Shape] = {
    "roster": Shape(
        extras=frozenset(
            {
                "protection.py",  # sealing of ID numbers: the cipher and blind index
                "resealing.py",  # background re-sealing after a key rotation
                "renormalising.py",  # the ID-number normal form pass
                "rederiving.py",  # retirement dates derived again under the rule set in force
                "spreadsheets.py",  # reading uploads (calamine, CSV) into rows
                "importing/__init__.py",
                "importing/pipeline.py",  # parse, validate, plan: one pipeline
                "importing/writer.py",  # and its writer apart (COPY on PostgreSQL)
                "reactions/__init__.py",
                "reactions/matching.py",
                "reactions/secondment.py",
                "reactions/mirror_gaps.py",  # a mirror's gap answered with the subject's snapshot
            }
        )
    ),
    "matching": Shape(),
    "scoring": Shape(),
    "secondment": Shape(),
}
