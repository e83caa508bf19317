"""The strict emulator: its allowed sets are the SDK models', and it refuses everything else.

The table the emulator reads (``tests/emulator/sdk_table.json``) is rebuilt here from the
installed SDK model classes; the emulator's own enumerations are compared with it; then every
API is probed with unknown, missing and out-of-enum parameters derived from the table.
"""

import json
import os
import sys

import pytest

import sdk_table
from emulator_support import HSS_PROJECT, REPO

sys.path.insert(0, os.path.join(REPO, "tests", "emulator"))
import hss as emu_hss  # noqa: E402  pylint: disable=wrong-import-position
import strict as emu_strict  # noqa: E402  pylint: disable=wrong-import-position
import tcss as emu_tcss  # noqa: E402  pylint: disable=wrong-import-position

TABLE = sdk_table.build()
HSS_APIS = TABLE["hss"]["apis"]
HSS_MODELS = TABLE["hss"]["models"]
TC_ACTIONS = TABLE["tcss"]["actions"]
SERVED_HSS = [name for _method, _template, name, _handler in emu_hss._ROUTES]  # pylint: disable=protected-access
SERVED_TCSS = sorted(emu_tcss.TcssApi.ACTIONS)


def test_committed_table_is_what_the_sdks_define():
    with open(sdk_table.TABLE, encoding="utf-8") as handle:
        committed = handle.read()
    assert committed == sdk_table.dumps(TABLE), (
        "tests/emulator/sdk_table.json differs from the installed SDK models: run "
        ".venv/bin/python tests/conformance/sdk_table.py --write and review the diff")


def test_every_served_api_is_in_the_table():
    assert set(SERVED_HSS) <= set(HSS_APIS)
    assert set(SERVED_TCSS) <= set(TC_ACTIONS)
    for name in SERVED_HSS:
        method, template = next((m, t) for m, t, n, _h in emu_hss._ROUTES if n == name)  # pylint: disable=protected-access
        assert (HSS_APIS[name]["method"], HSS_APIS[name]["path"]) == (
            method, "/v5/{project_id}/" + template)


def _enum(api, name):
    return HSS_APIS[api]["query"][name]["enum"]


def test_emulator_enumerations_are_the_sdk_ones():
    models = HSS_MODELS
    assert list(emu_hss.GLOBAL_IMAGE_TYPES) == _enum("ListImageScanTask", "global_image_type")
    assert list(emu_hss.GLOBAL_IMAGE_TYPES) == _enum("CreateManualImageScanTask",
                                                     "global_image_type")
    assert list(emu_hss.REGISTRY_IMAGE_TYPES) == _enum("ListRegistryImages", "image_type")
    assert list(emu_hss.SWR_IMAGE_TYPES) == _enum("ListSwrImageRepository", "image_type")
    assert set(emu_hss.LOCAL_IMAGE_TYPES) == set(_enum("ListImageLocal", "local_image_type"))
    assert list(emu_hss.LIST_SCAN_STATUSES) == _enum("ListRegistryImages", "scan_status")
    assert set(emu_hss.LIST_SCAN_STATUSES) == set(_enum("ListImageLocal", "scan_status"))
    assert list(emu_hss.TRIGGER_SCAN_STATUSES) == \
        models["LocalImageBatchScanRequestBody"]["scan_status"]["enum"]
    assert list(emu_hss.TRIGGER_SCAN_STATUSES) == \
        models["CreateManualImageScanTaskReqInfoQueryInfo"]["scan_status"]["enum"]
    assert list(emu_hss.REGISTRY_TYPE_NAMES) == \
        models["CreateManualImageScanTaskReqInfoImageInfo"]["registry_type"]["enum"]
    assert list(emu_hss.SEVERITY_LEVELS) == _enum("ListRegistryImages", "severity_level")
    assert set(emu_hss.VUL_IMAGE_TYPES) == set(_enum("ListImageVulnerabilities", "image_type"))


def test_allowances_are_the_single_known_exception():
    # None is left: every request the collection sends is one the SDK models define.
    assert set(emu_strict.ALLOWANCES) == set()
    for cloud, api, field, value in emu_strict.ALLOWANCES:
        assert cloud == "hss"
        assert value not in HSS_APIS[api]["query"][field]["enum"], \
            "%s %s=%s is in the SDK enum now: drop the allowance" % (api, field, value)


# ---------------------------------------------------------------------------------------------
# Probing every API with requests derived from the table
# ---------------------------------------------------------------------------------------------

_PATH_VALUES = {"image_id": "no-such-image", "task_id": "no-such-task"}


def _sample(field):
    if field.get("enum"):
        return field["enum"][0]
    return {"int": "10", "bool": "true"}.get(field["type"], "x")


def _minimal(api):
    """Path, query and headers holding exactly the required parameters of ``api``."""
    entry = HSS_APIS[api]
    path = entry["path"].replace("{project_id}", HSS_PROJECT)
    for name in entry["path_params"]:
        path = path.replace("{%s}" % name, _PATH_VALUES[name])
    query = {k: _sample(f) for k, f in entry["query"].items() if f["required"]}
    headers = {k: "cn-north-4" for k, f in entry["header"].items() if f["required"]}
    return entry["method"], path, query, headers


def _invalid_naming(response, name):
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error_code"] == "HSS.0001", body
    assert name in body["error_msg"], body["error_msg"]


@pytest.mark.parametrize("api", SERVED_HSS)
def test_hss_unknown_query_parameter_is_refused(emu, api):
    method, path, query, headers = _minimal(api)
    body = {} if method == "POST" else None
    _invalid_naming(emu.hss_raw(method, path, dict(query, colour="blue"), body,
                                extra_headers=headers), "colour")


REQUIRED = [(api, place, name) for api in SERVED_HSS
            for place in ("query", "header") for name, field in HSS_APIS[api][place].items()
            if field["required"]]


def test_required_parameters_are_the_recorded_ones():
    # The Go SDK's required fields (json tags without omitempty); the table reads them from the
    # Python SDK models, generated from the same API definition.
    assert {(api, name) for api, _place, name in REQUIRED} == {
        ("ListImageScanTask", "type"), ("BatchScanLocalImage", "region"),
        ("ListSwrImageRepository", "image_type"), ("ListImageVulnerabilities", "image_type"),
        ("ListImageVulnerabilities", "namespace"), ("ListImageVulnerabilities", "image_name"),
        ("ListImageVulnerabilities", "tag_name"),
        ("ListVulAffectImages", "is_handled"), ("ListVulAffectImages", "vul_id"),
        ("ListVulAffectImages", "type"), ("ListVulAffectImages", "image_type"),
        ("ListGeneralImageVuls", "type"), ("ListGeneralImageVuls", "handle_status"),
        ("ListGeneralImageVuls", "image_type"),
        ("ListVulAffectImageApps", "is_handled"), ("ListVulAffectImageApps", "image_type"),
        ("ListVulAffectImageApps", "vul_id")}


@pytest.mark.parametrize("api,place,name", REQUIRED)
def test_hss_required_parameter_is_required(emu, api, place, name):
    method, path, query, headers = _minimal(api)
    (query if place == "query" else headers).pop(name)
    body = {"operate_all": True} if method == "POST" else None
    _invalid_naming(emu.hss_raw(method, path, query, body, extra_headers=headers), name)


ENUMS = [(api, name, value) for api in SERVED_HSS
         for name, field in HSS_APIS[api]["query"].items() if field.get("enum")
         for value in field["enum"] + ["no-such-value"]]


@pytest.mark.parametrize("api,name,value", ENUMS)
def test_hss_query_enumerations(emu, api, name, value):
    method, path, query, headers = _minimal(api)
    query[name] = value
    body = {} if method == "POST" else None
    response = emu.hss_raw(method, path, query, body, extra_headers=headers)
    field = HSS_APIS[api]["query"][name]
    refused = response.status_code == 400 and name in response.json()["error_msg"] and \
        "must be one of" in response.json()["error_msg"]
    if value in field["enum"]:
        assert not refused, response.text
    elif field.get("out_of_range") == "empty":
        assert response.status_code == 200 and response.json()["total_num"] == 0
    else:
        _invalid_naming(response, name)


@pytest.mark.parametrize("path,body,field", [
    ("/image/image-scan/tasks", {"is_all": True, "query_info": {"image_type": "quay"}},
     "body.query_info.image_type"),
    ("/image/image-scan/tasks", {"image_info": [{"registry_type": "Quay"}]},
     "body.image_info[0].registry_type"),
    ("/image/image-scan/tasks", {"is_all": True, "colour": "blue"}, "body.colour"),
    ("/image/local/batch-scan", {"operate_all": True, "scan_status": "waiting_for_scan"},
     "body.scan_status"),
    ("/image/local/batch-scan", {"image_info_list": [{"image_id": "x", "host_id": "h"}]},
     "body.image_info_list[0].host_id"),
])
def test_hss_body_fields_outside_the_model_are_refused(emu, path, body, field):
    _invalid_naming(emu.hss_raw("POST", "/v5/%s%s" % (HSS_PROJECT, path), {}, body,
                                extra_headers={"region": "cn-north-4"}), field)


def test_h8_refuses_local_image_and_requires_the_namespace(emu):
    path = "/v5/%s/image/no-such-image/vulnerabilities" % HSS_PROJECT
    query = {"image_type": "local_image", "image_name": "nginx", "tag_name": "1.25", "namespace": "shop"}
    _invalid_naming(emu.hss_raw("GET", path, query), "image_type")
    query = {"image_type": "private_image", "image_name": "nginx", "tag_name": "1.25"}
    _invalid_naming(emu.hss_raw("GET", path, query), "namespace")


@pytest.mark.parametrize("action", SERVED_TCSS)
def test_tcss_unknown_parameter_is_refused(emu, action):
    response = emu.tc_raw(action, {"Colour": "blue"})
    error = response.json()["Response"]["Error"]
    assert error["Code"] == "UnknownParameter" and "Colour" in error["Message"], error


@pytest.mark.parametrize("action", [a for a in SERVED_TCSS
                                    if "Filters" in TC_ACTIONS[a]["fields"]])
def test_tcss_unknown_filter_field_is_refused(emu, action):
    params = {"Filters": [{"Name": "ImageID", "Values": ["x"], "Colour": "blue"}]}
    if TC_ACTIONS[action]["fields"].get("ImageID", {}).get("required"):
        params["ImageID"] = "x"
    error = emu.tc_raw(action, params).json()["Response"]["Error"]
    assert error["Code"] == "UnknownParameter" and "Filters.0.Colour" in error["Message"], error


def test_tcss_every_sdk_field_is_accepted_by_the_strict_check(emu):
    checker = emu_strict.Strict(json.loads(sdk_table.dumps(TABLE)))
    for action, entry in TC_ACTIONS.items():
        checker.check_tcss(action, {name: "x" for name in entry["fields"]})
