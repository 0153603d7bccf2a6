//! Command line and environment: every setting is a flag with an environment variable.

use clap::builder::BoolishValueParser;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "cohort",
    version,
    about = "Meetups and shared insight for Quantified Self groups"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// Log format: human-readable lines or one JSON object per line.
    #[arg(long, env = "COHORT_LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty, global = true)]
    pub log_format: LogFormat,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web app (starting the embedded PostgreSQL unless DATABASE_URL is set).
    Serve(ServeArgs),
    /// Run background jobs only (no web server). Several may run against one database.
    Worker(WorkerArgs),
    /// Apply the database migrations, then exit.
    Migrate(DatabaseArgs),
    /// Add the demo group, its meetups and members. Running it again adds nothing new.
    SeedDemo(SeedArgs),
    /// Recompute every member's daily values and insights from their observations (the
    /// incremental jobs must give the same; this is the check and the repair).
    Recompute(RecomputeArgs),
    /// Write a consistent backup of the whole database to FILE, also while Cohort runs
    /// (a PostgreSQL custom-format archive, readable by its owner only).
    Backup(BackupArgs),
    /// Load a backup into a new data directory (or the empty database of DATABASE_URL),
    /// then apply this version's migrations to it.
    Restore(BackupArgs),
    /// Write a copy of this executable that carries the built site inside it: one file
    /// to copy to a server and run.
    Bundle(BundleArgs),
    /// Join the split build's wasm into one file per page (run after `cargo leptos build
    /// --release --split -P`; `.ci/build` runs both).
    PackSite(PackSiteArgs),
    /// Instance administration.
    #[command(subcommand)]
    Admin(AdminCommand),
}

#[derive(Debug, Args)]
pub struct BundleArgs {
    /// The built site to put inside.
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "target/site")]
    pub site_root: PathBuf,
    /// The executable to write.
    #[arg(long, short)]
    pub output: PathBuf,
}

#[derive(Debug, Args)]
pub struct PackSiteArgs {
    /// The built site whose `pkg` directory to pack.
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "target/site")]
    pub site_root: PathBuf,
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The backup file.
    pub file: PathBuf,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Args)]
pub struct SeedArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Give the demo members a new password (and print it).
    #[arg(long)]
    pub reset_demo_password: bool,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Make the account with this e-mail address an instance admin.
    Grant {
        email: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// Where the data lives.
#[derive(Clone, Debug, Args)]
pub struct DatabaseArgs {
    /// PostgreSQL server to use (postgres://…). Unset: run the embedded cluster in the
    /// data directory.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Data directory of the embedded cluster. Default: /var/lib/cohort when run as root,
    /// else $XDG_DATA_HOME/cohort (~/.local/share/cohort).
    #[arg(long, env = "COHORT_DATA_DIR")]
    pub data_dir: Option<PathBuf>,

    /// Most connections this process opens to PostgreSQL.
    #[arg(long, env = "COHORT_DB_POOL_SIZE", default_value_t = 10)]
    pub pool_size: u32,
}

impl DatabaseArgs {
    pub fn data_dir(&self) -> PathBuf {
        self.data_dir.clone().unwrap_or_else(default_data_dir)
    }
}

#[derive(Clone, Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,

    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "COHORT_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,

    /// The built site (wasm, JS, CSS and public files) that cargo-leptos writes.
    /// Default: the site carried inside this executable (`cohort bundle`), else
    /// target/site.
    #[arg(long, env = "LEPTOS_SITE_ROOT")]
    pub site_root: Option<PathBuf>,

    /// Do not add the demo group on the first start of an empty instance.
    #[arg(long, env = "COHORT_NO_DEMO", value_parser = BoolishValueParser::new())]
    pub no_demo: bool,

    /// The URL members use (https://cohort.example.org) when behind a proxy: requests
    /// that change state must come from this origin, and https makes cookies Secure.
    #[arg(long, env = "COHORT_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Mark the session cookie Secure even without an https public URL.
    #[arg(long, env = "COHORT_SECURE_COOKIES", value_parser = BoolishValueParser::new())]
    pub secure_cookies: bool,

    /// Serve the web app only; leave the jobs to `cohort worker` processes.
    #[arg(long, env = "COHORT_NO_WORKERS", value_parser = BoolishValueParser::new())]
    pub no_workers: bool,

    /// A PostgreSQL streaming replica of the database (postgres://…): the read-only
    /// pages (meetups, insights), the calendar feeds and the GET API read from it; writes,
    /// sessions, jobs and a browser's reads in the seconds after it wrote stay on the
    /// primary.
    #[arg(long, env = "COHORT_REPLICA_URL", hide_env_values = true)]
    pub replica_url: Option<String>,

    /// Jobs this process runs at once.
    #[arg(long, env = "COHORT_WORKERS", default_value_t = 2)]
    pub workers: usize,

    /// Seconds a job stays claimed without a heartbeat (as for `cohort worker`).
    #[arg(long, env = "COHORT_JOB_LEASE", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(2..=3600))]
    pub job_lease: u64,

    #[command(flatten)]
    pub mail: MailArgs,

    #[command(flatten)]
    pub insights: InsightArgs,
}

/// When a tested relation becomes an insight. Give every process of an instance the
/// same values (the environment variables make that easy).
#[derive(Clone, Debug, Args)]
pub struct InsightArgs {
    /// Show a relation when its Benjamini-Hochberg q is below this (the share of shown
    /// insights that may be flukes).
    #[arg(long, env = "COHORT_INSIGHT_MAX_Q", default_value_t = 0.05)]
    pub insight_max_q: f64,

    /// ... and its Pearson |r| is at least this.
    #[arg(long, env = "COHORT_INSIGHT_MIN_R", default_value_t = 0.3)]
    pub insight_min_r: f64,
}

impl InsightArgs {
    /// Checks the values and makes them this process's thresholds.
    pub fn apply(&self) -> anyhow::Result<()> {
        let thresholds = app::stats::daily::Thresholds::new(self.insight_max_q, self.insight_min_r)
            .map_err(anyhow::Error::msg)?;
        app::pipeline::compute::set_thresholds(thresholds);
        Ok(())
    }
}

#[derive(Clone, Debug, Args)]
pub struct RecomputeArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,

    #[command(flatten)]
    pub insights: InsightArgs,
}

/// How e-mail leaves Cohort.
#[derive(Clone, Debug, Args)]
pub struct MailArgs {
    /// SMTP server for e-mail: smtp://HOST:PORT (plain, a local relay),
    /// smtp://USER:PASS@HOST:587?tls=required (STARTTLS) or smtps://USER:PASS@HOST:465.
    /// Unset: e-mails are kept in the outbox that admins read at /admin/outbox.
    #[arg(long, env = "COHORT_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// The sender of Cohort's e-mail.
    #[arg(
        long,
        env = "COHORT_MAIL_FROM",
        default_value = "Cohort <cohort@localhost>"
    )]
    pub mail_from: String,
}

#[derive(Clone, Debug, Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,

    /// Jobs this process runs at once.
    #[arg(long, env = "COHORT_WORKERS", default_value_t = 4)]
    pub workers: usize,

    /// Seconds a job stays claimed without a heartbeat (three per lease): how soon
    /// the jobs of a worker that was killed or cut off run again elsewhere.
    #[arg(long, env = "COHORT_JOB_LEASE", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(2..=3600))]
    pub job_lease: u64,

    /// The URL members use, for links in e-mails and calendar files.
    #[arg(long, env = "COHORT_PUBLIC_URL")]
    pub public_url: Option<String>,

    #[command(flatten)]
    pub mail: MailArgs,

    #[command(flatten)]
    pub insights: InsightArgs,
}

impl MailArgs {
    /// The services jobs use: the SMTP mailer (if configured) and the site's address.
    pub fn services(&self, public_url: &str) -> anyhow::Result<crate::jobs::Services> {
        let mailer = match &self.smtp_url {
            Some(url) => Some(crate::mail::SmtpMailer::new(url, &self.mail_from)?),
            None => None,
        };
        Ok(crate::jobs::Services {
            mailer,
            public_url: public_url.trim_end_matches('/').to_string(),
        })
    }
}

/// The default data directory: /var/lib/cohort for root (the home of root is closed to the
/// unprivileged user that PostgreSQL runs as), else the XDG data directory.
pub fn default_data_dir() -> PathBuf {
    if nix::unistd::Uid::effective().is_root() {
        return PathBuf::from("/var/lib/cohort");
    }
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(xdg).join("cohort");
    }
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(".local/share/cohort"),
        None => PathBuf::from(".cohort"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Held by every test that parses a command line: one of them sets the environment,
    /// which clap reads.
    static ENVIRONMENT: std::sync::Mutex<()> = std::sync::Mutex::new(());

    fn environment() -> std::sync::MutexGuard<'static, ()> {
        ENVIRONMENT
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    #[test]
    fn on_and_off_switches_take_the_usual_words_from_the_environment() {
        // What a unit file may say: COHORT_NO_WORKERS=1, =yes, =on, =true (and off).
        let _environment = environment();
        let switches = |cli: Cli| {
            let Command::Serve(args) = cli.command else {
                panic!("not serve")
            };
            [args.no_demo, args.secure_cookies, args.no_workers]
        };
        let names = [
            "COHORT_NO_DEMO",
            "COHORT_SECURE_COOKIES",
            "COHORT_NO_WORKERS",
        ];
        let words = [
            ("1", true),
            ("yes", true),
            ("on", true),
            ("TRUE", true),
            ("0", false),
            ("no", false),
            ("off", false),
            ("false", false),
        ];
        for (word, expected) in words {
            for name in names {
                std::env::set_var(name, word);
            }
            let cli = Cli::try_parse_from(["cohort", "serve"]);
            for name in names {
                std::env::remove_var(name);
            }
            assert_eq!(switches(cli.unwrap()), [expected; 3], "={word}");
        }
        std::env::set_var("COHORT_NO_WORKERS", "maybe");
        let refused = Cli::try_parse_from(["cohort", "serve"]);
        std::env::remove_var("COHORT_NO_WORKERS");
        assert!(refused.is_err(), "=maybe is refused");
    }

    #[test]
    fn serve_reads_flags() {
        let _environment = environment();
        let cli = Cli::try_parse_from([
            "cohort",
            "serve",
            "--data-dir",
            "/tmp/x",
            "--addr",
            "0.0.0.0:8080",
            "--no-demo",
        ])
        .unwrap();
        let Command::Serve(args) = cli.command else {
            panic!("not serve")
        };
        assert_eq!(args.addr.port(), 8080);
        assert_eq!(args.database.data_dir(), PathBuf::from("/tmp/x"));
        assert!(args.no_demo);
    }

    #[test]
    fn a_bad_address_is_a_clear_error() {
        let _environment = environment();
        let error = Cli::try_parse_from(["cohort", "serve", "--addr", "nonsense"]).unwrap_err();
        assert!(error.to_string().contains("--addr"), "{error}");
    }
}
