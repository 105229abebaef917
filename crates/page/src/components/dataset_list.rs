//! The datasets at hand: the bundled Fashion-MNIST (gray and in colour) and every dataset this browser
//! kept from disk, with their shape and size; open one, or delete a kept one.

use yew::prelude::*;

use atelier_core::saved::{PREFIX, SavedDataset};
use atelier_core::source::FASHION_COLOUR;

/// Props of [`DatasetList`].
#[derive(Properties, PartialEq)]
pub struct DatasetListProps {
    pub saved: Vec<SavedDataset>,
    /// The `?data=` value of the dataset in use (None: Fashion-MNIST).
    pub current: Option<String>,
    /// Open a dataset by its `?data=` value (None: Fashion-MNIST).
    pub on_open: Callback<Option<String>>,
    /// Delete a kept dataset by id.
    pub on_delete: Callback<String>,
}

/// "1.2 MB", "340 KB".
pub fn size_text(bytes: usize) -> String {
    if bytes >= 1 << 20 {
        format!("{:.1} MB", bytes as f64 / (1 << 20) as f64)
    } else {
        format!("{} KB", bytes.div_ceil(1024))
    }
}

/// One line of the list: (`?data=` value, name, what it holds, id to delete).
pub fn rows(saved: &[SavedDataset]) -> Vec<(Option<String>, String, String, Option<String>)> {
    let mut rows = vec![
        (
            None,
            "Fashion-MNIST".to_string(),
            "10 classes · gray 28×28 · 60,000 + 10,000 · bundled".to_string(),
            None,
        ),
        (
            Some(FASHION_COLOUR.to_string()),
            "Fashion-MNIST in colour".to_string(),
            "10 classes · colour 28×28 · 60,000 + 10,000 · bundled, tinted here".to_string(),
            None,
        ),
    ];
    rows.extend(saved.iter().map(|d| {
        (
            Some(format!("{PREFIX}{}", d.id)),
            d.name.clone(),
            format!(
                "{} classes · {} {}×{} · {} + {} · {} in this browser",
                d.class_names.len(),
                if d.channels == 3 { "colour" } else { "gray" },
                d.rows,
                d.cols,
                atelier_core::study::thousands(d.train),
                atelier_core::study::thousands(d.test),
                size_text(d.bytes)
            ),
            Some(d.id.clone()),
        )
    }));
    rows
}

/// The list.
#[function_component(DatasetList)]
pub fn dataset_list(props: &DatasetListProps) -> Html {
    let current = props.current.clone().filter(|d| d != "fashion");
    html! {
        <div class="panel">
            <h2>{ "Datasets" }</h2>
            <table data-testid="dataset-list" class="dataset-list">
                <tbody>
                    { for rows(&props.saved).into_iter().map(|(data, name, what, id)| {
                        let is_current = data == current;
                        let key = data.clone().unwrap_or_else(|| "fashion".into());
                        let open = { let (on_open, data) = (props.on_open.clone(), data.clone()); Callback::from(move |_: MouseEvent| on_open.emit(data.clone())) };
                        html! {
                            <tr data-dataset={key} aria-current={is_current.then_some("true")}>
                                <th scope="row">{ name }</th>
                                <td class="muted">{ what }</td>
                                <td>
                                    if is_current { <span class="muted">{ "in use" }</span> }
                                    else { <button data-testid="dataset-open" onclick={open}>{ "Open" }</button> }
                                    if let Some(id) = id {
                                        <button data-testid="dataset-delete" onclick={{ let (on_delete, id) = (props.on_delete.clone(), id.clone()); Callback::from(move |_: MouseEvent| on_delete.emit(id.clone())) }}>{ "Delete" }</button>
                                    }
                                </td>
                            </tr>
                        }
                    }) }
                </tbody>
            </table>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_has_the_bundled_sets_then_the_kept_ones() {
        let kept = SavedDataset {
            id: "d1".into(),
            name: "pets".into(),
            class_names: vec!["cat".into(), "dog".into()],
            channels: 3,
            rows: 32,
            cols: 32,
            train: 1200,
            test: 300,
            bytes: 3 << 20,
            created_ms: 0.0,
        };
        let rows = rows(&[kept]);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].0, None);
        assert_eq!(rows[1].0.as_deref(), Some("fashion-colour"));
        assert_eq!(rows[2].0.as_deref(), Some("saved:d1"));
        assert_eq!(
            rows[2].2,
            "2 classes · colour 32×32 · 1,200 + 300 · 3.0 MB in this browser"
        );
        assert_eq!(rows[2].3.as_deref(), Some("d1"));
        assert_eq!(size_text(1500), "2 KB");
    }
}
