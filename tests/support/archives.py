"""Archives built member by member, including the members no safe extractor may write."""

from __future__ import annotations

import io
import tarfile
from dataclasses import dataclass


@dataclass
class Member:
    info: tarfile.TarInfo
    data: bytes = b""


def file(name: str, data: bytes = b"payload") -> Member:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return Member(info, data)


def directory(name: str) -> Member:
    info = tarfile.TarInfo(name)
    info.type, info.mode = tarfile.DIRTYPE, 0o755
    return Member(info)


def link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> Member:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return Member(info)


def special(name: str, kind: bytes) -> Member:
    info = tarfile.TarInfo(name)
    info.type, info.devmajor, info.devminor = kind, 1, 3
    return Member(info)


def tar_gz(members: list[Member]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for member in members:
            archive.addfile(member.info, io.BytesIO(member.data) if member.data else None)
    return buffer.getvalue()
