# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The TCSS operations behind the ``tcss_*`` modules: listing, triggering, following and
stopping scans. Every call goes through the client; every trigger and stop through
``_ops.send_once``, every wait through ``_ops``; shapes and checks come from ``_tcss_shapes``.

API labels (T1..T8) as in docs/architecture.md.

This is a private module of the collection; its interface may change without notice.
"""

from __future__ import annotations

from ansible_collections.cloudsec.image_scan.plugins.module_utils import _clock, _http, _ops, _scan
from ansible_collections.cloudsec.image_scan.plugins.module_utils import _tcss_shapes as ts
from ansible_collections.cloudsec.image_scan.plugins.module_utils._http import ApiError
from ansible_collections.cloudsec.image_scan.plugins.module_utils._tcss_client import PAGE_SIZE
from ansible_collections.cloudsec.image_scan.plugins.module_utils._module import list_problems

#: T2 codes of a task TCSS does not know.
NOT_FOUND = ("ResourceNotFound", "InvalidParameterValue.TaskNotFound")
#: The code of a T8 answer that cannot be read whole.
INCOMPLETE = "IncompleteAnswer"


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------


def list_images(client, filters=None, image_ids=None, max_results=None):
    """T5 rows: every page (or up to ``max_results``); with ``image_ids``, by chunks of IDs."""
    filters = list(filters or [])
    if image_ids is None:
        return client.paginate("DescribeAssetImageList", {"Filters": filters} if filters else {}, max_results)
    rows = []
    for chunk in _scan.batches(_scan.unique(image_ids), ts.FILTER_CHUNK):
        chunk_filters = filters + [{"Name": "ImageID", "Values": chunk, "ExactMatch": True}]
        left = None if max_results is None else max_results - len(rows)
        rows.extend(client.paginate("DescribeAssetImageList", {"Filters": chunk_filters}, left))
        if max_results is not None and len(rows) >= max_results:
            break
    return rows


def image_host_pairs(client, name=None, values=None):
    """Every T8 pair, or those whose ``name`` (``ImageID`` / ``HostID``) is in ``values``.

    T8 takes ``Filters`` only (no ``Limit``/``Offset``). When an answer holds fewer pairs than
    its ``TotalCount``, the values are split in halves and asked again; an answer that cannot be
    narrowed further (the whole listing, or a single value) fails with ``IncompleteAnswer``: a
    partial mapping would leave hosts without their images.
    """
    if name is None:
        return _complete_pairs(client, {}, "every image")
    pairs = []
    for chunk in _scan.batches(list(values or ()), ts.FILTER_CHUNK):
        pairs.extend(_pairs_for(client, name, chunk))
    return pairs


def _pairs_for(client, name, values):
    params = {"Filters": [{"Name": name, "Values": values}]}
    if len(values) == 1:
        return _complete_pairs(client, params, "%s %s" % (name, values[0]))
    answer = client.call("DescribeAssetImageHostList", params)
    rows = list(answer.get("List") or [])
    if answer.get("TotalCount") is None or len(rows) >= int(answer["TotalCount"]):
        return rows
    half = len(values) // 2
    return _pairs_for(client, name, values[:half]) + _pairs_for(client, name, values[half:])


def _complete_pairs(client, params, what):
    answer = client.call("DescribeAssetImageHostList", params)
    rows = list(answer.get("List") or [])
    total = answer.get("TotalCount")
    if total is not None and len(rows) < int(total):
        raise ApiError("tcss", "DescribeAssetImageHostList", "the answer for %s holds %d of %s image-host pairs and "
                       "cannot be narrowed further" % (what, len(rows), total), code=INCOMPLETE,
                       request_id=answer.get("RequestId"))
    return rows


def pairs_of_hosts(client, host_ids):
    """The T8 pairs of the hosts ``host_ids`` (and maybe of others: the caller keeps its own).

    One ``HostID`` filter takes a hundred hosts; more hosts than that are asked for with one
    unfiltered call, whose answer holds every pair of the fleet (T8 has no paging), when TCSS
    answers it whole; else (``IncompleteAnswer``) by ``HostID`` filters after all."""
    if len(host_ids) > ts.FILTER_CHUNK:
        try:
            return image_host_pairs(client)
        except ApiError as exc:
            if exc.code != INCOMPLETE:
                raise
    return image_host_pairs(client, "HostID", host_ids)


def attach_hosts(client, images, listed_everything, raw):
    """Fill ``hosts`` of the images from T8 pairs (all of them at once when every image was
    listed and one answer holds them, else by image IDs) and T7 hosts."""
    ids = [image["id"] for image in images]
    try:
        pairs = image_host_pairs(client) if listed_everything else image_host_pairs(client, "ImageID", ids)
    except ApiError as exc:
        if exc.code != INCOMPLETE or not listed_everything:
            raise
        pairs = image_host_pairs(client, "ImageID", ids)
    host_rows = client.paginate("DescribeAssetHostList", {}) if pairs else []
    raw["image_hosts"], raw["hosts"] = pairs, host_rows
    ts.attach_hosts(images, pairs, dict((row.get("HostID"), ts.host_ref(row)) for row in host_rows))


def walk_or_select(client, action, params, selected_calls, select, enough=None):
    """``_http.walk_or_select`` over a TCSS list action: every item, or ``select()``."""
    params = dict(params or {})

    def fetch(start, size):
        page = client.call(action, dict(params, Offset=start, Limit=size))
        return page.get("List") or [], page.get("TotalCount")

    return _http.walk_or_select(fetch, PAGE_SIZE, selected_calls, select, enough)


def find_hosts(client, identities, filters=None):
    """``(rows, walked)``: the T7 rows of the hosts ``identities`` (``id``, ``name``, ``ip``) name,
    as ``_scan.find_host`` matches them, each once. Few hosts of a large fleet are looked up by
    ``HostID``, ``HostName`` (exact) and, for names not found, ``HostIP`` filters, a hundred values
    a call; every answer is matched exactly again. Else the fleet is walked once. When the lookups
    leave an identity unmatched (the filters may compare names with case, unlike
    ``_scan.find_host``), the fleet is walked once after all (``walked`` true), so that the rows
    are those of a walk."""
    filters = list(filters or [])
    ids, names, ips = _scan.host_lookups(identities)

    def listed(name, values, exact=None):
        rows = []
        for chunk in _scan.batches(values, ts.FILTER_CHUNK):
            condition = {"Name": name, "Values": chunk}
            if exact is not None:
                condition["ExactMatch"] = exact
            rows.extend(client.paginate("DescribeAssetHostList", {"Filters": filters + [condition]}))
        return rows

    def select():
        rows = listed("HostID", ids) + listed("HostName", names, True)
        index = _scan.index_hosts([ts.host_ref(row) for row in rows])
        missing = _scan.unique(str(i.get("ip")).strip() for i in identities or []
                               if str(i.get("ip") or "").strip() and not str(i.get("id") or "").strip()
                               and _scan.find_host(i, index) is None)
        return rows + listed("HostIP", missing)

    def enough(rows):
        return _scan.all_found(identities, [ts.host_ref(row) for row in rows])

    calls = sum(-(-len(values) // ts.FILTER_CHUNK) for values in (ids, names, ips))
    rows, walked = walk_or_select(client, "DescribeAssetHostList", {"Filters": filters} if filters else {}, calls,
                                  select, enough)
    unique_rows = dict((row.get("HostID"), row) for row in reversed(rows))
    rows = [row for row in rows if unique_rows.get(row.get("HostID")) is row]
    refs = [ts.host_ref(row) for row in rows]
    kept = set(id(ref) for ref in _scan.matching_hosts(identities, refs))
    return [row for row, ref in zip(rows, refs) if id(ref) in kept], walked


def images_of_hosts(client, host_ids, filters, raw, known_hosts=None):
    """``(rows, walked)``: the T5 rows of the images on the hosts with these ``host_ids``, with
    ``raw["image_hosts"]`` (their T8 pairs with those hosts) and ``raw["hosts"]`` (the T7 rows of
    those hosts, except those of ``known_hosts``, ``{id: {id, name, ip}}`` already listed: they
    are not read again). The pairs come as ``pairs_of_hosts`` reads them; the images by ``ImageID``
    when they are few against the fleet's images (the first page of the listing tells how many
    pages a walk would take), else from one walk of the listing."""
    wanted = _scan.unique(str(h) for h in host_ids or [] if h)
    keep = set(wanted)
    pairs = [pair for pair in pairs_of_hosts(client, wanted) if pair.get("HostID") in keep] if wanted else []
    image_ids = _scan.unique(pair.get("ImageID") for pair in pairs if pair.get("ImageID"))
    raw["image_hosts"] = pairs
    raw["hosts"] = []
    if not image_ids:
        return [], False
    filters = list(filters or [])
    rows, walked = walk_or_select(client, "DescribeAssetImageList", {"Filters": filters} if filters else {},
                                  -(-len(image_ids) // ts.FILTER_CHUNK), lambda: list_images(client, filters, image_ids))
    if walked:
        on_hosts = set(image_ids)
        rows = [row for row in rows if row.get("ImageID") in on_hosts]
    # One order whatever the hosts and the way they were listed: every host lists its images in
    # the same order in a slice of a job as in the whole job.
    rows.sort(key=lambda row: (str(row.get("ImageName") or ""), str(row.get("ImageID") or "")))
    unknown = [host_id for host_id in wanted if host_id not in (known_hosts or {})]
    for chunk in _scan.batches(unknown, ts.FILTER_CHUNK):
        raw["hosts"].extend(client.paginate("DescribeAssetHostList", {"Filters": [{"Name": "HostID", "Values": chunk}]}))
    return rows, walked


def host_refs(raw, known_hosts=None):
    """``{id: {id, name, ip}}``: ``known_hosts`` and the T7 rows of ``raw["hosts"]``."""
    refs = dict(known_hosts or {})
    refs.update((row.get("HostID"), ts.host_ref(row)) for row in raw.get("hosts") or [])
    return refs


def findings(client, image):
    """T6 rows of one image, every page (``[]`` when TCSS no longer knows the image)."""
    try:
        return client.paginate("DescribeAssetImageVulList", {"ImageID": image["id"]})
    except ApiError as exc:
        if exc.code == "ResourceNotFound":
            return []
        raise


def read_one_click(client, raw):
    raw["one_click_task"] = client.call("DescribeAssetImageScanTask")
    return ts.task_from_one_click(raw["one_click_task"])


def read_task(client, task_id, raw, begin_time=None, warn=None):
    """T2 of ``task_id`` (or of the latest task when ``task_id`` is ``None``); ``warn(text)``
    is told of a ``Status`` word TCSS is not known to use (the task is taken as running)."""
    raw["status"] = client.call("DescribeAssetImageScanStatus", {"TaskID": task_id} if task_id else {})
    word = ts.unknown_status_word(raw["status"].get("Status"))
    if word is not None and warn is not None:
        warn("TCSS reports the unknown task status %r%s; it is taken as running until Schedule reaches 100, "
             "the task ends or the wait times out" % (word, " for task %s" % task_id if task_id else ""))
    return ts.task_from_status(raw["status"], task_id=task_id, begin_time=begin_time)


def task_info(client, task_id, raw, warn=None, one_click=None):
    """The task ``task_id`` (or the current one-click task), completed by T3; ``None`` when
    TCSS does not know it. T3 reports only the one-click task: for a task known not to be it
    (``one_click`` false) T2 alone answers, and T3 is not read."""
    if task_id is not None and one_click is False:
        try:
            return read_task(client, task_id, raw, warn=warn)
        except ApiError as exc:
            if exc.code not in NOT_FOUND:
                raise
        return None
    one_click = read_one_click(client, raw)
    wanted = task_id if task_id is not None else (one_click or {}).get("id")
    if not wanted:
        return None
    try:
        return ts.merge_task(read_task(client, wanted, raw, warn=warn), one_click)
    except ApiError as exc:
        if exc.code not in NOT_FOUND:
            raise
    return None


# ---------------------------------------------------------------------------------------------
# tcss_image_scan
# ---------------------------------------------------------------------------------------------


class ImageScan(_ops.ScanRun):
    """Start (T1), follow (T2/T3) or stop (T4) scans."""

    def __init__(self, module):
        super(ImageScan, self).__init__(module, raw={"images": [], "create": [], "status": None,
                                                     "one_click_task": None, "stop": []})
        self.result["clock_offset"] = 0
        self.warned = set()
        self.client = module.client
        self.raw = self.result["raw"]
        # Tasks T3 reports (one-click tasks): only those are completed by a T3 read.
        self.one_click_ids = set()
        # The tasks this run started, and those of others it waited for (None: not named).
        self.started = []
        self.followed = []
        # The images as first listed (id -> normalised image), to see what others scanned since.
        self.first_seen = {}

    def run(self):
        try:
            return self.run_state()
        except (_ops.ModuleError, ApiError) as exc:
            named = self.named_tasks()
            if not named:
                raise
            error = exc if isinstance(exc, _ops.ModuleError) else _ops.ModuleError(None, error=exc)
            error.msg = "%s (%s)" % (error.msg, named)
            error.result["msg"] = error.msg
            raise error

    def named_tasks(self):
        """Every task this run started or followed, in words (empty when there is none)."""
        parts = []
        for what, tasks in (("started", self.started), ("followed", self.followed)):
            if tasks:
                parts.append("this run %s the scan task(s) %s" % (what, ", ".join(
                    task_id or "(not named by TCSS)" for task_id in tasks)))
        return "; ".join(parts)

    def run_state(self):
        problems = list_problems(self.params, ("images", "filters", "exclude_image_ids", "cluster_ids"), None)
        problems.extend(ts.scan_problems(self.params))
        if problems:
            raise ValueError("; ".join(problems))
        params = self.params
        if params["state"] == "absent":
            return self.stop_task() if params["task_id"] is not None else self.stop_images()
        if params["task_id"] is not None:
            return self.follow()
        if params["host_ids"] is not None:
            return self.present_hosts()
        if params["images"] is not None:
            return self.present_images()
        return self.present_selection()

    # -- tasks -------------------------------------------------------------------------------

    def read_task(self, task_id, begin_time=None):
        return read_task(self.client, task_id, self.raw, begin_time=begin_time, warn=self.warn_once)

    def warn_once(self, text):
        if text not in self.warned:
            self.warned.add(text)
            self.module.warn(text)

    def refine(self, task, always=False):
        """Complete an ended one-click task with T3's SubStatus and start time. T3 reports only
        the one-click task: it is read for a task known to be one (or, ``always``, for a task
        given by ID, which may be one), never for the others."""
        if task.get("id") and (always or task["id"] in self.one_click_ids):
            one_click = read_one_click(self.client, self.raw)
            if one_click is not None and one_click["id"] == task["id"]:
                self.one_click_ids.add(task["id"])
            return ts.merge_task(task, one_click)
        return task

    def find_running_task(self):
        """The running scan: the one-click task when it runs (with its ID), else the latest task when
        it runs (without an ID), else ``None``."""
        one_click = read_one_click(self.client, self.raw)
        if one_click is not None and one_click["status"] == _scan.TASK_RUNNING:
            self.one_click_ids.add(one_click["id"])
            return self.read_task(one_click["id"], begin_time=one_click["begin_time"])
        latest = self.read_task(None)
        if latest["status"] == _scan.TASK_RUNNING and latest["total"]:
            return latest
        return None

    def wait(self, task, what="the scan task", own=True):
        begin_time = task.get("begin_time")
        return self.wait_task(task, lambda: self.read_task(task.get("id"), begin_time=begin_time), what=what,
                              own=own, finish=self.refine)

    # -- starting ----------------------------------------------------------------------------

    def list_images(self, filters=None, image_ids=None):
        return list_images(self.client, filters, image_ids)

    @staticmethod
    def selection_state(rows):
        """What the images look like now: id -> (status, latest scan time)."""
        state = {}
        for row in rows:
            image = ts.normalise_image(row)
            state[image["id"]] = (image["scan_status"], image["latest_scan_time"])
        return state

    def was_applied(self, before, relist):
        """Whether a start request whose answer was lost took effect: one of the selected images is
        now being scanned, or has a newer scan than before."""
        for image_id, (status, scanned_at) in self.selection_state(relist()).items():
            old = before.get(image_id)
            if status in _scan.IMAGE_IN_PROGRESS and (old is None or old[0] not in _scan.IMAGE_IN_PROGRESS):
                return True
            if old is not None and scanned_at and scanned_at != old[1]:
                return True
        return False

    def follow_other(self, running):
        """Wait for a scan that is not this run's (another job's, or someone else's) to end."""
        self.track(running)
        if running.get("id") not in self.followed:
            self.followed.append(running.get("id"))
        return self.wait(running, what="the scan already running", own=False)

    def send_trigger(self, params, before, relist):
        """Send T1 once for this intent (``_ops.send_once``) and return the task it started.
        ``before``/``relist`` describe the selected images, to recognise the effect of a request
        whose answer was lost. A refusal (``ErrAlreadyScanning``) is raised as it came: nothing
        was started, and what it means is found by looking (``resolve_refusal``), never by
        sending the same request again."""

        start_timeout = self.params.get("start_timeout") or 0
        send = _ops.Timed(lambda: self.client.create_asset_image_scan_task(params))

        def look():
            # TCSS may show a trigger's effect late: nothing seen is "not yet" until start_timeout
            # after the last send ended (each send has a start deadline of its own).
            if self.was_applied(before, relist):
                return _ops.applied()
            running = self.find_running_task()
            if running is not None:
                return _ops.applied(running)
            if send.since() < start_timeout:
                return _ops.unknown()
            return _ops.not_applied()

        try:
            sent = _ops.send_once("CreateAssetImageScanTask", send,
                                  look, self.params["backoff_retries"],
                                  confirm_timeout=start_timeout + 2 * self.params["wait_sleep"],
                                  confirm_sleep=self.params["wait_sleep"])
        except ApiError as exc:
            if exc.code == ts.ERR_ALREADY_SCANNING:
                raise
            raise _ops.ModuleError("Could not start the scan", error=exc)
        self.result["changed"] = True
        self.triggered_at = self.triggered_at or sent.sent_at
        if sent.answered:
            self.raw["create"].append(sent.answer)
            task_id = sent.answer.get("TaskID")
            if task_id and params.get("IsOneClickScanningTask"):
                self.one_click_ids.add(task_id)
            task = self.shown_task(task_id, sent.sent_at) if task_id else self.read_task(None)
        else:
            # The answer was lost but the look found the effect: the task found is this run's own.
            task = sent.look.value or self.find_running_task() or self.read_task(None)
            task["begin_time"] = task.get("begin_time") or sent.sent_at
        self.started.append(task.get("id"))
        return self.track(task)

    def resolve_refusal(self, error, explained):
        """What an ``ErrAlreadyScanning`` refusal means, found by looking, never by sending again.

        TCSS answers it while a scan runs, and also when the request names images the account may
        not scan. A running task (which TCSS may show late, so it is looked for until
        ``start_timeout``) is returned as ``(task, None)``; ``explained()`` tells what else the
        look found (such as images now shown unauthorised, or scanned by someone else), returned
        as ``(None, found)``. When neither shows by ``start_timeout`` the run fails: the request
        is not sent again."""
        start_timeout = self.params.get("start_timeout") or 0
        until = _clock.monotonic() + start_timeout
        while True:
            running = self.find_running_task()
            if running is not None:
                return running, None
            found = explained()
            if found is not None:
                return None, found
            left = until - _clock.monotonic()
            if left <= 0:
                raise _ops.ModuleError("TCSS refused to start the scan although no scan runs and no image of the "
                                       "request is shown unauthorised after looking for %s seconds (start_timeout); "
                                       "the account may lack the authorisation to scan these images; the request is "
                                       "not sent again" % start_timeout, error=error)
            _clock.sleep(min(self.params["wait_sleep"], left))

    def check_deadline(self, rounds):
        """Before a request is sent again after the scan that refused it ended: within the run's
        deadline, pausing from the second round on (TCSS's answers may lag behind the end of the
        other scan)."""
        if self.remaining() <= 0:
            raise _ops.ModuleError("TCSS still refuses to start the scan after %s seconds (wait_timeout): "
                                   "another scan keeps running" % self.params["wait_timeout"])
        if rounds > 1:
            _clock.sleep(min(self.params["wait_sleep"], self.remaining()))

    def start_selection(self, params, before, relist):
        """Start the scan of a selection (``filters``, ``all_images``): the task started, or the
        scan that runs already, followed instead (``attached``): TCSS scans one selection at a time
        and the running one is taken as the answer."""
        try:
            return self.send_trigger(params, before, relist)
        except ApiError as exc:
            running, dummy = self.resolve_refusal(exc, lambda: None)
        self.track(running)
        if running.get("id") not in self.followed:
            self.followed.append(running.get("id"))
        self.result["attached"] = True
        return running

    def shown_task(self, task_id, sent_at):
        """The task ``task_id`` just created, once TCSS shows it: until ``start_timeout`` a
        ``ResourceNotFound`` means "not shown yet"; then the run fails naming the task."""
        start_timeout = self.params.get("start_timeout") or 0

        def poll():
            try:
                return self.read_task(task_id, begin_time=sent_at)
            except ApiError as exc:
                if exc.code not in NOT_FOUND:
                    raise
                return None

        try:
            return _ops.wait_for(poll, lambda task: task is not None, start_timeout, self.params["wait_sleep"])
        except _ops.WaitTimeout:
            raise _ops.ModuleError("TCSS created the scan task %s (started at %s) but does not show it after %s "
                                   "seconds (start_timeout); it is not started again" % (task_id, sent_at, start_timeout),
                                   task_id=task_id, triggered_at=sent_at,
                                   task=dict(id=task_id, status=_scan.TASK_RUNNING, begin_time=sent_at))

    # -- state=present -----------------------------------------------------------------------

    def plan_rows(self, rows):
        """Split the listed images into (to_scan, skipped) refs with reasons, and the candidates."""
        excluded = set(self.params["exclude_image_ids"] or [])
        candidates, skipped, ahead = [], [], []
        now = _clock.now()
        images = [ts.normalise_image(row) for row in rows]
        # Ages are measured on the cloud's clock. The answers' Date headers bound how far it runs
        # ahead (an upper bound: an age measured with it is never less than the true age). Without
        # them only the latest scan time shows it, a lower bound: a scan time ahead of our clock
        # then has an unknown age.
        measured = self.client.transport.clock_offset
        if measured is None:
            offset = ts.clock_ahead(images, now)
        else:
            offset = _ops.clock_offset(measured, images, now=now)
        self.result["clock_offset"] = max(int(round(offset)), self.result.get("clock_offset") or 0)
        for image in images:
            scanned_at = _scan.iso_to_epoch(image["latest_scan_time"])
            if image["id"] in excluded:
                skipped.append(_scan.image_ref(image, "in exclude_image_ids"))
            elif image["scan_status"] == ts.IMAGE_UNSCANNABLE:
                # Never triggered, also with force: TCSS refuses the whole request for it.
                skipped.append(_scan.image_ref(image, "unscannable: %s" % image["unscannable_reason"]))
            elif self.params["container_running"] and not image["counts"]["containers"]:
                skipped.append(_scan.image_ref(image, "no container runs it (container_running)"))
            elif (self.module.max_age is not None and not self.params["force"] and scanned_at is not None and measured is None
                  and scanned_at > now + ts.SKEW_MARGIN and image["scan_status"] not in _scan.IMAGE_IN_PROGRESS):
                # The cloud's clock runs ahead by an unknown amount: the age of this scan cannot be told.
                ahead.append(_scan.image_ref(image, "the last scan time %s is ahead of the controller's clock: the "
                                                    "cloud's clock runs ahead, the scan's age is unknown"
                                             % image["latest_scan_time"]))
                candidates.append(image)
            else:
                candidates.append(image)
        known = set(ref["id"] for ref in ahead)
        to_scan, planned_skips = _scan.plan_images([i for i in candidates if i["id"] not in known],
                                                   self.module.max_age, self.params["force"], now=now + offset)
        order = dict((image["id"], index) for index, image in enumerate(candidates))
        return sorted(ahead + to_scan, key=lambda ref: order[ref["id"]]), skipped + planned_skips, candidates

    def follow_running(self, skipped):
        """Nothing to start: follow a scan of the selected images that is running, when asked to wait."""
        if not self.params["wait"] or self.check_mode:
            return
        if not any(ref["scan_status"] in _scan.IMAGE_IN_PROGRESS for ref in skipped):
            return
        running = self.find_running_task()
        if running is not None:
            self.result["attached"] = True
            self.follow_other(running)

    def task_params(self, **selection):
        p = self.params
        return ts.scan_task_params(p["scan_types"], container_running=p["container_running"] or None,
                                   timeout=p["task_timeout"], one_click=p["one_click"] or None, **selection)

    def present_images(self):
        params = self.params
        ids = _scan.unique(params["images"])
        rows = self.list_images(image_ids=ids)
        known = set(row.get("ImageID") for row in rows)
        missing = [image_id for image_id in ids if image_id not in known]
        if missing:
            raise _ops.ModuleError("TCSS lists no image with the ID(s) %s given in images" % ", ".join(missing))
        return self.present_rows(rows)

    def present_hosts(self):
        """``host_ids``: the images on those hosts, listed as ``tcss_image_info`` lists them (T8
        pairs, then T5), returned in ``images`` with their hosts; then planned and scanned as
        images given by ID."""
        known = ts.listed_host_refs(self.params["listed_hosts"])
        listing = {}
        rows, dummy = images_of_hosts(self.client, self.params["host_ids"], None, listing, known_hosts=known)
        images = [ts.normalise_image(row) for row in rows]
        ts.attach_hosts(images, listing["image_hosts"], host_refs(listing, known))
        self.result["images"] = images
        self.raw["image_hosts"] = listing["image_hosts"]
        return self.present_rows(rows)

    def present_rows(self, rows):
        """Plan the images of the T5 ``rows`` and scan those that need it, in tasks of
        ``batch_size`` images."""
        params = self.params
        self.raw["images"] = rows
        to_scan, skipped, dummy = self.plan_rows(rows)
        self.plan(to_scan, skipped)
        if not to_scan:
            self.follow_running(skipped)
            return self.done("No image needs a scan.")
        size = params["batch_size"] or len(to_scan)
        planned = len(_scan.batches(to_scan, size))
        if self.check_mode:
            self.result["changed"] = True
            return self.done("Would start %d scan task(s) for %d image(s)." % (planned, len(to_scan)))
        self.first_seen = dict((row.get("ImageID"), ts.normalise_image(row)) for row in rows)
        count = self.scan_images([ref["id"] for ref in to_scan], size, planned)
        triggered = len(self.result["images_triggered"])
        if not count:
            return self.done("No image needs a scan any more: another scan covered them, or TCSS will not scan them "
                             "(see images_skipped).")
        return self.done("Started %d scan task(s) for %d image(s)." % (count, triggered))

    def scan_images(self, ids, size, planned):
        """Start the scans of ``ids`` (one task, or tasks of ``size`` images one after another)
        and return how many were started.

        TCSS runs one scan at a time. A request refused because another scan runs (another job's)
        waits for that scan and then plans again: what the other scan covered is left out, only
        what is still needed is sent. The batches of this run are each waited for before the
        next one is planned and sent; the last one only with ``wait``.
        """
        pending = list(ids)
        count = rounds = 0
        while pending:
            group = pending[:size]
            try:
                task = self.send_trigger(self.task_params(images=group, scan_scope="selected"), self.state_of(group),
                                         lambda group=group: self.list_images(image_ids=group))
            except ApiError as exc:
                pending = self.after_refusal(exc, group, pending, size)
                rounds += 1
                if pending:
                    self.check_deadline(rounds)
                continue
            count += 1
            rounds = 0
            pending = pending[len(group):]
            if pending or self.params["wait"]:
                what = "scan task %d of %d" % (count, planned) if planned > 1 else "the scan task"
                self.wait(task, what=what)
            if pending:
                # Another job may have scanned some of the next images meanwhile.
                pending = self.replan(pending, self.list_images(image_ids=pending))
        return count

    def state_of(self, ids):
        """``selection_state`` of the images ``ids`` as first listed."""
        state = {}
        for image_id in ids:
            image = self.first_seen.get(image_id)
            if image is not None:
                state[image_id] = (image["scan_status"], image["latest_scan_time"])
        return state

    def after_refusal(self, error, group, pending, size):
        """T1 for ``group`` was refused (``ErrAlreadyScanning``): look. A running scan is waited
        for, then the images still pending are planned again; images shown unauthorised or
        scanned by someone else since they were listed are left out. The request for ``group``
        is sent again only after a running scan was seen, never after a look that found nothing
        (``resolve_refusal`` fails then)."""
        left = {"pending": pending}

        def explained():
            left["pending"] = self.replan(left["pending"], self.list_images(image_ids=left["pending"]))
            return left["pending"] if left["pending"][:size] != group else None

        running, replanned = self.resolve_refusal(error, explained)
        if running is None:
            return replanned
        self.follow_other(running)
        return self.replan(left["pending"], self.list_images(image_ids=left["pending"]))

    def replan(self, pending, rows):
        """The images of ``pending`` that still need this run's scan, from their T5 ``rows`` now.

        Left out (moved from ``images_triggered`` to ``images_skipped`` with the reason): images
        TCSS now shows unauthorised (``unscannable``), being scanned, or scanned since this run
        first listed them (by another task: what it found is fresh, also with ``force``), and
        images TCSS no longer lists."""
        now = dict((row.get("ImageID"), ts.normalise_image(row)) for row in rows)
        keep, dropped = [], {}
        for image_id in pending:
            image = now.get(image_id)
            first = self.first_seen.get(image_id) or {}
            if image is None:
                dropped[image_id] = _scan.image_ref(first, "TCSS no longer lists this image")
            elif image["scan_status"] == ts.IMAGE_UNSCANNABLE:
                dropped[image_id] = _scan.image_ref(image, "unscannable: %s" % image["unscannable_reason"])
            elif image["scan_status"] in _scan.IMAGE_IN_PROGRESS:
                dropped[image_id] = _scan.image_ref(image, "another scan is %s it" % image["scan_status"])
            elif _ops.effect_seen(first, image):
                dropped[image_id] = _scan.image_ref(image, "scanned by another task during this run (%s at %s)"
                                                    % (image["scan_status"], image["latest_scan_time"]))
            else:
                keep.append(image_id)
        if dropped:
            self.result["images_triggered"] = [ref for ref in self.result["images_triggered"]
                                               if ref["id"] not in dropped]
            self.result["images_skipped"] = self.result["images_skipped"] + [dropped[i] for i in pending
                                                                             if i in dropped]
        return keep

    def cluster_image_ids(self):
        """IDs of the images on the hosts of ``cluster_ids`` (T7 then T8)."""
        wanted = set(self.params["cluster_ids"])
        hosts = self.client.paginate("DescribeAssetHostList", {})
        host_ids = [h.get("HostID") for h in hosts if h.get("ClusterID") in wanted and h.get("HostID")]
        return set(pair.get("ImageID") for pair in image_host_pairs(self.client, "HostID", host_ids))

    def present_selection(self):
        params = self.params
        filters = ts.api_filters(params["filters"]) if params["filters"] else None
        scope = params["scan_scope"] or ("selected" if filters else "all_authorized")
        rows = self.list_images(filters)
        self.raw["images"] = rows
        if scope == "recommended":
            rows = [row for row in rows if row.get("IsSuggest")]
        elif scope == "cluster":
            in_clusters = self.cluster_image_ids()
            rows = [row for row in rows if row.get("ImageID") in in_clusters]
        to_scan, skipped, candidates = self.plan_rows(rows)
        if not to_scan:
            self.plan([], skipped)
            self.follow_running(skipped)
            return self.done("No selected image needs a scan.")
        # TCSS scans the whole selection: every candidate is part of the task.
        needed = set(ref["id"] for ref in to_scan)
        candidate_ids = set(i["id"] for i in candidates)
        excluded = [ref for ref in skipped if ref["id"] not in candidate_ids]
        self.plan(list(to_scan) + [dict(ref, reason="%s; scanned with the selection" % ref["reason"])
                                   for ref in skipped if ref["id"] not in needed and ref not in excluded], excluded)
        if self.check_mode:
            self.result["changed"] = True
            return self.done("Would start a scan task for %d image(s)." % len(self.result["images_triggered"]))
        # Images TCSS will not scan are left out of a filtered request: naming them may make TCSS
        # refuse it (a scope such as all_authorized leaves them out itself).
        unscannable = [ref["id"] for ref in skipped if ref["scan_status"] == ts.IMAGE_UNSCANNABLE and filters]
        exclude = _scan.unique(list(params["exclude_image_ids"] or []) + unscannable) or None
        task = self.start_selection(self.task_params(filters=params["filters"], exclude_image_ids=exclude,
                                                     scan_scope=scope, cluster_ids=params["cluster_ids"]),
                                    self.selection_state(rows), lambda: self.list_images(filters))
        attached = self.result["attached"]
        if params["wait"]:
            self.wait(task, what="the scan already running" if attached else "the scan task", own=not attached)
        if attached:
            return self.done("A scan was already running; followed it instead of starting one.")
        return self.done("Started a scan task for %d image(s)." % len(self.result["images_triggered"]))

    def follow(self):
        """state=present with task_id: report the task and wait for it when asked."""
        task_id = self.params["task_id"].strip()
        task = self.track(self.refine(self.read_task(task_id), always=True))
        if self.params["wait"] and not _scan.task_is_done(task["status"]):
            task = self.wait(task)
        return self.done("Task %s is %s." % (task_id, task["status"]))

    # -- state=absent ------------------------------------------------------------------------

    def stop_task(self):
        task_id = self.params["task_id"].strip()
        task = self.track(self.refine(self.read_task(task_id), always=True))
        if _scan.task_is_done(task["status"]):
            return self.done("Task %s already ended (%s)." % (task_id, task["status"]))
        self.result["changed"] = True
        if self.check_mode:
            return self.done("Would stop task %s." % task_id)

        def look():
            return _ops.applied() if _scan.task_is_done(self.read_task(task_id)["status"]) else _ops.not_applied()

        try:
            sent = _ops.send_once("ModifyAssetImageScanStop",
                                  lambda: self.client.modify_asset_image_scan_stop({"TaskID": task_id}), look,
                                  self.params["backoff_retries"])
        except ApiError as exc:
            self.result["changed"] = False
            raise _ops.ModuleError("Could not stop task %s" % task_id, error=exc)
        except _ops.ModuleError:
            self.result["changed"] = False
            raise
        if sent.answered:
            self.raw["stop"].append(sent.answer)
        self.track(self.refine(self.read_task(task_id, begin_time=task.get("begin_time")), always=True), replaces=task)
        return self.done("Stopped task %s." % task_id)

    def stop_images(self):
        params = self.params
        scanning = [{"Name": "ScanStatus", "Values": ["scanning"]}]
        if params["images"] is not None:
            rows = self.list_images(scanning, image_ids=_scan.unique(params["images"]))
        elif params["filters"]:
            rows = self.list_images(ts.api_filters(params["filters"]) + scanning)
        else:
            rows = self.list_images(scanning)
        excluded = set(params["exclude_image_ids"] or [])
        refs = []
        for row in rows:
            image = ts.normalise_image(row)
            if image["id"] not in excluded and image["scan_status"] in _scan.IMAGE_IN_PROGRESS:
                refs.append(_scan.image_ref(image, "being scanned"))
        self.result["images_stopped"] = refs
        if not refs:
            return self.done("No selected image is being scanned.")
        self.result["changed"] = True
        if self.check_mode:
            return self.done("Would stop the scan of %d image(s)." % len(refs))
        for group in _scan.batches([ref["id"] for ref in refs], ts.FILTER_CHUNK):
            self.stop_group(group, scanning)
        return self.done("Stopped the scan of %d image(s)." % len(refs))

    def stop_group(self, group, scanning):
        """T4 for the images of ``group``; after a lost answer, again only for those still scanned."""
        pending = {"ids": group}

        def look():
            pending["ids"] = [row.get("ImageID") for row in self.list_images(scanning, image_ids=pending["ids"])]
            if not pending["ids"]:
                return _ops.applied()
            return _ops.not_applied(resend=lambda: self.client.modify_asset_image_scan_stop({"Images": pending["ids"]}))

        sent = _ops.send_once("ModifyAssetImageScanStop",
                              lambda: self.client.modify_asset_image_scan_stop({"Images": group}), look,
                              self.params["backoff_retries"])
        if sent.answered:
            self.raw["stop"].append(sent.answer)
