//! The accounts' queries, one dialect for SQLite and PostgreSQL. Functions that run one
//! statement take any executor (the pool or a transaction); the rest say which they need.

use serde::Serialize;
use sqlx::{Any, Executor};
use tutti_store::{Db, StoreError, Tx, new_id, now_ms};

use tutti_platform::Role;

use crate::domain::{Email, TokenScope};
use crate::secrets::{hash_secret, random_secret};

type Result<T> = std::result::Result<T, StoreError>;

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct User {
    pub id: String,
    pub email: String,
    pub name: String,
    #[serde(skip)]
    pub password_hash: Option<String>,
    pub created_at: i64,
}

const USER_COLUMNS: &str = "id, email, name, password_hash, created_at";

pub async fn user_by_email<'c>(
    e: impl Executor<'c, Database = Any>,
    email: &Email,
) -> Result<Option<User>> {
    Ok(sqlx::query_as(
        "SELECT id, email, name, password_hash, created_at FROM users WHERE email = $1",
    )
    .bind(email.as_str())
    .fetch_optional(e)
    .await?)
}

pub async fn user_by_id<'c>(
    e: impl Executor<'c, Database = Any>,
    id: &str,
) -> Result<Option<User>> {
    Ok(
        sqlx::query_as(
            "SELECT id, email, name, password_hash, created_at FROM users WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(e)
        .await?,
    )
}

pub async fn insert_user(
    tx: &mut Tx,
    email: &Email,
    name: &str,
    password_hash: Option<&str>,
) -> Result<User> {
    let user = User {
        id: new_id(),
        email: email.as_str().to_string(),
        name: name.to_string(),
        password_hash: password_hash.map(str::to_string),
        created_at: now_ms(),
    };
    sqlx::query("INSERT INTO users (id, email, name, password_hash, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(&user.id)
        .bind(&user.email)
        .bind(&user.name)
        .bind(&user.password_hash)
        .bind(user.created_at)
        .execute(&mut **tx)
        .await?;
    Ok(user)
}

pub async fn set_password<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
    hash: &str,
) -> Result<()> {
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(hash)
        .bind(user_id)
        .execute(e)
        .await?;
    Ok(())
}

pub async fn set_name<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
    name: &str,
) -> Result<()> {
    sqlx::query("UPDATE users SET name = $1 WHERE id = $2")
        .bind(name)
        .bind(user_id)
        .execute(e)
        .await?;
    Ok(())
}

pub async fn count_users<'c>(e: impl Executor<'c, Database = Any>) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(e)
        .await?)
}

pub async fn roles_of<'c>(e: impl Executor<'c, Database = Any>, email: &str) -> Result<Vec<Role>> {
    let names: Vec<String> =
        sqlx::query_scalar("SELECT role FROM role_grants WHERE email = $1 ORDER BY role")
            .bind(email)
            .fetch_all(e)
            .await?;
    let mut roles: Vec<Role> = names.into_iter().map(Role::stored).collect();
    roles.sort();
    Ok(roles)
}

/// Grants a role; granting one already held changes nothing. Returns whether it was new.
pub async fn grant<'c>(
    e: impl Executor<'c, Database = Any>,
    email: &Email,
    role: &Role,
    by: Option<&str>,
) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO role_grants (email, role, granted_by, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (email, role) DO NOTHING",
    )
    .bind(email.as_str())
    .bind(role.as_str())
    .bind(by)
    .bind(now_ms())
    .execute(e)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn revoke<'c>(
    e: impl Executor<'c, Database = Any>,
    email: &Email,
    role: &Role,
) -> Result<bool> {
    let done = sqlx::query("DELETE FROM role_grants WHERE email = $1 AND role = $2")
        .bind(email.as_str())
        .bind(role.as_str())
        .execute(e)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// A person for the admin pages: an account, or an email with roles waiting for sign-up.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UserSummary {
    /// Empty while the person has not signed up yet.
    pub id: Option<String>,
    pub email: String,
    pub name: Option<String>,
    pub roles: Vec<Role>,
    pub created_at: Option<i64>,
}

pub async fn list_people(db: &Db) -> Result<Vec<UserSummary>> {
    let users: Vec<User> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM users ORDER BY email"
    )))
    .fetch_all(db.pool())
    .await?;
    let grants: Vec<(String, String)> =
        sqlx::query_as("SELECT email, role FROM role_grants ORDER BY email, role")
            .fetch_all(db.pool())
            .await?;
    let mut people: Vec<UserSummary> = users
        .into_iter()
        .map(|u| UserSummary {
            id: Some(u.id),
            email: u.email,
            name: Some(u.name),
            roles: Vec::new(),
            created_at: Some(u.created_at),
        })
        .collect();
    for (email, role) in grants {
        let role = Role::stored(role);
        match people.iter_mut().find(|p| p.email == email) {
            Some(p) => p.roles.push(role),
            None => people.push(UserSummary {
                id: None,
                email,
                name: None,
                roles: vec![role],
                created_at: None,
            }),
        }
    }
    people.sort_by(|a, b| (a.id.is_none(), &a.email).cmp(&(b.id.is_none(), &b.email)));
    Ok(people)
}

/// A signed-in browser.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Session {
    pub user_id: String,
    pub csrf_token: String,
    pub expires_at: i64,
}

/// Opens a session; returns the cookie value, the only copy of the session's secret.
/// Expired sessions are deleted by the periodic sweep ([`sweep_expired`]).
pub async fn create_session(db: &Db, user_id: &str, days: i64) -> Result<String> {
    let secret = random_secret("");
    let now = now_ms();
    sqlx::query("INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(hash_secret(&secret))
        .bind(user_id)
        .bind(random_secret(""))
        .bind(now)
        .bind(now + days.max(1) * 86_400_000)
        .execute(db.pool())
        .await?;
    Ok(secret)
}

pub async fn find_session<'c>(
    e: impl Executor<'c, Database = Any>,
    secret: &str,
) -> Result<Option<Session>> {
    Ok(sqlx::query_as("SELECT user_id, csrf_token, expires_at FROM sessions WHERE id_hash = $1 AND expires_at > $2")
        .bind(hash_secret(secret))
        .bind(now_ms())
        .fetch_optional(e)
        .await?)
}

pub async fn delete_session<'c>(e: impl Executor<'c, Database = Any>, secret: &str) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
        .bind(hash_secret(secret))
        .execute(e)
        .await?;
    Ok(())
}

/// Ends every session of a user (after a password reset).
pub async fn delete_sessions_of<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(e)
        .await?;
    Ok(())
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ApiToken {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub scope: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    /// After this the token is refused; never when empty.
    pub expires_at: Option<i64>,
}

const TOKEN_COLUMNS: &str =
    "id, user_id, name, scope, created_at, last_used_at, revoked_at, expires_at";

/// Creates a token; returns it and the secret, which is never stored in the clear.
pub async fn create_token<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
    name: &str,
    scope: TokenScope,
    expires_at: Option<i64>,
) -> Result<(ApiToken, String)> {
    let secret = random_secret("tutti_");
    let token = ApiToken {
        id: new_id(),
        user_id: user_id.to_string(),
        name: name.to_string(),
        scope: scope.as_str().to_string(),
        created_at: now_ms(),
        last_used_at: None,
        revoked_at: None,
        expires_at,
    };
    sqlx::query(
        "INSERT INTO api_tokens (id, user_id, name, token_hash, scope, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&token.id)
    .bind(&token.user_id)
    .bind(&token.name)
    .bind(hash_secret(&secret))
    .bind(&token.scope)
    .bind(token.created_at)
    .bind(token.expires_at)
    .execute(e)
    .await?;
    Ok((token, secret))
}

/// The live token with this secret (not revoked, not expired), marking it used.
pub async fn use_token(db: &Db, secret: &str) -> Result<Option<ApiToken>> {
    let now = now_ms();
    let token: Option<ApiToken> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL \
         AND (expires_at IS NULL OR expires_at > $2)"
    )))
    .bind(hash_secret(secret))
    .bind(now)
    .fetch_optional(db.pool())
    .await?;
    if let Some(t) = &token {
        // Written at most once a minute so reads stay reads.
        if t.last_used_at.is_none_or(|at| now - at > 60_000) {
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(now)
                .bind(&t.id)
                .execute(db.pool())
                .await?;
        }
    }
    Ok(token)
}

pub async fn tokens_of<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
) -> Result<Vec<ApiToken>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE user_id = $1 ORDER BY created_at DESC"
    )))
    .bind(user_id)
    .fetch_all(e)
    .await?)
}

/// Revokes one of a user's tokens; false when they have no live token with that id.
pub async fn revoke_token<'c>(
    e: impl Executor<'c, Database = Any>,
    user_id: &str,
    id: &str,
) -> Result<bool> {
    let done = sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL")
        .bind(now_ms())
        .bind(id)
        .bind(user_id)
        .execute(e)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// What a one-time link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    /// Makes the first administrator.
    Setup,
    /// Lets an invited person choose a password.
    Invite,
    /// Lets a person who forgot their password choose a new one.
    Reset,
    /// Verifies the email of an open sign-up; the link carries the sign-up (see
    /// [`create_signup`]).
    Signup,
}

impl LinkPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkPurpose::Setup => "setup",
            LinkPurpose::Invite => "invite",
            LinkPurpose::Reset => "reset",
            LinkPurpose::Signup => "signup",
        }
    }

    /// How long the link stays valid.
    pub fn lifetime_ms(self) -> i64 {
        match self {
            LinkPurpose::Reset => 3_600_000,
            LinkPurpose::Signup => SIGNUP_LIFETIME_MS,
            LinkPurpose::Setup | LinkPurpose::Invite => 7 * 86_400_000,
        }
    }
}

/// Makes a one-time link secret for `email`.
pub async fn create_link<'c>(
    e: impl Executor<'c, Database = Any>,
    purpose: LinkPurpose,
    email: &str,
) -> Result<String> {
    let secret = random_secret("");
    let now = now_ms();
    sqlx::query("INSERT INTO one_time_links (token_hash, purpose, email, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(hash_secret(&secret))
        .bind(purpose.as_str())
        .bind(email)
        .bind(now)
        .bind(now + purpose.lifetime_ms())
        .execute(e)
        .await?;
    Ok(secret)
}

/// The email a valid, unused link was made for, without using it up.
pub async fn peek_link<'c>(
    e: impl Executor<'c, Database = Any>,
    purpose: LinkPurpose,
    secret: &str,
) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT email FROM one_time_links WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3",
    )
    .bind(hash_secret(secret))
    .bind(purpose.as_str())
    .bind(now_ms())
    .fetch_optional(e)
    .await?)
}

/// Uses a link up; returns its email, or None when it is unknown, used or expired. One
/// conditional update does both the check and the taking, so of two requests racing with
/// one link exactly one gets it, on either database.
pub async fn take_link(tx: &mut Tx, purpose: LinkPurpose, secret: &str) -> Result<Option<String>> {
    let now = now_ms();
    Ok(sqlx::query_scalar(
        "UPDATE one_time_links SET used_at = $1 \
         WHERE token_hash = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $1 \
         RETURNING email",
    )
    .bind(now)
    .bind(hash_secret(secret))
    .bind(purpose.as_str())
    .fetch_optional(&mut **tx)
    .await?)
}

/// How long a sign-up waits for its email to be verified.
pub const SIGNUP_LIFETIME_MS: i64 = 24 * 3_600_000;

/// An open sign-up waiting for its email to be verified: what the form said.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PendingSignup {
    pub email: String,
    /// The name typed; None when the form left it empty.
    pub name: Option<String>,
    pub password_hash: String,
    /// Where the browser goes once the email is verified (a local path).
    pub next_path: String,
}

/// Records a sign-up waiting for its email to be verified, as a one-time link that
/// carries it; returns the link's secret. The email's earlier waiting sign-ups give way
/// (only the newest link works), and their hashes are returned so the messages carrying
/// them lose their copies in the same transaction.
pub async fn create_signup(tx: &mut Tx, signup: &PendingSignup) -> Result<(String, Vec<String>)> {
    let replaced: Vec<String> = sqlx::query_scalar(
        "DELETE FROM one_time_links WHERE email = $1 AND purpose = $2 AND used_at IS NULL \
         RETURNING token_hash",
    )
    .bind(&signup.email)
    .bind(LinkPurpose::Signup.as_str())
    .fetch_all(&mut **tx)
    .await?;
    let secret = random_secret("");
    let now = now_ms();
    sqlx::query(
        "INSERT INTO one_time_links (token_hash, purpose, email, created_at, expires_at, \
         signup_name, signup_password_hash, signup_next) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(hash_secret(&secret))
    .bind(LinkPurpose::Signup.as_str())
    .bind(&signup.email)
    .bind(now)
    .bind(now + LinkPurpose::Signup.lifetime_ms())
    .bind(&signup.name)
    .bind(&signup.password_hash)
    .bind(&signup.next_path)
    .execute(&mut **tx)
    .await?;
    Ok((secret, replaced))
}

/// The sign-up waiting for `email` to be verified, if its link is still open.
pub async fn pending_signup<'c>(
    e: impl Executor<'c, Database = Any>,
    email: &Email,
) -> Result<Option<PendingSignup>> {
    Ok(sqlx::query_as(
        "SELECT email, signup_name AS name, signup_password_hash AS password_hash, \
         signup_next AS next_path FROM one_time_links \
         WHERE email = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3 \
         AND signup_password_hash IS NOT NULL ORDER BY created_at DESC LIMIT 1",
    )
    .bind(email.as_str())
    .bind(LinkPurpose::Signup.as_str())
    .bind(now_ms())
    .fetch_optional(e)
    .await?)
}

/// Uses a sign-up's link up and returns the sign-up, or None when the link is unknown,
/// used or expired: one conditional update takes it, as [`take_link`] does, and the
/// password's hash is then cleared from the row in the same transaction.
pub async fn take_signup(tx: &mut Tx, secret: &str) -> Result<Option<PendingSignup>> {
    let now = now_ms();
    let hash = hash_secret(secret);
    let taken: Option<PendingSignup> = sqlx::query_as(
        "UPDATE one_time_links SET used_at = $1 \
         WHERE token_hash = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $1 \
         AND signup_password_hash IS NOT NULL \
         RETURNING email, signup_name AS name, signup_password_hash AS password_hash, \
         signup_next AS next_path",
    )
    .bind(now)
    .bind(&hash)
    .bind(LinkPurpose::Signup.as_str())
    .fetch_optional(&mut **tx)
    .await?;
    if taken.is_some() {
        sqlx::query("UPDATE one_time_links SET signup_password_hash = NULL WHERE token_hash = $1")
            .bind(&hash)
            .execute(&mut **tx)
            .await?;
    }
    Ok(taken)
}

/// The one open first-admin setup link is keyed by this in `one_time_links.singleton`, so
/// a second one cannot exist beside it.
const SETUP_SINGLETON: &str = "setup";

/// Makes the first-admin setup link unless an open one exists; returns its secret, or
/// None when one is already open (its secret cannot be shown again: only its hash is
/// kept). Used-up or expired setup links give way first. Race-free: two nodes starting
/// at once make one link between them.
pub async fn create_setup_link_once(tx: &mut Tx) -> Result<Option<String>> {
    let now = now_ms();
    sqlx::query(
        "DELETE FROM one_time_links WHERE singleton = $1 AND (used_at IS NOT NULL OR expires_at <= $2)",
    )
    .bind(SETUP_SINGLETON)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    let secret = random_secret("");
    let made = sqlx::query(
        "INSERT INTO one_time_links (token_hash, purpose, email, created_at, expires_at, singleton) \
         VALUES ($1, $2, '', $3, $4, $5) ON CONFLICT (singleton) DO NOTHING",
    )
    .bind(hash_secret(&secret))
    .bind(LinkPurpose::Setup.as_str())
    .bind(now)
    .bind(now + LinkPurpose::Setup.lifetime_ms())
    .bind(SETUP_SINGLETON)
    .execute(&mut **tx)
    .await?;
    Ok((made.rows_affected() == 1).then_some(secret))
}

/// Replaces the first-admin setup link: the open one, if any, stops working.
pub async fn replace_setup_link(tx: &mut Tx) -> Result<String> {
    sqlx::query("DELETE FROM one_time_links WHERE singleton = $1 OR purpose = $2")
        .bind(SETUP_SINGLETON)
        .bind(LinkPurpose::Setup.as_str())
        .execute(&mut **tx)
        .await?;
    Ok(create_setup_link_once(tx)
        .await?
        .expect("no setup link is left to conflict with"))
}

/// When the open first-admin setup link expires, if there is one.
pub async fn open_setup_link_expiry<'c>(
    e: impl Executor<'c, Database = Any>,
) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT MAX(expires_at) FROM one_time_links WHERE purpose = 'setup' AND used_at IS NULL AND expires_at > $1",
    )
    .bind(now_ms())
    .fetch_one(e)
    .await?)
}

/// An OpenID Connect sign-in between the redirect to the provider and its callback.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OidcLogin {
    pub nonce: String,
    pub pkce_verifier: String,
    pub next_path: String,
    pub created_at: i64,
}

/// How long a sign-in may take at the provider.
pub const OIDC_LOGIN_LIFETIME_MS: i64 = 15 * 60_000;

pub async fn save_oidc_login<'c>(
    e: impl Executor<'c, Database = Any>,
    state: &str,
    login: &OidcLogin,
) -> Result<()> {
    sqlx::query("INSERT INTO oidc_logins (state, nonce, pkce_verifier, next_path, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(state)
        .bind(&login.nonce)
        .bind(&login.pkce_verifier)
        .bind(&login.next_path)
        .bind(login.created_at)
        .execute(e)
        .await?;
    Ok(())
}

/// Takes the sign-in started with `state` (at most once, and only within 15 minutes):
/// one delete that returns the row, so two callbacks with one state cannot both have it.
pub async fn take_oidc_login(db: &Db, state: &str) -> Result<Option<OidcLogin>> {
    let login: Option<OidcLogin> = sqlx::query_as(
        "DELETE FROM oidc_logins WHERE state = $1 \
         RETURNING nonce, pkce_verifier, next_path, created_at",
    )
    .bind(state)
    .fetch_optional(db.pool())
    .await?;
    Ok(login.filter(|l| now_ms() - l.created_at < OIDC_LOGIN_LIFETIME_MS))
}

/// How long a form's key is honoured (and kept once used): a form older than this is
/// refused, so a key the sweep deleted cannot be used to create a second time.
pub const FORM_KEY_LIFETIME_MS: i64 = 7 * 86_400_000;

/// Records that `user_id` sent the form with `key`, in the transaction of what the form
/// creates. False when that form was sent before: the unique key decides, so of two
/// requests racing with one key exactly one creates, on either database.
pub async fn use_form_key(tx: &mut Tx, user_id: &str, key: &str, purpose: &str) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO form_keys (user_id, form_key, purpose, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (user_id, form_key) DO NOTHING",
    )
    .bind(user_id)
    .bind(key)
    .bind(purpose)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// What the periodic sweep deleted.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Swept {
    pub sessions: u64,
    pub links: u64,
    pub oidc_logins: u64,
    #[serde(default)]
    pub form_keys: u64,
}

/// Deletes what can no longer be used: expired sessions, used or expired one-time links,
/// OpenID Connect sign-ins that took too long, and form keys past their lifetime.
pub async fn sweep_expired(db: &Db) -> Result<Swept> {
    let now = now_ms();
    let sessions = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(now)
        .execute(db.pool())
        .await?
        .rows_affected();
    let links =
        sqlx::query("DELETE FROM one_time_links WHERE used_at IS NOT NULL OR expires_at <= $1")
            .bind(now)
            .execute(db.pool())
            .await?
            .rows_affected();
    let oidc_logins = sqlx::query("DELETE FROM oidc_logins WHERE created_at <= $1")
        .bind(now - OIDC_LOGIN_LIFETIME_MS)
        .execute(db.pool())
        .await?
        .rows_affected();
    let form_keys = sqlx::query("DELETE FROM form_keys WHERE created_at <= $1")
        .bind(now - FORM_KEY_LIFETIME_MS)
        .execute(db.pool())
        .await?
        .rows_affected();
    Ok(Swept {
        sessions,
        links,
        oidc_logins,
        form_keys,
    })
}

/// Revokes the admin role from `email` unless that leaves no administrator with an
/// account; returns None when refused, else whether a grant was removed. The admin
/// grants are locked first (on PostgreSQL; SQLite's write transaction already excludes
/// others), so two revocations racing cannot each count the other as the one left.
pub async fn revoke_admin(tx: &mut Tx, email: &Email) -> Result<Option<bool>> {
    sqlx::query("UPDATE role_grants SET granted_by = granted_by WHERE role = 'admin'")
        .execute(&mut **tx)
        .await?;
    let done = sqlx::query(
        "DELETE FROM role_grants WHERE email = $1 AND role = 'admin' AND EXISTS \
         (SELECT 1 FROM role_grants g JOIN users u ON u.email = g.email \
          WHERE g.role = 'admin' AND g.email <> $1)",
    )
    .bind(email.as_str())
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() == 1 {
        return Ok(Some(true));
    }
    let held: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM role_grants WHERE email = $1 AND role = 'admin'")
            .bind(email.as_str())
            .fetch_one(&mut **tx)
            .await?;
    Ok(if held == 0 { Some(false) } else { None })
}

pub async fn user_by_identity<'c>(
    e: impl Executor<'c, Database = Any>,
    issuer: &str,
    subject: &str,
) -> Result<Option<User>> {
    Ok(sqlx::query_as(
        "SELECT u.id, u.email, u.name, u.password_hash, u.created_at FROM users u \
         JOIN oidc_identities i ON i.user_id = u.id WHERE i.issuer = $1 AND i.subject = $2",
    )
    .bind(issuer)
    .bind(subject)
    .fetch_optional(e)
    .await?)
}

pub async fn link_identity<'c>(
    e: impl Executor<'c, Database = Any>,
    issuer: &str,
    subject: &str,
    user_id: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO oidc_identities (issuer, subject, user_id, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (issuer, subject) DO NOTHING",
    )
    .bind(issuer)
    .bind(subject)
    .bind(user_id)
    .bind(now_ms())
    .execute(e)
    .await?;
    Ok(())
}
