//! The desktop app download page (`/directdownload/pd?experience=sso`): signed-out visitors
//! are sent to Sign In (with Continue with SSO) first.

use super::layout::{PageTitle, RequireUser};
use crate::api::get_downloads;
use crate::model::Downloads;
use leptos::either::EitherOf3;
use leptos::prelude::*;

#[component]
pub fn DownloadPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| get_downloads());
    view! {
        <RequireUser children=move |_me| view! {
            <section class="card max-w-2xl">
                <PageTitle title="Download the desktop app"/>
                <Suspense fallback=|| view! { <p>"Loading\u{2026}"</p> }>
                    {move || Suspend::new(async move {
                        match data.await {
                            Ok(d) if d.builds.is_empty() => EitherOf3::A(view! {
                                <p role="alert">"This server offers no desktop app builds. Ask your administrator."</p>
                            }),
                            Ok(d) => EitherOf3::B(builds_view(d)),
                            Err(e) => EitherOf3::C(view! { <div class="alert-error" role="alert">{e.to_string()}</div> }),
                        }
                    })}
                </Suspense>
            </section>
        }/>
    }
}

fn builds_view(d: Downloads) -> impl IntoView {
    let server = d.server_url.clone();
    view! {
        <p class="mb-4">"Each download is set up for your organisation's single sign-on: start it, enter your work email, and sign in as you do at work."</p>
        <ul class="mb-6" aria-label="Builds">
            {d.builds.into_iter().map(|b| view! {
                <li class="mb-2">
                    <a class="btn-primary" data-testid="download-build" href=b.url download=b.file.clone()>{format!("Download for {}", b.label)}</a>
                    <span class="text-sm text-slate-500 ml-2">{format!("{} \u{b7} {}", b.file, b.size_mb)}</span>
                </li>
            }).collect_view()}
        </ul>
        <h2 class="text-lg font-semibold mb-2">"If the app does not ask for your email"</h2>
        <p class="mb-2">"Activate from a terminal; the app opens your browser to sign in:"</p>
        <pre class="bg-slate-100 p-3 rounded text-sm overflow-x-auto" data-testid="manual-activation">{format!("chmod +x seatgate-desktop\n./seatgate-desktop --server {server} activate --email you@your-company.com")}</pre>
        <p class="text-sm text-slate-600 mt-2">"Check the licence with "<code>"seatgate-desktop check"</code>", give the seat back with "<code>"seatgate-desktop deactivate"</code>"."</p>
    }
}
