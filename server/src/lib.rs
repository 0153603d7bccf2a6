//! The `cohort` server: configuration, the embedded PostgreSQL default, the axum router
//! around the Leptos app, and the command-line subcommands. `main.rs` only parses the
//! command line and calls [`cli::run`].

pub mod admin;
pub mod backup;
pub mod bundle;
pub mod calendar;
pub mod calendar_routes;
pub mod cli;
pub mod config;
pub mod db;
pub mod exports;
pub mod healthz;
pub mod imports;
pub mod job_types;
pub mod jobs;
pub mod mail;
pub mod meetups;
pub mod pg;
pub mod prometheus;
pub mod readers;
pub mod request_owner;
pub mod rest;
pub mod security;
pub mod seed;
pub mod site_pack;
pub mod startup;
pub mod state;
pub mod telemetry;
