//! The dashboard with its workspace switcher (personal / business account).

use super::forms::{ok_message, Notice};
use super::layout::{PageTitle, RequireUser};
use crate::api::{ResendVerification, SwitchWorkspace};
use crate::model::{Me, Workspace};
use leptos::either::EitherOf3;
use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn DashboardPage() -> impl IntoView {
    view! { <RequireUser children=|me| view! { <Dashboard me=me/> }/> }
}

#[component]
fn Dashboard(me: Me) -> impl IntoView {
    let business = me.business.clone();
    let workspace = me.workspace;
    view! {
        <section>
            <PageTitle title="Dashboard"/>
            {(!me.email_verified).then(|| view! {
                <div class="alert-warn" role="note" data-testid="verify-banner">
                    <p>{format!("Please verify your email address {}: open the link we emailed you.", me.email)}</p>
                    <ResendVerificationButton/>
                </div>
            })}
            <div class="card mb-6">
                <h2 class="text-lg font-semibold mb-3">"Workspace"</h2>
                <WorkspaceSwitcher workspace=workspace business_name=business.as_ref().map(|b| b.name.clone())/>
            </div>
            {match (workspace, business) {
                (Workspace::Business, Some(b)) => EitherOf3::A(view! {
                    <div class="card" data-testid="business-workspace">
                        <h2 class="text-lg font-semibold mb-2">{format!("Business account: {}", b.name)}</h2>
                        <p class="mb-3">{format!("Your role: {}", b.role.label())}</p>
                        <ul class="list-disc ml-6">
                            <li><A href="/profile/business/general">"General"</A>" \u{2014} organisation details"</li>
                            <li><A href="/profile/business/users">"Users"</A>" \u{2014} members and invitations"</li>
                            <li><A href="/profile/business/licenses">"Licenses"</A>" \u{2014} subscriptions and seats"</li>
                        </ul>
                    </div>
                }),
                (_, Some(b)) => EitherOf3::B(view! {
                    <div class="card">
                        <h2 class="text-lg font-semibold mb-2">"Personal workspace"</h2>
                        <p>{format!("Signed in as {}. You also belong to the business account {}.", me.email, b.name)}</p>
                    </div>
                }),
                (_, None) => EitherOf3::C(view! {
                    <div class="card">
                        <h2 class="text-lg font-semibold mb-2">"Personal workspace"</h2>
                        <p class="mb-3">{format!("Signed in as {}.", me.email)}</p>
                        <p>"Have a per-user license key for your organisation? "
                            <A href="/register-key">"Register Key"</A>" to create your business account."</p>
                    </div>
                }),
            }}
        </section>
    }
}

#[island]
fn ResendVerificationButton() -> impl IntoView {
    let resend = ServerAction::<ResendVerification>::new();
    view! {
        <ActionForm action=resend>
            <button type="submit" class="btn-secondary mt-2">"Resend verification email"</button>
        </ActionForm>
        <Notice message=ok_message(resend.value())/>
    }
}

#[island]
fn WorkspaceSwitcher(workspace: Workspace, business_name: Option<String>) -> impl IntoView {
    let switch = ServerAction::<SwitchWorkspace>::new();
    let class = move |w: Workspace| {
        if workspace == w {
            "btn-primary"
        } else {
            "btn-secondary"
        }
    };
    view! {
        <ActionForm action=switch attr:class="flex gap-2" attr:aria-label="Workspace switcher">
            <button type="submit" name="workspace" value="personal" class=class(Workspace::Personal)
                aria-current=(workspace == Workspace::Personal).then_some("true")>"Personal"</button>
            {business_name.map(|name| view! {
                <button type="submit" name="workspace" value="business" class=class(Workspace::Business)
                    aria-current=(workspace == Workspace::Business).then_some("true")>{name}</button>
            })}
        </ActionForm>
    }
}
