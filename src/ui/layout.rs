//! The frame around every page: header with the main menu, and page helpers.

use super::use_me;
use crate::{api::Signout, model::Me};
use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;
use leptos_router::components::{Redirect, A};
use leptos_router::hooks::use_location;

#[component]
pub fn Header() -> impl IntoView {
    let me = use_me();
    view! {
        <header class="bg-slate-900 text-white">
            <nav class="max-w-5xl mx-auto flex flex-wrap items-center gap-4 px-4 py-3" aria-label="Main menu">
                <A href="/" attr:class="font-semibold text-lg mr-4">"Seatgate"</A>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        match me.await {
                            Ok(Some(me)) => Either::Left(view! { <SignedInMenu me=me/> }),
                            _ => Either::Right(view! {
                                <A href="/signin" attr:class="nav-link">"Sign In"</A>
                                <A href="/signup" attr:class="nav-link">"Sign Up"</A>
                            }),
                        }
                    })}
                </Transition>
            </nav>
        </header>
    }
}

#[component]
fn SignedInMenu(me: Me) -> impl IntoView {
    let business = me.business.clone();
    let is_admin = me.is_business_admin();
    view! {
        <A href="/dashboard" attr:class="nav-link">"Dashboard"</A>
        <A href="/register-key" attr:class="nav-link">"Register Key"</A>
        {business.clone().map(|_| view! {
            <A href="/profile/business/general" attr:class="nav-link">"General"</A>
            <A href="/profile/business/users" attr:class="nav-link">"Users"</A>
            <A href="/profile/business/licenses" attr:class="nav-link">"Licenses"</A>
        })}
        {(is_admin && business.as_ref().is_some_and(|b| b.has_subscription)).then(|| view! {
            <A href="/profile/business/idp_integration" attr:class="nav-link">"IdP Integration"</A>
        })}
        <span class="ml-auto text-sm text-slate-300" data-testid="signed-in-as">{me.email.clone()}</span>
        <SignOutButton/>
    }
}

#[island]
fn SignOutButton() -> impl IntoView {
    let signout = ServerAction::<Signout>::new();
    view! {
        <ActionForm action=signout>
            <button type="submit" class="nav-link">"Sign Out"</button>
        </ActionForm>
    }
}

/// Renders `children` with the signed-in user, or sends the visitor to the sign-in page.
#[component]
pub fn RequireUser<F, V>(children: F) -> impl IntoView
where
    F: Fn(Me) -> V + Send + Sync + Clone + 'static,
    V: IntoView + 'static,
{
    let me = use_me();
    let location = use_location();
    view! {
        <Suspense fallback=|| view! { <p>"Loading\u{2026}"</p> }>
            {
                let children = children.clone();
                move || {
                    let children = children.clone();
                    Suspend::new(async move {
                        match me.await {
                            Ok(Some(me)) => EitherOf3::A(children(me)),
                            Ok(None) => {
                                // the query too: `/directdownload/pd?experience=sso` comes back whole
                                let search = location.search.get_untracked();
                                let next = if search.is_empty() {
                                    location.pathname.get_untracked()
                                } else {
                                    format!("{}?{search}", location.pathname.get_untracked())
                                };
                                let path = format!("/signin?next={}", urlencode(&next));
                                EitherOf3::B(view! { <Redirect path=path/> })
                            }
                            Err(e) => EitherOf3::C(view! { <div class="alert-error" role="alert">{e.to_string()}</div> }),
                        }
                    })
                }
            }
        </Suspense>
    }
}

/// Minimal percent-encoding for a path in a query string.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[component]
pub fn PageTitle(title: &'static str) -> impl IntoView {
    view! { <h1 class="text-2xl font-semibold mb-6">{title}</h1> }
}

#[component]
pub fn HomePage() -> impl IntoView {
    view! {
        <section class="card max-w-2xl">
            <h1 class="text-3xl font-semibold mb-4">"My Account"</h1>
            <p class="mb-4">
                "Manage your licenses, your business account and the single sign-on of your organisation's identity provider."
            </p>
            <div class="flex gap-3">
                <A href="/signin" attr:class="btn-primary">"Sign In"</A>
                <A href="/signup" attr:class="btn-secondary">"Sign Up"</A>
            </div>
        </section>
    }
}

#[component]
pub fn NotFoundPage() -> impl IntoView {
    view! {
        <section class="card max-w-xl">
            <h1 class="text-2xl font-semibold mb-2">"Page not found"</h1>
            <p>"There is no page at this address. "<A href="/dashboard">"Go to the dashboard"</A></p>
        </section>
    }
}
