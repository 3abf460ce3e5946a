//! A small, bounded XML tree for profile files.
//!
//! Profiles are tiny (a few KiB), so we read a whole file into a tree of [`Element`]s first and
//! build the model from the tree: "first descendant named X" lookups (spec §1.1), the raw text of
//! a `custom` rule (§1.9.5) and line:col for every node are then trivial.
//!
//! Safety bounds, because a profile may come from anyone who can write a file we are pointed at:
//! - at most [`MAX_FILE_SIZE`] bytes, [`MAX_DEPTH`] levels and [`MAX_ELEMENTS`] elements;
//! - a `<!DOCTYPE>` with an internal subset or an external id is refused, and only the five
//!   predefined entities and character references are expanded. quick-xml never expands DTD
//!   entities itself; refusing the DOCTYPE also gives a clear message for billion-laughs files
//!   instead of a confusing "unknown entity" further down.

use crate::error::{Error, Location, Result};
use quick_xml::NsReader;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// Largest profile file we read (4 MiB); real ones are under 20 KiB.
pub(crate) const MAX_FILE_SIZE: usize = 4 * 1024 * 1024;
/// Deepest element nesting we accept; real profiles nest 6 levels.
pub(crate) const MAX_DEPTH: usize = 64;
/// Most elements in one file.
pub(crate) const MAX_ELEMENTS: usize = 100_000;

/// The XIMF namespace as the XSD declares it.
pub(crate) const NS_EADS: &str = "http://eads.org/ximf/";
/// The XIMF namespace as Trustedbird's secure-headers default file binds it (spec §1.11, item 14).
pub(crate) const NS_XIMF_ORG: &str = "http://ximf.org/ximf/";
/// XML Schema instance attributes (`xsi:schemaLocation`) are never "unknown".
const NS_XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
/// The namespace of `xml:lang` and friends.
const NS_XML: &str = "http://www.w3.org/XML/1998/namespace";

/// The namespace an element or attribute name resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ns {
    /// No namespace (unprefixed, no default namespace in scope).
    None,
    /// One of the two XIMF namespace URIs.
    Ximf,
    /// A prefix with no binding in scope; holds the prefix.
    Unbound(String),
    /// Any other namespace URI.
    Other(String),
}

/// One attribute, value already unescaped and normalised.
#[derive(Debug, Clone)]
pub(crate) struct Attr {
    /// The qualified name as written.
    pub qname: String,
    /// The local name.
    pub local: String,
    /// Its namespace (unprefixed attributes have none).
    pub ns: Ns,
    /// The value.
    pub value: String,
    /// Where the attribute name starts.
    pub loc: Location,
}

impl Attr {
    /// `xsi:*` and `xml:*` attributes are infrastructure, not profile content.
    pub(crate) fn is_infrastructure(&self) -> bool {
        matches!(&self.ns, Ns::Other(u) if u == NS_XSI || u == NS_XML)
            || self.qname.starts_with("xml:")
            || self.qname.starts_with("xsi:")
    }
}

/// One element of the tree.
#[derive(Debug, Clone)]
pub(crate) struct Element {
    /// The qualified name as written.
    pub qname: String,
    /// The local name.
    pub local: String,
    /// Its namespace.
    pub ns: Ns,
    /// Attributes in document order (namespace declarations left out).
    pub attrs: Vec<Attr>,
    /// Child elements in document order.
    pub children: Vec<Element>,
    /// Direct text content (text and CDATA children concatenated, entities expanded).
    pub text: String,
    /// Where the start tag begins.
    pub loc: Location,
    /// Byte range of the content between the start and the end tag in [`Document::text`].
    pub inner: Range<usize>,
}

impl Element {
    /// True when the element is in the XIMF namespace, or uses the literal `ximf:` prefix with no
    /// binding in scope (Trustedbird itself matches on that prefix, spec §1.11).
    pub(crate) fn is_ximf(&self) -> bool {
        match &self.ns {
            Ns::Ximf => true,
            Ns::Unbound(p) => p == "ximf",
            _ => false,
        }
    }

    /// The value of the unprefixed (or XIMF-prefixed) attribute `local`.
    pub(crate) fn attr(&self, local: &str) -> Option<&str> {
        self.attr_node(local).map(|a| a.value.as_str())
    }

    /// The attribute node `local` (unprefixed or in the XIMF namespace).
    pub(crate) fn attr_node(&self, local: &str) -> Option<&Attr> {
        self.attrs
            .iter()
            .find(|a| a.local == local && matches!(a.ns, Ns::None | Ns::Ximf))
    }

    /// Child elements whose local name is `local` (any namespace).
    pub(crate) fn children_named<'a>(
        &'a self,
        local: &'a str,
    ) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.local == local)
    }

    /// The first descendant (document order, depth first) with local name `local`.
    pub(crate) fn first_descendant(&self, local: &str) -> Option<&Element> {
        for c in &self.children {
            if c.local == local {
                return Some(c);
            }
            if let Some(d) = c.first_descendant(local) {
                return Some(d);
            }
        }
        None
    }

    /// Every descendant with local name `local`, in document order.
    pub(crate) fn descendants_named<'a>(&'a self, local: &str, out: &mut Vec<&'a Element>) {
        for c in &self.children {
            if c.local == local {
                out.push(c);
            }
            c.descendants_named(local, out);
        }
    }

    /// Trimmed text content.
    pub(crate) fn trimmed_text(&self) -> &str {
        self.text.trim()
    }
}

/// A parsed file.
#[derive(Debug, Clone)]
pub(crate) struct Document {
    /// The file (for locations).
    pub path: PathBuf,
    /// The decoded source, BOM removed; element `inner` ranges index into it.
    pub text: String,
    /// The root element.
    pub root: Element,
    /// True when the file started with a UTF-8 byte order mark.
    pub had_bom: bool,
}

/// Maps byte offsets to 1-based line:col (columns count characters, so `é` is one column).
struct LineIndex<'a> {
    text: &'a str,
    /// Byte offset of the start of each line.
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex { text, starts }
    }

    fn location(&self, path: &Path, offset: usize) -> Location {
        let offset = offset.min(self.text.len());
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts.get(line - 1).copied().unwrap_or(0);
        // A column counts characters; fall back to bytes if the offset is not on a boundary.
        let col = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        Location {
            path: path.to_path_buf(),
            line: u32::try_from(line).unwrap_or(u32::MAX),
            col: u32::try_from(col + 1).unwrap_or(u32::MAX),
        }
    }
}

/// Location of the start of `path` (for whole-file problems).
pub(crate) fn file_location(path: &Path) -> Location {
    Location {
        path: path.to_path_buf(),
        line: 1,
        col: 1,
    }
}

/// Decodes the raw bytes into text: strips a UTF-8 BOM, honours an ISO-8859-1 declaration,
/// refuses UTF-16 and anything that is not valid UTF-8.
fn decode(path: &Path, bytes: &[u8]) -> Result<(String, bool)> {
    if bytes.len() > MAX_FILE_SIZE {
        return Err(Error::profile(
            file_location(path),
            format!("file is larger than {MAX_FILE_SIZE} bytes"),
        ));
    }
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(Error::profile(
            file_location(path),
            "UTF-16 profiles are not supported; save the file as UTF-8",
        ));
    }
    let (bytes, had_bom) = match bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        Some(rest) => (rest, true),
        None => (bytes, false),
    };
    let declared = declared_encoding(bytes).map(|e| e.to_ascii_lowercase());
    match declared.as_deref() {
        None | Some("utf-8" | "utf8" | "us-ascii" | "ascii") => match std::str::from_utf8(bytes) {
            Ok(s) => Ok((s.to_owned(), had_bom)),
            Err(e) => {
                let valid = &bytes[..e.valid_up_to()];
                // Safe: `valid_up_to` is a char boundary of valid UTF-8.
                let prefix = String::from_utf8_lossy(valid);
                let loc = LineIndex::new(&prefix).location(path, prefix.len());
                Err(Error::profile(loc, "invalid UTF-8"))
            }
        },
        // Latin-1 maps byte for byte onto the first 256 code points.
        Some("iso-8859-1" | "latin1" | "latin-1" | "iso_8859-1" | "l1") => {
            Ok((bytes.iter().map(|&b| char::from(b)).collect(), had_bom))
        }
        Some(other) => Err(Error::profile(
            file_location(path),
            format!("unsupported encoding {other:?}; save the file as UTF-8"),
        )),
    }
}

/// The `encoding` of the XML declaration, if the file starts with one.
fn declared_encoding(bytes: &[u8]) -> Option<String> {
    let head = bytes.get(..bytes.len().min(256))?;
    if !head.starts_with(b"<?xml") {
        return None;
    }
    let end = head.windows(2).position(|w| w == b"?>")?;
    let decl = String::from_utf8_lossy(&head[..end]);
    let at = decl.find("encoding")?;
    let rest = decl[at + "encoding".len()..]
        .trim_start()
        .strip_prefix('=')?;
    let rest = rest.trim_start();
    let quote = rest.chars().next()?;
    if quote != '"' && quote != '\'' {
        return None;
    }
    let value = &rest[1..];
    value.find(quote).map(|e| value[..e].to_owned())
}

/// Parses `bytes` (the content of `path`) into a tree. Fails, with line:col, on anything that is
/// not well-formed XML within the bounds.
pub(crate) fn parse(path: &Path, bytes: &[u8]) -> Result<Document> {
    let (text, had_bom) = decode(path, bytes)?;
    let root = build(path, &text)?;
    Ok(Document {
        path: path.to_path_buf(),
        text,
        root,
        had_bom,
    })
}

fn classify(res: &ResolveResult<'_>) -> Ns {
    match res {
        ResolveResult::Unbound => Ns::None,
        ResolveResult::Bound(ns) => {
            let uri = String::from_utf8_lossy(ns.0);
            if uri == NS_EADS || uri == NS_XIMF_ORG {
                Ns::Ximf
            } else {
                Ns::Other(uri.into_owned())
            }
        }
        ResolveResult::Unknown(p) => Ns::Unbound(String::from_utf8_lossy(p).into_owned()),
    }
}

fn build(path: &Path, text: &str) -> Result<Element> {
    let lines = LineIndex::new(text);
    let err = |offset: usize, msg: String| Error::profile(lines.location(path, offset), msg);
    let mut reader = NsReader::from_str(text);
    let config = reader.config_mut();
    config.check_end_names = true;
    config.expand_empty_elements = false;
    config.trim_text(false);

    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut count = 0usize;

    loop {
        let start = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let event = match reader.read_event() {
            Ok(ev) => ev,
            Err(e) => {
                let at = usize::try_from(reader.error_position()).unwrap_or(start);
                return Err(err(at, format!("not well-formed XML: {e}")));
            }
        };
        let end = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let is_empty = matches!(event, Event::Empty(_));
                count += 1;
                if count > MAX_ELEMENTS {
                    return Err(err(start, format!("more than {MAX_ELEMENTS} elements")));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(err(
                        start,
                        format!("elements nested deeper than {MAX_DEPTH}"),
                    ));
                }
                if root.is_some() && stack.is_empty() {
                    return Err(err(start, "content after the root element".into()));
                }
                let element =
                    element(&reader, e, path, &lines, start, end).map_err(|m| err(start, m))?;
                if is_empty {
                    attach(&mut stack, &mut root, element);
                } else {
                    stack.push(element);
                }
            }
            Event::End(_) => {
                if let Some(mut el) = stack.pop() {
                    el.inner.end = start.max(el.inner.start);
                    attach(&mut stack, &mut root, el);
                }
            }
            Event::Text(t) => {
                let s = t
                    .xml10_content()
                    .map_err(|e| err(start, format!("bad text: {e}")))?;
                push_text(&mut stack, &s).map_err(|m| err(start, m))?;
            }
            Event::CData(t) => {
                let s = t
                    .xml10_content()
                    .map_err(|e| err(start, format!("bad CDATA: {e}")))?;
                push_text(&mut stack, &s).map_err(|m| err(start, m))?;
            }
            Event::GeneralRef(r) => {
                let name = r
                    .decode()
                    .map_err(|e| err(start, format!("bad reference: {e}")))?;
                let resolved: String = if r.is_char_ref() {
                    match r.resolve_char_ref() {
                        Ok(Some(c)) => c.to_string(),
                        _ => return Err(err(start, format!("bad character reference &{name};"))),
                    }
                } else if let Some(s) = resolve_predefined_entity(&name) {
                    s.to_owned()
                } else {
                    return Err(err(
                        start,
                        format!(
                            "undefined entity &{name}; (only the five XML entities are allowed)"
                        ),
                    ));
                };
                push_text(&mut stack, &resolved).map_err(|m| err(start, m))?;
            }
            Event::DocType(t) => {
                let body = String::from_utf8_lossy(t.as_ref()).into_owned();
                // An internal subset or an external id is how entities (and external entities)
                // get in; neither is ever expanded, so such a file is refused outright.
                if body.contains('[') || body.contains("SYSTEM") || body.contains("PUBLIC") {
                    return Err(err(
                        start,
                        "DOCTYPE not allowed: profiles may not declare entities or external DTDs"
                            .into(),
                    ));
                }
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
        }
    }
    if let Some(open) = stack.last() {
        return Err(Error::profile(
            open.loc.clone(),
            format!("element <{}> is never closed", open.qname),
        ));
    }
    root.ok_or_else(|| err(0, "no root element".into()))
}

fn push_text(stack: &mut [Element], s: &str) -> std::result::Result<(), String> {
    match stack.last_mut() {
        Some(top) => {
            top.text.push_str(s);
            Ok(())
        }
        None if s.trim().is_empty() => Ok(()),
        None => Err("text outside the root element".into()),
    }
}

fn attach(stack: &mut [Element], root: &mut Option<Element>, el: Element) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(el),
        None => *root = Some(el),
    }
}

/// Builds an element from its start tag at `start..end`.
fn element(
    reader: &NsReader<&[u8]>,
    e: &BytesStart<'_>,
    path: &Path,
    lines: &LineIndex<'_>,
    start: usize,
    end: usize,
) -> std::result::Result<Element, String> {
    let resolver = reader.resolver();
    let qname = String::from_utf8_lossy(e.name().as_ref()).into_owned();
    let (res, local) = resolver.resolve_element(e.name());
    let ns = classify(&res);
    let local = String::from_utf8_lossy(local.as_ref()).into_owned();
    // The raw tag text, to find where each attribute starts.
    let tag = lines.text.get(start..end).unwrap_or("");
    let mut attrs = Vec::new();
    let mut search_from = 1 + qname.len();
    for a in e.attributes() {
        let a = a.map_err(|e| format!("bad attribute: {e}"))?;
        let aq = String::from_utf8_lossy(a.key.as_ref()).into_owned();
        let at = find_attr(tag, &aq, search_from);
        if let Some(at) = at {
            search_from = at + aq.len();
        }
        if a.key.as_namespace_binding().is_some() {
            continue;
        }
        let value = a
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| format!("bad value of attribute {aq}: {e}"))?
            .into_owned();
        let (res, alocal) = resolver.resolve_attribute(a.key);
        attrs.push(Attr {
            local: String::from_utf8_lossy(alocal.as_ref()).into_owned(),
            ns: classify(&res),
            qname: aq,
            value,
            loc: lines.location(path, start + at.unwrap_or(0)),
        });
    }
    Ok(Element {
        qname,
        local,
        ns,
        attrs,
        children: Vec::new(),
        text: String::new(),
        loc: lines.location(path, start),
        inner: end..end,
    })
}

/// Offset of attribute `name` in the raw start tag, searching from `from` (names are preceded
/// by whitespace and followed by optional whitespace and `=`).
fn find_attr(tag: &str, name: &str, from: usize) -> Option<usize> {
    let mut pos = from.min(tag.len());
    while let Some(rel) = tag.get(pos..)?.find(name) {
        let at = pos + rel;
        let before_ok = tag[..at]
            .chars()
            .next_back()
            .is_some_and(char::is_whitespace);
        let after_ok = tag[at + name.len()..].trim_start().starts_with('=');
        if before_ok && after_ok {
            return Some(at);
        }
        pos = at + name.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Document> {
        parse(Path::new("t.xml"), s.as_bytes())
    }

    #[test]
    fn locations_are_line_and_column() -> Result<()> {
        let d = p("<a>\r\n  <b  x=\"1\"/>\n\t<é/><c/></a>")?;
        let b = &d.root.children[0];
        assert_eq!((b.loc.line, b.loc.col), (2, 3));
        assert_eq!((b.attrs[0].loc.line, b.attrs[0].loc.col), (2, 7));
        let c = &d.root.children[2];
        assert_eq!((c.loc.line, c.loc.col), (3, 6));
        Ok(())
    }

    #[test]
    fn bom_is_stripped_and_reported() -> Result<()> {
        let d = parse(
            Path::new("t.xml"),
            b"\xEF\xBB\xBF<?xml version=\"1.0\"?><a/>",
        )?;
        assert!(d.had_bom);
        assert_eq!(d.root.local, "a");
        Ok(())
    }

    #[test]
    fn namespaces_resolve_by_uri() -> Result<()> {
        let d = p(r#"<x:i xmlns:x="http://ximf.org/ximf/"><ximf:h/><y:z xmlns:y="urn:o"/></x:i>"#)?;
        assert!(d.root.is_ximf());
        assert!(
            d.root.children[0].is_ximf(),
            "bare ximf: prefix is accepted"
        );
        assert_eq!(d.root.children[1].ns, Ns::Other("urn:o".into()));
        Ok(())
    }

    #[test]
    fn entities_predefined_only() {
        let d = p("<a t=\"&lt;&#65;\">&amp;&#x42;</a>").expect("predefined entities");
        assert_eq!(d.root.text, "&B");
        assert_eq!(d.root.attrs[0].value, "<A");
        assert!(p("<a>&foo;</a>").is_err());
        assert!(p("<a t=\"&foo;\"/>").is_err());
    }

    #[test]
    fn doctype_with_entities_is_refused() {
        let e = p("<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>").expect_err("refused");
        assert!(e.to_string().contains("DOCTYPE not allowed"), "{e}");
        let e = p("<!DOCTYPE a SYSTEM \"file:///etc/passwd\"><a/>").expect_err("refused");
        assert!(e.to_string().contains("DOCTYPE"), "{e}");
        assert!(p("<!DOCTYPE a><a/>").is_ok());
    }

    #[test]
    fn bounds() {
        let deep = "<a>".repeat(MAX_DEPTH + 1) + &"</a>".repeat(MAX_DEPTH + 1);
        assert!(p(&deep).is_err());
        let ok = "<a>".repeat(MAX_DEPTH) + &"</a>".repeat(MAX_DEPTH);
        assert!(p(&ok).is_ok());
        let wide = format!("<a>{}</a>", "<b/>".repeat(MAX_ELEMENTS));
        assert!(p(&wide).is_err());
        let big = vec![b' '; MAX_FILE_SIZE + 1];
        assert!(parse(Path::new("t"), &big).is_err());
    }

    #[test]
    fn errors_carry_line_and_col() {
        let e = p("<a>\n  <b>\n</a>").expect_err("mismatched");
        match e {
            Error::Profile { location, .. } => assert_eq!(location.line, 3),
            other => panic!("{other}"),
        }
        let e = p("<a>\n<b></b>").expect_err("unclosed");
        assert!(e.to_string().contains("t.xml:1:1"), "{e}");
    }

    #[test]
    fn inner_range_is_exact() -> Result<()> {
        let src = "<r><c a=\"1\">\n <x:y xmlns:x=\"u\">t</x:y>\n</c></r>";
        let d = p(src)?;
        let c = &d.root.children[0];
        assert_eq!(&d.text[c.inner.clone()], "\n <x:y xmlns:x=\"u\">t</x:y>\n");
        Ok(())
    }

    #[test]
    fn latin1_and_bad_utf8() -> Result<()> {
        let d = parse(
            Path::new("t"),
            b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>\xE9</a>",
        )?;
        assert_eq!(d.root.text, "é");
        let e = parse(Path::new("t"), b"<a>\n\xff</a>").expect_err("bad utf-8");
        assert!(e.to_string().contains("t:2:1"), "{e}");
        Ok(())
    }
}
