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

from ansible_collections.cloudsec.image_scan.plugins.module_utils import _clock, _ops, _scan
from ansible_collections.cloudsec.image_scan.plugins.module_utils import _tcss_shapes as ts
from ansible_collections.cloudsec.image_scan.plugins.module_utils._http import ApiError
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


def task_info(client, task_id, raw, warn=None):
    """The task ``task_id`` (or the current one-click task), completed by T3; ``None`` when
    TCSS does not know it."""
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

    def run(self):
        problems = list_problems(self.params, ("images", "filters", "exclude_image_ids", "cluster_ids"), None)
        problems.extend(ts.scan_problems(self.params))
        if problems:
            raise ValueError("; ".join(problems))
        params = self.params
        if params["state"] == "absent":
            return self.stop_task() if params["task_id"] is not None else self.stop_images()
        if params["task_id"] is not None:
            return self.follow()
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

    def refine(self, task):
        """Complete an ended one-click task with T3's SubStatus and start time."""
        if task.get("id"):
            return ts.merge_task(task, read_one_click(self.client, self.raw))
        return task

    def find_running_task(self):
        """The running scan: the one-click task when it runs (with its ID), else the latest task when
        it runs (without an ID), else ``None``."""
        one_click = read_one_click(self.client, self.raw)
        if one_click is not None and one_click["status"] == _scan.TASK_RUNNING:
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

    def yield_to(self, running, must_scan):
        """Another scan runs. Without ``must_scan`` follow it (True); with it, wait for it to end
        so that ours can be sent (False)."""
        self.track(running)
        if not must_scan:
            self.result["attached"] = True
            return True
        self.wait(running, what="the scan already running", own=False)
        return False

    def start(self, params, before, relist, must_scan):
        """Send T1 once for this intent (``_ops.send_once``); the task started, or the running
        task followed instead (``attached``). ``before``/``relist`` describe the selected images,
        to recognise the effect of a request whose answer was lost. TCSS runs one scan at a time:
        with ``must_scan`` a running scan is waited for and the request sent again (within the
        run's deadline); without it the running scan is followed."""

        start_timeout = self.params.get("start_timeout") or 0
        first_look = {}

        def look():
            # TCSS may show a trigger's effect late: nothing seen is "not yet" until start_timeout.
            first_look.setdefault("at", _clock.monotonic())
            if self.was_applied(before, relist):
                return _ops.applied()
            running = self.find_running_task()
            if running is not None:
                return _ops.applied(running)
            if _clock.monotonic() - first_look["at"] < start_timeout:
                return _ops.unknown()
            return _ops.not_applied()

        refused = rounds = 0
        while True:
            try:
                sent = _ops.send_once("CreateAssetImageScanTask", lambda: self.client.create_asset_image_scan_task(params),
                                      look, self.params["backoff_retries"],
                                      confirm_timeout=start_timeout + 2 * self.params["wait_sleep"],
                                      confirm_sleep=self.params["wait_sleep"])
                break
            except ApiError as exc:
                if exc.code != ts.ERR_ALREADY_SCANNING:
                    raise _ops.ModuleError("Could not start the scan", error=exc)
                running = self.find_running_task()
                if running is None:
                    refused += 1
                    if refused > 1:
                        raise _ops.ModuleError("TCSS refused to start the scan although no scan seems to run; the "
                                               "account may lack the scan authorisation", error=exc)
                    continue
                if self.yield_to(running, must_scan):
                    return running
            # The other scan ended: send again within the deadline, pausing after the first round
            # (TCSS's answers may lag behind the end of the other scan).
            rounds += 1
            if self.remaining() <= 0:
                raise _ops.ModuleError("TCSS still refuses to start the scan after %s seconds (wait_timeout): "
                                       "another scan keeps running" % self.params["wait_timeout"])
            if rounds > 1:
                _clock.sleep(min(self.params["wait_sleep"], self.remaining()))
        self.result["changed"] = True
        self.triggered_at = self.triggered_at or sent.sent_at
        if sent.answered:
            self.raw["create"].append(sent.answer)
            task_id = sent.answer.get("TaskID")
            task = self.shown_task(task_id, sent.sent_at) if task_id else self.read_task(None)
        else:
            # The answer was lost but the look found the effect: the task found is this run's own.
            task = sent.look.value or self.find_running_task() or self.read_task(None)
            task["begin_time"] = task.get("begin_time") or sent.sent_at
        return self.track(task)

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
            self.track(running)
            self.wait(running, what="the scan already running", own=False)

    def task_params(self, **selection):
        p = self.params
        return ts.scan_task_params(p["scan_types"], container_running=p["container_running"] or None,
                                   timeout=p["task_timeout"], one_click=p["one_click"] or None, **selection)

    def present_images(self):
        params = self.params
        ids = _scan.unique(params["images"])
        rows = self.list_images(image_ids=ids)
        self.raw["images"] = rows
        known = set(row.get("ImageID") for row in rows)
        missing = [image_id for image_id in ids if image_id not in known]
        if missing:
            raise _ops.ModuleError("TCSS lists no image with the ID(s) %s given in images" % ", ".join(missing))
        to_scan, skipped, dummy = self.plan_rows(rows)
        self.plan(to_scan, skipped)
        if not to_scan:
            self.follow_running(skipped)
            return self.done("No image needs a scan.")
        groups = _scan.batches([ref["id"] for ref in to_scan], params["batch_size"])
        if self.check_mode:
            self.result["changed"] = True
            return self.done("Would start %d scan task(s) for %d image(s)." % (len(groups), len(to_scan)))
        before = self.selection_state(rows)
        for number, group in enumerate(groups):
            task = self.start(self.task_params(images=group, scan_scope="selected"),
                              dict((i, before.get(i)) for i in group if i in before),
                              lambda group=group: self.list_images(image_ids=group), must_scan=True)
            if number < len(groups) - 1 or params["wait"]:
                what = "scan task %d of %d" % (number + 1, len(groups)) if len(groups) > 1 else "the scan task"
                self.wait(task, what=what)
        return self.done("Started %d scan task(s) for %d image(s)." % (len(groups), len(to_scan)))

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
        task = self.start(self.task_params(filters=params["filters"], exclude_image_ids=exclude,
                                           scan_scope=scope, cluster_ids=params["cluster_ids"]),
                          self.selection_state(rows), lambda: self.list_images(filters), must_scan=False)
        attached = self.result["attached"]
        if params["wait"]:
            self.wait(task, what="the scan already running" if attached else "the scan task", own=not attached)
        if attached:
            return self.done("A scan was already running; followed it instead of starting one.")
        return self.done("Started a scan task for %d image(s)." % len(self.result["images_triggered"]))

    def follow(self):
        """state=present with task_id: report the task and wait for it when asked."""
        task_id = self.params["task_id"].strip()
        task = self.track(self.refine(self.read_task(task_id)))
        if self.params["wait"] and not _scan.task_is_done(task["status"]):
            task = self.wait(task)
        return self.done("Task %s is %s." % (task_id, task["status"]))

    # -- state=absent ------------------------------------------------------------------------

    def stop_task(self):
        task_id = self.params["task_id"].strip()
        task = self.track(self.refine(self.read_task(task_id)))
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
        self.track(self.refine(self.read_task(task_id, begin_time=task.get("begin_time"))), replaces=task)
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
