//! The pipeline of DESIGN.md, one module per stage, named for it:
//!
//!     Capture -> Distill -> Index -> Compute -> Display -> Interact -> Measure
//!
//! - [`capture`]: landing what members send (quick log, REST API, CSV and Apple Health
//!   imports) in `raw_observations`, in the transaction that enqueues Distill.
//!
//! Server-only (`ssr`): every stage reads and writes PostgreSQL. The pure code the
//! stages share with the browser (units, and the statistics to come) lives outside it.
//! Distill's logic is still in `track::ssr` (`distill`, `check`) and its job in the
//! server's `capture` module; they move here with the Job trait (issue 12, open).

pub mod capture;
