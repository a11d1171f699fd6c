"""`marsad gazetteer import geonames` on small files in GeoNames' own format."""

import zipfile

import pytest
from click.testing import CliRunner

from gazetteer.geonames import GeoNamesError, import_geonames
from gazetteer.load import load_gazetteer, read_places, user_gazetteer_path
from geo.cli import main


def geoname_row(gid, name, lat, lon, fclass, fcode, cc, pop=0, alts=""):
    # the 19 columns of GeoNames' geoname table
    cols = [gid, name, name, alts, lat, lon, fclass, fcode, cc, "", "", "", "", "", pop, "", "5",
            "Africa/Tripoli", "2024-01-01"]
    return "\t".join(str(c) for c in cols)


ROWS = [
    geoname_row(9000001, "Qaryat al Ikhtibar", 31.50, 15.20, "P", "PPL", "LY", 1200),
    geoname_row(9000002, "Hayy al Ikhtibar", 32.85, 13.20, "P", "PPLX", "LY"),
    geoname_row(9000003, "Matar al Ikhtibar", 27.10, 14.40, "S", "AIRP", "LY", alts="HLXX,XYZ"),
    geoname_row(9000004, "Wadi al Ikhtibar", 30.00, 15.00, "H", "WAD", "LY"),  # a wadi: skipped
    geoname_row(9000005, "Sfax Test", 34.74, 10.76, "P", "PPL", "TN"),  # another country
]
ALTS = [
    "1\t9000001\tar\tقرية الاختبار\t1\t\t\t\t\t",
    "2\t9000002\tar\tحي الاختبار\t\t\t\t\t\t",
    "3\t9000003\tar\tمطار الاختبار\t\t\t\t\t\t",
    "4\t9000001\tfr\tVillage du test\t\t\t\t\t\t",
]


@pytest.fixture
def dump(tmp_path):
    txt = tmp_path / "LY.txt"
    txt.write_text("\n".join(ROWS) + "\n", encoding="utf-8")
    alt = tmp_path / "alternateNamesV2.txt"
    alt.write_text("\n".join(ALTS) + "\n", encoding="utf-8")
    return txt, alt


def test_import_adds_libyan_places_with_arabic_names(dump):
    txt, alt = dump
    n, path = import_geonames(txt, alt)
    assert n == 3 and path == user_gazetteer_path()
    recs = {p.id: p for p in read_places(path)}
    assert set(recs) == {"gn:9000001", "gn:9000002", "gn:9000003"}
    assert recs["gn:9000001"].name_ar == "قرية الاختبار"
    assert recs["gn:9000002"].kind == "neighbourhood"
    assert recs["gn:9000003"].kind == "airport"
    assert "HLXX" not in recs["gn:9000003"].variants_en  # airport codes are not names
    assert recs["gn:9000002"].district == "LY-TB"  # by the district polygons


def test_imported_places_extend_the_default_gazetteer(dump):
    txt, alt = dump
    import_geonames(txt, alt)
    gaz = load_gazetteer()
    assert gaz.get("gn:9000002") is not None
    assert gaz.get("osm:n1699640925") is not None  # the default records are still there
    assert gaz.lookup("حي الاختبار")[0].place.id == "gn:9000002"


def test_reimport_replaces_rather_than_duplicates(dump):
    txt, alt = dump
    import_geonames(txt, alt)
    import_geonames(txt, alt)
    ids = [p.id for p in read_places(user_gazetteer_path())]
    assert len(ids) == len(set(ids)) == 3


def test_zip_archives_are_read(dump, tmp_path):
    txt, alt = dump
    zipped = tmp_path / "LY.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.write(txt, "LY.txt")
        zf.writestr("readme.txt", "not data")
    n, _ = import_geonames(zipped)
    assert n == 3


def test_wrong_files_are_clean_errors(tmp_path):
    bad = tmp_path / "LY.txt"
    bad.write_text("id,name\n1,x\n", encoding="utf-8")
    with pytest.raises(GeoNamesError, match="19 tab-separated columns"):
        import_geonames(bad)
    notzip = tmp_path / "LY.zip"
    notzip.write_bytes(b"PK nonsense")
    with pytest.raises(GeoNamesError, match="not a zip"):
        import_geonames(notzip)
    res = CliRunner().invoke(main, ["gazetteer", "import", "geonames", str(bad)])
    assert res.exit_code == 1 and "19 tab-separated columns" in res.stderr
    assert not user_gazetteer_path().exists()  # nothing half-written


def test_cli_import(dump):
    txt, alt = dump
    res = CliRunner().invoke(main, ["gazetteer", "import", "geonames", str(txt),
                                    "--alternate-names", str(alt)])
    assert res.exit_code == 0 and "imported 3 places" in res.stdout
