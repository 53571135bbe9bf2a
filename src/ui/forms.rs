//! Form building blocks: labelled fields with their server-side message, form-level errors.

use crate::api::ApiError;
use leptos::prelude::*;

/// The message the last submission got for `field`, if any.
pub fn field_error<T, S>(value: S, field: &'static str) -> Signal<Option<String>>
where
    T: Send + Sync + 'static,
    S: With<Value = Option<Result<T, ApiError>>> + Copy + Send + Sync + 'static,
{
    Signal::derive(move || {
        value.with(|v| {
            v.as_ref()
                .and_then(|r| r.as_ref().err())
                .and_then(|e| e.message_for(field))
        })
    })
}

/// The form-wide message of the last submission, if it failed.
pub fn form_error<T, S>(value: S) -> Signal<Option<String>>
where
    T: Send + Sync + 'static,
    S: With<Value = Option<Result<T, ApiError>>> + Copy + Send + Sync + 'static,
{
    Signal::derive(move || {
        value.with(|v| {
            v.as_ref()
                .and_then(|r| r.as_ref().err())
                .map(|e| e.to_string())
        })
    })
}

#[component]
pub fn Field(
    label: &'static str,
    name: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] autocomplete: Option<&'static str>,
    #[prop(optional, into)] value: Option<String>,
    #[prop(optional)] required: bool,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(into)] error: Signal<Option<String>>,
) -> impl IntoView {
    let id = format!("field-{name}");
    let err_id = format!("{id}-error");
    view! {
        <div class="mb-4">
            <label for=id.clone() class="block text-sm font-medium text-slate-700 mb-1">{label}</label>
            <input
                id=id
                name=name
                type=kind
                autocomplete=autocomplete
                value=value
                required=required
                aria-invalid=move || if error.get().is_some() { "true" } else { "false" }
                aria-describedby=err_id.clone()
                class="input"
            />
            {hint.map(|h| view! { <p class="text-xs text-slate-500 mt-1">{h}</p> })}
            <p id=err_id class="field-error" role="alert">{move || error.get()}</p>
        </div>
    }
}

#[component]
pub fn FormError(#[prop(into)] message: Signal<Option<String>>) -> impl IntoView {
    view! {
        <Show when=move || message.get().is_some()>
            <div class="alert-error" role="alert">{move || message.get()}</div>
        </Show>
    }
}

#[component]
pub fn Notice(#[prop(into)] message: Signal<Option<String>>) -> impl IntoView {
    view! {
        <Show when=move || message.get().is_some()>
            <div class="alert-ok" role="status">{move || message.get()}</div>
        </Show>
    }
}

/// The success message of the last submission, if it succeeded with a text.
pub fn ok_message<S>(value: S) -> Signal<Option<String>>
where
    S: With<Value = Option<Result<String, ApiError>>> + Copy + Send + Sync + 'static,
{
    Signal::derive(move || value.with(|v| v.as_ref().and_then(|r| r.as_ref().ok()).cloned()))
}
