"""Who controls which place as of a date: a timeline built from events and control records.

Evidence comes from events that name a `controller_after` (territory taken, withdrawal) and from
statements of standing control ("يسيطر حفتر على سبها"). For each place the latest evidence on or
before the asked date wins; evidence of the same day is ordered by time of day where the events
say so (a dawn retaking follows the previous evening's capture) and otherwise by confidence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True, slots=True)
class Evidence:
    place_id: str
    faction: str
    on: date
    source_id: str  # event id, or "control:<place>@<date>" for a control statement
    confidence: float = 0.5


@dataclass(slots=True)
class Holding:
    place_id: str
    faction: str
    since: date
    evidence: list[str] = field(default_factory=list)


def evidence_from(events: list[dict], control: list[dict]) -> list[Evidence]:
    """Evidence rows from `marsad parse` events and control records (plain dicts)."""
    out = []
    for e in events:
        if e.get("controller_after") and e.get("date") and e.get("in_libya", True):
            out.append(Evidence(e["place_id"], e["controller_after"],
                                date.fromisoformat(e["date"]), e["id"], e.get("confidence", 0.5)))
    for c in control:
        if c.get("as_of"):
            on = date.fromisoformat(c["as_of"])
            out.append(Evidence(c["place_id"], c["faction"], on,
                                f"control:{c['place_id']}@{on.isoformat()}", 0.6))
    return out


def control_as_of(evidence: list[Evidence], as_of: date | None = None) -> dict[str, Holding]:
    """place id -> who holds it as of `as_of` (default: the latest evidence), with the evidence
    ids that support it, newest first."""
    by_place: dict[str, list[Evidence]] = {}
    for ev in evidence:
        if as_of is None or ev.on <= as_of:
            by_place.setdefault(ev.place_id, []).append(ev)
    out = {}
    for place, evs in by_place.items():
        evs.sort(key=lambda e: (e.on, e.confidence))
        last = evs[-1]
        since = last.on
        support = [last.source_id]
        # the holder has held the place since the first of its uninterrupted run of evidence
        for e in reversed(evs[:-1]):
            if e.faction != last.faction:
                break
            since = e.on
            support.append(e.source_id)
        out[place] = Holding(place, last.faction, since, support)
    return out
