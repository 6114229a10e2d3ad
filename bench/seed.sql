-- bench/seed.sql - the benchmark's data set, written straight into PostgreSQL
-- once the services have applied their migrations (bench/run.sh):
--
--   psql -v ON_ERROR_STOP=1 -v users=10000 -v posts=50000 -v comments=50000 \
--        -v admin_email=admin@bench.example -f bench/seed.sql
--
-- * users.users grows to :users accounts in all (the admin bootstrapped by the
--   users service is the first), ids 1..:users. Every seeded account has the
--   admin's password hash (one real argon2id hash, computed once by the users
--   service), so any of them can log in with the admin's password.
--   created_at is spread over the last two years, in id order.
-- * posts.posts gets :posts posts by authors drawn uniformly from every user;
--   9 in 10 published (published_at set, as the service sets it), 1 in 10
--   drafts (published_at NULL); created_at spread over the last two years.
-- * posts.comments gets :comments comments on published posts, after the
--   post was published; posts.comment_count is then recomputed from them,
--   as posts_repo_add_comment_count keeps it (non-deleted comments only).
--
-- Ids come from the identity columns (no sequence to fix afterwards). The
-- random draws are seeded: the same data on every run. Triggers stay on, so
-- whatever the schemas derive from these rows themselves (posts.post_counts)
-- is exactly what the services would have; that per-row trigger is most of
-- the time (about 20 s here for 50,000 posts; 3 s without it).

\set ON_ERROR_STOP 1
BEGIN;

SELECT setseed(0.42) AS bench_seeded \gset

INSERT INTO users.users (email, name, password_hash, role, is_active, is_verified, version,
                         created_at, updated_at)
SELECT format('bench%s@bench.example', g),
       format('Bench User %s', g),
       h.password_hash,
       'user', true, g % 3 <> 0, 1, t.at, t.at
FROM (SELECT password_hash FROM users.users
      WHERE email = :'admin_email' AND deleted_at IS NULL) h,
     generate_series((SELECT count(*) FROM users.users) + 1, :users) g,
     LATERAL (SELECT now() - interval '730 days' * (1 - g::float8 / :users)
                     - interval '1 hour' * random() AS at) t;

-- psql does not expand variables inside $$ quotes: the count goes through a setting.
SELECT set_config('bench.users', :'users', true) AS bench_users \gset
DO $$
BEGIN
    IF (SELECT count(*) FROM users.users WHERE deleted_at IS NULL)
       <> current_setting('bench.users')::bigint THEN
        RAISE EXCEPTION 'seed: expected % users (is the admin bootstrapped?)',
            current_setting('bench.users');
    END IF;
END
$$;

-- Random picks join numbered lists (n = 1..count) rather than index arrays:
-- an array read per row would be copied per row (seconds become minutes).
CREATE TEMP TABLE bench_authors ON COMMIT DROP AS
    SELECT row_number() OVER (ORDER BY id) AS n, id FROM users.users WHERE deleted_at IS NULL;

-- Rows go in in g order, so that ids grow with created_at as in real life.
INSERT INTO posts.posts (author_id, title, body, status, comment_count, version,
                         created_at, updated_at, published_at)
SELECT a.id, s.title, s.body, s.status, 0, 1, s.created_at,
       coalesce(s.published_at, s.created_at), s.published_at
FROM (SELECT g,
             1 + floor(random() * :users)::bigint AS pick,
             format('Post %s: notes on %s', g,
                    (ARRAY['caching', 'PostgreSQL', 'gRPC', 'latency', 'pagination', 'Redis',
                           'tokens', 'rate limits', 'migrations', 'observability'])[1 + g % 10])
                 AS title,
             repeat('Lorem ipsum dolor sit amet, consectetur adipiscing elit. ', 2 + g % 9)
                 AS body,
             CASE WHEN g % 10 = 0 THEN 'draft' ELSE 'published' END AS status,
             c.at AS created_at,
             CASE WHEN g % 10 = 0 THEN NULL
                  ELSE least(c.at + interval '1 minute' * floor(random() * 120), now())
             END AS published_at
      FROM generate_series(1, :posts) g,
           LATERAL (SELECT now() - interval '730 days' * (1 - g::float8 / :posts)
                           - interval '1 hour' * random() AS at) c) s
     JOIN bench_authors a ON a.n = s.pick
ORDER BY s.g;

CREATE TEMP TABLE bench_published ON COMMIT DROP AS
    SELECT row_number() OVER (ORDER BY id) AS n, id, published_at FROM posts.posts
    WHERE status = 'published' AND deleted_at IS NULL;

-- A comment comes up to 3 days after its post was published (never in the future).
INSERT INTO posts.comments (post_id, author_id, body, created_at, updated_at)
SELECT p.id, a.id, format('Comment %s: agreed.', s.g), t.at, t.at
FROM (SELECT g,
             1 + floor(random() * (SELECT count(*) FROM bench_published))::bigint AS post_pick,
             1 + floor(random() * :users)::bigint AS author_pick,
             interval '1 minute' * floor(random() * 4320) AS after
      FROM generate_series(1, :comments) g) s
     JOIN bench_published p ON p.n = s.post_pick
     JOIN bench_authors a ON a.n = s.author_pick
     CROSS JOIN LATERAL (SELECT least(p.published_at + s.after, now()) AS at) t
ORDER BY t.at, s.g;

UPDATE posts.posts p SET comment_count = c.n
FROM (SELECT post_id, count(*) AS n FROM posts.comments
      WHERE deleted_at IS NULL GROUP BY post_id) c
WHERE p.id = c.post_id;

COMMIT;

-- Fresh statistics and visibility map, as on a server that has been running
-- a while: every table of the database (the trigger-kept counts rows were
-- rewritten once per post above and are mostly dead versions until vacuumed).
-- A second pass marks all-visible the pages whose dead versions the first one
-- removed (PostgreSQL 15 leaves many of them unmarked), so index-only scans
-- do not read the table (measured: OFFSET 9980 in 9 ms instead of 1.5 ms).
VACUUM (ANALYZE);
VACUUM;

SELECT format('seed: %s users, %s posts (%s published), %s comments',
              (SELECT count(*) FROM users.users),
              (SELECT count(*) FROM posts.posts),
              (SELECT count(*) FROM posts.posts WHERE status = 'published'),
              (SELECT count(*) FROM posts.comments));
