"""Archives built to write outside the cache through links (CPython's CVE-2025-4517 test and a link
re-pointed mid-archive), names that collide once normalised, and archives that expand without bound:
each is refused by name, and nothing is written outside the target, whatever the destination's length."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path

import pytest
from support.archives import Member, directory, file, link, special, tar_gz
from support.fresh_python import run_cli
from support.paths import REPO
from support.s3_server import clean_environ

from predictor.artifacts import ArtifactsError, resolve_artifacts

STEPS = "abcdefghijklmnop"
# What the cache adds below PREDICTOR_CACHE_DIR for a local archive: archives/<24>/.staging-<12>/model
CACHE_LAYOUT = ("archives", "x" * 24, ".staging-" + "x" * 12, "model")
PATH_MAX = os.pathconf("/", "PC_PATH_MAX")


def realpath_limit_attack(destination: Path, climb: int, payload: str) -> list[Member]:
    """CPython's test_realpath_limit_attack: 16 nested directory symlinks whose expanded path passes
    PATH_MAX, a link that climbs from the last of them, `escape` pointing `climb` levels above the
    destination through it, then a regular member written through `escape`."""
    component = "d" * ((PATH_MAX - len(str(destination)) - 1) // (len(STEPS) + 1))
    members: list[Member] = []
    path = ""
    for step in STEPS:
        members.append(directory(os.path.join(path, component)))
        members.append(link(os.path.join(path, step), component))
        path = os.path.join(path, component)
    linkpath = os.path.join(*STEPS, "l" * 254)
    members.append(link(linkpath, os.path.join(*[".."] * len(STEPS))))
    members.append(link("escape", os.path.join(linkpath, *[".."] * climb)))
    members.append(file(f"escape/{payload}", b"written outside"))
    return members


def publish(tmp_path: Path, members: list[Member]) -> str:
    archive = tmp_path / "published" / "model.tar.gz"
    archive.parent.mkdir(exist_ok=True)
    archive.write_bytes(tar_gz(members))
    return archive.as_uri()


def cache_of_length(tmp_path: Path, extra: int) -> Path:
    """A cache directory whose path is about `extra` characters longer than tmp_path/cache."""
    cache = tmp_path / "cache"
    while extra > 0:
        cache /= "c" * min(extra, 200)
        extra -= 201
    return cache


def everything_outside(tmp_path: Path, cache: Path) -> set[str]:
    return {str(p) for p in tmp_path.rglob("*") if not p.is_relative_to(cache)}


def written_anywhere_near(tmp_path: Path, payload: str) -> list[Path]:
    return [*tmp_path.rglob(payload), *tmp_path.parent.glob(payload), *tmp_path.parent.parent.glob(payload)]


@pytest.mark.parametrize("extra_length", [0, 300, 900, 1500, 2100, 2700, 3300])
def test_realpath_limit_attack_is_refused_and_writes_nothing_outside(
    tmp_path: Path, extra_length: int
) -> None:
    cache = cache_of_length(tmp_path, extra_length)
    target = cache.joinpath(*CACHE_LAYOUT)
    payload = f"escaped-{uuid.uuid4().hex}"
    # escape climbs from the target to tmp_path: the file would land beside the cache.
    climb = len(target.relative_to(tmp_path).parts)
    uri = publish(tmp_path, realpath_limit_attack(target, climb, payload))
    cache.mkdir(parents=True)
    before = everything_outside(tmp_path, cache)

    with pytest.raises(ArtifactsError) as raised:
        resolve_artifacts(uri, environ={"PREDICTOR_CACHE_DIR": str(cache)})

    assert f"refusing unsafe archive member {os.path.join(*STEPS, 'l' * 254)!r}" in str(raised.value)
    assert "'a'" in str(raised.value)  # the link it would have been written through
    assert everything_outside(tmp_path, cache) == before
    assert not written_anywhere_near(tmp_path, payload)


def test_fetch_cli_refuses_the_realpath_limit_attack_and_writes_nothing_outside(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    target = cache.joinpath(*CACHE_LAYOUT)
    payload = f"escaped-{uuid.uuid4().hex}"
    uri = publish(tmp_path, realpath_limit_attack(target, len(target.relative_to(tmp_path).parts), payload))

    done = run_cli("fetch", uri, str(tmp_path / "out"), env=clean_environ(PREDICTOR_CACHE_DIR=str(cache)))

    assert done.returncode == 2
    assert "refusing unsafe archive member" in done.stderr
    assert not written_anywhere_near(tmp_path, payload)
    assert not (tmp_path / "out").exists()


def test_a_link_re_pointed_mid_archive_cannot_carry_a_file_outside(tmp_path: Path) -> None:
    payload = f"escaped-{uuid.uuid4().hex}"
    members = [
        file("deep/dir/weights.bin"),
        link("y", "deep/dir"),
        link("x", "y/../../.."),  # inside while y points two levels down
        link("y", "."),  # now x would climb three levels above the target
        file(f"x/{payload}"),
    ]
    cache = tmp_path / "cache"

    with pytest.raises(ArtifactsError) as raised:
        resolve_artifacts(publish(tmp_path, members), environ={"PREDICTOR_CACHE_DIR": str(cache)})

    assert "refusing unsafe archive member 'x'" in str(raised.value)
    assert not written_anywhere_near(tmp_path, payload)


@pytest.mark.parametrize(
    ("members", "first", "second"),
    [
        ([file("a/b", b"one"), file("a//b", b"two")], "a/b", "a//b"),
        ([file("./x", b"one"), file("x", b"two")], "./x", "x"),
        ([file("x", b"one"), file("x", b"two")], "x", "x"),
        ([file("a", b"file"), file("a/b", b"inside")], "a", "a/b"),
        ([file("a/b", b"inside"), file("a", b"file")], "a/b", "a"),
        ([link("d", "sub"), file("d/f")], "d", "d/f"),
        ([file("w"), link("h", "w", tarfile.LNKTYPE), file("h/f")], "h", "h/f"),
        ([file("d/f"), link("d", "sub")], "d/f", "d"),
        ([directory("d"), link("./d", "sub")], "d", "./d"),
    ],
    ids=[
        "double-slash",
        "dot-slash",
        "same-name-twice",
        "file-then-child",
        "child-then-file",
        "symlink-then-child",
        "hardlink-then-child",
        "child-then-symlink",
        "directory-then-symlink",
    ],
)
def test_members_that_collide_once_normalised_are_refused_naming_both(
    tmp_path: Path, members: list[Member], first: str, second: str
) -> None:
    with pytest.raises(ArtifactsError) as raised:
        resolve_artifacts(publish(tmp_path, members), environ={"PREDICTOR_CACHE_DIR": str(tmp_path / "c")})

    assert repr(first) in str(raised.value)
    assert repr(second) in str(raised.value)


@pytest.mark.parametrize(
    ("members", "kind"),
    [
        ([link("d", "sub"), file("d/f")], "symlink"),
        ([file("w"), link("d", "w", tarfile.LNKTYPE), file("d/f")], "hardlink"),
    ],
    ids=["symlink", "hardlink"],
)
def test_a_member_below_a_link_is_refused_naming_the_link_and_its_kind(
    tmp_path: Path, members: list[Member], kind: str
) -> None:
    with pytest.raises(ArtifactsError) as raised:
        resolve_artifacts(publish(tmp_path, members), environ={"PREDICTOR_CACHE_DIR": str(tmp_path / "c")})

    assert f"member 'd/f' needs 'd' as a directory, but member 'd' is a {kind}" in str(raised.value)


@pytest.mark.parametrize(
    ("members", "refused", "reason"),
    [
        ([link("y", "."), link("x", "y/..")], "x", "symlink pointing outside: 'y/..'"),
        ([directory("sub"), link("sub/up", "../..")], "sub/up", "symlink pointing outside: '../..'"),
        ([link("empty", "")], "empty", "symlink pointing outside: ''"),
        (
            [link("hard", "../w", tarfile.LNKTYPE)],
            "hard",
            "hard link pointing outside: '../w' ('../w' contains '..')",
        ),
        (
            [link("hard", "missing.bin", tarfile.LNKTYPE)],
            "hard",
            "hard link to 'missing.bin', which is no regular file in the archive",
        ),
        (
            [link("soft", "w"), link("hard", "soft", tarfile.LNKTYPE)],
            "hard",
            "hard link to 'soft', which is no regular file in the archive",
        ),
        (
            [link("hard", "w", tarfile.LNKTYPE), link("w", "x")],
            "hard",
            "hard link to 'w', which is no regular file in the archive",
        ),
        ([file("./")], "./", "member './' names the top directory itself"),
        ([special("dev/null", tarfile.CHRTYPE)], "dev/null", "device, fifo or other special file"),
    ],
    ids=[
        "dotdot-after-a-link",
        "climbs-past-the-root",
        "empty-target",
        "hardlink-climbing-out",
        "hardlink-to-a-missing-member",
        "hardlink-to-a-symlink",
        "hardlink-to-a-later-symlink",
        "file-named-as-the-root",
        "device",
    ],
)
def test_links_and_names_that_could_escape_are_refused_by_name(
    tmp_path: Path, members: list[Member], refused: str, reason: str
) -> None:
    with pytest.raises(ArtifactsError) as raised:
        resolve_artifacts(publish(tmp_path, members), environ={"PREDICTOR_CACHE_DIR": str(tmp_path / "c")})

    assert f"refusing unsafe archive member {refused!r}: " in str(raised.value)
    assert str(raised.value).endswith(f": {reason}")


def zeros_archive(sizes: dict[str, int]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, size in sizes.items():
            info = tarfile.TarInfo(name)
            info.size = size
            archive.addfile(info, io.BytesIO(bytes(size)))
    return buffer.getvalue()


def test_an_archive_expanding_past_the_byte_limit_is_stopped_naming_the_member_and_setting(
    tmp_path: Path,
) -> None:
    archive = tmp_path / "model.tar.gz"
    archive.write_bytes(zeros_archive({"small.bin": 1000, "bomb.bin": 8 * 1024 * 1024}))
    assert archive.stat().st_size < 64 * 1024  # a small download, a large expansion
    cache = tmp_path / "cache"

    with pytest.raises(ArtifactsError) as raised:
        resolve_artifacts(
            archive.as_uri(),
            environ={"PREDICTOR_CACHE_DIR": str(cache), "PREDICTOR_MAX_EXTRACTED_BYTES": "1048576"},
        )

    message = str(raised.value)
    assert message.startswith(archive.as_uri())
    assert "expands past PREDICTOR_MAX_EXTRACTED_BYTES=1048576 bytes at member 'bomb.bin'" in message
    assert "raise PREDICTOR_MAX_EXTRACTED_BYTES if the archive is trusted" in message
    assert not [p for p in cache.rglob("*") if p.is_file()]


def test_an_archive_within_the_byte_limit_extracts(tmp_path: Path) -> None:
    archive = tmp_path / "model.tar.gz"
    archive.write_bytes(zeros_archive({"a.bin": 600_000, "b.bin": 400_000}))

    directory = resolve_artifacts(
        archive.as_uri(),
        environ={"PREDICTOR_CACHE_DIR": str(tmp_path / "c"), "PREDICTOR_MAX_EXTRACTED_BYTES": "1000000"},
    )

    assert (directory / "a.bin").stat().st_size + (directory / "b.bin").stat().st_size == 1_000_000


def test_an_archive_with_more_members_than_allowed_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "model.tar.gz"
    archive.write_bytes(zeros_archive({f"f{n}": 1 for n in range(6)}))

    with pytest.raises(ArtifactsError) as raised:
        resolve_artifacts(
            archive.as_uri(),
            environ={"PREDICTOR_CACHE_DIR": str(tmp_path / "c"), "PREDICTOR_MAX_ARCHIVE_MEMBERS": "5"},
        )

    assert str(raised.value).startswith(
        f"{archive.as_uri()} has more members than PREDICTOR_MAX_ARCHIVE_MEMBERS"
    )
    assert "allows (stopped at 'f5')" in str(raised.value)


@pytest.mark.parametrize(
    "member",
    [file("n" * 256), link("l" * 256, "target"), link("link", "t/" * 2100)],
    ids=["file", "link", "target"],
)
def test_a_member_too_long_for_the_filesystem_is_an_error_naming_it(tmp_path: Path, member: Member) -> None:
    with pytest.raises(ArtifactsError) as raised:
        resolve_artifacts(publish(tmp_path, [member]), environ={"PREDICTOR_CACHE_DIR": str(tmp_path / "c")})

    assert f"cannot extract archive member {member.info.name!r}: File name too long" in str(raised.value)


def test_a_corrupt_archive_is_an_error_saying_to_check_the_upload(tmp_path: Path) -> None:
    archive = tmp_path / "model.tar.gz"
    archive.write_bytes(b"\x1f\x8b" + os.urandom(2000))

    with pytest.raises(ArtifactsError) as raised:
        resolve_artifacts(archive.as_uri(), environ={"PREDICTOR_CACHE_DIR": str(tmp_path / "c")})

    assert str(raised.value).startswith(f"{archive.as_uri()}: not a readable tar archive (")
    assert str(raised.value).endswith("); check the upload")


def test_members_keep_only_the_owner_execute_bit(tmp_path: Path) -> None:
    tool, data = file("bin/tool"), file("data.bin")
    tool.info.mode, data.info.mode = 0o4777, 0o667  # others may execute data.bin: not kept

    directory = resolve_artifacts(
        publish(tmp_path, [tool, data]), environ={"PREDICTOR_CACHE_DIR": str(tmp_path / "c")}
    )

    assert (directory / "bin" / "tool").stat().st_mode & 0o7777 == 0o755 & ~current_umask()
    assert (directory / "data.bin").stat().st_mode & 0o7777 == 0o644 & ~current_umask()


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


RESOLVE = (
    "import sys\nfrom predictor.artifacts import ArtifactsError, resolve_artifacts\n"
    "try:\n    resolve_artifacts(sys.argv[1])\nexcept ArtifactsError as exc:\n    print(exc)\n"
)


def test_extraction_stops_before_the_cache_filesystem_fills_up(tmp_path: Path) -> None:
    archive = tmp_path / "model.tar.gz"
    archive.write_bytes(zeros_archive({"weights.bin": 40 * 1024 * 1024}))
    cache = tmp_path / "cache"
    cache.mkdir()
    # A 32 MiB tmpfs in a private mount namespace: 40 MiB of zeros cannot fit beside the headroom.
    script = 'mount -t tmpfs -o size=32m tmpfs "$0" && "$1" -c "$2" "$3"; df -k "$0" | tail -1'
    done = subprocess.run(
        ["unshare", "-Urm", "sh", "-c", script, str(cache), sys.executable, RESOLVE, archive.as_uri()],
        env=clean_environ(PREDICTOR_CACHE_DIR=str(cache), PYTHONPATH=str(REPO)),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    message, usage = done.stdout.strip().splitlines()
    assert message.startswith(f"{archive.as_uri()} ran out of space in {cache}/")
    assert "EphemeralStorage" in message
    assert int(usage.split()[2]) < 1024  # and the partial extraction was removed (KiB used)
