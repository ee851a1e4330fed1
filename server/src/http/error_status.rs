//! The one place a server function's error becomes its HTTP status. server_fn answers every
//! error with 500 and the serialised `AppError` in the body (marked by a header); this reads the
//! error back and sets the status it stands for, including for errors raised before the
//! function body ran (malformed arguments).

use app::AppError;
use axum::{
    body::{Body, to_bytes},
    extract::Request,
    http::StatusCode,
    middleware::Next,
    response::{IntoResponse, Response},
};
use server_fn::error::SERVER_FN_ERROR_HEADER;

/// Serialised errors are a few hundred bytes; anything bigger is not one of ours.
const MAX_ERROR_BODY: usize = 64 * 1024;

pub(super) async fn server_fn_status(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    if !res.headers().contains_key(SERVER_FN_ERROR_HEADER) {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_ERROR_BODY).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if let Ok(error) = serde_json::from_slice::<AppError>(&bytes)
        && let Ok(status) = StatusCode::from_u16(error.status())
    {
        parts.status = status;
    }
    Response::from_parts(parts, Body::from(bytes))
}
