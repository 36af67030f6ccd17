"""Fixtures: nb-mock started on loopback (the `neuralbridge mock` binary;
`NB_MOCK_BIN` names it, `cargo xtask test` sets it), one per scenario."""

import os
import subprocess
import textwrap
from pathlib import Path

import pytest


def _binary() -> str:
    path = os.environ.get("NB_MOCK_BIN")
    if not path or not Path(path).is_file():
        pytest.fail(
            "NB_MOCK_BIN must name the `neuralbridge` binary (run the tests with "
            "`cargo xtask test`, which builds it and sets it)",
            pytrace=False,
        )
    return path


class Mock:
    """A running nb-mock: `base_url`, and `stop()`."""

    def __init__(self, scenario: str, tmp_path: Path):
        file = tmp_path / "scenario.toml"
        file.write_text(textwrap.dedent(scenario))
        self.process = subprocess.Popen(
            [_binary(), "mock", "--scenario", str(file), "--quiet"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = self.process.stdout.readline()
        if "listening on" not in line:
            self.process.kill()
            raise RuntimeError(f"nb-mock did not start: {line!r} {self.process.stderr.read()!r}")
        self.base_url = line.rsplit(" ", 1)[-1].strip()

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)


@pytest.fixture
def mock(tmp_path):
    """`mock(scenario_toml)` starts an nb-mock; every one is stopped after the test."""
    started = []

    def start(scenario: str) -> Mock:
        m = Mock(scenario, tmp_path / str(len(started)))
        started.append(m)
        return m

    (tmp_path / "0").mkdir(exist_ok=True)
    for i in range(1, 8):
        (tmp_path / str(i)).mkdir(exist_ok=True)
    yield start
    for m in started:
        m.stop()
