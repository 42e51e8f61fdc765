//! The command line: `zhongdui [serve|migrate|seed-demo|import-roster|create-admin]`.
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use zhongdui_domain::Phone;

use crate::settings::Settings;
use crate::{db, seed, server, services, telemetry};

/// 众队 Zhongdui — volunteer-team order-and-dispatch platform.
#[derive(Debug, Parser)]
#[command(name = "zhongdui", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve {
        /// Address to listen on (overrides the configuration).
        #[arg(long)]
        bind: Option<String>,
        /// Load the demo roster first (idempotent).
        #[arg(long)]
        demo: bool,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Load the demo city: 122 teams, 2,568 volunteers, coordinators, an admin, residents.
    SeedDemo,
    /// Import volunteers from a CSV file (see the README for the columns).
    ImportRoster {
        /// The CSV file.
        file: PathBuf,
    },
    /// Create an admin, or reset an existing account's password and make it an admin.
    CreateAdmin {
        /// Phone number (login).
        #[arg(long)]
        phone: String,
        /// Password (8–128 characters).
        #[arg(long)]
        password: String,
    },
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("zhongdui: {e:#}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(&settings.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("zhongdui: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli, settings)) {
        Ok(code) => code,
        Err(e) => {
            tracing::error!(error = ?e, "zhongdui failed");
            eprintln!("zhongdui: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli, mut settings: Settings) -> anyhow::Result<ExitCode> {
    match cli.command.unwrap_or(Command::Serve {
        bind: None,
        demo: false,
    }) {
        Command::Serve { bind, demo } => {
            if let Some(b) = bind {
                settings.bind = b;
            }
            if demo {
                let conn =
                    db::connect(&settings.database_url, 1, settings.database_pool_max).await?;
                db::migrate(&conn).await?;
                seed::seed_demo(&conn, true).await?;
            }
            server::serve(settings).await?;
        }
        Command::Migrate => {
            let conn = db::connect(&settings.database_url, 1, settings.database_pool_max).await?;
            db::migrate(&conn).await?;
            println!("migrations applied");
        }
        Command::SeedDemo => {
            let conn = db::connect(&settings.database_url, 1, settings.database_pool_max).await?;
            db::migrate(&conn).await?;
            seed::seed_demo(&conn, true).await?;
        }
        Command::ImportRoster { file } => {
            let data =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let conn = db::connect(&settings.database_url, 1, settings.database_pool_max).await?;
            db::migrate(&conn).await?;
            let report = services::csv_roster::import(&conn, &data, &None, crate::clock::wall())
                .await
                .map_err(|e| anyhow::anyhow!("{e}: {:?}", e))?;
            println!(
                "{} lines: {} created, {} updated, {} unchanged, {} failed",
                report.total, report.created, report.updated, report.unchanged, report.failed
            );
            for line in report.lines.iter().filter(|l| l.status == "error") {
                for e in &line.errors {
                    println!("  line {}: {}: {}", line.line, e.field, e.text);
                }
            }
            if report.failed > 0 {
                return Ok(ExitCode::from(1));
            }
        }
        Command::CreateAdmin { phone, password } => {
            let phone =
                Phone::parse(&phone).map_err(|e| anyhow::anyhow!("--phone: {}", e.message))?;
            let conn = db::connect(&settings.database_url, 1, settings.database_pool_max).await?;
            db::migrate(&conn).await?;
            let (id, created) = services::accounts::create_or_reset_admin(&conn, &phone, password)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            if created {
                println!("admin {phone} created ({id})");
            } else {
                println!("admin {phone} reset ({id}); their old tokens are revoked");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
