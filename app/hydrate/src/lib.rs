#![recursion_limit = "512"]

//! Entry point of the wasm bundle: takes over the server-rendered page. A crate of its
//! own (cdylib only) so that the bundle is built with link-time optimisation; the pages
//! are in the `app` crate.

/// Called by the hydration script once the wasm is instantiated.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_lazy(app::App);
}
