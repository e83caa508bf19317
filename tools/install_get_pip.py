"""Put tools/get_pip.py where the running ansible-test looks for its cached pip bootstrap script.

Run with the Python of the virtual environment that holds ansible-test: the cache file is named
after the pip version that this ansible-test installs (``~/.ansible/test/cache/get_pip_<x_y>.py``).
"""

import filecmp
import os
import re
import shutil
import sys

import ansible_test

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "get_pip.py")


def pip_version():
    path = os.path.join(os.path.dirname(ansible_test.__file__), "_internal", "python_requirements.py")
    with open(path, encoding="utf-8") as handle:
        match = re.search(r"pip='([0-9.]+)'", handle.read())
    if not match:
        sys.exit("install_get_pip: no pip version found in %s" % path)
    return match.group(1)


def main():
    version = pip_version()
    cache = os.path.expanduser("~/.ansible/test/cache/get_pip_%s.py" % version.replace(".", "_"))
    if not (os.path.exists(cache) and filecmp.cmp(SOURCE, cache, shallow=False)):
        os.makedirs(os.path.dirname(cache), exist_ok=True)
        shutil.copyfile(SOURCE, cache)
        print("install_get_pip: pip %s bootstrap for ansible-test: %s" % (version, cache))


if __name__ == "__main__":
    main()
