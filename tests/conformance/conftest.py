"""Fixtures of the conformance suite: one shared emulator process for the whole session."""

import os
import shutil
import signal

import pytest

import emulator_support as support


@pytest.fixture(scope="session", autouse=True)
def sdk_home():
    """Keep the Huawei SDK's files ($HOME/.huaweicloud) in a private directory."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", support.SDK_HOME)
        yield support.SDK_HOME
    shutil.rmtree(support.SDK_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def emulator_process():
    emu = support.Emulator()
    yield emu
    status = emu.stop(signal.SIGTERM)
    assert status == 0, "the emulator did not exit cleanly on SIGTERM (status %s)" % status


@pytest.fixture
def emu(emulator_process):
    """The shared emulator, reset to the dataset (state, stats and faults) for each test."""
    emulator_process.reset()
    return emulator_process


@pytest.fixture
def hss(emu):
    return emu.hss_client()


@pytest.fixture
def tcss(emu):
    return emu.tcss_client()


@pytest.fixture
def spawn():
    """Start extra emulators with their own options; all are stopped at the end."""
    started = []

    def start(*args, **kwargs):
        emu = support.Emulator(*args, **kwargs)
        started.append(emu)
        return emu

    yield start
    for emu in started:
        emu.stop()


def pytest_report_header(config):  # pylint: disable=unused-argument
    return "emulator: %s" % os.path.relpath(support.SERVE, support.REPO)
