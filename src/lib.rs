//! seatgate: self-hostable SAML 2.0 / SCIM 2.0 single sign-on and per-user seat licensing.
//! Shared modules compile for the browser (hydrate) and the server (ssr); server-only modules
//! are gated here, once.

// The configurator page's view type nests deeply (seven cards of islands).
#![recursion_limit = "256"]

pub mod api;
pub mod app;
pub mod model;
pub mod ui;

#[cfg(feature = "ssr")]
pub mod accounts;
#[cfg(feature = "ssr")]
pub mod activation;
#[cfg(feature = "ssr")]
pub mod dns;
#[cfg(feature = "ssr")]
pub mod integration;
#[cfg(feature = "ssr")]
pub mod licensing;
#[cfg(feature = "ssr")]
pub mod saml;
#[cfg(feature = "ssr")]
pub mod scim;
#[cfg(feature = "ssr")]
pub mod server;
#[cfg(feature = "ssr")]
pub mod store;

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
    // lets browser tests (and curious admins) see that the WebAssembly half has taken over
    if let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let _ = root.set_attribute("data-hydrated", "true");
    }
}
