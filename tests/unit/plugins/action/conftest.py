# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The actions freeze the objects of the process they run in (a worker Ansible forked for them):
in the test process, every test starts and ends with nothing frozen."""

from __future__ import annotations

import gc

import pytest


@pytest.fixture(autouse=True)
def nothing_frozen():
    gc.unfreeze()
    yield
    gc.unfreeze()
