//! The web application: the axum router around the Leptos app, bound to a socket.
//! `Application::build` binds (port 0 picks a free one, as tests do) and
//! `run_until_stopped` serves until the shutdown future resolves, finishing requests in
//! flight.

use crate::health;
use anyhow::{Context, Result};
use app::{shell, App};
use axum::extract::FromRef;
use axum::{routing::get, Router};
use leptos::config::{Env, LeptosOptions};
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use sqlx::PgPool;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

/// State shared by every handler.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub pool: PgPool,
}

pub struct Application {
    listener: TcpListener,
    router: Router,
}

impl Application {
    pub async fn build(addr: SocketAddr, site_root: &Path, pool: PgPool) -> Result<Self> {
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("listening on {addr}"))?;
        let local = listener.local_addr()?;
        let options = leptos_options(local, site_root);
        Ok(Application {
            router: router(options, pool),
            listener,
        })
    }

    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<()> {
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await
            .context("serving HTTP")
    }
}

fn leptos_options(addr: SocketAddr, site_root: &Path) -> LeptosOptions {
    // LEPTOS_ENV=DEV (set by `cargo leptos watch`) turns on live reload.
    let env = match std::env::var("LEPTOS_ENV").as_deref() {
        Ok("DEV") | Ok("dev") | Ok("development") => Env::DEV,
        _ => Env::PROD,
    };
    LeptosOptions::builder()
        .output_name("cohort")
        .site_root(site_root.to_string_lossy().to_string())
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .env(env)
        .build()
}

pub fn router(leptos_options: LeptosOptions, pool: PgPool) -> Router {
    let routes = generate_route_list(App);
    let state = AppState {
        leptos_options: leptos_options.clone(),
        pool: pool.clone(),
    };
    let context_pool = pool.clone();
    Router::new()
        .route("/healthz", get(health::healthz))
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(context_pool.clone()),
            {
                let options = leptos_options.clone();
                move || shell(options.clone())
            },
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
