# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Turns to trigger, between the runs that share a lock directory.

A scan module looks at what the cloud is scanning just before it triggers, and leaves out what
another run started. Two runs that look at the same moment and then trigger would still both
send an image the other sends too: billed twice. Runs that share the lock directory (by
default the runs of one user on one machine) take turns instead: one looks, triggers and sees
its trigger take effect while the others wait; the next one's look then sees that scan.

The lock is ``flock(2)`` on a file named after the cloud account; the kernel releases it when
the process ends, so a run that dies leaves no stale lock behind.

This is a private module of the collection; its interface may change without notice.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import stat
import tempfile

from ansible_collections.cloudsec.image_scan.plugins.module_utils import _clock

#: First and longest pause between two tries to take a lock another run holds.
FIRST_PAUSE = 0.05
LONGEST_PAUSE = 0.5

_BUSY = (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK)


class LockError(Exception):
    """The turn could not be taken: ``msg`` names the lock file and why."""


def default_dir():
    """The lock directory when none is given: one of this user's under the temporary directory."""
    return os.path.join(tempfile.gettempdir(), "cloudsec-image-scan-%d" % os.getuid())


def lock_file(lock_dir, *account):
    """The lock file of the account that ``account`` names (endpoint, project...) in ``lock_dir``
    (``None``: ``default_dir()``, created for this user alone), created if need be."""
    own = lock_dir is None
    lock_dir = default_dir() if own else lock_dir
    try:
        if not os.path.lexists(lock_dir):
            os.makedirs(lock_dir, mode=0o700, exist_ok=True)
        info = os.lstat(lock_dir)
    except OSError as exc:
        raise LockError("lock_dir %s cannot be created: %s" % (lock_dir, exc.strerror or exc))
    if not stat.S_ISDIR(info.st_mode):
        raise LockError("lock_dir %s is not a directory" % lock_dir)
    if own and info.st_uid != os.getuid():
        raise LockError("lock_dir %s belongs to another user; set lock_dir to a directory of this user" % lock_dir)
    name = hashlib.sha256("\n".join(str(part or "") for part in account).encode("utf-8")).hexdigest()[:32]
    return os.path.join(lock_dir, "trigger-%s.lock" % name)


@contextlib.contextmanager
def turn(path, timeout):
    """Hold the lock ``path`` for the ``with`` block, waiting at most ``timeout`` seconds for it.

    ``LockError`` when another holder keeps it longer, or when the file cannot be opened."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise LockError("the lock file %s cannot be opened: %s" % (path, exc.strerror or exc))
    try:
        deadline = _clock.monotonic() + max(timeout, 0)
        pause = FIRST_PAUSE
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in _BUSY:
                    raise LockError("the lock file %s cannot be locked: %s" % (path, exc.strerror or exc))
            left = deadline - _clock.monotonic()
            if left <= 0:
                raise LockError("another run held the lock file %s for more than lock_timeout (%s seconds)"
                                % (path, timeout))
            _clock.sleep(min(pause, left))
            pause = min(pause * 2, LONGEST_PAUSE)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
