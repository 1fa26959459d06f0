"""The shared CSV pieces of the analytics commands: header rules, cells, atomic output."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from phis.cli._series_io import (
    SeriesFormatError,
    atomic_output,
    csv_cell,
    csv_columns,
    data_rows,
    read_csv_rows,
    write_text_atomic,
)


def _rows(tmp_path: Path, text: str) -> tuple[Path, list[list[str]]]:
    path = tmp_path / "in.csv"
    path.write_text(text, encoding="utf-8")
    return path, read_csv_rows(path)


def test_header_is_matched_without_case_or_spaces_and_bom_is_dropped(tmp_path):
    path, rows = _rows(tmp_path, "\ufeff Date ,COUNT,note\n2024-01-01,1,x\n")
    assert csv_columns(path, rows, ("date", "count")) == {"date": 0, "count": 1, "note": 2}


def test_unique_limits_which_repeated_columns_are_errors(tmp_path):
    path, rows = _rows(tmp_path, "date,count,note,note\n")
    with pytest.raises(SeriesFormatError) as strict:
        csv_columns(path, rows, ("date", "count"))
    assert (strict.value.line, strict.value.column, strict.value.column_name) == (1, 4, "note")
    assert csv_columns(path, rows, ("date", "count"), unique=("date", "count"))["note"] == 2
    path, rows = _rows(tmp_path, "date,count,count\n")
    with pytest.raises(SeriesFormatError, match="column 3 \\(count\\)"):
        csv_columns(path, rows, ("date", "count"), unique=("date", "count"))


def test_missing_column_and_empty_file_name_line_one(tmp_path):
    path, rows = _rows(tmp_path, "date,cnt\n")
    with pytest.raises(SeriesFormatError, match="line 1: header must contain the column 'count'"):
        csv_columns(path, rows, ("date", "count"))
    path, rows = _rows(tmp_path, "")
    with pytest.raises(SeriesFormatError, match="empty file: expected a header 'a,b'"):
        csv_columns(path, rows, ("a", "b"))


def test_data_rows_keep_file_line_numbers_and_skip_blank_rows(tmp_path):
    path, rows = _rows(tmp_path, "a,b\n1,2\n\n , \n3,\n")
    got = list(data_rows(rows))
    assert [line for line, _ in got] == [2, 5]
    pos = csv_columns(path, rows, ("a", "b"))
    with pytest.raises(SeriesFormatError) as err:
        csv_cell(path, got[1][1], pos, "b", got[1][0])
    assert str(err.value).endswith("line 5, column 2 (b): missing value for 'b'")


def test_unreadable_files(tmp_path):
    with pytest.raises(SeriesFormatError, match="cannot read file"):
        read_csv_rows(tmp_path / "absent.csv")
    bad = tmp_path / "latin1.csv"
    bad.write_bytes("a\n\xe9\n".encode("latin-1"))
    with pytest.raises(SeriesFormatError, match="not a readable UTF-8 CSV file"):
        read_csv_rows(bad)


def test_atomic_output_leaves_the_old_file_when_the_writer_fails(tmp_path):
    target = tmp_path / "out.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_output(target) as handle:
        handle.write("partial")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200))
def test_write_text_atomic_round_trips(tmp_path_factory, text):
    target = tmp_path_factory.mktemp("w") / "t.txt"
    write_text_atomic(target, text)
    assert target.read_bytes().decode("utf-8") == text
    assert oct(target.stat().st_mode & 0o777) == "0o644"
