"""Reading JSON Lines from a stream of chunks: line endings, blank lines, lines over the limit, batches."""

from __future__ import annotations

from itertools import chain

import pytest

from predictor.aws_lambda._batches import rebatch
from predictor.codec._records import csv_rows, line_lists

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


def test_csv_rows_join_lines_inside_quotes_and_skip_empty_lines_between_rows() -> None:
    lines = [b"h1,h2", b"", b'"a', b"", b'b",1', b"", b'"say ""x""",2', b"c,3", b"  "]

    rows = [b"h1,h2", b'"a\n\nb",1', b'"say ""x""",2', b"c,3", b"  "]  # spaces are a row, as csv reads
    assert list(csv_rows(iter(lines), 1000)) == rows


def test_a_csv_row_over_the_limit_is_one_marker_and_reading_goes_on() -> None:
    assert list(csv_rows(iter([b'"a', b"b" * 20, b"d,2"]), 10)) == [None, b"d,2"]
    assert list(csv_rows(iter([b"ok,1", None, b"next,2"]), 10)) == [b"ok,1", None, b"next,2"]


def test_a_quote_left_open_at_the_end_is_one_last_row_for_the_parser_to_refuse() -> None:
    assert list(csv_rows(iter([b"ok,1", b'"open,2', b"more,3"]), 100)) == [b"ok,1", b'"open,2\nmore,3']


def test_a_quote_inside_an_unquoted_field_is_only_a_character() -> None:
    lines = [b"name,x", b'5" screen,1', b'say "hi" twice,2', b'"quoted, with comma",3']

    assert list(csv_rows(iter(lines), 1000)) == lines


@pytest.mark.parametrize(
    ("line", "quoted", "still_open"),
    [
        (b'a,"b', False, True),
        (b'a,"b""', False, True),  # an escaped quote, the field goes on
        (b'a,"b""c"', False, False),
        (b'"",x', False, False),
        (b'end",1', True, False),
        (b'still "" open', True, True),
        (b'end""",1', True, False),
        (b"a,b,", False, False),
    ],
)
def test_quote_state_follows_the_csv_rules(line: bytes, quoted: bool, still_open: bool) -> None:
    from predictor.codec._records import _open_quote_after

    assert _open_quote_after(line, quoted) is still_open


def test_csv_rows_split_a_file_as_pythons_csv_reader_does() -> None:
    import csv
    import io
    import random

    pieces = ["a", "b c", ",", '"', '""', "\n", "\r\n", "x\ny", '5" screen', " ", "ü"]
    generator = random.Random(7)
    rows = [
        [
            "".join(generator.choice(pieces) for _ in range(generator.randint(0, 4)))
            for _ in range(generator.randint(1, 4))
        ]
        for _ in range(400)
    ]
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(rows)
    expected = list(csv.reader(io.StringIO(text.getvalue(), newline=""), strict=True))
    expected_rows = [row for row in expected if row]  # csv.reader yields [] for a blank line

    lines = text.getvalue().encode().split(b"\n")
    ours = [next(csv.reader([row.decode()], strict=True)) for row in csv_rows(iter(lines), 1 << 20) if row]

    assert ours == expected_rows


def test_a_quote_opened_early_holds_at_most_the_limit_and_reading_goes_on() -> None:
    # 200,000 short lines after an unclosed quote: the open row grows to the limit, is one
    # marker, and the lines after it are rows again (joining them by copying would be quadratic).
    lines = [b'"open'] + [b"line,0"] * 200_000

    rows = list(csv_rows(iter(lines), 1 << 20))

    held = len(lines) - (len(rows) - 1)  # the lines the open row took before it passed the limit
    assert rows[0] is None
    assert rows[1:] == [b"line,0"] * (len(rows) - 1)
    assert 5 + 7 * (held - 2) <= 1 << 20 < 5 + 7 * (held - 1)  # '"open', then 7 bytes a line
