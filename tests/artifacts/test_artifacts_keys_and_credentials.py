"""Keys as S3 holds them (control characters, long names, literal `%` and `//`), keys that would collide
on disk, and credentials taken from the environ resolve_artifacts is given, each on both transports."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support.fresh_python import python_json, run_cli
from support.resolve import FAIL_FAST_S, FRESH_RESOLVE, resolve, resolve_in_fresh_process
from support.s3_server import REGION, LockedS3, MotoServer, clean_environ, put_objects, read_tree

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


def without_credentials(server: MotoServer, tmp_path: Path, **settings: str) -> dict[str, str]:
    """A process environment with no credential source at all: no AWS_* variable but the endpoint
    and region, credentials and config files that do not exist, no instance metadata service. The
    fetch may try 8 times: retried like a network fault, that alone would take seconds of backoff."""
    base = {name: value for name, value in clean_environ().items() if not name.startswith("AWS_")}
    return {
        **base,
        "AWS_ENDPOINT_URL_S3": server.endpoint_url,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "absent" / "credentials"),
        "AWS_CONFIG_FILE": str(tmp_path / "absent" / "config"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "PREDICTOR_S3_ATTEMPTS": "8",
        "PREDICTOR_CACHE_DIR": str(tmp_path / "cache"),
        **settings,
    }


WHERE_CREDENTIALS_ARE_LOOKED_FOR = (
    "AWS_ACCESS_KEY_ID",
    "AWS_PROFILE",
    "~/.aws/credentials",
    "role",
    "aws configure",
)


@pytest.mark.parametrize("path", ["models/model.onnx", "models/"])
def test_missing_credentials_fail_at_once_saying_where_they_are_looked_for(
    s3_server: MotoServer, bucket: str, s3_transport: dict[str, str], tmp_path: Path, path: str
) -> None:
    put_objects(s3_server.s3(), bucket, {"models/model.onnx": b"weights"})
    uri = f"s3://{bucket}/{path}"

    answer = python_json(FRESH_RESOLVE, uri, env=without_credentials(s3_server, tmp_path, **s3_transport))

    assert answer["error"].startswith(f"{uri}: no AWS credentials found; ")
    for named in WHERE_CREDENTIALS_ARE_LOOKED_FOR:
        assert named in answer["error"]
    assert answer["elapsed"] < FAIL_FAST_S


def test_fetch_cli_without_credentials_exits_2_with_one_line(
    s3_server: MotoServer, bucket: str, s3_transport: dict[str, str], tmp_path: Path
) -> None:
    uri = f"s3://{bucket}/models/"

    done = run_cli(
        "fetch", uri, str(tmp_path / "out"), env=without_credentials(s3_server, tmp_path, **s3_transport)
    )

    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    assert line.startswith(f"predictor: {uri}: no AWS credentials found; ")
    assert "aws configure" in line


@pytest.mark.parametrize(
    ("setting", "cause"),
    [
        (
            {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE"},
            "Partial credentials found in env, missing: AWS_SECRET_ACCESS_KEY",
        ),
        ({"AWS_PROFILE": "absent"}, "The config profile (absent) could not be found"),
    ],
    ids=["access-key-alone", "absent-profile"],
)
def test_incomplete_credentials_or_an_absent_profile_fail_at_once_naming_the_cause(
    s3_server: MotoServer,
    bucket: str,
    s3_transport: dict[str, str],
    tmp_path: Path,
    setting: dict[str, str],
    cause: str,
) -> None:
    uri = f"s3://{bucket}/models/"
    env = without_credentials(s3_server, tmp_path, **s3_transport, **setting)

    answer = python_json(FRESH_RESOLVE, uri, env=env)

    assert answer["error"].startswith(f"{cause}; credentials are looked for in ")
    assert "aws configure" in answer["error"]
    assert answer["elapsed"] < FAIL_FAST_S
