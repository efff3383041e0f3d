#!/usr/bin/env python3
"""DBOS Transact peer for `syncengine bench journal`.

Runs the same shape of work as the journal benchmark's steps, with DBOS Transact 3.x: a durable
workflow whose every step is one transactional step (`@ds.transaction()` of an SQLAlchemyDatasource)
doing a single small INSERT. DBOS records each step's output in the datasource's own tables in the
step's transaction and the workflow's progress in its system database, both on the Postgres server
the Swift benchmark uses.

Measures, after a warm-up:
  - serial: one workflow of --serial-steps steps; the latency of each step call as seen by the workflow;
  - concurrent: --workflows workflows started at once, --steps-per-workflow steps each; total steps/s.

Prints one JSON object on the last line of stdout (DBOS's own logging goes to stderr or is silenced).
Needs `pip install dbos==3.4.0 'psycopg[binary]'`; see `syncengine bench journal --help`.
"""

import argparse
import json
import logging
import statistics
import sys
import time
import uuid


def percentile(samples, p):
    """Nearest-rank percentile, the same definition the Swift side uses."""
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), int(-(-p * len(ordered) // 100))))
    return ordered[rank - 1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--system-database-url", required=True, help="postgresql://... for DBOS's system database")
    parser.add_argument("--app-database-url", required=True, help="postgresql://... where the steps insert")
    parser.add_argument("--serial-steps", type=int, default=200)
    parser.add_argument("--workflows", type=int, default=16)
    parser.add_argument("--steps-per-workflow", type=int, default=25)
    parser.add_argument("--warmup-steps", type=int, default=20)
    parser.add_argument("--isolation-level", default="READ COMMITTED",
                        help="of the step transactions (DBOS defaults to SERIALIZABLE; ours run READ COMMITTED)")
    args = parser.parse_args()

    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    from dbos import DBOS, SQLAlchemyDatasource
    from importlib.metadata import version
    from sqlalchemy import text

    def psycopg_url(url):
        # SQLAlchemy picks psycopg2 for postgresql://; psycopg (3) is what is installed.
        return "postgresql+psycopg://" + url.split("://", 1)[1]

    DBOS(config={
        "name": "syncengine-bench",
        "system_database_url": args.system_database_url,
        "application_version": "syncengine-bench-1",
        "log_level": "WARNING",
        "sys_db_pool_size": args.workflows + 8,
    })
    ds = SQLAlchemyDatasource.create(
        psycopg_url(args.app_database_url),
        engine_kwargs={"pool_size": args.workflows + 4, "max_overflow": 4},
    )
    with ds.engine.begin() as connection:
        connection.execute(text("""
            CREATE TABLE IF NOT EXISTS dbos_bench_effects (
                workflow_id text NOT NULL, step integer NOT NULL, payload text NOT NULL,
                PRIMARY KEY (workflow_id, step))
        """))

    @ds.transaction(isolation_level=args.isolation_level)
    def insert_effect(workflow_id, step):
        ds.sql_session().execute(
            text("INSERT INTO dbos_bench_effects (workflow_id, step, payload) VALUES (:w, :s, :p)"),
            {"w": workflow_id, "s": step, "p": "effect"},
        )
        return step

    @DBOS.workflow()
    def steps_workflow(steps):
        workflow_id = DBOS.workflow_id
        latencies = []
        for step in range(steps):
            started = time.perf_counter()
            insert_effect(workflow_id, step)
            latencies.append((time.perf_counter() - started) * 1000)
        return latencies

    DBOS.launch()
    try:
        steps_workflow(args.warmup_steps)

        serial = steps_workflow(args.serial_steps)

        started = time.perf_counter()
        handles = [DBOS.start_workflow(steps_workflow, args.steps_per_workflow) for _ in range(args.workflows)]
        for handle in handles:
            handle.get_result()
        elapsed = time.perf_counter() - started
        total = args.workflows * args.steps_per_workflow
    finally:
        DBOS.destroy()

    print(json.dumps({
        "dbos_version": version("dbos"),
        "isolation_level": args.isolation_level,
        "serial_steps": len(serial),
        "serial_p50_ms": statistics.median(serial),
        "serial_p99_ms": percentile(serial, 99),
        "workflows": args.workflows,
        "steps_per_workflow": args.steps_per_workflow,
        "concurrent_steps": total,
        "concurrent_seconds": elapsed,
        "concurrent_steps_per_second": total / elapsed,
    }))


if __name__ == "__main__":
    main()
