//! The IdP Integration page: seven step cards, grey until done and green after, rendered on
//! the server from `get_integration`; each form is a small island posting to
//! `change_integration`, after which the page is rendered again.

use super::forms::{field_error, form_error, Field, FormError};
use super::layout::{PageTitle, RequireUser};
use crate::api::integration::{get_integration, ChangeIntegration};
use crate::model::integration::{DomainStatus, DomainView, GroupMapping, IntegrationView};
use crate::model::step::Step;
use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;

#[component]
pub fn IdpIntegrationPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| get_integration());
    view! {
        <RequireUser children=move |_me| view! {
            <section>
                <PageTitle title="IdP Integration"/>
                <Suspense fallback=|| view! { <p>"Loading\u{2026}"</p> }>
                    {move || Suspend::new(async move {
                        match data.await {
                            Ok(v) if !v.started => EitherOf3::A(view! {
                                <div class="card max-w-2xl">
                                    <p class="mb-4">{format!(
                                        "Connect the identity provider of {} so your employees activate the desktop app by single sign-on. \
                                         Seven steps; your work is saved as you go and you can continue later.", v.business_name)}</p>
                                    <ActionButton action="start" label="Start Configuring" secondary=false disabled=false/>
                                </div>
                            }),
                            Ok(v) => EitherOf3::B(view! { <Configurator v=v/> }),
                            Err(e) => EitherOf3::C(view! { <div class="alert-error" role="alert">{e.to_string()}</div> }),
                        }
                    })}
                </Suspense>
            </section>
        }/>
    }
}

#[component]
fn Configurator(v: IntegrationView) -> impl IntoView {
    let done = v.steps.iter().filter(|s| s.done).count();
    let card = move |step: Step| {
        v.steps
            .iter()
            .find(|s| s.step == step)
            .is_some_and(|s| s.done)
    };
    let d = [
        Step::Domains,
        Step::EnterpriseApp,
        Step::GroupMapping,
        Step::Saml,
        Step::Scim,
        Step::UsersAdded,
        Step::BackupLogin,
    ]
    .map(card);
    view! {
        <div class="card mb-6 flex flex-wrap items-center gap-4" data-testid="integration-status">
            <div class="grow">
                <p class="font-semibold">{if v.active { "Integration active" } else { "Integration not active" }}</p>
                <p class="text-sm text-slate-600" data-testid="progress">{format!("{done} of 7 steps done")}</p>
                <div class="progress mt-2" aria-hidden="true"><div class="progress-bar" style=format!("width: {}%", done * 100 / 7)></div></div>
            </div>
            {if v.active {
                Either::Left(view! { <ActionButton action="deactivate" label="Deactivate" secondary=true disabled=false/> })
            } else {
                Either::Right(view! { <ActionButton action="activate" label="Activate Integration" secondary=false disabled=!v.can_activate/> })
            }}
        </div>
        <StepCard step=Step::Domains done=d[0]>
            <DomainsStep domains=v.domains.clone()/>
        </StepCard>
        <StepCard step=Step::EnterpriseApp done=d[1]>
            <IdpInstructions/>
            <CheckboxForm action="app_registered" label="Configuration in the IdP Directory is done" checked=v.app_registered/>
        </StepCard>
        <StepCard step=Step::GroupMapping done=d[2]>
            <AttributeMapping/>
            <GroupsForm groups=v.groups.clone()/>
        </StepCard>
        <StepCard step=Step::Saml done=d[3]>
            <p class="text-slate-600">"Entering the IdP's entity ID, SSO URL and signing certificate (or its metadata) is not available yet."</p>
        </StepCard>
        <StepCard step=Step::Scim done=d[4]>
            <p class="text-slate-600">"The SCIM settings (base URL and bearer token) are not available yet."</p>
        </StepCard>
        <StepCard step=Step::UsersAdded done=d[5]>
            <p class="mb-3">"In your IdP, add the people who administer this business account to the admins group, and everyone who uses the desktop app to the desktop users group."</p>
            <CheckboxForm action="users_added" label="Users are added to the groups" checked=v.users_added/>
        </StepCard>
        <StepCard step=Step::BackupLogin done=d[6]>
            <p class="mb-3">"The backup login signs in with its password even while single sign-on is active, so an IdP outage never locks your organisation out."</p>
            <BackupLoginForm current=v.backup_login.clone() candidates=v.backup_candidates.clone()/>
        </StepCard>
        <div class="card mt-6">
            <h2 class="text-lg font-semibold mb-2">"Changes"</h2>
            <ul class="text-sm" aria-label="Configuration changes">
                {v.events.into_iter().map(|e| view! { <li class="py-1 border-t border-slate-100">{format!("{} \u{2014} {} \u{2014} {}", e.at, e.who, e.what)}</li> }).collect_view()}
            </ul>
        </div>
    }
}

/// A step card: grey until done, green after; open while there is something to do.
#[component]
fn StepCard(step: Step, done: bool, children: Children) -> impl IntoView {
    view! {
        <details id=format!("step-{}", step.number()) class=if done { "step step-done" } else { "step step-todo" }
            open=!done data-testid=format!("step-{}", step.number())>
            <summary class="step-summary">
                <span class="step-badge">{if done { "\u{2714}".to_string() } else { step.number().to_string() }}</span>
                <span class="grow">
                    <span class="font-semibold block">{step.title()}</span>
                    <span class="text-sm text-slate-600">{step.blurb()}</span>
                </span>
                <span class="step-state">{if done { "Done" } else { "To do" }}</span>
            </summary>
            <div class="step-body">{children()}</div>
        </details>
    }
}

#[component]
fn DomainsStep(domains: Vec<DomainView>) -> impl IntoView {
    view! {
        {domains.into_iter().map(|d| {
            let status_class = match d.status {
                DomainStatus::Verified => "badge-ok",
                DomainStatus::Pending => "badge-wait",
                DomainStatus::Failed | DomainStatus::Taken => "badge-bad",
            };
            let verified = d.status == DomainStatus::Verified;
            view! {
                <div class="domain" data-testid=format!("domain-{}", d.name)>
                    <div class="flex flex-wrap items-center gap-3 mb-2">
                        <span class="font-mono font-semibold">{d.name.clone()}</span>
                        <span class=status_class>{d.status.label()}</span>
                        <span class="grow"></span>
                        {(!verified).then(|| view! { <DomainButton action="verify_domain" domain=d.name.clone() label="Verify"/> })}
                        <DomainButton action="remove_domain" domain=d.name.clone() label="Remove"/>
                    </div>
                    {(!verified).then(|| view! {
                        <p class="text-sm mb-1">"Publish this TXT record in your domain's DNS, then press Verify (we also keep checking for 72 hours):"</p>
                        <dl class="record">
                            <dt>"Name"</dt><dd><code>{d.record_name.clone()}</code><CopyButton text=d.record_name.clone()/></dd>
                            <dt>"Value"</dt><dd><code>{d.record_value.clone()}</code><CopyButton text=d.record_value.clone()/></dd>
                        </dl>
                    })}
                    {d.last_check.clone().map(|t| view! {
                        <p class="text-sm text-slate-600" data-testid="last-check">
                            {format!("Last check {t}: {}", d.last_outcome.clone().unwrap_or_default())}
                        </p>
                    })}
                    {(!d.found.is_empty()).then(|| view! {
                        <p class="text-sm text-slate-600">"Found: "{d.found.join(" | ")}</p>
                    })}
                </div>
            }
        }).collect_view()}
        <AddDomainForm/>
    }
}

#[component]
fn IdpInstructions() -> impl IntoView {
    view! {
        <div class="mb-4 space-y-2">
            <details class="idp-tab"><summary>"Microsoft Entra ID"</summary>
                <ol class="list-decimal ml-6 text-sm">
                    <li>"Entra admin center \u{2192} Enterprise applications \u{2192} New application \u{2192} Create your own application (non-gallery)."</li>
                    <li>"Name it after the desktop product; under Single sign-on choose SAML."</li>
                    <li>"Under Provisioning choose Automatic if you will use SCIM (step 5)."</li>
                </ol>
            </details>
            <details class="idp-tab"><summary>"Okta"</summary>
                <ol class="list-decimal ml-6 text-sm">
                    <li>"Admin Console \u{2192} Applications \u{2192} Create App Integration \u{2192} SAML 2.0."</li>
                    <li>"Name the app; on the Provisioning tab enable SCIM if you will use it (step 5)."</li>
                </ol>
            </details>
            <details class="idp-tab"><summary>"Ping Identity"</summary>
                <ol class="list-decimal ml-6 text-sm">
                    <li>"PingOne admin console \u{2192} Applications \u{2192} Add Application \u{2192} SAML Application."</li>
                    <li>"Name the app; add a SCIM provisioning connection if you will use it (step 5)."</li>
                </ol>
            </details>
        </div>
    }
}

#[component]
fn AttributeMapping() -> impl IntoView {
    view! {
        <p class="mb-2">"Configure these SAML attributes in your IdP:"</p>
        <table class="w-full text-left mb-3" aria-label="Attribute mapping">
            <thead><tr><th>"Attribute name"</th><th>"Value"</th></tr></thead>
            <tbody>
                <tr><td><code>"displayname"</code></td><td>"the user's display name"</td></tr>
                <tr><td><code>"groups"</code></td><td>"the user's group memberships (all groups, or the two below)"</td></tr>
                <tr><td><code>"name"</code></td><td>"the user's email address (user principal name)"</td></tr>
                <tr><td><code>"objectidentifier"</code></td><td>"the user's immutable object ID in the IdP"</td></tr>
            </tbody>
        </table>
        <div class="alert-warn" role="note">
            "Names are case-sensitive: attribute and group names must match the IdP exactly, letter for letter."
        </div>
    }
}

#[island]
fn ActionButton(
    #[prop(into)] action: String,
    #[prop(into)] label: String,
    secondary: bool,
    disabled: bool,
) -> impl IntoView {
    let act = ServerAction::<ChangeIntegration>::new();
    let value = act.value();
    view! {
        <ActionForm action=act>
            <input type="hidden" name="action" value=action/>
            <button type="submit" class=if secondary { "btn-secondary" } else { "btn-primary" }
                disabled=move || disabled || act.pending().get()>{label}</button>
        </ActionForm>
        <FormError message=form_error(value)/>
    }
}

#[island]
fn DomainButton(
    #[prop(into)] action: String,
    domain: String,
    #[prop(into)] label: String,
) -> impl IntoView {
    let act = ServerAction::<ChangeIntegration>::new();
    let value = act.value();
    let aria = format!("{label} {domain}");
    view! {
        <ActionForm action=act attr:class="inline">
            <input type="hidden" name="action" value=action/>
            <input type="hidden" name="domain" value=domain/>
            <button type="submit" class="btn-secondary" aria-label=aria disabled=move || act.pending().get()>
                {move || if act.pending().get() { "\u{2026}".to_string() } else { label.clone() }}
            </button>
        </ActionForm>
        <FormError message=form_error(value)/>
    }
}

#[island]
fn AddDomainForm() -> impl IntoView {
    let act = ServerAction::<ChangeIntegration>::new();
    let value = act.value();
    view! {
        <ActionForm action=act attr:class="mt-4">
            <input type="hidden" name="action" value="add_domain"/>
            <Field label="Add a domain" name="domain" autocomplete="off" hint="Your organisation's email domain, for example example.com"
                error=field_error(value, "domain")/>
            <button type="submit" class="btn-primary" disabled=move || act.pending().get()>"Add Domain"</button>
        </ActionForm>
        <FormError message=Signal::derive(move || form_error(value).get().filter(|_| field_error(value, "domain").get().is_none()))/>
    }
}

#[island]
fn CheckboxForm(
    #[prop(into)] action: String,
    #[prop(into)] label: String,
    checked: bool,
) -> impl IntoView {
    let act = ServerAction::<ChangeIntegration>::new();
    let value = act.value();
    let id = format!("check-{action}");
    view! {
        <ActionForm action=act>
            <input type="hidden" name="action" value=action/>
            <div class="flex items-center gap-2 mb-3">
                <input type="checkbox" id=id.clone() name="done" value="true" checked=checked class="h-5 w-5"/>
                <label for=id>{label}</label>
            </div>
            <button type="submit" class="btn-primary" disabled=move || act.pending().get()>"Save"</button>
        </ActionForm>
        <FormError message=form_error(value)/>
    }
}

#[island]
fn GroupsForm(groups: GroupMapping) -> impl IntoView {
    let act = ServerAction::<ChangeIntegration>::new();
    let value = act.value();
    view! {
        <FormError message=form_error(value)/>
        <ActionForm action=act>
            <input type="hidden" name="action" value="groups"/>
            <fieldset class="mb-3">
                <legend class="font-medium mb-2">"Business account admins group"</legend>
                <Field label="Admins group name" name="admins_group_name" value=groups.admins_group_name error=field_error(value, "admins_group_name")/>
                <Field label="Admins group ID" name="admins_group_id" value=groups.admins_group_id error=field_error(value, "admins_group_id")/>
            </fieldset>
            <fieldset class="mb-3">
                <legend class="font-medium mb-2">"Desktop users group"</legend>
                <Field label="Desktop users group name" name="desktop_group_name" value=groups.desktop_group_name error=field_error(value, "desktop_group_name")/>
                <Field label="Desktop users group ID" name="desktop_group_id" value=groups.desktop_group_id error=field_error(value, "desktop_group_id")/>
            </fieldset>
            <button type="submit" class="btn-primary" disabled=move || act.pending().get()>"Save Groups"</button>
        </ActionForm>
    }
}

#[island]
fn BackupLoginForm(current: Option<String>, candidates: Vec<String>) -> impl IntoView {
    let act = ServerAction::<ChangeIntegration>::new();
    let value = act.value();
    let selected = current
        .clone()
        .or_else(|| candidates.first().cloned())
        .unwrap_or_default();
    view! {
        <ActionForm action=act>
            <input type="hidden" name="action" value="backup_login"/>
            <label for="field-backup_login" class="block text-sm font-medium text-slate-700 mb-1">"Backup login"</label>
            <select id="field-backup_login" name="backup_login" class="input mb-1">
                {candidates.into_iter().map(|c| {
                    let is = c == selected;
                    let text = c.clone();
                    view! { <option value=c selected=is>{text}</option> }
                }).collect_view()}
            </select>
            <p class="field-error" role="alert">{move || field_error(value, "backup_login").get()}</p>
            <p class="text-xs text-slate-500 mb-3">"Users of this business account who have signed in with a password at least once."</p>
            <button type="submit" class="btn-primary" disabled=move || act.pending().get()>"Save Backup Login"</button>
        </ActionForm>
        <FormError message=Signal::derive(move || form_error(value).get().filter(|_| field_error(value, "backup_login").get().is_none()))/>
    }
}

#[island]
fn CopyButton(text: String) -> impl IntoView {
    let copied = RwSignal::new(false);
    let copy = move |_| {
        #[cfg(feature = "hydrate")]
        {
            if let Some(w) = web_sys::window() {
                let _ = w.navigator().clipboard().write_text(&text);
                copied.set(true);
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = &text;
    };
    view! {
        <button type="button" class="copy-btn" on:click=copy>{move || if copied.get() { "Copied" } else { "Copy" }}</button>
    }
}
