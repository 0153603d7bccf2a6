//! The web application: the axum router around the Leptos app, bound to a socket.
//! `Application::build` binds (port 0 picks a free one, as tests do) and
//! `run_until_stopped` serves until the shutdown future resolves, finishing requests in
//! flight.

use crate::security::{
    database_outage, load_request_user, refuse_bad_input, refuse_cross_site, security_headers,
    OriginPolicy,
};
use crate::state::{AppState, PublicUrl};
use anyhow::{Context, Result};
use app::accounts::export::export_user;
use app::accounts::ssr::{user_for_session, ReadPool, FRESH_COOKIE, FRESH_SECONDS};
use app::policy::{allows, Action, Actor};
use app::{shell, App};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{
    handler::Handler as _,
    middleware,
    routing::{get, post},
    Json, Router,
};
use leptos::config::{Env, LeptosOptions};
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use sqlx::PgPool;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use tokio::net::TcpListener;
use tower_http::services::ServeDir;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::{time::Duration as CookieDuration, SameSite};
use tower_sessions::{Expiry, Session, SessionManagerLayer};

/// How the web side is set up.
#[derive(Clone, Debug)]
pub struct WebSettings {
    pub addr: SocketAddr,
    pub site_root: std::path::PathBuf,
    /// `https://cohort.example.org`: the origin browsers see (behind a proxy).
    pub public_url: Option<String>,
    /// Mark the session cookie `Secure` (on by default for an https public URL).
    pub secure_cookies: bool,
    /// A streaming replica of the database (`--replica-url`): read-only pages, feeds
    /// and the GET API read from it.
    pub replica: Option<PgPool>,
}

impl WebSettings {
    pub fn local(addr: SocketAddr, site_root: &Path) -> Self {
        WebSettings {
            addr,
            site_root: site_root.to_path_buf(),
            public_url: None,
            secure_cookies: false,
            replica: None,
        }
    }
}

pub struct Application {
    listener: TcpListener,
    router: Router,
}

impl Application {
    pub async fn build(settings: &WebSettings, pool: PgPool) -> Result<Self> {
        let listener = TcpListener::bind(settings.addr)
            .await
            .with_context(|| format!("listening on {}", settings.addr))?;
        let local = listener.local_addr()?;
        let options = leptos_options(local, &settings.site_root);
        Ok(Application {
            router: router(options, pool, settings),
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
        axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
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

/// The app's routes, generated once per process.
///
/// Leptos generates the list by rendering the app with resource loading suppressed, and
/// that switch is process-wide (`leptos_server`'s `IS_SUPPRESSING_RESOURCE_LOAD`): a page
/// rendered on another thread while a list is generated never loads its data and its
/// response never ends. Generating once, before any router exists, keeps every render
/// clear of it however many routers a process builds (the tests build one per test).
fn route_list() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> =
        std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

pub fn router(leptos_options: LeptosOptions, pool: PgPool, settings: &WebSettings) -> Router {
    let public_origin = settings
        .public_url
        .as_deref()
        .map(|url| url.trim_end_matches('/').to_string());
    let secure = settings.secure_cookies
        || public_origin
            .as_deref()
            .is_some_and(|url| url.starts_with("https://"));
    let sessions = SessionManagerLayer::new(crate::db::session_store(&pool))
        .with_name("cohort_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(secure)
        .with_expiry(Expiry::OnInactivity(CookieDuration::days(
            app::accounts::ssr::SESSION_INACTIVITY_DAYS,
        )));
    let public_origin: Option<Arc<str>> = public_origin.map(Arc::from);
    let origin_policy = OriginPolicy {
        public_origin: public_origin.clone(),
    };
    let routes = route_list();
    let state = AppState {
        leptos_options: leptos_options.clone(),
        pool: pool.clone(),
        read_pool: ReadPool(settings.replica.clone().unwrap_or_else(|| pool.clone())),
        public_url: PublicUrl(public_origin),
    };
    let context_pool = pool.clone();
    let context_replica = settings.replica.clone().map(ReadPool);
    let fallback_pool = pool.clone();
    let router = Router::new()
        .route("/healthz", get(crate::healthz::healthz))
        .route("/me/export", get(export_my_data))
        .route("/metrics", get(crate::prometheus::metrics))
        .merge(crate::rest::router())
        .route(
            "/track/import",
            post(crate::imports::upload).layer(axum::extract::DefaultBodyLimit::max(
                crate::imports::MAX_UPLOAD_BYTES + 64 * 1024,
            )),
        )
        .route("/track/import/{id}/start", post(crate::imports::start))
        .route("/track/export.csv", get(crate::exports::export_csv))
        .route("/track/export.json", get(crate::exports::export_json))
        .route(
            "/events/{id}/report",
            get(crate::calendar_routes::meetup_report),
        )
        .route(
            "/events/{id}/report.html",
            get(crate::calendar_routes::meetup_report_download),
        )
        .route(
            "/events/{id}/event.ics",
            get(crate::calendar_routes::event_ics),
        )
        .route(
            "/events/{id}/attendees.csv",
            get(crate::calendar_routes::attendees_csv),
        )
        .route(
            "/groups/{slug}/calendar.ics",
            get(crate::calendar_routes::group_ics),
        )
        .route(
            "/groups/{slug}/events.atom",
            get(crate::calendar_routes::group_atom),
        )
        .leptos_routes_with_context(
            &state,
            routes,
            move || {
                provide_context(context_pool.clone());
                provide_context(app::accounts::ssr::SessionChanged::default());
                if let Some(replica) = &context_replica {
                    provide_context(replica.clone());
                }
            },
            {
                let options = leptos_options.clone();
                move || shell(options.clone())
            },
        )
        // Static files straight from the site root, with no Leptos owner: leptos_axum's
        // file handler wraps each file in `Owner::new()`, which can inherit another
        // request's owner left current on the worker thread and then *takes* that
        // request's response headers (its Content-Security-Policy ended up on a wasm
        // file and the page went without; found by end2end/tests/xss.spec.ts). Only
        // what is not a file reaches Leptos, for the 404 page. A release build
        // (`cargo leptos build --release -P`) writes a brotli and a gzip copy beside each
        // file, sent to browsers that accept them.
        .fallback_service(
            ServeDir::new(&*leptos_options.site_root)
                .precompressed_br()
                .precompressed_gzip()
                .call_fallback_on_method_not_allowed(true)
                .fallback(
                    leptos_axum::file_and_error_handler_with_context::<AppState, _>(
                        move || provide_context(fallback_pool.clone()),
                        shell,
                    )
                    .with_state(state.clone()),
                ),
        )
        .layer(middleware::from_fn(
            crate::request_owner::keep_request_owner,
        ));
    // With a replica, a browser that writes reads from the primary for a while after.
    let router = if settings.replica.is_some() {
        router.layer(middleware::from_fn_with_state(secure, mark_fresh))
    } else {
        router
    };
    router
        .layer(middleware::from_fn_with_state(
            pool.clone(),
            load_request_user,
        ))
        .layer(middleware::from_fn(refuse_bad_input))
        .layer(sessions)
        .layer(middleware::from_fn_with_state(
            pool.clone(),
            database_outage,
        ))
        .layer(middleware::from_fn_with_state(
            origin_policy,
            refuse_cross_site,
        ))
        .layer(middleware::from_fn(security_headers))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// After a state-changing request, the cookie that sends this browser's reads to the
/// primary for [`FRESH_SECONDS`] (`app::accounts::ssr::read_pool`).
async fn mark_fresh(
    State(secure): State<bool>,
    request: axum::extract::Request,
    next: middleware::Next,
) -> Response {
    let writes = !matches!(
        *request.method(),
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    );
    let mut response = next.run(request).await;
    if writes {
        let cookie = format!(
            "{FRESH_COOKIE}=1; Max-Age={FRESH_SECONDS}; Path=/; HttpOnly; SameSite=Lax{}",
            if secure { "; Secure" } else { "" }
        );
        if let Ok(value) = axum::http::HeaderValue::from_str(&cookie) {
            response
                .headers_mut()
                .append(axum::http::header::SET_COOKIE, value);
        }
    }
    response
}

/// GET /me/export: everything Cohort holds about the member, as a JSON download.
#[tracing::instrument(skip_all)]
async fn export_my_data(State(pool): State<PgPool>, session: Session) -> Response {
    let user = match user_for_session(&pool, &session).await {
        Ok(user) => user,
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    let Some(user) = user.filter(|user| {
        allows(
            Actor {
                user: Some(user),
                role: None,
            },
            Action::ManageOwnAccount,
        )
    }) else {
        return Redirect::to("/login?next=%2Fme%2Fexport").into_response();
    };
    match export_user(&pool, user.id).await {
        Ok(document) => (
            [(
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"cohort-export.json\"",
            )],
            Json(document),
        )
            .into_response(),
        Err(error) => {
            tracing::error!(%error, "export failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
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
