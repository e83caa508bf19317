# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Where the role keeps every host's result between the task that works them out and the gate.

One private directory (mode 0700) under Ansible's local temporary directory, which Ansible removes
when the run ends; one JSON file per host, named by a digest of the host's name.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile

from ansible import constants as C
from ansible.module_utils.common.text.converters import to_bytes


def store_file(store, host):
    """The file of ``host``'s result in ``store``: named by a digest, whatever the host's name holds."""
    return os.path.join(store, hashlib.sha256(to_bytes(host)).hexdigest() + ".json")


def write_store(facts, parent=None):
    """Write every host's result to a new private directory under ``parent``; return its path."""
    parent = parent or C.DEFAULT_LOCAL_TMP
    store = tempfile.mkdtemp(prefix="image_scan-", dir=parent)  # mode 0700
    for host, fact in facts.items():
        path = store_file(store, host)
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="utf-8") as handle:
            json.dump(fact, handle, separators=(",", ":"))
    return store


def read_store(store, host):
    """The result of ``host`` from ``store``, or ``None`` when it has none."""
    try:
        with open(store_file(store, host), encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return None
