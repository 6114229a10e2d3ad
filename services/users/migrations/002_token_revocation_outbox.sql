-- The outbox of token revocations (ARCHITECTURE.md "Runtime model"): the
-- auth service owns revocation state, but the changes that cause one
-- (password, role, disabling, deletion) are written here. Each such write
-- moves users.tokens_valid_after; this trigger queues the change in the
-- same transaction, and the service's relay delivers the queue to
-- AuthService.RevokeUserTokens until it is acknowledged, then deletes it.
-- not_before_ms rounds tokens_valid_after up to the millisecond: a token
-- whose iat_ms is before it was issued before the change (API.md §6).
CREATE TABLE token_revocation_outbox (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id       BIGINT NOT NULL,
    not_before_ms BIGINT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE FUNCTION queue_token_revocation() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.tokens_valid_after IS NOT NULL
       AND NEW.tokens_valid_after IS DISTINCT FROM OLD.tokens_valid_after THEN
        INSERT INTO users.token_revocation_outbox (user_id, not_before_ms)
        VALUES (NEW.id, ceil(extract(epoch FROM NEW.tokens_valid_after) * 1000)::bigint);
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER users_queue_token_revocation
    AFTER UPDATE OF tokens_valid_after ON users
    FOR EACH ROW EXECUTE FUNCTION queue_token_revocation();
