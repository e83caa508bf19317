# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Merge the report documents of the slices of one job (each slice a separate run of the role on
part of the inventory) into the report the whole job would have written."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudsec.image_scan.plugins.filter import image_scan_report as _report

#: How the hosts of the slices are put in order.
ORDERS = ("interleave", "name", "given")

_text = _report._text


_key = _report.exception_key
_sort_key = _report.exception_order


def _merge_exceptions(reports):
    merged = {}
    for report in reports:
        for entry in report.get("exceptions") or []:
            known = merged.get(_key(entry))
            if known is None:
                merged[_key(entry)] = dict(entry, matched=_report._int(entry.get("matched")))
            else:
                known["matched"] += _report._int(entry.get("matched"))
                known["expired"] = bool(known.get("expired") or entry.get("expired"))
    return sorted(merged.values(), key=_sort_key)


def _merge_expired(reports):
    merged = {}
    for report in reports:
        for entry in report.get("expired_exceptions") or []:
            merged.setdefault(_key(entry), dict(entry))
    return sorted(merged.values(), key=_sort_key)


def _merge_baseline(reports):
    baselines = [r["baseline"] for r in reports if isinstance(r.get("baseline"), dict)]
    if not baselines:
        return None
    sources = set(_text(b.get("source")) for b in baselines)
    if len(sources) > 1:
        raise AnsibleFilterError("image_scan_merge: the slices were compared with different baselines: %s"
                                 % ", ".join(sorted(sources)))
    merged = dict(baselines[0])
    counts = [_report._int(b.get("hosts")) for b in baselines if b.get("hosts") is not None]
    if counts:
        # Each slice reads the whole baseline file, but only its own hosts' cached facts.
        merged["hosts"] = sum(counts) if merged.get("source") == "fact_cache" else max(counts)
    return merged


def _order_hosts(reports, order):
    lists = [list(r.get("hosts") or []) for r in reports]
    if order == "given":
        hosts = [h for hosts in lists for h in hosts]
    elif order == "name":
        hosts = sorted((h for hosts in lists for h in hosts), key=lambda h: _text(h.get("name")))
    else:
        # AWX gives slice k of n the hosts k-1, k-1+n, ... of the inventory: taking one host of each
        # slice in turn puts them back in the inventory's order.
        hosts = []
        longest = max([len(hosts) for hosts in lists] + [0])
        for position in range(longest):
            hosts.extend(hosts_of[position] for hosts_of in lists if position < len(hosts_of))
    seen = {}
    for number, report in enumerate(reports):
        for host in report.get("hosts") or []:
            name = _text(host.get("name"))
            if name in seen:
                raise AnsibleFilterError("image_scan_merge: host %s is in report %d and report %d: slices of one job "
                                         "have no host in common" % (name, seen[name] + 1, number + 1))
            seen[name] = number
    return hosts


def image_scan_merge(reports, order="interleave"):
    """One report of the reports of a job's slices, as the job would have made it unsliced."""
    if isinstance(reports, dict):
        reports = [reports]
    if not isinstance(reports, (list, tuple)) or not reports:
        raise AnsibleFilterError("image_scan_merge expects a non-empty list of reports of "
                                 "cloudsec.image_scan.image_scan_report (the slices' report.json)")
    if order not in ORDERS:
        raise AnsibleFilterError("image_scan_merge: order must be one of %s, got %r" % (", ".join(ORDERS), order))
    for report in reports:
        _report.check_report(report, "image_scan_merge")
    versions = set(r.get("format_version") for r in reports)
    if versions != {_report.FORMAT_VERSION}:
        raise AnsibleFilterError("image_scan_merge: this collection reads reports of format_version %d, got %s"
                                 % (_report.FORMAT_VERSION, ", ".join(sorted(_text(v) for v in versions))))
    providers = sorted(set(_text(r.get("provider")) for r in reports))
    if len(providers) > 1:
        raise AnsibleFilterError("image_scan_merge: the reports are of different providers (%s): merge the slices "
                                 "of one job" % ", ".join(providers))
    # A slice without hosts knows only the settings the role gave the report.
    gates = [r.get("gate") or {} for r in reports if r.get("hosts")] or [reports[0].get("gate") or {}]
    if any(gate != gates[0] for gate in gates):
        raise AnsibleFilterError("image_scan_merge: the reports were gated with different settings: merge the "
                                 "slices of one job")
    hosts = [dict(h) for h in _order_hosts(reports, order)]
    generated = [r.get("generated_at") for r in reports if r.get("generated_at")]
    return _report.assemble_report(
        reports[0].get("provider"), max(generated) if generated else None, dict(gates[0]), hosts,
        exceptions=_merge_exceptions(reports), baseline=_merge_baseline(reports),
        expired_exceptions=_merge_expired(reports))


class FilterModule(object):
    def filters(self):
        return {
            "image_scan_merge": image_scan_merge,
        }
