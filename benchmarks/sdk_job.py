"""The image_scan role's job as a plain Python script on the clouds' official SDKs.

    python benchmarks/sdk_job.py --provider hss|tcss --inventory FILE [--batch-size N]
        [--wait-sleep 1] [--wait-timeout 1800] [--max-age 86400] [--output FILE]

The baseline of the benchmark (benchmarks/run.py): the same job as the role with
``image_scan_findings: true``, for the hosts of a YAML inventory:

1. list the cloud's hosts and the images of every host, page by page with the largest page each
   API accepts (HSS 200, TCSS 100);
2. trigger scans for the images on the inventory's online hosts that need one (never scanned,
   or last scanned more than ``--max-age`` seconds ago), ``--batch-size`` images per call (HSS:
   100 by default, like the role's ``image_scan_batch_size``; TCSS: one task with every image by
   default, since a TCSS task takes any number of images; 0 means one call);
3. wait: HSS scans every batch at once, so one wait for all of them; TCSS runs one task at a
   time, so each batch is waited for before the next starts. The pause between polls starts at
   ``--wait-sleep`` and grows by half up to four times that, like the role's;
4. collect the results, with vulnerability rows only for the images that have any, and work out
   each host's verdict (the worst severity of its images).

Credentials and endpoint come from the environment variables the collection reads
(HUAWEICLOUD_SDK_AK, HUAWEICLOUD_SDK_SK, HUAWEICLOUD_SDK_PROJECT_ID, HUAWEICLOUD_SDK_ENDPOINT;
TENCENTCLOUD_SECRET_ID, TENCENTCLOUD_SECRET_KEY, TENCENTCLOUD_REGION, TENCENTCLOUD_ENDPOINT).
The Huawei SDK writes ``~/.huaweicloud`` when imported, so HOME points at a temporary directory
while it runs. Prints one JSON line with what was done and how long each phase took; the
per-host results go to ``--output``.
"""

import argparse
import datetime
import json
import os
import shutil
import sys
import tempfile
import time
import urllib.parse

import yaml

HSS_PAGE = 200
TCSS_PAGE = 100
TCSS_SEVERITY = {1: "low", 2: "medium", 3: "high", 4: "critical"}
SEVERITIES = ("none", "low", "medium", "high", "critical")
CST = datetime.timezone(datetime.timedelta(hours=8))


def inventory_hosts(path):
    """The host names of a YAML inventory (every group, recursively)."""
    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle) or {}
    names = []

    def visit(group):
        for name in (group or {}).get("hosts") or {}:
            if name not in names:
                names.append(name)
        for child in ((group or {}).get("children") or {}).values():
            visit(child)

    for group in data.values():
        visit(group)
    return names


def batches(items, size):
    if not size or size <= 0:
        return [items] if items else []
    return [items[i:i + size] for i in range(0, len(items), size)]


def wait_until(poll, done, timeout, sleep):
    """Sleep, then poll until ``done(result)``; the pause grows by half up to 4 x ``sleep``."""
    deadline = time.monotonic() + timeout
    pause, ceiling = float(sleep), min(float(sleep) * 4, 60.0)
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("timed out after %ss" % timeout)
        time.sleep(min(pause, remaining))
        pause = min(pause * 1.5, ceiling)
        result = poll()
        if done(result):
            return result


def worst(words):
    found = [word for word in words if word in SEVERITIES]
    return max(found, key=SEVERITIES.index) if found else "none"


class Phases(object):
    """Wall time of each phase of the job."""

    def __init__(self):
        self.seconds = {}
        self.name, self.started = None, None

    def start(self, name):
        self.stop()
        self.name, self.started = name, time.monotonic()

    def stop(self):
        if self.name:
            self.seconds[self.name] = round(time.monotonic() - self.started, 3)
        self.name = None


# ---------------------------------------------------------------------------------------------
# Huawei Cloud HSS
# ---------------------------------------------------------------------------------------------


def host_results(wanted, host_ids, online, per_host):
    """Each inventory host's verdict from the cloud's host ids (by name), the online ones and the
    images grouped by host id."""
    results = {}
    for name in wanted:
        host_id = host_ids.get(name)
        if host_id is None:
            results[name] = {"status": "not_enrolled"}
        elif host_id not in online:
            results[name] = {"status": "agent_offline"}
        else:
            images = per_host.get(host_id, [])
            results[name] = {"status": "scanned" if images else "no_images", "images": images,
                             "worst_severity": worst(image["severity"] for image in images)}
    return results


def hss_job(args, wanted, phases):
    # pylint: disable=import-outside-toplevel
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkhss.v5 import HssClient
    from huaweicloudsdkhss.v5 import model as m

    env = os.environ
    client = (HssClient.new_builder()
              .with_credentials(BasicCredentials(env["HUAWEICLOUD_SDK_AK"], env["HUAWEICLOUD_SDK_SK"],
                                                 env["HUAWEICLOUD_SDK_PROJECT_ID"]))
              .with_endpoints([env["HUAWEICLOUD_SDK_ENDPOINT"]]).build())

    def walk(call, request_type, **query):
        rows, offset = [], 0
        while True:
            page = call(request_type(offset=offset, limit=HSS_PAGE, **query))
            data = page.data_list or []
            rows.extend(data)
            offset += len(data)
            if not data or offset >= (page.total_num or 0):
                return rows

    def needs_scan(row):
        if row.scan_status in ("waiting", "waiting_for_scan", "scanning"):
            return False
        if row.scan_status == "unscan" or not row.latest_scan_time:
            return True
        if row.scan_status == "failed" and row.scan_failed_desc == "huge_image":
            return False
        return time.time() - row.latest_scan_time / 1000.0 > args.max_age

    phases.start("list")
    hosts = {h.host_name: h for h in walk(client.list_host_status, m.ListHostStatusRequest)}
    online = set(hosts[name].host_id for name in wanted
                 if name in hosts and hosts[name].agent_status == "online")
    rows = walk(client.list_image_local, m.ListImageLocalRequest)
    to_scan = []
    for row in rows:
        if row.host_id in online and needs_scan(row) and row.image_id not in to_scan:
            to_scan.append(row.image_id)

    phases.start("trigger")
    groups = batches(to_scan, args.batch_size)
    for group in groups:
        # The docs mark the region header of this API mandatory; the Python SDK sends it only when set.
        client.batch_scan_local_image(m.BatchScanLocalImageRequest(region=env["HUAWEICLOUD_SDK_REGION"], body=m.LocalImageBatchScanRequestBody(
            operate_all=False, image_info_list=[m.LocalImageInfo(image_id=image_id) for image_id in group])))

    phases.start("wait")
    # HSS scans an image on every host that holds it: wait for all of those rows.
    triggered = set(to_scan)
    ours = set((row.image_id, row.host_id) for row in rows if row.image_id in triggered)

    def busy():
        keys = set()
        for status in ("waiting_for_scan", "scanning"):
            keys.update((row.image_id, row.host_id)
                        for row in walk(client.list_image_local, m.ListImageLocalRequest, scan_status=status))
        return keys & ours

    if ours:
        wait_until(busy, lambda left: not left, args.wait_timeout, args.wait_sleep)

    phases.start("collect")
    rows = [row for row in walk(client.list_image_local, m.ListImageLocalRequest) if row.host_id in online]
    # Local-image findings through the documented APIs, as the collection reads them: every
    # unhandled vulnerability on local images (rated), the images each one affects, and the
    # software of each (vulnerability, image) pair.
    findings = {}
    wanted_images = set(row.image_id for row in rows if (row.vul_num or 0) > 0)
    if wanted_images:
        for vul_type in ("linux_vul", "app_vul"):
            for vul in walk(client.list_general_image_vuls, m.ListGeneralImageVulsRequest, type=vul_type,
                            handle_status="unhandled", image_type="local"):
                affected = walk(client.list_vul_affect_images, m.ListVulAffectImagesRequest, vul_id=vul.vul_id,
                                type=vul.type or vul_type, image_type="local", is_handled=False)
                for image_id in sorted(set(r.image_id for r in affected if r.image_id in wanted_images)):
                    apps = walk(client.list_vul_affect_image_apps, m.ListVulAffectImageAppsRequest,
                                image_id=image_id, vul_id=vul.vul_id, image_type="local", is_handled=False)
                    packages = [app.app_name for app in apps] or [None]
                    findings.setdefault(image_id, []).extend(
                        {"vul_id": vul.vul_id, "severity_level": vul.severity_level, "app_name": package}
                        for package in packages)
    per_host = {}
    for row in rows:
        words = [str(vuln.get("severity_level") or "").lower() or "none" for vuln in findings.get(row.image_id, [])]
        per_host.setdefault(row.host_id, []).append({
            "id": row.image_id, "name": row.image_name, "version": row.image_version,
            "scan_status": row.scan_status, "severity": worst(words), "findings": len(words)})
    results = host_results(wanted, dict((name, host.host_id) for name, host in hosts.items()), online, per_host)
    phases.stop()
    return results, findings, {"images_triggered": len(to_scan), "trigger_calls": len(groups)}


# ---------------------------------------------------------------------------------------------
# Tencent Cloud TCSS
# ---------------------------------------------------------------------------------------------


def tcss_job(args, wanted, phases):
    # pylint: disable=import-outside-toplevel
    from tencentcloud.common import credential
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile
    from tencentcloud.tcss.v20201101 import models, tcss_client

    env = os.environ
    url = urllib.parse.urlsplit(env["TENCENTCLOUD_ENDPOINT"])
    profile = ClientProfile(httpProfile=HttpProfile(endpoint=url.netloc, protocol=url.scheme))
    client = tcss_client.TcssClient(credential.Credential(env["TENCENTCLOUD_SECRET_ID"], env["TENCENTCLOUD_SECRET_KEY"]),
                                    env.get("TENCENTCLOUD_REGION", ""), profile)

    def call(action, params):
        request = getattr(models, action + "Request")()
        request.from_json_string(json.dumps(params))
        return getattr(client, action)(request)

    def walk(action, params=None):
        rows, offset = [], 0
        while True:
            page = call(action, dict(params or {}, Offset=offset, Limit=TCSS_PAGE))
            data = page.List or []
            rows.extend(data)
            offset += len(data)
            if not data or offset >= (page.TotalCount or 0):
                return rows

    def needs_scan(row):
        if row.ScanStatus == "scanning":
            return False
        if row.ScanStatus == "notScan" or not row.ScanTime:
            return True
        scanned = datetime.datetime.strptime(row.ScanTime, "%Y-%m-%d %H:%M:%S").replace(tzinfo=CST)
        return time.time() - scanned.timestamp() > args.max_age

    phases.start("list")
    hosts = {h.HostName: h for h in walk("DescribeAssetHostList")}
    online = set(hosts[name].HostID for name in wanted if name in hosts and hosts[name].Status == "ONLINE")
    images = walk("DescribeAssetImageList")
    hosts_of = {}
    for pair in call("DescribeAssetImageHostList", {}).List or []:
        hosts_of.setdefault(pair.ImageID, []).append(pair.HostID)
    to_scan = [row.ImageID for row in images if online.intersection(hosts_of.get(row.ImageID, ())) and needs_scan(row)]

    phases.start("trigger_and_wait")
    # TCSS runs one scan task at a time: each batch is waited for before the next one starts.
    groups = batches(to_scan, args.batch_size)
    for group in groups:
        task_id = call("CreateAssetImageScanTask", {"Images": group, "ScanVul": True, "ScanVirus": True,
                                                    "ScanRisk": True, "ScanScope": 1}).TaskID
        wait_until(lambda task_id=task_id: call("DescribeAssetImageScanStatus", {"TaskID": task_id}),
                   lambda status: status.Status == "END", args.wait_timeout, args.wait_sleep)

    phases.start("collect")
    rows = [row for row in walk("DescribeAssetImageList") if online.intersection(hosts_of.get(row.ImageID, ()))]
    findings = {}
    per_host = {}
    for row in rows:
        if (row.VulCnt or 0) > 0:
            findings[row.ImageID] = [json.loads(vuln.to_json_string()) for vuln in
                                     walk("DescribeAssetImageVulList", {"ImageID": row.ImageID})]
        words = [TCSS_SEVERITY.get(vuln.get("Level"), "none") for vuln in findings.get(row.ImageID, [])]
        image = {"id": row.ImageID, "name": row.ImageName, "scan_status": row.ScanStatus,
                 "severity": worst(words), "findings": len(words)}
        for host_id in hosts_of.get(row.ImageID, ()):
            per_host.setdefault(host_id, []).append(image)
    results = host_results(wanted, dict((name, host.HostID) for name, host in hosts.items()), online, per_host)
    phases.stop()
    return results, findings, {"images_triggered": len(to_scan), "trigger_calls": len(groups)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--provider", choices=("hss", "tcss"), required=True)
    parser.add_argument("--inventory", required=True, help="YAML inventory: the hosts to scan")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="images per trigger call (default: HSS 100, TCSS 0: one task with every image)")
    parser.add_argument("--wait-sleep", type=float, default=5)
    parser.add_argument("--wait-timeout", type=float, default=1800)
    parser.add_argument("--max-age", type=float, default=86400, help="seconds (the role's 24h)")
    parser.add_argument("--output", help="write the per-host results and findings here (JSON)")
    args = parser.parse_args(argv)
    if args.batch_size is None:
        args.batch_size = 100 if args.provider == "hss" else 0

    started = time.monotonic()
    wanted = inventory_hosts(args.inventory)
    phases = Phases()
    home, saved_home = tempfile.mkdtemp(prefix="sdk-job-home-"), os.environ.get("HOME")
    os.environ["HOME"] = home
    try:
        job = hss_job if args.provider == "hss" else tcss_job
        results, findings, done = job(args, wanted, phases)
    finally:
        if saved_home is None:
            os.environ.pop("HOME", None)
        else:
            os.environ["HOME"] = saved_home
        shutil.rmtree(home, ignore_errors=True)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as handle:
            json.dump({"hosts": results, "findings": findings}, handle)
    statuses = {}
    for result in results.values():
        statuses[result["status"]] = statuses.get(result["status"], 0) + 1
    summary = dict(provider=args.provider, hosts=len(wanted), host_status=statuses,
                   images_with_findings=len(findings), findings=sum(len(rows) for rows in findings.values()),
                   phases=phases.seconds, seconds=round(time.monotonic() - started, 3), **done)
    print(json.dumps(summary, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
