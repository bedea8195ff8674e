-- Contact outcomes recorded by agents (POST /v1/outcomes, lapse outcomes import). Portable SQL:
-- the same statements run on SQLite and PostgreSQL. Days are days since 1970-01-01, instants
-- milliseconds since 1970-01-01 UTC.
CREATE TABLE outcomes (
    id TEXT PRIMARY KEY,
    policy_id TEXT NOT NULL,
    installment_no BIGINT NOT NULL,
    customer_id TEXT NOT NULL,
    action TEXT NOT NULL,
    result TEXT NOT NULL,
    at TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    day BIGINT NOT NULL,
    reason TEXT,
    promised_day BIGINT,
    agent_id TEXT,
    note TEXT,
    recorded_ms BIGINT NOT NULL
);
CREATE INDEX outcomes_policy ON outcomes (policy_id, at_ms);
CREATE INDEX outcomes_customer ON outcomes (customer_id, at_ms);
CREATE INDEX outcomes_recorded ON outcomes (recorded_ms);
