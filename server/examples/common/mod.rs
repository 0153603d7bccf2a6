//! What every benchmark starts from: a throwaway embedded PostgreSQL cluster in /tmp,
//! migrated, with a pool of the given size; `stop` shuts the cluster down cleanly and
//! the directory goes with the value.

/// The allocator the `cohort` binary uses, so that the benchmarks measure what it runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
        let mut options = ClusterOptions::new(dir.path());
        // BENCH_PG="name=value name=value": server settings for this run, e.g.
        // `shared_preload_libraries=pg_stat_statements` to see where the time goes
        // (`BenchDatabase::print_statements`).
        for setting in std::env::var("BENCH_PG")
            .unwrap_or_default()
            .split_whitespace()
        {
            if let Some((name, value)) = setting.split_once('=') {
                options.settings.push((name.into(), value.into()));
            }
        }
        let cluster = EmbeddedPostgres::start(options).await?;
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

    /// With `BENCH_PG=shared_preload_libraries=pg_stat_statements`: forgets the
    /// statements so far, so that [`Self::print_statements`] shows what came after.
    #[allow(dead_code)]
    pub async fn reset_statements(&self) -> Result<()> {
        if std::env::var("BENCH_PG")
            .unwrap_or_default()
            .contains("pg_stat_statements")
        {
            sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
                .execute(&self.pool)
                .await?;
            sqlx::query("SELECT pg_stat_statements_reset()")
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    /// With `BENCH_PG=shared_preload_libraries=pg_stat_statements`: the statements that
    /// took the most time in PostgreSQL during the run, printed; otherwise nothing.
    #[allow(dead_code)]
    pub async fn print_statements(&self, limit: i64) -> Result<()> {
        let rows = self.statements(limit).await?;
        if rows.is_empty() {
            return Ok(());
        }
        println!("where PostgreSQL spent its time (pg_stat_statements):");
        for (query, calls, total, mean) in rows {
            let query: String = query.chars().take(150).collect();
            println!("  {total:>9.0} ms {calls:>7} calls {mean:>7.2} ms/call  {query}");
        }
        Ok(())
    }

    /// With `BENCH_PG=shared_preload_libraries=pg_stat_statements`: the statements that
    /// took the most time in PostgreSQL since the last reset, as (statement, calls, total
    /// ms, mean ms); otherwise none.
    #[allow(dead_code)]
    pub async fn statements(&self, limit: i64) -> Result<Vec<(String, i64, f64, f64)>> {
        if !std::env::var("BENCH_PG")
            .unwrap_or_default()
            .contains("pg_stat_statements")
        {
            return Ok(Vec::new());
        }
        sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            .execute(&self.pool)
            .await?;
        Ok(sqlx::query_as(
            "SELECT regexp_replace(query, '\\s+', ' ', 'g'), calls, total_exec_time, mean_exec_time
               FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
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
