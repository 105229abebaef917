//! The error banner: every message the user must see, with a retry where one helps.

use yew::prelude::*;

/// Props of [`ErrorBanner`].
#[derive(Properties, PartialEq)]
pub struct ErrorBannerProps {
    pub errors: Vec<String>,
    pub on_dismiss: Callback<usize>,
    /// Shown as a "Retry" button when set.
    pub on_retry: Option<Callback<()>>,
}

/// The banner; renders nothing when there is no error.
#[function_component(ErrorBanner)]
pub fn error_banner(props: &ErrorBannerProps) -> Html {
    if props.errors.is_empty() {
        return html! {};
    }
    html! {
        <div class="error-banner" role="alert" data-testid="error-banner">
            { for props.errors.iter().enumerate().map(|(i, message)| {
                let dismiss = props.on_dismiss.reform(move |_: MouseEvent| i);
                html! {
                    <div class="error-line">
                        <span class="error-text">{ message }</span>
                        <button class="link" onclick={dismiss} aria-label="Dismiss this message">{ "Dismiss" }</button>
                    </div>
                }
            }) }
            if let Some(retry) = &props.on_retry {
                <button data-testid="retry-button" onclick={retry.reform(|_: MouseEvent| ())}>{ "Retry" }</button>
            }
        </div>
    }
}
