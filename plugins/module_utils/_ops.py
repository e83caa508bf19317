# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What every scan operation of either cloud is made of, written once.

- ``ModuleError``: the one way an operation ends a run as failed, with the result so far.
  The module base class catches it (and ``ApiError``) in one place.
- ``wait_for`` / ``wait``: poll until done, with a monotonic deadline and a growing pause; a
  wait that runs out fails with everything known (``timed_out``).
- ``send_once``: send a call that is not idempotent (a trigger, a stop) once per intent; after
  an ambiguous failure, look at its effect before anything is sent again.

Time comes from ``_clock``. Pure standard library, no I/O of its own.

This is a private module of the collection; its interface may change without notice.
"""

from __future__ import annotations

from ansible_collections.cloudsec.image_scan.plugins.module_utils import _clock, _scan
from ansible_collections.cloudsec.image_scan.plugins.module_utils._http import ApiError


class ModuleError(Exception):
    """End the module run as failed.

    ``msg`` says what failed; an ``ApiError`` given as ``error`` adds its text to ``msg`` and its
    fields under ``error`` (any other ``error`` is put there as it is). The other keyword arguments are result keys (what was started, the
    task, its progress...). The base class adds them to the result built so far.
    """

    def __init__(self, msg, error=None, **result):
        if isinstance(error, ApiError):
            msg = "%s: %s" % (msg, error) if msg else str(error)
            result["error"] = error.to_dict()
        elif error is not None:
            result["error"] = error
        super(ModuleError, self).__init__(msg)
        self.msg = msg
        self.result = dict(result, msg=msg)


# ---------------------------------------------------------------------------------------------
# Waiting
# ---------------------------------------------------------------------------------------------


class WaitTimeout(Exception):
    """The deadline passed before the wait was over; ``last`` is the last poll's result."""

    def __init__(self, last):
        super(WaitTimeout, self).__init__("timed out waiting")
        self.last = last


def wait_for(poll, is_done, timeout, sleep, max_sleep=None):
    """Call ``poll()`` until ``is_done(result)``; return the last result.

    The deadline is monotonic (``timeout`` seconds from now). The pause between polls starts
    at ``sleep`` seconds and grows by half each time up to ``max_sleep`` (default four times
    ``sleep``, at most 60), never sleeping past the deadline. Raises ``WaitTimeout`` carrying
    the last result when the deadline passes first.
    """
    deadline = _clock.monotonic() + max(float(timeout), 0.0)
    pause = max(float(sleep), 0.1)
    ceiling = float(max_sleep) if max_sleep else min(max(pause * 4, pause), 60.0)
    result = poll()
    while not is_done(result):
        remaining = deadline - _clock.monotonic()
        if remaining <= 0:
            raise WaitTimeout(result)
        _clock.sleep(min(pause, remaining))
        pause = min(pause * 1.5, ceiling)
        result = poll()
    return result


def timed_out(what, timeout, task=None, triggered_at=None, progress=None, hint="run again to wait further",
              **result):
    """The ``ModuleError`` of a wait that ran out, naming everything known: the task (its id and
    progress), when the scan was triggered, and how to resume."""
    facts = []
    task_id = (task or {}).get("id")
    if task is not None:
        facts.extend(["task ID %s" % (task_id or "unknown"), "status %s" % task.get("status"),
                      "progress %s%%" % task.get("progress")])
        if progress is None:
            progress = task.get("progress")
    elif progress is not None:
        facts.append("%s of %s done" % (progress.get("done"), progress.get("total")))
    if triggered_at:
        facts.append("triggered at %s" % triggered_at)
    msg = "Timed out after %s seconds waiting for %s" % (timeout, what)
    if facts:
        msg += " (%s)" % ", ".join(facts)
    if task is not None:
        result.update(task=task, task_id=task_id)
    return ModuleError("%s; %s" % (msg, hint), progress=progress, triggered_at=triggered_at, **result)


def wait(poll, is_done, timeout, sleep, on_timeout):
    """``wait_for``, failing with ``on_timeout(last)`` (a ``ModuleError``, see ``timed_out``)
    when the deadline passes first."""
    try:
        return wait_for(poll, is_done, timeout, sleep)
    except WaitTimeout as exc:
        raise on_timeout(exc.last)


# ---------------------------------------------------------------------------------------------
# Sending a call that is not idempotent
# ---------------------------------------------------------------------------------------------

APPLIED = "applied"
NOT_APPLIED = "not_applied"
UNKNOWN = "unknown"


class Look(object):
    """What a look at the state after an unanswered call found.

    ``verdict`` is ``applied`` (``value`` is the evidence, such as the task created),
    ``not_applied`` (proven: the call may be sent again; ``resend``, when given, is the call to
    send instead, such as the part of a batch that was not applied) or ``unknown``.
    """

    def __init__(self, verdict, value=None, resend=None):
        self.verdict = verdict
        self.value = value
        self.resend = resend


def applied(value=None):
    return Look(APPLIED, value=value)


def not_applied(resend=None):
    return Look(NOT_APPLIED, resend=resend)


def unknown():
    return Look(UNKNOWN)


class Timed(object):
    """A send that remembers when it last ended (its answer or its failure): the start deadline
    of a trigger counts from there, since a request slow to answer, or one that timed out, may
    have been applied only then, and a request sent again has a start deadline of its own."""

    def __init__(self, send):
        self._send = send
        self.end = _clock.monotonic()

    def __call__(self):
        try:
            return self._send()
        finally:
            self.end = _clock.monotonic()

    def since(self):
        """Seconds since the last send ended."""
        return _clock.monotonic() - self.end


class Sent(object):
    """The outcome of ``send_once``: the call's ``answer``, or the ``look`` that proved it
    applied although its answer was lost; ``attempts`` and the time of the first send."""

    def __init__(self, answer=None, look=None, attempts=1, sent_at=None):
        self.answer = answer
        self.look = look
        self.attempts = attempts
        self.sent_at = sent_at

    @property
    def answered(self):
        return self.look is None


def send_once(what, send, look, resends, confirm_timeout=0, confirm_sleep=1):
    """Send a call that is not idempotent once per intent; return a ``Sent``.

    The one rule of the collection for every trigger and stop:

    1. A call that answers, or fails clearly (an ``ApiError`` that is not ``ambiguous``), is
       not sent again here: the answer is returned, the error raised.
    2. After an ambiguous failure (no usable answer: the call may have been applied),
       ``look()`` compares the state before the call with the state now and returns a
       ``Look``.
    3. ``applied``: done; the call took effect although its answer was lost.
    4. ``unknown``: look again, pausing ``confirm_sleep`` seconds, until ``confirm_timeout``
       seconds after the failure: an unconfirmed call is waited for, never sent again. Still
       unknown then: ``ModuleError`` naming the call and when it was sent.
    5. ``not_applied`` (proven): send again (``Look.resend`` when given), at most ``resends``
       times in all; then ``ModuleError`` with the last error.
    """
    sent_at = _clock.utc_iso()
    attempts = 0
    while True:
        attempts += 1
        try:
            return Sent(answer=send(), attempts=attempts, sent_at=sent_at)
        except ApiError as exc:
            if not exc.ambiguous:
                raise
            error = exc
        try:
            found = wait_for(look, lambda seen: seen.verdict != UNKNOWN, confirm_timeout, confirm_sleep,
                             max_sleep=confirm_sleep)
        except WaitTimeout:
            raise ModuleError("%s may have been applied (first sent at %s) but nothing confirms it after %s "
                              "seconds; it is not sent again" % (what, sent_at, confirm_timeout), error=error,
                              triggered_at=sent_at)
        if found.verdict == APPLIED:
            return Sent(look=found, attempts=attempts, sent_at=sent_at)
        if attempts > resends:
            raise ModuleError("%s was not applied after %d attempts" % (what, attempts), error=error,
                              triggered_at=sent_at)
        if found.resend is not None:
            send = found.resend


# ---------------------------------------------------------------------------------------------
# Confirming a trigger's effect
# ---------------------------------------------------------------------------------------------


def effect_seen(before, now):
    """Whether the normalised image ``now`` shows the effect of a scan triggered when it was
    ``before`` (an ``image_ref`` of the plan): it is waiting or being scanned, or its last scan
    is newer than the one known before. Both times are on the cloud's clock."""
    if now.get("scan_status") in _scan.IMAGE_IN_PROGRESS:
        return True
    then = _scan.iso_to_epoch((before or {}).get("latest_scan_time"))
    scanned = _scan.iso_to_epoch(now.get("latest_scan_time"))
    return scanned is not None and (then is None or scanned > then)


class Effects(object):
    """Which of the images a trigger targeted show its effect yet (``effect_seen``), and the
    start deadline (``start_timeout`` seconds after ``started``, monotonic) by which they must.

    A cloud may show a trigger's effect late: until then the images keep their previous state,
    so that neither "not in progress" nor "in progress" alone says the trigger was applied or
    that its scan is over.
    """

    def __init__(self, refs, key, start_timeout, started=None):
        self.key = key
        self.before = dict((key(ref), ref) for ref in refs)
        self.confirmed = set()
        self.start_deadline = (_clock.monotonic() if started is None else started) + max(start_timeout or 0, 0)

    def see(self, images):
        """Confirm the images among ``images`` (normalised) that show the effect."""
        for image in images:
            found = self.key(image)
            if found in self.before and effect_seen(self.before[found], image):
                self.confirmed.add(found)

    def see_keys(self, keys):
        """Confirm the images of ``keys`` (seen waiting or being scanned)."""
        self.confirmed.update(key for key in keys if key in self.before)

    def unconfirmed(self):
        return [key for key in self.before if key not in self.confirmed]

    def expired(self):
        return _clock.monotonic() >= self.start_deadline


# ---------------------------------------------------------------------------------------------
# The cloud's clock
# ---------------------------------------------------------------------------------------------


def clock_offset(measured, images=(), now=None):
    """Seconds the cloud's clock is ahead of ours (negative: behind): ``measured`` (the
    transport's ``clock_offset`` from the answers' ``Date``; ``None``: unknown, taken as 0), and
    at least as much as the newest scan time of ``images`` is in our future (no scan ends after
    the cloud's now)."""
    now = _clock.now() if now is None else now
    offset = measured or 0.0
    for image in images:
        scanned = _scan.iso_to_epoch(image.get("latest_scan_time"))
        if scanned is not None and scanned - now > offset:
            offset = scanned - now
    return offset


def localise_scan_times(images, offset):
    """Add ``latest_scan_time_local`` to each normalised image: its ``latest_scan_time`` (the
    cloud's clock) on ours, the time to measure a scan's age with. ``latest_scan_time`` stays
    the cloud's, the time to compare with its other times."""
    for image in images:
        scanned = _scan.iso_to_epoch(image.get("latest_scan_time"))
        image["latest_scan_time_local"] = None if scanned is None else _clock.utc_iso(scanned - offset)
    return images


# ---------------------------------------------------------------------------------------------
# One run of a scan module
# ---------------------------------------------------------------------------------------------


class ScanRun(object):
    """The state and result of one run of a scan module, with the same keys on both clouds:
    ``changed``, ``msg``, ``attached``, ``task``, ``tasks``, ``images_triggered``,
    ``images_skipped`` and ``raw``.

    ``result`` is the result so far: the module's ``execute`` reports it when the run fails.
    Every wait of the run shares one deadline, ``wait_timeout`` seconds from the start.
    """

    def __init__(self, module, raw):
        self.module = module
        self.params = module.params
        self.check_mode = module.check_mode
        self.triggered_at = None
        self.result = dict(changed=False, msg="", attached=False, task=None, tasks=[], images_triggered=[],
                           images_skipped=[], raw=raw)
        self.deadline = _clock.monotonic() + (self.params.get("wait_timeout") or 0)

    def remaining(self):
        """Seconds left before the run's deadline."""
        return max(self.deadline - _clock.monotonic(), 0)

    def track(self, task, replaces=None):
        """Record ``task`` as the run's latest task (in place of ``replaces`` when given)."""
        tasks = self.result["tasks"]
        for index, known in enumerate(tasks):
            if known is replaces or (replaces is None and known.get("id") and known.get("id") == task.get("id")):
                tasks[index] = task
                break
        else:
            tasks.append(task)
        self.result["task"] = tasks[-1]
        return task

    def plan(self, triggered, skipped):
        self.result["images_triggered"] = triggered
        self.result["images_skipped"] = skipped

    def done(self, msg, **extra):
        """The final result, with ``msg``."""
        self.result.update(extra, msg=msg)
        return self.result

    def wait_task(self, task, poll, what="the scan task", own=True, finish=None):
        """Poll a normalised task until it ends, within the run's deadline.

        ``poll()`` returns the task as read now; ``finish(task)``, when given, completes the
        ended task (with what another API knows of it). A wait that runs out fails with the task,
        its progress and the trigger time; a task of this run (``own``) that ends otherwise than
        ``succeeded`` fails the run too.
        """
        current = {"task": task}

        def read():
            current["task"] = self.track(poll(), replaces=current["task"])
            return current["task"]

        def on_timeout(last):
            return timed_out(what, self.params["wait_timeout"], task=last, triggered_at=self.triggered_at,
                             hint="run again with task_id to resume waiting")

        ended = wait(read, lambda seen: _scan.task_is_done(seen.get("status")), self.remaining(),
                     self.params["wait_sleep"], on_timeout)
        if finish is not None:
            ended = self.track(finish(ended), replaces=ended)
        if own and ended.get("status") != _scan.TASK_SUCCEEDED:
            raise ModuleError("Task %s ended with status %s" % (ended.get("id") or "(unnamed)", ended.get("status")))
        return ended
