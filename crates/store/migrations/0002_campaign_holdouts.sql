-- The customers each campaign holds out as control, and the day its outcome window closes
-- (the last control renewal's due date plus the grace days): until then no other list may
-- contact them (the plain work list, another campaign), on any server sharing the store.
CREATE TABLE campaign_holdouts (
    campaign TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    until_day BIGINT NOT NULL,
    recorded_ms BIGINT NOT NULL,
    PRIMARY KEY (campaign, customer_id)
);
CREATE INDEX campaign_holdouts_until ON campaign_holdouts (until_day);
