//! The application: HTML shell, router and routes.

use crate::api::get_me;
use crate::ui::{
    auth::{ForgotPasswordPage, ResetPasswordPage, SignInPage, SignUpPage, VerifyEmailPage},
    business::{AcceptInvitationPage, GeneralPage, LicensesPage, RegisterKeyPage, UsersPage},
    dashboard::DashboardPage,
    integration::IdpIntegrationPage,
    layout::{Header, HomePage, NotFoundPage},
    MeResource,
};
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
};

pub fn shell(options: LeptosOptions) -> impl IntoView {
    // The CSP header names a per-response nonce; the hydration scripts must carry it.
    #[cfg(feature = "ssr")]
    crate::server::security::provide_request_nonce();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" type="image/svg+xml" href="/favicon.svg"/>
                <HydrationScripts options islands=true/>
                <leptos_meta::MetaTags/>
            </head>
            <body class="bg-slate-50 text-slate-900 min-h-screen">
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/seatgate.css"/>
        <Title text="Seatgate \u{2014} My Account"/>
        <Router>
            <Frame/>
        </Router>
    }
}

#[component]
fn Frame() -> impl IntoView {
    // Pages render on the server (their forms are islands): the user is loaded once per page.
    let me = Resource::new(|| (), |_| get_me());
    provide_context(MeResource(me));
    let ssr = SsrMode::Async;
    view! {
        <Header/>
        <main class="max-w-5xl mx-auto px-4 py-8">
            <Routes fallback=|| view! { <NotFoundPage/> }>
                <Route path=path!("/") view=HomePage ssr=ssr.clone()/>
                <Route path=path!("/signup") view=SignUpPage ssr=ssr.clone()/>
                <Route path=path!("/signin") view=SignInPage ssr=ssr.clone()/>
                <Route path=path!("/verify-email") view=VerifyEmailPage ssr=ssr.clone()/>
                <Route path=path!("/forgot-password") view=ForgotPasswordPage ssr=ssr.clone()/>
                <Route path=path!("/reset-password") view=ResetPasswordPage ssr=ssr.clone()/>
                <Route path=path!("/dashboard") view=DashboardPage ssr=ssr.clone()/>
                <Route path=path!("/register-key") view=RegisterKeyPage ssr=ssr.clone()/>
                <Route path=path!("/invitations/accept") view=AcceptInvitationPage ssr=ssr.clone()/>
                <Route path=path!("/profile/business/general") view=GeneralPage ssr=ssr.clone()/>
                <Route path=path!("/profile/business/users") view=UsersPage ssr=ssr.clone()/>
                <Route path=path!("/profile/business/licenses") view=LicensesPage ssr=ssr.clone()/>
                <Route path=path!("/profile/business/idp_integration") view=IdpIntegrationPage ssr=ssr.clone()/>
                <Route path=path!("/directdownload/pd") view=crate::ui::download::DownloadPage ssr=ssr.clone()/>
            </Routes>
        </main>
    }
}
