"""Startup: consentd refuses to run with a bad config, an unsafe subject key or an unmigrated
database, and says what to fix; --version and --check-config; consentctl's own basics."""

import os
import re
import subprocess

import pytest

from daemon import child_env
from pg import free_port

APP_ROLE = "consentd_app"
REFUSAL_TIMEOUT = 20  # seconds a refusing consentd may take to exit


def run(argv, timeout=REFUSAL_TIMEOUT, env=None):
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, env=child_env(env), timeout=timeout)
    return p.returncode, p.stdout.decode(errors="replace")


def test_version(binaries):
    rc, out = run([binaries.consentd, "--version"])
    assert rc == 0, out
    assert re.search(r"\b\d+\.\d+\.\d+\b", out), out


def test_check_config_accepts_a_good_config(env):
    cfg = env.write_config("good.conf", free_port())
    rc, out = env.run_consentd("-c", cfg, "--check-config")
    assert rc == 0, out


@pytest.mark.parametrize("check_only", [True, False], ids=["check-config", "start"])
def test_unknown_config_key_is_refused(env, check_only):
    cfg = env.write_config("unknown.conf", free_port(), {"http": {"listen_backlog_typo": "5"}})
    args = ["-c", cfg] + (["--check-config"] if check_only else [])
    rc, out = env.run_consentd(*args)
    assert rc != 0, out
    assert "listen_backlog_typo" in out, out


def test_bad_value_is_refused_naming_the_key(env):
    cfg = env.write_config("bad.conf", free_port(), {"http": {"max_body": "lots"}})
    rc, out = env.run_consentd("-c", cfg, "--check-config")
    assert rc != 0, out
    assert "max_body" in out, out


def test_bad_environment_value_is_refused_naming_the_variable(env):
    cfg = env.write_config("good.conf", free_port())
    rc, out = env.run_consentd("-c", cfg, "--check-config", env={"CONSENTD_HTTP_MAX_BODY": "lots"})
    assert rc != 0, out
    assert "CONSENTD_HTTP_MAX_BODY" in out, out


def test_environment_overrides_the_file(env, consentd):
    # The file's listen address has no listener; the daemon is reached where the variable says.
    d = consentd(listen_via_env=True)
    assert d.request("GET", "/healthz").status == 200


def test_group_readable_subject_key_is_refused(env):
    os.chmod(env.key_file, 0o644)
    cfg = env.write_config("daemon.conf", free_port())
    rc, out = env.run_consentd("-c", cfg)
    assert rc != 0, out
    assert env.key_file in out, "the refusal must name the key file: %r" % out


def test_missing_subject_key_is_refused(env):
    os.unlink(env.key_file)
    cfg = env.write_config("daemon.conf", free_port())
    rc, out = env.run_consentd("-c", cfg)
    assert rc != 0, out
    assert env.key_file in out, "the refusal must name the key file: %r" % out


def test_unmigrated_database_is_refused(site):
    site.cluster.ensure_login_role(APP_ROLE)
    site.ctl.token_add("writer", "ingest,read")
    cfg = site.write_config("daemon.conf", free_port())
    rc, out = site.run_consentd("-c", cfg)
    assert rc != 0, out
    assert "consentctl migrate" in out, "the refusal must say which command fixes it: %r" % out


def test_migrate_is_idempotent(env):
    before = env.sql("SELECT * FROM schema_migrations ORDER BY 1")
    assert before, "schema_migrations records the applied versions"
    env.ctl.check("migrate", "--conninfo", env.super_conninfo())
    assert env.sql("SELECT * FROM schema_migrations ORDER BY 1") == before
    assert env.count() == 0


@pytest.mark.parametrize("sub", [[], ["migrate"], ["token"], ["verify"]],
                         ids=["consentctl", "migrate", "token", "verify"])
def test_consentctl_help(env, sub):
    p = env.ctl.run(*(sub + ["--help"]))
    assert p.returncode == 0, p.out + p.err
    assert "usage" in (p.out + p.err).lower(), p.out + p.err


def test_consentctl_unknown_subcommand_is_a_usage_error(env):
    p = env.ctl.run("frobnicate")
    assert p.returncode == 2, p.out + p.err
