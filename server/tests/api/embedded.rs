//! The embedded PostgreSQL default: data survives restarts and crashes.

use crate::helpers::temp_dir;
use cohort::pg::{ClusterOptions, EmbeddedPostgres};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use sqlx::{Connection, PgConnection};
use std::path::Path;

async fn start(dir: &Path) -> EmbeddedPostgres {
    EmbeddedPostgres::start(ClusterOptions::new(dir).for_tests())
        .await
        .expect("starting the cluster")
}

async fn connect(cluster: &EmbeddedPostgres) -> PgConnection {
    PgConnection::connect_with(&cluster.connect_options())
        .await
        .expect("connecting")
}

#[tokio::test]
async fn the_embedded_cluster_keeps_rows_across_a_restart() {
    let dir = temp_dir("cohort-test-restart-");
    let cluster = start(&dir).await;
    let mut conn = connect(&cluster).await;
    sqlx::query("CREATE TABLE kept (note text)")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("INSERT INTO kept VALUES ('still here')")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    cluster.stop().await.unwrap();
    assert!(!cluster.is_running().await.unwrap());
    drop(cluster);

    let cluster = start(&dir).await;
    let mut conn = connect(&cluster).await;
    let note: String = sqlx::query_scalar("SELECT note FROM kept")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(note, "still here");
    conn.close().await.unwrap();
    cluster.stop().await.unwrap();
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn a_stale_postmaster_pid_does_not_stop_the_next_start() {
    let dir = temp_dir("cohort-test-stale-");
    let cluster = start(&dir).await;
    cluster.stop().await.unwrap();
    drop(cluster);
    // What a crash leaves behind, with a pid that now belongs to another live process
    // (pid 1 always runs): PostgreSQL alone would refuse to start.
    let pid_file = dir.join("postgres/postmaster.pid");
    std::fs::write(
        &pid_file,
        format!("1\n{}\n1700000000\n5432\n", dir.join("postgres").display()),
    )
    .unwrap();

    let cluster = start(&dir).await;
    let mut conn = connect(&cluster).await;
    let one: i32 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(one, 1);
    assert_ne!(cluster.postmaster_pid(), Some(1));
    conn.close().await.unwrap();
    cluster.stop().await.unwrap();
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn a_killed_postmaster_is_started_again() {
    let dir = temp_dir("cohort-test-kill-");
    // Durable settings: the test settings (fsync and synchronous_commit off) would
    // rightly lose the last commits in a crash.
    let cluster = EmbeddedPostgres::start(ClusterOptions::new(&dir))
        .await
        .unwrap();
    let mut conn = connect(&cluster).await;
    sqlx::query("CREATE TABLE kept (n int)")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("INSERT INTO kept VALUES (42)")
        .execute(&mut conn)
        .await
        .unwrap();
    drop(conn);

    let pid = cluster.postmaster_pid().expect("a running postmaster");
    kill(Pid::from_raw(pid), Signal::SIGKILL).unwrap();
    // Wait for the process to be gone.
    for _ in 0..100 {
        if !cluster.is_running().await.unwrap() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        cluster.ensure_running().await.unwrap(),
        "it should have been started again"
    );
    let mut conn = connect(&cluster).await;
    let n: i32 = sqlx::query_scalar("SELECT n FROM kept")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(n, 42);
    conn.close().await.unwrap();
    cluster.stop().await.unwrap();
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn a_second_process_uses_the_running_cluster_without_owning_it() {
    let dir = temp_dir("cohort-test-shared-");
    let owner = start(&dir).await;
    assert!(owner.is_owner());
    let guest = start(&dir).await;
    assert!(!guest.is_owner());
    let mut conn = connect(&guest).await;
    let one: i32 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(one, 1);
    conn.close().await.unwrap();
    guest.stop().await.unwrap();
    assert!(
        owner.is_running().await.unwrap(),
        "a guest must not stop the owner's cluster"
    );
    owner.stop().await.unwrap();
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn as_root_the_cluster_belongs_to_an_unprivileged_user() {
    if skipped_without_root() {
        return;
    }
    use std::os::unix::fs::MetadataExt;
    let dir = temp_dir("cohort-test-owner-");
    let cluster = start(&dir).await;
    let owner = std::fs::metadata(dir.join("postgres")).unwrap().uid();
    assert_ne!(owner, 0, "the cluster must not run as root");
    let mode = std::fs::metadata(dir.join("postgres")).unwrap().mode() & 0o777;
    assert_eq!(mode, 0o700);
    cluster.stop().await.unwrap();
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn a_data_dir_the_cluster_user_cannot_reach_is_a_clear_error() {
    if skipped_without_root() {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let closed = temp_dir("cohort-test-closed-");
    std::fs::set_permissions(&closed, std::fs::Permissions::from_mode(0o700)).unwrap();
    let error = EmbeddedPostgres::start(ClusterOptions::new(closed.join("data")))
        .await
        .expect_err("a closed parent must be refused");
    let message = format!("{error:#}");
    assert!(message.contains("cannot reach"), "{message}");
    std::fs::remove_dir_all(&closed).ok();
}

/// Whether a test that needs root is to be skipped: not root and COHORT_SKIP_ROOT_TESTS
/// set (`.ci/test` sets it for a non-root run and says so); not root without it is a
/// failure, so that such a test never passes without having run.
fn skipped_without_root() -> bool {
    if nix::unistd::Uid::effective().is_root() {
        return false;
    }
    assert!(
        std::env::var_os("COHORT_SKIP_ROOT_TESTS").is_some(),
        "this test needs root (it checks what a root `cohort` does with the cluster); \
         run as root, or set COHORT_SKIP_ROOT_TESTS=1 to skip it"
    );
    eprintln!("skipped: needs root");
    true
}
