//! `cohort backup` and `cohort restore`: a backup taken while Cohort serves, restored
//! into a new data directory, holds every row of every table; a damaged backup restores
//! nothing; a restore never writes over data.

use crate::binary::{serve_with, stop};
use crate::helpers::temp_dir;
use cohort::pg::{ClusterOptions, EmbeddedPostgres};
use sqlx::{Connection, PgConnection};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;

/// Runs `cohort ARGS` to the end.
async fn cohort(args: &[&str], data_dir: &Path) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_cohort"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .output()
        .await
        .expect("running cohort")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Every table's row count and a hash of its rows (in a fixed order), and every
/// sequence's position.
async fn fingerprint(dir: &Path) -> BTreeMap<String, (i64, String)> {
    let cluster = EmbeddedPostgres::start(ClusterOptions::new(dir).for_tests())
        .await
        .expect("starting the cluster");
    let mut conn = PgConnection::connect_with(&cluster.connect_options())
        .await
        .unwrap();
    let found = fingerprint_of(&mut conn).await;
    conn.close().await.unwrap();
    cluster.stop().await.unwrap();
    found
}

async fn fingerprint_of(conn: &mut PgConnection) -> BTreeMap<String, (i64, String)> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    let mut found = BTreeMap::new();
    for table in tables {
        let row: (i64, String) = sqlx::query_as(&format!(
            "SELECT count(*), coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t::text)), '')
               FROM \"{table}\" t"
        ))
        .fetch_one(&mut *conn)
        .await
        .unwrap();
        found.insert(table, row);
    }
    let sequences: Vec<(String, Option<i64>)> =
        sqlx::query_as("SELECT sequencename::text, last_value FROM pg_sequences ORDER BY 1")
            .fetch_all(&mut *conn)
            .await
            .unwrap();
    for (name, last) in sequences {
        found.insert(
            format!("sequence {name}"),
            (last.unwrap_or(0), String::new()),
        );
    }
    found
}

/// Tables equal; sequences where the backup left them, or past (each start-up's upsert
/// of the metric catalogue draws numbers it does not keep).
fn assert_same(before: &BTreeMap<String, (i64, String)>, after: &BTreeMap<String, (i64, String)>) {
    assert!(before.len() > 30, "{before:?}");
    assert!(
        before["observations"].0 > 500,
        "{:?}",
        before["observations"]
    );
    for (table, rows) in before {
        let restored = after.get(table);
        if table.starts_with("sequence ") {
            assert!(
                restored.is_some_and(|r| r.0 >= rows.0),
                "{table}: {restored:?} < {rows:?}"
            );
        } else {
            assert_eq!(restored, Some(rows), "{table} differs after the round trip");
        }
    }
    assert_eq!(before.len(), after.len());
}

#[tokio::test]
async fn a_backup_taken_while_serving_restores_every_row_into_a_new_data_directory() {
    let dir = temp_dir("cohort-test-backup-");
    let (original, restored) = (dir.join("original"), dir.join("restored"));
    let file = dir.join("cohort.backup");
    let file_arg = file.to_str().unwrap();

    // A populated instance (the demo: members, meetups, a year of data, insights),
    // served while the backup is taken. Without job workers nothing writes meanwhile,
    // so what the backup saw is what the directory keeps.
    let seeded = cohort(&["seed-demo"], &original).await;
    assert!(seeded.status.success(), "{}", text(&seeded));
    let (served, _) = serve_with(&original, &["--no-workers", "--no-demo"]).await;
    let backed_up = cohort(&["backup", file_arg], &original).await;
    assert!(backed_up.status.success(), "{}", text(&backed_up));
    assert!(
        text(&backed_up).contains("Backed up to"),
        "{}",
        text(&backed_up)
    );
    let home = reqwest::get(format!("{}/", served.url)).await.unwrap();
    assert_eq!(home.status(), 200, "the server kept serving");
    stop(served).await;
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "only its owner reads a backup");

    // A damaged backup restores nothing (one transaction), so the same directory then
    // takes the whole one.
    let whole = std::fs::read(&file).unwrap();
    let damaged = dir.join("damaged.backup");
    std::fs::write(&damaged, &whole[..whole.len() / 2]).unwrap();
    let refused = cohort(&["restore", damaged.to_str().unwrap()], &restored).await;
    assert!(!refused.status.success());
    assert!(
        text(&refused).contains("nothing was restored"),
        "{}",
        text(&refused)
    );
    let not_a_backup = cohort(&["restore", "/etc/hostname"], &restored).await;
    assert!(!not_a_backup.status.success());
    assert!(
        text(&not_a_backup).contains("is not a Cohort backup"),
        "{}",
        text(&not_a_backup)
    );

    let put_back = cohort(&["restore", file_arg], &restored).await;
    assert!(put_back.status.success(), "{}", text(&put_back));
    assert!(text(&put_back).contains("6 members"), "{}", text(&put_back));
    // Never over existing data.
    let again = cohort(&["restore", file_arg], &restored).await;
    assert!(!again.status.success());
    assert!(text(&again).contains("already holds"), "{}", text(&again));

    assert_same(&fingerprint(&original).await, &fingerprint(&restored).await);

    // The restored instance serves the demo.
    let (served, _) = serve_with(&restored, &["--no-workers", "--no-demo"]).await;
    let home = reqwest::get(format!("{}/", served.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(home.contains("QSNB Meetup v1.3"));
    stop(served).await;
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn backup_and_restore_work_on_an_external_server_too() {
    use crate::helpers::{server, server_url};
    let source = crate::helpers::fresh_database().await;
    cohort::seed::seed_demo(&source, chrono::Utc::now())
        .await
        .unwrap();
    let name: String = sqlx::query_scalar("SELECT current_database()::text")
        .fetch_one(&source)
        .await
        .unwrap();
    let empty = format!("{name}_restored");
    let mut admin = PgConnection::connect_with(&server().await).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {empty}"))
        .execute(&mut admin)
        .await
        .unwrap();
    // The test server's URL, naming one database or the other.
    let server_url = server_url().await;
    let url_of = |database: &str| {
        let mut url = url::Url::parse(&server_url).unwrap();
        url.set_path(&format!("/{database}"));
        url.to_string()
    };
    let dir = temp_dir("cohort-test-backup-external-");
    let file = dir.join("cohort.backup");
    let file = file.to_str().unwrap();
    let run = |command: &str, url: String| {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_cohort"))
            .args([command, file, "--database-url", &url])
            .env("RUST_LOG", "warn")
            .output()
    };
    let backed_up = run("backup", url_of(&name)).await.unwrap();
    assert!(backed_up.status.success(), "{}", text(&backed_up));
    let restored = run("restore", url_of(&empty)).await.unwrap();
    assert!(restored.status.success(), "{}", text(&restored));

    let connect = |database: String| async move {
        PgConnection::connect_with(&server().await.database(&database))
            .await
            .unwrap()
    };
    let before = fingerprint_of(&mut connect(name).await).await;
    let after = fingerprint_of(&mut connect(empty).await).await;
    assert_same(&before, &after);
    std::fs::remove_dir_all(&dir).ok();
}
