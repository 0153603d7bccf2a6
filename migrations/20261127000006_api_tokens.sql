-- Personal API tokens: the secret is shown once at creation and stored only as its
-- SHA-256 (a token is 256 random bits, so a fast hash is the right one); `prefix` is the
-- start of the token, kept so that members can tell their tokens apart.
CREATE TABLE api_tokens (
    id           bigserial PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
    scope        text NOT NULL CHECK (scope IN ('read', 'write')),
    prefix       text NOT NULL,
    secret_hash  bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX api_tokens_user ON api_tokens (user_id, created_at DESC);

-- Requests per token per minute, for the rate limit (shared by every process).
CREATE TABLE api_rate_windows (
    token_id     bigint NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    window_start timestamptz NOT NULL,
    requests     integer NOT NULL,
    PRIMARY KEY (token_id, window_start)
);
