//! Constraints on the agents executors may run on, written as Spark's `spark.mesos.constraints`:
//! `attr:v1,v2;attr2:v;attr3`: `;` between attributes, `:` before the accepted values, `,`
//! between alternatives. A TEXT attribute must equal one of the values, a SCALAR one be at least
//! the value, a SET one hold every listed item; an attribute without values must be present.

use super::proto::{value, Attribute};

/// One attribute's constraint.
#[derive(Clone, Debug, PartialEq)]
pub struct Constraint {
    pub attribute: String,
    /// Accepted values; empty: the attribute must be present.
    pub values: Vec<String>,
}

/// Why a constraint string cannot be read.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid --mesos-constraints '{text}': {reason}")]
pub struct ConstraintError {
    text: String,
    reason: String,
}

/// All of an agent's constraints.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Constraints(pub Vec<Constraint>);

impl std::str::FromStr for Constraints {
    type Err = ConstraintError;

    /// ```
    /// use ardent_scheduler::mesos::constraints::Constraints;
    /// let c: Constraints = "rack:r1,r2;ssd".parse().unwrap();
    /// assert_eq!(c.0.len(), 2);
    /// assert!("rack:".parse::<Constraints>().is_err());
    /// ```
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = |reason: &str| ConstraintError {
            text: text.to_string(),
            reason: reason.to_string(),
        };
        let mut constraints = Vec::new();
        for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (attribute, values) = match part.split_once(':') {
                Some((attribute, values)) => {
                    let values: Vec<String> =
                        values.split(',').map(|v| v.trim().to_string()).collect();
                    if values.iter().any(String::is_empty) {
                        return Err(error(&format!("'{part}' has an empty value")));
                    }
                    (attribute.trim(), values)
                }
                None => (part, Vec::new()),
            };
            if attribute.is_empty() {
                return Err(error(&format!("'{part}' names no attribute")));
            }
            constraints.push(Constraint {
                attribute: attribute.to_string(),
                values,
            });
        }
        Ok(Constraints(constraints))
    }
}

impl Constraints {
    /// The first constraint `attributes` (an offer's) fails, if any.
    pub fn unmet<'a>(&'a self, attributes: &[Attribute]) -> Option<&'a Constraint> {
        self.0.iter().find(|c| !c.met(attributes))
    }
}

impl Constraint {
    fn met(&self, attributes: &[Attribute]) -> bool {
        let Some(attribute) = attributes.iter().find(|a| a.name == self.attribute) else {
            return false;
        };
        if self.values.is_empty() {
            return true;
        }
        match value::Type::try_from(attribute.r#type) {
            Ok(value::Type::Text) => attribute
                .text
                .as_ref()
                .is_some_and(|t| self.values.contains(&t.value)),
            Ok(value::Type::Scalar) => attribute.scalar.as_ref().is_some_and(|s| {
                self.values
                    .iter()
                    .filter_map(|v| v.parse::<f64>().ok())
                    .any(|wanted| s.value >= wanted)
            }),
            Ok(value::Type::Set) => attribute
                .set
                .as_ref()
                .is_some_and(|s| self.values.iter().all(|v| s.item.contains(v))),
            // Spark's matcher never matched ranges; a listed value of one is not supported.
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesos::proto::value::{Scalar, Set, Text};

    fn text(name: &str, v: &str) -> Attribute {
        Attribute {
            name: name.into(),
            r#type: value::Type::Text as i32,
            text: Some(Text { value: v.into() }),
            ..Default::default()
        }
    }

    #[test]
    fn constraints_match_as_sparks_did() {
        let attributes = vec![
            text("rack", "r12"),
            Attribute {
                name: "ssd".into(),
                r#type: value::Type::Scalar as i32,
                scalar: Some(Scalar { value: 2.0 }),
                ..Default::default()
            },
            Attribute {
                name: "zone".into(),
                r#type: value::Type::Set as i32,
                set: Some(Set {
                    item: vec!["a".into(), "b".into()],
                }),
                ..Default::default()
            },
        ];
        let met = |c: &str| {
            c.parse::<Constraints>()
                .unwrap()
                .unmet(&attributes)
                .is_none()
        };
        assert!(met(""));
        assert!(met("rack:r1,r12"));
        assert!(!met("rack:r1"));
        assert!(met("ssd:1.5"));
        assert!(!met("ssd:3"));
        assert!(met("zone:a,b"));
        assert!(!met("zone:a,c"));
        assert!(met("rack;zone"));
        assert!(!met("gpu"));
        assert!(!met("rack:r12;gpu"));
        let unmet = "rack:r12;gpu".parse::<Constraints>().unwrap();
        assert_eq!(unmet.unmet(&attributes).unwrap().attribute, "gpu");
    }

    #[test]
    fn bad_constraints_name_the_part() {
        let err = "rack:r1,;ssd".parse::<Constraints>().unwrap_err();
        assert!(
            err.to_string().contains("'rack:r1,' has an empty value"),
            "{err}"
        );
        assert!(":x".parse::<Constraints>().is_err());
    }
}
