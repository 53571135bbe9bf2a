//! Pages and components. Talks to the server only through `api::*`.

pub mod auth;
pub mod business;
pub mod dashboard;
pub mod download;
pub mod forms;
pub mod integration;
pub mod layout;

use crate::{api::ApiError, model::Me};
use leptos::prelude::*;

/// The signed-in user, loaded once per navigation and shared by the nav and the pages.
#[derive(Clone, Copy)]
pub struct MeResource(pub Resource<Result<Option<Me>, ApiError>>);

pub fn use_me() -> Resource<Result<Option<Me>, ApiError>> {
    expect_context::<MeResource>().0
}
