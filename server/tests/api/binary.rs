//! The `cohort` binary itself: first start seeds the demo, SIGTERM stops it cleanly
//! (PostgreSQL too), and the next start finds every row again.

use crate::helpers::temp_dir;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) struct Served {
    pub(crate) child: Child,
    pub(crate) url: String,
}

impl Drop for Served {
    // A failed assertion must not leave the server (and its PostgreSQL) running.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM);
            let _ = self.child.wait();
        }
    }
}

fn count_meetups(html: &str) -> usize {
    html.matches(r#"class="meetup""#).count() + html.matches(r#"class="meetup cancelled""#).count()
}

/// Starts `cohort serve` on a free port and waits for its first 200 from /healthz.
async fn serve(data_dir: &Path) -> (Served, Duration) {
    serve_with(data_dir, &[]).await
}

/// [`serve`] with more flags.
pub(crate) async fn serve_with(data_dir: &Path, flags: &[&str]) -> (Served, Duration) {
    let site = data_dir.join("site");
    let mut flags: Vec<&std::ffi::OsStr> = flags.iter().map(|f| f.as_ref()).collect();
    flags.extend(["--site-root".as_ref(), site.as_os_str()]);
    serve_by(Command::new(env!("CARGO_BIN_EXE_cohort")), data_dir, &flags).await
}

/// Runs `COMMAND serve FLAGS` on a free port, with `data_dir`.
pub(crate) async fn serve_by(
    mut command: Command,
    data_dir: &Path,
    flags: &[&std::ffi::OsStr],
) -> (Served, Duration) {
    let started = Instant::now();
    let mut child = command
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .args(flags)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("starting cohort");
    let stdout = child.stdout.take().unwrap();
    // Read every line (so that the child never writes into a closed pipe) and pass on
    // the URL it announces.
    let (found, announced) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("open ").nth(1) {
                let _ = found.send(rest.trim().trim_end_matches('/').to_string());
            }
        }
    });
    let url = tokio::task::spawn_blocking(move || announced.recv_timeout(Duration::from_secs(120)))
        .await
        .unwrap()
        .expect("cohort exited without printing its URL");
    let client = reqwest::Client::new();
    loop {
        if let Ok(response) = client.get(format!("{url}/healthz")).send().await {
            if response.status() == 200 {
                break;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no 200 from {url}/healthz"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (Served { child, url }, started.elapsed())
}

pub(crate) async fn stop(served: Served) {
    kill(Pid::from_raw(served.child.id() as i32), Signal::SIGTERM).unwrap();
    let status = tokio::task::spawn_blocking(move || {
        let mut served = served;
        served.child.wait()
    })
    .await
    .unwrap()
    .unwrap();
    assert!(status.success(), "cohort exited with {status}");
}

#[tokio::test]
async fn cohort_serve_seeds_stops_cleanly_and_keeps_its_data() {
    let dir = temp_dir("cohort-test-serve-");
    let (served, first_start) = serve(&dir).await;
    let home = reqwest::get(format!("{}/", served.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(home.contains("QSNB Meetup v1.3"));
    assert!(home.contains("6:30 PM – 8:30 PM PST"));
    let meetups = count_meetups(&home);
    assert_eq!(
        meetups, 4,
        "the demo has one past and three upcoming meetups"
    );
    stop(served).await;
    assert!(
        !dir.join("postgres/postmaster.pid").exists(),
        "SIGTERM must stop PostgreSQL too"
    );

    let (served, restart) = serve(&dir).await;
    let home = reqwest::get(format!("{}/", served.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        count_meetups(&home),
        meetups,
        "nothing lost, nothing seeded twice"
    );
    stop(served).await;
    println!(
        "cohort serve to first 200: {} ms on a new data directory, {} ms on an existing one",
        first_start.as_millis(),
        restart.as_millis()
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn cohort_serve_after_a_kill_adopts_its_running_postgres() {
    let dir = temp_dir("cohort-test-sigkill-");
    let (mut served, _) = serve(&dir).await;
    served.child.kill().unwrap(); // SIGKILL: no cleanup at all
    served.child.wait().unwrap();
    drop(served);

    let (served, _) = serve(&dir).await;
    let home = reqwest::get(format!("{}/", served.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(home.contains("QSNB Meetup v1.3"));
    stop(served).await;
    assert!(!dir.join("postgres/postmaster.pid").exists());
    std::fs::remove_dir_all(&dir).ok();
}

/// Insight thresholds that make no sense stop the process before it starts anything,
/// with the reason.
#[test]
fn nonsense_insight_thresholds_are_refused_at_start() {
    for (flag, reason) in [
        ("--insight-max-q=1.5", "q threshold"),
        ("--insight-min-r=-0.2", "|r| threshold"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_cohort"))
            .args([
                "recompute",
                "--database-url",
                "postgres://nowhere.invalid/none",
                flag,
            ])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{flag} was accepted");
        assert!(stderr.contains(reason), "{flag}: {stderr}");
    }
}

/// One file to deploy: `cohort bundle` writes an executable that carries the site and
/// serves it with no site directory anywhere.
#[tokio::test]
async fn a_bundled_executable_serves_the_site_it_carries() {
    let dir = temp_dir("cohort-test-bundle-");
    let site = dir.join("built-site");
    std::fs::create_dir_all(site.join("pkg")).unwrap();
    std::fs::write(site.join("pkg/cohort.css"), "body { color: #123456 }").unwrap();
    std::fs::write(
        site.join("favicon.svg"),
        "<svg xmlns='http://www.w3.org/2000/svg'/>",
    )
    .unwrap();
    let one = dir.join("cohort-one");
    let bundled = Command::new(env!("CARGO_BIN_EXE_cohort"))
        .args(["bundle", "--site-root"])
        .arg(&site)
        .arg("--output")
        .arg(&one)
        .output()
        .unwrap();
    assert!(
        bundled.status.success(),
        "{}",
        String::from_utf8_lossy(&bundled.stderr)
    );
    assert!(String::from_utf8_lossy(&bundled.stdout).contains("with the 2 files"));
    std::fs::remove_dir_all(&site).unwrap();

    // Started from a directory with no site in it, with no site flag or variable.
    let mut command = Command::new(&one);
    command.current_dir(&dir).env_remove("LEPTOS_SITE_ROOT");
    let (served, _) = serve_by(command, &dir.join("data"), &["--no-workers".as_ref()]).await;
    let css = reqwest::get(format!("{}/pkg/cohort.css", served.url))
        .await
        .unwrap();
    assert_eq!(css.status(), 200);
    assert!(css.text().await.unwrap().contains("#123456"));
    let icon = reqwest::get(format!("{}/favicon.svg", served.url))
        .await
        .unwrap();
    assert_eq!(icon.status(), 200);
    let home = reqwest::get(format!("{}/", served.url)).await.unwrap();
    assert_eq!(home.status(), 200);
    assert!(home.text().await.unwrap().contains("/pkg/cohort.css"));
    stop(served).await;
    std::fs::remove_dir_all(&dir).ok();
}
