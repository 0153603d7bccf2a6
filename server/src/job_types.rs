//! Every kind of job Cohort has, registered in one place. The runner (`jobs`) knows no
//! job type and the modules that define jobs know no runner: this module sits above both.

use crate::jobs::{maintenance, Runner, RunnerOptions, Services};
use sqlx::PgPool;
use std::sync::Arc;

/// A runner with every kind of job Cohort has, on the queues they use.
pub fn cohort_runner(pool: PgPool, workers: usize, services: Arc<Services>) -> Runner {
    Runner::new(pool)
        .with_options(RunnerOptions {
            queues: vec![
                "default".into(),
                "maintenance".into(),
                "mail".into(),
                "pipeline".into(),
            ],
            workers,
            ..RunnerOptions::default()
        })
        .with_services(services)
        .register::<maintenance::DeleteExpiredSessions>()
        .register::<crate::meetups::ExtendSeries>()
        .register::<app::jobs::Notify>()
        .register::<app::jobs::Remind>()
        .register::<app::jobs::SettleSeats>()
        .register::<crate::meetups::SendEmail>()
        .register::<app::pipeline::distill::Distill>()
        .register::<crate::imports::ImportFile>()
}
