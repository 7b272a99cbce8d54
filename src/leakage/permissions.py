"""File modes as the user's umask wants them, for files and folders made through :mod:`tempfile`.

``tempfile.mkstemp`` and ``tempfile.mkdtemp`` create their file 0600 and their folder 0700 whatever the umask
(they are meant to be private). A file or folder made that way and then renamed into place as a result (an
atomic write) would stay private: a store on a team's or a cluster's shared file system would be unreadable to
the other accounts and batch jobs. :func:`honour_umask` gives such a path the mode ``open`` / ``mkdir`` would
have given it (``0o666 & ~umask`` for a file, ``0o777 & ~umask`` for a folder).

The umask is read without changing it where the system says it (``Umask:`` in ``/proc/self/status``, Linux 4.7
and later); elsewhere by setting it and setting it back at once, under a lock, so two threads of this process
never see the temporary value through this module.
"""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

_LOCK = threading.Lock()


def current_umask() -> int:
    """The process's umask (e.g. ``0o022``), read without changing it where the system allows."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _LOCK:
        mask = os.umask(0o077)
        os.umask(mask)
    return mask


def default_mode(is_dir: bool) -> int:
    """The mode ``mkdir`` (``is_dir``) or ``open`` would give a new folder or file under the current umask."""
    return (0o777 if is_dir else 0o666) & ~current_umask()


def honour_umask(path: str | os.PathLike[str]) -> None:
    """Give ``path`` (a file or folder this process just made, e.g. with ``tempfile``) the mode ``open`` or
    ``mkdir`` would have given it under the current umask. Only the folder itself, not what lies inside."""
    path = Path(path)
    os.chmod(path, default_mode(stat.S_ISDIR(path.stat().st_mode)))
