//! Instance administration from the command line.

use anyhow::{bail, Result};
use sqlx::PgPool;

/// Makes the (non-demo) account with this e-mail address an instance admin; returns the
/// normalised address.
pub async fn grant(pool: &PgPool, email: &str) -> Result<String> {
    let email = app::accounts::Email::parse(email).map_err(|message| anyhow::anyhow!(message))?;
    let updated = sqlx::query("UPDATE users SET is_admin = true WHERE email = $1 AND NOT is_demo")
        .bind(email.as_str())
        .execute(pool)
        .await?;
    if updated.rows_affected() == 0 {
        bail!(
            "no account (demo accounts aside) has the e-mail address {}",
            email.as_str()
        );
    }
    Ok(email.as_str().to_string())
}
