//! The e-mail outbox that instance admins read at /admin/outbox: every e-mail Cohort
//! wrote, newest first (where they are kept when no SMTP server is configured).

use crate::errors::message;
use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

/// One e-mail of the outbox, for instance admins.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEmail {
    pub id: i64,
    pub to: String,
    pub subject: String,
    pub kind: String,
    pub status: String,
    pub created: String,
    pub text_body: String,
    pub has_ics: bool,
}

#[server(endpoint = "get_outbox")]
pub async fn get_outbox() -> Result<Vec<OutboxEmail>, ServerFnError> {
    Ok(ssr::outbox().await?)
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use super::OutboxEmail;
    use crate::accounts::ssr::{pool, require_user};
    use crate::errors::AppError;
    use crate::events::store::moment_label;
    use crate::policy::{require, Action, Actor};
    use chrono::{DateTime, Utc};

    pub async fn outbox() -> Result<Vec<OutboxEmail>, AppError> {
        let user = require_user().await?;
        require(
            Actor {
                user: Some(&user),
                role: None,
            },
            Action::AdministerInstance,
        )?;
        let pool = pool()?;
        #[allow(clippy::type_complexity)]
        let rows: Vec<(i64, String, String, String, String, String, DateTime<Utc>, String, bool)> = sqlx::query_as(
            "SELECT id, to_name, to_address, subject, kind, status::text, created_at, text_body, ics IS NOT NULL
               FROM emails ORDER BY created_at DESC, id DESC LIMIT 200",
        )
        .fetch_all(&pool)
        .await
        ?;
        Ok(rows
            .into_iter()
            .map(
                |(id, name, address, subject, kind, status, created, text_body, has_ics)| {
                    OutboxEmail {
                        id,
                        to: format!("{name} <{address}>"),
                        subject,
                        kind,
                        status,
                        created: moment_label(created, &user.time_zone),
                        text_body,
                        has_ics,
                    }
                },
            )
            .collect())
    }
}

/// `/admin/outbox`: every e-mail Cohort wrote, for instance admins (where they are kept
/// when no SMTP server is configured).
#[component]
pub fn OutboxPage() -> impl IntoView {
    let emails = crate::data::load(|| (), |_| get_outbox());
    view! {
        <Title formatter=crate::html::page_title text="Outbox" />
        <h1>"Outbox"</h1>
        <p class="muted">"E-mails Cohort wrote, newest first. Without an SMTP server (--smtp-url) they are kept here, not sent."</p>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match emails.await {
                    Ok(emails) if emails.is_empty() => view! { <p class="empty">"No e-mails yet."</p> }.into_any(),
                    Ok(emails) => view! {
                        <ul class="outbox">
                            {emails.into_iter().map(|email| view! {
                                <li data-kind=email.kind.clone()>
                                    <details>
                                        <summary>
                                            <strong>{email.subject.clone()}</strong>
                                            <span class="muted">" to "{email.to.clone()}" · "{email.created.clone()}" · "</span>
                                            <span class="badge">{email.status.clone()}</span>
                                            {email.has_ics.then(|| view! { <span class="badge">".ics"</span> })}
                                        </summary>
                                        <pre class="mail-body">{email.text_body.clone()}</pre>
                                    </details>
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(error) => view! { <p class="error" role="alert">{message(&error)}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}
