//! The Leptos crate of Cohort: pages, components, server functions and the domain types
//! that the browser and the server share.
//!
//! Built twice: with `ssr` it is linked into the `cohort` server binary (which renders the
//! pages and answers server functions), with `hydrate` it becomes the wasm bundle that
//! takes the server-rendered HTML over in the browser. Server-only code lives in `ssr`
//! modules next to the types it serves.

pub mod accounts;
pub mod admin;
pub mod data;
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
    hooks::use_location,
    path, Lazy, SsrMode,
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
                {page_scripts(options)}
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The page's code: the app's bundle, which hydrates the page, or for the quick log
/// loaded on its own, the quick log's island (`track::island`).
fn page_scripts(options: LeptosOptions) -> AnyView {
    #[cfg(feature = "ssr")]
    if track::island::serves_this_request(&options) {
        return view! { <track::island::IslandScripts options /> }.into_any();
    }
    view! { <HydrationScripts options /> }.into_any()
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
    pub user: crate::data::PageData<Result<Option<CurrentUser>, ServerFnError>>,
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
    let user = crate::data::load(
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
                                    <a href="/dashboard">"Dashboard"</a>
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
                    <Route path=path!("") view={Lazy::<HomeRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/signup") view={Lazy::<AuthRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/login") view={Lazy::<AuthRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/logout") view={Lazy::<AuthRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/me") view={Lazy::<AccountRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/groups") view={Lazy::<GroupsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/groups/:slug") view={Lazy::<GroupsRoute>::new()} ssr=SsrMode::Async />
                    // One route for the admin's pages.
                    <Route path=path!("/admin/:page") view={Lazy::<AdminRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/groups/:slug/events/new") view={Lazy::<OrganizerRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/groups/:slug/insights") view={Lazy::<GroupsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/events/:id") view={Lazy::<EventRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/events/:id/edit") view={Lazy::<OrganizerRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/events/:id/manage") view={Lazy::<OrganizerRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/me/tokens") view={Lazy::<AccountRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/dashboard") view={Lazy::<InsightsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/insights") view={Lazy::<InsightsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/insights/:a/:b/:lag") view={Lazy::<InsightsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/track") view={Lazy::<TrackRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/track/import") view={Lazy::<ImportRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/track/import/:id") view={Lazy::<ImportRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/track/:metric") view={Lazy::<MetricRoute>::new()} ssr=SsrMode::Async />
                </Routes>
            </main>
            <footer class="site-footer">
                <p>"Cohort · self-hosted meetups and insight for Quantified Self groups"</p>
            </footer>
        </Router>
    }
}

/// A page whose code the browser loads when it is first shown (a chunk of its own under
/// `/pkg`, split off by `cargo leptos build --split`), not with the bundle every page
/// loads: a member on the quick log downloads the quick log, not the event editor.
macro_rules! lazy_page {
    ($route:ident, $view:expr) => {
        struct $route;

        #[leptos_router::lazy_route]
        impl leptos_router::LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(_route: Self) -> AnyView {
                $view.into_any()
            }
        }
    };
}

lazy_page!(HomeRoute, view! { <events::HomePage /> });
// Pages seldom visited, or visited together, share one lazy route and so one set of
// chunks: each lazy route cuts the code that pages share finer (a chunk per set of
// routes using it), so fewer routes is fewer, larger files on every page (README,
// "Front-end weight"). The route's view picks the page by the address.
lazy_page!(AuthRoute, {
    match use_location().pathname.get_untracked().as_str() {
        "/signup" => view! { <accounts::SignupPage /> }.into_any(),
        "/logout" => view! { <accounts::LogoutPage /> }.into_any(),
        _ => view! { <accounts::LoginPage /> }.into_any(),
    }
});
lazy_page!(AccountRoute, {
    if use_location()
        .pathname
        .get_untracked()
        .starts_with("/me/tokens")
    {
        view! { <RequireUser><tokens::TokensPage /></RequireUser> }.into_any()
    } else {
        view! { <accounts::ProfilePage /> }.into_any()
    }
});
lazy_page!(GroupsRoute, {
    let path = use_location().pathname.get_untracked();
    let path = path.trim_end_matches('/');
    if path == "/groups" {
        view! { <groups::GroupsPage /> }.into_any()
    } else if path.matches('/').count() == 3 && path.ends_with("/insights") {
        // Drawn on the server: its chunk holds almost no code.
        view! { <RequireUser><insights::group::GroupInsightsPage /></RequireUser> }.into_any()
    } else {
        view! { <groups::GroupPage /> }.into_any()
    }
});
lazy_page!(AdminRoute, {
    match use_location().pathname.get_untracked().as_str() {
        "/admin/pipeline" => view! { <admin::PipelinePage /> }.into_any(),
        "/admin/outbox" => view! { <RequireUser><admin::OutboxPage /></RequireUser> }.into_any(),
        "/admin/jobs" => view! { <admin::JobsPage /> }.into_any(),
        _ => view! { <NotFound /> }.into_any(),
    }
});
lazy_page!(OrganizerRoute, {
    let path = use_location().pathname.get_untracked();
    if path.ends_with("/manage") {
        view! { <RequireUser><events::ManagePage /></RequireUser> }.into_any()
    } else if path.ends_with("/edit") {
        view! { <RequireUser><events::EditEventPage /></RequireUser> }.into_any()
    } else {
        view! { <RequireUser><events::NewEventPage /></RequireUser> }.into_any()
    }
});
lazy_page!(EventRoute, view! { <events::EventPage /> });
// The dashboard with the other insight pages: on a route of its own it is 47 KB lighter
// but every other page is about 20 KB heavier (README, "Front-end weight").
lazy_page!(InsightsRoute, {
    let path = use_location().pathname.get_untracked();
    let page = match path.trim_end_matches('/') {
        "/dashboard" => view! { <insights::DashboardPage /> }.into_any(),
        "/insights" => view! { <insights::PairsPage /> }.into_any(),
        _ => view! { <insights::PairPage /> }.into_any(),
    };
    view! { <RequireUser>{page}</RequireUser> }
});
lazy_page!(
    TrackRoute,
    view! { <RequireUser><track::TrackPage /></RequireUser> }
);
lazy_page!(ImportRoute, {
    if use_location().pathname.get_untracked() == "/track/import" {
        view! { <RequireUser><track::ImportPage /></RequireUser> }.into_any()
    } else {
        view! { <RequireUser><track::ImportStatusPage /></RequireUser> }.into_any()
    }
});
lazy_page!(
    MetricRoute,
    view! { <RequireUser><track::MetricPage /></RequireUser> }
);

#[component]
fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title formatter=html::page_title text="Not found" />
        <section class="not-found">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address. " <A href="/">"Back to the meetups"</A></p>
        </section>
    }
}
