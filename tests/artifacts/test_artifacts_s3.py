"""MODEL_URI=s3://... → a local directory: every URI form, versions, the cache, integrity and S3's errors,
against a real S3 server process reached through the (fault-free) proxy that counts requests."""

from __future__ import annotations

import hashlib
import io
import itertools
import os
import re
import subprocess
import tarfile
import time
from pathlib import Path

import pytest
from support.fault_proxy import FaultProxy, Record
from support.fresh_python import run_cli
from support.resolve import FAIL_FAST_S, resolve, resolve_in_fresh_process
from support.s3_server import LockedS3, MotoServer, S3Env, clean_environ, put_objects, read_tree, stored_bytes

from predictor.artifacts import ArtifactsError

pytestmark = pytest.mark.usefixtures("s3_env")

WEIGHTS = os.urandom(300_000)
LABELS = b'["setosa", "versicolor", "virginica"]'
MODEL_FILES = {"model.onnx": WEIGHTS, "labels.json": LABELS, "tokenizer/vocab/words.txt": b"a\nb\n"}
# Cache bookkeeping (ETags, digests, markers) is allowed, copies of the data are not.
METADATA_ALLOWANCE = 64 * 1024


def object_requests(proxy: FaultProxy, bucket: str, key: str, method: str | None = "GET") -> int:
    return len(proxy.requests(method, path=rf"^/{bucket}/{re.escape(key)}(\?|$)"))


def tar_of(files: dict[str, bytes], mode: str = "w:gz") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:  # type: ignore[call-overload]
        for name, body in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            archive.addfile(info, io.BytesIO(body))
    return buffer.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_prefix_uri_fetches_every_object_under_the_prefix_keeping_relative_paths(
    s3_server: MotoServer, bucket: str
) -> None:
    put_objects(
        s3_server.s3(), bucket, {f"models/iris/v1/{name}": body for name, body in MODEL_FILES.items()}
    )
    # Keys that merely start with the same text, or sit beside or above the prefix, are not part of it.
    put_objects(
        s3_server.s3(),
        bucket,
        {"models/iris/v1-old/model.onnx": b"old", "models/iris/v1.json": b"{}", "README.md": b"#"},
    )

    directory = resolve(f"s3://{bucket}/models/iris/v1/")

    assert directory.is_dir()
    assert read_tree(directory) == MODEL_FILES


def test_object_uri_gives_a_directory_holding_the_object_under_its_basename(
    s3_server: MotoServer, bucket: str
) -> None:
    put_objects(
        s3_server.s3(), bucket, {"models/iris/model.onnx": WEIGHTS, "models/iris/labels.json": LABELS}
    )

    directory = resolve(f"s3://{bucket}/models/iris/model.onnx")

    assert read_tree(directory) == {"model.onnx": WEIGHTS}


@pytest.mark.parametrize(("suffix", "mode"), [(".tar.gz", "w:gz"), (".tgz", "w:gz"), (".tar", "w")])
def test_archive_uri_is_extracted_into_the_directory(
    s3_server: MotoServer, bucket: str, suffix: str, mode: str
) -> None:
    put_objects(s3_server.s3(), bucket, {f"model{suffix}": tar_of(MODEL_FILES, mode)})

    directory = resolve(f"s3://{bucket}/model{suffix}")

    assert read_tree(directory) == MODEL_FILES


def test_version_id_fetches_that_version_not_the_latest(s3_server: MotoServer) -> None:
    bucket = s3_server.create_bucket(versioned=True)
    s3 = s3_server.s3()
    old = s3.put_object(Bucket=bucket, Key="model.onnx", Body=b"version one")["VersionId"]
    s3.put_object(Bucket=bucket, Key="model.onnx", Body=b"version two")

    older = resolve(f"s3://{bucket}/model.onnx?versionId={old}")
    latest = resolve(f"s3://{bucket}/model.onnx")

    assert read_tree(older) == {"model.onnx": b"version one"}
    assert read_tree(latest) == {"model.onnx": b"version two"}


@pytest.mark.parametrize("form", ["object", "prefix", "archive"])
def test_second_resolve_reuses_the_cache_without_downloading_again(
    s3_server: MotoServer, bucket: str, fault_proxy: FaultProxy, form: str
) -> None:
    objects = {
        "object": {"model.onnx": WEIGHTS},
        "prefix": {f"iris/{name}": body for name, body in MODEL_FILES.items()},
        "archive": {"model.tar.gz": tar_of(MODEL_FILES)},
    }[form]
    put_objects(s3_server.s3(), bucket, objects)
    uri = f"s3://{bucket}/" + {"object": "model.onnx", "prefix": "iris/", "archive": "model.tar.gz"}[form]
    first = resolve(uri)
    gets = {key: object_requests(fault_proxy, bucket, key) for key in objects}

    started = time.monotonic()
    second = resolve(uri)
    elapsed = time.monotonic() - started

    assert second == first
    assert read_tree(second) == read_tree(first)
    assert all(count >= 1 for count in gets.values())
    assert {key: object_requests(fault_proxy, bucket, key) for key in objects} == gets
    assert elapsed < 1.0


@pytest.mark.parametrize("form", ["object", "prefix"])
def test_changed_object_is_downloaded_again(s3_server: MotoServer, bucket: str, form: str) -> None:
    key = "model.onnx" if form == "object" else "iris/model.onnx"
    put_objects(s3_server.s3(), bucket, {key: b"first weights", "iris/labels.json": LABELS})
    uri = f"s3://{bucket}/{key}" if form == "object" else f"s3://{bucket}/iris/"
    assert (resolve(uri) / "model.onnx").read_bytes() == b"first weights"

    put_objects(s3_server.s3(), bucket, {key: b"second weights, a new ETag"})

    assert (resolve(uri) / "model.onnx").read_bytes() == b"second weights, a new ETag"


@pytest.mark.parametrize("form", ["object", "archive"])
def test_matching_model_sha256_is_accepted(s3_server: MotoServer, bucket: str, form: str) -> None:
    body = WEIGHTS if form == "object" else tar_of(MODEL_FILES)
    key = "model.onnx" if form == "object" else "model.tar.gz"
    put_objects(s3_server.s3(), bucket, {key: body})

    directory = resolve(f"s3://{bucket}/{key}", MODEL_SHA256=sha256(body))

    assert read_tree(directory) == ({"model.onnx": WEIGHTS} if form == "object" else MODEL_FILES)


@pytest.mark.parametrize("form", ["object", "archive"])
def test_model_sha256_mismatch_fails_naming_the_uri_and_both_digests(
    s3_server: MotoServer, bucket: str, s3_env: S3Env, form: str
) -> None:
    body = WEIGHTS if form == "object" else tar_of(MODEL_FILES)
    key = "model.onnx" if form == "object" else "model.tar.gz"
    put_objects(s3_server.s3(), bucket, {key: body})
    uri, pinned = f"s3://{bucket}/{key}", sha256(b"the model that was reviewed")

    with pytest.raises(ArtifactsError) as raised:
        resolve(uri, MODEL_SHA256=pinned)
    # The cache must not let a second try skip the check.
    with pytest.raises(ArtifactsError) as again:
        resolve(uri, MODEL_SHA256=pinned)

    for message in (str(raised.value), str(again.value)):
        assert "MODEL_SHA256" in message
        assert uri in message
        assert pinned in message
        assert sha256(body) in message
    assert stored_bytes(s3_env.cache_dir) < METADATA_ALLOWANCE


def test_cached_artifact_is_still_checked_against_a_new_model_sha256(
    s3_server: MotoServer, bucket: str
) -> None:
    put_objects(s3_server.s3(), bucket, {"model.onnx": WEIGHTS})
    uri = f"s3://{bucket}/model.onnx"
    resolve(uri)

    with pytest.raises(ArtifactsError) as raised:
        resolve(uri, MODEL_SHA256=sha256(b"another model"))

    assert "MODEL_SHA256" in str(raised.value)
    assert (resolve(uri, MODEL_SHA256=sha256(WEIGHTS)) / "model.onnx").read_bytes() == WEIGHTS


def test_missing_key_fails_at_once_with_no_such_key(bucket: str, fault_proxy: FaultProxy) -> None:
    uri = f"s3://{bucket}/models/absent.onnx"
    started = time.monotonic()

    with pytest.raises(ArtifactsError) as raised:
        resolve(uri)

    assert time.monotonic() - started < FAIL_FAST_S
    assert "NoSuchKey" in str(raised.value)
    assert uri in str(raised.value)
    # Not retried: no request for the key was repeated.
    seen = [(r.method, r.path) for r in fault_proxy.requests(path=f"^/{bucket}/models/absent.onnx")]
    assert seen
    assert len(seen) == len(set(seen))


def test_empty_prefix_fails_naming_the_uri(s3_server: MotoServer, bucket: str) -> None:
    put_objects(s3_server.s3(), bucket, {"other/model.onnx": WEIGHTS})
    uri = f"s3://{bucket}/models/iris/"

    with pytest.raises(ArtifactsError) as raised:
        resolve(uri)

    assert uri in str(raised.value)


@pytest.mark.parametrize("path", ["model.onnx", "iris/", "model.tar.gz"])
def test_missing_bucket_fails_at_once_with_no_such_bucket(path: str) -> None:
    uri = f"s3://no-such-bucket-{os.urandom(6).hex()}/{path}"
    started = time.monotonic()

    with pytest.raises(ArtifactsError) as raised:
        resolve(uri)

    assert time.monotonic() - started < FAIL_FAST_S
    assert "NoSuchBucket" in str(raised.value)
    assert uri in str(raised.value)


def test_denied_object_fails_at_once_with_access_denied(
    locked_s3: LockedS3, tmp_path: Path, s3_transport: dict[str, str]
) -> None:
    uri = f"s3://{locked_s3.bucket}/denied/model.onnx"

    error, elapsed = resolve_in_fresh_process(uri, {**locked_s3.env, **s3_transport}, tmp_path)

    assert error is not None
    assert "AccessDenied" in error
    assert uri in error
    assert elapsed < FAIL_FAST_S


def test_denied_listing_fails_at_once_with_access_denied(
    locked_s3: LockedS3, tmp_path: Path, s3_transport: dict[str, str]
) -> None:
    uri = f"s3://{locked_s3.unlistable_bucket}/"

    error, elapsed = resolve_in_fresh_process(uri, {**locked_s3.env, **s3_transport}, tmp_path)

    assert error is not None
    assert "AccessDenied" in error
    assert uri in error
    assert elapsed < FAIL_FAST_S


def test_readable_object_on_the_locked_server_is_fetched(
    locked_s3: LockedS3, tmp_path: Path, s3_transport: dict[str, str]
) -> None:
    # The control for the two tests above: the same reader, credentials and server, an allowed key.
    error, _ = resolve_in_fresh_process(
        f"s3://{locked_s3.bucket}/open/model.onnx", {**locked_s3.env, **s3_transport}, tmp_path
    )

    assert error is None
    assert list((tmp_path / "fresh-cache").rglob("model.onnx"))


def test_large_object_arrives_byte_identical_through_parallel_ranges(
    s3_server: MotoServer, bucket: str, fault_proxy: FaultProxy
) -> None:
    part = 8 * 1024 * 1024
    body = os.urandom(5 * part)
    put_objects(s3_server.s3(), bucket, {"large/model.onnx": body})

    directory = resolve(f"s3://{bucket}/large/model.onnx", PREDICTOR_S3_PART_BYTES=str(part))

    assert sha256((directory / "model.onnx").read_bytes()) == sha256(body)
    gets = fault_proxy.requests("GET", path=rf"^/{bucket}/large/model\.onnx$")
    ranges = sorted(_byte_range(g.range) for g in gets)
    assert len(ranges) >= 5
    assert ranges[0][0] == 0 and ranges[-1][1] == len(body) - 1
    assert all(after[0] == before[1] + 1 for before, after in itertools.pairwise(ranges))
    assert _most_in_flight(gets) >= 2


def _byte_range(header: str | None) -> tuple[int, int]:
    assert header is not None, "a part was fetched without a Range header"
    match = re.fullmatch(r"bytes=(\d+)-(\d+)", header)
    assert match, header
    return int(match[1]), int(match[2])


def _most_in_flight(requests: list[Record]) -> int:
    # Ends sort before starts at the same instant, so back-to-back requests do not count as overlapping.
    events = sorted([(r.started, 1) for r in requests] + [(r.finished or r.started, -1) for r in requests])
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak


@pytest.mark.parametrize("form", ["object", "prefix"])
def test_successful_fetch_leaves_no_temporary_copies_in_the_cache(
    s3_server: MotoServer, bucket: str, s3_env: S3Env, form: str
) -> None:
    put_objects(s3_server.s3(), bucket, {f"iris/{name}": body for name, body in MODEL_FILES.items()})
    uri = f"s3://{bucket}/iris/model.onnx" if form == "object" else f"s3://{bucket}/iris/"

    directory = resolve(uri)

    fetched = sum(len(body) for body in read_tree(directory).values())
    assert 0 <= stored_bytes(s3_env.cache_dir) - fetched < METADATA_ALLOWANCE


def test_explicit_environ_wins_over_os_environ(
    s3_server: MotoServer, bucket: str, s3_env: S3Env, tmp_path: Path
) -> None:
    put_objects(s3_server.s3(), bucket, {"model.onnx": WEIGHTS})
    chosen = tmp_path / "chosen-cache"

    directory = resolve(f"s3://{bucket}/model.onnx", PREDICTOR_CACHE_DIR=str(chosen))

    assert directory.resolve().is_relative_to(chosen.resolve())
    assert not list(s3_env.cache_dir.rglob("model.onnx"))


@pytest.mark.parametrize("form", ["prefix", "archive"])
def test_fetch_cli_writes_the_artifacts_into_the_directory(
    s3_server: MotoServer, bucket: str, tmp_path: Path, form: str
) -> None:
    if form == "prefix":
        put_objects(s3_server.s3(), bucket, {f"iris/{name}": body for name, body in MODEL_FILES.items()})
        uri = f"s3://{bucket}/iris/"
    else:
        put_objects(s3_server.s3(), bucket, {"model.tar.gz": tar_of(MODEL_FILES)})
        uri = f"s3://{bucket}/model.tar.gz"
    target = tmp_path / "out"

    done = _fetch_cli(s3_server, uri, target, tmp_path)

    assert done.returncode == 0, done.stderr
    assert read_tree(target) == MODEL_FILES


def test_fetch_cli_reports_a_missing_key_and_exits_non_zero(
    s3_server: MotoServer, bucket: str, tmp_path: Path
) -> None:
    uri = f"s3://{bucket}/absent.onnx"

    done = _fetch_cli(s3_server, uri, tmp_path / "out", tmp_path)

    assert done.returncode != 0
    assert "NoSuchKey" in done.stderr
    assert uri in done.stderr
    assert not any((tmp_path / "out").rglob("*"))


def _fetch_cli(
    server: MotoServer, uri: str, target: Path, tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    env = clean_environ(**server.env, PREDICTOR_CACHE_DIR=str(tmp_path / "cli-cache"))
    return run_cli("fetch", uri, str(target), env=env)


def test_fetch_cli_twice_into_the_same_directory_refreshes_it(
    s3_server: MotoServer, bucket: str, tmp_path: Path
) -> None:
    put_objects(s3_server.s3(), bucket, {f"iris/{name}": body for name, body in MODEL_FILES.items()})
    uri = f"s3://{bucket}/iris/"
    target = tmp_path / "out"

    first = _fetch_cli(s3_server, uri, target, tmp_path)
    again = _fetch_cli(s3_server, uri, target, tmp_path)
    put_objects(s3_server.s3(), bucket, {"iris/labels.json": b'["changed"]'})
    changed = _fetch_cli(s3_server, uri, target, tmp_path)

    assert [first.returncode, again.returncode, changed.returncode] == [0, 0, 0], changed.stderr
    assert read_tree(target) == {**MODEL_FILES, "labels.json": b'["changed"]'}
    assert not [path.name for path in target.rglob(".*")]
