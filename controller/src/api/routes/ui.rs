//! The web UI at `/`: one page, a stylesheet and an ES module, embedded in the binary (no
//! build step, nothing fetched at run time). It reads the same API as the CLI.

use axum::http::header;
use axum::response::IntoResponse;

const INDEX: &str = include_str!("../ui/index.html");
const APP: &str = include_str!("../ui/app.js");
const STYLE: &str = include_str!("../ui/style.css");

/// Pages may not be framed or load anything from elsewhere.
const POLICY: &str = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'";

/// The page.
#[utoipa::path(get, path = "/", tag = "controller", responses((status = 200, description = "The web UI", content_type = "text/html")))]
pub(crate) async fn index() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CONTENT_SECURITY_POLICY, POLICY)], INDEX)
}

/// Its script.
pub(crate) async fn app() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], APP)
}

/// Its stylesheet.
pub(crate) async fn style() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE)
}
