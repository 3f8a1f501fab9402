"""The tree an archive or an S3 listing describes: normalised relative paths, each claimed once.

Two names that normalise to the same path (`a//b` and `a/b`, `./x` and `x`), or a file that
another name needs as a directory (`a` and `a/b`), would otherwise let one silently win.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["directory", "file", "symlink", "hardlink"]
RelativePath = tuple[str, ...]


class LayoutError(ValueError):
    """A name that cannot take its place in the tree; the message names it (and its rival)."""


def normalise(name: str) -> RelativePath:
    """`name` as path components below the root: empty and `.` parts dropped, `..` and absolute refused."""
    if name.startswith(("/", "\\")):
        raise LayoutError(f"{name!r} is an absolute path")
    parts = tuple(part for part in name.split("/") if part not in ("", "."))
    if ".." in parts:
        raise LayoutError(f"{name!r} contains '..'")
    if "\0" in name:
        raise LayoutError(f"{name!r} contains a NUL character")
    return parts


def symlink_stays_inside(link: RelativePath, target: str) -> bool:
    """Whether a symlink at `link` pointing at `target` resolves inside the root.

    Lexically (posixpath.normpath of the join) the target must stay below the root; besides,
    every `..` must lead the target: after a component that may itself be a link, `..` climbs
    from wherever that link points (`y/..` with `y -> .` is the root's parent), which no
    lexical check can see. Given that every link in the tree obeys both rules, following
    any of them only ever descends from a real directory inside the root.
    """
    if not target or target.startswith("/") or "\0" in target:
        return False
    parts = [part for part in target.split("/") if part not in ("", ".")]
    climbs = 0
    while climbs < len(parts) and parts[climbs] == "..":
        climbs += 1
    if ".." in parts[climbs:] or climbs > len(link) - 1:
        return False
    joined = posixpath.normpath(posixpath.join("/".join(("root", *link[:-1])), target))
    return joined == "root" or joined.startswith("root/")


@dataclass
class Layout:
    """Paths claimed so far: by a member itself, or as a directory some member's path needs."""

    what: str = "member"  # "member" for archives, "key" for S3 listings: used in messages
    prefix: str = ""  # leading part of every name that is not part of its path (an S3 prefix)
    claimed: dict[RelativePath, tuple[Kind, str]] = field(default_factory=dict)
    implied: dict[RelativePath, str] = field(default_factory=dict)

    def claim(self, name: str, kind: Kind) -> RelativePath:
        """Record `name` as `kind`; LayoutError when it collides with a name claimed before."""
        path = normalise(name[len(self.prefix) :])
        if not path:
            if kind == "directory":
                return path  # "./": the root itself
            raise LayoutError(f"{self.what} {name!r} names the top directory itself")
        for depth in range(1, len(path)):
            parent = path[:depth]
            rival = self.claimed.get(parent)
            if rival is not None and rival[0] != "directory":
                raise LayoutError(
                    f"{self.what} {name!r} needs {'/'.join(parent)!r} as a directory, but "
                    f"{self.what} {rival[1]!r} is a {rival[0]}"
                )
            self.implied.setdefault(parent, name)
        earlier = self.claimed.get(path)
        if earlier is not None and not (kind == "directory" == earlier[0]):
            raise LayoutError(f"{self.what}s {earlier[1]!r} and {name!r} both name {'/'.join(path)!r}")
        if kind != "directory" and path in self.implied:
            raise LayoutError(
                f"{self.what} {name!r} is a {kind}, but {self.what} {self.implied[path]!r} "
                "needs it as a directory"
            )
        self.claimed[path] = (kind, name)
        return path

    def claimed_path(self, name: str) -> RelativePath | None:
        path = normalise(name)
        return path if path in self.claimed else None

    def kind_of(self, path: RelativePath) -> Kind | None:
        claimed = self.claimed.get(path)
        return claimed[0] if claimed is not None else None
