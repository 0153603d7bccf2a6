//! Group queries and membership changes, each checked by the policy.

use super::{GroupCard, GroupDetail, MemberRow};
use crate::accounts::ssr::{current_user, pool, require_user};
use crate::accounts::{CurrentUser, FormErrors};
use crate::errors::{invalid, not_found, AppError};
use crate::policy::{allows, require, Action, Actor, Role};
use sqlx::PgPool;

struct Group {
    id: i64,
    slug: String,
    name: String,
    city: String,
    time_zone: String,
    description: String,
}

async fn find_group(pool: &PgPool, slug: &str) -> Result<Group, AppError> {
    let row: Option<(i64, String, String, String, String, String)> = sqlx::query_as(
        "SELECT id, slug, name, city, time_zone, description FROM groups WHERE slug = $1",
    )
    .bind(slug)
    .fetch_optional(pool)
    .await?;
    let (id, slug, name, city, time_zone, description) = row.ok_or_else(|| not_found("group"))?;
    Ok(Group {
        id,
        slug,
        name,
        city,
        time_zone,
        description,
    })
}

pub async fn role_in(
    db: impl sqlx::PgExecutor<'_>,
    group_id: i64,
    user: Option<&CurrentUser>,
) -> Result<Option<Role>, AppError> {
    let Some(user) = user else { return Ok(None) };
    let role: Option<String> = sqlx::query_scalar(
        "SELECT role::text FROM memberships WHERE group_id = $1 AND user_id = $2",
    )
    .bind(group_id)
    .bind(user.id)
    .fetch_optional(db)
    .await?;
    Ok(role.as_deref().and_then(Role::parse))
}

pub async fn list_groups() -> Result<Vec<GroupCard>, AppError> {
    let pool = pool()?;
    let user = current_user().await?;
    let rows: Vec<(String, String, String, i64, Option<String>)> = sqlx::query_as(
        "SELECT g.slug, g.name, g.city,
                (SELECT count(*) FROM memberships m WHERE m.group_id = g.id),
                (SELECT role::text FROM memberships m WHERE m.group_id = g.id AND m.user_id = $1)
           FROM groups g ORDER BY g.name",
    )
    .bind(user.as_ref().map(|user| user.id))
    .fetch_all(&pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(slug, name, city, member_count, role)| GroupCard {
            slug,
            name,
            city,
            member_count,
            my_role: role.as_deref().and_then(Role::parse),
        })
        .collect())
}

pub async fn group_detail(slug: String) -> Result<GroupDetail, AppError> {
    let pool = pool()?;
    let user = current_user().await?;
    let group = find_group(&pool, &slug).await?;
    let role = role_in(&pool, group.id, user.as_ref()).await?;
    let actor = Actor {
        user: user.as_ref(),
        role,
    };
    let member_count: i64 =
        sqlx::query_scalar("SELECT count(*) FROM memberships WHERE group_id = $1")
            .bind(group.id)
            .fetch_one(&pool)
            .await?;
    let members = if allows(actor, Action::ViewMembers) {
        let rows: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT u.id, u.display_name, m.role::text FROM memberships m JOIN users u ON u.id = m.user_id
              WHERE m.group_id = $1 ORDER BY m.role DESC, u.display_name",
        )
        .bind(group.id)
        .fetch_all(&pool)
        .await
        ?;
        Some(
            rows.into_iter()
                .map(|(user_id, display_name, role)| MemberRow {
                    user_id,
                    display_name,
                    role: Role::parse(&role).unwrap_or(Role::Member),
                })
                .collect(),
        )
    } else {
        None
    };
    let (upcoming, past) =
        crate::events::ssr::group_meetups(&pool, group.id, chrono::Utc::now()).await?;
    Ok(GroupDetail {
        can_manage_events: allows(actor, Action::ManageEvents),
        upcoming,
        past,
        slug: group.slug,
        name: group.name,
        city: group.city,
        time_zone: group.time_zone,
        description: group.description,
        member_count,
        logged_in: user.is_some(),
        my_role: role,
        can_join: allows(actor, Action::JoinGroup),
        can_leave: allows(actor, Action::LeaveGroup),
        can_promote: allows(actor, Action::PromoteMember),
        members,
    })
}

/// The logged-in member, the pool and the group, once the policy allows `action` there.
async fn authorize(slug: &str, action: Action) -> Result<(CurrentUser, PgPool, Group), AppError> {
    let user = require_user().await?;
    let pool = pool()?;
    let group = find_group(&pool, slug).await?;
    let role = role_in(&pool, group.id, Some(&user)).await?;
    require(
        Actor {
            user: Some(&user),
            role,
        },
        action,
    )?;
    Ok((user, pool, group))
}

pub async fn join_group(slug: String) -> Result<(), AppError> {
    let (user, pool, group) = authorize(&slug, Action::JoinGroup).await?;
    sqlx::query(
        "INSERT INTO memberships (group_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(group.id)
    .bind(user.id)
    .execute(&pool)
    .await?;
    Ok(())
}

pub async fn leave_group(slug: String) -> Result<(), AppError> {
    let (user, pool, group) = authorize(&slug, Action::LeaveGroup).await?;
    let mut tx = pool.begin().await?;
    // Lock the group's organizers so that two leaving at once cannot both pass the check.
    let organizers: Vec<i64> = sqlx::query_scalar(
        "SELECT user_id FROM memberships WHERE group_id = $1 AND role = 'organizer' FOR UPDATE",
    )
    .bind(group.id)
    .fetch_all(&mut *tx)
    .await?;
    if organizers == [user.id] {
        return Err(invalid(
            "You are this group's only organizer: make another member an organizer before you leave.",
        ));
    }
    sqlx::query("DELETE FROM memberships WHERE group_id = $1 AND user_id = $2")
        .bind(group.id)
        .bind(user.id)
        .execute(&mut *tx)
        .await?;
    // Their shares went with the membership: the next figures snapshot leaves them out.
    crate::pipeline::compute::group::schedule(&mut tx, group.id).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn promote_member(slug: String, user_id: i64) -> Result<(), AppError> {
    let (_, pool, group) = authorize(&slug, Action::PromoteMember).await?;
    let updated = sqlx::query(
        "UPDATE memberships SET role = 'organizer' WHERE group_id = $1 AND user_id = $2",
    )
    .bind(group.id)
    .bind(user_id)
    .execute(&pool)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(not_found("member of this group"));
    }
    Ok(())
}

pub async fn create_group(
    name: String,
    slug: String,
    city: String,
    time_zone: String,
) -> Result<FormErrors, AppError> {
    let user = require_user().await?;
    require(
        Actor {
            user: Some(&user),
            role: None,
        },
        Action::CreateGroup,
    )?;
    let mut errors = FormErrors::default();
    let name = name.trim().to_string();
    if name.is_empty() || name.chars().count() > 120 {
        errors.fields.push((
            "name".into(),
            "Give the group a name of up to 120 characters.".into(),
        ));
    }
    let city = city.trim().to_string();
    if city.chars().count() > 120 {
        errors.fields.push((
            "city".into(),
            "Keep the city to 120 characters or fewer.".into(),
        ));
    }
    let slug = super::parse_slug(&slug);
    if let Err(message) = &slug {
        errors.fields.push(("slug".into(), message.clone()));
    }
    let time_zone = time_zone.trim().to_string();
    if time_zone.parse::<chrono_tz::Tz>().is_err() {
        errors.fields.push((
            "time_zone".into(),
            "Choose a time zone like America/Los_Angeles.".into(),
        ));
    }
    let (Ok(slug), true) = (slug, errors.is_empty()) else {
        return Ok(errors);
    };
    let pool = pool()?;
    let mut tx = pool.begin().await?;
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO groups (slug, name, city, time_zone) VALUES ($1, $2, $3, $4)
         ON CONFLICT (slug) DO NOTHING RETURNING id",
    )
    .bind(&slug)
    .bind(&name)
    .bind(city.trim())
    .bind(&time_zone)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(id) = id else {
        errors.fields.push((
            "slug".into(),
            "Another group has this address already.".into(),
        ));
        return Ok(errors);
    };
    sqlx::query("INSERT INTO memberships (group_id, user_id, role) VALUES ($1, $2, 'organizer')")
        .bind(id)
        .bind(user.id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    crate::redirect_local(&format!("/groups/{slug}"));
    Ok(FormErrors::default())
}
