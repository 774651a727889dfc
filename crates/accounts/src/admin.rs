//! Account operations shared by the pages, the JSON API and the `tutti admin` command, so
//! each rule (who may grant what, what gets audited, what gets mailed) lives in one place.

use serde::Serialize;
use tutti_web::Lang;

use crate::db::{self, LinkPurpose, User, UserSummary};
use crate::domain::{Email, NewPassword, TokenScope, parse_name, parse_token_name, safe_next};
use crate::secrets::hash_secret;
use crate::{Accounts, AccountsError, Identity, Signup};
use tutti_platform::identity::ON_BEHALF_OF;
use tutti_platform::{AuditEntry, Person, Role, Via};

/// Who did an administrative act: a person through the web, or an operator at the shell.
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    Web(&'a Identity),
    Cli,
}

/// A form that must not create twice: the person who sends it and the key the page
/// minted into it (see [`db::use_form_key`]).
#[derive(Debug, Clone, Copy)]
pub struct FormKey<'a> {
    pub user_id: &'a str,
    pub key: &'a str,
}

/// What a form sent with a [`FormKey`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Once<T> {
    /// It created this.
    Done(T),
    /// This form was sent before and created what it creates then; nothing was done now.
    AlreadyDone,
}

/// Claims `key` in `tx` unless it was used: false when the form was sent before.
async fn claim(
    tx: &mut tutti_store::Tx,
    key: Option<FormKey<'_>>,
    purpose: &str,
) -> Result<bool, AccountsError> {
    match key {
        Some(key) => Ok(db::use_form_key(tx, key.user_id, key.key, purpose).await?),
        None => Ok(true),
    }
}

/// The English of messages sent where no page language is known (the JSON API, the CLI).
fn english() -> Lang {
    Lang(&tutti_web::i18n::LANGUAGES[0])
}

impl Actor<'_> {
    fn audit(&self, action: &str, detail: String) -> AuditEntry {
        match self {
            Actor::Web(identity) => identity.audit(action, detail),
            Actor::Cli => AuditEntry::command_line(action, detail),
        }
    }

    fn label(&self) -> String {
        match self {
            Actor::Web(identity) => identity.user.email.clone(),
            Actor::Cli => "command line".into(),
        }
    }
}

/// Where the first-admin setup stands when the server starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Setup {
    /// Someone has an account: nothing to set up.
    Done,
    /// No account and no open link: this link was just made (show it once).
    NewLink(String),
    /// No account, and a link made earlier is still open until this time (Unix ms). Its
    /// secret is stored hashed, so it cannot be shown again.
    LinkOpen { expires_at: i64 },
}

/// On start: makes the one-time link that lets its opener become the first admin, unless
/// an account exists or a link made earlier is still open. At most one link is open.
pub async fn setup_on_start(p: &Accounts) -> Result<Setup, AccountsError> {
    let mut tx = p.db.begin().await?;
    if db::count_users(&mut *tx).await? > 0 {
        return Ok(Setup::Done);
    }
    let made = db::create_setup_link_once(&mut tx).await?;
    let expires_at = db::open_setup_link_expiry(&mut *tx).await?;
    tx.commit().await?;
    Ok(match (made, expires_at) {
        (Some(secret), _) => Setup::NewLink(p.settings.link(&format!("/setup/{secret}"))),
        (None, Some(expires_at)) => Setup::LinkOpen { expires_at },
        (None, None) => Setup::Done,
    })
}

/// `tutti admin setup-link`: a fresh first-admin link; the one open before stops working.
/// Refused once someone has an account.
pub async fn fresh_setup_link(p: &Accounts) -> Result<String, AccountsError> {
    let mut tx = p.db.begin().await?;
    if db::count_users(&mut *tx).await? > 0 {
        return Err(AccountsError::AlreadySetUp {
            detail: "This server already has accounts, so it needs no setup link. Make an \
                     account with `tutti admin create-user` instead."
                .into(),
        });
    }
    let secret = db::replace_setup_link(&mut tx).await?;
    tutti_platform::audit::record(
        &mut *tx,
        AuditEntry::command_line("setup-link-made", "the earlier one was revoked".into()).no_args(),
    )
    .await?;
    tx.commit().await?;
    Ok(p.settings.link(&format!("/setup/{secret}")))
}

/// Whether the server still waits for its first admin.
pub async fn needs_setup(p: &Accounts) -> Result<bool, AccountsError> {
    Ok(db::count_users(p.db.pool()).await? == 0)
}

/// A new account and, when it has no password yet, the link to choose one.
#[derive(Debug, Clone, Serialize)]
pub struct CreatedUser {
    pub id: String,
    pub setup_link: Option<String>,
}

/// Creates a local account with roles. Without a password the person gets an invitation
/// link (mailed, or held for an admin) to choose one.
pub async fn create_user(
    p: &Accounts,
    email: &str,
    name: &str,
    password: Option<&str>,
    roles: &[Role],
    actor: Actor<'_>,
) -> Result<CreatedUser, AccountsError> {
    let email = Email::parse(email)?;
    p.platform.roles.check(roles, "roles")?;
    let name = parse_name(
        if name.trim().is_empty() {
            email.as_str()
        } else {
            name
        },
        "name",
    )?;
    let hash = match password {
        Some(pw) => Some(
            p.hasher()
                .hash(NewPassword::parse(pw, "password")?.as_str())
                .await?,
        ),
        None => None,
    };
    let mut tx = p.db.begin().await?;
    if db::user_by_email(&mut *tx, &email).await?.is_some() {
        return Err(AccountsError::AccountExists { email });
    }
    let user = db::insert_user(&mut tx, &email, &name, hash.as_deref()).await?;
    for role in roles {
        db::grant(&mut *tx, &email, role, Some(&actor.label())).await?;
    }
    let setup_link = match hash {
        Some(_) => None,
        None => Some(invite_link(p, &mut tx, &email, &actor, english()).await?),
    };
    tutti_platform::audit::record(
        &mut *tx,
        audit_with_roles(&actor, "user-created", &email, roles),
    )
    .await?;
    tx.commit().await?;
    // Mail queued in the transaction goes out now, not at the next poll.
    p.queue.notify();
    Ok(CreatedUser {
        id: user.id,
        setup_link,
    })
}

/// The audit entry of an action on `email` with `roles`: worded
/// `dana@example.org with roles [speaker, reviewer]`, with the email and the roles as its
/// arguments for pages in other languages.
fn audit_with_roles(actor: &Actor<'_>, action: &str, email: &Email, roles: &[Role]) -> AuditEntry {
    let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    actor
        .audit(action, format!("{email} with roles [{}]", names.join(", ")))
        .arg("email", email.as_str())
        .arg("roles", names)
}

/// A mail's text in `lang`, from the messages `<key>-subject` and `<key>-body`.
fn mail_text(p: &Accounts, lang: Lang, key: &str, args: &[(&str, String)]) -> (String, String) {
    let i18n = p.web.i18n();
    let subject = i18n.text(lang.code(), &format!("{key}-subject"), args);
    let mut body = i18n.text(lang.code(), &format!("{key}-body"), args);
    body.push('\n');
    (subject, body)
}

async fn invite_link(
    p: &Accounts,
    tx: &mut tutti_store::Tx,
    email: &Email,
    actor: &Actor<'_>,
    lang: Lang,
) -> Result<String, AccountsError> {
    let secret = db::create_link(&mut **tx, LinkPurpose::Invite, email.as_str()).await?;
    let link = p.settings.link(&format!("/invite/{secret}"));
    let (subject, body) = mail_text(
        p,
        lang,
        "mail-invite",
        &[("inviter", actor.label()), ("link", link.clone())],
    );
    p.mailer
        .send(
            tx,
            email.as_str(),
            &subject,
            &body,
            Some(&link),
            Some(&hash_secret(&secret)),
        )
        .await?;
    Ok(link)
}

/// Grants roles to an email (account or not yet) and sends an invitation link to choose a
/// password when there is no account, in English. Returns the link when one was made.
pub async fn invite(
    p: &Accounts,
    email: &str,
    roles: &[Role],
    actor: Actor<'_>,
) -> Result<Option<String>, AccountsError> {
    match invite_with(p, email, roles, actor, english(), None).await? {
        Once::Done(link) => Ok(link),
        Once::AlreadyDone => unreachable!("no form key, so nothing was done before"),
    }
}

/// [`invite`] from a form: the mail is in `lang` (the inviter's page language, as the
/// best guess at the invited person's), and a form sent twice invites once.
pub async fn invite_once(
    p: &Accounts,
    email: &str,
    roles: &[Role],
    actor: Actor<'_>,
    lang: Lang,
    key: FormKey<'_>,
) -> Result<Once<Option<String>>, AccountsError> {
    invite_with(p, email, roles, actor, lang, Some(key)).await
}

async fn invite_with(
    p: &Accounts,
    email: &str,
    roles: &[Role],
    actor: Actor<'_>,
    lang: Lang,
    key: Option<FormKey<'_>>,
) -> Result<Once<Option<String>>, AccountsError> {
    let email = Email::parse(email)?;
    p.platform.roles.check(roles, "roles")?;
    let mut tx = p.db.begin().await?;
    if !claim(&mut tx, key, "invite").await? {
        return Ok(Once::AlreadyDone);
    }
    for role in roles {
        db::grant(&mut *tx, &email, role, Some(&actor.label())).await?;
    }
    let exists = db::user_by_email(&mut *tx, &email).await?.is_some();
    let link = if exists {
        None
    } else {
        Some(invite_link(p, &mut tx, &email, &actor, lang).await?)
    };
    tutti_platform::audit::record(&mut *tx, audit_with_roles(&actor, "invited", &email, roles))
        .await?;
    tx.commit().await?;
    // Mail queued in the transaction goes out now, not at the next poll.
    p.queue.notify();
    Ok(Once::Done(link))
}

pub async fn grant_role(
    p: &Accounts,
    email: &str,
    role: Role,
    actor: Actor<'_>,
) -> Result<(), AccountsError> {
    let email = Email::parse(email)?;
    p.platform
        .roles
        .check(std::slice::from_ref(&role), "role")?;
    let mut tx = p.db.begin().await?;
    if db::grant(&mut *tx, &email, &role, Some(&actor.label())).await? {
        tutti_platform::audit::record(
            &mut *tx,
            actor
                .audit("role-granted", format!("{role} to {email}"))
                .arg("role", role.as_str())
                .arg("email", email.as_str()),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Revokes a role; the last administrator's admin role cannot be revoked, so the server
/// is never left without one (checked and revoked in one step, see [`db::revoke_admin`]).
pub async fn revoke_role(
    p: &Accounts,
    email: &str,
    role: Role,
    actor: Actor<'_>,
) -> Result<(), AccountsError> {
    let email = Email::parse(email)?;
    let mut tx = p.db.begin().await?;
    let revoked = if role == Role::ADMIN {
        db::revoke_admin(&mut tx, &email)
            .await?
            .ok_or(AccountsError::LastAdmin)?
    } else {
        db::revoke(&mut *tx, &email, &role).await?
    };
    if revoked {
        tutti_platform::audit::record(
            &mut *tx,
            actor
                .audit("role-revoked", format!("{role} from {email}"))
                .arg("role", role.as_str())
                .arg("email", email.as_str()),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

pub async fn list_users(p: &Accounts) -> Result<Vec<UserSummary>, AccountsError> {
    Ok(db::list_people(&p.db).await?)
}

/// A token that was just created, with its secret shown this once.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NewToken {
    pub id: String,
    pub name: String,
    pub scope: TokenScope,
    /// Send as `Authorization: Bearer <token>`; it is not shown again.
    pub token: String,
    /// When it stops working (Unix milliseconds); never when absent.
    pub expires_at: Option<i64>,
}

/// Delegate tokens expire after this many days unless their creator says otherwise.
pub const DELEGATE_TOKEN_DAYS: u32 = 30;
/// The longest lifetime a token can be given, in days (about ten years).
pub const MAX_TOKEN_DAYS: u32 = 3650;

/// Refuses an act on credentials by a delegate token: acting for someone lets a system
/// use their account, not mint or revoke the keys to it.
pub fn refuse_delegated(identity: &Identity) -> Result<(), AccountsError> {
    match identity.via {
        Via::Delegated { .. } => Err(AccountsError::forbidden(
            "A delegate token cannot create or revoke API tokens for the person it acts for.",
            Some(ON_BEHALF_OF),
        )),
        _ => Ok(()),
    }
}

/// Creates a token for `owner` that expires after `expires_in_days` (delegate tokens
/// after [`DELEGATE_TOKEN_DAYS`] when not given; other tokens then never expire).
/// Delegate tokens need an administrator as owner; a delegated call may not create any.
pub async fn create_token_for(
    p: &Accounts,
    owner: &Person,
    owner_is_admin: bool,
    name: &str,
    scope: TokenScope,
    expires_in_days: Option<u32>,
    actor: Actor<'_>,
) -> Result<NewToken, AccountsError> {
    let made = create_token_with(
        p,
        owner,
        owner_is_admin,
        name,
        scope,
        expires_in_days,
        actor,
        None,
    )
    .await?;
    match made {
        Once::Done(token) => Ok(token),
        Once::AlreadyDone => unreachable!("no form key, so nothing was done before"),
    }
}

/// [`create_token_for`] from a form: a form sent twice creates one token (the second
/// time, nothing: the secret was shown once and is stored hashed).
#[allow(clippy::too_many_arguments)]
pub async fn create_token_once(
    p: &Accounts,
    owner: &Person,
    owner_is_admin: bool,
    name: &str,
    scope: TokenScope,
    expires_in_days: Option<u32>,
    actor: Actor<'_>,
    key: FormKey<'_>,
) -> Result<Once<NewToken>, AccountsError> {
    create_token_with(
        p,
        owner,
        owner_is_admin,
        name,
        scope,
        expires_in_days,
        actor,
        Some(key),
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn create_token_with(
    p: &Accounts,
    owner: &Person,
    owner_is_admin: bool,
    name: &str,
    scope: TokenScope,
    expires_in_days: Option<u32>,
    actor: Actor<'_>,
    key: Option<FormKey<'_>>,
) -> Result<Once<NewToken>, AccountsError> {
    if let Actor::Web(identity) = actor {
        refuse_delegated(identity)?;
    }
    let name = parse_token_name(name)?;
    if scope == TokenScope::Delegate && !owner_is_admin {
        return Err(AccountsError::forbidden(
            "Only administrators may create delegate tokens.",
            Some("scope"),
        ));
    }
    let days = match (expires_in_days, scope) {
        (Some(days), _) if !(1..=MAX_TOKEN_DAYS).contains(&days) => {
            return Err(AccountsError::invalid(
                "expires_in_days",
                format!(
                    "A token lives from 1 to {MAX_TOKEN_DAYS} days; leave it empty for one \
                     that does not expire."
                ),
            ));
        }
        (Some(days), _) => Some(days),
        (None, TokenScope::Delegate) => Some(DELEGATE_TOKEN_DAYS),
        (None, TokenScope::Api | TokenScope::Subsonic) => None,
    };
    let expires_at = days.map(|d| tutti_store::now_ms() + i64::from(d) * 86_400_000);
    let mut tx = p.db.begin().await?;
    if !claim(&mut tx, key, "token").await? {
        return Ok(Once::AlreadyDone);
    }
    let (token, secret) = db::create_token(&mut *tx, &owner.id, &name, scope, expires_at).await?;
    let lifetime = match days {
        Some(d) => format!(", expires in {d} days"),
        None => String::new(),
    };
    let mut entry = actor
        .audit(
            "token-created",
            format!(
                "{} token {name:?} for {}{lifetime}",
                scope.as_str(),
                owner.email
            ),
        )
        .arg("scope", scope.as_str())
        .arg("name", name.as_str())
        .arg("email", owner.email.as_str());
    if let Some(days) = days {
        entry = entry.arg("variant", "expiring").arg("days", days);
    }
    tutti_platform::audit::record(&mut *tx, entry).await?;
    tx.commit().await?;
    Ok(Once::Done(NewToken {
        id: token.id,
        name,
        scope,
        token: secret,
        expires_at,
    }))
}

/// A token for the account with this email, with the default lifetime of its scope.
pub async fn create_token(
    p: &Accounts,
    email: &str,
    name: &str,
    scope: TokenScope,
) -> Result<String, AccountsError> {
    create_token_expiring(p, email, name, scope, None).await
}

/// `tutti admin create-token`: a token for the account with this email, expiring after
/// `expires_in_days` (see [`create_token_for`]).
pub async fn create_token_expiring(
    p: &Accounts,
    email: &str,
    name: &str,
    scope: TokenScope,
    expires_in_days: Option<u32>,
) -> Result<String, AccountsError> {
    let email = Email::parse(email)?;
    let user = db::user_by_email(p.db.pool(), &email)
        .await?
        .ok_or_else(|| {
            AccountsError::not_found(format!("No account has the email {email}."), Some("email"))
        })?;
    let is_admin = db::roles_of(p.db.pool(), user.email.as_str())
        .await?
        .contains(&Role::ADMIN);
    Ok(create_token_for(
        p,
        &Person::from(&user),
        is_admin,
        name,
        scope,
        expires_in_days,
        Actor::Cli,
    )
    .await?
    .token)
}

/// Revokes one of the person's tokens; a delegated call may not.
pub async fn revoke_token(
    p: &Accounts,
    identity: &Identity,
    id: &str,
) -> Result<(), AccountsError> {
    refuse_delegated(identity)?;
    let mut tx = p.db.begin().await?;
    if !db::revoke_token(&mut *tx, &identity.user.id, id).await? {
        return Err(AccountsError::not_found(
            "You have no live token with that id.",
            Some("id"),
        ));
    }
    tutti_platform::audit::record(
        &mut *tx,
        identity
            .audit("token-revoked", id.to_string())
            .arg("token", id),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Starts a password reset: a link mailed to the account (or held for an admin), in
/// English. Says nothing about whether the account exists, so the form cannot probe for
/// members.
pub async fn request_password_reset(p: &Accounts, email: &str) -> Result<(), AccountsError> {
    request_password_reset_in(p, email, english()).await
}

/// [`request_password_reset`] with the mail in `lang` (the page language of whoever asked,
/// most likely the account's owner).
pub async fn request_password_reset_in(
    p: &Accounts,
    email: &str,
    lang: Lang,
) -> Result<(), AccountsError> {
    let email = Email::parse(email)?;
    let mut tx = p.db.begin().await?;
    if db::user_by_email(&mut *tx, &email).await?.is_some() {
        let secret = db::create_link(&mut *tx, LinkPurpose::Reset, email.as_str()).await?;
        let link = p.settings.link(&format!("/password/reset/{secret}"));
        let (subject, body) = mail_text(
            p,
            lang,
            "mail-reset",
            &[("email", email.to_string()), ("link", link.clone())],
        );
        p.mailer
            .send(
                &mut tx,
                email.as_str(),
                &subject,
                &body,
                Some(&link),
                Some(&hash_secret(&secret)),
            )
            .await?;
    }
    tx.commit().await?;
    // Mail queued in the transaction goes out now, not at the next poll.
    p.queue.notify();
    Ok(())
}

/// Uses an invitation, setup or reset link: sets the password (creating the account for
/// setup and invitations) and returns the user to sign in.
pub async fn redeem_link(
    p: &Accounts,
    purpose: LinkPurpose,
    secret: &str,
    email: Option<&str>,
    name: Option<&str>,
    password: &str,
) -> Result<User, AccountsError> {
    if purpose == LinkPurpose::Signup {
        // A sign-up's link carries its password already: see [`verify_signup`].
        return Err(AccountsError::LinkExpired);
    }
    let password = NewPassword::parse(password, "password")?;
    let name = name.map(|n| parse_name(n, "name")).transpose()?;
    let email = email.map(Email::parse).transpose()?;
    // A dead link costs no hashing; a live one is still taken atomically below.
    if db::peek_link(p.db.pool(), purpose, secret).await?.is_none() {
        return Err(AccountsError::LinkExpired);
    }
    let hash = p.hasher().hash(password.as_str()).await?;
    let mut tx = p.db.begin().await?;
    let Some(link_email) = db::take_link(&mut tx, purpose, secret).await? else {
        return Err(AccountsError::LinkExpired);
    };
    crate::mail::link_used(&mut tx, &hash_secret(secret)).await?;
    let user = match purpose {
        LinkPurpose::Setup => {
            if db::count_users(&mut *tx).await? > 0 {
                return Err(AccountsError::AlreadySetUp {
                    detail: "This server already has an administrator. Sign in instead.".into(),
                });
            }
            let email = email
                .ok_or_else(|| AccountsError::invalid("email", "Enter your email address."))?;
            let user = db::insert_user(
                &mut tx,
                &email,
                name.as_deref().unwrap_or(email.as_str()),
                Some(&hash),
            )
            .await?;
            db::grant(&mut *tx, &email, &Role::ADMIN, Some("setup link")).await?;
            user
        }
        LinkPurpose::Invite => {
            let email = Email::parse(&link_email)?;
            match db::user_by_email(&mut *tx, &email).await? {
                Some(user) => {
                    db::set_password(&mut *tx, &user.id, &hash).await?;
                    user
                }
                None => {
                    db::insert_user(
                        &mut tx,
                        &email,
                        name.as_deref().unwrap_or(email.as_str()),
                        Some(&hash),
                    )
                    .await?
                }
            }
        }
        LinkPurpose::Signup => return Err(AccountsError::LinkExpired),
        LinkPurpose::Reset => {
            let email = Email::parse(&link_email)?;
            let user = db::user_by_email(&mut *tx, &email).await?.ok_or_else(|| {
                AccountsError::not_found("The account of this link no longer exists.", None)
            })?;
            db::set_password(&mut *tx, &user.id, &hash).await?;
            db::delete_sessions_of(&mut *tx, &user.id).await?;
            user
        }
    };
    tutti_platform::audit::record(
        &mut *tx,
        AuditEntry {
            actor_id: Some(user.id.clone()),
            actor_email: Some(user.email.clone()),
            action: format!("{}-link-used", purpose.as_str()),
            detail: String::new(),
            ..Default::default()
        }
        .no_args(),
    )
    .await?;
    tx.commit().await?;
    Ok(user)
}

/// Refuses sign-ups unless `signup = "open"`, and while the server waits for its first
/// administrator (the setup link works only while nobody has an account, so a first
/// sign-up would lock the administrator out).
pub async fn signup_open(p: &Accounts) -> Result<(), AccountsError> {
    if p.settings.signup != Signup::Open {
        return Err(AccountsError::SignupClosed {
            before_setup: false,
        });
    }
    if needs_setup(p).await? {
        return Err(AccountsError::SignupClosed { before_setup: true });
    }
    Ok(())
}

/// Where an open sign-up's mail came from, for the audit log.
fn signup_audit(email: &Email, address: &str, variant: Option<&str>) -> AuditEntry {
    let detail = match variant {
        Some(variant) => format!("{email} from {address} ({variant})"),
        None => format!("{email} from {address}"),
    };
    let entry = AuditEntry {
        actor_email: Some(email.to_string()),
        action: "signup-requested".into(),
        detail,
        ..Default::default()
    }
    .arg("email", email.as_str())
    .arg("address", address);
    match variant {
        Some(variant) => entry.arg("variant", variant),
        None => entry,
    }
}

/// Mails the link that verifies `signup`'s email, replacing the email's earlier waiting
/// sign-up (whose messages lose their link now).
async fn mail_signup_link(
    p: &Accounts,
    tx: &mut tutti_store::Tx,
    signup: &db::PendingSignup,
    lang: Lang,
) -> Result<(), AccountsError> {
    let (secret, replaced) = db::create_signup(tx, signup).await?;
    for hash in replaced {
        crate::mail::link_used(tx, &hash).await?;
    }
    let link = p.settings.link(&format!("/signup/verify/{secret}"));
    let (subject, body) = mail_text(
        p,
        lang,
        "mail-signup-verify",
        &[("email", signup.email.clone()), ("link", link.clone())],
    );
    p.mailer
        .send(
            tx,
            &signup.email,
            &subject,
            &body,
            Some(&link),
            Some(&hash_secret(&secret)),
        )
        .await?;
    Ok(())
}

/// Open sign-up with an email and a password: records the sign-up, waiting, and mails a
/// link (in `lang`) that verifies the email; the account is made when it is opened
/// ([`verify_signup`]). `address` is the client's, for the audit log; `next` is where
/// the browser goes once verified (a local path, checked with [`safe_next`]).
///
/// The answer never says whether the email has an account: when it has, nothing is
/// recorded and its owner is mailed a notice with a password reset link instead (the
/// same link `/password/forgot` would send them). The password is hashed either way, so
/// the time taken does not tell either.
#[allow(clippy::too_many_arguments)]
pub async fn request_signup(
    p: &Accounts,
    email: &str,
    name: Option<&str>,
    password: &str,
    next: Option<&str>,
    lang: Lang,
    address: &str,
) -> Result<(), AccountsError> {
    signup_open(p).await?;
    let email = Email::parse(email)?;
    let name = match name.map(str::trim) {
        None | Some("") => None,
        Some(name) => Some(parse_name(name, "name")?),
    };
    let password = NewPassword::parse(password, "password")?;
    let password_hash = p.hasher().hash(password.as_str()).await?;
    let mut tx = p.db.begin().await?;
    if db::user_by_email(&mut *tx, &email).await?.is_some() {
        let secret = db::create_link(&mut *tx, LinkPurpose::Reset, email.as_str()).await?;
        let link = p.settings.link(&format!("/password/reset/{secret}"));
        let (subject, body) = mail_text(
            p,
            lang,
            "mail-signup-exists",
            &[("email", email.to_string()), ("link", link.clone())],
        );
        p.mailer
            .send(
                &mut tx,
                email.as_str(),
                &subject,
                &body,
                Some(&link),
                Some(&hash_secret(&secret)),
            )
            .await?;
        tutti_platform::audit::record(&mut *tx, signup_audit(&email, address, Some("existing")))
            .await?;
    } else {
        let signup = db::PendingSignup {
            email: email.to_string(),
            name,
            password_hash,
            next_path: safe_next(next),
        };
        mail_signup_link(p, &mut tx, &signup, lang).await?;
        tutti_platform::audit::record(&mut *tx, signup_audit(&email, address, None)).await?;
    }
    tx.commit().await?;
    // Mail queued in the transaction goes out now, not at the next poll.
    p.queue.notify();
    Ok(())
}

/// Sends the link of the sign-up waiting for `email` again, as a new link (the earlier one
/// stops working). Says nothing about whether one waits: without one, nothing is sent.
pub async fn resend_signup(
    p: &Accounts,
    email: &str,
    lang: Lang,
    address: &str,
) -> Result<(), AccountsError> {
    signup_open(p).await?;
    let email = Email::parse(email)?;
    let mut tx = p.db.begin().await?;
    if let Some(signup) = db::pending_signup(&mut *tx, &email).await? {
        mail_signup_link(p, &mut tx, &signup, lang).await?;
        tutti_platform::audit::record(&mut *tx, signup_audit(&email, address, Some("resent")))
            .await?;
    }
    tx.commit().await?;
    p.queue.notify();
    Ok(())
}

/// Opens a sign-up's link: the account is made with the name and password of the sign-up
/// (the roles granted to its email apply), and the path to go on to is returned. The link
/// works once; its copies in the outbox go with it. When an account with the email was
/// made meanwhile (an invitation, OpenID Connect), the link is used up and changes
/// nothing: [`AccountsError::AccountExists`].
pub async fn verify_signup(p: &Accounts, secret: &str) -> Result<(User, String), AccountsError> {
    signup_open(p).await?;
    let mut tx = p.db.begin().await?;
    let Some(signup) = db::take_signup(&mut tx, secret).await? else {
        return Err(AccountsError::LinkExpired);
    };
    crate::mail::link_used(&mut tx, &hash_secret(secret)).await?;
    let email = Email::parse(&signup.email)?;
    if db::user_by_email(&mut *tx, &email).await?.is_some() {
        tx.commit().await?;
        return Err(AccountsError::AccountExists { email });
    }
    let name = signup.name.as_deref().unwrap_or(email.as_str());
    let user = db::insert_user(&mut tx, &email, name, Some(&signup.password_hash)).await?;
    tutti_platform::audit::record(
        &mut *tx,
        AuditEntry {
            actor_id: Some(user.id.clone()),
            actor_email: Some(user.email.clone()),
            action: "signup-verified".into(),
            detail: email.to_string(),
            ..Default::default()
        }
        .arg("email", email.as_str()),
    )
    .await?;
    tx.commit().await?;
    Ok((user, safe_next(Some(&signup.next_path))))
}

/// Tells every administrator about something that needs them (a new account waiting for
/// roles), with the mail `<key>-subject` and `<key>-body` in `lang` (and the argument
/// `link`); held in the outbox like any other mail when there is no SMTP.
pub async fn notify_admins(
    p: &Accounts,
    tx: &mut tutti_store::Tx,
    lang: Lang,
    key: &str,
    args: &[(&str, String)],
    link: &str,
) -> Result<(), AccountsError> {
    let mut args = args.to_vec();
    args.push(("link", link.to_string()));
    let (subject, body) = mail_text(p, lang, key, &args);
    let (subject, body) = (subject.as_str(), body.as_str());
    let admins: Vec<String> = sqlx::query_scalar(
        "SELECT g.email FROM role_grants g JOIN users u ON u.email = g.email WHERE g.role = 'admin' ORDER BY g.email",
    )
    .fetch_all(&mut **tx)
    .await?;
    for admin in admins {
        p.mailer
            .send(tx, &admin, subject, body, Some(link), None)
            .await?;
    }
    Ok(())
}

/// Deletes an account and, first, everything the studios keep about the person (their
/// recordings' audio included). The last administrator cannot delete their account, so
/// the server keeps one.
pub async fn delete_account(
    p: &Accounts,
    user_id: &str,
    actor: Actor<'_>,
) -> Result<(), AccountsError> {
    let user =
        db::user_by_id(p.db.pool(), user_id)
            .await?
            .ok_or_else(|| AccountsError::NotFound {
                detail: "there is no such account".into(),
                field: None,
            })?;
    let admin = Role::ADMIN;
    let (mine, admins): (i64, i64) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(CASE WHEN email = $1 THEN 1 ELSE 0 END), 0) AS BIGINT), \
         COUNT(*) FROM role_grants WHERE role = $2",
    )
    .bind(&user.email)
    .bind(admin.as_str())
    .fetch_one(p.db.pool())
    .await?;
    if mine > 0 && admins <= 1 {
        return Err(AccountsError::LastAdmin);
    }
    p.platform.forgetting.person(&user.id).await?;
    let mut tx = p.db.begin().await?;
    sqlx::query("DELETE FROM role_grants WHERE email = $1")
        .bind(&user.email)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(&user.id)
        .execute(&mut *tx)
        .await?;
    tutti_platform::audit::record(
        &mut *tx,
        actor
            .audit(
                "account-deleted",
                format!("deleted the account of {}", user.email),
            )
            .arg("email", user.email.as_str()),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    fn text(lang: &str, key: &str, args: &[(&str, String)]) -> String {
        let web = tutti_web::Web::builder()
            .add_messages(crate::MESSAGES)
            .build();
        format!("{}\n", web.i18n().text(lang, key, args))
    }

    #[test]
    fn mail_reads_as_it_did_and_in_the_page_language() {
        let args = [
            ("inviter", "dana@example.org".to_string()),
            ("link", "https://tutti.example/invite/abc".to_string()),
        ];
        assert_eq!(
            text("en", "mail-invite-body", &args),
            "dana@example.org invited you to Tutti.\n\nOpen this link within 7 days to choose \
             your password:\nhttps://tutti.example/invite/abc\n"
        );
        let hebrew = text("he", "mail-invite-body", &args);
        assert!(
            hebrew.contains("dana@example.org")
                && hebrew.ends_with("\nhttps://tutti.example/invite/abc\n"),
            "{hebrew}"
        );
        assert!(
            !hebrew.contains('\u{2068}'),
            "no isolation marks in plain text"
        );
        let reset = text(
            "en",
            "mail-reset-body",
            &[
                ("email", "dana@example.org".into()),
                ("link", "https://tutti.example/password/reset/abc".into()),
            ],
        );
        assert_eq!(
            reset,
            "Someone asked to reset the Tutti password of dana@example.org.\n\nOpen this link \
             within an hour to choose a new password:\nhttps://tutti.example/password/reset/abc\n\n\
             If it was not you, ignore this message.\n"
        );
    }

    #[test]
    fn sign_up_mail_carries_its_link_in_every_language() {
        for (key, link) in [
            (
                "mail-signup-verify",
                "https://tutti.example/signup/verify/abc",
            ),
            (
                "mail-signup-exists",
                "https://tutti.example/password/reset/abc",
            ),
        ] {
            let args = [
                ("email", "vol@example.org".to_string()),
                ("link", link.to_string()),
            ];
            for lang in ["en", "he"] {
                let body = text(lang, &format!("{key}-body"), &args);
                assert!(
                    body.contains("vol@example.org") && body.contains(&format!("\n{link}\n")),
                    "{lang} {key}: {body}"
                );
                assert!(
                    !body.contains('\u{2068}'),
                    "no isolation marks in plain text"
                );
                let subject = text(lang, &format!("{key}-subject"), &args);
                assert!(!subject.trim().is_empty() && !subject.contains(key));
            }
        }
        assert!(
            text(
                "en",
                "mail-signup-verify-body",
                &[("email", "v@x.org".into()), ("link", "L".into())]
            )
            .contains("within 24 hours"),
            "the mail says how long the link works"
        );
    }
}
