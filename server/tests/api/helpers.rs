//! Spawning the app against a fresh database.

use cohort::pg::{ClusterOptions, EmbeddedPostgres};
use cohort::startup::{Application, WebSettings};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgPool};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use tokio::sync::{oneshot, OnceCell};

/// The password test members sign up with.
pub const PASSWORD: &str = "correct horse battery staple";

/// The server that per-test databases are created on.
static SERVER: OnceCell<PgConnectOptions> = OnceCell::const_new();
/// The throwaway cluster this process started, stopped by an exit hook.
static CLUSTER: OnceLock<(EmbeddedPostgres, PathBuf)> = OnceLock::new();
static DATABASES: AtomicU32 = AtomicU32::new(0);

/// Connection options for an administrative database on the test server.
pub async fn server() -> PgConnectOptions {
    SERVER
        .get_or_init(|| async {
            // A child process of a test reuses its parent's server.
            for var in ["COHORT_TEST_SERVER", "DATABASE_URL"] {
                if let Ok(url) = std::env::var(var) {
                    return PgConnectOptions::from_str(&url).expect("not a valid PostgreSQL URL");
                }
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

/// A URL for the test server, for child processes.
pub async fn server_url() -> String {
    if let Ok(url) = std::env::var("DATABASE_URL") {
        return url;
    }
    server().await;
    let (cluster, _) = CLUSTER.get().expect("the test cluster");
    cluster.url("postgres")
}

/// A new, migrated database of its own (a pool of 5 connections).
pub async fn fresh_database() -> PgPool {
    fresh_database_with(5).await
}

/// [`fresh_database`] with a pool of `connections`: enough, for the concurrency tests,
/// that simultaneous requests truly overlap in PostgreSQL.
pub async fn fresh_database_with(connections: u32) -> PgPool {
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
    let pool = cohort::db::pool_options(connections)
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

/// A stand-in for the built site: pages render without the real bundle, and these few
/// static files are served as the real ones would be.
pub fn site_root() -> &'static std::path::Path {
    static ROOT: OnceLock<std::path::PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let root = std::env::temp_dir().join(format!("cohort-test-site-{}", std::process::id()));
        std::fs::create_dir_all(root.join("pkg")).expect("creating the test site");
        std::fs::write(
            root.join("pkg/cohort.js"),
            "export default function () {}\n",
        )
        .expect("writing the test site");
        std::fs::write(root.join("pkg/cohort.css"), "body { margin: 0 }\n")
            .expect("writing the test site");
        // A release build's wasm with its brotli copy (`cargo leptos build -P`); the
        // copy's bytes differ, so that a test can tell which one was sent.
        std::fs::write(root.join("pkg/cohort.wasm"), b"\0asm raw bytes")
            .expect("writing the test site");
        std::fs::write(root.join("pkg/cohort.wasm.br"), b"brotli bytes")
            .expect("writing the test site");
        std::fs::write(
            root.join("favicon.svg"),
            "<svg xmlns=\"http://www.w3.org/2000/svg\"/>\n",
        )
        .expect("writing the test site");
        root
    })
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
        Self::spawn_with_replica(pool, None).await
    }

    /// An app whose read-only pages and GET API read from `replica`.
    pub async fn spawn_with_replica(pool: PgPool, replica: Option<PgPool>) -> TestApp {
        let mut settings = WebSettings::local("127.0.0.1:0".parse().expect("address"), site_root());
        settings.replica = replica;
        let app = Application::build(&settings, pool.clone())
            .await
            .expect("building the app");
        let address = format!("http://127.0.0.1:{}", app.port());
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(app.run_until_stopped(async move {
            let _ = stopped.await;
        }));
        let client = Self::new_client();
        TestApp {
            address,
            pool,
            client,
            _shutdown: shutdown,
        }
    }

    /// A browser-like client: keeps cookies, does not follow redirects, and gives up on an
    /// answer after two minutes, so that a response that never ends fails its test by
    /// name instead of stalling the whole run.
    pub fn new_client() -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(120))
            .build()
            .expect("building an HTTP client")
    }

    /// Calls a server function the way the app's forms do, from this site's origin.
    pub async fn call(
        &self,
        client: &reqwest::Client,
        function: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        client
            .post(format!("{}/api/{function}", self.address))
            .header("Origin", &self.address)
            .header("Accept", "application/json")
            .form(form)
            .send()
            .await
            .expect("calling a server function")
    }

    /// Signs up a new member with its own client (logged in afterwards).
    pub async fn member(&self, email: &str, name: &str) -> reqwest::Client {
        let client = Self::new_client();
        let response = self
            .call(
                &client,
                "signup",
                &[
                    ("email", email),
                    ("display_name", name),
                    ("password", PASSWORD),
                ],
            )
            .await;
        assert_eq!(response.status(), 200, "signing up {email}");
        let body: serde_json::Value = response.json().await.expect("a JSON answer");
        assert_eq!(
            body["fields"],
            serde_json::json!([]),
            "signing up {email}: {body}"
        );
        client
    }

    /// Signs up a member living in `zone` (an IANA name): their client and id.
    pub async fn member_in_zone(
        &self,
        email: &str,
        name: &str,
        zone: &str,
    ) -> (reqwest::Client, i64) {
        let client = self.member(email, name).await;
        let id: i64 =
            sqlx::query_scalar("UPDATE users SET time_zone = $2 WHERE email = $1 RETURNING id")
                .bind(email)
                .bind(zone)
                .fetch_one(&self.pool)
                .await
                .expect("moving the member");
        (client, id)
    }

    /// Runs every due job, as a worker would, until none is left (a write's whole way
    /// through the pipeline); returns how many ran.
    pub async fn run_jobs(&self) -> usize {
        cohort::job_types::cohort_runner(
            self.pool.clone(),
            1,
            std::sync::Arc::new(cohort::jobs::Services::default()),
        )
        .run_pending()
        .await
        .expect("running the pending jobs")
    }

    /// The logged-in member's e-mail address, or None.
    pub async fn whoami(&self, client: &reqwest::Client) -> Option<String> {
        let body: serde_json::Value = self
            .call(client, "get_current_user", &[])
            .await
            .json()
            .await
            .expect("a JSON answer");
        body["email"].as_str().map(str::to_string)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("sending a request")
    }

    /// A page's HTML as `client` (its session) receives it, without JavaScript.
    pub async fn html(&self, client: &reqwest::Client, path: &str) -> String {
        client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("sending a request")
            .text()
            .await
            .expect("reading a page")
    }
}

/// A page's markup without Leptos's hydration markers (`<!>` and `<!--…-->`), whose
/// places depend on how the views were compiled (`erase_components`): the tags and text
/// a reader gets, for assertions on a fragment such as `<h1>Glucose night</h1>`.
pub fn without_markers(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find("<!") {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        if let Some(after) = tail.strip_prefix("<!>") {
            rest = after;
        } else if let Some(comment) = tail.strip_prefix("<!--") {
            rest = comment.find("-->").map_or("", |end| &comment[end + 3..]);
        } else {
            // `<!DOCTYPE html>`
            out.push_str("<!");
            rest = &tail[2..];
        }
    }
    out.push_str(rest);
    out
}

/// Stops the clusters and removes their directories however the test ends (a failed
/// assertion must not leave a PostgreSQL server running and its directory behind).
pub struct Clusters(pub Vec<(cohort::pg::EmbeddedPostgres, std::path::PathBuf)>);

impl Drop for Clusters {
    fn drop(&mut self) {
        for (cluster, dir) in self.0.drain(..).rev() {
            cluster.stop_blocking_immediate();
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
