//! The API of downloads, download codes and private links under `/api/v1/music/`:
//! for listeners a track's file or a release's archive and the redemption of a code;
//! for artists their codes (made, listed, revoked, their log) and private links.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tutti_platform::serve::{self, Caching};
use tutti_platform::{Access, Identity, MaybeIdentity, Routes};
use tutti_web::{Json, Problem, Query};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::routes;

use super::{CodeBatch, Format, GrantKind, GrantView, LinkInput, Passes, Ready, db};
use crate::service::Who;
use crate::{ARTIST, Music};

/// The unlocking routes, API and pages, to merge into the studio's.
pub fn routes() -> Routes<Music> {
    super::pages::routes(Routes::new())
        .api(Access::Public, routes!(track_download))
        .api(Access::Public, routes!(album_download))
        .api(Access::Public, routes!(redeem))
        .api(Access::Role(ARTIST), routes!(create_codes, list_codes))
        .api(Access::Role(ARTIST), routes!(revoke_code))
        .api(Access::Role(ARTIST), routes!(redemptions))
        .api(Access::Role(ARTIST), routes!(create_link, list_links))
        .api(Access::Role(ARTIST), routes!(revoke_link))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DownloadQuery {
    /// `original`, `mp3` or `opus`; the best one offered when left out.
    #[param(pattern = "^(original|mp3|opus)$")]
    pub format: Option<String>,
    /// A download grant from redeeming a code (browsers carry it as a cookie instead).
    /// One that is not valid (any more) is ignored.
    pub grant: Option<String>,
}

impl DownloadQuery {
    fn format(&self) -> Result<Option<Format>, Problem> {
        Ok(self
            .format
            .as_deref()
            .map(|f| Format::parse("format", f))
            .transpose()?)
    }

    fn passes(&self, passes: Passes, album_id: &str) -> Passes {
        match &self.grant {
            Some(grant) => passes.with(GrantKind::Download, album_id, grant),
            None => passes,
        }
    }
}

/// The album a download grant in a query is for: its first part.
fn granted_album(q: &DownloadQuery) -> &str {
    q.grant
        .as_deref()
        .and_then(|g| g.split('.').next())
        .unwrap_or("")
}

fn with_attachment(mut response: Response, name: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(&super::attachment(name)) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

#[utoipa::path(get, path = "/music/tracks/{id}/download", tag = "music",
    summary = "Download a track: its original file or a streaming copy, when the artist \
        offers it or a redeemed code unlocked its release",
    params(("id" = String, Path), DownloadQuery),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>),
        (status = 206, content_type = "application/octet-stream", body = Vec<u8>),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 416, body = Problem),
        (status = 422, body = Problem)))]
async fn track_download(
    State(m): State<Music>,
    MaybeIdentity(identity): MaybeIdentity,
    passes: Passes,
    Path(id): Path<String>,
    Query(q): Query<DownloadQuery>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let format = q.format()?;
    let passes = q.passes(passes, granted_album(&q));
    let file = match super::track_download(&m, identity.as_ref(), &passes, &id, format).await? {
        Ready::Now(file) => file,
        Ready::NotYet(why) => return Err(Problem::conflict("not-ready", why)),
    };
    let response = serve::blob(
        &m.platform.blobs,
        &file.blob_key,
        &file.media_type,
        Caching::Private,
        &headers,
    )
    .await?;
    Ok(with_attachment(response, &file.name))
}

#[utoipa::path(get, path = "/music/albums/{id}/download", tag = "music",
    summary = "Download a whole release as one ZIP archive (`01 Title.ext` …, cover.jpg)",
    params(("id" = String, Path), DownloadQuery),
    responses((status = 200, content_type = "application/zip", body = Vec<u8>),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn album_download(
    State(m): State<Music>,
    MaybeIdentity(identity): MaybeIdentity,
    passes: Passes,
    Path(id): Path<String>,
    Query(q): Query<DownloadQuery>,
) -> Result<Response, Problem> {
    let format = q.format()?;
    let passes = q.passes(passes, &id);
    let download = match super::album_download(&m, identity.as_ref(), &passes, &id, format).await? {
        Ready::Now(download) => download,
        Ready::NotYet(why) => return Err(Problem::conflict("not-ready", why)),
    };
    let archive = super::archive::write(
        &m.platform.blobs,
        &download.files,
        super::archive::zip_time(download.album.release_at),
    )
    .await?;
    let response = (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/zip"),
            ),
            (header::CONTENT_LENGTH, HeaderValue::from(archive.size)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            ),
        ],
        archive.into_body(),
    )
        .into_response();
    Ok(with_attachment(response, &download.name))
}

/// A download code as a listener types it.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RedeemBody {
    /// The code (letters and digits; spaces, hyphens and case do not matter).
    #[schema(
        max_length = 64,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069]*[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069][^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069]*$"
    )]
    pub code: String,
}

/// What a redeemed code unlocked.
#[derive(Debug, Serialize, ToSchema)]
pub struct RedeemedView {
    pub album_id: String,
    pub title: String,
    pub artist: String,
    /// The release's public page (it answers once the release is public).
    pub url: String,
    #[serde(flatten)]
    pub grant: GrantView,
    /// Where the whole release downloads as a ZIP, with the grant.
    pub download_url: String,
}

#[utoipa::path(post, path = "/music/redeem", tag = "music",
    summary = "Redeem a download code: unlocks its release's downloads for a day",
    description = "Takes one use of the code. Browsers get the grant as a cookie; API \
        clients send `grant` with the download operations.",
    request_body = RedeemBody,
    responses((status = 200, body = RedeemedView), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn redeem(
    State(m): State<Music>,
    MaybeIdentity(identity): MaybeIdentity,
    Json(body): Json<RedeemBody>,
) -> Result<Response, Problem> {
    let r = super::redeem(&m, identity.as_ref(), &body.code).await?;
    let encoded: String = url::form_urlencoded::byte_serialize(r.token.as_bytes()).collect();
    let view = RedeemedView {
        album_id: r.album.id.clone(),
        title: r.album.title.clone(),
        artist: r.artist.name.clone(),
        url: format!("/music/{}/{}", r.artist.slug, r.album.slug),
        download_url: format!(
            "/api/v1/music/albums/{}/download?grant={encoded}",
            r.album.id
        ),
        grant: GrantView {
            grant: r.token,
            expires_at: r.expires_at,
        },
    };
    let mut response = Json(view).into_response();
    response.headers_mut().append(header::SET_COOKIE, r.cookie);
    Ok(response)
}

/// A download code as its artist sees it (the code itself only once, when made).
#[derive(Debug, Serialize, ToSchema)]
pub struct CodeView {
    pub id: String,
    /// The code's first characters.
    pub hint: String,
    pub uses: i64,
    pub max_uses: i64,
    /// Milliseconds since the epoch; none: never.
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub created_at: i64,
    /// `live`, `revoked`, `expired` or `used-up`.
    pub state: String,
}

pub fn code_view(c: &db::DownloadCode) -> CodeView {
    CodeView {
        id: c.id.clone(),
        hint: c.hint.clone(),
        uses: c.uses,
        max_uses: c.max_uses,
        expires_at: c.expires_at,
        revoked_at: c.revoked_at,
        created_at: c.created_at,
        state: c.state(tutti_store::now_ms()).id().into(),
    }
}

/// A code just made, in the clear.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewCodeView {
    #[serde(flatten)]
    pub info: CodeView,
    /// The code to hand out. It is not kept: this is the only time it is shown.
    pub code: String,
}

#[utoipa::path(post, path = "/music/albums/{id}/codes", tag = "music",
    summary = "Make a batch of download codes for one of your releases",
    description = "The codes are in this answer only: the server keeps their hashes.",
    params(("id" = String, Path)), request_body = CodeBatch,
    responses((status = 201, body = Vec<NewCodeView>), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
async fn create_codes(
    State(m): State<Music>,
    identity: Identity,
    Path(id): Path<String>,
    Json(body): Json<CodeBatch>,
) -> Result<(StatusCode, Json<Vec<NewCodeView>>), Problem> {
    let made = super::create_codes(&m, Who::from(&identity), &id, &body).await?;
    let views = made
        .iter()
        .map(|(row, code)| NewCodeView {
            info: code_view(row),
            code: code.clone(),
        })
        .collect();
    Ok((StatusCode::CREATED, Json(views)))
}

#[utoipa::path(get, path = "/music/albums/{id}/codes", tag = "music",
    summary = "The download codes of one of your releases, newest first",
    params(("id" = String, Path)),
    responses((status = 200, body = Vec<CodeView>), (status = 404, body = Problem)))]
async fn list_codes(
    State(m): State<Music>,
    identity: Identity,
    Path(id): Path<String>,
) -> Result<Json<Vec<CodeView>>, Problem> {
    let codes = super::codes(&m, Who::from(&identity), &id).await?;
    Ok(Json(codes.iter().map(code_view).collect()))
}

#[utoipa::path(post, path = "/music/codes/{id}/revoke", tag = "music",
    summary = "Withdraw a download code (its past redemptions stay in the log)",
    params(("id" = String, Path)),
    responses((status = 200, body = CodeView), (status = 404, body = Problem)))]
async fn revoke_code(
    State(m): State<Music>,
    identity: Identity,
    Path(id): Path<String>,
) -> Result<Json<CodeView>, Problem> {
    let code = super::revoke_code(&m, Who::from(&identity), &id).await?;
    Ok(Json(code_view(&code)))
}

/// One redemption of a code: when, and whether the listener was signed in.
#[derive(Debug, Serialize, ToSchema)]
pub struct RedemptionView {
    pub code_id: String,
    pub hint: String,
    pub signed_in: bool,
    /// Milliseconds since the epoch.
    pub redeemed_at: i64,
}

#[utoipa::path(get, path = "/music/albums/{id}/redemptions", tag = "music",
    summary = "When the codes of one of your releases were redeemed (latest 500)",
    description = "Nothing about the listeners is kept beyond whether they were signed in.",
    params(("id" = String, Path)),
    responses((status = 200, body = Vec<RedemptionView>), (status = 404, body = Problem)))]
async fn redemptions(
    State(m): State<Music>,
    identity: Identity,
    Path(id): Path<String>,
) -> Result<Json<Vec<RedemptionView>>, Problem> {
    let rows = super::redemptions(&m, Who::from(&identity), &id).await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| RedemptionView {
                code_id: r.code_id,
                hint: r.hint,
                signed_in: r.signed_in,
                redeemed_at: r.redeemed_at,
            })
            .collect(),
    ))
}

/// A private link as its artist sees it (its address only once, when made).
#[derive(Debug, Serialize, ToSchema)]
pub struct LinkView {
    pub id: String,
    pub label: String,
    /// Milliseconds since the epoch.
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub visits: i64,
    pub created_at: i64,
    /// Whether it still opens the release.
    pub live: bool,
}

pub fn link_view(l: &db::ListenLink) -> LinkView {
    LinkView {
        id: l.id.clone(),
        label: l.label.clone(),
        expires_at: l.expires_at,
        revoked_at: l.revoked_at,
        visits: l.visits,
        created_at: l.created_at,
        live: l.is_live(tutti_store::now_ms()),
    }
}

/// A link just made, with its address.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewLinkView {
    #[serde(flatten)]
    pub info: LinkView,
    /// The address to share. It is not kept: this is the only time it is shown.
    pub url: String,
}

#[utoipa::path(post, path = "/music/albums/{id}/links", tag = "music",
    summary = "Make a private link that lets anyone holding it listen to one of your \
        releases before it is public",
    params(("id" = String, Path)), request_body = LinkInput,
    responses((status = 201, body = NewLinkView), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
async fn create_link(
    State(m): State<Music>,
    identity: Identity,
    Path(id): Path<String>,
    Json(body): Json<LinkInput>,
) -> Result<(StatusCode, Json<NewLinkView>), Problem> {
    let (link, token) = super::create_link(&m, Who::from(&identity), &id, &body).await?;
    Ok((
        StatusCode::CREATED,
        Json(NewLinkView {
            info: link_view(&link),
            url: m.platform.settings.link(&super::link_path(&token)),
        }),
    ))
}

#[utoipa::path(get, path = "/music/albums/{id}/links", tag = "music",
    summary = "The private links of one of your releases, with their visits",
    params(("id" = String, Path)),
    responses((status = 200, body = Vec<LinkView>), (status = 404, body = Problem)))]
async fn list_links(
    State(m): State<Music>,
    identity: Identity,
    Path(id): Path<String>,
) -> Result<Json<Vec<LinkView>>, Problem> {
    let links = super::links(&m, Who::from(&identity), &id).await?;
    Ok(Json(links.iter().map(link_view).collect()))
}

#[utoipa::path(post, path = "/music/links/{id}/revoke", tag = "music",
    summary = "Withdraw a private link: it and the streams of those who opened it stop",
    params(("id" = String, Path)),
    responses((status = 200, body = LinkView), (status = 404, body = Problem)))]
async fn revoke_link(
    State(m): State<Music>,
    identity: Identity,
    Path(id): Path<String>,
) -> Result<Json<LinkView>, Problem> {
    let link = super::revoke_link(&m, Who::from(&identity), &id).await?;
    Ok(Json(link_view(&link)))
}
