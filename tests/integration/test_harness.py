"""Self-checks of the harness itself: the throwaway PostgreSQL cluster starts, answers SQL as the
superuser over its private socket, hands out fresh databases, and survives the stop/start cycle
that the outage tests rely on."""

import os

import psycopg2
import pytest


def test_cluster_answers_sql(pg_cluster):
    (one, version), = pg_cluster.sql("SELECT 1, current_setting('server_version_num')::int")
    assert one == 1
    assert version >= 150000
    (user, sock), = pg_cluster.sql("SELECT current_user, current_setting('unix_socket_directories')")
    assert user == "postgres"
    assert sock == pg_cluster.sockdir
    assert os.path.exists(os.path.join(pg_cluster.sockdir, ".s.PGSQL.%d" % pg_cluster.port))


def test_fresh_database_per_test(site):
    (db,), = site.sql("SELECT current_database()")
    assert db == site.dbname
    # Nothing migrated yet: the site fixture hands out an empty database.
    assert site.sql("SELECT to_regclass('audit_log')") == [(None,)]


def test_stop_and_start_again(pg_cluster):
    pg_cluster.sql("CREATE TABLE IF NOT EXISTS harness_probe (x int)")
    pg_cluster.sql("INSERT INTO harness_probe VALUES (42)")
    pg_cluster.stop("immediate")
    with pytest.raises(psycopg2.OperationalError):
        pg_cluster.connect()
    pg_cluster.start()
    assert pg_cluster.sql("SELECT x FROM harness_probe") == [(42,)]
    pg_cluster.sql("DROP TABLE harness_probe")
