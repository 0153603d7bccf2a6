#![recursion_limit = "512"]

//! Entry point of the wasm bundle: takes over the server-rendered page. A crate of its
//! own (cdylib only) so that the bundle is built with link-time optimisation; the pages
//! are in the `app` crate.

/// Called by the hydration script once the wasm is instantiated. The page's own code is a
/// chunk of its own (a lazy route), fetched before the page is hydrated, so hydration
/// finishes later than this call: then `window.__cohortHydrated` turns true (the browser
/// tests wait for it).
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // As `leptos::mount::hydrate_lazy`, and then the flag.
    _ = any_spawner::Executor::init_wasm_bindgen();
    leptos::task::spawn_local(async {
        let body = leptos::tachys::dom::body();
        leptos::mount::hydrate_from_async(body, app::App)
            .await
            .forget();
        _ = js_sys::Reflect::set(&js_sys::global(), &"__cohortHydrated".into(), &true.into());
    });
}
