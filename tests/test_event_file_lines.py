"""Reading JSON Lines from a stream of chunks: line endings, blank lines, lines over the limit, batches."""

from __future__ import annotations

from itertools import chain

import pytest

from predictor.aws_lambda._batches import rebatch
from predictor.aws_lambda._file_records import csv_rows, line_lists

TOO_LONG = "too long"


def read(data: bytes, chunk: int, max_bytes: int = 1000) -> list[bytes | str]:
    chunks = [data[start : start + chunk] for start in range(0, len(data), chunk)]
    return list(chain.from_iterable(line_lists(chunks, max_bytes, TOO_LONG)))


@pytest.mark.parametrize("chunk", [1, 3, 7, 1 << 20])
def test_lines_split_across_chunks_come_out_whole_without_endings_or_blanks(chunk: int) -> None:
    data = b'{"a": 1}\r\n\r\n   \n{"b": 2}\n\t\n{"c": 3}\r\n{"d": 4}'

    assert read(data, chunk) == [b'{"a": 1}', b'{"b": 2}', b'{"c": 3}', b'{"d": 4}']


@pytest.mark.parametrize("chunk", [16, 4096])
def test_a_line_over_the_limit_is_marked_once_and_its_neighbours_kept(chunk: int) -> None:
    data = b"first\n" + b"x" * 100 + b"\nlast\n"

    assert read(data, chunk, max_bytes=50) == [b"first", TOO_LONG, b"last"]


def test_a_final_line_over_the_limit_is_marked() -> None:
    assert read(b"first\n" + b"y" * 100, 16, max_bytes=50) == [b"first", TOO_LONG]


def test_rebatch_cuts_lists_of_any_length_into_exact_batches_in_order() -> None:
    lists = [[1, 2, 3], [], [4], [5, 6, 7, 8, 9, 10, 11], [12]]

    assert list(rebatch(lists, 4)) == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]]
    assert list(rebatch(lists, 5)) == [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10], [11, 12]]
    assert list(rebatch([], 3)) == []


def test_csv_rows_join_lines_inside_quotes_and_skip_blank_lines_between_rows() -> None:
    lines = [b"h1,h2", b"", b'"a', b"", b'b",1', b"  ", b'"say ""x""",2', b"c,3"]

    assert list(csv_rows(iter(lines), 1000)) == [b"h1,h2", b'"a\n\nb",1', b'"say ""x""",2', b"c,3"]


def test_a_csv_row_over_the_limit_is_one_marker_and_reading_goes_on() -> None:
    assert list(csv_rows(iter([b'"a', b"b" * 20, b"d,2"]), 10)) == [None, b"d,2"]
    assert list(csv_rows(iter([b"ok,1", None, b"next,2"]), 10)) == [b"ok,1", None, b"next,2"]


def test_a_quote_left_open_at_the_end_is_one_last_row_for_the_parser_to_refuse() -> None:
    assert list(csv_rows(iter([b"ok,1", b'"open,2', b"more,3"]), 100)) == [b"ok,1", b'"open,2\nmore,3']
