# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AWX credential types in docs/awx inject exactly the variables the modules read."""

from __future__ import annotations

import pathlib

import pytest
import yaml

from ansible_collections.cloudsec.image_scan.plugins.module_utils import _hss_module, _tcss_module

DOCS = pathlib.Path(__file__).resolve().parents[2] / "docs" / "awx"
CASES = [
    ("credential_type_hss.yml", _hss_module.hss_auth_argument_spec()),
    ("credential_type_tcss.yml", _tcss_module.tcss_auth_argument_spec()),
]


def fallbacks(spec):
    """Option name -> the environment variables its env_fallback reads."""
    return dict((name, list(option["fallback"][1])) for name, option in spec.items() if option.get("fallback"))


@pytest.mark.parametrize("filename, spec", CASES)
def test_injectors_set_variables_the_modules_read(filename, spec):
    definition = yaml.safe_load((DOCS / filename).read_text())
    fields = dict((f["id"], f) for f in definition["inputs"]["fields"])
    env = definition["injectors"]["env"]
    readable = fallbacks(spec)
    for variable, template in env.items():
        field = template.split("{{", 1)[1].split("}}", 1)[0].split("|")[0].strip()
        assert field in fields, "%s injects unknown field %s" % (variable, field)
        assert field in readable, "%s: no module option named %s" % (variable, field)
        assert variable == readable[field][0], (
            "%s injects %s but option %s reads %s first" % (filename, variable, field, readable[field]))


@pytest.mark.parametrize("filename, spec", CASES)
def test_secret_fields_are_secret_and_no_log(filename, spec):
    definition = yaml.safe_load((DOCS / filename).read_text())
    for field in definition["inputs"]["fields"]:
        if spec[field["id"]].get("no_log") and field["id"] not in ("access_key", "secret_id"):
            assert field.get("secret") is True, "%s: %s must be secret" % (filename, field["id"])
    assert set(definition["inputs"]["required"]) <= set(f["id"] for f in definition["inputs"]["fields"])
