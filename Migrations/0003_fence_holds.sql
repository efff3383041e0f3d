-- 0003: fence checks that fail a statement instead of returning nothing.
--
-- A step whose effect is one statement commits effect and journal row in ONE statement (its own
-- transaction): `WITH effect AS (...) INSERT INTO workflow_steps ... sync_hold_shard_fence(...)`.
-- There is no later point at which the client could notice a stale fence and roll back, so the
-- check must abort the statement itself, effect included. Each function locks the fence row FOR
-- SHARE until the transaction ends (a takeover's bump waits for it, exactly as for the journal's
-- INSERT ... SELECT ... FOR SHARE) and raises SQLSTATE SYF01 when the value moved on.

CREATE FUNCTION sync_hold_shard_fence(held_shard integer, held_epoch bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    current_epoch bigint;
BEGIN
    SELECT epoch INTO current_epoch FROM shard_fences WHERE shard = held_shard FOR SHARE;
    IF current_epoch IS DISTINCT FROM held_epoch THEN
        RAISE EXCEPTION 'stale shard % epoch %: the current value is %', held_shard, held_epoch, coalesce(current_epoch::text, 'none')
            USING ERRCODE = 'SYF01';
    END IF;
    RETURN current_epoch;
END
$$;

CREATE FUNCTION sync_hold_leader_term(held_term bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    current_term bigint;
BEGIN
    SELECT term INTO current_term FROM leader_terms FOR SHARE;
    IF current_term IS DISTINCT FROM held_term THEN
        RAISE EXCEPTION 'stale leader term %: the current value is %', held_term, coalesce(current_term::text, 'none')
            USING ERRCODE = 'SYF01';
    END IF;
    RETURN current_term;
END
$$;
