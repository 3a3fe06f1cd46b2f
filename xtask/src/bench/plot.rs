//! SVG plots of benchmark figures (plotters' SVG backend: text is left to the viewer's fonts).

use std::path::Path;
use std::time::Duration;

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

const SIZE: (u32, u32) = (720, 420);
const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// Cumulative distribution of latencies, one line per named series (each sorted ascending).
pub fn latency_cdf(path: &Path, title: &str, series: &[(String, Vec<Duration>)]) -> anyhow::Result<()> {
    let max_ms = series
        .iter()
        .filter_map(|(_, v)| v.last())
        .map(|d| d.as_secs_f64() * 1000.0)
        .fold(1.0, f64::max);
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    let mut chart = frame(
        &root,
        title,
        ("admin write -> last member (ms)", "% of updates"),
        (max_ms * 1.05, 100.0),
    )?;
    for (i, (name, sorted)) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let n = sorted.len().max(1) as f64;
        let points = sorted
            .iter()
            .enumerate()
            .map(|(k, d)| (d.as_secs_f64() * 1000.0, (k + 1) as f64 * 100.0 / n));
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))
            .map_err(plot_error)?
            .label(name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
    }
    finish(&mut chart, &root, SeriesLabelPosition::LowerRight)
}

/// Measured points (x, y) with an optional fitted line and a goal line, each `intercept + slope * x`.
pub fn points_and_lines(
    path: &Path,
    title: &str,
    axes: (&str, &str),
    points: &[(f64, f64)],
    lines: &[(&str, f64, f64)],
) -> anyhow::Result<()> {
    let max_x = points.iter().map(|p| p.0).fold(1.0, f64::max) * 1.1;
    let max_y = points
        .iter()
        .map(|p| p.1)
        .chain(lines.iter().map(|(_, a, b)| a + b * max_x))
        .fold(1.0, f64::max)
        * 1.1;
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    let mut chart = frame(&root, title, axes, (max_x, max_y))?;
    chart
        .draw_series(points.iter().map(|&(x, y)| Circle::new((x, y), 5, COLORS[0].filled())))
        .map_err(plot_error)?
        .label("measured")
        .legend(|(x, y)| Circle::new((x + 10, y), 5, COLORS[0].filled()));
    for (i, &(name, intercept, slope)) in lines.iter().enumerate() {
        let color = COLORS[(i + 1) % COLORS.len()];
        let ends = [(0.0, intercept), (max_x, intercept + slope * max_x)];
        chart
            .draw_series(LineSeries::new(ends, color.stroke_width(2)))
            .map_err(plot_error)?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
    }
    finish(&mut chart, &root, SeriesLabelPosition::UpperLeft)
}

type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// A white chart with a title and labelled axes from 0 to `max` (x, y).
fn frame<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, Shift>,
    title: &str,
    axes: (&str, &str),
    max: (f64, f64),
) -> anyhow::Result<Chart<'a, 'b>> {
    root.fill(&WHITE).map_err(plot_error)?;
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..max.0, 0f64..max.1)
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .x_desc(axes.0)
        .y_desc(axes.1)
        .draw()
        .map_err(plot_error)?;
    Ok(chart)
}

/// The legend at `position`, and the file written.
fn finish<'a, 'b: 'a>(
    chart: &mut Chart<'a, 'b>,
    root: &DrawingArea<SVGBackend<'_>, Shift>,
    position: SeriesLabelPosition,
) -> anyhow::Result<()> {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE)
        .border_style(BLACK)
        .draw()
        .map_err(plot_error)?;
    root.present().map_err(plot_error)?;
    Ok(())
}

fn plot_error(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("plot: {e}")
}
