//! Personal API tokens (`/me/tokens`): create one (its secret is shown once), list them,
//! revoke one. The REST API (`server/src/api/`) authenticates with them.

use crate::errors::message;
use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

/// A token as its owner's list shows it (never the secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenView {
    pub id: i64,
    pub name: String,
    /// "read" or "write".
    pub scope: String,
    /// The first characters of the token, to tell tokens apart.
    pub prefix: String,
    pub created: String,
    pub last_used: Option<String>,
    pub revoked: Option<String>,
}

/// A token just made: the only time its secret is seen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewToken {
    pub id: i64,
    pub name: String,
    pub scope: String,
    pub secret: String,
}

#[server(endpoint = "list_tokens")]
pub async fn list_tokens() -> Result<Vec<TokenView>, ServerFnError> {
    Ok(ssr::list().await?)
}

/// `scope`: "read" (GET only) or "write" (also POST observations).
#[server(endpoint = "create_token")]
pub async fn create_token(name: String, scope: String) -> Result<NewToken, ServerFnError> {
    Ok(ssr::create(name, scope).await?)
}

#[server(endpoint = "revoke_token")]
pub async fn revoke_token(id: i64) -> Result<(), ServerFnError> {
    Ok(ssr::revoke(id).await?)
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use super::{NewToken, TokenView};
    use crate::accounts::ssr::{pool, require_user};
    use crate::accounts::CurrentUser;
    use crate::errors::{invalid, not_found, AppError};
    use crate::policy::{Action, Actor};

    use sha2::{Digest, Sha256};

    /// Tokens start with this, so that secret scanners and people recognise them.
    pub const TOKEN_PREFIX: &str = "coh_";
    /// How much of a token the list shows.
    const SHOWN: usize = 12;
    /// Live tokens a member may have at once.
    pub const MAX_TOKENS: i64 = 20;

    /// The stored form of a token.
    pub fn hash(token: &str) -> Vec<u8> {
        Sha256::digest(token.as_bytes()).to_vec()
    }

    /// A new token: the prefix and 256 random bits in hex.
    pub fn generate() -> String {
        use argon2::password_hash::rand_core::{OsRng, RngCore};
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        format!("{TOKEN_PREFIX}{hex}")
    }

    async fn owner() -> Result<CurrentUser, AppError> {
        let user = require_user().await?;
        let actor = Actor {
            user: Some(&user),
            role: None,
        };
        crate::policy::require(actor, Action::ManageOwnAccount)?;
        Ok(user)
    }

    fn label(at: chrono::DateTime<chrono::Utc>, zone: &str) -> String {
        let tz: chrono_tz::Tz = zone.parse().unwrap_or(chrono_tz::Tz::UTC);
        at.with_timezone(&tz).format("%-d %b %Y %H:%M").to_string()
    }

    type Row = (
        i64,
        String,
        String,
        String,
        chrono::DateTime<chrono::Utc>,
        Option<chrono::DateTime<chrono::Utc>>,
        Option<chrono::DateTime<chrono::Utc>>,
    );

    pub async fn list() -> Result<Vec<TokenView>, AppError> {
        let user = owner().await?;
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, name, scope, prefix, created_at, last_used_at, revoked_at FROM api_tokens
              WHERE user_id = $1 ORDER BY revoked_at IS NOT NULL, created_at DESC, id DESC",
        )
        .bind(user.id)
        .fetch_all(&pool()?)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(id, name, scope, prefix, created, used, revoked)| TokenView {
                    id,
                    name,
                    scope,
                    prefix,
                    created: label(created, &user.time_zone),
                    last_used: used.map(|at| label(at, &user.time_zone)),
                    revoked: revoked.map(|at| label(at, &user.time_zone)),
                },
            )
            .collect())
    }

    pub async fn create(name: String, scope: String) -> Result<NewToken, AppError> {
        let user = owner().await?;
        let name = name.trim().to_string();
        if name.is_empty() || name.chars().count() > 80 {
            return Err(invalid(
                "Name the token (up to 80 characters), e.g. after the app that uses it.",
            ));
        }
        if scope != "read" && scope != "write" {
            return Err(invalid("Choose read or write access."));
        }
        let pool = pool()?;
        let mut tx = pool.begin().await?;
        // One member's token creations take turns, so the limit holds.
        sqlx::query("SELECT id FROM users WHERE id = $1 FOR UPDATE")
            .bind(user.id)
            .execute(&mut *tx)
            .await?;
        let live: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM api_tokens WHERE user_id = $1 AND revoked_at IS NULL",
        )
        .bind(user.id)
        .fetch_one(&mut *tx)
        .await?;
        if live >= MAX_TOKENS {
            return Err(invalid(format!(
                "You have {MAX_TOKENS} tokens; revoke one you no longer use first."
            )));
        }
        let secret = generate();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO api_tokens (user_id, name, scope, prefix, secret_hash)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(user.id)
        .bind(&name)
        .bind(&scope)
        .bind(&secret[..SHOWN])
        .bind(hash(&secret))
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        tracing::info!(user_id = user.id, token_id = id, %scope, "API token created");
        Ok(NewToken {
            id,
            name,
            scope,
            secret,
        })
    }

    pub async fn revoke(id: i64) -> Result<(), AppError> {
        let user = owner().await?;
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now())
              WHERE id = $1 AND user_id = $2",
        )
        .bind(id)
        .bind(user.id)
        .execute(&pool()?)
        .await?
        .rows_affected();
        if done == 0 {
            return Err(not_found("token"));
        }
        tracing::info!(user_id = user.id, token_id = id, "API token revoked");
        Ok(())
    }
}

/// `/me/tokens`.
#[component]
pub fn TokensPage() -> impl IntoView {
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let tokens = crate::data::load(
        move || (create.version().get(), revoke.version().get()),
        |_| list_tokens(),
    );
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    view! {
        <Title formatter=crate::html::page_title text="API tokens" />
        <div class="tokens-page" data-hydrated=move || hydrated.get().to_string()>
            <p class="crumbs"><a href="/me">"Your profile"</a></p>
            <h1>"API tokens"</h1>
            <p class="muted">
                "A token lets an app or a script use the Cohort API for you: read your metrics, observations and "
                "meetups, and with write access also send observations. Send it as "
                <code>"Authorization: Bearer TOKEN"</code>" to "<code>"/api/v1/"</code>
                " (described at "<a href="/api/v1/openapi.json">"/api/v1/openapi.json"</a>")."
            </p>
            {move || create.value().get().map(|result| match result {
                Ok(token) => view! {
                    <div class="notice new-token" role="status">
                        <p><strong>"Copy your new token now: it will not be shown again."</strong></p>
                        <p><code class="secret">{token.secret}</code></p>
                        <p class="muted">{token.name}" · "{token.scope}" access"</p>
                    </div>
                }.into_any(),
                Err(error) => view! { <p class="error" role="alert">{message(&error)}</p> }.into_any(),
            })}
            <ActionForm action=create attr:class="form">
                <label for="token-name">"Name"</label>
                <input id="token-name" name="name" required maxlength="80" placeholder="Sleep tracker sync" />
                <label for="token-scope">"Access"</label>
                <select id="token-scope" name="scope">
                    <option value="read">"Read: metrics, observations, meetups"</option>
                    <option value="write">"Write: also send observations"</option>
                </select>
                <button type="submit">"Create token"</button>
            </ActionForm>
            <h2>"Your tokens"</h2>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match tokens.await {
                        Ok(list) if list.is_empty() => view! { <p class="muted">"No tokens yet."</p> }.into_any(),
                        Ok(list) => view! {
                            <ul class="token-list">
                                {list.into_iter().map(|token| view! {
                                    <li class=if token.revoked.is_some() { "token revoked" } else { "token" } data-token=token.id>
                                        <strong>{token.name.clone()}</strong>" "
                                        <span class="badge">{token.scope.clone()}</span>" "
                                        <code>{format!("{}…", token.prefix)}</code>
                                        <br />
                                        <span class="muted">
                                            "Created "{token.created.clone()}
                                            {token.last_used.clone().map(|at| format!(" · last used {at}"))}
                                            {token.revoked.clone().map(|at| format!(" · revoked {at}"))}
                                        </span>
                                        {token.revoked.is_none().then(|| view! {
                                            <ActionForm action=revoke attr:class="inline">
                                                <input type="hidden" name="id" value=token.id />
                                                <button type="submit" class="link small danger-link">"Revoke"</button>
                                            </ActionForm>
                                        })}
                                    </li>
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                        Err(error) => {
                            let text = message(&error);
                            if text.starts_with("Log in") {
                                view! { <p class="notice"><a href="/login?next=%2Fme%2Ftokens">"Log in"</a>" to manage your tokens."</p> }.into_any()
                            } else {
                                view! { <p class="error" role="alert">{text}</p> }.into_any()
                            }
                        }
                    }
                })}
            </Suspense>
            {move || revoke.value().get().and_then(Result::err).map(|error| view! { <p class="error" role="alert">{message(&error)}</p> })}
        </div>
    }
}
