"""Input validation answers in each cloud's error shape: HSS 400 ``HSS.0001`` naming the field,
TCSS HTTP 200 ``Response.Error`` with ``InvalidParameter*`` / ``MissingParameter`` codes."""

import os
import sys
import time

import pytest
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkhss.v5 import model as m
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from emulator_support import HSS_PROJECT, REPO, TC_ID, TC_KEY, tc_call

sys.path.insert(0, os.path.join(REPO, "plugins", "module_utils"))
import _signing  # noqa: E402  pylint: disable=wrong-import-position

P = "/v5/%s" % HSS_PROJECT
# What the SDK model of ListImageVulnerabilities requires (besides the path image_id).
H8_QUERY = {"image_type": "private_image", "namespace": "n", "image_name": "i", "tag_name": "t"}
REGION = {"region": "cn-north-4"}


def _hss_invalid(response, field):
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error_code"] == "HSS.0001"
    assert field in body["error_msg"], body["error_msg"]


# ---------------------------------------------------------------------------------------------
# HSS
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path,query,field", [
    ("/image/local-repositories", {"limit": 5}, "limit"),
    ("/image/local-repositories", {"limit": 201}, "limit"),
    ("/image/local-repositories", {"limit": "ten"}, "limit"),
    ("/image/local-repositories", {"offset": -1}, "offset"),
    ("/image/local-repositories", {"has_vul": "yes"}, "has_vul"),
    ("/image/registries/images", {"limit": 0}, "limit"),
    ("/image/registries/images", {"image_type": "local_image"}, "image_type"),
    ("/image/registries/images", {"sort_dir": "up"}, "sort_dir"),
    ("/image/tasks", {"type": "image_scan", "task_status": "running"}, "task_status"),
    ("/image/tasks", {"type": "image_scan", "global_image_type": "local_image"},
     "global_image_type"),
    ("/image/tasks", {"limit": 10}, "type"),
    ("/image/swr-repository", {"limit": 10}, "image_type"),
    ("/image/abc/vulnerabilities", dict(H8_QUERY, repair_necessity="urgent"),
     "repair_necessity"),
    ("/image/abc/vulnerabilities", dict(H8_QUERY, limit=9), "limit"),
    ("/image/abc/vulnerabilities", {k: v for k, v in H8_QUERY.items() if k != "namespace"},
     "namespace"),
    ("/host-management/hosts", {"agent_status": "sleeping"}, "agent_status"),
])
def test_hss_query_validation(emu, path, query, field):
    _hss_invalid(emu.hss_raw("GET", P + path, query), field)


def test_hss_query_values_are_strings_on_the_wire(emu):
    response = emu.hss_raw("GET", P + "/image/local-repositories",
                           {"limit": "200", "has_container": "true", "host_name": "node-0"})
    assert response.status_code == 200
    assert response.json()["total_num"] == len(response.json()["data_list"]) > 0


def test_h5_out_of_range_scan_status_gives_an_empty_list(emu):
    # The API reference: "values out of range return an empty result".
    response = emu.hss_raw("GET", P + "/image/local-repositories", {"scan_status": "bogus"})
    assert response.status_code == 200 and response.json() == {"total_num": 0, "data_list": []}
    response = emu.hss_raw("GET", P + "/image/local-repositories",
                           {"scan_status": "waiting_for_scan"})
    assert response.status_code == 200


REGISTRY_IMAGE = {"id": 1001, "image_digest": "sha256:x", "namespace": "shop",
                  "image_name": "cart", "image_version": "2.3.1", "registry_id": "r",
                  "registry_name": "swr-cn-north-4", "registry_type": "SwrPrivate"}


@pytest.mark.parametrize("query,body,field", [
    ({"global_image_type": "local_image"}, {"is_all": True}, "global_image_type"),
    ({}, {"rate_limit": 1001, "is_all": True}, "rate_limit"),
    ({}, {"rate_limit": -1, "is_all": True}, "rate_limit"),
    ({}, {"rate_limit": "10", "is_all": True}, "rate_limit"),
    ({}, {"scan_scope": True, "is_all": True}, "scan_scope"),
    ({}, {"is_all": "true"}, "is_all"),
    ({}, {"is_all": True, "query_info": {"scan_status": "waiting"}}, "query_info.scan_status"),
    ({}, {"is_all": True, "query_info": {"image_type": "quay"}}, "query_info.image_type"),
    ({}, {"is_all": True, "query_info": {"has_vul": 1}}, "query_info.has_vul"),
    ({}, {"is_all": True, "query_info": "x"}, "query_info"),
    ({}, {"is_all": False}, "image_info"),
    ({}, {"image_info": [dict(REGISTRY_IMAGE, registry_type="Quay")]},
     "image_info[0].registry_type"),
    ({}, {"image_info": [{k: v for k, v in REGISTRY_IMAGE.items() if k != "namespace"}]},
     "image_info[0].namespace"),
    ({}, {"image_info": [dict(REGISTRY_IMAGE, registry_type="SwrEnterprise")]},
     "image_info[0].instance_id"),
    ({}, {"image_info": [dict(REGISTRY_IMAGE, id=999999)]}, "image_info[0].id"),
    ({}, {"image_info": [dict(REGISTRY_IMAGE, image_version="9.9")]},
     "image_info[0].image_version"),
    ({"global_image_type": "local"}, {"image_info": [REGISTRY_IMAGE]}, "image_info[0].image_id"),
])
def test_h1_body_validation(emu, query, body, field):
    _hss_invalid(emu.hss_raw("POST", P + "/image/image-scan/tasks", query, body), field)
    assert emu.stats()["tasks_created"]["hss"] == 0


@pytest.mark.parametrize("body,field", [
    ({"image_info": [REGISTRY_IMAGE], "priority": "high"}, "body.priority"),
    ({"image_info": [dict(REGISTRY_IMAGE, colour="blue")]}, "body.image_info[0].colour"),
    ({"is_all": True, "query_info": {"image_type": "private_image", "size": 1}},
     "body.query_info.size"),
])
def test_h1_unknown_fields_are_refused(emu, body, field):
    _hss_invalid(emu.hss_raw("POST", P + "/image/image-scan/tasks",
                             {"global_image_type": "registry"}, body), field)
    assert emu.stats()["tasks_created"]["hss"] == 0


def test_h1_fields_of_the_sdk_model_are_accepted(emu):
    response = emu.hss_raw("POST", P + "/image/image-scan/tasks", {"global_image_type": "registry"},
                           {"image_info": [REGISTRY_IMAGE], "rate_limit": 10})
    assert response.status_code == 200 and response.json() == {}
    assert emu.stats()["tasks_created"]["hss"] == 1


def test_h1_body_must_be_a_json_object(emu):
    path = P + "/image/image-scan/tasks"
    _hss_invalid(emu.hss_raw("POST", path, body=b'{"is_all": tru'), "not valid JSON")
    _hss_invalid(emu.hss_raw("POST", path, body=["is_all"]), "JSON object")


@pytest.mark.parametrize("body,field", [
    ({"operate_all": False}, "image_info_list"),
    ({"operate_all": True, "scan_status": "waiting"}, "scan_status"),
    ({"operate_all": True, "local_image_type": "docker_image"}, "local_image_type"),
    ({"image_info_list": [{"image_id": "no-such-image"}]}, "image_info_list[0].image_id"),
    ({"image_info_list": [{"image_name": 7}]}, "image_info_list[0].image_name"),
])
def test_h3_body_validation(emu, body, field):
    _hss_invalid(emu.hss_raw("POST", P + "/image/local/batch-scan", body=body,
                             extra_headers=REGION), field)


def test_h3_needs_the_region_header(emu):
    # Required by the SDK model (and the Go SDK), mandatory in the API reference.
    _hss_invalid(emu.hss_raw("POST", P + "/image/local/batch-scan", body={"operate_all": True}),
                 "region")
    assert emu.hss_raw("POST", P + "/image/local/batch-scan", body={"operate_all": True},
                       extra_headers=REGION).status_code == 200


def test_h4_unknown_task(emu, hss):
    with pytest.raises(ClientRequestException) as caught:
        hss.stop_image_scan_task(m.StopImageScanTaskRequest(task_id="no-such-task"))
    assert (caught.value.status_code, caught.value.error_code) == (400, "HSS.0001")
    assert "task_id" in caught.value.error_msg


def test_hss_sdk_sees_validation_errors(hss):
    with pytest.raises(ClientRequestException) as caught:
        hss.list_image_scan_task(m.ListImageScanTaskRequest(type="image_scan", limit=500))
    assert (caught.value.status_code, caught.value.error_code) == (400, "HSS.0001")
    assert "limit" in caught.value.error_msg


# ---------------------------------------------------------------------------------------------
# TCSS
# ---------------------------------------------------------------------------------------------


def _tc_code(emu, action, params):
    response = emu.tc_raw(action, params)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()["Response"]
    assert body["RequestId"]
    return body.get("Error", {}).get("Code"), body.get("Error", {}).get("Message", "")


@pytest.mark.parametrize("action,params,code,field", [
    ("DescribeAssetImageList", {"Limit": 101}, "InvalidParameterValue", "Limit"),
    ("DescribeAssetImageList", {"Limit": "10"}, "InvalidParameter", "Limit"),
    ("DescribeAssetImageList", {"Offset": -1}, "InvalidParameterValue", "Offset"),
    ("DescribeAssetImageList", {"Order": "up"}, "InvalidParameterValue", "Order"),
    ("DescribeAssetImageList", {"By": "Colour"}, "InvalidParameterValue", "By"),
    ("DescribeAssetImageList", {"Filters": [{"Name": "ScanStatus", "Values": ["SCANNED"]}]},
     "InvalidParameterValue", "ScanStatus"),
    ("DescribeAssetImageList", {"Filters": [{"Name": "Colour", "Values": ["red"]}]},
     "InvalidParameterValue", "Colour"),
    ("DescribeAssetImageList", {"Filters": [{"Name": "ImageName"}]}, "MissingParameter",
     "Values"),
    ("DescribeAssetImageList", {"Filters": {"Name": "ImageName"}}, "InvalidParameter",
     "Filters"),
    ("CreateAssetImageScanTask", {"ScanVul": True, "ScanScope": 4}, "InvalidParameterValue",
     "ScanScope"),
    ("CreateAssetImageScanTask", {"ScanVul": True, "Timeout": "1h"}, "InvalidParameter",
     "Timeout"),
    ("CreateAssetImageScanTask", {"ScanVul": "yes"}, "InvalidParameter", "ScanVul"),
    ("CreateAssetImageScanTask", {"ScanScope": 0}, "InvalidParameterValue", "ScanVul"),
    ("CreateAssetImageScanTask", {"ScanVul": True, "ScanScope": 1}, "MissingParameter",
     "Images"),
    ("CreateAssetImageScanTask", {"ScanVul": True, "Images": ["sha256:0"],
                                  "Filters": [{"Name": "ImageName", "Values": ["x"]}]},
     "InvalidParameter", "Filters"),
    ("CreateAssetImageScanTask", {"ScanVul": True, "ScanScope": 1, "Images": ["sha256:0"]},
     "ResourceNotFound", "sha256:0"),
    ("CreateAssetImageScanTask", {"ScanVul": True, "ExcludeImageIds": "sha256:0"},
     "InvalidParameter", "ExcludeImageIds"),
    ("DescribeAssetImageVulList", {"Limit": 10}, "MissingParameter", "ImageID"),
    ("DescribeAssetImageVulList", {"ImageID": "sha256:0"}, "ResourceNotFound", "sha256:0"),
    ("DescribeAssetImageScanStatus", {"TaskID": "000000000000000000000000"}, "ResourceNotFound",
     "000000000000000000000000"),
    ("ModifyAssetImageScanStop", {}, "InvalidParameter", "TaskID"),
    ("ModifyAssetImageScanStop", {"TaskID": "x", "Images": ["y"]}, "InvalidParameter", "TaskID"),
    ("ModifyAssetImageScanStop", {"TaskID": "000000000000000000000000"}, "ResourceNotFound",
     "000000000000000000000000"),
    ("ModifyAssetImageScanStop", {"Images": ["sha256:0"], "ExcludeImageIds": ["a"]},
     "InvalidParameter", "ExcludeImageIds"),
    ("DescribeAssetHostList", {"Filters": [{"Name": "Status", "Values": ["ASLEEP"]}]},
     "InvalidParameterValue", "Status"),
    ("DescribeAssetImageHostList", {"Filters": [{"Name": "HostName", "Values": ["n"]}]},
     "InvalidParameterValue", "HostName"),
])
def test_tcss_validation(emu, action, params, code, field):
    got, message = _tc_code(emu, action, params)
    assert got == code, message
    assert field in message
    assert emu.stats()["rejected"]["tcss.%s" % action] == {code: 1}


def test_t6_level_filter_and_order(emu):
    image_id = emu.dataset()["tcss"]["images"][0]["ImageID"]
    assert _tc_code(emu, "DescribeAssetImageVulList", {
        "ImageID": image_id, "Filters": [{"Name": "Level", "Values": ["5"]}]})[0] == \
        "InvalidParameterValue"
    assert _tc_code(emu, "DescribeAssetImageVulList",
                    {"ImageID": image_id, "By": "Level", "Order": "asc"})[0] == \
        "InvalidParameterValue"


@pytest.mark.parametrize("action,params,field", [
    ("DescribeAssetImageList", {"Limit": 5, "Colour": "blue"}, "Colour"),
    ("DescribeAssetImageList", {"Filters": [{"Name": "ImageName", "Values": ["x"], "Op": "eq"}]},
     "Filters.0.Op"),
    ("DescribeAssetImageHostList", {"Limit": 20}, "Limit"),
    ("DescribeAssetImageHostList", {"Offset": 0}, "Offset"),
])
def test_tcss_unknown_fields_are_refused(emu, action, params, field):
    code, message = _tc_code(emu, action, params)
    assert code == "UnknownParameter", message
    assert field in message


def test_tcss_invalid_json_body(emu):
    body = b'{"Limit": 10'
    stamp = int(time.time())
    headers = {"Content-Type": "application/json", "Host": emu.netloc,
               "X-TC-Action": "DescribeAssetImageList", "X-TC-Version": "2020-11-01",
               "X-TC-Timestamp": str(stamp),
               "Authorization": _signing.tc3_sign(TC_ID, TC_KEY, "tcss", emu.netloc,
                                                  "application/json", body, stamp)}
    response = emu.session.post(emu.url + "/", data=body, headers=headers)
    assert response.json()["Response"]["Error"]["Code"] == "InvalidParameter"


def test_tcss_sdk_sees_validation_errors(tcss):
    with pytest.raises(TencentCloudSDKException) as caught:
        tc_call(tcss, "DescribeAssetImageList", {"Limit": 500})
    assert caught.value.get_code() == "InvalidParameterValue"


def test_deprecated_all_is_counted(emu, tcss):
    image_id = emu.dataset()["tcss"]["images"][0]["ImageID"]
    task = tc_call(tcss, "CreateAssetImageScanTask",
                   {"ScanVul": True, "Images": [image_id], "ScanScope": 1})
    tc_call(tcss, "ModifyAssetImageScanStop", {"TaskID": task.TaskID})
    assert emu.stats()["counters"]["tcss.deprecated_all"] == 0
    task = tc_call(tcss, "CreateAssetImageScanTask", {"All": True, "ScanVul": True})
    status = tc_call(tcss, "DescribeAssetImageScanStatus", {"TaskID": task.TaskID})
    assert status.ImageTotal == 28
    assert emu.stats()["counters"]["tcss.deprecated_all"] == 1
