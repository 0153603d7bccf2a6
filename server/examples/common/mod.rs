//! What every benchmark starts from: a throwaway embedded PostgreSQL cluster in /tmp,
//! migrated, with a pool of the given size; `stop` shuts the cluster down cleanly and
//! the directory goes with the value.

use anyhow::Result;
use cohort::pg::{ClusterOptions, EmbeddedPostgres};
use sqlx::PgPool;

pub struct BenchDatabase {
    pub pool: PgPool,
    cluster: EmbeddedPostgres,
    _dir: tempfile::TempDir,
}

impl BenchDatabase {
    pub async fn start(connections: u32) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("cohort-bench-")
            .tempdir_in("/tmp")?;
        // Reachable by the PostgreSQL user when the benchmark runs as root.
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o711),
        )?;
        let cluster = EmbeddedPostgres::start(ClusterOptions::new(dir.path())).await?;
        let pool = cohort::db::pool_options(connections)
            .connect_with(cluster.connect_options())
            .await?;
        cohort::db::migrate(&pool).await?;
        Ok(Self {
            pool,
            cluster,
            _dir: dir,
        })
    }

    pub async fn stop(self) -> Result<()> {
        self.pool.close().await;
        self.cluster.stop().await?;
        Ok(())
    }
}

/// A new API token with write scope for the member; returns its secret.
#[allow(dead_code)] // each benchmark compiles this module; not all of them write by the API
pub async fn write_token(pool: &PgPool, user_id: i64) -> Result<String> {
    let secret = app::tokens::ssr::generate();
    sqlx::query(
        "INSERT INTO api_tokens (user_id, name, scope, prefix, secret_hash)
         VALUES ($1, 'bench', 'write', 'coh_', $2)",
    )
    .bind(user_id)
    .bind(app::tokens::ssr::hash(&secret))
    .execute(pool)
    .await?;
    Ok(secret)
}
