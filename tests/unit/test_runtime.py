# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""meta/runtime.yml must list every module in the action group of its cloud."""

from __future__ import annotations

import pathlib

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
RUNTIME = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())
MODULES = sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("*.py") if p.stem != "__init__")
GROUPS = {"hss": "hss_", "tcss": "tcss_"}


def test_requires_ansible_is_set():
    assert RUNTIME["requires_ansible"].startswith(">=")


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_group_lists_exactly_the_cloud_modules(group):
    expected = [m for m in MODULES if m.startswith(GROUPS[group])]
    listed = RUNTIME["action_groups"][group] or []
    missing = sorted(set(expected) - set(listed))
    unknown = sorted(set(listed) - set(MODULES))
    assert not missing, "modules missing from action group %s: %s" % (group, missing)
    assert not unknown, "action group %s lists modules that do not exist: %s" % (group, unknown)


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_group_is_sorted(group):
    listed = RUNTIME["action_groups"][group] or []
    assert listed == sorted(listed)


# Modules that call no cloud take none of a cloud's options, so no group's defaults apply to them.
CLOUDLESS = ["image_scan_gate", "image_scan_judge"]


def test_every_cloud_module_belongs_to_a_group():
    grouped = {m for members in RUNTIME["action_groups"].values() for m in (members or [])}
    assert sorted(set(MODULES) - grouped) == CLOUDLESS


def documentation(module):
    """The DOCUMENTATION of a module's file, parsed, without importing it."""
    source = (ROOT / "plugins" / "modules" / (module + ".py")).read_text()
    start = source.index('DOCUMENTATION = r"""') + len('DOCUMENTATION = r"""')
    return yaml.safe_load(source[start:source.index('"""', start)])


def cloud_options():
    """Every option the cloud modules share: credentials, region, endpoint, connection settings."""
    options = set()
    for fragment in ("hss", "tcss", "connection"):
        source = (ROOT / "plugins" / "doc_fragments" / (fragment + ".py")).read_text()
        start = source.index('DOCUMENTATION = r"""') + len('DOCUMENTATION = r"""')
        options |= set(yaml.safe_load(source[start:source.index('"""', start)])["options"])
    return options


@pytest.mark.parametrize("module", CLOUDLESS)
def test_cloudless_modules_take_no_cloud_option(module):
    doc = documentation(module)
    fragments = doc.get("extends_documentation_fragment") or []
    assert not [f for f in fragments if f.split(".")[-1] in ("hss", "tcss", "connection")], fragments
    assert cloud_options() & set(doc["options"]) == set()
    assert {"access_key", "secret_key", "region"} <= cloud_options()
