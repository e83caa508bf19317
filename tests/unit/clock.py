# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""A fake clock for the collection's one clock (``module_utils/_clock.py``)."""

from __future__ import annotations

import contextlib
import datetime

from ansible_collections.cloudsec.image_scan.plugins.module_utils import _clock

#: Wall time at which a fake clock starts: 2026-01-01T00:00:00Z.
WALL_START = 1767225600.0


class FakeClock(object):
    """Monotonic and wall time that only move when something sleeps."""

    def __init__(self, start=1000.0, wall=WALL_START):
        self.now = start
        self.start = start
        self.wall = wall
        self.sleeps = []

    def __call__(self):
        return self.now

    def monotonic(self):
        return self.now

    def time(self):
        return self.wall + (self.now - self.start)

    def sleep(self, seconds):
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


def install(monkeypatch, clock=None):
    """Make ``clock`` (a new ``FakeClock`` by default) the collection's clock; return it."""
    clock = clock or FakeClock()
    monkeypatch.setattr(_clock, "CLOCK", clock)
    return clock


class _Pinned(object):
    """A clock whose wall time is ``wall()`` (sleeping moves nothing)."""

    def __init__(self, wall):
        self.wall = wall

    def time(self):
        return self.wall()

    @staticmethod
    def monotonic():
        return 0.0

    @staticmethod
    def sleep(seconds):
        pass


@contextlib.contextmanager
def at(when):
    """Pin the collection's wall clock to ``when`` (epoch seconds, a naive UTC or an aware
    ``datetime``, or a function returning one) for the ``with`` block."""

    def wall():
        value = when() if callable(when) else when
        if isinstance(value, datetime.datetime):
            if value.tzinfo is None:
                value = value.replace(tzinfo=datetime.timezone.utc)
            return value.timestamp()
        return float(value)

    saved = _clock.CLOCK
    _clock.CLOCK = _Pinned(wall)
    try:
        yield
    finally:
        _clock.CLOCK = saved
