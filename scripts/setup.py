"""`python -m scripts.setup`: idempotent set-up on a fresh machine. The servers the soak runs
(as root on Debian/Ubuntu, with apt-get; elsewhere it says what to install by hand), then this
checkout's package with its dev extras. Safe to run again; installs only what is missing."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from scripts import CHECKOUT

# Debian package -> a binary it provides (the name the harness looks for on PATH)
SYSTEM_PACKAGES = {
    "prometheus-pushgateway": "prometheus-pushgateway",
    "influxdb": "influxd",
    "prometheus": "promtool",
    # accepts InfluxDB 2.x's /api/v2/write and reads it back: the v2 store (Debian has no 2.x)
    "victoria-metrics": "victoria-metrics",
    "prometheus-alertmanager": "prometheus-alertmanager",
}
# Debian package -> where its Windows binary comes from (no package manager assumed there)
WINDOWS_SOURCES = {
    "prometheus-pushgateway": "pushgateway.exe from https://prometheus.io/download/ "
                              "(the pushgateway archive), renamed prometheus-pushgateway.exe",
    "influxdb": "influxd.exe of InfluxDB 1.x from https://www.influxdata.com/downloads/",
    "prometheus": "promtool.exe from https://prometheus.io/download/ (the prometheus archive)",
    "victoria-metrics": "victoria-metrics-windows-amd64-*.zip from "
                        "https://github.com/VictoriaMetrics/VictoriaMetrics/releases, "
                        "victoria-metrics-prod.exe renamed victoria-metrics.exe",
    "prometheus-alertmanager": "alertmanager.exe from https://prometheus.io/download/ (the "
                               "alertmanager archive), renamed prometheus-alertmanager.exe",
}
# everything `pip install -e .[dev]` provides; prints where pytest_soak is imported from
PROBE = ("import pathlib, pytest_soak_evidence, pytest_soak, prometheus_client, influxdb, "
         "influxdb_client, jsonschema_rs, ruff, build, wheel; "
         "print(pathlib.Path(pytest_soak.__file__).resolve().parent.parent)")


@dataclass(frozen=True)
class SystemPlan:
    apt: list[str] = field(default_factory=list)      # apt-get install these now
    manual: list[str] = field(default_factory=list)   # lines telling what to install by hand


def system_plan(missing: list[str], is_root: bool, has_apt: bool, windows: bool) -> SystemPlan:
    """What to do about the missing system packages (pure: no command is run)."""
    if not missing:
        return SystemPlan()
    if windows:
        return SystemPlan(manual=["setup: on Windows, download these and put them on PATH:"]
                          + [f"setup:   {WINDOWS_SOURCES[pkg]}" for pkg in missing])
    if is_root and has_apt:
        return SystemPlan(apt=list(missing))
    names = " ".join(missing)
    return SystemPlan(manual=[f"setup: not root (or no apt-get): please install by hand: {names}",
                              f"setup:   e.g. sudo apt-get install -y {names}"])


def _dpkg_has(package: str) -> bool:
    dpkg = shutil.which("dpkg")
    return dpkg is not None and subprocess.run(
        [dpkg, "-s", package], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0


def missing_packages(which: Callable[[str], str | None] = shutil.which,
                     installed: Callable[[str], bool] = _dpkg_has) -> list[str]:
    return [pkg for pkg, binary in SYSTEM_PACKAGES.items()
            if which(binary) is None and not installed(pkg)]


def _is_root() -> bool:
    geteuid = getattr(os, "geteuid", None)      # POSIX only
    return geteuid is not None and geteuid() == 0


def apt_install(packages: list[str]) -> int:
    print(f"setup: installing {' '.join(packages)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    code = subprocess.call(["apt-get", "update", "-qq"], env=env)
    return code or subprocess.call(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages], env=env)


def installed_from(env: dict[str, str] | None = None) -> Path | None:
    """The folder this interpreter imports pytest_soak from, with every dev dependency present;
    None when something is missing. `-P`: the current folder (a checkout) must not count."""
    done = subprocess.run([sys.executable, "-P", "-c", PROBE], capture_output=True, text=True,
                          env=env)
    out = done.stdout.strip()
    return Path(out) if done.returncode == 0 and out else None


def needs_install(found: Path | None, checkout: Path) -> bool:
    """Installed, and from this checkout: an editable install of another clone would test that
    one."""
    return found is None or found.resolve() != checkout.resolve()


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(prog="python -m scripts.setup", description=__doc__).parse_args(argv)
    os.chdir(CHECKOUT)
    plan = system_plan(missing_packages(), _is_root(), shutil.which("apt-get") is not None,
                       os.name == "nt")
    for line in plan.manual:
        print(line, file=sys.stderr)
    if plan.apt and (code := apt_install(plan.apt)):
        return code
    if needs_install(installed_from(), CHECKOUT):
        print("setup: pip install -e .[dev]")
        code = subprocess.call([sys.executable, "-m", "pip", "install", "-q", "-e", ".[dev]"])
        if code:
            return code
    print("setup: ok")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
