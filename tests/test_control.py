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


def test_bridge_27_from_the_seed_article_end_to_end(tmp_path):
    """Seed 001 read, stored and asked: LNA holds Bridge 27 on 4 April 2019, GNA from the 5th."""
    import json
    import shutil

    from click.testing import CliRunner

    from geo.cli import main
    from conftest import ROOT

    seeds = tmp_path / "seeds"
    seeds.mkdir()
    shutil.copy(ROOT / "seeds" / "001_232d954a2293e5b2.txt", seeds)
    shutil.copy(ROOT / "seeds" / "metadata.json", seeds)
    db = tmp_path / "ev.gpkg"
    runner = CliRunner()
    assert runner.invoke(main, ["ingest", str(seeds), "--db", str(db), "-q"]).exit_code == 0

    def holder(as_of):
        res = runner.invoke(main, ["control", "--db", str(db), "--as-of", as_of,
                                   "--format", "json"])
        assert res.exit_code == 0, res.output
        rows = {r["place_en"]: r for r in json.loads(res.stdout)}
        return rows["Bridge 27 checkpoint"]

    assert holder("2019-04-04")["faction"] == "LNA"
    after = holder("2019-04-06")
    assert after["faction"] == "GNA" and after["since"] == "2019-04-05" and after["evidence"]
    bad = runner.invoke(main, ["control", "--db", str(db), "--as-of", "5 April"])
    assert bad.exit_code == 2 and "not a date" in bad.stderr
