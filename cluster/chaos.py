"""The chaos run behind cluster/chaos (see that script for usage).

Standard library only. It drives the local cluster through the cluster/ scripts, reads the journal
with psql, and talks to the simulator's control API. Every random choice comes from one seeded
generator, so a seed reproduces the schedule (what happens in between still depends on timing).
"""

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

# Faults per profile, by kind; the schedule is a seeded shuffle of these.
PROFILES = {
    "ci": {"faults": {"kill": 32, "stop": 3, "redis": 2, "postgres": 1, "storm429": 2, "burst5xx": 2, "latency": 2,
                      "mutation": 4},
           "interval": (2.0, 4.0), "nodes": 3, "orgs": 4, "people": 1500, "max_seconds": 900},
    "soak": {"faults": {"kill": 300, "stop": 50, "redis": 25, "postgres": 15, "storm429": 40, "burst5xx": 40,
                        "latency": 20, "mutation": 30},
             "interval": (0.5, 1.5), "nodes": 3, "orgs": 6, "people": 2000, "max_seconds": 4500},
    "failover": {"faults": {"kill": 25}, "interval": (3.0, 3.0), "nodes": 3, "orgs": 6, "people": 4000,
                 "max_seconds": 1200},
    # Storage faults in quick succession, with ownership moving in between: the mix that left
    # workflows hanging in the second soak.
    "storage": {"faults": {"postgres": 20, "redis": 10, "kill": 10, "stop": 5}, "interval": (2.0, 5.0), "nodes": 3,
                "orgs": 6, "people": 2000, "max_seconds": 1500},
}
LEASE_TTL_MS = 1200
LIVENESS_BOUND_S = 2 * LEASE_TTL_MS / 1000 + 0.5  # two lease TTLs, plus this script's polling


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run(command, check=True, quiet=True, env=None):
    result = subprocess.run(command, capture_output=quiet, text=True, env=env)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}): {result.stderr[-2000:] if quiet else ''}")
    return result


class Cluster:
    def __init__(self, cluster_dir):
        self.dir = cluster_dir
        self.env = {}
        with open(os.path.join(cluster_dir, "env")) as f:
            for line in f:
                match = re.match(r'export (\w+)="?(.*?)"?$', line.strip())
                if match:
                    self.env[match.group(1)] = match.group(2)
        self.nodes = self.env["SYNC_NODES"].split()
        self.sim = self.env["SYNC_PCO_SIM_URL"]
        self.engine = self.env["SYNC_ENGINE_BINARY"]
        port = re.search(r":(\d+)/", self.env["SYNC_POSTGRES_URL"]).group(1)
        self.psql = ["psql", "-X", "-q", "-h", "127.0.0.1", "-p", port, "-U", "postgres", "-d", self.env["SYNC_DATABASE"], "-tAc"]
        self.process_env = dict(os.environ, **self.env)

    def sql(self, query):
        for attempt in range(60):
            result = subprocess.run(self.psql + [query], capture_output=True, text=True)
            if result.returncode == 0:
                return [line.split("|") for line in result.stdout.strip().splitlines() if line]
            time.sleep(0.5)  # Postgres may be restarting (a fault): wait for it
        raise RuntimeError(f"psql failed: {result.stderr}")

    def scalar(self, query, default=None):
        rows = self.sql(query)
        return rows[0][0] if rows and rows[0][0] != "" else default

    def script(self, name, *args):
        return run([os.path.join(HERE, name), *args], env=self.process_env)

    def sim_post(self, path, body):
        request = urllib.request.Request(self.sim + path, data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")

    def sim_get(self, path):
        with urllib.request.urlopen(self.sim + path, timeout=60) as response:
            return json.loads(response.read())

    def admin_post(self, path, body):
        for url in self.env["SYNC_ADMIN_URLS"].split(","):
            try:
                request = urllib.request.Request(url + path, data=json.dumps(body).encode(), method="POST",
                                                 headers={"Content-Type": "application/json"})
                with urllib.request.urlopen(request, timeout=10) as response:
                    return json.loads(response.read())
            except Exception:
                continue
        return None

    def admin_get_all(self, path):
        """The answer of every node that answers, by admin URL."""
        answers = {}
        for url in self.env["SYNC_ADMIN_URLS"].split(","):
            try:
                with urllib.request.urlopen(url + path, timeout=10) as response:
                    answers[url] = json.loads(response.read())
            except Exception as error:
                answers[url] = f"no answer: {error}"
        return answers

    def pid(self, node):
        try:
            with open(os.path.join(self.dir, f"{node}.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None


def percentile(values, fraction):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


class Chaos:
    def __init__(self, cluster, rng, profile):
        self.c = cluster
        self.rng = rng
        self.profile = profile
        self.runs = {}          # run id -> org
        self.strategy_turn = {}
        self.injected = {}
        self.failovers = []     # seconds from kill -9 to the first step committed under a new epoch
        self.liveness = []      # seconds from kill -9 until every shard of the victim had a new owner
        self.unmeasured = 0
        self.late = []          # re-ownerships over the bound: (seconds, victim, the fault before, seconds since it ended)
        self.previous = (None, 0.0)  # the fault injected before the current one, and when it ended
        self.orgs = [o["id"] for o in cluster.sim_get("/__sim/orgs")]

    # ---- keeping every org busy ----
    def keep_syncing(self):
        active = {row[0] for row in self.c.sql("SELECT org_id FROM sync_runs WHERE state IN ('pending', 'running')")}
        for org in self.orgs:
            if org in active:
                continue
            turn = self.strategy_turn.get(org, 0)
            self.strategy_turn[org] = turn + 1
            strategy = "full" if turn % 3 != 2 else "delta"
            accepted = self.c.admin_post(f"/v1/orgs/{org}/syncs", {"strategy": strategy})
            if accepted:
                self.runs[accepted["run_id"].lower()] = org

    # ---- faults ----
    def inject(self, kind):
        self.injected[kind] = self.injected.get(kind, 0) + 1
        getattr(self, "fault_" + kind)()
        self.previous = (kind, time.time())

    def live_nodes(self):
        return [n for n in self.c.nodes if self.c.pid(n)]

    def fault_kill(self):
        # Prefer the owner of a shard that is syncing, so the failover has work to carry over.
        busy = self.c.sql("""
            SELECT DISTINCT f.owner, f.shard, f.epoch FROM shard_fences f JOIN workflow_steps s ON s.shard = f.shard
            JOIN sync_runs r ON r.id = s.run_id WHERE r.state = 'running' AND f.owner IS NOT NULL""")
        candidates = [row for row in busy if row[0] in self.live_nodes()]
        if self.profile != "failover" and self.rng.random() < 0.3:
            victim = self.rng.choice(self.live_nodes())   # anyone, the leader too
        elif candidates:
            victim = self.rng.choice(sorted(candidates))[0]
        else:
            victim = self.rng.choice(self.live_nodes())
        owned = {int(row[0]): int(row[1]) for row in self.c.sql(f"SELECT shard, epoch FROM shard_fences WHERE owner = '{victim}'")}
        busy_shards = {int(row[1]) for row in busy if row[0] == victim}
        killed_at = time.time()
        self.c.script("kill", victim)
        self.measure_failover(victim, killed_at, owned, busy_shards)
        time.sleep(self.rng.uniform(0.2, 1.5))
        self.c.script("restart", victim)

    def measure_failover(self, victim, killed_at, owned, busy_shards, timeout=20):
        deadline = killed_at + timeout
        liveness = failover = None
        while time.time() < deadline and (liveness is None or (busy_shards and failover is None)):
            if liveness is None and owned:
                shards = ",".join(map(str, owned))
                moved = self.c.scalar(f"SELECT count(*) FROM shard_fences WHERE shard IN ({shards}) AND owner IS NOT NULL AND owner <> '{victim}'")
                if int(moved or 0) == len(owned):
                    liveness = time.time() - killed_at
            if busy_shards and failover is None:
                clauses = " OR ".join(f"(shard = {s} AND fence_epoch > {owned[s]})" for s in busy_shards if s in owned)
                if clauses:
                    first = self.c.scalar(f"SELECT extract(epoch FROM min(committed_at)) FROM workflow_steps WHERE {clauses}")
                    if first:
                        failover = float(first) - killed_at
            time.sleep(0.05)
        if liveness is not None:
            self.liveness.append(liveness)
            if liveness > LIVENESS_BOUND_S:
                before, ended = self.previous
                self.late.append((liveness, victim, before, killed_at - ended))
                log(f"late re-ownership: {liveness:.2f} s after kill -9 of {victim}; the fault before was {before}, "
                    f"ended {killed_at - ended:.1f} s before the kill")
        if failover is not None:
            self.failovers.append(failover)
        elif busy_shards:
            self.unmeasured += 1

    def fault_stop(self):
        victim = self.rng.choice(self.live_nodes())
        self.c.script("stop", victim)
        time.sleep(LEASE_TTL_MS / 1000 + self.rng.uniform(0.5, 2.0))
        self.c.script("cont", victim)

    def fault_redis(self):
        run([os.path.join(HERE, "services"), "restart-redis"], env=self.c.process_env)

    def fault_postgres(self):
        run([os.path.join(HERE, "services"), "restart-postgres"], env=self.c.process_env)

    def fault_storm429(self):
        self.c.sim_post("/__sim/faults", {"force_429_count": self.rng.randint(20, 80)})

    def fault_burst5xx(self):
        self.c.sim_post("/__sim/faults", {"error_rate_5xx": round(self.rng.uniform(0.1, 0.4), 2)})
        time.sleep(self.rng.uniform(1.0, 3.0))
        self.c.sim_post("/__sim/faults", {"error_rate_5xx": 0})

    def fault_latency(self):
        self.c.sim_post("/__sim/faults", {"latency_ms": self.rng.randint(50, 300), "latency_jitter_ms": 50})
        time.sleep(self.rng.uniform(1.0, 3.0))
        self.c.sim_post("/__sim/faults", {"latency_ms": 0, "latency_jitter_ms": 0})

    def fault_mutation(self):
        org = self.rng.choice(self.orgs)
        self.c.sim_post("/__sim/mutate", {"org": org, "random": {"count": self.rng.randint(5, 30), "seed": self.rng.randint(1, 1 << 30)}})


def bench_results(profile, chaos, fmt):
    """Rows for cluster/bench/all (SYNC_BENCH_RESULTS), tab-separated like every benchmark's."""
    path = os.environ.get("SYNC_BENCH_RESULTS")
    if not path or not chaos.failovers:
        return
    p50, p99 = percentile(chaos.failovers, 0.5), percentile(chaos.failovers, 0.99)
    rows = [(f"failover, kill -9 to first commit by the new owner ({len(chaos.failovers)} kills, profile {profile})",
             f"p50 {fmt(p50)}, p99 {fmt(p99)}", "p50 <= 2 s, p99 <= 5 s",
             f"lease TTL {LEASE_TTL_MS} ms (the floor)", "", "met" if p50 <= 2 and p99 <= 5 else "MISSED")]
    if chaos.liveness:
        rows.append((f"every shard of the victim re-owned ({len(chaos.liveness)} kills)",
                     f"p50 {fmt(percentile(chaos.liveness, 0.5))}, max {fmt(max(chaos.liveness))}",
                     f"<= 2 x TTL + 0.5 s", "", "", "met" if max(chaos.liveness) <= 2 * LEASE_TTL_MS / 1000 + 0.5 else "MISSED"))
    with open(path, "a") as f:
        for row in rows:
            f.write("\t".join(row) + "\n")


def main():
    parser = argparse.ArgumentParser(prog="cluster/chaos")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="ci")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--nodes", type=int)
    parser.add_argument("--orgs", type=int)
    parser.add_argument("--people", type=int)
    parser.add_argument("--max-seconds", type=int)
    parser.add_argument("--release", action="store_true")
    parser.add_argument("--keep", action="store_true", help="leave the cluster running afterwards")
    args = parser.parse_args()
    profile = PROFILES[args.profile]
    nodes = args.nodes or profile["nodes"]
    orgs = args.orgs or profile["orgs"]
    people = args.people or profile["people"]
    max_seconds = args.max_seconds or profile["max_seconds"]
    if nodes < 2:
        sys.exit("cluster/chaos needs at least 2 nodes")
    rng = random.Random(args.seed)
    schedule = [kind for kind, count in sorted(profile["faults"].items()) for _ in range(count)]
    rng.shuffle(schedule)
    gaps = [rng.uniform(*profile["interval"]) for _ in schedule]

    cluster_dir = os.environ.get("SYNC_CLUSTER_DIR", os.path.join(REPO, ".cluster"))
    env = dict(os.environ, SYNC_LEASE_TTL_MS=str(LEASE_TTL_MS), SYNC_RENEW_INTERVAL_MS="150", SYNC_LOG_LEVEL="info")
    up = [os.path.join(HERE, "up"), "--nodes", str(nodes), "--orgs", str(orgs), "--people", str(people)]
    if args.release:
        up.append("--release")
    log(f"chaos profile {args.profile}, seed {args.seed}: {len(schedule)} faults {dict(sorted(profile['faults'].items()))} "
        f"on {nodes} nodes, {orgs} churches of {people} people, at most {max_seconds} s")
    run(up, env=env, quiet=True)
    cluster = Cluster(cluster_dir)
    violations = []
    started = time.time()
    try:
        chaos = Chaos(cluster, rng, args.profile)
        chaos.keep_syncing()
        time.sleep(2)
        for index, (kind, gap) in enumerate(zip(schedule, gaps)):
            if time.time() - started > max_seconds * 0.8:
                log(f"time bound reached after {index} faults; stopping the schedule")
                break
            chaos.keep_syncing()
            chaos.inject(kind)
            if (index + 1) % 10 == 0:
                log(f"{index + 1}/{len(schedule)} faults injected; failover p50 "
                    f"{percentile(chaos.failovers, 0.5) or 0:.2f} s over {len(chaos.failovers)}")
            time.sleep(gap)
        # Quiesce: clear API faults, every node up, every run to its end; then one last full sync
        # per church with the source at rest, whose result must equal the source.
        cluster.sim_post("/__sim/faults", {"error_rate_5xx": 0, "latency_ms": 0, "latency_jitter_ms": 0, "force_429_count": 0})
        for node in cluster.nodes:
            if not cluster.pid(node):
                cluster.script("restart", node)
        deadline = time.time() + 300
        while time.time() < deadline and cluster.scalar("SELECT count(*) FROM sync_runs WHERE state IN ('pending','running')") != "0":
            time.sleep(1)
        final_runs = []
        for org in chaos.orgs:
            accepted = cluster.admin_post(f"/v1/orgs/{org}/syncs", {"strategy": "full"})
            if accepted:
                final_runs.append(accepted["run_id"].lower())
                chaos.runs[accepted["run_id"].lower()] = org
        deadline = time.time() + 300
        while time.time() < deadline and cluster.scalar("SELECT count(*) FROM sync_runs WHERE state IN ('pending','running')") != "0":
            time.sleep(1)
        elapsed = time.time() - started
        unfinished = cluster.sql("SELECT id, org_id, state::text FROM sync_runs WHERE state IN ('pending','running')")
        for row in unfinished:
            violations.append(f"liveness: run {row[0]} of org {row[1]} still {row[2]} 5 minutes after the faults stopped")
        if unfinished:
            # What hangs: each node's workflows with their phase, and what Postgres is doing.
            for url, workflows in cluster.admin_get_all("/v1/workflows").items():
                log(f"workflows on {url}: {json.dumps(workflows)[:4000]}")
            for row in cluster.sql("""SELECT pid, state, wait_event_type || ':' || wait_event, now() - xact_start,
                                             left(regexp_replace(query, '\\s+', ' ', 'g'), 120)
                                      FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
                                      AND state <> 'idle'"""):
                log(f"postgres backend: {' | '.join(row)}")

        check = run([cluster.engine, "check"], check=False, env=cluster.process_env)
        if check.returncode != 0:
            violations.append("syncengine check: " + check.stdout.strip())
        states = {state: int(count) for state, count in cluster.sql("SELECT state::text, count(*) FROM sync_runs GROUP BY 1")}
        failed = cluster.sql("SELECT id, org_id, failure_reason FROM sync_runs WHERE state = 'failed'")
        for row in failed:
            violations.append(f"run {row[0]} of org {row[1]} failed: {row[2]}")
        rows = cluster.scalar("""SELECT sum(n) FROM (SELECT count(*) n FROM people UNION ALL SELECT count(*) FROM emails
            UNION ALL SELECT count(*) FROM phone_numbers UNION ALL SELECT count(*) FROM addresses UNION ALL SELECT count(*) FROM households
            UNION ALL SELECT count(*) FROM household_memberships UNION ALL SELECT count(*) FROM campuses UNION ALL SELECT count(*) FROM group_types
            UNION ALL SELECT count(*) FROM groups UNION ALL SELECT count(*) FROM events UNION ALL SELECT count(*) FROM memberships) t""")
        rejected = 0
        for node in cluster.nodes:
            try:
                with open(os.path.join(cluster.dir, f"{node}.log")) as f:
                    rejected += f.read().count("stale commit rejected by the shard fence")
            except OSError:
                pass
        committed_pages = int(cluster.scalar("SELECT count(*) FROM workflow_steps WHERE kind = 'page'", "0"))
        served = 0
        probes = 0
        try:
            log_entries = cluster.sim_get("/__sim/requests")
            entries = log_entries["requests"] if isinstance(log_entries, dict) else log_entries
            pages = [e for e in entries if e.get("method") == "GET" and e.get("status") == 200
                     and not e.get("path", "").startswith(("/oauth", "/__sim"))]
            # One-record probes that split a listing by created_at are not pages (see CreatedAtSplit).
            probes = sum(1 for e in pages if "per_page=1&" in e["path"] and "order=" in e["path"] and "created_at" in e["path"])
            served = len(pages) - probes
        except Exception as error:  # the report still prints without it
            log(f"cannot read the simulator's request log: {error}")
        liveness_bound = LIVENESS_BOUND_S
        late = [t for t in chaos.liveness if t > liveness_bound]
        if late:
            violations.append(f"liveness: {len(late)} failovers left shards unowned longer than {liveness_bound:.1f} s (max {max(late):.2f} s)")

        def fmt(value):
            return "-" if value is None else f"{value:.2f} s"

        print()
        print(f"chaos report: profile {args.profile}, seed {args.seed}, {nodes} nodes, {len(chaos.orgs)} churches of {people} people, "
              f"{elapsed:.0f} s")
        print(f"  faults injected     {sum(chaos.injected.values())}: " + ", ".join(f"{k} {v}" for k, v in sorted(chaos.injected.items())))
        print(f"  runs                {len(chaos.runs)}: " + ", ".join(f"{k} {v}" for k, v in sorted(states.items())))
        print(f"  canonical rows      {rows}")
        print(f"  stale commits       {rejected} rejected by the fence")
        if served >= committed_pages:
            print(f"  pages               {committed_pages} committed, {served} served by the API, "
                  f"{served - committed_pages} fetched again ({probes} created_at probes not counted)")
        else:  # the simulator's request log keeps only its most recent requests
            print(f"  pages               {committed_pages} committed; fetched again: unknown (the simulator's "
                  f"request log kept {served} of the requests)")
        print(f"  failover            kill -9 to first commit by the new owner over {len(chaos.failovers)} kills "
              f"({chaos.unmeasured} unmeasured): p50 {fmt(percentile(chaos.failovers, 0.5))}, "
              f"p99 {fmt(percentile(chaos.failovers, 0.99))}, max {fmt(max(chaos.failovers) if chaos.failovers else None)}")
        print(f"  shards re-owned     after kill -9, over {len(chaos.liveness)} kills: p50 {fmt(percentile(chaos.liveness, 0.5))}, "
              f"max {fmt(max(chaos.liveness) if chaos.liveness else None)} (bound {liveness_bound:.1f} s)")
        print(f"  invariants          {'all hold' if not violations else str(len(violations)) + ' VIOLATED'}")
        for violation in violations:
            print(f"    {violation}")
        for seconds, victim, before, since in chaos.late:
            print(f"    late: {seconds:.2f} s to re-own {victim}'s shards; the fault before it was {before}, "
                  f"{since:.1f} s before the kill")
        bench_results(args.profile, chaos, fmt)
    finally:
        if not args.keep:
            run([os.path.join(HERE, "down")], check=False, env=cluster.process_env)
    sys.exit(1 if violations else 0)


if __name__ == "__main__":
    main()
