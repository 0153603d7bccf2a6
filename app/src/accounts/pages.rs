//! Sign-up, log-in and profile pages. The forms are plain HTML forms posting to server
//! functions: they work before (or without) the wasm, and in place once hydrated.

use super::{
    ChangePassword, CurrentUser, DeleteAccount, FormErrors, LogoutEverywhere, UpdateProfile,
};
use crate::errors::message;
use crate::Auth;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_location, use_query_map};

/// The errors a form's last submission came back with.
fn errors_of<A>(action: ServerAction<A>) -> Memo<FormErrors>
where
    A: leptos::server_fn::ServerFn<Output = FormErrors> + Clone + Send + Sync + 'static,
    A::Error: Clone + Send + Sync + 'static,
    ServerFnError: From<A::Error>,
{
    let value = action.value();
    Memo::new(move |_| match value.get() {
        Some(Ok(errors)) => errors,
        Some(Err(error)) => FormErrors::form(message(&ServerFnError::from(error))),
        None => FormErrors::default(),
    })
}

#[component]
fn FieldError(errors: Memo<FormErrors>, field: &'static str) -> impl IntoView {
    move || {
        errors.get().field(field).map(|text| {
            view! { <p class="field-error" id=format!("{field}-error") role="alert">{text}</p> }
        })
    }
}

#[component]
fn FormError(errors: Memo<FormErrors>) -> impl IntoView {
    move || {
        errors
            .get()
            .form
            .map(|text| view! { <p class="error" role="alert">{text}</p> })
    }
}

/// Where to go after logging in or signing up. The hidden fields carry it as an attribute
/// (`value=`, not `prop:value=`, which the server does not render), so that a form sent
/// before the page is hydrated, or without JavaScript, still returns to the page asked for.
fn next_param() -> Memo<String> {
    let query = use_query_map();
    Memo::new(move |_| query.read().get("next").unwrap_or_default())
}

#[component]
pub fn SignupPage() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let errors = errors_of(auth.signup);
    let next = next_param();
    // The browser knows the member's time zone; the server defaults to UTC without it.
    let time_zone = RwSignal::new(String::new());
    Effect::new(move |_| time_zone.set(browser_time_zone()));

    view! {
        <Title formatter=crate::html::page_title text="Sign up" />
        <section class="auth-card">
            <h1>"Create your account"</h1>
            <ActionForm action=auth.signup attr:class="form" attr:novalidate=true>
                <input type="hidden" name="next" value=next />
                <input type="hidden" name="time_zone" value=time_zone />
                <label for="email">"E-mail"</label>
                <input id="email" name="email" type="email" autocomplete="email" required />
                <FieldError errors field="email" />
                <label for="display_name">"Name other members see"</label>
                <input id="display_name" name="display_name" autocomplete="name" maxlength="100" required />
                <FieldError errors field="display_name" />
                <label for="password">"Password"</label>
                <input id="password" name="password" type="password" autocomplete="new-password" minlength="10" required />
                <p class="hint">"At least 10 characters; a few unrelated words work well."</p>
                <FieldError errors field="password" />
                <FormError errors />
                <button type="submit" disabled=move || auth.signup.pending().get()>"Sign up"</button>
            </ActionForm>
            <p>"Already a member? " <a href=move || login_href(&next.get())>"Log in"</a></p>
        </section>
    }
}

fn login_href(next: &str) -> String {
    if next.is_empty() {
        "/login".into()
    } else {
        format!("/login?next={}", urlencoding::encode(next))
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let errors = errors_of(auth.login);
    let next = next_param();
    view! {
        <Title formatter=crate::html::page_title text="Log in" />
        <section class="auth-card">
            <h1>"Log in"</h1>
            <ActionForm action=auth.login attr:class="form" attr:novalidate=true>
                <input type="hidden" name="next" value=next />
                <label for="email">"E-mail"</label>
                <input id="email" name="email" type="email" autocomplete="username" required />
                <label for="password">"Password"</label>
                <input id="password" name="password" type="password" autocomplete="current-password" required />
                <FormError errors />
                <button type="submit" disabled=move || auth.login.pending().get()>"Log in"</button>
            </ActionForm>
            <p>
                "New here? "
                <a href=move || {
                    let next = next.get();
                    if next.is_empty() { "/signup".to_string() } else { format!("/signup?next={}", urlencoding::encode(&next)) }
                }>"Create an account"</a>
            </p>
        </section>
    }
}

/// GET /logout asks; logging out itself is a POST (a link must not log anyone out).
#[component]
pub fn LogoutPage() -> impl IntoView {
    let auth = expect_context::<Auth>();
    view! {
        <Title formatter=crate::html::page_title text="Log out" />
        <section class="auth-card">
            <h1>"Log out"</h1>
            <p>"Log out of Cohort on this device?"</p>
            <ActionForm action=auth.logout attr:class="form">
                <button type="submit">"Log out"</button>
            </ActionForm>
        </section>
    }
}

/// A members-only page. On the server the request's member is known before rendering
/// (`RequestUser`, put there by `server/src/security.rs`): an anonymous visitor gets a 303
/// to log in and back, and no page. The page is built once, synchronously. Building it
/// inside a `Suspend` after awaiting the member (as this did) built it once more for each
/// of Suspense's dry runs on the server: the extra builds' resources lost the request's
/// context when their build was dropped ("the database pool is missing") and shifted the
/// ids by which the browser hydrates resources, so that a page could hydrate with another
/// build's data and panic (found by end2end/tests/import.spec.ts). In the browser, a member
/// who is no longer logged in is sent to log in as soon as that is known.
#[component]
pub fn RequireUser(children: Children) -> impl IntoView {
    let auth = expect_context::<Auth>();
    let location = use_location();
    let login_path = move || {
        let here = format!(
            "{}{}",
            location.pathname.get_untracked(),
            location.search.get_untracked()
        );
        format!("/login?next={}", urlencoding::encode(&here))
    };
    #[cfg(feature = "ssr")]
    {
        let anonymous = use_context::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<super::RequestUser>().cloned())
            .is_some_and(|super::RequestUser(user)| user.is_none());
        if anonymous {
            crate::redirect_local(&login_path());
            if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                response.set_status(http::StatusCode::SEE_OTHER);
            }
            return ().into_any();
        }
    }
    let navigate = leptos_router::hooks::use_navigate();
    Effect::new(move |_| {
        // The value may be stale (just logged in, the member is being fetched again):
        // awaiting the resource waits for the fresh one.
        if let Some(Ok(None)) = auth.user.get() {
            let (navigate, target) = (navigate.clone(), login_path());
            leptos::task::spawn_local(async move {
                // Unless the member has gone to another page meanwhile.
                if matches!(auth.user.await, Ok(None)) && target == login_path() {
                    navigate(&target, Default::default());
                }
            });
        }
    });
    children().into_any()
}

#[component]
pub fn ProfilePage() -> impl IntoView {
    view! {
        <Title formatter=crate::html::page_title text="Your profile" />
        <RequireUser>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match expect_context::<Auth>().user.await {
                        Ok(Some(user)) => view! { <Profile user /> }.into_any(),
                        Ok(None) => ().into_any(),
                        Err(error) => view! { <p class="error" role="alert">{message(&error)}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </RequireUser>
    }
}

#[component]
fn Profile(user: CurrentUser) -> impl IntoView {
    let update = ServerAction::<UpdateProfile>::new();
    let change = ServerAction::<ChangePassword>::new();
    let everywhere = ServerAction::<LogoutEverywhere>::new();
    let delete = ServerAction::<DeleteAccount>::new();
    let (update_errors, change_errors, delete_errors) =
        (errors_of(update), errors_of(change), errors_of(delete));
    let saved = move |action_value: Option<Result<FormErrors, ServerFnError>>| matches!(action_value, Some(Ok(errors)) if errors.is_empty());

    view! {
        <section class="profile">
            <h1>"Your profile"</h1>
            <p class="muted">"Logged in as " <strong>{user.email.clone()}</strong>
                {user.is_admin.then_some(" · instance admin")}</p>

            <h2>"Name and time zone"</h2>
            <ActionForm action=update attr:class="form">
                <label for="display_name">"Name other members see"</label>
                <input id="display_name" name="display_name" value=user.display_name.clone() maxlength="100" required />
                <FieldError errors=update_errors field="display_name" />
                <label for="time_zone">"Time zone"</label>
                <input id="time_zone" name="time_zone" value=user.time_zone.clone() placeholder="America/Los_Angeles" required />
                <FieldError errors=update_errors field="time_zone" />
                <FormError errors=update_errors />
                <button type="submit">"Save"</button>
                {move || saved(update.value().get()).then(|| view! { <p class="ok" role="status">"Saved."</p> })}
            </ActionForm>

            <h2>"Password"</h2>
            <ActionForm action=change attr:class="form">
                <label for="current_password">"Current password"</label>
                <input id="current_password" name="current_password" type="password" autocomplete="current-password" required />
                <FieldError errors=change_errors field="current_password" />
                <label for="new_password">"New password"</label>
                <input id="new_password" name="new_password" type="password" autocomplete="new-password" minlength="10" required />
                <FieldError errors=change_errors field="new_password" />
                <FormError errors=change_errors />
                <button type="submit">"Change password"</button>
                {move || saved(change.value().get()).then(|| view! { <p class="ok" role="status">"Password changed; other devices are logged out."</p> })}
            </ActionForm>

            <h2>"Devices"</h2>
            <ActionForm action=everywhere attr:class="form inline">
                <button type="submit">"Log out of all devices"</button>
            </ActionForm>

            <h2>"Your data"</h2>
            <p><a href="/me/export" download="cohort-export.json" rel="external">"Download all my data (JSON)"</a></p>
            <p><a href="/me/tokens">"API tokens"</a>" for apps and scripts that log for you"</p>
            <details class="danger-zone">
                <summary>"Delete my account"</summary>
                <p>"This erases your profile and memberships everywhere. It cannot be undone."</p>
                <ActionForm action=delete attr:class="form">
                    <label for="delete_password">"Your password"</label>
                    <input id="delete_password" name="password" type="password" autocomplete="current-password" required />
                    <FieldError errors=delete_errors field="password" />
                    <FormError errors=delete_errors />
                    <button type="submit" class="danger">"Delete my account"</button>
                </ActionForm>
            </details>
        </section>
    }
}

#[cfg(feature = "hydrate")]
fn browser_time_zone() -> String {
    let options = js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new())
        .resolved_options();
    js_sys::Reflect::get(&options, &"timeZone".into())
        .ok()
        .and_then(|zone| zone.as_string())
        .unwrap_or_default()
}

#[cfg(not(feature = "hydrate"))]
fn browser_time_zone() -> String {
    String::new()
}
