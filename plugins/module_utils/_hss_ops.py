# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The HSS operations behind the ``hss_*`` modules: listing, triggering, following and
stopping scans. Every call goes through the client; every trigger and stop through
``_ops.send_once``, every wait through ``_ops``; shapes and checks come from ``_hss_shapes``.

API labels (H1..H8) as in docs/architecture.md.

This is a private module of the collection; its interface may change without notice.
"""

from __future__ import annotations

from ansible_collections.cloudsec.image_scan.plugins.module_utils import _clock, _ops, _scan
from ansible_collections.cloudsec.image_scan.plugins.module_utils import _hss_shapes as hs
from ansible_collections.cloudsec.image_scan.plugins.module_utils._http import ApiError

#: The list API of each image type.
LIST_API = {"local": "ListImageLocal", "registry": "ListRegistryImages"}
#: Images given one by one are listed with one filtered call each up to this many; above it,
#: one walk over every image is cheaper.
FILTERED_LISTING_MAX = 10
#: Seconds our clock may be behind or ahead of the cloud's when H2 is asked for the tasks created
#: since a trigger (``create_time``): the API gateway refuses signatures more than 15 minutes off.
CLOCK_SKEW_MARGIN = 15 * 60
#: Rows of H2 read unfiltered when the ``create_time`` listing shows no new task (a queued task may
#: report no start time yet).
TASK_LOOKUP_MAX = 1000


def walk(client, operation, max_results=None, **query):
    """Every row of an HSS list API (``None`` filters dropped), or the first ``max_results``."""
    query = dict((key, value) for key, value in query.items() if value is not None)
    return client.paginate(operation, query, max_results=max_results)


def walk_statuses(client, operation, statuses, key, **query):
    """The rows of every scan state in ``statuses`` (one filtered walk per H5/H6 word), each once."""
    if not statuses:
        return walk(client, operation, **query)
    rows, seen = [], set()
    for word in _scan.unique(w for status in statuses for w in hs.STATUS_FILTERS[status]):
        for row in walk(client, operation, scan_status=word, **query):
            if key(row) not in seen:
                seen.add(key(row))
                rows.append(row)
    return rows


# ---------------------------------------------------------------------------------------------
# Info
# ---------------------------------------------------------------------------------------------


def vulnerability_query(row, image_type):
    """The H8 query that names the image of an H5/H6 row."""
    if image_type == "local":
        return dict(image_type="local_image", image_name=row.get("image_name"), tag_name=row.get("image_version"))
    return dict(image_type=row.get("image_type"), namespace=row.get("namespace"), image_name=row.get("image_name"),
                tag_name=row.get("image_version"), instance_id=row.get("instance_id") or None)


def list_images(client, image_type, query, statuses=None, host_name=None, image_ids=None, findings=False, raw=None):
    """Normalised images of H5 (``local``) or H6 (``registry``), with H8 findings when asked."""
    key = hs.row_key if image_type == "local" else (lambda row: (row.get("id"), row.get("image_id")))
    rows = walk_statuses(client, LIST_API[image_type], statuses, key, **query)
    if host_name:
        rows = [row for row in rows if row.get("host_name") == host_name]
    if image_ids is not None:
        rows = [row for row in rows if row.get("image_id") in set(image_ids)]
    raw["images"] = rows
    images = [hs.normalise_image(row, image_type) for row in rows]
    _ops.localise_scan_times(images, _ops.clock_offset(client.transport.clock_offset, images))
    if findings:
        found = raw.setdefault("vulnerabilities", {})
        for row, image in zip(rows, images):
            if image["vulnerability_count"] > 0 and image["id"] not in found:
                found[image["id"]] = walk(client, "ListImageVulnerabilities", image_id=image["id"],
                                          **vulnerability_query(row, image_type))
            image["findings"] = [hs.normalise_finding(vuln) for vuln in found.get(image["id"], [])]
            image["severity_counts"] = _scan.severity_counts(image["findings"])
    return images


# ---------------------------------------------------------------------------------------------
# Tasks: finding the one a trigger created, following it
# ---------------------------------------------------------------------------------------------


def manual_tasks(client, image_type, since_ms=None, max_results=None):
    """The manual image-scan tasks of ``image_type`` H2 lists (created since ``since_ms`` when
    given, the documented ``create_time`` filter), every page, in whatever order H2 gives them."""
    query = dict(type="image_scan", task_type="manual", global_image_type=image_type)
    if since_ms is not None:
        query["create_time"] = since_ms
    return client.paginate("ListImageScanTask", query, max_results=max_results)


class TaskFinder(object):
    """Finds the task a trigger created (H1 returns no id) by comparing the manual tasks listed
    before the trigger with those listed after it, whatever their order: a row not listed
    before is new. Both listings use ``create_time`` (our clock less ``CLOCK_SKEW_MARGIN``);
    when that shows nothing new, the unfiltered listing is read too (a queued task may have no
    start time yet, and ``create_time`` compares with it)."""

    def __init__(self, client, image_type, expected=None):
        self.client = client
        self.image_type = image_type
        self.expected = expected
        self.since = int((_clock.now() - CLOCK_SKEW_MARGIN) * 1000)
        self.known = set(row.get("task_id") for row in self.recent() + self.unfiltered())

    def recent(self):
        return manual_tasks(self.client, self.image_type, self.since)

    def unfiltered(self):
        return manual_tasks(self.client, self.image_type, max_results=TASK_LOOKUP_MAX)

    def new_rows(self, rows):
        new, seen = [], set()
        for row in rows:
            if row.get("task_id") not in self.known and row.get("task_id") not in seen:
                seen.add(row.get("task_id"))
                new.append(row)
        return new

    def find(self):
        """The H2 row of the new task, or ``None`` while none is listed. Of several new ones
        (another job triggered too), the one of the expected number of images, else the newest."""
        new = self.new_rows(self.recent()) or self.new_rows(self.unfiltered())
        if not new:
            return None
        new.sort(key=lambda row: _scan.int_or(row.get("begin_time")), reverse=True)
        sized = [row for row in new if self.expected is not None
                 and _scan.int_or(row.get("total_num"), None) == self.expected]
        return (sized or new)[0]


def cloud_now(client, rows, image_type):
    """The cloud's now, to measure the age of the scans of ``rows`` with (``_ops.clock_offset``)."""
    images = [hs.normalise_image(row, image_type) for row in rows]
    return _clock.now() + _ops.clock_offset(client.transport.clock_offset, images)


def get_task(client, task_id):
    """The H2 row of a task, or ``None`` when no image-scan task has this id."""
    page = client.call("ListImageScanTask", dict(type="image_scan", task_id=task_id, offset=0, limit=10)) or {}
    for row in page.get("data_list") or []:
        if row.get("task_id") == task_id:
            return row
    return None


def task_done(row):
    return row is not None and _scan.task_is_done(hs.row_task_status(row))


#: The in-progress states in the order an image goes through them: listed in this order, an
#: image that moves on between two listings is still seen by the second one.
IN_PROGRESS_ORDER = (_scan.IMAGE_WAITING, _scan.IMAGE_SCANNING)


def in_progress_keys(client, **filters):
    """The ``row_key`` of every H5 row that is waiting or being scanned."""
    rows = walk_statuses(client, "ListImageLocal", IN_PROGRESS_ORDER, hs.row_key, **filters)
    return set(hs.row_key(row) for row in rows)


# ---------------------------------------------------------------------------------------------
# hss_image_scan: H1 tasks
# ---------------------------------------------------------------------------------------------


class ImageScan(_ops.ScanRun):
    """Start (H1), follow (H2) or stop (H4) an image scan task."""

    def __init__(self, module):
        super(ImageScan, self).__init__(module, raw=dict(task=None, images=[]))
        self.client = module.client
        self.image_type = self.params["image_type"]

    def check(self):
        """What Ansible cannot check itself; ``ValueError`` naming the option."""
        p = self.params
        self.scope = hs.scan_scope_mask(p["scan_scope"])
        self.rate_limit = hs.check_rate_limit(p["rate_limit"])
        if p["state"] == "absent" or p["task_id"]:
            return
        if p["query"] and not p["all_images"]:
            raise ValueError("query selects images only with all_images=true")
        if p["images"] is None and not p["all_images"]:
            raise ValueError("one of images, all_images=true or task_id is required")
        self.query = hs.check_query(p["query"], hs.H1_QUERY_FIELDS, image_type=self.image_type)
        self.images = hs.check_scan_images(p["images"], self.image_type)

    def run(self):
        self.check()
        if self.params["state"] == "absent":
            return self.stop()
        if self.params["task_id"]:
            return self.follow()
        return self.present()

    # -- state=present -----------------------------------------------------------------------

    def list_targets(self):
        """``(rows, exact)``: the listed rows of the targeted images, and whether the listing
        selects exactly what the trigger would."""
        operation = LIST_API[self.image_type]
        if self.params["all_images"]:
            filters, check = hs.listing_filter(self.query, self.image_type)
            rows = [row for row in walk(self.client, operation, **filters) if check(row)]
            return rows, not any(key in self.query for key in hs.UNPLANNABLE_KEYS)
        if len(self.images) <= FILTERED_LISTING_MAX:
            listed = []
            for spec in self.images:
                filters = dict(image_name=spec["image_name"], image_version=spec["image_version"])
                if self.image_type == "registry":
                    filters["namespace"] = spec["namespace"]
                listed.extend(walk(self.client, operation, **filters))
        else:
            listed = walk(self.client, operation)
        rows, missing, seen = [], [], set()
        for spec in self.images:
            found = [row for row in listed if self.matches(spec, row)]
            if not found:
                missing.append(self.describe(spec))
            for row in found:
                key = hs.row_key(row) if self.image_type == "local" else row.get("id")
                if key not in seen:
                    seen.add(key)
                    rows.append(row)
        if missing:
            raise _ops.ModuleError("HSS lists no %s image for images: %s" % (self.image_type, "; ".join(missing)))
        return rows, True

    def matches(self, spec, row):
        if self.image_type == "local":
            return row.get("image_id") == spec["image_id"]
        return _scan.int_or(row.get("id"), None) == spec["id"]

    def describe(self, spec):
        if self.image_type == "local":
            return "image_id %s (%s:%s)" % (spec["image_id"], spec["image_name"], spec["image_version"])
        return "id %s (%s/%s:%s)" % (spec["id"], spec["namespace"], spec["image_name"], spec["image_version"])

    def build_body(self, to_scan, exact):
        """The H1 body: the query itself when every image it selects is to be scanned (or when
        that cannot be told), else the list of the images that need a scan."""
        p = self.params
        if p["all_images"]:
            if p["force"] or not exact or not self.result["images_skipped"]:
                return hs.h1_body(self.scope, self.rate_limit, True, self.query or None)
            return hs.h1_body(self.scope, self.rate_limit, False,
                              image_info=[hs.image_info_from_row(row, self.image_type) for row in to_scan])
        specs = []
        for row in to_scan:
            specs.extend(spec for spec in self.images if self.matches(spec, row) and spec not in specs)
        return hs.h1_body(self.scope, self.rate_limit, False, image_info=specs)

    def trigger(self, body):
        """Send H1 once per intent; the H2 row of the task it created, or ``None`` when none
        is listed by the start deadline (``start_timeout``).

        After an unanswered H1, a new task is the evidence that it was applied; until the start
        deadline a missing one may be late, so H1 is not sent again; after it, H1 counts as not
        applied."""
        p = self.params
        finder = TaskFinder(self.client, self.image_type, expected=len(body.get("image_info") or []) or None)
        # Monotonic time of the latest send: each send has a start deadline of its own.
        sent_at = {"latest": _clock.monotonic()}

        def look():
            row = finder.find()
            if row is not None:
                return _ops.applied(row)
            if _clock.monotonic() - sent_at["latest"] < p["start_timeout"]:
                return _ops.unknown()
            # Proven not applied: H1 is sent again now.
            sent_at["latest"] = _clock.monotonic()
            return _ops.not_applied()

        sent = _ops.send_once("CreateManualImageScanTask",
                              lambda: self.client.create_manual_image_scan_task(body, self.image_type),
                              look, p["backoff_retries"], confirm_timeout=p["start_timeout"],
                              confirm_sleep=p["wait_sleep"])
        self.result["changed"] = True
        self.triggered_at = sent.sent_at
        if not sent.answered:
            return sent.look.value
        try:
            return _ops.wait_for(finder.find, lambda row: row is not None,
                                 max(p["start_timeout"] - (_clock.monotonic() - sent_at["latest"]), 0), p["wait_sleep"])
        except _ops.WaitTimeout:
            return None

    def present(self):
        p = self.params
        rows, exact = self.list_targets()
        self.result["raw"]["images"] = rows
        to_scan, triggered, skipped = hs.plan_grouped(rows, self.image_type, self.module.max_age, p["force"],
                                                      now=cloud_now(self.client, rows, self.image_type))
        if exact:
            self.plan(triggered, skipped)
            if not to_scan:
                return self.done("No image needs a scan.")
        else:
            self.module.warn("query uses %s, which no listing can filter by: the module cannot tell which images "
                             "need a scan and starts one" % ", ".join(k for k in hs.UNPLANNABLE_KEYS if k in self.query))
        if self.check_mode:
            self.result["changed"] = True
            return self.done("Would start a scan task for %d image(s)." % len(self.result["images_triggered"]))
        row = self.trigger(self.build_body(to_scan, exact))
        if row is None and p["wait"]:
            raise _ops.ModuleError(
                "CreateManualImageScanTask was answered (sent at %s) but no new task appeared in ListImageScanTask "
                "within start_timeout (%s seconds): the scan cannot be confirmed; follow it with "
                "cloudsec.image_scan.hss_image_scan_task_info" % (self.triggered_at, p["start_timeout"]),
                triggered_at=self.triggered_at)
        if row is None:
            self.module.warn("the scan was started but its task did not appear in ListImageScanTask; "
                             "follow it with cloudsec.image_scan.hss_image_scan_task_info")
            return self.done("Started a scan; its task could not be found.")
        task = self.set_task(row)
        if p["wait"]:
            task = self.wait_task(task, self.poll(task["id"]))
        return self.done("Started scan task %s for %d image(s); it is %s." % (
            task["id"], len(self.result["images_triggered"]), task["status"]))

    # -- one task --------------------------------------------------------------------------------

    def set_task(self, row):
        self.result["raw"]["task"] = row
        return self.track(hs.normalise_task(row))

    def poll(self, task_id):
        def read():
            row = get_task(self.client, task_id)
            if row is None:
                return self.result["task"]
            self.result["raw"]["task"] = row
            return hs.normalise_task(row)
        return read

    def existing(self):
        row = get_task(self.client, self.params["task_id"])
        if row is None:
            raise _ops.ModuleError("task_id %s: ListImageScanTask lists no image scan task with this id"
                                   % self.params["task_id"])
        return row

    def follow(self):
        row = self.existing()
        task = self.set_task(row)
        if self.params["wait"] and not task_done(row):
            task = self.wait_task(task, self.poll(task["id"]))
        return self.done("Task %s is %s." % (task["id"], task["status"]))

    # -- state=absent ----------------------------------------------------------------------------

    def stop(self):
        task_id = self.params["task_id"]
        row = self.existing()
        self.set_task(row)
        if task_done(row):
            return self.done("Task %s already ended (%s)." % (task_id, self.result["task"]["status"]))
        self.result["changed"] = True
        if self.check_mode:
            return self.done("Would stop task %s." % task_id)

        def look():
            seen = get_task(self.client, task_id)
            return _ops.applied(seen) if task_done(seen) else _ops.not_applied()

        try:
            sent = _ops.send_once("StopImageScanTask", lambda: self.client.stop_image_scan_task(task_id), look,
                                  self.params["backoff_retries"])
        except (ApiError, _ops.ModuleError):
            # The task may have ended meanwhile: then there was nothing left to stop.
            sent = _ops.Sent(look=look())
            if sent.look.verdict != _ops.APPLIED:
                self.result["changed"] = False
                raise
        if not sent.answered:
            self.set_task(sent.look.value)
            self.result["changed"] = self.result["task"]["status"] == _scan.TASK_STOPPED
            return self.done("Task %s ended (%s)." % (task_id, self.result["task"]["status"]))
        row = get_task(self.client, task_id)
        if row is not None:
            self.set_task(row)
        return self.done("Stopped task %s." % task_id)


# ---------------------------------------------------------------------------------------------
# hss_local_image_scan: H3, no task
# ---------------------------------------------------------------------------------------------

HOST_OPTIONS = ("host_name", "host_id", "host_ip")
#: Query keys whose value a scan changes: left out when listing the images after it.
VOLATILE_KEYS = ("scan_status", "start_latest_scan_time", "end_latest_scan_time")


def _ref_key(ref):
    return (ref.get("id"), (ref.get("host") or {}).get("id"))


class LocalImageScan(_ops.ScanRun):
    """Scan local images with H3 and follow them through their H5 scan state."""

    def __init__(self, module):
        super(LocalImageScan, self).__init__(module, raw=dict(images=[]))
        self.client = module.client
        self.result["images"] = []
        self.host_filters = dict((name, self.params[name]) for name in HOST_OPTIONS if self.params[name])
        #: Monotonic time of the latest trigger sent (a batch, or a batch sent again): the start
        #: deadline of the wait counts from it, so that an image sent late is given its own.
        self.started = None

    def check(self):
        p = self.params
        if not p["region"]:
            raise ValueError("region is required: BatchScanLocalImage needs the region header, also with endpoint "
                             "(set region or the environment variable HUAWEICLOUD_SDK_REGION)")
        if p["query"] and not (p["all_images"] or self.host_filters):
            raise ValueError("query selects images only with all_images=true or a host (host_name, host_id, host_ip)")
        if p["images"] is None and not p["all_images"] and not self.host_filters:
            raise ValueError("one of images, all_images=true, host_name, host_id or host_ip is required")
        self.query = hs.check_query(p["query"], hs.H3_QUERY_FIELDS)
        self.images = hs.check_local_images(p["images"])

    def on_host(self, row):
        name = self.params["host_name"]
        return not name or row.get("host_name") == name

    def list_rows(self, final=False):
        """The H5 rows of the targeted images (one walk, or one filtered walk per named image)."""
        if self.params["images"] is None:
            query = self.query
            if final:
                query = dict((key, value) for key, value in query.items() if key not in VOLATILE_KEYS)
            filters, check = hs.listing_filter(query, "local")
            filters.update(self.host_filters)
            return [row for row in walk(self.client, "ListImageLocal", **filters) if check(row) and self.on_host(row)]
        if not self.images:
            return []
        by_name = all(spec.get("image_name") and spec.get("image_version") and not spec.get("image_id")
                      and not spec.get("image_digest") for spec in self.images)
        if by_name and len(self.images) <= FILTERED_LISTING_MAX:
            listed = []
            for spec in self.images:
                listed.extend(walk(self.client, "ListImageLocal", image_name=spec["image_name"],
                                   image_version=spec["image_version"], **self.host_filters))
        else:
            listed = walk(self.client, "ListImageLocal", **self.host_filters)
        rows, missing, seen = [], [], set()
        for spec in self.images:
            found = [row for row in listed if hs.local_image_matches(spec, row) and self.on_host(row)]
            if not found:
                missing.append(hs.describe_local(spec))
            for row in found:
                if hs.row_key(row) not in seen:
                    seen.add(hs.row_key(row))
                    rows.append(row)
        if missing and not final:
            where = " on the host %s" % ", ".join("%s=%s" % item for item in sorted(self.host_filters.items())) \
                if self.host_filters else ""
            raise _ops.ModuleError("HSS lists no local image%s for images: %s" % (where, "; ".join(missing)))
        return rows

    def look_effects(self, effects):
        """Update ``effects`` from H5 now: the rows waiting or being scanned, and, while some
        image shows no effect yet, the finished rows (a newer scan time). Returns the keys
        (``row_key``) of the rows in progress."""
        busy = in_progress_keys(self.client, **self.host_filters)
        effects.see_keys(busy)
        if effects.unconfirmed():
            rows = walk_statuses(self.client, "ListImageLocal", (_scan.IMAGE_SUCCESS, _scan.IMAGE_FAILED), hs.row_key,
                                 **self.host_filters)
            wanted = set(effects.unconfirmed())
            effects.see(hs.normalise_image(row, "local") for row in rows if hs.row_key(row) in wanted)
        return busy

    def send(self, body, image_ids):
        """Send one H3 call once per intent. After an unanswered call, the images that show its
        effect (``_ops.Effects``) are applied; the others are waited for until the start
        deadline, then sent again (only those)."""
        p = self.params
        refs = [ref for ref in self.result["images_triggered"] if image_ids is None or ref["id"] in image_ids]
        effects = _ops.Effects(refs, _ref_key, p["start_timeout"])
        self.started = effects.start_deadline - p["start_timeout"]
        pending = {"ids": list(image_ids) if image_ids is not None else None}

        def look():
            self.look_effects(effects)
            shown = set(key[0] for key in effects.confirmed)
            if shown:
                self.result["changed"] = True
            left = [image_id for image_id in pending["ids"] if image_id not in shown] if pending["ids"] is not None \
                else ([] if shown else None)
            if left == []:
                return _ops.applied()
            if not effects.expired():
                return _ops.unknown()
            # Proven not applied: sent again now, with a start deadline of its own.
            self.started = _clock.monotonic()
            effects.start_deadline = self.started + p["start_timeout"]
            if left is None:
                return _ops.not_applied()
            pending["ids"] = left
            return _ops.not_applied(resend=lambda: self.client.batch_scan_local_image(
                hs.h3_body([{"image_id": image_id} for image_id in left])))

        sent = _ops.send_once("BatchScanLocalImage", lambda: self.client.batch_scan_local_image(body), look,
                              p["backoff_retries"], confirm_timeout=p["start_timeout"] + p["wait_sleep"],
                              confirm_sleep=p["wait_sleep"])
        self.triggered_at = self.triggered_at or sent.sent_at
        self.result["changed"] = True

    def trigger(self, to_scan):
        p = self.params
        if p["all_images"] and not self.host_filters and (p["force"] or not self.result["images_skipped"]):
            return self.send(hs.h3_body(operate_all=True, query=self.query), None)
        image_ids = _scan.unique(row.get("image_id") for row in to_scan)
        for batch in _scan.batches(image_ids, p["batch_size"]):
            self.send(hs.h3_body([{"image_id": image_id} for image_id in batch]), batch)

    def awaited(self):
        """The images waited for: those triggered and those of the targets already being scanned
        (so that a second run resumes waiting for them)."""
        refs = list(self.result["images_triggered"])
        refs.extend(ref for ref in self.result["images_skipped"] if ref.get("scan_status") in _scan.IMAGE_IN_PROGRESS)
        return refs

    def wait_images(self, refs):
        """Wait until every image of ``refs`` shows the trigger's effect (within
        ``start_timeout`` of the first trigger) and none is in progress any more."""
        p = self.params
        ours = set(_ref_key(ref) for ref in refs)
        effects = _ops.Effects(refs, _ref_key, p["start_timeout"], started=self.started)

        def poll():
            busy = ours & self.look_effects(effects)
            unconfirmed = set(effects.unconfirmed()) - busy
            if unconfirmed and effects.expired():
                missing = [ref for ref in refs if _ref_key(ref) in unconfirmed]
                raise _ops.ModuleError(
                    "HSS shows no effect of the scan of %d of %d images within start_timeout (%s seconds) of the "
                    "trigger at %s: %s" % (len(missing), len(ours), p["start_timeout"], self.triggered_at, ", ".join(
                        "%s on %s" % (ref["id"], (ref.get("host") or {}).get("name")) for ref in missing)),
                    triggered_at=self.triggered_at,
                    images_pending=[dict(id=ref["id"], host=ref["host"]) for ref in missing])
            return busy | unconfirmed

        def on_timeout(pending):
            left = [ref for ref in refs if _ref_key(ref) in pending]
            progress = dict(total=len(ours), done=len(ours) - len(left), in_progress=len(left))
            return _ops.timed_out("%d of %d images to be scanned" % (len(left), len(ours)),
                                  p["wait_timeout"], triggered_at=self.triggered_at, progress=progress,
                                  images_pending=[dict(id=ref["id"], host=ref["host"]) for ref in left])

        _ops.wait(poll, lambda pending: not pending, self.remaining(), p["wait_sleep"], on_timeout)

    def set_images(self, rows):
        self.result["raw"]["images"] = rows
        images = [hs.normalise_image(row, "local") for row in rows]
        self.result["images"] = _ops.localise_scan_times(images, _ops.clock_offset(self.client.transport.clock_offset,
                                                                                   images))

    def run(self):
        self.check()
        p = self.params
        rows = self.list_rows()
        self.set_images(rows)
        to_scan, triggered, skipped = hs.plan_grouped(rows, "local", self.module.max_age, p["force"],
                                                      now=cloud_now(self.client, rows, "local"))
        self.plan(triggered, skipped)
        if self.check_mode:
            self.result["changed"] = bool(to_scan)
            return self.done("Would scan %d image(s)." % len(triggered) if to_scan else "No image needs a scan.")
        if to_scan:
            self.trigger(to_scan)
        refs = self.awaited()
        self.result["attached"] = bool(refs) and not to_scan
        if p["wait"] and refs:
            self.wait_images(refs)
            targeted = set(hs.row_key(row) for row in rows)
            self.set_images([row for row in self.list_rows(final=True) if hs.row_key(row) in targeted])
        if not to_scan:
            return self.done("No image needs a scan.")
        return self.done("Scanned %d image(s)." % len(triggered) if p["wait"] else
                         "Started the scan of %d image(s)." % len(triggered))
