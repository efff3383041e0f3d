-- 0005: internal ids ordered by creation time (the layout of UUID version 7).
--
-- Every canonical row's primary key, external_links' internal_id and both of the edges' indexes are
-- internal ids. Random ones (gen_random_uuid) scatter each page's inserts over the whole of every
-- such index, so a page dirties (and, after a checkpoint, writes in full to the WAL) about one index
-- page per row. Ids whose first 48 bits are the creation time in milliseconds put the rows of one
-- page next to each other, at the right edge of the indexes. Then the version (7) and 70 random bits
-- of gen_random_uuid (its variant bits kept), so ids stay unique without coordination between nodes.
-- One expression without FROM, so that the planner inlines the call.
CREATE FUNCTION sync_new_id() RETURNS uuid
LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
    SELECT encode(overlay(uuid_send(gen_random_uuid())
                          PLACING substring(int8send((date_part('epoch', clock_timestamp()) * 1000)::int8) FROM 3) || '\x70'::bytea
                          FROM 1 FOR 7), 'hex')::uuid
$$;
