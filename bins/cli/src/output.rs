//! `-o table|json|yaml` rendering.

use clap::ValueEnum;
use comfy_table::{ContentArrangement, Table, presets};
use serde::Serialize;

/// Output format.
#[derive(Clone, Copy, Debug, Default, ValueEnum)]
pub enum Format {
    /// Aligned columns, kubectl style.
    #[default]
    Table,
    /// JSON.
    Json,
    /// YAML.
    Yaml,
}

/// A kubectl-style table: upper-case headers, no borders.
pub fn table(headers: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut t = Table::new();
    t.load_preset(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled);
    t.set_header(headers.iter().map(|h| h.to_uppercase()));
    for row in rows {
        t.add_row(row.iter().map(|cell| one_line(cell)));
    }
    // comfy-table pads every column with one space on each side; kubectl has none at the left edge.
    t.to_string()
        .lines()
        .map(|l| l.strip_prefix(' ').unwrap_or(l).trim_end().to_owned())
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// `text` safe to print on a terminal: control characters (from members' statuses, object names,
/// API errors — none of which gatefed trusts) are shown escaped instead of being sent to the
/// terminal, which could rewrite what is shown. Newlines and tabs are kept.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() && c != '\n' && c != '\t' {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

/// `text` as one printable line: every control character, newlines included, shown escaped (a
/// member's status message cannot add lines of its own to a report).
pub fn one_line(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

/// One line naming what failed and why, for an API call on the admin cluster.
pub fn api_error(action: &str, what: &str, gvk: gatefed_model::GvkInfo, e: kube::Error) -> anyhow::Error {
    let cause = match &e {
        kube::Error::Api(s)
            if s.code == 404 && (s.message.contains("page not found") || s.reason.contains("parse")) =>
        {
            format!(
                "the admin cluster does not serve {} (are gatefed's CRDs installed? run `gatefedctl install`)",
                gvk.crd_name()
            )
        }
        kube::Error::Api(s) => s.message.clone(),
        other => other.to_string(),
    };
    anyhow::anyhow!("cannot {action} {what}: {}", cause.replace('\n', " "))
}

/// Renders `value` as JSON or YAML, or returns `None` for the table format.
pub fn structured<T: Serialize>(format: Format, value: &T) -> anyhow::Result<Option<String>> {
    Ok(match format {
        Format::Table => None,
        Format::Json => Some(serde_json::to_string_pretty(value)? + "\n"),
        Format::Yaml => Some(serde_saphyr::to_string(&serde_json::to_value(value)?)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_never_reach_the_terminal() {
        let hostile = "ok\u{1b}[2J\u{1b}]0;pwned\u{7}\nNo problems detected.";
        let line = one_line(hostile);
        assert!(!line.chars().any(char::is_control), "{line}");
        assert!(line.contains("\\u{1b}[2J") && line.contains("\\n"), "{line}");
        let text = printable(hostile);
        assert!(text.contains('\n') && !text.contains('\u{1b}'), "{text}");
        let t = table(&["a"], vec![vec![hostile.to_owned()]]);
        assert_eq!(t.lines().count(), 2, "{t}");
        assert!(!t.contains('\u{1b}'));
    }
}
