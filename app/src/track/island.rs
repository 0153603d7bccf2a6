//! The quick log's island: `/track` loaded in the browser (not reached by in-place
//! navigation) is sent with the small module of `app/quicklog` instead of the app's
//! bundle, 18 KB on the wire instead of 249 KB (README, "Front-end weight"). Its forms
//! then work as on a hydrated page; its links load the next page.
//!
//! Only a release build with the island's files (`.ci/build`) uses it: a development
//! build (`cargo leptos watch`, whose site may hold an older build's island) sends the
//! app's bundle on every page.

use leptos::config::LeptosOptions;
use leptos::prelude::*;

/// The island's script and wasm in the site's `pkg` directory, as `wasm-bindgen
/// --out-name quicklog` names them (`cohort pack-site` compresses them).
pub const FILES: [&str; 2] = [SCRIPT, WASM];
const SCRIPT: &str = "quicklog.js";
const WASM: &str = "quicklog_bg.wasm";

/// True when this request is the quick log and this release build's site has its
/// island (a file check on the quick log's requests only).
pub fn serves_this_request(options: &LeptosOptions) -> bool {
    let quick_log = use_context::<http::request::Parts>()
        .is_some_and(|parts| matches!(parts.uri.path(), "/track" | "/track/"));
    quick_log && options.env == leptos::config::Env::PROD && {
        let pkg = std::path::Path::new(&*options.site_root).join(&*options.site_pkg_dir);
        FILES.iter().all(|name| pkg.join(name).is_file())
    }
}

/// The island's scripts in the page's head, in place of `HydrationScripts`: both files
/// preloaded at once, then started by a module with this response's nonce.
#[component]
pub fn IslandScripts(options: LeptosOptions) -> impl IntoView {
    let pkg = format!("/{}", options.site_pkg_dir);
    let start = format!(
        "import start from {:?}; start();",
        format!("{pkg}/{SCRIPT}")
    );
    view! {
        <link rel="modulepreload" href=format!("{pkg}/{SCRIPT}") />
        <link rel="preload" href=format!("{pkg}/{WASM}") r#as="fetch" r#type="application/wasm" crossorigin="" />
        <script type="module" nonce=leptos::nonce::use_nonce()>{start}</script>
    }
}
