use reqwest::{Method, StatusCode};
use tutti_accounts::Role;

use crate::helpers::*;

#[tokio::test]
async fn the_home_page_links_the_registered_studios_in_the_browser_language() {
    let app = spawn_app().await;
    let browser = app.anonymous();
    let english = browser.get("/").await.text().await.unwrap();
    assert!(english.contains(r#"<html lang="en" dir="ltr">"#));
    assert!(english.contains(r#"rehearsal">Rehearsal</a>"#), "{english}");
    let hebrew = browser
        .request(reqwest::Method::GET, "/")
        .header("accept-language", "he-IL,he;q=0.9,en;q=0.5")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(hebrew.contains(r#"<html lang="he" dir="rtl">"#));
    assert!(hebrew.contains("חזרה"), "the test studio in Hebrew");
}

#[tokio::test]
async fn the_language_switch_is_remembered() {
    let app = spawn_app().await;
    let mut browser = app.signed_in("dana@example.test", &[SPEAKER]).await;
    let switched = browser
        .form("/language", &[("lang", "he"), ("next", "/profile")])
        .await;
    assert_eq!(switched.status(), StatusCode::SEE_OTHER);
    assert_eq!(switched.headers()["location"], "/profile");
    let profile = browser.get("/profile").await.text().await.unwrap();
    assert!(profile.contains(r#"dir="rtl""#) && profile.contains("הפרופיל שלך"));
    browser.csrf = csrf_of(&profile).unwrap();
    let refused = browser
        .form("/language", &[("lang", "xx"), ("next", "/")])
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    for next in [
        "https://evil.example/",
        "//evil.example",
        "/\\evil.example",
        "/\t/evil.example",
    ] {
        let offsite = browser
            .form("/language", &[("lang", "en"), ("next", next)])
            .await;
        assert_eq!(
            offsite.headers()["location"],
            "/",
            "never redirects off the site: {next:?}"
        );
    }
    let english = browser.get("/profile").await.text().await.unwrap();
    assert!(english.contains(r#"dir="ltr""#));
}

#[tokio::test]
async fn assets_are_served_with_their_types() {
    let app = spawn_app().await;
    let css = reqwest::get(app.url("/assets/tutti.css")).await.unwrap();
    assert_eq!(css.status(), StatusCode::OK);
    assert!(
        css.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    let css = css.text().await.unwrap();
    assert!(
        !css.contains("margin-left") && !css.contains("padding-left"),
        "logical properties only"
    );
    let js = reqwest::get(app.url("/assets/tutti.js")).await.unwrap();
    assert!(
        js.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    problem(
        reqwest::get(app.url("/assets/nope.js")).await.unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn an_admin_sees_people_jobs_audit_and_mail_pages() {
    let app = spawn_app().await;
    let admin = app.signed_in("admin@example.test", &[Role::ADMIN]).await;
    let granted = admin
        .form(
            "/admin/roles/grant",
            &[("email", "later@example.test"), ("role", "speaker")],
        )
        .await;
    assert_eq!(granted.headers()["location"], "/admin/users?done=granted");
    let users = admin
        .get("/admin/users?done=granted")
        .await
        .text()
        .await
        .unwrap();
    assert!(users.contains("later@example.test") && users.contains("Not signed up yet"));
    let key = form_key_of(&users);
    let invited = admin
        .form(
            "/admin/invitations",
            &[
                ("email", "later@example.test"),
                ("role", ""),
                ("form_key", &key),
            ],
        )
        .await;
    // Without SMTP the admin gets the link in this answer, never in a URL that browser
    // history would keep, and the answer is not cached.
    assert_eq!(invited.status(), StatusCode::OK);
    assert!(invited.headers().get("location").is_none());
    assert_eq!(invited.headers()["cache-control"], "no-store");
    let shown = invited.text().await.unwrap().replace("&#x2f;", "/");
    let at = shown
        .find("/invite/")
        .unwrap_or_else(|| panic!("the page shows the link to pass on: {shown}"));
    let secret: String = shown[at + "/invite/".len()..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    assert!(secret.len() > 40, "{secret}");
    let later = admin.get("/admin/users").await.text().await.unwrap();
    assert!(!later.contains(&secret), "shown once only");
    for (path, text) in [
        ("/admin/jobs", "Check the workers"),
        ("/admin/audit", "Role granted"),
        ("/admin/outbox", "later@example.test"),
    ] {
        let page = admin.get(path).await;
        assert_eq!(page.status(), StatusCode::OK, "{path}");
        assert!(
            page.text().await.unwrap().contains(text),
            "{path} shows {text}"
        );
    }
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = spawn_app().await;
    let browser = app.anonymous();
    for path in [
        "/",
        "/login",
        "/no/such/page",
        "/assets/tutti.js",
        "/healthz",
    ] {
        let response = browser.get(path).await;
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        for directive in [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'self'",
        ] {
            assert!(csp.contains(directive), "{path}: {directive} in {csp}");
        }
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "same-origin", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert!(
            headers.get("strict-transport-security").is_none(),
            "no HSTS over plain http: {path}"
        );
    }
    // The pages keep to the policy: no inline scripts or styles.
    let html = browser.get("/login").await.text().await.unwrap();
    assert!(
        !html.contains("style=") && !html.contains("<style"),
        "{html}"
    );
    assert!(
        !html.contains("<script>") && !html.contains(" onclick="),
        "{html}"
    );
}

/// The key a page minted into its form that must not create twice.
fn form_key_of(html: &str) -> String {
    let marker = r#"name="form_key" value=""#;
    let at = html.find(marker).expect("the form carries a key") + marker.len();
    html[at..at + html[at..].find('"').unwrap()].to_string()
}

async fn count(app: &TestApp, sql: &str, bind: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(bind)
        .fetch_one(app.platform().db.pool())
        .await
        .unwrap()
}

/// The invitation link a page shows to pass on.
fn invite_link_in(html: &str) -> String {
    let html = html.replace("&#x2f;", "/");
    let at = html.find("/invite/").expect("the page shows the link") + "/invite/".len();
    let secret: String = html[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    format!("/invite/{secret}")
}

#[tokio::test]
async fn a_token_form_sent_twice_creates_one_token_and_says_so() {
    let app = spawn_app().await;
    let dana = app.signed_in("dana@example.test", &[SPEAKER]).await;
    let profile = dana.get("/profile").await.text().await.unwrap();
    let key = form_key_of(&profile);
    let fields = [("name", "laptop"), ("form_key", key.as_str())];
    let created = dana.form("/profile/tokens", &fields).await;
    assert_eq!(created.status(), StatusCode::OK);
    assert_eq!(created.headers()["cache-control"], "no-store");
    let created = created.text().await.unwrap();
    assert!(created.contains(r#"id="new-token">tutti_"#), "{created}");
    assert_ne!(
        form_key_of(&created),
        key,
        "the next form gets a key of its own"
    );

    // The browser reloads the answer: the same form again.
    let again = dana.form("/profile/tokens", &fields).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.headers()["cache-control"], "no-store");
    let again = again.text().await.unwrap();
    assert!(again.contains(r#"id="already-done""#), "{again}");
    assert!(again.contains("This form was sent before"), "{again}");
    assert!(
        again.contains(r##"href="#token-list""##),
        "points to the list: {again}"
    );
    assert!(
        !again.contains(r#"id="new-token""#),
        "no secret the second time"
    );
    let tokens =
        "SELECT COUNT(*) FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE u.email = $1";
    assert_eq!(count(&app, tokens, "dana@example.test").await, 1);
    let audited = "SELECT COUNT(*) FROM audit_log WHERE action = $1";
    assert_eq!(count(&app, audited, "token-created").await, 1);

    // Sent twice at once, one form still makes one token.
    let key = form_key_of(&dana.get("/profile").await.text().await.unwrap());
    let fields = [("name", "race"), ("form_key", key.as_str())];
    let (a, b) = tokio::join!(
        dana.form("/profile/tokens", &fields),
        dana.form("/profile/tokens", &fields)
    );
    assert_eq!((a.status(), b.status()), (StatusCode::OK, StatusCode::OK));
    let shown = [a.text().await.unwrap(), b.text().await.unwrap()]
        .iter()
        .filter(|html| html.contains(r#"id="new-token""#))
        .count();
    assert_eq!(shown, 1, "one of the two made the token");
    assert_eq!(count(&app, tokens, "dana@example.test").await, 2);

    // A form without its key, or older than keys are kept, is shown again to send anew.
    for key in [
        String::new(),
        "no-time.abc".to_string(),
        format!("{}.abc", tutti_store::now_ms() - 8 * 86_400_000),
    ] {
        let refused = dana
            .form(
                "/profile/tokens",
                &[("name", "stale"), ("form_key", key.as_str())],
            )
            .await;
        assert_eq!(
            refused.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{key:?}"
        );
        let html = refused.text().await.unwrap();
        assert!(html.contains("This form is out of date"), "{html}");
        assert!(html.contains(r#"value="stale""#), "what was typed is kept");
    }
    assert_eq!(count(&app, tokens, "dana@example.test").await, 2);

    // The sweep forgets keys once forms that old are refused anyway.
    sqlx::query("UPDATE form_keys SET created_at = 1")
        .execute(app.platform().db.pool())
        .await
        .unwrap();
    let report = tutti_accounts::sweep::sweep(&app.platform().db)
        .await
        .unwrap();
    assert_eq!(report.expired.form_keys, 2, "{report:?}");
}

#[tokio::test]
async fn an_invitation_form_sent_twice_invites_once() {
    let app = spawn_app().await;
    let admin = app.signed_in("admin@example.test", &[Role::ADMIN]).await;
    let key = form_key_of(&admin.get("/admin/users").await.text().await.unwrap());
    let fields = [
        ("email", "guest@example.test"),
        ("role", "speaker"),
        ("form_key", key.as_str()),
    ];
    let first = admin.form("/admin/invitations", &fields).await;
    assert_eq!(first.status(), StatusCode::OK);
    let first = first.text().await.unwrap();
    let link = invite_link_in(&first);
    let again = admin.form("/admin/invitations", &fields).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.headers()["cache-control"], "no-store");
    let again = again.text().await.unwrap();
    assert!(again.contains(r#"id="already-done""#), "{again}");
    assert!(
        again.contains(r#"href="/admin/outbox""#),
        "points to the held mail"
    );
    assert!(!again.contains("/invite/") && !again.contains(&link));
    let sql = |table: &str| format!("SELECT COUNT(*) FROM {table} WHERE to_email = $1");
    assert_eq!(count(&app, &sql("outbox"), "guest@example.test").await, 1);
    let links = "SELECT COUNT(*) FROM one_time_links WHERE email = $1";
    assert_eq!(count(&app, links, "guest@example.test").await, 1);
    let audited = "SELECT COUNT(*) FROM audit_log WHERE action = $1";
    assert_eq!(count(&app, audited, "invited").await, 1);
}

#[tokio::test]
async fn failed_forms_keep_what_was_typed_with_the_problem_beside_its_field() {
    let app = spawn_app().await;
    let admin = app.signed_in("admin@example.test", &[Role::ADMIN]).await;

    // An invitation accepted with a short password: the link's email, the name typed.
    let key = form_key_of(&admin.get("/admin/users").await.text().await.unwrap());
    let invited = admin
        .form(
            "/admin/invitations",
            &[
                ("email", "guest@example.test"),
                ("role", ""),
                ("form_key", &key),
            ],
        )
        .await;
    let link = invite_link_in(&invited.text().await.unwrap());
    let guest = app.anonymous();
    let short = guest
        .request(Method::POST, &link)
        .form(&[("name", "Gal Guest"), ("password", "short")])
        .send()
        .await
        .unwrap();
    assert_eq!(short.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = short.text().await.unwrap();
    assert!(!html.contains("None"), "{html}");
    assert!(
        html.contains(r#"<bdi id="link-email">guest@example.test</bdi>"#),
        "{html}"
    );
    assert!(html.contains(r#"value="Gal Guest""#), "{html}");
    assert!(
        html.contains(r#"aria-invalid="true" aria-describedby="password-error password-hint""#),
        "{html}"
    );
    assert!(
        html.contains(
            r#"<p id="password-error" class="field-error">The password must have at least 10"#
        ),
        "{html}"
    );

    // A reset link shows its email too.
    tutti_accounts::admin::request_password_reset(app.platform(), "admin@example.test")
        .await
        .unwrap();
    let held = app.platform().mailer.list(Some("held"), 10).await.unwrap();
    let reset = held
        .iter()
        .find_map(|m| m.link.as_deref().filter(|l| l.contains("/password/reset/")))
        .unwrap();
    let path = &reset[reset.find("/password/reset/").unwrap()..];
    let short = guest
        .request(Method::POST, path)
        .form(&[("password", "short")])
        .send()
        .await
        .unwrap();
    assert_eq!(short.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = short.text().await.unwrap();
    assert!(
        html.contains(r#"<bdi id="link-email">admin@example.test</bdi>"#),
        "{html}"
    );

    // A token form with a lifetime out of range.
    let key = form_key_of(&admin.get("/profile").await.text().await.unwrap());
    let refused = admin
        .form(
            "/profile/tokens",
            &[
                ("name", "laptop"),
                ("expires_in_days", "9999"),
                ("scope", "delegate"),
                ("form_key", &key),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(
        html.contains(r#"value="laptop""#) && html.contains(r#"value="9999""#),
        "{html}"
    );
    assert!(
        html.contains(r#"<option value="delegate" selected>"#),
        "{html}"
    );
    assert!(
        html.contains(r#"<p id="token-expires-error" class="field-error">"#),
        "{html}"
    );
    assert!(
        html.contains(r#"aria-describedby="token-expires-error token-expires-hint" autofocus"#),
        "{html}"
    );
    let tokens =
        "SELECT COUNT(*) FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE u.email = $1";
    assert_eq!(count(&app, tokens, "admin@example.test").await, 0);

    // An invitation to something that is not an email, in Hebrew.
    let key = form_key_of(&admin.get("/admin/users").await.text().await.unwrap());
    let refused = admin
        .request(Method::POST, "/admin/invitations")
        .header("accept-language", "he")
        .form(&[
            ("email", "not-an-email"),
            ("role", "speaker"),
            ("form_key", key.as_str()),
            ("csrf", admin.csrf.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(html.contains(r#"value="not-an-email""#), "{html}");
    assert!(
        html.contains(r#"<option value="speaker" selected>"#),
        "{html}"
    );
    assert!(
        html.contains(
            r#"<p id="invite-email-error" class="field-error">יש להזין כתובת דוא״ל תקינה"#
        ),
        "the problem in the page's language: {html}"
    );
}

#[tokio::test]
async fn the_token_sample_is_code_in_both_languages() {
    let app = spawn_app().await;
    let dana = app.signed_in("dana@example.test", &[SPEAKER]).await;
    for lang in ["en", "he"] {
        let html = dana
            .request(Method::GET, "/profile")
            .header("accept-language", lang)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            html.contains(r#"<code dir="ltr">Authorization: Bearer &lt;token&gt;</code>"#),
            "{lang}: {html}"
        );
    }
}

/// Runs of Latin letters a person reads on a page (its text, and the attributes shown or
/// read out) outside what is marked as user data or code: `<bdi>`, `<code>`, elements
/// with `dir="ltr"` or `data-user`, and elements in another language (`lang`).
pub(crate) fn latin_outside_user_data(html: &str, page_lang: &str) -> Vec<String> {
    const VOID: &[&str] = &["br", "hr", "img", "input", "link", "meta", "source", "wbr"];
    const SHOWN: &[&str] = &[
        "title",
        "alt",
        "placeholder",
        "aria-label",
        "data-label",
        "data-confirm",
        "data-copied",
    ];
    let mut text = String::new();
    let mut skipping: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        if skipping.is_empty() {
            text.push_str(&rest[..lt]);
        }
        text.push(' ');
        let after = &rest[lt + 1..];
        let gt = after.find('>').expect("tags close");
        let tag = &after[..gt];
        rest = &after[gt + 1..];
        if tag.starts_with('!') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            let name = name.trim().to_ascii_lowercase();
            if let Some(at) = skipping.iter().rposition(|n| *n == name) {
                skipping.truncate(at);
            }
            continue;
        }
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        let void = VOID.contains(&name.as_str());
        if !skipping.is_empty() {
            if !void {
                skipping.push(name);
            }
            continue;
        }
        let attrs = attributes(&tag[name.len()..]);
        let data = matches!(name.as_str(), "bdi" | "code" | "script" | "style")
            || attrs.iter().any(|(k, v)| {
                k == "data-user" || (k == "dir" && v == "ltr") || (k == "lang" && v != page_lang)
            });
        if data {
            if !void {
                skipping.push(name);
            }
            continue;
        }
        for (k, v) in attrs {
            if SHOWN.contains(&k.as_str()) {
                text.push(' ');
                text.push_str(&v);
            }
        }
    }
    text.push_str(rest);
    // Character references are not words.
    let mut plain = String::new();
    let mut rest = text.as_str();
    while let Some(amp) = rest.find('&') {
        plain.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        match after.find(';').filter(|end| {
            *end <= 10
                && after[..*end]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '#')
        }) {
            Some(end) => rest = &after[end + 1..],
            None => {
                plain.push('&');
                rest = after;
            }
        }
    }
    plain.push_str(rest);
    const ACRONYMS: &[&str] = &["API", "SMTP", "UTC"];
    plain
        .split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| !w.is_empty() && !ACRONYMS.contains(w))
        .map(str::to_string)
        .collect()
}

/// The attributes of a start tag, after its name.
fn attributes(mut rest: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    loop {
        rest = rest.trim_start();
        let name: String = rest
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '=' && *c != '/')
            .collect();
        if name.is_empty() {
            return found;
        }
        rest = &rest[name.len()..];
        let value = match rest.strip_prefix("=\"") {
            Some(quoted) => {
                let end = quoted.find('"').expect("attribute values close");
                rest = &quoted[end + 1..];
                quoted[..end].to_string()
            }
            None => String::new(),
        };
        found.push((name.to_ascii_lowercase(), value));
    }
}

#[test]
fn the_english_finder_skips_user_data_and_sees_attributes() {
    let html = r#"<html lang="he"><title>שלום · Tutti</title><p>דוא״ל: <bdi>a@b.org</bdi> <code>x</code></p>
<option lang="en">English</option><input dir="ltr" value="typed"><button data-confirm="Sure?">כן</button>
<span data-user>Dana <b>Cohen</b></span> API &amp; &#x2f; UTC</html>"#;
    assert_eq!(latin_outside_user_data(html, "he"), ["Tutti", "Sure"]);
}

#[tokio::test]
async fn hebrew_pages_have_no_english_outside_user_data() {
    let app = spawn_app().await;
    let admin = app.signed_in("admin@example.test", &[Role::ADMIN]).await;
    let switched = admin
        .form("/language", &[("lang", "he"), ("next", "/")])
        .await;
    assert_eq!(switched.status(), StatusCode::SEE_OTHER);

    // Something for every page to list: a failed sign-in, a role granted, a token, an
    // invitation accepted, a self-test job.
    let stranger = app.anonymous();
    let failed = stranger
        .form(
            "/login",
            &[
                ("email", "admin@example.test"),
                ("password", "wrong password"),
            ],
        )
        .await;
    assert_eq!(failed.status(), StatusCode::UNAUTHORIZED);
    admin
        .form(
            "/admin/roles/grant",
            &[("email", "later@example.test"), ("role", "speaker")],
        )
        .await;
    let key = form_key_of(&admin.get("/profile").await.text().await.unwrap());
    let token = admin
        .form(
            "/profile/tokens",
            &[
                ("name", "laptop"),
                ("expires_in_days", "30"),
                ("form_key", &key),
            ],
        )
        .await;
    assert_eq!(token.status(), StatusCode::OK);
    let key = form_key_of(&admin.get("/admin/users").await.text().await.unwrap());
    let invited = admin
        .form(
            "/admin/invitations",
            &[
                ("email", "guest@example.test"),
                ("role", "speaker"),
                ("form_key", &key),
            ],
        )
        .await;
    let invited = invited.text().await.unwrap();
    let link = invite_link_in(&invited);
    let guest = app.anonymous();
    let hebrew = |b: &Browser, method: Method, path: &str| {
        b.request(method, path)
            .header("accept-language", "he-IL,he")
    };
    let short = hebrew(&guest, Method::POST, &link)
        .form(&[("name", "Gal Guest"), ("password", "short")])
        .send()
        .await
        .unwrap();
    assert_eq!(short.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let short = short.text().await.unwrap();
    let accepted = hebrew(&guest, Method::POST, &link)
        .form(&[("name", "Gal Guest"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), StatusCode::SEE_OTHER);
    admin
        .form("/admin/jobs/selftest", &[("count", "1"), ("sleep_ms", "0")])
        .await;
    let key = form_key_of(&admin.get("/profile").await.text().await.unwrap());
    let bad_token = admin
        .form("/profile/tokens", &[("name", "   "), ("form_key", &key)])
        .await;
    assert_eq!(bad_token.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let bad_token = bad_token.text().await.unwrap();

    let mut pages = vec![
        ("an invitation form that failed".to_string(), short),
        ("the token form that failed".to_string(), bad_token),
        ("the invitation made".to_string(), invited),
    ];
    for path in [
        "/",
        "/profile",
        "/admin/users",
        "/admin/audit",
        "/admin/jobs",
        "/admin/outbox",
        "/no/such/page",
    ] {
        pages.push((
            path.to_string(),
            admin.get(path).await.text().await.unwrap(),
        ));
    }
    let gone = hebrew(&guest, Method::GET, &link).send().await.unwrap();
    assert_eq!(gone.status(), StatusCode::GONE);
    pages.push(("the used link".into(), gone.text().await.unwrap()));
    // Sent again from a browser without a session (the guest's now has one).
    let gone = hebrew(&app.anonymous(), Method::POST, &link)
        .form(&[("name", "Gal Guest"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::BAD_REQUEST);
    pages.push((
        "the used link sent again".into(),
        gone.text().await.unwrap(),
    ));

    let audit = &pages.iter().find(|(p, _)| p == "/admin/audit").unwrap().1;
    for action in [
        "sign-in-failed",
        "role-granted",
        "token-created",
        "invited",
        "invite-link-used",
        "selftest-queued",
    ] {
        assert!(
            audit.contains(&format!(r#"data-action="{action}""#)),
            "{action} is listed"
        );
    }
    let outbox = &pages.iter().find(|(p, _)| p == "/admin/outbox").unwrap().1;
    assert!(
        outbox.contains("<bdi>הוזמנת לטוטי</bdi>"),
        "the mail is in the inviter's language: {outbox}"
    );

    let mut english = Vec::new();
    for (page, html) in &pages {
        assert!(
            html.contains(r#"<html lang="he" dir="rtl">"#),
            "{page} is in Hebrew"
        );
        assert!(
            !html.contains("data-untranslated"),
            "{page} has an untranslated problem: {html}"
        );
        let words = latin_outside_user_data(html, "he");
        if !words.is_empty() {
            english.push(format!("{page}: {words:?}"));
        }
    }
    assert!(
        english.is_empty(),
        "English on Hebrew pages:\n{}",
        english.join("\n")
    );
}

#[tokio::test]
async fn english_error_pages_keep_the_server_s_words() {
    let app = spawn_app().await;
    let html = app
        .anonymous()
        .get("/no/such/page")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(r#"<p class="notice" dir="auto">There is nothing at this address.</p>"#),
        "{html}"
    );
}
