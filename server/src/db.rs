//! The connection pool, wherever the database lives: the embedded cluster by default, or
//! the server named by DATABASE_URL (where several cohort processes may share it).

use crate::config::DatabaseArgs;
use crate::pg::{ClusterOptions, EmbeddedPostgres};
use anyhow::{Context, Result};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// How long a request waits for a connection before it is told the database is away.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
/// How long start-up waits for an external server that is not up yet.
const STARTUP_PATIENCE: Duration = Duration::from_secs(30);
/// How often the embedded cluster is checked, and restarted if it died.
const WATCHDOG_PERIOD: Duration = Duration::from_secs(5);

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// An open database: the pool, and the embedded cluster when there is one.
pub struct Database {
    pub pool: PgPool,
    cluster: Option<Arc<EmbeddedPostgres>>,
    watchdog: Option<JoinHandle<()>>,
    description: String,
}

impl Database {
    /// Opens the database that `args` describe and applies the migrations.
    pub async fn open(args: &DatabaseArgs) -> Result<Self> {
        let database = match &args.database_url {
            Some(url) => {
                let options = PgConnectOptions::from_str(url).context("parsing DATABASE_URL")?;
                let description = format!(
                    "PostgreSQL at {}/{}",
                    options.get_host(),
                    options.get_database().unwrap_or("(default database)")
                );
                let pool = connect_with_patience(options, args.pool_size).await?;
                Database {
                    pool,
                    cluster: None,
                    watchdog: None,
                    description,
                }
            }
            None => {
                let data_dir = args.data_dir();
                let cluster = EmbeddedPostgres::start(ClusterOptions::new(&data_dir))
                    .await
                    .with_context(|| {
                        format!("starting the embedded PostgreSQL in {}", data_dir.display())
                    })?;
                let pool =
                    pool_options(args.pool_size).connect_lazy_with(cluster.connect_options());
                let cluster = Arc::new(cluster);
                let watchdog = cluster
                    .is_owner()
                    .then(|| tokio::spawn(watch(cluster.clone())));
                let description =
                    format!("embedded PostgreSQL in {}", cluster.data_dir().display());
                Database {
                    pool,
                    cluster: Some(cluster),
                    watchdog,
                    description,
                }
            }
        };
        migrate(&database.pool).await?;
        Ok(database)
    }

    /// Where the data lives, for the console.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Closes the pool and stops the embedded cluster, if this process runs it.
    pub async fn close(self) -> Result<()> {
        if let Some(watchdog) = self.watchdog {
            watchdog.abort();
        }
        self.pool.close().await;
        if let Some(cluster) = self.cluster {
            cluster.stop().await?;
        }
        Ok(())
    }
}

pub async fn migrate(pool: &PgPool) -> Result<()> {
    // sqlx takes an advisory lock, so several processes starting together are safe.
    // The session store's table is created by a migration too.
    MIGRATOR
        .run(pool)
        .await
        .context("applying database migrations")?;
    // The built-in metric catalogue is code (app::track::CATALOGUE); an upsert, so
    // processes starting together agree.
    app::track::catalogue::sync_catalogue(pool)
        .await
        .context("writing the metric catalogue")
}

/// Sessions live in PostgreSQL, so any process can serve any member.
pub fn session_store(pool: &PgPool) -> tower_sessions_sqlx_store::PostgresStore {
    tower_sessions_sqlx_store::PostgresStore::new(pool.clone())
}

/// A connection idle for longer than this is pinged before it is handed out.
const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

/// The pool's settings. A connection is checked with a ping (a round trip) before it is
/// handed out only when it sat idle for over a second: under load a connection goes
/// back and forth many times a second, and a ping before each of a page's ten
/// statements was a round trip, a wake-up of the server process and two context switches
/// each (`bench_pages`: the event page 672 requests/s with a ping on every acquire).
/// One that broke while in use (the server restarted under load) fails its statement,
/// which is answered 503 like any outage, and is then closed, not reused.
pub fn pool_options(size: u32) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(size.max(1))
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .test_before_acquire(false)
        .before_acquire(|connection, meta| {
            Box::pin(async move {
                if meta.idle_for > PING_AFTER_IDLE {
                    sqlx::Connection::ping(connection).await?;
                }
                Ok(true)
            })
        })
}

/// A pool on a streaming replica (`--replica-url`): every transaction read-only, so a
/// write sent there by mistake fails loudly instead of going nowhere.
pub async fn connect_replica(url: &str, size: u32) -> Result<PgPool> {
    let options = PgConnectOptions::from_str(url)
        .context("--replica-url is not a PostgreSQL URL")?
        .options([("default_transaction_read_only", "on")]);
    let pool = connect_with_patience(options, size).await?;
    tracing::info!("reading the read-only pages, feeds and GET API from the replica");
    Ok(pool)
}

/// Connects, retrying while the server is not up yet (containers start in any order).
async fn connect_with_patience(options: PgConnectOptions, size: u32) -> Result<PgPool> {
    let started = tokio::time::Instant::now();
    let mut delay = Duration::from_millis(250);
    loop {
        match pool_options(size).connect_with(options.clone()).await {
            Ok(pool) => return Ok(pool),
            Err(error) if started.elapsed() < STARTUP_PATIENCE => {
                tracing::warn!(%error, "the database is not reachable yet; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            Err(error) => return Err(error).context("connecting to DATABASE_URL"),
        }
    }
}

/// Restarts the embedded cluster if it dies under us (killed by the OOM killer, say);
/// requests fail with 503 meanwhile and recover by themselves.
async fn watch(cluster: Arc<EmbeddedPostgres>) {
    let mut interval = tokio::time::interval(WATCHDOG_PERIOD);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        match cluster.ensure_running().await {
            Ok(true) => tracing::warn!("the embedded PostgreSQL had stopped; restarted it"),
            Ok(false) => {}
            Err(error) => {
                tracing::error!(error = %format!("{error:#}"), "could not restart the embedded PostgreSQL")
            }
        }
    }
}
