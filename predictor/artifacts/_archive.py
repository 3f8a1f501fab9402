"""Extract tar archives (SageMaker's model.tar.gz) refusing anything that could escape."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path, PurePosixPath

from predictor.artifacts._errors import ArtifactsError


def extract(archive: Path, target: Path, uri: str) -> None:
    """Extract into `target`; an unsafe member aborts with ArtifactsError naming it.

    The caller extracts into a staging directory and discards it on failure, so
    members written before the unsafe one never become visible.
    """
    target.mkdir(parents=True, exist_ok=True)
    root = target.resolve()

    def check(member: tarfile.TarInfo, path: str) -> tarfile.TarInfo:
        reason = _unsafe_reason(member, root)
        if reason is not None:
            raise ArtifactsError(f"{uri}: refusing unsafe archive member {member.name!r}: {reason}")
        try:
            return tarfile.data_filter(member, path)
        except tarfile.FilterError as exc:
            raise ArtifactsError(f"{uri}: refusing unsafe archive member {member.name!r}: {exc}") from None

    try:
        with tarfile.open(archive, "r:*") as tar:
            tar.extractall(target, filter=check)
    except tarfile.TarError as exc:
        raise ArtifactsError(f"{uri}: not a readable tar archive ({exc}); check the upload") from None


def _unsafe_reason(member: tarfile.TarInfo, root: Path) -> str | None:
    name = PurePosixPath(member.name)
    if name.is_absolute() or member.name.startswith(("/", "\\")):
        return "absolute path"
    if ".." in name.parts:
        return "path contains '..'"
    if not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
        return "device, fifo or other special file"
    destination = (root / name).resolve()
    if not _inside(destination, root):
        return "path resolves outside the target directory"
    if member.issym():
        link = PurePosixPath(member.linkname)
        if link.is_absolute():
            return f"symlink to absolute path {member.linkname!r}"
        if not _inside((root / name.parent / link).resolve(), root):
            return f"symlink pointing outside: {member.linkname!r}"
    if member.islnk():
        link = PurePosixPath(member.linkname)
        if link.is_absolute() or not _inside((root / link).resolve(), root):
            return f"hard link pointing outside: {member.linkname!r}"
    return None


def _inside(path: Path, root: Path) -> bool:
    return path == root or str(path).startswith(str(root) + os.sep)
