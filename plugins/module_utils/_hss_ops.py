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

import contextlib

from ansible_collections.cloudsec.image_scan.plugins.module_utils import _clock, _http, _lock, _ops, _scan
from ansible_collections.cloudsec.image_scan.plugins.module_utils import _hss_shapes as hs
from ansible_collections.cloudsec.image_scan.plugins.module_utils._hss_client import PAGE_SIZE
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


def walk_or_select(client, operation, selected_calls, select, enough=None, **query):
    """``_http.walk_or_select`` over an HSS list API: the whole listing, or ``select()``."""
    query = dict((key, value) for key, value in query.items() if value is not None)

    def fetch(start, size):
        page = client.call(operation, dict(query, offset=start, limit=size)) or {}
        return page.get("data_list") or [], page.get("total_num")

    return _http.walk_or_select(fetch, PAGE_SIZE, selected_calls, select, enough)


def find_hosts(client, identities, **query):
    """``(rows, walked)``: the ListHostStatus rows of the hosts ``identities`` (``id``, ``name``,
    ``ip``) name, as ``_scan.find_host`` matches them, each once. Few hosts of a large fleet are
    looked up one by one (``host_id``, ``host_name``, then ``private_ip`` for a name not found;
    the name filter matches parts of names, so every answer is matched exactly again); else the
    fleet is walked once. When the lookups leave an identity unmatched (the filters may compare
    names with case, unlike ``find_host``), the fleet is walked once after all (``walked`` true),
    so that the rows are those of a walk. A host found neither way is not in the rows."""
    ids, names, ips = _scan.host_lookups(identities)

    def select():
        rows = []
        for host_id in ids:
            rows.extend(walk(client, "ListHostStatus", host_id=host_id, **query))
        for name in names:
            rows.extend(walk(client, "ListHostStatus", host_name=name, **query))
        index = _scan.index_hosts([hs.normalise_host(row) for row in rows])
        for identity in identities or []:
            ip = str(identity.get("ip") or "").strip()
            if ip and not str(identity.get("id") or "").strip() and _scan.find_host(identity, index) is None:
                rows.extend(walk(client, "ListHostStatus", private_ip=ip, **query))
                index = _scan.index_hosts([hs.normalise_host(row) for row in rows])
        return rows

    def enough(rows):
        return _scan.all_found(identities, [hs.normalise_host(row) for row in rows])

    rows, walked = walk_or_select(client, "ListHostStatus", len(ids) + len(names) + len(ips), select, enough,
                                  **query)
    unique_rows = dict((row.get("host_id"), row) for row in reversed(rows))
    rows = [row for row in rows if unique_rows.get(row.get("host_id")) is row]
    hosts = [hs.normalise_host(row) for row in rows]
    kept = set(id(host) for host in _scan.matching_hosts(identities, hosts))
    return [row for row, host in zip(rows, hosts) if id(host) in kept], walked


def rows_of_hosts(client, host_ids, statuses, key, **query):
    """``(rows, walked)``: the H5 rows of the hosts with these ``host_ids``, exactly. Few hosts of
    a large fleet are listed one by one with the ``host_id`` filter; else the fleet's rows are
    walked once (with scan states, always host by host)."""
    wanted = _scan.unique(str(h) for h in host_ids or [] if h)
    query = dict((k, v) for k, v in query.items() if v is not None and k != "host_id")

    def select():
        rows = []
        for host_id in wanted:
            rows.extend(row for row in walk_statuses(client, "ListImageLocal", statuses, key, host_id=host_id, **query)
                        if row.get("host_id") == host_id)
        return rows

    if not wanted:
        return [], False
    if statuses:
        rows, walked = select(), False
    else:
        rows, walked = walk_or_select(client, "ListImageLocal", len(wanted), select, **query)
    if walked:
        keep = set(wanted)
        rows = [row for row in rows if row.get("host_id") in keep]
    # One order whatever the hosts and the way they were listed: every host lists its images in
    # the same order in a slice of a job as in the whole job.
    order = ("image_name", "image_version", "image_id", "host_id")
    rows.sort(key=lambda row: tuple(str(row.get(k) or "") for k in order))
    return rows, walked


# ---------------------------------------------------------------------------------------------
# Info
# ---------------------------------------------------------------------------------------------


def vulnerability_query(row):
    """The H8 query that names the registry image of an H6 row (the parameters the SDK requires)."""
    return dict(image_type=row.get("image_type"), namespace=row.get("namespace"), image_name=row.get("image_name"),
                tag_name=row.get("image_version"), instance_id=row.get("instance_id") or None)


#: The vulnerability types of ListGeneralImageVuls / ListVulAffectImages (both required).
VUL_TYPES = ("linux_vul", "app_vul")


def vulnerability_catalogue(client, image_type, raw):
    """The unhandled vulnerabilities HSS found on images of ``image_type`` (``local`` or
    ``registry``), ``{vul_id: ListGeneralImageVuls row}``: each rated Critical, High, Medium or Low,
    with its CVSS scores and the number of images it affects (``image_num``). One walk per
    vulnerability type, 200 rows a page."""
    catalogue = {}
    listed = raw.setdefault("%s_vulnerabilities" % image_type, [])
    for vul_type in VUL_TYPES:
        for vul in walk(client, "ListGeneralImageVuls", type=vul_type, handle_status="unhandled", image_type=image_type):
            listed.append(vul)
            if vul.get("vul_id"):
                catalogue.setdefault(vul["vul_id"], dict(vul, type=vul.get("type") or vul_type))
    return catalogue


def _affected(client, vul, image_ids):
    """``(image id, agent id)`` of the local images among ``image_ids`` that ``vul`` affects
    (ListVulAffectImages). Whichever is fewer calls: one walk over every image it affects
    (``image_num`` of them, 200 a page), or one call filtered by image id per image of
    ``image_ids`` (the smaller answers when the two are as many calls)."""
    query = dict(vul_id=vul["vul_id"], type=vul["type"], image_type="local", is_handled=False)
    pages = max(1, -(-_scan.int_or(vul.get("image_num"), 1) // PAGE_SIZE))
    if len(image_ids) <= pages:
        rows = [row for image_id in sorted(image_ids)
                for row in walk(client, "ListVulAffectImages", image_id=image_id, **query)]
    else:
        rows = walk(client, "ListVulAffectImages", **query)
    return set((row.get("image_id"), row.get("agent_id")) for row in rows if row.get("image_id") in image_ids)


def local_findings(client, rows, raw):
    """The findings of the local images of the H5 ``rows`` that have vulnerabilities,
    ``{(image id, agent id): [finding]}``.

    HSS lists local-image vulnerabilities by vulnerability, not by image:
    ListGeneralImageVuls gives every vulnerability found on local images (rated, with CVSS),
    ListVulAffectImages the images and hosts one affects, and ListVulAffectImageApps the
    software of one image it is found in (the package and its versions). The cost: one walk per
    vulnerability type (200 vulnerabilities a page); ListVulAffectImages once per vulnerability
    listed (it requires a vulnerability id: no documented API lists a local image's
    vulnerabilities by image), filtered by image id where that is fewer calls, so as many calls
    as the account has distinct vulnerabilities on local images, whatever its number of images
    and hosts; and the software once per vulnerability and image of ``rows`` (not per host):
    these calls grow with the findings of the images asked about, not with the fleet.
    """
    image_ids = set(row.get("image_id") for row in rows
                    if row.get("image_id") and _scan.int_or(row.get("vul_num")) > 0)
    if not image_ids:
        return {}
    catalogue = vulnerability_catalogue(client, "local", raw)
    hits = {}
    for vul_id in sorted(catalogue):
        for key in _affected(client, catalogue[vul_id], image_ids):
            hits.setdefault(key, []).append(vul_id)
    apps = raw.setdefault("local_apps", {})
    found = {}
    for key in sorted(hits, key=lambda k: tuple("" if part is None else str(part) for part in k)):
        image_id = key[0]
        for vul_id in hits[key]:
            name = "%s %s" % (image_id, vul_id)
            if name not in apps:
                apps[name] = walk(client, "ListVulAffectImageApps", image_id=image_id, vul_id=vul_id,
                                  image_type="local", is_handled=False)
            found.setdefault(key, []).extend(hs.normalise_rated_findings(catalogue[vul_id], apps[name]))
    return found


def registry_findings(client, rows, images, raw):
    """The findings of the registry images of the H6 ``rows`` (``images`` normalised), by image
    id: H8 (ListImageVulnerabilities, the packages) for each image with vulnerabilities, rated by
    the vulnerability's ListGeneralImageVuls row (``image_type=registry``; H8 has only the
    repair necessity, which puts critical and high together), read once for all images."""
    found = raw.setdefault("vulnerabilities", {})
    for row, image in zip(rows, images):
        if image["vulnerability_count"] > 0 and image["id"] not in found:
            found[image["id"]] = walk(client, "ListImageVulnerabilities", image_id=image["id"],
                                      **vulnerability_query(row))
    catalogue = vulnerability_catalogue(client, "registry", raw) if any(found.values()) else {}
    return dict((image_id, [hs.normalise_finding(vuln, catalogue.get(vuln.get("vul_id"))) for vuln in vulns])
                for image_id, vulns in found.items())


def add_findings(client, image_type, rows, images, raw):
    """Add ``findings`` and ``severity_counts`` to the normalised ``images`` of ``rows`` (in place)."""
    if image_type == "local":
        local = local_findings(client, rows, raw)
        for row, image in zip(rows, images):
            image["findings"] = local.get((row.get("image_id"), row.get("agent_id")), [])
    else:
        registry = registry_findings(client, rows, images, raw)
        for image in images:
            image["findings"] = registry.get(image["id"], [])
    for image in images:
        image["severity_counts"] = _scan.severity_counts(image["findings"])


def list_images(client, image_type, query, statuses=None, host_name=None, image_ids=None, findings=False, raw=None,
                host_ids=None, listing=None):
    """Normalised images of H5 (``local``) or H6 (``registry``), with their findings when asked
    (``add_findings``); with ``host_ids``, the local images of those hosts only
    (``rows_of_hosts``; whether the fleet was walked goes to ``listing["fleet_walked"]``)."""
    key = hs.row_key if image_type == "local" else (lambda row: (row.get("id"), row.get("image_id")))
    if host_ids is not None:
        rows, walked = rows_of_hosts(client, host_ids, statuses, key, **query)
        if listing is not None:
            listing["fleet_walked"] = walked
    else:
        rows = walk_statuses(client, LIST_API[image_type], statuses, key, **query)
    if host_name:
        rows = [row for row in rows if row.get("host_name") == host_name]
    if image_ids is not None:
        rows = [row for row in rows if row.get("image_id") in set(image_ids)]
    raw["images"] = rows
    images = [hs.normalise_image(row, image_type) for row in rows]
    _ops.localise_scan_times(images, _ops.clock_offset(client.transport.clock_offset, images))
    if findings:
        add_findings(client, image_type, rows, images, raw)
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


@contextlib.contextmanager
def account_turn(client, params):
    """Hold the turn of the client's account (``_lock``) in ``params["lock_dir"]`` for the
    ``with`` block: the runs that share the directory look and trigger one after another. A turn
    that cannot be taken fails the run, which has started nothing yet."""
    try:
        path = _lock.lock_file(params["lock_dir"], "hss", client.base_url, client.project_id,
                               client.enterprise_project_id)
        with _lock.turn(path, params["lock_timeout"]):
            yield
    except _lock.LockError as exc:
        raise _ops.ModuleError("%s; nothing was started" % exc)


def get_task(client, task_id):
    """The H2 row of a task, or ``None`` when no image-scan task has this id."""
    page = client.call("ListImageScanTask", dict(type="image_scan", task_id=task_id, offset=0, limit=10)) or {}
    for row in page.get("data_list") or []:
        if row.get("task_id") == task_id:
            return row
    return None


def task_done(row):
    return row is not None and _scan.task_is_done(hs.task_status(row.get("task_status")))


#: Seconds the last look before an H3 trigger reaches back before the listing began: the error of
#: the measured clock offset (the ``Date`` of an answer has whole seconds) and more.
LAST_LOOK_MARGIN = 30

#: The in-progress states in the order an image goes through them: listed in this order, an
#: image that moves on between two listings is still seen by the second one.
IN_PROGRESS_ORDER = (_scan.IMAGE_WAITING, _scan.IMAGE_SCANNING)


def in_progress_rows(client, **filters):
    """Every H5 row that is waiting or being scanned."""
    return walk_statuses(client, "ListImageLocal", IN_PROGRESS_ORDER, hs.row_key, **filters)


def in_progress_keys(client, **filters):
    """The ``row_key`` of every H5 row that is waiting or being scanned."""
    return set(hs.row_key(row) for row in in_progress_rows(client, **filters))


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
        send = _ops.Timed(lambda: self.client.create_manual_image_scan_task(body, self.image_type))

        def look():
            row = finder.find()
            if row is not None:
                return _ops.applied(row)
            return _ops.not_applied() if send.since() >= p["start_timeout"] else _ops.unknown()

        sent = _ops.send_once("CreateManualImageScanTask", send, look, p["backoff_retries"],
                              confirm_timeout=p["start_timeout"], confirm_sleep=p["wait_sleep"])
        self.result["changed"] = True
        self.triggered_at = sent.sent_at
        if not sent.answered:
            return sent.look.value
        try:
            return _ops.wait_for(finder.find, lambda row: row is not None,
                                 max(p["start_timeout"] - send.since(), 0), p["wait_sleep"])
        except _ops.WaitTimeout:
            return None

    def present(self):
        """List, plan and trigger in the account's turn (check mode takes none): the runs that
        share ``lock_dir`` then plan on what the previous one started. The wait comes after it."""
        p = self.params
        with contextlib.nullcontext() if self.check_mode else account_turn(self.client, p):
            done, row = self.plan_and_start()
        if done is not None:
            return done
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

    def plan_and_start(self):
        """``(result, None)`` when nothing is started (nothing needs a scan, or check mode), else
        ``(None, row)``: the H2 row of the task started (``None`` when it did not show)."""
        p = self.params
        rows, exact = self.list_targets()
        self.result["raw"]["images"] = rows
        to_scan, triggered, skipped = hs.plan_grouped(rows, self.image_type, self.module.max_age, p["force"],
                                                      now=cloud_now(self.client, rows, self.image_type))
        if exact:
            self.plan(triggered, skipped)
            if not to_scan:
                return self.done("No image needs a scan."), None
        else:
            self.module.warn("query uses %s, which no listing can filter by: the module cannot tell which images "
                             "need a scan and starts one" % ", ".join(k for k in hs.UNPLANNABLE_KEYS if k in self.query))
        if self.check_mode:
            self.result["changed"] = True
            return self.done("Would start a scan task for %d image(s)." % len(self.result["images_triggered"])), None
        return None, self.trigger(self.build_body(to_scan, exact))

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
        #: Monotonic time of the first trigger: the start deadline counts from it.
        self.started = None
        #: The keys (``_ref_key``) of the images triggered that showed the trigger's effect.
        self.shown = set()

    def check(self):
        p = self.params
        if not p["region"]:
            raise ValueError("region is required: BatchScanLocalImage needs the region header, also with endpoint "
                             "(set region or the environment variable HUAWEICLOUD_SDK_REGION)")
        if p["query"] and not (p["all_images"] or self.host_filters):
            raise ValueError("query selects images only with all_images=true or a host (host_name, host_id, host_ip)")
        if p["images"] is None and not p["all_images"] and not self.host_filters and p["host_ids"] is None:
            raise ValueError("one of images, all_images=true, host_name, host_id, host_ip or host_ids is required")
        if any(not str(host_id).strip() for host_id in p["host_ids"] or []):
            raise ValueError("host_ids must not contain empty values")
        self.query = hs.check_query(p["query"], hs.H3_QUERY_FIELDS)
        self.images = hs.check_local_images(p["images"])

    def on_host(self, row):
        name = self.params["host_name"]
        return not name or row.get("host_name") == name

    def list_rows(self, final=False):
        """The H5 rows of the targeted images (one walk, or one filtered walk per named image; with
        ``host_ids`` alone, every row of those hosts)."""
        if self.params["images"] is None and self.params["host_ids"] is not None:
            return rows_of_hosts(self.client, self.params["host_ids"], None, hs.row_key)[0]
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
        elif self.params.get("host_ids") is not None:
            listed = rows_of_hosts(self.client, self.params["host_ids"], None, hs.row_key)[0]
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
        pending = {"ids": list(image_ids) if image_ids is not None else None}

        def sending(call):
            # The start deadline counts from the end of the last send (its answer or its failure): a
            # request that was slow to answer, or that timed out, may have been applied only then.
            def send():
                try:
                    return call()
                finally:
                    effects.start_deadline = _clock.monotonic() + p["start_timeout"]
            return send

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
            effects.start_deadline = _clock.monotonic() + p["start_timeout"]
            if left is None:
                return _ops.not_applied()
            pending["ids"] = left
            return _ops.not_applied(resend=sending(lambda: self.client.batch_scan_local_image(
                hs.h3_body([{"image_id": image_id} for image_id in left]))))

        sent = _ops.send_once("BatchScanLocalImage", sending(lambda: self.client.batch_scan_local_image(body)), look,
                              p["backoff_retries"], confirm_timeout=p["start_timeout"] + p["wait_sleep"],
                              confirm_sleep=p["wait_sleep"])
        self.started = effects.start_deadline - p["start_timeout"]
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
        effects.see_keys(self.shown)

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

    def last_look(self, rows, listed_from):
        """The rows as they are just before the trigger.

        HSS scans an image on every host that holds it, and another job (another slice of this
        one, say) may trigger an image of these rows while they are listed: a trigger sent after
        that scan ended would scan, and bill, the image again. So the rows waiting or being
        scanned now, and those whose last scan ended since the listing began (on the cloud's
        clock, with a margin), replace theirs, for the plan to be made again on them. It is a few
        calls, of the cloud's recent activity only."""
        cloud = cloud_now(self.client, rows, "local")
        since = int((cloud - (_clock.now() - listed_from) - LAST_LOOK_MARGIN) * 1000)
        until = int((cloud + LAST_LOOK_MARGIN) * 1000)
        recent = in_progress_rows(self.client, **self.host_filters)
        recent.extend(walk(self.client, "ListImageLocal", start_latest_scan_time=since, end_latest_scan_time=until,
                           **self.host_filters))
        newer = {}
        for row in recent:
            newer.setdefault(hs.row_key(row), row)
        return [newer.get(hs.row_key(row), row) for row in rows]

    def until_shown(self):
        """Wait until every image triggered shows the trigger's effect, or until the start
        deadline: the next run's look then sees these scans. On hosts, each look is one listing of
        the targeted rows in every state (the rows in progress and those whose scan already ended
        at once); else the listings of ``look_effects``. What does not show by then is for the
        wait (or the next run) to find out; ``trigger_shown`` says whether everything showed."""
        p = self.params
        effects = _ops.Effects(self.result["images_triggered"], _ref_key, p["start_timeout"], started=self.started)
        on_hosts = p["host_ids"] is not None or bool(self.host_filters)

        def look():
            if on_hosts:
                effects.see(hs.normalise_image(row, "local") for row in self.list_rows(final=True))
            else:
                self.look_effects(effects)
            return effects.unconfirmed()

        try:
            _ops.wait_for(look, lambda unconfirmed: not unconfirmed,
                          max(effects.start_deadline - _clock.monotonic(), 0), p["wait_sleep"])
        except _ops.WaitTimeout:
            pass
        self.shown.update(effects.confirmed)
        self.result["trigger_shown"] = not effects.unconfirmed()

    def plan_rows(self, rows):
        self.set_images(rows)
        to_scan, triggered, skipped = hs.plan_grouped(rows, "local", self.module.max_age, self.params["force"],
                                                      now=cloud_now(self.client, rows, "local"))
        self.plan(triggered, skipped)
        return to_scan

    def run(self):
        self.check()
        p = self.params
        listed_from = _clock.now()
        to_scan = self.plan_rows(self.list_rows())
        if self.check_mode:
            self.result["changed"] = bool(to_scan)
            return self.done("Would scan %d image(s)." % len(self.result["images_triggered"]) if to_scan else
                             "No image needs a scan.")
        if to_scan:
            with account_turn(self.client, p):
                # With force every image is scanned again, as asked; else nothing another run
                # started since the listing began is sent again.
                if not p["force"]:
                    to_scan = self.plan_rows(self.last_look(self.result["raw"]["images"], listed_from))
                if to_scan:
                    self.trigger(to_scan)
                    self.until_shown()
        triggered = self.result["images_triggered"]
        rows = self.result["raw"]["images"]
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
