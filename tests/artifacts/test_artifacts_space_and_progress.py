"""Not enough room in the cache fails with what to raise; `predictor fetch` shows progress in a terminal.

The small filesystems are real tmpfs mounts inside a private mount namespace
(`unshare -Urm`), which needs no root and disappears with the process.
"""

from __future__ import annotations

import fcntl
import io
import os
import pty
import select
import struct
import subprocess
import sys
import tarfile
import termios
import time
from pathlib import Path

from support.fault_proxy import FaultProxy
from support.fresh_python import PREDICTOR_CLI
from support.paths import REPO
from support.s3_server import MotoServer, clean_environ, put_objects

MIB = 1024 * 1024
RESOLVE = "from predictor.artifacts import ArtifactsError, resolve_artifacts\n" + (
    "import sys\ntry:\n    resolve_artifacts(sys.argv[1])\nexcept ArtifactsError as exc:\n    print(exc)\n"
)


def resolve_on_small_filesystem(server: MotoServer, uri: str, cache: Path, size_mib: int) -> str:
    """resolve_artifacts(uri) with PREDICTOR_CACHE_DIR on a tmpfs of `size_mib`; what it printed."""
    cache.mkdir()
    script = f'mount -t tmpfs -o size={size_mib}m tmpfs "$0" && exec "$1" -c "$2" "$3"'
    done = subprocess.run(
        ["unshare", "-Urm", "sh", "-c", script, str(cache), sys.executable, RESOLVE, uri],
        env=clean_environ(**server.env, PREDICTOR_CACHE_DIR=str(cache), PYTHONPATH=str(REPO)),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_an_object_larger_than_the_free_space_is_refused_before_downloading(
    s3_server: MotoServer, bucket: str, tmp_path: Path
) -> None:
    put_objects(s3_server.s3(), bucket, {"weights.bin": os.urandom(4 * MIB)})

    message = resolve_on_small_filesystem(s3_server, f"s3://{bucket}/weights.bin", tmp_path / "cache", 2)

    assert f"s3://{bucket}/weights.bin needs 4 MiB" in message
    assert "ephemeral storage" in message
    assert "EphemeralStorage" in message


def test_an_archive_that_expands_past_the_free_space_fails_naming_ephemeral_storage(
    s3_server: MotoServer, bucket: str, tmp_path: Path
) -> None:
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        member = tarfile.TarInfo("weights.bin")
        member.size = 40 * MIB
        tar.addfile(member, io.BytesIO(bytes(member.size)))  # zeros: a tiny download, a large file
    put_objects(s3_server.s3(), bucket, {"model.tar.gz": archive.getvalue()})

    message = resolve_on_small_filesystem(s3_server, f"s3://{bucket}/model.tar.gz", tmp_path / "cache", 20)

    assert f"s3://{bucket}/model.tar.gz ran out of space" in message
    assert "ephemeral storage" in message


def test_fetch_in_a_terminal_shows_a_progress_bar(s3_server: MotoServer, bucket: str, tmp_path: Path) -> None:
    put_objects(s3_server.s3(), bucket, {"m/weights.bin": os.urandom(3 * MIB), "m/labels.json": b"[]"})
    uri = f"s3://{bucket}/m/"
    controller, terminal = pty.openpty()
    # A real terminal has a size; tqdm draws nothing into zero columns.
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    child = subprocess.Popen(
        [str(PREDICTOR_CLI), "fetch", uri, str(tmp_path / "out")],
        env=clean_environ(**s3_server.env, PREDICTOR_CACHE_DIR=str(tmp_path / "cache")),
        stdout=subprocess.PIPE,
        stderr=terminal,
    )
    os.close(terminal)
    screen = _read_until_exit(child, controller)

    assert child.returncode == 0
    assert uri in screen
    assert "100%" in screen
    assert (tmp_path / "out" / "weights.bin").stat().st_size == 3 * MIB


def test_fetch_off_a_terminal_prints_no_progress_bar(
    s3_server: MotoServer, bucket: str, tmp_path: Path
) -> None:
    put_objects(s3_server.s3(), bucket, {"m/weights.bin": os.urandom(MIB)})
    done = subprocess.run(
        [str(PREDICTOR_CLI), "fetch", f"s3://{bucket}/m/", str(tmp_path / "out")],
        env=clean_environ(**s3_server.env, PREDICTOR_CACHE_DIR=str(tmp_path / "cache")),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert "%" not in done.stderr
    assert done.stderr.strip() == f"s3://{bucket}/m/ -> {tmp_path / 'out'}"


def _read_until_exit(child: subprocess.Popen[bytes], controller: int) -> str:
    output = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the terminal closed: the child has exited
                break
            if not chunk:
                break
            output += chunk
        elif child.poll() is not None:
            break
    child.wait(timeout=10)
    os.close(controller)
    return output.decode(errors="replace")


def resolve_in_namespace(
    env: dict[str, str], uri: str, cache: Path, prepare: str, during: str = ""
) -> tuple[str, float]:
    """resolve_artifacts(uri) in a private mount namespace: `prepare` runs before it (mounting the cache),
    `during` beside it; what it printed, and how long it took."""
    cache.mkdir()
    script = f'{prepare}\n"$1" -c "$2" "$3" &\nchild=$!\n{during}\nwait $child'
    started = time.monotonic()
    done = subprocess.run(
        ["unshare", "-Urm", "sh", "-c", script, str(cache), sys.executable, RESOLVE, uri],
        env=clean_environ(**env, PREDICTOR_CACHE_DIR=str(cache), PYTHONPATH=str(REPO)),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout, time.monotonic() - started


def test_a_read_only_cache_is_an_error_naming_the_setting(
    s3_server: MotoServer, bucket: str, tmp_path: Path
) -> None:
    put_objects(s3_server.s3(), bucket, {"model.onnx": b"weights"})
    cache = tmp_path / "cache"

    message, _ = resolve_in_namespace(
        s3_server.env, f"s3://{bucket}/model.onnx", cache, 'mount -t tmpfs -o ro,size=8m tmpfs "$0"'
    )

    assert f"s3://{bucket}/model.onnx: cannot write {cache} (not writable)" in message
    assert f"point PREDICTOR_CACHE_DIR (now {cache}) at a writable directory" in message


def test_running_out_of_space_mid_download_fails_at_once_naming_ephemeral_storage(
    s3_server: MotoServer, bucket: str, tmp_path: Path, fault_proxy: FaultProxy
) -> None:
    """The space is there when the fetch checks, and gone (another writer) when the bytes arrive."""
    put_objects(s3_server.s3(), bucket, {"weights.bin": os.urandom(4 * MIB)})
    # The first GET gets no answer until the client gives up; meanwhile the filesystem fills up.
    fault_proxy.inject("stall", times=1, path=rf"^/{bucket}/weights\.bin")
    env = {**s3_server.env, "AWS_ENDPOINT_URL_S3": fault_proxy.endpoint_url, "PREDICTOR_S3_TIMEOUT": "2"}
    fill = 'sleep 0.5; dd if=/dev/zero of="$0/filler" bs=1M 2>/dev/null; true'

    message, _ = resolve_in_namespace(
        env, f"s3://{bucket}/weights.bin", tmp_path / "cache", 'mount -t tmpfs -o size=24m tmpfs "$0"', fill
    )

    assert f"s3://{bucket}/weights.bin ran out of space" in message
    assert "EphemeralStorage" in message
    assert "check the S3 endpoint is reachable" not in message
    # The stalled request and the one whose bytes found no room: no retry of a full disk.
    assert len(fault_proxy.requests("GET", rf"^/{bucket}/weights\.bin")) == 2
