//! The accounts' pages: home, sign-in and out, open sign-up (with its email verified by a
//! mailed link), first-admin setup, invitations, password resets, the profile with its
//! tokens, and the admin area (people and roles, jobs, audit log, held mail). Forms post
//! back here; failures re-render the form with the problem beside its field and what the
//! person typed kept.
//!
//! Forms that create something whose secret is shown once (an API token, an invitation
//! link without mail) carry a key minted with the page: the answer is `no-store`, and a
//! reload that sends the form again creates nothing the second time.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tutti_web::i18n::LANG_COOKIE;
use tutti_web::render::ShownProblem;
use tutti_web::{Form, Lang, Problem, Query};

use crate::admin::{self, Actor, FormKey, Once};
use crate::db::{self, LinkPurpose, User};
use crate::domain::{Email, TokenScope, safe_next, safe_next_or};
use crate::identity::{cookie, cookie_of, session_cookie_of};
use crate::{Accounts, AccountsError, Identity, Page, Signup};
use tutti_platform::{Access, AuditEntry, ClientIp, Routes, same_secret};

pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "accounts/fields.html",
        include_str!("../templates/fields.html"),
    ),
    (
        "accounts/login.html",
        include_str!("../templates/login.html"),
    ),
    (
        "accounts/password.html",
        include_str!("../templates/password.html"),
    ),
    (
        "accounts/forgot.html",
        include_str!("../templates/forgot.html"),
    ),
    (
        "accounts/signup.html",
        include_str!("../templates/signup.html"),
    ),
    (
        "accounts/signup_verify.html",
        include_str!("../templates/signup_verify.html"),
    ),
    (
        "accounts/profile.html",
        include_str!("../templates/profile.html"),
    ),
    (
        "accounts/admin_users.html",
        include_str!("../templates/admin_users.html"),
    ),
    (
        "accounts/admin_outbox.html",
        include_str!("../templates/admin_outbox.html"),
    ),
];

/// The accounts' pages, each with who may open it.
pub fn routes() -> Routes<Accounts> {
    use Access::{Public, SignedIn};
    let admin = Access::admin;
    let mut routes = Routes::new()
        .page(Public, Method::GET, "/login", login_page)
        .page(Public, Method::POST, "/login", login)
        .page(Public, Method::POST, "/logout", logout)
        .page(Public, Method::POST, "/language", language)
        .page(Public, Method::GET, "/auth/oidc/start", oidc_start)
        .page(Public, Method::GET, "/auth/oidc/callback", oidc_callback)
        .page(Public, Method::GET, "/password/forgot", forgot_page)
        .page(Public, Method::POST, "/password/forgot", forgot)
        .page(Public, Method::GET, "/signup", signup_page)
        .page(Public, Method::POST, "/signup", signup)
        .page(Public, Method::GET, "/signup/sent", signup_sent)
        .page(Public, Method::POST, "/signup/resend", signup_resend)
        .page(Public, Method::GET, "/signup/verify/{token}", verify_page)
        .page(Public, Method::POST, "/signup/verify/{token}", verify);
    for (path, purpose) in [
        ("/setup/{token}", LinkPurpose::Setup),
        ("/invite/{token}", LinkPurpose::Invite),
        ("/password/reset/{token}", LinkPurpose::Reset),
    ] {
        routes = routes
            .page(
                Public,
                Method::GET,
                path,
                move |State(p): State<Accounts>, page: Page, Path(token): Path<String>| async move {
                    link_page(&p, &page, purpose, &token).await
                },
            )
            .page(
                Public,
                Method::POST,
                path,
                move |State(p): State<Accounts>,
                      page: Page,
                      client: ClientIp,
                      Path(token): Path<String>,
                      Form(form): Form<PasswordForm>| async move {
                    let limits = p.limits.clone();
                    limits.address(client)?;
                    let response = redeem(p, page, purpose, token, form).await?;
                    if response.status().is_redirection() {
                        limits.refund_address(client);
                    }
                    Ok::<Response, Problem>(response)
                },
            );
    }
    routes
        .page(SignedIn, Method::GET, "/profile", profile)
        .page(SignedIn, Method::POST, "/profile/name", rename)
        .page(SignedIn, Method::POST, "/profile/delete", delete_account)
        .page(SignedIn, Method::POST, "/profile/tokens", new_token)
        .page(
            SignedIn,
            Method::POST,
            "/profile/tokens/{id}/revoke",
            revoke_token,
        )
        .page(admin(), Method::GET, "/admin/users", admin_users)
        .page(admin(), Method::POST, "/admin/roles/grant", admin_grant)
        .page(admin(), Method::POST, "/admin/roles/revoke", admin_revoke)
        .page(admin(), Method::POST, "/admin/invitations", admin_invite)
        .page(admin(), Method::GET, "/admin/outbox", admin_outbox)
        .page(
            admin(),
            Method::POST,
            "/admin/outbox/{id}/done",
            admin_outbox_done,
        )
}

#[derive(Deserialize, Default)]
struct NextQuery {
    next: Option<String>,
}

/// The language of a page, for what it sends on (mail).
fn lang_of(page: &Page) -> Lang {
    Lang::find(page.ctx.lang).unwrap_or(Lang(&tutti_web::i18n::LANGUAGES[0]))
}

/// A fresh key for a form that must not create twice: when it was minted, and a random
/// part.
fn mint_form_key() -> String {
    format!(
        "{}.{}",
        tutti_store::now_ms(),
        crate::secrets::random_secret("")
    )
}

/// The key a form came with. A form without one, or older than the keys are kept, is
/// refused, so that a key the sweep deleted cannot create a second time.
fn form_key(raw: Option<&str>) -> Result<&str, AccountsError> {
    let stale = || {
        AccountsError::invalid(
            "form_key",
            "This form is out of date or incomplete. Check what it says and send it again.",
        )
    };
    let key = raw
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 100)
        .ok_or_else(stale)?;
    let minted: i64 = key
        .split_once('.')
        .and_then(|(ms, _)| ms.parse().ok())
        .ok_or_else(stale)?;
    if tutti_store::now_ms() - minted > db::FORM_KEY_LIFETIME_MS {
        return Err(stale());
    }
    Ok(key)
}

/// Whether a form's error is for the person to fix in the form, which is shown again
/// with it, rather than an error page: a field broke a rule, the act is not theirs to do,
/// the link is spent, or it conflicts with what exists.
fn fixable(e: &AccountsError) -> bool {
    match e {
        AccountsError::Invalid { .. }
        | AccountsError::Forbidden { .. }
        | AccountsError::LinkExpired
        | AccountsError::AlreadySetUp { .. }
        | AccountsError::AccountExists { .. }
        | AccountsError::LastAdmin
        | AccountsError::Oidc(crate::OidcError::Expired) => true,
        AccountsError::Store(e) => e.is_unique_violation(),
        _ => false,
    }
}

/// Keeps a page that shows a secret (or answers for one) out of caches and history.
fn no_store(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}

fn with_status(mut response: Response, status: u16) -> Response {
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
    response
}

/// What the sign-in form says above itself.
enum LoginNotice {
    None,
    /// The email or password is wrong.
    Failed,
    /// The password is right, but the email of the sign-up is not verified yet.
    Unverified,
}

fn login_view(
    p: &Accounts,
    page: &Page,
    email: &str,
    next: &str,
    notice: LoginNotice,
) -> Result<Response, Problem> {
    page.render(
        "accounts/login.html",
        json!({
            "email": email,
            "next": next,
            "error": matches!(notice, LoginNotice::Failed).then(|| page.t("login-failed")),
            "unverified": matches!(notice, LoginNotice::Unverified),
            "oidc_name": p.oidc.as_ref().map(|o| o.name().to_string()),
            "signup_open": p.settings.signup == Signup::Open,
        }),
    )
}

async fn login_page(
    State(p): State<Accounts>,
    page: Page,
    Query(q): Query<NextQuery>,
) -> Result<Response, Problem> {
    if page.identity.is_some() {
        return Ok(Redirect::to(&safe_next(q.next.as_deref())).into_response());
    }
    login_view(
        &p,
        &page,
        "",
        &safe_next(q.next.as_deref()),
        LoginNotice::None,
    )
}

#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: String,
    next: Option<String>,
}

/// The longest email a failed sign-in writes to the audit log.
const MAX_AUDITED_EMAIL_CHARS: usize = 254;

/// Signs in with a password. Each client address and each account (the email typed) has
/// a share of attempts per window, given back when the password was right. An unknown
/// email costs the same hashing as a known one, and every failure is in the audit log.
///
/// An email with no account but an open sign-up waiting for it is checked against the
/// sign-up's password instead of the dummy (the same work): when that is right, the
/// person is told to verify their email first and offered the link again.
async fn login(
    State(p): State<Accounts>,
    page: Page,
    client: ClientIp,
    Form(form): Form<LoginForm>,
) -> Result<Response, Problem> {
    let next = safe_next(form.next.as_deref());
    p.limits.address(client)?;
    p.limits.account("sign-in", &form.email)?;
    let email = Email::parse(&form.email).ok();
    let user = match &email {
        Some(email) => db::user_by_email(p.db.pool(), email).await?,
        None => None,
    };
    let pending = match (&user, &email) {
        (None, Some(email)) if p.settings.signup == Signup::Open => {
            db::pending_signup(p.db.pool(), email).await?
        }
        _ => None,
    };
    let hash = match (&user, &pending) {
        (Some(user), _) => user.password_hash.as_deref(),
        (None, Some(signup)) => Some(signup.password_hash.as_str()),
        (None, None) => None,
    };
    let verified = match p.hasher().verify(&form.password, hash).await {
        Ok(verified) => verified,
        Err(busy) => {
            // Not an attempt that counts against anyone.
            p.limits.refund_account("sign-in", &form.email);
            p.limits.refund_address(client);
            return Err(busy.into());
        }
    };
    match user {
        Some(user) if verified => {
            p.limits.refund_account("sign-in", &form.email);
            p.limits.refund_address(client);
            sign_in(&p, &user, "password", &next).await
        }
        None if verified && pending.is_some() => {
            p.limits.refund_account("sign-in", &form.email);
            p.limits.refund_address(client);
            let email = email.as_ref().map_or(form.email.as_str(), Email::as_str);
            let response = login_view(&p, &page, email, &next, LoginNotice::Unverified)?;
            Ok(with_status(response, 403))
        }
        _ => {
            let typed: String = form
                .email
                .trim()
                .chars()
                .filter(|c| !c.is_control())
                .take(MAX_AUDITED_EMAIL_CHARS)
                .collect();
            tutti_platform::audit::record(
                p.db.pool(),
                AuditEntry {
                    actor_email: Some(typed),
                    action: "sign-in-failed".into(),
                    detail: format!("password, from {client}"),
                    ..Default::default()
                }
                .arg("method", "password")
                .arg("address", client.to_string()),
            )
            .await?;
            let mut response = login_view(&p, &page, &form.email, &next, LoginNotice::Failed)?;
            *response.status_mut() = StatusCode::UNAUTHORIZED;
            Ok(response)
        }
    }
}

/// Opens a session for `user` and sends the browser on to `next`.
async fn sign_in(p: &Accounts, user: &User, method: &str, next: &str) -> Result<Response, Problem> {
    let secret = db::create_session(&p.db, &user.id, p.settings.session_days).await?;
    tutti_platform::audit::record(
        p.db.pool(),
        AuditEntry {
            actor_id: Some(user.id.clone()),
            actor_email: Some(user.email.clone()),
            action: "signed-in".into(),
            detail: method.to_string(),
            ..Default::default()
        }
        .arg("method", method),
    )
    .await?;
    let mut response = Redirect::to(next).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        cookie(
            p,
            &p.session_cookie(),
            &secret,
            p.settings.session_days * 86_400,
        ),
    );
    Ok(response)
}

async fn logout(State(p): State<Accounts>, request: HeaderMap) -> Result<Response, Problem> {
    if let Some(secret) = session_cookie_of(&p.platform.settings, &request) {
        db::delete_session(p.db.pool(), &secret).await?;
    }
    let mut response = Redirect::to("/").into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, cookie(&p, &p.session_cookie(), "", 0));
    Ok(response)
}

#[derive(Deserialize)]
struct LanguageForm {
    lang: String,
    next: Option<String>,
}

async fn language(
    State(p): State<Accounts>,
    Form(form): Form<LanguageForm>,
) -> Result<Response, Problem> {
    let lang = Lang::find(&form.lang).ok_or_else(|| {
        Problem::invalid(
            "lang",
            format!(
                "{:?} is not a language Tutti speaks; use en or he.",
                form.lang
            ),
        )
    })?;
    let next = safe_next_or(form.next.as_deref(), "/");
    let mut response = Redirect::to(&next).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        cookie(&p, LANG_COOKIE, lang.code(), 365 * 86_400),
    );
    Ok(response)
}

/// The cookie that binds an OpenID Connect sign-in to the browser that started it.
const OIDC_STATE_COOKIE: &str = "tutti_oidc_state";
/// How long a sign-in may take at the provider, for the cookie (seconds).
const OIDC_STATE_MAX_AGE: i64 = 600;

async fn oidc_start(
    State(p): State<Accounts>,
    Query(q): Query<NextQuery>,
) -> Result<Response, Problem> {
    let oidc = p.oidc.as_ref().ok_or_else(|| {
        Problem::not_found("Sign-in with an identity provider is not configured on this server.")
    })?;
    let (url, state) = oidc.start(&p.db, safe_next(q.next.as_deref())).await?;
    let mut response = Redirect::to(&url).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        cookie(
            &p,
            &p.platform.settings.cookie_name(OIDC_STATE_COOKIE),
            &state,
            OIDC_STATE_MAX_AGE,
        ),
    );
    Ok(response)
}

#[derive(Deserialize)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    /// The issuer the provider says answered (RFC 9207), when it says.
    iss: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// The provider sends the browser back here. The sign-in must have been started in this
/// browser (the state cookie set at the start equals `state`), so nobody can sign a
/// victim in to the attacker's account by sending them a callback link; the cookie is
/// cleared whatever the outcome.
async fn oidc_callback(
    State(p): State<Accounts>,
    lang: Lang,
    headers: HeaderMap,
    Query(q): Query<Callback>,
) -> Result<Response, Problem> {
    let name = p.platform.settings.cookie_name(OIDC_STATE_COOKIE);
    let clear = cookie(&p, &name, "", 0);
    let bound = cookie_of(&headers, &name);
    let mut response = match oidc_finish(&p, lang, bound.as_deref(), q).await {
        Ok(response) => response,
        Err(problem) => problem.into_response(),
    };
    response.headers_mut().append(header::SET_COOKIE, clear);
    Ok(response)
}

async fn oidc_finish(
    p: &Accounts,
    lang: Lang,
    bound: Option<&str>,
    q: Callback,
) -> Result<Response, Problem> {
    let oidc = p.oidc.as_ref().ok_or_else(|| {
        Problem::not_found("Sign-in with an identity provider is not configured on this server.")
    })?;
    if let Some(iss) = &q.iss
        && iss != oidc.issuer()
    {
        return Err(Problem::bad_request(
            "wrong-issuer",
            format!(
                "This answer comes from {iss:?}, not from the configured provider {}. Start the sign-in again.",
                oidc.name()
            ),
        )
        .with_field("iss"));
    }
    if let Some(error) = q.error {
        return Err(Problem::bad_request(
            "sign-in-refused",
            format!(
                "The sign-in provider said: {}",
                q.error_description.unwrap_or(error)
            ),
        ));
    }
    let code = q
        .code
        .ok_or_else(|| Problem::invalid("code", "The provider sent no authorization code."))?;
    let state = q
        .state
        .ok_or_else(|| Problem::invalid("state", "The provider sent no state."))?;
    if !bound.is_some_and(|bound| same_secret(bound, &state)) {
        return Err(Problem::bad_request(
            "sign-in-elsewhere",
            "This sign-in was not started in this browser, or took longer than 10 minutes. Start it again from the sign-in page.",
        )
        .with_field("state"));
    }
    let claims = oidc.finish(&p.db, &state, &code).await?;
    let user = oidc_account(p, lang, &claims).await?;
    sign_in(p, &user, "openid-connect", &claims.next_path).await
}

/// The account an OpenID Connect identity signs in to, linking or creating it as the
/// signup policy allows. The administrators hear of a new account in `lang`, the page
/// language of the person signing up (nothing better is known of theirs).
async fn oidc_account(
    p: &Accounts,
    lang: Lang,
    claims: &crate::oidc::Claims,
) -> Result<User, AccountsError> {
    if let Some(user) = db::user_by_identity(p.db.pool(), &claims.issuer, &claims.subject).await? {
        return Ok(user);
    }
    let email = claims.email.as_deref().ok_or_else(|| {
        AccountsError::forbidden("The sign-in provider did not share your email address, which Tutti needs. Allow it and try again.", None)
    })?;
    let email = Email::parse(email)?;
    if !claims.email_verified {
        return Err(AccountsError::forbidden(
            format!(
                "The sign-in provider has not verified {email}. Verify it there, then sign in again."
            ),
            None,
        ));
    }
    let mut tx = p.db.begin().await?;
    let user = match db::user_by_email(&mut *tx, &email).await? {
        Some(user) => user,
        None => {
            let invited = !db::roles_of(&mut *tx, email.as_str()).await?.is_empty();
            if p.settings.signup != Signup::Open && !invited {
                return Err(AccountsError::forbidden(
                    format!(
                        "There is no account for {email} yet. Ask an administrator to invite you."
                    ),
                    None,
                ));
            }
            let name = claims.name.clone().unwrap_or_else(|| email.to_string());
            let name =
                crate::domain::parse_name(&name, "name").unwrap_or_else(|_| email.to_string());
            let user = db::insert_user(&mut tx, &email, &name, None).await?;
            tutti_platform::audit::record(
                &mut *tx,
                AuditEntry {
                    actor_id: Some(user.id.clone()),
                    actor_email: Some(user.email.clone()),
                    action: "user-created".into(),
                    detail: format!("signed up through {}", claims.issuer),
                    ..Default::default()
                }
                .arg("variant", "openid-connect")
                .arg("email", email.as_str())
                .arg("issuer", claims.issuer.as_str()),
            )
            .await?;
            let link = p.settings.link("/admin/users");
            admin::notify_admins(
                p,
                &mut tx,
                lang,
                "mail-signup",
                &[
                    ("name", name.clone()),
                    ("email", email.to_string()),
                    ("issuer", claims.issuer.clone()),
                ],
                &link,
            )
            .await?;
            user
        }
    };
    db::link_identity(&mut *tx, &claims.issuer, &claims.subject, &user.id).await?;
    tx.commit().await?;
    p.queue.notify();
    Ok(user)
}

/// The form that sets a password through a one-time link: `email` is the link's (or
/// what was typed, for the first-admin setup), `name` what was typed.
fn password_view(
    page: &Page,
    purpose: LinkPurpose,
    email: Option<&str>,
    name: Option<&str>,
    error: Option<ShownProblem>,
) -> Result<Response, Problem> {
    page.render(
        "accounts/password.html",
        json!({
            "purpose": purpose.as_str(),
            "email": email,
            "name": name,
            "error": error,
        }),
    )
}

/// The answer to a one-time link that was used or has expired.
fn gone(page: &Page) -> Problem {
    Problem::new(StatusCode::GONE, "link-expired", page.t("link-expired")).with_field("token")
}

/// The password form behind a one-time link (setup, invitation, reset) and its submission;
/// the three differ only in what redeeming the link does.
async fn link_page(
    p: &Accounts,
    page: &Page,
    purpose: LinkPurpose,
    token: &str,
) -> Result<Response, Problem> {
    match db::peek_link(p.db.pool(), purpose, token).await? {
        Some(email) => password_view(page, purpose, Some(&email), None, None),
        None => Err(gone(page)),
    }
}

#[derive(Deserialize)]
struct PasswordForm {
    email: Option<String>,
    name: Option<String>,
    password: String,
}

async fn redeem(
    p: Accounts,
    page: Page,
    purpose: LinkPurpose,
    token: String,
    form: PasswordForm,
) -> Result<Response, Problem> {
    match admin::redeem_link(
        &p,
        purpose,
        &token,
        form.email.as_deref(),
        form.name.as_deref(),
        &form.password,
    )
    .await
    {
        Ok(user) => sign_in(&p, &user, purpose.as_str(), "/profile").await,
        Err(e @ AccountsError::Invalid { .. }) => {
            let problem = Problem::from(e);
            let email = match purpose {
                LinkPurpose::Setup => form.email.clone(),
                LinkPurpose::Invite | LinkPurpose::Reset | LinkPurpose::Signup => {
                    match db::peek_link(p.db.pool(), purpose, &token).await? {
                        Some(email) => Some(email),
                        None => return Err(gone(&page)),
                    }
                }
            };
            let response = password_view(
                &page,
                purpose,
                email.as_deref(),
                form.name.as_deref(),
                Some(page.shown(&problem)),
            )?;
            Ok(with_status(response, problem.status))
        }
        Err(e) => Err(e.into()),
    }
}

async fn forgot_page(page: Page) -> Result<Response, Problem> {
    page.render("accounts/forgot.html", json!({}))
}

#[derive(Deserialize)]
struct ForgotForm {
    email: String,
}

async fn forgot(
    State(p): State<Accounts>,
    page: Page,
    client: ClientIp,
    Form(form): Form<ForgotForm>,
) -> Result<Response, Problem> {
    p.limits.address(client)?;
    p.limits.account("reset", &form.email)?;
    match admin::request_password_reset_in(&p, &form.email, lang_of(&page)).await {
        Ok(()) => page.render(
            "accounts/forgot.html",
            json!({ "sent": true, "email": form.email }),
        ),
        Err(e @ AccountsError::Invalid { .. }) => {
            let problem = Problem::from(e);
            let response = page.render(
                "accounts/forgot.html",
                json!({ "error": page.shown(&problem), "email": form.email }),
            )?;
            Ok(with_status(response, problem.status))
        }
        Err(e) => Err(e.into()),
    }
}

/// The sign-up form as its page shows it: what was typed (never the password), and the
/// problem with it.
#[derive(Debug, Default, Serialize)]
struct SignupFormView {
    email: String,
    name: String,
    next: String,
    error: Option<ShownProblem>,
}

/// The sign-up page: the form, or (`closed`) why there is none, with status 403.
fn signup_view(page: &Page, form: SignupFormView) -> Result<Response, Problem> {
    page.render("accounts/signup.html", json!({ "form": form }))
}

/// The page that says sign-up is closed, and why (the problem's words, in the page's
/// language), with status 403.
fn signup_closed_view(page: &Page, closed: AccountsError) -> Result<Response, Problem> {
    let key = match closed {
        AccountsError::SignupClosed { before_setup: true } => "signup-before-setup",
        _ => "signup-closed",
    };
    let response = page.render("accounts/signup.html", json!({ "closed": page.t(key) }))?;
    Ok(with_status(response, 403))
}

/// Answers a sign-up page when sign-up is closed; `Ok(None)` when it is open.
async fn refused(p: &Accounts, page: &Page) -> Result<Option<Response>, Problem> {
    match admin::signup_open(p).await {
        Ok(()) => Ok(None),
        Err(closed @ AccountsError::SignupClosed { .. }) => {
            Ok(Some(signup_closed_view(page, closed)?))
        }
        Err(e) => Err(e.into()),
    }
}

async fn signup_page(
    State(p): State<Accounts>,
    page: Page,
    Query(q): Query<NextQuery>,
) -> Result<Response, Problem> {
    let next = safe_next(q.next.as_deref());
    if page.identity.is_some() {
        return Ok(Redirect::to(&next).into_response());
    }
    if let Some(closed) = refused(&p, &page).await? {
        return Ok(closed);
    }
    signup_view(
        &page,
        SignupFormView {
            next,
            ..Default::default()
        },
    )
}

#[derive(Deserialize)]
struct SignupForm {
    email: String,
    name: Option<String>,
    password: String,
    next: Option<String>,
}

/// Open sign-up: records the sign-up and mails the link that verifies the email, then
/// sends the browser to a page that says to check the mail (so a reload sends nothing
/// again). Every request counts against the address and the email typed, as requests
/// for a password reset do: each one sends mail.
async fn signup(
    State(p): State<Accounts>,
    page: Page,
    client: ClientIp,
    Form(form): Form<SignupForm>,
) -> Result<Response, Problem> {
    if let Some(closed) = refused(&p, &page).await? {
        return Ok(closed);
    }
    p.limits.address(client)?;
    p.limits.account("signup", &form.email)?;
    let requested = admin::request_signup(
        &p,
        &form.email,
        form.name.as_deref(),
        &form.password,
        form.next.as_deref(),
        lang_of(&page),
        &client.to_string(),
    )
    .await;
    match requested {
        Ok(()) => Ok(Redirect::to("/signup/sent").into_response()),
        Err(e @ AccountsError::Invalid { .. }) => {
            let problem = Problem::from(e);
            let view = SignupFormView {
                email: form.email.clone(),
                name: form.name.clone().unwrap_or_default(),
                next: safe_next(form.next.as_deref()),
                error: Some(page.shown(&problem)),
            };
            Ok(with_status(signup_view(&page, view)?, problem.status))
        }
        Err(closed @ AccountsError::SignupClosed { .. }) => signup_closed_view(&page, closed),
        Err(busy @ AccountsError::Busy { .. }) => {
            // Not a request that counts against anyone.
            p.limits.refund_account("signup", &form.email);
            p.limits.refund_address(client);
            Err(busy.into())
        }
        Err(e) => Err(e.into()),
    }
}

/// Where a sign-up (or a request to send its link again) lands: check your mail. It says
/// the same whether or not the email has an account.
async fn signup_sent(State(p): State<Accounts>, page: Page) -> Result<Response, Problem> {
    if let Some(closed) = refused(&p, &page).await? {
        return Ok(closed);
    }
    page.render("accounts/signup.html", json!({ "sent": true }))
}

#[derive(Deserialize)]
struct ResendForm {
    email: String,
}

/// Sends the link of a waiting sign-up again (from the sign-in page, or the page that
/// says to check the mail); counted like a sign-up.
async fn signup_resend(
    State(p): State<Accounts>,
    page: Page,
    client: ClientIp,
    Form(form): Form<ResendForm>,
) -> Result<Response, Problem> {
    if let Some(closed) = refused(&p, &page).await? {
        return Ok(closed);
    }
    p.limits.address(client)?;
    p.limits.account("signup", &form.email)?;
    match admin::resend_signup(&p, &form.email, lang_of(&page), &client.to_string()).await {
        Ok(()) => Ok(Redirect::to("/signup/sent").into_response()),
        Err(e @ AccountsError::Invalid { .. }) => {
            let problem = Problem::from(e);
            let response = page.render(
                "accounts/signup.html",
                json!({ "sent": true, "resend_email": form.email, "error": page.shown(&problem) }),
            )?;
            Ok(with_status(response, problem.status))
        }
        Err(closed @ AccountsError::SignupClosed { .. }) => signup_closed_view(&page, closed),
        Err(e) => Err(e.into()),
    }
}

/// The link in the sign-up's mail: a page with one button that finishes the sign-up.
/// Opening the link changes nothing by itself, so a mail scanner that follows links
/// does not use it up before its person does.
async fn verify_page(
    State(p): State<Accounts>,
    page: Page,
    Path(token): Path<String>,
) -> Result<Response, Problem> {
    if let Some(closed) = refused(&p, &page).await? {
        return Ok(closed);
    }
    match db::peek_link(p.db.pool(), LinkPurpose::Signup, &token).await? {
        Some(email) => page.render("accounts/signup_verify.html", json!({ "email": email })),
        None => Err(gone(&page)),
    }
}

/// Finishes a sign-up: makes the account, signs its person in and sends them on to the
/// path given at sign-up. Counted against the address like other one-time links, and
/// given back when it worked.
async fn verify(
    State(p): State<Accounts>,
    page: Page,
    client: ClientIp,
    Path(token): Path<String>,
) -> Result<Response, Problem> {
    if let Some(closed) = refused(&p, &page).await? {
        return Ok(closed);
    }
    p.limits.address(client)?;
    match admin::verify_signup(&p, &token).await {
        Ok((user, next)) => {
            p.limits.refund_address(client);
            sign_in(&p, &user, "signup", &next).await
        }
        Err(closed @ AccountsError::SignupClosed { .. }) => signup_closed_view(&page, closed),
        Err(e) => Err(e.into()),
    }
}

/// The token form as the profile shows it: what was typed, and the problem with it.
#[derive(Debug, Default, Serialize)]
struct TokenFormView {
    name: String,
    scope: String,
    expires_in_days: String,
    error: Option<ShownProblem>,
}

/// What the profile shows beside the person and their tokens.
#[derive(Debug, Default)]
struct ProfileShows {
    /// A token just created, with its secret (this once).
    new_token: Option<admin::NewToken>,
    /// The token form was sent again (a reload): nothing was created this time.
    already_done: bool,
    form: TokenFormView,
}

async fn profile_view(
    p: &Accounts,
    page: &Page,
    identity: &Identity,
    shows: ProfileShows,
) -> Result<Response, Problem> {
    let tokens = db::tokens_of(p.db.pool(), &identity.user.id).await?;
    let has_password = db::user_by_id(p.db.pool(), &identity.user.id)
        .await?
        .is_some_and(|u| u.password_hash.is_some());
    page.render(
        "accounts/profile.html",
        json!({
            "has_password": has_password,
            "user": identity.user,
            "roles": identity.roles,
            "tokens": tokens,
            "new_token": shows.new_token,
            "already_done": shows.already_done,
            "form": shows.form,
            "form_key": mint_form_key(),
            "can_delegate": identity.is_admin(),
        }),
    )
}

async fn profile(
    State(p): State<Accounts>,
    page: Page,
    identity: Identity,
) -> Result<Response, Problem> {
    profile_view(&p, &page, &identity, ProfileShows::default()).await
}

#[derive(Deserialize)]
struct NameForm {
    name: String,
}

async fn rename(
    State(p): State<Accounts>,
    identity: Identity,
    Form(form): Form<NameForm>,
) -> Result<Response, Problem> {
    let name = crate::domain::parse_name(&form.name, "name")?;
    db::set_name(p.db.pool(), &identity.user.id, &name).await?;
    Ok(Redirect::to("/profile").into_response())
}

#[derive(Deserialize)]
struct DeleteForm {
    /// The checkbox saying yes, everything goes.
    confirm: Option<String>,
    /// The account's password, when it has one.
    password: Option<String>,
}

/// Deletes the signed-in person's account after they confirm (and give their password,
/// when the account has one): every studio forgets them first.
async fn delete_account(
    State(p): State<Accounts>,
    identity: Identity,
    Form(form): Form<DeleteForm>,
) -> Result<Response, Problem> {
    if form.confirm.as_deref() != Some("delete") {
        return Err(Problem::invalid(
            "confirm",
            "Tick the box to confirm that the account and everything in it is to be deleted.",
        ));
    }
    let user = db::user_by_id(p.db.pool(), &identity.user.id)
        .await?
        .ok_or_else(|| Problem::not_found("There is no such account."))?;
    if user.password_hash.is_some() {
        let given = form.password.unwrap_or_default();
        if !p
            .hasher()
            .verify(&given, user.password_hash.as_deref())
            .await?
        {
            return Err(Problem::invalid(
                "password",
                "That is not the account's password; type it to confirm the deletion.",
            ));
        }
    }
    crate::admin::delete_account(&p, &user.id, crate::admin::Actor::Web(&identity)).await?;
    let mut response = Redirect::to("/").into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, cookie(&p, &p.session_cookie(), "", 0));
    Ok(response)
}

#[derive(Deserialize)]
struct TokenForm {
    name: String,
    scope: Option<String>,
    /// Days until it expires; empty for the default (never, or 30 for delegate tokens).
    expires_in_days: Option<String>,
    /// Minted with the page, so that sending the form twice creates one token.
    form_key: Option<String>,
}

/// Creates a token from the profile's form. The secret is shown in this answer only
/// (kept out of caches); the same form sent again creates nothing and says so.
async fn new_token(
    State(p): State<Accounts>,
    page: Page,
    identity: Identity,
    Form(form): Form<TokenForm>,
) -> Result<Response, Problem> {
    let shows = match token_from(&p, &identity, &form).await {
        Ok(Once::Done(token)) => ProfileShows {
            new_token: Some(token),
            ..Default::default()
        },
        Ok(Once::AlreadyDone) => ProfileShows {
            already_done: true,
            ..Default::default()
        },
        Err(e) if fixable(&e) => {
            let problem = Problem::from(e);
            let shows = ProfileShows {
                form: TokenFormView {
                    name: form.name.clone(),
                    scope: form.scope.clone().unwrap_or_default(),
                    expires_in_days: form.expires_in_days.clone().unwrap_or_default(),
                    error: Some(page.shown(&problem)),
                },
                ..Default::default()
            };
            let response = profile_view(&p, &page, &identity, shows).await?;
            return Ok(with_status(response, problem.status));
        }
        Err(e) => return Err(e.into()),
    };
    Ok(no_store(profile_view(&p, &page, &identity, shows).await?))
}

async fn token_from(
    p: &Accounts,
    identity: &Identity,
    form: &TokenForm,
) -> Result<Once<admin::NewToken>, AccountsError> {
    let key = form_key(form.form_key.as_deref())?;
    let scope: TokenScope = form.scope.as_deref().unwrap_or("api").parse()?;
    let days = match form.expires_in_days.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => Some(raw.parse::<u32>().map_err(|_| {
            AccountsError::invalid(
                "expires_in_days",
                format!(
                    "Write a number of days from 1 to {}, or leave it empty.",
                    admin::MAX_TOKEN_DAYS
                ),
            )
        })?),
    };
    admin::create_token_once(
        p,
        &identity.user,
        identity.is_admin(),
        &form.name,
        scope,
        days,
        Actor::Web(identity),
        FormKey {
            user_id: &identity.user.id,
            key,
        },
    )
    .await
}

async fn revoke_token(
    State(p): State<Accounts>,
    identity: Identity,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    admin::revoke_token(&p, &identity, &id).await?;
    Ok(Redirect::to("/profile").into_response())
}

#[derive(Deserialize, Default)]
struct Notice {
    done: Option<String>,
}

/// The invitation form as the people page shows it: what was typed, and the problem.
#[derive(Debug, Default, Serialize)]
struct InviteFormView {
    email: String,
    role: String,
    error: Option<ShownProblem>,
}

/// What the people page shows beside the people.
#[derive(Debug, Default)]
struct UsersShows<'a> {
    /// What was just done (`granted`, `revoked`, `invited`).
    done: Option<&'a str>,
    /// The invitation link to pass on, this once, when the server sends no mail.
    link: Option<&'a str>,
    /// The invitation form was sent again (a reload): nothing was done this time.
    already_done: bool,
    invite: InviteFormView,
}

/// The people page; after an invitation without mail, with the link to pass on.
async fn users_view(p: &Accounts, page: &Page, shows: UsersShows<'_>) -> Result<Response, Problem> {
    let people = admin::list_users(p).await?;
    page.render(
        "accounts/admin_users.html",
        json!({
            "people": people,
            "roles": p.platform.roles.all(),
            "done": shows.done,
            "link": shows.link,
            "already_done": shows.already_done,
            "invite": shows.invite,
            "form_key": mint_form_key(),
            "mail_sends": p.mailer.sends(),
        }),
    )
}

async fn admin_users(
    State(p): State<Accounts>,
    page: Page,
    Query(q): Query<Notice>,
) -> Result<Response, Problem> {
    let shows = UsersShows {
        done: q.done.as_deref(),
        ..Default::default()
    };
    users_view(&p, &page, shows).await
}

#[derive(Deserialize)]
struct RoleForm {
    email: String,
    role: String,
}

async fn admin_grant(
    State(p): State<Accounts>,
    identity: Identity,
    Form(form): Form<RoleForm>,
) -> Result<Response, Problem> {
    let role = p.role(&form.role, "role")?;
    admin::grant_role(&p, &form.email, role, Actor::Web(&identity)).await?;
    Ok(Redirect::to("/admin/users?done=granted").into_response())
}

async fn admin_revoke(
    State(p): State<Accounts>,
    identity: Identity,
    Form(form): Form<RoleForm>,
) -> Result<Response, Problem> {
    let role = p.role(&form.role, "role")?;
    admin::revoke_role(&p, &form.email, role, Actor::Web(&identity)).await?;
    Ok(Redirect::to("/admin/users?done=revoked").into_response())
}

#[derive(Deserialize)]
struct InviteForm {
    email: String,
    role: Option<String>,
    /// Minted with the page, so that sending the form twice invites once.
    form_key: Option<String>,
}

/// Invites someone, with the mail in the admin's page language. Without mail the admin
/// must pass the link on: it is shown once, in this answer (kept out of caches), never in
/// a URL that browser history would keep; the same form sent again does nothing and
/// says so.
async fn admin_invite(
    State(p): State<Accounts>,
    page: Page,
    identity: Identity,
    Form(form): Form<InviteForm>,
) -> Result<Response, Problem> {
    let invited = async {
        let key = form_key(form.form_key.as_deref())?;
        let roles = match form.role.as_deref() {
            None | Some("") => vec![],
            Some(r) => vec![p.role(r, "role")?],
        };
        let key = FormKey {
            user_id: &identity.user.id,
            key,
        };
        admin::invite_once(
            &p,
            &form.email,
            &roles,
            Actor::Web(&identity),
            lang_of(&page),
            key,
        )
        .await
    }
    .await;
    match invited {
        Ok(Once::Done(Some(link))) if !p.mailer.sends() => {
            let shows = UsersShows {
                done: Some("invited"),
                link: Some(&link),
                ..Default::default()
            };
            Ok(no_store(users_view(&p, &page, shows).await?))
        }
        Ok(Once::Done(_)) => Ok(Redirect::to("/admin/users?done=invited").into_response()),
        Ok(Once::AlreadyDone) => {
            let shows = UsersShows {
                already_done: true,
                ..Default::default()
            };
            Ok(no_store(users_view(&p, &page, shows).await?))
        }
        Err(e) if fixable(&e) => {
            let problem = Problem::from(e);
            let shows = UsersShows {
                invite: InviteFormView {
                    email: form.email.clone(),
                    role: form.role.clone().unwrap_or_default(),
                    error: Some(page.shown(&problem)),
                },
                ..Default::default()
            };
            let response = users_view(&p, &page, shows).await?;
            Ok(with_status(response, problem.status))
        }
        Err(e) => Err(e.into()),
    }
}

async fn admin_outbox(State(p): State<Accounts>, page: Page) -> Result<Response, Problem> {
    let messages = p.mailer.list(None, 200).await?;
    page.render(
        "accounts/admin_outbox.html",
        json!({ "messages": messages, "mail_sends": p.mailer.sends() }),
    )
}

async fn admin_outbox_done(
    State(p): State<Accounts>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    if !p.mailer.mark_passed_on(&id).await? {
        return Err(Problem::not_found("There is no held message with that id.").with_field("id"));
    }
    Ok(Redirect::to("/admin/outbox").into_response())
}
