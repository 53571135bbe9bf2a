//! Register Key, Business Profile (General, Users, Licenses), invitations, IdP Integration.
//! Pages render on the server; their forms are islands.

use super::forms::{field_error, form_error, ok_message, Field, FormError, Notice};
use super::layout::{PageTitle, RequireUser};
use crate::api::{
    get_business_general, get_business_users, get_invitation, get_licenses, get_seat_holders,
    AcceptInvitation, InviteUser, RegisterKey, UpdateBusinessGeneral,
};
use crate::model::{BusinessGeneral, DeviceView, SeatHolder, SeatHolders, Subscription};
use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// A notice driven by a query parameter set by the redirect after a successful form.
fn query_notice(
    param: &'static str,
    message: impl Fn(&str) -> String + Send + Sync + 'static,
) -> Signal<Option<String>> {
    let query = use_query_map();
    Signal::derive(move || query.read().get(param).map(|v| message(&v)))
}

#[component]
pub fn RegisterKeyPage() -> impl IntoView {
    view! {
        <RequireUser children=|me| view! {
            <section class="card max-w-xl">
                <PageTitle title="Register Key"/>
                <RegisterKeyForm new_business=me.business.is_none()/>
            </section>
        }/>
    }
}

#[island]
fn RegisterKeyForm(new_business: bool) -> impl IntoView {
    let action = ServerAction::<RegisterKey>::new();
    let value = action.value();
    view! {
        <FormError message=form_error(value)/>
        <ActionForm action=action>
            <Field label="License key" name="key" autocomplete="off" required=true
                hint="25 letters and digits, for example ABCDE-FGHJK-MNPQR-STVWX-YZ012" error=field_error(value, "key")/>
            <Field label="Subscription name (optional)" name="display_name" error=field_error(value, "display_name")/>
            {new_business.then(|| view! {
                <fieldset class="border border-slate-200 rounded p-4 mb-4">
                    <legend class="px-1 font-medium">"Your organisation"</legend>
                    <p class="text-sm text-slate-600 mb-3">
                        "You do not belong to a business account yet: registering this key creates one, with you as its admin."
                    </p>
                    <Field label="Organisation name" name="org_name" autocomplete="organization" required=true error=field_error(value, "org_name")/>
                    <Field label="Country" name="org_country" autocomplete="country-name" error=field_error(value, "org_country")/>
                    <Field label="Address" name="org_address" autocomplete="street-address" error=field_error(value, "org_address")/>
                    <Field label="Phone" name="org_phone" kind="tel" autocomplete="tel" error=field_error(value, "org_phone")/>
                </fieldset>
            })}
            <button type="submit" class="btn-primary" disabled=move || action.pending().get()>"Register Key"</button>
        </ActionForm>
    }
}

#[component]
pub fn GeneralPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| get_business_general());
    let saved = query_notice("saved", |_| "Saved.".to_string());
    view! {
        <RequireUser children=move |_me| view! {
            <section class="card max-w-xl">
                <PageTitle title="General"/>
                <Notice message=saved/>
                <Suspense fallback=|| view! { <p>"Loading\u{2026}"</p> }>
                    {move || Suspend::new(async move {
                        match data.await {
                            Ok(g) if g.can_edit => EitherOf3::A(view! { <GeneralForm general=g/> }),
                            Ok(g) => EitherOf3::B(view! {
                                <dl class="grid grid-cols-3 gap-2">
                                    <dt class="font-medium">"Organisation name"</dt><dd class="col-span-2">{g.name}</dd>
                                    <dt class="font-medium">"Country"</dt><dd class="col-span-2">{g.country}</dd>
                                    <dt class="font-medium">"Address"</dt><dd class="col-span-2">{g.address}</dd>
                                    <dt class="font-medium">"Phone"</dt><dd class="col-span-2">{g.phone}</dd>
                                </dl>
                            }),
                            Err(e) => EitherOf3::C(view! { <div class="alert-error" role="alert">{e.to_string()}</div> }),
                        }
                    })}
                </Suspense>
            </section>
        }/>
    }
}

#[island]
fn GeneralForm(general: BusinessGeneral) -> impl IntoView {
    let action = ServerAction::<UpdateBusinessGeneral>::new();
    let value = action.value();
    view! {
        <FormError message=form_error(value)/>
        <ActionForm action=action>
            <Field label="Organisation name" name="org_name" value=general.name required=true error=field_error(value, "org_name")/>
            <Field label="Country" name="org_country" value=general.country error=field_error(value, "org_country")/>
            <Field label="Address" name="org_address" value=general.address error=field_error(value, "org_address")/>
            <Field label="Phone" name="org_phone" kind="tel" value=general.phone error=field_error(value, "org_phone")/>
            <button type="submit" class="btn-primary">"Save"</button>
        </ActionForm>
        <p class="text-sm text-slate-500 mt-4">{format!("Business account created {}", general.created)}</p>
    }
}

#[component]
pub fn UsersPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| get_business_users());
    let invited = query_notice("invited", |_| "Invitation sent.".to_string());
    view! {
        <RequireUser children=move |_me| view! {
            <section>
                <PageTitle title="Users"/>
                <Notice message=invited/>
                <Suspense fallback=|| view! { <p>"Loading\u{2026}"</p> }>
                    {move || Suspend::new(async move {
                        match data.await {
                            Ok(u) => Either::Left(view! {
                                <div class="card mb-6">
                                    <table class="w-full text-left" aria-label="Members">
                                        <thead><tr><th>"Email"</th><th>"Role"</th><th>"Status"</th><th>"Last sign-in"</th></tr></thead>
                                        <tbody>
                                            {u.members.into_iter().map(|m| view! {
                                                <tr>
                                                    <td>{m.email}</td>
                                                    <td>{m.role.label()}</td>
                                                    <td>{m.status}</td>
                                                    <td>{m.last_sign_in.unwrap_or_else(|| "never".into())}</td>
                                                </tr>
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                                {(!u.invitations.is_empty()).then(|| view! {
                                    <div class="card mb-6">
                                        <h2 class="text-lg font-semibold mb-2">"Pending invitations"</h2>
                                        <table class="w-full text-left" aria-label="Pending invitations">
                                            <thead><tr><th>"Email"</th><th>"Role"</th><th>"Invited"</th><th>"Expires"</th></tr></thead>
                                            <tbody>
                                                {u.invitations.into_iter().map(|i| view! {
                                                    <tr><td>{i.email}</td><td>{i.role.label()}</td><td>{i.invited}</td><td>{i.expires}</td></tr>
                                                }).collect_view()}
                                            </tbody>
                                        </table>
                                    </div>
                                })}
                                {u.can_invite.then(|| view! {
                                    <div class="card max-w-xl">
                                        <h2 class="text-lg font-semibold mb-2">"Invite a user"</h2>
                                        <InviteForm/>
                                    </div>
                                })}
                            }),
                            Err(e) => Either::Right(view! { <div class="alert-error" role="alert">{e.to_string()}</div> }),
                        }
                    })}
                </Suspense>
            </section>
        }/>
    }
}

#[island]
fn InviteForm() -> impl IntoView {
    let invite = ServerAction::<InviteUser>::new();
    let value = invite.value();
    view! {
        <Notice message=ok_message(value)/>
        <FormError message=form_error(value)/>
        <ActionForm action=invite>
            <Field label="Email of the person to invite" name="email" kind="email" required=true error=field_error(value, "email")/>
            <div class="mb-4">
                <label for="field-role" class="block text-sm font-medium text-slate-700 mb-1">"Role"</label>
                <select id="field-role" name="role" class="input">
                    <option value="user" selected>"User"</option>
                    <option value="admin">"Admin"</option>
                </select>
                <p class="field-error" role="alert">{move || field_error(value, "role").get()}</p>
            </div>
            <button type="submit" class="btn-primary" disabled=move || invite.pending().get()>"Invite User"</button>
        </ActionForm>
    }
}

#[component]
pub fn LicensesPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| get_licenses());
    let holders = Resource::new(|| (), |_| get_seat_holders());
    let changed = query_notice("revoked", |_| {
        "The device's activation was revoked.".to_string()
    });
    let freed = query_notice("freed", |_| "The seat was freed.".to_string());
    let limit = query_notice("limit", |_| "Device limit saved.".to_string());
    let registered = query_notice("registered", |r| {
        if r == "new" {
            "Key registered. Your business account is ready, and you are its admin.".to_string()
        } else {
            "Key registered.".to_string()
        }
    });
    view! {
        <RequireUser children=move |_me| view! {
            <section>
                <PageTitle title="Licenses"/>
                <Notice message=registered/>
                <Notice message=changed/>
                <Notice message=freed/>
                <Notice message=limit/>
                <Suspense fallback=|| view! { <p>"Loading\u{2026}"</p> }>
                    {move || Suspend::new(async move {
                        match data.await {
                            Ok(subs) if subs.is_empty() => EitherOf3::A(view! { <p>"No license keys are registered yet."</p> }),
                            Ok(subs) => EitherOf3::B(view! {
                                <div class="card">
                                    <table class="w-full text-left" aria-label="Subscriptions">
                                        <thead><tr><th>"Subscription"</th><th>"Product"</th><th>"Key"</th><th>"Seats used"</th><th>"Expires"</th></tr></thead>
                                        <tbody>{subs.into_iter().map(subscription_row).collect_view()}</tbody>
                                    </table>
                                </div>
                            }),
                            Err(e) => EitherOf3::C(view! { <div class="alert-error" role="alert">{e.to_string()}</div> }),
                        }
                    })}
                </Suspense>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        match holders.await {
                            Ok(h) => Either::Left(view! {
                                <div class="card">
                                    <h2 class="text-lg font-semibold mb-2">"Desktop app"</h2>
                                    <p class="mb-2">"Send your employees this link. They sign in with SSO, download the app, and it activates with their work email."</p>
                                    <p><a class="font-mono break-all" data-testid="download-link" href=h.download_url.clone()>{h.download_url.clone()}</a></p>
                                </div>
                                {h.is_admin.then(|| seat_holders_view(h))}
                            }),
                            Err(e) => Either::Right(view! { <div class="alert-error" role="alert">{e.to_string()}</div> }),
                        }
                    })}
                </Suspense>
            </section>
        }/>
    }
}

/// Admins: seat holders and their devices, with plain forms (no script) to revoke a device,
/// free a seat and set the device limit.
fn seat_holders_view(h: SeatHolders) -> AnyView {
    let empty = h.holders.is_empty();
    view! {
        <div class="card">
            <h2 class="text-lg font-semibold mb-2">"Seat holders"</h2>
            {if empty {
                Either::Left(view! { <p data-testid="no-seat-holders">"Nobody has activated the desktop app yet."</p> })
            } else {
                Either::Right(view! {
                    <table class="w-full text-left" aria-label="Seat holders">
                        <thead><tr><th>"Person"</th><th>"Product"</th><th>"Seat since"</th><th>"Devices"</th><th></th></tr></thead>
                        <tbody>{h.holders.into_iter().map(holder_row).collect_view()}</tbody>
                    </table>
                })
            }}
            <form method="post" action="/api/set_device_limit" class="mt-4 flex items-end gap-2">
                <div>
                    <label for="field-device_limit" class="block text-sm font-medium text-slate-700 mb-1">"Devices per person"</label>
                    <input id="field-device_limit" name="device_limit" type="number" min="1" max="100" class="input w-24" value=h.device_limit.to_string()/>
                </div>
                <button type="submit" class="btn-secondary">"Save limit"</button>
            </form>
        </div>
        {(!h.revoked.is_empty()).then(|| view! {
            <div class="card">
                <h2 class="text-lg font-semibold mb-2">"Recently ended activations"</h2>
                <table class="w-full text-left" aria-label="Ended activations">
                    <thead><tr><th>"Person"</th><th>"Device"</th><th>"Activated"</th><th>"Ended"</th></tr></thead>
                    <tbody>{h.revoked.into_iter().map(|d| view! {
                        <tr><td>{d.email}</td><td>{format!("{} ({})", d.name, d.os)}</td><td>{d.activated}</td><td>{d.ended}</td></tr>
                    }).collect_view()}</tbody>
                </table>
            </div>
        })}
    }
    .into_any()
}

fn holder_row(s: SeatHolder) -> impl IntoView {
    view! {
        <tr data-testid="seat-holder">
            <td>{s.email.clone()}</td>
            <td>{s.product}</td>
            <td>{s.assigned}</td>
            <td><ul>{s.devices.into_iter().map(device_item).collect_view()}</ul></td>
            <td>
                <form method="post" action="/api/free_seat">
                    <input type="hidden" name="license_key_id" value=s.license_key_id/>
                    <input type="hidden" name="user_id" value=s.user_id/>
                    <button type="submit" class="btn-secondary" aria-label=format!("Free the seat of {}", s.email)>"Free seat"</button>
                </form>
            </td>
        </tr>
    }
}

fn device_item(d: DeviceView) -> impl IntoView {
    view! {
        <li class="mb-1" data-testid="device">
            <span class="font-medium">{d.name.clone()}</span>
            {format!(" ({}), activated {}, last check {} ", d.os, d.activated, d.last_check)}
            <form method="post" action="/api/revoke_activation" class="inline">
                <input type="hidden" name="activation_id" value=d.activation_id/>
                <button type="submit" class="btn-link" aria-label=format!("Revoke {}", d.name)>"Revoke"</button>
            </form>
        </li>
    }
}

fn subscription_row(s: Subscription) -> impl IntoView {
    let expires = match (&s.expires, s.expired) {
        (Some(d), true) => format!("expired {d}"),
        (Some(d), false) => d.clone(),
        (None, _) => "never".to_string(),
    };
    view! {
        <tr>
            <td>{s.display_name}</td>
            <td>{s.product}</td>
            <td class="font-mono">{s.key_hint}</td>
            <td>{format!("{} / {}", s.seats_used, s.seats_total)}</td>
            <td>{expires}</td>
        </tr>
    }
}

#[component]
pub fn AcceptInvitationPage() -> impl IntoView {
    let query = use_query_map();
    let token = query.read_untracked().get("token").unwrap_or_default();
    let invitation = Resource::new(
        {
            let token = token.clone();
            move || token.clone()
        },
        get_invitation,
    );
    view! {
        <section class="card max-w-xl">
            <PageTitle title="Invitation"/>
            <Suspense fallback=|| view! { <p>"Loading\u{2026}"</p> }>
                {move || {
                    let token = token.clone();
                    Suspend::new(async move {
                        let me = super::use_me().await;
                        match invitation.await {
                            Ok(inv) => {
                                let signed_in = matches!(me, Ok(Some(_)));
                                let next = super::layout::urlencode(&format!("/invitations/accept?token={token}"));
                                Either::Left(view! {
                                    <p class="mb-4">{format!("You are invited to join the business account {} as {}.", inv.business_name, inv.role.label())}</p>
                                    <p class="mb-4">{format!("The invitation is for {}.", inv.email)}</p>
                                    {if signed_in {
                                        Either::Left(view! { <AcceptInvitationForm token=token/> })
                                    } else {
                                        Either::Right(view! {
                                            <p>"To accept, "
                                                <a class="underline" href=format!("/signin?next={next}")>"Sign In"</a>
                                                " or "<a class="underline" href="/signup">"Sign Up"</a>
                                                " with this address, then open the link again."</p>
                                        })
                                    }}
                                })
                            }
                            Err(e) => Either::Right(view! { <div class="alert-error" role="alert">{e.to_string()}</div> }),
                        }
                    })
                }}
            </Suspense>
        </section>
    }
}

#[island]
fn AcceptInvitationForm(token: String) -> impl IntoView {
    let accept = ServerAction::<AcceptInvitation>::new();
    let value = accept.value();
    view! {
        <FormError message=form_error(value)/>
        <ActionForm action=accept>
            <input type="hidden" name="token" value=token/>
            <button type="submit" class="btn-primary">"Accept Invitation"</button>
        </ActionForm>
    }
}
