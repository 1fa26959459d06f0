"""``phis link`` command line: contract, bad input, evaluation."""

import csv

import pytest

from phis.cli.link import main

HEADER = "record_id,name,sex,birth_date,id_number,phone,address\n"


def run(args, capsys):
    rc = main([str(a) for a in args])
    out = capsys.readouterr()
    return rc, out.out, out.err


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    d = tmp_path_factory.mktemp("link")
    assert main(["synth", "--n", "600", "--seed", "3", "--output", str(d / "p.csv"),
                 "--truth", str(d / "t.csv")]) == 0
    return d


def test_dedupe_and_evaluate(synth, capsys):
    out = synth / "c.csv"
    pairs = synth / "pairs.csv"
    rc, _, err = run(["dedupe", "--input", synth / "p.csv", "--output", out,
                      "--possible-output", pairs, "--workers", "2", "--no-progress"], capsys)
    assert rc == 0, err
    with open(out, encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    with open(synth / "p.csv", encoding="utf-8") as fh:
        n_in = sum(1 for _ in fh) - 1
    assert rows[0] == ["record_id", "cluster_id"]
    assert len(rows) - 1 == n_in
    with open(pairs, encoding="utf-8") as fh:
        assert next(csv.reader(fh))[0] == "record_id_a"
    rc, text, _ = run(["evaluate", "--clusters", out, "--truth", synth / "t.csv"], capsys)
    assert rc == 0
    f1 = float(next(line for line in text.splitlines() if line.startswith("f1")).split()[1])
    assert f1 > 0.95
    # truth with a cluster_id column works too
    t2 = synth / "t2.csv"
    t2.write_text((synth / "t.csv").read_text().replace("entity_id", "cluster_id", 1))
    assert run(["evaluate", "--clusters", out, "--truth", t2], capsys)[0] == 0


@pytest.mark.parametrize(("content", "needle"), [
    ("record_id,name,sex\n1,a,1\n", ":1: wrong header"),
    (HEADER + "1,张三,1,1990-13-45,,,\n", ":2: column birth_date"),
    (HEADER + "1,张三,1,1990-01-01,,,\n2,李四,3,,,,\n", ":3: column sex"),
    (HEADER + "1,张三,,,,,\n1,李四,,,,,\n", ":3: column record_id: duplicate"),
    (HEADER + "1,张三,,,,\n", ":2: 6 columns"),
    (HEADER + ",张三,,,,,\n", ":2: column record_id: empty"),
])
def test_bad_input(tmp_path, capsys, content, needle):
    src = tmp_path / "in.csv"
    src.write_text(content, encoding="utf-8")
    out = tmp_path / "out.csv"
    rc, _, err = run(["dedupe", "--input", src, "--output", out], capsys)
    assert rc != 0
    assert needle in err
    assert not out.exists()


def test_bad_utf8(tmp_path, capsys):
    src = tmp_path / "in.csv"
    src.write_bytes(HEADER.encode() + "1,张三,1,,,,\n".encode() + b"2,\xff\xfe,1,,,,\n")
    out = tmp_path / "out.csv"
    rc, _, err = run(["dedupe", "--input", src, "--output", out], capsys)
    assert rc != 0 and ":3: not valid UTF-8" in err
    assert not out.exists()


def test_missing_file_and_bad_options(tmp_path, capsys):
    rc, _, err = run(["dedupe", "--input", tmp_path / "nope.csv", "--output",
                      tmp_path / "o.csv"], capsys)
    assert rc != 0 and "no such file" in err
    rc, _, _ = run(["dedupe", "--input", "x", "--output", "y", "--threshold-match", "2"],
                   capsys)
    assert rc == 2


def test_empty_fields_and_unknown_sex_accepted(tmp_path, capsys):
    src = tmp_path / "in.csv"
    src.write_text(HEADER + "1,张三,0,,,,\n2,張三,9,1990-01-01,,,\n3,,,,,,\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    rc, _, err = run(["dedupe", "--input", src, "--output", out], capsys)
    assert rc == 0, err
    assert out.read_text().splitlines()[0] == "record_id,cluster_id"
    assert len(out.read_text().splitlines()) == 4
