"""Older event versions read as the current one, at the consumer's edge.

A producer that changes what a field means bumps the event's ``dataversion``; its topic
still holds (and a dead-letter replay still brings) the older version, so each consumer
reads an event through the upcast of its type before it looks at the data. One place
per change, so no handler has to remember which version it was given.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

_DAY = dt.timedelta(days=1)


def secondment_data(event: dict[str, Any]) -> dict[str, Any]:
    """The data of a ``secondment.*`` placement event as version 2.

    Version 1 (before issue 17) gave ``ends_on`` and a completion's ``ended_on`` as the
    return day; version 2 gives the term's last day, one day earlier. ``days_served`` of
    version 1 counted the days before the return day, which is version 2's count of the
    days up to and including the last day, so it stays."""
    data: dict[str, Any] = event["data"]
    if str(event.get("dataversion", "1")) != "1":
        return data
    out = dict(data)
    for key in ("ends_on", "ended_on"):
        if out.get(key):
            out[key] = (dt.date.fromisoformat(str(out[key])[:10]) - _DAY).isoformat()
    return out
