"""The unprivileged half of the suite: when this run is root, run the core's integration tests
again as an ordinary user, from a virtual environment that user can read.

Root's Python usually lives in a folder other users cannot read (pyenv under /root), so the
inner run uses a venv made from the system's Python in a world-readable folder. Its
dependencies are installed once per requirement set (guarded by a file lock, completed by a
marker file written last); the project itself is reinstalled from this checkout every run.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from filelock import FileLock

REPO = Path(__file__).resolve().parent.parent
SYSTEM_PYTHONS = ("/usr/bin/python3", "/usr/local/bin/python3")
VENV_ROOT = Path("/var/tmp/pytest-boss-unprivileged")
# The modules whose behaviour depends on who runs the server: everything that starts one.
INNER_TESTS = (
    "test_init.py",
    "test_control.py",
    "test_cluster.py",
    "test_replication.py",
    "test_config_oracle.py",
    "test_hba_oracle.py",
    "plugin/test_fixtures.py",
    "plugin/test_ahead.py",
)

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0,
    reason="this run is already unprivileged: it is the ordinary-user half of the suite",
)


def _ordinary_user() -> pwd.struct_passwd:
    """The user of the inner run: BOSS_TEST_USER, else postgres, else nobody."""
    for name in (os.environ.get("BOSS_TEST_USER"), "postgres", "nobody"):
        if not name:
            continue
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("no ordinary user found: set BOSS_TEST_USER to an existing user name")


def _system_python() -> str:
    for candidate in SYSTEM_PYTHONS:
        if os.access(candidate, os.X_OK):
            return candidate
    raise RuntimeError(
        f"no system Python found in {', '.join(SYSTEM_PYTHONS)}: the unprivileged half needs a "
        "Python other users can execute (apt install python3 python3-venv)"
    )


def _run(cmd: list[str], **kwargs: object) -> None:
    """Run a set-up command; on failure, fail with its output so the cause is on screen."""
    done = subprocess.run(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=900,
        check=False,
        **kwargs,  # type: ignore[call-overload]
    )
    if done.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout[-4000:]}")


def _venv_with_dependencies(python: str) -> Path:
    """A world-readable venv holding the test dependencies, built once per requirement set."""
    requirements = (REPO / "pyproject.toml").read_bytes()
    key = hashlib.sha256(python.encode() + requirements).hexdigest()[:16]
    VENV_ROOT.mkdir(mode=0o755, exist_ok=True)
    venv = VENV_ROOT / f"venv-{key}"
    with FileLock(str(VENV_ROOT / f"venv-{key}.lock"), timeout=1200):
        if not (venv / "complete").exists():
            shutil.rmtree(venv, ignore_errors=True)
            _run([python, "-m", "venv", str(venv)])
            _run([str(venv / "bin" / "pip"), "install", "-q", f"{REPO}[test]"])
            (venv / "complete").write_text("dependencies installed\n")
        else:
            _run(
                [
                    str(venv / "bin" / "pip"),
                    "install",
                    "-q",
                    "--no-deps",
                    "--force-reinstall",
                    str(REPO),
                ]
            )
    return venv


def test_core_integration_as_ordinary_user(tmp_path: Path) -> None:
    user = _ordinary_user()
    venv = _venv_with_dependencies(_system_python())
    workdir = Path(tempfile.mkdtemp(prefix="boss-unprivileged-", dir="/var/tmp"))
    try:
        shutil.copytree(REPO / "tests", workdir / "tests")
        shutil.copy2(REPO / "pyproject.toml", workdir / "pyproject.toml")
        for path in [workdir, *workdir.rglob("*")]:
            os.chown(path, user.pw_uid, user.pw_gid, follow_symlinks=False)
        selected = [f"tests/{name}" for name in INNER_TESTS if (workdir / "tests" / name).exists()]
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": str(workdir),
            "LC_ALL": "C.UTF-8",
            "CI": os.environ.get("CI", ""),
        }
        log = tmp_path / "inner.log"
        with log.open("w") as out:
            done = subprocess.run(
                [
                    str(venv / "bin" / "python"),
                    "-m",
                    "pytest",
                    "-p",
                    "no:cacheprovider",
                    "-q",
                    "-n",
                    "2",
                    *selected,
                ],
                cwd=workdir,
                env=env,
                user=user.pw_uid,
                group=user.pw_gid,
                extra_groups=[],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=1800,
                check=False,
            )
        output = log.read_text()
        sys.stdout.write(output[-3000:])
        assert done.returncode == 0, f"the run as {user.pw_name} failed:\n{output[-8000:]}"
        assert " passed" in output
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
