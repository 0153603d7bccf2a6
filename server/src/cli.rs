//! What each subcommand does.

use crate::config::{Cli, Command, ServeArgs};
use crate::db::Database;
use crate::seed;
use crate::startup::{shutdown_signal, Application};
use anyhow::Result;
use chrono::Utc;

pub async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve(args) => {
            let db = Database::open(&args.database).await?;
            let result = serve(&args, &db).await;
            // Stop the embedded cluster even when serving failed.
            let closed = db.close().await;
            result.and(closed)
        }
        Command::Migrate(args) => {
            let db = Database::open(&args).await?;
            println!("Migrations applied ({}).", db.description());
            db.close().await
        }
        Command::SeedDemo(args) => {
            let db = Database::open(&args).await?;
            let result = seed_demo(&db).await;
            let closed = db.close().await;
            result.and(closed)
        }
    }
}

async fn seed_demo(db: &Database) -> Result<()> {
    let report = seed::seed_demo(&db.pool, Utc::now()).await?;
    if report.is_empty() {
        println!("The demo was already there; nothing added.");
    } else {
        println!(
            "Demo added: {} group, {} members, {} meetups.",
            report.groups, report.members, report.events
        );
    }
    Ok(())
}

async fn serve(args: &ServeArgs, db: &Database) -> Result<()> {
    if !args.no_demo && seed::instance_is_empty(&db.pool).await? {
        let report = seed::seed_demo(&db.pool, Utc::now()).await?;
        tracing::info!(?report, "first start: added the demo group");
    }
    let app = Application::build(args.addr, &args.site_root, db.pool.clone()).await?;
    let url = format!("http://{}/", app.local_addr());
    tracing::info!(%url, data = %db.description(), "Cohort is serving");
    println!(
        "\n  Cohort is running: open {url}\n  Data: {}\n  Stop: Ctrl-C\n",
        db.description()
    );
    app.run_until_stopped(shutdown_signal()).await
}
