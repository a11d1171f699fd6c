from datetime import date

from geo.control import Evidence, control_as_of, evidence_from


def test_bridge_27_changes_hands():
    # seed 001: LNA took Bridge 27 on Thursday 4 April 2019 evening; GNA-aligned forces
    # retook it at dawn on Friday 5 April, so GNA holds it after 5 April 2019
    ev = [Evidence("bridge27", "LNA", date(2019, 4, 4), "e1"),
          Evidence("bridge27", "GNA", date(2019, 4, 5), "e2")]
    assert control_as_of(ev, date(2019, 4, 4))["bridge27"].faction == "LNA"
    held = control_as_of(ev, date(2019, 4, 10))["bridge27"]
    assert (held.faction, held.since, held.evidence) == ("GNA", date(2019, 4, 5), ["e2"])
    assert control_as_of(ev, date(2019, 4, 3)) == {}
    assert control_as_of(ev)["bridge27"].faction == "GNA"


def test_evidence_from_parse_output():
    events = [{"id": "a", "place_id": "p", "controller_after": "LNA", "date": "2017-03-18",
               "confidence": 0.7, "in_libya": True},
              {"id": "b", "place_id": "p", "controller_after": None, "date": "2017-03-19"},
              {"id": "c", "place_id": "q", "controller_after": "GNA", "date": None}]
    control = [{"place_id": "sebha", "faction": "LNA", "as_of": "2019-04-05"}]
    ev = evidence_from(events, control)
    assert {(e.place_id, e.faction) for e in ev} == {("p", "LNA"), ("sebha", "LNA")}
    held = control_as_of(ev)
    assert held["sebha"].evidence == ["control:sebha@2019-04-05"]
