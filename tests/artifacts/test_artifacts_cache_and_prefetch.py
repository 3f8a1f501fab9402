"""What docs/artifacts.md promises about the cache and the prefetch: a pinned version costs no
request, a superseded version leaves the cache, and on Lambda `import predictor` starts the
fetch, while off Lambda (the CLI) importing the package fetches nothing it was not asked for."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from support.fault_proxy import FaultProxy
from support.fresh_python import run_cli
from support.paths import REPO
from support.s3_server import MotoServer, S3Env, clean_environ, put_objects, read_tree

from predictor.artifacts import resolve_artifacts

pytestmark = pytest.mark.usefixtures("s3_env")

MODEL = REPO / "functions" / "iris" / "model"
# What Lambda's runtime (and `sam local`) sets in every execution environment.
ON_LAMBDA = {"AWS_LAMBDA_FUNCTION_NAME": "iris"}


def requests_for(proxy: FaultProxy, bucket: str, key: str) -> int:
    return len(proxy.requests(None, path=rf"^/{bucket}/{re.escape(key)}(\?|$)"))


def test_a_cached_pinned_version_is_served_without_any_request(
    s3_server: MotoServer, fault_proxy: FaultProxy
) -> None:
    bucket = s3_server.create_bucket(versioned=True)
    version = s3_server.s3().put_object(Bucket=bucket, Key="model.onnx", Body=b"weights")["VersionId"]
    uri = f"s3://{bucket}/model.onnx?versionId={version}"
    first = resolve_artifacts(uri)
    before = requests_for(fault_proxy, bucket, "model.onnx")

    second = resolve_artifacts(uri)

    assert second == first
    assert before >= 1
    assert requests_for(fault_proxy, bucket, "model.onnx") == before


@pytest.mark.parametrize("form", ["object", "prefix"])
def test_a_superseded_version_leaves_the_cache(
    s3_server: MotoServer, bucket: str, s3_env: S3Env, form: str
) -> None:
    key = "model.onnx" if form == "object" else "iris/model.onnx"
    uri = f"s3://{bucket}/{key}" if form == "object" else f"s3://{bucket}/iris/"
    put_objects(s3_server.s3(), bucket, {key: b"first weights"})
    old = resolve_artifacts(uri)
    put_objects(s3_server.s3(), bucket, {key: b"second weights"})

    new = resolve_artifacts(uri)

    assert read_tree(new) == {"model.onnx": b"second weights"}
    assert not old.exists()
    assert [entry.name for entry in new.parent.parent.iterdir()] == [new.parent.name]


IMPORT_ONLY = """
import sys, time
import predictor  # nothing else: the fetch must start on its own
deadline = time.monotonic() + float(sys.argv[1])
while time.monotonic() < deadline and not list(__import__("pathlib").Path(sys.argv[2]).rglob("labels.json")):
    time.sleep(0.05)
"""


@pytest.mark.parametrize(
    ("lambda_env", "prefetch", "fetched"),
    [(ON_LAMBDA, "1", True), (ON_LAMBDA, "0", False), ({}, "1", False)],
    ids=["on-lambda", "turned-off", "off-lambda"],
)
def test_importing_predictor_starts_the_fetch_only_on_lambda_unless_turned_off(
    s3_server: MotoServer,
    bucket: str,
    s3_env: S3Env,
    tmp_path: Path,
    lambda_env: dict[str, str],
    prefetch: str,
    fetched: bool,
) -> None:
    put_objects(s3_server.s3(), bucket, {f"iris/{f.name}": f.read_bytes() for f in MODEL.iterdir()})
    cache = tmp_path / "prefetch-cache"
    env = clean_environ(
        **s3_env.env,
        **lambda_env,
        MODEL_URI=f"s3://{bucket}/iris/",
        PREDICTOR_CACHE_DIR=str(cache),
        PREDICTOR_PREFETCH=prefetch,
    )

    subprocess.run(
        [sys.executable, "-c", IMPORT_ONLY, "10" if fetched else "1.5", str(cache)],
        env=env,
        cwd=REPO,
        check=True,
        timeout=60,
    )

    assert bool(list(cache.rglob("labels.json"))) is fetched


def test_the_runtime_joins_the_prefetch_instead_of_fetching_twice(
    s3_server: MotoServer, bucket: str, s3_env: S3Env, fault_proxy: FaultProxy, tmp_path: Path
) -> None:
    put_objects(s3_server.s3(), bucket, {f"iris/{f.name}": f.read_bytes() for f in MODEL.iterdir()})
    env = clean_environ(
        **s3_env.env,
        **ON_LAMBDA,
        MODEL_URI=f"s3://{bucket}/iris/",
        PREDICTOR_CACHE_DIR=str(tmp_path / "cache"),
    )
    code = textwrap.dedent(
        """
        import sys
        sys.path.insert(0, "functions/iris")
        import predictor.artifacts._prefetch as prefetch
        assert prefetch._inflight, "the fetch is under way before the app's imports"
        import app
        assert app.handler.runtime.ready, app.handler.runtime.failure
        """
    )

    subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, check=True, timeout=60)

    # A second fetch would list the prefix again even where it found the files already cached.
    assert len(fault_proxy.requests("GET", path=rf"^/{bucket}/?\?.*list-type=2")) == 1
    assert [requests_for(fault_proxy, bucket, f"iris/{f.name}") for f in sorted(MODEL.iterdir())] == [1, 1]


def test_predictor_fetch_downloads_only_the_uri_it_names_whatever_model_uri_says(
    s3_server: MotoServer, bucket: str, s3_env: S3Env, fault_proxy: FaultProxy, tmp_path: Path
) -> None:
    put_objects(
        s3_server.s3(),
        bucket,
        {"iris/model.onnx": b"the function's own model", "other/model.onnx": b"the model asked for"},
    )
    cache = tmp_path / "cli-cache"
    env = clean_environ(**s3_env.env, MODEL_URI=f"s3://{bucket}/iris/", PREDICTOR_CACHE_DIR=str(cache))

    done = run_cli("fetch", f"s3://{bucket}/other/", str(tmp_path / "out"), env=env)

    assert done.returncode == 0, done.stderr
    assert read_tree(tmp_path / "out") == {"model.onnx": b"the model asked for"}
    assert [r.path for r in fault_proxy.requests(None, path=rf"^/{bucket}/?(\?.*prefix=iris|iris/)")] == []
    assert b"the function's own model" not in read_tree(cache).values()
