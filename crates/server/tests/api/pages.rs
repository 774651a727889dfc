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
    let offsite = browser
        .form(
            "/language",
            &[("lang", "en"), ("next", "https://evil.example/")],
        )
        .await;
    assert_eq!(
        offsite.headers()["location"],
        "/",
        "never redirects off the site"
    );
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
    let location = invited.headers()["location"].to_str().unwrap().to_string();
    assert!(
        location.contains("link="),
        "without SMTP the admin gets the link: {location}"
    );
    let shown = admin.get(&location).await.text().await.unwrap();
    let secret = location.rsplit("%2F").next().unwrap();
    assert!(shown.contains(secret), "the page shows the link to pass on");
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
