"""Fault injection and rate limiting.

A fault plan is a JSON object (see README.md, "Faults")::

    {"seed": 1,
     "throttle": 0.1,
     "server_error": {"p": 0.5, "times": 2, "ops": ["hss.*"], "status": 503},
     "latency": {"p": 1.0, "seconds": 0.3},
     "reset_before": {"p": 1.0, "times": 1, "ops": ["tcss.CreateAssetImageScanTask"]},
     "reset_after": {"p": 1.0, "times": 1, "ops": ["hss.CreateManualImageScanTask"]},
     "garbled": 0.05}

A plain number is the probability for every operation. ``ops`` entries are operation names
(``hss.<SdkApiName>``, ``tcss.<Action>``) or shell-style patterns (``hss.*``, ``tcss.Describe*``).
``times`` caps how often the fault fires (then it is spent).
"""

import fnmatch
import json
import os
import random
import threading
import time

KINDS = ("throttle", "server_error", "latency", "reset_before", "reset_after", "garbled")
_RULE_KEYS = {"p", "times", "ops", "seconds", "status", "retry_after"}


class FaultSpecError(ValueError):
    pass


class Rule:
    def __init__(self, kind, spec):
        if isinstance(spec, bool) or not isinstance(spec, (int, float, dict)):
            raise FaultSpecError("%s: a probability or an object is expected" % kind)
        if not isinstance(spec, dict):
            spec = {"p": spec}
        unknown = set(spec) - _RULE_KEYS
        if unknown:
            raise FaultSpecError("%s: unknown keys %s" % (kind, ", ".join(sorted(unknown))))
        self.kind = kind
        self.p = float(spec.get("p", 1.0))
        if not 0.0 <= self.p <= 1.0:
            raise FaultSpecError("%s.p must be between 0 and 1" % kind)
        times = spec.get("times")
        if times is not None and (isinstance(times, bool) or not isinstance(times, int)
                                  or times < 0):
            raise FaultSpecError("%s.times must be a non-negative integer" % kind)
        self.remaining = times
        ops = spec.get("ops")
        if ops is not None and (not isinstance(ops, list)
                                or not all(isinstance(o, str) for o in ops)):
            raise FaultSpecError("%s.ops must be a list of operation names" % kind)
        self.ops = ops
        self.seconds = float(spec.get("seconds", 1.0))
        self.status = spec.get("status")
        if self.status is not None and self.status not in (500, 502, 503, 504):
            raise FaultSpecError("%s.status must be 500, 502, 503 or 504" % kind)
        self.retry_after = int(spec.get("retry_after", 1))

    def matches(self, op):
        if self.ops is None:
            return True
        return any(fnmatch.fnmatchcase(op, pattern) for pattern in self.ops)


class FaultPlan:
    """Decides, per request and kind, whether a fault fires. Thread-safe and seeded."""

    def __init__(self, spec=None, default_seed=0):
        spec = spec or {}
        if not isinstance(spec, dict):
            raise FaultSpecError("the fault spec must be a JSON object")
        unknown = set(spec) - set(KINDS) - {"seed"}
        if unknown:
            raise FaultSpecError("unknown fault kinds: %s" % ", ".join(sorted(unknown)))
        seed = spec.get("seed", default_seed)
        self.spec = spec
        self.rng = random.Random(seed)
        self.rules = {kind: Rule(kind, spec[kind]) for kind in KINDS if kind in spec}
        self.lock = threading.Lock()

    def fire(self, kind, op):
        """Return the rule if fault ``kind`` fires for operation ``op`` now, else ``None``."""
        rule = self.rules.get(kind)
        if rule is None or not rule.matches(op):
            return None
        with self.lock:
            if rule.remaining == 0:
                return None
            if rule.p < 1.0 and self.rng.random() >= rule.p:
                return None
            if rule.remaining is not None:
                rule.remaining -= 1
            return rule

    def pick(self, choices):
        with self.lock:
            return self.rng.choice(choices)


def parse_spec(text):
    """A fault SPEC from the command line: inline JSON, or the path of a JSON file."""
    text = text.strip()
    if not text.startswith("{") and os.path.exists(text):
        with open(text, "r", encoding="utf-8") as handle:
            text = handle.read()
    try:
        spec = json.loads(text)
    except ValueError as exc:
        raise FaultSpecError("--faults is neither JSON nor a readable JSON file: %s" % exc) from exc
    FaultPlan(spec)  # validate
    return spec


class TokenBucket:
    """At most ``rate`` requests per second (bursts up to ``rate``)."""

    def __init__(self, rate):
        self.rate = float(rate)
        self.tokens = float(rate)
        self.stamp = time.monotonic()
        self.lock = threading.Lock()

    def take(self):
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.rate, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1.0:
                self.tokens -= 1.0
                return True
            return False
