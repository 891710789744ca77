//! The keys of Secrets and ConfigMaps a kind's own fields read (`kind::SsoKind::references`),
//! and their values once read (`dereference`). Values are held as secrets whatever their source:
//! a certificate is not secret, but one type keeps every value out of logs alike.

use crate::api::SecretKeyRef;
use crate::infisical::SecretString;

/// Where a referenced value lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    Secret,
    ConfigMap,
}

/// One key of a Secret or ConfigMap in the resource's namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KeyRef<'a> {
    pub source: Source,
    pub name: &'a str,
    pub key: &'a str,
    /// How the spec names the field, for messages (`spec.clientSecretRef`).
    pub field: &'static str,
}

impl<'a> KeyRef<'a> {
    pub fn secret(field: &'static str, r: &'a SecretKeyRef) -> Self {
        Self {
            source: Source::Secret,
            name: &r.name,
            key: &r.key,
            field,
        }
    }
}

/// The values of a kind's references, in the order the kind named them.
#[derive(Debug, Default)]
pub struct Referenced {
    values: Vec<(Source, String, String, SecretString)>,
}

impl Referenced {
    pub fn push(&mut self, r: &KeyRef<'_>, value: SecretString) {
        self.values
            .push((r.source, r.name.to_string(), r.key.to_string(), value));
    }

    /// The value `r` names; `None` when it was not among the references read.
    pub fn value(&self, r: &KeyRef<'_>) -> Option<&SecretString> {
        self.values
            .iter()
            .find(|(source, name, key, _)| *source == r.source && name == r.name && key == r.key)
            .map(|(.., value)| value)
    }

    /// Every value, in order (what the fingerprints hash).
    pub fn values(&self) -> impl Iterator<Item = &SecretString> {
        self.values.iter().map(|(.., value)| value)
    }
}
