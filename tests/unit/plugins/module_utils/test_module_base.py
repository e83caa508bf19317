# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Argument specs, environment fallbacks, the credential check and the module base classes;
and the doc fragments, which must document exactly what the specs accept."""

from __future__ import annotations

import gc
import json
import weakref

import pytest
import yaml
from ansible.module_utils.testing import patch_module_args

from ansible_collections.cloudsec.image_scan.plugins.doc_fragments import attributes as attributes_fragment
from ansible_collections.cloudsec.image_scan.plugins.doc_fragments import connection as connection_fragment
from ansible_collections.cloudsec.image_scan.plugins.doc_fragments import hss as hss_fragment
from ansible_collections.cloudsec.image_scan.plugins.doc_fragments import tcss as tcss_fragment
from ansible_collections.cloudsec.image_scan.plugins.doc_fragments import wait as wait_fragment
from ansible_collections.cloudsec.image_scan.plugins.module_utils import _hss_module, _module, _tcss_module
from ansible_collections.cloudsec.image_scan.plugins.module_utils._hss_client import HssClient
from ansible_collections.cloudsec.image_scan.plugins.module_utils._http import ApiError, HttpTransport
from ansible_collections.cloudsec.image_scan.plugins.module_utils._ops import ModuleError
from ansible_collections.cloudsec.image_scan.plugins.module_utils._tcss_client import TcssClient

ENV_NAMES = [
    "HUAWEICLOUD_SDK_AK", "CLOUD_SDK_AK", "HUAWEICLOUD_SDK_SK", "CLOUD_SDK_SK", "HUAWEICLOUD_SDK_SECURITY_TOKEN",
    "HUAWEICLOUD_SDK_AUTH_TOKEN", "HUAWEICLOUD_SDK_PROJECT_ID", "HUAWEICLOUD_SDK_REGION", "HUAWEICLOUD_SDK_ENDPOINT",
    "TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY", "TENCENTCLOUD_SESSION_TOKEN", "TENCENTCLOUD_REGION",
    "TENCENTCLOUD_ENDPOINT",
]
HSS_ARGS = {"access_key": "AK", "secret_key": "SK", "project_id": "p1", "region": "cn-north-4"}
TCSS_ARGS = {"secret_id": "AKID", "secret_key": "KEY"}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)


def run(cls, args, capsys, action=None, **kwargs):
    """Build a module and run ``action(module)``; ``(module, None)`` or ``(None, result)``
    when it exited (fail_json or exit_json)."""
    with patch_module_args(args):
        try:
            module = cls(argument_spec=kwargs.pop("argument_spec", {}), **kwargs)
            if action is not None:
                action(module)
            return module, None
        except SystemExit:
            return None, json.loads(capsys.readouterr().out)


# -- specs ---------------------------------------------------------------------------------------------

def test_connection_spec():
    assert _module.connection_argument_spec() == {
        "validate_certs": {"type": "bool", "default": True},
        "ca_bundle": {"type": "path"},
        "timeout": {"type": "int", "default": 30},
        "backoff_retries": {"type": "int", "default": 5},
        "backoff_delay": {"type": "float", "default": 1.0},
        "backoff_max_delay": {"type": "float", "default": 30.0},
        "return_raw": {"type": "bool", "default": True},
    }


def test_wait_spec():
    assert _module.wait_argument_spec() == {
        "wait": {"type": "bool", "default": True},
        "wait_timeout": {"type": "int", "default": 600},
        "wait_sleep": {"type": "int", "default": 5},
    }


@pytest.mark.parametrize("spec, name, variables", [
    (_hss_module.HssModule.shared_argument_spec, "access_key", ["HUAWEICLOUD_SDK_AK", "CLOUD_SDK_AK"]),
    (_hss_module.HssModule.shared_argument_spec, "secret_key", ["HUAWEICLOUD_SDK_SK", "CLOUD_SDK_SK"]),
    (_hss_module.HssModule.shared_argument_spec, "security_token", ["HUAWEICLOUD_SDK_SECURITY_TOKEN"]),
    (_hss_module.HssModule.shared_argument_spec, "auth_token", ["HUAWEICLOUD_SDK_AUTH_TOKEN"]),
    (_hss_module.HssModule.shared_argument_spec, "project_id", ["HUAWEICLOUD_SDK_PROJECT_ID"]),
    (_hss_module.HssModule.shared_argument_spec, "region", ["HUAWEICLOUD_SDK_REGION"]),
    (_hss_module.HssModule.shared_argument_spec, "endpoint", ["HUAWEICLOUD_SDK_ENDPOINT"]),
    (_tcss_module.TcssModule.shared_argument_spec, "secret_id", ["TENCENTCLOUD_SECRET_ID"]),
    (_tcss_module.TcssModule.shared_argument_spec, "secret_key", ["TENCENTCLOUD_SECRET_KEY"]),
    (_tcss_module.TcssModule.shared_argument_spec, "session_token", ["TENCENTCLOUD_SESSION_TOKEN"]),
    (_tcss_module.TcssModule.shared_argument_spec, "region", ["TENCENTCLOUD_REGION"]),
    (_tcss_module.TcssModule.shared_argument_spec, "endpoint", ["TENCENTCLOUD_ENDPOINT"]),
])
def test_env_fallbacks(spec, name, variables):
    assert spec()[name]["fallback"][1] == variables


@pytest.mark.parametrize("spec, secrets", [
    (_hss_module.HssModule.shared_argument_spec, {"access_key", "secret_key", "security_token", "auth_token"}),
    (_tcss_module.TcssModule.shared_argument_spec, {"secret_id", "secret_key", "session_token"}),
])
def test_secrets_are_no_log(spec, secrets):
    options = spec()
    assert {name for name, option in options.items() if option.get("no_log")} == secrets


def test_hss_env_fallback_order(capsys, monkeypatch):
    monkeypatch.setenv("CLOUD_SDK_AK", "second-ak")
    monkeypatch.setenv("CLOUD_SDK_SK", "second-sk")
    monkeypatch.setenv("HUAWEICLOUD_SDK_PROJECT_ID", "p-env")
    monkeypatch.setenv("HUAWEICLOUD_SDK_ENDPOINT", "http://127.0.0.1:8080")
    module, dummy = run(_hss_module.HssModule, {}, capsys)
    assert (module.params["access_key"], module.params["secret_key"]) == ("second-ak", "second-sk")
    monkeypatch.setenv("HUAWEICLOUD_SDK_AK", "first-ak")
    module, dummy = run(_hss_module.HssModule, {}, capsys)
    assert module.params["access_key"] == "first-ak"
    module, dummy = run(_hss_module.HssModule, {"access_key": "explicit"}, capsys)
    assert module.params["access_key"] == "explicit"
    assert module.client.base_url == "http://127.0.0.1:8080" and module.client.project_id == "p-env"


def test_tcss_env_fallbacks(capsys, monkeypatch):
    monkeypatch.setenv("TENCENTCLOUD_SECRET_ID", "id-env")
    monkeypatch.setenv("TENCENTCLOUD_SECRET_KEY", "key-env")
    monkeypatch.setenv("TENCENTCLOUD_REGION", "ap-guangzhou")
    module, dummy = run(_tcss_module.TcssModule, {}, capsys)
    assert isinstance(module.client, TcssClient)
    assert module.client.region == "ap-guangzhou" and module.client.url == "https://tcss.tencentcloudapi.com/"


# -- the credential check --------------------------------------------------------------------------------

def test_hss_missing_everything_is_one_message(capsys):
    dummy, result = run(_hss_module.HssModule, {}, capsys)
    assert result["failed"] is True
    msg = result["msg"]
    assert msg.startswith("Missing Huawei Cloud HSS settings: ")
    for text in ("project_id (or environment variable HUAWEICLOUD_SDK_PROJECT_ID)",
                 "access_key (or environment variable HUAWEICLOUD_SDK_AK or CLOUD_SDK_AK)",
                 "secret_key (or environment variable HUAWEICLOUD_SDK_SK or CLOUD_SDK_SK)",
                 "auth_token (or environment variable HUAWEICLOUD_SDK_AUTH_TOKEN)",
                 "region (or environment variable HUAWEICLOUD_SDK_REGION)",
                 "endpoint (or environment variable HUAWEICLOUD_SDK_ENDPOINT)"):
        assert text in msg


@pytest.mark.parametrize("args, missing, present", [
    ({"access_key": "AK", "project_id": "p", "region": "cn-north-4"}, ["secret_key"], ["project_id", "region ("]),
    ({"secret_key": "SK", "project_id": "p", "endpoint": "http://h"}, ["access_key"], ["project_id", "region"]),
    ({"auth_token": "T", "region": "cn-north-4"}, ["project_id"], ["access_key", "secret_key", "region"]),
    ({"auth_token": "T", "project_id": "p"}, ["region", "endpoint"], ["project_id", "access_key"]),
])
def test_hss_names_only_what_is_missing(args, missing, present, capsys):
    dummy, result = run(_hss_module.HssModule, args, capsys)
    for name in missing:
        assert name in result["msg"]
    for name in present:
        assert name not in result["msg"]


@pytest.mark.parametrize("args", [
    HSS_ARGS,
    {"auth_token": "T", "project_id": "p", "endpoint": "http://127.0.0.1:8080"},
])
def test_hss_complete_settings_pass(args, capsys):
    module, result = run(_hss_module.HssModule, args, capsys)
    assert result is None and isinstance(module.client, HssClient)


def test_tcss_missing(capsys):
    dummy, result = run(_tcss_module.TcssModule, {"secret_id": "AKID"}, capsys)
    assert result["msg"] == ("Missing Tencent Cloud TCSS settings: "
                             "secret_key (or environment variable TENCENTCLOUD_SECRET_KEY).")
    dummy, result = run(_tcss_module.TcssModule, {}, capsys)
    assert "secret_id (or environment variable TENCENTCLOUD_SECRET_ID)" in result["msg"]


def test_check_happens_before_any_request(capsys, monkeypatch):
    def no_transport(*args, **kwargs):
        raise AssertionError("no transport may be built")
    monkeypatch.setattr(_module, "HttpTransport", no_transport)
    dummy, result = run(_hss_module.HssModule, {"project_id": "p"}, capsys)
    assert result["failed"]


@pytest.mark.parametrize("args, text", [
    ({"timeout": 0}, "timeout must be greater than 0"),
    ({"backoff_retries": -1}, "backoff_retries must be 0 or more"),
    ({"backoff_delay": -0.5}, "backoff_delay must be 0 or more"),
    ({"backoff_max_delay": -1.0}, "backoff_max_delay must be 0 or more"),
])
def test_connection_values_are_checked(args, text, capsys):
    dummy, result = run(_tcss_module.TcssModule, dict(TCSS_ARGS, **args), capsys)
    assert text in result["msg"]


@pytest.mark.parametrize("args", [{"region": "cn north"}, {"endpoint": "ftp://x"}])
def test_bad_location_fails_cleanly(args, capsys):
    dummy, result = run(_hss_module.HssModule, dict(HSS_ARGS, **args), capsys, action=lambda m: m.client)
    assert result["msg"].startswith("Invalid Huawei Cloud HSS settings: ")


# -- the base classes --------------------------------------------------------------------------------

def test_module_spec_is_merged_and_kwargs_pass_through(capsys):
    spec = {"image": {"type": "str", "required": True}}
    module, dummy = run(_hss_module.HssModule, dict(HSS_ARGS, image="nginx"), capsys, argument_spec=spec,
                        supports_check_mode=True)
    assert module.params["image"] == "nginx" and module.supports_check_mode
    assert module.params["timeout"] == 30 and module.params["validate_certs"] is True
    dummy, result = run(_hss_module.HssModule, HSS_ARGS, capsys, argument_spec=spec)
    assert "image" in result["msg"]


def test_client_and_transport_are_built_once(capsys):
    module, dummy = run(_hss_module.HssModule, dict(HSS_ARGS, timeout=7, validate_certs=False, backoff_retries=2,
                                                    backoff_delay=0.5, backoff_max_delay=4.0), capsys)
    client = module.client
    assert module.client is client and module.transport is client.transport
    transport = module.transport
    assert isinstance(transport, HttpTransport)
    assert (transport.timeout, transport.verify) == (7, False)
    policy = transport.retry_policy
    assert (policy.retries, policy.delay, policy.max_delay) == (2, 0.5, 4.0)


def test_ca_bundle_wins(capsys, tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("x")
    module, dummy = run(_tcss_module.TcssModule, dict(TCSS_ARGS, ca_bundle=str(bundle)), capsys)
    assert module.transport.verify == str(bundle)


def test_missing_requests(capsys, monkeypatch):
    monkeypatch.setattr(_module, "HAS_REQUESTS", False)
    monkeypatch.setattr(_module, "REQUESTS_IMPORT_ERROR", "Traceback: no requests")
    dummy, result = run(_tcss_module.TcssModule, TCSS_ARGS, capsys, action=lambda m: m.client)
    assert "requests" in result["msg"] and "Failed to import the required Python library" in result["msg"]


def _raise(error):
    raise error


def test_execute_reports_an_api_error_with_the_partial_result(capsys):
    error = ApiError("hss", "ListImageScanTask", "bad", status=400, code="HSS.0001", request_id="rid")
    dummy, result = run(_hss_module.HssModule, HSS_ARGS, capsys,
                        action=lambda m: m.execute(lambda: _raise(error), dict(changed=False, task_id="t-1")))
    assert result["msg"] == "hss ListImageScanTask failed: HTTP 400 HSS.0001: bad (request id: rid)"
    assert result["error"] == error.to_dict()
    assert (result["changed"], result["task_id"], result["failed"]) == (False, "t-1", True)


# -- doc fragments match the specs -----------------------------------------------------------------------

def _options(fragment):
    return yaml.safe_load(fragment.ModuleDocFragment.DOCUMENTATION)["options"]


@pytest.mark.parametrize("fragment, spec", [
    (hss_fragment, _hss_module.hss_auth_argument_spec),
    (tcss_fragment, _tcss_module.tcss_auth_argument_spec),
    (connection_fragment, _module.connection_argument_spec),
    (wait_fragment, _module.wait_argument_spec),
])
def test_fragment_documents_the_spec_exactly(fragment, spec):
    documented, options = _options(fragment), spec()
    assert set(documented) == set(options)
    for name, option in options.items():
        doc = documented[name]
        assert doc["type"] == option["type"], name
        assert doc.get("default") == option.get("default"), name
        assert doc.get("choices") == option.get("choices"), name
        assert doc.get("required", False) == option.get("required", False), name
        assert doc["description"], name


def test_fragments_mention_every_environment_variable():
    for fragment, spec in ((hss_fragment, _hss_module.hss_auth_argument_spec),
                           (tcss_fragment, _tcss_module.tcss_auth_argument_spec)):
        documented = _options(fragment)
        for name, option in spec().items():
            text = " ".join(documented[name]["description"])
            for variable in (option.get("fallback") or (None, []))[1]:
                assert "E(%s)" % variable in text, (name, variable)


def test_attribute_fragments_combine_into_valid_attributes():
    cls = attributes_fragment.ModuleDocFragment
    base = yaml.safe_load(cls.DOCUMENTATION)["attributes"]
    for extras in (("INFO_MODULE", "ACTIONGROUP_HSS"), ("CHECK_MODE", "IDEMPOTENT", "ACTIONGROUP_TCSS")):
        merged = dict((name, dict(value)) for name, value in base.items())
        for extra in extras:
            fragment = yaml.safe_load(getattr(cls, extra))
            assert fragment["options"] == {}
            for name, value in fragment["attributes"].items():
                merged.setdefault(name, {}).update(value)
        for name, value in merged.items():
            if name == "idempotent" and "IDEMPOTENT" not in extras and "INFO_MODULE" not in extras:
                continue
            assert value.get("description"), name
            assert value.get("support") in ("full", "partial", "none", "N/A"), name
    groups = [yaml.safe_load(getattr(cls, name))["attributes"]["action_group"]["membership"]
              for name in ("ACTIONGROUP_HSS", "ACTIONGROUP_TCSS")]
    assert groups == [["cloudsec.image_scan.hss"], ["cloudsec.image_scan.tcss"]]


def test_empty_injected_variables_mean_unset(capsys, monkeypatch):
    # Credential injectors export optional fields as empty variables.
    monkeypatch.setenv("TENCENTCLOUD_SECRET_ID", "id-env")
    monkeypatch.setenv("TENCENTCLOUD_SECRET_KEY", "key-env")
    monkeypatch.setenv("TENCENTCLOUD_SESSION_TOKEN", "")
    monkeypatch.setenv("TENCENTCLOUD_ENDPOINT", "")
    module, dummy = run(_tcss_module.TcssModule, {}, capsys)
    assert module.params["session_token"] is None and module.params["endpoint"] is None
    assert module.client.url == "https://tcss.tencentcloudapi.com/"
    monkeypatch.setenv("HUAWEICLOUD_SDK_PROJECT_ID", "p-env")
    monkeypatch.setenv("HUAWEICLOUD_SDK_AK", "ak")
    monkeypatch.setenv("HUAWEICLOUD_SDK_SK", "sk")
    monkeypatch.setenv("HUAWEICLOUD_SDK_REGION", "")
    monkeypatch.setenv("HUAWEICLOUD_SDK_ENDPOINT", "")
    dummy, result = run(_hss_module.HssModule, {}, capsys)
    assert result["failed"] and "region (or environment variable HUAWEICLOUD_SDK_REGION)" in result["msg"]


def test_execute_reports_a_module_error_over_the_partial_result(capsys):
    error = ModuleError("Timed out", task_id="t-2", progress=40)
    dummy, result = run(_hss_module.HssModule, HSS_ARGS, capsys,
                        action=lambda m: m.execute(lambda: _raise(error), dict(changed=True, task_id=None)))
    assert (result["msg"], result["task_id"], result["progress"], result["changed"]) == ("Timed out", "t-2", 40, True)
    assert result["failed"] is True


def test_execute_exits_with_the_result(capsys):
    dummy, result = run(_hss_module.HssModule, HSS_ARGS, capsys, action=lambda m: m.execute(lambda: dict(changed=True)))
    assert result["changed"] is True and not result.get("failed")
    assert "raw" not in result


@pytest.mark.parametrize("return_raw", [True, False])
def test_execute_leaves_out_raw_only_when_asked(capsys, return_raw):
    args = dict(HSS_ARGS, return_raw=return_raw)
    dummy, result = run(_hss_module.HssModule, args, capsys,
                        action=lambda m: m.execute(lambda: dict(changed=False, images=[{"id": "i-1"}],
                                                                raw={"images": [{"image_id": "i-1"}]})))
    assert result["images"] == [{"id": "i-1"}]
    assert ("raw" in result) is return_raw


def test_without_raw_the_raw_answers_are_freed_before_the_result_is_serialised(capsys, monkeypatch):
    class Rows(list):
        """The raw rows, whose lifetime the test follows."""

    rows = Rows([{"image_id": "i-1"}])
    alive = weakref.ref(rows)
    seen = []
    real_exit = _hss_module.HssModule.exit_json

    def exit_json(module, **kwargs):
        gc.collect()
        seen.append(alive() is not None)
        real_exit(module, **kwargs)

    monkeypatch.setattr(_hss_module.HssModule, "exit_json", exit_json)
    result = dict(changed=False, images=[{"id": "i-1"}], raw={"images": rows})
    partial = dict(images=[], raw=result["raw"])
    del rows
    dummy, returned = run(_hss_module.HssModule, dict(HSS_ARGS, return_raw=False), capsys,
                          action=lambda m: m.execute(lambda: result, partial))
    assert returned["images"] == [{"id": "i-1"}] and "raw" not in returned
    assert seen == [False]


@pytest.mark.parametrize("return_raw", [True, False])
def test_a_failure_leaves_out_raw_only_when_asked(capsys, return_raw):
    error = ApiError("hss", "ListImageLocal", "bad", status=400, code="HSS.0001", request_id="rid")
    args = dict(HSS_ARGS, return_raw=return_raw)
    dummy, result = run(_hss_module.HssModule, args, capsys,
                        action=lambda m: m.execute(lambda: _raise(error), dict(images=[], raw={"images": [{}]})))
    assert result["failed"] is True and result["error"] == error.to_dict()
    assert ("raw" in result) is return_raw
