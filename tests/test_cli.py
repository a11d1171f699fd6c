"""The command line on real files, through click's CliRunner."""

import json

import pytest
from click.testing import CliRunner

from geo.cli import main

from conftest import ROOT

SEED = ROOT / "seeds" / "001_232d954a2293e5b2.txt"


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_parse_jsonl_follows_the_contract():
    res = run("parse", SEED)
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout.splitlines()[0])
    assert set(doc) >= {"doc", "places", "events"}
    text = SEED.read_text(encoding="utf-8")
    assert doc["places"]
    for p in doc["places"]:
        assert set(p) >= {"text", "start", "end", "id", "name_ar", "name_en", "kind", "lat", "lon",
                          "district", "in_libya", "score"}
        assert text[p["start"]:p["end"]] == p["text"]
        assert 0 <= p["score"] <= 1
    assert any(p["name_en"] == "Tripoli" for p in doc["places"])


def test_parse_folder_reads_articles_not_metadata():
    res = run("parse", ROOT / "seeds")
    assert res.exit_code == 0
    docs = [json.loads(line) for line in res.stdout.splitlines()]
    assert len(docs) == 5
    assert not any(d["doc"].endswith("metadata.json") for d in docs)
    # the folder's metadata.json gives each seed its publication date
    assert {d["published"] for d in docs} >= {"2019-04-05", "2014-05-18"}


def test_parse_table_format():
    res = run("parse", SEED, "--format", "table")
    assert res.exit_code == 0
    assert "Tripoli" in res.stdout and "LY-TB" in res.stdout


@pytest.mark.parametrize("name,content,reason", [
    ("empty.txt", b"", "empty"),
    ("blank.txt", b"   \n\n  ", "empty"),
    ("binary.txt", bytes(range(256)) * 10, "binary"),
    ("latin1.txt", "caf\xe9 na\xefve r\xe9sum\xe9".encode("latin-1"), "not UTF-8"),
    ("truncated.json", b'{"text": "\xd8\xb7\xd8\xb1', "invalid JSON"),
    ("nofield.json", b'{"title": "x"}', "no 'text'"),
    ("bad.json", b"{not json", "invalid JSON"),
])
def test_bad_files_are_skipped_with_a_clear_reason(tmp_path, name, content, reason):
    bad = tmp_path / name
    bad.write_bytes(content)
    res = run("parse", bad, SEED)
    assert res.exit_code == 0  # the good article is still parsed
    assert f"skipped {bad}" in res.stderr and reason in res.stderr
    assert "Traceback" not in res.output
    assert len(res.stdout.splitlines()) == 1


def test_nothing_parseable_is_an_error_without_traceback(tmp_path):
    bad = tmp_path / "empty.txt"
    bad.write_bytes(b"")
    res = run("parse", bad, tmp_path / "missing.txt")
    assert res.exit_code == 1
    assert "no article could be parsed" in res.stderr
    assert "no such file" in res.stderr
    assert "Traceback" not in res.output


def test_windows_1256_text_is_decoded_with_a_warning(tmp_path):
    f = tmp_path / "cp1256.txt"
    f.write_bytes("اشتباكات عنيفة في مدينة بنغازي".encode("cp1256"))
    res = run("parse", f)
    assert res.exit_code == 0 and "Windows-1256" in res.stderr
    places = json.loads(res.stdout)["places"]
    assert [p["name_en"] for p in places] == ["Benghazi"]


def test_html_page_is_stripped_to_its_text(tmp_path):
    f = tmp_path / "page.html"
    f.write_text("<html><head><title>x</title><script>var طرابلس=1;</script></head><body>"
                 "<p>قصف عنيف على <b>مدينة درنة</b> &amp; ضواحيها</p></body></html>",
                 encoding="utf-8")
    res = run("parse", f)
    assert res.exit_code == 0 and "HTML" in res.stderr
    places = json.loads(res.stdout)["places"]
    # the script's طرابلس is not text; Derna is OSM node 288493021
    assert [p["id"] for p in places] == ["osm:n288493021"]


def test_latin_and_mixed_text(tmp_path):
    f = tmp_path / "en.txt"
    f.write_text("Heavy fighting was reported in Tripoli and Misrata on Friday.", encoding="utf-8")
    res = run("parse", f)
    assert res.exit_code == 0 and "no Arabic text" in res.stderr
    assert {p["name_en"] for p in json.loads(res.stdout)["places"]} == {"Tripoli", "Misrata"}


def test_very_long_line_is_parsed(tmp_path):
    f = tmp_path / "long.txt"
    f.write_text(("اشتباكات في سرت " + "كلام " * 50) * 2000, encoding="utf-8")
    res = run("parse", f)
    assert res.exit_code == 0
    assert len(json.loads(res.stdout)["places"]) == 2000


def test_jsonl_articles_with_a_bad_line(tmp_path):
    f = tmp_path / "a.jsonl"
    f.write_text(json.dumps({"text": "قصف على سبها", "url": "http://x", "published": "2019-01-02"},
                            ensure_ascii=False) + "\n{oops\n"
                 + json.dumps({"text": "هدوء في غات"}, ensure_ascii=False) + "\n", encoding="utf-8")
    res = run("parse", f)
    assert res.exit_code == 0
    docs = [json.loads(x) for x in res.stdout.splitlines()]
    assert [d["doc"].rsplit("#", 1)[1] for d in docs] == ["1", "3"]
    assert docs[0]["published"] == "2019-01-02"
    assert "a.jsonl#2" in res.stderr


def test_lookup_prints_ranked_candidates():
    res = run("gazetteer", "lookup", "طرابس")
    assert res.exit_code == 0
    first = res.stdout.splitlines()[0]
    assert "Tripoli" in first
    res = run("gazetteer", "lookup", "Jufrah", "--format", "json")
    assert json.loads(res.stdout)[0]["id"] == "iso:LY-JU"


def test_lookup_unknown_name_is_a_clean_error():
    res = run("gazetteer", "lookup", "qqqqzzzz")
    assert res.exit_code == 1 and "no place matches" in res.stderr


def test_broken_gazetteer_file_is_a_clean_error(tmp_path):
    g = tmp_path / "g.jsonl"
    g.write_text("{broken\n", encoding="utf-8")
    res = run("parse", SEED, "--gazetteer", g)
    assert res.exit_code == 1 and "cannot load gazetteer" in res.stderr
    assert "Traceback" not in res.output


def test_help_has_worked_examples():
    for cmd in (["parse"], ["gazetteer", "lookup"], ["gazetteer", "import", "geonames"]):
        res = run(*cmd, "--help")
        assert res.exit_code == 0 and "marsad " in res.stdout


def test_date_option_dates_articles_without_metadata(tmp_path):
    f = tmp_path / "a.txt"
    f.write_text("اندلعت اشتباكات عنيفة أمس في مدينة سبها.", encoding="utf-8")
    res = run("parse", f, "--date", "2018-05-08")
    doc = json.loads(res.stdout)
    assert doc["published"] == "2018-05-08"
    assert doc["events"] and doc["events"][0]["date"] == "2018-05-07"  # أمس
    res = run("parse", f)
    assert json.loads(res.stdout)["events"][0]["date"] is None  # no date is invented
    bad = run("parse", f, "--date", "08/05/2018")
    assert bad.exit_code == 2 and "not a date" in bad.stderr


def test_sidecar_metadata_dates_an_article(tmp_path):
    f = tmp_path / "a.txt"
    f.write_text("اندلعت اشتباكات عنيفة أمس في مدينة سبها.", encoding="utf-8")
    (tmp_path / "a.meta.json").write_text('{"published": "2018-05-08"}', encoding="utf-8")
    res = run("parse", tmp_path)
    docs = [json.loads(x) for x in res.stdout.splitlines()]
    assert len(docs) == 1 and docs[0]["published"] == "2018-05-08"  # the sidecar is no article


def test_oversized_file_is_skipped_not_read(tmp_path, monkeypatch):
    import geo.articles

    monkeypatch.setattr(geo.articles, "MAX_BYTES", 20000)  # the seed is 9 KB
    big = tmp_path / "big.txt"
    big.write_text("اشتباكات في سرت. " * 2000, encoding="utf-8")
    res = run("parse", big, SEED)
    assert res.exit_code == 0 and "over the" in res.stderr and "split it" in res.stderr
    assert len(res.stdout.splitlines()) == 1
