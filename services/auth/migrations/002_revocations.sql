-- Revocation state, owned by this service (ARCHITECTURE.md "Runtime model"):
-- one row per change, numbered by the feed. Every process that accepts
-- credentials holds the live rows in memory and follows new ones through
-- AuthService.WatchRevocations, resuming from the last seq it applied.

-- The feed: its identity (a copy made from another feed must reload) and
-- its head. A writer takes the next seq with UPDATE ... head = head + 1,
-- which holds this row's lock until it commits: seqs therefore commit in
-- order, and a reader that sees seq N has seen every change before it.
CREATE TABLE revocation_feed (
    singleton BOOLEAN PRIMARY KEY DEFAULT true CHECK (singleton),
    feed_id   TEXT NOT NULL DEFAULT gen_random_uuid()::text,
    head      BIGINT NOT NULL DEFAULT 0
);
INSERT INTO revocation_feed DEFAULT VALUES;

-- Either a logged-out access token (jti, refused until it expires) or a
-- user's not-before (every token of user_id with iat_ms < not_before_ms is
-- refused). expires_at_ms: after it the row refuses nothing and is deleted.
CREATE TABLE revocations (
    seq           BIGINT PRIMARY KEY,
    jti           TEXT,
    user_id       BIGINT,
    not_before_ms BIGINT,
    expires_at_ms BIGINT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK ((jti IS NULL) <> (user_id IS NULL)),
    CHECK (user_id IS NULL OR not_before_ms IS NOT NULL)
);

CREATE INDEX revocations_expires_at_ms_idx ON revocations (expires_at_ms);
CREATE INDEX revocations_user_id_idx ON revocations (user_id) WHERE user_id IS NOT NULL;
