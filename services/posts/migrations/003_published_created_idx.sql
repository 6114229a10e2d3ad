-- The public list (published posts, newest first: every anonymous GET /posts)
-- from an index of only those posts and only its sort keys: a deep page's
-- OFFSET walks entries a third smaller than posts_status_created_idx's, with
-- no status column to read in each (issue 13: page 500's id scan 0.65 ->
-- 0.49 ms). posts_repo.c writes status = 'published' as a literal so that
-- the generic plan can prove this predicate.
CREATE INDEX posts_published_created_idx ON posts (created_at DESC, id DESC)
    WHERE deleted_at IS NULL AND status = 'published';
