-- 0004: deleting a page's stale edges with a snapshot of its own.
--
-- A page is one statement (links, rows, edges as CTEs), and every CTE of a statement reads the
-- snapshot taken when the statement started. When another transaction writes the same record at
-- the same time, the page's row upsert waits for it and then updates the row it committed; but a
-- stale-edge lookup on the statement's snapshot would not see the edges that transaction added, and
-- both pages' edges would survive. A VOLATILE function takes a fresh snapshot for each query it runs,
-- so this DELETE, called once the page's rows are written and locked, sees every edge committed
-- before it got those locks: the last writer of a record replaces its edges, as when each page
-- wrote its edges in a statement of their own.
--
-- Each asserted (source, relationship) is looked up by primary key in a LATERAL subquery that
-- OFFSET 0 keeps from being flattened (as a join, statistics taken while the table was small made
-- the planner scan all of an org's edges for every page); stale edges are deleted by TID.
CREATE FUNCTION sync_delete_stale_edges(
    page_org text, asserted_sources uuid[], asserted_relationships text[],
    wanted_sources uuid[], wanted_relationships text[], wanted_targets uuid[]
) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    deleted bigint;
BEGIN
    WITH wanted AS (
        SELECT * FROM unnest(wanted_sources, wanted_relationships, wanted_targets) AS w(source_id, relationship, target_id)
    ), stale AS (
        DELETE FROM edges e
        USING unnest(asserted_sources, asserted_relationships) AS a(source_id, relationship)
        CROSS JOIN LATERAL (
            SELECT x.ctid AS found FROM edges x
            WHERE x.org_id = page_org AND x.source_id = a.source_id AND x.relationship = a.relationship
            OFFSET 0
        ) f
        WHERE e.ctid = f.found
          AND NOT EXISTS (SELECT 1 FROM wanted w WHERE w.source_id = e.source_id
                          AND w.relationship = e.relationship AND w.target_id = e.target_id)
        RETURNING 1
    )
    SELECT count(*) INTO deleted FROM stale;
    RETURN deleted;
END
$$;
