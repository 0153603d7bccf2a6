//! The Leptos crate of Cohort: pages, components, server functions and the domain types
//! that the browser and the server share.
//!
//! Built twice: with `ssr` it is linked into the `cohort` server binary (which renders the
//! pages and answers server functions), with `hydrate` it becomes the wasm bundle that
//! takes the server-rendered HTML over in the browser. Server-only code lives in `ssr`
//! modules next to the types it serves.

pub mod events;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Link, Meta, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes, A},
    path, SsrMode,
};

/// The HTML document around the app; rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
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

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    view! {
        <Stylesheet id="leptos" href="/pkg/cohort.css" />
        <Link rel="icon" type_="image/svg+xml" href="/favicon.svg" />
        <Meta name="description" content="Cohort: meetups and shared insight for Quantified Self groups." />
        <Meta name="theme-color" content="#1f4e5f" />
        <Title formatter=|page: String| {
            if page.is_empty() { "Cohort".to_string() } else { format!("{page} · Cohort") }
        } />
        <Router>
            <header class="site-header">
                <A href="/" attr:class="brand">
                    <span class="brand-mark" aria-hidden="true">"◐"</span>
                    " Cohort"
                </A>
            </header>
            <main id="content">
                <Routes fallback=NotFound>
                    <Route path=path!("") view=events::HomePage ssr=SsrMode::Async />
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
