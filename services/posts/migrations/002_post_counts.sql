-- Exact list totals without counting rows on every request (issue 8): the
-- number of live (not deleted) posts per (author_id, status), and per status
-- over every author under author_id 0. A trigger keeps the table in step
-- inside the writing transaction, so a total read in a snapshot is exactly
-- what count(*) would give in it. Only a title search (q) still counts rows.
CREATE TABLE post_counts (
    author_id BIGINT NOT NULL,
    status    TEXT NOT NULL,
    -- no CHECK (n >= 0): INSERT ... ON CONFLICT checks the proposed row,
    -- a negative delta, before it turns into the UPDATE of the count
    n         BIGINT NOT NULL,
    PRIMARY KEY (author_id, status)
);

-- One function for INSERT, UPDATE and DELETE (OLD or NEW is NULL when absent).
-- The deltas are applied in key order, so two transactions moving posts in
-- opposite directions (publish / unpublish) lock the shared rows in the same
-- order and cannot deadlock; rows whose delta sums to 0 are not touched.
CREATE FUNCTION post_counts_track() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_live INT := CASE WHEN TG_OP <> 'INSERT' AND OLD.deleted_at IS NULL THEN 1 ELSE 0 END;
    new_live INT := CASE WHEN TG_OP <> 'DELETE' AND NEW.deleted_at IS NULL THEN 1 ELSE 0 END;
    old_author BIGINT;
    old_status TEXT;
    new_author BIGINT;
    new_status TEXT;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        old_author := OLD.author_id;
        old_status := OLD.status;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        new_author := NEW.author_id;
        new_status := NEW.status;
    END IF;
    INSERT INTO posts.post_counts AS pc (author_id, status, n)
    SELECT a, s, sum(d) FROM (VALUES (old_author, old_status, -old_live),
                                     (0::BIGINT, old_status, -old_live),
                                     (new_author, new_status, new_live),
                                     (0::BIGINT, new_status, new_live)) AS v (a, s, d)
    WHERE a IS NOT NULL AND s IS NOT NULL
    GROUP BY a, s HAVING sum(d) <> 0
    ORDER BY a, s
    ON CONFLICT (author_id, status) DO UPDATE SET n = pc.n + EXCLUDED.n;
    RETURN NULL;
END
$$;

CREATE TRIGGER posts_count_insert AFTER INSERT OR DELETE ON posts
    FOR EACH ROW EXECUTE FUNCTION post_counts_track();
CREATE TRIGGER posts_count_update AFTER UPDATE ON posts
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status
          OR OLD.deleted_at IS DISTINCT FROM NEW.deleted_at
          OR OLD.author_id IS DISTINCT FROM NEW.author_id)
    EXECUTE FUNCTION post_counts_track();

INSERT INTO post_counts (author_id, status, n)
SELECT author_id, status, count(*) FROM posts WHERE deleted_at IS NULL GROUP BY author_id, status
UNION ALL
SELECT 0, status, count(*) FROM posts WHERE deleted_at IS NULL GROUP BY status;
