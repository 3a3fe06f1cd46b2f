//! Label selector matching (Kubernetes semantics).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

/// A selector the engine cannot evaluate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelectorError(pub String);

impl std::fmt::Display for SelectorError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SelectorError {}

/// Whether `labels` match `selector`: every `matchLabels` pair and every `matchExpressions` requirement.
/// An empty selector matches everything, as in Kubernetes.
pub fn matches(selector: &LabelSelector, labels: &BTreeMap<String, String>) -> Result<bool, SelectorError> {
    for (k, v) in selector.match_labels.iter().flatten() {
        if labels.get(k) != Some(v) {
            return Ok(false);
        }
    }
    for req in selector.match_expressions.iter().flatten() {
        let values = req.values.as_deref().unwrap_or_default();
        let value = labels.get(&req.key);
        let ok = match req.operator.as_str() {
            "In" | "NotIn" if values.is_empty() => {
                return Err(SelectorError(format!(
                    "operator {} on key {} needs values",
                    req.operator, req.key
                )));
            }
            "In" => value.is_some_and(|v| values.contains(v)),
            "NotIn" => value.is_none_or(|v| !values.contains(v)),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            other => {
                return Err(SelectorError(format!(
                    "unknown operator {other:?} on key {}: use In, NotIn, Exists or DoesNotExist",
                    req.key
                )));
            }
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect()
    }

    fn req(key: &str, op: &str, values: &[&str]) -> LabelSelectorRequirement {
        LabelSelectorRequirement {
            key: key.into(),
            operator: op.into(),
            values: Some(values.iter().map(|v| (*v).into()).collect()),
        }
    }

    #[test]
    fn match_labels_and_expressions() {
        let l = labels(&[("region", "east"), ("tier", "prod")]);
        let sel = |ml: &[(&str, &str)], ex: Vec<LabelSelectorRequirement>| LabelSelector {
            match_labels: Some(labels(ml)),
            match_expressions: Some(ex),
        };
        assert_eq!(matches(&LabelSelector::default(), &l), Ok(true));
        assert_eq!(matches(&sel(&[("region", "east")], vec![]), &l), Ok(true));
        assert_eq!(matches(&sel(&[("region", "west")], vec![]), &l), Ok(false));
        assert_eq!(
            matches(&sel(&[], vec![req("tier", "In", &["prod", "staging"])]), &l),
            Ok(true)
        );
        assert_eq!(matches(&sel(&[], vec![req("tier", "NotIn", &["prod"])]), &l), Ok(false));
        assert_eq!(matches(&sel(&[], vec![req("zone", "DoesNotExist", &[])]), &l), Ok(true));
        assert_eq!(matches(&sel(&[], vec![req("zone", "Exists", &[])]), &l), Ok(false));
        assert!(matches(&sel(&[], vec![req("tier", "Near", &["x"])]), &l).is_err());
        assert!(matches(&sel(&[], vec![req("tier", "In", &[])]), &l).is_err());
    }
}
