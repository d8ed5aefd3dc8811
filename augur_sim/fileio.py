"""Output files are written whole or not at all: temp file in the same folder, then rename."""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

from .errors import AugurError


def _default_mode() -> int:
    umask = os.umask(0o022)  # read the umask (the only portable way is to set it) and restore it
    os.umask(umask)
    return 0o666 & ~umask


def check_writable(path) -> Path:
    """Refuse a path atomic_path would refuse, before any slow work is done for it."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise AugurError(f"cannot write: folder '{parent}' does not exist", file=str(path))
    if path.is_dir():
        raise AugurError("cannot write: this is a folder; expected a file path", file=str(path))
    return path


@contextmanager
def atomic_path(path):
    """Yield a temporary path beside `path`; on success it replaces `path`, on error it vanishes."""
    path = check_writable(path)
    parent = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix or ".tmp", dir=parent)
    except OSError as err:
        raise AugurError(f"cannot write: {err.strerror or err}", file=str(path))
    os.close(fd)
    try:
        yield Path(tmp)
        # mkstemp creates 0600; an output file should get the mode a plain open() would give.
        os.chmod(tmp, _default_mode())
        try:
            os.replace(tmp, path)
        except OSError as err:
            raise AugurError(f"cannot write: {err.strerror or err}", file=str(path))
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def atomic_write_text(path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


# Descriptor files are text of at most a few MB; refusing huge files early keeps a
# mistaken path (a 2 GB weights file) from eating the machine's memory.
MAX_TEXT_BYTES = 64 << 20


def read_text(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_TEXT_BYTES:
            raise AugurError(f"file is {size} bytes; a descriptor is expected to be under "
                             f"{MAX_TEXT_BYTES >> 20} MiB (is this a weights file?)", file=str(path))
        data = path.read_bytes()
    except OSError as e:
        raise AugurError(f"cannot read: {e.strerror}", file=str(path))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise AugurError("not UTF-8 text (is this a binary file?)", file=str(path), line=line)
