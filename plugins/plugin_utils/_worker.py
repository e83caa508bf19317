# -*- coding: utf-8 -*-
# Copyright: Contributors to the cloudsec.image_scan collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What an action plugin of the collection does first in the worker Ansible forked for it.

Ansible runs every task of every host in a worker process forked from the controller, which shares
the controller's memory until it writes to it. Python's cyclic garbage collector, when it runs in
the worker, writes to every object it visits: one collection there copies much of the
controller's memory into the worker. The controller of a large play holds the facts of every host
(and, during the role, the listing of its images), so the forks of one task would together hold
several times what the controller holds. Freezing, in the worker, the objects it inherited keeps
them out of its collections; the worker's own objects are collected as usual, and the worker ends
with its task. The controller is not affected (the callback ``cloudsec.image_scan.gc_freeze``
freezes there, for the tasks of every plugin).
"""

from __future__ import annotations

import gc


def share_inherited_memory():
    """Leave the objects this forked worker inherited out of its garbage collections."""
    gc.freeze()
