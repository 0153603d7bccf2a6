//! The embedded PostgreSQL default: a private cluster inside Cohort's data directory.
//!
//! With no `DATABASE_URL`, `cohort` runs its own cluster with the server binaries found on
//! `PATH` or under `/usr/lib/postgresql/*/bin`: `initdb` on the first run, `pg_ctl start`
//! on a Unix socket inside the data directory (no TCP port is opened), `pg_ctl stop` at
//! shutdown. PostgreSQL refuses to run as root, so a root process runs the cluster as an
//! unprivileged system user (`postgres` when it exists, else one it creates).
//!
//! Layout of the data directory:
//!
//! ```text
//! DIR/cohort.lock     held (flock) by the cohort process that owns the cluster
//! DIR/postgres/       the cluster (PGDATA), owned by the cluster's user, mode 0700
//! DIR/run/            the cluster's Unix socket, owned by the cluster's user, mode 0700
//! DIR/log/postgres.log
//! ```
//!
//! A crash must not stop the next start: a `postmaster.pid` whose process is gone, or is
//! some other program that got the same pid, is removed before starting; a postmaster
//! that still runs for this very directory (left by a killed cohort) is adopted.

use anyhow::{anyhow, bail, Context, Result};
use nix::fcntl::{Flock, FlockArg};
use nix::unistd::{Gid, Uid, User};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::Command;

/// The database Cohort keeps its data in, inside the cluster.
pub const DATABASE: &str = "cohort";
/// The cluster's superuser (it only listens on a private Unix socket).
pub const SUPERUSER: &str = "cohort";
/// Names the socket file (`.s.PGSQL.5432`); no TCP port is opened.
const PORT: u16 = 5432;
/// The user a root process runs the cluster as, unless COHORT_PG_USER says otherwise.
const DEFAULT_SYSTEM_USER: &str = "postgres";
/// Unix socket paths are limited to 107 bytes.
const MAX_SOCKET_PATH: usize = 100;

/// The account the cluster runs as when Cohort runs as root.
#[derive(Clone, Debug)]
struct Account {
    name: String,
    uid: Uid,
    gid: Gid,
}

/// Settings of one cluster.
#[derive(Clone, Debug)]
pub struct ClusterOptions {
    pub data_dir: PathBuf,
    /// Extra `-c name=value` server settings (tests turn fsync off, for instance).
    pub settings: Vec<(String, String)>,
}

impl ClusterOptions {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            settings: Vec::new(),
        }
    }

    /// Settings that trade durability for speed: for throwaway test clusters only.
    pub fn for_tests(mut self) -> Self {
        for (name, value) in [
            ("fsync", "off"),
            ("synchronous_commit", "off"),
            ("full_page_writes", "off"),
        ] {
            self.settings.push((name.into(), value.into()));
        }
        self
    }
}

/// A running embedded cluster. Dropping it does not stop the cluster: call [`stop`].
///
/// [`stop`]: EmbeddedPostgres::stop
#[derive(Debug)]
pub struct EmbeddedPostgres {
    data_dir: PathBuf,
    pgdata: PathBuf,
    socket_dir: PathBuf,
    log_file: PathBuf,
    bin_dir: PathBuf,
    account: Option<Account>,
    settings: Vec<(String, String)>,
    /// Held while this process owns the cluster; `None` when another cohort process owns
    /// it and this one only connects (for example `cohort seed-demo` beside `cohort serve`).
    lock: Option<Flock<File>>,
}

impl EmbeddedPostgres {
    /// Opens the cluster in `options.data_dir`: creates it on the first run, starts it (or
    /// adopts one still running for this directory), and makes sure the `cohort` database
    /// exists.
    #[tracing::instrument(skip_all, fields(data_dir = %options.data_dir.display()))]
    pub async fn start(options: ClusterOptions) -> Result<Self> {
        let account = cluster_account().context("choosing the user the cluster runs as")?;
        fs::create_dir_all(&options.data_dir).with_context(|| {
            format!("creating the data directory {}", options.data_dir.display())
        })?;
        let data_dir = options
            .data_dir
            .canonicalize()
            .with_context(|| format!("resolving {}", options.data_dir.display()))?;

        let lock = try_lock(&data_dir.join("cohort.lock"))?;
        let cluster = EmbeddedPostgres {
            pgdata: data_dir.join("postgres"),
            socket_dir: data_dir.join("run"),
            log_file: data_dir.join("log").join("postgres.log"),
            bin_dir: find_bin_dir_for(cluster_version(&data_dir.join("postgres")))?,
            account,
            settings: options.settings,
            lock,
            data_dir,
        };
        if cluster.lock.is_none() {
            // Another cohort process owns the cluster: use it, never start or stop it.
            if !cluster.is_running().await? {
                bail!(
                    "another cohort process holds {} but its PostgreSQL is not running; \
                     wait for it to finish starting, or stop it",
                    cluster.data_dir.display()
                );
            }
            tracing::info!("connecting to the cluster of another cohort process");
            return Ok(cluster);
        }

        cluster.prepare_directories()?;
        if !cluster.pgdata.join("PG_VERSION").exists() {
            cluster.initdb().await?;
        }
        if cluster.is_running().await? {
            tracing::info!(
                "adopting the PostgreSQL server that still runs for this data directory"
            );
        } else {
            cluster.ensure_running().await?;
        }
        cluster.ensure_database().await?;
        Ok(cluster)
    }

    /// Where the cluster keeps its files.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Whether this process started (or adopted) the cluster and will stop it.
    pub fn is_owner(&self) -> bool {
        self.lock.is_some()
    }

    /// Connection options for the `cohort` database over the private socket.
    pub fn connect_options(&self) -> PgConnectOptions {
        self.connect_options_for(DATABASE)
    }

    pub fn connect_options_for(&self, database: &str) -> PgConnectOptions {
        PgConnectOptions::new()
            .host(&self.socket_dir.to_string_lossy())
            .port(PORT)
            .username(SUPERUSER)
            .database(database)
    }

    /// A `postgres://` URL for the cluster, for tools such as psql.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://{SUPERUSER}@localhost/{database}?host={}&port={PORT}",
            self.socket_dir.display()
        )
    }

    /// Whether this data directory holds a cluster (`initdb` has run in it).
    pub fn exists_in(data_dir: &Path) -> bool {
        data_dir.join("postgres").join("PG_VERSION").exists()
    }

    /// A command for one of PostgreSQL's client programs (`pg_dump`, `pg_restore`,
    /// `psql`), run as the cluster's user, pointed at the `cohort` database over the
    /// private socket.
    pub fn client_command(&self, program: &str) -> Command {
        let mut command =
            Command::from(self.std_pg_command_at(&find_program(&self.bin_dir, program)));
        command.kill_on_drop(false);
        command
            .env("PGHOST", &self.socket_dir)
            .env("PGPORT", PORT.to_string())
            .env("PGUSER", SUPERUSER)
            .env("PGDATABASE", DATABASE);
        command
    }

    /// Whether a postmaster runs for this data directory (`pg_ctl status`).
    pub async fn is_running(&self) -> Result<bool> {
        let status = self
            .pg_command("pg_ctl")
            .arg("status")
            .arg("-D")
            .arg(&self.pgdata)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await
            .context("running pg_ctl status")?;
        Ok(status.success())
    }

    /// Starts the cluster unless it already runs; returns whether it had to be started.
    /// The server's watchdog calls this too, so that a cluster that died is brought back.
    pub async fn ensure_running(&self) -> Result<bool> {
        if !self.is_owner() {
            return Ok(false);
        }
        if self.is_running().await? {
            return Ok(false);
        }
        self.remove_stale_lock_files()?;
        // Right after a crash the old server's children may still hold its shared memory
        // for a moment; PostgreSQL then refuses to start, so try a few times.
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.pg_ctl_start().await {
                Ok(()) => return Ok(true),
                Err(error) if attempt < 5 => {
                    tracing::warn!(attempt, error = %format!("{error:#}"), "PostgreSQL did not start; retrying");
                    tokio::time::sleep(Duration::from_millis(500 * attempt)).await;
                    self.remove_stale_lock_files()?;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// Stops the cluster (fast shutdown: open transactions are rolled back, committed data
    /// is safe). Does nothing when another cohort process owns it.
    #[tracing::instrument(skip_all)]
    pub async fn stop(&self) -> Result<()> {
        if !self.is_owner() || !self.is_running().await? {
            return Ok(());
        }
        let output = self
            .pg_command("pg_ctl")
            .args(["stop", "-w", "-t", "60", "-m", "fast", "-D"])
            .arg(&self.pgdata)
            .output()
            .await
            .context("running pg_ctl stop")?;
        if !output.status.success() {
            bail!(
                "pg_ctl stop failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        tracing::info!("PostgreSQL stopped");
        Ok(())
    }

    /// The postmaster's pid, from `postmaster.pid`.
    pub fn postmaster_pid(&self) -> Option<i32> {
        read_pid(&self.pgdata.join("postmaster.pid"))
    }

    fn prepare_directories(&self) -> Result<()> {
        if let Some(account) = &self.account {
            // The cluster's user must be able to reach its directories from `/`.
            check_reachable(&self.data_dir, account)?;
            fs::set_permissions(&self.data_dir, fs::Permissions::from_mode(0o711))
                .context("letting the cluster's user into the data directory")?;
        } else {
            fs::set_permissions(&self.data_dir, fs::Permissions::from_mode(0o700))
                .context("making the data directory private")?;
        }
        let log_dir = self
            .log_file
            .parent()
            .unwrap_or(&self.data_dir)
            .to_path_buf();
        for dir in [&self.pgdata, &self.socket_dir, &log_dir] {
            fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            if let Some(account) = &self.account {
                nix::unistd::chown(dir.as_path(), Some(account.uid), Some(account.gid))
                    .with_context(|| format!("giving {} to {}", dir.display(), account.name))?;
            }
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
                .with_context(|| format!("making {} private", dir.display()))?;
        }
        let socket = self.socket_dir.join(format!(".s.PGSQL.{PORT}"));
        if socket.as_os_str().len() > MAX_SOCKET_PATH {
            bail!(
                "the data directory {} is too deep: PostgreSQL's socket path would be longer \
                 than {MAX_SOCKET_PATH} bytes; choose a shorter --data-dir",
                self.data_dir.display()
            );
        }
        if self.data_dir.to_string_lossy().contains(['\'', '"', '\\']) {
            bail!("the data directory's path may not contain quotes or backslashes");
        }
        Ok(())
    }

    async fn initdb(&self) -> Result<()> {
        tracing::info!(pgdata = %self.pgdata.display(), "creating a new PostgreSQL cluster");
        let output = self
            .pg_command("initdb")
            .arg("-D")
            .arg(&self.pgdata)
            .args([
                "-U",
                SUPERUSER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ])
            .output()
            .await
            .context("running initdb")?;
        if !output.status.success() {
            // A half-made cluster would block every later start: clear it out.
            let _ = self.clear_pgdata();
            bail!(
                "initdb failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(())
    }

    fn clear_pgdata(&self) -> Result<()> {
        for entry in fs::read_dir(&self.pgdata)? {
            let path = entry?.path();
            if path.is_dir() {
                fs::remove_dir_all(&path)?;
            } else {
                fs::remove_file(&path)?;
            }
        }
        Ok(())
    }

    async fn pg_ctl_start(&self) -> Result<()> {
        let mut server_options = format!(
            "-k '{}' -p {PORT} -c listen_addresses=''",
            self.socket_dir.display()
        );
        for (name, value) in &self.settings {
            server_options.push_str(&format!(" -c {name}={value}"));
        }
        let output = self
            .pg_command("pg_ctl")
            .args(["start", "-w", "-t", "60", "-D"])
            .arg(&self.pgdata)
            .arg("-l")
            .arg(&self.log_file)
            .arg("-o")
            .arg(server_options)
            // pg_ctl's daemonised server keeps the pipes open; do not wait on them.
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .await
            .context("running pg_ctl start")?;
        if !output.status.success() {
            let log_tail = fs::read_to_string(&self.log_file)
                .map(|log| {
                    log.lines()
                        .rev()
                        .take(5)
                        .collect::<Vec<_>>()
                        .into_iter()
                        .rev()
                        .collect::<Vec<_>>()
                        .join("\n")
                })
                .unwrap_or_default();
            bail!(
                "pg_ctl start failed: {}\n{log_tail}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        tracing::info!(socket_dir = %self.socket_dir.display(), "PostgreSQL started");
        Ok(())
    }

    /// Removes lock files left by a crash: the pid in them is gone, or belongs to a
    /// process that is not this directory's postmaster (pids get reused after a reboot or
    /// in a new container). PostgreSQL would refuse to start while a live process holds
    /// the pid named in `postmaster.pid`.
    fn remove_stale_lock_files(&self) -> Result<()> {
        let pid_file = self.pgdata.join("postmaster.pid");
        if let Some(pid) = read_pid(&pid_file) {
            if !is_postmaster_of(pid, &self.pgdata) {
                tracing::warn!(pid, "removing a stale postmaster.pid left by a crash");
                fs::remove_file(&pid_file).context("removing a stale postmaster.pid")?;
            }
        } else if pid_file.exists() {
            tracing::warn!("removing an unreadable postmaster.pid");
            fs::remove_file(&pid_file).context("removing an unreadable postmaster.pid")?;
        }
        let socket_lock = self.socket_dir.join(format!(".s.PGSQL.{PORT}.lock"));
        if let Some(pid) = read_pid(&socket_lock) {
            if !is_postmaster_of(pid, &self.pgdata) {
                fs::remove_file(&socket_lock).context("removing a stale socket lock file")?;
                let _ = fs::remove_file(self.socket_dir.join(format!(".s.PGSQL.{PORT}")));
            }
        }
        Ok(())
    }

    async fn ensure_database(&self) -> Result<()> {
        let mut conn = self
            .connect_options_for("postgres")
            .connect()
            .await
            .context("connecting to the new cluster")?;
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                .bind(DATABASE)
                .fetch_one(&mut conn)
                .await?;
        if !exists {
            sqlx::query(&format!("CREATE DATABASE {DATABASE}"))
                .execute(&mut conn)
                .await
                .context("creating the cohort database")?;
        }
        conn.close().await?;
        Ok(())
    }

    /// A command for one of the PostgreSQL binaries, run as the cluster's user.
    fn pg_command(&self, program: &str) -> Command {
        let mut command = Command::from(self.std_pg_command(program));
        command.kill_on_drop(false);
        command
    }

    fn std_pg_command(&self, program: &str) -> std::process::Command {
        self.std_pg_command_at(&self.bin_dir.join(program))
    }

    fn std_pg_command_at(&self, program: &Path) -> std::process::Command {
        use std::os::unix::process::CommandExt;
        let mut command = std::process::Command::new(program);
        command.current_dir(&self.pgdata).stdin(Stdio::null());
        command.env("LC_ALL", "C.UTF-8");
        if let Some(account) = &self.account {
            command.uid(account.uid.as_raw()).gid(account.gid.as_raw());
            command
                .env("HOME", &self.data_dir)
                .env("USER", &account.name);
        }
        command
    }

    /// Stops the cluster without an async runtime (for exit hooks). Immediate mode: for
    /// throwaway clusters whose data does not matter.
    pub fn stop_blocking_immediate(&self) {
        if self.is_owner() {
            let _ = self
                .std_pg_command("pg_ctl")
                .args(["stop", "-w", "-m", "immediate", "-D"])
                .arg(&self.pgdata)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// Takes the data directory's lock; `None` when another process holds it.
fn try_lock(path: &Path) -> Result<Option<Flock<File>>> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(lock) => Ok(Some(lock)),
        Err((_, nix::errno::Errno::EWOULDBLOCK)) => Ok(None),
        Err((_, errno)) => Err(anyhow!(errno).context(format!("locking {}", path.display()))),
    }
}

/// The directory holding `initdb` and `pg_ctl`: COHORT_PG_BIN_DIR, then `PATH`, then the
/// newest `/usr/lib/postgresql/*/bin`.
pub fn find_bin_dir() -> Result<PathBuf> {
    find_bin_dir_for(None)
}

/// The major version of PostgreSQL that made the cluster in `pgdata` (its `PG_VERSION`).
fn cluster_version(pgdata: &Path) -> Option<u32> {
    fs::read_to_string(pgdata.join("PG_VERSION"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// As [`find_bin_dir`], for a cluster made by major version `wanted` (when it exists):
/// that version's `/usr/lib/postgresql/{wanted}/bin` comes before `PATH` and the newest,
/// since a server of another major version cannot open the cluster. Installing a newer
/// PostgreSQL beside the old one thus leaves the cluster running on the old one.
fn find_bin_dir_for(wanted: Option<u32>) -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("COHORT_PG_BIN_DIR") {
        return Ok(PathBuf::from(dir));
    }
    pick_bin_dir(
        Path::new("/usr/lib/postgresql"),
        std::env::var_os("PATH"),
        wanted,
    )
    .ok_or_else(|| match wanted {
        Some(version) => anyhow!(
            "this data directory's cluster was made by PostgreSQL {version}, and no server \
             binaries of that version were found (on PATH or as \
             /usr/lib/postgresql/{version}/bin); install them (`apt-get install \
             postgresql-{version}`), or set COHORT_PG_BIN_DIR"
        ),
        None => anyhow!(
            "no PostgreSQL server binaries found (initdb, pg_ctl) on PATH or under \
             /usr/lib/postgresql/*/bin; install them (`apt-get install postgresql`) or set \
             DATABASE_URL to use an existing server"
        ),
    })
}

/// The choice behind [`find_bin_dir_for`], over a directory of versions (`root`, as
/// `/usr/lib/postgresql`) and a `PATH`. With a `wanted` version, a directory of another
/// version is never chosen (a `PATH` entry's version is the one in its path, as Debian's
/// `/usr/lib/postgresql/15/bin`, when it says one).
fn pick_bin_dir(
    root: &Path,
    path: Option<std::ffi::OsString>,
    wanted: Option<u32>,
) -> Option<PathBuf> {
    let has_server = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some(wanted) = wanted {
        if let Some((_, dir)) = versions.iter().find(|(version, _)| *version == wanted) {
            return Some(dir.clone());
        }
    }
    // The version a directory names, as `/usr/lib/postgresql/15/bin` does.
    let named_version = |dir: &Path| dir.parent()?.file_name()?.to_str()?.parse::<u32>().ok();
    let fits = |dir: &Path| match (wanted, named_version(dir)) {
        (Some(wanted), Some(version)) => version == wanted,
        _ => true,
    };
    if let Some(path) = path {
        if let Some(dir) = std::env::split_paths(&path).find(|dir| has_server(dir) && fits(dir)) {
            return Some(dir);
        }
    }
    if wanted.is_some() {
        return None;
    }
    versions.pop().map(|(_, dir)| dir)
}

/// One of PostgreSQL's programs (`pg_dump`): in `bin_dir`, else beside the program that
/// `bin_dir`'s `initdb` links to (a directory of links to the server's programs need not
/// hold the client's), else on `PATH`.
pub fn find_program(bin_dir: &Path, program: &str) -> PathBuf {
    let beside_initdb = bin_dir
        .join("initdb")
        .canonicalize()
        .ok()
        .and_then(|initdb| Some(initdb.parent()?.join(program)));
    [Some(bin_dir.join(program)), beside_initdb]
        .into_iter()
        .flatten()
        .find(|path| path.is_file())
        .unwrap_or_else(|| PathBuf::from(program))
}

/// `None` when this process is not root; otherwise the unprivileged user to run as.
fn cluster_account() -> Result<Option<Account>> {
    if !Uid::effective().is_root() {
        return Ok(None);
    }
    let name = std::env::var("COHORT_PG_USER").unwrap_or_else(|_| DEFAULT_SYSTEM_USER.into());
    let user = match User::from_name(&name)? {
        Some(user) => user,
        None => {
            tracing::info!(user = %name, "creating a system user for PostgreSQL");
            let status = std::process::Command::new("useradd")
                .args([
                    "--system",
                    "--no-create-home",
                    "--shell",
                    "/usr/sbin/nologin",
                    &name,
                ])
                .status()
                .context("running useradd")?;
            if !status.success() {
                bail!("could not create the system user {name} for PostgreSQL");
            }
            User::from_name(&name)?.ok_or_else(|| anyhow!("user {name} missing after useradd"))?
        }
    };
    if user.uid.is_root() {
        bail!("COHORT_PG_USER must name an unprivileged user, not {name}");
    }
    Ok(Some(Account {
        name,
        uid: user.uid,
        gid: user.gid,
    }))
}

/// Every directory above `dir` must let the cluster's user pass through.
fn check_reachable(dir: &Path, account: &Account) -> Result<()> {
    for ancestor in dir.ancestors().skip(1) {
        let meta =
            fs::metadata(ancestor).with_context(|| format!("reading {}", ancestor.display()))?;
        let mode = meta.mode();
        let passable = mode & 0o001 != 0
            || (meta.uid() == account.uid.as_raw() && mode & 0o100 != 0)
            || (meta.gid() == account.gid.as_raw() && mode & 0o010 != 0);
        if !passable {
            bail!(
                "PostgreSQL runs as the user {} and cannot reach {}: {} is closed to it. \
                 Choose a --data-dir outside it (the default for root is /var/lib/cohort) \
                 or allow passage with `chmod o+x {}`",
                account.name,
                dir.display(),
                ancestor.display(),
                ancestor.display()
            );
        }
    }
    Ok(())
}

fn read_pid(path: &Path) -> Option<i32> {
    fs::read_to_string(path)
        .ok()?
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()
}

/// Whether `pid` is a live postmaster serving `pgdata` (pg_ctl starts it with `-D PGDATA`).
fn is_postmaster_of(pid: i32, pgdata: &Path) -> bool {
    let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
    let is_postgres = args
        .first()
        .map(|exe| exe.ends_with(b"postgres") || exe.ends_with(b"postmaster"))
        .unwrap_or(false);
    let target = pgdata.as_os_str().as_encoded_bytes();
    is_postgres && args.contains(&target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pid_that_is_not_a_postmaster_is_stale() {
        // This test process is alive but is not PostgreSQL.
        assert!(!is_postmaster_of(
            std::process::id() as i32,
            Path::new("/nowhere")
        ));
        assert!(!is_postmaster_of(i32::MAX, Path::new("/nowhere")));
    }

    #[test]
    fn pid_files_are_read_from_their_first_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("postmaster.pid");
        fs::write(&path, "4242\n/var/lib/cohort/postgres\n").unwrap();
        assert_eq!(read_pid(&path), Some(4242));
        fs::write(&path, "garbage").unwrap();
        assert_eq!(read_pid(&path), None);
    }

    #[test]
    fn a_cluster_runs_on_the_version_that_made_it_when_a_newer_one_is_installed() {
        let root = tempfile::tempdir().unwrap();
        for version in ["15", "17"] {
            let bin = root.path().join(version).join("bin");
            fs::create_dir_all(&bin).unwrap();
            fs::write(bin.join("initdb"), "").unwrap();
            fs::write(bin.join("pg_ctl"), "").unwrap();
        }
        let bin = |version: &str| root.path().join(version).join("bin");
        // A new cluster: the newest.
        assert_eq!(pick_bin_dir(root.path(), None, None), Some(bin("17")));
        // A cluster made by 15 stays on 15, even with 17 first on PATH.
        assert_eq!(pick_bin_dir(root.path(), None, Some(15)), Some(bin("15")));
        let path = std::env::join_paths([bin("17")]).unwrap();
        assert_eq!(
            pick_bin_dir(root.path(), Some(path.clone()), Some(15)),
            Some(bin("15"))
        );
        // A cluster of a version not installed is refused (not opened by another).
        assert_eq!(pick_bin_dir(root.path(), Some(path), Some(14)), None);
        // PATH still comes first for a new cluster.
        let elsewhere = tempfile::tempdir().unwrap();
        fs::write(elsewhere.path().join("initdb"), "").unwrap();
        fs::write(elsewhere.path().join("pg_ctl"), "").unwrap();
        let path = std::env::join_paths([elsewhere.path()]).unwrap();
        assert_eq!(
            pick_bin_dir(root.path(), Some(path), None),
            Some(elsewhere.path().to_path_buf())
        );
    }
}
