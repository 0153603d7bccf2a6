//! What each subcommand does.

use crate::config::{AdminCommand, Cli, Command, ServeArgs, WorkerArgs};
use crate::db::Database;
use crate::startup::{shutdown_signal, Application, WebSettings};
use crate::{jobs, seed};
use anyhow::{Context, Result};
use chrono::Utc;

pub async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve(args) => {
            args.insights.apply()?;
            let db = Database::open(&args.database).await?;
            let result = serve(&args, &db).await;
            // Stop the embedded cluster even when serving failed.
            let closed = db.close().await;
            result.and(closed)
        }
        Command::Worker(args) => {
            args.insights.apply()?;
            let db = Database::open(&args.database).await?;
            let result = work(&db, &args).await;
            let closed = db.close().await;
            result.and(closed)
        }
        Command::Migrate(args) => {
            let db = Database::open(&args).await?;
            println!("Migrations applied ({}).", db.description());
            db.close().await
        }
        Command::SeedDemo(args) => {
            let db = Database::open(&args.database).await?;
            let result = seed_demo(&db, args.reset_demo_password).await;
            let closed = db.close().await;
            result.and(closed)
        }
        Command::Recompute(args) => {
            args.insights.apply()?;
            let db = Database::open(&args.database).await?;
            let started = std::time::Instant::now();
            let result = app::pipeline::recompute_everyone(&db.pool).await;
            if let Ok(members) = &result {
                println!(
                    "Recomputed {members} members in {:.1} s.",
                    started.elapsed().as_secs_f64()
                );
            }
            let closed = db.close().await;
            result.map(|_| ()).map_err(anyhow::Error::from).and(closed)
        }
        Command::Backup(args) => {
            let report = crate::backup::backup(&args.database, &args.file).await?;
            println!(
                "Backed up to {} ({:.1} MB) in {:.1} s.",
                report.file.display(),
                report.bytes as f64 / 1e6,
                report.seconds
            );
            Ok(())
        }
        Command::Restore(args) => {
            let report = crate::backup::restore(&args.database, &args.file).await?;
            println!(
                "Restored {} tables ({} members, {} observations) in {:.1} s.",
                report.tables, report.members, report.observations, report.seconds
            );
            Ok(())
        }
        Command::Bundle(args) => {
            let exe = std::env::current_exe().context("finding this executable")?;
            let files = crate::bundle::bundle(&exe, &args.site_root, &args.output)?;
            let size = std::fs::metadata(&args.output)?.len();
            println!(
                "Wrote {} ({:.1} MB) with the {files} files of {} inside: copy it to a server and run `{} serve`.",
                args.output.display(),
                size as f64 / 1e6,
                args.site_root.display(),
                args.output.display()
            );
            Ok(())
        }
        Command::PackSite(args) => {
            let report = crate::site_pack::pack_site(&args.site_root)?;
            if report.parts == 0 {
                println!(
                    "{} was packed already: {} routes, {:.1} KB of brotli.",
                    args.site_root.display(),
                    report.routes,
                    report.brotli_bytes as f64 / 1e3
                );
            } else {
                println!(
                    "Packed the wasm of {} routes ({} chunk and route files) into one file each: {:.1} KB of brotli, in {:.1} s.",
                    report.routes,
                    report.parts,
                    report.brotli_bytes as f64 / 1e3,
                    report.seconds
                );
            }
            Ok(())
        }
        Command::Admin(AdminCommand::Grant { email, database }) => {
            let db = Database::open(&database).await?;
            let result = grant_admin(&db, &email).await;
            let closed = db.close().await;
            result.and(closed)
        }
    }
}

async fn seed_demo(db: &Database, reset_password: bool) -> Result<()> {
    let mut report = seed::seed_demo(&db.pool, Utc::now()).await?;
    if reset_password && report.demo_password.is_none() {
        report.demo_password = seed::reset_demo_password(&db.pool, false).await?;
    }
    if report.is_empty() {
        println!("The demo was already there; nothing added. (--reset-demo-password prints a new password.)");
    } else {
        println!(
            "Demo added: {} group, {} members, {} meetups.",
            report.groups, report.members, report.events
        );
    }
    if let Some(hint) = report.login_hint() {
        println!("{hint}");
    }
    Ok(())
}

async fn grant_admin(db: &Database, email: &str) -> Result<()> {
    let email = crate::admin::grant(&db.pool, email).await?;
    println!("{email} is now an instance admin.");
    Ok(())
}

async fn serve(args: &ServeArgs, db: &Database) -> Result<()> {
    let mut login_hint = None;
    if !args.no_demo && seed::instance_is_empty(&db.pool).await? {
        let report = seed::seed_demo(&db.pool, Utc::now()).await?;
        tracing::info!("first start: added the demo group");
        login_hint = report.login_hint();
    }
    // The site: the directory given, else the one this executable carries (unpacked for
    // as long as it serves), else the build's.
    let carried = match &args.site_root {
        Some(_) => None,
        None => crate::bundle::unpack_from(&std::env::current_exe()?)?,
    };
    let site_root = match (&args.site_root, &carried) {
        (Some(dir), _) => dir.clone(),
        (None, Some(site)) => {
            tracing::info!(
                files = site.files,
                "serving the site carried in the executable"
            );
            site.path().to_path_buf()
        }
        (None, None) => std::path::PathBuf::from("target/site"),
    };
    let replica = match &args.replica_url {
        Some(url) => Some(crate::db::connect_replica(url, args.database.pool_size).await?),
        None => None,
    };
    let settings = WebSettings {
        addr: args.addr,
        site_root,
        public_url: args.public_url.clone(),
        secure_cookies: args.secure_cookies,
        replica,
    };
    let app = Application::build(&settings, db.pool.clone()).await?;
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", app.local_addr()));
    let services = std::sync::Arc::new(args.mail.services(&public_url)?);
    let runner = if args.no_workers {
        None
    } else {
        jobs::maintenance::schedule_recurring(&db.pool).await?;
        Some((
            crate::job_types::cohort_runner(db.pool.clone(), args.workers, services)
                .with_lease(std::time::Duration::from_secs(args.job_lease))
                .start(),
            jobs::maintenance::keep_recurring(
                db.pool.clone(),
                jobs::maintenance::KEEP_RECURRING_EVERY,
            ),
        ))
    };
    let url = format!("http://{}/", app.local_addr());
    tracing::info!(%url, data = %db.description(), "Cohort is serving");
    println!(
        "\n  Cohort is running: open {url}\n  Data: {}",
        db.description()
    );
    // The exact command, since the binary usually sits in a build directory.
    let exe = std::env::current_exe()
        .map(|path| path.display().to_string())
        .unwrap_or_else(|_| "cohort".into());
    let data_dir = match &args.database.database_url {
        None => format!(" --data-dir {}", args.database.data_dir().display()),
        Some(_) => String::new(),
    };
    let reset = format!("{exe} seed-demo{data_dir} --reset-demo-password");
    match login_hint {
        Some(hint) => println!("  {hint}\n  (shown once; `{reset}` sets a new one)"),
        None => println!("  Demo log-in: `{reset}` prints a new password"),
    }
    println!("  Stop: Ctrl-C\n");
    let served = app.run_until_stopped(shutdown_signal()).await;
    if let Some((runner, recurring)) = runner {
        recurring.abort();
        runner.shutdown(JOB_GRACE).await?;
    }
    served
}

/// How long running jobs may take to finish at shutdown before they are given back.
const JOB_GRACE: std::time::Duration = std::time::Duration::from_secs(20);

async fn work(db: &Database, args: &WorkerArgs) -> Result<()> {
    let workers = args.workers;
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| "http://localhost:3000".into());
    let services = std::sync::Arc::new(args.mail.services(&public_url)?);
    jobs::maintenance::schedule_recurring(&db.pool).await?;
    let runner = crate::job_types::cohort_runner(db.pool.clone(), workers, services)
        .with_lease(std::time::Duration::from_secs(args.job_lease))
        .start();
    let recurring =
        jobs::maintenance::keep_recurring(db.pool.clone(), jobs::maintenance::KEEP_RECURRING_EVERY);
    println!(
        "Cohort worker running {workers} jobs at a time ({}). Stop: Ctrl-C",
        db.description()
    );
    shutdown_signal().await;
    recurring.abort();
    runner.shutdown(JOB_GRACE).await
}
