//! One component per file.

pub mod bar_chart_view;
pub mod camera;
pub mod compare_tab;
pub mod confusion_view;
pub mod data_tab;
pub mod dataset_list;
pub mod dataset_picker;
pub mod download_progress;
pub mod draw_pad;
pub mod dropped;
pub mod error_banner;
pub mod explain_view;
pub mod gallery_view;
pub mod gradcam_panels;
pub mod header;
pub mod image_grid_view;
pub mod line_chart_view;
pub mod model_list;
pub mod predict_tab;
pub mod train_tab;
