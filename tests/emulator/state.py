"""In-memory state of both clouds: scannable units, scan tasks, indexes and statistics.

The state advances lazily: every API call first calls ``advance(now)``, which applies the
scan events (an image starts scanning, an image finishes, a task times out) whose time has
come. No background thread is needed and all times are real wall-clock times.

A *unit* is what one scan produces a result for:

- ``local``: one HSS local-image row, i.e. one (host, image) pair (H5);
- ``registry``: one HSS registry-image record (H6/H7);
- ``tcss``: one TCSS image, unique by image id over all hosts (T5).

Unit statuses use one internal vocabulary (``unscan``, ``waiting``, ``scanning``, ``success``,
``failed``, ``download_failed``, ``image_oversized``); hss.py and tcss.py translate it to
each API's words.
"""

import collections
import heapq
import random
import threading
import time
import uuid

import realism

# Outcomes of a finished scan, per unit kind: dataset outcome -> (status, failure reason).
_LOCAL_OUTCOME = {
    "success": ("success", ""),
    "failed": ("failed", None),  # None: the image's own failure_reason
    "image_oversized": ("failed", "huge_image"),
    "download_failed": ("failed", "image_not_exist_or_docker_api_fault"),
}
_REGISTRY_OUTCOME = {
    "success": ("success", ""),
    "failed": ("failed", None),
    "image_oversized": ("image_oversized", "image_over_sized"),
    "download_failed": ("download_failed", "download_failed"),
}
_TCSS_OUTCOME = {
    "success": ("success", ""),
    "failed": ("failed", "scan failed: the image could not be read from the container runtime"),
    "image_oversized": ("image_oversized", "image size exceeds the scan limit"),
    "download_failed": ("download_failed", "image download failed"),
}
FINAL = ("success", "failed", "download_failed", "image_oversized")
SEVERITY_RANK = {"critical": 4, "high": 3, "medium": 2, "low": 1}
SKEW_SECONDS = 600.0

# HSS scan_scope bits.
SCOPE_ALL = 0x7FFFFFFF
SCOPE_VUL = 0x000F0000
SCOPE_BASELINE = 0x0000F000
SCOPE_MALWARE = 0x00000F00


class Unit:
    __slots__ = ("kind", "idx", "image", "host", "hosts", "status", "pending", "prev_status",
                 "scan_time", "last_success", "failure", "agent_error", "vul_ids", "unsafe", "malicious",
                 "containers", "coll", "record_id", "scans")

    def __init__(self, kind, idx, image, coll):
        self.kind = kind
        self.idx = idx
        self.image = image
        self.coll = coll
        self.host = None
        self.hosts = ()
        self.status = "unscan"
        self.pending = None
        self.prev_status = None
        self.scan_time = 0.0
        self.last_success = 0.0  # when a scan of this unit last ended successfully (real clock)
        self.failure = ""
        self.agent_error = ""
        self.vul_ids = None
        self.unsafe = 0
        self.malicious = 0
        self.containers = 0
        self.record_id = 0
        self.scans = 0  # scans of this unit that ended since the dataset was (re)loaded

    @property
    def vul_num(self):
        return len(self.vul_ids) if self.vul_ids else 0


class Collection:
    """An ordered list of units with an index by status."""

    def __init__(self):
        self.units = []
        self.by_status = collections.defaultdict(set)
        self._version = 0
        self._cache = {}

    def add(self, unit):
        self.units.append(unit)
        self.by_status[unit.status].add(unit.idx)
        self._version += 1

    def set_status(self, unit, status):
        if unit.status == status:
            return
        self.by_status[unit.status].discard(unit.idx)
        unit.status = status
        self.by_status[status].add(unit.idx)
        self._version += 1

    def with_status(self, statuses):
        """Sorted indexes of the units in one of ``statuses`` (cached until a status changes)."""
        key = tuple(sorted(statuses))
        cached = self._cache.get(key)
        if cached is not None and cached[0] == self._version:
            return cached[1]
        found = set()
        for status in key:
            found |= self.by_status.get(status, set())
        result = sorted(found)
        self._cache[key] = (self._version, result)
        return result


class Task:
    """A scan task of either cloud.

    Two scan models (``State``): *per task* (``--scan-seconds``: a task takes that long whatever
    its size, its images spread evenly), or *per image* (``--image-seconds``: every image takes
    that long and a cloud scans ``--scan-parallelism`` images at a time across all its tasks).
    ``ready_at`` is when the task's effects become visible (``created`` + the ``lag`` profile).
    """

    def __init__(self, cloud, task_id, name, kind, created, units, duration, options, listed=True,
                 ready_at=None):
        self.cloud = cloud
        self.id = task_id
        self.name = name
        self.kind = kind  # "local" | "registry" | "tcss"
        self.listed = listed  # False for H3 batch scans: they have no H2 row
        self.created = created
        self.ready_at = created if ready_at is None else ready_at
        self.units = units
        total = len(units)
        self.per_image = duration is None
        if self.per_image:
            self.start_at = [None] * total
            self.done_at = [None] * total
        else:
            base = self.ready_at
            self.start_at = [base + duration * i / total for i in range(total)]
            self.done_at = [base + duration * (i + 1) / total for i in range(total)]
        self.ptr_start = 0
        self.ptr_done = 0
        self.started = 0
        self.last_done = None
        self.pending = total
        self.options = options
        self.state = "running"  # running | finished | stopped | timed_out
        self.ended = None
        self.scanned = 0
        self.success = 0
        self.failed = 0
        self.risky = 0
        self.safe = 0
        self.cancelled = 0
        self.failed_units = []
        self.image_seconds = None
        self.parallelism = 1
        timeout = options.get("timeout")
        self.deadline = self.ready_at + timeout if timeout else None

    @property
    def total(self):
        return len(self.units)

    @property
    def running(self):
        return self.state == "running"

    def visible(self, now):
        return now >= self.ready_at

    def queued(self, now):
        """Running, but no image of it has started scanning yet."""
        return self.running and (not self.visible(now) or self.started == 0)

    def progress(self, now):
        """Percent 0..100 (100 only once finished)."""
        if self.state == "finished":
            return 100
        if not self.total:
            return 0
        partial = 0.0
        if not self.per_image and self.running and self.ptr_done < self.total:
            start = self.start_at[self.ptr_done]
            end = self.done_at[self.ptr_done]
            if end > start:
                partial = min(1.0, max(0.0, (now - start) / (end - start)))
        return min(99, int(100 * (self.scanned + self.cancelled + partial) / self.total))

    def seconds_left(self, now):
        if not self.running or not self.total:
            return 0
        if self.per_image:
            left = self.pending * self.image_seconds / self.parallelism
            return max(0.0, left + max(0.0, self.ready_at - now))
        return max(0.0, self.done_at[-1] - now)


class State:
    def __init__(self, data, scan_seconds=10.0, seed=0, image_seconds=None, parallelism=1,
                 realism=(), lag_seconds=5.0):
        self.lock = threading.RLock()
        self.data = data
        self.scan_seconds = float(scan_seconds)
        self.image_seconds = float(image_seconds) if image_seconds else None
        self.parallelism = int(parallelism)
        self.seed = seed
        self.initial_realism = frozenset(realism)
        self.lag_seconds = float(lag_seconds)
        self.reset()

    def has(self, profile):
        """Whether the realism profile ``profile`` is on."""
        return profile in self.realism

    def clock(self, seconds):
        """A time as the server reports it (the ``skew`` profile runs 10 minutes ahead)."""
        if not seconds:
            return seconds
        return seconds + SKEW_SECONDS if "skew" in self.realism else seconds

    # -- building ------------------------------------------------------------------------------

    def reset(self):
        with self.lock:
            self.realism = set(self.initial_realism)
            self.queues = {"hss": collections.deque(), "tcss": collections.deque()}
            self.slots = {"hss": [0.0] * self.parallelism, "tcss": [0.0] * self.parallelism}
            self.in_flight = {"hss": [], "tcss": []}
            self.rng = random.Random(self.seed)
            self.vulns = self.data["vulnerabilities"]
            self._build_hss()
            self._build_tcss()
            self.tasks = {"hss": [], "tcss": []}
            self.tasks_by_id = {}
            self.active = []
            self.stats = {
                "requests": collections.Counter(),
                "rejected": collections.defaultdict(collections.Counter),
                "faults": collections.defaultdict(collections.Counter),
                "tasks_created": {"hss": 0, "tcss": 0},
                "images_scanned": {"hss": 0, "tcss": 0},
                "counters": collections.Counter({"tcss.deprecated_all": 0, "hss.batch_scans": 0}),
            }

    def _build_hss(self):
        images = {image["key"]: image for image in self.data["local_images"]}
        self.hss_hosts = [h for h in self.data["hosts"] if "hss" in h]
        self.hss_local = Collection()
        self.hss_local_by_host = {}
        self.hss_local_by_image_id = collections.defaultdict(list)
        self.hss_local_by_name = collections.defaultdict(list)
        for host in self.hss_hosts:
            rows = []
            if host["hss"]["agent_status"] in ("online", "offline"):
                for key in host["images"]:
                    unit = Unit("local", len(self.hss_local.units), images[key], self.hss_local)
                    unit.host = host
                    unit.containers = host["containers"].get(key, 0)
                    self.hss_local.add(unit)
                    rows.append(unit.idx)
                    self.hss_local_by_image_id[images[key]["hss_image_id"]].append(unit.idx)
                    self.hss_local_by_name[images[key]["name"]].append(unit.idx)
            self.hss_local_by_host[host["hss"]["host_id"]] = rows
        self.hss_host_by_name = collections.defaultdict(list)
        self.hss_host_by_ip = collections.defaultdict(list)
        for host in self.hss_hosts:
            self.hss_host_by_name[host["name"]].append(host)
            self.hss_host_by_ip[host["ip"]].append(host)
        self.hss_host_num = {k: len(v) for k, v in self.hss_local_by_image_id.items()}
        # Local images also get an int64 record id (H2 failed_images, H7 local_image rows).
        self.local_record_id = {image["key"]: 20001 + i
                                for i, image in enumerate(self.data["local_images"])}
        self.local_position = {image["key"]: i for i, image in enumerate(self.data["local_images"])}
        self.registry_position = {image["id"]: i
                                  for i, image in enumerate(self.data["registry_images"])}

        self.hss_registry = Collection()
        self.hss_registry_by_id = {}
        self.hss_registry_by_image_id = collections.defaultdict(list)
        for image in self.data["registry_images"]:
            unit = Unit("registry", len(self.hss_registry.units), image, self.hss_registry)
            unit.record_id = image["id"]
            self.hss_registry.add(unit)
            self.hss_registry_by_id[image["id"]] = unit
            self.hss_registry_by_image_id[image["image_id"]].append(unit.idx)

    def _build_tcss(self):
        images = {image["key"]: image for image in self.data["local_images"]}
        self.tcss_hosts = [h for h in self.data["hosts"] if "tcss" in h]
        self.tcss_host_by_id = {h["tcss"]["host_id"]: h for h in self.tcss_hosts}
        self.tcss_images = Collection()
        self.tcss_by_image_id = {}
        self.tcss_pairs = []  # (image unit idx, host) in host order
        for host in self.tcss_hosts:
            if host["tcss"]["status"] == "UNINSTALL":
                continue
            for key in host["images"]:
                image = images[key]
                unit = self.tcss_by_image_id.get(image["tcss_image_id"])
                if unit is None:
                    unit = Unit("tcss", len(self.tcss_images.units), image, self.tcss_images)
                    unit.hosts = []
                    self.tcss_images.add(unit)
                    self.tcss_by_image_id[image["tcss_image_id"]] = unit
                unit.hosts.append(host)
                unit.containers += host["containers"].get(key, 0)
                self.tcss_pairs.append((unit.idx, host))
        self.tcss_pairs_by_image = collections.defaultdict(list)
        self.tcss_pairs_by_host = collections.defaultdict(list)
        for n, (idx, host) in enumerate(self.tcss_pairs):
            self.tcss_pairs_by_image[idx].append(n)
            self.tcss_pairs_by_host[host["tcss"]["host_id"]].append(n)

    # -- statistics ------------------------------------------------------------------------------

    def count_request(self, op):
        with self.lock:
            self.stats["requests"][op] += 1

    def count_rejected(self, op, code):
        with self.lock:
            self.stats["rejected"][op][code] += 1

    def count_fault(self, kind, op):
        with self.lock:
            self.stats["faults"][kind][op] += 1

    def count(self, name):
        with self.lock:
            self.stats["counters"][name] += 1

    def stats_snapshot(self):
        with self.lock:
            stats = self.stats
            return {
                "requests": dict(stats["requests"]),
                "rejected": {op: dict(codes) for op, codes in stats["rejected"].items()},
                "faults": {kind: dict(ops) for kind, ops in stats["faults"].items()},
                "tasks_created": dict(stats["tasks_created"]),
                "images_scanned": dict(stats["images_scanned"]),
                "counters": dict(stats["counters"]),
            }

    # -- identifiers -----------------------------------------------------------------------------

    def new_uuid(self):
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def new_request_id(self):
        return uuid.uuid4().hex

    def new_tcss_task_id(self, now):
        return "%08x%016x" % (int(now) & 0xFFFFFFFF, self.rng.getrandbits(64))

    # -- scanning --------------------------------------------------------------------------------

    def unscannable(self, unit):
        """The reason ``unit`` cannot be scanned (``licences`` profile), else ``None``."""
        if "licences" not in self.realism:
            return None
        if unit.kind == "registry":
            position = self.registry_position[unit.image["id"]]
        else:
            position = self.local_position[unit.image["key"]]
        if position % realism.LICENCE_EVERY == realism.LICENCE_FIRST:
            return realism.NO_LICENCE_REASON
        return None

    def start_task(self, cloud, kind, name, units, options, now, listed=True, foreign=False):
        """Create and register a task over ``units`` (already filtered for pending ones).

        ``foreign``: a task started by someone else (not counted in ``tasks_created``)."""
        task_id = self.new_uuid() if cloud == "hss" else self.new_tcss_task_id(now)
        ready_at = now + self.lag_seconds if "lag" in self.realism else now
        duration = None if self.image_seconds else self.scan_seconds
        task = Task(cloud, task_id, name, kind, now, units, duration, options, listed, ready_at)
        task.image_seconds = self.image_seconds
        task.parallelism = self.parallelism
        task.marked = False
        for unit in units:
            unit.prev_status = unit.status
            unit.pending = task
        self.tasks[cloud].append(task)
        self.tasks_by_id[(cloud, task_id)] = task
        if listed and not foreign:
            self.stats["tasks_created"][cloud] += 1
        if units:
            self.active.append(task)
            if task.per_image:
                self.queues[cloud].extend((task, i) for i in range(len(units)))
            self._advance_task(task, now)
        else:
            task.state = "finished"
            task.ended = now
        return task

    def advance(self, now=None):
        now = time.time() if now is None else now
        with self.lock:
            if self.image_seconds:
                for cloud in ("hss", "tcss"):
                    self._run_scheduler(cloud, now)
            for task in list(self.active):
                self._advance_task(task, now)
        return now

    def _run_scheduler(self, cloud, now):
        """Per-image model: start queued images on free slots and finish those whose time came,
        in time order (``parallelism`` slots per cloud, ``image_seconds`` per image)."""
        queue = self.queues[cloud]
        slots = self.slots[cloud]
        flight = self.in_flight[cloud]
        seconds = self.image_seconds
        while queue:
            task, i = queue[0]
            unit = task.units[i]
            if not task.running or unit.pending is not task:
                queue.popleft()  # stopped or timed out meanwhile: takes no slot
                continue
            start = max(slots[0], task.ready_at)
            if task.deadline is not None and start >= task.deadline:
                queue.popleft()
                continue
            if start > now:
                break
            queue.popleft()
            heapq.heapreplace(slots, start + seconds)
            task.start_at[i] = start
            task.done_at[i] = start + seconds
            heapq.heappush(flight, (start + seconds, task.created, id(task), i, task))
        while flight and flight[0][0] <= now:
            done, _created, _ident, i, task = heapq.heappop(flight)
            if task.deadline is not None and done > task.deadline:
                continue
            unit = task.units[i]
            if task.running and unit.pending is task:
                self._finish_unit(unit, task, done)
                task.last_done = done

    def _advance_task(self, task, now):
        limit = now if task.deadline is None else min(now, task.deadline)
        if not task.marked and limit >= task.ready_at:
            task.marked = True  # the trigger's effects become visible
            for unit in task.units:
                if unit.pending is task:
                    unit.coll.set_status(unit, "waiting")
        total = task.total
        if task.per_image:
            while task.ptr_start < total:
                start = task.start_at[task.ptr_start]
                if start is None or start > limit:
                    break
                unit = task.units[task.ptr_start]
                if unit.pending is task:
                    unit.coll.set_status(unit, "scanning")
                task.ptr_start += 1
                task.started += 1
        else:
            while task.ptr_start < total and task.start_at[task.ptr_start] <= limit:
                unit = task.units[task.ptr_start]
                if unit.pending is task:
                    unit.coll.set_status(unit, "scanning")
                task.ptr_start += 1
                task.started += 1
            while task.ptr_done < total and task.done_at[task.ptr_done] <= limit:
                unit = task.units[task.ptr_done]
                if unit.pending is task:
                    self._finish_unit(unit, task, task.done_at[task.ptr_done])
                    task.last_done = task.done_at[task.ptr_done]
                task.ptr_done += 1
        if task.running and task.pending == 0:
            self._end_task(task, "finished" if not task.cancelled else "stopped",
                           task.last_done if task.last_done is not None else now)
        elif task.running and task.deadline is not None and now >= task.deadline:
            self._release_pending(task)
            self._end_task(task, "timed_out", task.deadline)

    def _end_task(self, task, state, when):
        task.state = state
        task.ended = when
        if task in self.active:
            self.active.remove(task)

    def _release_pending(self, task, units=None):
        """Put the task's unfinished units back to their previous status."""
        released = 0
        for unit in task.units if units is None else units:
            if unit.pending is task:
                unit.pending = None
                unit.coll.set_status(unit, unit.prev_status or "unscan")
                task.pending -= 1
                released += 1
        task.cancelled += released
        return released

    def stop_task(self, task, now):
        self._advance_task(task, now)
        if not task.running:
            return False
        self._release_pending(task)
        self._end_task(task, "stopped", now)
        return True

    def stop_units(self, units, now):
        """Stop scanning individual units (TCSS T4 by Images/Filters)."""
        by_task = collections.defaultdict(list)
        for unit in units:
            if unit.pending is not None and unit.pending.running:
                by_task[id(unit.pending)].append(unit)
        stopped = 0
        for group in by_task.values():
            task = group[0].pending
            stopped += self._release_pending(task, group)
            if task.pending == 0:
                self._end_task(task, "stopped", now)
        return stopped

    def _finish_unit(self, unit, task, when):
        image = unit.image
        outcome = image["outcome"]
        agent_error = ""
        if unit.kind == "local":
            status, reason = _LOCAL_OUTCOME[outcome]
            if unit.host["hss"]["agent_status"] != "online":
                status, reason = "failed", "failed_to_match_agent"
        elif unit.kind == "registry":
            status, reason = _REGISTRY_OUTCOME[outcome]
        else:
            status, reason = _TCSS_OUTCOME[outcome]
            if not any(h["tcss"]["status"] == "ONLINE" for h in unit.hosts):
                status, reason, agent_error = "failed", "", "agent offline"
        if reason is None:
            reason = image.get("failure_reason") or "unknown_error"
        unit.pending = None
        unit.prev_status = None
        unit.scan_time = when
        unit.failure = reason if status != "success" else ""
        unit.agent_error = agent_error
        task.pending -= 1
        task.scanned += 1
        unit.scans += 1
        self.stats["images_scanned"][task.cloud] += 1
        if status == "success":
            unit.last_success = when
            opts = task.options
            if opts.get("vul", True):
                unit.vul_ids = list(image["vulnerabilities"])
            if opts.get("baseline", True):
                unit.unsafe = image.get("unsafe_setting_num", 0)
            if opts.get("malware", True):
                unit.malicious = image.get("malicious_file_num", 0)
            task.success += 1
            if unit.vul_num or unit.unsafe or unit.malicious:
                task.risky += 1
            else:
                task.safe += 1
        else:
            task.failed += 1
            task.failed_units.append(unit)
        unit.coll.set_status(unit, status)

    # -- the scans view (admin route) --------------------------------------------------------

    def scans_snapshot(self, now):
        """Every unit's scan state on the real clock, for tests that judge a gate against it.

        Times are epoch seconds (``None``: never); ``clock_offset`` is what the server adds to
        the times it reports (the ``skew`` profile)."""

        def row(unit):
            pending = unit.pending
            return {
                "kind": unit.kind,
                "image": unit.image["key"] if unit.kind != "registry" else None,
                "record_id": unit.image["id"] if unit.kind == "registry" else None,
                "status": unit.status,
                "last_scan": unit.scan_time or None,
                "last_success": unit.last_success or None,
                "failure": unit.failure or None,
                "unscannable": self.unscannable(unit),
                "pending_task": pending.id if pending is not None and pending.running else None,
                "scans": unit.scans,
            }

        hss = []
        for unit in self.hss_local.units:
            hss.append(dict(row(unit), host=unit.host["name"], image_id=unit.image["hss_image_id"]))
        for unit in self.hss_registry.units:
            hss.append(dict(row(unit), host=None, image_id=unit.image["image_id"]))
        tcss = [dict(row(unit), hosts=[h["name"] for h in unit.hosts],
                     image_id=unit.image["tcss_image_id"]) for unit in self.tcss_images.units]
        return {"now": now, "clock_offset": self.clock(now) - now,
                "realism": [p for p in realism.PROFILES if p in self.realism],
                "hss": hss, "tcss": tcss}

    # -- vulnerabilities -------------------------------------------------------------------------

    def severity_of(self, vul_ids):
        best = 0
        for vid in vul_ids or ():
            best = max(best, SEVERITY_RANK[self.vulns[vid]["severity"]])
        return best

    def severity_counts(self, vul_ids):
        counts = {"critical": 0, "high": 0, "medium": 0, "low": 0}
        for vid in vul_ids or ():
            counts[self.vulns[vid]["severity"]] += 1
        return counts
