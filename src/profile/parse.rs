//! XML trees → model pieces: one instance file at a time (spec §1.3–§1.10), external value lists
//! (§1.6) and Trustedbird's secure-headers default file (§1.9.7).
//!
//! Parsing here is local to one file: it checks what one element can tell (attribute syntax,
//! id patterns, value-node mixing) and leaves cross-file references to the merge step
//! (`compile`), because ids share one space across the four files of an instance (§1.2).
//!
//! Nothing in here fails on a deviation. Unknown elements and attributes become
//! [`Extension`]s plus a warning; XSD-required attributes that are missing get the defaults of
//! spec §1.11 ("robust-parser rules") plus a warning.

use super::model::*;
use super::source::Source;
use super::xml::{self, Document, Element, Ns};
use super::{Diagnostic, LoadError};
use crate::error::Location;
use std::path::Path;

/// A parse result with the diagnostics found on the way.
#[derive(Debug, Clone)]
pub struct Parsed<T> {
    /// What was read.
    pub value: T,
    /// Warnings and errors, in document order.
    pub diagnostics: Vec<Diagnostic>,
}

/// Reads the rules of one rules file (root `ximf:instance`, every `ximf:rule` child), without a
/// catalog. Cross-references are not checked: that needs the other files of the instance.
///
/// # Errors
///
/// [`Error::Profile`](crate::Error::Profile) when the file cannot be read, is not well-formed, or
/// its root is not `ximf:instance`.
pub fn rules_file(path: &Path) -> crate::Result<Parsed<Vec<Rule>>> {
    let doc = read_doc(Source::Disk, path)?;
    let (parts, diagnostics) = instance_parts(&doc)?;
    Ok(Parsed {
        value: parts.rules,
        diagnostics,
    })
}

/// Reads an external value list (spec §1.6: root `ximf` in no namespace, `ximf:base` →
/// `ximf:header/ximf:column` headings and `ximf:tree/ximf:description/ximf:data` rows).
///
/// # Errors
///
/// [`Error::Profile`](crate::Error::Profile) when the file cannot be read, is not well-formed, or
/// has no `ximf:base`.
pub fn external_list_file(path: &Path) -> crate::Result<Parsed<ExternalList>> {
    let doc = read_doc(Source::Disk, path)?;
    let (value, diagnostics) = external_list(&doc)?;
    Ok(Parsed { value, diagnostics })
}

/// Reads Trustedbird's `secureHeadersDefault.xml` shape (root `ximf:secure_headers`, or the
/// XSL-generated `ximf:signed_headers`, → `ximf:headers` → `ximf:header @name [@status]`) into
/// alias headers, in document order. Either XIMF namespace URI is accepted (spec §1.11 item 14).
///
/// # Errors
///
/// [`Error::Profile`](crate::Error::Profile) when the file cannot be read, is not well-formed, or
/// has another root; also when a `status` is not 0, 1 or 2.
pub fn secure_headers_file(path: &Path) -> crate::Result<Vec<AliasHeader>> {
    let doc = read_doc(Source::Disk, path)?;
    let root = &doc.root;
    if !matches!(root.local.as_str(), "secure_headers" | "signed_headers") {
        return Err(LoadError::new(
            "wrong-root",
            root.loc.clone(),
            format!("expected ximf:secure_headers, found <{}>", root.qname),
        )
        .into());
    }
    let mut out = Vec::new();
    for headers in root.children_named("headers") {
        for h in headers.children_named("header") {
            let status = match h.attr("status").map(str::trim) {
                None | Some("") => None,
                Some(s) => match s.parse::<u8>() {
                    Ok(v) if v <= 2 => Some(v),
                    _ => {
                        return Err(crate::Error::profile(
                            h.loc.clone(),
                            format!("status {s:?} is not 0, 1 or 2"),
                        ));
                    }
                },
            };
            out.push(AliasHeader {
                header_name: h.attr("name").unwrap_or_default().trim().to_owned(),
                status,
                ..AliasHeader::default()
            });
        }
    }
    Ok(out)
}

/// Reads and parses one file through `source`.
pub(crate) fn read_doc(source: Source, path: &Path) -> Result<Document, LoadError> {
    let bytes = source.read(path).map_err(|e| {
        LoadError::new(
            "unreadable",
            xml::file_location(path),
            format!("cannot read: {e}"),
        )
    })?;
    xml::parse(path, &bytes).map_err(LoadError::from_xml)
}

/// The root attributes of an instance file.
#[derive(Debug, Clone, Default)]
pub(crate) struct RootInfo {
    pub name: Option<String>,
    pub location: Location,
}

/// Everything one instance file holds. Any of the four roles may hold any part; the merge
/// decides which parts count (spec §1.2).
#[derive(Debug, Clone, Default)]
pub(crate) struct FileParts {
    pub root: RootInfo,
    pub headers: Vec<HeaderDef>,
    pub rules: Vec<Rule>,
    pub dictionaries: Vec<(Dictionary, Location)>,
    pub ihms: Vec<(Ihm, Location)>,
    pub extensions: Vec<Extension>,
}

/// The correspondence-policy provider other modules read from `custom` rules (design.md §3.2).
pub(crate) const CORRESPONDENCE_PROVIDER: &str = "urn:ximf:correspondence:1";

// Attribute groups of the XSD (spec §1.5).
const FACETS: &[&str] = &[
    "maxLength",
    "minLength",
    "maxItem",
    "minItem",
    "separator",
    "technicalSeparator",
];
const PROPERTIES: &[&str] = &["id", "ref", "ilk", "aclLevel", "index", "description"];
const CONTENT: &[&str] = &["content", "technicalContent"];

/// True for XIMF `PrintableString`: ASN.1 PrintableString plus `;` (spec §1.10).
pub(crate) fn is_printable_string(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(
                    c,
                    ' ' | ',' | ';' | ':' | '=' | '/' | '?' | '\'' | '(' | ')' | '+' | '-' | '.'
                )
        })
}

/// True for an RFC 5322 §3.6.8 field-name: printable US-ASCII except `:`, no space.
pub(crate) fn is_field_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| (33..=126).contains(&b) && b != b':')
}

/// Parses an instance file (root `ximf:instance`) into its parts.
pub(crate) fn instance_parts(doc: &Document) -> Result<(FileParts, Vec<Diagnostic>), LoadError> {
    let root = &doc.root;
    let is_instance = root.local == "instance" && (root.is_ximf() || root.ns == Ns::None);
    if !is_instance {
        return Err(LoadError::new(
            "wrong-root",
            root.loc.clone(),
            format!("expected ximf:instance, found <{}>", root.qname),
        ));
    }
    let mut cx = Ctx::new(doc);
    cx.bom();
    // Touch the namespace check for the root itself.
    cx.ximf_local(root);
    cx.check_attrs(
        root,
        &[&["name", "version", "ximfVersion", "author", "creationDate"]],
    );
    for required in ["name", "version", "ximfVersion"] {
        if root.attr(required).is_none() {
            cx.missing(root, required, "");
        }
    }
    if let Some(v) = root.attr("ximfVersion")
        && v.trim() != "2.0"
    {
        cx.warn(
            root.loc.clone(),
            "ximf-version",
            format!("ximfVersion {v:?} is not 2.0; reading it as XIMF 2.0"),
        );
    }
    let mut parts = FileParts {
        root: RootInfo {
            name: root.attr("name").map(|s| s.trim().to_owned()),
            location: root.loc.clone(),
        },
        ..FileParts::default()
    };
    for child in &root.children {
        match cx.ximf_local(child) {
            Some("header") => {
                if let Some(h) = cx.header(child) {
                    parts.headers.push(h);
                }
            }
            Some("rule") => parts.rules.push(cx.rule(child)),
            Some("dictionary") => parts
                .dictionaries
                .push((cx.dictionary(child), child.loc.clone())),
            Some("ihm") => parts.ihms.push((cx.ihm(child), child.loc.clone())),
            _ => cx.unknown_element(child, "ximf:instance"),
        }
    }
    parts.extensions = std::mem::take(&mut cx.extensions);
    Ok((parts, cx.diags))
}

/// Parses an external value list file (spec §1.6).
pub(crate) fn external_list(doc: &Document) -> Result<(ExternalList, Vec<Diagnostic>), LoadError> {
    let root = &doc.root;
    let mut cx = Ctx::new(doc);
    cx.bom();
    let base = if root.local == "base" {
        Some(root)
    } else {
        root.first_descendant("base")
    };
    let Some(base) = base else {
        return Err(LoadError::new(
            "wrong-root",
            root.loc.clone(),
            format!(
                "<{}> holds no ximf:base: not an external value list",
                root.qname
            ),
        ));
    };
    let mut list = ExternalList {
        path: doc.path.clone(),
        name: base.attr("name").map(str::to_owned),
        ..ExternalList::default()
    };
    if let Some(header) = base.children_named("header").next() {
        list.columns = header
            .children_named("column")
            .map(|c| c.trimmed_text().to_owned())
            .collect();
    }
    // Trustedbird reads rows from the first tree only.
    if let Some(tree) = base.children_named("tree").next() {
        for row in tree.children_named("description") {
            let cells: Vec<String> = row
                .children_named("data")
                .map(|d| d.trimmed_text().to_owned())
                .collect();
            match cells.first() {
                Some(key) if !key.is_empty() => {
                    if !is_printable_string(key) {
                        cx.warn(
                            row.loc.clone(),
                            "not-printable-string",
                            format!("list key {key:?} is not an XIMF PrintableString"),
                        );
                    }
                    list.rows.push(cells);
                }
                _ => cx.warn(row.loc.clone(), "empty-key", "row without a key (ignored)"),
            }
        }
    }
    Ok((list, cx.diags))
}

/// Per-file parsing state.
struct Ctx<'d> {
    doc: &'d Document,
    diags: Vec<Diagnostic>,
    extensions: Vec<Extension>,
    namespace_warned: bool,
}

impl<'d> Ctx<'d> {
    fn new(doc: &'d Document) -> Self {
        Ctx {
            doc,
            diags: Vec::new(),
            extensions: Vec::new(),
            namespace_warned: false,
        }
    }

    fn warn(&mut self, loc: Location, code: &'static str, msg: impl Into<String>) {
        self.diags.push(Diagnostic::warning(loc, code, msg));
    }

    fn error(&mut self, loc: Location, code: &'static str, msg: impl Into<String>) {
        self.diags.push(Diagnostic::error(loc, code, msg));
    }

    fn bom(&mut self) {
        if self.doc.had_bom {
            self.warn(
                xml::file_location(&self.doc.path),
                "bom",
                "file starts with a UTF-8 byte order mark (ignored)",
            );
        }
    }

    /// The local name of an XIMF element; `None` for elements of another namespace. Elements
    /// in no namespace, or with an unbound `ximf:` prefix, are read as XIMF (Trustedbird
    /// matches on names) with one warning per file.
    fn ximf_local<'e>(&mut self, el: &'e Element) -> Option<&'e str> {
        match &el.ns {
            Ns::Ximf => Some(&el.local),
            Ns::None | Ns::Unbound(_) if el.ns == Ns::None || el.is_ximf() => {
                if !self.namespace_warned {
                    self.namespace_warned = true;
                    self.warn(
                        el.loc.clone(),
                        "namespace",
                        format!(
                            "<{}> is not in the XIMF namespace ({}); read as XIMF",
                            el.qname,
                            xml::NS_EADS
                        ),
                    );
                }
                Some(&el.local)
            }
            _ => None,
        }
    }

    fn unknown_element(&mut self, el: &Element, parent: &str) {
        self.extensions.push(Extension {
            name: el.qname.clone(),
            what: "element",
            location: el.loc.clone(),
        });
        self.warn(
            el.loc.clone(),
            "unknown-element",
            format!("unknown element <{}> in {parent} (kept, ignored)", el.qname),
        );
    }

    /// Records every attribute of `el` that is not in one of `allowed`.
    fn check_attrs(&mut self, el: &Element, allowed: &[&[&str]]) {
        for a in &el.attrs {
            if a.is_infrastructure() {
                continue;
            }
            let known = matches!(a.ns, Ns::None | Ns::Ximf)
                && allowed.iter().any(|g| g.contains(&a.local.as_str()));
            if !known {
                self.extensions.push(Extension {
                    name: a.qname.clone(),
                    what: "attribute",
                    location: a.loc.clone(),
                });
                self.warn(
                    a.loc.clone(),
                    "unknown-attribute",
                    format!(
                        "unknown attribute {} on <{}> (kept, ignored)",
                        a.qname, el.qname
                    ),
                );
            }
        }
    }

    fn missing(&mut self, el: &Element, attr: &str, default: &str) {
        // Name the element by its id when it has one: headers all look alike otherwise.
        let what = match el.attr("id") {
            Some(id) => format!("<{} id=\"{id}\">", el.qname),
            None => format!("<{}>", el.qname),
        };
        let msg = if default.is_empty() {
            format!("{what} lacks required attribute {attr}")
        } else {
            format!("{what} lacks required attribute {attr}; using {default}")
        };
        self.warn(el.loc.clone(), "missing-attribute", msg);
    }

    fn attr_loc(el: &Element, name: &str) -> Location {
        el.attr_node(name)
            .map_or_else(|| el.loc.clone(), |a| a.loc.clone())
    }

    fn u32_attr(&mut self, el: &Element, name: &str) -> Option<u32> {
        let v = el.attr(name)?.trim();
        match v.parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => {
                self.error(
                    Self::attr_loc(el, name),
                    "bad-attribute-value",
                    format!("{name}={v:?} is not an unsigned integer"),
                );
                None
            }
        }
    }

    fn bool_attr(&mut self, el: &Element, name: &str) -> Option<bool> {
        let v = el.attr(name)?.trim();
        match v {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => {
                self.error(
                    Self::attr_loc(el, name),
                    "bad-attribute-value",
                    format!("{name}={v:?} is not a boolean (true, false, 1, 0)"),
                );
                None
            }
        }
    }

    /// An id, with the XSD pattern check (`header-.*`, `value-.*`) as a warning: the field
    /// profiles use `data-...` value ids (spec §1.11 item 7).
    fn id(&mut self, el: &Element, prefix: &str) -> Option<String> {
        let id = el.attr("id")?.trim();
        if id.is_empty() {
            return None;
        }
        if !id.starts_with(prefix) {
            self.warn(
                Self::attr_loc(el, "id"),
                "id-pattern",
                format!("id {id:?} does not match the schema pattern {prefix}.*"),
            );
        }
        Some(id.to_owned())
    }

    /// `content`/`technicalContent`: kept as written, warned when outside PrintableString.
    fn printable(&mut self, el: &Element, name: &str) -> Option<String> {
        let v = el.attr(name)?;
        if !is_printable_string(v) {
            self.warn(
                Self::attr_loc(el, name),
                "not-printable-string",
                format!("{name}={v:?} is not an XIMF PrintableString (A-Z a-z 0-9 space , ; : = / ? ' ( ) + - .)"),
            );
        }
        Some(v.to_owned())
    }

    fn separator(&mut self, el: &Element, name: &str) -> Option<String> {
        let v = el.attr(name)?;
        if v.is_empty() {
            self.error(
                Self::attr_loc(el, name),
                "empty-separator",
                format!("{name} is empty: values could not be told apart"),
            );
            return None;
        }
        self.printable(el, name)
    }

    fn facets(&mut self, el: &Element) -> Facets {
        Facets {
            max_length: self.u32_attr(el, "maxLength"),
            min_length: self.u32_attr(el, "minLength"),
            max_item: self.u32_attr(el, "maxItem"),
            min_item: self.u32_attr(el, "minItem"),
            separator: self.separator(el, "separator"),
            technical_separator: self.separator(el, "technicalSeparator"),
        }
    }

    fn header(&mut self, el: &Element) -> Option<HeaderDef> {
        self.check_attrs(
            el,
            &[&[
                "id",
                "headerName",
                "technicalHeaderName",
                "type",
                "technicalType",
                "isMandatory",
                "ilk",
                "description",
            ]],
        );
        let id = match self.id(el, "header-") {
            Some(id) => id,
            None => {
                self.missing(el, "id", "");
                String::new()
            }
        };
        let Some(name) = el.attr("headerName").map(str::trim) else {
            // Without a field name the header cannot be emitted or checked at all.
            self.error(
                el.loc.clone(),
                "missing-attribute",
                format!("header {id:?} lacks headerName (header ignored)"),
            );
            return None;
        };
        if !is_field_name(name) {
            self.error(
                Self::attr_loc(el, "headerName"),
                "bad-header-name",
                format!("headerName {name:?} is not an RFC 5322 field name"),
            );
        }
        let technical_name = el.attr("technicalHeaderName").map(|t| t.trim().to_owned());
        if let Some(t) = &technical_name
            && !is_field_name(t)
        {
            self.error(
                Self::attr_loc(el, "technicalHeaderName"),
                "bad-header-name",
                format!("technicalHeaderName {t:?} is not an RFC 5322 field name"),
            );
        }
        let kind = match el.attr("type").map(str::trim) {
            None => {
                self.missing(el, "type", "string");
                HeaderKind::String
            }
            Some("string") => HeaderKind::String,
            Some("date") => HeaderKind::Date,
            Some("address") => HeaderKind::Address,
            Some(other) => HeaderKind::Other(other.to_owned()),
        };
        let mandatory = if el.attr("isMandatory").is_none() {
            self.missing(el, "isMandatory", "false");
            false
        } else {
            self.bool_attr(el, "isMandatory").unwrap_or(false)
        };
        let body = self.header_body(el);
        let header = HeaderDef {
            id,
            name: name.to_owned(),
            technical_name,
            kind,
            technical_type: el.attr("technicalType").map(str::to_owned),
            mandatory,
            ilk: el.attr("ilk").map(str::to_owned),
            description: el.attr("description").map(str::to_owned),
            body,
            location: el.loc.clone(),
        };
        if header.is_hidden()
            && !matches!(&header.body, HeaderBody::String(s) if s.content.is_some())
        {
            self.warn(
                el.loc.clone(),
                "hidden-without-content",
                format!(
                    "header {} has no ilk, so it is hidden and fixed, but has no string content to send",
                    header.name
                ),
            );
        }
        Some(header)
    }

    /// The value nodes of a header: exactly one of several sets, several multisets, any number
    /// of compstrings, or one string (spec §1.4). On a mix the first kind wins.
    fn header_body(&mut self, el: &Element) -> HeaderBody {
        let mut nodes: Vec<(&str, &Element)> = Vec::new();
        for c in &el.children {
            match self.ximf_local(c) {
                Some(k @ ("set" | "multiset" | "compstring" | "string")) => nodes.push((k, c)),
                _ => self.unknown_element(c, "ximf:header"),
            }
        }
        let Some(&(first, _)) = nodes.first() else {
            return HeaderBody::Empty;
        };
        let strings = nodes.iter().filter(|(k, _)| *k == "string").count();
        if nodes.iter().any(|(k, _)| *k != first) || strings > 1 {
            let kinds: Vec<&str> = nodes.iter().map(|(k, _)| *k).collect();
            self.error(
                el.loc.clone(),
                "mixed-value-nodes",
                format!(
                    "header holds {} but allows only one kind (several set, several multiset, compstrings, or one string); using the {first} nodes",
                    kinds.join(", ")
                ),
            );
        }
        let same: Vec<&Element> = nodes
            .iter()
            .filter(|(k, _)| *k == first)
            .map(|(_, e)| *e)
            .collect();
        match first {
            "set" => HeaderBody::Sets(same.into_iter().map(|e| self.list(e, false)).collect()),
            "multiset" => {
                HeaderBody::Multisets(same.into_iter().map(|e| self.list(e, true)).collect())
            }
            "compstring" => {
                HeaderBody::Compstrings(same.into_iter().map(|e| self.comp(e)).collect())
            }
            _ => match same.first() {
                Some(e) => HeaderBody::String(self.string_value(e)),
                None => HeaderBody::Empty,
            },
        }
    }

    fn list(&mut self, el: &Element, multi: bool) -> ValueList {
        // `ximfdefault` is Trustedbird's undeclared preselection attribute (spec §1.5).
        self.check_attrs(el, &[FACETS, PROPERTIES, &["ximfdefault"]]);
        let mut items = Vec::new();
        for c in &el.children {
            match self.ximf_local(c) {
                Some("string") => items.push(Item::String(self.string_value(c))),
                Some("compstring") => items.push(Item::Compstring(self.comp(c))),
                _ => self.unknown_element(c, if multi { "ximf:multiset" } else { "ximf:set" }),
            }
        }
        // The ref is resolved (internal id first, then a file) after the merge; until then
        // it is held as written.
        let reference = el
            .attr("ref")
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(|r| ListRef::Internal(r.to_owned()));
        ValueList {
            id: self.id(el, "value-"),
            reference,
            multi,
            facets: self.facets(el),
            ilk: el.attr("ilk").map(str::to_owned),
            items: items.into(),
            location: el.loc.clone(),
        }
    }

    fn string_value(&mut self, el: &Element) -> StringValue {
        self.check_attrs(el, &[FACETS, PROPERTIES, CONTENT, &["editable"]]);
        let mut links = Vec::new();
        for c in &el.children {
            match self.ximf_local(c) {
                Some("linkedValue") => {
                    self.check_attrs(c, &[&["ref"]]);
                    match c.attr("ref").map(str::trim) {
                        Some(r) if !r.is_empty() => links.push(r.to_owned()),
                        _ => self.missing(c, "ref", ""),
                    }
                }
                _ => self.unknown_element(c, "ximf:string"),
            }
        }
        StringValue {
            id: self.id(el, "value-"),
            content: self.printable(el, "content"),
            technical_content: self.printable(el, "technicalContent"),
            editable: self.bool_attr(el, "editable").unwrap_or(false),
            ilk: el.attr("ilk").map(str::to_owned),
            index: self.u32_attr(el, "index"),
            acl_level: self.u32_attr(el, "aclLevel"),
            description: el.attr("description").map(str::to_owned),
            links,
            facets: self.facets(el),
            location: el.loc.clone(),
        }
    }

    fn comp(&mut self, el: &Element) -> Comp {
        self.check_attrs(
            el,
            &[
                FACETS,
                PROPERTIES,
                CONTENT,
                &[
                    "contentPositionEnd",
                    "contentFactorise",
                    "technicalPositionEnd",
                    "ximfchild",
                ],
            ],
        );
        let mut nodes: Vec<(&str, &Element)> = Vec::new();
        for c in &el.children {
            match self.ximf_local(c) {
                Some(k @ ("string" | "set" | "multiset" | "compstring")) => nodes.push((k, c)),
                _ => self.unknown_element(c, "ximf:compstring"),
            }
        }
        let child = match nodes.first() {
            None => CompChild::None,
            Some(&(first, node)) => {
                let nested_only = nodes.iter().all(|(k, _)| *k == "compstring");
                if !nested_only && nodes.len() > 1 {
                    self.error(
                        el.loc.clone(),
                        "mixed-value-nodes",
                        format!(
                            "compstring holds {} children; it allows one string, one set, one multiset, or several compstrings; using the first",
                            nodes.len()
                        ),
                    );
                }
                match first {
                    "string" => CompChild::String(self.string_value(node)),
                    "set" => CompChild::List(self.list(node, false)),
                    "multiset" => CompChild::List(self.list(node, true)),
                    _ => CompChild::Nested(
                        nodes
                            .iter()
                            .filter(|(k, _)| *k == "compstring")
                            .map(|(_, e)| self.comp(e))
                            .collect(),
                    ),
                }
            }
        };
        // `ximfchild` is undeclared; Trustedbird only tests for its presence, so any value
        // other than an explicit false counts.
        let require_child = el
            .attr("ximfchild")
            .is_some_and(|v| !matches!(v.trim(), "false" | "0" | "no"));
        Comp {
            id: self.id(el, "value-"),
            content: self.printable(el, "content"),
            technical_content: self.printable(el, "technicalContent"),
            ilk: el.attr("ilk").map(str::to_owned),
            position_end: self.bool_attr(el, "contentPositionEnd").unwrap_or(false),
            factorise: self.bool_attr(el, "contentFactorise").unwrap_or(false),
            require_child,
            index: self.u32_attr(el, "index"),
            acl_level: self.u32_attr(el, "aclLevel"),
            facets: self.facets(el),
            child,
            location: el.loc.clone(),
        }
    }

    /// `dictionary`, in the field's `locale/ilk` shape or the XSD's doubled `locale/locale/ilk`.
    fn dictionary(&mut self, el: &Element) -> Dictionary {
        self.check_attrs(el, &[&["id"]]);
        let mut dict = Dictionary {
            id: el.attr("id").map(str::to_owned),
            locales: Vec::new(),
        };
        for locale in &el.children {
            if self.ximf_local(locale) != Some("locale") {
                self.unknown_element(locale, "ximf:dictionary");
                continue;
            }
            self.check_attrs(locale, &[&["lang", "country"]]);
            let outer_lang = locale.attr("lang").map(|l| l.trim().to_owned());
            if outer_lang.is_none() {
                self.missing(locale, "lang", "");
            }
            for c in &locale.children {
                match self.ximf_local(c) {
                    Some("ilk") => {
                        if let Some(lang) = &outer_lang {
                            self.ilk_entry(c, lang, &mut dict);
                        }
                    }
                    Some("locale") => {
                        self.check_attrs(c, &[&["lang", "country"]]);
                        let lang = c
                            .attr("lang")
                            .map(|l| l.trim().to_owned())
                            .or_else(|| outer_lang.clone());
                        for ilk in &c.children {
                            if self.ximf_local(ilk) == Some("ilk") {
                                if let Some(lang) = &lang {
                                    self.ilk_entry(ilk, lang, &mut dict);
                                }
                            } else {
                                self.unknown_element(ilk, "ximf:locale");
                            }
                        }
                    }
                    _ => self.unknown_element(c, "ximf:locale"),
                }
            }
        }
        dict
    }

    fn ilk_entry(&mut self, el: &Element, lang: &str, dict: &mut Dictionary) {
        self.check_attrs(el, &[&["entity"]]);
        let Some(entity) = el.attr("entity").map(str::trim) else {
            self.missing(el, "entity", "");
            return;
        };
        let idx = match dict.locales.iter().position(|(l, _)| l == lang) {
            Some(i) => i,
            None => {
                dict.locales.push((lang.to_owned(), Default::default()));
                dict.locales.len() - 1
            }
        };
        if let Some((_, map)) = dict.locales.get_mut(idx) {
            // First entry wins, like a first-match XPath lookup.
            map.entry(entity.to_owned())
                .or_insert_with(|| el.trimmed_text().to_owned());
        }
    }

    /// `ihm` (undeclared, spec §1.8): header ids referenced by panels, groupboxes and grids, and
    /// by `treeRcv`.
    fn ihm(&mut self, el: &Element) -> Ihm {
        self.check_attrs(el, &[&["id"]]);
        let mut ihm = Ihm::default();
        for c in &el.children {
            match self.ximf_local(c) {
                Some("panel" | "groupbox" | "grid") => self.ihm_container(c, &mut ihm.header_refs),
                Some("headerRef") => push_ref(c, &mut ihm.header_refs),
                Some("treeRcv") => self.ihm_container(c, &mut ihm.tree_rcv),
                _ => self.unknown_element(c, "ximf:ihm"),
            }
        }
        ihm
    }

    fn ihm_container(&mut self, el: &Element, refs: &mut Vec<String>) {
        self.check_attrs(el, &[&["id", "ilk"]]);
        for c in &el.children {
            match self.ximf_local(c) {
                Some("panel" | "groupbox" | "grid") => self.ihm_container(c, refs),
                Some("headerRef") => push_ref(c, refs),
                _ => self.unknown_element(c, &format!("ximf:{}", el.local)),
            }
        }
    }

    fn rule(&mut self, el: &Element) -> Rule {
        self.check_attrs(el, &[&["id", "description", "agent"]]);
        let id = el.attr("id").map(|s| s.trim().to_owned());
        if id.is_none() {
            self.missing(el, "id", "");
        }
        let agent = el.attr("agent").map(|s| s.trim().to_owned());
        if let Some(a) = &agent
            && !matches!(a.as_str(), "mua" | "msa" | "mta" | "mda" | "gateway")
        {
            self.warn(
                Self::attr_loc(el, "agent"),
                "bad-attribute-value",
                format!(
                    "agent {a:?} is not one of mua, msa, mta, mda, gateway; the rule never applies"
                ),
            );
        }
        let mut kinds = Vec::new();
        for c in &el.children {
            kinds.push(self.rule_kind(c));
        }
        if kinds.is_empty() {
            self.warn(el.loc.clone(), "empty-rule", "rule holds no rule element");
        }
        Rule {
            id,
            agent,
            description: el.attr("description").map(str::to_owned),
            kinds,
            location: el.loc.clone(),
        }
    }

    fn required(&mut self, el: &Element, name: &str) -> String {
        match el.attr(name) {
            Some(v) => v.trim().to_owned(),
            None => {
                self.error(
                    el.loc.clone(),
                    "missing-attribute",
                    format!("<{}> lacks required attribute {name}", el.qname),
                );
                String::new()
            }
        }
    }

    fn rule_kind(&mut self, el: &Element) -> RuleKind {
        let local = self.ximf_local(el).unwrap_or("");
        match local {
            "constraint" => {
                self.check_attrs(el, &[&["left", "operator", "right"]]);
                let left = self.required(el, "left");
                let operator = self.required(el, "operator");
                let right = self.required(el, "right");
                const OPS: &[&str] = &[
                    "greaterThan",
                    "lowerThan",
                    "equalOrGreaterThan",
                    "equalOrLowerThan",
                    "equal",
                ];
                if !operator.is_empty() && !OPS.contains(&operator.as_str()) {
                    self.error(
                        Self::attr_loc(el, "operator"),
                        "bad-attribute-value",
                        format!("operator {operator:?} is not one of {}", OPS.join(", ")),
                    );
                }
                RuleKind::Constraint {
                    left,
                    operator,
                    right,
                }
            }
            "processing" => {
                self.check_attrs(el, &[&["type"]]);
                let r#type = el.attr("type").unwrap_or_default().trim().to_owned();
                if !matches!(
                    r#type.as_str(),
                    "sign-header-value" | "encrypt-header-value" | "capitalize-header-value"
                ) {
                    self.warn(
                        Self::attr_loc(el, "type"),
                        "bad-attribute-value",
                        format!("processing type {type:?} is not sign-header-value, encrypt-header-value or capitalize-header-value", type = r#type),
                    );
                }
                let mut headers = Vec::new();
                for c in &el.children {
                    if self.ximf_local(c) == Some("headerName") {
                        let name = c.trimmed_text();
                        if !is_field_name(name) {
                            self.error(
                                c.loc.clone(),
                                "bad-header-name",
                                format!("{name:?} is not an RFC 5322 field name"),
                            );
                        }
                        headers.push(name.to_owned());
                    } else {
                        self.unknown_element(c, "ximf:processing");
                    }
                }
                RuleKind::Processing { r#type, headers }
            }
            "compatibility" => {
                self.check_attrs(el, &[&["targetName", "targetVersion"]]);
                let target_name = match el.attr("targetName") {
                    Some(t) => t.trim().to_owned(),
                    None => {
                        self.missing(el, "targetName", "");
                        String::new()
                    }
                };
                if el.attr("targetVersion").is_none() {
                    self.missing(el, "targetVersion", "");
                }
                RuleKind::Compatibility {
                    target_name,
                    target_version: el.attr("targetVersion").map(|s| s.trim().to_owned()),
                    aliases: self.aliases(el),
                }
            }
            "policy" => {
                self.check_attrs(el, &[&[]]);
                let mut roles = Vec::new();
                for c in &el.children {
                    if self.ximf_local(c) == Some("role") {
                        self.check_attrs(c, &[&["aclLevel", "id"]]);
                        match self.u32_attr(c, "aclLevel") {
                            Some(l) => roles.push(l),
                            None if c.attr("aclLevel").is_none() => self.missing(c, "aclLevel", ""),
                            None => {}
                        }
                    } else {
                        self.unknown_element(c, "ximf:policy");
                    }
                }
                RuleKind::Policy { roles }
            }
            "custom" => {
                self.check_attrs(el, &[&["id", "provider", "description"]]);
                if el.attr("id").is_none() {
                    self.missing(el, "id", "");
                }
                let provider = match el.attr("provider") {
                    Some(p) => p.trim().to_owned(),
                    None => {
                        self.missing(el, "provider", "");
                        String::new()
                    }
                };
                if !provider.is_empty() && provider != CORRESPONDENCE_PROVIDER {
                    self.warn(
                        Self::attr_loc(el, "provider"),
                        "unknown-provider",
                        format!(
                            "custom provider {provider:?} is not known to ximf (kept, ignored)"
                        ),
                    );
                }
                // The content exactly as written, so other readers can re-parse it with its
                // own namespace declarations.
                let raw = self
                    .doc
                    .text
                    .get(el.inner.clone())
                    .unwrap_or_default()
                    .to_owned();
                RuleKind::Custom {
                    id: el.attr("id").map(|s| s.trim().to_owned()),
                    provider,
                    raw,
                }
            }
            "association" => {
                self.check_attrs(el, &[&["targetName"]]);
                RuleKind::Association {
                    aliases: self.aliases(el),
                }
            }
            "secureHeaders" => {
                self.check_attrs(el, &[&["targetName", "canonalgo"]]);
                let canon_algo = match self.u32_attr(el, "canonalgo") {
                    Some(v @ 0..=1) => u8::try_from(v).ok(),
                    Some(v) => {
                        self.error(
                            Self::attr_loc(el, "canonalgo"),
                            "bad-attribute-value",
                            format!("canonalgo {v} is not 0 (simple) or 1 (relaxed)"),
                        );
                        None
                    }
                    None => None,
                };
                RuleKind::SecureHeaders {
                    canon_algo,
                    aliases: self.aliases(el),
                }
            }
            "securityLabel" => {
                self.check_attrs(el, &[&["targetName", "id"]]);
                RuleKind::SecurityLabel {
                    aliases: self.aliases(el),
                }
            }
            "classificationPictures" | "categoryPictures" => {
                self.check_attrs(el, &[&["targetName"]]);
                RuleKind::Pictures {
                    element: local.to_owned(),
                    aliases: self.aliases(el),
                }
            }
            "special" => {
                self.check_attrs(el, &[&["targetName"]]);
                RuleKind::Special {
                    aliases: self.aliases(el),
                }
            }
            _ => {
                self.extensions.push(Extension {
                    name: el.qname.clone(),
                    what: "element",
                    location: el.loc.clone(),
                });
                self.warn(
                    el.loc.clone(),
                    "unknown-rule-kind",
                    format!("unknown rule element <{}> (kept, ignored)", el.qname),
                );
                RuleKind::Unknown {
                    element: el.local.clone(),
                }
            }
        }
    }

    /// `aliasHeader` children, their `aliasValue`s kept as pairs (never `&`-joined, §1.9.0).
    fn aliases(&mut self, el: &Element) -> Vec<AliasHeader> {
        let mut out = Vec::new();
        for c in &el.children {
            if self.ximf_local(c) != Some("aliasHeader") {
                self.unknown_element(c, &format!("ximf:{}", el.local));
                continue;
            }
            self.check_attrs(c, &[&["headerName", "headerRef", "status", "type"]]);
            let header_name = match c.attr("headerName") {
                Some(n) => n.trim().to_owned(),
                None => {
                    self.missing(c, "headerName", "");
                    String::new()
                }
            };
            let status = match self.u32_attr(c, "status") {
                Some(v @ 0..=2) => u8::try_from(v).ok(),
                Some(v) => {
                    self.error(
                        Self::attr_loc(c, "status"),
                        "bad-attribute-value",
                        format!("status {v} is not 0 (duplicated), 1 (deleted) or 2 (modified)"),
                    );
                    None
                }
                None => None,
            };
            let mut values = Vec::new();
            for v in &c.children {
                if self.ximf_local(v) == Some("aliasValue") {
                    self.check_attrs(v, &[&["valueName", "valueRef"]]);
                    values.push(AliasValue {
                        value_name: v.attr("valueName").map(str::to_owned),
                        value_ref: v.attr("valueRef").map(str::to_owned),
                    });
                } else {
                    self.unknown_element(v, "ximf:aliasHeader");
                }
            }
            out.push(AliasHeader {
                header_name,
                header_ref: c.attr("headerRef").map(|s| s.trim().to_owned()),
                status,
                r#type: c.attr("type").map(|s| s.trim().to_owned()),
                values,
            });
        }
        out
    }
}

fn push_ref(el: &Element, refs: &mut Vec<String>) {
    let t = el.trimmed_text();
    if !t.is_empty() {
        refs.push(t.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: &str = r#"xmlns:ximf="http://eads.org/ximf/""#;

    fn parts(body: &str) -> (FileParts, Vec<Diagnostic>) {
        let src = format!(
            "<ximf:instance {NS} name=\"t\" version=\"1\" ximfVersion=\"2.0\">\n{body}\n</ximf:instance>"
        );
        let doc = xml::parse(Path::new("t.xml"), src.as_bytes()).expect("well-formed");
        instance_parts(&doc).expect("an instance")
    }

    fn codes(d: &[Diagnostic]) -> Vec<&'static str> {
        d.iter().map(|d| d.code).collect()
    }

    #[test]
    fn printable_string_and_field_name() {
        assert!(is_printable_string("1.2.840.113549.1.9.16.7.1"));
        assert!(is_printable_string("LIMITED TO : x; (a)+b'c=d/e?"));
        assert!(!is_printable_string("a_b"));
        assert!(!is_printable_string("é"));
        assert!(!is_printable_string(""));
        assert!(is_field_name("X-XIMF-Security-Classification"));
        assert!(!is_field_name("X XIMF"));
        assert!(!is_field_name("X:Y"));
        assert!(!is_field_name(""));
        assert!(!is_field_name("Xé"));
    }

    #[test]
    fn missing_required_header_attributes_default_with_warnings() {
        let (p, d) = parts(
            r#"<ximf:header id="header-a" headerName="X-A"><ximf:string content="1"/></ximf:header>"#,
        );
        let h = &p.headers[0];
        assert_eq!(h.kind, HeaderKind::String);
        assert!(!h.mandatory);
        assert!(h.is_hidden());
        assert_eq!(codes(&d), ["missing-attribute", "missing-attribute"]);
        assert!(d.iter().all(|d| !d.is_error()));
    }

    #[test]
    fn mixed_set_and_multiset_is_an_error() {
        let (p, d) = parts(
            r#"<ximf:header id="header-a" headerName="X-A" ilk="a" type="string" isMandatory="false">
<ximf:set><ximf:string content="a"/></ximf:set><ximf:multiset><ximf:string content="b"/></ximf:multiset></ximf:header>"#,
        );
        assert!(matches!(&p.headers[0].body, HeaderBody::Sets(s) if s.len() == 1));
        assert!(
            d.iter()
                .any(|d| d.code == "mixed-value-nodes" && d.is_error())
        );
    }

    #[test]
    fn bad_header_name_is_an_error() {
        let (_, d) = parts(
            r#"<ximf:header id="header-a" headerName="X A" type="string" isMandatory="false"><ximf:string content="1"/></ximf:header>"#,
        );
        let bad = d
            .iter()
            .find(|d| d.code == "bad-header-name")
            .expect("error");
        assert!(bad.is_error());
        assert_eq!((bad.location.line, bad.location.col), (2, 28));
    }

    #[test]
    fn unknown_element_and_attribute_are_kept_with_location() {
        let (p, d) = parts(
            "<ximf:header id=\"header-a\" headerName=\"X-A\" type=\"string\" isMandatory=\"false\" foo=\"1\">\n  <ximf:bogus/>\n  <ximf:string content=\"1\"/></ximf:header>",
        );
        let el = d
            .iter()
            .find(|d| d.code == "unknown-element")
            .expect("warned");
        assert_eq!((el.location.line, el.location.col), (3, 3));
        assert!(!el.is_error());
        let at = d
            .iter()
            .find(|d| d.code == "unknown-attribute")
            .expect("warned");
        assert_eq!((at.location.line, at.location.col), (2, 79));
        assert_eq!(p.extensions.len(), 2);
        assert_eq!(p.extensions[0].name, "foo");
        assert_eq!(p.extensions[1].name, "ximf:bogus");
    }

    #[test]
    fn empty_separator_is_an_error_and_non_printable_content_a_warning() {
        let (_, d) = parts(
            r#"<ximf:header id="header-a" headerName="X-A" ilk="a" type="string" isMandatory="false">
<ximf:set separator=""><ximf:string content="a_b"/></ximf:set></ximf:header>"#,
        );
        assert!(
            d.iter()
                .any(|d| d.code == "empty-separator" && d.is_error())
        );
        assert!(
            d.iter()
                .any(|d| d.code == "not-printable-string" && !d.is_error())
        );
    }

    #[test]
    fn dictionary_accepts_both_shapes() {
        let (p, _) = parts(
            r#"<ximf:dictionary><ximf:locale lang="fr"><ximf:ilk entity="a">A fr</ximf:ilk></ximf:locale>
<ximf:locale lang="en"><ximf:locale lang="en-GB"><ximf:ilk entity="a">A gb</ximf:ilk></ximf:locale></ximf:locale></ximf:dictionary>"#,
        );
        let dict = &p.dictionaries[0].0;
        assert_eq!(dict.label("a", "fr"), "A fr");
        assert_eq!(dict.label("a", "en-GB"), "A gb");
        assert_eq!(dict.label("b", "fr"), "b");
    }

    #[test]
    fn custom_keeps_raw_text_and_rule_kinds_mix() {
        let (p, d) = parts(
            r#"<ximf:rule id="r" agent="mua"><ximf:custom id="c" provider="urn:ximf:correspondence:1">
  <cm:correspondence xmlns:cm="urn:ximf:correspondence:1" name="a" usage="b"/>
</ximf:custom><ximf:policy><ximf:role aclLevel="30"/></ximf:policy><ximf:weird/></ximf:rule>"#,
        );
        let r = &p.rules[0];
        assert_eq!(r.agent.as_deref(), Some("mua"));
        match &r.kinds[0] {
            RuleKind::Custom { provider, raw, .. } => {
                assert_eq!(provider, CORRESPONDENCE_PROVIDER);
                assert_eq!(
                    raw,
                    "\n  <cm:correspondence xmlns:cm=\"urn:ximf:correspondence:1\" name=\"a\" usage=\"b\"/>\n"
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(&r.kinds[1], RuleKind::Policy { roles } if roles == &[30]));
        assert!(matches!(&r.kinds[2], RuleKind::Unknown { element } if element == "weird"));
        assert_eq!(codes(&d), ["unknown-rule-kind"]);
    }

    #[test]
    fn constraint_operator_is_checked() {
        let (_, d) = parts(
            r#"<ximf:rule id="r"><ximf:constraint left="header-a" operator="bigger" right="value-b"/></ximf:rule>"#,
        );
        assert!(
            d.iter()
                .any(|d| d.code == "bad-attribute-value" && d.is_error())
        );
    }

    #[test]
    fn compstring_children() {
        let (p, d) = parts(
            r#"<ximf:header id="header-a" headerName="X-A" ilk="a" type="string" isMandatory="false">
<ximf:compstring content="M" separator=" : " ximfchild="true" contentFactorise="true"><ximf:set><ximf:string content="x"/></ximf:set></ximf:compstring>
<ximf:compstring content="N"><ximf:compstring content="n1"/><ximf:compstring content="n2"/></ximf:compstring></ximf:header>"#,
        );
        assert!(d.is_empty(), "{d:?}");
        let HeaderBody::Compstrings(c) = &p.headers[0].body else {
            panic!("compstrings")
        };
        assert!(c[0].require_child && c[0].factorise);
        assert_eq!(c[0].facets.separator.as_deref(), Some(" : "));
        assert!(matches!(&c[0].child, CompChild::List(l) if l.items.len() == 1));
        assert!(matches!(&c[1].child, CompChild::Nested(n) if n.len() == 2));
    }

    #[test]
    fn wrong_root_is_refused() {
        let doc = xml::parse(Path::new("t.xml"), b"<profile/>").expect("xml");
        let e = instance_parts(&doc).expect_err("not an instance");
        assert_eq!(e.code, "wrong-root");
    }
}
