//! Every kind of job Cohort has, registered in one place. The runner (`jobs`) knows no
//! job type and the modules that define jobs know no runner: this module sits above both.
//! The pipeline stages' jobs are declared and written in `app::pipeline`; here each is
//! given to the runner.

use crate::jobs::{maintenance, JobContext, Run, Runner, RunnerOptions, Services};
use anyhow::Result;
use app::pipeline::compute::group::GroupFigures;
use app::pipeline::compute::meetup::FreezeMeetup;
use app::pipeline::compute::Compute;
use app::pipeline::distill::Distill;
use app::pipeline::index::Index;
use app::pipeline::NightlyRecompute;
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
        .register::<Distill>()
        .register::<Index>()
        .register::<Compute>()
        .register::<GroupFigures>()
        .register::<FreezeMeetup>()
        .register::<NightlyRecompute>()
        .register::<crate::imports::ImportFile>()
}

impl Run for Distill {
    async fn run(self, context: JobContext) -> Result<()> {
        let user_id = self.user_id;
        let done = Distill::run(self, &context.pool).await?;
        if done.accepted > 0 {
            // Index and Compute now, each in place of its queued job, so that a write
            // waits in the queue once rather than three times. Should either fail, its
            // queued job is still there (the take rolled back) and runs as usual.
            let next = async {
                Index { user_id }.run_next(&context.pool).await?;
                Compute { user_id }.run_next(&context.pool).await
            };
            if let Err(error) = next.await {
                tracing::warn!(user_id, %error, "the stages after Distill are left to their jobs");
            }
        }
        Ok(())
    }
}

impl Run for Index {
    async fn run(self, context: JobContext) -> Result<()> {
        Index::run(self, &context.pool).await?;
        Ok(())
    }
}

impl Run for Compute {
    async fn run(self, context: JobContext) -> Result<()> {
        Compute::run(self, &context.pool).await?;
        Ok(())
    }
}

impl Run for GroupFigures {
    async fn run(self, context: JobContext) -> Result<()> {
        GroupFigures::run(self, &context.pool).await?;
        Ok(())
    }
}

impl Run for FreezeMeetup {
    async fn run(self, context: JobContext) -> Result<()> {
        FreezeMeetup::run(self, &context.pool).await?;
        Ok(())
    }
}

impl Run for NightlyRecompute {
    async fn run(self, context: JobContext) -> Result<()> {
        NightlyRecompute::run(self, &context.pool).await?;
        Ok(())
    }
}
