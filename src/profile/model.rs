//! The compiled XIMF model: plain structs, built by `parse`, read by `stamp` and `verify`.
//!
//! Shapes follow spec Part A (§1.3–§1.9, §1.12). Everything keeps document order, because order
//! decides list order, the default `index` and emission order.

use crate::error::Location;
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// A Trustedbird catalog (`ximfmail-profile.xml`): the first `theme` and its instances.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Catalog {
    /// The catalog file, when read from disk.
    pub path: Option<PathBuf>,
    /// `theme/@name`.
    pub theme: String,
    /// `theme/@defaultacl`, when given.
    pub default_acl: Option<i64>,
    /// The declared instances, in document order.
    pub instances: Vec<InstanceRef>,
}

/// One `instance` entry of a catalog.
#[derive(Debug, Clone, Default, Serialize)]
pub struct InstanceRef {
    /// `@id`, an internal key.
    pub id: String,
    /// `@name`, the identity that goes on the wire in `X-XIMF-NAME`.
    pub name: String,
    /// `@label`, a display title (falls back to the name).
    pub label: Option<String>,
    /// `@ximfVersion`, what goes in `X-XIMF-Version`.
    pub ximf_version: String,
    /// `@version`, the profile revision (never emitted).
    pub version: String,
    /// `@author`.
    pub author: Option<String>,
    /// `@directory` as written.
    pub directory: String,
    /// The headers ("schema") file name, as written.
    pub headers: Option<String>,
    /// The dictionary file name.
    pub dictionary: Option<String>,
    /// The ihm file name.
    pub ihm: Option<String>,
    /// The rules file names (Trustedbird reads one; we accept several).
    pub rules: Vec<String>,
    /// `acl`, when given.
    pub acl: Option<i64>,
    /// True for the plain-message entry (`id` or name `smtp`): it stamps nothing.
    pub plain: bool,
    /// Where the entry is declared.
    #[serde(skip)]
    pub location: Location,
}

/// A compiled instance: the four files merged (spec §1.2).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Instance {
    /// Wire name (`X-XIMF-NAME`): the catalog's `@name` when loaded through a catalog.
    pub name: String,
    /// `@version` (profile revision).
    pub version: String,
    /// `@ximfVersion` (format version, `2.0`).
    pub ximf_version: String,
    /// True for the plain `smtp` instance, which stamps nothing.
    pub plain: bool,
    /// Header definitions in headers-file order.
    pub headers: Vec<HeaderDef>,
    /// Rules in document order.
    pub rules: Vec<Rule>,
    /// Labels per locale.
    pub dictionary: Dictionary,
    /// The UI layout, when the instance has one.
    pub ihm: Option<Ihm>,
    /// External value lists referenced by `set ref="file.xml"`, keyed by the `ref` as written.
    pub external_lists: BTreeMap<String, ExternalList>,
    /// Elements and attributes ximf does not know, kept for lint.
    pub extensions: Vec<Extension>,
    /// The files this instance was read from.
    pub files: Vec<PathBuf>,
}

/// The value kind of a header (`@type`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HeaderKind {
    /// Plain values (the default, also when `type` is missing).
    String,
    /// An RFC 5322 date-time.
    Date,
    /// A list of mailboxes.
    Address,
    /// Any other declared type, treated like `string`.
    Other(String),
}

/// One `header` definition (spec §1.4).
#[derive(Debug, Clone, Serialize)]
pub struct HeaderDef {
    /// `@id` (`header-...`).
    pub id: String,
    /// `@headerName`, the field name to emit.
    pub name: String,
    /// `@technicalHeaderName`: a second field carrying the `technicalContent` values.
    pub technical_name: Option<String>,
    /// `@type`.
    pub kind: HeaderKind,
    /// `@technicalType` (informative only).
    pub technical_type: Option<String>,
    /// `@isMandatory` (default false).
    pub mandatory: bool,
    /// `@ilk`; a header without one is hidden and fixed (spec §1.4, trap 5).
    pub ilk: Option<String>,
    /// `@description`.
    pub description: Option<String>,
    /// The value tree.
    pub body: HeaderBody,
    /// Where it is declared.
    #[serde(skip)]
    pub location: Location,
}

impl HeaderDef {
    /// A header without `ilk` is hidden: always emitted with its fixed content.
    pub fn is_hidden(&self) -> bool {
        self.ilk.is_none()
    }
}

/// The value content of a header: one of the XSD's alternatives.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "node", content = "lists", rename_all = "lowercase")]
// Built once per profile and matched everywhere: boxing variants would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum HeaderBody {
    /// One or more `set`s (closed lists; several = alternatives chosen by `linkedValue`).
    Sets(Vec<ValueList>),
    /// One or more `multiset`s (bags, repeats allowed).
    Multisets(Vec<ValueList>),
    /// `compstring`s directly under the header.
    Compstrings(Vec<Comp>),
    /// Exactly one `string` (fixed content, or editable free text).
    String(StringValue),
    /// No value node at all.
    Empty,
}

/// Facets (`XIMFFacetsGroup`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Facets {
    /// `@maxLength`, per item, in characters.
    pub max_length: Option<u32>,
    /// `@minLength`.
    pub min_length: Option<u32>,
    /// `@maxItem` (XSD default 1).
    pub max_item: Option<u32>,
    /// `@minItem`.
    pub min_item: Option<u32>,
    /// `@separator` (Trustedbird default `,`).
    pub separator: Option<String>,
    /// `@technicalSeparator` (default `,`).
    pub technical_separator: Option<String>,
}

/// How a `set`/`multiset` `ref` resolved (spec §1.5: internal id first, then a file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "target", rename_all = "lowercase")]
pub enum ListRef {
    /// Reuses the values of the element with this id.
    Internal(String),
    /// An external list file (key in [`Instance::external_lists`]).
    External(String),
}

/// A `set` or `multiset`.
#[derive(Debug, Clone, Serialize)]
pub struct ValueList {
    /// `@id`.
    pub id: Option<String>,
    /// `@ref`, resolved.
    pub reference: Option<ListRef>,
    /// True for a `multiset`.
    pub multi: bool,
    /// Facets.
    pub facets: Facets,
    /// `@ilk`.
    pub ilk: Option<String>,
    /// Items in document order. For a `ref`, the target's items, resolved once and shared by
    /// every list that names the same target (not a copy per list).
    pub items: Items,
    /// Where it is declared.
    #[serde(skip)]
    pub location: Location,
}

/// The items of a list: a shared, read-only slice. Lists that `ref` the same target share one
/// allocation, so a value list used by many headers costs its size once (issue 12); cloning is
/// cheap. Reads like a `&[Item]` (`iter`, `len`, indexing, `for item in &list.items`).
#[derive(Clone)]
pub struct Items(Arc<Vec<Item>>);

impl Items {
    /// True when both hold the same shared allocation (a `ref` and its target, say).
    pub fn shares(&self, other: &Items) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// The items to edit in place; copied first when shared, so no other list changes.
    pub(crate) fn make_mut(&mut self) -> &mut Vec<Item> {
        Arc::make_mut(&mut self.0)
    }
}

impl Default for Items {
    fn default() -> Self {
        Items(Arc::new(Vec::new()))
    }
}

impl std::ops::Deref for Items {
    type Target = [Item];
    fn deref(&self) -> &[Item] {
        &self.0
    }
}

impl From<Vec<Item>> for Items {
    fn from(v: Vec<Item>) -> Self {
        Items(Arc::new(v))
    }
}

impl FromIterator<Item> for Items {
    fn from_iter<I: IntoIterator<Item = Item>>(iter: I) -> Self {
        Items(Arc::new(iter.into_iter().collect()))
    }
}

impl<'a> IntoIterator for &'a Items {
    type Item = &'a Item;
    type IntoIter = std::slice::Iter<'a, Item>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl std::fmt::Debug for Items {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.iter()).finish()
    }
}

impl Serialize for Items {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.as_slice().serialize(s)
    }
}

/// An item of a list.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "node", rename_all = "lowercase")]
// Built once per profile and matched everywhere: boxing variants would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum Item {
    /// A `string`.
    String(StringValue),
    /// A `compstring`.
    Compstring(Comp),
}

/// A `string` value node.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StringValue {
    /// `@id`.
    pub id: Option<String>,
    /// `@content`, the wire value.
    pub content: Option<String>,
    /// `@technicalContent`, the value of the technical header.
    pub technical_content: Option<String>,
    /// `@editable`: free text typed by the user.
    pub editable: bool,
    /// `@ilk`, the dictionary key (or literal label).
    pub ilk: Option<String>,
    /// `@index`, ordinal rank for constraint rules.
    pub index: Option<u32>,
    /// `@aclLevel`.
    pub acl_level: Option<u32>,
    /// `@description`.
    pub description: Option<String>,
    /// `linkedValue/@ref`s: ids of the lists this choice activates.
    pub links: Vec<String>,
    /// Facets.
    pub facets: Facets,
    /// Where it is declared.
    #[serde(skip)]
    pub location: Location,
}

/// A `compstring`: a fixed master part and a child part (spec §1.5).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Comp {
    /// `@id`.
    pub id: Option<String>,
    /// `@content`, the master part.
    pub content: Option<String>,
    /// `@technicalContent`.
    pub technical_content: Option<String>,
    /// `@ilk`.
    pub ilk: Option<String>,
    /// `@contentPositionEnd`: master after the child.
    pub position_end: bool,
    /// `@contentFactorise`: master written once for all children.
    pub factorise: bool,
    /// `@ximfchild` (undeclared): the child part is mandatory once the master is chosen.
    pub require_child: bool,
    /// `@index`.
    pub index: Option<u32>,
    /// `@aclLevel`.
    pub acl_level: Option<u32>,
    /// Facets (the separator joins master and child).
    pub facets: Facets,
    /// The child part.
    pub child: CompChild,
    /// Where it is declared.
    #[serde(skip)]
    pub location: Location,
}

/// The child part of a `compstring`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(tag = "node", rename_all = "lowercase")]
pub enum CompChild {
    /// No child: the compstring is a plain value.
    #[default]
    None,
    /// One `string` (usually editable).
    String(StringValue),
    /// One `set` or `multiset`.
    List(ValueList),
    /// Several nested `compstring`s.
    Nested(Vec<Comp>),
}

/// Labels per locale (spec §1.7).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Dictionary {
    /// `@id`.
    pub id: Option<String>,
    /// Locale → (ilk → label), locales in document order.
    pub locales: Vec<(String, BTreeMap<String, String>)>,
}

impl Dictionary {
    /// The label of `ilk` in `lang`: exact locale first, then by BCP 47 prefix (`en-US` → `en`),
    /// then the `ilk` itself (Trustedbird's fallback, which makes literal ilks such as
    /// `MAKE NO COPY` work without a dictionary entry).
    pub fn label<'a>(&'a self, ilk: &'a str, lang: &str) -> &'a str {
        let primary = lang.split('-').next().unwrap_or(lang);
        let exact = self
            .locales
            .iter()
            .find(|(l, _)| l.eq_ignore_ascii_case(lang));
        let by_prefix = self.locales.iter().find(|(l, _)| {
            l.split('-')
                .next()
                .is_some_and(|p| p.eq_ignore_ascii_case(primary))
        });
        exact
            .into_iter()
            .chain(by_prefix)
            .find_map(|(_, m)| m.get(ilk))
            .map(String::as_str)
            .unwrap_or(ilk)
    }

    /// The declared locale names.
    pub fn langs(&self) -> impl Iterator<Item = &str> {
        self.locales.iter().map(|(l, _)| l.as_str())
    }
}

/// The compose-window layout (spec §1.8), kept for `--ihm-scope` and `show`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Ihm {
    /// Header ids referenced by the panels, in order.
    pub header_refs: Vec<String>,
    /// Header ids shown in the received-mail list.
    pub tree_rcv: Vec<String>,
}

/// A `rule` (spec §1.9): its attributes and the kinds it holds (real files put two in one rule).
#[derive(Debug, Clone, Serialize)]
pub struct Rule {
    /// `@id`.
    pub id: Option<String>,
    /// `@agent`: the rule applies only when ximf acts as that agent.
    pub agent: Option<String>,
    /// `@description`.
    pub description: Option<String>,
    /// The rule bodies in document order.
    pub kinds: Vec<RuleKind>,
    /// Where it is declared.
    #[serde(skip)]
    pub location: Location,
}

/// One rule body.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum RuleKind {
    /// `constraint left operator right`: compares the `index` of the chosen value of header
    /// `left` with the `index` of value `right`.
    Constraint {
        /// Header id.
        left: String,
        /// `greaterThan`, `lowerThan`, `equalOrGreaterThan`, `equalOrLowerThan`, `equal`.
        operator: String,
        /// Value id.
        right: String,
    },
    /// `processing @type` over header names.
    Processing {
        /// `sign-header-value`, `encrypt-header-value`, `capitalize-header-value`.
        r#type: String,
        /// The field names.
        headers: Vec<String>,
    },
    /// Alternate header formats (X-P772, MMHS).
    Compatibility {
        /// `@targetName`.
        target_name: String,
        /// `@targetVersion`.
        target_version: Option<String>,
        /// The aliases.
        aliases: Vec<AliasHeader>,
    },
    /// `policy` → `role@aclLevel`.
    Policy {
        /// The role levels.
        roles: Vec<u32>,
    },
    /// The extension point: the raw subtree, keyed by provider.
    Custom {
        /// `@id`.
        id: Option<String>,
        /// `@provider`.
        provider: String,
        /// The inner XML as written.
        raw: String,
    },
    /// Allowed values of a dependent header per value of a controlling header.
    Association {
        /// The aliases (`headerName` dependent, `headerRef` controlling).
        aliases: Vec<AliasHeader>,
    },
    /// Header fields to protect in an S/MIME signature.
    SecureHeaders {
        /// `@canonalgo`: 0 simple, 1 relaxed.
        canon_algo: Option<u8>,
        /// The fields with their status.
        aliases: Vec<AliasHeader>,
    },
    /// An ESS security label built from header values.
    SecurityLabel {
        /// The label components.
        aliases: Vec<AliasHeader>,
    },
    /// `classificationPictures` / `categoryPictures`: display only.
    Pictures {
        /// The element's local name.
        element: String,
        /// Header → (value → URL).
        aliases: Vec<AliasHeader>,
    },
    /// `special` (`MandatoryHeaders`): header mandatory when a recipient field is non-empty.
    Special {
        /// The aliases (`headerName` XIMF header, `headerRef` `to`/`cc`/`bcc`).
        aliases: Vec<AliasHeader>,
    },
    /// An element ximf does not know, kept as written.
    Unknown {
        /// Its local name.
        element: String,
    },
}

/// `aliasHeader`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AliasHeader {
    /// `@headerName`.
    pub header_name: String,
    /// `@headerRef`.
    pub header_ref: Option<String>,
    /// `@status` (secure headers: 0 duplicated, 1 deleted, 2 modified).
    pub status: Option<u8>,
    /// `@type` (security label categories).
    pub r#type: Option<String>,
    /// `aliasValue` pairs, never joined (spec §1.9.0).
    pub values: Vec<AliasValue>,
}

/// `aliasValue`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AliasValue {
    /// `@valueName`.
    pub value_name: Option<String>,
    /// `@valueRef`.
    pub value_ref: Option<String>,
}

/// An external value list file (spec §1.6): rows of cells, cell 0 is the wire key.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ExternalList {
    /// The resolved file.
    pub path: PathBuf,
    /// `base/@name`.
    pub name: Option<String>,
    /// Column headings.
    pub columns: Vec<String>,
    /// Rows: `data[0]` is the key written to the header, `data[1]` its description.
    pub rows: Vec<Vec<String>>,
}

/// An element or attribute ximf does not know: kept and reported by lint, never a crash.
#[derive(Debug, Clone, Serialize)]
pub struct Extension {
    /// The qualified name as written.
    pub name: String,
    /// `element` or `attribute`.
    pub what: &'static str,
    /// Where.
    #[serde(skip)]
    pub location: Location,
}
