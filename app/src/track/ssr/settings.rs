//! A member's metrics: settings (unit shown, goal, pinned), sharing with groups, and
//! creating their own.

use super::*;
use crate::accounts::FormErrors;
use crate::errors::{internal, invalid, not_found, AppError};
use crate::jobs::Job as _;
use crate::policy::{require, Action, Actor};
use crate::track::units::{self, Unit};
use crate::track::{canonical_value, Aggregate, Kind, Rules};

pub async fn save_metric_settings(
    key: String,
    display_unit: String,
    goal: String,
    pinned: bool,
) -> Result<(), AppError> {
    let (user, pool) = member().await?;
    let metric = own_metric(&pool, user.id, &key).await?;
    let display_unit = match display_unit.trim() {
        "" => metric.display_unit.clone(),
        code => {
            let compatible = Unit::find(&metric.unit)
                .zip(Unit::find(code))
                .and_then(|(canonical, shown)| units::convert(1.0, shown, canonical))
                .is_some();
            if !compatible && code != metric.unit {
                return Err(invalid(format!(
                    "{} cannot be shown in “{code}”.",
                    metric.name
                )));
            }
            Unit::find(code).map_or(code.to_string(), |u| u.code.to_string())
        }
    };
    let goal = match goal.trim() {
        "" => None,
        text => Some(
            canonical_value(&metric.rules(), text, &display_unit)
                .map_err(|reason| invalid(format!("Goal: {reason}")))?,
        ),
    };
    sqlx::query(
        "INSERT INTO metric_settings (user_id, metric_id, pinned, display_unit, goal)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (user_id, metric_id) DO UPDATE SET pinned = EXCLUDED.pinned,
           display_unit = EXCLUDED.display_unit, goal = EXCLUDED.goal, updated_at = now()",
    )
    .bind(user.id)
    .bind(metric.id)
    .bind(pinned)
    .bind(display_unit)
    .bind(goal)
    .execute(&pool)
    .await?;
    // The goal streak follows the goal.
    crate::pipeline::compute::Compute { user_id: user.id }
        .enqueue(&mut *pool.acquire().await?)
        .await?;
    Ok(())
}

pub async fn pin_metric(key: String, pinned: bool) -> Result<(), AppError> {
    let (user, pool) = member().await?;
    let metric = own_metric(&pool, user.id, &key).await?;
    sqlx::query(
        "INSERT INTO metric_settings (user_id, metric_id, pinned) VALUES ($1, $2, $3)
         ON CONFLICT (user_id, metric_id) DO UPDATE SET pinned = EXCLUDED.pinned, updated_at = now()",
    )
    .bind(user.id)
    .bind(metric.id)
    .bind(pinned)
    .execute(&pool)
    .await
    ?;
    Ok(())
}

pub async fn share_metric(key: String, group_slug: String, level: String) -> Result<(), AppError> {
    let (user, pool) = member().await?;
    let metric = own_metric(&pool, user.id, &key).await?;
    let group: Option<i64> = sqlx::query_scalar("SELECT id FROM groups WHERE slug = $1")
        .bind(&group_slug)
        .fetch_optional(&pool)
        .await?;
    let group = group.ok_or_else(|| not_found("group"))?;
    // Making a metric private is always allowed, member of the group or not.
    if level == "private" {
        sqlx::query(
            "DELETE FROM metric_shares WHERE user_id = $1 AND metric_id = $2 AND group_id = $3",
        )
        .bind(user.id)
        .bind(metric.id)
        .bind(group)
        .execute(&pool)
        .await?;
        // The member leaves the group's figures at its next snapshot.
        schedule_group_figures(&pool, group).await?;
        return Ok(());
    }
    let role = crate::groups::ssr::role_in(&pool, group, Some(&user)).await?;
    require(
        Actor {
            user: Some(&user),
            role,
        },
        Action::ShareWithGroup,
    )?;
    match level.as_str() {
        "aggregate" | "members" => {
            sqlx::query(
                "INSERT INTO metric_shares (user_id, metric_id, group_id, level) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (user_id, metric_id, group_id) DO UPDATE SET level = EXCLUDED.level, updated_at = now()",
            )
            .bind(user.id)
            .bind(metric.id)
            .bind(group)
            .bind(&level)
            .execute(&pool)
            .await
            .map_err(|error| {
                // The membership went away since the check (left at the same moment):
                // the share's foreign key to the membership refused it.
                if error
                    .as_database_error()
                    .is_some_and(|db| db.is_foreign_key_violation())
                {
                    crate::errors::forbidden()
                } else {
                    internal(error)
                }
            })?;
        }
        _ => return Err(invalid("Share as private, aggregate or members.")),
    }
    schedule_group_figures(&pool, group).await?;
    Ok(())
}

fn optional_number(text: &str, field: &str, errors: &mut FormErrors) -> Option<f64> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    match crate::track::parse_number(text) {
        Ok(value) => Some(value),
        Err(message) => {
            errors.add(field, Err(message));
            None
        }
    }
}

pub async fn create_metric(
    name: String,
    kind: String,
    unit: String,
    aggregate: String,
    min: String,
    max: String,
    goal: String,
) -> Result<FormErrors, AppError> {
    let (user, pool) = member().await?;
    let mut errors = FormErrors::default();
    let name = name.trim().to_string();
    match name.chars().count() {
        0 => errors.add("name", Err("Give the metric a name.".into())),
        81.. => errors.add("name", Err("Keep the name to 80 characters.".into())),
        _ => {}
    }
    let kind = Kind::parse(&kind);
    if kind.is_none() {
        errors.add("kind", Err("Choose what kind of metric it is.".into()));
    }
    let aggregate = Aggregate::parse(&aggregate);
    if aggregate.is_none() {
        errors.add("aggregate", Err("Choose how a day adds up.".into()));
    }
    let unit = match kind.map(|kind| crate::track::canonical_unit_for(kind, &unit)) {
        Some(Ok(unit)) => unit,
        Some(Err(message)) => {
            errors.add("unit", Err(message));
            String::new()
        }
        None => String::new(),
    };
    let (mut min, mut max) = (
        optional_number(&min, "min", &mut errors),
        optional_number(&max, "max", &mut errors),
    );
    match kind {
        Some(Kind::Scale) => {
            if min.is_none() || max.is_none() {
                errors.add(
                    "max",
                    Err("A scale needs its lowest and highest points.".into()),
                );
            } else if max.unwrap_or(0.0) - min.unwrap_or(0.0) > 100.0 {
                errors.add("max", Err("Keep a scale to 100 points or fewer.".into()));
            }
        }
        Some(Kind::YesNo) => (min, max) = (Some(0.0), Some(1.0)),
        Some(Kind::Count | Kind::Duration) => min = Some(min.unwrap_or(0.0).max(0.0)),
        _ => {}
    }
    if let (Some(low), Some(high)) = (min, max) {
        if low >= high {
            errors.add(
                "max",
                Err("The highest value must be above the lowest.".into()),
            );
        }
    }
    if !errors.is_empty() {
        return Ok(errors);
    }
    let (Some(kind), Some(aggregate)) = (kind, aggregate) else {
        return Ok(errors);
    };
    let rules = Rules {
        name: name.clone(),
        kind,
        unit: unit.clone(),
        min,
        max,
    };
    let goal = match goal.trim() {
        "" => None,
        text => match canonical_value(&rules, text, "") {
            Ok(goal) => Some(goal),
            Err(message) => {
                errors.add("goal", Err(message));
                return Ok(errors);
            }
        },
    };
    let mut tx = pool.begin().await?;
    let base = crate::track::slug(&name);
    let taken: Vec<String> = sqlx::query_scalar(
        "SELECT key FROM metrics WHERE (owner_id IS NULL OR owner_id = $1) AND key LIKE $2 || '%'",
    )
    .bind(user.id)
    .bind(&base)
    .fetch_all(&mut *tx)
    .await?;
    if taken.iter().any(|key| key == &base)
        && sqlx::query_scalar::<_, bool>(
            "SELECT EXISTS (SELECT 1 FROM metrics WHERE owner_id = $1 AND lower(name) = lower($2))",
        )
        .bind(user.id)
        .bind(&name)
        .fetch_one(&mut *tx)
        .await?
    {
        errors.add(
            "name",
            Err("You already have a metric with this name.".into()),
        );
        return Ok(errors);
    }
    let key = (1..)
        .map(|n| {
            if n == 1 {
                base.clone()
            } else {
                format!("{base}-{n}")
            }
        })
        .find(|key| !taken.contains(key) && !RESERVED_KEYS.contains(&key.as_str()))
        .unwrap_or(base);
    let metric_id: i64 = sqlx::query_scalar(
        "INSERT INTO metrics (owner_id, key, name, kind, unit, display_unit, aggregate, min_value, max_value)
         VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8) RETURNING id",
    )
    .bind(user.id)
    .bind(&key)
    .bind(&name)
    .bind(kind.code())
    .bind(&unit)
    .bind(aggregate.code())
    .bind(min)
    .bind(max)
    .fetch_one(&mut *tx)
    .await
    ?;
    sqlx::query(
        "INSERT INTO metric_settings (user_id, metric_id, pinned, goal) VALUES ($1, $2, true, $3)",
    )
    .bind(user.id)
    .bind(metric_id)
    .bind(goal)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    crate::redirect_local(&format!("/track/{key}"));
    Ok(errors)
}

/// The group's next figures snapshot (on the hour), after a share changed.
async fn schedule_group_figures(pool: &sqlx::PgPool, group_id: i64) -> Result<(), AppError> {
    let mut conn = pool.acquire().await?;
    crate::pipeline::compute::group::schedule(&mut conn, group_id)
        .await
        .map_err(internal)
}
