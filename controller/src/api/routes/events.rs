//! `GET /api/v1/events`: Server-Sent Events — reconcile started and ended, plan ready, action
//! started and finished, drift found — each with its type as the SSE event and JSON data. A
//! client that falls behind is told how many events it missed (`lagged`).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use crate::api::Api;
use crate::api::body::Lagged;
use crate::status::Live;

/// The event stream, until the client goes away.
#[utoipa::path(get, path = "/api/v1/events", tag = "controller", responses((status = 200, description = "Server-Sent Events: each event's type is a LiveEvent type, its data the LiveEvent as JSON; a client that fell behind gets a `lagged` event whose data is a Lagged", content_type = "text/event-stream", body = crate::status::live::LiveEvent)))]
pub(crate) async fn events(
    State(api): State<Api>,
) -> Sse<impl tokio_stream::Stream<Item = Result<Event, axum::Error>>> {
    stream(api.live)
}

/// The events `live` publishes from now on, until the server stops.
fn stream(live: Arc<Live>) -> Sse<impl tokio_stream::Stream<Item = Result<Event, axum::Error>>> {
    let events = BroadcastStream::new(live.subscribe()).map(|item| match item {
        Ok(e) => Event::default().event(e.name()).json_data(&e),
        Err(BroadcastStreamRecvError::Lagged(missed)) => Event::default().event("lagged").json_data(Lagged { missed }),
    });
    let closed = async move { live.closed().await };
    Sse::new(futures_util::StreamExt::take_until(events, closed))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::live::LiveEvent;
    use axum::response::IntoResponse;

    /// A client that fell behind by more than the buffer is told how many events it missed,
    /// in a `lagged` event whose data is its schema, then gets the events kept.
    #[tokio::test]
    async fn a_client_that_fell_behind_is_told_how_many_events_it_missed() {
        let live = Arc::new(Live::default());
        let sse = stream(live.clone());
        for n in 0..5000 {
            live.publish(LiveEvent::ReconcileStarted { reason: format!("resync {n}") });
        }
        let last = "data: {\"type\":\"reconcileStarted\",\"reason\":\"resync 4999\"}";
        let mut body = sse.into_response().into_body().into_data_stream();
        let mut text = String::new();
        while !text.contains(last) {
            let chunk = body.next().await.expect("the stream goes on").unwrap();
            text.push_str(std::str::from_utf8(&chunk).unwrap());
        }
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("event: lagged"), "{}", text.chars().take(200).collect::<String>());
        let data: serde_json::Value =
            serde_json::from_str(lines.next().unwrap().strip_prefix("data: ").unwrap()).unwrap();
        let kept = text.matches("event: reconcileStarted").count() as u64;
        assert_eq!(data["missed"].as_u64().unwrap() + kept, 5000, "{data}");

        let doc: serde_json::Value = serde_json::from_str(&crate::api::openapi::json()).unwrap();
        let root = serde_json::json!({ "$ref": "#/components/schemas/Lagged", "components": doc["components"] });
        let validator = jsonschema::options().with_draft(jsonschema::Draft::Draft202012).build(&root).unwrap();
        assert!(validator.is_valid(&data), "{data}");
        assert!(!validator.is_valid(&serde_json::json!({"missed": 1, "extra": 1})));
    }
}
