"""Keys as S3 holds them (control characters, long names, literal `%` and `//`), keys that would collide
on disk, and credentials taken from the environ resolve_artifacts is given, each on both transports."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from s3_server import LockedS3, MotoServer, put_objects, read_tree
from test_artifacts_s3 import resolve, resolve_in_fresh_process

from predictor.artifacts import ArtifactsError, resolve_artifacts

pytestmark = pytest.mark.usefixtures("s3_env")


@pytest.mark.parametrize("odd", ["bell\x07", "carriage\rreturn", "tab\tand space", "plus+percent%41"])
def test_a_prefix_holding_keys_with_control_characters_fetches_them_intact(
    s3_server: MotoServer, bucket: str, odd: str
) -> None:
    files = {f"{odd}.bin": b"odd key", "plain.bin": b"plain"}
    put_objects(s3_server.s3(), bucket, {f"set/{name}": body for name, body in files.items()})

    assert read_tree(resolve(f"s3://{bucket}/set/")) == files


def test_an_object_uri_reads_its_key_literally_as_the_aws_cli_does(
    s3_server: MotoServer, bucket: str
) -> None:
    put_objects(
        s3_server.s3(),
        bucket,
        {"lit/pct%41.bin": b"percent", "lit/pctA.bin": b"decoded", "/abs.bin": b"slash", "abs.bin": b"plain"},
    )

    assert (resolve(f"s3://{bucket}/lit/pct%41.bin") / "pct%41.bin").read_bytes() == b"percent"
    assert (resolve(f"s3://{bucket}//abs.bin") / "abs.bin").read_bytes() == b"slash"


@pytest.mark.parametrize("length", [234, 250, 255])
def test_keys_with_names_up_to_the_filesystem_limit_are_fetched(
    s3_server: MotoServer, bucket: str, length: int
) -> None:
    name = "n" * (length - 4) + ".bin"
    put_objects(s3_server.s3(), bucket, {f"long/{name}": b"long name"})

    assert (resolve(f"s3://{bucket}/long/{name}") / name).read_bytes() == b"long name"
    assert read_tree(resolve(f"s3://{bucket}/long/")) == {name: b"long name"}


def test_a_key_whose_name_passes_the_filesystem_limit_is_an_error_naming_it(
    s3_server: MotoServer, bucket: str
) -> None:
    name = "n" * 256
    put_objects(s3_server.s3(), bucket, {f"long/{name}": b"too long"})

    with pytest.raises(ArtifactsError) as raised:
        resolve(f"s3://{bucket}/long/")

    assert f"(key 'long/{name}')" in str(raised.value)
    assert "File name too long" in str(raised.value)


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        (["m/a", "m/a/b"], "key 'm/a/b' needs 'a' as a directory, but key 'm/a' is a file"),
        (["m/a//b", "m/a/b"], "keys 'm/a//b' and 'm/a/b' both name 'a/b'"),
        (["m/./x", "m/x"], "keys 'm/./x' and 'm/x' both name 'x'"),
    ],
    ids=["file-and-directory", "double-slash", "dot-slash"],
)
def test_keys_that_would_land_on_one_path_are_refused_naming_both(
    s3_server: MotoServer, bucket: str, keys: list[str], message: str
) -> None:
    put_objects(s3_server.s3(), bucket, {key: key.encode() for key in keys})

    with pytest.raises(ArtifactsError) as raised:
        resolve(f"s3://{bucket}/m/")

    assert message in str(raised.value)
    assert "rename the objects" in str(raised.value)


def test_a_cache_path_that_is_a_file_is_an_error_naming_the_setting(
    s3_server: MotoServer, bucket: str, tmp_path: Path
) -> None:
    put_objects(s3_server.s3(), bucket, {"model.onnx": b"weights"})
    not_a_directory = tmp_path / "cache-file"
    not_a_directory.write_bytes(b"")

    with pytest.raises(ArtifactsError) as raised:
        resolve(f"s3://{bucket}/model.onnx", PREDICTOR_CACHE_DIR=str(not_a_directory))

    assert f"point PREDICTOR_CACHE_DIR (now {not_a_directory}) at a writable directory" in str(raised.value)


def test_explicit_environ_supplies_the_credentials_and_endpoint(
    locked_s3: LockedS3, s3_transport: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # os.environ names the open server with keys the locked one refuses: only the given environ works.
    environ = {**locked_s3.env, **s3_transport, "PREDICTOR_CACHE_DIR": str(tmp_path / "cache")}

    directory = resolve_artifacts(f"s3://{locked_s3.bucket}/open/model.onnx", environ=environ)

    assert (directory / "model.onnx").read_bytes() == b"weights that this reader may not see"
    assert os.environ["AWS_ACCESS_KEY_ID"] != locked_s3.env["AWS_ACCESS_KEY_ID"]


def test_a_wrong_session_token_is_named_in_the_error(
    locked_s3: LockedS3, s3_transport: dict[str, str], tmp_path: Path
) -> None:
    env = {**locked_s3.env, **s3_transport, "AWS_SESSION_TOKEN": "not-the-token"}

    error, _ = resolve_in_fresh_process(f"s3://{locked_s3.bucket}/open/model.onnx", env, tmp_path)

    assert error is not None
    assert "InvalidToken" in error
    assert "check AWS_SESSION_TOKEN: it must be the session token issued with AWS_ACCESS_KEY_ID" in error
