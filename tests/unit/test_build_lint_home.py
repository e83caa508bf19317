# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lint step of `make test` (tools/lint.sh) writes nothing into the user's home.

ansible-lint builds the collection and installs it where Ansible keeps collections, by default
~/.ansible/collections, where the copy would shadow others later. The lint step is run here with
a fresh, empty HOME and no Ansible variables of the caller, on one playbook to keep it short.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
LINT = ROOT / "tools" / "lint.sh"
BIN = pathlib.Path(sys.executable).parent

pytestmark = [
    pytest.mark.skipif(not LINT.is_file(), reason="tools/lint.sh exists only in a source checkout"),
    pytest.mark.skipif(
        not (BIN / "ansible-lint").exists(),
        reason="ansible-lint is not installed beside %s (the matrix cells hold ansible-core and the unit-test tools only)"
        % sys.executable,
    ),
]


def test_lint_step_leaves_home_untouched(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    lint_dir = tmp_path / "lint"
    env = {
        key: value for key, value in os.environ.items()
        if not key.startswith("ANSIBLE_") and key not in ("XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME")
    }
    env.update(HOME=str(home), LINT_BIN=str(BIN), LINT_DIR=str(lint_dir), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run(
        ["bash", str(LINT), "playbooks/scan_images.yml"],
        cwd=str(ROOT), env=env, capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not (home / ".ansible" / "collections").exists()
    assert sorted(p.relative_to(home).as_posix() for p in home.rglob("*")) == []
    # The collection went to the collections path the step gives ansible-lint.
    assert (lint_dir / "collections" / "ansible_collections" / "cloudsec" / "image_scan" / "MANIFEST.json").is_file()
