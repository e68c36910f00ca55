"""The installed systemd unit: hardened (systemd-analyze security rates it 2.0 or better) and a
notify service with a watchdog. Reads the unit meson generated beside the binaries under test."""

import os
import re
import subprocess

EXPOSURE_MAX = 2.0


def unit_path(binaries):
    build = os.path.dirname(os.path.dirname(os.path.abspath(binaries.consentd)))
    path = os.path.join(build, "systemd", "consentd.service")
    assert os.path.isfile(path), f"no generated unit at {path}"
    return path


def directives(path):
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith(("#", "[")) and "=" in line:
                k, v = line.split("=", 1)
                out.setdefault(k, []).append(v)
    return out


def test_systemd_analyze_security_rates_the_unit_2_or_better(binaries):
    p = subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager",
                        unit_path(binaries)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=60)
    out = p.stdout.decode(errors="replace")
    m = re.search(r"Overall exposure level for consentd\.service: (\d+\.\d+)", out)
    assert m, out
    assert float(m.group(1)) <= EXPOSURE_MAX, out


def test_unit_is_a_notify_service_with_a_watchdog_and_no_privileges(binaries):
    d = directives(unit_path(binaries))
    assert d["Type"] == ["notify"]
    assert d["WatchdogSec"] and d["WatchdogSec"][0] not in ("0", "infinity")
    assert d["NoNewPrivileges"] == ["yes"]
    assert d["ProtectSystem"] == ["strict"]
    assert d["PrivateTmp"] == ["yes"]
    assert d["CapabilityBoundingSet"] == [""]
    assert d["User"] == ["consentd"]
    assert "@system-service" in d["SystemCallFilter"][0]
    assert set(d["RestrictAddressFamilies"][0].split()) == {"AF_UNIX", "AF_INET", "AF_INET6"}
    assert d["ExecStart"][0].endswith("consentd -c /etc/consentd/consentd.conf") or \
        "consentd -c " in d["ExecStart"][0]
