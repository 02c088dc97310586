"""Reading an input file safely: a regular file of bounded size, never blocking.

A path a user gives may be a FIFO (open() would wait for a writer forever), a device such as
/dev/zero (read() would fill the memory), a directory or a huge file. Each is refused with one
line before anything is read, and a file that grows while it is read is cut at the limit.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from pricing.errors import CatalogError, Problem

# Stated limits (README "Errors"): the largest real scenario is a few kB and the largest embedded
# table under 100 kB, so these leave room for generated inputs while bounding memory and time.
MAX_SCENARIO_BYTES = 10 * 1024 * 1024
MAX_TABLE_BYTES = 100 * 1024 * 1024


class InputFileError(CatalogError):
    """An input path that is not a readable regular file of bounded size."""


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _mb(n: int) -> str:
    # One decimal: 11,000,003 bytes read "is 10 MB; the limit is 10 MB" (review8b nit).
    return f"{n / 1024 / 1024:,.1f} MB"


def read_bounded(path: Path, limit: int, label: str | None = None) -> bytes:
    """The bytes of `path` if it is a regular file of at most `limit` bytes; InputFileError
    (one line naming `label`, default the path) otherwise."""
    where = label or str(path)

    def refuse(why: str) -> InputFileError:
        return InputFileError([Problem(where, None, None, why)])

    try:
        # O_NONBLOCK: opening a FIFO without a writer returns at once instead of waiting.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise refuse("no such file") from None
    except IsADirectoryError:
        raise refuse("is a directory, not a file") from None
    except OSError as exc:
        raise refuse(f"cannot open: {exc.strerror or type(exc).__name__}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise refuse(f"is {_kind(info.st_mode)}, not a regular file")
        if info.st_size > limit:
            raise refuse(f"is {_mb(info.st_size)}; the limit is {_mb(limit)}")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:  # it grew while being read
            raise refuse(f"is larger than the limit of {_mb(limit)}")
        return b"".join(chunks)
    except OSError as exc:
        raise refuse(f"cannot read: {exc.strerror or type(exc).__name__}") from None
    finally:
        os.close(fd)
