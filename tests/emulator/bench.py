"""Throughput of the emulator's list calls on a large generated dataset (standard library only).

    python tests/emulator/bench.py [--hosts 5000] [--images-per-host 10] [--requests 400]
                                   [--threads 4] [--min-rps 500]

Starts ``serve.py`` on a free port, sends signed list requests over keep-alive connections and
prints requests per second for each case. Exits 1 when a case is below ``--min-rps``.
"""

import argparse
import http.client
import json
import os
import subprocess
import sys
import threading
import time

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(_HERE, "..", "..", "plugins", "module_utils"))

import _signing  # noqa: E402  pylint: disable=wrong-import-position

AK, SK, PROJECT = "BENCHAK", "BENCHSK", "benchproject"
SECRET_ID, SECRET_KEY = "BENCHID", "BENCHKEY"


def hss_get(conn, netloc, path, query):
    pairs = _signing.hss_query_pairs(query)
    headers = _signing.hss_sign(AK, SK, "GET", netloc, path, pairs,
                                {"Content-Type": "application/json", "X-Project-Id": PROJECT},
                                None)
    conn.request("GET", path + "?" + _signing.hss_canonical_query(pairs), headers=headers)
    response = conn.getresponse()
    body = response.read()
    return response.status == 200 and b"data_list" in body


def tcss_post(conn, netloc, action, params):
    body = json.dumps(params)
    stamp = int(time.time())
    headers = {"Content-Type": "application/json", "Host": netloc, "X-TC-Action": action,
               "X-TC-Version": "2020-11-01", "X-TC-Timestamp": str(stamp),
               "Authorization": _signing.tc3_sign(SECRET_ID, SECRET_KEY, "tcss", netloc,
                                                  "application/json", body, stamp)}
    conn.request("POST", "/", body=body, headers=headers)
    response = conn.getresponse()
    data = json.loads(response.read())
    return response.status == 200 and "Error" not in data["Response"]


def cases(hosts, width):
    local = "/v5/%s/image/local-repositories" % PROJECT
    return {
        "H5 page": lambda c, n, i: hss_get(c, n, local,
                                           {"offset": (i * 10) % 10000, "limit": 10}),
        "H5 host_name": lambda c, n, i: hss_get(c, n, local, {
            "host_name": "node-%0*d" % (width, i % hosts + 1), "limit": 10}),
        "H5 scan_status": lambda c, n, i: hss_get(c, n, local,
                                                  {"scan_status": "unscan", "offset": i % 1000}),
        "T5 page": lambda c, n, i: tcss_post(c, n, "DescribeAssetImageList",
                                             {"Limit": 10, "Offset": (i * 10) % 1000}),
        "T7 host name": lambda c, n, i: tcss_post(c, n, "DescribeAssetHostList", {
            "Filters": [{"Name": "HostName", "Values": ["node-%0*d" % (width, i % hosts + 1)],
                         "ExactMatch": True}]}),
    }


def run_case(host, port, call, total, threads):
    netloc = "%s:%d" % (host, port)
    failures = []

    def worker(start):
        conn = http.client.HTTPConnection(host, port, timeout=30)
        for i in range(start, total, threads):
            if not call(conn, netloc, i):
                failures.append(i)
        conn.close()

    started = time.monotonic()
    workers = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return total / (time.monotonic() - started), failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--hosts", type=int, default=5000)
    parser.add_argument("--images-per-host", type=int, default=10)
    parser.add_argument("--requests", type=int, default=400, help="requests per case")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--min-rps", type=float, default=0)
    args = parser.parse_args()

    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, os.path.join(_HERE, "serve.py"), "--port", "0", "--hss-ak", AK,
         "--hss-sk", SK, "--hss-project-id", PROJECT, "--tcss-secret-id", SECRET_ID,
         "--tcss-secret-key", SECRET_KEY, "--generate-hosts", str(args.hosts),
         "--images-per-host", str(args.images_per_host)],
        stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline().strip()
        if not line.startswith("listening on http://"):
            print("the emulator did not start: %r" % line, file=sys.stderr)
            return 1
        host, port = line.rsplit("/", 1)[1].rsplit(":", 1)
        print("dataset %d hosts x %d images loaded in %.1fs"
              % (args.hosts, args.images_per_host, time.monotonic() - started))
        slow = False
        width = max(2, len(str(args.hosts)))
        for name, call in cases(args.hosts, width).items():
            rps, failures = run_case(host, int(port), call, args.requests, args.threads)
            flag = ""
            if failures:
                flag = "  FAILED (%d errors)" % len(failures)
                slow = True
            elif rps < args.min_rps:
                flag = "  below %.0f req/s" % args.min_rps
                slow = True
            print("%-16s %7.0f req/s%s" % (name, rps, flag))
        return 1 if slow else 0
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
