"""Bad artifact settings refuse to start with a message naming the variable."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from predictor.artifacts import ArtifactsError, resolve_artifacts


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        (
            "PREDICTOR_S3_TIMEOUT",
            "soon",
            "PREDICTOR_S3_TIMEOUT='soon' is not a number; set it to a positive number",
        ),
        (
            "PREDICTOR_S3_ATTEMPTS",
            "2.5",
            "PREDICTOR_S3_ATTEMPTS='2.5' is not an integer; set it to a positive number",
        ),
        ("PREDICTOR_S3_CONCURRENCY", "0", "PREDICTOR_S3_CONCURRENCY='0' must be a positive number"),
        ("PREDICTOR_S3_PART_BYTES", "-1", "PREDICTOR_S3_PART_BYTES='-1' must be a positive number"),
        ("MODEL_SHA256", "abc123", "MODEL_SHA256 must be 64 hex digits (a sha256 digest), got 'abc123'"),
    ],
)
def test_a_bad_setting_is_refused_naming_the_variable(
    name: str, raw: str, message: str, tmp_path: Path
) -> None:
    with pytest.raises(ArtifactsError) as raised:
        resolve_artifacts(str(tmp_path), environ={name: raw})

    assert str(raised.value) == message


def test_a_pinned_local_file_that_matches_is_served(tmp_path: Path) -> None:
    weights = tmp_path / "weights.bin"
    weights.write_bytes(b"weights")
    digest = hashlib.sha256(b"weights").hexdigest()

    assert resolve_artifacts(str(weights), environ={"MODEL_SHA256": digest}) == tmp_path


def test_a_pinned_local_file_that_differs_is_refused_with_both_digests(tmp_path: Path) -> None:
    weights = tmp_path / "weights.bin"
    weights.write_bytes(b"other weights")
    pinned = "0" * 64

    with pytest.raises(ArtifactsError) as raised:
        resolve_artifacts(f"file://{weights}", environ={"MODEL_SHA256": pinned})

    assert pinned in str(raised.value)
    assert str(weights) in str(raised.value)
    assert "MODEL_SHA256" in str(raised.value)
