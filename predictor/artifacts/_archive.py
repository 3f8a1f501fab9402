"""Extract tar archives (SageMaker's model.tar.gz) so that nothing is written outside the target.

Directories and regular files are written first, every path component opened without
following links; hard links (to regular files already extracted) and symlinks (whose
targets stay inside by the rules in _layout) are created last, so no member is ever
written through a link, whatever the archive's order. The bytes written and the number
of members are bounded as extraction goes, not judged from the compressed size.
"""

from __future__ import annotations

import errno
import io
import os
import shutil
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from predictor.artifacts._cache import HEADROOM_BYTES, not_enough_space
from predictor.artifacts._errors import ArtifactsError
from predictor.artifacts._layout import Kind, Layout, LayoutError, RelativePath, symlink_stays_inside
from predictor.artifacts._nofollow import Tree
from predictor.artifacts._settings import MAX_EXTRACTED_BYTES_ENV, MAX_MEMBERS_ENV, FetchSettings

COPY_BYTES = 1024 * 1024


class _Refused(Exception):
    """A member this extractor will not write; the message says why."""


@dataclass
class _Budget:
    limit: int
    bytes_left: int
    members_left: int
    free_left: int  # what the filesystem had free at the start, less the runtime's headroom


def extract(archive: Path, target: Path, uri: str, settings: FetchSettings) -> None:
    """Extract into `target`; an unsafe or oversized member aborts with ArtifactsError naming it.

    The caller extracts into a staging directory and discards it on failure, so
    members written before the failing one never become visible.
    """
    tree = Tree(str(target))
    budget = _Budget(
        settings.max_extracted_bytes,
        settings.max_extracted_bytes,
        settings.max_members,
        shutil.disk_usage(target).free - HEADROOM_BYTES,
    )
    name = ""
    try:
        with tarfile.open(archive, "r:*") as tar:
            layout = Layout()
            links: list[tuple[tarfile.TarInfo, RelativePath]] = []
            for member in tar:
                name = member.name
                _count(member, budget, uri)
                path = layout.claim(member.name, _kind(member))
                if member.isdir():
                    tree.make_directory(path)
                elif member.isreg():
                    _write_file(tar, member, tree, path, budget, uri, target)
                else:
                    if member.issym() and not symlink_stays_inside(path, member.linkname):
                        raise _Refused(f"symlink pointing outside: {member.linkname!r}")
                    links.append((member, path))
            for member, path in links:  # hard links first: no symlink exists while they are made
                name = member.name
                if member.islnk():
                    tree.hard_link(_hard_link_source(member, layout), path)
            for member, path in links:
                name = member.name
                if member.issym():
                    tree.symlink(member.linkname, path)
    except (_Refused, LayoutError) as exc:
        raise ArtifactsError(f"{uri}: refusing unsafe archive member {name!r}: {exc}") from None
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        raise ArtifactsError(f"{uri}: not a readable tar archive ({exc}); check the upload") from None
    except OSError as exc:
        if exc.errno == errno.ENOSPC:  # another writer took the space the budget counted on
            raise _out_of_space(uri, target) from exc
        raise ArtifactsError(f"{uri}: cannot extract archive member {name!r}: {exc.strerror}") from exc
    finally:
        tree.close()


def _kind(member: tarfile.TarInfo) -> Kind:
    if member.isdir():
        return "directory"
    if member.isreg():
        return "file"
    if member.issym():
        return "symlink"
    if member.islnk():
        return "hardlink"
    raise _Refused("device, fifo or other special file")


def _count(member: tarfile.TarInfo, budget: _Budget, uri: str) -> None:
    budget.members_left -= 1
    if budget.members_left < 0:
        raise ArtifactsError(
            f"{uri} has more members than {MAX_MEMBERS_ENV} allows (stopped at {member.name!r}); "
            f"raise {MAX_MEMBERS_ENV} if the archive is trusted, otherwise check how it was built"
        )


def _write_file(
    tar: tarfile.TarFile,
    member: tarfile.TarInfo,
    tree: Tree,
    path: RelativePath,
    budget: _Budget,
    uri: str,
    target: Path,
) -> None:
    # A regular member always has a body, and tarfile gives it as a BufferedReader.
    source = cast(io.BufferedReader, tar.extractfile(member))
    fd = tree.create_file(path, 0o755 if member.mode & 0o100 else 0o644)
    buffer = memoryview(bytearray(min(COPY_BYTES, max(member.size, 1))))
    try:
        while count := source.readinto(buffer):
            budget.bytes_left -= count
            budget.free_left -= count
            if budget.bytes_left < 0:
                raise ArtifactsError(
                    f"{uri} expands past {MAX_EXTRACTED_BYTES_ENV}={budget.limit} bytes "
                    f"at member {member.name!r}; raise {MAX_EXTRACTED_BYTES_ENV} if the archive "
                    "is trusted, otherwise check how it was built"
                )
            if budget.free_left < 0:
                raise _out_of_space(uri, target)
            written = 0
            while written < count:
                written += os.write(fd, buffer[written:count])
    finally:
        os.close(fd)


def _out_of_space(uri: str, target: Path) -> ArtifactsError:
    return ArtifactsError(not_enough_space(uri, target, None, shutil.disk_usage(target).free))


def _hard_link_source(member: tarfile.TarInfo, layout: Layout) -> RelativePath:
    try:
        source = layout.claimed_path(member.linkname)
    except LayoutError as exc:
        raise _Refused(f"hard link pointing outside: {member.linkname!r} ({exc})") from None
    if source is None or layout.kind_of(source) != "file":
        raise _Refused(f"hard link to {member.linkname!r}, which is no regular file in the archive")
    return source
