use reqwest::StatusCode;
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
    let invited = admin
        .form(
            "/admin/invitations",
            &[("email", "later@example.test"), ("role", "")],
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
        ("/admin/audit", "role-granted"),
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
