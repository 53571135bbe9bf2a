//! `ApiError`: what a server function can answer instead of its result. Serialisable, so the
//! browser can show field-level messages; `Internal` carries no detail (that is logged).

use serde::{Deserialize, Serialize};
use server_fn::{codec::JsonEncoding, error::FromServerFnError, ServerFnError};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum ApiError {
    #[error("Please sign in to continue.")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// One or more fields were refused; each message belongs next to its field.
    #[error("Please correct the highlighted fields.")]
    Invalid(Vec<FieldError>),
    /// The request itself was malformed (missing or undecodable fields).
    #[error("{0}")]
    BadRequest(String),
    /// A form-wide refusal (conflict, expired link, …) shown above the form.
    #[error("{0}")]
    Refused(String),
    #[error("{message}")]
    RateLimited {
        message: String,
        retry_after_secs: u64,
    },
    #[error("Something went wrong on our side. Please try again.")]
    Internal,
    #[error("Could not reach the server: {0}")]
    Transport(String),
}

impl ApiError {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        ApiError::Invalid(vec![FieldError {
            field: field.to_string(),
            message: message.into(),
        }])
    }

    /// The message for `field`, if this error names it.
    pub fn message_for(&self, field: &str) -> Option<String> {
        match self {
            ApiError::Invalid(errors) => errors
                .iter()
                .find(|e| e.field == field)
                .map(|e| e.message.clone()),
            _ => None,
        }
    }

    /// HTTP status for this error (applied to the server function's response).
    pub fn status(&self) -> u16 {
        match self {
            ApiError::Unauthorized => 401,
            ApiError::Forbidden(_) => 403,
            ApiError::NotFound(_) => 404,
            ApiError::Invalid(_) | ApiError::BadRequest(_) => 400,
            ApiError::Refused(_) => 409,
            ApiError::RateLimited { .. } => 429,
            ApiError::Internal => 500,
            ApiError::Transport(_) => 502,
        }
    }
}

impl FromServerFnError for ApiError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: server_fn::error::ServerFnErrorErr) -> Self {
        use server_fn::error::ServerFnErrorErr as E;
        match value {
            // A malformed request body or query is client input: say so, never a 500.
            E::Args(m) | E::MissingArg(m) | E::Deserialization(m) => {
                ApiError::BadRequest(format!("The request was malformed: {m}"))
            }
            other => ApiError::Transport(other.to_string()),
        }
    }
}

impl From<ServerFnError> for ApiError {
    fn from(e: ServerFnError) -> Self {
        ApiError::Transport(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_messages_are_found_by_field_name() {
        let e = ApiError::Invalid(vec![
            FieldError {
                field: "email".into(),
                message: "bad email".into(),
            },
            FieldError {
                field: "password".into(),
                message: "too short".into(),
            },
        ]);
        assert_eq!(e.message_for("password").as_deref(), Some("too short"));
        assert_eq!(e.message_for("name"), None);
        assert_eq!(e.status(), 400);
    }

    #[test]
    fn errors_survive_the_wire() {
        let e = ApiError::RateLimited {
            message: "wait".into(),
            retry_after_secs: 60,
        };
        let json = serde_json::to_string(&e).expect("serialise");
        assert_eq!(serde_json::from_str::<ApiError>(&json).expect("parse"), e);
    }
}
