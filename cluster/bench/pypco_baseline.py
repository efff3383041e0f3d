"""The "straightforward script a user might write instead" of the sync engine.

pypco pages People with their emails, phone numbers and addresses included (per_page=100) and
psycopg writes every record with its own INSERT ... ON CONFLICT DO UPDATE, committing once per
page of 100 people. It writes 4 tables (people, emails, phone_numbers, addresses) in a scratch
database of its own. Run by cluster/bench/pypco-baseline, which starts the simulator; one run per
--runs, each on freshly created tables, timed from the first request to the last commit.

Output: one line per run and a final machine-readable line
    PYPCO median_rows_per_s=... median_seconds=... rows=... people=... runs=r1,r2,...
"""

import argparse
import statistics
import sys
import time

import psycopg
from psycopg.types.json import Jsonb
from pypco import PCO

SCHEMA = """
DROP TABLE IF EXISTS people, emails, phone_numbers, addresses;
CREATE TABLE people (
    id bigint PRIMARY KEY,
    first_name text,
    last_name text,
    status text,
    created_at timestamptz,
    updated_at timestamptz,
    attributes jsonb NOT NULL,
    synced_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE emails (
    id bigint PRIMARY KEY,
    person_id bigint NOT NULL,
    address text,
    location text,
    is_primary boolean,
    updated_at timestamptz,
    attributes jsonb NOT NULL,
    synced_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE phone_numbers (
    id bigint PRIMARY KEY,
    person_id bigint NOT NULL,
    number text,
    location text,
    is_primary boolean,
    updated_at timestamptz,
    attributes jsonb NOT NULL,
    synced_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE addresses (
    id bigint PRIMARY KEY,
    person_id bigint NOT NULL,
    street_line_1 text,
    city text,
    state text,
    zip text,
    location text,
    is_primary boolean,
    updated_at timestamptz,
    attributes jsonb NOT NULL,
    synced_at timestamptz NOT NULL DEFAULT now()
);
"""

UPSERT_PERSON = """
INSERT INTO people (id, first_name, last_name, status, created_at, updated_at, attributes)
VALUES (%s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (id) DO UPDATE SET first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name,
    status = EXCLUDED.status, created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at,
    attributes = EXCLUDED.attributes, synced_at = now()
"""
UPSERT_EMAIL = """
INSERT INTO emails (id, person_id, address, location, is_primary, updated_at, attributes)
VALUES (%s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (id) DO UPDATE SET person_id = EXCLUDED.person_id, address = EXCLUDED.address,
    location = EXCLUDED.location, is_primary = EXCLUDED.is_primary, updated_at = EXCLUDED.updated_at,
    attributes = EXCLUDED.attributes, synced_at = now()
"""
UPSERT_PHONE = """
INSERT INTO phone_numbers (id, person_id, number, location, is_primary, updated_at, attributes)
VALUES (%s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (id) DO UPDATE SET person_id = EXCLUDED.person_id, number = EXCLUDED.number,
    location = EXCLUDED.location, is_primary = EXCLUDED.is_primary, updated_at = EXCLUDED.updated_at,
    attributes = EXCLUDED.attributes, synced_at = now()
"""
UPSERT_ADDRESS = """
INSERT INTO addresses (id, person_id, street_line_1, city, state, zip, location, is_primary,
    updated_at, attributes)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (id) DO UPDATE SET person_id = EXCLUDED.person_id,
    street_line_1 = EXCLUDED.street_line_1, city = EXCLUDED.city, state = EXCLUDED.state,
    zip = EXCLUDED.zip, location = EXCLUDED.location, is_primary = EXCLUDED.is_primary,
    updated_at = EXCLUDED.updated_at, attributes = EXCLUDED.attributes, synced_at = now()
"""

PER_PAGE = 100


def sync_people(pco, conn):
    """The user's sync loop: returns the number of upserts it executed."""
    statements = 0
    people = 0
    with conn.cursor() as cur:
        for record in pco.iterate('/people/v2/people', per_page=PER_PAGE,
                                  include='emails,phone_numbers,addresses'):
            person = record['data']
            a = person['attributes']
            cur.execute(UPSERT_PERSON, (int(person['id']), a.get('first_name'), a.get('last_name'),
                                        a.get('status'), a.get('created_at'), a.get('updated_at'),
                                        Jsonb(a)))
            statements += 1
            for inc in record['included']:
                ia = inc['attributes']
                if inc['type'] == 'Email':
                    cur.execute(UPSERT_EMAIL, (int(inc['id']), int(person['id']), ia.get('address'),
                                               ia.get('location'), ia.get('primary'),
                                               ia.get('updated_at'), Jsonb(ia)))
                elif inc['type'] == 'PhoneNumber':
                    cur.execute(UPSERT_PHONE, (int(inc['id']), int(person['id']), ia.get('number'),
                                               ia.get('location'), ia.get('primary'),
                                               ia.get('updated_at'), Jsonb(ia)))
                elif inc['type'] == 'Address':
                    cur.execute(UPSERT_ADDRESS, (int(inc['id']), int(person['id']),
                                                 ia.get('street_line_1'), ia.get('city'),
                                                 ia.get('state'), ia.get('zip'), ia.get('location'),
                                                 ia.get('primary'), ia.get('updated_at'), Jsonb(ia)))
                else:
                    continue
                statements += 1
            people += 1
            if people % PER_PAGE == 0:
                conn.commit()  # one transaction per page of people
    conn.commit()
    return statements


def count_rows(conn):
    with conn.cursor() as cur:
        cur.execute("""SELECT (SELECT count(*) FROM people), (SELECT count(*) FROM emails),
                              (SELECT count(*) FROM phone_numbers), (SELECT count(*) FROM addresses)""")
        return cur.fetchone()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--api-base', required=True, help='simulator URL, e.g. http://127.0.0.1:PORT')
    parser.add_argument('--app-id', required=True, help='personal access token application id')
    parser.add_argument('--secret', required=True, help='personal access token secret')
    parser.add_argument('--dsn', required=True, help='scratch database (its 4 tables are recreated)')
    parser.add_argument('--runs', type=int, default=3)
    args = parser.parse_args()

    rates, seconds_list, rows = [], [], None
    for run in range(1, args.runs + 1):
        with psycopg.connect(args.dsn, autocommit=True) as admin:
            admin.execute(SCHEMA)
        with psycopg.connect(args.dsn) as conn:
            start = time.perf_counter()
            pco = PCO(application_id=args.app_id, secret=args.secret, api_base=args.api_base)
            statements = sync_people(pco, conn)
            seconds = time.perf_counter() - start
            counts = count_rows(conn)
        rows = sum(counts)
        rate = rows / seconds
        rates.append(rate)
        seconds_list.append(seconds)
        print(f"  pypco run {run}: {rows} rows (people {counts[0]}, emails {counts[1]}, "
              f"phone_numbers {counts[2]}, addresses {counts[3]}; {statements} upserts) "
              f"in {seconds:.2f} s = {rate:.0f} rows/s", flush=True)
    print(f"PYPCO median_rows_per_s={statistics.median(rates):.0f} "
          f"median_seconds={statistics.median(seconds_list):.3f} rows={rows} people={counts[0]} "
          f"runs={','.join(f'{r:.0f}' for r in rates)}", flush=True)


if __name__ == '__main__':
    sys.exit(main())
