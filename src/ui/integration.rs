//! The IdP Integration page: seven step cards, grey until done and green after, rendered on
//! the server from `get_integration`; each form is a small island posting to
//! `change_integration`, after which the page is rendered again.

use super::forms::{field_error, form_error, Field, FormError};
use super::layout::{PageTitle, RequireUser};
use crate::api::integration::{get_integration, ChangeIntegration, RegenerateScimToken};
use crate::model::integration::{
    DomainStatus, DomainView, GroupMapping, IntegrationView, SamlView, ScimView, SsoAttemptView,
};
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
            <GroupMatches groups=v.groups.clone()/>
        </StepCard>
        <StepCard step=Step::Saml done=d[3]>
            <SamlStep saml=v.saml.clone()/>
        </StepCard>
        <StepCard step=Step::Scim done=d[4]>
            <ScimStep scim=v.scim.clone()/>
        </StepCard>
        <StepCard step=Step::UsersAdded done=d[5]>
            <p class="mb-3">"In your IdP, add the people who administer this business account to the admins group, and everyone who uses the desktop app to the desktop users group."</p>
            <CheckboxForm action="users_added" label="Users are added to the groups" checked=v.users_added/>
        </StepCard>
        <StepCard step=Step::BackupLogin done=d[6]>
            <p class="mb-3">"The backup login signs in with its password even while single sign-on is active, so an IdP outage never locks your organisation out."</p>
            <BackupLoginForm current=v.backup_login.clone() viewer=v.viewer_email.clone() candidates=v.backup_candidates.clone()/>
        </StepCard>
        <SsoAttempts attempts=v.sso_attempts.clone() can_test=d[3]/>
        <div class="card mt-6">
            <h2 class="text-lg font-semibold mb-2">"Changes"</h2>
            <ul class="text-sm" aria-label="Configuration changes">
                {v.events.into_iter().map(|e| view! { <li class="py-1 border-t border-slate-100">{format!("{} \u{2014} {} \u{2014} {}", e.at, e.who, e.what)}</li> }).collect_view()}
            </ul>
        </div>
    }
}

/// Test SSO and the record of every attempt at our ACS, with why each was refused.
#[component]
fn SsoAttempts(attempts: Vec<SsoAttemptView>, can_test: bool) -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    let tested = query.read_untracked().get("sso_test");
    let reason = query.read_untracked().get("reason").unwrap_or_default();
    view! {
        <div class="card mt-6">
            <div class="flex flex-wrap items-center gap-4 mb-2">
                <h2 class="text-lg font-semibold grow">"SSO attempts"</h2>
                // a plain form: the test is a full-page round trip through the IdP
                <form method="post" action="/sso/test">
                    <button type="submit" class="btn-secondary" disabled=!can_test>"Test SSO"</button>
                </form>
            </div>
            {tested.map(|t| if t == "passed" {
                view! { <div class="alert-ok" role="status" data-testid="sso-test">"Test SSO passed: your IdP's answer was accepted."</div> }.into_any()
            } else {
                view! { <div class="alert-error" role="alert" data-testid="sso-test">{format!("Test SSO failed: {reason}. The attempt below says why.")}</div> }.into_any()
            })}
            <table class="w-full text-left text-xs" aria-label="SSO attempts">
                <thead><tr><th>"Time"</th><th>"Kind"</th><th>"Outcome"</th><th>"NameID"</th><th>"Why / attributes"</th><th></th></tr></thead>
                <tbody>
                    {attempts.into_iter().map(|a| view! {
                        <tr class="border-t border-slate-100 align-top">
                            <td class="pr-2 whitespace-nowrap">{a.at}</td>
                            <td class="pr-2">{if a.purpose == "test" { "Test SSO" } else { "Sign-in" }}</td>
                            <td class={if a.outcome == "ok" { "pr-2 text-green-700" } else { "pr-2 text-red-700" }}>
                                {a.category.clone().unwrap_or_else(|| "accepted".into())}
                            </td>
                            <td class="pr-2 break-all">{a.name_id.unwrap_or_default()}</td>
                            <td class="pr-2">{a.detail.unwrap_or_default()}<br/><span class="text-slate-500 break-all">{a.attributes}</span></td>
                            <td><a class="underline" href=a.xml_url download="saml-response.xml">"XML"</a></td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
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

/// Step 2's instructions per IdP as tabs: radio buttons and CSS, no script (see
/// `.idp-tabs` in style/tailwind.css), so they work before and without hydration.
#[component]
fn IdpInstructions() -> impl IntoView {
    view! {
        <div class="idp-tabs mb-4">
            <input type="radio" name="idp-tab" id="idp-tab-entra" class="idp-tab-input" checked/>
            <label for="idp-tab-entra" class="idp-tab-label">"Microsoft Entra ID"</label>
            <input type="radio" name="idp-tab" id="idp-tab-okta" class="idp-tab-input"/>
            <label for="idp-tab-okta" class="idp-tab-label">"Okta"</label>
            <input type="radio" name="idp-tab" id="idp-tab-ping" class="idp-tab-input"/>
            <label for="idp-tab-ping" class="idp-tab-label">"Ping Identity"</label>
            <div class="idp-tab-panel" id="idp-panel-entra" aria-label="Microsoft Entra ID instructions">
                <ol class="list-decimal ml-6 text-sm">
                    <li>"Entra admin center \u{2192} Enterprise applications \u{2192} New application \u{2192} Create your own application (non-gallery)."</li>
                    <li>"Name it after the desktop product; under Single sign-on choose SAML."</li>
                    <li>"Under Provisioning choose Automatic if you will use SCIM (step 5)."</li>
                </ol>
            </div>
            <div class="idp-tab-panel" id="idp-panel-okta" aria-label="Okta instructions">
                <ol class="list-decimal ml-6 text-sm">
                    <li>"Admin Console \u{2192} Applications \u{2192} Create App Integration \u{2192} SAML 2.0."</li>
                    <li>"Name the app; on the Provisioning tab enable SCIM if you will use it (step 5)."</li>
                </ol>
            </div>
            <div class="idp-tab-panel" id="idp-panel-ping" aria-label="Ping Identity instructions">
                <ol class="list-decimal ml-6 text-sm">
                    <li>"PingOne admin console \u{2192} Applications \u{2192} Add Application \u{2192} SAML Application."</li>
                    <li>"Name the app; add a SCIM provisioning connection if you will use it (step 5)."</li>
                </ol>
            </div>
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
fn BackupLoginForm(
    current: Option<String>,
    viewer: String,
    candidates: Vec<String>,
) -> impl IntoView {
    let act = ServerAction::<ChangeIntegration>::new();
    let value = act.value();
    // defaults to the signed-in admin
    let selected = current
        .clone()
        .or_else(|| {
            candidates
                .iter()
                .find(|c| c.eq_ignore_ascii_case(&viewer))
                .cloned()
        })
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

/// A read-only value with a copy button.
#[component]
fn ReadOnly(label: &'static str, value: String) -> impl IntoView {
    view! {
        <div class="mb-2">
            <span class="block text-sm font-medium text-slate-700">{label}</span>
            <code class="break-all rounded bg-slate-100 px-1" data-testid=label>{value.clone()}</code>
            <CopyButton text=value/>
        </div>
    }
}

#[component]
fn SamlStep(saml: SamlView) -> impl IntoView {
    view! {
        <h3 class="font-semibold mb-2">"Enter these in your IdP"</h3>
        <ReadOnly label="SP entity ID (audience)" value=saml.sp_entity_id.clone()/>
        <ReadOnly label="Assertion Consumer Service URL" value=saml.acs_url.clone()/>
        <p class="mb-4 text-sm"><a class="underline" href=saml.sp_metadata_url.clone() download="seatgate-sp-metadata.xml">"Download our SP metadata XML"</a></p>
        <h3 class="font-semibold mb-2">"Your IdP's settings"</h3>
        <SamlEndpointForm entity_id=saml.idp_entity_id.clone() sso_url=saml.idp_sso_url.clone()/>
        <h4 class="font-medium mt-4 mb-2">"Signing certificates"</h4>
        {if saml.certificates.is_empty() {
            Either::Left(view! { <p class="text-sm text-slate-600 mb-2">"No certificate yet."</p> })
        } else {
            Either::Right(view! {
                <ul class="mb-3" aria-label="IdP signing certificates">
                    {saml.certificates.into_iter().map(|c| {
                        let state = if c.expired { "badge-bad" } else if c.expires_soon { "badge-wait" } else { "badge-ok" };
                        let note = if c.expired { "Expired" } else if c.expires_soon { "Expires within 30 days" } else { "Valid" };
                        view! {
                            <li class="domain text-sm">
                                <div class="flex flex-wrap items-center gap-2">
                                    <span class=state>{note}</span>
                                    <span class="grow">{c.subject.clone()}</span>
                                    <CertRemoveButton fingerprint=c.fingerprint.clone()/>
                                </div>
                                <div>"Issuer: "{c.issuer}</div>
                                <div>{format!("Valid {} to {}", c.valid_from, c.valid_until)}</div>
                                <div class="font-mono break-all">"SHA-256: "{c.fingerprint}</div>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            })
        }}
        <AddCertificateForm/>
        <h4 class="font-medium mt-4 mb-2">"Signed authentication requests"</h4>
        <p class="text-sm text-slate-600 mb-2">"For IdPs that require signed requests (Entra ID \u{201c}require verification certificates\u{201d}, AD FS): we make a signing key for your account and publish its certificate in our SP metadata. Turn on, then give the IdP the downloaded metadata (or the certificate in it)."</p>
        <CheckboxForm action="sign_requests" label="Sign authentication requests" checked=saml.sign_requests/>
        <h4 class="font-medium mt-4 mb-2">"IdP-initiated sign-in"</h4>
        <p class="text-sm text-slate-600 mb-2">"Off by default: a response the IdP sends without our request cannot be tied to a browser that asked for it. Turn on only if people start from the IdP's app portal. Desktop activation never accepts it."</p>
        <CheckboxForm action="allow_unsolicited" label="Accept IdP-initiated sign-in" checked=saml.allow_unsolicited/>
        <h4 class="font-medium mt-4 mb-2">"Or import your IdP's metadata"</h4>
        <MetadataForm/>
    }
}

#[island]
fn SamlEndpointForm(entity_id: String, sso_url: String) -> impl IntoView {
    let act = ServerAction::<ChangeIntegration>::new();
    let value = act.value();
    view! {
        <ActionForm action=act>
            <input type="hidden" name="action" value="saml"/>
            <Field label="IdP entity ID" name="idp_entity_id" value=entity_id error=field_error(value, "idp_entity_id")/>
            <Field label="IdP SSO URL" name="idp_sso_url" kind="url" value=sso_url error=field_error(value, "idp_sso_url")/>
            <button type="submit" class="btn-primary" disabled=move || act.pending().get()>"Save SAML Settings"</button>
        </ActionForm>
    }
}

#[island]
fn CertRemoveButton(fingerprint: String) -> impl IntoView {
    let act = ServerAction::<ChangeIntegration>::new();
    let value = act.value();
    view! {
        <ActionForm action=act attr:class="inline">
            <input type="hidden" name="action" value="remove_certificate"/>
            <input type="hidden" name="fingerprint" value=fingerprint/>
            <button type="submit" class="btn-secondary">"Remove"</button>
        </ActionForm>
        <FormError message=form_error(value)/>
    }
}

#[island]
fn AddCertificateForm() -> impl IntoView {
    let act = ServerAction::<ChangeIntegration>::new();
    let value = act.value();
    view! {
        <ActionForm action=act>
            <input type="hidden" name="action" value="add_certificate"/>
            <label for="field-certificate" class="block text-sm font-medium text-slate-700 mb-1">"Add a signing certificate (PEM or base64)"</label>
            <textarea id="field-certificate" name="certificate" rows="4" class="input font-mono text-xs"></textarea>
            <p class="field-error" role="alert">{move || field_error(value, "certificate").get()}</p>
            <button type="submit" class="btn-secondary mt-2" disabled=move || act.pending().get()>"Add Certificate"</button>
        </ActionForm>
    }
}

#[island]
fn MetadataForm() -> impl IntoView {
    let act = ServerAction::<ChangeIntegration>::new();
    let value = act.value();
    let xml = RwSignal::new(String::new());
    let on_file = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let file = ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
                .and_then(|i| i.files())
                .and_then(|f| f.get(0));
            if let Some(file) = file {
                leptos::task::spawn_local(async move {
                    if let Ok(text) = wasm_bindgen_futures::JsFuture::from(file.text()).await {
                        xml.set(text.as_string().unwrap_or_default());
                    }
                });
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (ev, xml);
    };
    view! {
        <ActionForm action=act>
            <input type="hidden" name="action" value="import_metadata"/>
            <label for="field-metadata-file" class="block text-sm font-medium text-slate-700 mb-1">"IdP metadata file"</label>
            <input id="field-metadata-file" type="file" accept=".xml,application/xml,text/xml" on:change=on_file class="mb-2"/>
            <label for="field-metadata_xml" class="block text-sm font-medium text-slate-700 mb-1">"IdP metadata XML"</label>
            <textarea id="field-metadata_xml" name="metadata_xml" rows="4" class="input font-mono text-xs"
                prop:value=move || xml.get() on:input=move |ev| xml.set(event_target_value(&ev))></textarea>
            <p class="field-error" role="alert">{move || field_error(value, "metadata_xml").get()}</p>
            <label for="field-metadata_url" class="block text-sm font-medium text-slate-700 mb-1 mt-2">"\u{2026}or the metadata URL (https, fetched once)"</label>
            <input id="field-metadata_url" name="metadata_url" type="url" class="input" placeholder="https://login.example.com/federationmetadata.xml"/>
            <p class="field-error" role="alert">{move || field_error(value, "metadata_url").get()}</p>
            <button type="submit" class="btn-secondary mt-2" disabled=move || act.pending().get()>"Import Metadata"</button>
        </ActionForm>
    }
}

/// Which provisioned SCIM group each mapping matches, and how (by ID or only by name).
#[component]
fn GroupMatches(groups: GroupMapping) -> impl IntoView {
    let line = |label: &'static str, m: Option<String>| {
        let text = m.unwrap_or_else(|| "No provisioned SCIM group matches yet.".into());
        view! { <li><span class="font-medium">{label}": "</span>{text}</li> }
    };
    view! {
        <ul class="mt-3 text-sm text-slate-700 space-y-1" data-testid="group-matches">
            {line("Business account admins", groups.admins_match)}
            {line("Desktop users", groups.desktop_match)}
        </ul>
    }
}

#[component]
fn ScimStep(scim: ScimView) -> impl IntoView {
    let requests = scim.requests.clone();
    view! {
        <ScimForm enabled=scim.enabled confirmed=scim.confirmed/>
        {scim.enabled.then(|| view! {
            <div class="mt-4">
                <ReadOnly label="SCIM base URL" value=scim.base_url.clone()/>
                <ScimTokenBox hint=scim.token_hint.clone() created=scim.token_created.clone()/>
            </div>
        })}
        <p class="mt-4 text-sm" data-testid="scim-counts">
            {format!("Provisioned: {} users ({} active), {} groups.", scim.users, scim.active_users, scim.groups)}
        </p>
        <details class="mt-2">
            <summary class="cursor-pointer text-sm font-medium">{format!("SCIM requests (latest {})", requests.len())}</summary>
            <table class="w-full text-left text-xs mt-2" aria-label="SCIM requests">
                <thead><tr><th>"Time"</th><th>"Request"</th><th>"Status"</th><th>"ms"</th><th>"Error"</th></tr></thead>
                <tbody>
                    {requests.into_iter().map(|r| view! {
                        <tr class="border-t border-slate-100 align-top">
                            <td class="pr-2 whitespace-nowrap">{r.at}</td>
                            <td class="pr-2 font-mono break-all">{format!("{} {}", r.method, r.path)}</td>
                            <td class={if r.status >= 400 { "pr-2 text-red-700" } else { "pr-2" }}>{r.status}</td>
                            <td class="pr-2">{r.duration_ms}</td>
                            <td>{r.error.unwrap_or_default()}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </details>
    }
}

#[island]
fn ScimForm(enabled: bool, confirmed: bool) -> impl IntoView {
    let act = ServerAction::<ChangeIntegration>::new();
    let value = act.value();
    view! {
        <ActionForm action=act>
            <input type="hidden" name="action" value="scim"/>
            <div class="flex items-center gap-2 mb-2">
                <input type="checkbox" id="check-scim-enabled" name="enabled" value="true" checked=enabled class="h-5 w-5"/>
                <label for="check-scim-enabled">"SCIM support"</label>
            </div>
            <div class="flex items-center gap-2 mb-3">
                <input type="checkbox" id="check-scim-done" name="done" value="true" checked=confirmed class="h-5 w-5"/>
                <label for="check-scim-done">"Configuration in the IdP Directory is done"</label>
            </div>
            <p class="field-error" role="alert">{move || field_error(value, "done").get()}</p>
            <button type="submit" class="btn-primary" disabled=move || act.pending().get()>"Save SCIM Settings"</button>
        </ActionForm>
        <FormError message=Signal::derive(move || form_error(value).get().filter(|_| field_error(value, "done").get().is_none()))/>
    }
}

#[island]
fn ScimTokenBox(hint: Option<String>, created: Option<String>) -> impl IntoView {
    let act = ServerAction::<RegenerateScimToken>::new();
    let value = act.value();
    let token =
        Signal::derive(move || value.with(|v| v.as_ref().and_then(|r| r.as_ref().ok()).cloned()));
    let has_token = hint.is_some();
    view! {
        <span class="block text-sm font-medium text-slate-700">"Bearer token"</span>
        {move || match token.get() {
            Some(t) => Either::Left(view! {
                <div class="alert-ok" role="status">
                    <code class="break-all" data-testid="scim-token">{t.clone()}</code>
                    <CopyButton text=t/>
                    <p class="text-sm mt-1">"Copy it into your IdP now: it is shown only this once (we keep only a hash)."</p>
                </div>
            }),
            None => Either::Right(view! {
                <p class="text-sm mb-2">{match (&hint, &created) {
                    (Some(h), Some(c)) => format!("Current token {h}, generated {c}."),
                    _ => "No token yet.".to_string(),
                }}</p>
            }),
        }}
        <ActionForm action=act>
            {has_token.then(|| view! {
                <div class="flex items-center gap-2 mb-2">
                    <input type="checkbox" id="check-revoke-now" name="revoke_now" value="true" class="h-5 w-5"/>
                    <label for="check-revoke-now">"Revoke the current token at once (otherwise it keeps working for 24 hours)"</label>
                </div>
            })}
            <button type="submit" class="btn-secondary" disabled=move || act.pending().get()>
                {if has_token { "Regenerate Token" } else { "Generate Token" }}
            </button>
        </ActionForm>
        <FormError message=form_error(value)/>
    }
}
