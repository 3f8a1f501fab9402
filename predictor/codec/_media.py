"""The media types the codec reads and writes, and how a Content-Type header names one."""

from __future__ import annotations

JSON, CSV, JSON_LINES, NPY = "application/json", "text/csv", "application/jsonlines", "application/x-npy"
# Spellings clients send for JSON Lines.
JSON_LINES_ALIASES = frozenset(
    {JSON_LINES, "application/jsonl", "application/x-jsonlines", "application/x-ndjson"}
)
#: Bodies of one instance per row, read beside the JSON envelope where a transport takes them.
TABLES = (CSV, JSON_LINES, NPY)


def media_type_of(content_type: str | None) -> str:
    """The media type of a Content-Type header, lower-case and without parameters; JSON if absent."""
    if content_type is None or content_type == JSON:
        return JSON  # the common case, without parsing
    return content_type.partition(";")[0].strip().lower()


def is_table(media_type: str) -> bool:
    """Whether `media_type` (lower-case, without parameters) is one instance per row."""
    return media_type in (CSV, NPY) or media_type in JSON_LINES_ALIASES
