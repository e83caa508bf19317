# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""A fake TCSS service for the module tests, and a runner for module ``main()`` functions.

``FakeTcss`` is a ``requests`` adapter: the real client signs and sends every request to it, it
records each one (action, parameters) and answers like TCSS: one scan at a time
(``FailedOperation.ErrAlreadyScanning``), tasks that end after a number of status polls, images
whose status follows their task, paging by ``Offset``/``Limit``. Faults can be queued per action:
``throttle`` (HTTP 200 ``RequestLimitExceeded``, not applied), ``server_error`` (HTTP 502, not
applied), ``reset_after`` (applied, then the connection is reset), ``garbled`` (applied, then a
cut answer) or ``("error", code, message)``. With ``lag_reads`` a new task shows only after that
many reads (``Describe*`` calls): until then T2 with its TaskID answers ``ResourceNotFound``, T2
without it and T3 show the previous task, and its images keep their previous status and scan time.
"""

from __future__ import annotations

import email.utils
import http.client
import json

import pytest
import requests
from ansible.module_utils.testing import patch_module_args
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from urllib3 import exceptions as u3

from ansible_collections.cloudsec.image_scan.plugins.module_utils import _clock, _tcss_module
from ansible_collections.cloudsec.image_scan.plugins.module_utils._http import HttpTransport, RetryPolicy

SECRET_ID = "AKIDUNITTESTTCSS0000000000000001"
SECRET_KEY = "TCSSKEYUNITTESTSECRET0000000001"
ARGS = {"secret_id": SECRET_ID, "secret_key": SECRET_KEY, "endpoint": "https://tcss.test.invalid"}
ENV_NAMES = ["TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY", "TENCENTCLOUD_SESSION_TOKEN",
             "TENCENTCLOUD_REGION", "TENCENTCLOUD_ENDPOINT"]

#: ScanTime the fake gives an image whose scan ends (China Standard Time, like TCSS).
SCAN_TIME = "2026-01-01 08:00:00"


def image_row(image_id, name="nginx:1.25", status="notScan", scan_time="", levels=(0, 0, 0, 0), hosts=1,
              containers=1, suggest=0, **extra):
    """A DescribeAssetImageList row; ``levels`` are the critical/high/medium/low counts."""
    row = {
        "ImageID": image_id, "ImageName": name, "CreateTime": "2024-06-01T00:00:00Z", "Size": 1000,
        "HostCnt": hosts, "SuperNodeCnt": 0, "ContainerCnt": containers, "ScanTime": scan_time,
        "VulCnt": sum(levels), "VirusCnt": 0, "RiskCnt": 0, "IsTrustImage": False, "OsName": "debian 12",
        "AgentError": "", "ScanError": "", "ScanStatus": status, "ScanVirusError": "", "ScanVulError": "",
        "ScanRiskError": "", "IsSuggest": suggest, "IsAuthorized": 1, "ComponentCnt": 10,
        "CriticalLevelVulCnt": levels[0], "HighLevelVulCnt": levels[1], "MediumLevelVulCnt": levels[2],
        "LowLevelVulCnt": levels[3], "IsLatestImage": True, "RecommendedFix": False, "Solution": "", "Reason": "",
    }
    row.update(extra)
    return row


def host_row(host_id, name, ip, status="ONLINE", cluster=""):
    return {"HostID": host_id, "HostIP": ip, "HostName": name, "Group": "default", "DockerVersion": "24.0.7",
            "DockerFileSystemDriver": "overlay2", "ImageCnt": 2, "ContainerCnt": 3, "Status": status,
            "IsContainerd": False, "MachineType": "CVM", "PublicIp": "", "Uuid": "uuid-" + host_id,
            "InstanceID": "ins-" + host_id, "RegionID": 1, "Project": {"ProjectName": "default", "ProjectID": 0},
            "Tags": [], "ClusterID": cluster, "ClusterName": "prod" if cluster else "",
            "ClusterAccessedStatus": "", "ClusterAccessedSubStatus": "", "ClusterAccessedErrorReason": "",
            "ChargeCoresCnt": 4, "DefendStatus": "Defended", "CoresCnt": 4, "LastOnlineTime": ""}


def vul_row(cve, level, fixed="", tags=None):
    return {"CVEID": cve, "Name": "vulnerability " + cve, "Component": "libfoo", "Version": "1.0",
            "Category": "system", "CategoryType": "linux_vul", "Level": level, "Des": "description of " + cve,
            "OfficialSolution": "", "Reference": "https://nvd.nist.gov/vuln/detail/" + cve, "DefenseSolution": "",
            "SubmitTime": "2024-01-01 00:00:00", "CVSSV3Score": 7.5, "CVSSV3Desc": "", "IsSuggest": False,
            "FixedVersions": fixed, "Tag": list(tags if tags is not None else (["CanBeFixed"] if fixed else [])),
            "AttackLevel": 0}


class FakeApiError(Exception):
    def __init__(self, code, message):
        super(FakeApiError, self).__init__(message)
        self.code = code
        self.message = message


def _connection_reset():
    cause = ConnectionResetError(104, "Connection reset by peer")
    return requests.exceptions.ConnectionError(u3.ProtocolError("Connection aborted.", cause))


class FakeTask(object):
    def __init__(self, task_id, image_ids, one_click, created):
        self.id = task_id
        self.image_ids = image_ids
        self.one_click = one_click
        self.created = created
        self.polls = 0
        self.state = "running"
        self.scanned = 0
        self.hidden = 0
        self.before = {}


class FakeTcss(BaseAdapter):
    """The fake service. ``polls_to_finish`` status reads end a running task."""

    def __init__(self, images=(), hosts=(), pairs=(), vulns=None, polls_to_finish=2, lag_reads=0):
        super(FakeTcss, self).__init__()
        self.images = dict((row["ImageID"], dict(row)) for row in images)
        self.order = [row["ImageID"] for row in images]
        self.hosts = [dict(row) for row in hosts]
        self.pairs = [dict(ImageID=i, HostID=h) for i, h in pairs]
        self.vulns = dict(vulns or {})
        self.polls_to_finish = polls_to_finish
        self.lag_reads = lag_reads
        self.tasks = []
        self.calls = []
        self.faults = {}
        self.previous = {}
        self.warnings = []
        #: When set, every answer has a ``Date`` header this many seconds ahead of the (fake) clock.
        self.server_ahead = None
        #: When set, a DescribeAssetImageHostList answer holds at most this many pairs (with the full TotalCount).
        self.pair_cap = None

    # -- test helpers ----------------------------------------------------------------------------

    def fault(self, action, *kinds):
        self.faults.setdefault(action, []).extend(kinds)

    def actions(self, action=None):
        names = [call[0] for call in self.calls]
        return names if action is None else names.count(action)

    def params_of(self, action):
        return [params for name, params in self.calls if name == action]

    def running(self):
        for task in self.tasks:
            if task.state == "running":
                return task
        return None

    def start_foreign_task(self, image_ids=(), one_click=False):
        """A scan started by someone else."""
        return self._start(list(image_ids), one_click)

    # -- transport -------------------------------------------------------------------------------

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        action = request.headers["X-TC-Action"]
        params = json.loads(request.body) if request.body else {}
        self.calls.append((action, params))
        queue = self.faults.get(action) or []
        fault = queue.pop(0) if queue else None
        if fault == "throttle":
            return self._answer(request, {"Error": {"Code": "RequestLimitExceeded", "Message": "too many requests"}})
        if fault == "server_error":
            return self._raw(request, 502, b"<html><body>502 Bad Gateway</body></html>", "text/html")
        if isinstance(fault, tuple) and fault[0] == "error":
            return self._answer(request, {"Error": {"Code": fault[1], "Message": fault[2]}})
        try:
            answer = getattr(self, "do_" + action)(params)
        except FakeApiError as exc:
            answer = {"Error": {"Code": exc.code, "Message": exc.message}}
        if action.startswith("Describe"):
            # lag: a new task and its effects show only after ``lag_reads`` reads.
            for task in self.tasks:
                task.hidden = max(task.hidden - 1, 0)
        if fault == "reset_after":
            raise _connection_reset()
        if fault == "garbled":
            body = json.dumps({"Response": dict(answer, RequestId="rid")}).encode("utf-8")
            return self._raw(request, 200, body[:len(body) // 2], "application/json")
        return self._answer(request, answer)

    def _answer(self, request, answer):
        body = json.dumps({"Response": dict(answer, RequestId="rid-%d" % len(self.calls))}).encode("utf-8")
        return self._raw(request, 200, body, "application/json")

    def _raw(self, request, status, body, content_type):
        response = requests.Response()
        response.status_code = status
        response._content = body  # pylint: disable=protected-access
        response.headers = CaseInsensitiveDict({"Content-Type": content_type})
        if self.server_ahead is not None:
            response.headers["Date"] = email.utils.formatdate(_clock.now() + self.server_ahead, usegmt=True)
        response.encoding = "utf-8"
        response.request = request
        response.url = request.url
        response.reason = http.client.responses.get(status, "")
        return response

    def close(self):
        pass

    # -- tasks -----------------------------------------------------------------------------------

    def _start(self, image_ids, one_click):
        task = FakeTask("task-%d" % (len(self.tasks) + 1), image_ids, one_click, "2026-01-01 07:59:00")
        task.hidden = self.lag_reads
        task.before = dict((i, (self.images[i]["ScanStatus"], self.images[i]["ScanTime"])) for i in image_ids)
        for image_id in image_ids:
            self.previous[image_id] = self.images[image_id]["ScanStatus"]
            self.images[image_id]["ScanStatus"] = "scanning"
        self.tasks.append(task)
        return task

    def _advance(self, task):
        if task.state != "running":
            return
        task.polls += 1
        if task.polls >= self.polls_to_finish:
            for image_id in task.image_ids:
                self.images[image_id].update(ScanStatus="scanned", ScanTime=SCAN_TIME)
            task.scanned = len(task.image_ids)
            task.state = "finished"

    def _status(self, task):
        total = len(task.image_ids)
        done = task.state != "running"
        return {"ImageTotal": total, "ImageScanCnt": task.scanned,
                "Status": "END" if done else "SCANNING",
                "Schedule": 100 if task.state == "finished" else (task.scanned * 100 // total if total else 0),
                "SuccessCount": task.scanned, "RiskCount": 0, "LeftSeconds": 0 if done else 30}

    def _select(self, filters, images=None):
        images = self.images if images is None else images
        ids = list(self.order)
        for item in filters or []:
            name, values = item["Name"], item["Values"]
            if name == "ImageID":
                ids = [i for i in ids if i in values]
            elif name == "ScanStatus":
                ids = [i for i in ids if images[i]["ScanStatus"] in values]
            elif name == "ImageName":
                ids = [i for i in ids if any(v in images[i]["ImageName"] for v in values)]
            elif name == "SecurityRisk":
                pass
            else:
                raise FakeApiError("InvalidParameterValue", "unsupported filter %s" % name)
        return ids

    @staticmethod
    def _page(rows, params):
        offset = params.get("Offset", 0)
        limit = params.get("Limit", 10)
        assert limit <= 100, "Limit above 100"
        return {"List": rows[offset:offset + limit], "TotalCount": len(rows)}

    # -- actions ---------------------------------------------------------------------------------

    def do_CreateAssetImageScanTask(self, params):
        assert "All" not in params, "the deprecated All field was sent"
        if self.running() is not None:
            raise FakeApiError("FailedOperation.ErrAlreadyScanning", "An image scan is already running.")
        if "Images" in params:
            missing = [i for i in params["Images"] if i not in self.images]
            if missing:
                raise FakeApiError("ResourceNotFound", "no image %s" % missing[0])
            ids = list(params["Images"])
            if any(not self.images[i]["IsAuthorized"] for i in ids):
                # TCSS's code for "a scan runs" also means "no permission to scan these images".
                raise FakeApiError("FailedOperation.ErrAlreadyScanning", "An image scan is already running.")
        else:
            ids = self._select(params.get("Filters"))
            if params.get("ScanScope") == 2:
                ids = [i for i in ids if self.images[i]["IsSuggest"]]
        excluded = set(params.get("ExcludeImageIds") or [])
        ids = [i for i in ids if i not in excluded and self.images[i]["IsAuthorized"]]
        task = self._start(ids, bool(params.get("IsOneClickScanningTask")))
        return {"TaskID": task.id}

    def do_DescribeAssetImageScanStatus(self, params):
        task_id = params.get("TaskID")
        if task_id:
            found = [t for t in self.tasks if t.id == task_id and not t.hidden]
            if not found:
                raise FakeApiError("ResourceNotFound", "The task %s does not exist." % task_id)
            task = found[0]
        elif [t for t in self.tasks if not t.hidden]:
            task = [t for t in self.tasks if not t.hidden][-1]
        else:
            return {"ImageTotal": 0, "ImageScanCnt": 0, "Status": "READY", "Schedule": 0, "SuccessCount": 0,
                    "RiskCount": 0, "LeftSeconds": 0}
        self._advance(task)
        return self._status(task)

    def do_DescribeAssetImageScanTask(self, params):
        assert params == {}
        found = [t for t in self.tasks if t.one_click and not t.hidden]
        if not found:
            return {"TaskID": "", "LastScanTime": "", "Status": "READY", "SubStatus": ""}
        task = found[-1]
        sub = {"running": "", "finished": "Success", "stopped": "Cancel"}[task.state]
        return {"TaskID": task.id, "LastScanTime": task.created,
                "Status": "SCANNING" if task.state == "running" else "END", "SubStatus": sub}

    def do_ModifyAssetImageScanStop(self, params):
        given = [k for k in ("TaskID", "Images", "Filters") if k in params]
        assert len(given) == 1, params
        if "TaskID" in params:
            found = [t for t in self.tasks if t.id == params["TaskID"]]
            if not found:
                raise FakeApiError("ResourceNotFound", "no task")
            stop = [found[0]]
            ids = found[0].image_ids
        else:
            ids = params["Images"]
            stop = [t for t in self.tasks if t.state == "running" and set(t.image_ids) & set(ids)]
        for task in stop:
            if task.state == "running":
                task.state = "stopped"
                for image_id in task.image_ids:
                    if image_id in ids and self.images[image_id]["ScanStatus"] == "scanning":
                        self.images[image_id]["ScanStatus"] = self.previous.get(image_id, "notScan")
        return {"Status": "SUCCESS"}

    def do_DescribeAssetImageList(self, params):
        shown = dict((i, dict(self.images[i])) for i in self.order)
        for task in self.tasks:
            for image_id, (status, scan_time) in task.before.items() if task.hidden else ():
                shown[image_id].update(ScanStatus=status, ScanTime=scan_time)
        ids = self._select(params.get("Filters"), shown)
        return self._page([shown[i] for i in ids], params)

    def do_DescribeAssetImageVulList(self, params):
        image_id = params["ImageID"]
        if image_id not in self.images:
            raise FakeApiError("ResourceNotFound", "no image")
        return self._page(self.vulns.get(image_id, []), params)

    def do_DescribeAssetHostList(self, params):
        rows = list(self.hosts)
        for item in params.get("Filters") or []:
            name, values = item["Name"], item["Values"]
            key = {"Status": "Status", "HostName": "HostName", "HostIP": "HostIP", "HostID": "HostID"}.get(name)
            if key is None:
                continue
            if name == "Status" and "ALL" in values:
                continue
            rows = [r for r in rows if r[key] in values]
        return self._page(rows, params)

    def do_DescribeAssetImageHostList(self, params):
        assert "Limit" not in params and "Offset" not in params, "T8 pages only when its answer is cut"
        rows = list(self.pairs)
        for item in params.get("Filters") or []:
            rows = [r for r in rows if r[item["Name"]] in item["Values"]]
        total = len(rows)
        if self.pair_cap is not None:
            rows = rows[:self.pair_cap]
        return {"List": rows, "TotalCount": total}


class Runner(object):
    """Runs a module's ``main()`` against a ``FakeTcss`` with a fake clock."""

    def __init__(self, monkeypatch, capsys, clock):
        self.monkeypatch = monkeypatch
        self.capsys = capsys
        self.clock = clock
        for name in ENV_NAMES:
            monkeypatch.delenv(name, raising=False)

    def __call__(self, module, fake, args, check_mode=False, credentials=True):

        def build_transport(module_self):
            session = requests.Session()
            session.mount("https://", fake)
            session.mount("http://", fake)
            policy = RetryPolicy(retries=module_self.params["backoff_retries"], delay=0.01, max_delay=0.01)
            return HttpTransport(session=session, retry_policy=policy)

        def warn(module_self, warning):
            fake.warnings.append(warning)

        self.monkeypatch.setattr(_tcss_module.TcssModule, "_build_transport", build_transport)
        self.monkeypatch.setattr(_tcss_module.TcssModule, "warn", warn)
        full = dict(ARGS) if credentials else {}
        full.update(args)
        if check_mode:
            full["_ansible_check_mode"] = True
        with patch_module_args(full):
            with pytest.raises(SystemExit):
                module.main()
        out = self.capsys.readouterr().out
        assert SECRET_KEY not in out, "the secret key appears in the module output"
        return json.loads(out)
