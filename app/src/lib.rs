//! The Leptos crate of Cohort: pages, components, server functions and the domain types
//! that the browser and the server share.
//!
//! Built twice: with `ssr` it is linked into the `cohort` server binary (which renders the
//! pages and answers server functions), with `hydrate` it becomes the wasm bundle that
//! takes the server-rendered HTML over in the browser. Server-only code lives in `ssr`
//! modules next to the types it serves.

pub mod accounts;
pub mod admin;
pub mod errors;
pub mod events;
pub mod groups;
pub mod html;
pub mod insights;
#[cfg(feature = "ssr")]
pub mod jobs;
#[cfg(feature = "ssr")]
pub mod pipeline;
pub mod policy;
pub mod stats;
pub mod tokens;
pub mod track;

use accounts::pages::RequireUser;
use accounts::{CurrentUser, Login, Logout, Signup};

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Link, Meta, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes, A},
    path, SsrMode,
};

/// The HTML document around the app; rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    html::send_page_policy(&options);
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// Sends the browser on to a path on this site after a server function. Every redirect
/// goes through here: the target passes `accounts::safe_next`, so it can neither leave
/// the site nor carry a character that `leptos_axum::redirect` would panic on.
#[cfg(feature = "ssr")]
pub fn redirect_local(path: &str) {
    leptos_axum::redirect(&accounts::safe_next(Some(path)));
}

/// The logged-in member and the actions that change who that is, shared by every page.
#[derive(Clone, Copy)]
pub struct Auth {
    pub user: Resource<Result<Option<CurrentUser>, ServerFnError>>,
    pub signup: ServerAction<Signup>,
    pub login: ServerAction<Login>,
    pub logout: ServerAction<Logout>,
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let signup = ServerAction::<Signup>::new();
    let login = ServerAction::<Login>::new();
    let logout = ServerAction::<Logout>::new();
    let user = Resource::new(
        move || {
            (
                signup.version().get(),
                login.version().get(),
                logout.version().get(),
            )
        },
        {
            // On the server the request's user is already known (`RequestUser`, put in
            // the request by the server before rendering), so the resource is ready when
            // it is made, without a query of its own.
            #[cfg(feature = "ssr")]
            let known = use_context::<http::request::Parts>()
                .and_then(|parts| parts.extensions.get::<accounts::RequestUser>().cloned());
            #[cfg(not(feature = "ssr"))]
            let known: Option<accounts::RequestUser> = None;
            move |_| {
                let known = known.clone();
                async move {
                    match known {
                        Some(accounts::RequestUser(user)) => Ok(user),
                        None => accounts::get_current_user().await,
                    }
                }
            }
        },
    );
    let auth = Auth {
        user,
        signup,
        login,
        logout,
    };
    provide_context(auth);

    view! {
        <Stylesheet id="leptos" href="/pkg/cohort.css" />
        <Link rel="icon" type_="image/svg+xml" href="/favicon.svg" />
        <Meta name="description" content="Cohort: meetups and shared insight for Quantified Self groups." />
        <Meta name="theme-color" content="#1f4e5f" />
        <Title formatter=html::page_title />
        <Router>
            <header class="site-header">
                <a href="/" class="brand">
                    <span class="brand-mark" aria-hidden="true">"◐"</span>
                    " Cohort"
                </a>
                <nav class="site-nav" aria-label="Site">
                    <a href="/groups">"Groups"</a>
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            match auth.user.await {
                                Ok(Some(user)) => view! {
                                    <a href="/track">"Track"</a>
                                    <a href="/me" class="me">{user.display_name}</a>
                                    <ActionForm action=auth.logout attr:class="inline">
                                        <button type="submit" class="link">"Log out"</button>
                                    </ActionForm>
                                }.into_any(),
                                _ => view! {
                                    <a href="/login">"Log in"</a>
                                    <a href="/signup" class="button">"Sign up"</a>
                                }.into_any(),
                            }
                        })}
                    </Transition>
                </nav>
            </header>
            <main id="content">
                // Pages for members only send anonymous visitors to log in (303), then back.
                <Routes fallback=NotFound>
                    <Route path=path!("") view=events::HomePage ssr=SsrMode::Async />
                    <Route path=path!("/signup") view=accounts::SignupPage ssr=SsrMode::Async />
                    <Route path=path!("/login") view=accounts::LoginPage ssr=SsrMode::Async />
                    <Route path=path!("/logout") view=accounts::LogoutPage ssr=SsrMode::Async />
                    <Route path=path!("/me") view=accounts::ProfilePage ssr=SsrMode::Async />
                    <Route path=path!("/groups") view=groups::GroupsPage ssr=SsrMode::Async />
                    <Route path=path!("/groups/:slug") view=groups::GroupPage ssr=SsrMode::Async />
                    <Route path=path!("/admin/jobs") view=admin::JobsPage ssr=SsrMode::Async />
                    <Route path=path!("/admin/pipeline") view=admin::PipelinePage ssr=SsrMode::Async />
                    <Route path=path!("/admin/outbox") view=|| view! { <RequireUser><admin::OutboxPage /></RequireUser> } ssr=SsrMode::Async />
                    <Route path=path!("/groups/:slug/events/new") view=|| view! { <RequireUser><events::NewEventPage /></RequireUser> } ssr=SsrMode::Async />
                    <Route path=path!("/events/:id") view=events::EventPage ssr=SsrMode::Async />
                    <Route path=path!("/events/:id/edit") view=|| view! { <RequireUser><events::EditEventPage /></RequireUser> } ssr=SsrMode::Async />
                    <Route path=path!("/events/:id/manage") view=|| view! { <RequireUser><events::ManagePage /></RequireUser> } ssr=SsrMode::Async />
                    <Route path=path!("/me/tokens") view=|| view! { <RequireUser><tokens::TokensPage /></RequireUser> } ssr=SsrMode::Async />
                    <Route path=path!("/track") view=|| view! { <RequireUser><track::TrackPage /></RequireUser> } ssr=SsrMode::Async />
                    <Route path=path!("/track/import") view=|| view! { <RequireUser><track::ImportPage /></RequireUser> } ssr=SsrMode::Async />
                    <Route path=path!("/track/import/:id") view=|| view! { <RequireUser><track::ImportStatusPage /></RequireUser> } ssr=SsrMode::Async />
                    <Route path=path!("/track/:metric") view=|| view! { <RequireUser><track::MetricPage /></RequireUser> } ssr=SsrMode::Async />
                </Routes>
            </main>
            <footer class="site-footer">
                <p>"Cohort · self-hosted meetups and insight for Quantified Self groups"</p>
            </footer>
        </Router>
    }
}

#[component]
fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found" />
        <section class="not-found">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address. " <A href="/">"Back to the meetups"</A></p>
        </section>
    }
}

/// Entry point of the wasm bundle: takes over the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
}
