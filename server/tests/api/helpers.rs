//! Spawning the app against a fresh database.

use cohort::pg::{ClusterOptions, EmbeddedPostgres};
use cohort::startup::Application;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgPool};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use tokio::sync::{oneshot, OnceCell};

/// The server that per-test databases are created on.
static SERVER: OnceCell<PgConnectOptions> = OnceCell::const_new();
/// The throwaway cluster this process started, stopped by an exit hook.
static CLUSTER: OnceLock<(EmbeddedPostgres, PathBuf)> = OnceLock::new();
static DATABASES: AtomicU32 = AtomicU32::new(0);

/// Connection options for an administrative database on the test server.
pub async fn server() -> PgConnectOptions {
    SERVER
        .get_or_init(|| async {
            if let Ok(url) = std::env::var("DATABASE_URL") {
                return PgConnectOptions::from_str(&url).expect("DATABASE_URL is not a valid URL");
            }
            let dir = temp_dir("cohort-test-pg-");
            let cluster = EmbeddedPostgres::start(ClusterOptions::new(&dir).for_tests())
                .await
                .expect("starting the throwaway test cluster");
            let options = cluster.connect_options_for("postgres");
            CLUSTER.set((cluster, dir)).expect("cluster started twice");
            register_exit_hook();
            options
        })
        .await
        .clone()
}

/// A new, migrated database of its own.
pub async fn fresh_database() -> PgPool {
    let server = server().await;
    let name = format!(
        "cohort_test_{}_{}",
        std::process::id(),
        DATABASES.fetch_add(1, Ordering::SeqCst)
    );
    let mut admin = server
        .clone()
        .connect()
        .await
        .expect("connecting to the test server");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("creating a test database");
    admin.close().await.ok();
    let pool = cohort::db::pool_options(5)
        .connect_with(server.database(&name))
        .await
        .expect("connecting to the test database");
    cohort::db::migrate(&pool)
        .await
        .expect("migrating the test database");
    pool
}

/// A temporary directory that PostgreSQL's user can reach (when we run as root).
pub fn temp_dir(prefix: &str) -> PathBuf {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in("/tmp")
        .expect("creating a temporary directory")
        .keep();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o711)).expect("chmod");
    dir
}

#[allow(unsafe_code)]
fn register_exit_hook() {
    extern "C" fn stop_test_cluster() {
        if let Some((cluster, dir)) = CLUSTER.get() {
            cluster.stop_blocking_immediate();
            let _ = std::fs::remove_dir_all(dir);
        }
    }
    // SAFETY: registers a plain function that runs once at process exit.
    unsafe {
        libc::atexit(stop_test_cluster);
    }
}

/// The app served on a free port, on a fresh database.
pub struct TestApp {
    pub address: String,
    pub pool: PgPool,
    pub client: reqwest::Client,
    _shutdown: oneshot::Sender<()>,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_on(fresh_database().await).await
    }

    pub async fn spawn_on(pool: PgPool) -> TestApp {
        // Pages render without the built site; /pkg files simply 404.
        let site_root = std::path::Path::new("/nonexistent/cohort-site");
        let app = Application::build(
            "127.0.0.1:0".parse().expect("address"),
            site_root,
            pool.clone(),
        )
        .await
        .expect("building the app");
        let address = format!("http://127.0.0.1:{}", app.port());
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(app.run_until_stopped(async move {
            let _ = stopped.await;
        }));
        TestApp {
            address,
            pool,
            client: reqwest::Client::new(),
            _shutdown: shutdown,
        }
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("sending a request")
    }
}
