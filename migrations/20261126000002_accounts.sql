-- Accounts: password hashes (argon2id PHC strings), instance admins, session epochs
-- ("log out of all devices" raises the epoch) and the log-in attempts that rate limits
-- count. Sessions themselves live in tower_sessions.session (created by the store).

ALTER TABLE users
    ADD COLUMN password_hash text,
    ADD COLUMN is_admin boolean NOT NULL DEFAULT false,
    ADD COLUMN session_epoch integer NOT NULL DEFAULT 0,
    ADD CONSTRAINT demo_accounts_are_not_admins CHECK (NOT (is_demo AND is_admin));

CREATE TABLE login_attempts (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email        text NOT NULL,
    client_ip    inet,
    succeeded    boolean NOT NULL,
    attempted_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_attempts_by_email ON login_attempts (email, attempted_at);
CREATE INDEX login_attempts_by_ip ON login_attempts (client_ip, attempted_at);

-- The session store's table, as tower-sessions-sqlx-store expects it (its own migrate()
-- would race when several processes start together; a migration runs once).
CREATE SCHEMA IF NOT EXISTS tower_sessions;
CREATE TABLE IF NOT EXISTS tower_sessions.session (
    id          text PRIMARY KEY NOT NULL,
    data        bytea NOT NULL,
    expiry_date timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS session_expiry ON tower_sessions.session (expiry_date);
