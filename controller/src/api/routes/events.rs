//! `GET /api/v1/events`: Server-Sent Events — reconcile started and ended, plan ready, action
//! started and finished, drift found — each with its type as the SSE event and JSON data. A
//! client that falls behind is told how many events it missed (`lagged`).

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use crate::api::Api;

/// The event stream, until the client goes away.
#[utoipa::path(get, path = "/api/v1/events", tag = "controller", responses((status = 200, description = "Server-Sent Events: each event's type is a LiveEvent type, its data the LiveEvent as JSON", content_type = "text/event-stream", body = crate::status::live::LiveEvent)))]
pub(crate) async fn events(State(api): State<Api>) -> Sse<impl tokio_stream::Stream<Item = Result<Event, Infallible>>> {
    let live = api.live.clone();
    let closed = async move { live.closed().await };
    let stream = BroadcastStream::new(api.live.subscribe()).map(|item| {
        Ok(match item {
            Ok(e) => Event::default()
                .event(e.name())
                .data(serde_json::to_string(&e).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))),
            Err(BroadcastStreamRecvError::Lagged(n)) => {
                Event::default().event("lagged").data(format!("{{\"missed\":{n}}}"))
            }
        })
    });
    Sse::new(futures_util::StreamExt::take_until(stream, closed))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
