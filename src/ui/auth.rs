//! Sign up, sign in, email verification and password reset pages. The pages render on the
//! server; their forms are islands, hydrated in the browser.

use super::forms::{field_error, form_error, ok_message, Field, FormError, Notice};
use super::layout::PageTitle;
use crate::api::{verify_email, ForgotPassword, ResetPassword, Signin, Signup};
use crate::model::validate::MIN_PASSWORD_LEN;
use leptos::either::Either;
use leptos::prelude::*;
use leptos_router::{components::A, hooks::use_query_map};

#[component]
pub fn SignUpPage() -> impl IntoView {
    view! {
        <section class="card max-w-md">
            <PageTitle title="Sign Up"/>
            <div class="alert-warn" role="note">
                "Do not reuse your corporate (identity provider) password here. Choose a password for this portal only."
            </div>
            <SignUpForm/>
            <p class="mt-4 text-sm">"Already have an account? "<A href="/signin">"Sign In"</A></p>
        </section>
    }
}

#[island]
fn SignUpForm() -> impl IntoView {
    let action = ServerAction::<Signup>::new();
    let value = action.value();
    let show = RwSignal::new(false);
    let typed = RwSignal::new(0usize);
    let kind = move || if show.get() { "text" } else { "password" };
    view! {
        <ActionForm action=action>
            <FormError message=form_error(value)/>
            <Field label="Email" name="email" kind="email" autocomplete="email" required=true error=field_error(value, "email")/>
            <div class="mb-4">
                <label for="field-password" class="block text-sm font-medium text-slate-700 mb-1">"Password"</label>
                <div class="flex gap-2">
                    <input id="field-password" name="password" type=kind autocomplete="new-password" required
                        class="input" on:input=move |ev| typed.set(event_target_value(&ev).chars().count())
                        aria-describedby="password-hint field-password-error"/>
                    <button type="button" class="btn-secondary whitespace-nowrap"
                        aria-pressed=move || show.get().to_string()
                        on:click=move |_| show.update(|s| *s = !*s)>
                        {move || if show.get() { "Hide password" } else { "Show password" }}
                    </button>
                </div>
                <p id="password-hint" class="text-xs text-slate-500 mt-1" data-testid="password-hint">
                    {move || {
                        let n = typed.get();
                        if n >= MIN_PASSWORD_LEN {
                            format!("{n} characters \u{2714}")
                        } else {
                            format!("{n} of at least {MIN_PASSWORD_LEN} characters")
                        }
                    }}
                </p>
                <p id="field-password-error" class="field-error" role="alert">{move || field_error(value, "password").get()}</p>
            </div>
            <Field label="Confirm password" name="password_confirm" kind="password" autocomplete="new-password" required=true
                error=field_error(value, "password_confirm")/>
            <button type="submit" class="btn-primary w-full" disabled=move || action.pending().get()>"Sign Up"</button>
        </ActionForm>
    }
}

#[component]
pub fn SignInPage() -> impl IntoView {
    let query = use_query_map();
    let next = query.read_untracked().get("next").unwrap_or_default();
    let reset = query.read_untracked().get("reset").is_some();
    let sso_error = query.read_untracked().get("sso_error");
    let sso_email = query.read_untracked().get("email").unwrap_or_default();
    view! {
        <section class="card max-w-md">
            <PageTitle title="Sign In"/>
            {reset.then(|| view! {
                <div class="alert-ok" role="status">"Your password was changed. Sign in with the new password."</div>
            })}
            <SignInForm next=next.clone()/>
            // a plain form: SSO starts with a full-page redirect to the IdP, no script needed
            <form method="post" action="/sso/start" class="mt-6 border-t border-slate-200 pt-4" aria-label="Single sign-on">
                {sso_error.map(|code| view! {
                    <div class="alert-error mb-2" role="alert" data-testid="sso-error">{crate::model::sso_error_message(&code)}</div>
                })}
                <label for="sso-email" class="block text-sm font-medium text-slate-700 mb-1">"Work email"</label>
                <input id="sso-email" name="email" type="email" autocomplete="username" required class="input mb-2" value=sso_email/>
                <input type="hidden" name="next" value=next/>
                <button type="submit" class="btn-secondary w-full">"Continue with SSO"</button>
            </form>
            <p class="mt-4 text-sm"><A href="/forgot-password">"Forgot your password?"</A></p>
            <p class="mt-2 text-sm">"No account yet? "<A href="/signup">"Sign Up"</A></p>
        </section>
    }
}

#[island]
fn SignInForm(next: String) -> impl IntoView {
    let action = ServerAction::<Signin>::new();
    let value = action.value();
    view! {
        <ActionForm action=action>
            <FormError message=form_error(value)/>
            <input type="hidden" name="next" value=next/>
            <Field label="Email" name="email" kind="email" autocomplete="username" required=true error=field_error(value, "email")/>
            <Field label="Password" name="password" kind="password" autocomplete="current-password" required=true error=field_error(value, "password")/>
            <button type="submit" class="btn-primary w-full" disabled=move || action.pending().get()>"Sign In"</button>
        </ActionForm>
    }
}

#[component]
pub fn VerifyEmailPage() -> impl IntoView {
    let query = use_query_map();
    let result = Resource::new(
        move || query.read().get("token").unwrap_or_default(),
        verify_email,
    );
    view! {
        <section class="card max-w-md">
            <PageTitle title="Verify your email"/>
            <Suspense fallback=|| view! { <p>"Checking the link\u{2026}"</p> }>
                {move || Suspend::new(async move {
                    match result.await {
                        Ok(email) => Either::Left(view! {
                            <div class="alert-ok" role="status">{format!("Thank you: {email} is verified.")}</div>
                            <p><A href="/dashboard">"Continue to the dashboard"</A></p>
                        }),
                        Err(e) => Either::Right(view! { <div class="alert-error" role="alert">{e.to_string()}</div> }),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    view! {
        <section class="card max-w-md">
            <PageTitle title="Reset your password"/>
            <ForgotPasswordForm/>
        </section>
    }
}

#[island]
fn ForgotPasswordForm() -> impl IntoView {
    let action = ServerAction::<ForgotPassword>::new();
    let value = action.value();
    view! {
        <Notice message=ok_message(value)/>
        <ActionForm action=action>
            <Field label="Email" name="email" kind="email" autocomplete="email" required=true error=field_error(value, "email")/>
            <button type="submit" class="btn-primary w-full">"Send reset link"</button>
        </ActionForm>
    }
}

#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let query = use_query_map();
    let token = query.read_untracked().get("token").unwrap_or_default();
    view! {
        <section class="card max-w-md">
            <PageTitle title="Choose a new password"/>
            <ResetPasswordForm token=token/>
        </section>
    }
}

#[island]
fn ResetPasswordForm(token: String) -> impl IntoView {
    let action = ServerAction::<ResetPassword>::new();
    let value = action.value();
    view! {
        <ActionForm action=action>
            <FormError message=form_error(value)/>
            <input type="hidden" name="token" value=token/>
            <Field label="New password" name="password" kind="password" autocomplete="new-password" required=true error=field_error(value, "password")/>
            <Field label="Confirm new password" name="password_confirm" kind="password" autocomplete="new-password" required=true error=field_error(value, "password_confirm")/>
            <button type="submit" class="btn-primary w-full">"Set new password"</button>
        </ActionForm>
    }
}
