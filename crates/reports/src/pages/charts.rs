//! The reports' charts, drawn with plotters into SVG strings that the pages inline. Text is
//! left to the browser (`<text>` elements), so no font files are needed.
//!
//! A chart that cannot be drawn is an `Err` with the reason; the page shows the reason in its
//! place and keeps the tables (a report never fails because of a chart).

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// An SVG chart, or why it cannot be drawn.
pub type Chart = Result<String, ChartError>;

/// Why a chart cannot be drawn (shown in its place on the page).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct ChartError(pub String);

impl From<&str> for ChartError {
    fn from(reason: &str) -> Self {
        ChartError(reason.to_string())
    }
}

impl From<String> for ChartError {
    fn from(reason: String) -> Self {
        ChartError(reason)
    }
}

/// Colours: the reference/champion in grey-blue, the current/challenger in orange, statuses.
pub const BLUE: RGBColor = RGBColor(54, 101, 160);
pub const ORANGE: RGBColor = RGBColor(222, 120, 31);
pub const GREEN: RGBColor = RGBColor(46, 139, 87);
pub const AMBER: RGBColor = RGBColor(230, 170, 0);
pub const RED_: RGBColor = RGBColor(200, 40, 40);
pub const GREY: RGBColor = RGBColor(150, 150, 150);

const WIDTH: u32 = 760;

fn err(e: impl std::fmt::Display) -> ChartError {
    ChartError(e.to_string())
}

/// Horizontal bars, one per label (top to bottom in the given order), coloured one by one, with
/// vertical reference lines (e.g. PSI thresholds).
pub fn horizontal_bars(title: &str, x_desc: &str, labels: &[String], values: &[f64], colors: &[RGBColor], marks: &[(f64, RGBColor)]) -> Chart {
    if labels.is_empty() {
        return Err("nothing to draw".into());
    }
    let n = labels.len();
    let finite_max = values.iter().copied().filter(|v| v.is_finite()).fold(0.0, f64::max);
    let max = marks.iter().map(|m| m.0).fold(finite_max, f64::max).max(1e-6) * 1.08;
    let height = (60 + 18 * n as u32).max(160);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(8)
            .x_label_area_size(34)
            .y_label_area_size(210)
            .build_cartesian_2d(0f64..max, (0..n as i32 - 1).into_segmented())
            .map_err(err)?;
        let names: Vec<String> = labels.iter().rev().cloned().collect();
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n)
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => names.get(*i as usize).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .x_desc(x_desc)
            .draw()
            .map_err(err)?;
        // Row i from the top is segment n-1-i from the bottom.
        chart
            .draw_series(values.iter().enumerate().map(|(i, &v)| {
                let row = (n - 1 - i) as i32;
                let v = if v.is_finite() { v } else { max };
                let mut bar = Rectangle::new(
                    [(0.0, SegmentValue::Exact(row)), (v, SegmentValue::Exact(row + 1))],
                    colors.get(i).copied().unwrap_or(BLUE).filled(),
                );
                bar.set_margin(2, 2, 0, 0);
                bar
            }))
            .map_err(err)?;
        for &(x, color) in marks {
            chart
                .draw_series(LineSeries::new([(x, SegmentValue::Exact(0)), (x, SegmentValue::Exact(n as i32))], color.stroke_width(1)))
                .map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// Two distributions over the same buckets (shares of rows), as pairs of horizontal bars: the
/// reference above, the current below, one pair per bucket from top to bottom. Bucket labels
/// are drawn beside the plot by hand (plotters' rotated axis labels land inside the plot), so
/// long category names and many levels stay readable.
pub fn distribution(
    title: &str,
    x_desc: &str,
    labels: &[String],
    reference: &[f64],
    current: &[f64],
    reference_name: &str,
    current_name: &str,
) -> Chart {
    if labels.is_empty() {
        return Err("nothing to draw".into());
    }
    let n = labels.len();
    // Room on the right for the legend.
    let max = reference.iter().chain(current).copied().filter(|v| v.is_finite()).fold(0.0, f64::max).max(1e-6) * 1.4;
    let height = (80 + 26 * n as u32).max(200);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(8)
            .x_label_area_size(34)
            .y_label_area_size(190)
            .build_cartesian_2d(0f64..max, 0f64..n as f64)
            .map_err(err)?;
        chart.configure_mesh().disable_y_mesh().y_labels(0).x_desc(x_desc).draw().map_err(err)?;
        // Bucket i (from the top) spans y in [n-1-i, n-i].
        let bar = |i: usize, value: f64, low: f64, high: f64, color: RGBColor| {
            let base = (n - 1 - i) as f64;
            Rectangle::new([(0.0, base + low), (value, base + high)], color.filled())
        };
        chart
            .draw_series(reference.iter().enumerate().map(|(i, &v)| bar(i, v, 0.52, 0.9, BLUE)))
            .map_err(err)?
            .label(reference_name)
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], BLUE.filled()));
        chart
            .draw_series(current.iter().enumerate().map(|(i, &v)| bar(i, v, 0.1, 0.48, ORANGE)))
            .map_err(err)?
            .label(current_name)
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], ORANGE.filled()));
        chart
            .configure_series_labels()
            .border_style(GREY)
            .background_style(WHITE.mix(0.9))
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(err)?;
        let style = TextStyle::from(("sans-serif", 11).into_font()).pos(Pos::new(HPos::Right, VPos::Center));
        for (i, label) in labels.iter().enumerate() {
            let (x, y) = chart.backend_coord(&(0.0, (n - 1 - i) as f64 + 0.5));
            let text: String = if label.chars().count() > 30 { label.chars().take(29).chain(['…']).collect() } else { label.clone() };
            root.draw(&Text::new(text, (x - 6, y), style.clone())).map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// A named series of (x, y) points.
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub color: RGBColor,
}

/// Lines over numeric axes (calibration, gains curves), optionally with the diagonal y = x
/// under the given name ("perfect calibration", "random order").
pub fn lines(title: &str, x_desc: &str, y_desc: &str, series: &[Series], x_range: (f64, f64), y_range: (f64, f64), diagonal: Option<&str>) -> Chart {
    if series.iter().all(|s| s.points.is_empty()) {
        return Err("nothing to draw".into());
    }
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 360)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(55)
            .build_cartesian_2d(x_range.0..x_range.1, y_range.0..y_range.1)
            .map_err(err)?;
        chart.configure_mesh().x_desc(x_desc).y_desc(y_desc).draw().map_err(err)?;
        if let Some(name) = diagonal {
            let lo = x_range.0.max(y_range.0);
            let hi = x_range.1.min(y_range.1);
            chart
                .draw_series(LineSeries::new([(lo, lo), (hi, hi)], GREY.stroke_width(1)))
                .map_err(err)?
                .label(name)
                .legend(|(x, y)| PathElement::new([(x, y), (x + 12, y)], GREY.stroke_width(1)));
        }
        for s in series {
            let color = s.color;
            chart
                .draw_series(LineSeries::new(s.points.clone(), color.stroke_width(2)))
                .map_err(err)?
                .label(s.name.as_str())
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 12, y)], color.stroke_width(2)));
            if s.points.len() <= 30 {
                chart.draw_series(s.points.iter().map(|&p| Circle::new(p, 3, color.filled()))).map_err(err)?;
            }
        }
        chart
            .configure_series_labels()
            .border_style(GREY)
            .background_style(WHITE.mix(0.9))
            .position(SeriesLabelPosition::LowerRight)
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// A named series over categories (None = no value at that category).
pub struct CategorySeries {
    pub name: String,
    pub values: Vec<Option<f64>>,
    pub color: RGBColor,
}

/// Lines over ordered categories (months, issue years): a line per series, broken where a
/// value is missing.
pub fn category_lines(title: &str, y_desc: &str, labels: &[String], series: &[CategorySeries], y_range: (f64, f64)) -> Chart {
    if labels.is_empty() || series.iter().all(|s| s.values.iter().all(Option::is_none)) {
        return Err("nothing to draw".into());
    }
    let n = labels.len() as i32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 340)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(50)
            .y_label_area_size(55)
            .build_cartesian_2d((0..n - 1).into_segmented(), y_range.0..y_range.1)
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(labels.len())
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => labels.get(*i as usize).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .y_desc(y_desc)
            .draw()
            .map_err(err)?;
        for s in series {
            let color = s.color;
            // One line per run of present values.
            let mut runs: Vec<Vec<(SegmentValue<i32>, f64)>> = vec![Vec::new()];
            for (i, v) in s.values.iter().enumerate() {
                match v {
                    Some(v) => runs.last_mut().expect("one run").push((SegmentValue::CenterOf(i as i32), *v)),
                    None => runs.push(Vec::new()),
                }
            }
            let mut first = true;
            for run in runs.into_iter().filter(|r| !r.is_empty()) {
                let drawn = chart.draw_series(LineSeries::new(run.clone(), color.stroke_width(2))).map_err(err)?;
                if first {
                    drawn.label(s.name.as_str()).legend(move |(x, y)| PathElement::new([(x, y), (x + 12, y)], color.stroke_width(2)));
                    first = false;
                }
                chart.draw_series(run.into_iter().map(|p| Circle::new(p, 3, color.filled()))).map_err(err)?;
            }
        }
        chart
            .configure_series_labels()
            .border_style(GREY)
            .background_style(WHITE.mix(0.9))
            .position(SeriesLabelPosition::LowerRight)
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// Estimates with intervals, one row per label (top to bottom): a dot at the estimate and a
/// whisker from low to high, with a vertical line at zero (no effect) and optional marks.
pub fn intervals(title: &str, x_desc: &str, labels: &[String], estimates: &[(f64, f64, f64)], marks: &[(f64, RGBColor)]) -> Chart {
    let shown: Vec<usize> =
        (0..labels.len()).filter(|&i| estimates[i].0.is_finite() && estimates[i].1.is_finite() && estimates[i].2.is_finite()).collect();
    if shown.is_empty() {
        return Err("no estimate to draw (no control lapses yet?)".into());
    }
    let n = shown.len();
    let lo = shown.iter().map(|&i| estimates[i].1).chain(marks.iter().map(|m| m.0)).fold(0.0, f64::min).max(-3.0);
    let hi = shown.iter().map(|&i| estimates[i].2).chain(marks.iter().map(|m| m.0)).fold(0.0, f64::max).min(3.0);
    let pad = ((hi - lo) * 0.06).max(0.01);
    let height = (70 + 26 * n as u32).max(170);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(8)
            .x_label_area_size(34)
            .y_label_area_size(230)
            .build_cartesian_2d((lo - pad)..(hi + pad), (0..n as i32 - 1).into_segmented())
            .map_err(err)?;
        let names: Vec<String> = shown.iter().rev().map(|&i| labels[i].clone()).collect();
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n)
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => names.get(*i as usize).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .x_desc(x_desc)
            .draw()
            .map_err(err)?;
        chart
            .draw_series(LineSeries::new([(0.0, SegmentValue::Exact(0)), (0.0, SegmentValue::Exact(n as i32))], GREY.stroke_width(1)))
            .map_err(err)?;
        for &(x, color) in marks {
            chart
                .draw_series(LineSeries::new([(x, SegmentValue::Exact(0)), (x, SegmentValue::Exact(n as i32))], color.stroke_width(1)))
                .map_err(err)?;
        }
        for (k, &i) in shown.iter().enumerate() {
            let row = (n - 1 - k) as i32;
            let (estimate, low, high) = estimates[i];
            let (low, high) = (low.max(lo - pad), high.min(hi + pad));
            chart
                .draw_series(LineSeries::new([(low, SegmentValue::CenterOf(row)), (high, SegmentValue::CenterOf(row))], BLUE.stroke_width(2)))
                .map_err(err)?;
            chart.draw_series([Circle::new((estimate, SegmentValue::CenterOf(row)), 4, ORANGE.filled())]).map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    Ok(svg)
}
