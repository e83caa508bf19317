"""Offline stand-in for the pip bootstrap script that ansible-test downloads.

ansible-test bootstraps pip in each sanity virtual environment by running a cached
``get_pip_<version>.py`` with the arguments of a ``pip install``. The download host is not
reachable from every build machine, so ``make`` places this file in that cache instead: it
installs pip with ``ensurepip`` (in a subprocess, so this process keeps the machine's pip
configuration), then runs ``pip install`` with the arguments it was given.
"""

import subprocess
import sys

UNSUPPORTED = {"--no-setuptools", "--no-wheel"}


def main():
    args = [arg for arg in sys.argv[1:] if arg not in UNSUPPORTED]
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"])
    if args:
        subprocess.check_call([sys.executable, "-m", "pip", "install"] + args)


if __name__ == "__main__":
    main()
