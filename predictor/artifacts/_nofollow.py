"""Write below a root directory without ever following a link.

Every component is opened relative to its parent's descriptor with O_NOFOLLOW, so no
path, however long and whatever links exist, resolves anywhere but where it reads;
nothing depends on os.path.realpath, PATH_MAX or the interpreter's tarfile filters.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager

from predictor.artifacts._layout import RelativePath

_DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class Tree:
    """A root directory, held open; paths are tuples of components below it."""

    def __init__(self, root: str) -> None:
        os.makedirs(root, exist_ok=True)
        self.root_fd = os.open(root, _DIRECTORY_FLAGS)

    def close(self) -> None:
        os.close(self.root_fd)

    def make_directory(self, path: RelativePath) -> None:
        with self._directory(path):
            pass

    def create_file(self, path: RelativePath, mode: int) -> int:
        """A new regular file's descriptor, open for writing; an existing name is an error."""
        with self._directory(path[:-1]) as parent:
            return os.open(path[-1], _NEW_FILE_FLAGS, mode, dir_fd=parent)

    def hard_link(self, source: RelativePath, path: RelativePath) -> None:
        with self._directory(source[:-1]) as source_parent, self._directory(path[:-1]) as parent:
            os.link(source[-1], path[-1], src_dir_fd=source_parent, dst_dir_fd=parent, follow_symlinks=False)

    def symlink(self, target: str, path: RelativePath) -> None:
        with self._directory(path[:-1]) as parent:
            os.symlink(target, path[-1], dir_fd=parent)

    @contextmanager
    def _directory(self, path: RelativePath) -> Iterator[int]:
        """The descriptor of the directory at `path`, creating missing components as directories."""
        fd = os.dup(self.root_fd)
        try:
            for name in path:
                try:
                    child = os.open(name, _DIRECTORY_FLAGS, dir_fd=fd)
                except FileNotFoundError:
                    os.mkdir(name, 0o755, dir_fd=fd)
                    child = os.open(name, _DIRECTORY_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = child
            yield fd
        except OSError as exc:
            if exc.errno == errno.ELOOP:  # O_NOFOLLOW met a link where a directory was needed
                raise NotADirectoryError(errno.ENOTDIR, f"{'/'.join(path)} passes through a link") from exc
            raise
        finally:
            os.close(fd)
