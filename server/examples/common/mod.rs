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
