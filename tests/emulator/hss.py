"""Huawei Cloud HSS v5: routing, validation and the image-scan APIs H1-H8 plus ListHostStatus
and the findings APIs ListGeneralImageVuls, ListVulAffectImages and ListVulAffectImageApps.

Every handler takes a ``Request`` and returns ``(http_status, body_dict)`` or raises
``common.ApiError`` (answered as ``{"error_code", "error_msg"}``). Handlers run with the state
lock held and the state already advanced to ``req.now``.
"""

import json
import time
from urllib.parse import unquote

from common import (ApiError, INT64_MAX, Query, ceil_div, drop_none, hss_fields, hss_invalid,
                    ms, page)
from dataset import REGISTRY_TYPES
from realism import stable_shuffle
import state as st

PREFIX = "v5"

GLOBAL_IMAGE_TYPES = ("local", "registry")
REGISTRY_IMAGE_TYPES = ("private_image", "shared_image", "instance_image", "harbor", "jfrog")
SWR_IMAGE_TYPES = ("private_image", "shared_image", "local_image", "instance_image")
VUL_IMAGE_TYPES = ("private_image", "shared_image", "instance_image", "cicd", "harbor", "jfrog")
LOCAL_IMAGE_TYPES = ("swr_image", "other_image")
TRIGGER_SCAN_STATUSES = ("unscan", "success", "scanning", "failed", "download_failed",
                         "image_oversized")
LIST_SCAN_STATUSES = ("unscan", "success", "scanning", "failed", "waiting_for_scan")
REGISTRY_TYPE_NAMES = ("SwrPrivate", "SwrShared", "SwrEnterprise", "Harbor", "Jfrog", "Other",
                       "Local")
SEVERITY_LEVELS = ("Security", "Low", "Medium", "High")
REPAIR = {"critical": "immediate_repair", "high": "immediate_repair", "medium": "delay_repair",
          "low": "not_needed_repair"}
# Four-level ratings of ListVulAffectImages / ListGeneralImageVuls.
RATING = {"critical": "Critical", "high": "High", "medium": "Medium", "low": "Low"}
FINDING_IMAGE_TYPES = ("local", "registry", "cicd", "cluster")
AGENT_FILTERS = ("installed", "not_installed", "online", "offline", "install_failed",
                 "installing", "not_online")

# Internal unit status -> the word each API uses.
_H5_STATUS = {"unscan": "unscan", "waiting": "waiting", "scanning": "scanning",
              "success": "success", "failed": "failed", "download_failed": "failed",
              "image_oversized": "failed"}
_H6_STATUS = {"unscan": "unscan", "waiting": "waiting_for_scan", "scanning": "scanning",
              "success": "success", "failed": "failed", "download_failed": "download_failed",
              "image_oversized": "image_oversized"}
# Filter word -> internal statuses it selects.
_FILTER_STATUS = {"unscan": ("unscan",), "success": ("success",), "scanning": ("scanning",),
                  "failed": ("failed", "download_failed", "image_oversized"),
                  "waiting_for_scan": ("waiting",), "download_failed": ("download_failed",),
                  "image_oversized": ("image_oversized",)}
_H6_FILTER_STATUS = dict(_FILTER_STATUS, failed=("failed",))

# Highest severity rank (state.SEVERITY_RANK, 0 = none) -> HSS severity_level.
_SEVERITY_LEVEL = {0: "Security", 1: "Low", 2: "Medium", 3: "High", 4: "High"}

_DEFAULT_SCOPE = st.SCOPE_ALL


def _path_image_id(req, longest):
    image_id = req.params["image_id"]
    if len(image_id) > longest:
        raise hss_invalid("image_id must be 0-%d characters long" % longest)
    return image_id


def _paging(q):
    """``(offset, limit)`` of an HSS list query (limit 10-200, default 10)."""
    return q.int("offset", 0, 2000000, 0), q.int("limit", 10, 200, 10)


def _required_bool(q, name):
    value = q.bool(name)
    if value is None:
        raise hss_invalid("%s is required" % name)
    return value


class Request:
    """One HSS API call as the handlers see it."""

    def __init__(self, method, params, query_pairs, headers, body, now):
        self.method = method
        self.params = params
        self.query = Query(query_pairs)
        self.headers = headers
        self.body = body
        self.now = now

    def json(self):
        if not self.body or not self.body.strip():
            return {}
        try:
            data = json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise hss_invalid("the request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise hss_invalid("the request body must be a JSON object")
        return data


# (method, path template after /v5/{project_id}/, SDK API name, handler name)
_ROUTES = [
    ("POST", "image/image-scan/tasks", "CreateManualImageScanTask", "create_manual_scan"),
    ("GET", "image/tasks", "ListImageScanTask", "list_scan_tasks"),
    ("POST", "image/local/batch-scan", "BatchScanLocalImage", "batch_scan_local"),
    ("PUT", "image/image-scan/tasks/{task_id}/stop", "StopImageScanTask", "stop_scan_task"),
    ("GET", "image/local-repositories", "ListImageLocal", "list_image_local"),
    ("GET", "image/registries/images", "ListRegistryImages", "list_registry_images"),
    ("GET", "image/swr-repository", "ListSwrImageRepository", "list_swr_images"),
    ("GET", "image/{image_id}/vulnerabilities", "ListImageVulnerabilities", "list_vulnerabilities"),
    ("GET", "host-management/hosts", "ListHostStatus", "list_host_status"),
    ("GET", "vulnerability/images", "ListVulAffectImages", "list_vul_affect_images"),
    ("GET", "images/vulnerabilities", "ListGeneralImageVuls", "list_general_image_vuls"),
    ("GET", "image/vulnerability/{image_id}/apps", "ListVulAffectImageApps",
     "list_vul_affect_image_apps"),
]
_ROUTE_TABLE = [(m, t.split("/"), name, handler) for m, t, name, handler in _ROUTES]


def is_hss_path(path):
    return path == "/" + PREFIX or path.startswith("/%s/" % PREFIX)


def route(method, path):
    """Match ``/v5/{project_id}/...``. Returns ``(api_name, handler_name, params)`` or ``None``.

    ``params`` holds the decoded path parameters, ``project_id`` included.
    """
    segments = [unquote(s) for s in path.split("/")[1:]]
    if len(segments) < 3 or segments[0] != PREFIX:
        return None
    project_id, rest = segments[1], segments[2:]
    for r_method, template, name, handler in _ROUTE_TABLE:
        if len(template) != len(rest):
            continue
        params = {"project_id": project_id}
        for part, value in zip(template, rest):
            if part.startswith("{"):
                if not value:
                    break
                params[part[1:-1]] = value
            elif part != value:
                break
        else:
            if r_method == method:
                return name, handler, params
    return None


class _IndexView:
    """A read-only sequence of ``units[i] for i in idxs`` built lazily (cheap len and slices)."""

    def __init__(self, units, idxs):
        self.units = units
        self.idxs = idxs

    def __len__(self):
        return len(self.idxs)

    def __getitem__(self, key):
        if isinstance(key, slice):
            return [self.units[i] for i in self.idxs[key]]
        return self.units[self.idxs[key]]

    def __iter__(self):
        return (self.units[i] for i in self.idxs)


def _protect_status(hss_enrolment):
    return {"online": "opened", "offline": "protection_exception"}.get(
        hss_enrolment["agent_status"], "closed")


def _unique(units):
    seen = set()
    unique = []
    for unit in units:
        if id(unit) not in seen:
            seen.add(id(unit))
            unique.append(unit)
    return unique


def _in_range(value, start, end):
    """``start <= value <= end``; a ``None`` bound is open."""
    return (start is None or value >= start) and (end is None or value <= end)


class HssApi:
    def __init__(self, state, config):
        self.st = state
        self.config = config

    # -- shared checks -----------------------------------------------------------------------

    def check_common(self, req):
        req.query.str("enterprise_project_id", 1, 256)
        region = req.headers.get("region")
        if region is not None and not 1 <= len(region) <= 128:
            raise hss_invalid("region must be 1-128 characters long")

    def check_project(self, params):
        if params["project_id"] != self.config.hss_project_id:
            raise ApiError("APIGW.0302", "The project id %s in the path does not match the "
                           "authorised project." % params["project_id"], 403)

    # -- row shapes ------------------------------------------------------------------------------

    def severity_level(self, unit):
        if unit.vul_ids is None:
            return None
        return _SEVERITY_LEVEL[self.st.severity_of(unit.vul_ids)]

    def local_row(self, unit):
        image, host = unit.image, unit.host
        return drop_none({
            "image_name": image["name"],
            "image_id": image["hss_image_id"],
            "image_digest": image["digest"],
            "image_version": image["version"],
            "local_image_type": image["local_image_type"],
            "scan_status": _H5_STATUS[unit.status],
            "image_size": image["size"],
            "latest_update_time": image["update_time"],
            "latest_scan_time": ms(self.st.clock(unit.scan_time)),
            "vul_num": unit.vul_num,
            "unsafe_setting_num": unit.unsafe,
            "malicious_file_num": unit.malicious,
            "host_num": self.st.hss_host_num.get(image["hss_image_id"], 0),
            "container_num": unit.containers,
            "component_num": image["component_num"] if unit.vul_ids is not None else 0,
            "scan_failed_desc": unit.failure,
            "severity_level": self.severity_level(unit),
            "host_name": host["name"],
            "host_id": host["hss"]["host_id"],
            "agent_id": host["hss"]["agent_id"],
            "non_scan_reason": self.st.unscannable(unit) or "",
        })

    def registry_row(self, unit, swr_view=False):
        image = unit.image
        row = {
            "id": image["id"],
            "namespace": image["namespace"],
            "image_name": image["name"],
            "image_id": image["image_id"],
            "image_digest": image["digest"],
            "image_version": image["version"],
            "image_type": REGISTRY_TYPES[image["registry_type"]],
            "latest_version": image["latest_version"],
            "scan_status": _H6_STATUS[unit.status],
            "scan_failed_desc": unit.failure,
            "image_size": image["size"],
            "latest_update_time": image["update_time"],
            "latest_scan_time": ms(self.st.clock(unit.scan_time)),
            "vul_num": unit.vul_num,
            "unsafe_setting_num": unit.unsafe,
            "malicious_file_num": unit.malicious,
            "domain_name": image["domain_name"],
            "shared_status": image.get("shared_status"),
            "scannable": not self.st.unscannable(unit),
            "instance_name": image.get("instance_name"),
            "instance_id": image.get("instance_id"),
            "instance_url": image.get("instance_url"),
            "association_images": [],
        }
        if not swr_view:
            row.update({
                "registry_id": image["registry_id"],
                "registry_name": image["registry_name"],
                "registry_type": image["registry_type"],
                "scan_failed_code": unit.failure,
                "latest_sync_time": image["update_time"] + 600000,
                "is_multiple_arch": False,
                "severity_level": self.severity_level(unit),
            })
        return drop_none(row)

    def task_row(self, task, now):
        status = {"finished": 100, "stopped": -1, "timed_out": -2}.get(task.state)
        if status is None:
            status = task.progress(now)
        elif status == 100 and task.failed and self.st.has("vocabulary"):
            # The task ended but images failed: -2 (timeout) when an oversized image made the
            # scanner give up, else -3 (abnormal).
            status = -2 if any(u.image["outcome"] == "image_oversized"
                               for u in task.failed_units) else -3
        failed_images = []
        for unit in task.failed_units:
            image = unit.image
            if unit.kind == "registry":
                failed_images.append({
                    "id": image["id"], "registry_id": image["registry_id"],
                    "registry_name": image["registry_name"], "image_name": image["name"],
                    "image_version": image["version"], "namespace": image["namespace"],
                    "registry_type": image["registry_type"], "failed_reason": unit.failure})
            else:
                failed_images.append({
                    "id": self.st.local_record_id[image["key"]], "registry_id": "",
                    "registry_name": "", "image_name": image["name"],
                    "image_version": image["version"],
                    "namespace": "", "registry_type": "Local", "failed_reason": unit.failure})
        opts = task.options
        return {
            "task_id": task.id,
            "policy_id": "",
            "task_name": task.name,
            "begin_time": self.begin_time(task, now),
            "end_time": ms(self.st.clock(task.ended)) if task.ended else 0,
            "remain_min": ceil_div(task.seconds_left(now), 60),
            "task_type": "manual",
            "image_type": task.kind,
            "task_status": status,
            "scan_scope": opts.get("scan_scope", _DEFAULT_SCOPE),
            "rate_limit": opts.get("rate_limit", 0),
            "is_all": opts.get("is_all", False),
            "failed_num": task.failed,
            "success_num": task.success,
            "total_num": task.total,
            "risky_num": task.risky,
            "sync_task_type": "",
            "failed_reason": "",
            "failed_images": failed_images,
        }

    def begin_time(self, task, now):
        if self.st.has("skew") and task.queued(now):
            return 0  # a queued task has not begun
        return ms(self.st.clock(task.created))

    def host_row(self, host):
        hss = host["hss"]
        installed = hss["agent_status"] in ("online", "offline")
        return drop_none({
            "host_name": host["name"],
            "host_id": hss["host_id"],
            "agent_id": hss["agent_id"] if installed else None,
            "private_ip": host["ip"],
            "public_ip": host.get("public_ip", ""),
            "enterprise_project_id": "0",
            "enterprise_project_name": "default",
            "os_name": host.get("os_name", ""),
            "os_type": host["os_type"],
            "os_bit": "64",
            "host_status": "ACTIVE",
            "agent_status": hss["agent_status"],
            "version": "hss.version.container.enterprise" if installed else "hss.version.null",
            "protect_status": _protect_status(hss),
            "charging_mode": "packet_cycle",
            "agent_version": "3.2.14" if installed else None,
            "host_sources": "ecs",
            "labels": [],
            "outside_host": False,
        })

    # -- filters ---------------------------------------------------------------------------------

    def _local_filter(self, f, for_trigger=False):
        """Build ``(candidates, predicates)`` for local rows (see ``_apply``).

        ``f`` maps filter names to already-validated values (``None`` = not given).
        """
        state = self.st
        candidates = []
        preds = []
        if f.get("host_id"):
            candidates.append((state.hss_local_by_host.get(f["host_id"], []),
                               lambda u, v=f["host_id"]: u.host["hss"]["host_id"] == v))
        ip = f.get("host_ip") or f.get("private_ip")
        if ip:
            rows = []
            for host in state.hss_host_by_ip.get(ip, ()):
                rows.extend(state.hss_local_by_host[host["hss"]["host_id"]])
            candidates.append((sorted(rows), lambda u, v=ip: u.host["ip"] == v))
        if f.get("host_name"):
            needle = f["host_name"]
            rows = []
            for host in state.hss_hosts:
                if needle in host["name"]:
                    rows.extend(state.hss_local_by_host[host["hss"]["host_id"]])
            candidates.append((rows, lambda u, v=needle: v in u.host["name"]))
        if f.get("image_name"):
            needle = f["image_name"]
            rows = []
            for name, idxs in state.hss_local_by_name.items():
                if needle in name:
                    rows.extend(idxs)
            candidates.append((sorted(rows), lambda u, v=needle: v in u.image["name"]))
            if f.get("image_version"):
                preds.append(lambda u, v=f["image_version"]: u.image["version"] == v)
        elif for_trigger and f.get("image_version"):
            preds.append(lambda u, v=f["image_version"]: u.image["version"] == v)
        if f.get("scan_status") is not None:
            statuses = _FILTER_STATUS.get(f["scan_status"], ())
            candidates.append((state.hss_local.with_status(statuses),
                               lambda u, v=statuses: u.status in v))
        if f.get("local_image_type") is not None:
            preds.append(lambda u, v=f["local_image_type"]: u.image["local_image_type"] == v)
        if f.get("image_size") is not None:
            preds.append(lambda u, v=f["image_size"]: u.image["size"] == v)
        if f.get("namespace"):
            preds.append(lambda u, v=f["namespace"]: u.image["name"].rpartition("/")[0] == v)
        if f.get("has_vul") is not None:
            preds.append(lambda u, v=f["has_vul"]: u.vul_ids is not None
                         and bool(u.vul_ids) == v)
        if f.get("has_container") is not None:
            preds.append(lambda u, v=f["has_container"]: (u.containers > 0) == v)
        for field in ("public_ip", "cluster_id", "container_id", "container_name", "pod_id",
                      "pod_name", "app_name"):
            if f.get(field):  # not modelled: no image has containers/pods/apps by these
                preds.append(lambda u: False)
        self._time_preds(f, preds, pairs_only=not for_trigger)
        return candidates, preds

    def _time_preds(self, f, preds, pairs_only):
        clock = self.st.clock
        for name in ("update", "scan"):
            start = f.get("start_latest_%s_time" % name)
            end = f.get("end_latest_%s_time" % name)
            if start is None and end is None:
                continue
            if pairs_only and (start is None or end is None):
                continue  # H5 applies a time range only when both ends are given
            if name == "update":
                preds.append(lambda u, s=start, e=end: _in_range(u.image["update_time"], s, e))
            else:
                preds.append(lambda u, s=start, e=end: u.scan_time > 0
                             and _in_range(ms(clock(u.scan_time)), s, e))

    @staticmethod
    def _apply(units, candidates, preds):
        """Filter ``units``. ``candidates`` is a list of ``(index list, predicate)``: the
        smallest list is the pool and its own predicate is implied; ``preds`` are the others."""
        if not candidates:
            if not preds:
                return units
            return [u for u in units if all(p(u) for p in preds)]
        idxs, implied = min(candidates, key=lambda c: len(c[0]))
        rest = [p for p in preds if p is not implied]
        rest += [pred for _idxs, pred in candidates if pred is not implied]
        if not rest:
            return _IndexView(units, idxs)
        return [u for u in (units[i] for i in idxs) if all(p(u) for p in rest)]

    def _registry_filter(self, f):
        preds = []
        if f.get("namespace"):
            preds.append(lambda u, v=f["namespace"]: u.image["namespace"] == v)
        if f.get("image_name"):
            preds.append(lambda u, v=f["image_name"]: v in u.image["name"])
        if f.get("image_version"):
            preds.append(lambda u, v=f["image_version"]: u.image["version"] == v)
        if f.get("registry_name"):
            preds.append(lambda u, v=f["registry_name"]: u.image["registry_name"] == v)
        if f.get("image_type"):
            preds.append(lambda u, v=f["image_type"]:
                         REGISTRY_TYPES[u.image["registry_type"]] == v)
        if f.get("scan_status") is not None:
            statuses = _H6_FILTER_STATUS[f["scan_status"]]
            preds.append(lambda u, v=statuses: u.status in v)
        if f.get("latest_version"):
            preds.append(lambda u: u.image["latest_version"])
        if f.get("image_size") is not None:
            preds.append(lambda u, v=f["image_size"]: u.image["size"] == v)
        if f.get("has_vul") is not None:
            preds.append(lambda u, v=f["has_vul"]: bool(u.vul_ids) == v)
        if f.get("has_malicious_file") is not None:
            preds.append(lambda u, v=f["has_malicious_file"]: (u.malicious > 0) == v)
        if f.get("has_unsafe_setting") is not None:
            preds.append(lambda u, v=f["has_unsafe_setting"]: (u.unsafe > 0) == v)
        if f.get("risky") is not None:
            preds.append(lambda u, v=f["risky"]:
                         (bool(u.vul_ids) or u.malicious > 0 or u.unsafe > 0) == v)
        if f.get("instance_id"):
            preds.append(lambda u, v=f["instance_id"]: u.image.get("instance_id") == v)
        if f.get("instance_name"):
            preds.append(lambda u, v=f["instance_name"]: u.image.get("instance_name") == v)
        if f.get("is_multarch"):
            preds.append(lambda u: False)
        if f.get("severity_level"):
            preds.append(lambda u, v=f["severity_level"]: self.severity_level(u) == v)
        for field in ("host_id", "host_name", "public_ip", "private_ip", "cluster_id",
                      "container_id", "container_name", "pod_id", "pod_name", "app_name"):
            if f.get(field):  # registry images are on no host
                preds.append(lambda u: False)
        self._time_preds(f, preds, pairs_only=False)
        return preds

    # -- H1 CreateManualImageScanTask ----------------------------------------------------------

    def create_manual_scan(self, req):
        self.check_common(req)
        gtype = req.query.str("global_image_type", choices=GLOBAL_IMAGE_TYPES) or "registry"
        body = hss_fields(req.json())
        scan_scope = body.int("scan_scope", 0, 0x7FFFFFFF)
        rate_limit = body.int("rate_limit", 0, 1000)
        is_all = body.bool("is_all", False)
        query_info = self._query_info(body.obj("query_info"))
        image_info = body.list("image_info")
        entries = self._image_info(image_info, gtype) if image_info is not None else None
        if is_all:
            if gtype == "local":
                candidates, preds = self._local_filter(query_info, for_trigger=True)
                units = self._apply(self.st.hss_local.units, candidates, preds)
            else:
                units = self._apply(self.st.hss_registry.units, None,
                                    self._registry_filter(query_info))
        else:
            if not entries:
                raise hss_invalid("image_info is required (1 or more images) when is_all is "
                                  "false")
            units = entries
        units = [u for u in units if u.pending is None and not self.st.unscannable(u)]
        scope = _DEFAULT_SCOPE if scan_scope is None else scan_scope
        options = {
            "scan_scope": scope,
            "rate_limit": rate_limit or 0,
            "is_all": is_all,
            "vul": bool(scope & st.SCOPE_VUL),
            "baseline": bool(scope & st.SCOPE_BASELINE),
            "malware": bool(scope & st.SCOPE_MALWARE),
        }
        name = "manual_scan_%s" % time.strftime("%Y%m%d%H%M%S", time.gmtime(req.now))
        self.st.start_task("hss", gtype, name, units, options, req.now)
        return 200, {}

    def _query_info(self, q):
        if q is None:
            return {}
        info = {}
        for name, limit in (("host_id", 128), ("host_name", 128), ("public_ip", 128),
                            ("private_ip", 128), ("cluster_id", 128), ("container_id", 128),
                            ("container_name", 128), ("pod_id", 64), ("pod_name", 512),
                            ("app_name", 256), ("namespace", 256), ("image_name", 256),
                            ("image_version", 256)):
            info[name] = q.str(name, 0, limit)
        info["local_image_type"] = q.str("local_image_type", choices=LOCAL_IMAGE_TYPES)
        info["image_type"] = q.str("image_type", choices=REGISTRY_IMAGE_TYPES)
        info["scan_status"] = q.str("scan_status", choices=TRIGGER_SCAN_STATUSES)
        info["has_vul"] = q.bool("has_vul")
        info["image_size"] = q.int("image_size", 0, INT64_MAX)
        for name in ("start_latest_update_time", "end_latest_update_time",
                     "start_latest_scan_time", "end_latest_scan_time"):
            info[name] = q.int(name, 0, INT64_MAX)
        return info

    def _image_info(self, items, gtype):
        """Validate ``image_info[]`` and resolve it to units."""
        if gtype == "registry":
            required = ("id", "image_digest", "namespace", "image_name", "image_version",
                        "registry_id", "registry_name", "registry_type")
        else:
            required = ("image_id", "image_name", "image_version", "registry_id",
                        "registry_name", "registry_type")
        units = []
        for i, raw in enumerate(items):
            where = "image_info[%d]" % i
            if not isinstance(raw, dict):
                raise hss_invalid("%s must be an object" % where)
            f = hss_fields(raw, where)
            rid = f.int("id", 0, INT64_MAX)
            strings = {}
            for name in ("image_id", "image_digest", "registry_id", "registry_name",
                         "image_name", "image_version", "namespace", "instance_id",
                         "instance_url"):
                strings[name] = f.str(name, 0, 256)
            rtype = f.str("registry_type", choices=REGISTRY_TYPE_NAMES)
            for name in required:
                if raw.get(name) is None:
                    raise hss_invalid("%s.%s is required for %s images" % (where, name, gtype))
            if gtype == "registry":
                if rtype == "SwrEnterprise" and not strings["instance_id"]:
                    raise hss_invalid("%s.instance_id is required for SwrEnterprise images"
                                      % where)
                if rtype == "Local":
                    raise hss_invalid("%s.registry_type Local needs global_image_type=local"
                                      % where)
                unit = self.st.hss_registry_by_id.get(rid)
                if unit is None:
                    raise hss_invalid("%s.id: no registry image has the id %d" % (where, rid))
                image = unit.image
                for name, value in (("image_name", image["name"]),
                                    ("image_version", image["version"]),
                                    ("namespace", image["namespace"])):
                    if strings[name] != value:
                        raise hss_invalid("%s.%s does not match image %d" % (where, name, rid))
                units.append(unit)
            else:
                if rtype != "Local":
                    raise hss_invalid("%s.registry_type must be Local for local images" % where)
                idxs = self.st.hss_local_by_image_id.get(strings["image_id"])
                if not idxs:
                    raise hss_invalid("%s.image_id: no local image has the id %s"
                                      % (where, strings["image_id"]))
                image = self.st.hss_local.units[idxs[0]].image
                for name, value in (("image_name", image["name"]),
                                    ("image_version", image["version"])):
                    if strings[name] != value:
                        raise hss_invalid("%s.%s does not match image %s"
                                          % (where, name, strings["image_id"]))
                units.extend(self.st.hss_local.units[i] for i in idxs)
        return _unique(units)

    # -- H2 ListImageScanTask ------------------------------------------------------------------

    def list_scan_tasks(self, req):
        self.check_common(req)
        q = req.query
        gtype = q.str("global_image_type", choices=GLOBAL_IMAGE_TYPES)
        offset = q.int("offset", 0, 2000000, 0)
        limit = q.int("limit", 10, 200, 10)
        ttype = q.str("type", choices=("image_sync", "image_scan"), required=True)
        task_type = q.str("task_type", choices=("cycle", "manual", "autoSync", "manualSync"))
        task_name = q.str("task_name", 1, 256)
        task_id = q.str("task_id", 1, 256)
        create_time = q.int("create_time", 0, 4070880000000)
        end_time = q.int("end_time", 0, 4070880000000)
        task_status = q.str("task_status", choices=("scanning", "finished"))
        scan_scope = q.int("scan_scope", 0, 0x7FFFFFFF)
        if self.st.has("pages") and offset > 0:
            # Someone else's task appears between two pages of the walk.
            self.st.start_task("hss", "registry", "manual_scan_console", [],
                               {"scan_scope": _DEFAULT_SCOPE}, req.now, foreign=True)
        tasks = self.st.tasks["hss"]
        rows = []
        for task in (tasks if self.st.has("unordered") else reversed(tasks)):
            if not task.listed or not task.visible(req.now):
                continue
            if ttype != "image_scan" or (task_type and task_type != "manual"):
                continue
            if gtype and task.kind != gtype:
                continue
            if task_name and task_name not in task.name:
                continue
            if task_id and task.id != task_id:
                continue
            if create_time is not None and self.begin_time(task, req.now) < create_time:
                continue
            if end_time is not None and (not task.ended or ms(task.ended) > end_time):
                continue
            if task_status == "scanning" and not task.running:
                continue
            if task_status == "finished" and task.running:
                continue
            if scan_scope is not None and task.options.get("scan_scope") != scan_scope:
                continue
            rows.append(task)
        return 200, {"total_num": len(rows),
                     "data_list": [self.task_row(t, req.now) for t in page(rows, offset, limit)]}

    # -- H3 BatchScanLocalImage ------------------------------------------------------------------

    def batch_scan_local(self, req):
        self.check_common(req)
        body = hss_fields(req.json())
        operate_all = body.bool("operate_all", False)
        items = body.list("image_info_list")
        f = {
            "image_name": body.str("image_name", 0, 256),
            "image_version": body.str("image_version", 0, 256),
            "local_image_type": body.str("local_image_type", choices=LOCAL_IMAGE_TYPES),
            "scan_status": body.str("scan_status", choices=TRIGGER_SCAN_STATUSES),
            "image_size": body.int("image_size", 0, INT64_MAX),
        }
        for name in ("start_latest_update_time", "end_latest_update_time",
                     "start_latest_scan_time", "end_latest_scan_time"):
            f[name] = body.int(name, 0, INT64_MAX)
        units = []
        if operate_all:
            candidates, preds = self._local_filter(f, for_trigger=True)
            units = self._apply(self.st.hss_local.units, candidates, preds)
        else:
            if not items:
                raise hss_invalid("image_info_list is required (1 or more images) when "
                                  "operate_all is false")
            for i, raw in enumerate(items):
                where = "image_info_list[%d]" % i
                if not isinstance(raw, dict):
                    raise hss_invalid("%s must be an object" % where)
                item = hss_fields(raw, where)
                image_id = item.str("image_id", 0, 256)
                digest = item.str("image_digest", 0, 256)
                name = item.str("image_name", 0, 256)
                version = item.str("image_version", 0, 256)
                units.extend(self._find_local(where, image_id, digest, name, version))
        units = [u for u in _unique(units) if u.pending is None and not self.st.unscannable(u)]
        self.st.count("hss.batch_scans")
        self.st.start_task("hss", "local", "batch_scan", units,
                           {"scan_scope": _DEFAULT_SCOPE}, req.now, listed=False)
        return 200, {}

    def _find_local(self, where, image_id, digest, name, version):
        state = self.st
        if image_id:
            idxs = state.hss_local_by_image_id.get(image_id)
            if not idxs:
                raise hss_invalid("%s.image_id: no local image has the id %s" % (where, image_id))
            return [state.hss_local.units[i] for i in idxs]
        if digest:
            found = [u for u in state.hss_local.units if u.image["digest"] == digest]
        elif name and version:
            found = [state.hss_local.units[i] for i in state.hss_local_by_name.get(name, ())
                     if state.hss_local.units[i].image["version"] == version]
        else:
            raise hss_invalid("%s needs image_id, image_digest, or image_name and image_version"
                              % where)
        if not found:
            raise hss_invalid("%s: no local image matches" % where)
        return found

    # -- H4 StopImageScanTask --------------------------------------------------------------------

    def stop_scan_task(self, req):
        self.check_common(req)
        task_id = req.params["task_id"]
        if len(task_id) > 256:
            raise hss_invalid("task_id must be 1-256 characters long")
        task = self.st.tasks_by_id.get(("hss", task_id))
        if task is None or not task.listed or not task.visible(req.now):
            raise hss_invalid("task_id: the task %s does not exist" % task_id)
        self.st.stop_task(task, req.now)
        return 200, {}

    # -- H5 ListImageLocal -----------------------------------------------------------------------

    def list_image_local(self, req):
        self.check_common(req)
        q = req.query
        offset = q.int("offset", 0, 2000000, 0)
        limit = q.int("limit", 10, 200, 10)
        f = {
            "image_name": q.str("image_name", 1, 256),
            "image_version": q.str("image_version", 1, 128),
            "image_size": q.int("image_size", 0, INT64_MAX),
            "has_vul": q.bool("has_vul"),
            "has_container": q.bool("has_container"),
            "host_name": q.str("host_name", 1, 64),
            "host_id": q.str("host_id", 1, 64),
            "host_ip": q.str("host_ip", 1, 64),
        }
        for name in ("container_id", "container_name", "pod_id", "pod_name", "app_name"):
            f[name] = q.str(name, 1, 64)
        for name in ("start_latest_update_time", "end_latest_update_time",
                     "start_latest_scan_time", "end_latest_scan_time"):
            f[name] = q.int(name, 0, INT64_MAX)
        # Per the API reference, an out-of-range scan_status / local_image_type gives an empty
        # result rather than an error.
        scan_status = q.str("scan_status", 1, 64)
        local_type = q.str("local_image_type", 1, 64)
        if (scan_status is not None and scan_status not in LIST_SCAN_STATUSES) or (
                local_type is not None and local_type not in LOCAL_IMAGE_TYPES):
            return 200, {"total_num": 0, "data_list": []}
        f["scan_status"] = scan_status
        f["local_image_type"] = local_type
        candidates, preds = self._local_filter(f)
        rows = self._apply(self.st.hss_local.units, candidates, preds)
        if self.st.has("unordered"):
            rows = stable_shuffle(rows, lambda u: (u.host["hss"]["host_id"], u.image["key"]))
        return 200, {"total_num": len(rows),
                     "data_list": [self.local_row(u) for u in page(rows, offset, limit)]}

    # -- H6 ListRegistryImages -------------------------------------------------------------------

    def _registry_query(self, q, image_types, scan_statuses):
        f = {
            "namespace": q.str("namespace", 1, 128),
            "image_name": q.str("image_name", 1, 128),
            "image_version": q.str("image_version", 1, 64),
            "registry_name": q.str("registry_name", 1, 128),
            "image_type": q.str("image_type", choices=image_types),
            "latest_version": q.bool("latest_version"),
            "image_size": q.int("image_size", 0, 2147483547),
            "scan_status": q.str("scan_status", choices=scan_statuses),
            "has_malicious_file": q.bool("has_malicious_file"),
            "has_unsafe_setting": q.bool("has_unsafe_setting"),
            "has_vul": q.bool("has_vul"),
            "risky": q.bool("risky"),
            "instance_id": q.str("instance_id", 0, 128),
            "instance_name": q.str("instance_name", 0, 128),
            "is_multarch": q.bool("is_multarch"),
            "severity_level": q.str("severity_level", choices=SEVERITY_LEVELS),
        }
        for kind in ("update", "scan", "sync"):
            for end in ("start", "end"):
                name = "%s_latest_%s_time" % (end, kind)
                value = q.int(name, 0, INT64_MAX)
                if kind != "sync":
                    f[name] = value
        return f

    def list_registry_images(self, req):
        self.check_common(req)
        q = req.query
        offset = q.int("offset", 0, 2000000, 0)
        limit = q.int("limit", 1, 200, 10)
        sort_key = q.str("sort_key", choices=("latest_scan_time",))
        sort_dir = q.str("sort_dir", choices=("asc", "desc")) or "asc"
        f = self._registry_query(q, REGISTRY_IMAGE_TYPES, LIST_SCAN_STATUSES)
        rows = self._apply(self.st.hss_registry.units, None, self._registry_filter(f))
        if self.st.has("unordered"):
            rows = stable_shuffle(rows, lambda u: u.image["id"])
        if sort_key:
            rows = sorted(rows, key=lambda u: u.scan_time, reverse=sort_dir == "desc")
        return 200, {"total_num": len(rows),
                     "data_list": [self.registry_row(u) for u in page(rows, offset, limit)]}

    # -- H7 ListSwrImageRepository ---------------------------------------------------------------

    def list_swr_images(self, req):
        self.check_common(req)
        q = req.query
        offset = q.int("offset", 0, 2000000, 0)
        limit = q.int("limit", 10, 200, 10)
        f = self._registry_query(q, SWR_IMAGE_TYPES, LIST_SCAN_STATUSES)
        image_type = q.str("image_type", choices=SWR_IMAGE_TYPES, required=True)
        if image_type == "local_image":
            rows = self._swr_local_rows(f)
        else:
            rows = [self.registry_row(u, swr_view=True)
                    for u in self._apply(self.st.hss_registry.units, None,
                                         self._registry_filter(f))]
        if self.st.has("unordered"):
            rows = stable_shuffle(rows, lambda r: r["id"])
        return 200, {"total_num": len(rows), "data_list": page(rows, offset, limit)}

    def _swr_local_rows(self, f):
        """Local images pulled from SWR, one row per image (the most recent scan of any host)."""
        rows = []
        state = self.st
        for image_id, idxs in state.hss_local_by_image_id.items():
            units = [state.hss_local.units[i] for i in idxs]
            image = units[0].image
            if image["local_image_type"] != "swr_image":
                continue
            busy = [u for u in units if u.status in ("waiting", "scanning")]
            unit = busy[0] if busy else max(units, key=lambda u: u.scan_time)
            if f.get("image_name") and f["image_name"] not in image["name"]:
                continue
            if f.get("image_version") and f["image_version"] != image["version"]:
                continue
            if f.get("scan_status") and unit.status not in _H6_FILTER_STATUS[f["scan_status"]]:
                continue
            rows.append(drop_none({
                "id": self.st.local_record_id[image["key"]],
                "namespace": image["name"].rpartition("/")[0],
                "image_name": image["name"].rpartition("/")[2],
                "image_id": image_id,
                "image_digest": image["digest"],
                "image_version": image["version"],
                "image_type": "local_image",
                "latest_version": True,
                "scan_status": _H6_STATUS[unit.status],
                "scan_failed_desc": unit.failure,
                "image_size": image["size"],
                "latest_update_time": image["update_time"],
                "latest_scan_time": ms(self.st.clock(unit.scan_time)),
                "vul_num": unit.vul_num,
                "unsafe_setting_num": unit.unsafe,
                "malicious_file_num": unit.malicious,
                "domain_name": "swr.cn-north-4.myhuaweicloud.com",
                "scannable": not self.st.unscannable(unit),
                "association_images": [],
            }))
        return rows

    # -- H8 ListImageVulnerabilities -------------------------------------------------------------

    def list_vulnerabilities(self, req):
        self.check_common(req)
        q = req.query
        image_id = _path_image_id(req, 128)
        offset, limit = _paging(q)
        image_type = q.str("image_type", choices=VUL_IMAGE_TYPES)
        instance_id = q.str("instance_id", 0, 128)
        namespace = q.str("namespace", 0, 64)
        image_name = q.str("image_name", 0, 128)
        tag_name = q.str("tag_name", 0, 64)
        repair = q.str("repair_necessity",
                       choices=("immediate_repair", "delay_repair", "not_needed_repair"))
        vul_id = q.str("vul_id", 0, 128)
        app_name = q.str("app_name", 0, 64)
        vtype = q.str("type", choices=("linux_vul", "app_vul"))
        handle = q.str("handle_status", choices=("unhandled", "handled"))
        vul_ids, layer = self._image_vulns(image_id, image_type, instance_id, namespace,
                                           image_name, tag_name)
        rows = []
        for vid in vul_ids:
            vuln = self.st.vulns[vid]
            if repair and REPAIR[vuln["severity"]] != repair:
                continue
            if vul_id and vul_id not in vid:
                continue
            if app_name and app_name != vuln["package"]:
                continue
            if vtype and vtype != vuln["type"]:
                continue
            if handle == "handled":
                continue
            rows.append(self._vul_row(vid, vuln, layer))
        if self.st.has("unordered"):
            rows = stable_shuffle(rows, lambda r: r["vul_id"])
        return 200, {"total_num": len(rows), "data_list": page(rows, offset, limit)}

    def _image_vulns(self, image_id, image_type, instance_id, namespace, image_name, tag_name):
        """Vulnerability ids of the image (``[]`` if unknown or not scanned) and its layer."""
        state = self.st
        if image_type != "local_image":
            for idx in state.hss_registry_by_image_id.get(image_id, ()):
                unit = state.hss_registry.units[idx]
                image = unit.image
                if image_type and REGISTRY_TYPES[image["registry_type"]] != image_type \
                        and image_type != "cicd":
                    continue
                if namespace and namespace != image["namespace"]:
                    continue
                if image_name and image_name != image["name"]:
                    continue
                if tag_name and tag_name != image["version"]:
                    continue
                if instance_id and instance_id != image.get("instance_id"):
                    continue
                return unit.vul_ids or [], image["digest"]
        if image_type in (None, "local_image"):
            idxs = state.hss_local_by_image_id.get(image_id, ())
            units = [state.hss_local.units[i] for i in idxs]
            scanned = [u for u in units if u.vul_ids is not None]
            if scanned:
                image = scanned[0].image
                if image_name and image_name != image["name"]:
                    return [], ""
                if tag_name and tag_name != image["version"]:
                    return [], ""
                latest = max(scanned, key=lambda u: u.scan_time)
                return latest.vul_ids, image["digest"]
        return [], ""

    @staticmethod
    def _vul_row(vid, vuln, layer):
        if vuln["fixed_version"]:
            solution = "Upgrade %s to %s or later." % (vuln["package"], vuln["fixed_version"])
        else:
            solution = "No fixed version is available yet."
        return drop_none({
            "vul_id": vid,
            "repair_necessity": REPAIR[vuln["severity"]],
            "description": vuln["description"],
            "position": "sha256:" + layer[7:71] if layer else "",
            "app_name": vuln["package"],
            "app_path": vuln.get("app_path") if vuln["type"] == "app_vul" else None,
            "version": vuln["version"],
            "solution": solution,
            "url": vuln["url"],
        })

    # -- ListVulAffectImages / ListGeneralImageVuls: findings by vulnerability ------------------

    def _scanned_units(self, image_type):
        """Units whose last scan succeeded, for ``image_type`` local / registry (others: none)."""
        if image_type == "local":
            units = self.st.hss_local.units
        elif image_type == "registry":
            units = self.st.hss_registry.units
        else:
            return []  # no CI/CD or cluster images in the dataset
        return [u for u in units if u.vul_ids]

    def _finding_query(self, q):
        return {
            "offset": q.int("offset", 0, 2000000, 0),
            "limit": q.int("limit", 10, 200, 10),
            "type": q.str("type", choices=("linux_vul", "app_vul"), required=True),
            "image_type": q.str("image_type", choices=FINDING_IMAGE_TYPES, required=True),
            "status": q.str("status", choices=("vul_status_unfix", "vul_status_ignored")),
            "cluster_id": q.str("cluster_id", 0, 128),
        }

    def list_vul_affect_images(self, req):
        """The images a vulnerability affects: one row per H5 row (local) or registry record."""
        self.check_common(req)
        q = req.query
        f = self._finding_query(q)
        is_handled = _required_bool(q, "is_handled")
        vul_id = q.str("vul_id", 0, 256, required=True)
        repair = q.str("repair_necessity", choices=tuple(RATING.values()))
        image_id = q.str("image_id", 0, 256)
        image_name = q.str("image_name", 0, 256)
        registry_name = q.str("registry_name", 0, 256)
        registry_type = q.str("registry_type", 0, 256)
        vuln = self.st.vulns.get(vul_id)
        rows = []
        if (vuln is not None and not is_handled and f["status"] != "vul_status_ignored"
                and not f["cluster_id"] and vuln["type"] == f["type"]
                and (not repair or RATING[vuln["severity"]] == repair)):
            for unit in self._scanned_units(f["image_type"]):
                if vul_id not in unit.vul_ids:
                    continue
                row = self._affect_row(unit, vul_id, vuln)
                if image_id and row["image_id"] != image_id:
                    continue
                if image_name and image_name not in row["image_name"]:
                    continue
                if registry_name and row["registry_name"] != registry_name:
                    continue
                if registry_type and row["registry_type"] != registry_type:
                    continue
                rows.append(row)
        if self.st.has("unordered"):
            rows = stable_shuffle(rows, lambda r: (r["image_id"], r["agent_id"]))
        return 200, {"total_num": len(rows), "data_list": page(rows, f["offset"], f["limit"])}

    def _affect_row(self, unit, vul_id, vuln):
        image = unit.image
        local = unit.kind == "local"
        scan_time = str(ms(self.st.clock(unit.scan_time)))
        return {
            "image_id": image["hss_image_id"] if local else image["image_id"],
            "image_name": image["name"],
            "vul_id": vul_id,
            "repair_necessity": RATING[vuln["severity"]],
            "container_num": unit.containers,
            "image_digest": image["digest"],
            "image_version": image["version"],
            "agent_id": unit.host["hss"]["agent_id"] if local else "",
            "status": "vul_status_unfix",
            "first_scan_time": scan_time,
            "latest_scan_time": scan_time,
            "image_type": "local_image" if local else "registry",
            "image_size": str(image["size"]),
            "organization": "" if local else image["namespace"],
            "registry_type": "" if local else image["registry_type"],
            "registry_name": "" if local else image["registry_name"],
            "is_multi_arch": "false",
            "cluster_id": "",
            "cluster_name": "",
        }

    def list_general_image_vuls(self, req):
        """One row per vulnerability found on images of ``image_type``, four-level rated."""
        self.check_common(req)
        q = req.query
        f = self._finding_query(q)
        handle = q.str("handle_status", choices=("unhandled", "handled"), required=True)
        severity = q.str("severity_level", choices=tuple(RATING.values()))
        vul_id = q.str("vul_id", 0, 256)
        vul_name = q.str("vul_name", 0, 256)
        cve_id = q.str("cve_id", 0, 256)
        labels = q.str("label_list", 0, 1024)
        found = {}
        if handle == "unhandled" and f["status"] != "vul_status_ignored" and not f["cluster_id"] \
                and not labels:
            for unit in self._scanned_units(f["image_type"]):
                for vid in unit.vul_ids:
                    found.setdefault(vid, []).append(unit)
        rows = []
        for vid in sorted(found):
            vuln = self.st.vulns[vid]
            name = "%s vulnerability (%s)" % (vuln["package"], vid)
            if vuln["type"] != f["type"]:
                continue
            if severity and RATING[vuln["severity"]] != severity:
                continue
            if vul_id and vul_id not in vid:
                continue
            if vul_name and vul_name not in name:
                continue
            if cve_id and cve_id != vid:
                continue
            units = found[vid]
            images = {u.image["hss_image_id"] if u.kind == "local" else u.image["image_id"]
                      for u in units}
            cvss = float(vuln["cvss"])
            rows.append({
                "vul_name": name,
                "vul_id": vid,
                "type": vuln["type"],
                "image_type": f["image_type"],
                "label_list": [],
                "severity_level": RATING[vuln["severity"]],
                "image_num": len(images),
                "cve_list": [{"cve_id": vid, "cvss": cvss}] if vid.startswith("CVE-") else [],
                "max_cvss_score": cvss,
                "scan_time": ms(self.st.clock(max(u.scan_time for u in units))),
                "description": vuln["description"][:128],
                "url": vuln["url"][:128],
                "solution_detail": (self._vul_row(vid, vuln, "")["solution"])[:128],
                "cluster_num": 0,
            })
        if self.st.has("unordered"):
            rows = stable_shuffle(rows, lambda r: r["vul_id"])
        return 200, {"total_num": len(rows), "data_list": page(rows, f["offset"], f["limit"])}

    def list_vul_affect_image_apps(self, req):
        """The software of one image a vulnerability is found in: one row per package, with the
        version and path of each copy (``paths``)."""
        self.check_common(req)
        q = req.query
        image_id = _path_image_id(req, 256)
        offset, limit = _paging(q)
        image_type = q.str("image_type", choices=FINDING_IMAGE_TYPES, required=True)
        is_handled = _required_bool(q, "is_handled")
        vul_id = q.str("vul_id", 0, 256, required=True)
        vuln = self.st.vulns.get(vul_id)
        rows = []
        if vuln is not None and not is_handled:
            for unit in self._scanned_units(image_type):
                image = unit.image
                unit_image_id = image["hss_image_id"] if unit.kind == "local" else image["image_id"]
                if unit_image_id == image_id and vul_id in unit.vul_ids:
                    path = vuln.get("app_path") or "/var/lib/dpkg/status"
                    rows = [{"app_name": vuln["package"], "rule": "",
                             "paths": [{"status": "vul_status_unfix", "app_version": vuln["version"],
                                        "app_path": path}]}]
                    break
        return 200, {"total_num": len(rows), "data_list": page(rows, offset, limit)}

    # -- ListHostStatus (beyond the image-scan APIs, from the SDK models) ------------------------

    def list_host_status(self, req):
        self.check_common(req)
        q = req.query
        offset = q.int("offset", 0, 2000000, 0)
        limit = q.int("limit", 10, 200, 10)
        host_name = q.str("host_name", 1, 256)
        host_id = q.str("host_id", 1, 64)
        private_ip = q.str("private_ip", 1, 128)
        agent_status = q.str("agent_status", choices=AGENT_FILTERS)
        protect_status = q.str("protect_status",
                               choices=("closed", "opened", "protection_exception"))
        os_type = q.str("os_type", choices=("Linux", "Windows"))
        q.str("host_status", choices=("ACTIVE", "SHUTOFF", "BUILDING", "ERROR"))
        q.bool("refresh")
        rows = []
        for host in self.st.hss_hosts:
            hss = host["hss"]
            if host_name and host_name not in host["name"]:
                continue
            if host_name and self.st.has("names") and host_name != host["name"]:
                continue  # names: the whole name, with case
            if host_id and host_id != hss["host_id"]:
                continue
            if private_ip and private_ip != host["ip"]:
                continue
            if agent_status:
                status = hss["agent_status"]
                if agent_status == "installed":
                    if status not in ("online", "offline"):
                        continue
                elif agent_status == "not_online":
                    if status == "online":
                        continue
                elif status != agent_status:
                    continue
            if os_type and os_type != host["os_type"]:
                continue
            if protect_status and _protect_status(hss) != protect_status:
                continue
            rows.append(host)
        if self.st.has("unordered"):
            rows = stable_shuffle(rows, lambda h: h["hss"]["host_id"])
        return 200, {"total_num": len(rows),
                     "data_list": [self.host_row(h) for h in page(rows, offset, limit)]}

    # -- emulator view ---------------------------------------------------------------------------

    def snapshot(self, now):
        return {
            "project_id": self.config.hss_project_id,
            "hosts": [self.host_row(h) for h in self.st.hss_hosts],
            "local_images": [self.local_row(u) for u in self.st.hss_local.units],
            "registry_images": [self.registry_row(u) for u in self.st.hss_registry.units],
            "tasks": [self.task_row(t, now) for t in self.st.tasks["hss"] if t.listed],
            "batch_scans": [self.task_row(t, now) for t in self.st.tasks["hss"]
                            if not t.listed],
        }
