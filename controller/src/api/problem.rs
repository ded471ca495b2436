//! The API's one error body: an RFC 9457 problem document (`application/problem+json`), served
//! by every handler and middleware that refuses or fails a request.

use axum::Json;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// The media type of a [`Problem`].
pub(crate) const PROBLEM_JSON: &str = "application/problem+json";

/// An error, as RFC 9457 `application/problem+json`: what went wrong and what to do.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Problem {
    /// `about:blank`: the status says what kind of problem it is.
    #[serde(rename = "type")]
    pub kind: String,
    /// The status's reason phrase.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong and what to do.
    pub detail: String,
    /// The same message as `detail` (read by clients of earlier versions).
    pub error: String,
}

impl Problem {
    /// A problem answered with `status`: `message` says what went wrong and what to do.
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Problem {
        let message = message.into();
        Problem {
            kind: "about:blank".to_owned(),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: message.clone(),
            error: message,
        }
    }

    /// A request that failed inside the controller (reading the trail, a task that died):
    /// the error's whole chain, each cause once (as the CLI prints it).
    pub(crate) fn internal(e: impl Into<anyhow::Error>) -> Problem {
        Problem::new(StatusCode::INTERNAL_SERVER_ERROR, crate::words::causes(&e.into()))
    }

    /// The status it is answered with.
    pub(crate) fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut r = (self.status(), Json(self)).into_response();
        r.headers_mut().insert(axum::http::header::CONTENT_TYPE, PROBLEM_JSON.parse().expect("a header value"));
        r
    }
}

/// Every refusal is a [`Problem`]: what the layers and extractors answer on their own — a
/// body over [`super::BODY_LIMIT`] (413), a query that does not parse (400), a request over
/// [`super::REQUEST_TIMEOUT`] (503) — becomes one, its text kept as the detail. `/readyz`'s
/// 503 stays the plain text a probe reads. A tower layer that calls the service under it
/// without cloning it (`axum::middleware::from_fn` clones the stack under it for every
/// request) and allocates only for a refusal it converts: a status burst measured a tenth
/// slower with a boxed future per response (`api_load/status`).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct AsProblemsLayer;

impl<S> tower::Layer<S> for AsProblemsLayer {
    type Service = AsProblems<S>;

    fn layer(&self, inner: S) -> AsProblems<S> {
        AsProblems { inner }
    }
}

/// The service of [`AsProblemsLayer`].
#[derive(Clone, Debug)]
pub(crate) struct AsProblems<S> {
    inner: S,
}

impl<S> tower::Service<Request> for AsProblems<S>
where
    S: tower::Service<Request, Response = Response>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Answer<S::Future, S::Error>;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let readyz = request.uri().path() == "/readyz";
        Answer::Inner { answer: self.inner.call(request), readyz }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`AsProblems`]: the answer of the service under it, polled in place; only
    /// a refusal in another shape is converted (its body read), in a boxed future of its own.
    #[project = AnswerProj]
    pub(crate) enum Answer<F, E> {
        /// Waiting for the service under it.
        Inner { #[pin] answer: F, readyz: bool },
        /// Turning a refusal into a Problem.
        Converting { problem: futures_util::future::BoxFuture<'static, Response>, error: std::marker::PhantomData<E> },
    }
}

impl<F, E> std::future::Future for Answer<F, E>
where
    F: std::future::Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        loop {
            match self.as_mut().project() {
                AnswerProj::Inner { answer, readyz } => {
                    let response = std::task::ready!(answer.poll(cx))?;
                    if !is_other_refusal(&response, *readyz) {
                        return std::task::Poll::Ready(Ok(response));
                    }
                    let problem = Box::pin(problem_of(response));
                    self.set(Answer::Converting { problem, error: std::marker::PhantomData });
                }
                AnswerProj::Converting { problem, .. } => return problem.as_mut().poll(cx).map(Ok),
            }
        }
    }
}

/// Whether `response` is a refusal that is not a Problem yet (the readiness probe's plain
/// text stays).
fn is_other_refusal(response: &Response, readyz: bool) -> bool {
    let status = response.status();
    let problem = response.headers().get(header::CONTENT_TYPE).is_some_and(|t| t == PROBLEM_JSON);
    (status.is_client_error() || status.is_server_error()) && !problem && !readyz
}

/// `response`, a refusal in another shape, as a Problem with its text as the detail.
async fn problem_of(response: Response) -> Response {
    let status = response.status();
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, super::BODY_LIMIT)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let detail = match status {
        StatusCode::PAYLOAD_TOO_LARGE => {
            format!("the request body is larger than {} KiB, the most the API reads", super::BODY_LIMIT / 1024)
        }
        StatusCode::SERVICE_UNAVAILABLE if text.is_empty() => format!(
            "the request took longer than {} s and was given up; retry, or ask for less",
            super::REQUEST_TIMEOUT.as_secs()
        ),
        _ if !text.is_empty() => text,
        _ => status.canonical_reason().unwrap_or("refused").to_owned(),
    };
    let mut refusal = Problem::new(status, detail).into_response();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::CONTENT_TYPE);
    refusal.headers_mut().extend(parts.headers);
    refusal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_names_its_status_and_says_its_message_twice() {
        let r = Problem::new(StatusCode::CONFLICT, "refused: do this");
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"type": "about:blank", "title": "Conflict", "status": 409, "detail": "refused: do this", "error": "refused: do this"})
        );
        let served = r.into_response();
        assert_eq!(served.status(), StatusCode::CONFLICT);
        assert_eq!(served.headers()[axum::http::header::CONTENT_TYPE], PROBLEM_JSON);
    }

    /// What a layer or an extractor answers itself becomes a problem with its text; a
    /// problem and `/readyz`'s plain text pass as they are.
    #[tokio::test]
    async fn the_layers_refusals_become_problems() {
        use axum::routing::{get, post};
        use tower::ServiceExt;
        #[derive(serde::Deserialize)]
        struct Q {
            #[allow(dead_code)]
            limit: usize,
        }
        let app = axum::Router::new()
            .route("/q", get(|_: axum::extract::Query<Q>| async { "ok" }))
            .route("/slow", get(|| async { StatusCode::SERVICE_UNAVAILABLE }))
            .route("/readyz", get(|| async { (StatusCode::SERVICE_UNAVAILABLE, "not ready: x\n") }))
            .route("/conflict", post(|| async { Problem::new(StatusCode::CONFLICT, "refused") }))
            .layer(tower_http::limit::RequestBodyLimitLayer::new(8))
            .layer(AsProblemsLayer);
        let call = |method: &str, uri: &str, body: &'static str| {
            let request = axum::http::Request::builder()
                .method(method)
                .uri(uri)
                .header(header::CONTENT_LENGTH, body.len())
                .body(axum::body::Body::from(body));
            app.clone().oneshot(request.unwrap())
        };
        let read = |r: Response| async move {
            let ct = r.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap().to_owned());
            let body = axum::body::to_bytes(r.into_body(), usize::MAX).await.unwrap();
            (ct, String::from_utf8(body.to_vec()).unwrap())
        };
        let detail = |text: &str| serde_json::from_str::<serde_json::Value>(text).unwrap()["detail"].clone();

        let r = call("GET", "/q?limit=many", "").await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let (ct, text) = read(r).await;
        assert_eq!(ct.as_deref(), Some(PROBLEM_JSON));
        assert!(detail(&text).as_str().unwrap().contains("limit"), "the extractor's words are kept: {text}");

        let r = call("POST", "/conflict", "more than eight bytes").await.unwrap();
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let (ct, text) = read(r).await;
        assert_eq!(ct.as_deref(), Some(PROBLEM_JSON));
        assert!(detail(&text).as_str().unwrap().contains("larger than"), "{text}");

        let (ct, text) = read(call("GET", "/slow", "").await.unwrap()).await;
        assert_eq!(ct.as_deref(), Some(PROBLEM_JSON));
        assert!(detail(&text).as_str().unwrap().contains("took longer than"), "{text}");

        let (ct, text) = read(call("GET", "/readyz", "").await.unwrap()).await;
        assert_eq!((ct.as_deref(), text.as_str()), (Some("text/plain; charset=utf-8"), "not ready: x\n"));

        let (_, text) = read(call("POST", "/conflict", "{}").await.unwrap()).await;
        assert_eq!(detail(&text), "refused", "a problem passes as it is");
    }

    #[test]
    fn an_internal_error_says_each_cause_once() {
        let e = anyhow::anyhow!("disk full").context("cannot read the audit trail: disk full");
        assert_eq!(Problem::internal(e).detail, "cannot read the audit trail: disk full");
        let e = anyhow::anyhow!("disk full").context("cannot read the audit trail");
        assert_eq!(Problem::internal(e).detail, "cannot read the audit trail: disk full");
    }
}
