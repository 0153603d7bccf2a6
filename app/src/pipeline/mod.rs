//! The pipeline of DESIGN.md, one module per stage, named for it:
//!
//! ```text
//! Capture -> Distill -> Index -> Compute -> Display -> Interact -> Measure
//! ```
//!
//! - [`capture`]: landing what members send (quick log, REST API, CSV and Apple Health
//!   imports) in `raw_observations`, in the transaction that enqueues Distill.
//! - [`distill`]: checking and converting landed entries into `observations`, or
//!   recording why not.
//!
//! Server-only (`ssr`): every stage reads and writes PostgreSQL. The pure code the
//! stages share with the browser (units, and the statistics to come) lives outside it.
//! Distill's `Job` impl is still in the server's `capture` module (the Job trait lives
//! in the server for now).

pub mod capture;
pub mod distill;
