# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The shape every module file keeps: thin (at most 150 code lines), its ``main()`` ending
through the base class's one exception handler, and no module bundling the other cloud's code."""

from __future__ import annotations

import ast
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[4]
MODULES = sorted((ROOT / "plugins" / "modules").glob("*.py"))
MODULE_UTILS = ROOT / "plugins" / "module_utils"
ACTIONS = set(p.stem for p in (ROOT / "plugins" / "action").glob("*.py"))
MAX_CODE_LINES = 150
_DOC_START = re.compile(r'^(DOCUMENTATION|EXAMPLES|RETURN)\s*=\s*r?"""')
_PREFIX = "ansible_collections.cloudsec.image_scan.plugins.module_utils"


def code_lines(text):
    """Non-blank, non-comment lines outside the DOCUMENTATION, EXAMPLES and RETURN blocks."""
    lines, in_doc = [], False
    for line in text.splitlines():
        if not in_doc and _DOC_START.match(line):
            in_doc = line.count('"""') < 2
            continue
        if in_doc:
            in_doc = not line.rstrip().endswith('"""')
            continue
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            lines.append(stripped)
    return lines


def test_code_lines_counts_only_code():
    text = 'DOCUMENTATION = r"""\nmodule: x\n"""\n\n# a comment\nimport os\n\n\ndef main():\n    pass\n'
    assert code_lines(text) == ["import os", "def main():", "pass"]


def _calls(node, name):
    return [n for n in ast.walk(node) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
            and n.func.attr == name]


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.stem)
def test_module_file_is_thin(path):
    count = len(code_lines(path.read_text(encoding="utf-8")))
    assert count <= MAX_CODE_LINES, "%s has %d code lines (at most %d)" % (path.name, count, MAX_CODE_LINES)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.stem)
def test_main_goes_through_the_one_exception_handler(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    mains = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "main"]
    if path.stem in ACTIONS:
        assert not mains, "%s documents an action plugin and has no code of its own" % path.name
        return
    assert len(mains) == 1, "%s has no main()" % path.name
    assert len(_calls(mains[0], "execute")) == 1, "%s main() must end through module.execute()" % path.name
    for name in ("fail_json", "exit_json", "fail_api_error"):
        assert not _calls(tree, name), "%s calls %s itself instead of leaving it to execute()" % (path.name, name)
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.Try)], "%s catches exceptions itself" % path.name


def test_only_the_base_class_ends_a_run():
    """Below the modules, only the base class calls exit_json and fail_json."""
    for path in sorted(MODULE_UTILS.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if path.name == "_module.py":
            assert len(_calls(tree, "exit_json")) == 1
            continue
        assert not _calls(tree, "fail_json") and not _calls(tree, "exit_json"), path.name


def _imports(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(_PREFIX):
            if node.module == _PREFIX:
                names.update(alias.name for alias in node.names)
            else:
                names.add(node.module.rsplit(".", 1)[1])
    return names


def bundled(path):
    """The module_utils files an AnsiballZ payload of ``path`` carries (imports, transitively)."""
    seen, todo = set(), list(_imports(path))
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(_imports(MODULE_UTILS / (name + ".py")))
    return seen


@pytest.mark.parametrize("path", [p for p in MODULES if p.stem not in ACTIONS], ids=lambda p: p.stem)
def test_a_module_bundles_only_its_own_cloud(path):
    own, other = ("hss", "tcss") if path.stem.startswith("hss_") else ("tcss", "hss")
    files = bundled(path)
    assert "_%s_client" % own in files and "_module" in files and "_ops" in files
    assert not [name for name in files if name.startswith("_%s_" % other)], sorted(files)


def test_the_neutral_layers_name_no_cloud():
    """_scan, _ops, _clock and _module hold no cloud's words: those live in the cloud's own files."""
    for name in ("_scan", "_ops", "_clock", "_module"):
        text = (MODULE_UTILS / (name + ".py")).read_text(encoding="utf-8")
        code = "\n".join(line for line in code_lines(text) if not line.startswith(("#", '"""')))
        assert not re.search(r"\b(HSS|TCSS|hss_|tcss_)\w*\s*=", code), name
        assert not [n for n in _imports(MODULE_UTILS / (name + ".py")) if n.startswith(("_hss", "_tcss"))], name
