"""s3://bucket/model.tar.gz, and a local file:// one, is extracted safely: every member that could
write outside the target or create a device is refused by name, nothing lands outside, and ordinary
archives (subdirectories, internal links, "./" names as `tar czf model.tar.gz .` writes them) extract
intact."""

from __future__ import annotations

import os
import stat
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
from support.archives import Member, directory, file, link, special, tar_gz
from support.s3_server import MotoServer, put_objects, read_tree, set_aws_env

from predictor.artifacts import ArtifactsError, resolve_artifacts

DEEP = "../" * 40  # from any directory this deep or shallower, climbs to /


Publish = Callable[[list[Member]], str]


@pytest.fixture(params=["via_s3", "via_file"])
def publish(request: pytest.FixtureRequest, cache_dir: Path, tmp_path: Path) -> Publish:
    """Puts an archive of the members where a MODEL_URI can name it; returns that URI.

    Only the s3 form starts the S3 server, so the file form runs alone (as `make mutation` does)."""

    def to_s3(members: list[Member]) -> str:
        s3_server: MotoServer = request.getfixturevalue("s3_server")
        bucket: str = request.getfixturevalue("bucket")
        set_aws_env(request.getfixturevalue("monkeypatch"), s3_server.env)
        put_objects(s3_server.s3(), bucket, {"models/model.tar.gz": tar_gz(members)})
        return f"s3://{bucket}/models/model.tar.gz"

    def to_file(members: list[Member]) -> str:
        path = tmp_path / "published" / "model.tar.gz"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(tar_gz(members))
        return path.as_uri()

    return to_s3 if request.param == "via_s3" else to_file


def outside_path(outside: Path, name: str) -> str:
    return str(outside / name).lstrip("/")


# Each case: the offending member (a distinctive name, so finding it in the message means something),
# built against `outside`, a directory next to the cache that nothing may touch.
UNSAFE: dict[str, Callable[[Path], Member]] = {
    "absolute-path": lambda outside: file(str(outside / "bad-absolute.txt")),
    "dotdot-traversal": lambda outside: file("weights/" + DEEP + outside_path(outside, "bad-dotdot.txt")),
    "symlink-to-absolute-path-outside": lambda outside: link("bad-symlink-abs", str(outside)),
    "symlink-climbing-outside": lambda outside: link("sub/bad-symlink-rel", DEEP + outside_path(outside, "")),
    "symlink-one-level-up": lambda outside: link("bad-symlink-up", ".."),
    "hardlink-to-absolute-path-outside": lambda outside: link(
        "bad-hardlink-abs", str(outside / "target.txt"), tarfile.LNKTYPE
    ),
    "hardlink-climbing-outside": lambda outside: link(
        "bad-hardlink-rel", DEEP + outside_path(outside, "target.txt"), tarfile.LNKTYPE
    ),
    "character-device": lambda outside: special("dev/bad-char-device", tarfile.CHRTYPE),
    "block-device": lambda outside: special("dev/bad-block-device", tarfile.BLKTYPE),
    "fifo": lambda outside: special("bad-fifo", tarfile.FIFOTYPE),
}


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A directory outside the cache holding one file an escaping link could point at."""
    path = tmp_path / "outside"
    path.mkdir()
    (path / "target.txt").write_bytes(b"not yours")
    return path


@pytest.mark.parametrize("case", list(UNSAFE))
def test_unsafe_member_is_refused_by_name_and_nothing_escapes(
    publish: Publish, outside: Path, cache_dir: Path, tmp_path: Path, case: str
) -> None:
    bad = UNSAFE[case](outside)
    members = [file("model.onnx", b"weights"), bad]
    if bad.info.issym():
        # The escape proper: a file written through the link, for an extractor that created it.
        members.append(file(f"{bad.info.name}/through-link.txt"))
    uri = publish(members)

    with pytest.raises(ArtifactsError) as raised:
        resolve_artifacts(uri)

    message = str(raised.value)
    assert "unsafe" in message
    assert bad.info.name in message
    assert uri in message
    assert sorted(p.name for p in outside.iterdir()) == ["target.txt"]
    assert (outside / "target.txt").read_bytes() == b"not yours"
    assert (outside / "target.txt").stat().st_nlink == 1
    assert not list(tmp_path.rglob("through-link.txt"))
    assert not [path for path in tmp_path.rglob("*") if _is_special(path)]
    # A refused archive leaves nothing a later resolve could take for a good extraction.
    assert not list(cache_dir.rglob("model.onnx"))
    with pytest.raises(ArtifactsError):
        resolve_artifacts(uri)


def _is_special(path: Path) -> bool:
    mode = path.lstat().st_mode
    return stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode)


def test_archive_with_subdirectories_and_internal_links_extracts_intact(publish: Publish) -> None:
    long_dir = "/".join(f"level{i:02d}" for i in range(20))
    members = [
        directory("./"),
        file("./model.onnx", b"weights"),
        directory("./weights/"),
        file("./weights/layer1.bin", b"layer one"),
        file("./config/nested/deep/params.json", b'{"depth": 3}'),
        file(f"./{long_dir}/long-name.txt", b"a path longer than 100 characters"),
        link("./current", "weights"),
        link("./weights/latest.bin", "layer1.bin"),
        link("./model-copy.onnx", "./model.onnx", tarfile.LNKTYPE),
    ]

    extracted = resolve_artifacts(publish(members))

    assert read_tree(extracted) == {
        "model.onnx": b"weights",
        "model-copy.onnx": b"weights",
        "weights/layer1.bin": b"layer one",
        "weights/latest.bin": b"layer one",
        "config/nested/deep/params.json": b'{"depth": 3}',
        f"{long_dir}/long-name.txt": b"a path longer than 100 characters",
    }
    assert os.readlink(extracted / "current") == "weights"
    assert (extracted / "current" / "layer1.bin").read_bytes() == b"layer one"
    assert os.readlink(extracted / "weights" / "latest.bin") == "layer1.bin"
