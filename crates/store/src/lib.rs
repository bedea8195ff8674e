//! lapse store: the contact outcomes agents record and the customers campaigns hold out, kept
//! in a real database. An embedded
//! SQLite file by default (`sqlite://PATH`, nothing to install; WAL with full sync, so an
//! outcome acknowledged is on disk), PostgreSQL when several servers share one state
//! (`postgres://...`). One code path: sqlx's Any driver runs the same SQL on both (`$N`
//! placeholders, which SQLite binds by number too; `BIGINT` and `TEXT` columns; `ON CONFLICT DO
//! NOTHING`). The schema is versioned (`migrations/`, embedded at compile time) and migrated at
//! open; a database migrated by a newer binary is refused.

use std::str::FromStr;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};

use lapse_core::dates::Day;
use lapse_retention::campaign::store::{Record, Stored};
use lapse_retention::campaign::{Arm, Campaign, CampaignRow, Settings};
use lapse_retention::outcomes::{ContactResult, Outcome};

/// The migrations, embedded.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Which database a store is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store URL {url:?}: use sqlite://PATH or postgres://USER@HOST:PORT/DB")]
    Url { url: String },
    #[error("store {url}: {source}")]
    Open { url: String, source: sqlx::Error },
    /// The database was migrated by a newer lapse: this binary does not know its schema.
    #[error(
        "store {url}: the database has schema version {found}, newer than this binary's {known}: run the lapse that migrated it (or a newer one)"
    )]
    NewerDatabase { url: String, found: i64, known: i64 },
    #[error("store {url}: migrating: {source}")]
    Migrate { url: String, source: sqlx::migrate::MigrateError },
    /// An outcome id already stored with other content (the batch was stored in no part).
    #[error("outcomes[{index}].id: {id:?} is already recorded with other content")]
    Conflict { index: usize, id: String },
    #[error("store: {0}")]
    Query(#[from] sqlx::Error),
    #[error("store: a stored outcome {id:?} is unreadable: {reason}")]
    Corrupt { id: String, reason: String },
    /// A campaign name stored (by any server or command sharing the store) with other settings.
    #[error("campaign {name:?} exists with other settings ({differences}); choose a new name")]
    CampaignConflict { name: String, differences: String },
}

impl StoreError {
    /// Whether the caller's input is at fault (a bad URL, a conflicting outcome).
    pub fn is_input(&self) -> bool {
        matches!(self, StoreError::Url { .. } | StoreError::Conflict { .. } | StoreError::CampaignConflict { .. })
    }
}

/// What a batch did: outcomes stored, and outcomes already stored with the same content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Recorded {
    pub recorded: usize,
    pub duplicates: usize,
}

/// An open store.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    url: String,
}

/// An outcome's columns, in the order the statements name them (a macro: the SQL stays literal,
/// so every statement is a constant string with bound parameters).
macro_rules! columns {
    () => {
        "id, policy_id, installment_no, customer_id, action, result, at, at_ms, day, reason, promised_day, agent_id, note"
    };
}

impl Store {
    /// Opens (creating a SQLite file when missing) and migrates the store at `url`.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let (backend, connect_url) = if let Some(rest) = url.strip_prefix("sqlite://") {
            if rest.is_empty() {
                return Err(StoreError::Url { url: url.to_string() });
            }
            // Created when missing; WAL with full sync is set on every connection below.
            let sep = if rest.contains('?') { '&' } else { '?' };
            (Backend::Sqlite, if rest.contains("mode=") { url.to_string() } else { format!("{url}{sep}mode=rwc") })
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Backend::Postgres, url.to_string())
        } else {
            return Err(StoreError::Url { url: url.to_string() });
        };
        let shown = redact(url);
        let options = AnyConnectOptions::from_str(&connect_url).map_err(|source| StoreError::Open { url: shown.clone(), source })?;
        let pool = AnyPoolOptions::new()
            // SQLite has one writer; more connections only queue on its lock.
            .max_connections(if backend == Backend::Sqlite { 4 } else { 16 })
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // An acknowledged outcome survives a crash and a power cut: the WAL is
                        // synced at every commit.
                        for pragma in ["PRAGMA journal_mode = WAL", "PRAGMA synchronous = FULL", "PRAGMA busy_timeout = 10000"] {
                            sqlx::query(pragma).execute(&mut *conn).await?;
                        }
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Open { url: shown.clone(), source })?;
        let store = Store { pool, backend, url: shown };
        store.migrate().await?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The URL, its password hidden.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The newest schema version this binary knows.
    pub fn schema_version() -> i64 {
        MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let known = Self::schema_version();
        // A database migrated further than this binary knows is refused before anything runs.
        let applied: Option<i64> = match sqlx::query("SELECT MAX(version) FROM _sqlx_migrations WHERE success = TRUE").fetch_one(&self.pool).await {
            Ok(row) => row.try_get::<Option<i64>, _>(0).ok().flatten(),
            Err(_) => None,
        };
        if let Some(found) = applied.filter(|&v| v > known) {
            return Err(StoreError::NewerDatabase { url: self.url.clone(), found, known });
        }
        MIGRATOR.run(&self.pool).await.map_err(|source| StoreError::Migrate { url: self.url.clone(), source })
    }

    /// Stores a checked batch atomically: every outcome, or none. An id already stored with the
    /// same content is a duplicate (counted, not stored twice); with other content the whole
    /// batch is refused ([`StoreError::Conflict`]). Safe under concurrent writers on one
    /// database (the insert decides, not a prior read).
    pub async fn record(&self, batch: &[Outcome], recorded_ms: i64) -> Result<Recorded, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut out = Recorded::default();
        const INSERT: &str = concat!(
            "INSERT INTO outcomes (",
            columns!(),
            ", recorded_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT (id) DO NOTHING"
        );
        for (index, o) in batch.iter().enumerate() {
            let done = sqlx::query(INSERT)
                .bind(o.id.clone())
                .bind(o.policy_id.clone())
                .bind(i64::from(o.installment_no))
                .bind(o.customer_id.clone())
                .bind(o.action.clone())
                .bind(o.result.as_str().to_string())
                .bind(o.at.clone())
                .bind(o.at_ms)
                .bind(i64::from(o.day))
                .bind(o.reason.clone())
                .bind(o.promised_date.map(i64::from))
                .bind(o.agent_id.clone())
                .bind(o.note.clone())
                .bind(recorded_ms)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 1 {
                out.recorded += 1;
                continue;
            }
            let row = sqlx::query(concat!("SELECT ", columns!(), " FROM outcomes WHERE id = $1")).bind(o.id.clone()).fetch_one(&mut *tx).await?;
            if from_row(&row)? == *o {
                out.duplicates += 1;
            } else {
                tx.rollback().await?;
                return Err(StoreError::Conflict { index, id: o.id.clone() });
            }
        }
        tx.commit().await?;
        Ok(out)
    }

    /// A policy's outcomes, newest first.
    pub async fn of_policy(&self, policy_id: &str) -> Result<Vec<Outcome>, StoreError> {
        self.select(concat!("SELECT ", columns!(), " FROM outcomes WHERE policy_id = $1 ORDER BY at_ms DESC, id DESC"), policy_id).await
    }

    /// A customer's outcomes, newest first.
    pub async fn of_customer(&self, customer_id: &str) -> Result<Vec<Outcome>, StoreError> {
        self.select(concat!("SELECT ", columns!(), " FROM outcomes WHERE customer_id = $1 ORDER BY at_ms DESC, id DESC"), customer_id).await
    }

    async fn select(&self, sql: &'static str, key: &str) -> Result<Vec<Outcome>, StoreError> {
        let rows = sqlx::query(sql).bind(key.to_string()).fetch_all(&self.pool).await?;
        rows.iter().map(from_row).collect()
    }

    /// Every outcome recorded at or after `since_ms` (the server's clock when it was stored),
    /// oldest first: what a server reads at start (from 0) and to catch up with other servers.
    pub async fn recorded_since(&self, since_ms: i64) -> Result<Vec<Outcome>, StoreError> {
        let rows = sqlx::query(concat!("SELECT ", columns!(), " FROM outcomes WHERE recorded_ms >= $1 ORDER BY recorded_ms, id"))
            .bind(since_ms)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// How many outcomes are stored.
    pub async fn count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT COUNT(*) FROM outcomes").fetch_one(&self.pool).await?.try_get::<i64, _>(0)?)
    }

    /// Records the customers `campaign` holds out until `until` (its outcome window's last
    /// day); a customer already recorded for the campaign keeps its row. Returns the rows added.
    pub async fn hold_out(&self, campaign: &str, customers: &[String], until: Day, recorded_ms: i64) -> Result<usize, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut added = 0;
        for customer in customers {
            let done = sqlx::query(
                "INSERT INTO campaign_holdouts (campaign, customer_id, until_day, recorded_ms) VALUES ($1, $2, $3, $4) ON CONFLICT (campaign, customer_id) DO NOTHING",
            )
            .bind(campaign.to_string())
            .bind(customer.clone())
            .bind(i64::from(until))
            .bind(recorded_ms)
            .execute(&mut *tx)
            .await?;
            added += done.rows_affected() as usize;
        }
        tx.commit().await?;
        Ok(added)
    }

    /// Every holdout whose window is open on `day` (its last day not before it).
    pub async fn holdouts_open(&self, day: Day) -> Result<Vec<Holdout>, StoreError> {
        let rows = sqlx::query("SELECT campaign, customer_id, until_day FROM campaign_holdouts WHERE until_day >= $1 ORDER BY campaign, customer_id")
            .bind(i64::from(day))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let until: i64 = row.try_get("until_day")?;
                let campaign: String = row.try_get("campaign")?;
                let until = i32::try_from(until).map_err(|_| StoreError::Corrupt { id: campaign.clone(), reason: format!("until_day {until}") })?;
                Ok(Holdout { campaign, customer_id: row.try_get("customer_id")?, until })
            })
            .collect()
    }

    /// How many holdout rows are stored (a server reads them again when this changes).
    pub async fn holdout_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT COUNT(*) FROM campaign_holdouts").fetch_one(&self.pool).await?.try_get::<i64, _>(0)?)
    }

    /// Stores a campaign's record and assignment in one transaction, or confirms it is stored
    /// with the same settings; a name stored with other settings is refused
    /// ([`StoreError::CampaignConflict`]) and nothing is written. The insert of the name
    /// decides, so two servers creating one name at once cannot both win.
    pub async fn save_campaign(&self, campaign: &Campaign, created_at: &str, recorded_ms: i64) -> Result<Stored, StoreError> {
        let s = &campaign.settings;
        let settings = serde_json::to_string(s).map_err(|e| StoreError::Corrupt { id: s.name.clone(), reason: e.to_string() })?;
        let mut tx = self.pool.begin().await?;
        let inserted =
            sqlx::query("INSERT INTO campaigns (name, settings, created_at, recorded_ms) VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING")
                .bind(s.name.clone())
                .bind(settings)
                .bind(created_at.to_string())
                .bind(recorded_ms)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if inserted == 0 {
            let row = sqlx::query("SELECT settings FROM campaigns WHERE name = $1").bind(s.name.clone()).fetch_one(&mut *tx).await?;
            let stored: Settings = parse_settings(&s.name, &row.try_get::<String, _>("settings")?)?;
            tx.rollback().await?;
            let differences = lapse_retention::campaign::store::differences(&stored, s);
            return if differences.is_empty() {
                Ok(Stored::Existing)
            } else {
                Err(StoreError::CampaignConflict { name: s.name.clone(), differences })
            };
        }
        for (position, r) in campaign.rows.iter().enumerate() {
            sqlx::query(concat!(
                "INSERT INTO campaign_rows (campaign, position, rank, customer_id, policy_id, installment_no, due_day, action, arm, ",
                "probability, value_at_risk, expected_gain, segment, channel, product_type, region, agent_id) ",
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
            ))
            .bind(s.name.clone())
            .bind(position as i64)
            .bind(i64::from(r.rank))
            .bind(r.customer_id.clone())
            .bind(r.policy_id.clone())
            .bind(i64::from(r.installment_no))
            .bind(i64::from(r.due_date))
            .bind(r.action.clone())
            .bind(r.arm.as_str().to_string())
            .bind(r.probability)
            .bind(r.value_at_risk)
            .bind(r.expected_gain)
            .bind(r.segment.clone())
            .bind(r.channel.clone())
            .bind(r.product_type.clone())
            .bind(r.region.clone())
            .bind(r.agent_id.clone())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Stored::Created)
    }

    /// A stored campaign (its record and rows, in list order), if any.
    pub async fn campaign(&self, name: &str) -> Result<Option<(Record, Campaign)>, StoreError> {
        let Some(head) =
            sqlx::query("SELECT settings, created_at FROM campaigns WHERE name = $1").bind(name.to_string()).fetch_optional(&self.pool).await?
        else {
            return Ok(None);
        };
        let settings = parse_settings(name, &head.try_get::<String, _>("settings")?)?;
        let rows = sqlx::query(concat!(
            "SELECT rank, customer_id, policy_id, installment_no, due_day, action, arm, probability, value_at_risk, expected_gain, ",
            "segment, channel, product_type, region, agent_id FROM campaign_rows WHERE campaign = $1 ORDER BY position"
        ))
        .bind(name.to_string())
        .fetch_all(&self.pool)
        .await?;
        let corrupt = |reason: String| StoreError::Corrupt { id: name.to_string(), reason };
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let int = |column: &str| -> Result<i64, StoreError> { Ok(row.try_get::<i64, _>(column)?) };
            let arm: String = row.try_get("arm")?;
            out.push(CampaignRow {
                rank: u32::try_from(int("rank")?).map_err(|e| corrupt(e.to_string()))?,
                customer_id: row.try_get("customer_id")?,
                policy_id: row.try_get("policy_id")?,
                installment_no: u32::try_from(int("installment_no")?).map_err(|e| corrupt(e.to_string()))?,
                due_date: i32::try_from(int("due_day")?).map_err(|e| corrupt(e.to_string()))?,
                action: row.try_get("action")?,
                arm: Arm::parse(&arm).ok_or_else(|| corrupt(format!("arm {arm:?}")))?,
                probability: row.try_get("probability")?,
                value_at_risk: row.try_get("value_at_risk")?,
                expected_gain: row.try_get("expected_gain")?,
                segment: row.try_get("segment")?,
                channel: row.try_get("channel")?,
                product_type: row.try_get("product_type")?,
                region: row.try_get("region")?,
                agent_id: row.try_get("agent_id")?,
            });
        }
        let campaign = Campaign { settings: settings.clone(), rows: out };
        let record = Record {
            settings,
            created_at: head.try_get("created_at")?,
            treatment: campaign.count(Arm::Treatment),
            control: campaign.count(Arm::Control),
        };
        Ok(Some((record, campaign)))
    }

    /// The settings a campaign name is bound to, if stored.
    pub async fn campaign_settings(&self, name: &str) -> Result<Option<Settings>, StoreError> {
        let row = sqlx::query("SELECT settings FROM campaigns WHERE name = $1").bind(name.to_string()).fetch_optional(&self.pool).await?;
        row.map(|row| parse_settings(name, &row.try_get::<String, _>("settings")?)).transpose()
    }

    /// The names of the stored campaigns, sorted.
    pub async fn campaign_names(&self) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query("SELECT name FROM campaigns ORDER BY name").fetch_all(&self.pool).await?;
        rows.iter().map(|r| Ok(r.try_get::<String, _>("name")?)).collect()
    }

    /// Closes the pool (pending writes are committed or not; nothing half-written).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A customer a campaign holds out, and the last day of its outcome window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holdout {
    pub campaign: String,
    pub customer_id: String,
    pub until: Day,
}

/// Runs `f` on the store at `url` on a runtime of its own (for a command-line tool; the API
/// server uses [`Store`] on its runtime).
pub fn with_store_blocking<T>(url: &str, f: impl AsyncFnOnce(&Store) -> Result<T, StoreError>) -> Result<T, StoreError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| StoreError::Open { url: redact(url), source: sqlx::Error::Io(e) })?;
    runtime.block_on(async {
        let store = Store::open(url).await?;
        let out = f(&store).await;
        store.close().await;
        out
    })
}

/// Every outcome of the store at `url`, for a command-line tool (a runtime of its own for the
/// call; the API server uses [`Store`] on its runtime).
pub fn read_all_blocking(url: &str) -> Result<Vec<Outcome>, StoreError> {
    with_store_blocking(url, async |store| store.recorded_since(0).await)
}

/// A URL with its password replaced by `***`.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

fn parse_settings(name: &str, text: &str) -> Result<Settings, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt { id: name.to_string(), reason: format!("campaign settings: {e}") })
}

fn from_row(row: &AnyRow) -> Result<Outcome, StoreError> {
    let id: String = row.try_get("id")?;
    let corrupt = |reason: String| StoreError::Corrupt { id: id.clone(), reason };
    let result_text: String = row.try_get("result")?;
    let result = ContactResult::parse(&result_text).ok_or_else(|| corrupt(format!("result {result_text:?}")))?;
    let installment_no: i64 = row.try_get("installment_no")?;
    let day: i64 = row.try_get("day")?;
    let promised: Option<i64> = row.try_get("promised_day")?;
    let to_day = |v: i64| i32::try_from(v).map_err(|_| corrupt(format!("day {v}")));
    Ok(Outcome {
        policy_id: row.try_get("policy_id")?,
        installment_no: u32::try_from(installment_no).map_err(|_| corrupt(format!("installment_no {installment_no}")))?,
        customer_id: row.try_get("customer_id")?,
        action: row.try_get("action")?,
        result,
        at: row.try_get("at")?,
        at_ms: row.try_get("at_ms")?,
        day: to_day(day)?,
        reason: row.try_get("reason")?,
        promised_date: promised.map(to_day).transpose()?,
        agent_id: row.try_get("agent_id")?,
        note: row.try_get("note")?,
        id,
    })
}

#[cfg(test)]
mod tests;
