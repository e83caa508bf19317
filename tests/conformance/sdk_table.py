"""Build the emulator's table of allowed request parameters from the official SDK models.

    .venv/bin/python tests/conformance/sdk_table.py           # print the table
    .venv/bin/python tests/conformance/sdk_table.py --write   # rewrite tests/emulator/sdk_table.json

The emulator must stay light, so it never imports the SDKs: it reads the committed
``tests/emulator/sdk_table.json``. ``test_strict.py`` rebuilds the table from the installed SDKs
and fails when the committed file differs, so the emulator cannot drift from the models.

What is read from where:

- HSS (``huaweicloudsdkhss``): the request class of every API the emulator serves. Where each
  attribute travels (query, path, header, body) is what the client's own ``_<api>_http_info``
  puts it in. An attribute is required when the model's ``__init__`` assigns it without an
  ``is not None`` guard (generated from the same spec as the Go SDK's non-``omitempty`` tags).
  Enumerations are read from the attribute's documentation (``**取值范围** - value : ...`` or
  ``包含如下: - value : ...``, plus a value the doc allows for queries only,
  ``可设置not_online（仅作为查询条件）``); a doc that says out-of-range values give an empty result
  (``否则返回空结果``) is recorded as ``"out_of_range": "empty"``. Body models are walked
  recursively.
- TCSS (``tencentcloud-sdk-python-tcss``): the attributes of every ``<Action>Request`` object and
  of the models nested in them (``vars(model())``: the very set ``_deserialize`` warns about).
  The Python SDK does not say what is required; the few required fields the TCSS CLI API
  definition (``api.json``) records for the actions we use are listed in ``TCSS_REQUIRED``.
"""

import inspect
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TABLE = os.path.join(HERE, "..", "emulator", "sdk_table.json")

HSS_APIS = (
    "CreateManualImageScanTask", "ListImageScanTask", "BatchScanLocalImage",
    "StopImageScanTask", "ListImageLocal", "ListRegistryImages", "ListSwrImageRepository",
    "ListImageVulnerabilities", "ListHostStatus", "ListVulAffectImages", "ListGeneralImageVuls",
    "ListVulAffectImageApps",
)
TCSS_ACTIONS = (
    "CreateAssetImageScanTask", "DescribeAssetImageScanStatus", "DescribeAssetImageScanTask",
    "ModifyAssetImageScanStop", "DescribeAssetImageList", "DescribeAssetImageVulList",
    "DescribeAssetHostList", "DescribeAssetImageHostList",
)
# Required in the TCSS CLI API definition (api.json): the only ones among the actions we use.
TCSS_REQUIRED = {
    "DescribeAssetImageVulListRequest": ("ImageID",),
    "AssetFilters": ("Name", "Values"),
}

_SENTINEL = "\x00sdk-table\x00"
_ENUM_SECTION = re.compile(r"(?:\*\*取值范围\*\*[:：]?|包含如下[:：]?)(.*?)(?:\*\*|:return:|$)", re.S)
_ENUM_ITEM = re.compile(r"(?:^|\s)-\s*([A-Za-z][A-Za-z0-9_\-]*)\s*[：:]")
# "... 可设置not_online（仅作为查询条件）": a value documented for queries only.
_ENUM_QUERY_ONLY = re.compile(r"可设置\s*([A-Za-z][A-Za-z0-9_\-]*)\s*（仅作为查询条件）")


def _import_sdks():
    home = os.environ.get("HOME")
    if not home or not os.access(home, os.W_OK):
        os.environ["HOME"] = "/tmp"
    from huaweicloudsdkhss.v5 import HssClient  # noqa  pylint: disable=import-outside-toplevel
    from huaweicloudsdkhss.v5 import model as hss_models  # noqa  pylint: disable=import-outside-toplevel
    from tencentcloud.tcss.v20201101 import models as tc_models  # noqa  pylint: disable=import-outside-toplevel
    return HssClient, hss_models, tc_models


def _snake(name):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _hss_enum(cls, attr):
    doc = getattr(cls, attr).fget.__doc__ or ""
    match = _ENUM_SECTION.search(doc)
    values = _ENUM_ITEM.findall(match.group(1)) if match else []
    if values:
        values += [v for v in _ENUM_QUERY_ONLY.findall(match.group(1)) if v not in values]
    if not values:
        return None, None
    return values, ("empty" if "否则返回空结果" in doc else None)


def _hss_required(cls):
    # ``self.x = x`` at the body's own indentation (not under ``if x is not None:``).
    source = inspect.getsource(cls.__init__)
    return set(re.findall(r"^ {8}self\.(\w+) = \1$", source, re.M))


def _hss_field(models, cls, attr, type_name, required, seen):
    field = {"type": type_name, "required": attr in required}
    if type_name == "str":
        values, out_of_range = _hss_enum(cls, attr)
        if values:
            field["enum"] = values
            if out_of_range:
                field["out_of_range"] = out_of_range
    inner = type_name[5:-1] if type_name.startswith("list[") else type_name
    if hasattr(models, inner):
        field["model"] = inner
        _hss_model(models, inner, seen)
    return field


def _hss_model(models, name, seen):
    if name in seen:
        return
    seen[name] = None
    cls = getattr(models, name)
    required = _hss_required(cls)
    fields = {}
    for attr, type_name in cls.openapi_types.items():
        fields[cls.attribute_map[attr]] = _hss_field(models, cls, attr, type_name, required, seen)
    seen[name] = fields


def build_hss(client_cls, models):
    apis = {}
    model_table = {}
    for api in HSS_APIS:
        cls = getattr(models, api + "Request")
        required = _hss_required(cls)
        request = cls()
        for attr in cls.openapi_types:
            setattr(request, "_" + attr, _SENTINEL + attr)
        info = getattr(client_cls, "_%s_http_info" % _snake(api))(request)
        places = {}
        for key, value in info["path_params"].items():
            places[key] = "path"
        for key, value in info["query_params"]:
            places[key] = "query"
        for key, value in info["header_params"].items():
            if isinstance(value, str) and value.startswith(_SENTINEL):
                places[key] = "header"
        entry = {"model": cls.__name__, "method": info["method"],
                 "path": info["resource_path"], "query": {}, "path_params": {}, "header": {}}
        for attr, type_name in cls.openapi_types.items():
            key = cls.attribute_map[attr]
            field = _hss_field(models, cls, attr, type_name, required, model_table)
            if attr == "body":
                entry["body"] = field
                continue
            place = places[key]
            entry[{"path": "path_params"}.get(place, place)][key] = field
        apis[api] = entry
    return apis, {name: model_table[name] for name in sorted(model_table)}


def _tc_type(cls, attr):
    prop = getattr(cls, attr, None)
    docs = []
    if isinstance(prop, property):
        docs = [prop.fget.__doc__ or "", (prop.fset.__doc__ if prop.fset else "") or ""]
    for doc in docs:
        match = re.search(r":(?:rtype|type \w+):\s*(.+?)\s*$", doc, re.S | re.M)
        if match:
            return match.group(1).strip()
    return None


def _tc_model(models, name, seen):
    if name in seen:
        return
    seen[name] = None
    cls = getattr(models, name)
    fields = {}
    required = TCSS_REQUIRED.get(name, ())
    for var in vars(cls()):
        if not var.startswith("_"):
            continue
        attr = var[1:]
        type_name = _tc_type(cls, attr)
        field = {"type": type_name, "required": attr in required}
        match = re.search(r"(?:models\.)?(\w+)$", type_name or "")
        inner = match.group(1) if match else None
        if inner and inner[0].isupper() and hasattr(models, inner):
            field["model"] = inner
            _tc_model(models, inner, seen)
        fields[attr] = field
    seen[name] = fields


def build_tcss(models):
    actions = {}
    model_table = {}
    for action in TCSS_ACTIONS:
        name = action + "Request"
        _tc_model(models, name, model_table)
        actions[action] = {"model": name, "fields": model_table.pop(name)}
    return actions, {name: model_table[name] for name in sorted(model_table)}


def build():
    client_cls, hss_models, tc_models = _import_sdks()
    hss_apis, hss_model_table = build_hss(client_cls, hss_models)
    tcss_actions, tcss_model_table = build_tcss(tc_models)
    return {
        "comment": "Generated by tests/conformance/sdk_table.py from the SDK models; do not edit.",
        "hss": {"apis": hss_apis, "models": hss_model_table},
        "tcss": {"actions": tcss_actions, "models": tcss_model_table},
    }


def dumps(table):
    return json.dumps(table, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv):
    text = dumps(build())
    if "--write" in argv:
        with open(TABLE, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
