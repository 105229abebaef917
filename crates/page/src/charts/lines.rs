//! Line charts for training curves: per-batch values smoothed, per-epoch values as points joined by lines.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters_canvas::CanvasBackend;
use web_sys::HtmlCanvasElement;

use super::palette;

/// One curve: (x, y) points, x in epochs (fractional for batches).
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    pub name: String,
    pub color: (u8, u8, u8),
    pub points: Vec<(f64, f64)>,
    /// Draw a marker at each point (per-epoch curves).
    pub markers: bool,
}

/// A line chart.
#[derive(Debug, Clone, PartialEq)]
pub struct LineChart {
    pub curves: Vec<Curve>,
    pub x_label: String,
    pub y_label: String,
    /// Fixed y range (accuracy: 0..1); None fits the data.
    pub y_range: Option<(f64, f64)>,
    /// The x extent to show at least (the planned number of epochs).
    pub x_max: f64,
}

/// Exponential moving average with the bias correction of Adam (Kingma and Ba, 2015), as TensorBoard's
/// smoothing: early values are not pulled toward zero.
pub fn smooth(values: &[f64], weight: f64) -> Vec<f64> {
    let mut average = 0.0;
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            average = average * weight + (1.0 - weight) * v;
            average / (1.0 - weight.powi(i as i32 + 1))
        })
        .collect()
}

/// Keeps at most `limit` points by averaging consecutive runs, so long runs draw quickly.
pub fn thin(points: &[(f64, f64)], limit: usize) -> Vec<(f64, f64)> {
    if points.len() <= limit || limit == 0 {
        return points.to_vec();
    }
    let size = points.len().div_ceil(limit);
    points
        .chunks(size)
        .map(|c| {
            let n = c.len() as f64;
            (
                c.iter().map(|p| p.0).sum::<f64>() / n,
                c.iter().map(|p| p.1).sum::<f64>() / n,
            )
        })
        .collect()
}

impl LineChart {
    /// (y min, y max) to draw.
    pub fn y_bounds(&self) -> (f64, f64) {
        if let Some(range) = self.y_range {
            return range;
        }
        let ys = self
            .curves
            .iter()
            .flat_map(|c| c.points.iter().map(|p| p.1))
            .filter(|y| y.is_finite());
        let (lo, hi) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), y| {
            (lo.min(y), hi.max(y))
        });
        if !lo.is_finite() {
            (0.0, 1.0)
        } else {
            (lo.min(0.0), (hi * 1.1).max(lo + 1e-3))
        }
    }

    /// A sentence with the last value of every curve.
    pub fn describe(&self) -> String {
        let parts: Vec<String> = self
            .curves
            .iter()
            .filter_map(|c| {
                c.points
                    .last()
                    .map(|p| format!("{} {:.4} at epoch {:.2}", c.name, p.1, p.0))
            })
            .collect();
        if parts.is_empty() {
            format!("{}: no data yet", self.y_label)
        } else {
            format!("{}: {}", self.y_label, parts.join(", "))
        }
    }
}

fn rgb(c: (u8, u8, u8)) -> RGBColor {
    RGBColor(c.0, c.1, c.2)
}

/// Draws the chart on a canvas, in the page's theme.
pub fn draw(canvas: &HtmlCanvasElement, chart: &LineChart) -> Result<(), String> {
    let backend =
        CanvasBackend::with_canvas_object(canvas.clone()).ok_or("the canvas has no 2D context")?;
    // The theme is read once per drawing (a media query each time it is asked).
    draw_on(backend.into_drawing_area(), chart, palette::surface())
}

/// The chart as an SVG document of `width x height` on the light surface (the written report's).
pub fn svg(chart: &LineChart, width: u32, height: u32) -> Result<String, String> {
    super::to_svg(width, height, |root| draw_on(root, chart, palette::LIGHT))
}

/// Draws the chart on any plotters backend.
pub fn draw_on<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    chart: &LineChart,
    surface: palette::Surface,
) -> Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&rgb(surface.background)).map_err(err)?;
    let text = rgb(surface.text);
    let (y0, y1) = chart.y_bounds();
    let x_max = chart
        .curves
        .iter()
        .flat_map(|c| c.points.iter().map(|p| p.0))
        .fold(chart.x_max, f64::max)
        .max(1e-3);
    let mut plot = ChartBuilder::on(&root)
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(0f64..x_max, y0..y1)
        .map_err(err)?;
    plot.configure_mesh()
        .x_labels(8)
        .y_labels(6)
        .x_desc(chart.x_label.as_str())
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
    for curve in &chart.curves {
        let color = rgb(curve.color);
        plot.draw_series(LineSeries::new(
            curve.points.iter().copied(),
            color.stroke_width(2),
        ))
        .map_err(err)?
        .label(curve.name.as_str())
        .legend(move |(x, y)| Rectangle::new([(x, y - 4), (x + 10, y + 4)], color.filled()));
        if curve.markers {
            plot.draw_series(
                curve
                    .points
                    .iter()
                    .map(|&p| Circle::new(p, 3, color.filled())),
            )
            .map_err(err)?;
        }
    }
    if !chart.curves.is_empty() {
        plot.configure_series_labels()
            .background_style(rgb(surface.background).mix(0.8))
            .border_style(rgb(surface.grid))
            .label_font(("sans-serif", 12).into_font().color(&text))
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(err)?;
    }
    root.present().map_err(err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smoothing_is_unbiased_at_the_start_and_tracks_a_constant() {
        let s = smooth(&[2.0, 2.0, 2.0], 0.9);
        assert!(s.iter().all(|v| (v - 2.0).abs() < 1e-12), "{s:?}");
        let s = smooth(&[0.0, 10.0], 0.5);
        // avg1 = 0 -> 0 / 0.5 = 0; avg2 = 5 -> 5 / 0.75.
        assert!((s[1] - 5.0 / 0.75).abs() < 1e-12);
    }

    #[test]
    fn thinning_averages_runs() {
        let points: Vec<(f64, f64)> = (0..10).map(|i| (i as f64, i as f64)).collect();
        assert_eq!(thin(&points, 20).len(), 10);
        let t = thin(&points, 5);
        assert_eq!(
            t,
            vec![(0.5, 0.5), (2.5, 2.5), (4.5, 4.5), (6.5, 6.5), (8.5, 8.5)]
        );
    }

    #[test]
    fn bounds_fit_data_or_follow_the_fixed_range() {
        let chart = LineChart {
            curves: vec![Curve {
                name: "l".into(),
                color: (0, 0, 0),
                points: vec![(0.0, 2.0), (1.0, 0.5)],
                markers: false,
            }],
            x_label: "epoch".into(),
            y_label: "loss".into(),
            y_range: None,
            x_max: 3.0,
        };
        let (lo, hi) = chart.y_bounds();
        assert_eq!(lo, 0.0);
        assert!((hi - 2.2).abs() < 1e-9);
        assert!(chart.describe().contains("l 0.5000 at epoch 1.00"));
        assert_eq!(
            LineChart {
                y_range: Some((0.0, 1.0)),
                ..chart
            }
            .y_bounds(),
            (0.0, 1.0)
        );
    }
}
