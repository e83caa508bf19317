# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection tarball that `ansible-galaxy collection build` makes holds what users need.

Plugins, the role, the playbook, meta/, docs/, the changelog and tests/ (with the emulator the
integration and conformance tests run against) are shipped; benchmarks, development tools, CI
files and local caches are not (galaxy.yml: build_ignore).
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys
import tarfile

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
GALAXY = ROOT / "galaxy.yml"

pytestmark = pytest.mark.skipif(
    not GALAXY.is_file(), reason="galaxy.yml exists only in a source checkout, not in an installed collection"
)

# Shipped whole: every file below these directories, as in the source tree.
SHIPPED_DIRS = ("plugins", "roles", "playbooks", "meta", "tests", "docs/awx")
SHIPPED_FILES = (
    "README.md",
    "LICENSE",
    "CHANGELOG.md",
    "requirements.txt",
    "changelogs/changelog.yaml",
    "changelogs/config.yaml",
    "docs/architecture.md",
    "meta/runtime.yml",
    "tests/emulator/serve.py",
    "tests/integration/targets/setup_emulator/files/emulator.sh",
)
# Never shipped: development, release and CI tooling, caches, build output.
UNSHIPPED_PREFIXES = (
    "benchmarks/",
    "tools/",
    ".ci/",
    ".git",
    ".venv/",
    ".ansible/",
    ".cache/",
    ".pytest_cache/",
    ".hypothesis/",
    "build/",
    "tests/output/",
)
UNSHIPPED_FILES = (
    "Makefile",
    ".gitignore",
    ".ansible-lint",
    "galaxy.yml",
    "docs/releasing.md",
    "changelogs/.plugin-cache.yaml",
)
CACHE_DIRS = ("__pycache__", ".pytest_cache", ".hypothesis")


def _ansible_galaxy():
    beside = pathlib.Path(sys.executable).parent / "ansible-galaxy"
    return str(beside) if beside.exists() else shutil.which("ansible-galaxy")


def _source_files(top):
    """Files below ``top`` in the source tree, as paths relative to the collection root."""
    found = set()
    for dirpath, dirnames, filenames in os.walk(ROOT / top):
        rel_dir = pathlib.Path(dirpath).relative_to(ROOT)
        dirnames[:] = [d for d in dirnames if d not in CACHE_DIRS and (rel_dir / d).as_posix() != "tests/output"]
        for name in filenames:
            if not name.endswith((".pyc", ".pyo")):
                found.add((rel_dir / name).as_posix())
    return found


@pytest.fixture(scope="module")
def tarball(tmp_path_factory):
    galaxy = _ansible_galaxy()
    assert galaxy, "ansible-galaxy is not installed"
    work = tmp_path_factory.mktemp("tarball")
    env = dict(os.environ, HOME=str(work / "home"), ANSIBLE_HOME=str(work / "home" / ".ansible"))
    proc = subprocess.run(
        [galaxy, "collection", "build", "--output-path", str(work / "dist"), str(ROOT)],
        cwd=str(work), env=env, capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    built = sorted((work / "dist").glob("*.tar.gz"))
    assert len(built) == 1, built
    with tarfile.open(built[0]) as archive:
        members = {m.name: m for m in archive.getmembers()}
        manifest = json.load(archive.extractfile("MANIFEST.json"))
        files = json.load(archive.extractfile("FILES.json"))
    return built[0], members, manifest, files


def _files(members):
    return {name for name, member in members.items() if member.isfile()}


def test_name_and_version_come_from_galaxy_yml(tarball):
    path, _members, manifest, _files_json = tarball
    meta = yaml.safe_load(GALAXY.read_text(encoding="utf-8"))
    info = manifest["collection_info"]
    assert (info["namespace"], info["name"], info["version"]) == (meta["namespace"], meta["name"], meta["version"])
    assert path.name == "%s-%s-%s.tar.gz" % (meta["namespace"], meta["name"], meta["version"])


def test_nothing_for_development_only_is_shipped(tarball):
    shipped = set(tarball[1])
    leaked = sorted(
        name for name in shipped
        if name.startswith(UNSHIPPED_PREFIXES) or name in UNSHIPPED_FILES
        or "__pycache__" in name.split("/") or name.endswith((".pyc", ".pyo", ".tar.gz"))
    )
    assert leaked == []


def test_what_users_need_is_shipped(tarball):
    shipped = _files(tarball[1])
    missing = sorted(name for name in SHIPPED_FILES if name not in shipped)
    assert missing == []


@pytest.mark.parametrize("top", SHIPPED_DIRS)
def test_every_file_of_a_shipped_directory_is_shipped(tarball, top):
    shipped = _files(tarball[1])
    expected = _source_files(top)
    assert expected, "no source files below %s" % top
    assert sorted(expected - shipped) == []
    assert sorted(name for name in shipped if name.startswith(top + "/") and name not in expected) == []


def test_files_json_lists_exactly_the_shipped_files(tarball):
    listed = {entry["name"] for entry in tarball[3]["files"] if entry["ftype"] == "file"}
    assert listed == _files(tarball[1]) - {"MANIFEST.json", "FILES.json"}
