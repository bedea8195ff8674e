-- Campaign records and their assignments, shared by every server and `lapse queue` using the
-- store: a name is bound to its settings (JSON of lapse_retention::campaign::Settings) for good,
-- and any server serves any campaign. Days are days since 1970-01-01.
CREATE TABLE campaigns (
    name TEXT PRIMARY KEY,
    settings TEXT NOT NULL,
    created_at TEXT NOT NULL,
    recorded_ms BIGINT NOT NULL
);
CREATE TABLE campaign_rows (
    campaign TEXT NOT NULL,
    position BIGINT NOT NULL,
    rank BIGINT NOT NULL,
    customer_id TEXT,
    policy_id TEXT NOT NULL,
    installment_no BIGINT NOT NULL,
    due_day BIGINT NOT NULL,
    action TEXT NOT NULL,
    arm TEXT NOT NULL,
    probability DOUBLE PRECISION NOT NULL,
    value_at_risk DOUBLE PRECISION NOT NULL,
    expected_gain DOUBLE PRECISION NOT NULL,
    segment TEXT NOT NULL,
    channel TEXT,
    product_type TEXT,
    region TEXT,
    agent_id TEXT,
    PRIMARY KEY (campaign, position)
);
