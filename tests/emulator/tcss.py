"""Tencent Cloud TCSS 2020-11-01: the image-scan actions T1-T8.

Every handler takes a ``Request`` and returns the ``Response`` dict without ``RequestId``, or
raises ``common.ApiError`` (answered as ``Response.Error``). Handlers run with the state lock
held and the state already advanced to ``req.now``.
"""

import json

import realism
from common import (ApiError, ceil_div, iso_utc, page, tc_datetime, tc_fields, TC_INVALID,
                    TC_INVALID_VALUE, TC_MISSING)

VERSION = "2020-11-01"
MAX_LIMIT = 100

# Internal unit status -> T5 ScanStatus word (the same words as the filter values).
_SCAN_STATUS = {"unscan": "notScan", "waiting": "scanning", "scanning": "scanning",
                "success": "scanned", "failed": "scanErr", "download_failed": "scanErr",
                "image_oversized": "scanErr"}
_STATUS_FILTER = {"notScan": ("unscan",), "scanning": ("waiting", "scanning"),
                  "scanned": ("success",),
                  "scanErr": ("failed", "download_failed", "image_oversized")}
_SECURITY_RISKS = ("VirusCnt", "RiskCnt", "IsTrustImage", "CriticalLevelVul", "HighLevelVul",
                   "MediumLevelVul", "LowLevelVul")
IMAGE_FILTERS = ("ImageName", "ImageID", "ScanStatus", "SecurityRisk")
HOST_FILTERS = ("Status", "HostName", "Group", "HostIP", "HostID", "DockerVersion",
                "MachineType", "DockerStatus", "ProjectID", "NonClusterNode")
# Vulnerability severity -> TCSS Level (1 low ... 4 critical).
LEVEL = {"low": 1, "medium": 2, "high": 3, "critical": 4}


def invalid(message):
    return ApiError(TC_INVALID, message)


def invalid_value(message):
    return ApiError(TC_INVALID_VALUE, message)


class Request:
    def __init__(self, action, body, now):
        self.action = action
        self.body = body
        self.now = now
        self._params = None

    @property
    def params(self):
        if self._params is None:
            text = self.body.decode("utf-8", "replace").strip() if self.body else ""
            if not text:
                self._params = {}
            else:
                try:
                    data = json.loads(text)
                except ValueError:
                    raise invalid("The request body is not valid JSON.") from None
                if not isinstance(data, dict):
                    raise invalid("The request body must be a JSON object.")
                self._params = data
        return self._params


def _filters(fields, name, allowed, allow_tags=False):
    """Validate ``Filters`` ([AssetFilters]). Returns a list of (Name, Values, ExactMatch)."""
    items = fields.list(name)
    if items is None:
        return None
    result = []
    for i, raw in enumerate(items):
        where = "%s.%d" % (name, i)
        if not isinstance(raw, dict):
            raise invalid("%s must be an object." % where)
        item = tc_fields(raw, where)
        fname = item.str("Name", required=True)
        values = item.str_list("Values", required=True)
        exact = item.bool("ExactMatch", False)
        if fname not in allowed and not (allow_tags and fname.startswith("tag:")):
            raise invalid_value("%s.Name: unsupported filter %r (supported: %s)."
                                % (where, fname, ", ".join(allowed)))
        result.append((fname, values, exact))
    return result


def _paging(fields):
    limit = fields.int("Limit", 0, MAX_LIMIT, 10)
    offset = fields.int("Offset", 0, 2 ** 63 - 1, 0)
    return offset, limit


def _host_filter_value(row, name):
    """The text a T7 filter ``name`` compares with, taken from a HostInfo row."""
    if name == "ProjectID":
        return str(row["Project"]["ProjectID"])
    if name == "DockerStatus":
        return "RUNNING"
    return row[name]


def _match_text(value, wanted, exact):
    if exact:
        return value in wanted
    return any(w in value for w in wanted)


class TcssApi:
    ACTIONS = {
        "CreateAssetImageScanTask": "create_scan_task",
        "DescribeAssetImageScanStatus": "describe_scan_status",
        "DescribeAssetImageScanTask": "describe_scan_task",
        "ModifyAssetImageScanStop": "stop_scan",
        "DescribeAssetImageList": "describe_images",
        "DescribeAssetImageVulList": "describe_image_vulns",
        "DescribeAssetHostList": "describe_hosts",
        "DescribeAssetImageHostList": "describe_image_hosts",
    }

    def __init__(self, state, config):
        self.st = state
        self.config = config

    # -- row shapes ------------------------------------------------------------------------------

    def image_row(self, unit):
        image = unit.image
        scanned = unit.vul_ids is not None
        counts = self.st.severity_counts(unit.vul_ids)
        fixable = any(self.st.vulns[v]["fixed_version"] for v in unit.vul_ids or ())
        return {
            "ImageID": image["tcss_image_id"],
            "ImageName": "%s:%s" % (image["name"], image["version"]),
            "CreateTime": iso_utc(image["update_time"] / 1000.0),
            "Size": image["size"],
            "HostCnt": len(unit.hosts),
            "SuperNodeCnt": 0,
            "ContainerCnt": unit.containers,
            "ScanTime": tc_datetime(self.st.clock(unit.scan_time)),
            "VulCnt": unit.vul_num,
            "VirusCnt": unit.malicious,
            "RiskCnt": unit.unsafe,
            "IsTrustImage": False,
            "OsName": image.get("os_name", ""),
            "AgentError": unit.agent_error,
            "ScanError": unit.failure,
            "ScanStatus": _SCAN_STATUS[unit.status],
            "ScanVirusError": "",
            "ScanVulError": unit.failure,
            "ScanRiskError": "",
            "IsSuggest": 1 if image.get("recommended") else 0,
            "IsAuthorized": 0 if self.st.unscannable(unit) else 1,
            "ComponentCnt": image["component_num"] if scanned else 0,
            "CriticalLevelVulCnt": counts["critical"],
            "HighLevelVulCnt": counts["high"],
            "MediumLevelVulCnt": counts["medium"],
            "LowLevelVulCnt": counts["low"],
            "IsLatestImage": True,
            "RecommendedFix": fixable,
            "Solution": "Upgrade the affected components to their fixed versions." if fixable
                        else "",
            "Reason": "",
        }

    def vul_row(self, vid):
        vuln = self.st.vulns[vid]
        level = LEVEL[vuln["severity"]]
        fixed = vuln["fixed_version"]
        year = vid.split("-")[1] if vid.count("-") >= 2 else "2024"
        if fixed:
            solution = "Upgrade %s to %s or later." % (vuln["package"], fixed)
        else:
            solution = "No official fix is available yet."
        return {
            "CVEID": vid,
            "Name": "%s vulnerability (%s)" % (vuln["package"], vid),
            "Component": vuln["package"],
            "Version": vuln["version"],
            "Category": "application" if vuln["type"] == "app_vul" else "system",
            "CategoryType": vuln["type"],
            "Level": level,
            "Des": vuln["description"],
            "OfficialSolution": solution,
            "Reference": vuln["url"],
            "DefenseSolution": "",
            "SubmitTime": "%s-01-01 00:00:00" % year,
            "CVSSV3Score": float(vuln["cvss"]),
            "CVSSV3Desc": "",
            "IsSuggest": level >= 3,
            "FixedVersions": fixed,
            "Tag": ["CanBeFixed"] if fixed else [],
            "AttackLevel": 2 if level >= 3 else 0,
        }

    def host_row(self, host):
        tcss = host["tcss"]
        status = tcss["status"]
        return {
            "HostID": tcss["host_id"],
            "HostIP": host["ip"],
            "HostName": host["name"],
            "Group": tcss.get("group", "default"),
            "DockerVersion": "24.0.7",
            "DockerFileSystemDriver": "overlay2",
            "ImageCnt": len(host["images"]) if status != "UNINSTALL" else 0,
            "ContainerCnt": sum(host["containers"].values()) if status != "UNINSTALL" else 0,
            "Status": status,
            "IsContainerd": False,
            "MachineType": "CVM",
            "PublicIp": host.get("public_ip", ""),
            "Uuid": tcss["uuid"],
            "InstanceID": tcss["instance_id"],
            "RegionID": 1,
            "Project": {"ProjectName": "default", "ProjectID": 0},
            "Tags": [],
            "ClusterID": tcss.get("cluster_id", ""),
            "ClusterName": tcss.get("cluster_name", ""),
            "ClusterAccessedStatus": "AccessedNormal" if tcss.get("cluster_id") else "",
            "ClusterAccessedSubStatus": "AccessedSubNone" if tcss.get("cluster_id") else "",
            "ClusterAccessedErrorReason": "",
            "ChargeCoresCnt": 4,
            "DefendStatus": "Defended" if status == "ONLINE" else "UnDefended",
            "CoresCnt": 4,
            "LastOnlineTime": "2024-06-01 08:00:00" if status == "OFFLINE" else "",
        }

    def task_status(self, task, now):
        total = task.total
        vocabulary = self.st.has("vocabulary")
        if task.running:
            schedule = min(99, task.scanned * 100 // total) if total else 0
        elif task.state == "finished":
            schedule = 100
            if vocabulary and total and task.failed:
                schedule = (task.scanned - task.failed) * 100 // total  # ends below 100
        else:
            schedule = task.scanned * 100 // total if total else 0
        if not task.running:
            status = "END"
        elif vocabulary:
            status = "QUEUING" if task.queued(now) else "RUNNING"
        else:
            status = "SCANNING"
        return {
            "ImageTotal": total,
            "ImageScanCnt": task.scanned,
            "Status": status,
            "Schedule": schedule,
            "SuccessCount": task.safe,
            "RiskCount": task.risky,
            "LeftSeconds": ceil_div(task.seconds_left(now), 1),
        }

    @staticmethod
    def sub_status(task):
        if task.running:
            return ""
        if task.state == "stopped":
            return "Cancel"
        if task.state == "timed_out":
            return "Timeout"
        if task.total and task.failed == task.total:
            return "Error"
        return "Success"

    # -- image selection -------------------------------------------------------------------------

    def _select_images(self, filters):
        """Units matching image ``filters`` (AND of filters, OR of each filter's values)."""
        coll = self.st.tcss_images
        pool = None
        for fname, values, _exact in filters:
            if fname == "ImageID":
                pool = [self.st.tcss_by_image_id[v].idx for v in values
                        if v in self.st.tcss_by_image_id]
                break
        preds = []
        for fname, values, exact in filters:
            if fname == "ImageName":
                preds.append(lambda u, v=values, e=exact: _match_text(
                    "%s:%s" % (u.image["name"], u.image["version"]), v, e))
            elif fname == "ImageID":
                preds.append(lambda u, v=set(values): u.image["tcss_image_id"] in v)
            elif fname == "ScanStatus":
                statuses = set()
                for value in values:
                    if value not in _STATUS_FILTER:
                        raise invalid_value("ScanStatus filter values: notScan, scanning, "
                                            "scanned, scanErr (got %r)." % value)
                    statuses.update(_STATUS_FILTER[value])
                if pool is None:
                    pool = coll.with_status(statuses)  # the pool implies this filter
                else:
                    preds.append(lambda u, s=statuses: u.status in s)
            elif fname == "SecurityRisk":
                for value in values:
                    if value not in _SECURITY_RISKS:
                        raise invalid_value("SecurityRisk filter values: %s (got %r)."
                                            % (", ".join(_SECURITY_RISKS), value))
                preds.append(lambda u, v=values: any(self._has_risk(u, x) for x in v))
        units = coll.units if pool is None else [coll.units[i] for i in pool]
        return [u for u in units if all(p(u) for p in preds)]

    def _has_risk(self, unit, risk):
        if risk == "VirusCnt":
            return unit.malicious > 0
        if risk == "RiskCnt":
            return unit.unsafe > 0
        if risk == "IsTrustImage":
            return False
        severity = {"CriticalLevelVul": "critical", "HighLevelVul": "high",
                    "MediumLevelVul": "medium", "LowLevelVul": "low"}[risk]
        return self.st.severity_counts(unit.vul_ids)[severity] > 0

    def _images_by_id(self, ids, where):
        units = []
        for image_id in ids:
            unit = self.st.tcss_by_image_id.get(image_id)
            if unit is None:
                raise ApiError("ResourceNotFound", "%s: the image %s does not exist."
                               % (where, image_id))
            if unit not in units:
                units.append(unit)
        return units

    def _running_task(self):
        for task in reversed(self.st.tasks["tcss"]):
            if task.running:
                return task
        return None

    # -- T1 CreateAssetImageScanTask -------------------------------------------------------------

    def create_scan_task(self, req):
        p = tc_fields(req.params)
        all_images = p.bool("All")
        images = p.str_list("Images")
        scan_vul = p.bool("ScanVul", False)
        scan_virus = p.bool("ScanVirus", False)
        scan_risk = p.bool("ScanRisk", False)
        filters = _filters(p, "Filters", IMAGE_FILTERS)
        exclude = p.str_list("ExcludeImageIds") or []
        container_running = p.bool("ContainerRunning", False)
        scope = p.int("ScanScope", 0, 3, 0)
        timeout = p.int("Timeout", 1, 2 ** 63 - 1, 3600)
        one_click = p.bool("IsOneClickScanningTask", False)
        cluster_ids = p.str_list("ClusterIDs")
        if all_images is not None:
            self.st.count("tcss.deprecated_all")
        if not (scan_vul or scan_virus or scan_risk):
            raise invalid_value("At least one of ScanVul, ScanVirus and ScanRisk must be true.")
        if images is not None and filters is not None:
            raise invalid("Use only one of Images and Filters.")
        if images is not None and not images:
            raise invalid_value("Images must list at least one image id.")
        if images is None and filters is None and not all_images:
            if scope == 1:
                raise ApiError(TC_MISSING, "ScanScope 1 (selected images) needs Images or "
                                           "Filters.")
            if scope == 3 and not cluster_ids:
                raise ApiError(TC_MISSING, "ScanScope 3 (cluster scan) needs ClusterIDs.")
        if self._running_task() is not None:
            raise ApiError("FailedOperation.ErrAlreadyScanning",
                           "An image scan is already running.")
        if all_images:
            units = list(self.st.tcss_images.units)
        elif images is not None:
            units = self._images_by_id(images, "Images")
            if any(self.st.unscannable(u) for u in units):
                # The same code as a running scan: "scanning, or no scan permission".
                raise ApiError("FailedOperation.ErrAlreadyScanning",
                               "An image scan is already running, or the images are not "
                               "authorised for scanning.")
        elif filters is not None:
            units = self._select_images(filters)
        elif scope == 2:
            units = [u for u in self.st.tcss_images.units if u.image.get("recommended")]
        elif scope == 3:
            wanted = set(cluster_ids)
            units = [u for u in self.st.tcss_images.units
                     if any(h["tcss"].get("cluster_id") in wanted for h in u.hosts)]
        else:
            units = list(self.st.tcss_images.units)
        if exclude:
            excluded = set(exclude)
            units = [u for u in units if u.image["tcss_image_id"] not in excluded]
        if container_running:
            units = [u for u in units if u.containers > 0]
        units = [u for u in units if not self.st.unscannable(u)]
        options = {"vul": scan_vul, "malware": scan_virus, "baseline": scan_risk,
                   "timeout": timeout, "one_click": one_click, "scope": scope}
        task = self.st.start_task("tcss", "tcss", "image-scan", units, options, req.now)
        return {"TaskID": task.id}

    # -- T2 DescribeAssetImageScanStatus ---------------------------------------------------------

    def describe_scan_status(self, req):
        p = tc_fields(req.params)
        task_id = p.str("TaskID")
        if task_id:
            task = self.st.tasks_by_id.get(("tcss", task_id))
            if task is None or not task.visible(req.now):
                raise ApiError("ResourceNotFound", "The task %s does not exist." % task_id)
        else:
            tasks = [t for t in self.st.tasks["tcss"] if t.visible(req.now)]
            task = tasks[-1] if tasks else None
        if task is None:
            return {"ImageTotal": 0, "ImageScanCnt": 0, "Status": "READY", "Schedule": 0,
                    "SuccessCount": 0, "RiskCount": 0, "LeftSeconds": 0}
        return self.task_status(task, req.now)

    # -- T3 DescribeAssetImageScanTask -----------------------------------------------------------

    def describe_scan_task(self, req):
        task = None
        for candidate in reversed(self.st.tasks["tcss"]):
            if candidate.options.get("one_click") and candidate.visible(req.now):
                task = candidate
                break
        if task is None:
            return {"TaskID": "", "LastScanTime": "", "Status": "READY", "SubStatus": ""}
        return {
            "TaskID": task.id,
            "LastScanTime": tc_datetime(self.st.clock(task.created)),
            "Status": "SCANNING" if task.running else "END",
            "SubStatus": self.sub_status(task),
        }

    # -- T4 ModifyAssetImageScanStop -------------------------------------------------------------

    def stop_scan(self, req):
        p = tc_fields(req.params)
        task_id = p.str("TaskID")
        images = p.str_list("Images")
        filters = _filters(p, "Filters", IMAGE_FILTERS)
        exclude = p.str("ExcludeImageIds")
        given = [x for x in (task_id, images, filters) if x is not None]
        if len(given) != 1:
            raise invalid("Give exactly one of TaskID, Images and Filters.")
        if task_id is not None:
            task = self.st.tasks_by_id.get(("tcss", task_id))
            if task is None or not task.visible(req.now):
                raise ApiError("ResourceNotFound", "The task %s does not exist." % task_id)
            self.st.stop_task(task, req.now)
            return {"Status": "SUCCESS"}
        if images is not None:
            units = self._images_by_id(images, "Images")
        else:
            units = self._select_images(filters)
        if exclude:
            excluded = {x.strip() for x in exclude.split(",")}
            units = [u for u in units if u.image["tcss_image_id"] not in excluded]
        self.st.stop_units(units, req.now)
        return {"Status": "SUCCESS"}

    # -- T5 DescribeAssetImageList ---------------------------------------------------------------

    def describe_images(self, req):
        p = tc_fields(req.params)
        offset, limit = _paging(p)
        filters = _filters(p, "Filters", IMAGE_FILTERS) or []
        by = p.str("By")
        order = p.str("Order", choices=("asc", "desc")) or "desc"
        units = self._select_images(filters) if filters else self.st.tcss_images.units
        if self.st.has("unordered"):
            units = realism.stable_shuffle(units, lambda u: u.image["tcss_image_id"])
        if by:
            if by not in _IMAGE_SORT_KEYS:
                raise invalid_value("By: unsupported sort field %r." % by)
            rows = sorted((self.image_row(u) for u in units), key=lambda r: r[by],
                          reverse=order == "desc")
            return {"List": page(rows, offset, limit), "TotalCount": len(rows)}
        return {"List": [self.image_row(u) for u in page(units, offset, limit)],
                "TotalCount": len(units)}

    # -- T6 DescribeAssetImageVulList ------------------------------------------------------------

    def describe_image_vulns(self, req):
        p = tc_fields(req.params)
        image_id = p.str("ImageID", required=True)
        offset, limit = _paging(p)
        filters = _filters(p, "Filters", ("Name", "Level")) or []
        by = p.str("By", choices=("Level",))
        order = p.str("Order", choices=("+", "-")) or "-"
        unit = self.st.tcss_by_image_id.get(image_id)
        if unit is None:
            raise ApiError("ResourceNotFound", "The image %s does not exist." % image_id)
        rows = [self.vul_row(v) for v in unit.vul_ids or ()]
        if self.st.has("unordered"):
            rows = realism.stable_shuffle(rows, lambda r: r["CVEID"])
        for fname, values, exact in filters:
            if fname == "Name":
                rows = [r for r in rows if _match_text(r["Name"], values, exact)]
            else:
                levels = set()
                for value in values:
                    if value not in ("1", "2", "3", "4"):
                        raise invalid_value("Level filter values: 1, 2, 3, 4 (got %r)." % value)
                    levels.add(int(value))
                rows = [r for r in rows if r["Level"] in levels]
        if by:
            rows.sort(key=lambda r: r["Level"], reverse=order == "-")
        return {"List": page(rows, offset, limit), "TotalCount": len(rows)}

    # -- T7 DescribeAssetHostList ----------------------------------------------------------------

    def describe_hosts(self, req):
        p = tc_fields(req.params)
        offset, limit = _paging(p)
        filters = _filters(p, "Filters", HOST_FILTERS, allow_tags=True) or []
        by = p.str("By")
        order = p.str("Order", choices=("asc", "desc")) or "desc"
        if by and by not in _HOST_SORT_KEYS:
            raise invalid_value("By: unsupported sort field %r." % by)
        hosts = self.st.tcss_hosts
        for fname, values, exact in filters:
            if fname == "Status":
                for value in values:
                    if value not in ("ALL", "UNINSTALL", "OFFLINE", "ONLINE"):
                        raise invalid_value("Status filter values: ALL, UNINSTALL, OFFLINE, "
                                            "ONLINE (got %r)." % value)
                if "ALL" not in values:
                    hosts = [h for h in hosts if h["tcss"]["status"] in values]
            elif fname == "HostName":
                # names: the whole name, with case, whatever ExactMatch says
                hosts = [h for h in hosts if _match_text(h["name"], values, exact or self.st.has("names"))]
            elif fname == "HostIP":
                hosts = [h for h in hosts if h["ip"] in values]
            elif fname == "HostID":
                hosts = [h for h in hosts if h["tcss"]["host_id"] in values]
            elif fname == "NonClusterNode":
                if any(v.lower() == "true" for v in values):
                    hosts = [h for h in hosts if not h["tcss"].get("cluster_id")]
            elif fname.startswith("tag:"):
                hosts = []  # no host carries tags
            elif fname == "MachineType" and "ALL" in values:
                continue
            else:  # Group, DockerVersion, MachineType, DockerStatus, ProjectID: on the rows
                hosts = [h for h in hosts
                         if _host_filter_value(self.host_row(h), fname) in values]
        if self.st.has("unordered"):
            hosts = realism.stable_shuffle(hosts, lambda h: h["tcss"]["host_id"])
        if by:
            rows = sorted((self.host_row(h) for h in hosts), key=lambda r: r[by],
                          reverse=order == "desc")
            return {"List": page(rows, offset, limit), "TotalCount": len(rows)}
        return {"List": [self.host_row(h) for h in page(hosts, offset, limit)],
                "TotalCount": len(hosts)}

    # -- T8 DescribeAssetImageHostList -----------------------------------------------------------

    def describe_image_hosts(self, req):
        p = tc_fields(req.params)
        filters = _filters(p, "Filters", ("ImageID", "HostID")) or []
        state = self.st
        pairs = None
        for fname, values, _exact in filters:
            if fname == "ImageID":
                found = []
                for value in values:
                    unit = state.tcss_by_image_id.get(value)
                    if unit is not None:
                        found.extend(state.tcss_pairs_by_image[unit.idx])
            else:
                found = []
                for value in values:
                    found.extend(state.tcss_pairs_by_host.get(value, ()))
            found = set(found)
            pairs = found if pairs is None else pairs & found
        indexes = range(len(state.tcss_pairs)) if pairs is None else sorted(pairs)
        rows = [{"ImageID": state.tcss_images.units[state.tcss_pairs[n][0]].image["tcss_image_id"],
                 "HostID": state.tcss_pairs[n][1]["tcss"]["host_id"]} for n in indexes]
        total = len(rows)
        if self.st.has("unordered"):
            rows = realism.stable_shuffle(rows, lambda r: (r["ImageID"], r["HostID"]))
        if self.st.has("pages"):
            rows = rows[:realism.T8_PAGE]  # one answer holds at most 20 pairs
        return {"List": rows, "TotalCount": total}

    # -- emulator view ---------------------------------------------------------------------------

    def snapshot(self, now):
        tasks = []
        for task in self.st.tasks["tcss"]:
            row = self.task_status(task, now)
            row.update({"TaskID": task.id, "SubStatus": self.sub_status(task),
                        "IsOneClickScanningTask": bool(task.options.get("one_click")),
                        "CreateTime": tc_datetime(self.st.clock(task.created))})
            tasks.append(row)
        return {
            "hosts": [self.host_row(h) for h in self.st.tcss_hosts],
            "images": [dict(self.image_row(u), Hosts=[h["tcss"]["host_id"] for h in u.hosts])
                       for u in self.st.tcss_images.units],
            "tasks": tasks,
        }


_IMAGE_SORT_KEYS = ("ImageID", "ImageName", "CreateTime", "Size", "HostCnt", "ContainerCnt",
                    "ScanTime", "VulCnt", "VirusCnt", "RiskCnt", "ComponentCnt",
                    "CriticalLevelVulCnt", "HighLevelVulCnt", "MediumLevelVulCnt",
                    "LowLevelVulCnt", "ScanStatus")
_HOST_SORT_KEYS = ("HostID", "HostIP", "HostName", "ImageCnt", "ContainerCnt", "Status",
                   "CoresCnt", "LastOnlineTime")
