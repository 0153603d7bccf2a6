//! Capture: the metrics members track, the quick-log page, each metric's history and the
//! member's export. What a member logs lands first in `raw_observations` (as sent), in
//! the transaction that enqueues the Distill job (`crate::pipeline`); Distill checks it
//! with `entry::check` and promotes it into `observations`, or keeps the reason it was
//! refused.
//!
//! The catalogue, the kinds of metric, value parsing and tags (`values`) are pure code
//! shared with the browser; `metric` and `entry` are pure too, server-side only; database
//! work is in `catalogue` and `ssr`.

#[cfg(feature = "ssr")]
pub mod apple_health;
#[cfg(feature = "ssr")]
pub mod catalogue;
#[cfg(feature = "ssr")]
pub mod csv;
#[cfg(feature = "ssr")]
pub mod entry;
pub mod import;
#[cfg(feature = "ssr")]
pub mod island;
#[cfg(feature = "ssr")]
pub mod metric;
mod pages;
#[cfg(feature = "ssr")]
pub mod sentiment;
pub mod server_fns;
#[cfg(feature = "ssr")]
pub mod ssr;
pub mod types;
pub mod units;
mod values;

pub use import::{ImportPage, ImportStatusPage};
pub use pages::{MetricPage, TrackPage};
pub use values::*;
