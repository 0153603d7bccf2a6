//! `cohort backup FILE` and `cohort restore FILE`: a consistent copy of the whole
//! database, taken while Cohort runs, and put back into a new data directory (or an empty
//! database).
//!
//! A backup is PostgreSQL's own custom-format archive (`pg_dump -Fc`), so any PostgreSQL
//! tool can read it too. `pg_dump` reads everything in one snapshot: writes that land
//! while it runs are either wholly in the backup or not at all. The archive is written
//! next to FILE under a temporary name, flushed to disk, and only then renamed to FILE,
//! so a FILE that exists is complete; it is readable by its owner only (it holds every
//! member's data and password hashes).
//!
//! A restore refuses a target that already holds tables, loads the archive in one
//! transaction (all or nothing), then applies the migrations this version has that the
//! backup's did not: restoring an older backup upgrades it.

use crate::config::DatabaseArgs;
use crate::db::Database;
use crate::pg::{self, ClusterOptions, EmbeddedPostgres};
use anyhow::{anyhow, bail, Context, Result};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};
use std::fs::OpenOptions;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::str::FromStr;
use std::time::Instant;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// The first bytes of a custom-format archive.
const MAGIC: &[u8] = b"PGDMP";

/// Where the data is, with what it takes to run PostgreSQL's client programs against it.
enum Target {
    Embedded(EmbeddedPostgres),
    External { url: String },
}

impl Target {
    /// The embedded cluster in the data directory (started for the purpose unless a
    /// running cohort owns it), or the server of DATABASE_URL. `must_exist`: refuse a
    /// data directory with no cluster instead of creating one.
    async fn open(args: &DatabaseArgs, must_exist: bool) -> Result<Target> {
        if let Some(url) = &args.database_url {
            return Ok(Target::External { url: url.clone() });
        }
        let data_dir = args.data_dir();
        if must_exist && !EmbeddedPostgres::exists_in(&data_dir) {
            bail!(
                "{} holds no Cohort data (no PostgreSQL cluster in it); give the data \
                 directory with --data-dir, or the server with DATABASE_URL",
                data_dir.display()
            );
        }
        let cluster = EmbeddedPostgres::start(ClusterOptions::new(&data_dir))
            .await
            .with_context(|| {
                format!("opening the embedded PostgreSQL in {}", data_dir.display())
            })?;
        Ok(Target::Embedded(cluster))
    }

    /// A client program pointed at the database.
    fn command(&self, program: &str) -> Result<Command> {
        match self {
            Target::Embedded(cluster) => Ok(cluster.client_command(program)),
            Target::External { url } => {
                let bin = match pg::find_bin_dir() {
                    Ok(dir) => pg::find_program(&dir, program),
                    Err(_) => PathBuf::from(program),
                };
                let mut command = Command::new(bin);
                // The password goes by the environment, never on a command line that
                // every local user can read.
                let (url, password) = without_password(url)?;
                if let Some(password) = password {
                    command.env("PGPASSWORD", password);
                }
                command.arg(format!("--dbname={url}")).stdin(Stdio::null());
                Ok(command)
            }
        }
    }

    fn connect_options(&self) -> Result<PgConnectOptions> {
        match self {
            Target::Embedded(cluster) => Ok(cluster.connect_options()),
            Target::External { url } => {
                PgConnectOptions::from_str(url).context("parsing DATABASE_URL")
            }
        }
    }

    async fn close(self) -> Result<()> {
        match self {
            Target::Embedded(cluster) => cluster.stop().await,
            Target::External { .. } => Ok(()),
        }
    }
}

/// A URL without its password, and the password.
fn without_password(url: &str) -> Result<(String, Option<String>)> {
    let mut parsed = url::Url::parse(url).context("parsing DATABASE_URL")?;
    let password = parsed.password().map(|p| {
        urlencoding::decode(p)
            .map(|p| p.into_owned())
            .unwrap_or_else(|_| p.to_string())
    });
    if password.is_some() {
        parsed
            .set_password(None)
            .map_err(|()| anyhow!("DATABASE_URL cannot carry a password"))?;
    }
    Ok((parsed.to_string(), password))
}

/// What a backup wrote.
#[derive(Debug)]
pub struct BackupReport {
    pub file: PathBuf,
    pub bytes: u64,
    pub seconds: f64,
}

/// Writes a consistent backup of the database to `file` (replacing it only once the
/// new one is complete).
pub async fn backup(args: &DatabaseArgs, file: &Path) -> Result<BackupReport> {
    let started = Instant::now();
    let target = Target::open(args, true).await?;
    let result = dump(&target, file).await;
    let closed = target.close().await;
    let bytes = result?;
    closed?;
    Ok(BackupReport {
        file: file.to_path_buf(),
        bytes,
        seconds: started.elapsed().as_secs_f64(),
    })
}

async fn dump(target: &Target, file: &Path) -> Result<u64> {
    let name = file
        .file_name()
        .ok_or_else(|| anyhow!("{} is not a file name", file.display()))?;
    let dir = match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let partial = dir.join(format!(".{}.partial", name.to_string_lossy()));
    let out = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&partial)
        .with_context(|| format!("creating {}", partial.display()))?;
    let written = write_dump(target, tokio::fs::File::from_std(out), &partial, file, &dir).await;
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written
}

async fn write_dump(
    target: &Target,
    mut out: tokio::fs::File,
    partial: &Path,
    file: &Path,
    dir: &Path,
) -> Result<u64> {
    let mut child = target
        .command("pg_dump")?
        .args(["--format=custom", "--no-owner", "--no-privileges"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("running pg_dump (PostgreSQL's client programs must be installed)")?;
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let errors = tokio::spawn(async move {
        let mut text = String::new();
        let _ = tokio::io::AsyncReadExt::read_to_string(&mut stderr, &mut text).await;
        text
    });
    let copied = tokio::io::copy(&mut stdout, &mut out).await;
    let status = child.wait().await.context("waiting for pg_dump")?;
    let errors = errors.await.unwrap_or_default();
    if !status.success() {
        bail!("pg_dump failed: {}", errors.trim());
    }
    let bytes = copied.context("writing the backup")?;
    out.flush().await?;
    out.sync_all()
        .await
        .context("flushing the backup to disk")?;
    drop(out);
    std::fs::rename(partial, file)
        .with_context(|| format!("moving the backup into {}", file.display()))?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .context("flushing the backup's directory")?;
    Ok(bytes)
}

/// What a restore put back.
#[derive(Debug)]
pub struct RestoreReport {
    pub tables: i64,
    pub members: i64,
    pub observations: i64,
    pub seconds: f64,
}

/// Loads the backup in `file` into the data directory (a new one) or the empty database
/// of DATABASE_URL, then applies this version's migrations.
pub async fn restore(args: &DatabaseArgs, file: &Path) -> Result<RestoreReport> {
    let started = Instant::now();
    check_archive(file)?;
    let target = Target::open(args, false).await?;
    let result = load(&target, file).await;
    let closed = target.close().await;
    result?;
    closed?;
    // Upgrade what an older version wrote: the migrations it did not have.
    let db = Database::open(args).await?;
    let counts: Result<(i64, i64, i64)> = sqlx::query_as(
        "SELECT (SELECT count(*) FROM pg_tables WHERE schemaname = 'public'),
                (SELECT count(*) FROM users), (SELECT count(*) FROM observations)",
    )
    .fetch_one(&db.pool)
    .await
    .map_err(Into::into);
    let closed = db.close().await;
    let (tables, members, observations) = counts?;
    closed?;
    Ok(RestoreReport {
        tables,
        members,
        observations,
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn check_archive(file: &Path) -> Result<()> {
    let mut start = [0u8; 5];
    std::fs::File::open(file)
        .with_context(|| format!("opening {}", file.display()))?
        .read_exact(&mut start)
        .ok()
        .filter(|()| start == MAGIC)
        .ok_or_else(|| {
            anyhow!(
                "{} is not a Cohort backup (a PostgreSQL custom-format archive, as `cohort \
                 backup` writes)",
                file.display()
            )
        })
}

async fn load(target: &Target, file: &Path) -> Result<()> {
    let mut conn = target
        .connect_options()?
        .connect()
        .await
        .context("connecting to the database to restore into")?;
    let tables: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
            .fetch_one(&mut conn)
            .await?;
    conn.close().await?;
    if tables > 0 {
        bail!(
            "the database to restore into already holds {tables} tables; restore into a new \
             data directory (--data-dir) or an empty database (DATABASE_URL)"
        );
    }
    let mut command = target.command("pg_restore")?;
    if let Target::Embedded(_) = target {
        command.arg(format!("--dbname={}", pg::DATABASE));
    }
    let mut child = command
        .args([
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("running pg_restore (PostgreSQL's client programs must be installed)")?;
    // The archive goes in by stdin: the cluster's user need not be able to read FILE.
    let mut stdin = child.stdin.take().expect("piped");
    let mut archive = tokio::fs::File::open(file)
        .await
        .with_context(|| format!("opening {}", file.display()))?;
    let fed = async {
        let copied = tokio::io::copy(&mut archive, &mut stdin).await;
        drop(stdin);
        copied
    };
    let (fed, output) = tokio::join!(fed, child.wait_with_output());
    let output = output.context("waiting for pg_restore")?;
    if !output.status.success() {
        bail!(
            "pg_restore failed; nothing was restored: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    fed.context("reading the backup")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::without_password;

    #[test]
    fn the_password_leaves_the_url() {
        let (url, password) = without_password(
            "postgres://cohort:s%40cret@db.example.org:5433/cohort?sslmode=require",
        )
        .unwrap();
        assert_eq!(
            url,
            "postgres://cohort@db.example.org:5433/cohort?sslmode=require"
        );
        assert_eq!(password.as_deref(), Some("s@cret"));
        let (url, password) = without_password("postgres://localhost/cohort").unwrap();
        assert_eq!(url, "postgres://localhost/cohort");
        assert_eq!(password, None);
    }
}
