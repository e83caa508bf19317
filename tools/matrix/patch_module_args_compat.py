"""pytest plugin: ``ansible.module_utils.testing.patch_module_args`` for ansible-core < 2.19.

The unit tests hand module arguments to ``AnsibleModule`` with ``patch_module_args``, the test
helper ansible-core ships since 2.19. Older ansible-core reads the arguments from the same
``ansible.module_utils.basic._ANSIBLE_ARGS`` buffer, as plain JSON. With this plugin loaded
(``pytest -p patch_module_args_compat``), a missing ``ansible.module_utils.testing`` is provided
by a module that fills that buffer the way ansible-core 2.19 does. Nothing of ansible-core is
changed, and with ansible-core 2.19 or later the plugin does nothing.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import sys
import types
from unittest import mock


def _install():
    try:
        if importlib.util.find_spec("ansible.module_utils.testing") is not None:
            return False
    except ModuleNotFoundError:
        return False

    from ansible.module_utils import basic

    @contextlib.contextmanager
    def patch_module_args(args=None):
        """Expose the given module args to ``AnsibleModule`` instances created within this context."""
        if not isinstance(args, (dict, type(None))):
            raise TypeError("The `args` arg must be a dict or None.")
        payload = json.dumps({"ANSIBLE_MODULE_ARGS": args or {}}).encode()
        with mock.patch.object(basic, "_ANSIBLE_ARGS", payload):
            yield

    module = types.ModuleType("ansible.module_utils.testing")
    module.__doc__ = "patch_module_args for ansible-core < 2.19 (tools/matrix/patch_module_args_compat.py)."
    module.patch_module_args = patch_module_args
    sys.modules[module.__name__] = module
    import ansible.module_utils as package

    package.testing = module
    return True


INSTALLED = _install()


def pytest_report_header(config):  # pylint: disable=unused-argument
    if INSTALLED:
        return "ansible.module_utils.testing.patch_module_args: provided for ansible-core < 2.19"
    return None
