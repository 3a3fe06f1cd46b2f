//! Label and field selectors as the Kubernetes API takes them in `labelSelector` / `fieldSelector`.

use serde_json::Value;

/// One requirement of a selector.
#[derive(Debug, Clone)]
enum Term {
    Exists(String),
    Absent(String),
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
}

/// A parsed label or field selector (every term must hold).
#[derive(Debug, Clone, Default)]
pub struct Selector {
    terms: Vec<Term>,
}

impl Selector {
    /// Parses `a=b,!c,d in (e,f)`; an unreadable term is an error naming it.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut terms = Vec::new();
        for raw in split_top_level(text) {
            let t = raw.trim();
            if t.is_empty() {
                continue;
            }
            let term = if let Some(k) = t.strip_prefix('!') {
                Term::Absent(k.trim().to_owned())
            } else if let Some((k, v)) = t.split_once("!=") {
                Term::NotEquals(k.trim().to_owned(), v.trim().to_owned())
            } else if let Some((k, v)) = t.split_once("==").or_else(|| t.split_once('=')) {
                Term::Equals(k.trim().to_owned(), v.trim().to_owned())
            } else if let Some((k, set)) = t.split_once(" notin ") {
                Term::NotIn(k.trim().to_owned(), set_values(set)?)
            } else if let Some((k, set)) = t.split_once(" in ") {
                Term::In(k.trim().to_owned(), set_values(set)?)
            } else if t.contains(char::is_whitespace) || t.contains('(') {
                return Err(format!("unable to parse requirement: {t:?}"));
            } else {
                Term::Exists(t.to_owned())
            };
            terms.push(term);
        }
        Ok(Self { terms })
    }

    /// Whether labels (a `metadata.labels` map) satisfy the selector.
    pub fn matches_labels(&self, object: &Value) -> bool {
        let labels = &object["metadata"]["labels"];
        self.matches(|k| labels.get(k).and_then(Value::as_str).map(str::to_owned))
    }

    /// Whether fields (dotted paths such as `metadata.name`) satisfy the selector.
    pub fn matches_fields(&self, object: &Value) -> bool {
        self.matches(|path| {
            let v = path.split('.').try_fold(object, |v, part| v.get(part))?;
            Some(v.as_str().map_or_else(|| v.to_string(), str::to_owned))
        })
    }

    fn matches(&self, get: impl Fn(&str) -> Option<String>) -> bool {
        self.terms.iter().all(|t| match t {
            Term::Exists(k) => get(k).is_some(),
            Term::Absent(k) => get(k).is_none(),
            Term::Equals(k, v) => get(k).as_deref() == Some(v),
            Term::NotEquals(k, v) => get(k).as_deref() != Some(v),
            Term::In(k, set) => get(k).is_some_and(|v| set.contains(&v)),
            Term::NotIn(k, set) => get(k).is_none_or(|v| !set.contains(&v)),
        })
    }
}

/// Splits on commas outside parentheses.
fn split_top_level(text: &str) -> Vec<&str> {
    let (mut out, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&text[start..]);
    out
}

fn set_values(set: &str) -> Result<Vec<String>, String> {
    let inner = set
        .trim()
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(|| format!("set {set:?} is not in parentheses"))?;
    Ok(inner.split(',').map(|v| v.trim().to_owned()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn labels_and_fields() {
        let o = json!({"metadata": {"name": "a", "labels": {"fed.solo.io/owner": "x", "tier": "b"}}});
        let ok = |s: &str| Selector::parse(s).map(|sel| sel.matches_labels(&o)).unwrap_or(false);
        assert!(ok("fed.solo.io/owner"));
        assert!(ok("tier in (a,b),fed.solo.io/owner=x"));
        assert!(!ok("!tier"));
        assert!(!ok("tier notin (b)"));
        assert!(ok("tier!=c"));
        let f = Selector::parse("metadata.name=a").map(|s| s.matches_fields(&o));
        assert_eq!(f, Ok(true));
        assert!(Selector::parse("a b").is_err());
    }
}
