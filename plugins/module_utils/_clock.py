# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one clock of the collection: wall time, monotonic time and sleeping.

Every layer (the retry policy, the clients' signatures, the waits, the plans, the action
plugins) reads time through the functions below, so a test replaces ``CLOCK`` once and the
whole run follows its clock.

This is a private module of the collection; its interface may change without notice.
"""

from __future__ import annotations

import datetime
import time


class SystemClock(object):
    """The process's clocks. A replacement needs the same three methods."""

    @staticmethod
    def time():
        return time.time()

    @staticmethod
    def monotonic():
        return time.monotonic()

    @staticmethod
    def sleep(seconds):
        time.sleep(seconds)


#: The clock every function below reads; tests replace it.
CLOCK = SystemClock()


def now():
    """Wall time, epoch seconds."""
    return CLOCK.time()


def monotonic():
    """Monotonic seconds, for deadlines."""
    return CLOCK.monotonic()


def sleep(seconds):
    """Sleep ``seconds`` (nothing for zero or less)."""
    if seconds > 0:
        CLOCK.sleep(seconds)


def utc_now():
    """The wall time as an aware UTC ``datetime``."""
    return datetime.datetime.fromtimestamp(now(), datetime.timezone.utc)


def utc_iso(epoch=None):
    """ISO 8601 UTC text (``2025-01-02T03:04:05Z``) of ``epoch`` seconds, now by default."""
    when = utc_now() if epoch is None else datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")
