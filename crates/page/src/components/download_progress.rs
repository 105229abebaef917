//! Per-file download progress bars.

use yew::prelude::*;

use atelier_core::protocol::FileProgress;

/// Props of [`DownloadProgress`].
#[derive(Properties, PartialEq)]
pub struct DownloadProgressProps {
    pub downloads: Vec<FileProgress>,
}

/// `12.3 MB`.
pub fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}

/// Percent done, when the total is known (capped at 100: a server may compress on the fly).
pub fn percent(progress: &FileProgress) -> Option<u32> {
    progress
        .total
        .filter(|&t| t > 0)
        .map(|t| ((progress.received as f64 / t as f64) * 100.0).min(100.0) as u32)
}

/// One bar per file.
#[function_component(DownloadProgress)]
pub fn download_progress(props: &DownloadProgressProps) -> Html {
    html! {
        <div class="downloads" data-testid="download-progress">
            { for props.downloads.iter().map(|d| {
                let pct = percent(d);
                let text = match d.total {
                    Some(total) => format!("{}: {} / {}", d.file, megabytes(d.received), megabytes(total)),
                    None => format!("{}: {}", d.file, megabytes(d.received)),
                };
                html! {
                    <div class="download">
                        <label>{ text }</label>
                        <progress max="100" value={pct.unwrap_or(0).to_string()} aria-label={d.file.clone()}
                            aria-valuenow={pct.unwrap_or(0).to_string()} />
                    </div>
                }
            }) }
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_and_size_text() {
        let p = FileProgress {
            file: "f".into(),
            received: 50,
            total: Some(200),
        };
        assert_eq!(percent(&p), Some(25));
        assert_eq!(
            percent(&FileProgress {
                total: Some(10),
                ..p.clone()
            }),
            Some(100)
        );
        assert_eq!(percent(&FileProgress { total: None, ..p }), None);
        assert_eq!(megabytes(26_421_856), "26.4 MB");
    }
}
