//! Grouped bar charts (class balance, pixel histogram) with hit testing for hover tooltips.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters_canvas::CanvasBackend;
use web_sys::HtmlCanvasElement;

use super::palette;

/// Space around the chart, in canvas pixels.
pub const MARGIN: u32 = 12;
/// Height of the area under the plot for category names.
pub const X_LABEL_AREA: u32 = 36;
/// Width of the area left of the plot for value labels.
pub const Y_LABEL_AREA: u32 = 84;
/// Share of each category's width its bars fill; the rest separates categories.
const GROUP_FILL: f64 = 0.8;

/// One series of bars: one value per category.
#[derive(Debug, Clone, PartialEq)]
pub struct BarSeries {
    pub name: String,
    pub color: (u8, u8, u8),
    pub values: Vec<f64>,
}

/// A bar chart: categories along x, one bar per series in each category.
#[derive(Debug, Clone, PartialEq)]
pub struct BarChart {
    pub categories: Vec<String>,
    pub series: Vec<BarSeries>,
    pub y_label: String,
    /// Show category names under the axis (off for dense charts such as a 32-bin histogram).
    pub category_labels: bool,
}

/// The plot rectangle inside a canvas: (left, top, right, bottom) in canvas pixels.
pub fn plot_area(width: u32, height: u32) -> (f64, f64, f64, f64) {
    let left = (MARGIN + Y_LABEL_AREA) as f64;
    let top = MARGIN as f64;
    let right = width.saturating_sub(MARGIN) as f64;
    let bottom = height.saturating_sub(MARGIN + X_LABEL_AREA) as f64;
    (left, top, right.max(left + 1.0), bottom.max(top + 1.0))
}

impl BarChart {
    /// The largest value, for the y range.
    pub fn max_value(&self) -> f64 {
        self.series
            .iter()
            .flat_map(|s| s.values.iter().copied())
            .fold(0.0, f64::max)
    }

    /// x extent, in data units, of bar `series` of category `category`.
    fn bar_span(&self, category: usize, series: usize) -> (f64, f64) {
        let n = self.series.len().max(1) as f64;
        let start = category as f64 + (1.0 - GROUP_FILL) / 2.0;
        let width = GROUP_FILL / n;
        (
            start + width * series as f64,
            start + width * (series as f64 + 1.0),
        )
    }

    /// Which bar (category, series) is under canvas point (x, y), if any. Points above a short bar still
    /// count, so thin bars are easy to hover.
    pub fn bar_at(&self, width: u32, height: u32, x: f64, y: f64) -> Option<(usize, usize)> {
        let (left, top, right, bottom) = plot_area(width, height);
        if x < left || x >= right || y < top || y > bottom || self.categories.is_empty() {
            return None;
        }
        let data_x = (x - left) / (right - left) * self.categories.len() as f64;
        let category = data_x.floor() as usize;
        (0..self.series.len()).find_map(|s| {
            let (a, b) = self.bar_span(category, s);
            (data_x >= a && data_x < b).then_some((category, s))
        })
    }

    /// A sentence listing every value, for screen readers and the tooltip-less.
    pub fn describe(&self) -> String {
        let parts: Vec<String> = self
            .series
            .iter()
            .map(|s| {
                let values: Vec<String> = self
                    .categories
                    .iter()
                    .zip(&s.values)
                    .map(|(c, v)| format!("{c} {}", format_count(*v)))
                    .collect();
                format!("{}: {}", s.name, values.join(", "))
            })
            .collect();
        format!("{} by category. {}", self.y_label, parts.join(". "))
    }
}

/// `54000` -> `54,000`; non-integers keep two decimals.
pub fn format_count(value: f64) -> String {
    if value.fract() != 0.0 {
        return format!("{value:.2}");
    }
    let out = atelier_core::study::thousands(value.abs() as usize);
    if value < 0.0 { format!("-{out}") } else { out }
}

fn rgb(c: (u8, u8, u8)) -> RGBColor {
    RGBColor(c.0, c.1, c.2)
}

/// Draws the chart on a canvas, using the canvas's own pixel size, in the page's theme.
pub fn draw(canvas: &HtmlCanvasElement, chart: &BarChart) -> Result<(), String> {
    let backend =
        CanvasBackend::with_canvas_object(canvas.clone()).ok_or("the canvas has no 2D context")?;
    // The theme is read once per drawing (a media query each time it is asked).
    draw_on(backend.into_drawing_area(), chart, palette::surface())
}

/// The chart as an SVG document of `width x height` on the light surface (the written report's).
pub fn svg(chart: &BarChart, width: u32, height: u32) -> Result<String, String> {
    super::to_svg(width, height, |root| draw_on(root, chart, palette::LIGHT))
}

/// Draws the chart on any plotters backend.
pub fn draw_on<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    chart: &BarChart,
    surface: palette::Surface,
) -> Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&rgb(surface.background)).map_err(err)?;
    let n = chart.categories.len().max(1) as f64;
    let y_max = (chart.max_value() * 1.08).max(1.0);
    let text = rgb(surface.text);
    let mut plot = ChartBuilder::on(&root)
        .margin(MARGIN)
        .x_label_area_size(X_LABEL_AREA)
        .y_label_area_size(Y_LABEL_AREA)
        .build_cartesian_2d(0f64..n, 0f64..y_max)
        .map_err(err)?;
    plot.configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_labels(6)
        .y_label_formatter(&|v| format_count(v.round()))
        .y_desc(chart.y_label.as_str())
        .label_style(("sans-serif", 12).into_font().color(&text))
        .axis_desc_style(("sans-serif", 12).into_font().color(&text))
        .axis_style(rgb(surface.grid))
        // No minor grid: plotters strokes each of its (many) light lines separately, which took most of a
        // redraw's time in the browser (profiled: ~1 s of every 3 s while training).
        .max_light_lines(0)
        .bold_line_style(rgb(surface.grid))
        .draw()
        .map_err(err)?;
    for (s, series) in chart.series.iter().enumerate() {
        let color = rgb(series.color);
        plot.draw_series(series.values.iter().enumerate().map(|(c, &v)| {
            let (a, b) = chart.bar_span(c, s);
            Rectangle::new([(a, 0.0), (b, v)], color.filled())
        }))
        .map_err(err)?;
    }
    let (width, height) = root.dim_in_pixel();
    let (left, _, right, bottom) = plot_area(width, height);
    if chart.category_labels {
        let step = (right - left) / n;
        for (i, name) in chart.categories.iter().enumerate() {
            let x = left + step * (i as f64 + 0.5);
            let style = ("sans-serif", 11)
                .into_font()
                .color(&text)
                .pos(Pos::new(HPos::Center, VPos::Top));
            root.draw(&Text::new(
                name.clone(),
                (x as i32, bottom as i32 + 6),
                style,
            ))
            .map_err(err)?;
        }
    }
    // Legend, top right, when there is more than one series.
    if chart.series.len() > 1 {
        for (s, series) in chart.series.iter().enumerate() {
            let y = MARGIN as i32 + 4 + 16 * s as i32;
            let x = right as i32 - 110;
            root.draw(&Rectangle::new(
                [(x, y), (x + 10, y + 10)],
                rgb(series.color).filled(),
            ))
            .map_err(err)?;
            let style = ("sans-serif", 12).into_font().color(&text);
            root.draw(&Text::new(series.name.clone(), (x + 16, y - 1), style))
                .map_err(err)?;
        }
    }
    root.present().map_err(err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart() -> BarChart {
        BarChart {
            categories: vec!["a".into(), "b".into()],
            series: vec![
                BarSeries {
                    name: "train".into(),
                    color: (0, 0, 0),
                    values: vec![5400.0, 10.0],
                },
                BarSeries {
                    name: "test".into(),
                    color: (0, 0, 0),
                    values: vec![1000.0, 3.0],
                },
            ],
            y_label: "Images".into(),
            category_labels: true,
        }
    }

    #[test]
    fn hit_testing_finds_each_bar_and_misses_gaps() {
        let c = chart();
        let (left, top, right, bottom) = plot_area(400, 200);
        let y = (top + bottom) / 2.0;
        let at = |fraction: f64| c.bar_at(400, 200, left + (right - left) * fraction, y);
        // Category width is half the plot; bars fill 80% of it, split between two series.
        assert_eq!(at(0.02), None); // the gap before the first group
        assert_eq!(at(0.10), Some((0, 0)));
        assert_eq!(at(0.40), Some((0, 1)));
        assert_eq!(at(0.60), Some((1, 0)));
        assert_eq!(at(0.90), Some((1, 1)));
        assert_eq!(c.bar_at(400, 200, left - 1.0, y), None);
        assert_eq!(c.bar_at(400, 200, left + 10.0, bottom + 5.0), None);
    }

    #[test]
    fn numbers_are_formatted_and_described() {
        assert_eq!(format_count(54000.0), "54,000");
        assert_eq!(format_count(600.0), "600");
        assert_eq!(format_count(1234567.0), "1,234,567");
        assert_eq!(format_count(0.5), "0.50");
        let text = chart().describe();
        assert!(text.contains("train: a 5,400, b 10"), "{text}");
        assert!(text.contains("test: a 1,000, b 3"), "{text}");
    }
}
