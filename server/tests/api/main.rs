//! Integration tests of the server against a real PostgreSQL: one binary, one module per
//! area. The database server is DATABASE_URL when set, else a throwaway embedded cluster
//! that this test process starts (and stops at exit); every test gets a fresh database.

#![allow(clippy::unwrap_used)]

mod accounts;
mod authz;
mod backup;
mod binary;
mod capture;
mod embedded;
mod faults;
mod health;
mod helpers;
mod home;
mod hostile;
mod imports;
mod insights;
mod jobs;
mod meetup_figures;
mod meetups;
mod pipeline;
mod processes;
mod replica;
mod rest;
mod schema;
mod schemathesis;
mod security;
mod seed;
mod smtp;
mod upgrade;
