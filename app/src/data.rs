//! Loading a page's data: every resource of the app is made here, with one JSON codec.
//!
//! A resource's value reaches the browser in two ways: in the page's HTML, for hydration,
//! and as its server function's answer when it loads again. Leptos's default codec decodes
//! the first with `serde_json::from_str`, server functions decode the second with
//! `serde_json::from_slice`: two readers, so the browser build carried the decoding of
//! every page's data twice (README, "Front-end weight"). [`Json`] decodes the page's copy
//! from its bytes too, so both go through one compiled decoder.

use leptos::prelude::*;
use leptos::server::codee::{Decoder, Encoder};
use serde::{de::DeserializeOwned, Serialize};
use std::future::Future;

/// JSON, decoded from bytes as server functions decode their answers.
pub struct Json;

impl<T: Serialize> Encoder<T> for Json {
    type Error = serde_json::Error;
    type Encoded = String;

    fn encode(value: &T) -> Result<String, serde_json::Error> {
        serde_json::to_string(value)
    }
}

impl<T: DeserializeOwned> Decoder<T> for Json {
    type Error = serde_json::Error;
    type Encoded = str;

    fn decode(text: &str) -> Result<T, serde_json::Error> {
        serde_json::from_slice(text.as_bytes())
    }
}

/// A page's data: a resource with the [`Json`] codec.
pub type PageData<T> = Resource<T, Json>;

/// A resource that runs `fetcher` (a server function) whenever `source` changes; the
/// server renders the page with its first value and the browser picks that up.
#[track_caller]
pub fn load<T, S, Fut>(
    source: impl Fn() -> S + Send + Sync + 'static,
    fetcher: impl Fn(S) -> Fut + Send + Sync + 'static,
) -> PageData<T>
where
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
    S: PartialEq + Clone + Send + Sync + 'static,
    Fut: Future<Output = T> + Send + 'static,
{
    Resource::new_with_options(source, fetcher, false)
}

#[cfg(test)]
mod tests {
    /// A resource made with Leptos's own constructors would bring the second decoder back
    /// into the browser's code for its type: every one is made by [`super::load`].
    #[test]
    fn every_resource_is_made_by_load() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
        let mut offenders = Vec::new();
        crate::html::tests::visit(std::path::Path::new(root), &mut |path, source| {
            if path.ends_with("data.rs") {
                return;
            }
            for (i, line) in source.lines().enumerate() {
                let made = line.replace("LocalResource::new", "");
                if made.contains("Resource::new") {
                    offenders.push(format!("{}:{}: {}", path.display(), i + 1, line.trim()));
                }
            }
        });
        assert!(
            offenders.is_empty(),
            "use crate::data::load:\n{}",
            offenders.join("\n")
        );
    }
}
