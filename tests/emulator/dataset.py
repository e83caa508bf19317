"""The emulator's dataset: hosts, local images, registry images and vulnerabilities.

A dataset is plain JSON (see README.md, "Dataset format"). This module builds the built-in
dataset deterministically, generates large synthetic ones (``generate(hosts, images_per_host)``)
and loads and checks ``--data`` files. Nothing here depends on time or randomness: the same
call always returns the same dataset, so identifiers are stable from run to run.
"""

import hashlib
import json
import random
import uuid

FORMAT_VERSION = 1

SEVERITIES = ("critical", "high", "medium", "low")
OUTCOMES = ("success", "failed", "image_oversized", "download_failed")
REGISTRY_TYPES = {
    # registry_type -> image_type, as HSS reports them.
    "SwrPrivate": "private_image",
    "SwrShared": "shared_image",
    "SwrEnterprise": "instance_image",
    "Harbor": "harbor",
    "Jfrog": "jfrog",
}
HSS_AGENT_STATUSES = ("online", "offline", "not_installed", "installing", "install_failed")
TCSS_AGENT_STATUSES = ("ONLINE", "OFFLINE", "UNINSTALL")

# Timestamps of the fixed dataset (epoch ms): images were built / pushed in 2024.
_BASE_UPDATE_MS = 1717200000000  # 2024-06-01T00:00:00Z


class DatasetError(ValueError):
    """A dataset file is malformed."""


# ---------------------------------------------------------------------------------------------
# Deterministic identifiers
# ---------------------------------------------------------------------------------------------


def _digest(*parts):
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()


def _uuid(*parts):
    return str(uuid.UUID(_digest(*parts)[:32], version=4))


def _hex(length, *parts):
    text = _digest(*parts)
    while len(text) < length:
        text += _digest(text)
    return text[:length]


# ---------------------------------------------------------------------------------------------
# Vulnerability catalogue: (id, severity, package, version, fixed_version or "", type, cvss,
# description). Severities follow the distributions' ratings.
# ---------------------------------------------------------------------------------------------

_VULNS = [
    ("CVE-2021-44228", "critical", "log4j-core", "2.14.1", "2.15.0", "app_vul", 10.0,
     "Apache Log4j2 JNDI features do not protect against attacker-controlled LDAP endpoints."),
    ("CVE-2022-42889", "critical", "commons-text", "1.9", "1.10.0", "app_vul", 9.8,
     "Apache Commons Text variable interpolation allows remote code execution."),
    ("CVE-2019-10744", "critical", "lodash", "4.17.11", "4.17.12", "app_vul", 9.1,
     "lodash defaultsDeep is vulnerable to prototype pollution."),
    ("CVE-2023-38545", "critical", "curl", "7.88.1", "8.4.0", "linux_vul", 9.8,
     "Heap buffer overflow in the SOCKS5 proxy handshake of curl."),
    ("CVE-2023-45853", "critical", "zlib1g", "1:1.2.13.dfsg-1", "", "linux_vul", 9.8,
     "Integer overflow in MiniZip zipOpenNewFileInZip4_64 (not fixed by the distribution)."),
    ("CVE-2024-45491", "critical", "libexpat1", "2.5.0-1", "2.5.0-1+deb12u1", "linux_vul", 9.8,
     "Integer overflow in dtdCopy of libexpat on 32-bit platforms."),
    ("CVE-2022-37434", "critical", "zlib1g", "1:1.2.11.dfsg-2", "1:1.2.11.dfsg-2+deb11u2",
     "linux_vul", 9.8, "Heap buffer over-read or overflow in inflateGetHeader of zlib."),
    ("CVE-2023-44487", "high", "libnghttp2-14", "1.52.0-1", "1.52.0-1+deb12u1", "linux_vul", 7.5,
     "HTTP/2 rapid reset can cause a denial of service."),
    ("CVE-2024-2961", "high", "libc6", "2.36-9+deb12u3", "2.36-9+deb12u7", "linux_vul", 8.8,
     "Out-of-bounds write in the glibc iconv ISO-2022-CN-EXT converter."),
    ("CVE-2023-4911", "high", "libc6", "2.36-9", "2.36-9+deb12u3", "linux_vul", 7.8,
     "Buffer overflow in the glibc dynamic loader GLIBC_TUNABLES handling."),
    ("CVE-2023-52425", "high", "libexpat1", "2.5.0-1", "", "linux_vul", 7.5,
     "libexpat large token reparsing allows denial of service (not fixed by the distribution)."),
    ("CVE-2023-31484", "high", "perl-base", "5.36.0-7", "", "linux_vul", 8.1,
     "CPAN.pm does not verify TLS certificates when downloading distributions."),
    ("CVE-2024-6387", "high", "openssh-server", "1:9.2p1-2", "1:9.2p1-2+deb12u3", "linux_vul", 8.1,
     "Race condition in the sshd signal handler (regreSSHion)."),
    ("CVE-2023-0286", "high", "openssl", "3.0.7-r0", "3.0.8-r0", "linux_vul", 7.4,
     "Type confusion in X.400 address processing of OpenSSL."),
    ("CVE-2023-5363", "high", "libssl3", "3.0.11-1~deb12u1", "3.0.11-1~deb12u2", "linux_vul", 7.5,
     "Incorrect cipher key and IV length processing in OpenSSL."),
    ("CVE-2023-39325", "high", "golang.org/x/net", "0.15.0", "0.17.0", "app_vul", 7.5,
     "HTTP/2 rapid reset can cause excessive work in net/http servers."),
    ("CVE-2023-45288", "high", "golang.org/x/net", "0.17.0", "0.23.0", "app_vul", 7.5,
     "HTTP/2 CONTINUATION frames can cause a denial of service."),
    ("CVE-2024-25062", "high", "libxml2", "2.9.14+dfsg-1.3", "2.9.14+dfsg-1.3~deb12u1",
     "linux_vul", 7.5, "Use-after-free in libxml2 xmlValidatePopElement."),
    ("CVE-2023-4863", "high", "libwebp7", "1.2.4-0.2", "1.2.4-0.2+deb12u1", "linux_vul", 8.8,
     "Heap buffer overflow in libwebp lossless decoding."),
    ("CVE-2022-4899", "high", "libzstd1", "1.5.4+dfsg2-5", "", "linux_vul", 7.5,
     "zstd may crash on an empty string for the --output-dir-flat option."),
    ("CVE-2023-29491", "high", "libncursesw6", "6.4-4", "6.4-4+deb12u1", "linux_vul", 7.8,
     "ncurses malformed terminfo data can corrupt memory."),
    ("CVE-2023-7104", "high", "libsqlite3-0", "3.40.1-2", "3.40.1-2+deb12u1", "linux_vul", 7.3,
     "Heap buffer overflow in the SQLite session extension."),
    ("CVE-2024-0727", "medium", "libssl3", "3.0.11-1~deb12u2", "3.0.13-1~deb12u1", "linux_vul",
     5.5, "Processing a malformed PKCS12 file may crash OpenSSL."),
    ("CVE-2023-2650", "medium", "openssl", "3.0.8-r0", "3.0.9-r0", "linux_vul", 6.5,
     "Translating ASN.1 object identifiers may be very slow in OpenSSL."),
    ("CVE-2023-5678", "medium", "openssl", "3.1.3-r0", "3.1.4-r1", "linux_vul", 5.3,
     "Generating excessively long X9.42 DH keys may be very slow."),
    ("CVE-2023-32681", "medium", "requests", "2.28.1", "2.31.0", "app_vul", 6.1,
     "requests leaks Proxy-Authorization headers to destination servers on redirects."),
    ("CVE-2022-40897", "medium", "setuptools", "65.5.0", "65.5.1", "app_vul", 5.9,
     "Regular expression denial of service in setuptools package_index."),
    ("CVE-2024-22195", "medium", "jinja2", "3.1.2", "3.1.3", "app_vul", 5.4,
     "The jinja2 xmlattr filter allows keys with spaces (cross-site scripting)."),
    ("CVE-2024-28182", "medium", "libnghttp2-14", "1.52.0-1+deb12u1", "1.52.0-1+deb12u2",
     "linux_vul", 5.3, "nghttp2 reads unbounded CONTINUATION frames."),
    ("CVE-2024-26461", "medium", "libkrb5-3", "1.20.1-2+deb12u1", "", "linux_vul", 5.5,
     "Memory leak in the Kerberos GSS message token handling (not fixed by the distribution)."),
    ("CVE-2023-50495", "medium", "libtinfo6", "6.4-4", "", "linux_vul", 6.5,
     "Segmentation fault in ncurses _nc_wrap_entry (not fixed by the distribution)."),
    ("CVE-2023-39615", "medium", "libxml2", "2.9.14+dfsg-1.3", "", "linux_vul", 6.5,
     "Crafted XML can cause an out-of-bounds read in libxml2 (not fixed by the distribution)."),
    ("CVE-2011-3374", "low", "apt", "2.6.1", "", "linux_vul", 3.7,
     "apt-key does not correctly validate keys downloaded from a keyring URL."),
    ("CVE-2022-0563", "low", "util-linux", "2.38.1-5", "", "linux_vul", 5.5,
     "chfn and chsh read INPUTRC when compiled with readline."),
    ("CVE-2022-27943", "low", "libstdc++6", "12.2.0-14", "", "linux_vul", 5.5,
     "Stack exhaustion in the libiberty demangler."),
    ("CVE-2017-18018", "low", "coreutils", "9.1-1", "", "linux_vul", 4.7,
     "chown and chgrp race condition with -R -L."),
    ("CVE-2013-4392", "low", "systemd", "252.22-1~deb12u1", "", "linux_vul", 3.3,
     "systemd follows symlinks when setting file permissions."),
    ("CVE-2023-45918", "low", "libtinfo6", "6.4-4", "", "linux_vul", 5.3,
     "NULL pointer dereference in ncurses tgetstr."),
]


def _vulnerability_catalogue():
    catalogue = {}
    for vid, severity, package, version, fixed, vtype, cvss, description in _VULNS:
        entry = {
            "severity": severity,
            "package": package,
            "version": version,
            "fixed_version": fixed,
            "type": vtype,
            "cvss": cvss,
            "description": description,
            "url": "https://nvd.nist.gov/vuln/detail/%s" % vid,
        }
        if vtype == "app_vul":
            entry["app_path"] = "/app/lib/%s-%s" % (package.replace("/", "-"), version)
        catalogue[vid] = entry
    return catalogue


# ---------------------------------------------------------------------------------------------
# The built-in dataset
# ---------------------------------------------------------------------------------------------

# key: (name, version, size in MB, local_image_type, os, outcome, failure reason,
#       vulnerabilities, unsafe settings, malicious files, components, recommended)
_LOCAL_IMAGES = {
    "nginx:1.25": ("nginx", "1.25", 187, "other_image", "debian 12", "success", "",
                   ["CVE-2023-45853", "CVE-2023-44487", "CVE-2024-2961", "CVE-2023-4911",
                    "CVE-2023-52425", "CVE-2024-0727", "CVE-2023-50495", "CVE-2011-3374",
                    "CVE-2022-0563"], 1, 0, 142, True),
    "redis:7.2": ("redis", "7.2", 138, "other_image", "debian 12", "success", "",
                  ["CVE-2023-45853", "CVE-2024-2961", "CVE-2023-31484", "CVE-2022-27943",
                   "CVE-2011-3374"], 0, 0, 118, False),
    "postgres:16": ("postgres", "16", 432, "other_image", "debian 12", "success", "",
                    ["CVE-2024-45491", "CVE-2023-4911", "CVE-2024-26461", "CVE-2013-4392"],
                    2, 0, 201, False),
    "python:3.11-slim": ("python", "3.11-slim", 131, "other_image", "debian 12", "success", "",
                         ["CVE-2023-5363", "CVE-2023-32681", "CVE-2022-40897", "CVE-2024-22195",
                          "CVE-2017-18018"], 0, 0, 97, False),
    "node:20-alpine": ("node", "20-alpine", 134, "other_image", "alpine 3.18", "success", "",
                       ["CVE-2019-10744", "CVE-2023-5678"], 0, 0, 64, False),
    "busybox:1.36": ("busybox", "1.36", 4, "other_image", "busybox", "success", "", [],
                     0, 0, 1, False),
    "alpine:3.19": ("alpine", "3.19", 7, "other_image", "alpine 3.19", "success", "", [],
                    0, 0, 14, False),
    "registry.k8s.io/pause:3.9": ("registry.k8s.io/pause", "3.9", 1, "other_image", "", "success",
                                  "", [], 0, 0, 0, False),
    "shop/cart:2.3.1": ("shop/cart", "2.3.1", 312, "swr_image", "debian 12", "success", "",
                        ["CVE-2021-44228", "CVE-2022-42889", "CVE-2023-4911", "CVE-2011-3374"],
                        1, 0, 233, True),
    "shop/catalog:1.8.0": ("shop/catalog", "1.8.0", 298, "swr_image", "debian 12", "success", "",
                           ["CVE-2022-42889", "CVE-2024-0727"], 0, 0, 219, False),
    "billing/api:1.4.0": ("billing/api", "1.4.0", 41, "swr_image", "distroless", "success", "",
                          ["CVE-2023-39325", "CVE-2023-45288"], 0, 0, 38, True),
    "inventory/worker:0.9.2": ("inventory/worker", "0.9.2", 156, "other_image", "debian 12",
                               "success", "", ["CVE-2023-32681", "CVE-2024-22195",
                                               "CVE-2022-40897"], 0, 0, 104, False),
    "web/frontend:5.2.0": ("web/frontend", "5.2.0", 121, "other_image", "alpine 3.18", "success",
                           "", ["CVE-2019-10744", "CVE-2024-28182"], 0, 0, 512, True),
    "auth/keycloak:22.0.5": ("auth/keycloak", "22.0.5", 451, "other_image", "ubi 9", "success",
                             "", ["CVE-2023-44487", "CVE-2024-26461", "CVE-2022-27943"], 1, 0,
                             310, True),
    "ml/trainer:2024.1": ("ml/trainer", "2024.1", 24576, "other_image", "ubuntu 22.04",
                          "image_oversized", "", [], 0, 0, 0, False),
    "search/indexer:3.1.4": ("search/indexer", "3.1.4", 389, "other_image", "debian 12",
                             "success", "", ["CVE-2024-25062", "CVE-2023-39615"], 0, 0, 176,
                             False),
    "reports/etl:2.0.1": ("reports/etl", "2.0.1", 205, "other_image", "debian 12", "success", "",
                          ["CVE-2017-18018", "CVE-2013-4392"], 0, 0, 122, False),
    "web/admin:1.12.3": ("web/admin", "1.12.3", 58, "other_image", "alpine 3.19", "success", "",
                         [], 0, 0, 211, False),
    "queue/consumer:4.0.0": ("queue/consumer", "4.0.0", 77, "other_image", "alpine 3.17",
                             "success", "", ["CVE-2023-0286", "CVE-2023-2650"], 0, 1, 45, False),
    "analytics/spark-job:3.5.0": ("analytics/spark-job", "3.5.0", 18944, "other_image",
                                  "ubuntu 22.04", "image_oversized", "", [], 0, 0, 0, False),
    "payments/gateway:3.3.0": ("payments/gateway", "3.3.0", 264, "swr_image", "debian 12",
                               "success", "", ["CVE-2023-38545", "CVE-2024-6387"], 2, 0, 158,
                               True),
    "notify/mailer:1.0.7": ("notify/mailer", "1.0.7", 96, "other_image", "debian 12", "success",
                            "", ["CVE-2023-7104"], 0, 0, 71, False),
    "legacy/reporting:0.9": ("legacy/reporting", "0.9", 702, "other_image", "centos 7", "failed",
                             "image_not_exist_or_docker_api_fault", [], 0, 0, 0, False),
    "media/thumbnailer:2.4.1": ("media/thumbnailer", "2.4.1", 183, "other_image", "debian 12",
                                "success", "", ["CVE-2023-4863", "CVE-2022-4899"], 0, 0, 88,
                                False),
    "monitoring/exporter:0.15.0": ("monitoring/exporter", "0.15.0", 23, "other_image",
                                   "distroless", "success", "", [], 0, 0, 19, False),
    "gateway/envoy:1.28.0": ("gateway/envoy", "1.28.0", 162, "other_image", "ubuntu 22.04",
                             "success", "", ["CVE-2023-44487", "CVE-2024-45491"], 1, 0, 93, True),
    "batch/archiver:1.1.0": ("batch/archiver", "1.1.0", 88, "other_image", "debian 11",
                             "success", "", ["CVE-2022-37434", "CVE-2023-29491"], 0, 0, 66,
                             False),
    "api/graphql:0.22.1": ("api/graphql", "0.22.1", 143, "other_image", "debian 12", "success",
                           "", ["CVE-2024-28182", "CVE-2023-50495"], 0, 0, 301, False),
}

_PAUSE = "registry.k8s.io/pause:3.9"

# The 20 built-in hosts and the images each one holds.
_HOST_IMAGES = [
    ["nginx:1.25", "redis:7.2", "shop/cart:2.3.1", _PAUSE],
    ["nginx:1.25", "python:3.11-slim", "shop/catalog:1.8.0"],
    ["nginx:1.25", "redis:7.2", "postgres:16", "billing/api:1.4.0", "alpine:3.19"],
    ["python:3.11-slim", "busybox:1.36", "inventory/worker:0.9.2"],
    ["nginx:1.25", "node:20-alpine", "web/frontend:5.2.0", _PAUSE],
    ["redis:7.2", "postgres:16", "auth/keycloak:22.0.5"],
    ["python:3.11-slim", "ml/trainer:2024.1", "alpine:3.19"],
    ["nginx:1.25", "redis:7.2", "search/indexer:3.1.4", "busybox:1.36"],
    ["postgres:16", "python:3.11-slim", "reports/etl:2.0.1", _PAUSE],
    ["nginx:1.25", "node:20-alpine", "web/admin:1.12.3"],
    ["redis:7.2", "alpine:3.19", "queue/consumer:4.0.0"],
    ["analytics/spark-job:3.5.0", "python:3.11-slim", "busybox:1.36"],
    ["nginx:1.25", "postgres:16", "payments/gateway:3.3.0", _PAUSE, "alpine:3.19"],
    ["node:20-alpine", "redis:7.2", "notify/mailer:1.0.7"],
    ["legacy/reporting:0.9", "nginx:1.25", "busybox:1.36"],
    ["python:3.11-slim", "nginx:1.25", "media/thumbnailer:2.4.1"],
    ["redis:7.2", _PAUSE, "monitoring/exporter:0.15.0"],
    ["nginx:1.25", "alpine:3.19", "gateway/envoy:1.28.0"],
    ["nginx:1.25", "redis:7.2", "batch/archiver:1.1.0"],
    ["postgres:16", "python:3.11-slim", "node:20-alpine", "api/graphql:0.22.1"],
]
_OFFLINE_HOSTS = {"node-19"}
_CLUSTER_HOSTS = {"node-%02d" % i for i in range(1, 9)}
_CLUSTER = {"cluster_id": "cls-7f3k9a2b", "cluster_name": "prod-k8s"}

# (record id, registry_type, registry name, namespace, name, version, size MB, outcome,
#  failure reason, vulnerabilities, latest_version)
_REGISTRY_IMAGES = [
    (1001, "SwrPrivate", "swr-cn-north-4", "shop", "cart", "2.3.1", 312, "success", "",
     ["CVE-2021-44228", "CVE-2022-42889", "CVE-2023-4911", "CVE-2011-3374"], True),
    (1002, "SwrPrivate", "swr-cn-north-4", "shop", "catalog", "1.8.0", 298, "success", "",
     ["CVE-2022-42889", "CVE-2024-0727"], True),
    (1003, "SwrPrivate", "swr-cn-north-4", "billing", "api", "1.3.9", 40, "success", "",
     ["CVE-2023-39325", "CVE-2023-45288", "CVE-2023-45853"], False),
    (1004, "SwrShared", "swr-cn-north-4", "platform", "base-python", "3.11", 131, "success", "",
     ["CVE-2023-5363", "CVE-2023-32681", "CVE-2017-18018"], True),
    (1005, "SwrShared", "swr-cn-north-4", "platform", "base-node", "20", 134, "success", "", [],
     True),
    (1006, "SwrEnterprise", "swr-ee-prod", "payments", "gateway", "3.3.0", 264, "success", "",
     ["CVE-2023-38545", "CVE-2024-6387"], True),
    (1007, "SwrEnterprise", "swr-ee-prod", "payments", "ledger", "2.1.0", 189, "success", "",
     ["CVE-2024-0727", "CVE-2022-0563"], True),
    (1008, "Harbor", "harbor-dc1", "library", "nginx", "1.25", 187, "success", "",
     ["CVE-2023-45853", "CVE-2023-44487", "CVE-2024-2961", "CVE-2023-52425", "CVE-2011-3374"],
     True),
    (1009, "Harbor", "harbor-dc1", "library", "redis", "7.2", 138, "success", "",
     ["CVE-2023-45853", "CVE-2023-31484", "CVE-2022-27943"], True),
    (1010, "Harbor", "harbor-dc1", "team-a", "legacy-api", "0.3.1", 512, "download_failed",
     "download_failed", [], True),
    (1011, "Jfrog", "jfrog-artifactory", "docker-local", "ml-base", "12.2-cudnn", 21504,
     "image_oversized", "image_over_sized", [], True),
    (1012, "Jfrog", "jfrog-artifactory", "docker-local", "tools", "1.0.0", 35, "success", "", [],
     True),
]

_REGISTRIES = {
    "swr-cn-north-4": {"domain": "swr.cn-north-4.myhuaweicloud.com"},
    "swr-ee-prod": {"domain": "swr-ee-prod.swr.cn-north-4.myhuaweicloud.com",
                    "instance_id": "b3f4a8c2-5d1e-4c7a-9e0f-1a2b3c4d5e6f",
                    "instance_name": "swr-ee-prod",
                    "instance_url": "https://swr-ee-prod.swr.cn-north-4.myhuaweicloud.com"},
    "harbor-dc1": {"domain": "harbor.dc1.example.com"},
    "jfrog-artifactory": {"domain": "artifactory.example.com"},
}


def _local_image_record(key, spec, index):
    (name, version, size_mb, local_type, os_name, outcome, reason, vulns, unsafe, malicious,
     components, recommended) = spec
    return {
        "key": key,
        "name": name,
        "version": version,
        "hss_image_id": _uuid("hss-local-image", key),
        "tcss_image_id": "sha256:" + _hex(64, "image-config", key),
        "digest": "sha256:" + _hex(64, "image-manifest", key),
        "size": size_mb * 1024 * 1024 + int(_hex(4, "size", key), 16),
        "local_image_type": local_type,
        "os_name": os_name,
        "outcome": outcome,
        "failure_reason": reason,
        "vulnerabilities": list(vulns),
        "unsafe_setting_num": unsafe,
        "malicious_file_num": malicious,
        "component_num": components,
        "recommended": recommended,
        "update_time": _BASE_UPDATE_MS + index * 86400000 + int(_hex(6, "t", key), 16) % 86400000,
    }


def _host_record(number, width, images, offline=False, cluster=None):
    name = "node-%0*d" % (width, number)
    ip = "10.20.%d.%d" % ((number - 1) // 250, (number - 1) % 250 + 1)
    host = {
        "name": name,
        "ip": ip,
        "os_type": "Linux",
        "os_name": "Ubuntu 22.04" if number % 3 else "EulerOS 2.0",
        "hss": {
            "host_id": _uuid("hss-host", name),
            "agent_id": _hex(64, "hss-agent", name),
            "agent_status": "offline" if offline else "online",
        },
        "tcss": {
            "host_id": _hex(32, "tcss-host", name),
            "uuid": _uuid("tcss-uuid", name),
            "instance_id": "ins-" + _hex(8, "tcss-instance", name),
            "status": "OFFLINE" if offline else "ONLINE",
        },
        "images": list(images),
        "containers": {key: int(_hex(2, "containers", name, key), 16) % 4 for key in images},
    }
    if cluster:
        host["tcss"].update(cluster)
    return host


def _registry_record(spec, index):
    (rid, rtype, rname, namespace, name, version, size_mb, outcome, reason, vulns, latest) = spec
    registry = _REGISTRIES[rname]
    record = {
        "id": rid,
        "registry_type": rtype,
        "registry_id": "reg-" + _hex(12, "registry", rname),
        "registry_name": rname,
        "domain_name": registry["domain"],
        "namespace": namespace,
        "name": name,
        "version": version,
        "image_id": _uuid("hss-registry-image", rid),
        "digest": "sha256:" + _hex(64, "registry-manifest", rid),
        "size": size_mb * 1024 * 1024 + int(_hex(4, "size", rid), 16),
        "outcome": outcome,
        "failure_reason": reason,
        "vulnerabilities": list(vulns),
        "latest_version": latest,
        "unsafe_setting_num": 1 if len(vulns) > 3 else 0,
        "malicious_file_num": 0,
        "update_time": _BASE_UPDATE_MS + index * 43200000,
    }
    if rtype == "SwrShared":
        record["shared_status"] = "effective" if index % 2 else "expired"
    if rtype == "SwrEnterprise":
        record["instance_id"] = registry["instance_id"]
        record["instance_name"] = registry["instance_name"]
        record["instance_url"] = registry["instance_url"]
    return record


def builtin():
    """The built-in dataset: 20 hosts, 28 local images, 12 registry images."""
    keys = list(_LOCAL_IMAGES)
    images = [_local_image_record(key, _LOCAL_IMAGES[key], i) for i, key in enumerate(keys)]
    hosts = []
    for number, host_images in enumerate(_HOST_IMAGES, start=1):
        name = "node-%02d" % number
        hosts.append(_host_record(number, 2, host_images, offline=name in _OFFLINE_HOSTS,
                                  cluster=_CLUSTER if name in _CLUSTER_HOSTS else None))
    registry = [_registry_record(spec, i) for i, spec in enumerate(_REGISTRY_IMAGES)]
    return {
        "version": FORMAT_VERSION,
        "description": "built-in dataset",
        "vulnerabilities": _vulnerability_catalogue(),
        "hosts": hosts,
        "local_images": images,
        "registry_images": registry,
    }


# ---------------------------------------------------------------------------------------------
# Large synthetic datasets
# ---------------------------------------------------------------------------------------------

_SHARED_BASES = [
    ("nginx", ["1.24", "1.25", "1.26"]), ("redis", ["6.2", "7.0", "7.2"]),
    ("postgres", ["14", "15", "16"]), ("python", ["3.10-slim", "3.11-slim", "3.12-slim"]),
    ("node", ["18-alpine", "20-alpine"]), ("busybox", ["1.36"]), ("alpine", ["3.18", "3.19"]),
    ("registry.k8s.io/pause", ["3.9"]), ("mysql", ["8.0"]), ("httpd", ["2.4"]),
]


def generate(host_count, images_per_host, offline_every=20):
    """A large deterministic dataset: ``host_count`` hosts with ``images_per_host`` images each.

    About a third of each host's images come from a pool of shared base images, the rest are
    images unique to the host. About 1 image in 100 ends ``image_oversized`` and 1 in 200
    ``failed``; every ``offline_every``-th host has its agents offline.
    """
    if host_count < 1 or images_per_host < 1:
        raise DatasetError("--generate-hosts and --images-per-host must be at least 1")
    rng = random.Random(20240601)
    vuln_ids = [v[0] for v in _VULNS]
    width = max(2, len(str(host_count)))
    records = {}

    def add_image(key, name, version):
        if key in records:
            return
        index = len(records)
        draw = rng.random()
        outcome = "success"
        if draw < 0.01:
            outcome = "image_oversized"
        elif draw < 0.015:
            outcome = "failed"
        vulns = [] if rng.random() < 0.2 else sorted(rng.sample(vuln_ids, rng.randint(1, 8)))
        spec = (name, version, rng.randint(5, 900) if outcome != "image_oversized" else 20480,
                "other_image", "debian 12", outcome,
                "image_not_exist_or_docker_api_fault" if outcome == "failed" else "",
                [] if outcome != "success" else vulns, rng.randint(0, 2), 0,
                rng.randint(10, 400), rng.random() < 0.1)
        records[key] = _local_image_record(key, spec, index % 365)

    shared_keys = []
    for name, versions in _SHARED_BASES:
        for version in versions:
            key = "%s:%s" % (name, version)
            shared_keys.append(key)
            add_image(key, name, version)
    shared_per_host = min(len(shared_keys), max(1, images_per_host // 3))
    hosts = []
    for number in range(1, host_count + 1):
        chosen = rng.sample(shared_keys, shared_per_host)
        for j in range(images_per_host - shared_per_host):
            name = "app-%0*d/service-%d" % (width, number, j + 1)
            version = "1.%d.%d" % (rng.randint(0, 9), rng.randint(0, 20))
            key = "%s:%s" % (name, version)
            add_image(key, name, version)
            chosen.append(key)
        hosts.append(_host_record(number, width, chosen, offline=number % offline_every == 0))
    registry = [_registry_record(spec, i) for i, spec in enumerate(_REGISTRY_IMAGES)]
    return {
        "version": FORMAT_VERSION,
        "description": "generated: %d hosts x %d images" % (host_count, images_per_host),
        "vulnerabilities": _vulnerability_catalogue(),
        "hosts": hosts,
        "local_images": list(records.values()),
        "registry_images": registry,
    }


# ---------------------------------------------------------------------------------------------
# Loading and checking
# ---------------------------------------------------------------------------------------------


def _require(cond, message):
    if not cond:
        raise DatasetError(message)


def _fill_local_image(image, where):
    _require(isinstance(image, dict), "%s: must be an object" % where)
    for field in ("key", "name", "version"):
        _require(isinstance(image.get(field), str) and image[field],
                 "%s.%s: a non-empty string is required" % (where, field))
    key = image["key"]
    image.setdefault("hss_image_id", _uuid("hss-local-image", key))
    image.setdefault("tcss_image_id", "sha256:" + _hex(64, "image-config", key))
    image.setdefault("digest", "sha256:" + _hex(64, "image-manifest", key))
    image.setdefault("size", 100 * 1024 * 1024)
    image.setdefault("local_image_type", "other_image")
    image.setdefault("os_name", "")
    image.setdefault("outcome", "success")
    image.setdefault("failure_reason", "")
    image.setdefault("vulnerabilities", [])
    image.setdefault("unsafe_setting_num", 0)
    image.setdefault("malicious_file_num", 0)
    image.setdefault("component_num", 0)
    image.setdefault("recommended", False)
    image.setdefault("update_time", _BASE_UPDATE_MS)
    _require(image["outcome"] in OUTCOMES, "%s.outcome: one of %s" % (where, ", ".join(OUTCOMES)))
    _require(image["local_image_type"] in ("swr_image", "other_image"),
             "%s.local_image_type: swr_image or other_image" % where)


def _fill_registry_image(image, where):
    _require(isinstance(image, dict), "%s: must be an object" % where)
    _require(isinstance(image.get("id"), int) and not isinstance(image.get("id"), bool),
             "%s.id: an integer is required" % where)
    _require(image.get("registry_type") in REGISTRY_TYPES,
             "%s.registry_type: one of %s" % (where, ", ".join(REGISTRY_TYPES)))
    for field in ("registry_name", "namespace", "name", "version"):
        _require(isinstance(image.get(field), str) and image[field],
                 "%s.%s: a non-empty string is required" % (where, field))
    rid = image["id"]
    image.setdefault("registry_id", "reg-" + _hex(12, "registry", image["registry_name"]))
    image.setdefault("domain_name", "")
    image.setdefault("image_id", _uuid("hss-registry-image", rid))
    image.setdefault("digest", "sha256:" + _hex(64, "registry-manifest", rid))
    image.setdefault("size", 100 * 1024 * 1024)
    image.setdefault("outcome", "success")
    image.setdefault("failure_reason", "")
    image.setdefault("vulnerabilities", [])
    image.setdefault("latest_version", True)
    image.setdefault("unsafe_setting_num", 0)
    image.setdefault("malicious_file_num", 0)
    image.setdefault("update_time", _BASE_UPDATE_MS)
    _require(image["outcome"] in OUTCOMES, "%s.outcome: one of %s" % (where, ", ".join(OUTCOMES)))


def _fill_host(host, where, image_keys):
    _require(isinstance(host, dict), "%s: must be an object" % where)
    for field in ("name", "ip"):
        _require(isinstance(host.get(field), str) and host[field],
                 "%s.%s: a non-empty string is required" % (where, field))
    name = host["name"]
    host.setdefault("os_type", "Linux")
    host.setdefault("os_name", "")
    host.setdefault("images", [])
    host.setdefault("containers", {})
    for key in host["images"]:
        _require(key in image_keys, "%s.images: unknown local image %r" % (where, key))
    if "hss" in host:
        hss = host["hss"]
        _require(isinstance(hss, dict), "%s.hss: must be an object" % where)
        hss.setdefault("host_id", _uuid("hss-host", name))
        hss.setdefault("agent_id", _hex(64, "hss-agent", name))
        hss.setdefault("agent_status", "online")
        _require(hss["agent_status"] in HSS_AGENT_STATUSES,
                 "%s.hss.agent_status: one of %s" % (where, ", ".join(HSS_AGENT_STATUSES)))
    if "tcss" in host:
        tcss = host["tcss"]
        _require(isinstance(tcss, dict), "%s.tcss: must be an object" % where)
        tcss.setdefault("host_id", _hex(32, "tcss-host", name))
        tcss.setdefault("uuid", _uuid("tcss-uuid", name))
        tcss.setdefault("instance_id", "ins-" + _hex(8, "tcss-instance", name))
        tcss.setdefault("status", "ONLINE")
        _require(tcss["status"] in TCSS_AGENT_STATUSES,
                 "%s.tcss.status: one of %s" % (where, ", ".join(TCSS_AGENT_STATUSES)))


def check(data):
    """Check a dataset and fill in defaults. Returns the same (modified) dict."""
    _require(isinstance(data, dict), "the dataset must be a JSON object")
    _require(data.get("version", FORMAT_VERSION) == FORMAT_VERSION,
             "unsupported dataset version %r" % data.get("version"))
    data.setdefault("vulnerabilities", {})
    data.setdefault("hosts", [])
    data.setdefault("local_images", [])
    data.setdefault("registry_images", [])
    vulns = data["vulnerabilities"]
    _require(isinstance(vulns, dict), "vulnerabilities: must be an object keyed by id")
    for vid, vuln in vulns.items():
        _require(isinstance(vuln, dict), "vulnerabilities.%s: must be an object" % vid)
        _require(vuln.get("severity") in SEVERITIES,
                 "vulnerabilities.%s.severity: one of %s" % (vid, ", ".join(SEVERITIES)))
        vuln.setdefault("package", "")
        vuln.setdefault("version", "")
        vuln.setdefault("fixed_version", "")
        vuln.setdefault("type", "linux_vul")
        vuln.setdefault("cvss", 0.0)
        vuln.setdefault("description", "")
        vuln.setdefault("url", "")
    keys = set()
    for i, image in enumerate(data["local_images"]):
        _fill_local_image(image, "local_images[%d]" % i)
        _require(image["key"] not in keys, "local_images[%d].key: duplicate" % i)
        keys.add(image["key"])
    ids = set()
    for i, image in enumerate(data["registry_images"]):
        _fill_registry_image(image, "registry_images[%d]" % i)
        _require(image["id"] not in ids, "registry_images[%d].id: duplicate" % i)
        ids.add(image["id"])
    for i, image in enumerate(data["local_images"] + data["registry_images"]):
        for vid in image["vulnerabilities"]:
            _require(vid in vulns, "image %s: unknown vulnerability %s"
                     % (image.get("key", image.get("id")), vid))
    names = set()
    for i, host in enumerate(data["hosts"]):
        _fill_host(host, "hosts[%d]" % i, keys)
        _require(host["name"] not in names, "hosts[%d].name: duplicate" % i)
        names.add(host["name"])
    return data


def load(path):
    """Load and check a dataset file."""
    try:
        with open(path, "r", encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError) as exc:
        raise DatasetError("cannot read dataset %s: %s" % (path, exc)) from exc
    return check(data)
